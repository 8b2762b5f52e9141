"""A walk of Nextvisit's patient list while patients are deleted or created between its pages.

The list is paged by number (Laravel's `paginate()`: an offset), so a patient deleted on a page
already served moves the next page's first patient onto the page before, and one created that
sorts ahead of the position moves the last one served onto the next page. R4 search.html
(paging) leaves what a walk shows of such changes to the server, but a client following the
links must neither miss a patient nobody touched without being told nor get one twice. Each
through the real gateway over HTTP, the simulator changing between pages (its own simulator:
the demo's data stays as it is)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import build_clinic
from sandboxes.nextvisit import create_sandbox
from tests.support.fhir_http import outcome_notes
from tests.support.variants import VariantGateway, gateway_over, vendor_calls

BASE = "/fhir/nextvisit"
JSON = {"Content-Type": "application/fhir+json"}
# Lists that say their total (Laravel's resource collection; its bare paginator counting pages
# from 0, patients sharing a sort value in another order on each page, a page past the end a 404;
# Spring Data's page numbers without links).
PAGING: dict[str, dict[str, Any]] = {
    "resource": {},
    "paginator-from-0-unstable": {
        "paging": "paginator",
        "first_page": 0,
        "sort_ties": "unstable",
        "past_the_end": "404",
    },
    # Spring Data's `Page` under the docs' envelope: its numbers in `meta` under Spring's names
    # (`page` counted from 0, `total_pages`, `total_elements`), `links` empty.
    "spring-from-0": {"paging": "spring", "first_page": 0},
}
SORTS = [None, "family", "-birthdate"]


@pytest.fixture(params=list(PAGING))
def running(request: pytest.FixtureRequest) -> Iterator[VariantGateway]:
    """The gateway over a simulator of its own for each test: the pages a walk meets depend on
    the patients deleted before it."""
    simulator = partial(create_sandbox, build_clinic(), **PAGING[request.param])
    with gateway_over("nextvisit", simulator, organization="Paging") as gateway:
        yield gateway


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _rest(running: VariantGateway, bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The pages after `bundle`, following its `next` links."""
    pages: list[dict[str, Any]] = []
    while following := next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None):
        bundle = running.fhir.get_ok(following)
        pages.append(bundle)
        assert len(pages) < 100, "paging does not end"
    return pages


def _everyone(running: VariantGateway) -> Counter[str]:
    return Counter(i for page in running.fhir.pages(f"{BASE}/Patient", _count=50) for i in _ids(page))


def _params(sort: str | None, count: int) -> dict[str, str]:
    return {"_count": str(count), **({"_sort": sort} if sort else {})}


@pytest.mark.parametrize("sort", SORTS)
def test_a_patient_deleted_on_a_page_served_leaves_no_other_out(running: VariantGateway, sort: str | None) -> None:
    before = _everyone(running)
    first = running.fhir.get_ok(f"{BASE}/Patient", params=_params(sort, 20))
    victim = _ids(first)[5]
    assert running.fhir.request("DELETE", f"{BASE}/Patient/{victim}").status_code in (200, 204)
    pages = [first, *_rest(running, first)]
    walked = Counter(i for page in pages for i in _ids(page))
    # The deleted patient was served before it was deleted; every other one once, none left out.
    assert walked == before
    assert [o for page in pages for o in outcome_notes(page)] == []


def test_patients_deleted_past_recovery_are_said_to_be_perhaps_skipped(running: VariantGateway) -> None:
    # Every patient of the first page deleted: the page before no longer lists any patient served
    # from it, and where the list now starts cannot be told. The next page says so.
    first = running.fhir.get_ok(f"{BASE}/Patient", params=_params(None, 5))
    for victim in _ids(first):
        assert running.fhir.request("DELETE", f"{BASE}/Patient/{victim}").status_code in (200, 204)
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = running.fhir.get_ok(following)
    assert any("may have been left out" in o for o in outcome_notes(second)), outcome_notes(second)


def test_walks_with_a_delete_or_a_create_between_their_pages_in_turn(running: VariantGateway) -> None:
    # One simulator through them all, as a client meets it: after the first delete, sorted pages
    # end inside the run of a value the gateway reads whole, so a page holds more patients than
    # asked for and the next page starts inside it.
    for sort in SORTS:
        before = _everyone(running)
        first = running.fhir.get_ok(f"{BASE}/Patient", params=_params(sort, 20))
        assert running.fhir.request("DELETE", f"{BASE}/Patient/{_ids(first)[5]}").status_code in (200, 204)
        pages = [first, *_rest(running, first)]
        assert Counter(i for page in pages for i in _ids(page)) == before, sort
        assert [o for page in pages for o in outcome_notes(page)] == [], sort
    for sort in ("family", "birthdate"):
        before = _everyone(running)
        first = running.fhir.get_ok(f"{BASE}/Patient", params=_params(sort, 20))
        # Sorts first by either field: everyone served so far moves one place on.
        sent = {"resourceType": "Patient", "name": [{"family": "Aaaaaa", "given": ["Ins"]}],
                "birthDate": "1900-01-03", "gender": "male"}  # fmt: skip
        created = running.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text[:300]
        pages = [first, *_rest(running, first)]
        walked = Counter(i for page in pages for i in _ids(page))
        assert [i for i, n in walked.items() if n > 1] == [] and set(before) <= set(walked), sort
        assert running.fhir.request("DELETE", f"{BASE}/Patient/{created.json()['id']}").status_code in (200, 204)


def test_a_walk_nothing_changes_under_costs_one_vendor_call_a_page(running: VariantGateway) -> None:
    # What a walk remembers to tell a patient moved between pages costs no call while nobody is.
    running.fhir.get_ok(f"{BASE}/Patient", params={"_count": "1"})  # logged in
    start = vendor_calls(running.fhir, "nextvisit")
    pages = list(running.fhir.pages(f"{BASE}/Patient", _count=20))
    assert vendor_calls(running.fhir, "nextvisit") - start == len(pages)
