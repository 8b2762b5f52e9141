"""Laravel's ``throttle:api`` middleware, under the ``rate_limit`` reading (none by default).

The docs name no request limit, but a Laravel 10 app's ``api`` middleware group carries
``ThrottleRequests:api``, which ``RouteServiceProvider`` configures as
``Limit::perMinute(60)``: every route, the login included. The counter is Laravel's
``RateLimiter``: the first hit opens a window of 60 seconds (by ``clock``) and the hits
after the limit, until the window ends, are 429 ``{"message": "Too Many Attempts."}`` with
``Retry-After`` (the seconds left in the window), ``X-RateLimit-Limit``,
``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (the window's end, epoch seconds).
One counter for the whole app: the gateway is its one client (its user, or its address).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.nextvisit.errors import respond
from sandboxes.nextvisit.php_json import php_json
from sandboxes.toolkit.clock import Clock

__all__ = ["Throttle", "ThrottleMiddleware"]

_WINDOW = timedelta(seconds=60)  # Limit::perMinute


class Throttle:
    """The hits of the current window against a limit per minute."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._window_end: datetime | None = None
        self._hits = 0

    def hit(self) -> float | None:
        """Count one request: None when it may pass, else the seconds until the window ends."""
        now = self._clock()
        if self._window_end is None or now >= self._window_end:
            self._window_end, self._hits = now + _WINDOW, 0
        self._hits += 1
        if self._hits <= self.per_minute:
            return None
        return (self._window_end - now).total_seconds()

    def use_up(self, leaving: int) -> None:
        """A test hook: the window's hits so far leave `leaving` requests before the limit."""
        now = self._clock()
        if self._window_end is None or now >= self._window_end:
            self._window_end = now + _WINDOW
        self._hits = max(self.per_minute - leaving, 0)

    @property
    def window_end(self) -> datetime | None:
        return self._window_end


class ThrottleMiddleware:
    """Every request past the limit answered 429 before it reaches a route (``ThrottleRequests``)."""

    def __init__(self, app: ASGIApp, throttle: Throttle | None) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.throttle is None:
            await self.app(scope, receive, send)
            return
        wait = self.throttle.hit()
        if wait is None:
            await self.app(scope, receive, send)
            return
        end = self.throttle.window_end
        assert end is not None  # set by the hit just counted
        response = respond(429, php_json({"message": "Too Many Attempts."}))
        response.headers["Retry-After"] = str(max(math.ceil(wait), 1))
        response.headers["X-RateLimit-Limit"] = str(self.throttle.per_minute)
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = str(math.ceil(end.timestamp()))
        await response(scope, receive, send)
