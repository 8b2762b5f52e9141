"""Nextvisit's answers as declared models: what the mappers may read, and nothing more (pure).

The docs show `PatientFull` only by example and leave the encounter, demographics and
medication shapes open, so each model reads every plausible spelling (see the adapter's
"Where the docs are silent") and rejects only what cannot mean anything. Every documented
field is declared; those the mappers do not use are typed loosely (`Any`), so they can never
make a record unreadable. Fields no model declares are kept (`VendorModel`) for the tenant's
drift monitor, which the adapter feeds with every answer: field paths, never values.

The patient payload is read as a whole (a patient that cannot be read is a 502 naming the
field); the records inside it (encounters, the allergy text, medication entries) are read
one by one, so one that cannot be read is reported as `Unreadable` — its FHIR id when it is
known, and the vendor's field path, never a value — while the others are served.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from gateway.contract import Resource, VendorModel
from gateway.contract.lenient import Text
from mappings.fhirjson import fhir_date, instant

_DIGITS = re.compile(r"\d+")
# An encounter's time under each name implementations give it (the docs show no encounter):
# Laravel's `start_time`/`date_of_service`/`started_at`, and the `encounter_date` (`visit_date`,
# `date`) a team on another stack names a visit's column, or `starts_at`; in this order.
_START = (
    *("start_time", "date_of_service", "started_at", "encounter_date", "visit_date", "starts_at", "date"),
    # Rails names a datetime column `<verb>_at` (ActiveRecord's convention, as `created_at`).
    *("start_at", "scheduled_at", "occurred_at", "visited_at", "seen_at"),
)
_END = ("end_time", "ended_at", "ends_at", "end_at")


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


def _vendor_id(value: Any) -> Any:
    """An id: a number, or a string of one (or any other non-empty text, kept as is)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("is not an id")


# Stand-ins for "no date" a column that cannot be null writes: MySQL's zero date (and Carbon's
# reading of it, `-0001-11-30`), and the year-1 zero value of Go's `time.Time` and .NET's
# `DateTime.MinValue`. No record of a clinic is dated in year 1.
_NO_DATE = re.compile(r"(?:0000-00-00|00/00/0000|-0001-11-30|0001-01-01)(?![\d])")
_US_DATE = re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?))?")
_NOT_A_TIME = "is not a date or date-time"
_MILLISECONDS_FROM = 10**11  # a number of seconds this large is no time of a clinic: milliseconds


def iso_timestamp(value: Any) -> str | None:
    """A vendor date or date-time in ISO 8601 (a date stays a date; a date-time without a zone
    stays without one: a wall-clock time, see `zoned_instant`). Read: ISO 8601 with `T` or a
    space (SQL's `2024-01-05 10:00:00`), fractions, `Z` or an offset; US `01/05/2024`
    (month first: a US product) with an optional time; a number is seconds since the epoch, or
    milliseconds (JavaScript's) when it is too large to be seconds.
    A stand-in for no date (`0000-00-00`, `0001-01-01T00:00:00Z`, see `no_date`) is None.
    ValueError for anything else (e.g. Feb 30)."""
    if value is None or value == "" or no_date(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Seconds (Unix time), or milliseconds (JavaScript's `Date.getTime()`, a Date as knex
        # stores it in SQLite): no time of a clinic's record is 10^11 seconds (year 5138) away.
        seconds = value / 1000 if abs(value) >= _MILLISECONDS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
        except (ValueError, OverflowError, OSError):
            raise ValueError(_NOT_A_TIME) from None
    if not isinstance(value, str):
        raise ValueError(_NOT_A_TIME)
    text = value.strip()
    if _HTTP_DATE.match(text):
        return _http_date(text)
    text = _ZONE_NAMED.sub(lambda named: named["offset"] or "Z", text)
    try:
        us = _US_DATE.fullmatch(text)
        if us:
            day = date(int(us["y"]), int(us["m"]), int(us["d"]))
            if not us["time"]:
                return day.isoformat()
            clock = us["time"] if us["time"].count(":") == 2 else us["time"] + ":00"
            return datetime.fromisoformat(f"{day.isoformat()}T{clock.zfill(8)}").isoformat()
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat().replace("+00:00", "Z")
    except ValueError:
        raise ValueError(_NOT_A_TIME) from None


# An HTTP-date (RFC 9110 section 5.6.7: `Fri, 05 Jan 2024 10:00:00 GMT`, or the obsolete RFC 850
# and asctime forms), as Flask's `jsonify` writes every `datetime` and `date` (Werkzeug's
# `http_date`; a date at its midnight): told by the day's name it opens with.
_HTTP_DATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s", re.IGNORECASE)
# A zone named after the time rather than written as an offset: Ruby's `Time#to_s` (`2024-01-05
# 10:00:00 UTC`, or `+0000`), Go's `Time.String()` (`2024-01-05 10:00:00 +0000 UTC`).
_ZONE_NAMED = re.compile(r"(?<=\d)\s*(?P<offset>[+-]\d{2}:?\d{2})?\s+(?:UTC|GMT)$", re.IGNORECASE)


def _http_date(text: str) -> str:
    """An HTTP-date as `iso_timestamp` writes an instant (its zone is GMT, RFC 9110)."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(_NOT_A_TIME) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def zoned_instant(stamp: str | None, zone: tzinfo) -> str | None:
    """A time `iso_timestamp` read as a FHIR instant (UTC, `Z`); None if absent or unreadable.
    One written without an offset is a wall-clock time in `zone`, the tenant's
    `vendor_timezone` (UTC unless set: Laravel's default app timezone): an implementation
    that keeps local times (Spring's `LocalDateTime`, Django with `USE_TZ = False`) writes its
    app zone's clock. A wall-clock time a DST change repeats is its first occurrence (the
    value does not say which); a date alone is its midnight there."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant((moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat())


def without_offset(stamp: str | None) -> bool:
    """Whether a time `iso_timestamp` read is a date-time written without an offset."""
    if not stamp or len(stamp) == 10:
        return False
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is None
    except ValueError:
        return False


def _stop_passed(value: Any, zone: tzinfo) -> bool:
    """Whether a medication's stop date or time (a string, or seconds since the epoch) says a
    stop that has happened: one ahead of now (today, for a date; both in `zone` when the
    value has no offset, see `zoned_instant`) is still to come. A string that is no readable
    date still says the drug was stopped."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    if isinstance(value, str) and (not value.strip() or no_date(value)):
        return False
    try:
        stamp = iso_timestamp(value)
    except (ValueError, OverflowError, OSError):
        return True
    if stamp is None:
        return False
    if len(stamp) == 10:
        return date.fromisoformat(stamp) <= datetime.now(zone).date()
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)) <= datetime.now(UTC)


def no_date(value: Any) -> bool:
    """Whether `value` is a stand-in for no date (MySQL's zero date, a year-1 zero value)."""
    return isinstance(value, str) and _NO_DATE.match(value.strip()) is not None


def _birth_date(value: Any) -> Any:
    """A date of birth (`string(date)`, vendor-docs/nextvisit-api.txt): any `iso_timestamp`
    form; a date-time is the day of the midnight it stands for (`fhir_date`): at midnight, its
    date as written (Laravel's `date` cast at UTC: `1985-03-15T00:00:00.000000Z`; or local
    midnight with its offset); at another time, a midnight serialised in another zone: Carbon's
    `toJSON()` writes the `date` cast of an app whose timezone is east of UTC the evening before
    (`1985-03-14T23:00:00.000000Z`, Europe/Berlin), of one west of it the morning of
    (`1985-03-15T06:00:00.000000Z`)."""
    return fhir_date(iso_timestamp(value))


def count_of(value: Any) -> Any:
    """A page number or count: a number, or a string of one."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


VendorId = Annotated[str, BeforeValidator(_vendor_id)]
OptionalId = Annotated[str | None, BeforeValidator(lambda v: None if v is None or v == "" else _vendor_id(v))]
Timestamp = Annotated[str | None, BeforeValidator(iso_timestamp)]
BirthDate = Annotated[str | None, BeforeValidator(_birth_date)]
Count = Annotated[int | None, BeforeValidator(count_of)]


class FrozenModel(VendorModel):
    """Unknown fields are kept for the drift monitor (`gateway.contract.Drift`), never read."""

    model_config = ConfigDict(frozen=True)


# -- references: a string or an object ---------------------------------------------------------


_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_keys(data: Any) -> Any:
    """An object of a shape the docs never show with its camelCase keys read as their snake_case
    (`startTime` as `start_time`, `addressLine1` as `address_line1`): where no document named
    them, an implementation keys them as its framework does (ASP.NET's System.Text.Json web
    defaults, a NestJS or Express team's TypeScript properties). A key already given in
    snake_case is kept over its camelCase twin. Anything but an object is as it is."""
    if not isinstance(data, dict):
        return data
    out = {key: value for key, value in data.items() if not isinstance(key, str) or key == key.lower()}
    for key, value in data.items():
        if isinstance(key, str) and key != key.lower():
            out.setdefault(_HUMP.sub("_", key).lower(), value)
    return out


class VendorRef(FrozenModel):
    """A provider, location or visit type: an object, or just its name (or id) as a scalar."""

    id: OptionalId = None
    name: Text = None
    display_name: Text = None
    first_name: Text = None
    last_name: Text = None
    credentials: Text = None
    # A row of a code table (a visit type `{code, description}`, `{code, display}`): its words. The
    # code is declared, not read: without a code system it names nothing a FHIR coding could.
    display: Text = None
    description: Text = None
    label_text: Text = Field(None, alias="label")
    title: Text = None
    text: Text = None
    code: Any = None

    @model_validator(mode="before")
    @classmethod
    def _snake(cls, data: Any) -> Any:
        return snake_keys(data)  # `displayName`, `firstName`

    @property
    def label(self) -> str | None:
        person = " ".join(x for x in (self.first_name, self.last_name) if x)
        named = self.name or self.display_name or self.display or self.description or person
        return named or self.label_text or self.title or self.text or None


def _ref(value: Any) -> Any:
    if value is None or value == "" or isinstance(value, dict):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return {"id": value}
    if isinstance(value, str):
        return {"id": value.strip()} if _DIGITS.fullmatch(value.strip()) else {"name": value}
    raise ValueError("is neither a name nor an object")


Ref = Annotated[VendorRef | None, BeforeValidator(_ref)]


def _text_if_text(value: Any) -> str | None:
    """Text (a number as its decimal text); any other value (an object, a list, a flag) is not
    read, so it cannot make the record unreadable."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


# A field only some implementations send, whose other shapes (a relation's object for a status,
# a flag) the gateway need not read: served as if absent, as it was before it was read at all.
OptionalText = Annotated[str | None, BeforeValidator(_text_if_text)]


# -- records ----------------------------------------------------------------------------------


class VendorEncounter(FrozenModel):
    id: VendorId
    status: Text = None
    visit_type: Text = None
    type: Ref = None
    title: OptionalText = None  # the visit's type, named as a title ("Annual physical")
    reason: Text = None
    start_time: Timestamp = None
    date_of_service: Timestamp = None
    started_at: Timestamp = None
    encounter_date: Timestamp = None
    visit_date: Timestamp = None
    starts_at: Timestamp = None
    date: Timestamp = None
    start_at: Timestamp = None
    scheduled_at: Timestamp = None
    occurred_at: Timestamp = None
    visited_at: Timestamp = None
    seen_at: Timestamp = None
    end_time: Timestamp = None
    ended_at: Timestamp = None
    ends_at: Timestamp = None
    end_at: Timestamp = None
    provider: Ref = None
    # The clinician under the names other implementations give it: Nextvisit's clinicians are its
    # users (the docs' Users section), and an encounter that `belongsTo(User::class)` is written as
    # PatientFull writes its own `user`, `{id, name, email}`; or a `clinician`/`practitioner`.
    user: Ref = None
    clinician: Ref = None
    practitioner: Ref = None
    location: Ref = None
    updated_at: Timestamp = None
    # Declared so that they are not drift; never read (no FHIR element needs them), so no
    # value there (`signed` as true, 1 or "1") can make an encounter unreadable.
    uuid: Any = None
    patient_id: Any = None
    user_id: Any = None
    signed: Any = None
    created_at: Any = None

    @model_validator(mode="before")
    @classmethod
    def _first_spelling(cls, data: Any) -> Any:
        """Only the first non-null spelling of a time is read: a later one is not used, so it
        cannot make the record unreadable. A time of day alone is on the visit's day, the date
        another spelling gives (`on_its_day`)."""
        if not isinstance(data, dict):
            return data
        out = on_its_day(snake_keys(data))
        for spellings in (_START, _END):
            present = [name for name in spellings if out.get(name) not in (None, "")]
            for unused in present[1:]:
                del out[unused]
        return out

    @property
    def start(self) -> str | None:
        return _first(*(getattr(self, name) for name in _START))

    @property
    def end(self) -> str | None:
        return _first(*(getattr(self, name) for name in _END))

    @property
    def clinician_ref(self) -> VendorRef | None:
        """Who saw the patient: the first of `provider`, `user`, `clinician`, `practitioner` that
        names someone (an id alone names nobody to display)."""
        named = (ref for ref in (self.provider, self.user, self.clinician, self.practitioner) if ref and ref.label)
        return next(named, None)


# A time of day alone (a TIME column: `10:00`, `10:00:00`, `10:00:00.000`), no day, no zone.
_TIME_OF_DAY = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?")


# The day Rails reads a `time` column on (ActiveRecord's Time type): its `as_json` writes a time
# of day as `2000-01-01T10:00:00.000Z`.
_RAILS_DUMMY_DAY = "2000-01-01T"


def _clock(value: Any) -> str | None:
    """`value` as `HH:MM:SS` when it is a time of day alone, or a time on Rails' dummy day (with
    the offset it is written with: `10:00:00Z`), else None."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            stamp = iso_timestamp(value)
        except ValueError:
            stamp = None
        if stamp is not None and stamp.startswith(_RAILS_DUMMY_DAY):
            return stamp.removeprefix(_RAILS_DUMMY_DAY)
    found = _TIME_OF_DAY.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None or int(found["h"]) > 23 or int(found["m"]) > 59 or int(found["s"] or 0) > 59:
        return None
    return f"{int(found['h']):02d}:{found['m']}:{found['s'] or '00'}"


def _day_of(value: Any) -> str | None:
    """`value` as an ISO date when it is a date alone (any form `iso_timestamp` reads)."""
    try:
        stamp = iso_timestamp(value)
    except ValueError:
        return None
    return stamp if stamp is not None and len(stamp) == 10 else None


def on_its_day(encounter: dict[str, Any]) -> dict[str, Any]:
    """`encounter` with a start or end given as a time of day alone written on the visit's day:
    a visit kept as a DATE and TIME columns (Django's `DateField` and `TimeField`s as Django REST
    Framework serializes them, node-postgres reading `date` and `time` columns) is `{"date":
    "2024-01-05", "start_time": "10:00:00", "end_time": "10:30:00"}` (the docs show no
    encounter); as Rails writes a `time` column, a time on its dummy day (`2000-01-01T10:00:00.000Z`:
    that day is no visit's, the date beside it is). The day is the first spelling of a start that
    is a date alone; an end earlier in the day than the start is on the day after (a visit past
    midnight). A time keeps the offset it is written with; one without stays the wall clock of
    the vendor's zone, as every such time (`zoned_instant`). A time of day with no day beside it
    is left as it is: no date, so unreadable (reported)."""
    day = next((found for name in _START if (found := _day_of(encounter.get(name))) is not None), None)
    if day is None:
        return dict(encounter)
    out = dict(encounter)
    start = next((out[name] for name in _START if out.get(name) not in (None, "")), None)
    started = _clock(start)
    if started is not None:
        out[next(name for name in _START if out.get(name) not in (None, ""))] = f"{day}T{started}"
    first_end = next((name for name in _END if out.get(name) not in (None, "")), None)
    ended = _clock(out.get(first_end)) if first_end else None
    if first_end and ended is not None:
        end_day = date.fromisoformat(day)
        if started is not None and ended < started:
            end_day += timedelta(days=1)
        out[first_end] = f"{end_day.isoformat()}T{ended}"
    return out


_ADDRESS_PARTS = {"line1": "address_line1", "street": "address_line1", "line2": "address_line2", "zip": "zip"}


class VendorDemographics(FrozenModel):
    """Contact details (shape not in the docs): each field under the spellings implementations
    use; `address` as text or as an object of its parts (`{line1, city, state, zip}`)."""

    email: Text = None
    email_address: Text = None
    phone: Text = None
    phone_number: Text = None
    mobile_phone: Text = None
    cell_phone: Text = None
    mobile: Text = None
    home_phone: Text = None
    address_line1: Text = None
    address_line_1: Text = None
    address1: Text = None
    address: Text = None
    address_line2: Text = None
    address_line_2: Text = None
    address2: Text = None
    city: Text = None
    state: Text = None
    postal_code: Text = None
    zip: Text = None
    zip_code: Text = None
    zipcode: Text = None

    @model_validator(mode="before")
    @classmethod
    def _address_object(cls, data: Any) -> Any:
        return _lift_address(snake_keys(data))

    @property
    def phone_value(self) -> str | None:
        return _first(self.phone, self.phone_number, self.mobile_phone, self.cell_phone, self.mobile, self.home_phone)

    @property
    def email_value(self) -> str | None:
        return _first(self.email, self.email_address)

    @property
    def lines(self) -> list[str]:
        first = _first(self.address_line1, self.address_line_1, self.address1, self.address)
        second = _first(self.address_line2, self.address_line_2, self.address2)
        return [line for line in (first, second) if line]

    @property
    def postal(self) -> str | None:
        return _first(self.postal_code, self.zip, self.zip_code, self.zipcode)


def _lift_address(data: Any) -> Any:
    """An `address` object's parts read as if they stood beside it."""
    if not isinstance(data, dict) or not isinstance(data.get("address"), dict):
        return data
    out = {k: v for k, v in data.items() if k != "address"}
    for key, value in snake_keys(data["address"]).items():
        name = _ADDRESS_PARTS.get(key, key)
        if out.get(name) in (None, ""):
            out[name] = value
    return out


def _first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)


def _demographics(value: Any) -> Any:
    """One set of contact details: an object; a list of them (a `hasMany` relation) read as one,
    a later row's values over an earlier one's; `[]` or null (PHP's encoding of an empty array
    cast) none recorded."""
    if not isinstance(value, list):
        return value
    rows = [row for row in value if isinstance(row, dict)]
    if len(rows) != len(value):
        raise ValueError("is neither an object nor a list of them")
    merged: dict[str, Any] = {}
    for row in rows:
        flat = _lift_address(snake_keys(row))
        merged.update({k: v for k, v in flat.items() if v not in (None, "")})
    return merged or None


_AMOUNT = re.compile(r"\d+(?:\.\d+)?")  # a dose written as a bare number


class VendorMedication(FrozenModel):
    """A medication entry given as an object: its name (under the spellings implementations use,
    or inside a `medication` object), and a strength or dose and how often, when stated."""

    name: Text = None
    medication: Text = None
    medication_name: Text = None
    drug: Text = None
    drug_name: Text = None
    strength: Text = None
    dosage: Text = None
    dose: Text = None
    frequency: Text = None
    sig: Text = None
    # The unit of a dose kept as a number (a decimal column and a unit column: `"dose": "10.00",
    # "dose_unit": "mg"`), under the names a model gives it.
    dose_unit: Text = None
    dosage_unit: Text = None
    strength_unit: Text = None
    unit: Text = None
    units: Text = None
    status: OptionalText = None  # a list that keeps stopped drugs says which (`active`, `discontinued`...)
    # ...or says when, in place of a status: a timestamp column set once the drug is stopped
    # (`discontinued_at`, as a Rails model keeps it; null, or a stand-in for no date, until then).
    discontinued_at: Any = None
    discontinued_on: Any = None
    stopped_at: Any = None
    stopped_on: Any = None
    # When the drug was started and is (or was) to end: a list that keeps its drugs as rows dates
    # them (`started_on`/`ended_on`, `start_date`/`end_date`, Rails' `*_at`); a value that is no
    # date makes the entry unreadable (reported), never a drug served without the dates it has.
    started_on: Timestamp = None
    start_date: Timestamp = None
    started_at: Timestamp = None
    starts_on: Timestamp = None
    date_started: Timestamp = None
    ended_on: Timestamp = None
    end_date: Timestamp = None
    ended_at: Timestamp = None
    ends_on: Timestamp = None
    stop_date: Timestamp = None

    @model_validator(mode="before")
    @classmethod
    def _nested(cls, data: Any) -> Any:
        """`{"medication": {"name": ..., "strength": ...}}`: the inner object's fields (keys in
        camelCase read as their snake_case, `snake_keys`)."""
        data = snake_keys(data)
        if not isinstance(data, dict) or not isinstance(data.get("medication"), dict):
            return data
        inner = snake_keys(data["medication"])
        return {**{k: v for k, v in data.items() if k != "medication"}, **{k: v for k, v in inner.items() if k != "id"}}

    def stopped(self, zone: tzinfo) -> bool:
        """Whether the entry says when the drug was stopped: a stop date or time that is a date
        (not null, empty, false or a stand-in for no date), and not one still to come (a course
        planned to end on a day ahead has not been stopped: R4 `stopped` is a drug "stopped
        being taken"); a time without an offset is `zone`'s wall clock."""
        return any(
            _stop_passed(value, zone)
            for value in (self.discontinued_at, self.discontinued_on, self.stopped_at, self.stopped_on)
        )

    @property
    def start(self) -> str | None:
        """When the drug was started (`iso_timestamp`'s form), if the entry says."""
        return _first(self.started_on, self.start_date, self.started_at, self.starts_on, self.date_started)

    @property
    def end(self) -> str | None:
        """When the drug ends or was stopped (`iso_timestamp`'s form), if the entry says: its end
        date, else the time it was stopped (a stop column that is no readable date still says the
        drug was stopped, `stopped`, but not when)."""
        planned = _first(self.ended_on, self.end_date, self.ended_at, self.ends_on, self.stop_date)
        if planned:
            return planned
        for value in (self.discontinued_at, self.discontinued_on, self.stopped_at, self.stopped_on):
            try:
                stamp = iso_timestamp(value) if not isinstance(value, bool) else None
            except (ValueError, OverflowError, OSError):
                continue
            if stamp:
                return stamp
        return None

    @property
    def dose_text(self) -> str:
        """The strength or dose the entry states ("50 mg"), empty when it states none."""
        dose = (_first(self.strength, self.dosage, self.dose) or "").strip()
        unit = (_first(self.dose_unit, self.dosage_unit, self.strength_unit, self.unit, self.units) or "").strip()
        if unit and _AMOUNT.fullmatch(dose):
            # A number and its unit kept apart: one dose (`10.00` and `mg` is `10 mg`), never a bare
            # number whose unit a reader would have to guess.
            dose = f"{dose.rstrip('0').rstrip('.') if '.' in dose else dose} {unit}"
        return dose

    @property
    def text(self) -> str:
        """The drug's name, its strength and how often ("Sertraline 50mg daily"); empty without a
        name (a dose alone names no drug)."""
        name = (_first(self.name, self.medication, self.medication_name, self.drug, self.drug_name) or "").strip()
        often = (_first(self.frequency, self.sig) or "").strip()
        return " ".join(part for part in (name, self.dose_text, often) if part) if name else ""


class VendorPatient(FrozenModel):
    """`PatientFull`; the records inside it (allergies, medications, encounters) are kept raw
    here and read one by one by their mappers."""

    id: VendorId
    uuid: Text = None
    first_name: Text = None
    middle_name: Text = None
    last_name: Text = None
    gender: Text = None
    date_of_birth: BirthDate = None
    allergies: Any = None
    latest_medications: Any = None
    encounters: Any = None
    demographics: VendorDemographics | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    updated_at: Timestamp = None
    # Documented (or listed as includes) but not mapped: declared so that they are not drift,
    # typed loosely so that no value there can make a patient unreadable.
    notes: Any = None
    insurance: Any = None
    user: Any = None
    team: Any = None
    timeline: Any = None
    created_at: Any = None
    deleted_at: Any = None

    @field_validator("first_name", "middle_name", "last_name")
    @classmethod
    def _as_entered(cls, value: str | None) -> str | None:
        """A name without the spaces around it: an app without Laravel's `TrimStrings` middleware
        (an Express one) keeps `" Jane"` and `"Doe "` as typed at the desk. FHIR strings carry
        no leading or trailing whitespace (R4 datatypes.html#string), and a name served with it
        is not found by `given=jane` nor `family:exact=Doe`. Nothing but spaces is no name."""
        return None if value is None else (value.strip() or None)

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> Any:
        """`metaobject or null`: an object. PHP encodes an empty associative array as `[]`; a
        JSON column without an `array` cast is served as its JSON text (decoded here). Anything
        else is free-form data of the vendor's own that no FHIR element reads: no keys."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return {}
        return value if isinstance(value, dict) else {}

    @field_validator("demographics", mode="before")
    @classmethod
    def _demographics(cls, value: Any) -> Any:
        return _demographics(value)

    @property
    def deleted(self) -> bool:
        """Whether the answer says the patient is soft-deleted: a `deleted_at` that is a date.
        Null, empty, false or a stand-in for no date (Go's zero `time.Time`, `0001-01-01T00:00:00Z`,
        which a struct without a pointer writes for every live record; MySQL's zero date) is
        not; nor is a `sql.NullTime` written as `{"Time": ..., "Valid": false}`."""
        value = self.deleted_at
        if isinstance(value, dict):
            return value.get("Valid") is True or value.get("valid") is True
        if isinstance(value, str):
            return bool(value.strip()) and not no_date(value)
        return bool(value)


# -- reading ----------------------------------------------------------------------------------


class UnreadablePayload(ValueError):
    """A payload that cannot be read at all: the field path and the problem, no values."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"the vendor's field {field} {problem}")
        self.field = field
        self.problem = problem


def read_encounters(patient: VendorPatient) -> list[VendorEncounter]:
    """The patient's encounters that can be read (for the drift monitor; the mapper reports the others)."""
    try:
        items = list(items_of(patient.encounters, "encounters"))
    except UnreadablePayload:
        return []
    out = []
    for _, item in items:
        try:
            out.append(VendorEncounter.model_validate(item))
        except ValidationError:
            continue
    return out


_POSITION = re.compile(r"\[[^\]]*\]")


def drift_path(field: str) -> str:
    """A record's field path as the drift monitor keeps it: list positions (and PHP's object
    keys standing for them) folded to `[]`, e.g. `encounters[].start_time`."""
    return _POSITION.sub("[]", field)


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


_NOT_IN_ANSWER = "was not in the answer, so whether there are any is unknown"


def not_returned(patient: VendorPatient, field: str, resource_type: str) -> list[Unreadable]:
    """The records under `field` when the answer has no such key: unknown, never "none".

    The documented PatientFull answers never show `allergies` (only the request bodies do), an
    implementation may drop null fields, and a Spatie show loads a relation only when it is
    included: an absent key cannot be told from "not sent", so it is reported (the search then
    says so and gives no total; a CCD, all or nothing, is refused) rather than read as an empty
    list. A null or empty value is an answer: nothing recorded. So is an absent attribute in an
    answer that shows it leaves its nulls out (`leaves_nulls_out`): a dropped null. A relation
    (`encounters`) is `[]` when empty: absent, it was not loaded, whatever the answer shows."""
    if field in patient.model_fields_set:
        return []
    if field in _ATTRIBUTES and leaves_nulls_out(patient):
        return []
    return [Unreadable(resource_type, patient.id, None, field, _NOT_IN_ANSWER)]


_ATTRIBUTES = frozenset({"allergies", "latest_medications"})  # columns, not relations
# Nullable attributes every documented PatientFull answer shows (create, show and update alike).
_ALWAYS_SHOWN = ("middle_name", "gender", "date_of_birth", "notes")


def leaves_nulls_out(patient: VendorPatient) -> bool:
    """Whether this answer shows that its implementation leaves null fields out (a reading the
    docs allow): none of the attributes every documented answer shows is given as null, and
    one of them is missing. An answer with all of them given says nothing either way."""
    given = [name for name in _ALWAYS_SHOWN if name in patient.model_fields_set]
    if any(getattr(patient, name) is None for name in given):
        return False  # it writes its nulls
    return len(given) < len(_ALWAYS_SHOWN)


def items_of(value: Any, field: str) -> Iterator[tuple[str, Any]]:
    """A list's items with their paths; PHP renders a non-sequential array as an object, and a
    resource collection (or a paginated relation) as `{"data": [...], ...}`."""
    if value is None:
        return
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        yield from ((f"{field}.data[{i}]", item) for i, item in enumerate(value["data"]))
        return
    if isinstance(value, list):
        yield from ((f"{field}[{i}]", item) for i, item in enumerate(value))
    elif isinstance(value, dict):
        yield from ((f"{field}[{key}]", item) for key, item in value.items())
    else:
        raise UnreadablePayload(field, "is not a list")
