"""Staying under a vendor's published request limits, and saying so when we cannot.

Each vendor connection gets one `RateLimit` shared by all its requests. A request waits for
its turn at most `max_wait` seconds; past that the client of the gateway gets a 429 with a
`Retry-After`, instead of a request that hangs until some timeout.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from gateway.errors import Throttled


@dataclass(frozen=True)
class Window:
    requests: int
    seconds: float


def _bucket(window: Window, headroom: float) -> AsyncLimiter:
    """A leaky bucket that never exceeds `window` in ANY span of its length, fixed or sliding.

    A bucket of capacity c draining at r per second admits at most c + r·T in a span T, so
    with r = headroom·n/T and c = (1 - headroom)·n that is n: bursts stay small and a vendor
    counting in fixed windows never sees two bursts meet at a window boundary.
    """
    rate = window.requests * headroom / window.seconds
    capacity = max(1, math.floor(window.requests * (1 - headroom)))
    return AsyncLimiter(capacity, capacity / rate)


class RateLimit:
    def __init__(self, windows: Sequence[Window], *, max_wait: float = 5.0, headroom: float = 0.9) -> None:
        self._limiters = [_bucket(w, headroom) for w in windows]
        self._longest = max((w.seconds for w in windows), default=1.0)
        self._max_wait = max_wait

    async def acquire(self) -> None:
        for limiter in self._limiters:
            try:
                await asyncio.wait_for(limiter.acquire(), timeout=self._max_wait)
            except TimeoutError:
                raise Throttled(
                    "The vendor's request limit is used up; retry later",
                    retry_after=math.ceil(min(self._longest, max(1.0, self._max_wait))),
                ) from None
