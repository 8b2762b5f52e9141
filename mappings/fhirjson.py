"""Small builders of FHIR JSON datatypes that every vendor's mappers use."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
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
    """A vendor date (or datetime) as a FHIR date, or None."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


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


def text_key(text: str) -> str:
    """A stable id fragment for a record the vendor only has as text (docs/architecture.md#the-seams)."""
    import hashlib
    import unicodedata

    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(folded.encode()).hexdigest()[:10]
