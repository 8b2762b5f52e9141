"""Laravel's ``throttle`` middleware, under the ``rate_limit`` reading (none by default).

The docs name no request limit, but a Laravel 10 app's ``api`` middleware group carries
``ThrottleRequests:api``, which ``RouteServiceProvider`` configures as
``Limit::perMinute(60)``: every route, the login included (``rate_window="second"``: a limiter
counting per second, Laravel 11's ``Limit::perSecond``). The counter is Laravel's
``RateLimiter``, on whole seconds as its cache is: the first hit opens a window that ends a
minute (or a second) after the second it came in, and the hits after the limit, until the
window ends, are 429 ``{"message": "Too Many Attempts."}`` with ``Retry-After`` (the seconds
left in the window), ``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0`` and
``X-RateLimit-Reset`` (the window's end, epoch seconds). Every answer the limit lets through
carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining`` (what is left of the window), as
``ThrottleRequests::addHeaders`` writes them. One counter for the whole app: the gateway is its
one client (its user, or its address).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandboxes.nextvisit.errors import respond
from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.readings import RateWindow
from sandboxes.toolkit.clock import Clock

__all__ = ["Throttle", "ThrottleMiddleware"]

_WINDOWS: dict[RateWindow, timedelta] = {"minute": timedelta(seconds=60), "second": timedelta(seconds=1)}


class Throttle:
    """The hits of the current window against a limit per window."""

    def __init__(self, limit: int, window: RateWindow, clock: Clock) -> None:
        self.limit = limit
        self._window = _WINDOWS[window]
        self._clock = clock
        self._window_end: datetime | None = None
        self._hits = 0

    def hit(self) -> float | None:
        """Count one request: None when it may pass, else the seconds until the window ends."""
        now = self._clock()
        end = self._current_window(now)
        self._hits += 1
        if self._hits <= self.limit:
            return None
        return (end - now).total_seconds()

    @property
    def remaining(self) -> int:
        """The requests the current window still lets through."""
        return max(self.limit - self._hits, 0)

    def use_up(self, leaving: int) -> None:
        """A test hook: the window's hits so far leave `leaving` requests before the limit."""
        self._current_window(self._clock())
        self._hits = max(self.limit - leaving, 0)

    def _current_window(self, now: datetime) -> datetime:
        """The end of the window `now` is in, a new one (no hits yet) if the last has ended."""
        if self._window_end is None or now >= self._window_end:
            # Laravel's RateLimiter stamps the window's end in whole seconds (`availableAt`).
            self._window_end, self._hits = now.replace(microsecond=0) + self._window, 0
        return self._window_end

    @property
    def window_end(self) -> datetime | None:
        return self._window_end


class ThrottleMiddleware:
    """Every request past the limit answered 429 before it reaches a route (``ThrottleRequests``);
    the others answered with what is left of the limit."""

    def __init__(self, app: ASGIApp, throttle: Throttle | None) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        throttle = self.throttle
        if scope["type"] != "http" or throttle is None:
            await self.app(scope, receive, send)
            return
        wait = throttle.hit()
        if wait is None:
            remaining = throttle.remaining

            async def send_counted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    headers["X-RateLimit-Limit"] = str(throttle.limit)
                    headers["X-RateLimit-Remaining"] = str(remaining)
                await send(message)

            await self.app(scope, receive, send_counted)
            return
        end = throttle.window_end
        assert end is not None  # set by the hit just counted
        response = respond(429, php_json({"message": "Too Many Attempts."}))
        response.headers["Retry-After"] = str(max(math.ceil(wait), 1))
        response.headers["X-RateLimit-Limit"] = str(throttle.limit)
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = str(math.ceil(end.timestamp()))
        await response(scope, receive, send)
