"""Operations: `Patient/[id]/$everything`, `DocumentReference/$docref`, `Encounter/[id]/$ccd`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from gateway.auth.enforce import Access, check_instance_id, not_found, read_within
from gateway.auth.scopes import Permission
from gateway.contract import Interaction, ResourceProvider
from gateway.documents import ids
from gateway.errors import Forbidden, InvalidRequest, NotFound, NotSupported
from gateway.record import everything_types, gather_everything
from gateway.rest.bundle import searchset
from gateway.rest.context import (
    base_url,
    caller,
    check_id,
    prefer,
    provider_for,
    reach,
    respond,
    response_format,
    state,
    tenant_of,
)
from gateway.rest.document_access import check_document_access, document_access
from gateway.rest.documents import docref, encounter_ccd, operation_items
from gateway.rest.links import fits, page_link, unfollowable
from gateway.rest.negotiation import CDA_REPRESENTATIONS, check_document_format, wants_binary_resource
from gateway.rest.paging import search_fingerprint
from gateway.search.dates import last_updated_moment, parse_fhir_date
from gateway.search.execute import PagePosition
from gateway.search.parse import parse_count


async def patient_everything(request: Request) -> Response:
    """http://hl7.org/fhir/R4/patient-operation-everything.html, paged by the gateway over the
    record gathered once per walk."""
    fmt = response_format(request)
    tenant = tenant_of(request)
    rest = state(request)
    resource_id = request.path_params["id"]
    patient_provider = provider_for(tenant, "Patient", Interaction.READ)
    check_id(resource_id)
    params = QueryParams(await operation_items(request, "$everything"))
    ignored = _check_everything_params(request, params)
    maximum = rest.settings.paging.max_count
    count = parse_count(params.get("_count"), maximum, maximum)
    since = _since(params.get("_since"))
    wanted = {t for part in params.getlist("_type") for t in part.split(",") if t} or None
    patient_access = reach(request, patient_provider, Permission.READ, tenant.context.timezone)
    check_instance_id(patient_access, resource_id)  # another patient, to a confined caller: no vendor call
    types, reaches = _permitted(request, everything_types(tenant.providers, wanted), wanted, tenant.context.timezone)
    # Only what was applied: an empty value (`_type=,` too) is none.
    link_params = [(k, v) for k, v in params.multi_items() if k in ("start", "end", "_type", "_since") and v.strip(",")]
    base = base_url(request, tenant.name)
    fingerprint = search_fingerprint(tenant.name, caller(request).key, f"$everything/{resource_id}", link_params)
    offset = (await rest.tokens.open(params["_page"], fingerprint)).skip if params.get("_page") else 0
    # The patient is read on every page: one deleted since the first page is a 410 here too.
    patient = await read_within(patient_access, patient_provider.read, resource_id)
    record = rest.records.get(fingerprint) if offset else None
    gathered_now = record is None
    if record is None:
        found, missing = await gather_everything(
            tenant.context.timezone, resource_id, types, params.get("start"), params.get("end")
        )
        found = [r for r in found if reaches[r["resourceType"]].admits(r)]
        gathered = [patient, *found] if wanted is None or "Patient" in wanted else found
        record = ([r for r in gathered if _updated_since(r, since)] if since else gathered, missing)
    resources, missing = record
    page = resources[offset : offset + count]

    def url(at: int | None) -> str:
        token = rest.tokens.issue(fingerprint, PagePosition(None, at, count)) if at else None
        return page_link(f"{base}/Patient/{resource_id}/$everything", link_params, count, token)

    links = [("self", url(offset)), ("first", url(None))]
    if offset > 0 and count > 0 and fits(back := url(max(0, offset - count))):
        links.append(("previous", back))
    if count > 0 and offset + count < len(resources):  # _count=0 asks for the total alone: no pages
        if not fits(onward := url(offset + count)):
            raise unfollowable(onward, "next")
        links.append(("next", onward))
    if gathered_now and count > 0 and len(resources) > count:  # kept only when there are pages to follow
        rest.records[fingerprint] = record
    total = None if missing else len(resources)
    notes = [f"$everything does not take {', '.join(ignored)}; ignored"] if ignored else []
    bundle = searchset(base=base, resources=page, links=links, total=total, warnings=missing, notes=notes)
    return respond(fmt, bundle)


# An instant: to the second, with its zone (http://hl7.org/fhir/R4/datatypes.html#instant).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.ASCII)
# Patient-everything's parameters (patient-operation-everything.html), and paging's and format's.
_EVERYTHING_PARAMS = frozenset({"start", "end", "_since", "_type", "_count", "_page", "_format", "_pretty"})


def _check_everything_params(request: Request, params: QueryParams) -> list[str]:
    """Each of start, end, _since, _count and _page at most once (as a search takes them);
    under `Prefer: handling=strict`, no parameter the operation does not take
    (search.html#errors); else such ones are left out of the links, and returned to be said."""
    for name in ("start", "end", "_since", "_count", "_page"):
        if len(params.getlist(name)) > 1:
            raise InvalidRequest(f"{name} may be given once", expression=name)
    unknown = sorted({name for name in params if name not in _EVERYTHING_PARAMS})
    if unknown and prefer(request).strict:
        raise NotSupported(f"$everything does not take {', '.join(unknown)}", expression=unknown[0])
    return unknown


def _since(value: str | None) -> datetime | None:
    """`_since`: an instant; only resources updated at or after it are given."""
    if value is None or value == "":
        return None
    if _INSTANT.fullmatch(value) is None:
        raise InvalidRequest(
            f"'{value}' is not an instant (a time to the second, with its zone) for _since", expression="_since"
        )
    try:
        return parse_fhir_date(value).start
    except ValueError as exc:  # an impossible day, or an instant at the very edge of the calendar
        raise InvalidRequest(f"_since: {exc}", expression="_since") from None


def _updated_since(resource: dict[str, Any], since: datetime) -> bool:
    # Without a readable lastUpdated it may have changed: given (more, never less).
    meta = resource.get("meta")
    updated = last_updated_moment(meta.get("lastUpdated") if isinstance(meta, dict) else None)
    return updated is None or updated >= since


def _permitted(
    request: Request, providers: list[ResourceProvider], wanted: set[str] | None, zone: str
) -> tuple[list[ResourceProvider], dict[str, Access]]:
    """The types of the record the caller may search, and its access to each. A type asked for
    by `_type` that the caller may not search is a 403; left unasked, it is simply not part of
    what this caller's record holds."""
    permitted: list[ResourceProvider] = []
    reaches: dict[str, Access] = {}
    for provider in providers:
        try:
            reaches[provider.type] = reach(request, provider, Permission.SEARCH, zone)
        except Forbidden:
            if wanted is not None:
                raise
            continue
        permitted.append(provider)
    return permitted, reaches


async def docref_endpoint(request: Request) -> Response:
    fmt = response_format(request)
    tenant = tenant_of(request)
    provider = provider_for(tenant, "DocumentReference", Interaction.SEARCH)
    allowed = reach(request, provider, Permission.SEARCH, tenant.context.timezone)
    return await docref(request, tenant, base_url(request, tenant.name), fmt, prefer(request).strict, allowed)


_CCD_PARAMS = frozenset({"section", "_format", "_pretty"})


async def ccd_endpoint(request: Request) -> Response:
    tenant = tenant_of(request)
    encounters = provider_for(tenant, "Encounter", Interaction.READ)
    encounter_id = request.path_params["id"]
    check_id(encounter_id)
    params = QueryParams(await operation_items(request, "$ccd"))
    unknown = sorted({name for name in params if name not in _CCD_PARAMS})
    if unknown and prefer(request).strict:  # lenient: a document has no Bundle to name them in
        raise NotSupported(f"$ccd does not take {', '.join(unknown)}", expression=unknown[0])
    check_document_format(params.get("_format"), request.headers.get("accept"))  # before any vendor call
    # A CCD is a clinical document: it takes document access, and the encounter within reach.
    allowed = document_access(request, tenant)
    encounter_access = reach(request, encounters, Permission.READ, tenant.context.timezone)
    if encounter_access.queries is not None:  # conditional: the encounter must be within reach
        await read_within(encounter_access, encounters.read, encounter_id)
    if allowed is not None:
        try:
            await check_document_access(request, tenant, ids.encounter_document(encounter_id))
        except NotFound:  # named as what the client asked for, not the Binary it never named
            raise not_found("Encounter", encounter_id) from None
    fmt = (
        response_format(request)
        if wants_binary_resource(params.get("_format"), request.headers.get("accept"), CDA_REPRESENTATIONS)
        else None
    )
    return await encounter_ccd(request, tenant, encounter_id, fmt, params)
