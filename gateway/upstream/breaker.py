"""A circuit breaker per vendor connection (Nygard, "Release It!"; resilience4j's states).

Closed: calls go through and their outcomes are counted over a sliding time window. It opens
when, over the window, at least `min_calls` were made and `failure_ratio` of them failed, or
when `consecutive` calls in a row failed. Open: calls are refused at once (the client gets a
503 with Retry-After instead of waiting on a vendor that is down). After `open_for` seconds it
is half-open: one probe call goes through; its success closes the breaker, its failure opens it
again for longer (doubling, up to 8 times `open_for`).

With a shared state (gateway.shared on Redis), workers and replicas share what matters: a
breaker that opens publishes it, and the others open too when they next look (every
`SYNC_EVERY` seconds, so a refusal costs no round trip); one probe at a time is let through
across all of them (a lease), and a successful probe closes it for everyone. Each keeps
counting its own calls: the failure ratio of one worker's calls is that of the vendor.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from enum import StrEnum

from gateway.contract.resilience import BreakerPolicy
from gateway.errors import VendorUnavailable
from gateway.shared.state import SharedState, SharedStateUnavailable
from gateway.upstream.observe import observer

log = logging.getLogger("gateway.upstream")
SYNC_EVERY = 0.5  # seconds between looks at the shared state
PROBE_LEASE = 30.0  # seconds a probe may take before another sharer may probe


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Callable[[], float] = time.monotonic,
        *,
        shared: SharedState | None = None,
        name: str = "",
    ) -> None:
        """`shared`: where the open state is shared under `name` (the connection's tenant)."""
        self.policy = policy
        self._clock = clock
        self._shared = shared
        self.name = name
        self._calls: deque[tuple[float, bool]] = deque()  # (when, failed) within the window
        self._failures_in_row = 0
        self._failures = 0  # failures among `_calls`
        self._state = State.CLOSED
        self._opened_at = 0.0
        self._open_for = policy.open_for
        self._probing = False
        self._synced_at = -SYNC_EVERY
        self._adopted = False  # open because another sharer said so
        self._reported = State.CLOSED
        self._background: set[asyncio.Future[None]] = set()

    @property
    def state(self) -> State:
        if self._state is State.OPEN and self._clock() - self._opened_at >= self._open_for:
            return State.HALF_OPEN
        return self._state

    async def before_call(self) -> bool:
        """Let a call through, or refuse it (VendorUnavailable) while open or probing. True when
        the call let through is the probe: its outcome must be recorded (or abandoned)."""
        state = await self._current()
        if state is State.CLOSED:
            return False
        if state is State.HALF_OPEN and not self._probing and await self._lease_probe():
            self._probing = True  # this call is the probe
            return True
        raise self._refusal()

    async def refuse_while_open(self) -> None:
        """Refuse a call at once (VendorUnavailable) while open, or while this breaker's probe is
        out, as `before_call` would; let nothing through: a call still waiting for something of
        its own (a turn under the vendor's limit) is not kept waiting to be refused, and is not
        chosen as the probe while it waits, where a sibling's refusal would cancel it unsent."""
        state = await self._current()
        if state is State.OPEN or (state is State.HALF_OPEN and self._probing):
            raise self._refusal()

    async def _current(self) -> State:
        if self._shared is not None and self._clock() - self._synced_at >= SYNC_EVERY:
            await self._sync(self._shared)
        state = self.state
        self._report(state)
        return state

    def _refusal(self) -> VendorUnavailable:
        wait = max(1, math.ceil(self._open_for - (self._clock() - self._opened_at)))
        return VendorUnavailable(
            "The vendor system is failing; requests to it are paused for a moment", retry_after=wait
        )

    async def record(self, failed: bool) -> None:
        now = self._clock()
        if self._probing:
            self._probing = False
            if failed:
                await self._open(now, longer=True)
            else:
                await self._close()
            return
        self._calls.append((now, failed))
        self._failures += failed
        while self._calls and now - self._calls[0][0] > self.policy.window:
            self._failures -= self._calls.popleft()[1]
        self._failures_in_row = self._failures_in_row + 1 if failed else 0
        if self._state is not State.CLOSED:
            return
        # Counted as calls come and go, not recounted: this runs on every vendor call.
        calls = len(self._calls)
        ratio_tripped = calls >= self.policy.min_calls and self._failures >= self.policy.failure_ratio * calls
        if ratio_tripped or self._failures_in_row >= self.policy.consecutive:
            await self._open(now, longer=False)

    def abandon(self) -> None:
        """A call let through ended without an outcome (cancelled): a probe may be tried again."""
        if self._probing and self._shared is not None:
            # Give the lease back now rather than after PROBE_LEASE (not awaited: this runs
            # while the call is being cancelled).
            task = asyncio.ensure_future(self._publish(self._shared.delete(f"{self.name}:breaker-probe")))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        self._probing = False

    async def _open(self, now: float, *, longer: bool) -> None:
        self._open_for = min(self._open_for * 2, self.policy.open_for * 8) if longer else self.policy.open_for
        self._state = State.OPEN
        self._opened_at = now
        self._adopted = False
        self._report(State.OPEN)
        if self._shared is not None:
            await self._publish(
                self._shared.put(f"{self.name}:breaker-open", str(self._open_for).encode(), self._open_for),
                self._shared.delete(f"{self.name}:breaker-probe"),
            )

    async def _close(self) -> None:
        self._reset()
        self._report(State.CLOSED)
        if self._shared is not None:
            await self._publish(
                self._shared.delete(f"{self.name}:breaker-open"),
                self._shared.delete(f"{self.name}:breaker-probe"),
                self._shared.put(f"{self.name}:breaker-closed", b"1", SYNC_EVERY * 4),
            )

    async def _publish(self, *steps: Awaitable[None]) -> None:
        """Tell the other sharers; best effort: the call's own outcome stands either way."""
        try:
            for step in steps:
                await step
        except SharedStateUnavailable:
            for step in steps:  # the ones not awaited: no "never awaited" warnings
                if inspect.iscoroutine(step):
                    step.close()
            log.warning("tenant %s: the breaker's state could not be shared", self.name)

    async def _sync(self, shared: SharedState) -> None:
        """Open while another sharer has it open; close when a sharer's probe closed it. When
        the shared state cannot be reached, this breaker goes on with what it saw itself."""
        self._synced_at = self._clock()
        try:
            remaining = await shared.expiry(f"{self.name}:breaker-open")
            period = await shared.get(f"{self.name}:breaker-open") if remaining is not None else None
            closed = remaining is None and await shared.get(f"{self.name}:breaker-closed") is not None
        except SharedStateUnavailable:
            return
        if remaining is not None and period is not None:
            now = self._clock()
            if self._state is State.CLOSED or now + remaining > self._opened_at + self._open_for:
                # The opener's whole period, so that a failed probe here doubles that, not what is left of it.
                self._open_for = float(period)
                self._state, self._opened_at, self._adopted = State.OPEN, now - (self._open_for - remaining), True
        elif closed and self._state is State.OPEN and not self._probing:
            self._reset()  # closed by another sharer's probe: nothing to publish

    def _reset(self) -> None:
        self._state = State.CLOSED
        self._calls.clear()
        self._failures = 0
        self._failures_in_row = 0
        self._open_for = self.policy.open_for
        self._adopted = False

    async def _lease_probe(self) -> bool:
        if self._shared is None:
            return True
        try:
            return await self._shared.put_new(f"{self.name}:breaker-probe", b"1", PROBE_LEASE)
        except SharedStateUnavailable:
            return True  # each worker probes for itself

    def _report(self, state: State) -> None:
        if state is not self._reported:
            self._reported = state
            observer().breaker_state(self.name, state.value)
