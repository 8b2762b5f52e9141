"""The ``PatientFull`` API resource: which keys, in which order, for which request.

Keys in this order: ``id, uuid, first_name, middle_name, last_name, gender,
date_of_birth, notes, allergies, insurance, latest_medications, user, [team], timeline,
[encounters], [demographics], meta, created_at, updated_at, [deleted_at]``. ``team``,
``encounters`` and ``demographics`` appear only when included (single-patient responses
always carry ``encounters``); ``deleted_at`` only in lists with ``filter[trashed]``.
``meta`` is ``{}`` when null or empty.
"""

from __future__ import annotations

from sandboxes.nextvisit.rows import PatientRow, Variant
from sandboxes.toolkit.aliases import JsonObject

__all__ = ["PLAIN", "SINGLE", "patient_full"]

_HEAD = ("id", "uuid", "first_name", "middle_name", "last_name", "gender", "date_of_birth", "notes",
         "allergies", "insurance", "latest_medications")  # fmt: skip

#: What create and update responses render: the patient with its encounters.
SINGLE: Variant = (False, True, False, False)
#: A search hit: no optional parts.
PLAIN: Variant = (False, False, False, False)


def patient_full(row: PatientRow, variant: Variant, *, user: JsonObject, team: JsonObject) -> JsonObject:
    """The resource of `row` in `variant`; `user` is its owner, `team` the API user's team."""
    with_team, with_encounters, with_demographics, with_deleted_at = variant
    doc = row.doc
    out: JsonObject = {key: doc[key] for key in _HEAD}
    out["user"] = user
    if with_team:
        out["team"] = team
    out["timeline"] = row.timeline
    if with_encounters:
        out["encounters"] = row.encounters
    if with_demographics:
        out["demographics"] = row.demographics
    out["meta"] = doc["meta"] or {}
    out["created_at"] = doc["created_at"]
    out["updated_at"] = doc["updated_at"]
    if with_deleted_at:
        out["deleted_at"] = doc["deleted_at"]
    return out
