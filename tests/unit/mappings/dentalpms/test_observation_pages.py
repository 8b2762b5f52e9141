"""Vital-signs pages mapped only as far as a FHIR page needs: the positions inside a vendor page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from gateway.contract import Drift, TenantContext
from mappings.dentalpms.adapter import _observations, _reading_at, _SubPage
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
