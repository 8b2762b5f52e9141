"""Who may read /metrics and the status page's figures: `observability.metrics_token` (a bearer
token, RFC 6750) and/or `observability.metrics_networks` (the client's address)."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from gateway.settings import ObservabilitySettings, resolve_secret

Refusal = Literal["unauthorized", "forbidden"]


@dataclass(frozen=True)
class MetricsAccess:
    token: str | None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def of(cls, settings: ObservabilitySettings) -> MetricsAccess:
        token = resolve_secret(settings.metrics_token) if settings.metrics_token else None
        return cls(token, tuple(ipaddress.ip_network(n, strict=False) for n in settings.metrics_networks))

    def refusal(self, request: Request) -> Refusal | None:
        """None if the request may read, else why not (401 without the token, 403 from elsewhere)."""
        if self.networks and not self._from_allowed_network(request):
            return "forbidden"
        if self.token is not None:
            given = request.headers.getlist("authorization")
            if len(given) != 1:  # none, or two (RFC 6750 section 3.1: never pick one)
                return "unauthorized"
            scheme, _, presented = given[0].partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), self.token.encode()):
                return "unauthorized"
        return None

    def allows(self, request: Request) -> bool:
        return self.refusal(request) is None

    def _from_allowed_network(self, request: Request) -> bool:
        client = request.client
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client.host)
        except ValueError:
            return False  # not an IP address (a Unix socket, a test client): not on any network
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)
