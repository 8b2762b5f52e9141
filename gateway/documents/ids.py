"""Ids of generated documents: what to render, written into the id itself.

A generated CCD is never stored; its id says how to render it again, so `DocumentReference`
and `Binary` reads stay stateless:

- `ccd-p.<patient id>`: the patient's whole record;
- `ccd-p-<start>-<end>.<patient id>`: the record of a period (`$docref` start/end), each
  bound a compact FHIR date (`20240131`) or UTC dateTime (`20240131T103000Z`), either empty;
- `ccd-e.<encounter id>`: the CCD of one encounter.

The `ccd-` prefix is the gateway's: vendor ids never start with it (theirs are numbers,
UUIDs and dotted compounds of those).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.errors import InvalidRequest
from gateway.search.dates import parse_fhir_date
from gateway.search.parse import is_fhir_id

PREFIX = "ccd-"
_BOUND = re.compile(r"(\d{4})(\d{2})?(\d{2})?(?:T(\d{2})(\d{2})(\d{2})Z)?", re.ASCII)  # digits 0-9 only


@dataclass(frozen=True)
class DocumentId:
    patient: str | None  # a patient CCD's patient
    encounter: str | None  # an encounter CCD's encounter
    start: str | None = None  # FHIR date/dateTime
    end: str | None = None

    def __str__(self) -> str:
        if self.encounter is not None:
            return f"{PREFIX}e.{self.encounter}"
        bounds = "" if not (self.start or self.end) else f"-{_compact(self.start)}-{_compact(self.end)}"
        return f"{PREFIX}p{bounds}.{self.patient}"


def is_generated(resource_id: str) -> bool:
    return resource_id.startswith(PREFIX)


def patient_document(patient: str, start: str | None = None, end: str | None = None) -> str:
    return _checked(str(DocumentId(patient, None, start, end)))


def encounter_document(encounter: str) -> str:
    return _checked(str(DocumentId(None, encounter)))


def parse(resource_id: str) -> DocumentId | None:
    """The document an id names, or None when it is not a well-formed generated id."""
    if not is_generated(resource_id):
        return None
    kind, dot, subject = resource_id[len(PREFIX) :].partition(".")
    if not dot or not subject:
        return None
    if kind == "e":
        return DocumentId(None, subject)
    if kind == "p":
        return DocumentId(subject, None)
    parts = kind.split("-")
    if len(parts) != 3 or parts[0] != "p" or not (parts[1] or parts[2]):
        return None
    start, end = _expand(parts[1]), _expand(parts[2])
    if (parts[1] and start is None) or (parts[2] and end is None):
        return None
    if start and end and not _in_order(start, end):
        return None  # a period that ends before it starts ($docref refuses it): no document
    return DocumentId(subject, None, start, end)


def _in_order(start: str, end: str) -> bool:
    try:
        return parse_fhir_date(start).start < parse_fhir_date(end).end
    except ValueError:  # a bound no datetime holds
        return False


def _checked(resource_id: str) -> str:
    if not is_fhir_id(resource_id):
        # FHIR ids are at most 64 characters; a patient id near that leaves no room.
        raise InvalidRequest("This document cannot be named within FHIR's 64-character id limit")
    return resource_id


def _compact(value: str | None) -> str:
    if not value:
        return ""
    if "T" not in value:
        return value.replace("-", "")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    # Not strftime: its %Y writes the year 1 as "1" (glibc), and the id would not parse back.
    return f"{moment.year:04d}{moment:%m%dT%H%M%S}Z"


def _expand(compact: str) -> str | None:
    if not compact:
        return None
    m = _BOUND.fullmatch(compact)
    if m is None:
        return None
    year, month, day, hour, minute, second = m.groups()
    try:  # a bound that names no real moment (month 13, hour 99) names no document
        datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if hour:
        if not (month and day):
            return None
        return f"{year}-{month}-{day}T{hour}:{minute}:{second}Z"
    return "-".join(p for p in (year, month, day) if p)
