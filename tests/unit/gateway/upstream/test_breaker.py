"""The circuit breaker's states, on a clock the test moves; and shared by several workers."""

from __future__ import annotations

import asyncio

import pytest

from gateway.contract.resilience import BreakerPolicy
from gateway.errors import VendorUnavailable
from gateway.shared import LocalState
from gateway.upstream.breaker import SYNC_EVERY, CircuitBreaker, State
from tests.support.clock import SetClock

POLICY = BreakerPolicy(window=10, min_calls=10, failure_ratio=0.5, consecutive=5, open_for=5)


def breaker() -> tuple[CircuitBreaker, SetClock[float]]:
    clock = SetClock(100.0)
    return CircuitBreaker(POLICY, clock), clock


def run(step: object) -> None:
    asyncio.run(step)  # type: ignore[arg-type]


def calls(b: CircuitBreaker, outcomes: str) -> None:
    async def go() -> None:
        for outcome in outcomes:  # "F" failed, "." succeeded
            await b.before_call()
            await b.record(failed=outcome == "F")

    run(go())


def test_consecutive_failures_open_it_and_it_refuses_at_once() -> None:
    b, _ = breaker()
    calls(b, "FFFF")
    assert b.state is State.CLOSED
    calls(b, "F")
    assert b.state is State.OPEN
    with pytest.raises(VendorUnavailable) as refused:
        run(b.before_call())
    assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "5"


def test_a_failure_ratio_over_the_window_opens_it() -> None:
    b, _ = breaker()
    calls(b, "F.F.F.F.F.")  # never 5 in a row, but half of 10
    assert b.state is State.OPEN


def test_old_calls_leave_the_window() -> None:
    b, clock = breaker()
    calls(b, "F.F.F.F.")
    clock.now += 11
    calls(b, "F.")  # the earlier failures are out of the window: 1 of 2 < min_calls
    assert b.state is State.CLOSED


def test_after_open_for_one_probe_goes_through_and_its_success_closes_it() -> None:
    b, clock = breaker()
    calls(b, "FFFFF")
    clock.now += 5
    assert b.state is State.HALF_OPEN
    run(b.before_call())  # the probe
    with pytest.raises(VendorUnavailable):
        run(b.before_call())  # only one at a time
    run(b.record(failed=False))
    assert b.state is State.CLOSED
    calls(b, "....")


def test_a_failed_probe_opens_it_for_longer() -> None:
    b, clock = breaker()
    calls(b, "FFFFF")
    clock.now += 5
    run(b.before_call())
    run(b.record(failed=True))
    clock.now += 5
    assert b.state is State.OPEN  # 10 s now
    clock.now += 5
    assert b.state is State.HALF_OPEN


def test_an_abandoned_probe_lets_another_through() -> None:
    b, clock = breaker()
    calls(b, "FFFFF")
    clock.now += 5
    run(b.before_call())
    b.abandon()  # the client went away mid-call
    run(b.before_call())  # no outcome came: another probe may go


def workers(n: int) -> tuple[list[CircuitBreaker], SetClock[float]]:
    """`n` workers' breakers of one connection, sharing one state (as on one Redis)."""
    clock = SetClock(100.0)
    state = LocalState(clock)
    return [CircuitBreaker(POLICY, clock, shared=state, name="t") for _ in range(n)], clock


def test_a_breaker_opened_by_one_worker_opens_the_others_when_they_next_look() -> None:
    (a, b), clock = workers(2)
    calls(a, "FFFFF")
    clock.now += SYNC_EVERY
    with pytest.raises(VendorUnavailable):
        run(b.before_call())  # b made no call itself
    assert b.state is State.OPEN


def test_across_workers_one_probe_at_a_time_and_its_success_closes_every_breaker() -> None:
    (a, b), clock = workers(2)
    calls(a, "FFFFF")
    clock.now += SYNC_EVERY
    with pytest.raises(VendorUnavailable):
        run(b.before_call())
    clock.now += 5
    run(a.before_call())  # a probes
    with pytest.raises(VendorUnavailable):
        run(b.before_call())  # b may not probe meanwhile
    run(a.record(failed=False))
    clock.now += SYNC_EVERY
    run(b.before_call())  # closed for b too
    assert a.state is State.CLOSED and b.state is State.CLOSED


def test_a_failed_probe_by_a_worker_that_adopted_the_open_state_doubles_the_whole_period() -> None:
    (a, b), clock = workers(2)
    calls(a, "FFFFF")  # a opens it for 5 s
    clock.now += SYNC_EVERY
    with pytest.raises(VendorUnavailable):
        run(b.before_call())  # b adopts it: 4.5 s left of 5
    clock.now += 4.5
    run(b.before_call())  # b's probe
    run(b.record(failed=True))  # fails: open for 10 s, not twice what b had left
    clock.now += SYNC_EVERY
    with pytest.raises(VendorUnavailable) as refused:
        run(a.before_call())
    assert int(refused.value.headers["Retry-After"]) >= 9
    clock.now += 9
    assert a.state is State.OPEN and b.state is State.OPEN
