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

On loopback the check is also what keeps a web page from reaching the gateway by DNS rebinding.
The page's own name (`attacker.example`) is made to resolve to 127.0.0.1, and the browser then
sends the page's requests, `Host: attacker.example` and all, to the gateway as same-origin ones
whose answers the page reads. A browser always names the page's host (RFC 9110 section 7.2;
Fetch standard), which is never one of the names allowed, so the page gets a 400. With
`public_base_url` set the links no longer depend on Host, and the guard is kept only where it
protects something, so that a proxy on the same machine that rewrites Host (nginx `proxy_pass
http://upstream_name;` sends `Host: upstream_name`) is not refused:
- `auth = "none"` (accepted on loopback only): every resource is open, so only the loopback names
  and `public_base_url`'s host name are answered (`check_hosts`);
- `auth = "smart"`: the FHIR API needs a bearer token, which a browser adds to no page's request
  by itself, so any Host is answered, except on `/metrics` and the status page (`/`) reached on a
  loopback address: those need no token from a loopback client unless `metrics_token` is set
  (`serve --smart-demo`), so there the same names are required (`HostCheck`).
Off loopback, `public_base_url` alone (no `allowed_hosts`) answers any Host: links do not depend
on it, `auth = "smart"` is required there (gateway.auth.gate.check_exposure), and the names a
load balancer's health checks use are not known in advance; but a connection that reaches a
loopback address of a gateway listening on all of them is a rebinding page's as well, and its
`/metrics` and status page are guarded as above. A proxy that rewrites Host and must
reach the guarded paths is named in `server.allowed_hosts`.

The probes (`/livez`, `/healthz`, `/readyz`) answer whatever name the Host header gives: they
build no link and carry no resource, and a load balancer or orchestrator that checks by address
or by an internal name must not mark the instance unhealthy for it. Named by a Host that the
operator's paths would refuse, `/readyz` is answered as to a client of no known address: ready
or not, without the breaker and OAuth details that those who may read `/metrics` see.

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

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.gate import is_loopback
from gateway.rest.outcome import operation_outcome, outcome_response
from gateway.settings import ConfigError, ServerSettings, Settings

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# No links, no resources: answered whatever the Host (see the module docstring).
PROBE_PATHS = frozenset({"/livez", "/healthz", "/readyz"})
# What a loopback client reads without a token unless observability.metrics_token is set.
OPERATOR_PATHS = frozenset({"/", "/metrics"})

log = logging.getLogger(__name__)


def check_hosts(settings: Settings, host: str) -> Settings:
    """The settings to serve with on `host`: on loopback, unless `server.allowed_hosts` is set,
    the loopback names allowed, and `public_base_url`'s host with them when `auth = "none"`
    (with `auth = "smart"` HostCheck guards the operator's paths only); elsewhere a ConfigError
    unless the links have a base that no client chooses."""
    server = settings.server
    if server.allowed_hosts is not None:
        return settings
    if is_loopback(host):
        if server.public_base_url is not None and server.auth != "none":
            return settings  # links from public_base_url; HostCheck guards OPERATOR_PATHS
        names = loopback_and_public_names(server)
        return settings.model_copy(update={"server": server.model_copy(update={"allowed_hosts": names})})
    if server.public_base_url is None:
        raise ConfigError(
            f"the gateway would listen on {host} and build its links from each request's Host header, "
            "which the client chooses. Set server.public_base_url (the URL clients use) or "
            'server.allowed_hosts (e.g. ["fhir.example.org"]), or listen on 127.0.0.1.'
        )
    return settings


def loopback_and_public_names(server: ServerSettings) -> list[str]:
    """The loopback names, and `public_base_url`'s host name (any port: a proxy passes the public
    Host on with or without the port) when it is set."""
    names = list(LOOPBACK_HOSTS)
    if server.public_base_url is not None:
        public = split_host(urlsplit(server.public_base_url).netloc)[0]
        names += [public] if public not in names else []
    return names


def describe_hosts(server: ServerSettings) -> str:
    """Which Host names are answered, for the start-up log."""
    probes = "; probes (/livez, /healthz, /readyz) answer any"
    if server.allowed_hosts is not None:
        return f"Host names answered: {', '.join(server.allowed_hosts)}{probes}"
    if server.public_base_url is None:
        return f"Host names answered: any{probes}"
    guarded = ", ".join(loopback_and_public_names(server))
    return (
        f"Host names answered: any (links from public_base_url), but / and /metrics reached on a "
        f"loopback address answer only {guarded} (DNS rebinding; see server.allowed_hosts){probes}"
    )


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
        # allowed_hosts unset with public_base_url (and auth = "smart" on loopback: check_hosts):
        # the names required of loopback connections to the operator's paths.
        self.operator_names = _allowed(loopback_and_public_names(server)) if self.fixed_base else None
        log.info(describe_hosts(server))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [value for name, value in scope["headers"] if name == b"host"]
        problem = self._framing_problem(hosts, scope)
        if problem is None and hosts:
            probe = scope["path"] in PROBE_PATHS
            refused = self._name_problem(hosts[0], scope, guarded=probe or scope["path"] in OPERATOR_PATHS)
            if refused is not None and probe:
                # Answered, as to a client of no known address: /readyz then withholds what only
                # those who may read /metrics see (gateway.observability.access), which a
                # rebinding page on loopback would otherwise read. The outer middleware (access
                # line, metrics) keep the scope they hold, and the client's address in it.
                scope = {**scope, "client": None}
            elif refused is not None:
                problem = refused
        if problem is None:
            await self.app(scope, receive, send)
            return
        response = outcome_response(400, operation_outcome("error", "invalid", problem))
        await response(scope, receive, send)

    def _framing_problem(self, hosts: list[bytes], scope: Scope) -> str | None:
        if len(hosts) > 1:  # RFC 9112 section 3.2: more than one Host is a 400
            return "The request has more than one Host header"
        if not hosts:
            if scope.get("http_version") != "1.0":
                return "The request has no Host header"  # RFC 9112 section 3.2: an HTTP/1.1 one MUST be a 400
            reached = scope.get("server")
            if self.fixed_base or (reached is not None and is_loopback(str(reached[0]))):
                return None  # RFC 9112 section 3.2 asks Host of HTTP/1.1 only (see above)
            return "The request has no Host header, which this server needs to build its links"
        return None

    def _name_problem(self, host: bytes, scope: Scope, guarded: bool) -> str | None:
        """Why `host` is not answered; `guarded`: a path a rebinding page could read something
        from (OPERATOR_PATHS, and what /readyz tells those who may read /metrics)."""
        allowed = self.allowed if self.allowed is not None else self._operator_names(scope, guarded)
        if allowed is None:  # no names to check: public_base_url, and no path a rebinding page could use
            return None
        name, port = split_host(host.decode("latin-1"))
        if port is not None and not (port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
            return "The Host header's port is not a port number (1-65535)"  # links would name it
        if (name, None) in allowed or (name, port) in allowed:
            return None
        return "This server does not answer to the Host the request names (see server.allowed_hosts)"

    def _operator_names(self, scope: Scope, guarded: bool) -> frozenset[tuple[str, str | None]] | None:
        reached = scope.get("server")
        if guarded and reached is not None and is_loopback(str(reached[0])):
            return self.operator_names  # a rebinding page's requests arrive on loopback
        return None


def _allowed(entries: Iterable[str]) -> frozenset[tuple[str, str | None]]:
    return frozenset(split_host(entry) for entry in entries)
