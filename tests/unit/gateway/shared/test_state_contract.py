"""The shared-state contract (gateway.shared.state), held by both implementations alike."""

from __future__ import annotations

import asyncio

import pytest

from gateway.shared import SharedState, SharedStateUnavailable
from gateway.shared.redis_state import RedisState
from tests.unit.gateway.shared.conftest import MakeState


def test_values_expire_and_leases_go_to_one_holder(make_state: MakeState) -> None:
    async def scenario() -> None:
        a, b = make_state(), make_state()
        await a.put("k", b"v", ttl=0.2)
        assert await b.get("k") == b"v"
        remaining = await b.expiry("k")
        assert remaining is not None and 0 < remaining <= 0.2
        assert await a.put_new("lease", b"1", ttl=5) is True
        assert await b.put_new("lease", b"2", ttl=5) is False  # held by a
        assert await b.get("lease") == b"1"
        await asyncio.sleep(0.25)
        assert await b.get("k") is None and await b.expiry("k") is None
        await b.delete("lease")
        assert await b.put_new("lease", b"2", ttl=5) is True
        assert [await a.incr("n"), await b.incr("n"), await a.incr("n")] == [1, 2, 3]
        assert [await b.incr("n", 5), await a.incr("n")] == [8, 9]

    asyncio.run(scenario())


def test_several_values_are_read_in_their_order_with_none_for_the_missing_and_expired(make_state: MakeState) -> None:
    async def scenario() -> list[bytes | None]:
        a, b = make_state(), make_state()
        await a.put("first", b"1")
        await a.put("gone", b"2", ttl=0.05)
        await a.put("third", b"3")
        await asyncio.sleep(0.1)
        return await b.get_many("third", "missing", "first", "gone")

    assert asyncio.run(scenario()) == [b"3", None, b"1", None]


def test_a_value_is_stored_only_while_its_guard_holds_what_was_expected(make_state: MakeState) -> None:
    binary = b"\x00\xff sealed \x80"  # what the cache stores: bytes, not text

    async def scenario() -> list[object]:
        a, b = make_state(), make_state()
        seen: list[object] = [await a.put_if("guard", None, "k", b"while absent", ttl=5)]  # holds nothing
        seen.append(await a.put_if("guard", b"1", "k", b"refused", ttl=5))
        seen.append(await b.get("k"))  # a refusal leaves the value as it was
        await b.incr("guard")  # now b"1"
        seen.append(await a.put_if("guard", None, "k", b"refused", ttl=5))
        seen.append(await b.get("k"))
        seen.append(await a.put_if("guard", b"1", "k", binary, ttl=0.05))  # replaces it, with its lifetime
        seen.append(await b.get("k"))
        await asyncio.sleep(0.1)
        seen.append(await b.get("k"))
        return seen

    assert asyncio.run(scenario()) == [True, False, b"while absent", False, b"while absent", True, binary, None]


def test_a_counter_made_with_a_lifetime_expires_and_one_that_exists_keeps_its_own(make_state: MakeState) -> None:
    async def scenario() -> list[object]:
        a, b = make_state(), make_state()
        seen: list[object] = [await a.incr("window", ttl=0.1), await b.incr("window", ttl=60)]  # 60: not the creator
        await a.put("lasting", b"5")
        seen.append(await b.incr("lasting", ttl=0.1))  # it exists: no lifetime added
        await asyncio.sleep(0.2)
        seen += [await b.get("window"), await a.incr("window", ttl=60), await b.get("lasting")]
        return seen

    assert asyncio.run(scenario()) == [1, 2, 6, None, 1, b"6"]


def test_a_lock_is_held_by_one_sharer_at_a_time(make_state: MakeState) -> None:
    async def scenario() -> list[str]:
        a, b = make_state(), make_state()
        order: list[str] = []

        async def hold(state: SharedState, name: str) -> None:
            async with state.lock("renewal", timeout=5):
                order.append(f"{name} in")
                await asyncio.sleep(0.05)
                order.append(f"{name} out")

        await asyncio.gather(hold(a, "a"), hold(b, "b"))
        return order

    order = asyncio.run(scenario())
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


def test_a_lock_held_too_long_is_refused_not_waited_for_ever(make_state: MakeState) -> None:
    async def scenario() -> None:
        a, b = make_state(), make_state()
        async with a.lock("renewal", timeout=5):
            with pytest.raises(SharedStateUnavailable):
                async with b.lock("renewal", timeout=0.2):
                    pass
            # Its holder says what kept the caller waiting (a client sees it in the 503).
            with pytest.raises(SharedStateUnavailable, match="Another conditional create"):
                async with b.lock("renewal", timeout=5, wait=0.1, busy="Another conditional create took too long"):
                    pass

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_lock_is_kept_as_long_as_its_holder_lives_past_its_timeout(make_state: MakeState) -> None:
    # A holder slower than the timeout (a conditional create whose vendor calls add up past
    # it) keeps the lock: before, on Redis it lapsed, and a second create ran beside the first.
    async def scenario() -> None:
        a, b = make_state(), make_state()
        async with a.lock("create", timeout=0.3):
            await asyncio.sleep(0.8)
            with pytest.raises(SharedStateUnavailable):
                async with b.lock("create", timeout=0.3, wait=0.1):
                    pass
        async with b.lock("create", timeout=0.3, wait=0.5):  # released by its holder: free at once
            pass

    asyncio.run(scenario())


def test_the_bucket_is_one_for_every_sharer(make_state: MakeState) -> None:
    async def scenario() -> tuple[list[float | None], float | None]:
        a, b = make_state(), make_state()
        # 10 per second, 2 deep: two turns at once, then one per 0.1 s; none past 0.25 s
        turns = [await (a if i % 2 else b).reserve("bucket", 10.0, 2.0, 0.25) for i in range(6)]
        await a.release("bucket", 10.0, 2.0)
        after_release = await b.reserve("bucket", 10.0, 2.0, 0.25)
        return turns, after_release

    turns, after_release = asyncio.run(scenario())
    assert turns[0] == 0 and turns[1] == 0
    waits = [t for t in turns[2:] if t is not None]
    assert len(waits) == 2 and 0.05 < waits[0] < 0.15 and 0.15 < waits[1] < 0.25  # shared, in order
    assert turns[4] is None and turns[5] is None  # past max_wait: refused, nothing taken
    assert after_release is not None and after_release < 0.25


def test_an_unreachable_redis_is_a_503_not_a_hang() -> None:
    async def scenario() -> None:
        state = RedisState("redis://127.0.0.1:1/0", timeout=0.5)
        try:
            with pytest.raises(SharedStateUnavailable) as refused:
                await state.reserve("bucket", 1.0, 1.0, 1.0)
            assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "1"
        finally:
            await state.aclose()

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_release_does_not_forget_the_turns_still_queued(make_state: MakeState) -> None:
    async def scenario() -> float | None:
        state = make_state()
        for _ in range(30):  # 10 per second, 1 deep: the last turn is 2.9 s away
            await state.reserve("queued", 10.0, 1.0, 5.0)
        await state.release("queued", 10.0, 1.0)  # one of them was cancelled
        await asyncio.sleep(1.3)
        return await state.reserve("queued", 10.0, 1.0, 5.0)

    wait = asyncio.run(scenario())
    assert wait is not None and wait > 1.0  # behind the 28 still queued, not at once
