"""gateway.search.execute over the fake vendor's providers: vendor pages pulled, filtered and
cut into FHIR pages, counted, with `_id` answered by reads."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest

from gateway.contract import Pushdown, ResourceProvider, SearchRequest, VendorPage
from gateway.errors import TooCostly
from gateway.search.execute import (
    MAX_HISTORY,
    MAX_VENDOR_CALLS_PER_PAGE,
    MAX_VENDOR_CALLS_TO_COUNT,
    MAX_VENDOR_REQUESTS_PER_PAGE,
    PagePosition,
    SearchPage,
    count_all,
    fetch_page,
    first_position,
    is_exact,
)
from gateway.search.model import SearchQuery
from gateway.search.parse import parse_search
from gateway.upstream.sent import one_sent
from tests.support.fake_vendor import DEFAULT_PATIENT_PARAMS, READ, SEARCH, FakeAdapter, FakeBackend


def _patients(backend: FakeBackend) -> ResourceProvider:
    return FakeAdapter(backend).providers["Patient"]


def _query(provider: ResourceProvider, **params: str) -> SearchQuery:
    return parse_search(provider.support, list(params.items()), strict=True, default_count=20, max_count=100).query


def _fetch(
    provider: ResourceProvider, query: SearchQuery, count: int, position: PagePosition | None = None
) -> SearchPage:
    start = position or first_position(provider, is_exact(provider.support, query), count)
    return asyncio.run(fetch_page(provider, query, count, start))


def _ids(resources: Sequence[dict[str, object]]) -> list[str]:
    return [str(r["id"]) for r in resources]


def _walk(provider: ResourceProvider, query: SearchQuery, count: int) -> list[SearchPage]:
    pages = [_fetch(provider, query, count)]
    while pages[-1].next is not None:
        assert len(pages) < 100
        pages.append(_fetch(provider, query, count, pages[-1].next))
    return pages


def _sending_four_requests_a_page(plain: ResourceProvider) -> ResourceProvider:
    """The provider as one whose every page sends four vendor requests (a walk keeping runs of
    equal values whole, say)."""
    assert plain.search is not None
    search = plain.search

    async def four_requests_a_page(request: SearchRequest) -> VendorPage:
        for _ in range(4):
            one_sent()
        return await search(request)

    return dataclasses.replace(plain, search=four_requests_a_page)


def test_exactness_follows_the_declared_pushdown() -> None:
    provider = _patients(FakeBackend())
    assert is_exact(provider.support, _query(provider))
    assert is_exact(provider.support, _query(provider, family="x", gender="male", _id="p1"))
    assert not is_exact(provider.support, _query(provider, given="x"))  # narrows only
    assert not is_exact(provider.support, _query(provider, family="x", birthdate="2001"))


def test_first_position_aligns_exact_searches_with_the_vendor_and_widens_filtered_ones() -> None:
    provider = _patients(FakeBackend(page_size=50))
    assert first_position(provider, True, 10) == PagePosition(None, 0, 10)
    assert first_position(provider, True, 80) == PagePosition(None, 0, 50)
    assert first_position(provider, True, 0) == PagePosition(None, 0, 1)
    assert first_position(provider, False, 10) == PagePosition(None, 0, 50)


def test_an_exact_page_is_one_vendor_call_with_the_vendors_total() -> None:
    backend = FakeBackend()
    backend.add_patients(25, family="Smith")
    provider = _patients(backend)
    page = _fetch(provider, _query(provider, family="smith"), 10)
    assert len(page.resources) == 10 and page.total == 25 and page.previous is None
    assert page.next is not None and (page.next.vendor, page.next.skip, page.next.page_size) == (10, 0, 10)
    assert backend.calls_to("Patient", SEARCH) == 1


def test_a_filtered_page_reads_on_until_it_is_full_and_resumes_inside_a_vendor_page() -> None:
    backend = FakeBackend(page_size=4)
    for n in range(12):
        backend.add_patient(f"p{n:02d}", birth_date="2001-01-01" if n % 3 == 0 else "1950-01-01")
    provider = _patients(backend)
    query = _query(provider, birthdate="2001")
    page = _fetch(provider, query, 2)
    assert _ids(page.resources) == ["p00", "p03"] and page.total is None
    # p03 was the last record of vendor page 0 (offset 0): the next page starts on vendor page 1.
    assert page.next is not None and (page.next.vendor, page.next.skip) == (4, 0)
    second = _fetch(provider, query, 2, page.next)
    assert _ids(second.resources) == ["p06", "p09"] and second.previous == PagePosition(None, 0, 4)
    assert backend.calls_to("Patient", SEARCH) == 3  # 1 + 2: no vendor page read twice
    # p09 is not the last record of its vendor page, but nothing after it there matches and that
    # page is the vendor's last: this is the last page (it linked to an empty one).
    assert second.next is None


def test_a_full_page_resumes_where_the_next_match_can_be() -> None:
    backend = FakeBackend(page_size=4)
    for n in range(12):  # born in 2001: p01, p02, p05, p10
        backend.add_patient(f"p{n:02d}", birth_date="2001-01-01" if n in (1, 2, 5, 10) else "1950-01-01")
    provider = _patients(backend)
    query = _query(provider, birthdate="2001")
    page = _fetch(provider, query, 1)
    # p02, after p01 in the same vendor page, matches: the next page resumes inside it.
    assert _ids(page.resources) == ["p01"] and page.next is not None
    assert (page.next.vendor, page.next.skip) == (None, 2)
    second = _fetch(provider, query, 1, page.next)
    # Nothing after p02 in its vendor page matches, but a vendor page follows: the next page
    # resumes by id inside this one all the same (a record removed before it must not move
    # a match past the walk: the test below).
    assert _ids(second.resources) == ["p02"] and second.next is not None
    assert (second.next.vendor, second.next.skip, second.next.resume) == (None, 3, "p03")
    assert [_ids(p.resources) for p in _walk(provider, query, 1)] == [["p01"], ["p02"], ["p05"], ["p10"]]


def test_resuming_inside_a_vendor_page_skips_what_was_served() -> None:
    backend = FakeBackend(page_size=10)
    backend.add_patients(10, birth_date="1950-01-01")
    provider = _patients(backend)
    query = _query(provider, birthdate="ne2001")  # filtered by the gateway; every patient matches
    page = _fetch(provider, query, 3)
    assert page.next is not None and (page.next.vendor, page.next.skip, page.next.page_size) == (None, 3, 10)
    assert [_ids(p.resources) for p in _walk(provider, query, 3)] == [
        ["p001", "p002", "p003"],
        ["p004", "p005", "p006"],
        ["p007", "p008", "p009"],
        ["p010"],
    ]


def test_a_vendor_page_asked_again_resumes_at_the_record_it_stopped_before_whatever_moved() -> None:
    # Offset paging: a record deleted before the position moves every later one up. Counting
    # `skip` records again would pass over the one the page stopped before.
    backend = FakeBackend(page_size=10)
    backend.add_patients(10, birth_date="1950-01-01")
    provider = _patients(backend)
    query = _query(provider, birthdate="ne2001")  # filtered by the gateway: pages cut inside vendor pages
    first = _fetch(provider, query, 3)
    assert _ids(first.resources) == ["p001", "p002", "p003"] and first.next is not None
    assert first.next.resume == "p004"
    del backend.patients["p002"]  # served already, before the position
    second = _fetch(provider, query, 3, first.next)
    assert _ids(second.resources) == ["p004", "p005", "p006"]
    assert second.next is not None and second.next.resume == "p007"
    del backend.patients["p007"]  # the record it stopped before is gone: `skip` it is
    third = _fetch(provider, query, 3, second.next)
    assert _ids(third.resources) == ["p008", "p009", "p010"]
    back = _fetch(provider, query, 3, third.previous)  # the way back keeps where it resumes too
    assert _ids(back.resources) == ["p004", "p005", "p006"]


def test_a_page_that_skips_the_rest_of_its_vendor_page_keeps_its_place_when_a_record_before_it_goes() -> None:
    # Offset paging, as the test above: the next page's position must survive a record served
    # before it being deleted. Resuming by id inside the vendor page did; the vendor's next
    # offset, taken from a page read one request earlier, does not.
    backend = FakeBackend(page_size=4)
    for n in range(8):  # born in 2001: p01, p02 (vendor page 0..3), p04, p05 (vendor page 4..7)
        backend.add_patient(f"p{n:02d}", birth_date="2001-01-01" if n in (1, 2, 4, 5) else "1950-01-01")
    provider = _patients(backend)
    query = _query(provider, birthdate="2001")
    first = _fetch(provider, query, 2)
    assert _ids(first.resources) == ["p01", "p02"] and first.next is not None
    del backend.patients["p00"]  # served before the position: p04 moves into the first vendor page
    second = _fetch(provider, query, 2, first.next)
    assert _ids(second.resources) == ["p04", "p05"]


def test_a_walk_serves_every_match_once() -> None:
    backend = FakeBackend(page_size=7)
    for n in range(50):
        backend.add_patient(f"p{n:02d}", gender="female" if n % 4 else "male", birth_date="2001-01-01")
    provider = _patients(backend)
    expected = [f"p{n:02d}" for n in range(50) if n % 4]
    for count in (1, 3, 7, 10, 100):
        pages = _walk(provider, _query(provider, gender="female", birthdate="2001"), count)
        assert [i for p in pages for i in _ids(p.resources)] == expected, count
        assert all(len(p.resources) == count for p in pages[:-1])


def test_a_page_gives_up_after_the_call_bound_with_a_next_position() -> None:
    backend = FakeBackend(page_size=2)
    backend.add_patients(2 * MAX_VENDOR_CALLS_PER_PAGE + 2, birth_date="1950-01-01")
    backend.add_patient("hit", birth_date="2001-01-01")
    provider = _patients(backend)
    query = _query(provider, birthdate="2001")
    page = _fetch(provider, query, 5)
    assert page.resources == [] and page.total is None
    assert backend.calls_to("Patient", SEARCH) == MAX_VENDOR_CALLS_PER_PAGE
    assert page.next is not None and page.next.vendor == 2 * MAX_VENDOR_CALLS_PER_PAGE
    last = _fetch(provider, query, 5, page.next)
    assert _ids(last.resources) == ["hit"] and last.next is None and last.total is None


def test_a_page_gives_up_after_the_request_bound_when_each_vendor_page_takes_several() -> None:
    # A provider whose every page sends four requests (a walk keeping runs of equal values
    # whole, say): the page is bounded by what the vendor receives, not by provider pages.
    backend = FakeBackend(page_size=2)
    backend.add_patients(2 * MAX_VENDOR_CALLS_PER_PAGE + 2, birth_date="1950-01-01")
    backend.add_patient("hit", birth_date="2001-01-01")
    provider = _sending_four_requests_a_page(_patients(backend))
    query = _query(provider, birthdate="2001")
    page = _fetch(provider, query, 5)
    pages_read = -(-MAX_VENDOR_REQUESTS_PER_PAGE // 4)  # the first page whose requests reach the bound
    assert page.resources == [] and backend.calls_to("Patient", SEARCH) == pages_read
    assert page.next is not None and page.next.vendor == 2 * pages_read
    found: list[str] = []
    while page.next is not None:  # the next links lead on to the match
        page = _fetch(provider, query, 5, page.next)
        found += _ids(page.resources)
    assert found == ["hit"]


def test_a_result_that_fits_one_page_is_counted_even_when_filtered() -> None:
    backend = FakeBackend(page_size=3)
    for n in range(7):
        backend.add_patient(f"p{n}", birth_date="2001-01-01" if n in (1, 5) else "1950-01-01")
    provider = _patients(backend)
    page = _fetch(provider, _query(provider, birthdate="2001"), 10)
    assert _ids(page.resources) == ["p1", "p5"] and page.total == 2 and page.next is None


def test_warnings_void_the_total() -> None:
    backend = FakeBackend(search_warnings=("some records could not be searched",))
    backend.add_patients(3)
    provider = _patients(backend)
    page = _fetch(provider, _query(provider), 10)
    assert len(page.resources) == 3 and page.total is None
    assert page.warnings == ("some records could not be searched",)


def test_history_is_given_up_deep_in_a_walk() -> None:
    backend = FakeBackend(page_size=1)
    backend.add_patients(MAX_HISTORY + 3)
    provider = _patients(backend)
    pages = _walk(provider, _query(provider), 1)
    depths = [len(p.next.history) for p in pages if p.next is not None]
    assert max(depths) == MAX_HISTORY and depths[MAX_HISTORY] == 0  # reset, not grown without bound


# -- _id --------------------------------------------------------------------------------------


def test_id_is_read_never_searched() -> None:
    backend = FakeBackend()
    backend.add_patients(3, gender="male")
    provider = _patients(backend)
    page = _fetch(provider, _query(provider, _id="p003,p001,p009"), 10)
    assert _ids(page.resources) == ["p003", "p001"] and page.total == 2
    assert backend.calls_to("Patient", READ) == 3 and backend.calls_to("Patient", SEARCH) == 0
    filtered = _fetch(provider, _query(provider, _id="p001,p002", gender="female"), 10)
    assert filtered.resources == [] and filtered.total == 0


def test_deleted_ids_are_left_out() -> None:
    backend = FakeBackend()
    backend.add_patients(2)
    provider = _patients(backend)
    asyncio.run(backend.delete_patient("p001"))
    assert _ids(_fetch(provider, _query(provider, _id="p001,p002"), 10).resources) == ["p002"]


def test_a_failing_read_fails_the_id_search() -> None:
    backend = FakeBackend()
    backend.add_patients(2)
    backend.fail("Patient", READ, after=1)
    provider = _patients(backend)
    with pytest.raises(Exception, match="vendor system failed"):
        _fetch(provider, _query(provider, _id="p001,p002"), 10)


# -- count_all ----------------------------------------------------------------------------------


def test_an_exact_count_asks_for_one_record() -> None:
    backend = FakeBackend()
    backend.add_patients(30, family="Smith")
    provider = _patients(backend)
    counted = asyncio.run(count_all(provider, _query(provider, family="smith")))
    assert counted.total == 30 and backend.calls_to("Patient", SEARCH) == 1


def test_a_filtered_count_walks_every_vendor_page_at_full_size() -> None:
    backend = FakeBackend(page_size=4)
    for n in range(10):
        backend.add_patient(f"p{n}", birth_date="2001-01-01" if n % 2 else "1950-01-01")
    provider = _patients(backend)
    counted = asyncio.run(count_all(provider, _query(provider, birthdate="2001")))
    assert counted.total == 5 and counted.warnings == ()
    assert backend.calls_to("Patient", SEARCH) == 3


def test_a_count_with_warnings_has_no_total() -> None:
    backend = FakeBackend(search_warnings=("partial",))
    backend.add_patients(3, birth_date="2001-01-01")
    provider = _patients(backend)
    counted = asyncio.run(count_all(provider, _query(provider, birthdate="2001")))
    assert counted.total is None and counted.warnings == ("partial",)


def test_a_count_past_the_call_bound_is_too_costly() -> None:
    backend = FakeBackend(page_size=1, patient_params={**DEFAULT_PATIENT_PARAMS, "family": Pushdown.GATEWAY})
    backend.add_patients(MAX_VENDOR_CALLS_TO_COUNT)
    provider = _patients(backend)
    assert asyncio.run(count_all(provider, _query(provider, family="doe"))).total == MAX_VENDOR_CALLS_TO_COUNT
    backend.add_patients(1)
    with pytest.raises(TooCostly):
        asyncio.run(count_all(provider, _query(provider, family="doe")))


def test_a_count_is_bounded_by_the_requests_its_pages_send() -> None:
    # Four requests per provider page: counting stops at the requests' bound, not at 100 pages.
    backend = FakeBackend(page_size=1, patient_params={**DEFAULT_PATIENT_PARAMS, "family": Pushdown.GATEWAY})
    backend.add_patients(MAX_VENDOR_CALLS_TO_COUNT // 2)
    provider = _sending_four_requests_a_page(_patients(backend))
    with pytest.raises(TooCostly):
        asyncio.run(count_all(provider, _query(provider, family="doe")))
    assert backend.calls_to("Patient", SEARCH) == MAX_VENDOR_CALLS_TO_COUNT // 4


def test_an_id_count_is_its_reads() -> None:
    backend = FakeBackend()
    backend.add_patients(3)
    provider = _patients(backend)
    assert asyncio.run(count_all(provider, _query(provider, _id="p001,p002,zz"))).total == 2
    assert backend.calls_to("Patient", SEARCH) == 0
