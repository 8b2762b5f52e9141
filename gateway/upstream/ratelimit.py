"""Staying under a vendor's published request limits, and saying so when we cannot.

Each vendor connection gets one `RateLimit` shared by all its requests. A request that
would have to wait for its turn longer than `max_wait` seconds is refused at once: the
client of the gateway gets a 429 with a `Retry-After`, instead of a request that hangs
until some timeout.

Each window is a leaky bucket in which a request reserves its turn when it arrives (so
turns go in arrival order) and then sleeps until it. The buckets live in the shared state
(gateway.shared): in this process by default, or on Redis for every worker and replica at
once. Time comes from an injectable clock and sleep (default `time.monotonic` and
`asyncio.sleep`) so that tests move time instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gateway.errors import Throttled
from gateway.shared.state import LocalState, SharedState
from gateway.upstream.observe import observer

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Window:
    requests: int
    seconds: float


class RateLimit:
    """The vendor's windows, each a leaky bucket in the shared state (gateway.shared), so that
    all the workers and replicas sharing it together stay under the vendor's limits.

    A bucket of capacity c draining at r per second admits at most c + r·T in a span T, so
    with c = (1 - headroom)·n and r = (n - c)/T that is n: bursts stay small and a vendor
    counting in fixed windows never sees two bursts meet at a window boundary; and that holds
    in ANY span of the window's length, fixed or sliding. But the vendor counts a request when
    it arrives, not when its turn came: requests whose turns were up to `jitter` seconds apart
    (event-loop backlog, the network) may arrive together. Draining at r = (n - c)/(T + jitter)
    keeps any span of T + jitter to n turns, so that such a bunching never makes n + 1.
    """

    def __init__(
        self,
        windows: Sequence[Window],
        *,
        max_wait: float = 5.0,
        headroom: float = 0.9,
        jitter: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        state: SharedState | None = None,
        key: str = "vendor",
    ) -> None:
        """`state`: where the buckets are kept (default: this process, on `clock`); `key` names
        the vendor connection in it (its tenant)."""
        self._sleep = sleep
        self._state: SharedState = state if state is not None else LocalState(clock)
        self._key = key
        self._buckets = [
            (f"{key}:rate:{w.requests}/{w.seconds:g}s", _rate(w, headroom, jitter), _capacity(w, headroom))
            for w in windows
        ]
        self._longest = max((w.seconds for w in windows), default=1.0)
        self._max_wait = max_wait

    async def acquire(self) -> None:
        reserved: list[tuple[str, float, float]] = []
        waited = 0.0
        try:
            for bucket in self._buckets:
                wait = await self._state.reserve(*bucket, self._max_wait)
                if wait is None:
                    observer().rate_limit_refused(self._key)
                    raise Throttled(
                        "The vendor's request limit is used up; retry later",
                        retry_after=math.ceil(min(self._longest, max(1.0, self._max_wait))),
                    )
                reserved.append(bucket)
                if wait > 0:
                    waited += wait
                    await self._sleep(wait)
        except BaseException:  # refused, cancelled, or the shared state failed: nothing is sent
            for key, rate, capacity in reserved:  # so it takes no turn
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._state.release(key, rate, capacity))
            raise
        observer().rate_limit_wait(self._key, waited)


def _rate(window: Window, headroom: float, jitter: float) -> float:
    # A window of one request has no room for a burst beside the turns (c = n = 1 would drain
    # at 0 a second): one turn every T + jitter, the first at once.
    return max(window.requests - _capacity(window, headroom), 1) / (window.seconds + jitter)


def _capacity(window: Window, headroom: float) -> float:
    return float(max(1, math.floor(window.requests * (1 - headroom))))
