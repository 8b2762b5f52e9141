"""The response cache kept in the shared state (gateway.cache.SharedCacheStore): what one worker
fetched answers another, and one worker's write is seen by every other at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import cast

import redis.asyncio
from cryptography.fernet import Fernet

from gateway.cache import CachePolicy, ResponseCache, SharedCacheStore, stale_resource
from gateway.errors import UpstreamError
from gateway.shared import SharedState
from gateway.shared.redis_state import RedisState
from gateway.shared.sealed import Seal
from gateway.tenants import RESOURCE
from tests.unit.gateway.shared.conftest import MakeState

SEAL = Seal([Fernet.generate_key().decode()])


def _entry(key: str) -> str:
    """Where the shared cache keeps tenant t's Patient entry `key` (its name blinded)."""
    return f"t:cache:Patient:{SEAL.blind(key)}"


def test_two_workers_share_entries_and_a_write_through_one_drops_them_for_both(make_state: MakeState) -> None:
    async def scenario() -> tuple[int, dict[str, str], dict[str, str]]:
        a = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(make_state(), "t", SEAL, 100, 60))
        b = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(make_state(), "t", SEAL, 100, 60))
        loads = 0
        family = ["Okafor"]

        async def load() -> dict[str, str]:
            nonlocal loads
            loads += 1
            return {"resourceType": "Patient", "id": "p1", "family": family[0]}

        await a.fetch("Patient", "read:p1", load, RESOURCE, stale_resource)
        from_b = await b.fetch("Patient", "read:p1", load, RESOURCE, stale_resource)  # no vendor call
        family[0] = "Okafor-Ade"
        await a.forget_type("Patient")  # a wrote a Patient
        after_write = await b.fetch("Patient", "read:p1", load, RESOURCE, stale_resource)
        return loads, from_b, after_write

    loads, from_b, after_write = asyncio.run(scenario())
    assert from_b["family"] == "Okafor" and after_write["family"] == "Okafor-Ade" and loads == 2


def test_a_vendor_that_is_down_is_answered_from_another_workers_entry_marked_stale(make_state: MakeState) -> None:
    async def scenario() -> dict[str, object]:
        a = ResponseCache(CachePolicy(ttl=0.01, stale_for=60), SharedCacheStore(make_state(), "t", SEAL, 100, 60))
        b = ResponseCache(CachePolicy(ttl=0.01, stale_for=60), SharedCacheStore(make_state(), "t", SEAL, 100, 60))

        async def good() -> dict[str, str]:
            return {"resourceType": "Patient", "id": "p1"}

        async def down() -> dict[str, str]:
            raise UpstreamError("down")

        await a.fetch("Patient", "read:p1", good, RESOURCE, stale_resource)
        await asyncio.sleep(0.05)
        return await b.fetch("Patient", "read:p1", down, RESOURCE, stale_resource)

    answer = asyncio.run(scenario())
    assert answer["meta"]["tag"][0]["code"] == "stale"  # type: ignore[index]


def test_entries_in_the_shared_state_are_sealed(make_state: MakeState) -> None:
    key = Fernet.generate_key().decode()

    async def scenario() -> tuple[list[bytes], dict[str, str]]:
        state = make_state()
        cache = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(state, "t", Seal([key]), 100, 60))

        async def load() -> dict[str, str]:
            return {"resourceType": "Patient", "id": "p1", "family": "Okafor"}

        await cache.fetch("Patient", "read:p1", load, RESOURCE, stale_resource)
        stored = await state.get(f"t:cache:Patient:{Seal([key]).blind('read:p1')}")
        again = await cache.fetch("Patient", "read:p1", load, RESOURCE, stale_resource)
        return [stored or b""], again

    (stored,), again = asyncio.run(scenario())
    assert stored and b"Okafor" not in stored and again["family"] == "Okafor"


def test_an_entry_moved_to_another_key_in_the_store_is_not_served(make_state: MakeState) -> None:
    """Whoever can write to Redis but holds no sealing key cannot make one patient's cached
    record answer for another's: an entry is sealed with its key."""

    async def scenario() -> tuple[dict[str, str], int]:
        state = make_state()
        cache = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(state, "t", SEAL, 100, 60))
        loads = 0

        async def load(family: str) -> dict[str, str]:
            nonlocal loads
            loads += 1
            return {"resourceType": "Patient", "id": family, "family": family}

        await cache.fetch("Patient", "read:p1", lambda: load("Okafor"), RESOURCE, stale_resource)
        await cache.fetch("Patient", "read:p2", lambda: load("Lindqvist"), RESOURCE, stale_resource)
        p1 = await state.get(_entry("read:p1"))
        assert p1 is not None
        await state.put(_entry("read:p2"), p1, ttl=60)  # p1's entry under p2's key
        answer = await cache.fetch("Patient", "read:p2", lambda: load("Lindqvist"), RESOURCE, stale_resource)
        return answer, loads

    answer, loads = asyncio.run(scenario())
    assert answer["family"] == "Lindqvist" and loads == 3  # a miss: the vendor answered again


def test_an_answer_fetched_before_a_write_is_never_found_after_it(make_state: MakeState) -> None:
    async def scenario() -> dict[str, str]:
        cache = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(make_state(), "t", SEAL, 100, 60))
        answering = asyncio.Event()

        async def slow_old() -> dict[str, str]:
            answering.set()
            await asyncio.sleep(0.1)  # the write lands while the vendor's old answer is on its way
            return {"resourceType": "Patient", "id": "p1", "family": "Old"}

        async def new() -> dict[str, str]:
            return {"resourceType": "Patient", "id": "p1", "family": "New"}

        fill = asyncio.create_task(cache.fetch("Patient", "read:p1", slow_old, RESOURCE, stale_resource))
        await answering.wait()
        await cache.forget_type("Patient")  # the write
        await fill
        return await cache.fetch("Patient", "read:p1", new, RESOURCE, stale_resource)

    assert asyncio.run(scenario())["family"] == "New"


def test_an_answer_fetched_before_a_write_never_replaces_one_fetched_after_it(make_state: MakeState) -> None:
    """Worker a's fill began before b's write and lands after b's fresh fill: b's entry stays,
    and answers when the vendor is down."""

    async def scenario() -> dict[str, str]:
        a = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(make_state(), "t", SEAL, 100, 60))
        b = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(make_state(), "t", SEAL, 100, 60))
        answering, release = asyncio.Event(), asyncio.Event()

        async def slow_old() -> dict[str, str]:
            answering.set()
            await release.wait()
            return {"resourceType": "Patient", "id": "p1", "family": "Old"}

        async def new() -> dict[str, str]:
            return {"resourceType": "Patient", "id": "p1", "family": "New"}

        async def down() -> dict[str, str]:
            raise UpstreamError("down")

        fill = asyncio.create_task(a.fetch("Patient", "read:p1", slow_old, RESOURCE, stale_resource))
        await answering.wait()
        await b.forget_type("Patient")  # b wrote a Patient
        await b.fetch("Patient", "read:p1", new, RESOURCE, stale_resource)  # and read it back
        release.set()
        await fill  # a's old answer arrives last
        return await b.fetch("Patient", "read:p1", down, RESOURCE, stale_resource)

    assert asyncio.run(scenario())["family"] == "New"


def test_however_many_distinct_searches_the_shared_cache_keeps_at_most_its_room(make_state: MakeState) -> None:
    async def scenario() -> tuple[int, int]:
        state = make_state()
        cache = ResponseCache(CachePolicy(ttl=60, max_entries=5), SharedCacheStore(state, "t", SEAL, 5, 60))
        loads = 0

        async def load() -> dict[str, str]:
            nonlocal loads
            loads += 1
            return {"resourceType": "Patient", "id": "p1"}

        for i in range(50):  # a client making up searches
            await cache.fetch("Patient", f"search:{i}", load, RESOURCE, stale_resource)
        kept = 0
        for i in range(50):
            kept += await state.get(_entry(f"search:{i}")) is not None
        return kept, loads

    kept, loads = asyncio.run(scenario())
    assert kept == 5 and loads == 50  # every client answered; only the room's worth kept


def test_a_cache_hit_is_one_round_trip_to_the_shared_state(make_state: MakeState) -> None:
    """Each worker's hit reads the type's generation and the entry together (one MGET on Redis)."""

    class Counting:
        def __init__(self, state: SharedState) -> None:
            self.state = state
            self.reads = 0

        def __getattr__(self, name: str) -> object:
            if name in ("get", "get_many"):
                self.reads += 1
            return getattr(self.state, name)

    async def scenario() -> tuple[int, dict[str, str]]:
        counting = Counting(make_state())
        cache = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(cast(SharedState, counting), "t", SEAL, 100, 60))

        async def load() -> dict[str, str]:
            return {"resourceType": "Patient", "id": "p1"}

        await cache.fetch("Patient", "read:p1", load, RESOURCE, stale_resource)
        counting.reads = 0
        hit = await cache.fetch("Patient", "read:p1", load, RESOURCE, stale_resource)
        return counting.reads, hit

    reads, hit = asyncio.run(scenario())
    assert reads == 1 and hit["id"] == "p1"


def test_redis_key_names_hold_no_record_id(redis_url: str) -> None:
    """Redis's key names are seen by more than the values are (SCAN, MONITOR, a backup's
    listing, a managed service's console): a cached read is named by a keyed hash of its id."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"

    async def scenario() -> list[str]:
        state = RedisState(redis_url, prefix=prefix)
        cache = ResponseCache(CachePolicy(ttl=60), SharedCacheStore(state, "t", SEAL, 100, 60))

        async def load() -> dict[str, str]:
            return {"resourceType": "Patient", "id": "4f9a2c71-ee0d-4b7e-9a3c-2d1c5a7b9e10"}

        await cache.fetch("Patient", "read:4f9a2c71-ee0d-4b7e-9a3c-2d1c5a7b9e10", load, RESOURCE, stale_resource)
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            return [k.decode() async for k in client.scan_iter(match=f"{prefix}*")]
        finally:
            await client.aclose()
            await state.aclose()

    names = asyncio.run(scenario())
    assert any(":cache:Patient:" in name for name in names)
    assert not any("4f9a2c71" in name for name in names)
