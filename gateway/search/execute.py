"""Run a search: pull vendor pages, finish the filtering, and cut FHIR pages.

Pages are full whenever the vendor has more: records the gateway filters out are replaced by
reading further vendor pages (within a bound, so one request cannot turn into hundreds of
vendor calls; past it the page is shorter but still has its `next` link). The bound is on the
provider's pages and on the requests they send, since one provider page may take several.
Totals are only reported when they are known to be right.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.contract import Pushdown, ResourceProvider, ResourceSupport, SearchRequest, VendorPage
from gateway.errors import TooCostly
from gateway.search import planning
from gateway.search.match import matcher, sorted_by
from gateway.search.model import SearchQuery
from gateway.upstream.sent import counting

MAX_VENDOR_CALLS_PER_PAGE = 25  # provider pages
MAX_VENDOR_REQUESTS_PER_PAGE = 50  # HTTP requests those pages send (gateway.upstream.sent)
MAX_VENDOR_CALLS_TO_COUNT = 100  # a tenth of a rate-limited vendor's minute, at most
MAX_HISTORY = 64


@dataclass(frozen=True)
class PagePosition:
    vendor: Any  # the provider's opaque position (None = first vendor page)
    skip: int  # records of that vendor page already served
    page_size: int  # vendor page size this walk uses
    history: tuple[Any, ...] = ()  # positions of earlier pages, when they are cheap to keep
    # The id of the first record of that vendor page not yet served: where the page resumes
    # when it is asked again, found by id, since a record created or deleted before it in the
    # meantime moves it (counting `skip` records would then repeat or skip one). `skip` is the
    # fallback when that record is gone.
    resume: str | None = None


@dataclass(frozen=True)
class SearchPage:
    resources: list[dict[str, Any]]
    next: PagePosition | None
    previous: PagePosition | None
    total: int | None
    warnings: tuple[str, ...] = ()  # what the vendor could not find: the answer is incomplete
    notes: tuple[str, ...] = ()  # what the client should know, though nothing is missing


def is_exact(support: ResourceSupport, query: SearchQuery) -> bool:
    """Whether the vendor alone answers this query with FHIR semantics (its totals are ours)."""
    for param in query.params:
        declared = support.param(param.name)
        if declared is None or declared.pushdown is not Pushdown.EXACT:
            return False
    return True


def first_position(provider: ResourceProvider, exact: bool, count: int) -> PagePosition:
    # Aligning our pages with the vendor's keeps its totals usable and each page one call;
    # when the gateway filters, large vendor pages mean fewer calls per FHIR page.
    size = min(max(count, 1), provider.max_page_size) if exact else provider.max_page_size
    return PagePosition(vendor=None, skip=0, page_size=size)


async def vendor_page(provider: ResourceProvider, request: SearchRequest) -> VendorPage:
    """One vendor page of a search; `_id` is answered here for every provider, by reads."""
    wanted = planning.ids(request.query)
    if wanted is not None:
        found = sorted_by(await planning.read_each(provider.read, wanted), request.query)
        return VendorPage(found, None, total=len(found) if planning.only(request.query, "_id") else None)
    assert provider.search is not None  # routes check the interaction before searching
    return await provider.search(request)


Admit = Callable[[Mapping[str, Any]], bool]
"""A further test each result must pass (the caller's scopes, when several grants apply)."""


async def fetch_page(
    provider: ResourceProvider, query: SearchQuery, count: int, position: PagePosition, admit: Admit | None = None
) -> SearchPage:
    vendor, skip, resume = position.vendor, position.skip, position.resume
    collected: list[dict[str, Any]] = []
    warnings: dict[str, None] = {}
    total: int | None = None
    next_pos: PagePosition | None = None
    wanted = matcher(query)
    with counting() as sent:
        for call in range(MAX_VENDOR_CALLS_PER_PAGE):
            page = await vendor_page(provider, SearchRequest(query, vendor, position.page_size))
            warnings.update(dict.fromkeys(page.warnings))
            if call == 0 and position.vendor is None and position.skip == 0 and admit is None:
                total = page.total  # providers give a total only when it is the FHIR total
            resumed_at: tuple[Any, int, str | None] | None = None
            for index in range(_resumed(page.resources, skip, resume), len(page.resources)):
                resource = page.resources[index]
                if wanted(resource) and (admit is None or admit(resource)):
                    collected.append(resource)
                    if len(collected) == count:
                        # The next page resumes inside this vendor page, by the id of the record
                        # after this one (so that a record removed before it moves nothing past
                        # the walk), unless this is the vendor's last page and nothing left in it
                        # matches: then this page is the last (no link to an empty one).
                        rest = page.resources[index + 1 :]
                        if rest and (
                            page.next is not None or any(wanted(r) and (admit is None or admit(r)) for r in rest)
                        ):
                            resumed_at = (vendor, index + 1, _id_of(rest[0]))
                        elif page.next is not None:
                            resumed_at = (page.next, 0, None)
                        break
            if len(collected) == count:
                if resumed_at is not None:
                    next_pos = _advance(position, resumed_at)
                break
            if page.next is None:
                break
            vendor, skip, resume = page.next, 0, None
            if call == MAX_VENDOR_CALLS_PER_PAGE - 1 or sent.requests >= MAX_VENDOR_REQUESTS_PER_PAGE:
                next_pos = _advance(position, (vendor, 0, None))
                break
    notes: tuple[str, ...] = ()
    if next_pos is not None and len(collected) < count:
        # Short, perhaps empty, yet not the end: a client must not read it as the last page.
        notes = (
            f"This page holds {len(collected)} of the {count} results asked for: the gateway stops "
            f"looking for one page after {MAX_VENDOR_CALLS_PER_PAGE} vendor pages or "
            f"{MAX_VENDOR_REQUESTS_PER_PAGE} vendor requests. Follow the next link for the rest of the search.",
        )
    if warnings:
        total = None  # the vendor could not find everything: no count is the true count
    elif next_pos is None and position.vendor is None and position.skip == 0:
        total = len(collected)  # the whole result fitted in one page: we counted it all
    previous = _previous(position)
    return SearchPage(collected, next_pos, previous, total, tuple(warnings), notes)


def _resumed(resources: Any, skip: int, resume: str | None) -> int:
    """Where a vendor page asked again resumes: at the record `resume` names, wherever it is
    now; else (gone, or not named) after `skip` records."""
    if resume is not None and skip > 0:
        for index, resource in enumerate(resources):
            if _id_of(resource) == resume:
                return index
    return skip


def _id_of(resource: Mapping[str, Any]) -> str | None:
    found = resource.get("id")
    return found if isinstance(found, str) else None


def _advance(position: PagePosition, at: tuple[Any, int, str | None]) -> PagePosition:
    history = (*position.history, [position.vendor, position.skip, position.resume])
    if len(history) > MAX_HISTORY:
        history = ()  # deep in a long walk, `previous` is given up rather than the token bloated
    return PagePosition(at[0], at[1], position.page_size, history, at[2])


def _previous(position: PagePosition) -> PagePosition | None:
    if not position.history:
        return None
    vendor, skip, *rest = position.history[-1]
    return PagePosition(vendor, skip, position.page_size, position.history[:-1], rest[0] if rest else None)


@dataclass(frozen=True)
class Count:
    total: int | None  # None when the vendor said it could not find everything
    warnings: tuple[str, ...] = ()


async def count_all(provider: ResourceProvider, query: SearchQuery, admit: Admit | None = None) -> Count:
    """Exact number of matches: the provider's total when it knows it, else by walking every page."""
    if admit is None and is_exact(provider.support, query):
        page = await vendor_page(provider, SearchRequest(query, None, 1))
        if page.total is not None and not page.warnings:
            return Count(page.total)
    counted, vendor = 0, None
    wanted = matcher(query)
    warnings: dict[str, None] = {}
    with counting() as sent:  # the bound is on requests too: one provider page may send several
        for _ in range(MAX_VENDOR_CALLS_TO_COUNT):
            page = await vendor_page(provider, SearchRequest(query, vendor, provider.max_page_size))
            warnings.update(dict.fromkeys(page.warnings))
            if vendor is None and page.total is not None and not warnings and admit is None:
                return Count(page.total)
            counted += sum(1 for r in page.resources if wanted(r) and (admit is None or admit(r)))
            if page.next is None:
                return Count(None if warnings else counted, tuple(warnings))
            if sent.requests >= MAX_VENDOR_CALLS_TO_COUNT:
                break
            vendor = page.next
    raise TooCostly("Counting this search would take too many vendor calls; narrow it down")
