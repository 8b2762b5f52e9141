"""Where an open appointment walk over a NexHealth whose calendar ends stops, and whether it
says so: a calendar ending where no practice books (50 years from today) is its end; one
ending earlier, or a vendor that answers nothing, may hide visits and the searchset says so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.contract import ResourceProvider, SearchRequest, TenantContext
from gateway.errors import InvalidRequest, UpstreamError
from gateway.search.parse import parse_search
from mappings.bookable import BOOKABLE
from mappings.nexhealth.adapter import EARLIEST, LATEST, NexHealthAdapter
from mappings.nexhealth.capabilities import ENCOUNTER

CALENDAR_END = datetime(2100, 1, 1, tzinfo=UTC)  # the calendar a fuzz run met: refused after 2100
VISITS = [datetime(2031, 6, 16, tzinfo=UTC), datetime(2070, 3, 1, tzinfo=UTC), datetime(2090, 5, 5, tzinfo=UTC)]


class Calendar:
    """A NexHealth's `/appointments` by window: refusing dates past `end` (None: none), or down."""

    def __init__(self, end: datetime | None = CALENDAR_END, down: bool = False) -> None:
        self.end, self.down = end, down
        self.asked: list[tuple[datetime, datetime]] = []

    async def window(self, patient_id: str, start: datetime, end: datetime, *, far: bool = False) -> Any:
        self.asked.append((start, end))
        if self.down:
            raise UpstreamError("The vendor failed (HTTP 503)")
        if self.end is not None and end > self.end:
            raise InvalidRequest("The vendor rejected the request")
        found = [{"id": i, "start_time": v.isoformat()} for i, v in enumerate(VISITS) if start <= v <= end]
        return found, []


def _adapter(calendar: Calendar) -> NexHealthAdapter:
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)  # only the walk's state is used
    adapter._whole_calendar_refused_until = 0.0
    adapter._calendar_end_said = False
    adapter._ctx = TenantContext("nex", "urn:test")  # its zone: for times without an offset
    adapter._window = calendar.window  # type: ignore[method-assign]
    adapter._encounters = lambda patient_id, found: [{"id": str(a["id"])} for a in found]  # type: ignore[method-assign]
    return adapter


@pytest.mark.parametrize("lower", [datetime(2040, 1, 1, tzinfo=UTC), datetime(2080, 1, 1, tzinfo=UTC)])
def test_a_lower_bound_does_not_make_a_calendar_ending_past_bookable_dates_a_gap(lower: datetime) -> None:
    # The open search from today is complete; so is one from a later lower bound, with every
    # visit a practice could have booked (the refused dates hold none).
    page = asyncio.run(_adapter(Calendar())._walk("1", lower))
    assert page.warnings == ()
    bookable = datetime.now(UTC) + BOOKABLE
    assert [r["id"] for r in page.resources] == [str(i) for i, v in enumerate(VISITS) if lower <= v < bookable]


def test_a_vendor_that_answers_nothing_past_bookable_dates_is_not_a_calendar_end() -> None:
    page = asyncio.run(_adapter(Calendar(down=True))._walk("1", datetime(2080, 1, 1, tzinfo=UTC)))
    assert page.resources == [] and page.warnings and "give a date" in page.warnings[0]


def test_a_vendor_that_was_down_is_asked_its_whole_calendar_again_once_back() -> None:
    # A NexHealth that is merely down fails the whole calendar and today's window alike: that
    # is no sign its calendar ends anywhere, and once it is back a walk is one window again.
    calendar = Calendar(end=None, down=True)
    adapter = _adapter(calendar)
    with pytest.raises(UpstreamError):
        asyncio.run(adapter._walk("1", EARLIEST))
    calendar.down = False
    calendar.asked.clear()
    page = asyncio.run(adapter._walk("1", EARLIEST))
    assert calendar.asked == [(EARLIEST, LATEST)]
    assert [r["id"] for r in page.resources] == ["0", "1", "2"] and page.warnings == ()


@pytest.mark.parametrize("down_past_end", [False, True])
def test_an_upper_bound_past_bookable_dates_is_searched_as_an_open_search(down_past_end: bool) -> None:
    # `date=le2200` over a calendar ending in 2100 (refused, or failed on: HTTP 500) was that
    # vendor error (a 400, or a 502 counted against the tenant's breaker); nothing a practice
    # could book lies past bookable dates, and the gateway finishes the filter at 2200.
    calendar = Calendar()
    if down_past_end:
        original = calendar.window

        async def window(patient_id: str, start: datetime, end: datetime, *, far: bool = False) -> Any:
            if end > CALENDAR_END:
                raise UpstreamError("The vendor failed (HTTP 500)")
            return await original(patient_id, start, end, far=far)

        calendar.window = window  # type: ignore[method-assign]
    adapter = _adapter(calendar)

    async def nothing(*args: Any) -> Any:
        raise AssertionError("not called")

    support = ResourceProvider(ENCOUNTER, nothing, nothing).support
    query = parse_search(support, [("patient", "1"), ("date", "le2200")], strict=True, default_count=20, max_count=100)
    page = asyncio.run(adapter._encounters_of(SearchRequest(query.query, None, 100), "1"))
    assert [r["id"] for r in page.resources] == ["0", "1"] and page.warnings == ()
