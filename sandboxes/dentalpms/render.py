"""Clinic records -> Dental PMS JSON documents (plain dicts, the API's field names).

Formats follow the API reference (``vendor-docs/dentalpms-api.txt``, pydantic v2 on
FastAPI): datetimes ISO 8601 UTC with ``Z`` (fractional seconds only when non-zero),
dates ``YYYY-MM-DD``, times ``HH:MM:SS``, decimals and money as strings, missing values
``null``; references are ``{"uuid": ..., "name": ...}``. Where the clinic has no data for
a field the document says null (or ``"0.00"`` for balances). The timestamps and versions
of sub-records are derived, as the ``app`` module docstring describes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from sandboxes.clinic import Allergy, Clinic, Medication, Patient, Problem, Provider, VitalSigns
from sandboxes.dentalpms.ids import RecordKind, namespace
from sandboxes.dentalpms.vital_flags import abnormal_flags
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.timestamps import iso_date, iso_utc

__all__ = ["BLANK_PATIENT", "AllergySeverities", "Renderer", "SnomedReactions", "VitalTimes", "reference"]

#: How a vital-signs reading's ``date_taken``/``time_taken`` are written: ``"local"`` (the
#: clinic's day and wall clock, ``14:30:00``) or ``"utc"`` (the UTC day and time, with its
#: ``Z``: ``19:30:00Z``, as a service that stores one UTC datetime and splits it would) or
#: ``"instant"`` (``date_taken`` the whole moment as a UTC date-time, ``2024-05-01T19:30:00Z``,
#: and ``time_taken`` its time of day, ``19:30:00``, with no zone: a .NET service whose
#: ``DateTime DateTaken`` holds the moment taken and whose ``TimeSpan TimeTaken`` is its
#: ``TimeOfDay``; a reading without a time is its day's midnight, ``2024-05-01T00:00:00``).
VitalTimes = Literal["local", "utc", "instant"]

#: How an allergy's ``severity`` (typed only ``string``) is written: ``"fhir"`` (``mild``,
#: ``moderate``, ``severe``), ``"scale"`` (a three-step pick list: ``Low``, ``Medium``,
#: ``High``) or ``"labels"`` (a form's labels, the top one named for what it means:
#: ``Mild``, ``Moderate``, ``Life-threatening``).
AllergySeverities = Literal["fhir", "scale", "labels"]

#: How an allergy's ``snomed_reaction`` (typed only ``string``) is written: ``"code"`` (the
#: concept id, ``247472004``), ``"term"`` (the concept's term as picked from a SNOMED list,
#: ``Hives``) or ``"expression"`` (SNOMED CT compositional grammar, id and term:
#: ``247472004 |Hives|``, as terminology pickers copy a concept).
SnomedReactions = Literal["code", "term", "expression"]
_SEVERITY_WORDS: dict[str, dict[str, str]] = {
    "scale": {"mild": "Low", "moderate": "Medium", "severe": "High"},
    "labels": {"mild": "Mild", "moderate": "Moderate", "severe": "Life-threatening"},
}

_PROBLEM_TYPE_SNOMED = "55607006"  # SNOMED CT |Problem (finding)|


def reference(uuid: UUID | str, name: str | None) -> JsonObject:
    """A ``{"uuid", "name"}`` reference, the API's lightweight link to another record."""
    return {"uuid": str(uuid), "name": name}


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _provider_name(provider: Provider) -> str:
    return f"{provider.first_name} {provider.last_name}, {provider.designation}"


def _at(day: date, floor: datetime) -> datetime:
    """18:00Z on `day`, but never before `floor` (a record is not older than its patient)."""
    return max(floor, datetime.combine(day, time(18, 0), tzinfo=UTC))


class Renderer:
    """Clinic records -> Dental PMS JSON (plain dicts)."""

    def __init__(
        self,
        clinic: Clinic,
        vital_times: VitalTimes = "local",
        allergy_severities: AllergySeverities = "fhir",
        snomed_reactions: SnomedReactions = "code",
    ) -> None:
        if vital_times not in ("local", "utc", "instant"):
            raise ValueError(f"vital_times must be 'local', 'utc' or 'instant', not {vital_times!r}")
        if allergy_severities not in ("fhir", "scale", "labels"):
            raise ValueError(f"allergy_severities must be 'fhir', 'scale' or 'labels', not {allergy_severities!r}")
        self.vital_times = vital_times
        self.severity_words = _SEVERITY_WORDS.get(allergy_severities, {})
        if snomed_reactions not in ("code", "term", "expression"):
            raise ValueError(f"snomed_reactions must be 'code', 'term' or 'expression', not {snomed_reactions!r}")
        self.snomed_reactions = snomed_reactions
        self.ns = namespace(clinic)
        self.zone = ZoneInfo(clinic.timezone)
        self.end_of_today = datetime.combine(clinic.today, time(23, 59), tzinfo=UTC)
        self.providers = {
            provider.id: reference(self.uuid("provider", provider.id), _provider_name(provider))
            for provider in clinic.providers
        }
        self.locations = {
            location.id: reference(self.uuid("location", location.id), location.name) for location in clinic.locations
        }

    def uuid(self, kind: RecordKind, key: int | str) -> str:
        return str(uuid5(self.ns, f"{kind}:{key}"))

    def provider(self, provider_id: int | None) -> JsonObject | None:
        return None if provider_id is None else dict(self.providers[provider_id])

    def _stamps(self, created: datetime, changed: datetime | None, deleted: bool) -> JsonObject:
        deleted_at = min(created + timedelta(days=7), self.end_of_today) if deleted else None
        updated = deleted_at or max(created, changed or created)
        return {
            "created_at": iso_utc(created),
            "updated_at": iso_utc(updated),
            "deleted_at": iso_utc(deleted_at),
            "version": 1 if updated == created else 2,
        }

    def patient(self, patient: Patient) -> JsonObject:
        live_vitals = [reading.taken_on for reading in patient.vitals if not reading.deleted]
        visits = [
            encounter.start.date() for encounter in patient.encounters if encounter.status in ("finished", "arrived")
        ]
        has_address = any((patient.address_line1, patient.city, patient.state, patient.postal_code))
        version = 1 if patient.updated_at == patient.created_at else 2 + patient.id % 3
        return {
            "address_line1": patient.address_line1,
            "address_line2": None,
            "address_note": None,
            "allergy_review_status": patient.allergy_review,
            "appointment_module_note": None,
            "ask_to_arrive_early_mins": None,
            "balance_0_30": "0.00",
            "balance_31_60": "0.00",
            "balance_61_90": "0.00",
            "balance_over_90": "0.00",
            "balance_total": "0.00",
            "billing_cycle_day": None,
            "billing_type": None,
            "chart_number": patient.chart_number,
            "city": patient.city,
            "consent_flags": None,
            "country": "US" if has_address else None,
            "created_at": iso_utc(patient.created_at),
            "date_first_visit": iso_date(min(visits)) if visits else None,
            "date_of_birth": iso_date(patient.birth_date),
            "date_time_deceased": iso_utc(patient.deceased_at),
            "deleted_at": iso_utc(patient.updated_at) if patient.deleted else None,
            "email": patient.email,
            "emergency_contact_name": None,
            "emergency_contact_phone": None,
            "employer": None,
            "estimated_balance": "0.00",
            "fee_schedule": None,
            "first_name": patient.first_name,
            "gender": patient.gender,
            "home_phone": patient.home_phone,
            "id": str(patient.uuid),
            "insurance_estimate": "0.00",
            "last_name": patient.last_name,
            "latest_vitals_date": iso_date(max(live_vitals)) if live_vitals else None,
            "location": None if patient.location_id is None else dict(self.locations[patient.location_id]),
            "marital_status": None,
            "medicaid_id": None,
            "medical_summary": None,
            "medical_urgent_note": None,
            "middle_name": patient.middle_name,
            "mobile_phone": patient.mobile_phone,
            "payment_plan_due": "0.00",
            "postal_code": patient.postal_code,
            "potential_duplicates": [],
            "preferred_confirmation_method": None,
            "preferred_contact_method": None,
            "preferred_language": None,
            "preferred_name": patient.preferred_name,
            "premedication_required": False,
            "primary_provider": self.provider(patient.primary_provider_id),
            "pronoun": None,
            "receives_email": patient.email is not None,
            "receives_sms": patient.mobile_phone is not None,
            "responsible_party": None,
            "salutation": None,
            "scheduling_restricted": patient.status == "inactive",
            "secondary_provider": None,
            "smoking_snomed": None,
            "social_security_number": None,
            "state": patient.state,
            "status": "archived" if patient.deleted else patient.status,
            "title": None,
            "treatment_notes": None,
            "updated_at": iso_utc(patient.updated_at),
            "version": version,
            "work_phone": None,
        }

    def allergy(self, allergy: Allergy, patient: Patient, pref: JsonObject) -> JsonObject:
        created = _at(allergy.noted_on, patient.created_at) if allergy.noted_on else patient.created_at
        return {
            "allergy_definition": reference(self.uuid("allergy_definition", allergy.substance), allergy.substance),
            "date_adverse_reaction": iso_date(allergy.noted_on),
            "id": self.uuid("allergy", allergy.id),
            "interaction_warnings": [],
            "patient": pref,
            "reaction": allergy.reaction,
            "severity": self.severity_words.get(allergy.severity or "", allergy.severity),
            "snomed_reaction": self._snomed_reaction(allergy),
            "status_is_active": allergy.active,
            **self._stamps(created, None, allergy.deleted),
        }

    def _snomed_reaction(self, allergy: Allergy) -> str | None:
        if allergy.reaction_snomed is None or self.snomed_reactions == "code":
            return allergy.reaction_snomed
        if self.snomed_reactions == "term":
            return allergy.reaction
        return f"{allergy.reaction_snomed} |{allergy.reaction}|"

    def medication(self, medication: Medication, patient: Patient, pref: JsonObject) -> JsonObject:
        created = _at(medication.start, patient.created_at) if medication.start else patient.created_at
        changed = _at(medication.stop, created) if medication.stop else None
        frequency = medication.frequency
        if medication.prn:
            frequency = f"{frequency} as needed" if frequency else "as needed"
        coded = medication.rxnorm is not None
        definition = reference(self.uuid("medication_definition", medication.name), medication.name) if coded else None
        return {
            "date_start": iso_date(medication.start),
            "date_stop": iso_date(medication.stop),
            "discontinuation_reason": None,
            "dosage": medication.strength,
            "frequency": frequency,
            "id": self.uuid("medication", medication.id),
            "interaction_warnings": [],
            "is_cpoe": False,
            "med_descript": None if coded else medication.name,
            "medication_definition": definition,
            "patient": pref,
            "patient_note": None,
            "provider": self.provider(medication.prescriber_id),
            "route": medication.route,
            "rx_cui": medication.rxnorm,
            "status": medication.status,
            **self._stamps(created, changed, medication.deleted),
        }

    def vitals(self, reading: VitalSigns, patient: Patient, pref: JsonObject) -> JsonObject:
        taken = datetime.combine(reading.taken_on, reading.taken_at or time(12, 0), tzinfo=self.zone)
        created = max(patient.created_at, taken.astimezone(UTC))
        flags = abnormal_flags(reading)
        day, clock = iso_date(reading.taken_on), None
        if reading.taken_at is not None:
            clock = reading.taken_at.strftime("%H:%M:%S")
            if self.vital_times == "utc":  # the same instant as the UTC day and time
                utc = taken.astimezone(UTC)
                day, clock = iso_date(utc.date()), utc.strftime("%H:%M:%SZ")
            elif self.vital_times == "instant":  # the moment itself, and its time of day without a zone
                utc = taken.astimezone(UTC)
                day, clock = utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.strftime("%H:%M:%S")
        elif self.vital_times == "instant":
            day = f"{day}T00:00:00"
        return {
            "abnormal_flags": flags,
            "bmi": _decimal(reading.bmi),
            "bmi_percentile": reading.bmi_percentile,
            "bp_diastolic": reading.diastolic,
            "bp_systolic": reading.systolic,
            "created_by": None,
            "date_taken": day,
            "has_followup_plan": False,
            "height_inches": _decimal(reading.height_in),
            "id": self.uuid("vitals", reading.id),
            "is_procedure_blocking": any(flag["severity"] == "critical" for flag in flags),
            "note": None,
            "oxygen_saturation": reading.spo2,
            "patient": pref,
            "provider": self.provider(reading.provider_id),
            "pulse": reading.pulse,
            "respiration_rate": reading.respiration_rate,
            "temperature_f": _decimal(reading.temperature_f),
            "time_taken": clock,
            "weight_code": None,
            "weight_lbs": _decimal(reading.weight_lb),
            **self._stamps(created, None, reading.deleted),
        }

    def disease(self, problem: Problem, patient: Patient, pref: JsonObject) -> JsonObject:
        created = _at(problem.onset, patient.created_at) if problem.onset else patient.created_at
        changed = _at(problem.resolved_on, created) if problem.resolved_on else None
        return {
            "date_start": iso_date(problem.onset),
            "date_stop": iso_date(problem.resolved_on),
            "disease_definition": reference(self.uuid("disease_definition", problem.name), problem.name),
            "function_status": "problem",
            "id": self.uuid("disease", problem.id),
            "patient": pref,
            "patient_note": None,
            "problem_status": problem.status,
            "snomed_problem_type": _PROBLEM_TYPE_SNOMED,
            **self._stamps(created, changed, problem.deleted),
        }


#: A patient with nothing filled in: rendered, the template of a patient created over the API.
BLANK_PATIENT = Patient(
    id=0, uuid=UUID(int=0), chart_number="", first_name="", middle_name=None, last_name="",
    preferred_name=None, birth_date=None, gender=None, email=None, mobile_phone=None,
    home_phone=None, address_line1=None, city=None, state=None, postal_code=None,
    status="active", deceased_at=None, deleted=False,
    created_at=datetime(1970, 1, 1, tzinfo=UTC), updated_at=datetime(1970, 1, 1, tzinfo=UTC),
    allergy_review="not_reviewed", primary_provider_id=None, location_id=None, allergies=(),
    medications=(), vitals=(), problems=(), encounters=(),
)  # fmt: skip
