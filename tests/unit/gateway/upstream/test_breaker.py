"""The circuit breaker's states, on a clock the test moves."""

from __future__ import annotations

import pytest

from gateway.contract.resilience import BreakerPolicy
from gateway.errors import VendorUnavailable
from gateway.upstream.breaker import CircuitBreaker, State
from tests.support.clock import SetClock

POLICY = BreakerPolicy(window=10, min_calls=10, failure_ratio=0.5, consecutive=5, open_for=5)


def breaker() -> tuple[CircuitBreaker, SetClock[float]]:
    clock = SetClock(100.0)
    return CircuitBreaker(POLICY, clock), clock


def calls(b: CircuitBreaker, outcomes: str) -> None:
    for outcome in outcomes:  # "F" failed, "." succeeded
        b.before_call()
        b.record(failed=outcome == "F")


def test_consecutive_failures_open_it_and_it_refuses_at_once() -> None:
    b, _ = breaker()
    calls(b, "FFFF")
    assert b.state is State.CLOSED
    calls(b, "F")
    assert b.state is State.OPEN
    with pytest.raises(VendorUnavailable) as refused:
        b.before_call()
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
    b.before_call()  # the probe
    with pytest.raises(VendorUnavailable):
        b.before_call()  # only one at a time
    b.record(failed=False)
    assert b.state is State.CLOSED
    calls(b, "....")


def test_a_failed_probe_opens_it_for_longer() -> None:
    b, clock = breaker()
    calls(b, "FFFFF")
    clock.now += 5
    b.before_call()
    b.record(failed=True)
    clock.now += 5
    assert b.state is State.OPEN  # 10 s now
    clock.now += 5
    assert b.state is State.HALF_OPEN


def test_an_abandoned_probe_lets_another_through() -> None:
    b, clock = breaker()
    calls(b, "FFFFF")
    clock.now += 5
    b.before_call()
    b.abandon()  # the client went away mid-call
    b.before_call()  # no outcome came: another probe may go
