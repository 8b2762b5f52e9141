"""Dental PMS answers as declared models: what the mappers may read, in one form (pure).

Every answer (a patient, a list envelope, a sub-record) is validated by the model of its
shape before a mapper sees it. The models accept every spelling the API reference
(`vendor-docs/dentalpms-api.txt`) allows or leaves open and hand the mappers one canonical
form (`canonical`), so the mappers stay plain dict readers:
- booleans as JSON booleans, or as the strings `"true"`/`"false"`, `"1"`/`"0"` (or 1/0);
- integers (`version`, `total`, `page`, a blood pressure) as numbers or decimal strings (a
  patient's `version_as_text` says which its `version` was: writes.py sends it back so);
- text given as a number (a phone, a postal code) is its decimal text;
- decimals (`bmi`, `temperature_f`, ...; documented as strings) as strings or numbers, in
  scientific notation too (`"1.5E+2"`: Java's `BigDecimal.toString()` once trailing zeros are
  stripped), read as the plain decimal (`"150"`);
- date-times with `Z`, an offset, or none (read as UTC), kept as written (the mappers'
  `instant` reads all three); a date documented as a date but sent as a date-time is the
  midnight it holds: the day as written at midnight (`1980-05-02T00:00:00Z`, `...T00:00:00-05:00`),
  else the UTC midnight nearest the instant (`1980-05-01T19:00:00-05:00` and
  `1980-05-01T22:00:00Z` are the 2nd: a midnight converted to another zone on the way out);
- times `HH:MM[:SS[.ffffff]]`, with their offset when they give one (`Z`, `-05:00`), or a
  date-time whose time part (and offset) is taken;
- a vital-signs `date_taken` written as a date-time whose time of day is `time_taken`'s
  (`2024-05-01T19:30:00Z` with `19:30:00`: a .NET `DateTime` holding the moment taken, and its
  `TimeOfDay`) is that moment, not a converted midnight: its day and time as written, at its
  offset (none: UTC, as timestamps are read). A converted midnight matches only a reading taken
  at the very second of that zone's midnight (`19:00:00` for a UTC midnight written at -05:00);
- references as `{"uuid", "name"}` (also `id` for `uuid`), or a bare uuid / name string; an
  empty one (`null`, `{}`, or PHP's empty array `[]`) is none;
- an optional field null or absent alike;
- a date or date-time that stands in for none is none: the zero value of a non-nullable date
  type (`0001-01-01`, Go's `time.Time{}` and .NET's `DateTime.MinValue`; MySQL's
  `0000-00-00`) or the open end `9999-12-31`; a `deleted_at` of `0001-01-01T00:00:00Z` is a
  record never deleted;
- enum values (the reference lists them in lower snake case, `on_hold`) in any case or
  spelling of the same words: `ON_HOLD` (a Java enum's name), `OnHold` (.NET's), `on-hold`;
  a value the reference does not list is kept, lower-cased;
- a vital sign of 0 or less (`0`, `"0.00"`, `-1`) is one not taken: the reference marks none
  of them required nor says how an unmeasured one is written, and a service whose numbers are
  non-nullable (Go's `int`, C#'s `int`/`decimal`, a `NOT NULL DEFAULT 0` column) writes its
  type's zero; no blood pressure, pulse, rate, saturation, temperature, height, weight or BMI
  of a patient measured is 0, and a BMI-for-age percentile is above the 0th by definition;
- a patient whose `status` is `archived` is a deleted one, with or without a `deleted_at`
  ("Archived status requires the archive endpoint", which "Sets deleted_at timestamp"): a
  service may leave the soft-delete column out of its answers (Laravel's `$hidden`), and a
  record of any kind archived "by setting status to 'archived'" (as the alerts are) is too;
- a field the reference gives a default ("Defaults to 'active'", "Defaults to true") that is
  absent or null has that default: a service may leave defaults out (FastAPI's
  `response_model_exclude_defaults`): a patient's `status`, an allergy's `status_is_active`,
  a disease's `problem_status`.
An answer wrapped in `{"data": ...}` is the answer it wraps: a record (a patient, a vital-signs
reading) or a list envelope. The reference lists each answer's fields at the top level, yet a
Laravel API resource (`JsonResource`) wraps itself so unless told not to, and NestJS's documented
response-mapping interceptor (`map(data => ({ data }))`) wraps every answer. No answer has a
`data` object of its own (the cursor list's `data` is a list), so one with a `data` object and no
`id` is a wrapper (`_unwrapped`).
Only what cannot mean anything (no `id`, a date that is no date, a list where a text is
documented) makes a record unreadable; fields the mappers never read are declared `Any`,
so they cannot. Every documented field is declared, so `Drift` reports only new ones.
"""

from __future__ import annotations

import decimal
import re
from datetime import date, datetime, time
from typing import Annotated, Any
from uuid import UUID

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from gateway.contract import VendorModel
from gateway.contract.lenient import Text
from mappings.fhirjson import midnight_day
from mappings.ids import CANONICAL_UUID
from mappings.plain import plain

# The `deleted_at` of a patient archived by its status alone whose answer has no `updated_at`
# either: a deletion without a known time (only its truth is ever read).
ARCHIVED_BY_STATUS = "1970-01-01T00:00:00Z"
_INT_TEXT = re.compile(r"[+-]?\d+")
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# A two-digit exponent at most: no measurement or balance needs more, and the plain text of
# `1E+999999` would be a million digits.
_SCIENTIFIC_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d{1,2}")


def _boolean(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError("is not a boolean")


def _integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError("is not an integer")


def _decimal(value: Any) -> str | None:
    """A decimal as its text; an empty or non-numeric text is no value (nothing to show)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("is not a number")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_TEXT.fullmatch(text):
            return text
        if _SCIENTIFIC_TEXT.fullmatch(text):
            # `BigDecimal.stripTrailingZeros().toString()` writes 150 as "1.5E+2" (and 60 as
            # "6E+1"): the same number, which the mappers read as plain decimal text.
            return format(decimal.Decimal(text), "f")
        return None
    raise ValueError("is not a number")


def _measurement(value: Any) -> str | None:
    """A vital sign's decimal text, None when not taken: 0 or less is a non-nullable type's stand-in
    for none (module docstring), never a measurement; served, it would be a blood pressure of
    0/0 mm[Hg] or a weight of 0 lb."""
    text = _decimal(value)
    # Not positive: a minus sign, or no digit but zeros (`0`, `0.0`, `+.0`, `-0`); read from the
    # text, as `Decimal(text) <= 0` reads it, without making the Decimal.
    return None if text is None or text.startswith("-") or not text.lstrip("+").strip("0.") else text


def _fail(problem: str) -> Any:
    raise ValueError(problem)


_ZERO_DATE = re.compile(r"0{4}-0{2}-0{2}")  # MySQL's zero date, which no date type reads
_STAND_IN_YEARS = (1, 9999)  # `date.min` / `date.max`: a type's zero value or an open end, never a real date


def _stand_in(text: str) -> bool:
    """A date or date-time written for "none" (module docstring): no real date is in year 1 or 9999."""
    return bool(_ZERO_DATE.match(text)) or (text[:4].isdigit() and int(text[:4]) in _STAND_IN_YEARS)


def _day(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("is not a date")
    text = value.strip()
    if _stand_in(text):
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError("is not a date") from None
    # A date documented `string (date)` but written as a date-time: the day of the midnight it
    # holds (`midnight_day`, shared by every vendor's dates).
    return day.isoformat() if len(text) == len("YYYY-MM-DD") else midnight_day(text, day).isoformat()


def _timestamp(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("is not a date-time")
    text = value.strip()
    if _stand_in(text):
        return None
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("is not a date-time") from None
    return text


_HH_MM_SS = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d")  # the documented form, read as itself


def _clock(value: Any) -> str | None:
    """`HH:MM:SS`, or `HH:MM:SS±HH:MM` when the time names its offset. The reference types
    `time_taken` as `string (time)`, OpenAPI's RFC 3339 `full-time`, which carries one
    (`19:30:00Z`, `14:30:00-05:00`): dropping it would read a UTC time as the clinic's."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("is not a time")
    if _HH_MM_SS.fullmatch(value):
        return value
    text = value.strip()
    if "T" in text or " " in text:  # a date-time: its time part (and offset, if any)
        if _stand_in(text):  # a zero date-time: no time was written
            return None
        text = re.split(r"[T ]", text, maxsplit=1)[1]
    if text.endswith("z"):  # RFC 3339 allows a lower-case Z
        text = text[:-1] + "Z"
    try:
        return time.fromisoformat(text).replace(microsecond=0).isoformat()
    except ValueError:
        raise ValueError("is not a time") from None


def _reference(value: Any) -> Any:
    # An empty array is no reference either: PHP's `json_encode` writes an empty array as `[]`,
    # and a Laravel `JsonResource` over null resolves to one, so a free-text medication's
    # `medication_definition` comes as `[]` where the reference types an object.
    if value is None or value == "" or value == [] or isinstance(value, dict):
        return value or None
    if isinstance(value, str):
        try:
            return {"uuid": str(UUID(value.strip()))}
        except ValueError:
            return {"name": value}
    raise ValueError("is not a reference")


def _squashed(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _enum(*values: str, default: str | None = None) -> Any:
    """A validator reading any spelling of one of `values` (module docstring) as it; an absent
    or empty value is `default`."""
    spellings = {_squashed(v): v for v in values}
    exact = frozenset(values)  # the documented spelling, as nearly every answer writes it

    def read(value: Any) -> str | None:
        if type(value) is str and value in exact:  # (a list or dict is not hashable: checked below)
            return value
        if value is None or value == "":
            return default
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValueError("is not text")
        text = str(value).strip()
        return spellings.get(_squashed(text), text.lower())

    return BeforeValidator(read)


def _defaulted(default: bool) -> Any:
    """A boolean that is `default` when absent or null (module docstring)."""
    return BeforeValidator(lambda value: default if value is None or value == "" else _boolean(value))


Bool = Annotated[bool | None, BeforeValidator(_boolean)]
Int = Annotated[int | None, BeforeValidator(_integer)]
Decimal = Annotated[str | None, BeforeValidator(_decimal)]
Measurement = Annotated[str | None, BeforeValidator(_measurement)]
Day = Annotated[str | None, BeforeValidator(_day)]
Timestamp = Annotated[str | None, BeforeValidator(_timestamp)]
Clock = Annotated[str | None, BeforeValidator(_clock)]


def _unwrapped(value: Any) -> Any:
    """`value`, or the answer it wraps when it is a `{"data": {...}}` wrapper (module docstring)."""
    if isinstance(value, dict) and isinstance(value.get("data"), dict) and "id" not in value:
        return value["data"]
    return value


def _required_id(value: Any) -> str:
    """A record id: a uuid (as documented), in its canonical spelling (the ids we serve
    are built from it, mappings.ids)."""
    if isinstance(value, str):
        if CANONICAL_UUID.fullmatch(value):  # as documented: already canonical
            return value
        try:
            return str(UUID(value.strip()))
        except ValueError:
            pass
    raise ValueError("is not a uuid")


VendorId = Annotated[str, BeforeValidator(_required_id)]


class VendorRef(VendorModel):
    """ "Lightweight reference to a related entity — exposes UUID and optional name"."""

    uuid: Text = Field(default=None, validation_alias=AliasChoices("uuid", "id"))
    name: Text = None


Ref = Annotated[VendorRef | None, BeforeValidator(_reference)]


class VendorPatient(VendorModel):
    """`PatientOut` (Get patient by ID, list items, create/update/archive answers)."""

    id: VendorId
    first_name: Text = None
    middle_name: Text = None
    last_name: Text = None
    preferred_name: Text = None
    gender: Annotated[str | None, _enum("male", "female", "non_binary", "other", "unknown", "prefer_not_to_say")] = None
    date_of_birth: Day = None
    date_time_deceased: Timestamp = None
    deleted_at: Timestamp = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    version: Int = None
    # "Patient lifecycle status. One of: active, inactive, prospective, deceased, archived.
    # Defaults to 'active'."
    status: Annotated[
        str | None, _enum("active", "inactive", "prospective", "deceased", "archived", default="active")
    ] = "active"
    chart_number: Text = None
    email: Text = None
    home_phone: Text = None
    mobile_phone: Text = None
    work_phone: Text = None
    address_line1: Text = None
    address_line2: Text = None
    city: Text = None
    state: Text = None
    postal_code: Text = None
    country: Text = None
    marital_status: Annotated[
        str | None,
        _enum("divorced", "domestic_partner", "married", "other", "separated", "single", "widowed"),
    ] = None
    preferred_language: Text = None
    allergy_review_status: Annotated[str | None, _enum("not_reviewed", "nkda", "reviewed")] = None
    # Documented, not mapped: declared so they are not drift, typed loosely so they can
    # never make a patient unreadable.
    address_note: Any = None
    appointment_module_note: Any = None
    ask_to_arrive_early_mins: Any = None
    balance_0_30: Any = None
    balance_31_60: Any = None
    balance_61_90: Any = None
    balance_over_90: Any = None
    balance_total: Any = None
    billing_cycle_day: Any = None
    billing_type: Any = None
    consent_flags: Any = None
    date_first_visit: Any = None
    emergency_contact_name: Any = None
    emergency_contact_phone: Any = None
    employer: Any = None
    estimated_balance: Any = None
    fee_schedule: Any = None
    insurance_estimate: Any = None
    latest_vitals_date: Any = None
    location: Any = None
    medicaid_id: Any = None
    medical_summary: Any = None
    medical_urgent_note: Any = None
    payment_plan_due: Any = None
    potential_duplicates: Any = None
    preferred_confirmation_method: Any = None
    preferred_contact_method: Any = None
    premedication_required: Any = None
    primary_provider: Any = None
    pronoun: Any = None
    receives_email: Any = None
    receives_sms: Any = None
    responsible_party: Any = None
    salutation: Any = None
    scheduling_restricted: Any = None
    secondary_provider: Any = None
    smoking_snomed: Any = None
    social_security_number: Any = None  # never mapped, never logged
    title: Any = None
    treatment_notes: Any = None

    # Not the vendor's: whether it wrote `version` as text (`"3"`), as a service whose integers are
    # written so may read a write's `base_version` only so (writes.py `_based`).
    version_as_text: bool = False

    @model_validator(mode="before")
    @classmethod
    def _as_answered(cls, value: Any) -> Any:
        value = _unwrapped(value)
        if isinstance(value, dict) and isinstance(value.get("version"), str):
            return {**value, "version_as_text": True}
        return value

    @model_validator(mode="after")
    def _archived_by_status(self) -> VendorPatient:
        """An archived patient is a deleted one (module docstring); served without `deleted_at`,
        its deletion is dated by its last update (the archive bumps `updated_at`), else a stand-in."""
        if self.status == "archived" and self.deleted_at is None:
            self.deleted_at = self.updated_at or ARCHIVED_BY_STATUS
        return self


class _SubRecord(VendorModel):
    id: VendorId
    patient: Any = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    deleted_at: Timestamp = None
    version: Int = None

    @model_validator(mode="before")
    @classmethod
    def _wrapped(cls, value: Any) -> Any:
        return _unwrapped(value)


class VendorAllergy(_SubRecord):
    allergy_definition: Ref = None
    date_adverse_reaction: Day = None
    reaction: Text = None
    severity: Text = None
    snomed_reaction: Text = None
    status_is_active: Annotated[bool, _defaulted(True)] = True  # "Defaults to true."
    interaction_warnings: Any = None


class VendorMedication(_SubRecord):
    medication_definition: Ref = None
    med_descript: Text = None
    rx_cui: Text = None
    status: Annotated[str | None, _enum("active", "discontinued", "on_hold", "completed")] = None
    date_start: Day = None
    date_stop: Day = None
    discontinuation_reason: Text = None
    dosage: Text = None
    frequency: Text = None
    route: Text = None
    patient_note: Text = None
    provider: Any = None
    is_cpoe: Any = None
    interaction_warnings: Any = None


class VendorDisease(_SubRecord):
    disease_definition: Ref = None
    # "Lifecycle status of the problem. One of: active, resolved, inactive. Defaults to 'active'."
    problem_status: Annotated[str | None, _enum("active", "resolved", "inactive", default="active")] = "active"
    date_start: Day = None
    date_stop: Day = None
    patient_note: Text = None
    # "Clinical function classification per Meaningful Use. One of: problem, cognitive_result,
    # cognitive_problem, functional_result, functional_problem. Defaults to 'problem'."
    function_status: Annotated[
        str | None,
        _enum(
            "problem",
            "cognitive_result",
            "cognitive_problem",
            "functional_result",
            "functional_problem",
            default="problem",
        ),
    ] = "problem"
    snomed_problem_type: Any = None


_CLOCK = re.compile(r"(\d\d:\d\d:\d\d)(\.\d+)?")  # the time of day leading a time or a date-time's time part


def _taken_at_once(value: Any) -> Any:
    """A vital-signs reading whose `date_taken` is the moment taken (module docstring), as its
    day and its time with the offset written; any other reading as it came."""
    if not isinstance(value, dict):
        return value
    day, clock = value.get("date_taken"), value.get("time_taken")
    if not isinstance(day, str) or not isinstance(clock, str) or "T" not in day:
        return value
    written = day.strip()
    part = written.split("T", 1)[1]
    held, said = _CLOCK.match(part), _CLOCK.match(clock.strip())
    if held is None or said is None or held.group(1) != said.group(1) or held.group(1) == "00:00:00":
        return value
    return {**value, "date_taken": written[:10], "time_taken": held.group(0) + (part[held.end() :] or "Z")}


class VendorVitals(_SubRecord):
    date_taken: Annotated[str, BeforeValidator(lambda v: _day(v) or _fail("is missing"))]
    time_taken: Clock = None
    bp_systolic: Measurement = None
    bp_diastolic: Measurement = None
    pulse: Measurement = None
    respiration_rate: Measurement = None
    oxygen_saturation: Measurement = None
    temperature_f: Measurement = None
    height_inches: Measurement = None
    weight_lbs: Measurement = None
    bmi: Measurement = None
    bmi_percentile: Measurement = None
    abnormal_flags: Any = None
    created_by: Any = None
    has_followup_plan: Any = None
    is_procedure_blocking: Any = None
    note: Any = None
    provider: Any = None
    weight_code: Any = None

    @model_validator(mode="before")
    @classmethod
    def _moment_taken(cls, value: Any) -> Any:
        return _taken_at_once(_unwrapped(value))  # whichever of the two runs first


def _listed(value: Any) -> Any:
    return [] if value is None else value  # a null list holds nothing


Listed = Annotated[list[Any], BeforeValidator(_listed)]


# A list answer without a body is the empty list: the reference documents no status code for a
# list, and a service may answer one with no records `204 No Content` (Spring's
# `ResponseEntity.noContent()`, ASP.NET's `NoContent()`), whose body the client reads as None.
_NO_PAGE: dict[str, Any] = {"items": [], "total": 0}
_NO_CURSOR_PAGE: dict[str, Any] = {"data": []}


class VendorPageList(VendorModel):
    """A page list: `{"items", "page", "page_size", "total"}` (items read one by one); no body
    at all (a 204) is an empty one, none in total."""

    items: Listed
    page: Int = None
    page_size: Int = None
    total: Int = None

    @model_validator(mode="before")
    @classmethod
    def _no_content(cls, value: Any) -> Any:
        return dict(_NO_PAGE) if value is None else _unwrapped(value)

    def has_more(self, page: int, asked: int) -> bool:
        """Whether a page follows page `page` (asked with page size `asked`). Without a
        readable `total`, a full page may have a successor (one more call tells)."""
        size = self.page_size or asked
        if self.total is not None:
            return page * size < self.total and bool(self.items)
        return len(self.items) >= size


class VendorPageInfo(VendorModel):
    """The reference names only `page_info.end_cursor` (the `after` parameter's doc); the
    rest is open: `has_next_page` or its GraphQL (`hasNextPage`) or `has_more` spelling, and
    `endCursor` / `next_cursor` for the cursor are read too."""

    end_cursor: Text = Field(default=None, validation_alias=AliasChoices("end_cursor", "endCursor", "next_cursor"))
    has_next_page: Bool = Field(default=None, validation_alias=AliasChoices("has_next_page", "hasNextPage", "has_more"))
    start_cursor: Any = None
    has_previous_page: Any = None


class VendorCursorList(VendorModel):
    """The cursor list: `{"data", "page_info": {"end_cursor", "has_next_page"}}`; no body at
    all (a 204) is an empty one."""

    data: Listed
    page_info: VendorPageInfo | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_content(cls, value: Any) -> Any:
        return dict(_NO_CURSOR_PAGE) if value is None else _unwrapped(value)

    def following(self, asked: int) -> str | None:
        """The cursor of the next page, or None on the last. `has_next_page` absent (or the
        whole `page_info`) is read from the page: a full page may have a successor."""
        info = self.page_info or VendorPageInfo()
        if not info.end_cursor or not self.data:
            return None
        if info.has_next_page is None:
            return info.end_cursor if len(self.data) >= asked else None
        return info.end_cursor if info.has_next_page else None


def is_deleted(raw: Any) -> bool:
    """Whether a record, before it is read, says it was soft-deleted: a `deleted_at` that is a
    date-time, not one standing in for none, or a `status` of `archived` in any spelling (module
    docstring); a `deleted_at` that cannot be read counts (never serve what may be deleted)."""
    value = raw.get("deleted_at") if isinstance(raw, dict) else None
    status = raw.get("status") if isinstance(raw, dict) else None
    if isinstance(status, str) and _squashed(status) == "archived":
        return True
    try:
        return _timestamp(value) is not None
    except ValueError:
        return True


def owner_of(record: dict[str, Any]) -> str | None:
    """The uuid of the patient a sub-record names (`patient`, a reference), canonical; None when
    it names none that can be read (the record is then taken as the path's patient's)."""
    ref = record.get("patient")
    value = ref.get("uuid", ref.get("id")) if isinstance(ref, dict) else ref
    try:
        return str(UUID(value.strip())) if isinstance(value, str) else None
    except ValueError:
        return None


def canonical(model: VendorModel) -> dict[str, Any]:
    """The record as the mappers read it: declared fields in their canonical form (mappings.plain)."""
    return plain(model)


def problem_of(exc: ValidationError, prefix: str = "") -> str:
    """The first error's field path and a PHI-free problem (never the value)."""
    error = exc.errors(include_input=False, include_url=False)[0]
    return f"the vendor's field {_path(prefix, error['loc'])} {_problem(error)}"


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


def _problem(error: ErrorDetails) -> str:
    if error["type"] == "missing":
        return "is missing"
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", "has an unexpected value"))
    return "has an unexpected type"
