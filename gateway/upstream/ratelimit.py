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


class RateLimit:
    def __init__(self, windows: Sequence[Window], *, max_wait: float = 5.0, headroom: float = 0.9) -> None:
        # Headroom keeps us under the vendor's count even when our clock and theirs disagree.
        self._limiters = [AsyncLimiter(max(1, math.floor(w.requests * headroom)), w.seconds) for w in windows]
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
