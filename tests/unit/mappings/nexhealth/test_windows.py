"""The windows of an open-ended appointment search: no horizon, contiguous, few, one of them
ending where bookable dates end."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from mappings.bookable import BOOKABLE
from mappings.nexhealth.adapter import EARLIEST, FIRST_AHEAD, LATEST, bookable_until, open_windows

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_windows_cover_the_calendar_from_the_start_to_its_end() -> None:
    starts = (EARLIEST, datetime(2031, 1, 1, tzinfo=UTC), datetime(2080, 1, 1, tzinfo=UTC))
    for start in (*starts, datetime(9990, 1, 1, tzinfo=UTC)):
        bounds = open_windows(start, NOW)
        assert bounds[0][0] == start and bounds[-1][1] == LATEST
        assert all(a[1] == b[0] for a, b in pairwise(bounds))
        assert all(low < high for low, high in bounds)
        assert len(bounds) <= 5


def test_the_first_window_reaches_past_today_or_past_the_start() -> None:
    assert open_windows(EARLIEST, NOW)[0][1] == NOW + FIRST_AHEAD
    later = datetime(2040, 1, 1, tzinfo=UTC)
    assert open_windows(later, NOW)[0][1] == later + FIRST_AHEAD


def test_a_window_starts_where_bookable_dates_end() -> None:
    # Past that point a refused window is the calendar's end, not a gap: it must not also hold
    # dates a visit could be booked on. Where they end is seen from today, whatever the start.
    assert bookable_until(NOW) == NOW + BOOKABLE
    for start in (EARLIEST, datetime(2040, 1, 1, tzinfo=UTC)):
        assert bookable_until(NOW) in {low for low, _ in open_windows(start, NOW)}
