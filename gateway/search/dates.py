"""FHIR date/dateTime/instant values as UTC ranges, and the prefix comparisons of FHIR search.

A FHIR date of lower precision stands for the whole period it names (`1985` is all of 1985);
search compares such ranges, per http://hl7.org/fhir/R4/search.html#prefix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from gateway.search.model import DatePrefix, DateRange

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<frac>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def parse_fhir_date(text: str, default_tz: tzinfo = UTC) -> DateRange:
    """Parse a FHIR date, dateTime or instant into the range it covers.

    Raises ValueError for anything that is not a valid FHIR date. A time without a zone
    is read in `default_tz` (the search spec leaves the zone to the server).
    """
    m = _DATE_RE.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a FHIR date")
    year = int(m["y"])
    if m["m"] is None:
        start = datetime(year, 1, 1, tzinfo=UTC)
        return DateRange(start, start.replace(year=year + 1), "year", text)
    month = int(m["m"])
    if m["d"] is None:
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        return DateRange(start, end, "month", text)
    day = int(m["d"])
    if m["H"] is None:
        start = datetime(year, month, day, tzinfo=UTC)
        return DateRange(start, start + timedelta(days=1), "day", text)
    tz: tzinfo = default_tz
    if m["tz"] == "Z":
        tz = UTC
    elif m["tz"]:
        sign = 1 if m["tz"][0] == "+" else -1
        hours, minutes = int(m["tz"][1:3]), int(m["tz"][4:6])
        tz = _offset(sign * timedelta(hours=hours, minutes=minutes))
    second = int(m["S"] or 0)
    micro = round(float(m["frac"]) * 1_000_000) if m["frac"] else 0
    local = datetime(year, month, day, int(m["H"]), int(m["M"]), second, micro, tzinfo=tz)
    start = local.astimezone(UTC)
    step = timedelta(seconds=1) if m["S"] else timedelta(minutes=1)
    if m["frac"]:
        step = timedelta(microseconds=1)
    return DateRange(start, start + step, "second", text)


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
    if prefix is DatePrefix.GE:
        return target.end > search.end or contained
    if prefix is DatePrefix.LE:
        return target.start < search.start or contained
    if prefix is DatePrefix.SA:
        return target.start >= search.end
    if prefix is DatePrefix.EB:
        return target.end <= search.start
    raise AssertionError(prefix)


def period_range(start: str | None, end: str | None) -> DateRange | None:
    """The range a FHIR Period covers; an open end is unbounded on that side."""
    if start is None and end is None:
        return None
    lo = parse_fhir_date(start).start if start else datetime.min.replace(tzinfo=UTC)
    hi = parse_fhir_date(end).end if end else datetime.max.replace(tzinfo=UTC)
    return DateRange(lo, hi, "second", "")
