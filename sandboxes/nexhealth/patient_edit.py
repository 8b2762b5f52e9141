"""The body of ``PATCH /patients/{id}``: the create body's patient fields, each optional.

The docs say only that a patient "can only be edited via PATCH commands prior to being
inserted" (vendor-docs/nexhealth-patients.txt); the body is not shown. The natural reading
is the create body's ``{"patient": {"first_name", "last_name", "email", "bio":
{"date_of_birth", "phone_number", "gender"}}}`` (``patch_body="nested"``); a ``"flat"``
implementation takes those patient fields at the top level, and a ``"fully_flat"`` one
``bio``'s too, beside them (as its ``create_body="fully_flat"`` create does), ignoring a
``bio`` object as it ignores any unknown key: a flat body's names are changed and its
``bio`` silently dropped. Either way a body with none of the fields is 400 ``["No patient
fields given"]`` (so another shape is refused, not silently ignored; under
``"flat_ignoring"`` and ``"fully_flat_ignoring"`` it is a 200 that changes nothing), a
blank one is 400 ``"<path> must not be blank"``, and given values are checked as on create
(same messages). Under ``edit_fields="whole"`` every field a create requires must be given,
the missing ones refused all at once with the create's ``"<path> is required"``, before the
formats are checked (the create's validation reused for the edit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from sandboxes.nexhealth.formats import is_date, is_email, taken_phone
from sandboxes.nexhealth.new_patient import SPELLINGS, canonical_gender
from sandboxes.nexhealth.readings import BioNulls, EditFields, PatchBody
from sandboxes.toolkit.errors import ApiError

__all__ = ["PatientEdit", "read_patient_edit"]

_TOP = ("first_name", "last_name", "email")
_BIO = ("date_of_birth", "phone_number", "gender")


@dataclass(frozen=True)
class PatientEdit:
    """The fields to change (None: left as they are)."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    birth_date: str | None = None
    phone: str | None = None  # 10 digits
    gender: str | None = None
    bio: dict[str, Any] | None = None  # the body's `bio` object as sent (None: the body has none)


def _given(fields: dict[str, Any], names: tuple[str, ...], prefix: str) -> dict[str, str]:
    values: dict[str, str] = {}
    blank: list[str] = []
    for name in names:
        if name not in fields or fields[name] is None:
            continue
        value = fields[name]
        text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if text:
            values[name] = text
        else:
            blank.append(f"{prefix}{name} must not be blank")
    if blank:
        raise ApiError(400, blank)
    return values


def read_patient_edit(
    raw: bytes,
    shape: PatchBody,
    genders: str = "capitalized",
    gender_at: str = "bio",
    phone_input: str = "lenient",
    edit_fields: EditFields = "partial",
    bio_nulls: BioNulls = "taken",
) -> PatientEdit:
    """What a PATCH body asks to change; ``ApiError`` (400) when it is not acceptable (`genders`:
    the reading saying which spellings of ``bio.gender`` are taken; `gender_at`: whether gender
    is in ``bio`` or, ``"top"``, beside it, where ``bio.gender`` is ignored; `phone_input`: the
    phone numbers taken; `edit_fields`: whether every field a create requires is required;
    `bio_nulls`: whether a null in ``bio`` is refused, in Joi's words)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, ["Request body must be a JSON object"])
    patient = body.get("patient") if shape == "nested" else body
    prefix = "patient." if shape == "nested" else ""
    if not isinstance(patient, dict):
        raise ApiError(400, ["No patient fields given"])
    fully_flat = shape in ("fully_flat", "fully_flat_ignoring")
    bio = patient if fully_flat else patient.get("bio")
    bio = bio if isinstance(bio, dict) else {}
    if bio_nulls == "refused" and not fully_flat:  # Joi's `Joi.string()` without `.allow(null)`
        nulls = [f'"{prefix}bio.{key}" must be a string' for key, value in bio.items() if value is None]
        if nulls:
            raise ApiError(400, nulls)
    in_bio = "" if fully_flat else "bio."
    gender_in_bio = fully_flat or gender_at == "bio"  # fully flat: gender beside the rest, as on create
    top = _given(patient, _TOP, prefix)
    more = _given(bio, _BIO if gender_in_bio else _BIO[:2], f"{prefix}{in_bio}")
    if not gender_in_bio:
        more.update(_given(patient, ("gender",), prefix))
    if not top and not more:
        if shape in ("flat_ignoring", "fully_flat_ignoring"):
            return PatientEdit()  # unknown fields ignored, as Rails' strong parameters do
        raise ApiError(400, ["No patient fields given"])
    if edit_fields == "whole":
        missing = [f"{prefix}{name} is required" for name in _TOP if name not in top]
        in_more = _BIO if gender_in_bio else _BIO[:2]
        missing += [f"{prefix}{in_bio}{name} is required" for name in in_more if name not in more]
        if not gender_in_bio and "gender" not in more:
            missing.append(f"{prefix}gender is required")
        if missing:
            raise ApiError(400, missing)
    problems: list[str] = []
    if "email" in top and not is_email(top["email"]):
        problems.append(f"{prefix}email is invalid")
    phone = taken_phone(more["phone_number"], phone_input) if "phone_number" in more else None
    if "phone_number" in more and phone is None:
        problems.append(f"{prefix}{in_bio}phone_number must be a 10-digit phone number")
    if "date_of_birth" in more and not is_date(more["date_of_birth"]):
        problems.append(f"{prefix}{in_bio}date_of_birth must be a date (YYYY-MM-DD)")
    gender = canonical_gender(more["gender"], genders) if "gender" in more else None
    if "gender" in more and gender is None:
        where = f"{in_bio}gender" if gender_in_bio else "gender"
        problems.append(f"{prefix}{where} must be one of {', '.join(SPELLINGS[genders])}")
    if problems:
        raise ApiError(400, problems)
    return PatientEdit(
        first_name=top.get("first_name"),
        last_name=top.get("last_name"),
        email=top.get("email"),
        birth_date=more.get("date_of_birth"),
        phone=phone,
        gender=gender,
        bio=None if fully_flat or not isinstance(patient.get("bio"), dict) else patient["bio"],
    )
