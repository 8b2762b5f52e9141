"""The `Host` header: answered only when it names this server.

Without `server.public_base_url`, the links the gateway sends (`Location`, paging links,
`fullUrl`, the CapabilityStatement's URL) are built from the request's `Host`
(RFC 9110 section 7.2), which the client chooses: `Host: evil.example` would have the gateway
hand out links to another server. `server.allowed_hosts` lists the names clients may use
(`name` for any port, `name:port` for one); a request naming any other is a 400. Listening on
loopback without `server.allowed_hosts`, the loopback names are allowed (`localhost`,
`127.0.0.1`, `[::1]`), and `public_base_url`'s host name when it is set (what a reverse proxy
on the same machine passes on); anywhere else `serve` refuses to start without one of the two
settings (`check_hosts`).

On loopback the check holds even when `public_base_url` fixes the links: it is also what keeps
a web page from reaching the gateway by DNS rebinding. The page's own name (`attacker.example`)
is made to resolve to 127.0.0.1, and the browser then sends the page's requests, `Host:
attacker.example` and all, to the gateway as same-origin ones whose answers the page reads; with
`auth = "none"` (accepted on loopback only) or a loopback `/metrics` without a token, nothing
else stops it. A browser always names the page's host (RFC 9110 section 7.2; Fetch standard),
which is never one of the names allowed, so the page gets a 400. Off loopback, `public_base_url`
alone (no `allowed_hosts`) answers any Host: links do not depend on it, `auth = "smart"` is
required there (gateway.auth.gate.check_exposure) and a bearer token is nothing a browser adds
by itself, and the names a load balancer's health checks use are not known in advance.

A request target in absolute form (`GET http://name/fhir/...`) names the server itself: its
authority stands in for Host before this check (gateway.slow_clients; RFC 9112 section 3.2.2),
so the names allowed are checked, and links built, against it.

Whatever the settings, a request with more than one Host, or an HTTP/1.1 request with none, is
a 400 (RFC 9112 section 3.2: MUST). An HTTP/1.0 request without Host (the RFC asks Host of
HTTP/1.1 only; old monitoring probes and hand-written health checks send none) is served when
its links need no Host: from `server.public_base_url`, or on a loopback address, from the
address the connection reached. Elsewhere that address may be internal (a container's, behind
a TCP load balancer or NAT) and is named to no one: a 400 asking for Host. It weakens the check
against DNS rebinding in nothing: that attack needs a browser, and a browser always sends Host.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.gate import is_loopback
from gateway.rest.outcome import operation_outcome, outcome_response
from gateway.settings import ConfigError, ServerSettings, Settings

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def check_hosts(settings: Settings, host: str) -> Settings:
    """The settings to serve with on `host`: on loopback, unless `server.allowed_hosts` is set,
    the loopback names and `public_base_url`'s host allowed; elsewhere a ConfigError unless the
    links have a base that no client chooses."""
    server = settings.server
    if server.allowed_hosts is not None:
        return settings
    if is_loopback(host):
        names = list(LOOPBACK_HOSTS)
        if server.public_base_url is not None:
            # Its name, any port: a proxy passes the public Host on with or without the port.
            public = split_host(urlsplit(server.public_base_url).netloc)[0]
            names += [public] if public not in names else []
        return settings.model_copy(update={"server": server.model_copy(update={"allowed_hosts": names})})
    if server.public_base_url is None:
        raise ConfigError(
            f"the gateway would listen on {host} and build its links from each request's Host header, "
            "which the client chooses. Set server.public_base_url (the URL clients use) or "
            'server.allowed_hosts (e.g. ["fhir.example.org"]), or listen on 127.0.0.1.'
        )
    return settings


def split_host(value: str) -> tuple[str, str | None]:
    """`name[:port]` (RFC 9110 section 7.2, an IPv6 literal in brackets) → (name, port)."""
    text = value.strip().lower()
    if text.startswith("["):
        name, bracket, rest = text.partition("]")
        return name + bracket, (rest[1:] if rest.startswith(":") else None) if rest else None
    name, colon, port = text.partition(":")
    return name.rstrip("."), port if colon else None


class HostCheck:
    """Plain ASGI: a request whose Host is not allowed gets a 400 OperationOutcome."""

    def __init__(self, app: ASGIApp, server: ServerSettings) -> None:
        self.app = app
        self.allowed = _allowed(server.allowed_hosts) if server.allowed_hosts is not None else None
        self.fixed_base = server.public_base_url is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [value for name, value in scope["headers"] if name == b"host"]
        problem = self._problem(hosts, scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        response = outcome_response(400, operation_outcome("error", "invalid", problem))
        await response(scope, receive, send)

    def _problem(self, hosts: list[bytes], scope: Scope) -> str | None:
        if len(hosts) > 1:  # RFC 9112 section 3.2: more than one Host is a 400
            return "The request has more than one Host header"
        if not hosts:
            if scope.get("http_version") != "1.0":
                return "The request has no Host header"  # RFC 9112 section 3.2: an HTTP/1.1 one MUST be a 400
            reached = scope.get("server")
            if self.fixed_base or (reached is not None and is_loopback(str(reached[0]))):
                return None  # RFC 9112 section 3.2 asks Host of HTTP/1.1 only (see above)
            return "The request has no Host header, which this server needs to build its links"
        if self.allowed is None:  # no names to check: off loopback with public_base_url (check_hosts)
            return None
        name, port = split_host(hosts[0].decode("latin-1"))
        if port is not None and not (port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
            return "The Host header's port is not a port number (1-65535)"  # links would name it
        if (name, None) in self.allowed or (name, port) in self.allowed:
            return None
        return "This server does not answer to the Host the request names (see server.allowed_hosts)"


def _allowed(entries: Iterable[str]) -> frozenset[tuple[str, str | None]]:
    return frozenset(split_host(entry) for entry in entries)
