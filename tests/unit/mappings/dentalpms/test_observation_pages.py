"""Vital-signs pages mapped only as far as a FHIR page needs: the positions inside a vendor page."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from gateway.contract import Drift, SearchRequest, TenantContext
from gateway.search.model import ParamType, ReferenceValue, SearchParam, SearchQuery
from mappings.dentalpms.adapter import DentalPmsAdapter, _observations, _reading_at, _SubPage
from mappings.dentalpms.reader import Reader
from mappings.dentalpms.vendor import VendorPageList, VendorVitals

CTX = TenantContext(tenant="t", identifier_system="urn:fhir-gateway:t", timezone="America/Chicago")
PATIENT = str(uuid.UUID(int=7))


def _reading(n: int) -> dict[str, Any]:
    signs = ("bp_systolic", "pulse", "respiration_rate", "temperature_f", "weight_lbs")[: 1 + n % 5]
    return {
        "id": str(uuid.UUID(int=1000 + n)),
        "date_taken": f"2025-01-{n + 1:02d}",
        "time_taken": "09:30:00",
        "version": 1,
        "updated_at": "2025-01-01T10:00:00Z",
        "created_at": "2025-01-01T10:00:00Z",
        **{sign: str(100 + n) for sign in signs},
    }


def _page(items: list[Any]) -> _SubPage:
    records = Reader(Drift()).lazy_records("vital_signs", VendorVitals, items, lambda vid, i: f"The reading at {i}")
    return _SubPage(PATIENT, None, VendorPageList(items=items), records, records.unreadable)


PAGE = _page([_reading(n) for n in range(9)])


def test_a_page_mapped_whole_without_a_need() -> None:
    resources, rest = _observations(PAGE, CTX, 0, 0, None)
    assert rest is None
    assert len(resources) == sum(1 + n % 5 for n in range(9))


@pytest.mark.parametrize("need", [1, 2, 3, 4, 7, 30, 100])
def test_chunks_of_any_size_walk_the_page_once_in_order(need: int) -> None:
    whole, _ = _observations(PAGE, CTX, 0, 0, None)
    walked: list[dict[str, Any]] = []
    at: tuple[int, int] | None = (0, 0)
    while at is not None:
        chunk, at = _observations(PAGE, CTX, *at, need)
        assert len(chunk) == need or at is None  # full chunks until the page runs out
        walked += chunk
    assert [o["id"] for o in walked] == [o["id"] for o in whole]
    assert walked == whole


def test_positions_are_a_page_or_a_place_inside_one() -> None:
    assert _reading_at(None) == (1, 0, 0)
    assert _reading_at(3) == (3, 0, 0)
    assert _reading_at([2, 5, 1]) == (2, 5, 1)


def test_readings_past_what_the_page_needs_are_not_read() -> None:
    """A reading the FHIR page does not reach is not validated: an unreadable one there is
    reported by the page that reaches it, not by this one."""
    unreadable = {**_reading(5), "date_taken": "not a date"}
    page = _page([*(_reading(n) for n in range(5)), unreadable, _reading(6)])
    first, at = _observations(page, CTX, 0, 0, 3)  # readings 0 and 1 make 3 Observations
    assert len(first) == 3 and at is not None
    assert page.unreadable == []
    rest, at = _observations(page, CTX, *at, None)
    assert at is None
    assert [u.message for u in page.unreadable] == [
        "The reading at 5 could not be read: the vendor's field date_taken is not a date"
    ]
    assert len(first) + len(rest) == sum(1 + n % 5 for n in (0, 1, 2, 3, 4, 6))


# -- through the adapter: what the pages of one vendor page report ---------------------------


class _Client:
    def __init__(self, items: list[Any]) -> None:
        self.items = items

    async def get(self, path: str, params: Any = None) -> Any:
        assert path == f"/patients/{PATIENT}/vital-signs"
        return {"items": self.items, "page": params["page"], "page_size": 50, "total": 50 + len(self.items)}


def _adapter(items: list[Any]) -> tuple[DentalPmsAdapter, Drift]:
    adapter = object.__new__(DentalPmsAdapter)  # only what a vital-signs search uses
    drift = Drift()
    adapter._client = _Client(items)  # type: ignore[assignment]
    adapter._reader = Reader(drift)
    adapter._ctx = CTX
    return adapter, drift


def _adapter_page(adapter: DentalPmsAdapter, position: Any) -> Any:
    patient = SearchParam("patient", ParamType.REFERENCE, None, (ReferenceValue("Patient", PATIENT),), "")
    query = SearchQuery("Observation", (patient,), ())
    # vendor page 2 (no patient check): three Observations (one per reading) per FHIR page
    return asyncio.run(adapter._search_observations(SearchRequest(query, position, 3)))


# Readings of one sign each (`_reading(n)` makes 1 + n % 5): one Observation per reading.
ITEMS = [*(_reading(5 * n) for n in range(5)), {**_reading(25), "date_taken": "not a date"}, _reading(30)]


def _walk(adapter: DentalPmsAdapter) -> list[Any]:
    """The FHIR pages of vendor page 2, followed from its first reading to its last."""
    pages, position = [], [2, 0, 0]
    while isinstance(position, list) and position[0] == 2:
        page = _adapter_page(adapter, position)
        pages.append(page)
        position = page.next
    return pages


def test_the_page_that_reaches_an_unreadable_reading_reports_it() -> None:
    """A vendor page is read as far as each FHIR page needs: the page whose Observations would
    include an unreadable reading's says so (an OperationOutcome warning); a page before it, whose
    Observations are all there, does not."""
    first, second, *_ = _walk(_adapter(ITEMS)[0])
    assert len(first.resources) == 3 and not first.warnings
    assert any("could not be read" in w and "date_taken" in w for w in second.warnings)


def test_the_drift_monitor_sees_every_reading_the_gateway_reads() -> None:
    """The drift monitor sees each reading as it is read: once the pages have walked through the
    vendor page, every unexpected and unreadable field of it has been counted."""
    adapter, drift = _adapter([*ITEMS[:5], {**_reading(25), "surprise": 1}, ITEMS[5]])
    _walk(adapter)
    kinds = {(key.kind, key.path) for key in drift.counts()}
    assert ("unexpected field", "surprise") in kinds
    assert ("unreadable", "date_taken") in kinds
