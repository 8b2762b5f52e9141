"""The gate: who a request's bearer token speaks for, per the issuers the tenant trusts.

`server.auth = "none"` lets every request through as one open caller (`system/*.cruds`), and
is accepted only on a loopback address (`check_exposure`): anyone who can reach the port
would read and write every patient. `server.auth = "smart"` needs, on every FHIR endpoint but
the discovery ones, a bearer token (RFC 6750) from an issuer the tenant trusts: its own
(`[tenants.X.auth]`: tokens for the tenant's base URL), or the gateway's token endpoint
(`[auth]`: tokens for the gateway, naming the tenants their client may use; 403 elsewhere).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from starlette.datastructures import Headers

from gateway.auth.decision import Caller
from gateway.auth.introspection import IntrospectionUnavailable, Introspector
from gateway.auth.keys import JwksFile, JwksUrl, KeySource, KeysUnavailable, StaticKeys
from gateway.auth.scopes import parse_scopes
from gateway.auth.server import TokenServer
from gateway.auth.tokens import InvalidToken, Trust, caller_from, verify
from gateway.errors import Forbidden, InvalidAuthorization, Unauthorized, UpstreamError
from gateway.settings import ConfigError, Settings, TenantAuthSettings, resolve_secret
from gateway.shared.state import LocalState, SharedState

log = logging.getLogger("gateway.auth")

OPEN = Caller("anonymous", None, parse_scopes("system/*.cruds"))
"""The caller of every request under `auth = "none"`: all it did before there was a gate."""


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse to serve without authorization anywhere but on loopback."""
    if settings.server.auth == "none" and not is_loopback(host):
        raise ConfigError(
            f'server.auth is "none" and the gateway would listen on {host}: anyone who can reach that '
            'address could read and write every patient. Set server.auth = "smart" (with each '
            "tenant's [tenants.NAME.auth] issuer, or the gateway's own [auth]), or listen on 127.0.0.1."
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name other than localhost may resolve anywhere
    # An IPv4 client of a dual-stack `::` socket arrives as `::ffff:127.0.0.1` (RFC 4291 section
    # 2.5.5.2), which Python 3.11 does not call loopback.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


@dataclass(frozen=True)
class _Issuer:
    trust: Trust
    patient_claim: str = "patient"
    names_tenants: bool = False  # the gateway's own tokens: the `tenants` claim says where they open
    introspector: Introspector | None = None  # opaque tokens: ask the issuer (RFC 7662)


class TenantRefused(Forbidden):
    """A valid token whose client may not use the tenant (a 403, RFC 6750 §3.1 insufficient_scope).
    `caller` is who it speaks for, for the audit line alone (HIPAA 164.312(b): a refused attempt
    is recorded with who made it); never a caller of this tenant."""

    def __init__(self, diagnostics: str, caller: Caller) -> None:
        super().__init__(diagnostics)
        self.caller = caller


class Gate:
    def __init__(self, settings: Settings, shared: SharedState | None = None) -> None:
        """`shared`: where the token endpoint remembers assertion ids, so that a replay is caught
        whichever worker or replica it reaches (default: this process)."""
        self.mode = settings.server.auth
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        self._issuers: dict[str, dict[str, _Issuer]] = {}  # tenant → issuer URL → how to check it
        self.server = (
            TokenServer(settings.auth, settings.server.public_base_url or "", self._http, shared or LocalState())
            if settings.auth is not None
            else None
        )
        if self.mode == "none":
            return
        public = (settings.server.public_base_url or "").rstrip("/")
        for name, tenant in settings.tenants.items():
            issuers: dict[str, _Issuer] = {}
            if self.server is not None:
                own = Trust(self.server.issuer, self.server.audience, self.server.keys())
                issuers[own.issuer] = _Issuer(own, names_tenants=True)
            conf = tenant.auth
            if conf is not None:
                audience = conf.audience or f"{public}/fhir/{name}"
                issuers[conf.issuer] = self._external(conf, audience)
            if not issuers:  # Settings refuses this under "smart"
                raise ConfigError(f"tenant '{name}': no issuer to trust under server.auth = \"smart\"")
            self._issuers[name] = issuers

    def _external(self, conf: TenantAuthSettings, audience: str) -> _Issuer:
        if conf.introspection_endpoint is not None:
            assert conf.introspection_client_id is not None and conf.introspection_client_secret is not None
            introspector = Introspector(
                conf.introspection_endpoint,
                conf.introspection_client_id,
                resolve_secret(conf.introspection_client_secret),
                audience,
                self._http,
                cache_seconds=conf.introspection_cache_seconds,
                audience_optional=conf.introspection_aud_optional,
            )
            no_keys = StaticKeys({"keys": []})  # its tokens are not verified here: the issuer is asked
            return _Issuer(Trust(conf.issuer, audience, no_keys), conf.patient_claim, introspector=introspector)
        keys: KeySource
        if conf.jwks_file is not None:
            keys = JwksFile(Path(conf.jwks_file).expanduser())
        else:
            assert conf.jwks_uri is not None
            keys = JwksUrl(conf.jwks_uri, self._http)
        return _Issuer(Trust(conf.issuer, audience, keys), conf.patient_claim)

    async def caller(self, headers: Headers, tenant: str) -> Caller:
        """The caller the request's token speaks for, or Unauthorized saying what is missing."""
        if self.mode == "none":
            return OPEN
        given = headers.getlist("authorization")
        if len(given) > 1:
            # RFC 6750 section 3.1: a request that "repeats the same parameter, uses more than
            # one method for including an access token, or is otherwise malformed" is
            # invalid_request; which credential speaks for it is not the server's to guess.
            raise InvalidAuthorization("Send one Authorization header, not several")
        header = given[0] if given else ""
        if not header:
            raise Unauthorized("This server needs an access token: 'Authorization: Bearer <token>'", error="")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer":
            # RFC 6750 section 3: another scheme (Basic, ...) is no bearer authentication at
            # all: a bare challenge, without an error code, as for no header.
            raise Unauthorized("This server needs an access token: 'Authorization: Bearer <token>'", error="")
        if not token:  # the bearer scheme, malformed (section 3.1: invalid_request, a 400)
            raise InvalidAuthorization("Send the access token as 'Authorization: Bearer <token>'")
        issuer = self._issuer_of(token, tenant)
        try:
            if issuer.introspector is not None:
                claims = await issuer.introspector.claims(token)
            else:
                claims = await verify(token, issuer.trust)
        except InvalidToken as exc:
            raise Unauthorized(str(exc)) from None
        except (KeysUnavailable, IntrospectionUnavailable) as exc:
            log.warning("tenant %s: the authorization server cannot be asked: %s", tenant, exc)
            raise UpstreamError("The authorization server could not be reached; try again shortly") from None
        if issuer.names_tenants:
            # A 403 insufficient_scope, where a tenant issuer's token for another tenant is a 401
            # invalid_token, and both are right (RFC 6750 section 3.1): the gateway's token is
            # for the gateway (its `aud`, checked above) and valid here; its `tenants` claim is a
            # privilege it lacks for this tenant ("requires higher privileges than provided by
            # the access token"). A tenant issuer's token names one tenant's base URL as its
            # audience: on another tenant it is a token for another resource server, "invalid
            # for other reasons" (RFC 7519 section 4.1.3: it MUST be rejected).
            tenants = claims.get("tenants")
            if not isinstance(tenants, list) or tenant not in tenants:
                named = frozenset(str(t) for t in tenants) if isinstance(tenants, list) else frozenset()
                raise TenantRefused(
                    f"This access token's client may not use tenant '{tenant}'", caller_from(claims, named)
                )
            return caller_from(claims, frozenset(str(t) for t in tenants))
        return caller_from(claims, frozenset({tenant}), issuer.patient_claim)

    def _issuer_of(self, token: str, tenant: str) -> _Issuer:
        issuers = self._issuers[tenant]
        try:
            named = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            # An opaque token: only an issuer that is asked about its tokens can vouch for it.
            asking = [i for i in issuers.values() if i.introspector is not None]
            if len(asking) == 1:
                return asking[0]
            raise Unauthorized("the access token is not a JWT") from None
        found = issuers.get(str(named))
        if found is None:
            raise Unauthorized("the access token's issuer is not trusted here (iss)")
        return found

    async def aclose(self) -> None:
        await self._http.aclose()
