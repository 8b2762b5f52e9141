"""search: `GET [type]?…` and `POST [type]/_search` (http://hl7.org/fhir/R4/search.html).

Parameters are parsed against the provider's declaration, the gateway pulls vendor pages and
finishes the filtering, and the searchset carries signed links to the pages around it.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from gateway.audit.patients import patient_of, record_patients
from gateway.auth.enforce import narrow_search
from gateway.auth.scopes import Permission
from gateway.contract import Interaction
from gateway.errors import InvalidRequest, UnsupportedMediaType
from gateway.rest.bundle import searchset
from gateway.rest.context import (
    base_url,
    caller,
    prefer,
    provider_for,
    reach,
    respond,
    response_format,
    state,
    tenant_of,
)
from gateway.rest.elements import shape, shaping
from gateway.rest.incoming import read_body
from gateway.rest.links import fits, page_link, passthrough, unfollowable
from gateway.rest.paging import search_fingerprint
from gateway.rest.query_encoding import check_query_encoding
from gateway.rest.references import local_query
from gateway.search.execute import PagePosition, count_all, fetch_page, first_position, is_exact
from gateway.search.model import ReferenceValue
from gateway.search.parse import CONTROL, MAX_SEARCH_PARAMETERS, TotalMode, check_size, parse_search
from gateway.search.planning import patients_in_common, to_one_patient

MAX_SEARCH_FIELDS = MAX_SEARCH_PARAMETERS + len(CONTROL)  # what a form body may hold (check_size then)


async def search_get(request: Request) -> Response:
    return await _search(request, list(request.query_params.multi_items()))


async def search_post(request: Request) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
    body = await read_body(request)
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise InvalidRequest("The form body is not UTF-8") from None
    check_query_encoding(body, "form body")
    try:  # a body of a million fields is refused before they are all split out
        form = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_SEARCH_FIELDS)
    except ValueError:
        raise InvalidRequest(f"A search takes at most {MAX_SEARCH_PARAMETERS} parameters") from None
    return await _search(request, list(request.query_params.multi_items()) + form)


async def _search(request: Request, items: list[tuple[str, str]]) -> Response:
    check_size(items)
    fmt = response_format(request)
    tenant = tenant_of(request)
    rest = state(request)
    provider = provider_for(tenant, request.path_params["type"], Interaction.SEARCH)
    support = provider.support
    allowed = reach(request, provider, Permission.SEARCH, tenant.context.timezone)
    narrowed = narrow_search(allowed, items)
    strict = prefer(request).strict
    parsed = parse_search(
        support,
        narrowed[0] if narrowed is not None else items,
        strict=strict,
        default_count=rest.settings.paging.default_count,
        max_count=rest.settings.paging.max_count,
        zone=tenant.context.timezone,
    )
    cut = shaping(support.type, parsed.summary, parsed.elements, strict=strict)
    notes = (*parsed.notes, *cut.notes)
    if parsed.elements:  # the self link names what was applied (search.html#elements)
        applied = [("_elements", ",".join(cut.elements))] if cut.elements else []
        dropped = {"_elements", "_summary"} if cut.elements and parsed.summary != "count" else {"_elements"}
        link_params = tuple(p for p in parsed.link_params if p[0] not in dropped) + tuple(applied)
        parsed = replace(parsed, link_params=link_params)
    base = base_url(request, tenant.name)
    query = local_query(parsed.query, base)
    common = patients_in_common(query) if query is not None else None
    if query is not None and common is not None and len(common) == 1:
        query = to_one_patient(query, next(iter(common)))
    # The audit line names the patients the parsed condition confines the search to (form
    # bodies included), as asked, whatever then comes of it; then those of the results served.
    record_patients(
        request.scope,
        (
            v.id
            for p in (query.params if query is not None else ())
            if p.name in ("patient", "subject")
            for v in p.values
            if isinstance(v, ReferenceValue) and v.type in (None, "Patient")
        ),
    )
    fingerprint = search_fingerprint(tenant.name, caller(request).key, support.type, parsed.link_params)
    kept = passthrough(items)

    def url(token: str | None = None) -> str:
        return page_link(f"{base}/{support.type}", parsed.link_params, parsed.count, token, kept)

    # It names only records the caller may not see, or only records of other servers, or
    # patients no record can have at once: no vendor call.
    if narrowed is None or query is None or common == set():
        if parsed.page_token:
            await rest.tokens.open(parsed.page_token, fingerprint)
        return respond(fmt, searchset(base=base, resources=[], links=[("self", url())], total=0, notes=notes))
    admit = allowed.admits if narrowed[1] else None
    if parsed.summary == "count" or parsed.count == 0:
        if parsed.page_token:
            await rest.tokens.open(parsed.page_token, fingerprint)  # a foreign or altered token is refused all the same
        counted = await count_all(provider, query, admit)
        bundle = searchset(
            base=base,
            resources=[],
            links=[("self", url())],
            total=counted.total,
            warnings=counted.warnings,
            notes=notes,
        )
        return respond(fmt, bundle)

    position = (
        await rest.tokens.open(parsed.page_token, fingerprint)
        if parsed.page_token
        else first_position(provider, is_exact(support, query), parsed.count)
    )
    page = await fetch_page(provider, query, parsed.count, position, admit)
    total: int | None = page.total
    if parsed.total is TotalMode.ACCURATE and total is None and not page.warnings:
        total = (await count_all(provider, query, admit)).total
    elif parsed.total is TotalMode.NONE:
        total = None

    async def link_to(position: PagePosition, *, keep: bool) -> str | None:
        """The page at `position`; without the way back from it (the earlier pages' positions
        its token carries for `previous`) when that is what makes the link too long to follow;
        else, if `keep`, through a position the gateway keeps (a vendor cursor of a very long
        value), with its way back if that can be kept too."""
        bare = replace(position, history=())
        for at in (position, bare):
            link = url(rest.tokens.issue(fingerprint, at))
            if fits(link):
                return link
        for at in (position, bare) if keep else ():
            kept = await rest.tokens.issue_kept(fingerprint, at)
            if kept is not None and fits(url(kept)):
                return url(kept)
        return None

    links = [("self", url(parsed.page_token)), ("first", url())]
    if page.previous is not None and (back := await link_to(page.previous, keep=False)) is not None:
        links.append(("previous", back))  # a way back only: left out when it could not be followed
    if page.next is not None:
        onward = await link_to(page.next, keep=True)
        if onward is None:
            raise unfollowable(url(rest.tokens.issue(fingerprint, replace(page.next, history=()))), "next")
        links.append(("next", onward))
    resources = [shape(r, cut) for r in page.resources]
    record_patients(request.scope, (patient_of(r) for r in page.resources))
    bundle = searchset(
        base=base, resources=resources, links=links, total=total, warnings=page.warnings, notes=(*notes, *page.notes)
    )
    return respond(fmt, bundle)
