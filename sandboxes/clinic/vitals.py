"""Vital signs readings: plausible values for the patient's age and sex, taken at visits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandboxes.clinic.catalogs import DENTISTS, HYGIENIST
from sandboxes.clinic.draws import Draws, age_on
from sandboxes.clinic.model import VitalSigns

__all__ = ["draw_reading", "draw_visit_vitals"]


def _one_decimal(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def draw_reading(
    draws: Draws,
    demo: dict[str, Any],
    birth: date | None,
    when: datetime | date,
    kind: str,
    provider_id: int | None,
) -> VitalSigns:
    """One plausible reading; `kind` is bp | screen | full | systolic_only | weight_only."""
    rng = draws.rng
    if isinstance(when, datetime):
        local = when.astimezone(draws.zone) + timedelta(minutes=5)
        day, at = local.date(), local.time().replace(second=0, tzinfo=None)
    else:
        day, at = when, None
    age = age_on(birth, day) if birth else 45
    child = age < 18
    female = demo["gender"] == "female"
    systolic = rng.randint(92, 116) if child else rng.randint(104, 152)
    if rng.random() < 0.02:
        systolic = rng.randint(182, 195)  # a hypertensive crisis reading
    diastolic = max(50, min(systolic - 25, int(systolic * rng.uniform(0.58, 0.7))))
    pulse = rng.randint(72, 112) if child else rng.randint(56, 98)
    resp = rng.randint(18, 26) if child else rng.randint(12, 20)
    spo2 = rng.choice((93, 95, 96, 97, 97, 98, 98, 99, 99, 100))
    temp = _one_decimal(rng.uniform(97.2, 99.2))
    if age < 18:
        base = 34 + 2.45 * max(0, age - 2)
        height = _one_decimal(min(base, 66 if female else 70) + rng.uniform(-2, 2))
    else:
        height = _one_decimal(rng.uniform(60, 67) if female else rng.uniform(65, 74))
    bmi_target = rng.uniform(15, 21) if child else rng.uniform(19, 36)
    weight = _one_decimal(bmi_target * float(height) ** 2 / 703)
    reading = VitalSigns(
        id=0,
        taken_on=day,
        taken_at=at if rng.random() < 0.9 else None,
        systolic=None,
        diastolic=None,
        pulse=None,
        respiration_rate=None,
        spo2=None,
        temperature_f=None,
        height_in=None,
        weight_lb=None,
        bmi=None,
        bmi_percentile=None,
        provider_id=provider_id,
        deleted=False,
    )
    if kind in ("bp", "screen", "full"):
        reading = replace(reading, systolic=systolic, diastolic=diastolic, pulse=pulse)
    if kind in ("screen", "full"):
        reading = replace(reading, spo2=spo2, temperature_f=temp)
    if kind == "full":
        bmi = _one_decimal(703 * float(weight) / float(height) ** 2)
        pct = rng.randint(5, 97) if 2 <= age < 20 else None
        reading = replace(
            reading,
            respiration_rate=resp,
            height_in=height,
            weight_lb=weight,
            bmi=bmi,
            bmi_percentile=pct,
        )
    if kind == "systolic_only":
        reading = replace(reading, systolic=systolic)
    if kind == "weight_only":
        reading = replace(reading, weight_lb=weight)
    return reading


def draw_visit_vitals(
    draws: Draws, demo: dict[str, Any], birth: date | None, visits: list[datetime]
) -> list[VitalSigns]:
    out: list[VitalSigns] = []
    for start in visits:
        if draws.rng.random() < 0.6:
            kind = draws.rng.choices(("bp", "screen", "full"), weights=[55, 25, 20])[0]
            provider = draws.rng.choice((*DENTISTS, HYGIENIST, None))
            out.append(draw_reading(draws, demo, birth, start, kind, provider))
    return out
