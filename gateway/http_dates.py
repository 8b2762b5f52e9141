"""HTTP-dates (RFC 9110 section 5.6.7): read in any of their three forms, and the `Date` of
an answer written."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime

_dated: tuple[int, bytes] = (0, b"")  # the second last written, and its HTTP-date


def date_now() -> bytes:
    """Now as an IMF-fixdate, for an answer's `Date` (RFC 9110 section 6.6.1), formatted once
    a second. The gateway writes its own rather than the server's, which uvicorn refreshes once
    a second on a timer: up to a second behind, it could precede a `Last-Modified` the gateway
    took from the clock (section 8.8.2.1 forbids that)."""
    global _dated
    second = int(time.time())
    if _dated[0] != second:
        _dated = (second, formatdate(second, usegmt=True).encode("ascii"))
    return _dated[1]


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
