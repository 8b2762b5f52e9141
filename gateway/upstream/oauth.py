"""OAuth2 access for a vendor connection: authorization-code onboarding, then refresh tokens.

- `exchange_code` turns the code of the authorization step into the tenant's first grant.
- `OAuthSession` hands out access tokens: cached until shortly before they expire, renewed
  with the stored refresh token, one renewal at a time however many requests wait on it
  (a `TokenCache` whose failure policy is `UntilReconnected`).
  Servers that rotate refresh tokens return a new one with every renewal: it is persisted
  (atomically, see token_store) BEFORE the new access token is used, so a crash at any
  moment leaves a refresh token that still works — the new one, or the old one, which
  rotating servers honour for a short grace period after its first use.
- The client's secret goes in the token request's form, or in HTTP Basic for a server that
  refuses it there (`form_poster`).
- A refused refresh (`invalid_grant`: revoked, expired; or `invalid_request`, as older
  league/oauth2-server refuses a refresh token) is a 502 `security` for clients and
  an operator log line saying to reconnect; tokens are never logged.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

from gateway.contract.oauth import OAuthApp
from gateway.errors import UpstreamError, UpstreamSecurity
from gateway.upstream.grants import FileGrants, GrantStore
from gateway.upstream.http import Timeouts, UpstreamClient
from gateway.upstream.oauth_refusals import token_error
from gateway.upstream.token_store import Grant, TokenStore
from gateway.upstream.tokens import FAILURE_MEMORY, Clock, Failure, RememberFor, SharedTokens, TokenCache

log = logging.getLogger("gateway.oauth")

# A refresh refused as one of these is the grant refused, to be mended by reconnecting.
# RFC 6749 §5.2's `invalid_grant`; and `invalid_request`, which league/oauth2-server before 9.0
# (Laravel Passport up to 10) answers, with a 401, for a refresh token revoked, expired or
# unknown ("The refresh token is invalid.", its issue 993): the gateway's refresh request has
# every parameter RFC 6749 §6 names, so what such a server finds invalid is the token.
REFUSED_REFRESH = frozenset({"invalid_grant", "invalid_request"})
# The statuses a token endpoint refuses with: RFC 6749 §5.2's 400, its 401 for a client that
# does not authenticate, and 403, "The request is valid, but the server is refusing action" in
# vendor-docs/nextech-api.txt, whose list of statuses has no 401 (and whose 400 is for a request
# "missing information or ... malformed", which a well-formed one for a revoked token is not).
REFUSAL_STATUSES = frozenset({400, 401, 403})
FormPost = Callable[[Mapping[str, str]], Awaitable[tuple[int, Any]]]


class NotConnected(UpstreamSecurity):
    pass


async def exchange_code(
    app: OAuthApp, post: FormPost, code: str, redirect_uri: str, code_verifier: str
) -> tuple[Grant, dict[str, Any]]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code_verifier": code_verifier,
    }
    if app.resource:
        form["resource"] = app.resource
    status, body = await post(form)
    if not _succeeded(status) or not isinstance(body, dict):
        raise UpstreamSecurity(f"The vendor refused the authorization code ({token_error(body) or status})")
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        # RFC 6749 section 5.1 makes it optional; without one (absent, null, not a string) the
        # gateway could not renew an hour from now: stored as text ("None"), it failed only then.
        raise UpstreamSecurity("The vendor's answer to the authorization code carried no refresh token")
    now = time.time()
    return Grant(refresh_token, now, connected_at=now), body


def grant_store(store: TokenStore | GrantStore) -> GrantStore:
    return FileGrants(store) if isinstance(store, TokenStore) else store


@dataclass(frozen=True)
class UntilReconnected:
    """The OAuth rule for a failed renewal: a refused grant (`UpstreamSecurity`: revoked,
    expired, not connected, unreadable store) stays refused until the operator reconnects,
    which changes the stored grant; any other failure is shared for `seconds`, then retried."""

    store: TokenStore | GrantStore
    tenant: str
    seconds: float = FAILURE_MEMORY

    async def mark(self) -> object:
        return await self._version()

    async def holds(self, failure: Failure, now: float) -> bool:
        if isinstance(failure.error, UpstreamSecurity):
            return await self._version() == failure.mark
        return await RememberFor(self.seconds).holds(failure, now)

    async def _version(self) -> object:
        try:
            return await grant_store(self.store).version(self.tenant)
        except UpstreamSecurity:
            return None


class OAuthSession:
    def __init__(
        self,
        tenant: str,
        app: OAuthApp,
        store: TokenStore | GrantStore,
        post: FormPost,
        *,
        clock: Clock = time.time,
        shared: SharedTokens | None = None,
    ) -> None:
        """`shared`: where the access token and the renewal lock are shared with other workers
        and replicas (then `store` should be `SharedGrants` on the same state)."""
        self.tenant = tenant
        self._app = app
        self._store = grant_store(store)
        self._post = post
        self._clock = clock
        self._unsaved: Grant | None = None  # a rotated grant the store could not take yet
        self.tokens = TokenCache(
            self._refresh, policy=UntilReconnected(self._store, tenant), clock=clock, shared=shared, name=tenant
        )

    @property
    def refreshes(self) -> int:
        """Renewals so far: observable for tests and metrics; never a token."""
        return self.tokens.renewals

    def adopt(self, body: Mapping[str, Any]) -> None:
        """Use the access token a code exchange just returned (its refresh token is stored)."""
        token = self._app.access_token_of(body)
        if token is not None:  # without one, the first request renews with the stored grant
            self.tokens.adopt(token, _renew_at(body, self._clock()))

    async def access_token(self, stale: str | None = None) -> str:
        """A valid access token; `stale` is one the vendor just refused (renew even if unexpired)."""
        return await self.tokens.token(stale)

    async def _refresh(self) -> tuple[str, float]:
        grant = await self._store.load(self.tenant)
        if self._unsaved is not None and (grant is None or self._unsaved.later_than(grant)):
            grant = self._unsaved  # later than what the store holds
        if grant is None:
            log.error("tenant %s is not connected: run `fhir-gateway connect %s`", self.tenant, self.tenant)
            raise NotConnected(
                "The gateway is not connected to the vendor for this tenant; the operator must connect it"
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": grant.refresh_token,
            "client_id": self._app.client_id,
            "client_secret": self._app.client_secret,
        }
        if self._app.resource:
            form["resource"] = self._app.resource
        status, body = await self._post(form)
        # RFC 6749 §5.2: a refresh token that is revoked, expired or not ours is `invalid_grant`;
        # `invalid_client` is the client's authentication failing (a client secret rotated or
        # mistyped), which reconnecting with the same secret does not mend.
        error = token_error(body)  # wherever the vendor's framework puts it (oauth_refusals)
        if status in REFUSAL_STATUSES and error == "invalid_client":
            log.error(
                "tenant %s: the vendor refused the gateway's client credentials (invalid_client); check the "
                "tenant's client_id and client_secret, then reconnect with `fhir-gateway connect %s` if refused again",
                self.tenant,
                self.tenant,
            )
            raise UpstreamSecurity(
                "The vendor refused the gateway's client credentials; the operator must check the tenant's "
                "client_id and client_secret"
            )
        if status in REFUSAL_STATUSES and error in REFUSED_REFRESH:
            log.error(
                "tenant %s: the vendor refused the refresh token (%s); reconnect with `fhir-gateway connect %s`",
                self.tenant,
                error,
                self.tenant,
            )
            raise UpstreamSecurity(
                "The vendor no longer accepts the gateway's authorization; the operator must reconnect"
            )
        token = self._app.access_token_of(body) if _succeeded(status) else None
        if token is None or not isinstance(body, dict):
            raise UpstreamError(f"The vendor's token endpoint failed (HTTP {status})")
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != grant.refresh_token:
            self._unsaved = grant.rotated(rotated, time.time())  # kept even if the store fails, so it is not lost
            await self._store.save(self.tenant, self._unsaved)  # before the access token is used
            self._unsaved = None
        return token, _renew_at(body, self._clock())


def _succeeded(status: int) -> bool:
    """Whether a token answer's status says it succeeded: RFC 6749 section 5.1's 200, or any
    other 2xx, such as the 201 a NestJS `@Post()` handler answers unless told `@HttpCode(200)`
    (the token endpoint a team builds on it; what the body carries decides the rest)."""
    return 200 <= status < 300


def _renew_at(body: Mapping[str, Any], now: float) -> float:
    """Shortly before the access token expires (`expires_in`, RFC 6749 §5.1; Nextech's default
    lifetime is an hour, vendor-docs/nextech-api.txt): 10% of its life early, at most a minute.
    A lifetime that is no positive number of seconds (absent, 0, "1h", an object) is that hour:
    a 401 renews sooner if it was shorter."""
    given = body.get("expires_in")
    try:
        lifetime = float(given) if isinstance(given, int | float | str) and not isinstance(given, bool) else 0.0
    except ValueError:
        lifetime = 0.0
    if not math.isfinite(lifetime) or lifetime <= 0:
        lifetime = 3600.0
    return now + lifetime - min(60.0, lifetime * 0.1)


def form_poster(client: UpstreamClient, path: str) -> FormPost:
    """POST an x-www-form-urlencoded body to the token endpoint; (status, parsed JSON or None).

    The client's secret goes in the form (`client_secret_post`, as vendors' docs show their
    token requests). A server that refuses it there as `invalid_client` is asked once more with
    the secret in HTTP Basic instead (RFC 6749 section 2.3.1: the method every authorization
    server MUST support; Authlib, for one, registers clients for it alone by default), and the
    other way round; whichever the server took is used from then on."""
    basic = False

    async def send(form: Mapping[str, str], use_basic: bool) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if use_basic:
            fields = dict(form)
            secret = fields.pop("client_secret")
            # RFC 6749 section 2.3.1: each part form-urlencoded before the Basic encoding.
            pair = f"{quote_plus(fields.get('client_id', ''))}:{quote_plus(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
            form = fields
        # A token request changes nothing at the vendor: failed as a read is (UpstreamClient.request)
        response = await client.request("POST", path, data=form, headers=headers, changes_nothing=True)
        try:
            body = response.json()
        except UpstreamError:
            body = None
        return response.status, body

    async def post(form: Mapping[str, str]) -> tuple[int, Any]:
        nonlocal basic
        answer = await send(form, basic and "client_secret" in form)
        if "client_secret" in form and _client_refused(*answer):
            other = await send(form, not basic)
            if not _client_refused(*other):
                basic = not basic
                return other
        return answer

    return post


def _client_refused(status: int, body: Any) -> bool:
    """A token answer refusing the client's authentication (RFC 6749 section 5.2)."""
    return status in REFUSAL_STATUSES and token_error(body) == "invalid_client"


def token_client(app: OAuthApp, timeouts: Timeouts | None = None) -> tuple[UpstreamClient, FormPost]:
    """A connection to the app's token endpoint and the form poster that uses it."""
    parts = urlsplit(app.token_url)
    client = UpstreamClient(f"{parts.scheme}://{parts.netloc}", timeouts or Timeouts(), 4)
    return client, form_poster(client, parts.path)
