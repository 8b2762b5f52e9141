"""HTTP-dates (RFC 9110 section 5.6.7): read in any of their three forms, and the `Date` of
an answer written."""

from __future__ import annotations

import re
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


_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"\d{2}:\d{2}:\d{2}"
# RFC 9110 section 5.6.7: IMF-fixdate, the obsolete rfc850-date and asctime-date, each whole.
_IMF_FIXDATE = re.compile(rf"{_DAY}, \d{{2}} {_MONTH} \d{{4}} {_TIME} GMT", re.IGNORECASE)
_RFC850_DATE = re.compile(
    rf"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \d{{2}}-{_MONTH}-(?P<yy>\d{{2}}) {_TIME} GMT", re.IGNORECASE
)
_ASCTIME_DATE = re.compile(rf"{_DAY} {_MONTH} [ \d]\d {_TIME} \d{{4}}", re.IGNORECASE)


def one_http_date(value: str | None) -> datetime | None:
    """The moment a request's date field (If-Modified-Since, If-Unmodified-Since) names, or None
    when it is not one HTTP-date: such a field is then ignored (RFC 9110 sections 13.1.3-4,
    "the field value has more than one member" or "is not a valid HTTP-date")."""
    text = (value or "").strip()
    if _IMF_FIXDATE.fullmatch(text) or _ASCTIME_DATE.fullmatch(text):
        return http_date(text)
    if (rfc850 := _RFC850_DATE.fullmatch(text)) is None:
        return None
    when = http_date(text)
    if when is None:
        return None
    # A two-digit year more than 50 years ahead is the latest past year ending so (section 5.6.7).
    year = datetime.now(UTC).year // 100 * 100 + int(rfc850["yy"])
    if year > datetime.now(UTC).year + 50:
        year -= 100
    try:
        return when.replace(year=year)
    except ValueError:  # 29 February, of a year without it
        return None
