"""FHIR date/dateTime/instant values as UTC ranges, and the prefix comparisons of FHIR search.

A FHIR date of lower precision stands for the whole period it names (`1985` is all of 1985);
search compares such ranges, per http://hl7.org/fhir/R4/search.html#prefix.
"""

from __future__ import annotations

import re
from datetime import MAXYEAR, UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from gateway.search.model import DatePrefix, DateRange

_DATE_RE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<frac>\.\d+)?)?"
    r"(?P<tz>Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?)?)?)?",  # R4 datatypes.html#dateTime: -13:59..+14:00
    re.ASCII,  # FHIR dates are ASCII digits: \d alone would read "١٩٨٥" (Arabic-Indic) as 1985
)


_MEMO_LONGEST = 40  # the longest FHIR instant with a nanosecond fraction and an offset is 35 characters


# Where the year 9999 (the last a FHIR date may name) ends: a datetime cannot hold the
# moment after it, so its last microsecond stands in for it (a range ending there includes it).
END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def parse_fhir_date(text: str, default_tz: tzinfo = UTC) -> DateRange:
    """Parse a FHIR date, dateTime or instant into the range it covers.

    Raises ValueError for anything that is not a valid FHIR date. A time without a zone
    is read in `default_tz` (the search spec leaves the zone to the server). The range is
    immutable, so callers share one per value.
    """
    if len(text) > _MEMO_LONGEST:  # a fraction of any length is valid: never kept, whatever its size
        return _checked(text, default_tz)
    return _remembered(text, default_tz)


# The same values are read again and again: a CCD reads each of its dates about ten times, a
# search its bounds once per entry. Only short texts are kept, so the memo stays small.
@lru_cache(maxsize=8192)
def _remembered(text: str, default_tz: tzinfo) -> DateRange:
    return _checked(text, default_tz)


def zoneless_time(text: str) -> bool:
    """Whether a date `text` has a time but no zone: a dateTime "SHALL" have one when it has a
    time (R4 datatypes.html#dateTime); search alone leaves the zone to the server."""
    return "T" in text and not (text.endswith("Z") or text[-6:-5] in ("+", "-"))


def last_updated_moment(value: object) -> datetime | None:
    """The latest instant a `meta.lastUpdated` may stand for: the last microsecond of the
    period it names, since the record may have changed at any time of it (`12:00:00Z` is up to
    12:00:00.999999, a date alone up to the end of its day; a fraction names its microsecond).
    None when it is absent or not a FHIR date."""
    if not isinstance(value, str):
        return None
    try:
        moment = parse_fhir_date(value)
    except ValueError:
        return None
    return moment.end - timedelta(microseconds=1)


def _checked(text: str, default_tz: tzinfo) -> DateRange:
    try:
        return _parse(text, default_tz)
    except OverflowError:  # no such case is known (`_utc` holds the edges); kept as a 400, not a 500
        raise ValueError(f"'{text}' is outside the dates this server can compare") from None


def _parse(text: str, default_tz: tzinfo) -> DateRange:
    m = _DATE_RE.fullmatch(text)  # fullmatch: `$` would let a trailing newline through
    if not m:
        raise ValueError(f"'{text}' is not a FHIR date")
    year = int(m["y"])
    zone = default_tz
    if m["m"] is None:
        start = datetime(year, 1, 1, tzinfo=zone)
        end = datetime(year + 1, 1, 1, tzinfo=zone) if year < MAXYEAR else END_OF_TIME
        return DateRange(_utc(start), _utc(end), "year", text)
    month = int(m["m"])
    if m["d"] is None:
        start = datetime(year, month, 1, tzinfo=zone)
        last = (year, month) == (MAXYEAR, 12)
        end = END_OF_TIME if last else datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
        return DateRange(_utc(start), _utc(end), "month", text)
    day = int(m["d"])
    if m["H"] is None:
        start = datetime(year, month, day, tzinfo=zone)
        last = start.date() == date.max
        end = END_OF_TIME if last else datetime.combine(start.date() + timedelta(days=1), start.time(), zone)
        return DateRange(_utc(start), _utc(end), "day", text)
    tz: tzinfo = default_tz
    if m["tz"] == "Z":
        tz = UTC
    elif m["tz"]:
        sign = 1 if m["tz"][0] == "+" else -1
        hours, minutes = int(m["tz"][1:3]), int(m["tz"][4:6])
        tz = _offset(sign * timedelta(hours=hours, minutes=minutes))
    second = int(m["S"] or 0)
    # The microsecond the instant falls in: digits beyond the sixth are cut, never rounded up
    # (`.9999999` would round to a whole second, which no datetime can hold).
    micro = int((m["frac"][1:] + "00000")[:6]) if m["frac"] else 0
    step = timedelta(seconds=1) if m["S"] else timedelta(minutes=1)
    if m["frac"]:
        step = timedelta(microseconds=1)
    if second == 60:
        # A leap second (R4 datatypes.html#dateTime allows `60`): no datetime holds it, so it
        # is the last microsecond of the minute it ends.
        second, micro, step = 59, 999_999, timedelta(microseconds=1)
    local = datetime(year, month, day, int(m["H"]), int(m["M"]), second, micro, tzinfo=tz)
    start = _utc(local)
    end = start + step if start < END_OF_TIME - step else END_OF_TIME  # the calendar's last second
    return DateRange(start, end, "second", text)


def _utc(local: datetime) -> datetime:
    """`local` in UTC; an instant of the calendar's first or last day whose UTC moment falls
    outside the years 1-9999 (`9999-12-31T23:59:59-12:00`) is held at that edge: it is a valid
    FHIR instant, and no stored date lies beyond it."""
    try:
        return local.astimezone(UTC)
    except OverflowError:
        return END_OF_TIME if local.year == MAXYEAR else datetime.min.replace(tzinfo=UTC)


@lru_cache(maxsize=64)
def zone_info(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


@lru_cache(maxsize=64)
def _offset(delta: timedelta) -> tzinfo:
    from datetime import timezone

    return timezone(delta)


def range_matches(prefix: DatePrefix, search: DateRange, target: DateRange) -> bool:
    """Whether `target` (a resource's value) satisfies `prefix search` (the query)."""
    contained = search.start <= target.start and target.end <= search.end
    if prefix is DatePrefix.EQ:
        return contained
    if prefix is DatePrefix.NE:
        return not contained
    if prefix is DatePrefix.GT:
        return target.end > search.end
    if prefix is DatePrefix.LT:
        return target.start < search.start
    # ge/le: "the range above [below] the search value intersects the range of the target value,
    # or the range of the search value fully contains [it]" (search.html#prefix). The range
    # above (below) is read as holding the search value's own range, as "or equal" says: an
    # encounter starting at 16:23:00 is `le2023-01-31T16:23:00Z`, a day's value `le` that day's
    # first second; the stricter reading left out a period touching the boundary.
    if prefix is DatePrefix.GE:
        return target.end > search.start
    if prefix is DatePrefix.LE:
        return target.start < search.end
    if prefix is DatePrefix.SA:
        return target.start >= search.end
    if prefix is DatePrefix.EB:
        return target.end <= search.start
    raise AssertionError(prefix)


def period_range(start: str | None, end: str | None, zone: tzinfo = UTC) -> DateRange | None:
    """The range a FHIR Period covers; an open end is unbounded on that side."""
    if start is None and end is None:
        return None
    lo = parse_fhir_date(start, zone).start if start else datetime.min.replace(tzinfo=UTC)
    hi = parse_fhir_date(end, zone).end if end else datetime.max.replace(tzinfo=UTC)
    return DateRange(lo, hi, "second", "")
