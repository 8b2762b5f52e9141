"""Switches for the points NexHealth's docs leave open, each defaulting to the simulator's
first reading, so tests can run the adapter against every plausible implementation.

- ``patient_envelope``: the ``data`` of ``GET /patients/{id}`` and of ``POST /patients``.
  ``"nested"`` (default) ``{"patient": {...}}``; ``"flat"`` the patient object itself.
- ``patient_list``: the ``data`` of ``GET /patients``. ``"object"`` (default)
  ``{"patients": [...]}`` (getting-started page); ``"array"`` a bare list of patients;
  ``"wrapped"`` ``[{"patients": [...]}]`` (how the patients page prints it).
- ``cancelled_means``: ``GET /appointments?cancelled=true``. ``"include"`` (default) adds
  cancelled appointments to the others; ``"only"`` answers cancelled ones only (v3's
  "filter" reading). ``cancelled=false`` or absent leaves cancelled ones out under both.
- ``far_visit_years``: ``None`` (default) serves the clinic as it is; ``N`` adds one planned
  visit N years after the clinic's today (``with_far_visit``), for open-ended searches.
- ``latest_year``: ``None`` (default) ``GET /appointments`` takes any ``start``/``end``;
  ``Y`` refuses (400 ``["start and end must not be after Y"]``) a window reaching past
  year Y, as a vendor with a limited calendar would.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sandboxes.clinic import Clinic, Patient

__all__ = ["CancelledMeans", "PatientEnvelope", "PatientList", "far_visit_patient", "with_far_visit"]

PatientEnvelope = Literal["nested", "flat"]
PatientList = Literal["object", "array", "wrapped"]
CancelledMeans = Literal["include", "only"]


def far_visit_patient(clinic: Clinic) -> Patient:
    """The patient who gets the far visit: the first live one with a visit at clinic location 1."""
    return next(p for p in clinic.patients if not p.deleted and any(e.location_id == 1 for e in p.encounters))


def with_far_visit(clinic: Clinic, years: int) -> Clinic:
    """`clinic` with one more planned visit, `years` after its today, for `far_visit_patient`."""
    patient = far_visit_patient(clinic)
    template = next(e for e in patient.encounters if e.location_id == 1)
    day = date(clinic.today.year + years, clinic.today.month, min(clinic.today.day, 28))
    start = datetime.combine(day, time(15, 0), tzinfo=UTC)
    next_id = 1 + max(e.id for p in clinic.patients for e in p.encounters)
    visit = dataclasses.replace(
        template, id=next_id, start=start, end=start + timedelta(minutes=30), status="planned", locked=False
    )
    changed = dataclasses.replace(patient, encounters=(*patient.encounters, visit))
    return dataclasses.replace(clinic, patients=tuple(changed if p.id == patient.id else p for p in clinic.patients))
