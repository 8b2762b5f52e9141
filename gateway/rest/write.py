"""create, update, delete: `POST [type]`, `PUT [type]/[id]`, `DELETE [type]/[id]`.

Conditional create (`If-None-Exist`) is the gateway's, over the type's own search; updates
honour `If-Match` against the vendor's version (http://hl7.org/fhir/R4/http.html#cond-update).
The answer's body is what `Prefer: return=` asks for.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.auth.enforce import Access, check_instance_id, read_within
from gateway.auth.scopes import Permission
from gateway.cache import past_the_cache
from gateway.contract import Interaction, ResourceProvider, Written, creating_under
from gateway.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    NotSupported,
    PreconditionFailed,
    TooCostly,
)
from gateway.rest.context import (
    allow,
    allowed_methods,
    base_url,
    check_id,
    prefer,
    provider_for,
    reach,
    respond,
    response_format,
    state,
    tenant_of,
    version_headers,
)
from gateway.rest.incoming import Valueless, read_resource, without_valueless_items
from gateway.rest.negotiation import Format
from gateway.rest.outcome import operation_outcome
from gateway.rest.preconditions import Preconditions, check, check_absent, preconditions
from gateway.rest.query_encoding import check_query_encoding
from gateway.search.execute import fetch_page, first_position
from gateway.search.match import matches
from gateway.search.model import SearchQuery
from gateway.search.parse import check_size, parse_search
from gateway.tenants import Tenant


def _written(
    request: Request,
    fmt: Format,
    tenant: Tenant,
    resource: dict[str, Any],
    status: int,
    not_stored: tuple[str, ...] = (),
    matched: bool = False,
    warnings: tuple[str, ...] = (),
) -> Response:
    """A create/update answer: Location, ETag, Last-Modified, and the body `Prefer` asks for.

    What the vendor could not keep is reported with `Prefer: return=OperationOutcome` (the
    FHIR way to ask for processing messages); the representation shows what was stored.
    """
    headers = version_headers(resource)
    location = f"{base_url(request, tenant.name)}/{resource['resourceType']}/{resource['id']}"
    version = (resource.get("meta") or {}).get("versionId")
    headers["Location"] = f"{location}/_history/{version}" if version else location
    returned = prefer(request).return_
    if returned == "minimal":
        return Response(status_code=status, headers=headers)
    if returned == "OperationOutcome":
        verb = {201: "created", 200: "updated"}[status] if not matched else "matched If-None-Exist; nothing created"
        body = operation_outcome("information", "informational", f"{resource['resourceType']}/{resource['id']} {verb}")
        body["issue"] += [_not_stored_issue(e) for e in not_stored]
        body["issue"] += [{"severity": "warning", "code": "informational", "diagnostics": w} for w in warnings]
        return respond(fmt, body, headers, status)
    return respond(fmt, resource, headers, status)


def _not_stored_issue(entry: str) -> dict[str, Any]:
    """An element the vendor did not keep: `Written.not_stored` names it by a FHIRPath
    expression, perhaps followed by why in parentheses, which goes in `diagnostics`: an issue's
    `expression` is FHIRPath only (R4 operationoutcome-definitions.html#OperationOutcome.issue.expression)."""
    path, _, why = entry.partition(" (")
    diagnostics = f"Not stored by the vendor: {why.removesuffix(')')}" if why else "Not stored by the vendor"
    return {"severity": "warning", "code": "informational", "diagnostics": diagnostics, "expression": [path]}


def _not_kept(sent: dict[str, Any], written: Written, valueless: Valueless) -> tuple[str, ...]:
    """What the vendor could not keep: the extensions of items without a value (dropped with
    them, `without_valueless_items`), its mapping's list, and the client's own narrative and
    labels when what was stored does not carry them (a mapping keeps the elements it maps; these
    are the resource's, R4 resource.html#Meta and domainresource.html#DomainResource: the
    gateway writes its own narrative and meta on every answer)."""
    kind, stored = sent["resourceType"], written.resource
    unkept = [f"{kind}.text"] if "text" in sent and stored.get("text") != sent["text"] else []
    sent_meta, stored_meta = sent.get("meta") or {}, stored.get("meta") or {}
    for label in ("security", "tag"):
        kept = stored_meta.get(label) or []
        if any(item not in kept for item in sent_meta.get(label) or []):
            unkept.append(f"{kind}.meta.{label}")
    # The mapping saw the arrays without their valueless items: its paths name positions as sent.
    mapped = [valueless.as_sent(entry) for entry in written.not_stored]
    return tuple(dict.fromkeys([*valueless.dropped, *mapped, *unkept]))


async def create(request: Request) -> Response:
    fmt = response_format(request)
    tenant = tenant_of(request)
    resource_type = request.path_params["type"]
    provider = provider_for(tenant, resource_type, Interaction.CREATE)
    assert provider.create is not None  # the interaction is the handler
    allowed = reach(request, provider, Permission.CREATE, tenant.context.timezone)
    resource, valueless = without_valueless_items(await read_resource(request, resource_type))
    resource.pop("id", None)  # FHIR: the server assigns ids on create
    if not allowed.admits(resource):
        raise Forbidden(f"The access token's scopes do not allow creating this {resource_type} (outside its reach)")
    condition = request.headers.get("if-none-exist")
    # Read and checked before any wait for the lock: a malformed condition is a 400 at once.
    criteria = _condition(request, tenant, resource_type, condition) if condition is not None else None
    async with _one_conditional_create_at_a_time(request, tenant, criteria) if criteria is not None else nullcontext():
        if criteria is not None:
            existing = await _conditional_matches(request, tenant, criteria)
            if len(existing) > 1:
                raise PreconditionFailed(f"If-None-Exist matched more than one {resource_type}; nothing was created")
            if existing:
                return _written(request, fmt, tenant, existing[0], 200, matched=True)
        try:
            with creating_under(criteria):  # the provider may refuse what the condition cannot find again
                created = await provider.create(resource)
        except AlreadyExists as exc:
            duplicate: dict[str, Any] | None = dict(exc.existing) if exc.existing is not None else None
            if duplicate is None or not _visible(request, tenant, provider, duplicate):
                # Neither the record nor its id may reach a caller that could not read it.
                raise Conflict(f"A {resource_type} like this one exists already; nothing was created") from None
            # The vendor's duplicate answers the client's condition only if it meets it: a
            # household sharing a phone number is not "the patient you asked about".
            if criteria is not None and matches(duplicate, criteria):
                return _written(request, fmt, tenant, duplicate, 200, matched=True)
            raise
        warnings = created.warnings
        if criteria is not None and not matches(created.resource, criteria):
            # As stored (the vendor did not keep what the condition names, an identifier of another
            # system, say), the record does not meet If-None-Exist: the same request again would
            # not find it (and create another, unless the vendor refuses it as a duplicate).
            warnings += (
                f"If-None-Exist does not select {resource_type}/{created.resource['id']} as the vendor stored it: "
                "the same request again would not find it",
            )
        not_kept = _not_kept(resource, created, valueless)
        return _written(request, fmt, tenant, created.resource, 201, not_kept, warnings=warnings)


def _one_conditional_create_at_a_time(
    request: Request, tenant: Tenant, criteria: SearchQuery
) -> AbstractAsyncContextManager[None]:
    """Held while a conditional create checks and creates. R4 http.html#ccreate: the server
    creates only if no match exists; two such creates in flight at once would both find nothing
    and both create (a client sending one again, two feeds of one record). So conditional
    creates of one type with the same criteria, in any order, run one at a time across workers
    and replicas (the shared state's lock); other criteria run beside them, a bulk load's
    included, though two different conditions could select one record. The lock is named by
    a keyed hash: the store says nothing of the identifiers in a condition. A request waits up
    to the request limit, then a 503."""
    rest = state(request)
    canonical = orjson.dumps([tenant.name, criteria.resource_type, sorted(p.raw for p in criteria.params)])
    limit = rest.settings.server.request_timeout
    return rest.shared.lock(
        f"{tenant.name}:{criteria.resource_type}:{rest.tokens.name(canonical)}:conditional-create",
        timeout=limit,
        wait=limit,
        busy=f"Another conditional create of this {criteria.resource_type} took too long; retry shortly",
    )


def _one_checked_write_at_a_time(
    request: Request, tenant: Tenant, resource_type: str, resource_id: str, conditions: Preconditions
) -> AbstractAsyncContextManager[None]:
    """Held while an update or delete with a precondition (If-Match, ...) checks the version and
    writes. R4 http.html#concurrency: a version that does not match is a 412 "instead of
    updating the resource"; where the vendor keeps no version of its own, the adapter compares
    just before writing, and two such writes in flight with one If-Match would both find it
    current and both write, one client's update lost though answered 200. So checked writes of
    one record run one at a time across workers and replicas (the shared state's lock, named by
    a keyed hash, as `_one_conditional_create_at_a_time`'s); a write without a precondition asks
    for last-writer-wins and waits for nothing. A write made at the vendor itself, beside the
    gateway, is still not seen (README)."""
    if not conditions.given:
        return nullcontext()
    rest = state(request)
    limit = rest.settings.server.request_timeout
    name = rest.tokens.name(orjson.dumps([tenant.name, resource_type, resource_id]))
    return rest.shared.lock(
        f"{tenant.name}:{resource_type}:{name}:checked-write",
        timeout=limit,
        wait=limit,
        busy=f"Another write of this {resource_type} took too long; retry shortly",
    )


def _visible(request: Request, tenant: Tenant, provider: ResourceProvider, resource: dict[str, Any]) -> bool:
    """May the caller read and search this record (what a duplicate answer would show it)?"""
    for permission in (Permission.READ, Permission.SEARCH):
        try:
            allowed = reach(request, provider, permission, tenant.context.timezone)
        except Forbidden:
            return False
        if not allowed.admits(resource):
            return False
    return True


def _condition(request: Request, tenant: Tenant, resource_type: str, condition: str) -> SearchQuery:
    """The search an `If-None-Exist` header holds, read strictly (400 when it cannot be)."""
    provider = provider_for(tenant, resource_type, Interaction.SEARCH)
    reach(request, provider, Permission.SEARCH, tenant.context.timezone)  # 403 before anything is read
    query = condition.split("?", 1)[-1]
    # Read as a query string is (header text arrives as Latin-1: back to the bytes sent).
    sent = query.encode("latin-1")
    check_query_encoding(sent, "If-None-Exist header", "If-None-Exist")
    items = parse_qsl(sent.decode("utf-8"), keep_blank_values=True)
    check_size(items)
    # Strict: a condition the server would partly ignore could match the wrong record.
    try:
        parsed = parse_search(
            provider.support, items, strict=True, default_count=2, max_count=2, zone=tenant.context.timezone
        )
    except NotSupported as exc:
        raise InvalidRequest(f"If-None-Exist: {exc.diagnostics}", expression="If-None-Exist") from None
    if not parsed.query.params:
        raise InvalidRequest(
            "If-None-Exist must hold search parameters that select records, e.g. identifier=sys|123",
            expression="If-None-Exist",
        )
    return parsed.query


async def _conditional_matches(request: Request, tenant: Tenant, criteria: SearchQuery) -> list[dict[str, Any]]:
    """The records the condition selects, of those the caller may search (a match outside its
    reach is neither shown nor counted)."""
    provider = provider_for(tenant, criteria.resource_type, Interaction.SEARCH)
    searchable = reach(request, provider, Permission.SEARCH, tenant.context.timezone)
    admit = searchable.admits if searchable.queries is not None else None
    with past_the_cache():  # what decides a create is what the vendor holds now
        page = await fetch_page(provider, criteria, 2, first_position(provider, False, 2), admit)
    if len(page.resources) < 2 and page.next is not None:
        # The walk stopped before the end: "no match" or "one match" would be a guess.
        raise TooCostly("If-None-Exist could not be checked completely; use a more selective condition")
    return page.resources


async def update(request: Request) -> Response:
    fmt = response_format(request)
    tenant = tenant_of(request)
    resource_type, resource_id = request.path_params["type"], request.path_params["id"]
    provider = provider_for(tenant, resource_type, Interaction.UPDATE)
    assert provider.update is not None
    check_id(resource_id)
    allowed = reach(request, provider, Permission.UPDATE, tenant.context.timezone)
    check_instance_id(allowed, resource_id)
    resource, valueless = without_valueless_items(await read_resource(request, resource_type))
    if resource.get("id") != resource_id:
        # FHIR R4 http.html#update: the body SHALL carry an id equal to the URL's.
        given = "has no id" if resource.get("id") is None else f"has id '{resource['id']}'"
        raise InvalidRequest(f"The body {given}; it must carry the id in the URL ('{resource_id}')", expression="id")
    conditions = preconditions(request.headers)
    # One version in If-Match goes to the adapter, which holds the update to it (through the
    # vendor's own versioning where it has one, else by comparing just before writing). Any
    # other precondition is checked on the record as it is now, and the update is then held to
    # the version read.
    version = conditions.one_version
    current: dict[str, Any] | None = None
    try:
        async with _one_checked_write_at_a_time(request, tenant, resource_type, resource_id, conditions):
            if allowed.queries is not None or (conditions.given and version is None):
                # conditional access: what is stored and what replaces it, both within reach
                current = await _current(allowed, provider, resource_id, conditions, deleting=False)
                if allowed.queries is not None and not allowed.admits(resource):
                    raise Forbidden(f"The access token's scopes do not allow this {resource_type} (outside its reach)")
            if current is not None and conditions.given and version is None:
                check(conditions, current)
                version = _version_of(current)
            updated = await provider.update(resource_id, resource, version)
    except NotFound:
        if allowed.queries is not None:
            raise  # to a confined caller, a record out of reach reads as missing: so must this one
        # R4 http.html#update: a PUT to an id that did not exist, where the server does not let
        # clients choose ids (updateCreate false in the CapabilityStatement), is a 405.
        methods = [m for m in allowed_methods(provider, instance=True) if m != "PUT"]
        raise MethodNotAllowed(
            f"{resource_type}/{resource_id} does not exist, and this server does not create records by PUT: "
            f"POST the {resource_type} to create it (the vendor assigns its id)",
            headers={"Allow": allow(methods)},
        ) from None
    not_kept = _not_kept(resource, updated, valueless)
    return _written(request, fmt, tenant, updated.resource, 200, not_kept, warnings=updated.warnings)


async def _current(
    allowed: Access, provider: ResourceProvider, resource_id: str, conditions: Preconditions, *, deleting: bool
) -> dict[str, Any] | None:
    """The record as the vendor holds it now (past any response cache), within the caller's
    reach; None if there is none. Preconditions are evaluated only where the write would
    otherwise succeed (RFC 9110 section 13.2.1): an update of no record answers its 404 or 410 as
    before, while a DELETE of no record is a 204 (README), so there an If-Match fails (412)."""
    try:
        return await read_within(allowed, provider.current, resource_id)
    except (NotFound, Gone):
        if deleting:
            check_absent(conditions)
        if allowed.queries is not None:
            raise  # the reach check needs the record: as before, its absence is the answer
        return None


def _version_of(resource: dict[str, Any]) -> str | None:
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


async def delete(request: Request) -> Response:
    response_format(request)
    tenant = tenant_of(request)
    resource_type, resource_id = request.path_params["type"], request.path_params["id"]
    provider = provider_for(tenant, resource_type, Interaction.DELETE)
    assert provider.delete is not None
    check_id(resource_id)
    allowed = reach(request, provider, Permission.DELETE, tenant.context.timezone)
    check_instance_id(allowed, resource_id)
    conditions = preconditions(request.headers)
    async with _one_checked_write_at_a_time(request, tenant, resource_type, resource_id, conditions):
        if allowed.queries is not None or conditions.given:
            current = await _current(allowed, provider, resource_id, conditions, deleting=True)
            if current is not None and conditions.given:
                # The vendors' deletes take no version: the record is checked just before, while no
                # other checked write of it through the gateway runs. A write made at the vendor
                # itself between the two is not seen (the vendor offers no conditional delete).
                check(conditions, current)
        await provider.delete(resource_id)
    return Response(status_code=204)
