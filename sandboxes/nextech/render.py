"""Clinic records -> Nextech JSON (vendor-docs/nextech-api.txt shows the patient and encounter models).

Ids are the clinic's: ``patientId``, ``encounterId`` and ``doctorId`` are the clinic ids.
Keys come in the documented order.
"""

from __future__ import annotations

from sandboxes.clinic import Encounter, Patient, Provider
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.phones import format_us_phone
from sandboxes.toolkit.timestamps import utc_millis

__all__ = ["department_of", "encounter_summary", "locked_value", "patient_doc"]


def _ssn(patient_id: int) -> str | None:
    """Fake but well-formed ``9AA-GG-SSSS`` (area 900-999 is never issued), unique; none for every fourth id."""
    if patient_id % 4 == 0:
        return None
    return f"{900 + patient_id % 100}-{10 + (patient_id * 7) % 90:02d}-{patient_id % 10000:04d}"


def patient_doc(patient: Patient) -> JsonObject:
    """A ``/api/search`` result: ``dob`` is a datetime at UTC midnight, ``homePhone`` the home phone only."""
    return {
        "patientId": patient.id,
        "chartNumber": patient.chart_number,
        "firstName": patient.first_name,
        "lastName": patient.last_name,
        "middleName": patient.middle_name,
        "dob": f"{patient.birth_date.isoformat()}T00:00:00.000Z" if patient.birth_date else None,
        "ssn": _ssn(patient.id),
        "homePhone": format_us_phone(patient.home_phone),
    }


def department_of(type_code: str | None) -> str:
    """The ``department`` of an encounter with this CDT code (None: a medical visit)."""
    if type_code is None:
        return "Primary Care"
    return {"D4": "Periodontics", "D7": "Oral Surgery", "D8": "Orthodontics"}.get(type_code[:2], "General Dentistry")


def locked_value(encounter_id: int, locked: bool) -> bool | str:
    """``encounterLocked`` as the sandbox sends it: a boolean or one of two string spellings."""
    kind = encounter_id % 3
    if kind == 0:
        return locked
    if kind == 1:
        return "true" if locked else "false"
    return "True" if locked else "False"


def encounter_summary(encounter: Encounter, doctor: Provider, location_name: str) -> JsonObject:
    """The ``summary`` of an encounter search result."""
    return {
        "encounterId": encounter.id,
        "doctorId": doctor.id,
        "doctorFirstName": doctor.first_name,
        "doctorLastName": doctor.last_name,
        "doctorProfessionalDesignation": doctor.designation,
        "department": department_of(encounter.type_code),
        "location": location_name,
        "encounterDate": utc_millis(encounter.start),
        "type": encounter.type_text,
        "encounterLocked": locked_value(encounter.id, encounter.locked),
    }
