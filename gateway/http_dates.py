"""HTTP-dates (RFC 9110 section 5.6.7), read in any of their three forms."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def http_date(value: str | None) -> datetime | None:
    """The moment an HTTP-date names (aware, UTC where the form carries no zone), or None when
    `value` is not one (or names a year no datetime holds)."""
    if value is None or not value.isascii():
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP-dates are GMT; the obsolete asctime form carries no zone.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
