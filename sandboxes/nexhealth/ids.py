"""NexHealth ids, derived from clinic ids so that tests can go from clinic truth to NexHealth ids.

The clinic is ONE institution with TWO locations: clinic location 1 is ``MAIN_LOCATION_ID``,
every other clinic location is ``OTHER_LOCATION_ID``.
"""

from __future__ import annotations

__all__ = [
    "APPOINTMENT_ID_OFFSET",
    "APPOINTMENT_TYPE_ID_OFFSET",
    "INSTITUTION_ID",
    "LOCATION_IDS",
    "MAIN_LOCATION_ID",
    "OTHER_LOCATION_ID",
    "PATIENT_ID_OFFSET",
    "PROVIDER_ID_OFFSET",
    "location_id_of",
]

INSTITUTION_ID = 1
MAIN_LOCATION_ID = 101  # clinic location 1
OTHER_LOCATION_ID = 102  # every other clinic location
LOCATION_IDS = frozenset({MAIN_LOCATION_ID, OTHER_LOCATION_ID})
PATIENT_ID_OFFSET = 1000
PROVIDER_ID_OFFSET = 200
APPOINTMENT_ID_OFFSET = 10000
#: Appointment type ids number the clinic's distinct visit types, sorted by name, from this + 1.
APPOINTMENT_TYPE_ID_OFFSET = 400


def location_id_of(clinic_location_id: int | None) -> int | None:
    """The NexHealth location id of a clinic location (1 -> 101, any other -> 102)."""
    if clinic_location_id is None:
        return None
    return MAIN_LOCATION_ID if clinic_location_id == 1 else OTHER_LOCATION_ID
