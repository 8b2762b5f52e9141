"""The body of ``POST /patients``, read and checked (vendor-docs/nexhealth-patients.txt: required fields).

``{"provider": {"provider_id": N}, "patient": {"first_name", "last_name", "email", "bio":
{"date_of_birth", "phone_number", "gender"}}}``; other body fields are ignored. First every
missing or blank field (one ``"<path> is required"`` each), then every bad format, each as
one 400 listing all of its kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from sandboxes.nexhealth.formats import is_date, is_email, phone_digits
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError

__all__ = ["GENDERS", "NewPatient", "read_new_patient"]

#: The genders ``POST /patients`` takes (exact case).
GENDERS = ("Male", "Female", "Other")


@dataclass(frozen=True)
class NewPatient:
    provider_id: int
    first_name: str
    last_name: str
    email: str
    birth_date: str  # YYYY-MM-DD
    phone: str  # 10 digits
    gender: str  # one of GENDERS


def _object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _required_fields(body: JsonObject) -> dict[str, str]:
    """Each required field's path -> its trimmed text (integers written out); 400 when any is missing."""
    provider = _object(body.get("provider"))
    patient = _object(body.get("patient"))
    bio = _object(patient.get("bio"))
    fields = {
        "provider.provider_id": provider.get("provider_id"),
        "patient.first_name": patient.get("first_name"),
        "patient.last_name": patient.get("last_name"),
        "patient.email": patient.get("email"),
        "patient.bio.date_of_birth": bio.get("date_of_birth"),
        "patient.bio.phone_number": bio.get("phone_number"),
        "patient.bio.gender": bio.get("gender"),
    }
    values: dict[str, str] = {}
    for path, value in fields.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            values[path] = value.strip()
    missing = [f"{path} is required" for path in fields if path not in values]
    if missing:
        raise ApiError(400, missing)
    return values


def read_new_patient(raw: bytes) -> NewPatient:
    """The patient a ``POST /patients`` body asks for; ``ApiError`` (400) when it is not acceptable."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, ["Request body must be a JSON object"])
    values = _required_fields(body)
    problems = []
    provider_id = values["provider.provider_id"]
    if not (provider_id.isascii() and provider_id.isdigit()):
        problems.append("provider.provider_id must be an integer")
    email = values["patient.email"]
    if not is_email(email):
        problems.append("patient.email is invalid")
    phone = phone_digits(values["patient.bio.phone_number"])
    if len(phone) != 10:
        problems.append("patient.bio.phone_number must be a 10-digit phone number")
    birth_date = values["patient.bio.date_of_birth"]
    if not is_date(birth_date):
        problems.append("patient.bio.date_of_birth must be a date (YYYY-MM-DD)")
    gender = values["patient.bio.gender"]
    if gender not in GENDERS:
        problems.append("patient.bio.gender must be one of Male, Female, Other")
    if problems:
        raise ApiError(400, problems)
    return NewPatient(
        provider_id=int(provider_id),
        first_name=values["patient.first_name"],
        last_name=values["patient.last_name"],
        email=email,
        birth_date=birth_date,
        phone=phone,
        gender=gender,
    )
