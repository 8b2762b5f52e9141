"""A patient's problems, medications and allergies: drawn from the catalogs, by age and problem."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from sandboxes.clinic.catalogs import (
    ALBUTEROL,
    AMOXICILLIN,
    ANXIETY,
    ASTHMA,
    ATORVASTATIN,
    BRUXISM,
    CARIES,
    CHLORHEXIDINE,
    CODED_SUBSTANCES,
    DENTISTS,
    DIABETES,
    FISH_OIL,
    FREE_TEXT_SUBSTANCES,
    GINGIVITIS,
    HYPERLIPIDEMIA,
    HYPERTENSION,
    IBUPROFEN,
    LISINOPRIL,
    LORAZEPAM,
    MEDICAL,
    METFORMIN,
    MULTIVITAMIN,
    PERIODONTITIS,
    REACTIONS,
    SERTRALINE,
    MedicationDef,
)
from sandboxes.clinic.draws import Draws, age_on
from sandboxes.clinic.model import Allergy, Medication, Problem

__all__ = ["draw_allergies", "draw_allergy", "draw_medication", "draw_medications", "draw_problems"]


def draw_problems(draws: Draws, birth: date | None, first: date, last: date) -> list[Problem]:
    rng = draws.rng
    age = age_on(birth, draws.today) if birth else 45
    if age < 18:
        odds = [(ASTHMA, 0.12), (CARIES, 0.3), (GINGIVITIS, 0.1)]
    else:
        odds = [
            (HYPERTENSION, 0.04 + age / 200),
            (DIABETES, 0.02 + age / 500),
            (HYPERLIPIDEMIA, 0.03 + age / 300),
            (ASTHMA, 0.08),
            (ANXIETY, 0.1),
            (GINGIVITIS, 0.2),
            (CARIES, 0.2),
            (BRUXISM, 0.06),
            (PERIODONTITIS, 0.15 if age > 35 else 0.02),
        ]
    out: list[Problem] = []
    lo = max(first - timedelta(days=5 * 365), birth or date(1980, 1, 1))
    for (name, snomed, icd10), chance in odds:
        if rng.random() >= chance:
            continue
        onset = draws.day_between(lo, last) if rng.random() < 0.85 else None
        dental = (name, snomed, icd10) in (GINGIVITIS, CARIES)
        status: Literal["active", "resolved", "inactive"] = "active"
        resolved_on = None
        if dental and rng.random() < 0.5:
            status = "resolved"
            resolved_on = draws.day_between(onset or lo, last)
        elif not dental and rng.random() < 0.1:
            status = "inactive"
        out.append(Problem(draws.next_id("problem"), name, snomed, icd10, status, onset, resolved_on, False))
    return out


def draw_medication(
    draws: Draws,
    drug: MedicationDef,
    status: Literal["active", "discontinued", "on_hold", "completed"],
    start: date | None,
    stop: date | None,
    prescriber: int | None,
) -> Medication:
    name, rxnorm, strength, frequency, route, prn = drug
    return Medication(
        draws.next_id("medication"),
        name,
        rxnorm,
        strength,
        frequency,
        route,
        prn,
        status,
        start,
        stop,
        False,
        prescriber,
    )


def draw_medications(
    draws: Draws, problems: list[Problem], birth: date | None, first: date, last: date
) -> list[Medication]:
    rng = draws.rng
    names = {problem.name for problem in problems if problem.status != "resolved"}
    lo = max(first - timedelta(days=3 * 365), birth or date(1980, 1, 1))
    out: list[Medication] = []

    def chronic(drug: MedicationDef) -> None:
        start = draws.day_between(lo, last) if rng.random() < 0.9 else None
        roll = rng.random()
        prescriber = rng.choice(MEDICAL) if rng.random() < 0.3 else None
        if roll < 0.8:
            out.append(draw_medication(draws, drug, "active", start, None, prescriber))
        elif roll < 0.92:
            stop = draws.day_between(start or lo, last)
            out.append(draw_medication(draws, drug, "discontinued", start, stop, prescriber))
        else:
            out.append(draw_medication(draws, drug, "on_hold", start, None, prescriber))

    for problem, drug in (
        (HYPERTENSION, LISINOPRIL),
        (DIABETES, METFORMIN),
        (HYPERLIPIDEMIA, ATORVASTATIN),
        (ANXIETY, SERTRALINE),
        (ASTHMA, ALBUTEROL),
    ):
        if problem[0] in names and rng.random() < 0.85:
            chronic(drug)
    if ANXIETY[0] in names and rng.random() < 0.3:
        chronic(LORAZEPAM)
    adult = birth is None or age_on(birth, draws.today) >= 18
    if rng.random() < 0.18:  # a short antibiotic course after dental work
        start = draws.day_between(lo, last - timedelta(days=8))
        out.append(
            draw_medication(
                draws,
                AMOXICILLIN,
                "completed",
                start,
                start + timedelta(days=7),
                rng.choice(DENTISTS),
            )
        )
    if adult and rng.random() < 0.15:
        start = draws.day_between(lo, last - timedelta(days=5))
        out.append(
            draw_medication(draws, IBUPROFEN, "completed", start, start + timedelta(days=4), rng.choice(DENTISTS))
        )
    for supplement, chance in ((MULTIVITAMIN, 0.12), (FISH_OIL, 0.06), (CHLORHEXIDINE, 0.05)):
        if rng.random() < chance:
            chronic(supplement)
    return out


def draw_allergy(draws: Draws, birth: date | None, *, coded: bool, exclude: set[str]) -> Allergy:
    rng = draws.rng
    if coded:
        substance, snomed = rng.choice([coded for coded in CODED_SUBSTANCES if coded[0] not in exclude])
    else:
        substance = rng.choice([text for text in FREE_TEXT_SUBSTANCES if text not in exclude])
        snomed = None
    reaction: str | None
    reaction, reaction_snomed = rng.choice(REACTIONS)
    if rng.random() < 0.12:
        reaction, reaction_snomed = None, None
    severity: Literal["mild", "moderate", "severe"] | None
    if reaction == "Anaphylaxis":
        severity = "severe"
    else:
        severity = rng.choice(("mild", "mild", "moderate", "moderate", "severe", None))
    lo = birth + timedelta(days=365) if birth else date(1990, 1, 1)
    noted = draws.day_between(lo, draws.today - timedelta(days=1)) if rng.random() < 0.8 else None
    return Allergy(
        draws.next_id("allergy"),
        substance,
        snomed,
        reaction,
        reaction_snomed,
        severity,
        rng.random() < 0.9,
        noted,
        False,
    )


def draw_allergies(draws: Draws, birth: date | None) -> list[Allergy]:
    count = draws.rng.choices(range(4), weights=[50, 30, 15, 5])[0]
    out: list[Allergy] = []
    for _ in range(count):
        coded = draws.rng.random() < 0.7
        out.append(draw_allergy(draws, birth, coded=coded, exclude={allergy.substance for allergy in out}))
    return out
