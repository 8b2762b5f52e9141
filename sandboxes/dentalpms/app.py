"""A Dental PMS API simulator serving the synthetic clinic (``mappings.sandbox.clinic``).

``create_app(clinic, org_id=..., api_token=...)`` returns a Starlette app that answers
like the documented FastAPI service (``vendor-docs/dentalpms-api.txt``) under
``/api/v1/{org_id}``: patients (page list, cursor list, typeahead search, read, create,
patch, archive, restore) and their allergies, medications, vital signs, diseases and
medical summary. The app holds its own rendered copy of the clinic, so writes never
touch the cached ``Clinic``; writes are stamped by ``clock`` (wall clock by default).
``record_uuid(clinic, kind, id)`` gives the vendor uuid of any clinic record, so tests can
go from clinic truth to the vendor's ids.

Rendering: patient ids are the clinic uuids; every other record id is
``uuid5(namespace(clinic), f"{kind}:{id}")``. Datetimes are ISO-8601 UTC with ``Z``
(pydantic style: fractional seconds only when non-zero), dates ``YYYY-MM-DD``, times
``HH:MM:SS``, decimals and money as strings, missing values as ``null``. References are
``{"uuid": ..., "name": ...}``.

Assumptions where the docs are silent or disagree (the adapter must not rely on more):

Protocol
- Order of checks: bearer token (401), then org (404 ``Organization not found``), then
  parameter validation (422, all errors at once, FastAPI/pydantic v2 wording), then
  referenced entities (404). Unmatched paths get FastAPI's ``{"detail": "Not Found"}``
  without an auth check; a wrong method gets ``{"detail": "Method Not Allowed"}`` (405).
- Both 401s carry ``WWW-Authenticate: Bearer``; a non-Bearer scheme counts as invalid
  credentials, no header (or an empty one) as "Not authenticated".
- ``page`` >= 1 and ``page_size``/``first`` in 1..200 on every list (the docs give
  defaults only); ``/patients/search`` ``limit`` in 1..100. Out of range is a 422.
- Query parameters the docs type as dates (``dob_from``, ``dob_to``, vital-signs
  ``date_from``/``date_to``) are validated as dates; ``status`` and ``problem_status``
  are plain strings (an unknown value matches nothing).
- ``primary_provider_uuid``/``location_uuid``/``tag_definition_uuid`` filters are
  strings: anything that is not a known provider/location is a 404 (``Provider not
  found``, ``Location not found``); no tags exist, so any tag filter is ``Tag
  definition not found``.

Patient lists
- Soft-deleted (archived) patients are left out unless ``status=archived``.
- Names sort case- and accent-insensitively (as a PostgreSQL ICU collation would), ties
  on the raw value, then on the patient id; nulls sort last ascending, first descending.
- ``search`` (list and cursor): the query is split on whitespace and every token must
  match (AND); a token matches a patient when, case- and accent-folded, it is a substring
  of the first, middle, last or preferred name, email, chart number or ``YYYY-MM-DD``
  birth date, or when it has at least 3 digits and those digits are a substring of the
  digits of the mobile or home phone. Patients without a birth date never match
  ``dob_from``/``dob_to``.
- Cursor: base64url (unpadded) JSON ``[sort value as rendered, patient id]``; it is
  validated against the requested ``sort_by``. ``end_cursor`` is the cursor of the last
  row returned (null when the page is empty), whether or not a next page exists.
- ``/patients/search`` matches first, last, preferred name and chart number only, leaves
  archived patients out, orders like the list's default (last name) and reports the
  total before ``limit``.

Patient record
- A soft-deleted patient is still served by ``GET /patients/{uuid}`` (200, ``status``
  ``archived``, ``deleted_at`` set), and so are its sub-resources.
- ``version`` is 1 for a record never changed; for clinic patients whose ``updated_at``
  differs from ``created_at`` it is 2..4 (derived from the id). Writes bump it by one.
- Balances, estimates and payment-plan dues are ``"0.00"``; ``country`` is ``"US"`` when
  the patient has any address part, else null; ``receives_email``/``receives_sms``
  follow the presence of an email/mobile phone; ``scheduling_restricted`` is true for
  inactive patients (balances are zero); ``date_first_visit`` is the first finished (or
  arrived) visit; ``latest_vitals_date`` the newest live vital-signs reading. Fields the clinic
  has no data for are null (``potential_duplicates`` is ``[]``: it is filled only in
  the response to a create, with patients sharing last name + birth date, email or
  mobile phone, each as ``{id, first_name, last_name, date_of_birth, chart_number}``).
- Provider references are named "First Last, DESIGNATION"; patient references
  "First Last".

Writes
- ``POST /patients``: unknown body fields are ignored; a missing ``chart_number`` gets
  the next free ``C#####``; a chart number in use (archived patients included) is 409
  ``Duplicate chart number``; ``status: archived`` is 422 ``Archived status requires the
  archive endpoint``; emails are checked for one ``@`` and a dotted domain. New patient
  ids are deterministic (uuid5 of a counter). ``Idempotency-Key`` replays only 201s:
  same key and same JSON body (key order ignored) return the stored response again;
  a different body is 409 ``Idempotency conflict``.
- ``PATCH /patients/{uuid}`` needs ``base_version``; a stale one is 409 ``Version
  conflict``; ``first_name``/``last_name`` cannot be set to null; archived patients can
  be patched. Unknown provider/location/guarantor uuids are 404 (``Provider not found``,
  ``Location not found``, ``Guarantor not found``; fee schedules, billing types and
  employers do not exist in the sandbox, so any such uuid is 404 as well).
- ``archive`` of an archived patient is 422 ``Patient is already archived``; ``restore``
  of a live one is 422 ``Patient is not archived``; restore sets ``status`` inactive, as
  documented. Both bump ``version`` and ``updated_at``.

Sub-resources
- Lists leave soft-deleted records out; a soft-deleted vital-signs record is 404
  ``Vital signs not found`` on the single GET. Allergies, medications and diseases are
  ordered by ``created_at`` then id; vital signs by ``date_taken``, ``time_taken``
  (nulls last), id.
- Sub-record timestamps are derived: ``created_at`` is 18:00Z on the day noted/started/
  onset (for vital signs: the reading's local time, or noon, in the clinic's time zone),
  never before the patient record; ``time_taken`` is the clinic's local wall-clock time;
  a soft-deleted record was deleted (and last updated) 7 days later, capped at the
  clinic's today; a stopped medication or resolved problem was last updated when it
  stopped. ``version`` is 1, or 2 when updated after creation.
- Allergy substance codes are not rendered (the record has no field for them): the
  substance is only the ``allergy_definition`` reference name. ``date_adverse_reaction``
  is the date the allergy was noted.
- Medications with an RxNorm code reference a ``medication_definition`` named by the
  RxNorm display name, with ``med_descript`` null; free-text medications have no
  definition and carry their text in ``med_descript``. ``dosage`` is the strength;
  ``frequency`` gets " as needed" appended for PRN medications ("as needed" alone when
  there is no interval). ``provider`` is the prescriber; ``is_cpoe`` is false.
- Diseases: ``snomed_problem_type`` is the SNOMED problem *type* (55607006 |Problem|,
  as in Open Dental, whose field names this API follows), not the problem's own code; the problem's
  SNOMED and ICD-10 codes live on the disease definition and are not exposed, so only
  the ``disease_definition`` name carries the problem. ``function_status`` is "problem".
- Vital signs: ``weight_code`` and ``note`` are null, ``has_followup_plan`` false.
  ``abnormal_flags`` items are ``{"vital", "message", "severity"}``: BP >180/>120 and
  SpO2 <94 are critical (and make ``is_procedure_blocking`` true); BP >=140/>=90,
  pulse >120 or <50 and temperature >=100.4 are warnings.
- Medical summary: ``allergies`` holds every live allergy (the field's description;
  the endpoint's prose says active only), ``past_medications`` every live medication
  whose status is not active (discontinued, completed and on hold), ``latest_vitals``
  the newest live reading or null; ``alerts`` and ``social_history`` are empty,
  ``medical_urgent_note`` null and ``premedication_required`` false.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mappings.sandbox.clinic import (
    CLINIC_NAMESPACE,
    Allergy,
    Clinic,
    Medication,
    Patient,
    Problem,
    Provider,
    VitalSigns,
)

__all__ = ["RecordKind", "create_app", "namespace", "record_uuid"]

Json = dict[str, Any]
RecordKind = Literal[
    "allergy",
    "medication",
    "vitals",
    "disease",
    "provider",
    "location",
    "allergy_definition",
    "medication_definition",
    "disease_definition",
]
T = TypeVar("T")
D = TypeVar("D")
M = TypeVar("M", bound=BaseModel)

_PAGE_SIZE_MAX = 200
_QUERY_CACHE_SIZE = 512
_SEARCH_LIMIT_MAX = 100
_PROBLEM_TYPE_SNOMED = "55607006"  # SNOMED CT |Problem (finding)|


# --------------------------------------------------------------------------- ids


def namespace(clinic: Clinic) -> UUID:
    """The uuid5 namespace of this clinic's Dental PMS record ids."""
    return uuid5(CLINIC_NAMESPACE, f"dentalpms:{clinic.seed}")


def record_uuid(clinic: Clinic, kind: RecordKind, key: int | str) -> UUID:
    """The Dental PMS uuid of a clinic record: ``kind`` and clinic id (or definition name)."""
    return uuid5(namespace(clinic), f"{kind}:{key}")


# --------------------------------------------------------------------------- rendering


def _dt(v: datetime | None) -> str | None:
    if v is None:
        return None
    return v.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _d(v: date | None) -> str | None:
    return None if v is None else v.isoformat()


def _dec(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _ref(uuid: UUID | str, name: str | None) -> Json:
    return {"uuid": str(uuid), "name": name}


def _provider_name(p: Provider) -> str:
    return f"{p.first_name} {p.last_name}, {p.designation}"


def _at(day: date, floor: datetime) -> datetime:
    return max(floor, datetime.combine(day, time(18, 0), tzinfo=UTC))


class _Renderer:
    """Clinic records -> Dental PMS JSON (plain dicts)."""

    def __init__(self, clinic: Clinic) -> None:
        self.ns = namespace(clinic)
        self.zone = ZoneInfo(clinic.timezone)
        self.end_of_today = datetime.combine(clinic.today, time(23, 59), tzinfo=UTC)
        self.providers = {p.id: _ref(self.uuid("provider", p.id), _provider_name(p)) for p in clinic.providers}
        self.locations = {loc.id: _ref(self.uuid("location", loc.id), loc.name) for loc in clinic.locations}

    def uuid(self, kind: RecordKind, key: int | str) -> str:
        return str(uuid5(self.ns, f"{kind}:{key}"))

    def provider(self, provider_id: int | None) -> Json | None:
        return None if provider_id is None else dict(self.providers[provider_id])

    def _stamps(self, created: datetime, changed: datetime | None, deleted: bool) -> Json:
        deleted_at = min(created + timedelta(days=7), self.end_of_today) if deleted else None
        updated = deleted_at or max(created, changed or created)
        return {
            "created_at": _dt(created),
            "updated_at": _dt(updated),
            "deleted_at": _dt(deleted_at),
            "version": 1 if updated == created else 2,
        }

    def patient(self, p: Patient) -> Json:
        live_vitals = [v.taken_on for v in p.vitals if not v.deleted]
        visits = [e.start.date() for e in p.encounters if e.status in ("finished", "arrived")]
        has_address = any((p.address_line1, p.city, p.state, p.postal_code))
        version = 1 if p.updated_at == p.created_at else 2 + p.id % 3
        return {
            "address_line1": p.address_line1,
            "address_line2": None,
            "address_note": None,
            "allergy_review_status": p.allergy_review,
            "appointment_module_note": None,
            "ask_to_arrive_early_mins": None,
            "balance_0_30": "0.00",
            "balance_31_60": "0.00",
            "balance_61_90": "0.00",
            "balance_over_90": "0.00",
            "balance_total": "0.00",
            "billing_cycle_day": None,
            "billing_type": None,
            "chart_number": p.chart_number,
            "city": p.city,
            "consent_flags": None,
            "country": "US" if has_address else None,
            "created_at": _dt(p.created_at),
            "date_first_visit": _d(min(visits)) if visits else None,
            "date_of_birth": _d(p.birth_date),
            "date_time_deceased": _dt(p.deceased_at),
            "deleted_at": _dt(p.updated_at) if p.deleted else None,
            "email": p.email,
            "emergency_contact_name": None,
            "emergency_contact_phone": None,
            "employer": None,
            "estimated_balance": "0.00",
            "fee_schedule": None,
            "first_name": p.first_name,
            "gender": p.gender,
            "home_phone": p.home_phone,
            "id": str(p.uuid),
            "insurance_estimate": "0.00",
            "last_name": p.last_name,
            "latest_vitals_date": _d(max(live_vitals)) if live_vitals else None,
            "location": None if p.location_id is None else dict(self.locations[p.location_id]),
            "marital_status": None,
            "medicaid_id": None,
            "medical_summary": None,
            "medical_urgent_note": None,
            "middle_name": p.middle_name,
            "mobile_phone": p.mobile_phone,
            "payment_plan_due": "0.00",
            "postal_code": p.postal_code,
            "potential_duplicates": [],
            "preferred_confirmation_method": None,
            "preferred_contact_method": None,
            "preferred_language": None,
            "preferred_name": p.preferred_name,
            "premedication_required": False,
            "primary_provider": self.provider(p.primary_provider_id),
            "pronoun": None,
            "receives_email": p.email is not None,
            "receives_sms": p.mobile_phone is not None,
            "responsible_party": None,
            "salutation": None,
            "scheduling_restricted": p.status == "inactive",
            "secondary_provider": None,
            "smoking_snomed": None,
            "social_security_number": None,
            "state": p.state,
            "status": "archived" if p.deleted else p.status,
            "title": None,
            "treatment_notes": None,
            "updated_at": _dt(p.updated_at),
            "version": version,
            "work_phone": None,
        }

    def allergy(self, a: Allergy, p: Patient, pref: Json) -> Json:
        created = _at(a.noted_on, p.created_at) if a.noted_on else p.created_at
        return {
            "allergy_definition": _ref(self.uuid("allergy_definition", a.substance), a.substance),
            "date_adverse_reaction": _d(a.noted_on),
            "id": self.uuid("allergy", a.id),
            "interaction_warnings": [],
            "patient": pref,
            "reaction": a.reaction,
            "severity": a.severity,
            "snomed_reaction": a.reaction_snomed,
            "status_is_active": a.active,
            **self._stamps(created, None, a.deleted),
        }

    def medication(self, m: Medication, p: Patient, pref: Json) -> Json:
        created = _at(m.start, p.created_at) if m.start else p.created_at
        changed = _at(m.stop, created) if m.stop else None
        frequency = m.frequency
        if m.prn:
            frequency = f"{frequency} as needed" if frequency else "as needed"
        coded = m.rxnorm is not None
        definition = _ref(self.uuid("medication_definition", m.name), m.name) if coded else None
        return {
            "date_start": _d(m.start),
            "date_stop": _d(m.stop),
            "discontinuation_reason": None,
            "dosage": m.strength,
            "frequency": frequency,
            "id": self.uuid("medication", m.id),
            "interaction_warnings": [],
            "is_cpoe": False,
            "med_descript": None if coded else m.name,
            "medication_definition": definition,
            "patient": pref,
            "patient_note": None,
            "provider": self.provider(m.prescriber_id),
            "route": m.route,
            "rx_cui": m.rxnorm,
            "status": m.status,
            **self._stamps(created, changed, m.deleted),
        }

    def vitals(self, v: VitalSigns, p: Patient, pref: Json) -> Json:
        taken = datetime.combine(v.taken_on, v.taken_at or time(12, 0), tzinfo=self.zone)
        created = max(p.created_at, taken.astimezone(UTC))
        flags = _abnormal_flags(v)
        return {
            "abnormal_flags": flags,
            "bmi": _dec(v.bmi),
            "bmi_percentile": v.bmi_percentile,
            "bp_diastolic": v.diastolic,
            "bp_systolic": v.systolic,
            "created_by": None,
            "date_taken": _d(v.taken_on),
            "has_followup_plan": False,
            "height_inches": _dec(v.height_in),
            "id": self.uuid("vitals", v.id),
            "is_procedure_blocking": any(f["severity"] == "critical" for f in flags),
            "note": None,
            "oxygen_saturation": v.spo2,
            "patient": pref,
            "provider": self.provider(v.provider_id),
            "pulse": v.pulse,
            "respiration_rate": v.respiration_rate,
            "temperature_f": _dec(v.temperature_f),
            "time_taken": None if v.taken_at is None else v.taken_at.strftime("%H:%M:%S"),
            "weight_code": None,
            "weight_lbs": _dec(v.weight_lb),
            **self._stamps(created, None, v.deleted),
        }

    def disease(self, d: Problem, p: Patient, pref: Json) -> Json:
        created = _at(d.onset, p.created_at) if d.onset else p.created_at
        changed = _at(d.resolved_on, created) if d.resolved_on else None
        return {
            "date_start": _d(d.onset),
            "date_stop": _d(d.resolved_on),
            "disease_definition": _ref(self.uuid("disease_definition", d.name), d.name),
            "function_status": "problem",
            "id": self.uuid("disease", d.id),
            "patient": pref,
            "patient_note": None,
            "problem_status": d.status,
            "snomed_problem_type": _PROBLEM_TYPE_SNOMED,
            **self._stamps(created, changed, d.deleted),
        }


def _abnormal_flags(v: VitalSigns) -> list[Json]:
    flags: list[Json] = []

    def flag(vital: str, message: str, severity: str) -> None:
        flags.append({"vital": vital, "message": message, "severity": severity})

    sys, dia = v.systolic, v.diastolic
    if sys is not None and sys > 180:
        flag("bp_systolic", "Systolic blood pressure above 180 mmHg", "critical")
    elif sys is not None and sys >= 140:
        flag("bp_systolic", "Systolic blood pressure 140 mmHg or higher", "warning")
    if dia is not None and dia > 120:
        flag("bp_diastolic", "Diastolic blood pressure above 120 mmHg", "critical")
    elif dia is not None and dia >= 90:
        flag("bp_diastolic", "Diastolic blood pressure 90 mmHg or higher", "warning")
    if v.spo2 is not None and v.spo2 < 94:
        flag("oxygen_saturation", "Oxygen saturation below 94%", "critical")
    if v.pulse is not None and (v.pulse > 120 or v.pulse < 50):
        flag("pulse", "Pulse outside 50-120 bpm", "warning")
    if v.temperature_f is not None and v.temperature_f >= Decimal("100.4"):
        flag("temperature_f", "Temperature 100.4 °F or higher", "warning")
    return flags


# --------------------------------------------------------------------------- text matching

_FOLD_EXTRA = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
                             "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i"})  # fmt: skip


def _fold(s: str) -> str:
    """Case- and accent-insensitive form of `s`."""
    decomposed = unicodedata.normalize("NFKD", s.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


# --------------------------------------------------------------------------- state


@dataclass(eq=False)
class _Row:
    """One patient as the vendor holds it, plus derived search/sort data."""

    doc: Json
    ref: Json  # the patient reference shared by its sub-records (renamed in place)
    allergies: list[Json] = field(default_factory=list)
    medications: list[Json] = field(default_factory=list)
    vitals: list[Json] = field(default_factory=list)
    diseases: list[Json] = field(default_factory=list)
    raw: bytes = b""
    hay: tuple[str, ...] = ()
    name_hay: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    def refresh(self) -> None:
        d = self.doc
        d["scheduling_restricted"] = d["status"] == "inactive"
        self.ref["name"] = f"{d['first_name']} {d['last_name']}"
        self.raw = orjson.dumps(d)
        names = [d["first_name"], d["middle_name"], d["last_name"], d["preferred_name"]]
        self.name_hay = tuple(
            _fold(v) for v in (d["first_name"], d["last_name"], d["preferred_name"],
                               d["chart_number"]) if v
        )  # fmt: skip
        self.hay = tuple(_fold(v) for v in (*names, d["email"], d["chart_number"], d["date_of_birth"]) if v)
        self.phones = tuple(_digits(v) for v in (d["mobile_phone"], d["home_phone"]) if v)

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def deleted(self) -> bool:
        return self.doc["deleted_at"] is not None


_SortKey = tuple[Any, ...]
_NAME_FIELDS = ("first_name", "last_name")
_TIME_FIELDS = ("created_at", "updated_at")


def _sort_key(sort_by: str, value: str | None, row_id: str) -> _SortKey:
    """Total order of patients for `sort_by`; ValueError when `value` cannot be of it."""
    if value is None:
        return (1, "", "", row_id)
    if sort_by in _NAME_FIELDS:
        return (0, _fold(value), value, row_id)
    if sort_by in _TIME_FIELDS:
        return (0, datetime.fromisoformat(value).astimezone(UTC), "", row_id)
    if sort_by == "date_of_birth":
        date.fromisoformat(value)
    return (0, value, "", row_id)


@dataclass(frozen=True)
class _Filters:
    status: str | None
    tokens: tuple[tuple[str, str], ...]  # (folded token, its digits)
    dob_from: str | None
    dob_to: str | None
    provider: str | None
    location: str | None

    def match(self, row: _Row) -> bool:
        d = row.doc
        if self.status is None:
            if row.deleted:
                return False
        elif d["status"] != self.status:
            return False
        if self.dob_from is not None or self.dob_to is not None:
            dob = d["date_of_birth"]
            if dob is None:
                return False
            if self.dob_from is not None and dob < self.dob_from:
                return False
            if self.dob_to is not None and dob > self.dob_to:
                return False
        if self.provider is not None and (d["primary_provider"] or {}).get("uuid") != self.provider:
            return False
        if self.location is not None and (d["location"] or {}).get("uuid") != self.location:
            return False
        return all(_token_match(t, row.hay, row.phones) for t in self.tokens)


def _token_match(token: tuple[str, str], hay: Iterable[str], phones: Iterable[str]) -> bool:
    text, digits = token
    if any(text in h for h in hay):
        return True
    return len(digits) >= 3 and any(digits in ph for ph in phones)


def _tokens(search: str | None) -> tuple[tuple[str, str], ...]:
    if not search:
        return ()
    return tuple((_fold(t), _digits(t)) for t in search.split())


class _Store:
    def __init__(self, clinic: Clinic, clock: Callable[[], datetime]) -> None:
        self.render = _Renderer(clinic)
        self.clock = clock
        self.rows: dict[str, _Row] = {}
        self.vitals: dict[str, tuple[str, Json]] = {}
        self.idempotency: dict[str, tuple[str, bytes]] = {}
        self.created = 0
        self._sorted: dict[str, tuple[list[_SortKey], list[_Row]]] = {}
        self._queries: dict[tuple[_Filters, str], tuple[list[_SortKey], list[_Row]]] = {}
        self.provider_refs = {r["uuid"]: r for r in self.render.providers.values()}
        self.location_refs = {r["uuid"]: r for r in self.render.locations.values()}
        r = self.render
        for p in clinic.patients:
            doc = r.patient(p)
            pref = _ref(p.uuid, f"{p.first_name} {p.last_name}")
            row = _Row(doc=doc, ref=pref)
            row.allergies = _by_created([r.allergy(a, p, pref) for a in p.allergies])
            row.medications = _by_created([r.medication(m, p, pref) for m in p.medications])
            row.diseases = _by_created([r.disease(x, p, pref) for x in p.problems])
            row.vitals = sorted(
                (r.vitals(v, p, pref) for v in p.vitals),
                key=lambda v: (v["date_taken"], v["time_taken"] is None, v["time_taken"] or "",
                               v["id"]),
            )  # fmt: skip
            for v in row.vitals:
                self.vitals[v["id"]] = (doc["id"], v)
            row.refresh()
            self.rows[doc["id"]] = row

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def changed(self, row: _Row) -> None:
        row.refresh()
        self._sorted.clear()
        self._queries.clear()

    def ordered(self, sort_by: str) -> tuple[list[_SortKey], list[_Row]]:
        """All patients ascending by `sort_by` (cached until the next write)."""
        cached = self._sorted.get(sort_by)
        if cached is None:
            pairs = sorted(
                ((_sort_key(sort_by, row.doc[sort_by], row.id), row) for row in self.rows.values()),
                key=lambda kr: kr[0],
            )
            cached = ([k for k, _ in pairs], [row for _, row in pairs])
            self._sorted[sort_by] = cached
        return cached

    def query(self, f: _Filters, sort_by: str) -> tuple[list[_SortKey], list[_Row]]:
        """Matching patients ascending by `sort_by` (cached until the next write)."""
        cached = self._queries.get((f, sort_by))
        if cached is None:
            keys, rows = self.ordered(sort_by)
            picked = [i for i, row in enumerate(rows) if f.match(row)]
            cached = ([keys[i] for i in picked], [rows[i] for i in picked])
            if len(self._queries) >= _QUERY_CACHE_SIZE:
                self._queries.clear()
            self._queries[(f, sort_by)] = cached
        return cached


def _by_created(records: list[Json]) -> list[Json]:
    return sorted(records, key=lambda r: (r["created_at"], r["id"]))


# --------------------------------------------------------------------------- errors


class _ApiError(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.detail = detail
        self.headers = headers


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = orjson.dumps(body, default=str)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def _fastapi_errors(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[Json]:
    out: list[Json] = []
    for err in exc.errors(include_url=False):
        item: Json = {
            "type": err["type"],
            "loc": [*prefix, *err["loc"]],
            "msg": err["msg"],
            "input": err["input"],
        }
        if "ctx" in err:
            item["ctx"] = {k: v if isinstance(v, int | float | str) else str(v)
                           for k, v in err["ctx"].items()}  # fmt: skip
        out.append(item)
    return out


class _Params:
    """FastAPI-style validation of query and path parameters, errors collected."""

    def __init__(self, request: Request) -> None:
        self.query = request.query_params
        self.path = request.path_params
        self.errors: list[Json] = []

    def _check(self, where: str, name: str, raw: str, adapter: TypeAdapter[T]) -> T | None:
        try:
            return adapter.validate_python(raw)
        except ValidationError as exc:
            self.errors.extend(_fastapi_errors(exc, (where, name)))
            return None

    def q(self, name: str, adapter: TypeAdapter[T], default: D) -> T | D:
        raw = self.query.get(name)
        if raw is None:
            return default
        value = self._check("query", name, raw, adapter)
        return default if value is None else value

    def p(self, name: str) -> str:
        """A uuid path parameter, normalised to its canonical string form."""
        value = self._check("path", name, self.path[name], _UUID)
        return "" if value is None else str(value)

    def done(self) -> None:
        if self.errors:
            raise _ApiError(422, self.errors)


_PAGE = TypeAdapter(Annotated[int, Field(ge=1)])
_PAGE_SIZE = TypeAdapter(Annotated[int, Field(ge=1, le=_PAGE_SIZE_MAX)])
_LIMIT = TypeAdapter(Annotated[int, Field(ge=1, le=_SEARCH_LIMIT_MAX)])
_DATE = TypeAdapter(date)
_BOOL = TypeAdapter(bool)
_UUID = TypeAdapter(UUID)
_STR = TypeAdapter(str)
_SORT_DIR = TypeAdapter(Literal["asc", "desc"])
_LIST_SORT = TypeAdapter(Literal["chart_number", "created_at", "date_of_birth", "first_name", "last_name", "status"])
_CURSOR_SORT = TypeAdapter(
    Literal[
        "chart_number", "created_at", "date_of_birth", "first_name", "last_name", "status",
        "updated_at",
    ]
)  # fmt: skip


# --------------------------------------------------------------------------- request bodies

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_Gender = Literal["male", "female", "non_binary", "other", "unknown", "prefer_not_to_say"]
_Contact = Literal["email", "mail", "none", "phone", "text"]


class _PatientFields(BaseModel):
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
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL.fullmatch(v):
            raise PydanticCustomError(
                "value_error",
                "value is not a valid email address: {reason}",
                {"reason": "The email address is not valid. It must have exactly one @-sign "
                           "and a domain with a dot."},
            )  # fmt: skip
        return v


class CreatePatientIn(_PatientFields):
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    status: Literal["active", "archived", "deceased", "inactive", "prospective"] = "active"


class UpdatePatientIn(_PatientFields):
    base_version: int


# (body field, PatientOut field, "not found" message); the rest copy across by name.
_REF_FIELDS = (
    ("primary_provider_uuid", "primary_provider", "Provider not found"),
    ("secondary_provider_uuid", "secondary_provider", "Provider not found"),
    ("location_uuid", "location", "Location not found"),
    ("responsible_party_uuid", "responsible_party", "Guarantor not found"),
    ("fee_schedule_uuid", "fee_schedule", "Fee schedule not found"),
    ("billing_type_uuid", "billing_type", "Billing type not found"),
    ("employer_uuid", "employer", "Employer not found"),
)
_REF_INPUTS = {f for f, _, _ in _REF_FIELDS}


def _out_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return _dt(v if v.tzinfo else v.replace(tzinfo=UTC))
    if isinstance(v, date):
        return v.isoformat()
    return v


# --------------------------------------------------------------------------- the app

Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    clinic: Clinic,
    *,
    org_id: str,
    api_token: str,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The Dental PMS API for `clinic`, under ``/api/v1/{org_id}``, behind `api_token`.

    `clock` (default: the wall clock) stamps writes; pass a fixed one for repeatable tests.
    """
    store = _Store(clinic, clock or (lambda: datetime.now(UTC)))
    token = api_token.encode()

    def endpoint(fn: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            challenge = {"WWW-Authenticate": "Bearer"}
            if not scheme:
                return _json(401, {"detail": "Not authenticated"}, challenge)
            if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode(), token):
                return _json(401, {"detail": "Invalid authentication credentials"}, challenge)
            if request.path_params.get("org_id") != org_id:
                return _json(404, {"detail": "Organization not found"})
            try:
                return await fn(request)
            except _ApiError as exc:
                return _json(exc.status, {"detail": exc.detail}, exc.headers)

        return wrapper

    # ---- shared pieces

    def row_of(patient_id: str) -> _Row:
        row = store.rows.get(patient_id)
        if row is None:
            raise _ApiError(404, "Patient not found")
        return row

    def filters(params: _Params) -> _Filters:
        status = params.q("status", _STR, None)
        search = params.q("search", _STR, None)
        provider = params.q("primary_provider_uuid", _STR, None)
        location = params.q("location_uuid", _STR, None)
        tag = params.q("tag_definition_uuid", _STR, None)
        dob_from = params.q("dob_from", _DATE, None)
        dob_to = params.q("dob_to", _DATE, None)
        params.done()
        provider_id = _canonical_uuid(provider)
        location_id = _canonical_uuid(location)
        if provider is not None and provider_id not in store.provider_refs:
            raise _ApiError(404, "Provider not found")
        if location is not None and location_id not in store.location_refs:
            raise _ApiError(404, "Location not found")
        if tag is not None:
            raise _ApiError(404, "Tag definition not found")
        return _Filters(
            status=status,
            tokens=_tokens(search),
            dob_from=_d(dob_from),
            dob_to=_d(dob_to),
            provider=provider_id,
            location=location_id,
        )

    def page_of(records: list[Json], page: int, size: int) -> bytes:
        start = (page - 1) * size
        return orjson.dumps(
            {"items": records[start : start + size], "page": page, "page_size": size,
             "total": len(records)}
        )  # fmt: skip

    def raw_json(content: bytes, status: int = 200) -> Response:
        return Response(content, status_code=status, media_type="application/json")

    # ---- patient lists

    async def list_patients(request: Request) -> Response:
        params = _Params(request)
        page = params.q("page", _PAGE, 1)
        size = params.q("page_size", _PAGE_SIZE, 50)
        sort_by = params.q("sort_by", _LIST_SORT, "last_name")
        sort_dir = params.q("sort_dir", _SORT_DIR, "asc")
        f = filters(params)
        _, rows = store.query(f, sort_by)
        start = (page - 1) * size
        chosen = rows[start : start + size] if sort_dir == "asc" else rows[::-1][start : start + size]
        items = b",".join(row.raw for row in chosen)
        tail = orjson.dumps({"page": page, "page_size": size, "total": len(rows)})
        return raw_json(b'{"items":[' + items + b"]," + tail[1:])

    async def cursor_patients(request: Request) -> Response:
        params = _Params(request)
        first = params.q("first", _PAGE_SIZE, 50)
        after = params.q("after", _STR, None)
        sort_by = params.q("sort_by", _CURSOR_SORT, "first_name")
        sort_dir = params.q("sort_dir", _SORT_DIR, "asc")
        after_key = None
        if after is not None:
            after_key = _decode_cursor(after, sort_by)
            if after_key is None:
                params.errors.append(
                    {"type": "value_error", "loc": ["query", "after"],
                     "msg": "Value error, Invalid or malformed cursor", "input": after,
                     "ctx": {"error": "Invalid or malformed cursor"}}
                )  # fmt: skip
        f = filters(params)
        keys, rows = store.query(f, sort_by)
        if sort_dir == "asc":
            start = 0 if after_key is None else bisect_right(keys, after_key)
            rest = rows[start:]
        else:
            end = len(rows) if after_key is None else bisect_left(keys, after_key)
            rest = rows[:end][::-1]
        data = rest[:first]
        end_cursor = _encode_cursor(data[-1], sort_by) if data else None
        items = b",".join(row.raw for row in data)
        info = orjson.dumps({"end_cursor": end_cursor, "has_next_page": len(rest) > first})
        return raw_json(b'{"data":[' + items + b'],"page_info":' + info + b"}")

    async def search_patients(request: Request) -> Response:
        params = _Params(request)
        q = params.q("q", _STR, "")
        limit = params.q("limit", _LIMIT, 20)
        params.done()
        tokens = _tokens(q)
        matches: list[_Row] = []
        if tokens:
            _, rows = store.ordered("last_name")
            matches = [
                row for row in rows
                if not row.deleted and all(_token_match(t, row.name_hay, ()) for t in tokens)
            ]  # fmt: skip
        fields = ("id", "first_name", "last_name", "preferred_name", "date_of_birth", "status",
                  "mobile_phone", "email", "chart_number")  # fmt: skip
        items = [{k: row.doc[k] for k in fields} for row in matches[:limit]]
        return raw_json(orjson.dumps({"items": items, "total": len(matches)}))

    # ---- one patient

    async def get_patient(request: Request) -> Response:
        params = _Params(request)
        pid = params.p("patient_uuid")
        params.done()
        return raw_json(row_of(pid).raw)

    async def create_patient(request: Request) -> Response:
        body = await request.body()
        key = request.headers.get("idempotency-key")
        fingerprint = _fingerprint(body)
        if key is not None and key in store.idempotency:
            seen, response = store.idempotency[key]
            if seen != fingerprint:
                raise _ApiError(409, "Idempotency conflict")
            return raw_json(response, 201)
        data = _parse_body(body, CreatePatientIn)
        if data.status == "archived":
            raise _ApiError(422, "Archived status requires the archive endpoint")
        chart = data.chart_number
        if chart is not None and any(r.doc["chart_number"] == chart for r in store.rows.values()):
            raise _ApiError(409, "Duplicate chart number")
        refs = resolve_refs(data)
        now = store.now()
        store.created += 1
        new_id = str(uuid5(store.render.ns, f"patient:new:{store.created}"))
        doc = store.render.patient(_BLANK_PATIENT)
        doc.update(
            id=new_id, created_at=_dt(now), updated_at=_dt(now), status=data.status,
            chart_number=chart or _next_chart(store),
        )  # fmt: skip
        apply_fields(doc, data, data.model_fields_set, refs)
        if "receives_email" not in data.model_fields_set:
            doc["receives_email"] = doc["email"] is not None
        if "receives_sms" not in data.model_fields_set:
            doc["receives_sms"] = doc["mobile_phone"] is not None
        row = _Row(doc=doc, ref=_ref(new_id, ""))
        store.rows[new_id] = row
        store.changed(row)
        response = orjson.dumps({**doc, "potential_duplicates": duplicates_of(row)})
        if key is not None:
            store.idempotency[key] = (fingerprint, response)
        return raw_json(response, 201)

    async def update_patient(request: Request) -> Response:
        params = _Params(request)
        pid = params.p("patient_uuid")
        params.done()
        data = _parse_body(await request.body(), UpdatePatientIn)
        for name in ("first_name", "last_name"):
            if name in data.model_fields_set and getattr(data, name) is None:
                raise _ApiError(
                    422,
                    [
                        {
                            "type": "string_type",
                            "loc": ["body", name],
                            "msg": "Input should be a valid string",
                            "input": None,
                        }
                    ],
                )
        row = row_of(pid)
        if data.base_version != row.doc["version"]:
            raise _ApiError(409, "Version conflict")
        chart = data.chart_number
        if chart is not None and any(r.doc["chart_number"] == chart for r in store.rows.values() if r is not row):
            raise _ApiError(409, "Duplicate chart number")
        refs = resolve_refs(data)
        apply_fields(row.doc, data, data.model_fields_set - {"base_version"}, refs)
        bump(row)
        return raw_json(row.raw)

    async def archive_patient(request: Request) -> Response:
        params = _Params(request)
        pid = params.p("patient_uuid")
        params.done()
        row = row_of(pid)
        if row.deleted:
            raise _ApiError(422, "Patient is already archived")
        row.doc["status"] = "archived"
        bump(row, deleted=True)
        return raw_json(row.raw)

    async def restore_patient(request: Request) -> Response:
        params = _Params(request)
        pid = params.p("patient_uuid")
        params.done()
        row = row_of(pid)
        if not row.deleted:
            raise _ApiError(422, "Patient is not archived")
        row.doc["status"] = "inactive"
        bump(row, deleted=False)
        return raw_json(row.raw)

    def bump(row: _Row, *, deleted: bool | None = None) -> None:
        now = _dt(store.now())
        row.doc["version"] += 1
        row.doc["updated_at"] = now
        if deleted is not None:
            row.doc["deleted_at"] = now if deleted else None
        store.changed(row)

    def resolve_refs(data: _PatientFields) -> dict[str, Json | None]:
        out: dict[str, Json | None] = {}
        for body_field, out_field, missing in _REF_FIELDS:
            if body_field not in data.model_fields_set:
                continue
            value: UUID | None = getattr(data, body_field)
            if value is None:
                out[out_field] = None
                continue
            key = str(value)
            if body_field.endswith("provider_uuid"):
                ref = store.provider_refs.get(key)
            elif body_field == "location_uuid":
                ref = store.location_refs.get(key)
            elif body_field == "responsible_party_uuid":
                ref = store.rows[key].ref if key in store.rows else None
            else:
                ref = None
            if ref is None:
                raise _ApiError(404, missing)
            out[out_field] = {"uuid": ref["uuid"], "name": ref["name"]}
        return out

    def apply_fields(doc: Json, data: _PatientFields, names: set[str], refs: dict[str, Json | None]) -> None:
        for name in names:
            if name in _REF_INPUTS or name == "status":
                continue
            doc[name] = _out_value(getattr(data, name))
        doc.update(refs)

    def duplicates_of(row: _Row) -> list[Json]:
        d = row.doc
        last = _fold(d["last_name"])
        out = []
        for other in store.rows.values():
            o = other.doc
            if other is row or other.deleted:
                continue
            same_person = d["date_of_birth"] is not None and (
                o["date_of_birth"] == d["date_of_birth"] and _fold(o["last_name"]) == last
            )
            same_email = d["email"] is not None and o["email"] == d["email"]
            same_mobile = d["mobile_phone"] is not None and o["mobile_phone"] == d["mobile_phone"]
            if same_person or same_email or same_mobile:
                out.append({k: o[k] for k in ("id", "first_name", "last_name", "date_of_birth",
                                              "chart_number")})  # fmt: skip
        return out

    # ---- sub-resources

    def sub_params(request: Request) -> tuple[_Params, str, int, int]:
        params = _Params(request)
        pid = params.p("patient_uuid")
        page = params.q("page", _PAGE, 1)
        size = params.q("page_size", _PAGE_SIZE, 50)
        return params, pid, page, size

    async def list_allergies(request: Request) -> Response:
        params, pid, page, size = sub_params(request)
        active = params.q("is_active", _BOOL, None)
        params.done()
        records = [
            a for a in row_of(pid).allergies
            if a["deleted_at"] is None and (active is None or a["status_is_active"] == active)
        ]  # fmt: skip
        return raw_json(page_of(records, page, size))

    async def list_medications(request: Request) -> Response:
        params, pid, page, size = sub_params(request)
        active = params.q("is_active", _BOOL, None)
        params.done()
        records = [
            m for m in row_of(pid).medications
            if m["deleted_at"] is None and (active is None or (m["status"] == "active") == active)
        ]  # fmt: skip
        return raw_json(page_of(records, page, size))

    async def list_diseases(request: Request) -> Response:
        params, pid, page, size = sub_params(request)
        status = params.q("problem_status", _STR, None)
        params.done()
        records = [
            x for x in row_of(pid).diseases
            if x["deleted_at"] is None and (status is None or x["problem_status"] == status)
        ]  # fmt: skip
        return raw_json(page_of(records, page, size))

    async def list_vitals(request: Request) -> Response:
        params, pid, page, size = sub_params(request)
        date_from = _d(params.q("date_from", _DATE, None))
        date_to = _d(params.q("date_to", _DATE, None))
        params.done()
        records = [
            v for v in row_of(pid).vitals
            if v["deleted_at"] is None
            and (date_from is None or v["date_taken"] >= date_from)
            and (date_to is None or v["date_taken"] <= date_to)
        ]  # fmt: skip
        return raw_json(page_of(records, page, size))

    async def get_vitals(request: Request) -> Response:
        params = _Params(request)
        pid = params.p("patient_uuid")
        vid = params.p("vitals_uuid")
        params.done()
        row_of(pid)
        owner, record = store.vitals.get(vid, ("", {}))
        if owner != pid or record["deleted_at"] is not None:
            raise _ApiError(404, "Vital signs not found")
        return raw_json(orjson.dumps(record))

    async def medical_summary(request: Request) -> Response:
        params = _Params(request)
        pid = params.p("patient_uuid")
        params.done()
        row = row_of(pid)
        meds = [m for m in row.medications if m["deleted_at"] is None]
        vitals = [v for v in row.vitals if v["deleted_at"] is None]
        summary = {
            "active_problems": [
                x for x in row.diseases
                if x["deleted_at"] is None and x["problem_status"] == "active"
            ],
            "alerts": [],
            "allergies": [a for a in row.allergies if a["deleted_at"] is None],
            "allergy_review_status": row.doc["allergy_review_status"],
            "current_medications": [m for m in meds if m["status"] == "active"],
            "latest_vitals": vitals[-1] if vitals else None,
            "medical_urgent_note": row.doc["medical_urgent_note"],
            "past_medications": [m for m in meds if m["status"] != "active"],
            "patient": row.ref,
            "premedication_required": bool(row.doc["premedication_required"]),
            "social_history": [],
        }  # fmt: skip
        return raw_json(orjson.dumps(summary))

    # ---- routing

    base = "/api/v1/{org_id}/patients"
    one = base + "/{patient_uuid}"
    routes = [
        Route(base, endpoint(list_patients), methods=["GET"]),
        Route(base, endpoint(create_patient), methods=["POST"]),
        Route(base + "/cursor", endpoint(cursor_patients), methods=["GET"]),
        Route(base + "/search", endpoint(search_patients), methods=["GET"]),
        Route(one, endpoint(get_patient), methods=["GET"]),
        Route(one, endpoint(update_patient), methods=["PATCH"]),
        Route(one + "/archive", endpoint(archive_patient), methods=["POST"]),
        Route(one + "/restore", endpoint(restore_patient), methods=["POST"]),
        Route(one + "/allergies", endpoint(list_allergies), methods=["GET"]),
        Route(one + "/medications", endpoint(list_medications), methods=["GET"]),
        Route(one + "/diseases", endpoint(list_diseases), methods=["GET"]),
        Route(one + "/vital-signs", endpoint(list_vitals), methods=["GET"]),
        Route(one + "/vital-signs/{vitals_uuid}", endpoint(get_vitals), methods=["GET"]),
        Route(one + "/medical-summary", endpoint(medical_summary), methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _json(exc.status_code, {"detail": exc.detail}, dict(exc.headers or {}))


# --------------------------------------------------------------------------- helpers


def _canonical_uuid(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return value


def _encode_cursor(row: _Row, sort_by: str) -> str:
    payload = orjson.dumps([row.doc[sort_by], row.id])
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def _decode_cursor(cursor: str, sort_by: str) -> _SortKey | None:
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        keyset = json.loads(raw)
        if not isinstance(keyset, list) or len(keyset) != 2:
            return None
        value, row_id = keyset
        if not (value is None or isinstance(value, str)) or not isinstance(row_id, str):
            return None
        return _sort_key(sort_by, value, str(UUID(row_id)))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        return None


def _fingerprint(body: bytes) -> str:
    try:
        canonical = orjson.dumps(json.loads(body), option=orjson.OPT_SORT_KEYS)
    except (ValueError, TypeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _parse_body(body: bytes, model: type[M]) -> M:
    if not body.strip():
        raise _ApiError(422, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise _ApiError(
            422,
            [{"type": "json_invalid", "loc": ["body", exc.pos], "msg": "JSON decode error",
              "input": {}, "ctx": {"error": exc.msg}}],
        ) from None  # fmt: skip
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _ApiError(422, _fastapi_errors(exc, ("body",))) from None


def _next_chart(store: _Store) -> str:
    taken = {r.doc["chart_number"] for r in store.rows.values()}
    n = len(store.rows) + 1
    while f"C{n:05d}" in taken:
        n += 1
    return f"C{n:05d}"


_BLANK_PATIENT = Patient(
    id=0, uuid=UUID(int=0), chart_number="", first_name="", middle_name=None, last_name="",
    preferred_name=None, birth_date=None, gender=None, email=None, mobile_phone=None,
    home_phone=None, address_line1=None, city=None, state=None, postal_code=None,
    status="active", deceased_at=None, deleted=False,
    created_at=datetime(1970, 1, 1, tzinfo=UTC), updated_at=datetime(1970, 1, 1, tzinfo=UTC),
    allergy_review="not_reviewed", primary_provider_id=None, location_id=None, allergies=(),
    medications=(), vitals=(), problems=(), encounters=(),
)  # fmt: skip
