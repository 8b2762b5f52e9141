"""NexHealth's answers as declared models, read leniently (pydantic), one record at a time.

Containers (`data`): the docs show lists three ways and never a single-record answer:
- `{"patients": [...]}` (nexhealth-getting-started.txt);
- `"data": [ "patients": [ ...` on the patients page (nexhealth-patients.txt), read as a list
  holding `{"patients": [...]}`, or as a bare list of patients;
- other lists (`/providers`, `/appointments`) bare, or under their plural name, or wrapped.
`data: null` or a `null` list reads as an empty list, and so does a list left out (`{}`, `[{}]`:
Go's `encoding/json` omits an empty slice tagged `omitempty`). A single record (`GET /patients/{id}`,
`POST` and `PATCH /patients`) is read as `{"patient": {...}}`, the record itself,
`{"patients": [one]}` or `[one]`; a read's `data` holding no record (`null`, `{"patient": null}`:
a lookup's null sent as it is) is no record (`holds_no_record`). A container that is none of these is `UnreadableShape`.

Records: every field the docs (or the simulator, for what they do not show) name is declared,
so that only truly unknown fields are drift (`gateway.contract.Drift`). Numbers and booleans
may come as strings (`"id": "415"`, `"inactive": "false"`: pydantic's lax mode reads them),
text fields may come as numbers, optional fields may be `null`, absent or (a Go struct's
zero `string`, a `NOT NULL DEFAULT ''` column) an empty text, read as no value. Only what cannot
mean anything makes a record unreadable: no usable id, a flag that is no boolean, an
appointment without a readable `start_time` or `patient_id`, `bio` that is no object. An
unreadable record is reported (`Unreadable`: its vendor id when known, the field path and the
problem, never a value) and the others are served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from gateway.contract import Drift, VendorModel
from gateway.contract.lenient import Text
from mappings.drift_scan import unexpected_only

__all__ = [
    "Unreadable",
    "UnreadableShape",
    "VendorAppointment",
    "VendorPatient",
    "VendorProvider",
    "holds_no_record",
    "listed",
    "read_many",
    "read_one",
    "single",
]

M = TypeVar("M", bound=VendorModel)


class _BlankIsNoValue(VendorModel):
    """A record whose empty texts are no values: FHIR has no empty string (R4 JSON: a string
    holds at least one character), and `""` for a city or a middle name says none is known."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_no_value(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        return {key: None if isinstance(value, str) and not value.strip() else value for key, value in raw.items()}


class VendorBio(_BlankIsNoValue):
    date_of_birth: Text = None
    phone_number: Text = None
    gender: Text = None
    street_address: Text = None
    city: Text = None
    state: Text = None
    zip_code: Text = None
    cell_phone_number: Text = None
    home_phone_number: Text = None
    new_patient: bool | None = None
    non_patient: bool | None = None


class VendorUpcoming(VendorModel):
    """An entry of `upcoming_appts` (the patients page): kept as sent, not mapped."""

    id: Any = None
    provider_id: Any = None
    provider_name: Any = None
    start_time: Any = None
    end_time: Any = None
    location_id: Any = None
    confirmed: Any = None


class VendorPatient(_BlankIsNoValue):
    id: int
    email: Text = None
    first_name: Text = None
    middle_name: Text = None
    last_name: Text = None
    name: Text = None
    created_at: Text = None
    updated_at: Text = None
    institution_id: Any = None
    foreign_id: Text = None
    foreign_id_type: Text = None
    bio: VendorBio | None = None
    inactive: bool | None = None
    last_sync_time: Any = None
    guarantor_id: Any = None
    unsubscribe_sms: Any = None
    location_ids: list[int] | None = None
    # The docs make gender required on create but show it in neither patient shape: it may be
    # kept beside `bio` rather than in it (`bio.gender`).
    gender: Text = None
    upcoming_appts: list[VendorUpcoming] | None = None
    procedures: Any = None
    insurance_coverages: Any = None
    # Fields of the getting-started page's example patient.
    account_activated: Any = None
    requested_access: Any = None
    waitlisted_at: Any = None
    inst_ids: Any = None
    prov_ids: Any = None
    config: Any = None
    unsubscribe_emails: Any = None
    last_import_id: Any = None
    invalid_email: Any = None
    last_sync: Any = None


class VendorAppointment(_BlankIsNoValue):
    id: int
    patient_id: int
    start_time: str
    end_time: Text = None
    provider_id: Any = None
    provider_name: Text = None
    timezone: Any = None
    location_id: Any = None
    institution_id: Any = None
    appointment_type_id: Any = None
    appointment_type: Any = None  # an object with `include[]=appointment_type`, or its name
    patient: Any = None  # with `include[]=patient`
    confirmed: bool | None = None
    cancelled: bool | None = None
    patient_missing: Any = None
    unavailable: Any = None
    checkin_at: Any = None
    note: Any = None
    foreign_id: Any = None
    foreign_id_type: Any = None
    created_at: Text = None
    updated_at: Text = None

    @field_validator("start_time")
    @classmethod
    def _an_instant(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("is not an ISO 8601 date-time") from None
        return value


class VendorProvider(_BlankIsNoValue):
    id: int
    email: Any = None
    first_name: Any = None
    middle_name: Any = None
    last_name: Any = None
    name: Any = None
    display_name: Any = None
    npi: Any = None
    inactive: Any = None
    institution_id: Any = None
    foreign_id: Any = None
    foreign_id_type: Any = None
    location_ids: Any = None
    created_at: Any = None
    updated_at: Any = None
    last_sync_time: Any = None


# -- containers -------------------------------------------------------------------------------


class UnreadableShape(ValueError):
    """A `data` that is none of the container shapes the docs allow (no values in the message)."""


def listed(data: Any, plural: str) -> list[Any]:
    """The raw records of a list answer's `data`, in any of its shapes."""
    if data is None or data == {}:  # (`{}`: Go's `omitempty` left an empty `"patients": []` out)
        return []
    if isinstance(data, dict) and plural in data:
        data = data[plural]
        if data is None:
            return []
    if isinstance(data, list):
        if len(data) == 1 and isinstance(data[0], dict) and set(data[0]) <= {plural}:
            # [{"patients": [...]}], as the patients page prints it; [{}] its empty list left out
            return listed(data[0].get(plural), plural)
        return data
    raise UnreadableShape(f"the vendor's data is not a list of {plural}")


def holds_no_record(data: Any, singular: str, plural: str) -> bool:
    """Whether a single-record answer's `data` holds no record at all: null, `{}`, `[]`, or the
    record under its name null (`{"patient": null}`, `{"patients": []}`)."""
    if isinstance(data, dict) and len(data) == 1 and (singular in data or plural in data):
        data = next(iter(data.values()))
    return data is None or data == {} or data == []


def single(data: Any, singular: str, plural: str) -> Any:
    """The raw record of a single-record answer's `data`, in any of its shapes."""
    if isinstance(data, dict):
        if isinstance(data.get(singular), dict):
            return data[singular]
        if isinstance(data.get(plural), list):
            data = data[plural]
        else:
            return data  # the record itself
    if isinstance(data, list) and len(data) == 1:
        return data[0]
    raise UnreadableShape(f"the vendor's data is not one {singular}")


# -- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be read: its vendor id when known, where and what (no PHI)."""

    record_id: str | None
    field: str
    problem: str

    def describe(self, what: str) -> str:
        """`what` names the record's kind ("Patient", "NexHealth appointment")."""
        who = f"{what} {self.record_id}" if self.record_id else f"A {what} record"
        return f"{who} could not be read: the vendor's field {self.field} {self.problem}"


def read_one(model: type[M], raw: Any, shape: str, drift: Drift) -> M:
    """One record; `UnreadableRecord` when it cannot be read."""
    read, problem = _read(model, raw, shape, drift)
    if read is None:
        assert problem is not None
        raise UnreadableRecord(problem)
    drift.fields(shape, unexpected_only(read))
    return read


def read_many(model: type[M], items: Sequence[Any], shape: str, drift: Drift) -> tuple[list[M], list[Unreadable]]:
    """The records that can be read, and what could not be, one by one."""
    found: list[M] = []
    problems: list[Unreadable] = []
    for raw in items:
        read, problem = _read(model, raw, shape, drift)
        if read is None:
            assert problem is not None
            problems.append(problem)
        else:
            found.append(read)
    drift.fields(shape, unexpected_only(found))
    return found, problems


class UnreadableRecord(ValueError):
    def __init__(self, problem: Unreadable) -> None:
        super().__init__(f"the vendor's field {problem.field} {problem.problem}")
        self.problem = problem


def _read(model: type[M], raw: Any, shape: str, drift: Drift) -> tuple[M | None, Unreadable | None]:
    try:
        return model.model_validate(raw), None
    except ValidationError as exc:
        drift.unreadable(shape, exc)
        error = exc.errors(include_input=False, include_url=False)[0]
        return None, Unreadable(_record_id(raw), _path(error["loc"]), _problem(error))


def _record_id(raw: Any) -> str | None:
    """The vendor id of a raw record, when it is one (an integer or a string of digits)."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is missing"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", "has an unexpected value"))
    if kind.startswith(("model", "dict")):
        return "is not an object"
    return "has an unexpected type or value"
