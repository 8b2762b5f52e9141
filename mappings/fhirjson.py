"""Small builders of FHIR JSON datatypes that every vendor's mappers use."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo


def instant(value: str | None) -> str | None:
    """A vendor timestamp as a FHIR instant (UTC, `Z`), or None if absent or unreadable."""
    if not value:
        return None
    return _instant(value)


# Pure functions of their text: the same vendor records are mapped again on every read and page
# of them, and parsing a timestamp costs ~2 µs, several per record (bench/micro.py).
@lru_cache(maxsize=8192)
def _instant(value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    text = parsed.astimezone(UTC).isoformat(timespec="milliseconds" if parsed.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def fhir_date(value: str | None) -> str | None:
    """A vendor's date (a field its docs type as a date) as a FHIR date, or None.

    `YYYY-MM-DD` as it is; None for a type's zero value (`ZERO_YEAR`). Written as a date-time
    instead, it is the day `midnight_day` reads:
    never use this for a field documented as a date-time (an encounter's start), whose day
    is its own.
    """
    if not value or value.startswith(ZERO_YEAR):
        return None
    if len(value) == len("YYYY-MM-DD"):  # the documented form, per record on hot paths: no parsing
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    return _datetime_day(value)


# The zero value of a date type that has no null, served for a date never recorded: Go's
# `time.Time{}` (`0001-01-01T00:00:00Z`), .NET's `default(DateTime)`/`DateTime.MinValue` and
# `default(DateOnly)`. No date a clinic records falls in year 1.
ZERO_YEAR = "0001-"


@lru_cache(maxsize=8192)  # see _instant
def _datetime_day(value: str) -> str | None:
    try:
        written = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return midnight_day(value, written).isoformat()


_HALF_A_DAY = timedelta(hours=12)


def midnight_day(text: str, written: date) -> date:
    """The day a date written as a date-time (`text`, starting with the day `written`) holds.

    A date column serialized as a date-time is a midnight: of the zone it is written in, when
    its time is midnight (`1980-05-01T00:00:00-05:00`, `1980-05-01T00:00:00.000000Z`: the day
    as written whatever the offset); else a midnight of another zone converted on the way out,
    as .NET's `DateTime`, Jackson's `Date`, Rails' `TimeWithZone` and Carbon's `toJSON()` do in
    common configurations: a UTC midnight written at the server's offset
    (`1980-05-01T19:00:00-05:00` is 1980-05-02) or a server's midnight written in UTC
    (`1980-05-01T22:00:00Z`, a +02:00 midnight, is 1980-05-02; `1980-05-02T05:00:00Z`, a
    -05:00 one, is 1980-05-02). Either way the day is the UTC midnight nearest the instant
    (RFC 3339 §4.2: the offset is the local time's difference from UTC): exact for a UTC
    midnight written at any offset; for a server's midnight written in UTC, right for offsets
    -11:59 to +12:00 (a day holds 24 of the 26 hours of offsets in use: +13:00 and +14:00, whose
    midnights fall at 11:00Z and 10:00Z the day before, read as -11:00's and -10:00's, American
    Samoa's and Hawaii's). A time without an offset is UTC, as vendors' timestamps are read.

    A time that cannot be a converted midnight is a real time of that day (a birth time kept
    with the date), so the day is as written: at an offset other than UTC, any time but a UTC
    midnight (`1980-05-03T15:30:00-05:00` is 1980-05-03: a server converting a midnight writes
    it at its own offset, so only a UTC midnight arrives there); in UTC, a time off the
    quarter hours every zone's offset is made of (`1980-05-03T14:37:00Z`). A birth time on a
    quarter hour written in UTC stays indistinguishable from a converted midnight.
    A date-time Python does not read is the day it starts with."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return written
    if moment.time() == _MIDNIGHT:
        return written
    offset = moment.utcoffset()
    utc = moment.replace(tzinfo=UTC) if offset is None else moment.astimezone(UTC)
    if offset and utc.time() != _MIDNIGHT:
        return written
    if utc.minute % 15 or utc.second or utc.microsecond:
        return written
    return (utc + _HALF_A_DAY).date()


_MIDNIGHT = time(0)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_datetime(day: str, clock: str | None, zone: str) -> str:
    """A vendor's date and optional time as a FHIR dateTime.

    FHIR requires a zone once there is a time. A time without an offset is the clinic's wall
    clock: the tenant's configured zone supplies it. A time with one (`14:30:00+00:00`) is
    that instant on `day`, shown in the tenant's zone, so a reading reads the same whichever
    way the vendor writes its time (and its date is the clinic's day). Without a time, the
    value stays a plain date (FHIR allows that precision).
    """
    if not clock:
        return day
    return _local_datetime(day, clock, zone)


@lru_cache(maxsize=8192)  # see _instant
def _local_datetime(day: str, clock: str, zone: str) -> str:
    wall = time.fromisoformat(clock)
    if wall.tzinfo is None:
        return datetime.combine(date.fromisoformat(day), wall, _zone(zone)).isoformat()
    return datetime.combine(date.fromisoformat(day), wall).astimezone(_zone(zone)).isoformat()


def meta(profile: str | None, version: Any, updated: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if version is not None:
        out["versionId"] = str(version)
    stamp = instant(updated)
    if stamp:
        out["lastUpdated"] = stamp
    if profile:
        out["profile"] = [profile]
    return out


def reference(resource_type: str, resource_id: str, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def compact(value: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None, an empty string, list or dict: FHIR forbids empty
    elements, and a string of no characters (R4 json.html#primitive), which a vendor may
    write for a text never set (Go's zero string, a NOT NULL column's default)."""
    return {k: v for k, v in value.items() if v is not None and v != "" and v != [] and v != {}}


def content_version(resource: dict[str, Any]) -> str:
    """A version id for vendors without one: a short hash of the resource's content.

    Computed without `meta`, so it changes exactly when what the client sees changes
    (it is the ETag when the vendor keeps no version); stable across requests and restarts.
    """
    import hashlib

    import orjson

    body = {k: v for k, v in resource.items() if k != "meta"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def unversioned(resource: dict[str, Any]) -> dict[str, Any]:
    """`resource` without `meta.versionId`: made from what was sent, not read from the vendor,
    its version (a digest of the record) would match no later read's, and an If-Match with it
    would fail (R4 http.html#versioning: no ETag rather than a wrong one)."""
    kept = {k: v for k, v in (resource.get("meta") or {}).items() if k != "versionId"}
    return {**resource, "meta": kept} if kept else {k: v for k, v in resource.items() if k != "meta"}


def text_key(text: str) -> str:
    """A stable id fragment for a record the vendor only has as text (docs/architecture.md#the-seams)."""
    import hashlib
    import unicodedata

    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(folded.encode()).hexdigest()[:10]
