"""The FHIR REST endpoints: `/fhir/{tenant}/metadata`, read, and search (GET and POST _search)."""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import jsonio
from gateway.errors import (
    AlreadyExists,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    NotSupported,
    PreconditionFailed,
    TooCostly,
    UnsupportedMediaType,
)
from gateway.record import everything_types, gather_everything
from gateway.rest.bundle import searchset, shape
from gateway.rest.capability import capability_statement
from gateway.rest.documents import DOCUMENT_HEADERS, docref, document_response, encounter_ccd, is_cda
from gateway.rest.incoming import read_body, read_resource
from gateway.rest.negotiation import Format, negotiate, wants_binary_resource
from gateway.rest.outcome import operation_outcome
from gateway.rest.paging import PageTokens, search_fingerprint
from gateway.search.dates import parse_fhir_date
from gateway.search.execute import PagePosition, count_all, fetch_page, first_position, is_exact
from gateway.search.match import matches
from gateway.search.model import SearchQuery
from gateway.search.parse import ID_RE, TotalMode, parse_search
from gateway.settings import Settings
from gateway.tenants import Tenant
from mappings.base import Interaction, ResourceSupport, Writer

_PASSTHROUGH = ("_format", "_pretty")


@dataclass(frozen=True)
class RestState:
    settings: Settings
    tenants: dict[str, Tenant]
    tokens: PageTokens


def _state(request: Request) -> RestState:
    state: RestState = request.app.state.rest
    return state


def _tenant(request: Request) -> Tenant:
    name = request.path_params["tenant"]
    tenant = _state(request).tenants.get(name)
    if tenant is None:
        raise NotFound(f"Unknown tenant '{name}'")
    return tenant


def _support(tenant: Tenant, resource_type: str, interaction: Interaction) -> ResourceSupport:
    support = tenant.adapter.resources.get(resource_type)
    if support is None:
        known = ", ".join(sorted(tenant.adapter.resources))
        raise NotFound(f"Resource type '{resource_type}' is not served by tenant '{tenant.name}' (served: {known})")
    if interaction not in support.interactions:
        raise MethodNotAllowed(
            f"{interaction} is not supported on {resource_type} for tenant '{tenant.name}'",
            headers={"Allow": _allow(support, interaction)},
        )
    return support


def _allow(support: ResourceSupport, refused: Interaction) -> str:
    table = (
        _INSTANCE_METHODS if refused in (Interaction.READ, Interaction.UPDATE, Interaction.DELETE) else _TYPE_METHODS
    )
    allowed = [m for m, (i, _) in table.items() if i in support.interactions]
    return ", ".join([*allowed, "HEAD"] if "GET" in allowed else allowed)


def _format(request: Request) -> Format:
    q = request.query_params
    return negotiate(q.get("_format"), request.headers.get("accept"), q.get("_pretty"))


def _base(request: Request, tenant: str) -> str:
    public = _state(request).settings.server.public_base_url
    root = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return f"{root}/fhir/{tenant}"


def _respond(fmt: Format, body: Any, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(
        jsonio.dumps(body, pretty=fmt.pretty), status_code=status, media_type=fmt.content_type, headers=headers
    )


def _strict(request: Request) -> bool:
    return any(part.strip() == "handling=strict" for part in re.split(r"[;,]", request.headers.get("prefer", "")))


async def metadata(request: Request) -> Response:
    fmt = _format(request)
    tenant = _tenant(request)
    paging = _state(request).settings.paging
    body = capability_statement(
        tenant.name, _base(request, tenant.name), dict(tenant.adapter.resources), paging.default_count, paging.max_count
    )
    return _respond(fmt, body)


async def read(request: Request) -> Response:
    resource_type = request.path_params["type"]
    q = request.query_params
    if resource_type == "Binary" and not wants_binary_resource(q.get("_format"), request.headers.get("accept")):
        return await _binary_content(request)
    fmt = _format(request)
    tenant = _tenant(request)
    resource_id = request.path_params["id"]
    _support(tenant, resource_type, Interaction.READ)
    _check_id(resource_id)
    resource = await tenant.adapter.read(resource_type, resource_id)
    version = request.path_params.get("vid")
    if version is not None and (resource.get("meta") or {}).get("versionId") != version:
        # Vendors keep no history: only the current version can be read by version id.
        raise NotFound(f"{resource_type}/{resource_id} has no version '{version}' here (only the current one)")
    elements = tuple(e for e in q.get("_elements", "").split(",") if e)
    summary = q.get("_summary")
    if summary in ("true", "text"):
        summary = None  # element summaries are not served; the whole resource is more, never less
    if summary not in (None, "false", "data"):
        raise InvalidRequest("_summary on a read must be true, text, data or false", expression="_summary")
    headers = _version_headers(resource)
    if resource_type == "Binary":
        headers["Cache-Control"] = "no-store"  # a document, base64: no copies in shared caches
    return _respond(fmt, shape(resource, summary, elements), headers)


async def _binary_content(request: Request) -> Response:
    tenant = _tenant(request)
    resource_id = request.path_params["id"]
    _support(tenant, "Binary", Interaction.READ)
    _check_id(resource_id)
    binary = await tenant.adapter.read("Binary", resource_id)
    content = base64.b64decode(binary.get("data") or "")
    if is_cda(str(binary.get("contentType") or "")):
        return document_response(request, None, resource_id, content)  # XML, or its HTML page
    headers = {**DOCUMENT_HEADERS, **_version_headers(binary)}
    return Response(content, media_type=str(binary.get("contentType") or "application/octet-stream"), headers=headers)


def _version_headers(resource: dict[str, Any]) -> dict[str, str]:
    meta = resource.get("meta") or {}
    headers: dict[str, str] = {}
    if meta.get("versionId"):
        headers["ETag"] = f'W/"{meta["versionId"]}"'
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = format_datetime(parse_fhir_date(meta["lastUpdated"]).start, usegmt=True)
    return headers


async def search_get(request: Request) -> Response:
    return await _search(request, list(request.query_params.multi_items()))


async def search_post(request: Request) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
    try:
        form = parse_qsl((await read_body(request)).decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidRequest("The form body is not UTF-8") from None
    items = list(request.query_params.multi_items()) + form
    return await _search(request, items)


async def _search(request: Request, items: list[tuple[str, str]]) -> Response:
    fmt = _format(request)
    tenant = _tenant(request)
    state = _state(request)
    support = _support(tenant, request.path_params["type"], Interaction.SEARCH)
    parsed = parse_search(
        support,
        items,
        strict=_strict(request),
        default_count=state.settings.paging.default_count,
        max_count=state.settings.paging.max_count,
        zone=tenant.context.timezone,
    )
    base = _base(request, tenant.name)
    caller = str(request.scope.get("fhir.caller", "anonymous"))
    fingerprint = search_fingerprint(tenant.name, caller, support.type, parsed.link_params)
    passthrough = [(k, v) for k, v in items if k in _PASSTHROUGH]

    def url(count: int, token: str | None = None) -> str:
        params = [*parsed.link_params, ("_count", str(count)), *passthrough]
        if token:
            params.append(("_page", token))
        return f"{base}/{support.type}?{urlencode(params)}"

    adapter = tenant.adapter
    if parsed.summary == "count" or parsed.count == 0:
        counted = await count_all(adapter, support, parsed.query)
        bundle = searchset(
            base=base, resources=[], links=[("self", url(parsed.count))], total=counted.total, warnings=counted.warnings
        )
        return _respond(fmt, bundle)

    position = (
        state.tokens.open(parsed.page_token, fingerprint)
        if parsed.page_token
        else first_position(adapter, is_exact(support, parsed.query), parsed.count)
    )
    page = await fetch_page(adapter, support, parsed.query, parsed.count, position)
    total: int | None = page.total
    if parsed.total is TotalMode.ACCURATE and total is None and not page.warnings:
        total = (await count_all(adapter, support, parsed.query)).total
    elif parsed.total is TotalMode.NONE:
        total = None
    links = [("self", url(parsed.count, parsed.page_token)), ("first", url(parsed.count))]
    if page.previous is not None:
        links.append(("previous", url(parsed.count, state.tokens.issue(fingerprint, page.previous))))
    if page.next is not None:
        links.append(("next", url(parsed.count, state.tokens.issue(fingerprint, page.next))))
    resources = [shape(r, parsed.summary, parsed.elements) for r in page.resources]
    return _respond(fmt, searchset(base=base, resources=resources, links=links, total=total, warnings=page.warnings))


def _writer(tenant: Tenant, resource_type: str, interaction: Interaction) -> Writer:
    _support(tenant, resource_type, interaction)
    adapter = tenant.adapter
    # An adapter implements the Writer methods of the interactions it declares, not all three.
    if not callable(getattr(adapter, str(interaction), None)):
        raise MethodNotAllowed(f"{interaction} is not supported on {resource_type}")
    return cast(Writer, adapter)


def _written(
    request: Request,
    fmt: Format,
    tenant: Tenant,
    resource: dict[str, Any],
    status: int,
    not_stored: tuple[str, ...] = (),
    matched: bool = False,
) -> Response:
    """A create/update answer: Location, ETag, Last-Modified, and the body `Prefer` asks for.

    What the vendor could not keep is reported with `Prefer: return=OperationOutcome` (the
    FHIR way to ask for processing messages); the representation shows what was stored.
    """
    headers = _version_headers(resource)
    location = f"{_base(request, tenant.name)}/{resource['resourceType']}/{resource['id']}"
    version = (resource.get("meta") or {}).get("versionId")
    headers["Location"] = f"{location}/_history/{version}" if version else location
    prefer = request.headers.get("prefer", "")
    if "return=minimal" in prefer:
        return Response(status_code=status, headers=headers)
    if "return=OperationOutcome" in prefer:
        verb = {201: "created", 200: "updated"}[status] if not matched else "matched If-None-Exist; nothing created"
        body = operation_outcome("information", "informational", f"{resource['resourceType']}/{resource['id']} {verb}")
        body["issue"] += [
            {
                "severity": "warning",
                "code": "informational",
                "diagnostics": "Not stored by the vendor",
                "expression": [e],
            }
            for e in not_stored
        ]
        return _respond(fmt, body, headers, status)
    return _respond(fmt, resource, headers, status)


async def create(request: Request) -> Response:
    fmt = _format(request)
    tenant = _tenant(request)
    resource_type = request.path_params["type"]
    writer = _writer(tenant, resource_type, Interaction.CREATE)
    resource = await read_resource(request, resource_type)
    resource.pop("id", None)  # FHIR: the server assigns ids on create
    condition = request.headers.get("if-none-exist")
    criteria: SearchQuery | None = None
    if condition:
        criteria, existing = await _conditional_matches(tenant, resource_type, condition)
        if len(existing) > 1:
            raise PreconditionFailed(f"If-None-Exist matched more than one {resource_type}; nothing was created")
        if existing:
            return _written(request, fmt, tenant, existing[0], 200, matched=True)
    try:
        created = await writer.create(resource_type, resource)
    except AlreadyExists as exc:
        # The vendor's duplicate answers the client's condition only if it meets it: a
        # household sharing a phone number is not "the patient you asked about".
        if criteria is not None and exc.existing is not None and matches(exc.existing, criteria):
            return _written(request, fmt, tenant, dict(exc.existing), 200, matched=True)
        raise
    return _written(request, fmt, tenant, created.resource, 201, created.not_stored)


async def _conditional_matches(
    tenant: Tenant, resource_type: str, condition: str
) -> tuple[SearchQuery, list[dict[str, Any]]]:
    support = _support(tenant, resource_type, Interaction.SEARCH)
    items = parse_qsl(condition.split("?", 1)[-1], keep_blank_values=True)
    # Strict: a condition the server would partly ignore could match the wrong record.
    try:
        parsed = parse_search(support, items, strict=True, default_count=2, max_count=2, zone=tenant.context.timezone)
    except NotSupported as exc:
        raise InvalidRequest(f"If-None-Exist: {exc.diagnostics}", expression="If-None-Exist") from None
    if not parsed.query.params:
        raise InvalidRequest(
            "If-None-Exist must hold search parameters that select records, e.g. identifier=sys|123",
            expression="If-None-Exist",
        )
    page = await fetch_page(tenant.adapter, support, parsed.query, 2, first_position(tenant.adapter, False, 2))
    if len(page.resources) < 2 and page.next is not None:
        # The walk stopped before the end: "no match" or "one match" would be a guess.
        raise TooCostly("If-None-Exist could not be checked completely; use a more selective condition")
    return parsed.query, page.resources


async def update(request: Request) -> Response:
    fmt = _format(request)
    tenant = _tenant(request)
    resource_type, resource_id = request.path_params["type"], request.path_params["id"]
    writer = _writer(tenant, resource_type, Interaction.UPDATE)
    _check_id(resource_id)
    resource = await read_resource(request, resource_type)
    if resource.get("id") != resource_id:
        raise InvalidRequest(
            f"The body's id ('{resource.get('id')}') must equal the id in the URL ('{resource_id}')", expression="id"
        )
    if_match = request.headers.get("if-match")
    version = _etag_version(if_match) if if_match else None
    updated = await writer.update(resource_type, resource_id, resource, version)
    return _written(request, fmt, tenant, updated.resource, 200, updated.not_stored)


def _etag_version(etag: str) -> str:
    text = etag.strip()
    if text.startswith("W/"):
        text = text[2:]
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise InvalidRequest('If-Match must be an ETag such as W/"3"')
    return text[1:-1]


async def delete(request: Request) -> Response:
    _format(request)
    tenant = _tenant(request)
    resource_type, resource_id = request.path_params["type"], request.path_params["id"]
    writer = _writer(tenant, resource_type, Interaction.DELETE)
    _check_id(resource_id)
    await writer.delete(resource_type, resource_id)
    return Response(status_code=204)


def _check_id(resource_id: str) -> None:
    if not ID_RE.match(resource_id):
        raise InvalidRequest(f"'{resource_id}' is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})")


async def patient_everything(request: Request) -> Response:
    fmt = _format(request)
    tenant = _tenant(request)
    state = _state(request)
    if request.path_params["type"] != "Patient":
        raise NotFound("$everything is defined on Patient")
    resource_id = request.path_params["id"]
    _support(tenant, "Patient", Interaction.READ)
    _check_id(resource_id)
    q = request.query_params
    wanted = {t for part in q.getlist("_type") for t in part.split(",") if t} or None
    types = everything_types(tenant.adapter, wanted)
    patient = await tenant.adapter.read("Patient", resource_id)
    start, end = q.get("start"), q.get("end")
    count = min(
        int(q["_count"]) if q.get("_count", "").isdigit() else state.settings.paging.max_count,
        state.settings.paging.max_count,
    )
    link_params = [(k, v) for k, v in q.multi_items() if k in ("start", "end", "_type")]
    base = _base(request, tenant.name)
    fingerprint = search_fingerprint(
        tenant.name, str(request.scope.get("fhir.caller", "anonymous")), f"$everything/{resource_id}", link_params
    )
    offset = state.tokens.open(q["_page"], fingerprint).skip if q.get("_page") else 0
    resources, missing = await gather_everything(tenant.adapter, tenant.context.timezone, patient, types, start, end)
    if wanted is not None and "Patient" not in wanted:
        resources = resources[1:]
    page = resources[offset : offset + count]

    def url(at: int | None) -> str:
        params = [*link_params, ("_count", str(count))]
        if at:
            params.append(("_page", state.tokens.issue(fingerprint, PagePosition(None, at, count))))
        return f"{base}/Patient/{resource_id}/$everything?{urlencode(params)}"

    links = [("self", url(offset)), ("first", url(None))]
    if offset > 0:
        links.append(("previous", url(max(0, offset - count))))
    if offset + count < len(resources):
        links.append(("next", url(offset + count)))
    total = None if missing else len(resources)
    return _respond(fmt, searchset(base=base, resources=page, links=links, total=total, warnings=missing))


async def docref_endpoint(request: Request) -> Response:
    fmt = _format(request)
    tenant = _tenant(request)
    _support(tenant, "DocumentReference", Interaction.SEARCH)
    return await docref(request, tenant, _base(request, tenant.name), fmt, _strict(request))


async def ccd_endpoint(request: Request) -> Response:
    tenant = _tenant(request)
    if request.path_params["type"] != "Encounter":
        raise NotFound("$ccd is defined on Encounter")
    _support(tenant, "Encounter", Interaction.READ)
    encounter_id = request.path_params["id"]
    _check_id(encounter_id)
    q = request.query_params
    fmt = _format(request) if wants_binary_resource(q.get("_format"), request.headers.get("accept")) else None
    return await encounter_ccd(request, tenant, encounter_id, fmt)


Endpoint = Callable[[Request], Awaitable[Response]]
# Per path: HTTP method -> (interaction it needs, handler). The interactions decide `Allow`.
_TYPE_METHODS: dict[str, tuple[Interaction, Endpoint]] = {
    "GET": (Interaction.SEARCH, search_get),
    "POST": (Interaction.CREATE, create),
}
_INSTANCE_METHODS: dict[str, tuple[Interaction, Endpoint]] = {
    "GET": (Interaction.READ, read),
    "PUT": (Interaction.UPDATE, update),
    "DELETE": (Interaction.DELETE, delete),
}


def _dispatch(methods: dict[str, tuple[Interaction, Endpoint]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        if method in methods:
            return await methods[method][1](request)
        support = _tenant(request).adapter.resources.get(request.path_params["type"])
        allowed = [m for m, (i, _) in methods.items() if support is not None and i in support.interactions]
        if "GET" in allowed:
            allowed.append("HEAD")
        raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": ", ".join(allowed)})

    return endpoint


def fhir_routes() -> list[Route]:
    every = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
    return [
        Route("/fhir/{tenant}/metadata", metadata, methods=["GET"]),
        Route("/fhir/{tenant}/{type}/_search", search_post, methods=["POST"]),
        Route("/fhir/{tenant}/{type}/{id}/_history/{vid}", read, methods=["GET"]),
        Route("/fhir/{tenant}/DocumentReference/$docref", docref_endpoint, methods=["GET", "POST"]),
        Route("/fhir/{tenant}/{type}/{id}/$everything", patient_everything, methods=["GET"]),
        Route("/fhir/{tenant}/{type}/{id}/$ccd", ccd_endpoint, methods=["GET"]),
        Route("/fhir/{tenant}/{type}/{id}", _dispatch(_INSTANCE_METHODS), methods=every),
        Route("/fhir/{tenant}/{type}", _dispatch(_TYPE_METHODS), methods=every),
    ]
