"""Where an issuer's public keys come from: a JWKS URL (cached as its `Cache-Control` allows,
but at least `min_ttl` seconds, and revalidated with its `ETag`/`Last-Modified` when it has
them; refetched when a token names a key it does not hold, bounded as below), or a JWKS file
(re-read when it changes).

Why at least `min_ttl`, even under `no-cache`, `no-store` or `max-age=0`: RFC 9111 section
5.2.2.4 would have a cache revalidate before every reuse, but an issuer's keys are needed for
every request, whoever sends it, so obeying it would let any bearer string, a forged one
included, make the gateway call the issuer. Kept a short while, a key the issuer withdraws is
trusted at most `min_ttl` seconds longer. A client's key set at the gateway's own token endpoint
has no minimum (`min_ttl=0`, gateway.auth.server): SMART App Launch 2.x
client-confidential-asymmetric has the authorization server cache it no longer than the client's
Cache-Control says.

Rotation (a signer publishes its new key, then signs with it): a token naming a `kid` the set
held lacks has the set fetched again once the set is older than its own freshness lifetime
(`max-age`; none under `no-cache`/`no-store`) or `min_refetch`, whichever is shorter, and never
more often than every `min_unknown_kid_refetch` seconds: an issuer that marks its set no-cache
has its new key picked up within about a second, while junk tokens naming made-up `kid`s cost at
most one fetch a second, not one each.

Likewise, after a fetch fails, requests are refused (KeysUnavailable, a 502) without asking the
issuer again for `retry_after_failure` seconds: an issuer that is down or slow is asked once in
that time, not once per request (each waiting out the timeout). Keys held past their time are
not used meanwhile: the gateway fails closed.

RFC 7517 (JWK Set); key rotation as OpenID Connect Core 1.0 §10.1.1 describes it: a signer
publishes its new key, then signs with it, so an unknown `kid` means "fetch the set again".
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALGORITHM = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class KeysUnavailable(Exception):
    """The issuer's key set could not be had (network, status, not a JWKS)."""


class KeySource(Protocol):
    async def key(self, kid: str | None) -> PyJWK | None:
        """The key named `kid` (or the only key, when the token names none), or None."""
        ...


def parse_jwks(data: Any) -> dict[str | None, PyJWK]:
    """The usable signing keys of a JWK Set, by `kid` (keys of unknown type are skipped)."""
    if isinstance(data, dict) and data.get("keys") == []:
        return {}
    try:
        keys = PyJWKSet.from_dict(data).keys
    except (PyJWKSetError, PyJWKError, TypeError, AttributeError) as exc:
        raise KeysUnavailable(f"not a usable JWK Set: {exc}") from None
    found: dict[str | None, PyJWK] = {}
    for key in keys:
        if key.public_key_use in (None, "sig"):
            found[key.key_id] = key
    return found


def fits(key: PyJWK, algorithm: str) -> bool:
    """Whether `key` is of the family a JWS `algorithm` verifies with (RFC 7518 section 3.1): an
    RSA key RS*/PS*, an EC key only the ES algorithm of its curve (section 3.4). A token whose
    header names another family is refused here, before its signature is looked at (RFC 8725
    section 3.1: the key, not the token, decides the algorithm)."""
    public = key.key
    if isinstance(public, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        return algorithm in _RSA_ALGORITHMS
    if isinstance(public, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        return _EC_ALGORITHM.get(public.curve.name) == algorithm
    return False


# RFC 7518 section 3.3: "A key of size 2048 bits or larger MUST be used with these algorithms"
# (RS*; PS* likewise, section 3.5). PyJWT only warns below it.
RSA_MIN_BITS = 2048


def too_short(key: PyJWK) -> bool:
    """Whether `key` is an RSA key too short to verify anything with (RFC 7518 section 3.3)."""
    public = key.key
    return isinstance(public, (rsa.RSAPublicKey, rsa.RSAPrivateKey)) and public.key_size < RSA_MIN_BITS


def _pick(keys: dict[str | None, PyJWK], kid: str | None) -> PyJWK | None:
    if kid is not None:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


class JwksUrl:
    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        default_ttl: float = 300.0,
        max_ttl: float = 86_400.0,
        min_ttl: float = 30.0,
        min_refetch: float = 30.0,
        min_unknown_kid_refetch: float = 1.0,
        retry_after_failure: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._client = client
        self._default_ttl, self._max_ttl, self._min_ttl = default_ttl, max_ttl, min_ttl
        self._min_refetch, self._retry_after_failure = min_refetch, retry_after_failure
        self._min_unknown_kid_refetch = min_unknown_kid_refetch
        self._fresh_for = 0.0  # the set's own freshness lifetime, as its Cache-Control says
        self._cache_control = ""  # the stored response's, kept across a 304 that has none
        self._failed: tuple[float, str] | None = None  # when the last fetch failed, and why
        self._clock = clock
        self._keys: dict[str | None, PyJWK] = {}
        self._fetched_at: float | None = None
        self._expires_at = 0.0
        self._validators: dict[str, str] = {}  # If-None-Match / If-Modified-Since for the set held
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None) -> PyJWK | None:
        now = self._clock()
        if self._fetched_at is None or now >= self._expires_at:
            await self._refresh(now)
        found = _pick(self._keys, kid)
        if found is None and self._fetched_at is not None and now - self._fetched_at >= self._unknown_kid_wait():
            await self._refresh(now)  # rotation: the issuer may have published a new key
            found = _pick(self._keys, kid)
        return found

    def _unknown_kid_wait(self) -> float:
        """How old the set held must be before a `kid` it lacks has it fetched again."""
        return max(self._min_unknown_kid_refetch, min(self._min_refetch, self._fresh_for))

    async def _refresh(self, now: float) -> None:
        async with self._lock:
            if self._fetched_at is not None and self._fetched_at >= now:
                return  # another request fetched while this one waited
            if self._failed is not None and self._clock() - self._failed[0] < self._retry_after_failure:
                raise KeysUnavailable(f"{self._failed[1]} (not asked again yet)")
            try:
                await self._fetch()
            except KeysUnavailable as exc:
                self._failed = (self._clock(), str(exc))
                raise
            self._failed = None

    async def _fetch(self) -> None:
        self.fetches += 1
        # RFC 9110 section 13.1: a conditional request, so that a set that has not changed
        # costs the issuer a 304, not the set (RFC 9111 section 4.3.1).
        headers = {"Accept": "application/json", **(self._validators if self._fetched_at is not None else {})}
        try:
            response = await self._client.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            raise KeysUnavailable(f"JWKS {self.url}: {type(exc).__name__}") from None
        if response.status_code == 304 and self._fetched_at is not None and self._validators:
            pass  # RFC 9111 section 4.3.4: the set held is fresh again, as the 304's headers say
        elif response.status_code != 200:
            raise KeysUnavailable(f"JWKS {self.url}: HTTP {response.status_code}")
        else:
            try:
                data = response.json()
            except ValueError:
                raise KeysUnavailable(f"JWKS {self.url}: not JSON") from None
            self._keys = parse_jwks(data)
            self._validators = _validators(response.headers)
            self._cache_control = ""
        # RFC 9111 section 4.3.4: a 304's header fields replace the stored response's; one it
        # does not carry (many send no Cache-Control) leaves the stored one, max-age and all.
        self._cache_control = response.headers.get("cache-control", self._cache_control)
        self._fresh_for = self._freshness(self._cache_control)
        self._fetched_at = self._clock()
        self._expires_at = self._fetched_at + max(self._fresh_for, self._min_ttl)

    def _freshness(self, cache_control: str) -> float:
        """The freshness lifetime the set's Cache-Control gives it (RFC 9111 section 4.2.1)."""
        directives = cache_control.lower()
        if "no-store" in directives or "no-cache" in directives:
            return 0.0
        match = _MAX_AGE.search(cache_control)
        return min(float(match.group(1)), self._max_ttl) if match else self._default_ttl


def _validators(headers: httpx.Headers) -> dict[str, str]:
    """The conditional-request headers that ask whether the set a response carried has changed."""
    found: dict[str, str] = {}
    if etag := headers.get("etag"):
        found["If-None-Match"] = etag
    if modified := headers.get("last-modified"):
        found["If-Modified-Since"] = modified
    return found


class JwksFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[str | None, PyJWK] = {}
        self._stamp: tuple[float, int] | None = None

    async def key(self, kid: str | None) -> PyJWK | None:
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise KeysUnavailable(f"JWKS file {self.path}: {exc.strerror}") from None
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text())
            except (OSError, ValueError) as exc:
                raise KeysUnavailable(f"JWKS file {self.path}: {exc}") from None
            self._keys = parse_jwks(data)
            self._stamp = stamp
        return _pick(self._keys, kid)


class StaticKeys:
    """Keys given inline (configuration, or the gateway's own signing keys)."""

    def __init__(self, jwks: Any) -> None:
        self._keys = parse_jwks(jwks)

    async def key(self, kid: str | None) -> PyJWK | None:
        return _pick(self._keys, kid)
