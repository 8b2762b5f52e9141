"""The shapes of NexHealth's `data`, declared once and read leniently (pydantic).

The docs show `data` three ways and never a single-record answer:
- `{"patients": [...]}` for a list (nexhealth-getting-started.txt);
- `"data": [ "patients": [ ...` on the patients page (nexhealth-patients.txt), which reads as
  a list holding `{"patients": [...]}`, or as a bare list of patients;
- other lists (`/providers`, `/appointments`) as a bare list, or under their plural name.

A single patient (`GET /patients/{id}`, the answer to `POST /patients`) is therefore read as
`{"patient": {...}}`, the patient object itself, `{"patients": [one]}` or `[one]`. A patient
needs its `id` (an integer, or a string of digits); every other field is optional and kept as
sent for the mappers. Only what cannot mean a patient is refused (no id, several patients
where one was asked for): pydantic's ValidationError is a ValueError, which the core turns
into a 502.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Len
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = ["one_patient", "patient_list", "record_list"]


class VendorPatient(BaseModel):
    """A NexHealth patient: an id, and whatever else it carries (kept for the mappers)."""

    model_config = ConfigDict(extra="allow")
    id: int


class _Nested(BaseModel):
    patient: VendorPatient


class _OneListed(BaseModel):
    patients: Annotated[list[VendorPatient], Len(1, 1)]


class _Listed(BaseModel):
    patients: list[VendorPatient]


_ONE = Annotated[
    _Nested | _OneListed | VendorPatient | Annotated[list[VendorPatient], Len(1, 1)],
    Field(union_mode="left_to_right"),
]
_MANY = Annotated[
    _Listed | Annotated[list[_Listed], Len(1, 1)] | list[VendorPatient],
    Field(union_mode="left_to_right"),
]
ONE_PATIENT: TypeAdapter[Any] = TypeAdapter(_ONE)
PATIENT_LIST: TypeAdapter[Any] = TypeAdapter(_MANY)


def _dump(patient: VendorPatient) -> dict[str, Any]:
    return patient.model_dump()


def one_patient(data: Any) -> dict[str, Any]:
    """The patient of a single-patient answer's `data`, in any of its shapes."""
    parsed = ONE_PATIENT.validate_python(data)
    if isinstance(parsed, _Nested):
        return _dump(parsed.patient)
    if isinstance(parsed, _OneListed):
        return _dump(parsed.patients[0])
    if isinstance(parsed, list):
        return _dump(parsed[0])
    return _dump(parsed)


def patient_list(data: Any) -> list[dict[str, Any]]:
    """The patients of a list answer's `data`, in any of its shapes."""
    parsed = PATIENT_LIST.validate_python(data)
    if isinstance(parsed, _Listed):
        return [_dump(p) for p in parsed.patients]
    if parsed and isinstance(parsed[0], _Listed):
        return [_dump(p) for p in parsed[0].patients]
    return [_dump(p) for p in parsed]


def record_list(data: Any, plural: str) -> list[dict[str, Any]]:
    """The records of another list (`providers`, `appointments`): a bare list or under `plural`."""
    records = data.get(plural) if isinstance(data, dict) else data
    if isinstance(records, list) and len(records) == 1 and isinstance(records[0], dict) and plural in records[0]:
        records = records[0][plural]  # [{"appointments": [...]}], as the patients page shows lists
    return _RECORDS.validate_python(records)


_RECORDS: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[dict[str, Any]])
