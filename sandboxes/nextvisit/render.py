"""Clinic records -> Nextvisit JSON (plain dicts, the API resource's field names).

A patient's ``id`` is the clinic patient id, ``uuid`` the clinic uuid; an encounter's
``id`` is the clinic encounter id (its ``uuid`` a uuid5). Datetimes are ISO 8601 UTC to
the second with ``Z`` (as in the examples of ``vendor-docs/nextvisit-api.txt``, not
Laravel's default ``.000000Z``), dates ``YYYY-MM-DD``. Free-text fields (``notes``,
``allergies``, ``latest_medications``) are written from the clinic the way front-desk
staff would type them, in a few styles, as the ``app`` module docstring describes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from uuid import uuid5

from sandboxes.clinic import CLINIC_NAMESPACE, Clinic, Encounter, Medication, Patient, Provider
from sandboxes.nextvisit.readings import Readings
from sandboxes.nextvisit.rows import PatientRow
from sandboxes.nextvisit.wire import LOCAL_ZONE
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.phones import format_us_phone
from sandboxes.toolkit.timestamps import iso_date, iso_utc

__all__ = ["Renderer", "drug_review_first", "iso_seconds", "provider_user"]

_NKA_TEXTS = ("NKDA", "NKA", "No known allergies", "none", "No Known Drug Allergies")
# The ``spellings="other"`` reading's words for the same things.
_OTHER_NKA_TEXTS = ("No allergies", "Denies", "No known drug allergies (NKDA)", "NKA/NKDA", "No Known Allergies")
_OTHER_STATUS = {"planned": "booked", "arrived": "checked_in", "finished": "complete", "cancelled": "canceled"}
_OTHER_GENDER = {"male": "Male", "female": "Female", "non_binary": "Nonbinary", "other": "Other", "unknown": "U",
                 "prefer_not_to_say": "U"}  # fmt: skip
_ENCOUNTER_STATUS = {"planned": "scheduled", "arrived": "in_progress", "finished": "completed",
                     "cancelled": "cancelled"}  # fmt: skip
_GENDER = {"male": "male", "female": "female", "non_binary": "other", "other": "other",
           "unknown": "unknown", "prefer_not_to_say": "unknown"}  # fmt: skip


def iso_seconds(value: datetime | None) -> str | None:
    """`value` in UTC to the second with ``Z``: ``2024-03-15T14:30:00Z`` (or None)."""
    return None if value is None else iso_utc(value.astimezone(UTC).replace(microsecond=0))


def provider_user(provider: Provider) -> JsonObject:
    """A clinic provider as a Nextvisit user: same id, "First Last", ``first.last@example.com``."""
    name = f"{provider.first_name} {provider.last_name}"
    email = f"{provider.first_name}.{provider.last_name}@example.com".lower()
    return {"id": provider.id, "name": name, "email": email}


def _allergy_items(patient: Patient) -> list[str]:
    """The clinic's live allergies as items of the text, with their reactions in the styles that
    write them."""
    with_reaction = (patient.id // 2) % 5 in (1, 3)
    return [
        f"{allergy.substance} ({allergy.reaction.lower()})" if with_reaction and allergy.reaction else allergy.substance
        for allergy in patient.allergies
        if not allergy.deleted
    ]


def _allergies_list(patient: Patient, other: bool = False) -> list[str] | None:
    """``allergies_shape="list"``: the items of the text, a text recording none as one item (an
    empty text as none); null stays null."""
    items = _allergy_items(patient)
    text = None if items else _allergies_text(patient, other)
    return items or (None if text is None else [text] if text else [])


def _allergy_objects(patient: Patient, other: bool = False) -> list[JsonObject] | None:
    """``allergies_shape="objects"``: each live allergy a row ``{name, reaction}`` (the reaction
    lower-cased, as the text writes it, or null); a text recording none one row named so."""
    live = [allergy for allergy in patient.allergies if not allergy.deleted]
    if live:
        return [{"name": a.substance, "reaction": a.reaction.lower() if a.reaction else None} for a in live]
    items = _allergies_list(patient, other)
    return None if items is None else [{"name": item, "reaction": None} for item in items]


def _allergies_text(patient: Patient, other: bool = False) -> str | None:
    items = _allergy_items(patient)
    if not items:
        texts = _OTHER_NKA_TEXTS if other else _NKA_TEXTS
        if patient.allergy_review == "nkda":
            return texts[patient.id % len(texts)]
        return None if patient.id % 2 else ("N/A" if other else "")
    style = (patient.id // 2) % 5
    if style in (2, 3):
        return "; ".join(items)
    if style == 4 and len(items) > 1:
        return f"{', '.join(items[:-1])} and {items[-1]}"
    return ", ".join(items)


# The clinic's allergy substances that are no drug (food, latex, adhesives, insects, animals).
_NOT_DRUGS = frozenset({"Latex", "Peanut", "Adhesive bandages", "Shellfish", "Bee stings", "Cats"})


def drug_review_first(patient: Patient) -> bool:
    """Whether ``allergy_charting="drug_review_first"`` charts `NKDA` first for the patient: it has
    allergies, none of them to a drug."""
    live = [allergy for allergy in patient.allergies if not allergy.deleted]
    return bool(live) and all(allergy.substance in _NOT_DRUGS for allergy in live)


def _led_by_nkda(allergies: Any) -> Any:
    """`allergies` (in any of the shapes) with `NKDA` charted first."""
    if isinstance(allergies, str):
        return f"NKDA; {allergies}"
    if allergies and isinstance(allergies[0], dict):
        return [{"name": "NKDA", "reaction": None}, *allergies]
    return ["NKDA", *allergies]


_ALLERGY_SHAPES: dict[str, Callable[[Patient, bool], Any]] = {
    "text": _allergies_text,
    "list": _allergies_list,
    "objects": _allergy_objects,
}

_DOSE_START = re.compile(r"\s+\d")


def _medication_text(medication: Medication) -> str:
    if medication.rxnorm is not None:
        base = _DOSE_START.split(medication.name, maxsplit=1)[0]
        text = f"{base} {medication.strength.replace(' ', '')}" if medication.strength else base
    else:
        text = medication.name
    return f"{text} PRN" if medication.prn else text


def _latest_medications(patient: Patient) -> list[str]:
    current = [
        medication
        for medication in patient.medications
        if not medication.deleted and medication.status in ("active", "on_hold")
    ]
    current.sort(key=lambda medication: medication.id)
    current.sort(key=lambda medication: medication.start or date.min, reverse=True)
    return [_medication_text(medication) for medication in current]


_AMOUNT = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>\S.*)")


def _measured(strength: str | None) -> JsonObject:
    """A strength (``10 mg``, ``90 mcg/actuation``) as ``measured`` rows keep it: the amount as a
    two-place decimal written as text (``10.00``) and its unit apart (``mg``)."""
    found = _AMOUNT.fullmatch(strength or "")
    if found is None:
        return {"dose": None, "dose_unit": None}
    return {"dose": f"{float(found['amount']):.2f}", "dose_unit": found["unit"]}


def _medication_objects(patient: Patient, stop_dates: bool = False, measured: bool = False) -> list[JsonObject]:
    """The ``objects`` reading: every non-deleted medication, its status said, newest first;
    ``stop_dates``: no status, a stopped one (discontinued or completed) has its
    ``discontinued_at``, as a Rails model with a timestamp column in place of an enum says it."""
    listed = sorted((m for m in patient.medications if not m.deleted), key=lambda medication: medication.id)
    listed.sort(key=lambda medication: medication.start or date.min, reverse=True)
    if stop_dates:
        return [
            {
                "id": medication.id,
                "name": medication.name,
                "dosage": medication.strength,
                "frequency": medication.frequency,
                "started_on": iso_date(medication.start),
                "discontinued_at": _discontinued_at(medication),
            }
            for medication in listed
        ]
    return [
        {
            "id": medication.id,
            "name": medication.name,
            **(_measured(medication.strength) if measured else {"dosage": medication.strength}),
            "frequency": medication.frequency,
            "status": medication.status,
            "started_on": iso_date(medication.start),
            "ended_on": iso_date(medication.stop),
        }
        for medication in listed
    ]


def _discontinued_at(medication: Medication) -> str | None:
    """When a stopped medication was stopped (its stop day, else its start day, at noon UTC)."""
    if medication.status not in ("discontinued", "completed"):
        return None
    day = medication.stop or medication.start or date(2000, 1, 1)
    return iso_seconds(datetime.combine(day, time(12, 0), UTC))


def _notes(patient: Patient) -> str | None:
    parts = []
    if patient.preferred_name:
        parts.append(f"Prefers to be called {patient.preferred_name}.")
    if patient.status == "inactive":
        parts.append("Inactive patient.")
    elif patient.status == "deceased" and patient.deceased_at is not None:
        parts.append(f"Deceased {patient.deceased_at.date().isoformat()}.")
    elif patient.status == "prospective":
        parts.append("New patient referral.")
    return " ".join(parts) or None


def _flat(doc: JsonObject) -> JsonObject:
    """An encounter the ``flat`` way: ids as strings, provider and location as their names,
    the time in ``date_of_service`` (see ``readings``)."""
    provider, location = doc.get("provider"), doc["location"]
    names = (provider["name"], provider["credentials"]) if provider else ()
    flat: JsonObject = {}
    for key, value in doc.items():
        if key in ("id", "patient_id"):
            flat[key] = str(value)
        elif key == "start_time":
            flat["date_of_service"] = value
        elif key == "provider":
            flat[key] = ", ".join(name for name in names if name)
        elif key == "location":
            flat[key] = None if location is None else location["name"]
        else:
            flat[key] = value
    return flat


def _day_and_times(doc: JsonObject, zone: tzinfo, rails: bool = False) -> JsonObject:
    """An encounter the ``day_and_times`` way: its day as ``date`` and its times as times of day
    (``HH:MM:SS``), on `zone`'s wall clock (see ``readings``); the ``day_and_rails_times`` way
    (`rails`), each time on Rails' dummy day, ``2000-01-01T10:00:00Z`` (UTC only). An impossible
    day stays impossible (``unreadable_encounter``): its ``date`` is written as it is."""
    if rails:
        split = _day_and_times(doc, UTC)
        times = {k: f"2000-01-01T{v}Z" for k, v in split.items() if k in ("start_time", "end_time") and v}
        return {**split, **times}
    out: JsonObject = {}
    day: str | None = None
    for key, value in doc.items():
        if key in ("start_time", "end_time") and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(zone)
            except ValueError:
                day = day or value[:10]  # no such day: written as the record holds it
                out[key] = value[11:19]
                continue
            day = day or moment.date().isoformat()
            out[key] = moment.strftime("%H:%M:%S")
        else:
            out[key] = value
    return {"date": day, **out}


def _titled(doc: JsonObject, scheduled: bool = False) -> JsonObject:
    """An encounter the ``titled`` way: its type as ``title``, its time as ``encounter_date``;
    or the ``scheduled`` way (Rails' ``*_at`` datetime columns): its times as ``scheduled_at``
    and ``end_at`` (see ``readings``)."""
    names = {"type": "title", "start_time": "encounter_date"}
    if scheduled:
        names = {"type": "title", "start_time": "scheduled_at", "end_time": "end_at"}
    return {names.get(key, key): value for key, value in doc.items()}


class Renderer:
    """Clinic records -> Nextvisit JSON (plain dicts)."""

    def __init__(self, clinic: Clinic, readings: Readings | None = None) -> None:
        self.clinic = clinic
        self.readings = readings or Readings()
        self.seed = clinic.seed
        self.start_of_today = datetime.combine(clinic.today, time(0, 0), tzinfo=UTC)
        self.providers = {provider.id: provider for provider in clinic.providers}
        self.locations = {location.id: {"id": location.id, "name": location.name} for location in clinic.locations}

    def uuid(self, kind: str, key: int) -> str:
        return str(uuid5(CLINIC_NAMESPACE, f"nextvisit:{self.seed}:{kind}:{key}"))

    def encounter(self, encounter: Encounter, patient: Patient) -> JsonObject:
        provider = self.providers[encounter.provider_id]
        telehealth = encounter.type_code is None and encounter.id % 2 == 0
        created = max(patient.created_at, min(encounter.start, self.start_of_today) - timedelta(days=14))
        if encounter.status == "finished":
            updated = encounter.end or encounter.start
        elif encounter.status == "arrived":
            updated = encounter.start
        elif encounter.status == "cancelled":
            updated = max(created, encounter.start - timedelta(days=1))
        else:
            updated = created
        start = iso_seconds(encounter.start)
        other = self.readings.spellings == "other"
        if encounter.id == self.readings.unreadable_encounter and start is not None:
            start = f"{start[:4]}-02-30{start[10:]}"  # no such day: the record cannot be read
        doc: JsonObject = {
            "id": encounter.id,
            "uuid": self.uuid("encounter", encounter.id),
            "patient_id": patient.id,
            "status": (_OTHER_STATUS if other else _ENCOUNTER_STATUS)[encounter.status],
            "visit_type": ("video_visit" if other else "telehealth") if telehealth else "in_person",
            "type": encounter.type_text,
            "reason": encounter.reason,
            "start_time": start,
            "end_time": iso_seconds(encounter.end),
            "provider": {
                "id": provider.id,
                "name": f"{provider.first_name} {provider.last_name}",
                "credentials": provider.designation,
            },
            "location": None if telehealth else dict(self.locations[encounter.location_id]),
            "signed": encounter.locked,
            "created_at": iso_seconds(created),
            "updated_at": iso_seconds(max(updated, created)),
        }
        if self.readings.encounter_statuses == "note" and encounter.status == "finished" and encounter.locked:
            doc["status"] = "amended" if encounter.id % 2 == 0 else "signed"  # the note's state
        if encounter.id == self.readings.voided_encounter:
            doc["status"] = "void"  # its note voided: a record made in error
        if self.readings.visit_types == "coded":  # a row of a code table: its code and description
            doc["type"] = {"code": encounter.type_code, "description": encounter.type_text}
        if self.readings.encounter_clinician == "user":  # the user who documented it, as PatientFull's
            doc = {**{k: v for k, v in doc.items() if k != "provider"}, "user_id": provider.id}
            doc["user"] = provider_user(provider)
        if self.readings.encounter_shape == "flat":
            return _flat(doc)
        if self.readings.encounter_shape == "day_and_times":
            return _day_and_times(doc, LOCAL_ZONE if self.readings.datetimes == "local" else UTC)
        if self.readings.encounter_shape == "day_and_rails_times":
            return _day_and_times(doc, UTC, rails=True)
        if self.readings.encounter_shape == "scheduled":
            return _titled(doc, scheduled=True)
        return _titled(doc) if self.readings.encounter_shape == "titled" else doc

    @staticmethod
    def timeline(patient: Patient) -> list[JsonObject]:
        events: list[tuple[datetime, str, JsonObject]] = []
        for encounter in patient.encounters:
            if encounter.status == "planned":
                continue
            title = encounter.type_text if encounter.status != "cancelled" else f"Cancelled: {encounter.type_text}"
            key = f"encounter-{encounter.id}"
            occurred = iso_seconds(encounter.start)
            events.append(
                (encounter.start, key, {"id": key, "type": "encounter", "occurred_at": occurred, "title": title})
            )
            if encounter.locked:
                at = encounter.end or encounter.start
                key = f"note-{encounter.id}"
                title = f"Progress note signed: {encounter.type_text}"
                events.append((at, key, {"id": key, "type": "note", "occurred_at": iso_seconds(at), "title": title}))
        events.sort(key=lambda event: event[1])
        events.sort(key=lambda event: event[0], reverse=True)
        return [event[2] for event in events]

    def patient(self, patient: Patient) -> PatientRow:
        deleted_at = iso_seconds(patient.updated_at) if patient.deleted else None
        other = self.readings.spellings == "other"
        medications: list[str] | str | list[JsonObject] = _latest_medications(patient)
        if self.readings.medication_shape in ("objects", "stop_dates", "measured"):
            shape = self.readings.medication_shape
            medications = _medication_objects(patient, shape == "stop_dates", shape == "measured")
        elif other:  # one text, a drug a line
            medications = "\n".join(_latest_medications(patient)) or "None"
        genders = _OTHER_GENDER if other else _GENDER
        allergies = _ALLERGY_SHAPES[self.readings.allergies_shape](patient, other)
        if self.readings.allergy_charting == "drug_review_first" and drug_review_first(patient):
            allergies = _led_by_nkda(allergies)
        meta: JsonObject = {"chart_number": patient.chart_number}
        if patient.preferred_name:
            meta["preferred_name"] = patient.preferred_name
        first_name, last_name = patient.first_name, patient.last_name
        if not self.readings.trim_strings and patient.id % 5 == 0:  # as typed at the desk
            first_name, last_name = f" {first_name}", f"{last_name} "
        doc: JsonObject = {
            "id": patient.id,
            "uuid": str(patient.uuid),
            "first_name": first_name,
            "middle_name": patient.middle_name,
            "last_name": last_name,
            "gender": None if patient.gender is None else genders[patient.gender],
            "date_of_birth": iso_date(patient.birth_date),
            "notes": _notes(patient),
            "allergies": allergies,
            "insurance": None,
            "latest_medications": medications,
            "meta": meta,
            "created_at": iso_seconds(patient.created_at),
            "updated_at": iso_seconds(patient.updated_at),
            "deleted_at": deleted_at,
        }
        ordered = sorted(patient.encounters, key=lambda encounter: encounter.id)
        ordered.sort(key=lambda encounter: iso_seconds(encounter.start) or "", reverse=True)
        encounters = [self.encounter(encounter, patient) for encounter in ordered]
        demographics = {
            "email": patient.email,
            "phone": format_us_phone(patient.mobile_phone or patient.home_phone),
            "address_line1": patient.address_line1,
            "city": patient.city,
            "state": patient.state,
            "postal_code": patient.postal_code,
        }
        owner = patient.primary_provider_id if patient.primary_provider_id is not None else 1
        row = PatientRow(
            doc=doc, user_id=owner, encounters=encounters, timeline=self.timeline(patient), demographics=demographics
        )
        row.refresh()
        return row
