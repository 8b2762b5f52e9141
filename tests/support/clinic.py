"""The synthetic clinic (sandboxes.clinic) as the tests' truth: which of its patients the
gateway should serve."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sandboxes.clinic import Clinic, Patient

__all__ = ["live_patients", "uuids"]


def live_patients(clinic: Clinic, keep: Callable[[Patient], bool] | None = None) -> list[Patient]:
    """The clinic's patients that are not deleted (and that `keep` accepts), in the clinic's order."""
    return [p for p in clinic.patients if not p.deleted and (keep is None or keep(p))]


def uuids(patients: Iterable[Patient]) -> set[str]:
    """The patients' clinic UUIDs, as the tenants that use them as FHIR ids write them."""
    return {str(p.uuid) for p in patients}
