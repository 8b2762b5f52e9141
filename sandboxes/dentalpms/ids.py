"""Dental PMS record ids: uuid5s derived from the clinic, so they are stable across runs.

Patient ids are the clinic's patient uuids; every other record (allergy, medication,
vital signs, disease, provider, location, and the catalogue definitions named by a
record) gets ``uuid5(namespace(clinic), f"{kind}:{id}")``, with the definition name as
the id of a definition.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID, uuid5

from sandboxes.clinic import CLINIC_NAMESPACE, Clinic

__all__ = ["RecordKind", "namespace", "record_uuid"]

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


def namespace(clinic: Clinic) -> UUID:
    """The uuid5 namespace of this clinic's Dental PMS record ids."""
    return uuid5(CLINIC_NAMESPACE, f"dentalpms:{clinic.seed}")


def record_uuid(clinic: Clinic, kind: RecordKind, key: int | str) -> UUID:
    """The Dental PMS uuid of a clinic record: ``kind`` and clinic id (or definition name)."""
    return uuid5(namespace(clinic), f"{kind}:{key}")
