"""The synthetic clinic's records: frozen dataclasses, vendor-neutral.

All datetimes are timezone-aware UTC; the one local time, ``VitalSigns.taken_at``, is wall
clock time in ``Clinic.timezone`` (America/Chicago, where the clinic's addresses are), as
vendors store it. Ids are unique per kind across the whole clinic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal
from uuid import UUID

__all__ = [
    "CLINIC_NAMESPACE",
    "CLINIC_TIMEZONE",
    "Allergy",
    "Clinic",
    "Encounter",
    "Gender",
    "Location",
    "Medication",
    "Patient",
    "PatientStatus",
    "Problem",
    "Provider",
    "VitalSigns",
]

Gender = Literal["male", "female", "non_binary", "other", "unknown", "prefer_not_to_say"]
PatientStatus = Literal["active", "inactive", "prospective", "deceased"]

#: The clinic's time zone: where its local times (``VitalSigns.taken_at``) are on the clock.
CLINIC_TIMEZONE = "America/Chicago"

#: Fixed namespace for every uuid the clinic derives (``uuid5(CLINIC_NAMESPACE, ...)``).
CLINIC_NAMESPACE = UUID("0b5e9f0c-7a43-5d1e-8c2b-4f6a9d3e1c70")


@dataclass(frozen=True)
class Provider:
    id: int
    first_name: str
    last_name: str
    designation: str  # "DDS", "DMD", "MD", "RDH", "NP"


@dataclass(frozen=True)
class Location:
    id: int
    name: str


@dataclass(frozen=True)
class Allergy:
    id: int
    substance: str
    substance_snomed: str | None  # SNOMED CT substance concept
    reaction: str | None
    reaction_snomed: str | None  # SNOMED CT finding concept
    severity: Literal["mild", "moderate", "severe"] | None
    active: bool
    noted_on: date | None
    deleted: bool


@dataclass(frozen=True)
class Medication:
    id: int
    name: str  # RxNorm display name for coded drugs, free text otherwise
    rxnorm: str | None
    strength: str | None  # e.g. "10 mg"
    frequency: str | None  # e.g. "twice daily"; PRN meds say the interval here, `prn` is separate
    route: str | None  # e.g. "oral", "inhalation"
    prn: bool
    status: Literal["active", "discontinued", "on_hold", "completed"]
    start: date | None
    stop: date | None
    deleted: bool
    prescriber_id: int | None = None  # a clinic Provider, or None (prescribed elsewhere)


@dataclass(frozen=True)
class VitalSigns:
    id: int
    taken_on: date
    taken_at: time | None  # local wall-clock time in Clinic.timezone (as vendors store it)
    systolic: int | None  # mm[Hg]
    diastolic: int | None  # mm[Hg]
    pulse: int | None  # /min
    respiration_rate: int | None  # /min
    spo2: int | None  # %
    temperature_f: Decimal | None  # [degF], one decimal
    height_in: Decimal | None  # [in_i], one decimal
    weight_lb: Decimal | None  # [lb_av], one decimal
    bmi: Decimal | None  # kg/m2, one decimal; only when height and weight were both taken
    bmi_percentile: int | None  # only for readings taken at age 2-19
    provider_id: int | None
    deleted: bool


@dataclass(frozen=True)
class Problem:
    id: int
    name: str
    snomed: str | None
    icd10: str | None  # ICD-10-CM
    status: Literal["active", "resolved", "inactive"]
    onset: date | None
    resolved_on: date | None
    deleted: bool


@dataclass(frozen=True)
class Encounter:
    id: int
    start: datetime
    end: datetime | None  # None for cancelled and in-progress (arrived) visits
    provider_id: int
    location_id: int
    type_text: str
    type_code: str | None  # CDT code (ADA); None for non-dental visit types
    status: Literal["planned", "arrived", "finished", "cancelled"]
    locked: bool  # a signed-off (locked) visit note
    reason: str | None


@dataclass(frozen=True)
class Patient:
    id: int
    uuid: UUID
    chart_number: str
    first_name: str
    middle_name: str | None
    last_name: str
    preferred_name: str | None
    birth_date: date | None
    gender: Gender | None
    email: str | None
    mobile_phone: str | None  # 10 digits
    home_phone: str | None  # 10 digits
    address_line1: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    status: PatientStatus
    deceased_at: datetime | None
    deleted: bool
    created_at: datetime
    updated_at: datetime
    allergy_review: Literal["not_reviewed", "nkda", "reviewed"]
    primary_provider_id: int | None
    location_id: int | None
    allergies: tuple[Allergy, ...]
    medications: tuple[Medication, ...]
    vitals: tuple[VitalSigns, ...]  # chronological (taken_on, taken_at, id)
    problems: tuple[Problem, ...]
    encounters: tuple[Encounter, ...]  # chronological


@dataclass(frozen=True)
class Clinic:
    seed: int
    today: date
    providers: tuple[Provider, ...]
    locations: tuple[Location, ...]
    patients: tuple[Patient, ...]  # ordered by id
    awkward: tuple[tuple[str, int], ...] = ()  # awkward case name -> patient id
    timezone: str = CLINIC_TIMEZONE  # IANA zone of the clinic's local times

    @functools.cached_property
    def _patients_by_uuid(self) -> dict[UUID, Patient]:
        return {patient.uuid: patient for patient in self.patients}

    @functools.cached_property
    def _patients_by_id(self) -> dict[int, Patient]:
        return {patient.id: patient for patient in self.patients}

    def patient(self, patient_id: int) -> Patient:
        """The patient with this clinic id (KeyError if none)."""
        return self._patients_by_id[patient_id]

    def patient_by_uuid(self, patient_uuid: UUID | str) -> Patient:
        """The patient with this uuid (KeyError if none)."""
        key = patient_uuid if isinstance(patient_uuid, UUID) else UUID(patient_uuid)
        return self._patients_by_uuid[key]

    def provider(self, provider_id: int) -> Provider:
        return next(provider for provider in self.providers if provider.id == provider_id)

    def location(self, location_id: int) -> Location:
        return next(loc for loc in self.locations if loc.id == location_id)

    def awkward_patient(self, case: str) -> Patient:
        """The patient for one of ``AWKWARD_CASES`` (KeyError for an unknown case)."""
        return self.patient(dict(self.awkward)[case])

    def awkward_uuids(self) -> dict[str, UUID]:
        return {case: self.patient(pid).uuid for case, pid in self.awkward}
