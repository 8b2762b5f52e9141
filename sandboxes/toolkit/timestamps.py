"""Dates and instants as the vendors write them in JSON.

- ``iso_date``: ``2024-03-15``.
- ``iso_utc``: ISO 8601 in UTC with ``Z`` and fractional seconds only when non-zero
  (pydantic's style in the Dental PMS; Nextvisit passes whole seconds).
- ``utc_millis``: ``2020-06-05T20:16:57.007Z``, always three fractional digits
  (NexHealth's Rails timestamps, Nextech's ``encounterDate``).

Each maps None to None, so optional fields render as ``null``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import overload

__all__ = ["iso_date", "iso_utc", "utc_millis"]


@overload
def iso_date(value: date) -> str: ...
@overload
def iso_date(value: None) -> None: ...
@overload
def iso_date(value: date | None) -> str | None: ...
def iso_date(value: date | None) -> str | None:
    """``YYYY-MM-DD`` (or None)."""
    return None if value is None else value.isoformat()


@overload
def iso_utc(value: datetime) -> str: ...
@overload
def iso_utc(value: None) -> None: ...
@overload
def iso_utc(value: datetime | None) -> str | None: ...
def iso_utc(value: datetime | None) -> str | None:
    """`value` in UTC as ``2024-03-15T14:30:00Z`` (``.250000`` only when it has microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@overload
def utc_millis(value: datetime) -> str: ...
@overload
def utc_millis(value: None) -> None: ...
@overload
def utc_millis(value: datetime | None) -> str | None: ...
def utc_millis(value: datetime | None) -> str | None:
    """`value` in UTC to the millisecond (truncated) with ``Z``: ``2020-06-05T20:16:57.007Z``."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return f"{utc.strftime('%Y-%m-%dT%H:%M:%S')}.{utc.microsecond // 1000:03d}Z"
