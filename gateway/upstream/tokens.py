"""The bearer token of one vendor connection, shared by all its requests.

A vendor client supplies only how to obtain a token (`Renewal`: the vendor's auth request,
returning the token and when to renew it, or None when it never expires). `TokenCache`
does the rest, the same way for every vendor:

- A fresh cached token is returned at once.
- Otherwise ONE renewal runs however many requests wait: renewals hold an asyncio.Lock and
  look at the cache again once they hold it, so the requests that queued behind a renewal
  get its token instead of renewing again.
- `stale=`: a request passes the token the vendor just refused (401); that forces a
  renewal, unless another request has already replaced that token.
- A failed renewal (a `FHIRError`) is remembered and re-raised to the requests that come
  after it while the `FailurePolicy` says it holds (default: `RememberFor` 5 seconds), so
  a vendor that refuses our credentials is asked once, not once per waiting request.
- `send_with_renewal`: send with the current token; on a 401 renew once and resend; a
  second 401 means the vendor refuses credentials it has just issued: `UpstreamSecurity`.

Time comes from an injectable clock (epoch seconds, default `time.time`) so that tests move
it instead of sleeping; a renewal's expiry time is on that clock. Neither the cache nor its
errors ever log or carry a token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.errors import FHIRError, UpstreamSecurity
from gateway.upstream.http import UpstreamResponse

Clock = Callable[[], float]
Renewal = Callable[[], Awaitable[tuple[str, float | None]]]
"""Obtain a new token from the vendor: (token, time to renew it on the cache's clock, or None)."""
Send = Callable[[str], Awaitable[UpstreamResponse]]
"""Send one request with this bearer token."""

FAILURE_MEMORY = 5.0  # seconds: long enough for a burst of waiting requests, short enough to recover


@dataclass(frozen=True)
class Failure:
    """A failed renewal as the cache remembers it."""

    error: FHIRError
    at: float  # the cache's clock when it failed
    mark: object = None  # what the policy noted about the world then (e.g. a file's mtime)


class FailurePolicy(Protocol):
    """How long a failed renewal is re-raised instead of trying again."""

    def mark(self) -> object:
        """Noted with each failure, for `holds` to compare later."""
        ...

    def holds(self, failure: Failure, now: float) -> bool:
        """True: re-raise `failure.error`; False: forget it and renew again."""
        ...


@dataclass(frozen=True)
class RememberFor:
    """A failure holds for `seconds` (and is forgotten if the clock goes back)."""

    seconds: float = FAILURE_MEMORY

    def mark(self) -> object:
        return None

    def holds(self, failure: Failure, now: float) -> bool:
        return 0.0 <= now - failure.at < self.seconds


class TokenCache:
    def __init__(self, renew: Renewal, *, policy: FailurePolicy | None = None, clock: Clock = time.time) -> None:
        self._renew = renew
        self._policy: FailurePolicy = policy or RememberFor()
        self._clock = clock
        self._token: str | None = None
        self._expires_at: float | None = None
        self._lock = asyncio.Lock()
        self._failed: Failure | None = None
        self._renewing: asyncio.Task[str] | None = None
        self.renewals = 0  # successful renewals: observable for tests and metrics; never a token

    def fresh(self) -> str | None:
        """The cached token if it is still good to use, else None."""
        if not self._token:
            return None
        return self._token if self._expires_at is None or self._clock() < self._expires_at else None

    def adopt(self, token: str, expires_at: float | None) -> None:
        """Use a token obtained outside a renewal (e.g. with the first grant)."""
        self._token, self._expires_at = token, expires_at

    async def token(self, stale: str | None = None) -> str:
        """A token to send; `stale` is one the vendor just refused (renewed even if unexpired)."""
        current = self.fresh()
        if current is not None and current != stale:
            return current
        async with self._lock:
            current = self.fresh()
            if current is not None and current != stale:
                return current  # renewed while we waited
            if stale is not None and stale == self._token:
                self._token = None  # refused by the vendor: no use to anyone, even if renewal fails
            if self._failed is not None:
                if self._policy.holds(self._failed, self._clock()):
                    # The waiters share one failed renewal, not one each. A copy each time: raising
                    # one object again would chain every caller's frames onto its traceback and
                    # keep them alive for as long as the failure is remembered.
                    raise _copy(self._failed.error)
                self._failed = None
            if self._renewing is None:
                self._renewing = asyncio.ensure_future(self._renewal())
                # Its failure is kept in `_failed`; if every caller gave up, nobody else reads it.
                self._renewing.add_done_callback(lambda task: task.cancelled() or task.exception())
            renewing = self._renewing
        # Shielded: a caller that gives up (a client gone, a sibling call failed) must not cut a
        # renewal short; with a rotating refresh token that could lose the only valid grant. The
        # renewal finishes and keeps its outcome; a later caller waits for the same one.
        return await asyncio.shield(renewing)

    async def _renewal(self) -> str:
        try:
            token, expires_at = await self._renew()
        except FHIRError as exc:
            self._failed = Failure(_copy(exc), self._clock(), self._policy.mark())
            raise
        finally:
            self._renewing = None
        self._token, self._expires_at = token, expires_at
        self.renewals += 1
        return token

    async def send_with_renewal(self, send: Send) -> UpstreamResponse:
        """`send` with the current token; on a 401 renew once (the refused token as `stale`) and
        send again. A second 401 refuses the token the vendor has just issued: our credentials
        are the problem, which retrying cannot fix."""
        token = await self.token()
        response = await send(token)
        if response.status != 401:
            return response
        response = await send(await self.token(stale=token))
        if response.status == 401:
            raise UpstreamSecurity("The vendor refused the gateway's fresh token; the operator must check the tenant")
        return response


def _copy(error: FHIRError) -> FHIRError:
    """The same error (class, message, headers, ...), without a traceback of its own."""
    clone = error.__class__.__new__(error.__class__)
    clone.args = error.args
    clone.__dict__.update(error.__dict__)
    return clone
