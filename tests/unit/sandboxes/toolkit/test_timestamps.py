"""sandboxes.toolkit.timestamps: dates and instants in vendor JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sandboxes.toolkit.timestamps import iso_date, iso_utc, utc_millis

CHICAGO_WINTER = timezone(timedelta(hours=-6))


def test_iso_date() -> None:
    assert iso_date(date(2024, 3, 5)) == "2024-03-05"
    assert iso_date(None) is None


def test_iso_utc_converts_to_utc_with_z() -> None:
    assert iso_utc(datetime(2024, 3, 15, 8, 30, tzinfo=CHICAGO_WINTER)) == "2024-03-15T14:30:00Z"


def test_iso_utc_shows_fractions_only_when_present() -> None:
    assert iso_utc(datetime(2024, 3, 15, 14, 30, 0, 250000, tzinfo=UTC)) == "2024-03-15T14:30:00.250000Z"
    assert iso_utc(None) is None


def test_utc_millis_truncates_to_milliseconds() -> None:
    assert utc_millis(datetime(2020, 6, 5, 20, 16, 57, 7999, tzinfo=UTC)) == "2020-06-05T20:16:57.007Z"
    assert utc_millis(datetime(2020, 6, 5, 14, 16, 57, tzinfo=CHICAGO_WINTER)) == "2020-06-05T20:16:57.000Z"
    assert utc_millis(None) is None
