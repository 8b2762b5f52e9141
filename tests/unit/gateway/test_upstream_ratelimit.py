"""The vendor request limiter (gateway.upstream.ratelimit) on a fake clock: turns in arrival
order within every window, refusal past `max_wait`, turns given back when not used."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from gateway.errors import Throttled
from gateway.upstream.ratelimit import RateLimit, Window


class FakeTime:
    """A clock whose sleeps return at once, noting when each sleeper would wake."""

    def __init__(self) -> None:
        self.now = 0.0
        self.wakes: list[float] = []
        self.hang = False  # sleeps never end (until cancelled)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.hang:
            await asyncio.Event().wait()
        self.wakes.append(self.now + seconds)


def test_turns_never_exceed_the_window_in_any_span() -> None:
    time = FakeTime()
    limit = RateLimit([Window(10, 1.0)], max_wait=100.0, clock=time, sleep=time.sleep)

    async def scenario() -> None:
        for _ in range(40):
            await limit.acquire()

    asyncio.run(scenario())
    sent = [0.0, *time.wakes]  # the first goes at once: a burst of (1 - headroom) * 10 = 1
    assert len(sent) == 40
    assert sent == sorted(sent)
    for start in sent:  # even with each request arriving up to 0.2 s (the jitter allowance) late
        assert sum(1 for t in sent if start <= t < start + 1.2) <= 10


def test_a_turn_further_than_max_wait_is_refused_at_once() -> None:
    time = FakeTime()
    limit = RateLimit([Window(5, 1.0)], max_wait=0.7, clock=time, sleep=time.sleep)

    async def scenario() -> list[object]:
        return await asyncio.gather(*(limit.acquire() for _ in range(6)), return_exceptions=True)

    results = asyncio.run(scenario())
    throttled = [r for r in results if isinstance(r, Throttled)]
    assert results[:3] == [None, None, None]  # at once, then 1.2/4 s and 2.4/4 s later
    assert len(throttled) == 3 and all(t.headers["Retry-After"] == "1" for t in throttled)
    time.now += 10.0
    asyncio.run(limit.acquire())  # the refused ones took no turn


def test_every_window_is_kept() -> None:
    time = FakeTime()
    limit = RateLimit([Window(100, 1.0), Window(20, 60.0)], max_wait=1000.0, clock=time, sleep=time.sleep)

    async def scenario() -> None:
        for _ in range(21):
            await limit.acquire()
            time.now = max([time.now, *time.wakes])

    asyncio.run(scenario())
    assert time.now >= 60.0 * 0.9  # the minute window, not the second one, set the pace


def test_a_cancelled_wait_gives_its_turn_back() -> None:
    time = FakeTime()
    limit = RateLimit([Window(10, 1.0)], max_wait=10.0, clock=time, sleep=time.sleep)

    async def scenario() -> None:
        await limit.acquire()  # the burst of one
        time.hang = True
        waiting = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        time.hang = False
        await limit.acquire()

    asyncio.run(scenario())
    # the cancelled request's turn went to the next one: 9 turns per 1.2 s after the burst of one
    assert time.wakes == [pytest.approx(1.2 / 9)]


def test_a_limit_of_one_request_a_window_gives_one_turn_each_window() -> None:
    """A limit of one request a second (the lowest an operator may set): before, its bucket
    drained at (1 - 1) / 1.2 = 0 a second and the first request divided by zero, so every
    request to the tenant was a 500."""
    time = FakeTime()
    limit = RateLimit([Window(1, 1.0)], max_wait=100.0, clock=time, sleep=time.sleep)

    async def scenario() -> None:
        for _ in range(4):
            await limit.acquire()

    asyncio.run(scenario())
    sent = [0.0, *time.wakes]
    assert len(sent) == 4
    assert all(later - earlier == pytest.approx(1.2) for earlier, later in itertools.pairwise(sent))
