"""Nextvisit's answers as declared models: what the mappers may read, and nothing more (pure).

The docs show `PatientFull` only by example and leave the encounter, demographics and
medication shapes open, so each model reads every plausible spelling (see the adapter's
"Where the docs are silent") and rejects only what cannot mean anything. Fields the
mappers do not use are not declared, so they can never make a record unreadable.

The patient payload is read as a whole (a patient that cannot be read is a 502 naming the
field); the records inside it (encounters, the allergy text, medication entries) are read
one by one, so one that cannot be read is reported as `Unreadable` — its FHIR id when it is
known, and the vendor's field path, never a value — while the others are served.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from gateway.contract import Resource

_DIGITS = re.compile(r"\d+")
_START = ("start_time", "date_of_service", "started_at")
_END = ("end_time", "ended_at")


@dataclass(frozen=True)
class Unreadable:
    """A record inside a patient payload that cannot be read: what to tell the client (no PHI)."""

    resource_type: str
    patient_id: str
    record_id: str | None  # the FHIR id it would have had, when its vendor id can be read
    field: str  # the vendor's field path, e.g. `encounters[2].start_time`
    problem: str

    @property
    def message(self) -> str:
        what = (
            f"{self.resource_type}/{self.record_id}"
            if self.record_id
            else f"{self.resource_type} record(s) of Patient/{self.patient_id}"
        )
        return f"{what} could not be read: the vendor's field {self.field} {self.problem}"


Mapped = tuple[list[Resource], list[Unreadable]]
"""The resources that could be read, and the records that could not."""


# -- scalar readers ---------------------------------------------------------------------------


def _text(value: Any) -> Any:
    """Text; a number is its decimal text (a phone or postal code sent as a number)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _vendor_id(value: Any) -> Any:
    """An id: a number, or a string of one (or any other non-empty text, kept as is)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("is not an id")


def _timestamp(value: Any) -> Any:
    """An ISO 8601 date or date-time (`Z`, an offset, or none: UTC), kept as written."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("is not a date or date-time")
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("is not a date or date-time") from None
    return value


Text = Annotated[str | None, BeforeValidator(_text)]
VendorId = Annotated[str, BeforeValidator(_vendor_id)]
OptionalId = Annotated[str | None, BeforeValidator(lambda v: None if v is None or v == "" else _vendor_id(v))]
Timestamp = Annotated[str | None, BeforeValidator(_timestamp)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# -- references: a string or an object ---------------------------------------------------------


class VendorRef(_Model):
    """A provider, location or visit type: an object, or just its name (or id) as a scalar."""

    id: OptionalId = None
    name: Text = None
    display_name: Text = None
    first_name: Text = None
    last_name: Text = None
    credentials: Text = None

    @property
    def label(self) -> str | None:
        named = self.name or self.display_name or " ".join(x for x in (self.first_name, self.last_name) if x)
        return named or None


def _ref(value: Any) -> Any:
    if value is None or value == "" or isinstance(value, dict):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return {"id": value}
    if isinstance(value, str):
        return {"id": value.strip()} if _DIGITS.fullmatch(value.strip()) else {"name": value}
    raise ValueError("is neither a name nor an object")


Ref = Annotated[VendorRef | None, BeforeValidator(_ref)]


# -- records ----------------------------------------------------------------------------------


class VendorEncounter(_Model):
    id: VendorId
    status: Text = None
    visit_type: Text = None
    type: Ref = None
    reason: Text = None
    start_time: Timestamp = None
    date_of_service: Timestamp = None
    started_at: Timestamp = None
    end_time: Timestamp = None
    ended_at: Timestamp = None
    provider: Ref = None
    location: Ref = None
    updated_at: Timestamp = None

    @model_validator(mode="before")
    @classmethod
    def _first_spelling(cls, data: Any) -> Any:
        """Only the first non-null spelling of a time is read: a later one is not used, so it
        cannot make the record unreadable."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for spellings in (_START, _END):
            present = [name for name in spellings if out.get(name) not in (None, "")]
            for unused in present[1:]:
                del out[unused]
        return out

    @property
    def start(self) -> str | None:
        return self.start_time or self.date_of_service or self.started_at

    @property
    def end(self) -> str | None:
        return self.end_time or self.ended_at


class VendorDemographics(_Model):
    email: Text = None
    phone: Text = None
    phone_number: Text = None
    address_line1: Text = None
    address: Text = None
    city: Text = None
    state: Text = None
    postal_code: Text = None
    zip: Text = None

    @property
    def phone_value(self) -> str | None:
        return self.phone or self.phone_number

    @property
    def line(self) -> str | None:
        return self.address_line1 or self.address

    @property
    def postal(self) -> str | None:
        return self.postal_code or self.zip


class VendorMedication(_Model):
    """A medication entry given as an object: its name, and a strength or dose when stated."""

    name: Text = None
    medication: Text = None
    strength: Text = None
    dosage: Text = None

    @property
    def text(self) -> str:
        """The drug's name then its strength ("Sertraline 50mg"); empty without a name (a dose alone names no drug)."""
        name = (self.name or self.medication or "").strip()
        dose = (self.strength or self.dosage or "").strip()
        return f"{name} {dose}".strip() if name else ""


class VendorPatient(_Model):
    """`PatientFull`; the records inside it (allergies, medications, encounters) are kept raw
    here and read one by one by their mappers."""

    id: VendorId
    uuid: Text = None
    first_name: Text = None
    middle_name: Text = None
    last_name: Text = None
    gender: Text = None
    date_of_birth: Text = None
    allergies: Any = None
    latest_medications: Any = None
    encounters: Any = None
    demographics: VendorDemographics | None = None
    meta: dict[str, Any] = {}
    updated_at: Text = None

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> Any:
        # PHP encodes an empty associative array as `[]`: no keys, not a list of anything.
        return {} if value is None or value == [] else value


# -- reading ----------------------------------------------------------------------------------


class UnreadablePayload(ValueError):
    """A payload that cannot be read at all: the field path and the problem, no values."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"the vendor's field {field} {problem}")
        self.field = field
        self.problem = problem


def read_patient(raw: Mapping[str, Any] | VendorPatient) -> VendorPatient:
    if isinstance(raw, VendorPatient):
        return raw
    try:
        return VendorPatient.model_validate(raw)
    except ValidationError as exc:
        field, problem = first_problem(exc, "")
        raise UnreadablePayload(field or "data", problem) from None


def first_problem(exc: ValidationError, prefix: str) -> tuple[str, str]:
    """The first error's field path (under `prefix`) and a PHI-free problem (never the value)."""
    error = exc.errors(include_input=False, include_url=False)[0]
    return _path(prefix, error["loc"]), _problem(error)


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is missing"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", "has an unexpected value"))
    if kind.startswith("string") or kind.startswith("dict") or kind.startswith("model"):
        return "has an unexpected type"
    return "has an unexpected shape"


def items_of(value: Any, field: str) -> Iterator[tuple[str, Any]]:
    """A list's items with their paths; PHP renders a non-sequential array as an object."""
    if value is None:
        return
    if isinstance(value, list):
        yield from ((f"{field}[{i}]", item) for i, item in enumerate(value))
    elif isinstance(value, dict):
        yield from ((f"{field}.{key}", item) for key, item in value.items())
    else:
        raise UnreadablePayload(field, "is not a list")
