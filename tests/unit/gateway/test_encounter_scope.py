"""What an encounter's CCD holds: its own dated records, and the lists as known by its end."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.documents.generate import belongs_to_encounter

ZONE = "America/Chicago"
VISIT: dict[str, Any] = {
    "resourceType": "Encounter",
    "id": "v1",
    "status": "finished",
    # 22:30 Chicago on 1 March is already 2 March in UTC: days are the practice's.
    "period": {"start": "2026-03-02T04:30:00Z", "end": "2026-03-02T05:00:00Z"},
}


def observation(when: str, encounter: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"resourceType": "Observation", "id": "o", "effectiveDateTime": when}
    if encounter:
        found["encounter"] = {"reference": f"Encounter/{encounter}"}
    return found


@pytest.mark.parametrize(
    ("resource", "belongs"),
    [
        (observation("2026-03-01T09:00:00-06:00"), True),  # same local day
        (observation("2026-03-02T09:00:00-06:00"), False),  # the next local day
        (observation("2026-01-01", encounter="v1"), True),  # references it, whatever the date
        (observation("2026-03-01T09:00:00-06:00", encounter="v2"), False),  # another visit's
        ({"resourceType": "Encounter", "id": "v2"}, False),
        ({"resourceType": "Encounter", "id": "v1"}, True),
        ({"resourceType": "Condition", "id": "c", "onsetDateTime": "2020-05-01"}, True),
        ({"resourceType": "Condition", "id": "c", "recordedDate": "2026-03-05T10:00:00Z"}, False),  # after it
        ({"resourceType": "Condition", "id": "c"}, True),  # undated: kept, not silently lost
        ({"resourceType": "MedicationStatement", "id": "m", "effectivePeriod": {"start": "2026-03-01"}}, True),
        ({"resourceType": "MedicationStatement", "id": "m", "dateAsserted": "2026-04-01T00:00:00Z"}, False),
        ({"resourceType": "AllergyIntolerance", "id": "a", "encounter": {"reference": "Encounter/v9"}}, False),
    ],
)
def test_what_belongs_to_the_encounter(resource: dict[str, Any], belongs: bool) -> None:
    assert belongs_to_encounter(resource, VISIT, ZONE) is belongs
