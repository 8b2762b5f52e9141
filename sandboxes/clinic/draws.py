"""One pass of generation: the seeded random stream and what is drawn from it besides records.

Everything the builder draws comes from ``Draws.rng``, one ``random.Random(seed)`` stream, in
a fixed order: the order of every draw is part of the clinic, and reordering two draws
changes every patient after them. Ids count per kind across the whole clinic.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sandboxes.clinic.catalogs import AREA_CODES
from sandboxes.clinic.model import CLINIC_TIMEZONE

__all__ = ["Draws", "age_on"]


def age_on(birth: date, on: date) -> int:
    """Whole years from `birth` to `on`."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


class Draws:
    """The random stream, the per-kind id counters and the pool of fictional phone numbers."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today
        self.zone = ZoneInfo(CLINIC_TIMEZONE)
        self.counters: dict[str, int] = {}
        phones = [f"{area}55501{line:02d}" for area in AREA_CODES for line in range(100)]
        self.rng.shuffle(phones)
        self.phones = phones

    def next_id(self, kind: str) -> int:
        """The next id of this kind of record (1, 2, ...)."""
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def day_between(self, first: date, last: date) -> date:
        """A day in ``[first, last]`` (`first` when the range is empty)."""
        if last <= first:
            return first
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def instant_on(self, day: date) -> datetime:
        """A clinic-hours instant (08:00-16:45 local) on local `day`, in UTC."""
        minutes = self.rng.randint(8 * 60, 16 * 60 + 45)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def phone(self) -> str:
        """A fictional phone number (NNN-555-01XX, reserved for fiction), unique until the pool runs out."""
        if self.phones:
            return self.phones.pop()
        return f"{self.rng.choice(AREA_CODES)}555{self.rng.randint(1000, 9999)}"

    def birth_date(self, age_range: tuple[int, int] | None = None) -> date:
        """A birth date for an age in `age_range` (default: drawn from a plausible practice mix)."""
        if age_range is None:
            age_range = self.rng.choices(
                [(2, 12), (13, 19), (20, 39), (40, 64), (65, 95)],
                weights=[12, 10, 28, 32, 18],
            )[0]
        age = self.rng.randint(*age_range)
        return self.today - timedelta(days=int(age * 365.25) + self.rng.randint(1, 360))
