"""Request bodies of the patient writes: ``CreatePatientIn`` and ``UpdatePatientIn``.

The models follow the API reference's schemas (``vendor-docs/dentalpms-api.txt``) with
pydantic v2, so validation errors read as FastAPI's. Unknown body fields are ignored. An
email must have one ``@`` and a dotted domain (the reference types it as a plain string;
the error reads like pydantic's ``EmailStr`` one). A missing or empty body is 422
``Field required`` at ``["body"]``; malformed JSON is 422 ``json_invalid`` at
``["body", <position>]``.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from sandboxes.dentalpms.body_enums import BodyEnums, read_names
from sandboxes.dentalpms.errors import validation_errors
from sandboxes.toolkit.errors import ApiError

__all__ = [
    "REF_FIELDS",
    "REF_INPUTS",
    "BodyDates",
    "BodyPhones",
    "BodyVersions",
    "CreatePatientIn",
    "PatchChartNumbers",
    "PatchNulls",
    "PatientFields",
    "UpdatePatientIn",
    "check_body_dates",
    "check_body_phones",
    "check_body_versions",
    "parse_body",
]

ModelT = TypeVar("ModelT", bound=BaseModel)
#: How ``PATCH`` reads a field sent as null: ``"cleared"`` (the field is set to null) or
#: ``"ignored"`` (as not provided, ``body.model_dump(exclude_none=True)``: one reading of the
#: reference's "only provided fields are modified", which documents no other way to clear one)
#: or ``"refused"`` (a 422 naming each field sent as null, ``Field may not be null``: Django
#: REST Framework's serializer fields are ``allow_null=False`` unless the model column is
#: nullable, and Django keeps text columns non-null; a Laravel rule without ``nullable``
#: refuses a null the same way).
PatchNulls = Literal["cleared", "ignored", "refused"]
#: Whose chart number a ``PATCH`` carrying one is checked against: every other patient's
#: (``"others"``), or every patient's, the patient's own included (``"any"``): a uniqueness check
#: written ``exists(chart_number=X)`` without ``id != self``, so that a PATCH sending the patient's
#: own, unchanged chart number is the 409 "Duplicate chart number". The reference documents that
#: 409 for the create only; its PATCH lists "409: Version conflict".
PatchChartNumbers = Literal["others", "any"]
#: How the patient bodies' dates and date-times are parsed: as pydantic's lax mode does
#: (``"lax"``: a date alone is a midnight date-time, ``2020-03-15``; a date-time is a date
#: when its time is midnight), or strictly by the reference's types (``"strict"``: a
#: ``string (date-time)`` is RFC 3339's ``date-time``, a full date, a time and an offset, as Go's
#: ``time.Time``, Jackson's ``OffsetDateTime`` and ``Instant`` read one; a ``string (date)`` its
#: ``full-date``): anything else is a 422 naming the field.
BodyDates = Literal["lax", "strict"]
_RFC3339_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_RFC3339_DATE = re.compile(r"\d{4}-\d\d-\d\d")
# The reference's `string (date-time)` and `string (date)` fields of CreatePatientIn / UpdatePatientIn.
_DATE_TIME_FIELDS = ("date_time_deceased",)
_DATE_FIELDS = ("date_of_birth", "date_first_visit")
#: How the patient bodies' phone numbers are validated: as any text (``"any"``: the reference
#: types every phone a plain ``string``), or only in international form (``"international"``: a
#: ``+`` and the country code, then the number, formatting allowed, ``+1 555-123-4567``), as a
#: validator parsing a number without a default region takes one: pydantic-extra-types'
#: ``PhoneNumber`` (no ``default_region_code``), class-validator's ``@IsPhoneNumber()`` with no
#: region ("the phone number must start with a plus"), Laravel-phone's ``phone:INTERNATIONAL``.
#: A national number, ``(555) 123-4567``, is a 422 naming the field (the reference's "422:
#: Validation error (invalid gender, email, etc.)"). Stored as sent. (Those validators also ask
#: libphonenumber whether the number is assigned; the sandbox checks the form only.)
BodyPhones = Literal["any", "international"]
_PHONE_FIELDS = ("mobile_phone", "home_phone", "work_phone", "emergency_contact_phone")
_INTERNATIONAL_PHONE = re.compile(r"\+[\s().-]*[1-9]([\s().-]*\d){6,14}")
#: How a write body's ``base_version`` is read: as the reference types it, an ``integer``
#: (``"number"``: pydantic's lax mode takes ``"3"`` too), or only as decimal text (``"text"``:
#: Go's ``encoding/json`` with the ``,string`` option on the field, which writes the record's
#: ``version`` as ``"3"``, ``scalars="strings"``, and reads one back only so: a JSON number is a
#: 400 ``json: invalid use of ,string struct tag, trying to unmarshal unquoted value into int64``).
BodyVersions = Literal["number", "text"]
#: The status of a stale ``base_version``: the reference's 409 "Version conflict", or the 412
#: Precondition Failed a team reading optimistic versions as HTTP preconditions answers
#: (RFC 9110 section 15.5.13: the condition the request carried is false).
VersionConflicts = Literal[409, 412]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_Gender = Literal["male", "female", "non_binary", "other", "unknown", "prefer_not_to_say"]
_Contact = Literal["email", "mail", "none", "phone", "text"]


class PatientFields(BaseModel):
    """Fields shared by CreatePatientIn and UpdatePatientIn (all optional here)."""

    model_config = ConfigDict(extra="ignore")

    first_name: str | None = Field(default=None, min_length=1)
    last_name: str | None = Field(default=None, min_length=1)
    address_line1: str | None = None
    address_line2: str | None = None
    address_note: str | None = None
    allergy_review_status: Literal["not_reviewed", "nkda", "reviewed"] | None = None
    appointment_module_note: str | None = None
    ask_to_arrive_early_mins: int | None = Field(default=None, ge=0, le=120)
    billing_cycle_day: int | None = None
    billing_type_uuid: UUID | None = None
    chart_number: str | None = None
    city: str | None = None
    consent_flags: int | None = None
    country: str | None = None
    date_first_visit: date | None = None
    date_of_birth: date | None = None
    date_time_deceased: datetime | None = None
    email: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None
    employer_uuid: UUID | None = None
    fee_schedule_uuid: UUID | None = None
    gender: _Gender | None = None
    home_phone: str | None = None
    location_uuid: UUID | None = None
    marital_status: (
        Literal["divorced", "domestic_partner", "married", "other", "separated", "single",
                "widowed"] | None
    ) = None  # fmt: skip
    medicaid_id: str | None = None
    medical_summary: str | None = None
    medical_urgent_note: str | None = None
    middle_name: str | None = None
    mobile_phone: str | None = None
    postal_code: str | None = None
    preferred_confirmation_method: _Contact | None = None
    preferred_contact_method: _Contact | None = None
    preferred_language: str | None = None
    preferred_name: str | None = None
    premedication_required: bool | None = None
    primary_provider_uuid: UUID | None = None
    pronoun: Literal["he_him", "not_specified", "other", "she_her", "they_them"] | None = None
    receives_email: bool | None = None
    receives_sms: bool | None = None
    responsible_party_uuid: UUID | None = None
    salutation: str | None = None
    secondary_provider_uuid: UUID | None = None
    social_security_number: str | None = None
    state: str | None = None
    title: str | None = None
    treatment_notes: str | None = None
    work_phone: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise PydanticCustomError(
                "value_error",
                "value is not a valid email address: {reason}",
                {"reason": "The email address is not valid. It must have exactly one @-sign "
                           "and a domain with a dot."},
            )  # fmt: skip
        return value


class CreatePatientIn(PatientFields):
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    status: Literal["active", "archived", "deceased", "inactive", "prospective"] = "active"


class UpdatePatientIn(PatientFields):
    base_version: int


class ArchiveIn(BaseModel):
    """``POST /patients/{uuid}/archive`` as the definitions' archive endpoints take it: the
    version read (``archive_versions="required"``; the patient's own documents no body)."""

    model_config = ConfigDict(extra="ignore")

    base_version: int


class TransitionStatusIn(BaseModel):
    """``POST /patients/{uuid}/transition-status``: the target status and the version read."""

    model_config = ConfigDict(extra="ignore")

    base_version: int
    new_status: Literal["active", "archived", "deceased", "inactive", "prospective"]


# (body field, PatientOut field, "not found" message); the rest copy across by name.
REF_FIELDS = (
    ("primary_provider_uuid", "primary_provider", "Provider not found"),
    ("secondary_provider_uuid", "secondary_provider", "Provider not found"),
    ("location_uuid", "location", "Location not found"),
    ("responsible_party_uuid", "responsible_party", "Guarantor not found"),
    ("fee_schedule_uuid", "fee_schedule", "Fee schedule not found"),
    ("billing_type_uuid", "billing_type", "Billing type not found"),
    ("employer_uuid", "employer", "Employer not found"),
)
REF_INPUTS = {body_field for body_field, _, _ in REF_FIELDS}


def _object_of(body: bytes) -> dict[str, Any] | None:
    """The JSON object `body` holds; None for anything else, which `parse_body` answers."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def check_body_dates(body: bytes, reading: BodyDates) -> None:
    """422 for each date or date-time of a patient `body` that `reading` refuses (``BodyDates``)."""
    data = _object_of(body) if reading != "lax" else None
    if data is None:
        return
    errors = [
        {"type": "datetime_parsing", "loc": ["body", name], "msg": "Input should be an RFC 3339 date-time",
         "input": data[name]}
        for name in _DATE_TIME_FIELDS
        if isinstance(data.get(name), str) and not _RFC3339_DATE_TIME.fullmatch(data[name])
    ] + [
        {"type": "date_parsing", "loc": ["body", name], "msg": "Input should be an RFC 3339 full-date",
         "input": data[name]}
        for name in _DATE_FIELDS
        if isinstance(data.get(name), str) and not _RFC3339_DATE.fullmatch(data[name])
    ]  # fmt: skip
    if errors:
        raise ApiError(422, errors)


def check_body_phones(body: bytes, reading: BodyPhones) -> None:
    """422 for each phone number of a patient `body` that `reading` refuses (``BodyPhones``), in
    pydantic-extra-types' wording."""
    data = _object_of(body) if reading != "any" else None
    if data is None:
        return
    errors = [
        {"type": "value_error", "loc": ["body", name], "msg": "value is not a valid phone number",
         "input": data[name]}
        for name in _PHONE_FIELDS
        if isinstance(data.get(name), str) and not _INTERNATIONAL_PHONE.fullmatch(data[name].strip())
    ]  # fmt: skip
    if errors:
        raise ApiError(422, errors)


def check_body_versions(body: bytes, reading: BodyVersions) -> None:
    """400 for a write `body` whose ``base_version`` is not text when `reading` is ``"text"``
    (``BodyVersions``), as Go's decoder words it; the reason, as Go's, names no field."""
    if reading == "number":
        return
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return  # `parse_body` says so
    if isinstance(data, dict) and "base_version" in data and not isinstance(data["base_version"], str):
        raise ApiError(400, "json: invalid use of ,string struct tag, trying to unmarshal unquoted value into int64")


def parse_body(body: bytes, model: type[ModelT], enums: BodyEnums = "documented") -> ModelT:
    """The request `body` validated as `model`; 422 (FastAPI's wording) when it is not. With
    `enums` ``"names"``, its enum fields are taken only as constants' names (``body_enums``)."""
    if not body.strip():
        raise ApiError(422, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ApiError(
            422,
            [{"type": "json_invalid", "loc": ["body", exc.pos], "msg": "JSON decode error",
              "input": {}, "ctx": {"error": exc.msg}}],
        ) from None  # fmt: skip
    if enums == "names":
        data = read_names(data, model)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, validation_errors(exc, ("body",))) from None
