"""gateway.audit.sequence: audit lines are numbered uniquely and without gaps across every
sharer of the state, in the order they came, with one round trip per batch of lines."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from gateway.audit.sequence import AuditSequence
from gateway.shared import LocalState, SharedStateUnavailable
from tests.unit.gateway.shared.conftest import MakeState


class SlowRemote(LocalState):
    """A shared state a round trip away: each count takes a while, and is counted."""

    kind = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.round_trips = 0
        self.down = False

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self.round_trips += 1
        await asyncio.sleep(0.01)
        if self.down:
            raise SharedStateUnavailable()
        return await super().incr(key, amount, ttl)


def test_lines_that_come_together_share_a_round_trip_and_keep_their_order() -> None:
    async def scenario() -> tuple[list[int], int]:
        remote = SlowRemote()
        sequence = AuditSequence(remote)
        numbers = await asyncio.gather(*(sequence.next() for _ in range(50)))
        return numbers, remote.round_trips

    numbers, round_trips = asyncio.run(scenario())
    assert numbers == list(range(1, 51))  # in the order the lines asked
    assert round_trips <= 2  # the first line's, and one for the 49 that came while it was out


def test_an_idle_worker_counts_each_line_as_it_comes() -> None:
    async def scenario() -> tuple[list[int], int]:
        remote = SlowRemote()
        sequence = AuditSequence(remote)
        return [await sequence.next() for _ in range(5)], remote.round_trips

    assert asyncio.run(scenario()) == ([1, 2, 3, 4, 5], 5)


def test_when_the_state_cannot_be_reached_the_batch_is_told_and_the_next_line_counts_again() -> None:
    async def scenario() -> tuple[list[object], int]:
        remote = SlowRemote()
        sequence = AuditSequence(remote)
        remote.down = True
        failed = await asyncio.gather(*(sequence.next() for _ in range(3)), return_exceptions=True)
        remote.down = False
        return failed, await sequence.next()

    failed, after = asyncio.run(scenario())
    assert all(isinstance(f, SharedStateUnavailable) for f in failed)
    assert after == 1  # nothing was counted for the lines that went without a number


def test_a_line_whose_client_left_before_its_count_takes_no_number() -> None:
    async def scenario() -> list[int]:
        sequence = AuditSequence(SlowRemote())
        first = asyncio.ensure_future(sequence.next())
        await asyncio.sleep(0)
        left = asyncio.ensure_future(sequence.next())
        stays = asyncio.ensure_future(sequence.next())
        await asyncio.sleep(0)
        left.cancel()
        return [await first, await stays]

    assert asyncio.run(scenario()) == [1, 2]


def test_the_counts_are_made_outside_any_requests_context() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")
    seen: list[str] = []

    class Recording(SlowRemote):
        async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
            seen.append(request_id.get())
            return await super().incr(key, amount, ttl)

    async def line(sequence: AuditSequence, name: str) -> int:
        request_id.set(name)
        return await sequence.next()

    async def scenario() -> None:
        sequence = AuditSequence(Recording())
        await asyncio.gather(*(line(sequence, f"request-{n}") for n in range(5)))

    asyncio.run(scenario())
    assert seen and set(seen) == {"none"}  # not the context of the request that started the counting


def test_workers_sharing_the_state_number_lines_uniquely_and_without_gaps(make_state: MakeState) -> None:
    async def scenario() -> list[int]:
        workers = [AuditSequence(make_state()) for _ in range(3)]

        async def lines(sequence: AuditSequence) -> list[int]:
            numbers = []
            for _ in range(10):
                numbers += await asyncio.gather(*(sequence.next() for _ in range(7)))
                await asyncio.sleep(0)
            return numbers

        per_worker = await asyncio.gather(*(lines(w) for w in workers))
        for numbers in per_worker:
            assert numbers == sorted(numbers)  # each worker's lines in the order they came
        return sorted(n for numbers in per_worker for n in numbers)

    assert asyncio.run(scenario()) == list(range(1, 211))


@pytest.mark.parametrize("amount", [1, 7])
def test_in_one_process_each_line_is_counted_directly(amount: int) -> None:
    async def scenario() -> list[int]:
        sequence = AuditSequence(LocalState())
        return list(await asyncio.gather(*(sequence.next() for _ in range(amount))))

    assert asyncio.run(scenario()) == list(range(1, amount + 1))
