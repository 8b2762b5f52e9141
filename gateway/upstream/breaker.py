"""A circuit breaker per vendor connection (Nygard, "Release It!"; resilience4j's states).

Closed: calls go through and their outcomes are counted over a sliding time window. It opens
when, over the window, at least `min_calls` were made and `failure_ratio` of them failed, or
when `consecutive` calls in a row failed. Open: calls are refused at once (the client gets a
503 with Retry-After instead of waiting on a vendor that is down). After `open_for` seconds it
is half-open: one probe call goes through; its success closes the breaker, its failure opens it
again for longer (doubling, up to 8 times `open_for`).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum

from gateway.contract.resilience import BreakerPolicy
from gateway.errors import VendorUnavailable


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._calls: deque[tuple[float, bool]] = deque()  # (when, failed) within the window
        self._failures_in_row = 0
        self._state = State.CLOSED
        self._opened_at = 0.0
        self._open_for = policy.open_for
        self._probing = False

    @property
    def state(self) -> State:
        if self._state is State.OPEN and self._clock() - self._opened_at >= self._open_for:
            return State.HALF_OPEN
        return self._state

    def before_call(self) -> None:
        """Let a call through, or refuse it (VendorUnavailable) while open or probing."""
        state = self.state
        if state is State.CLOSED:
            return
        if state is State.HALF_OPEN and not self._probing:
            self._probing = True  # this call is the probe
            return
        wait = max(1, math.ceil(self._open_for - (self._clock() - self._opened_at)))
        raise VendorUnavailable(
            "The vendor system is failing; requests to it are paused for a moment", retry_after=wait
        )

    def record(self, failed: bool) -> None:
        now = self._clock()
        if self._probing:
            self._probing = False
            if failed:
                self._open(now, longer=True)
            else:
                self._close()
            return
        self._calls.append((now, failed))
        while self._calls and now - self._calls[0][0] > self.policy.window:
            self._calls.popleft()
        self._failures_in_row = self._failures_in_row + 1 if failed else 0
        if self._state is not State.CLOSED:
            return
        failures = sum(1 for _, f in self._calls if f)
        ratio_tripped = len(self._calls) >= self.policy.min_calls and failures >= self.policy.failure_ratio * len(
            self._calls
        )
        if ratio_tripped or self._failures_in_row >= self.policy.consecutive:
            self._open(now, longer=False)

    def abandon(self) -> None:
        """A call let through ended without an outcome (cancelled): a probe may be tried again."""
        self._probing = False

    def _open(self, now: float, *, longer: bool) -> None:
        self._open_for = min(self._open_for * 2, self.policy.open_for * 8) if longer else self.policy.open_for
        self._state = State.OPEN
        self._opened_at = now

    def _close(self) -> None:
        self._state = State.CLOSED
        self._calls.clear()
        self._failures_in_row = 0
        self._open_for = self.policy.open_for
