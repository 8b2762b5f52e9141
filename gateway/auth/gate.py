"""The gate: who a request's bearer token speaks for, per the tenant's trusted issuer.

`server.auth = "none"` lets every request through as one open caller (`system/*.cruds`), and
is accepted only on a loopback address (`check_exposure`): anyone who can reach the port
would read and write every patient. `server.auth = "smart"` needs, on every FHIR endpoint but
the discovery ones, a bearer token (RFC 6750) that the tenant's issuer signed for the tenant's
FHIR base URL (gateway.auth.tokens).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway.auth.decision import Caller
from gateway.auth.keys import JwksFile, JwksUrl, KeySource, KeysUnavailable
from gateway.auth.scopes import parse_scopes
from gateway.auth.tokens import InvalidToken, Trust, caller_from, verify
from gateway.errors import Unauthorized, UpstreamError
from gateway.settings import ConfigError, Settings, TenantAuthSettings

log = logging.getLogger("gateway.auth")

OPEN = Caller("anonymous", None, parse_scopes("system/*.cruds"))
"""The caller of every request under `auth = "none"`: all it did before there was a gate."""


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse to serve without authorization anywhere but on loopback."""
    if settings.server.auth == "none" and not is_loopback(host):
        raise ConfigError(
            f'server.auth is "none" and the gateway would listen on {host}: anyone who can reach that '
            'address could read and write every patient. Set server.auth = "smart" (with each '
            "tenant's [tenants.NAME.auth] issuer), or listen on 127.0.0.1."
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


@dataclass(frozen=True)
class _TenantTrust:
    trust: Trust
    patient_claim: str


class Gate:
    def __init__(self, settings: Settings) -> None:
        self.mode = settings.server.auth
        self._http: httpx.AsyncClient | None = None
        self._trusts: dict[str, _TenantTrust] = {}
        if self.mode == "none":
            return
        public = (settings.server.public_base_url or "").rstrip("/")
        for name, tenant in settings.tenants.items():
            conf = tenant.auth
            if conf is None:  # Settings refuses this under "smart"
                raise ConfigError(f"tenant '{name}': auth is required when server.auth is \"smart\"")
            audience = conf.audience or f"{public}/fhir/{name}"
            self._trusts[name] = _TenantTrust(Trust(conf.issuer, audience, self._keys(conf)), conf.patient_claim)

    def _keys(self, conf: TenantAuthSettings) -> KeySource:
        if conf.jwks_file is not None:
            return JwksFile(Path(conf.jwks_file).expanduser())
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        assert conf.jwks_uri is not None
        return JwksUrl(conf.jwks_uri, self._http)

    def audience(self, tenant: str) -> str | None:
        found = self._trusts.get(tenant)
        return found.trust.audience if found else None

    async def caller(self, headers: Mapping[str, str], tenant: str) -> Caller:
        """The caller the request's token speaks for, or Unauthorized saying what is missing."""
        if self.mode == "none":
            return OPEN
        header = headers.get("authorization")
        if not header:
            raise Unauthorized("This server needs an access token: 'Authorization: Bearer <token>'", error="")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send the access token as 'Authorization: Bearer <token>'", error="invalid_request")
        found = self._trusts[tenant]
        try:
            claims = await verify(token.strip(), found.trust)
        except InvalidToken as exc:
            raise Unauthorized(str(exc)) from None
        except KeysUnavailable as exc:
            log.warning("tenant %s: the issuer's keys are unavailable: %s", tenant, exc)
            raise UpstreamError("The authorization server's keys could not be fetched; try again shortly") from None
        return caller_from(claims, frozenset({tenant}), found.patient_claim)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
