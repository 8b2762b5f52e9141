"""Clinic records -> NexHealth JSON (vendor-docs/nexhealth-patients.txt shows the patient shape).

Timestamps are UTC with milliseconds and ``Z`` (``2020-06-05T20:16:57.007Z``), dates
``YYYY-MM-DD``, phone numbers digits only. Clinic ("inserted") records carry the practice
system's ``foreign_id_type``; patients created through the API stay ``nex``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sandboxes.clinic import Encounter, Patient, Provider
from sandboxes.nexhealth.ids import (
    APPOINTMENT_ID_OFFSET,
    INSTITUTION_ID,
    MAIN_LOCATION_ID,
    OTHER_LOCATION_ID,
    PATIENT_ID_OFFSET,
    PROVIDER_ID_OFFSET,
    location_id_of,
)
from sandboxes.nexhealth.new_patient import NewPatient
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.timestamps import iso_date, utc_millis

__all__ = [
    "appointment_doc",
    "clinic_patient_doc",
    "created_patient_doc",
    "provider_doc",
    "upcoming_entry",
]

_INSERTED = "msg-opendental-DataSource-35"
_NOT_INSERTED = "nex"
_GENDER = {"male": "Male", "female": "Female", "non_binary": "Other", "other": "Other"}
_DOCTORS = frozenset({"DDS", "DMD", "MD"})
_UPCOMING_FIELDS = ("id", "provider_id", "provider_name", "start_time", "end_time", "location_id", "confirmed")


def _display_name(provider: Provider) -> str:
    """``Dr. First Last`` for DDS/DMD/MD, ``First Last`` otherwise."""
    name = f"{provider.first_name} {provider.last_name}"
    return f"Dr. {name}" if provider.designation in _DOCTORS else name


def provider_doc(provider: Provider, synced_at: datetime) -> JsonObject:
    """A provider; every provider works at both locations."""
    return {
        "id": provider.id + PROVIDER_ID_OFFSET,
        "email": None,
        "first_name": provider.first_name,
        "middle_name": None,
        "last_name": provider.last_name,
        "name": f"{provider.first_name} {provider.last_name}",
        "display_name": _display_name(provider),
        "npi": None,
        "inactive": False,
        "institution_id": INSTITUTION_ID,
        "foreign_id": str(provider.id),
        "foreign_id_type": _INSERTED,
        "location_ids": [MAIN_LOCATION_ID, OTHER_LOCATION_ID],
        "created_at": utc_millis(synced_at),
        "updated_at": utc_millis(synced_at),
        "last_sync_time": utc_millis(synced_at),
    }


def appointment_doc(
    encounter: Encounter,
    patient: Patient,
    provider: JsonObject,
    appointment_type_id: int,
    timezone: str,
    start_of_today: datetime,
) -> JsonObject:
    """An appointment: one clinic encounter of `patient` with `provider` (a rendered provider)."""
    created = max(patient.created_at, min(encounter.start, start_of_today) - timedelta(days=14))
    if encounter.status == "finished":
        updated = encounter.end or encounter.start
    elif encounter.status == "arrived":
        updated = encounter.start
    elif encounter.status == "cancelled":
        updated = encounter.start - timedelta(days=1)
    else:
        updated = created
    seen = encounter.status in ("finished", "arrived")
    confirmed = seen or (encounter.status == "planned" and encounter.id % 2 == 0)
    return {
        "id": encounter.id + APPOINTMENT_ID_OFFSET,
        "patient_id": patient.id + PATIENT_ID_OFFSET,
        "provider_id": provider["id"],
        "provider_name": provider["display_name"],
        "start_time": utc_millis(encounter.start),
        "end_time": utc_millis(encounter.end),
        "timezone": timezone,
        "location_id": location_id_of(encounter.location_id),
        "institution_id": INSTITUTION_ID,
        "appointment_type_id": appointment_type_id,
        "confirmed": confirmed,
        "cancelled": encounter.status == "cancelled",
        "patient_missing": False,
        "unavailable": False,
        "checkin_at": utc_millis(encounter.start) if seen else None,
        "note": encounter.reason,
        "foreign_id": str(encounter.id),
        "foreign_id_type": _INSERTED,
        "created_at": utc_millis(created),
        "updated_at": utc_millis(max(updated, created)),
    }


def upcoming_entry(appointment: JsonObject) -> JsonObject:
    """One entry of a patient's ``upcoming_appts``: the appointment's values, fewer keys (those
    it has: ``provider_names="absent"`` leaves ``provider_name`` out of both)."""
    return {key: appointment[key] for key in _UPCOMING_FIELDS if key in appointment}


def clinic_patient_doc(patient: Patient, inserted: bool = True) -> JsonObject:
    """A clinic patient, self-guaranteed, at its home location only: inserted into the practice
    system (its chart number the ``foreign_id``), or not yet (`inserted` false: ``nex``)."""
    patient_id = patient.id + PATIENT_ID_OFFSET
    home = location_id_of(patient.location_id)
    seen = any(encounter.status in ("finished", "arrived") for encounter in patient.encounters)
    return {
        "id": patient_id,
        "email": patient.email,
        "first_name": patient.first_name,
        "middle_name": patient.middle_name,
        "last_name": patient.last_name,
        "name": f"{patient.first_name} {patient.last_name}",
        "created_at": utc_millis(patient.created_at),
        "updated_at": utc_millis(patient.updated_at),
        "institution_id": INSTITUTION_ID,
        "foreign_id": patient.chart_number if inserted else None,
        "foreign_id_type": _INSERTED if inserted else _NOT_INSERTED,
        "bio": {
            "date_of_birth": iso_date(patient.birth_date),
            "phone_number": patient.mobile_phone or patient.home_phone,
            "gender": _GENDER.get(patient.gender or ""),
            "street_address": patient.address_line1,
            "city": patient.city,
            "state": patient.state,
            "zip_code": patient.postal_code,
            "cell_phone_number": patient.mobile_phone,
            "home_phone_number": patient.home_phone,
            "new_patient": not seen,
            "non_patient": False,
        },
        "inactive": patient.status in ("inactive", "deceased"),
        "last_sync_time": utc_millis(patient.updated_at),
        "guarantor_id": patient_id,
        "unsubscribe_sms": False,
        "location_ids": [] if home is None else [home],
    }


def created_patient_doc(patient_id: int, location: int, patient: NewPatient, now: datetime) -> JsonObject:
    """A patient created through ``POST /patients``: never inserted, so ``foreign_id_type`` stays ``nex``."""
    created = utc_millis(now)
    return {
        "id": patient_id,
        "email": patient.email,
        "first_name": patient.first_name,
        "middle_name": None,
        "last_name": patient.last_name,
        "name": f"{patient.first_name} {patient.last_name}",
        "created_at": created,
        "updated_at": created,
        "institution_id": INSTITUTION_ID,
        "foreign_id": None,
        "foreign_id_type": _NOT_INSERTED,
        "bio": {
            "date_of_birth": patient.birth_date,
            "phone_number": patient.phone,
            "gender": patient.gender,
            "street_address": None,
            "city": None,
            "state": None,
            "zip_code": None,
            "cell_phone_number": None,
            "home_phone_number": None,
            "new_patient": True,
            "non_patient": False,
        },
        "inactive": False,
        "last_sync_time": None,
        "guarantor_id": None,
        "unsubscribe_sms": False,
        "location_ids": [location],
    }
