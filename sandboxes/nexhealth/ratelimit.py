"""NexHealth's rate limit: per API key, so one limiter per app.

Fixed windows aligned on the epoch (``floor(now)`` seconds, ``floor(now / 60)`` minutes); a
refused request is not counted. NexHealth's 429 carries no ``Retry-After`` header, so neither
does ours by default: the message is all a client gets (``retry_after="seconds"`` of
``readings.Reading`` adds one: the whole seconds until the refusing window ends).
"""

from __future__ import annotations

import math

__all__ = ["RateLimiter"]


class RateLimiter:
    """Fixed one-second and one-minute windows aligned on the epoch."""

    def __init__(self, per_second: int, per_minute: int) -> None:
        self.per_second = per_second
        self.per_minute = per_minute
        self.second = self.minute = -1
        self.in_second = self.in_minute = 0

    def admit(self, now: float) -> str | None:
        """None when admitted (and counted), else the 429 message."""
        second, minute = math.floor(now), math.floor(now / 60)
        if second != self.second:
            self.second, self.in_second = second, 0
        if minute != self.minute:
            self.minute, self.in_minute = minute, 0
        if self.in_second >= self.per_second:
            return f"Rate limit exceeded: {self.per_second} requests per second"
        if self.in_minute >= self.per_minute:
            return f"Rate limit exceeded: {self.per_minute} requests per minute"
        self.in_second += 1
        self.in_minute += 1
        return None

    def wait(self, now: float) -> int:
        """Whole seconds until a request refused at `now` would be admitted (at least 1)."""
        if self.in_minute >= self.per_minute and math.floor(now / 60) == self.minute:
            return max(1, math.ceil((self.minute + 1) * 60 - now))
        return max(1, math.ceil(math.floor(now) + 1 - now))
