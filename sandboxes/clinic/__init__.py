"""A deterministic, vendor-neutral synthetic clinic.

Every vendor sandbox (``sandboxes/<vendor>/``) renders this same clinic in its vendor's
shape, and end-to-end tests compare what the gateway returns with this truth. Nothing here
knows a vendor: no vendor field names, no vendor ids.

- ``model``: the records (frozen dataclasses) and the clinic's fixed time zone and uuid namespace;
- ``builder``: ``build_clinic(seed, size, today)``, pure and cached, and each patient's demographics;
- ``draws``: the one seeded random stream, id counters, dates, times and phone numbers;
- ``visits``, ``history``, ``vitals``: a patient's encounters; problems, medications and
  allergies; vital signs readings;
- ``awkward``: the awkward cases real data has, the patients placed to carry them, their records;
- ``catalogs``: what generation draws from (staff, sites, names, drugs, problems, visit types).

Each awkward case is findable by name through ``Clinic.awkward_patient(name)`` (names in
``AWKWARD_CASES``) and, for the default clinic, through ``AWKWARD`` (name -> patient uuid).
"""

from __future__ import annotations

from uuid import UUID

from sandboxes.clinic.awkward import AWKWARD_CASES
from sandboxes.clinic.builder import build_clinic
from sandboxes.clinic.model import (
    CLINIC_NAMESPACE,
    CLINIC_TIMEZONE,
    Allergy,
    Clinic,
    Encounter,
    Gender,
    Location,
    Medication,
    Patient,
    PatientStatus,
    Problem,
    Provider,
    VitalSigns,
)

__all__ = [
    "AWKWARD",
    "AWKWARD_CASES",
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
    "build_clinic",
]

#: Awkward case name -> patient uuid, for the default clinic (``build_clinic()``).
AWKWARD: dict[str, UUID] = build_clinic().awkward_uuids()
