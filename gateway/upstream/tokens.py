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
  A 403 renews too: a vendor whose documented statuses have no 401 (only 400, 403, 404 and
  500, say) may refuse an expired or revoked token with 403. The refused token stays
  in use should the renewal fail (the 403 is then the answer); a 403 the fresh token meets as
  well is the vendor refusing the request (a policy's refusal: another team's patient). That
  request (`request_key`: method, path and parameters) is remembered, and its later 403s are
  read as they are, without a renewal each; so are the token's 403s for
  `FORBIDDEN_TRUSTED_FOR` while the vendor has accepted it for nothing else (a tenant refused
  everywhere). A token accepted since is renewed on a 403 to any other read: it may have
  expired or been revoked in the meantime (an Express `jwt.verify` or Django REST Framework
  answers so with 403), whatever it was refused before; renewals a fresh token's 403 then
  shows were of no use are at most `USELESS_RENEWALS` a `USELESS_WINDOW`. Refused reads are
  remembered by a digest of their key (its path and parameters name patients).
- `shared=`: the token is also kept in the shared state (gateway.shared), sealed, and a
  renewal holds the shared lock of the connection and first looks there: of several workers
  or replicas whose tokens expire at once, one renews and the others take its token. With a
  rotating refresh token that is what keeps the grant alive (two renewals with the same
  refresh token: the second is refused, or revokes the grant once the grace period ends).

Time comes from an injectable clock (epoch seconds, default `time.time`) so that tests move
it instead of sleeping; a renewal's expiry time is on that clock. Neither the cache nor its
errors ever log or carry a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gateway import jsonio
from gateway.errors import FHIRError, UpstreamSecurity, UpstreamTimeout, copied
from gateway.shared.sealed import Seal
from gateway.shared.state import SharedState
from gateway.upstream.http import UpstreamResponse
from gateway.upstream.observe import observer

if TYPE_CHECKING:
    from gateway.contract import AdapterConfig

Clock = Callable[[], float]
Renewal = Callable[[], Awaitable[tuple[str, float | None]]]
"""Obtain a new token from the vendor: (token, time to renew it on the cache's clock, or None)."""
Send = Callable[[str], Awaitable[UpstreamResponse]]
"""Send one request with this bearer token."""

log = logging.getLogger("gateway.upstream")
FAILURE_MEMORY = 5.0  # seconds: long enough for a burst of waiting requests, short enough to recover
FORBIDDEN_TRUSTED_FOR = 300.0  # seconds a token met with 403 when fresh (answered nothing since) is not renewed on one
MAX_REFUSED_REMEMBERED = 1024  # requests refused to a fresh token, kept (the least recently refused dropped)
RequestKey = tuple[str, str, tuple[tuple[str, str], ...]]
"""A request as the remembered refusals name it: method, path and its parameters."""


USELESS_RENEWALS = 3  # renewals on a 403 that a fresh token's 403 shows were of no use, at most...
USELESS_WINDOW = 60.0  # ...in this many seconds


def request_key(method: str, path: str, params: Mapping[str, str | int] | None = None) -> RequestKey:
    return method, path, tuple(sorted((name, str(value)) for name, value in (params or {}).items()))


def _remembered_as(request: RequestKey | None) -> bytes | None:
    """How a refused request is remembered: a digest (its path and parameters name patients),
    and reads only: a write's refusal may depend on its body, which the key does not hold."""
    if request is None or request[0] not in ("GET", "HEAD"):
        return None
    return hashlib.blake2b(repr(request).encode(), digest_size=16).digest()


@dataclass(frozen=True)
class Failure:
    """A failed renewal as the cache remembers it."""

    error: FHIRError
    at: float  # the cache's clock when it failed
    mark: object = None  # what the policy noted about the world then (e.g. a file's mtime)


class FailurePolicy(Protocol):
    """How long a failed renewal is re-raised instead of trying again."""

    async def mark(self) -> object:
        """Noted with each failure, for `holds` to compare later."""
        ...

    async def holds(self, failure: Failure, now: float) -> bool:
        """True: re-raise `failure.error`; False: forget it and renew again."""
        ...


@dataclass(frozen=True)
class RememberFor:
    """A failure holds for `seconds` (and is forgotten if the clock goes back), but no longer
    than the Retry-After it told our clients: a renewal refused for now (a vendor's 429 on its
    auth request, an open breaker, our own rate limit) says when to ask again (RFC 6585 section
    4, RFC 9110 section 10.2.3), and a client that waits that long must reach the vendor, not
    meet the remembered refusal again."""

    seconds: float = FAILURE_MEMORY

    async def mark(self) -> object:
        return None

    async def holds(self, failure: Failure, now: float) -> bool:
        return 0.0 <= now - failure.at < min(self.seconds, _retry_after(failure.error))


@dataclass(frozen=True)
class SharedTokens:
    """Where a connection's token is shared: `key` (its tenant) in `state`, sealed by `seal`."""

    state: SharedState
    key: str
    seal: Seal | None = None  # required off this process (gateway.shared.sealed)
    # A renewal (its vendor call, rate-limit turn and shared-state calls) is cut off after
    # `work` seconds, well within the lock's expiry, so that the lock never lapses while its
    # holder still renews: a second worker would then present the same refresh token.
    work: float = 30.0
    margin: float = 10.0
    wait: float = 20.0  # longest a request waits for another's renewal

    @property
    def _where(self) -> str:  # the key the token is stored under (and sealed for)
        return f"{self.key}:token"

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self.state.lock(f"{self.key}:token-renewal", self.work + self.margin, self.wait)

    async def load(self) -> tuple[str, float | None] | None:
        sealed = await self.state.get(self._where)
        plain = sealed if sealed is None or self.seal is None else self.seal.open(sealed, self._where)
        if plain is None:
            return None
        stored = jsonio.loads(plain)
        return str(stored["token"]), stored["expires_at"]

    async def store(self, token: str, expires_at: float | None, now: float) -> None:
        plain = jsonio.dumps({"token": token, "expires_at": expires_at})
        ttl = None if expires_at is None else max(1.0, expires_at - now)
        await self.state.put(self._where, plain if self.seal is None else self.seal.seal(plain, self._where), ttl)

    @classmethod
    def of(cls, config: AdapterConfig[Any]) -> SharedTokens | None:
        """A connection's shared tokens, if its configuration shares state; sealed with its
        token keys when the state leaves this process."""
        if config.shared is None:
            return None
        local = config.shared.kind == "in-process"
        if not local and not config.token_keys:
            raise UpstreamSecurity("Vendor tokens are shared off this process only sealed: set server.token_store_keys")
        seal = None if local else Seal(config.token_keys)
        # The renewal's HTTP call has the connection's total deadline; a turn of its rate limit
        # may take about as long again.
        work = 2 * config.total_timeout + 5
        return cls(config.shared, config.context.tenant, seal, work=work, wait=config.total_timeout)


def _retry_after(error: FHIRError) -> float:
    """The seconds `error` tells a client to wait (delay-seconds, as the gateway writes them),
    or infinity when it names none."""
    told = error.headers.get("Retry-After", "")
    return float(told) if told.isdigit() else math.inf


class TokenCache:
    def __init__(
        self,
        renew: Renewal,
        *,
        policy: FailurePolicy | None = None,
        clock: Clock = time.time,
        shared: SharedTokens | None = None,
        name: str = "",
    ) -> None:
        """`name`: the connection (its tenant), as the observer reports it."""
        self._renew = renew
        self._policy: FailurePolicy = policy or RememberFor()
        self._clock = clock
        self._shared = shared
        self._name = name
        self._token: str | None = None
        self._expires_at: float | None = None
        self._lock = asyncio.Lock()
        self._failed: Failure | None = None
        self._renewing: asyncio.Task[str] | None = None
        self._forbidden_with: tuple[str | None, float] = (None, 0.0)  # a token met with 403 when fresh, until
        self._refused: OrderedDict[bytes, None] = OrderedDict()  # reads refused to a fresh token (digests)
        self._answered: str | None = None  # the last token the vendor accepted (`_note_answer`)
        self._useless: list[float] = []  # when renewals on a 403 met a 403 with the fresh token too
        self.renewals = 0  # successful renewals: observable for tests and metrics; never a token

    def fresh(self) -> str | None:
        """The cached token if it is still good to use, else None."""
        if not self._token:
            return None
        return self._token if self._expires_at is None or self._clock() < self._expires_at else None

    def adopt(self, token: str, expires_at: float | None) -> None:
        """Use a token obtained outside a renewal (e.g. with the first grant)."""
        self._token, self._expires_at = token, expires_at

    async def token(self, stale: str | None = None, *, discard: bool = True) -> str:
        """A token to send; `stale` is one the vendor just refused (renewed even if unexpired).
        `discard=False`: `stale` may still be good (a 403 may refuse the request, not the
        token), so it stays in use should the renewal fail."""
        current = self.fresh()
        if current is not None and current != stale:
            return current
        async with self._lock:
            current = self.fresh()
            if current is not None and current != stale:
                return current  # renewed while we waited
            if discard and stale is not None and stale == self._token:
                self._token = None  # refused by the vendor: no use to anyone, even if renewal fails
            if self._failed is not None:
                if await self._policy.holds(self._failed, self._clock()):
                    # The waiters share one failed renewal, not one each; each its own copy of the
                    # error, kept alive as long as the failure is remembered (gateway.errors.copied).
                    raise copied(self._failed.error)
                self._failed = None
            if self._renewing is None:
                self._renewing = asyncio.ensure_future(self._renewal(stale))
                # Its failure is kept in `_failed`; if every caller gave up, nobody else reads it.
                self._renewing.add_done_callback(lambda task: task.cancelled() or task.exception())
            renewing = self._renewing
        # Shielded: a caller that gives up (a client gone, a sibling call failed) must not cut a
        # renewal short; with a rotating refresh token that could lose the only valid grant. The
        # renewal finishes and keeps its outcome; a later caller waits for the same one.
        return await asyncio.shield(renewing)

    async def _renewal(self, stale: str | None) -> str:
        try:
            if self._shared is None:
                token, expires_at = await self._renew()
                self.renewals += 1
                observer().token_renewed(self._name, ok=True)
            else:
                async with self._shared.lock():
                    try:
                        async with asyncio.timeout(self._shared.work):
                            token, expires_at = await self._shared_renewal(self._shared, stale)
                    except TimeoutError:
                        raise UpstreamTimeout("The vendor's token renewal took too long") from None
        except FHIRError as exc:
            self._failed = Failure(copied(exc), self._clock(), await self._mark())
            observer().token_renewed(self._name, ok=False)
            raise
        finally:
            self._renewing = None
        self._token, self._expires_at = token, expires_at
        return token

    async def _shared_renewal(self, shared: SharedTokens, stale: str | None) -> tuple[str, float | None]:
        """Holding the shared lock: another sharer's token if it is good, else a renewal."""
        found = await shared.load()
        if found is not None:
            token, expires_at = found
            if token != stale and (expires_at is None or self._clock() < expires_at):
                return token, expires_at  # renewed by another worker or replica
        token, expires_at = await self._renew()
        self.renewals += 1
        observer().token_renewed(self._name, ok=True)
        try:
            await shared.store(token, expires_at, self._clock())
        except FHIRError:  # the token works all the same; the others renew for themselves
            log.warning("tenant %s: the renewed token could not be shared with the other workers", self._name)
        return token, expires_at

    async def _mark(self) -> object:
        try:
            return await self._policy.mark()
        except FHIRError:  # the shared state is down: the failure holds by time alone
            return None

    async def send_with_renewal(self, send: Send, request: RequestKey | None = None) -> UpstreamResponse:
        """`send` with the current token; on a 401, or a 403 that may refuse the token, renew
        once (the refused token as `stale`) and send again. A second 401 refuses the token the
        vendor has just issued: our credentials are the problem, which retrying cannot fix.
        `request` names what is sent (`request_key`), so that a 403 of the request itself is
        remembered as such."""
        token = await self.token()
        response = await send(token)
        if response.status == 403:
            return await self._after_forbidden(send, token, response, _remembered_as(request))
        if response.status != 401:
            self._note_answer(token, response.status)
            return response
        return await self._sent_fresh(send, await self.token(stale=token), _remembered_as(request), after_403=False)

    async def _after_forbidden(
        self, send: Send, token: str, forbidden: UpstreamResponse, request: bytes | None
    ) -> UpstreamResponse:
        """A 403: perhaps the token (expired, revoked), perhaps the request. Renewed once, and
        sent again; the 403 is the vendor's answer to the request, without a renewal, when a
        renewal fails, when a fresh token was refused this very request before, or when `token`
        met a 403 as soon as it was issued less than `FORBIDDEN_TRUSTED_FOR` ago and has not
        been accepted since (without `request`: whatever it was answered since). Renewals that
        a fresh token's 403 then showed were of no use are at most `USELESS_RENEWALS` a
        `USELESS_WINDOW`: a client asking for one refused record after another would otherwise
        make a vendor login each (a new token row at a Sanctum vendor each)."""
        if request is not None and request in self._refused:
            self._refused.move_to_end(request)
            return forbidden
        marked, until = self._forbidden_with
        now = self._clock()
        if token == marked and now < until:
            if request is None or token != self._answered:
                return forbidden
            recent = [at for at in self._useless if 0.0 <= now - at < USELESS_WINDOW]
            self._useless = recent
            if len(recent) >= USELESS_RENEWALS:
                return forbidden
        try:
            fresh = await self.token(stale=token, discard=False)
        except FHIRError:
            return forbidden  # the token may be fine; the request was refused
        if fresh == token:  # the vendor gave the same token again: it stands, the request was refused
            self._refused_to_fresh(fresh, request)
            return forbidden
        return await self._sent_fresh(send, fresh, request, after_403=True)

    async def _sent_fresh(self, send: Send, fresh: str, request: bytes | None, *, after_403: bool) -> UpstreamResponse:
        response = await send(fresh)
        if response.status == 401:
            raise UpstreamSecurity("The vendor refused the gateway's fresh token; the operator must check the tenant")
        if response.status == 403:  # refused to a token just issued: the request's refusal, not the token's
            self._refused_to_fresh(fresh, request)
            if after_403:
                self._useless.append(self._clock())
        else:
            self._note_answer(fresh, response.status)
        return response

    def _refused_to_fresh(self, token: str, request: bytes | None) -> None:
        self._forbidden_with = (token, self._clock() + FORBIDDEN_TRUSTED_FOR)
        if request is not None:
            self._refused[request] = None
            self._refused.move_to_end(request)
            while len(self._refused) > MAX_REFUSED_REMEMBERED:
                self._refused.popitem(last=False)

    def _note_answer(self, token: str, status: int) -> None:
        """A vendor's answer to `token` other than a 401 or 403: accepted, unless it says nothing
        of the token (a 429 or a 5xx may come before any check of it)."""
        if status < 500 and status not in (407, 419, 429):
            self._answered = token
