"""What every FHIR endpoint needs from a request: the tenant, the provider of the type, the
response format, the base URL, and how to answer."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime, formatdate
from functools import lru_cache
from typing import Any

from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import Response

from gateway import jsonio
from gateway.auth.decision import Caller
from gateway.auth.enforce import Access, access
from gateway.auth.gate import OPEN, Gate
from gateway.auth.scopes import Permission
from gateway.contract import Interaction, ResourceProvider
from gateway.errors import InvalidRequest, MethodNotAllowed, NotFound, NotSupported
from gateway.rest.deadlines import Deadlines
from gateway.rest.negotiation import Format, negotiate
from gateway.rest.paging import PageTokens
from gateway.rest.prefer import Prefer, parse_prefer
from gateway.search.dates import parse_fhir_date
from gateway.search.parse import is_fhir_id
from gateway.settings import Settings
from gateway.shared.state import SharedState
from gateway.tenants import Tenant

# HTTP method → the interaction it needs, on a type's URL and on an instance's URL.
TYPE_METHODS = {"GET": Interaction.SEARCH, "POST": Interaction.CREATE}
INSTANCE_METHODS = {"GET": Interaction.READ, "PUT": Interaction.UPDATE, "DELETE": Interaction.DELETE}


RECORD_SECONDS = 60.0  # how long a `$everything` walk's record is kept for its following pages
RECORD_RESOURCES = 20_000  # resources all kept records may hold together


@dataclass(frozen=True)
class RestState:
    settings: Settings
    tenants: dict[str, Tenant]
    tokens: PageTokens
    gate: Gate
    shared: SharedState  # this process's, or the workers' and replicas' (server.shared_state)
    # A patient's gathered record per `$everything` walk (keyed by its signed fingerprint), so
    # following its links does not fetch the whole record again for every page.
    records: TTLCache[str, tuple[list[dict[str, Any]], list[str]]] = field(
        default_factory=lambda: TTLCache(
            maxsize=RECORD_RESOURCES, ttl=RECORD_SECONDS, getsizeof=lambda record: len(record[0]) + 1
        )
    )
    # Each read's limit in time (server.request_timeout), for the event loop this is made in.
    deadlines: Deadlines = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "deadlines", Deadlines(self.settings.server.request_timeout))


def state(request: Request) -> RestState:
    rest: RestState = request.app.state.rest
    return rest


def tenant_of(request: Request) -> Tenant:
    name = request.path_params["tenant"]
    tenant = state(request).tenants.get(name)
    if tenant is None:
        raise NotFound(f"Unknown tenant '{name}'")
    return tenant


def allow(methods: Iterable[str]) -> str:
    """An `Allow` header value: the methods given, and HEAD wherever GET is allowed."""
    listed = list(methods)
    return ", ".join([*listed, "HEAD"] if "GET" in listed else listed)


def allowed_methods(provider: ResourceProvider | None, instance: bool) -> list[str]:
    """The methods a type's (or an instance's) URL answers, from the provider's interactions."""
    table = INSTANCE_METHODS if instance else TYPE_METHODS
    interactions = provider.support.interactions if provider is not None else frozenset()
    return [method for method, needed in table.items() if needed in interactions]


def served(tenant: Tenant, resource_type: str) -> ResourceProvider:
    """The provider of the type, or 404 naming the types the tenant serves."""
    provider = tenant.providers.get(resource_type)
    if provider is None:
        known = ", ".join(sorted(tenant.providers))
        raise NotFound(f"Resource type '{resource_type}' is not served by tenant '{tenant.name}' (served: {known})")
    return provider


def provider_for(tenant: Tenant, resource_type: str, interaction: Interaction) -> ResourceProvider:
    """The provider of the type, if it supports the interaction: else 404 (type not served) or
    405 with the methods that do work."""
    provider = served(tenant, resource_type)
    if interaction not in provider.support.interactions:
        instance = interaction in INSTANCE_METHODS.values()
        raise MethodNotAllowed(
            f"{interaction} is not supported on {resource_type} for tenant '{tenant.name}'",
            headers={"Allow": allow(allowed_methods(provider, instance))},
        )
    return provider


def response_format(request: Request) -> Format:
    return negotiate(query_value(request, "_format"), header_value(request, "accept"), query_value(request, "_pretty"))


# Starlette's `Headers` and `QueryParams` take `get` from `Mapping`, which raises and catches a
# KeyError for each name absent, and most names asked on every request are absent (`_format`,
# `_pretty`, `If-Match`...): asked whether it is there first, nothing is raised.


def header_value(request: Request, name: str) -> str | None:
    """The request's first `name` header field (lower case), or None: `request.headers.get(name)`."""
    headers = request.headers
    return headers[name] if name in headers else None  # noqa: SIM401 (the point: no KeyError)


def query_value(request: Request, name: str) -> str | None:
    """The query's first `name` parameter, or None: `request.query_params.get(name)`."""
    params = request.query_params
    return params[name] if name in params else None  # noqa: SIM401 (the point: no KeyError)


def prefer(request: Request) -> Prefer:
    return parse_prefer(request.headers.getlist("prefer"))


def base_url(request: Request, tenant: str) -> str:
    public = state(request).settings.server.public_base_url
    root = public.rstrip("/") if public else _root_of(request)
    return f"{root}/fhir/{tenant}"


def _root_of(request: Request) -> str:
    """The server's root URL as this request names it (Starlette's `base_url`, which builds URL
    objects: memoized on what it depends on, the same few values for every request). Without
    Host (an HTTP/1.0 request, gateway.rest.hosts) it is the address and port the connection
    reached, the scope's `server` (an IPv6 address in brackets, a scheme's default port left out)."""
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    return _root(scope.get("scheme", "http"), host, tuple(scope.get("server") or ()), root_path)


@lru_cache(maxsize=256)
def _root(scheme: str, host: bytes | None, server: tuple[Any, ...], root_path: str) -> str:
    scope: dict[str, Any] = {
        "type": "http",
        "scheme": scheme,
        "headers": [(b"host", host)] if host is not None else [],
        "server": server or None,
        "root_path": root_path,
        "path": "/",
        "query_string": b"",
    }
    return str(Request(scope).base_url).rstrip("/")


def caller(request: Request) -> Caller:
    """Who is asking (set by the route's dispatch, from the request's access token)."""
    found = request.scope.get("fhir.caller")
    return found if isinstance(found, Caller) else OPEN


def reach(request: Request, provider: ResourceProvider, permission: Permission, zone: str) -> Access:
    """What the caller may reach of the provider's type through `permission` (403 if nothing)."""
    return access(caller(request), provider.support, permission, zone)


def respond(fmt: Format, body: Any, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(
        jsonio.dumps(body, pretty=fmt.pretty), status_code=status, media_type=fmt.content_type, headers=headers
    )


def check_id(resource_id: str) -> None:
    if is_fhir_id(resource_id):
        return
    if resource_id.startswith("$") and resource_id[1:].replace("-", "").isalnum():
        # `[type]/$op` reaches the instance routes: an operation, not an id (the instance-level
        # ones the tenant has are in its CapabilityStatement).
        raise NotSupported(
            f"The operation {resource_id} is not supported on a resource type here; "
            "see this tenant's metadata for the operations it has (e.g. Patient/[id]/$everything)"
        )
    raise InvalidRequest(f"'{resource_id}' is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})")


def check_version_id(request: Request) -> None:
    """A vread's version id is an `id` too (R4 Meta.versionId): a malformed one is a 400, as a
    malformed resource id is, not a version that happens not to exist."""
    version = request.path_params.get("vid")
    if version is not None and not is_fhir_id(version):
        raise InvalidRequest(f"'{version}' is not a valid version id ([A-Za-z0-9-.]{{1,64}})")


def version_headers(resource: dict[str, Any]) -> dict[str, str]:
    meta = resource.get("meta") or {}
    headers: dict[str, str] = {}
    if meta.get("versionId"):
        headers["ETag"] = f'W/"{meta["versionId"]}"'
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = http_date(meta["lastUpdated"])
    return headers


def http_date(instant: str) -> str:
    """A FHIR instant as an HTTP-date (RFC 9110 section 5.6.7: GMT, to the second); now, for
    one in the future (a vendor's clock ahead of ours): a `Last-Modified` is never later than
    the answer's `Date`, which is taken after it (section 8.8.2.1)."""
    moment, text = _http_date(instant)
    now = time.time()
    return formatdate(now, usegmt=True) if moment > now else text


@lru_cache(maxsize=4096)  # a record's lastUpdated is read again on every read of it
def _http_date(instant: str) -> tuple[float, str]:
    start = parse_fhir_date(instant).start
    return start.timestamp(), format_datetime(start, usegmt=True)
