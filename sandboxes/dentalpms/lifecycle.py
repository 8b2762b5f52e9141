"""Readings of what the docs leave open about archived records and list bounds.

- ``archived_patients``: ``"served"`` (``GET /patients/{uuid}`` serves an archived patient,
  ``status`` ``archived`` and ``deleted_at`` set, and so do its sub-resources: the documented
  simulator's) or ``"gone"`` (every endpoint of an archived patient answers 410 ``Patient has
  been archived``, as a service that treats soft-deleted rows as gone would) or
  ``"not_found"`` (an archived patient is not there at all: every endpoint of it answers 404
  ``Patient not found``, ``restore`` excepted, and no list shows it, ``status=archived``
  included, as a soft-delete global filter has it: Laravel's ``SoftDeletes`` with
  ``findOrFail``, an EF Core query filter, Hibernate's ``@SQLRestriction``; its chart number
  stays taken, the database's unique index still holding it).
- ``archived_records``: ``"hidden"`` (sub-record lists leave soft-deleted records out) or
  ``"listed"`` (they list them with ``deleted_at`` set: "List all allergies recorded for a
  patient" says nothing of archived ones, unlike the patient and alert lists).
- ``page_size_max``: the largest ``page_size``/``first`` taken (200; the docs give only the
  default, 50, which a service may also take as the bound); more is a 422.
- ``vitals_lookup``: ``"owned"`` (``GET /patients/{patient_uuid}/vital-signs/{vitals_uuid}``
  serves the reading only when it is that patient's) or ``"by_id"`` (it finds the reading by
  its uuid alone, once the patient exists: "Retrieve a single vital signs recording by UUID",
  "404: Patient or vital signs record not found"; only the referral attributions' endpoints
  say they verify that the record "belongs to this patient").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DOCUMENTED_LIFECYCLE", "ArchivedPatients", "ArchivedRecords", "Lifecycle", "VitalsLookup"]

ArchivedPatients = Literal["served", "gone", "not_found"]
ArchivedRecords = Literal["hidden", "listed"]
VitalsLookup = Literal["owned", "by_id"]


@dataclass(frozen=True)
class Lifecycle:
    archived_patients: ArchivedPatients = "served"
    archived_records: ArchivedRecords = "hidden"
    page_size_max: int = 200
    vitals_lookup: VitalsLookup = "owned"

    def __post_init__(self) -> None:
        if self.archived_patients not in ("served", "gone", "not_found"):
            raise ValueError(
                f"archived_patients must be 'served', 'gone' or 'not_found', not {self.archived_patients!r}"
            )
        if self.archived_records not in ("hidden", "listed"):
            raise ValueError(f"archived_records must be 'hidden' or 'listed', not {self.archived_records!r}")
        if self.vitals_lookup not in ("owned", "by_id"):
            raise ValueError(f"vitals_lookup must be 'owned' or 'by_id', not {self.vitals_lookup!r}")
        if not 1 <= self.page_size_max <= 200:
            raise ValueError(f"page_size_max must be in 1..200, not {self.page_size_max!r}")


DOCUMENTED_LIFECYCLE = Lifecycle()
