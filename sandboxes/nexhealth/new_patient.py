"""The body of ``POST /patients``, read and checked (vendor-docs/nexhealth-patients.txt: required fields).

``{"provider": {"provider_id": N}, "patient": {"first_name", "last_name", "email", "bio":
{"date_of_birth", "phone_number", "gender"}}}``; other body fields are ignored. First every
missing or blank field (one ``"<path> is required"`` each), then every bad format, each as
one 400 listing all of its kind. Under the ``create_body="flat"`` reading the patient fields
are at the top level and ``provider`` is optional (None: the caller picks one); under
``"fully_flat"`` so are ``bio``'s (``date_of_birth``, ``phone_number``, ``gender``: no ``bio``
object at all, the docs listing the required fields without nesting any); the
``genders`` reading says which spellings of ``bio.gender`` are taken, and ``gender_at`` whether
gender is taken in ``bio`` or beside it (``"top"``: ``patient.gender``; ``bio.gender`` ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from sandboxes.nexhealth.formats import is_date, is_email, taken_phone
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError

__all__ = ["GENDERS", "SPELLINGS", "NewPatient", "canonical_gender", "read_new_patient"]

#: The genders ``POST /patients`` takes (exact case), as stored.
GENDERS = ("Male", "Female", "Other")
#: The spellings each ``genders`` reading takes and serves, in ``GENDERS`` order.
SPELLINGS: dict[str, tuple[str, str, str]] = {
    "capitalized": GENDERS,
    "lower": ("male", "female", "other"),
    "letters": ("M", "F", "O"),
    "upper": ("MALE", "FEMALE", "OTHER"),
}


def canonical_gender(value: str, genders: str) -> str | None:
    """The stored gender (one of ``GENDERS``) `value` spells under the `genders` reading, or None."""
    spelled = SPELLINGS[genders]
    return GENDERS[spelled.index(value)] if value in spelled else None


@dataclass(frozen=True)
class NewPatient:
    provider_id: int | None  # None: not given (``create_body="flat"`` and ``"fully_flat"`` only)
    first_name: str
    last_name: str
    email: str
    birth_date: str  # YYYY-MM-DD
    phone: str  # 10 digits
    gender: str  # one of GENDERS


# Where each ``gender_at`` reading takes gender; its value is kept as ``bio.gender`` either way.
_GENDER_PATHS = {"bio": "bio.gender", "top": "gender"}


def _object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _required_fields(body: JsonObject, shape: str, gender_at: str = "bio") -> dict[str, str]:
    """Each required field's key (``first_name``, ``bio.date_of_birth``, ``bio.gender``...) ->
    its trimmed text (integers written out); 400 when any is missing. Paths are named as the
    body of the ``create_body`` reading `shape` has them (``patient.`` only in the nested body,
    no ``bio.`` in the fully flat one; ``gender`` beside ``bio`` under ``gender_at="top"``)."""
    provider = _object(body.get("provider"))
    patient = _object(body.get("patient")) if shape == "nested" else body
    bio = patient if shape == "fully_flat" else _object(patient.get("bio"))
    at = "patient." if shape == "nested" else ""
    in_bio = "" if shape == "fully_flat" else "bio."
    gender_path = "gender" if shape == "fully_flat" else _GENDER_PATHS[gender_at]
    paths = {  # key -> (path in the body, value)
        "provider.provider_id": ("provider.provider_id", provider.get("provider_id")),
        "first_name": (f"{at}first_name", patient.get("first_name")),
        "last_name": (f"{at}last_name", patient.get("last_name")),
        "email": (f"{at}email", patient.get("email")),
        "bio.date_of_birth": (f"{at}{in_bio}date_of_birth", bio.get("date_of_birth")),
        "bio.phone_number": (f"{at}{in_bio}phone_number", bio.get("phone_number")),
        "bio.gender": (f"{at}{gender_path}", (bio if gender_at == "bio" else patient).get("gender")),
    }
    values: dict[str, str] = {}
    for key, (_, value) in paths.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            values[key] = value.strip()
    optional = set() if shape == "nested" else {"provider.provider_id"}
    missing = [f"{path} is required" for key, (path, _) in paths.items() if key not in values and key not in optional]
    if missing:
        raise ApiError(400, missing)
    return values


def read_new_patient(
    raw: bytes,
    shape: str = "nested",
    genders: str = "capitalized",
    gender_at: str = "bio",
    phone_input: str = "lenient",
) -> NewPatient:
    """The patient a ``POST /patients`` body asks for; ``ApiError`` (400) when it is not
    acceptable. `shape`, `genders`, `gender_at` and `phone_input` are the ``create_body``,
    ``genders``, ``gender_at`` and ``phone_input`` readings (``gender_at`` means nothing to a
    fully flat body)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, ["Request body must be a JSON object"])
    at = "patient." if shape == "nested" else ""
    in_bio = "" if shape == "fully_flat" else "bio."
    gender_path = "gender" if shape == "fully_flat" else _GENDER_PATHS[gender_at]
    values = _required_fields(body, shape, gender_at)
    problems = []
    provider_id = values.get("provider.provider_id")
    if provider_id is not None and not (provider_id.isascii() and provider_id.isdigit()):
        problems.append("provider.provider_id must be an integer")
    email = values["email"]
    if not is_email(email):
        problems.append(f"{at}email is invalid")
    phone = taken_phone(values["bio.phone_number"], phone_input)
    if phone is None:
        problems.append(f"{at}{in_bio}phone_number must be a 10-digit phone number")
    birth_date = values["bio.date_of_birth"]
    if not is_date(birth_date):
        problems.append(f"{at}{in_bio}date_of_birth must be a date (YYYY-MM-DD)")
    gender = canonical_gender(values["bio.gender"], genders)
    if gender is None:
        problems.append(f"{at}{gender_path} must be one of {', '.join(SPELLINGS[genders])}")
    if problems:
        raise ApiError(400, problems)
    assert gender is not None and phone is not None
    return NewPatient(
        provider_id=int(provider_id) if provider_id is not None else None,
        first_name=values["first_name"],
        last_name=values["last_name"],
        email=email,
        birth_date=birth_date,
        phone=phone,
        gender=gender,
    )
