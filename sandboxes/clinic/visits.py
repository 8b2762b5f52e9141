"""A patient's encounters: past visits (some cancelled), an upcoming one, or one in progress today."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sandboxes.clinic.catalogs import CHILD_PROPHYLAXIS, DENTISTS, VISIT_REASONS, VISIT_TYPES
from sandboxes.clinic.draws import Draws, age_on
from sandboxes.clinic.model import Encounter

__all__ = ["draw_encounters"]


def draw_encounters(
    draws: Draws, demo: dict[str, Any], birth: date | None, first: date, last: date, shape: str
) -> list[Encounter]:
    rng = draws.rng
    status = demo["status"]
    child = birth is not None and age_on(birth, draws.today) < 14
    n_past = 0 if status == "prospective" else rng.choices(range(7), [8, 18, 20, 20, 16, 11, 7])[0]
    if shape in ("many_vitals", "partial_vitals", "deleted_vitals", "child"):
        n_past = max(n_past, 3)
    days = sorted(draws.day_between(first + timedelta(days=1), last - timedelta(days=1)) for _ in range(n_past))
    out: list[Encounter] = []
    for day in days:
        visit_type = CHILD_PROPHYLAXIS if child and rng.random() < 0.4 else rng.choice(VISIT_TYPES)
        start = draws.instant_on(day)
        cancelled = rng.random() < 0.08
        out.append(
            Encounter(
                id=0,
                start=start,
                end=None if cancelled else start + timedelta(minutes=rng.choice((30, 45, 60, 90))),
                provider_id=rng.choice(visit_type[2]),
                location_id=demo["location_id"] if rng.random() < 0.85 else rng.choice((1, 2, 3)),
                type_text=visit_type[0],
                type_code=visit_type[1],
                status="cancelled" if cancelled else "finished",
                locked=not cancelled and (draws.today - day).days > 7 and rng.random() < 0.75,
                reason=rng.choice(VISIT_REASONS) if rng.random() < 0.7 else None,
            )
        )
    alive = status in ("active", "prospective")
    if shape == "in_progress_encounter":
        start = datetime.combine(draws.today, time(10, 30), tzinfo=draws.zone).astimezone(UTC)
        out.append(
            Encounter(
                0,
                start,
                None,
                DENTISTS[0],
                demo["location_id"],
                "Limited oral evaluation - problem focused",
                "D0140",
                "arrived",
                False,
                "Tooth pain, upper right",
            )
        )
    elif alive and rng.random() < 0.35:
        day = draws.today + timedelta(days=rng.randint(3, 120))
        visit_type = rng.choice(VISIT_TYPES[:4])
        start = draws.instant_on(day)
        out.append(
            Encounter(
                0,
                start,
                start + timedelta(minutes=60),
                rng.choice(visit_type[2]),
                demo["location_id"],
                visit_type[0],
                visit_type[1],
                "planned",
                False,
                "Routine recall",
            )
        )
    return [replace(encounter, id=draws.next_id("encounter")) for encounter in out]
