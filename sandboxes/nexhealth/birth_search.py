"""What ``GET /patients?date_of_birth=`` finds where NexHealth keeps a date of birth as an
instant (``birth_dates``), under the ``birth_search`` reading (``readings.Reading``).

Under ``birth_search="instant"`` the day asked is cast to an instant as the framework serving
it casts a date-only text, and compared with the instants stored: Rails casts ``"1964-05-03"``
for a time-zone-aware ``datetime`` column to that midnight in ``config.time_zone``, JavaScript's
``new Date("1964-05-03")`` to the UTC midnight (ECMA-262 reads a date-only ISO form as UTC).
Where the dates were stored as another zone's midnight (``"zoned"``: UTC; ``"east_midnight"``:
the server's), the instants never meet, and the search finds no one by birth date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from sandboxes.nexhealth.readings import BIRTH_APP_ZONE, BIRTH_SERVER_ZONE, Reading

__all__ = ["searched_birth_day"]

NO_DAY = ""  # a stored date of birth no search term equals (stored ones are `YYYY-MM-DD` or none)

# The zone a date-only search term is cast in, and the zone whose midnight the stored date is.
_ASKED_AND_STORED: dict[str, tuple[tzinfo, tzinfo]] = {
    "zoned": (BIRTH_APP_ZONE, UTC),  # Rails: `Time.zone` casts the term; imported dates are UTC midnights
    "east_midnight": (UTC, BIRTH_SERVER_ZONE),  # Node: `new Date(term)` is UTC; stored at the server's midnight
}


def searched_birth_day(day: str, reading: Reading) -> str:
    """The stored date of birth (``YYYY-MM-DD``) that the search term `day` (a valid date) finds:
    `day` itself, or, where its instant meets no stored midnight, ``NO_DAY``."""
    zones = _ASKED_AND_STORED.get(reading.birth_dates)
    if reading.birth_search == "day" or zones is None:
        return day
    asked_in, stored_in = zones
    asked = datetime.combine(date.fromisoformat(day), time(), asked_in).astimezone(stored_in)
    return asked.date().isoformat() if asked.time() == time() else NO_DAY
