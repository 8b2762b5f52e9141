"""Staying under a vendor's published request limits, and saying so when we cannot.

Each vendor connection gets one `RateLimit` shared by all its requests. A request that
would have to wait for its turn longer than `max_wait` seconds is refused at once: the
client of the gateway gets a 429 with a `Retry-After`, instead of a request that hangs
until some timeout.

Each window is a leaky bucket in which a request reserves its turn when it arrives (so
turns go in arrival order) and then sleeps until it. Time comes from an injectable clock
and sleep (default `time.monotonic` and `asyncio.sleep`) so that tests move time instead
of waiting for it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gateway.errors import Throttled

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Window:
    requests: int
    seconds: float


class _Bucket:
    """A leaky bucket that never exceeds `window` in ANY span of its length, fixed or sliding.

    A bucket of capacity c draining at r per second admits at most c + r·T in a span T, so
    with r = headroom·n/T and c = (1 - headroom)·n that is n: bursts stay small and a vendor
    counting in fixed windows never sees two bursts meet at a window boundary.
    """

    def __init__(self, window: Window, headroom: float, now: float) -> None:
        self.rate = window.requests * headroom / window.seconds
        self.capacity = max(1, math.floor(window.requests * (1 - headroom)))
        self._level = 0.0  # requests admitted or reserved, less what has drained since
        self._at = now

    def reserve(self, now: float, max_wait: float) -> float | None:
        """Seconds until this request's turn (its place is taken), or None past `max_wait`."""
        self._level = max(0.0, self._level - max(0.0, now - self._at) * self.rate)
        self._at = now
        wait = max(0.0, (self._level + 1 - self.capacity) / self.rate)
        if wait > max_wait:
            return None
        self._level += 1
        return wait

    def release(self) -> None:
        """Give back a reserved turn that will not be used."""
        self._level = max(0.0, self._level - 1)


class RateLimit:
    def __init__(
        self,
        windows: Sequence[Window],
        *,
        max_wait: float = 5.0,
        headroom: float = 0.9,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._buckets = [_Bucket(w, headroom, clock()) for w in windows]
        self._longest = max((w.seconds for w in windows), default=1.0)
        self._max_wait = max_wait

    async def acquire(self) -> None:
        reserved: list[_Bucket] = []
        try:
            for bucket in self._buckets:
                wait = bucket.reserve(self._clock(), self._max_wait)
                if wait is None:
                    raise Throttled(
                        "The vendor's request limit is used up; retry later",
                        retry_after=math.ceil(min(self._longest, max(1.0, self._max_wait))),
                    )
                reserved.append(bucket)
                if wait > 0:
                    await self._sleep(wait)
        except (Throttled, asyncio.CancelledError):
            for bucket in reserved:  # the request is not sent: it takes no turn
                bucket.release()
            raise
