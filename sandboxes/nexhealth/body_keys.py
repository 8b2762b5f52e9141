"""The keys a create or edit body declares under the readings that shape it, and the refusal of
the others under ``unknown_keys="refused"`` (``readings.Reading``), in its framework's words.

The docs show no write body (vendor-docs/nexhealth-patients.txt lists a create's required
fields only), so an implementation declares what it takes and nothing more: the fields the
``create_body`` / ``patch_body`` shape nests where it nests them, gender where ``gender_at``
puts it, ``location_id`` at the top where ``create_location`` / ``edit_location`` read it
there, and a create's ``provider``. A key of none of these is unknown, wherever it is.
"""

from __future__ import annotations

from typing import Any

import orjson

from sandboxes.nexhealth.readings import ErrorBody, Reading

__all__ = ["Declared", "create_keys", "edit_keys", "sent_fields", "undeclared", "unknown_key_messages"]

Declared = dict[str, "Declared | None"]
"""A body's keys: each to the keys of the object it holds, or to None where it holds a value."""


def _patient_keys(gender_at: str, fully_flat: bool) -> Declared:
    names: Declared = {"first_name": None, "last_name": None, "email": None}
    if fully_flat:  # `bio`'s fields beside the names, gender among them
        return {**names, "date_of_birth": None, "phone_number": None, "gender": None}
    bio: Declared = {"date_of_birth": None, "phone_number": None}
    if gender_at == "bio":
        return {**names, "bio": {**bio, "gender": None}}
    return {**names, "bio": bio, "gender": None}


def create_keys(reading: Reading) -> Declared:
    """The keys a ``POST /patients`` body may hold under `reading`."""
    patient = _patient_keys(reading.gender_at, reading.create_body == "fully_flat")
    keys: Declared = {"provider": {"provider_id": None}}
    keys.update({"patient": patient} if reading.create_body == "nested" else patient)
    if reading.create_location == "body":
        keys["location_id"] = None
    return keys


def edit_keys(reading: Reading) -> Declared:
    """The keys a ``PATCH /patients/{id}`` body may hold under `reading`."""
    patient = _patient_keys(reading.gender_at, reading.patch_body in ("fully_flat", "fully_flat_ignoring"))
    keys: Declared = {"patient": patient} if reading.patch_body == "nested" else dict(patient)
    if reading.edit_location == "body":
        keys["location_id"] = None
    return keys


def sent_fields(raw: bytes, shape: str) -> dict[str, Any]:
    """The patient fields of a write body `raw` as it sent them: its ``patient`` object where
    `shape` nests them (``"nested"``), else the body's top level without ``provider`` and
    ``location_id`` (the ``edit_answer="sent"`` echo)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(body, dict):
        return {}
    if shape == "nested":
        patient = body.get("patient")
        return dict(patient) if isinstance(patient, dict) else {}
    return {key: value for key, value in body.items() if key not in ("provider", "location_id", "id")}


def undeclared(body: Any, declared: Declared, at: str = "") -> list[str]:
    """The dotted paths of `body`'s keys that `declared` does not hold, in the body's order."""
    if not isinstance(body, dict):
        return []
    found: list[str] = []
    for key, value in body.items():
        if key not in declared:
            found.append(f"{at}{key}")
        elif (inner := declared[key]) is not None:
            found += undeclared(value, inner, f"{at}{key}.")
    return found


def unknown_key_messages(paths: list[str], style: ErrorBody) -> list[str]:
    """The refusal of the keys at `paths`, as the framework of the ``error_body`` reading words
    it: NestJS's ``forbidNonWhitelisted`` one message a key, after its parent's path as
    ValidationPipe prefixes a nested object's (``patient.property bio should not exist``);
    FastAPI's ``extra="forbid"`` one a key (``<path> is not permitted``, which
    ``envelope.fastapi_errors`` writes as Pydantic's ``extra_forbidden``); Django REST
    Framework's usual ``validate()`` comparing ``initial_data`` with its fields, one message
    without a field (``Unknown field(s): bio``); else Rails' ``UnpermittedParameters``, one
    message naming the keys without their paths (``found unpermitted parameters: :bio, :gender``)."""
    if not paths:
        return []
    if style == "nestjs":
        return [_nest_message(path) for path in paths]
    if style == "pydantic":
        return [f"{path} is not permitted" for path in paths]
    keys = list(dict.fromkeys(path.rsplit(".", 1)[-1] for path in paths))
    if style == "fields":
        return ["Unknown field(s): " + ", ".join(keys)]
    plural = "s" if len(keys) > 1 else ""
    return [f"found unpermitted parameter{plural}: " + ", ".join(f":{key}" for key in keys)]


def _nest_message(path: str) -> str:
    parent, _, key = path.rpartition(".")
    message = f"property {key} should not exist"
    return f"{parent}.{message}" if parent else message
