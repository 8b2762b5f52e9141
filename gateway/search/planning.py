"""Reading a SearchQuery from a provider's side: the helpers every search planner needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from gateway.concurrently import concurrently
from gateway.errors import Gone, InvalidRequest, NotFound, NotSupported
from gateway.search.dates import END_OF_TIME, zone_info
from gateway.search.model import DatePrefix, DateValue, ReferenceValue, SearchQuery, TokenValue

Resource = dict[str, Any]

PUSHABLE_DATE_PREFIXES = frozenset({DatePrefix.EQ, DatePrefix.GE, DatePrefix.GT, DatePrefix.LE, DatePrefix.LT})


def values(query: SearchQuery, name: str) -> list[Any]:
    return [v for p in query.named(name) for v in p.values]


MAX_IDS = 50  # ids one search may name: each costs a vendor read


def ids(query: SearchQuery) -> list[str] | None:
    """The ids a query's `_id` conditions allow (ORed within one, ANDed across), or None."""
    allowed: set[str] | None = None
    ordered: list[str] = []
    for param in query.named("_id"):
        codes = [v.code for v in param.values if isinstance(v, TokenValue) and v.code]
        ordered += [c for c in codes if c not in ordered]
        allowed = set(codes) if allowed is None else allowed & set(codes)
    if allowed is None:
        return None
    chosen = [i for i in ordered if i in allowed]
    if len(chosen) > MAX_IDS:
        raise InvalidRequest(f"At most {MAX_IDS} ids per search", expression="_id")
    return chosen


async def read_each(read: Callable[[str], Awaitable[Resource]], ids: Sequence[str]) -> list[Resource]:
    """The resources of these ids that exist (concurrently; missing and deleted ones left out)."""

    async def one(resource_id: str) -> Resource | None:
        try:
            return await read(resource_id)
        except (NotFound, Gone):
            return None

    return [r for r in await concurrently(*(one(i) for i in dict.fromkeys(ids))) if r is not None]


def patients_in_common(query: SearchQuery) -> set[str] | None:
    """The patient ids every `patient`/`subject` condition allows, ANDed across parameters
    (search.html#combining): `patient=A&patient=B` allows none, `patient=A,B&patient=A` only A.
    None when the query names no patient."""
    allowed: set[str] | None = None
    for name in ("patient", "subject"):
        for param in query.named(name):
            named = {v.id for v in param.values if isinstance(v, ReferenceValue)}
            allowed = named if allowed is None else allowed & named
    return allowed


def to_one_patient(query: SearchQuery, patient_id: str) -> SearchQuery:
    """`query` with each `patient`/`subject` condition down to the one patient all of them allow
    (`patients_in_common`): what a provider sends the vendor names that patient alone."""
    params = tuple(
        replace(p, values=tuple(v for v in p.values if isinstance(v, ReferenceValue) and v.id == patient_id))
        if p.name in ("patient", "subject")
        else p
        for p in query.params
    )
    return replace(query, params=params)


def single_patient(query: SearchQuery) -> str:
    """The one patient id a `patient`/`subject` search names ("" if none)."""
    refs = {v.id for name in ("patient", "subject") for v in values(query, name) if isinstance(v, ReferenceValue)}
    if len(refs) > 1:
        raise NotSupported("Searching several patients at once is not supported; search one patient at a time")
    return refs.pop() if refs else ""


def only(query: SearchQuery, *names: str) -> bool:
    """Whether the query has no parameters but these."""
    return all(p.name in names for p in query.params)


def single_token(query: SearchQuery, name: str) -> str | None:
    params = query.named(name)
    if len(params) == 1 and len(params[0].values) == 1:
        value = params[0].values[0]
        if isinstance(value, TokenValue):
            return value.code
    return None


def date_bounds(query: SearchQuery, name: str) -> tuple[date | None, date | None, bool]:
    """(first day, last day, exact) that the `name` date conditions allow, for date-valued targets.

    Exact is False when some condition could not be expressed as a day range (OR-ed values,
    ne/sa/eb/ap, or a time precision): the caller must leave those to the gateway.
    """
    low: date | None = None
    high: date | None = None
    exact = True
    zone = zone_info(query.zone)  # a day the client names is a day of the tenant's calendar
    for param in query.named(name):
        value = param.values[0]
        if (
            len(param.values) != 1
            or not isinstance(value, DateValue)
            or value.prefix not in PUSHABLE_DATE_PREFIXES
            or value.range.precision == "second"
        ):
            exact = False
            continue
        start, last = _first_day(value.range.start, zone), _last_day(value.range.end, zone)
        lo, hi = {
            DatePrefix.EQ: (start, last),
            DatePrefix.GE: (start, None),
            DatePrefix.GT: (shift(last, 1), None),
            DatePrefix.LE: (None, last),
            DatePrefix.LT: (None, shift(start, -1)),
        }[value.prefix]
        if lo is not None:
            low = max(low, lo) if low else lo
        if hi is not None:
            high = min(high, hi) if high else hi
    return low, high, exact


def date_bounds_any(query: SearchQuery, name: str) -> tuple[date | None, date | None]:
    """Like `date_bounds`, but widening instead of giving up: days bounding every match (the end
    is the day after the last possible one).

    For narrowing a vendor window: ne/sa/eb and OR-ed values only lose a side, never a match.
    """
    low: date | None = None
    high: date | None = None
    zone = zone_info(query.zone)
    for param in query.named(name):
        starts = [_first_day(v.range.start, zone) for v in param.values if isinstance(v, DateValue)]
        ends = [shift(_last_day(v.range.end, zone), 1) for v in param.values if isinstance(v, DateValue)]
        prefixes = {v.prefix for v in param.values if isinstance(v, DateValue)}
        if prefixes <= {DatePrefix.EQ, DatePrefix.GE, DatePrefix.GT, DatePrefix.SA} and starts:
            lo = min(starts)
            low = max(low, lo) if low else lo
        if prefixes <= {DatePrefix.EQ, DatePrefix.LE, DatePrefix.LT, DatePrefix.EB} and ends:
            hi = max(ends)
            high = min(high, hi) if high else hi
    return low, high


def _first_day(start: datetime, zone: tzinfo) -> date:
    """The day of `zone`'s calendar a range starting at `start` (UTC) begins in."""
    try:
        return start.astimezone(zone).date()
    except OverflowError:  # before the calendar's first day there
        return date.min


def _last_day(end: datetime, zone: tzinfo) -> date:
    """The last day of `zone`'s calendar a range ending at `end` (exclusive, UTC) reaches; a
    range of the calendar's last day ends at END_OF_TIME, inside that day (gateway.search.dates)."""
    if end == END_OF_TIME:
        return date.max
    try:
        return (end.astimezone(zone) - timedelta(microseconds=1)).date()
    except OverflowError:  # after the calendar's last day there
        return date.max


def shift(day: date, days: int) -> date:
    """`day` moved by `days`, held at the ends of the calendar instead of overflowing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min
