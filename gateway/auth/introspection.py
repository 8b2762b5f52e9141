"""Opaque access tokens, checked by asking their issuer (RFC 7662 token introspection).

The gateway posts the token to the issuer's introspection endpoint, authenticating itself
with HTTP Basic (its client id and secret at that issuer), and accepts the token only when the
answer says `active: true`, names this tenant's audience (`aud`), and is unexpired. RFC 7662
section 2.2 makes `aud` optional, but an answer without it does not say which resource server
the token is for: every tenant trusting that issuer would take it (RFC 6750 section 5.2, token
redirect), so it is refused unless the tenant's `introspection_aud_optional` says that this
tenant alone asks the issuer.
Positive answers are kept for a short while (at most `cache_seconds`, never past the token's
`exp`), keyed by a hash of the token, so that a busy client does not cost a round trip per
request; a token revoked at the issuer stops working within that time.

Refusals (inactive, expired, for another audience) are kept too, by the same hash, for
`REFUSALS_KEPT_SECONDS` (or `cache_seconds`, if shorter), at most `REFUSALS_KEPT` of them, apart
from the positive answers so a flood of junk cannot push those out: a client (or attacker)
repeating a refused token does not cost the issuer a call per request. Briefly, because a token
issued a moment ago may be unknown yet to the issuer replica asked (it turns good within those
seconds); a few seconds already make repetition cheap. A new bearer string each time still costs
one call each: only a rate limit in front of the gateway bounds that.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
from cachetools import TLRUCache, TTLCache

from gateway.auth.tokens import InvalidToken, check_text, not_numeric_date

REFUSALS_KEPT = 10_000
REFUSALS_KEPT_SECONDS = 5.0


class IntrospectionUnavailable(Exception):
    pass


class Introspector:
    def __init__(
        self,
        endpoint: str,
        client_id: str,
        client_secret: str,
        audience: str,
        http: httpx.AsyncClient,
        *,
        cache_seconds: float = 30.0,
        audience_optional: bool = False,
        refusals_kept: int = REFUSALS_KEPT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._audience = audience
        self._audience_optional = audience_optional
        self._http = http
        self._clock = clock
        self._cache_seconds = cache_seconds

        def expiry(_key: str, claims: dict[str, Any], now: float) -> float:
            exp = claims.get("exp")
            until = now + self._cache_seconds
            return min(until, exp) if isinstance(exp, (int, float)) else until  # exp: checked a number

        self._cache: TLRUCache[str, dict[str, Any]] = TLRUCache(maxsize=10_000, ttu=expiry, timer=clock)
        # token hash → why it was refused (a message safe to show, never the token)
        refusals_for = min(REFUSALS_KEPT_SECONDS, cache_seconds)
        self._refused: TTLCache[str, str] | None = (
            TTLCache(maxsize=refusals_kept, ttl=refusals_for, timer=clock) if refusals_for > 0 else None
        )
        self.calls = 0

    async def claims(self, token: str) -> dict[str, Any]:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        refused = self._refused.get(key) if self._refused is not None else None
        if refused is not None:
            raise InvalidToken(refused)
        answer = await self._ask(token)
        try:
            claims = self._accepted(answer)
        except InvalidToken as exc:
            if self._refused is not None:
                self._refused[key] = str(exc)
            raise
        self._cache[key] = claims
        return claims

    async def _ask(self, token: str) -> Any:
        """The issuer's answer about `token` (RFC 7662 section 2.1), or IntrospectionUnavailable."""
        self.calls += 1
        try:
            response = await self._http.post(
                self.endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise IntrospectionUnavailable(f"{self.endpoint}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise IntrospectionUnavailable(f"{self.endpoint}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise IntrospectionUnavailable(f"{self.endpoint}: not JSON") from None

    def _accepted(self, answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict) or answer.get("active") is not True:
            raise InvalidToken("the access token is not active (revoked, expired or unknown to its issuer)")
        named = not_numeric_date(answer)  # RFC 7662 section 2.2: exp, iat, nbf are numbers of seconds
        if named is not None:
            raise InvalidToken(f"the introspection answer's '{named}' is not a number of seconds")
        exp = answer.get("exp")
        if exp is not None and exp <= self._clock():
            raise InvalidToken("the access token has expired")
        audience = answer.get("aud")
        absent = audience is None  # an empty string or list names no audience: not absent, refused
        if absent and not self._audience_optional:
            # Not "for another server": the issuer said nothing of audience (RFC 7662 section 2.2
            # makes aud optional). Said apart, so that the operator looks at the setting that
            # accepts such answers, not at `audience`.
            raise InvalidToken(
                "the introspection answer names no audience (aud); the tenant accepts such answers "
                "only with introspection_aud_optional = true"
            )
        if not absent:
            audiences = audience if isinstance(audience, list) else [audience]
            if self._audience not in audiences:
                raise InvalidToken("the access token is not for this server (aud)")
        check_text(answer)
        return answer
