"""The awkward cases real data has, and the deliberately placed patients that carry them.

Each case in ``AWKWARD_CASES`` exists once in every clinic built; it is findable by name
through ``Clinic.awkward_patient(name)`` and, for the default clinic, through ``AWKWARD``
(name -> patient uuid, in ``sandboxes.clinic``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sandboxes.clinic.catalogs import (
    ASTHMA,
    FISH_OIL,
    HERBAL_TEA,
    HYGIENIST,
    HYPERTENSION,
    LORAZEPAM,
    MULTIVITAMIN,
    SERTRALINE,
)
from sandboxes.clinic.draws import Draws
from sandboxes.clinic.history import draw_allergy, draw_medication
from sandboxes.clinic.model import Allergy, Medication, Problem, VitalSigns
from sandboxes.clinic.vitals import draw_reading

__all__ = ["AWKWARD_CASES", "PatientSpec", "awkward_records", "placed_patients"]

#: Names of the awkward cases; each exists once in every clinic built.
AWKWARD_CASES: tuple[str, ...] = (
    "unicode_name",  # Zoë Müller
    "accented_name",  # José García (searching "garcia" must find him too)
    "cjk_name",  # 王 小明
    "apostrophe_hyphen",  # Siobhán O'Brien-Nguyễn
    "markup_name",  # a last name with <script> markup and an ampersand
    "no_middle_name",
    "missing_birth_date",
    "no_gender",
    "no_contact",  # no email, no phones
    "deleted_patient",
    "deceased",
    "inactive",
    "prospective",
    "twin",  # same last name, birth date and address as twin_sibling
    "twin_sibling",
    "shared_prefix",  # a Smith; Smithson and Smithers patients exist too
    "shared_prefix_smithson",
    "shared_prefix_smithers",
    "nkda",  # no allergies, review status nkda
    "allergies_not_reviewed",  # no allergies, review status not_reviewed
    "no_records",  # no allergies, medications, vitals, problems or encounters
    "partial_vitals",  # a BP reading with systolic only; a reading with only weight
    "many_vitals",  # >= 30 readings
    "deleted_allergy",  # one soft-deleted allergy next to live ones
    "deleted_medication",
    "deleted_vitals",
    "deleted_problem",
    "free_text_allergy",  # an allergy whose substance has no code
    "free_text_medication",  # a medication without RxNorm
    "prn_medication",  # an as-needed medication
    "child",  # pediatric vitals with BMI percentile
    "in_progress_encounter",  # an encounter with status arrived today
)


@dataclass(frozen=True)
class PatientSpec:
    """A deliberately placed patient: demographic overrides plus a record profile."""

    case: str | None
    demo: dict[str, Any] = field(default_factory=dict)
    shape: str = "normal"


def placed_patients(rng: random.Random, today: date) -> list[PatientSpec]:
    """The patients placed on purpose: one per awkward case, plus surname groups that make name searches page."""
    twin_birth = today - timedelta(days=int(34 * 365.25) + rng.randint(1, 360))
    twin_shared = {
        "last_name": "Okonkwo",
        "birth_date": twin_birth,
        "address_line1": "2210 N Halsted St",
        "city": "Chicago",
        "state": "IL",
        "postal_code": "60614",
        "home_phone": "3125550199",
    }

    def long_ago(years: int) -> dict[str, Any]:
        """An active patient whose record is `years` old (room for a long vitals history)."""
        created = datetime.combine(today - timedelta(days=365 * years), time(17, 0), tzinfo=UTC)
        return {"status": "active", "created_at": created}

    specs = [
        PatientSpec(
            "unicode_name",
            {
                "status": "active",
                "first_name": "Zoë",
                "last_name": "Müller",
                "middle_name": "Anaïs",
                "gender": "female",
            },
        ),
        PatientSpec(
            "accented_name",
            {
                "status": "active",
                "first_name": "José",
                "last_name": "García",
                "middle_name": "Ángel",
                "gender": "male",
            },
        ),
        PatientSpec(
            "cjk_name",
            {
                "status": "active",
                "first_name": "小明",
                "last_name": "王",
                "middle_name": None,
                "preferred_name": "Ming",
                "email": "wang.xiaoming@example.com",
            },
        ),
        PatientSpec(
            "apostrophe_hyphen",
            {
                "status": "active",
                "first_name": "Siobhán",
                "last_name": "O'Brien-Nguyễn",
                "gender": "female",
            },
        ),
        PatientSpec(
            "markup_name",
            {
                "status": "active",
                "first_name": "Robert",
                "last_name": "Tables<script>alert(1)</script> & Sons",
                "preferred_name": "Bobby",
                "gender": "male",
            },
        ),
        PatientSpec("no_middle_name", {"middle_name": None, "status": "active"}),
        PatientSpec("missing_birth_date", {"birth_date": None, "status": "active"}),
        PatientSpec("no_gender", {"gender": None, "status": "active"}),
        PatientSpec(
            "no_contact",
            {"status": "active", "email": None, "mobile_phone": None, "home_phone": None},
        ),
        PatientSpec("deleted_patient", {"deleted": True, "status": "active"}),
        PatientSpec("deceased", {"status": "deceased", "age_range": (70, 90)}),
        PatientSpec("inactive", {"status": "inactive"}),
        PatientSpec("prospective", {"status": "prospective"}),
        PatientSpec("twin", {**twin_shared, "first_name": "Chidi", "gender": "male", "status": "active"}),
        PatientSpec(
            "twin_sibling",
            {**twin_shared, "first_name": "Adaeze", "gender": "female", "status": "active"},
        ),
        PatientSpec("shared_prefix", {"last_name": "Smith", "status": "active"}),
        PatientSpec(None, {"last_name": "Smith", "status": "active"}),
        PatientSpec(None, {"last_name": "Smith", "status": "active"}),
        PatientSpec("shared_prefix_smithson", {"last_name": "Smithson", "status": "active"}),
        PatientSpec(None, {"last_name": "Smithson", "status": "active"}),
        PatientSpec("shared_prefix_smithers", {"last_name": "Smithers", "status": "active"}),
        PatientSpec(None, {"last_name": "Smithers", "status": "active"}),
        PatientSpec("nkda", {"status": "active"}, "nkda"),
        PatientSpec("allergies_not_reviewed", {"status": "active"}, "not_reviewed"),
        PatientSpec("no_records", {"status": "active"}, "none"),
        PatientSpec("partial_vitals", {"status": "active", "age_range": (30, 60)}, "partial_vitals"),
        PatientSpec("many_vitals", {**long_ago(10), "age_range": (40, 70)}, "many_vitals"),
        PatientSpec("deleted_allergy", {"status": "active"}, "deleted_allergy"),
        PatientSpec("deleted_medication", {"status": "active", "age_range": (30, 60)}, "deleted_medication"),
        PatientSpec("deleted_vitals", {**long_ago(3), "age_range": (25, 70)}, "deleted_vitals"),
        PatientSpec("deleted_problem", {"status": "active", "age_range": (30, 70)}, "deleted_problem"),
        PatientSpec("free_text_allergy", {"status": "active"}, "free_text_allergy"),
        PatientSpec("free_text_medication", {"status": "active"}, "free_text_medication"),
        PatientSpec("prn_medication", {"status": "active", "age_range": (25, 70)}, "prn_medication"),
        PatientSpec("child", {**long_ago(3), "age_range": (8, 11)}, "child"),
        PatientSpec("in_progress_encounter", {"status": "active"}, "in_progress_encounter"),
    ]
    # Common surnames, so that name searches return several pages.
    specs += [PatientSpec(None, {"last_name": "Johnson"}) for _ in range(14)]
    specs += [PatientSpec(None, {"last_name": "Garcia"}) for _ in range(12)]
    return specs


def awkward_records(
    draws: Draws,
    shape: str,
    demo: dict[str, Any],
    birth: date | None,
    allergies: list[Allergy],
    meds: list[Medication],
    vitals: list[VitalSigns],
    problems: list[Problem],
    last: date,
) -> tuple[list[Allergy], list[Medication], list[VitalSigns], list[Problem]]:
    """The records of a patient drawn as usual, reshaped for its awkward case (`shape`)."""
    recent = draws.instant_on(last - timedelta(days=40))
    if shape == "many_vitals":
        vitals = []
        for visit in range(32):
            day = last - timedelta(days=20 + 61 * visit)
            kind = "full" if visit % 5 == 0 else "bp"
            vitals.append(draw_reading(draws, demo, birth, draws.instant_on(day), kind, HYGIENIST))
    elif shape == "partial_vitals":
        vitals.append(draw_reading(draws, demo, birth, recent, "systolic_only", HYGIENIST))
        vitals.append(draw_reading(draws, demo, birth, recent.date() + timedelta(days=1), "weight_only", None))
    elif shape == "deleted_vitals":
        vitals.append(draw_reading(draws, demo, birth, recent - timedelta(days=200), "full", 1))
        vitals.append(replace(draw_reading(draws, demo, birth, recent, "bp", 3), deleted=True))
    elif shape == "child":
        for visit in range(3):
            when = draws.instant_on(last - timedelta(days=30 + 180 * visit))
            vitals.append(draw_reading(draws, demo, birth, when, "full", HYGIENIST))
    elif shape == "deleted_allergy":
        while len(allergies) < 2:
            allergies.append(
                draw_allergy(draws, birth, coded=True, exclude={allergy.substance for allergy in allergies})
            )
        allergies[-1] = replace(allergies[-1], deleted=True)
    elif shape == "free_text_allergy":
        allergies.append(draw_allergy(draws, birth, coded=False, exclude={allergy.substance for allergy in allergies}))
    elif shape == "deleted_medication":
        start = last - timedelta(days=400)
        meds.append(draw_medication(draws, MULTIVITAMIN, "active", start, None, None))
        meds.append(replace(draw_medication(draws, SERTRALINE, "active", start, None, 4), deleted=True))
    elif shape == "free_text_medication":
        meds.append(draw_medication(draws, FISH_OIL, "active", last - timedelta(days=300), None, None))
        meds.append(draw_medication(draws, HERBAL_TEA, "active", None, None, None))
    elif shape == "prn_medication":
        meds.append(draw_medication(draws, LORAZEPAM, "active", last - timedelta(days=90), None, 5))
    elif shape == "deleted_problem":
        problems.append(
            Problem(
                draws.next_id("problem"),
                *HYPERTENSION,
                "active",
                last - timedelta(days=900),
                None,
                False,
            )
        )
        problems.append(Problem(draws.next_id("problem"), *ASTHMA, "active", None, None, True))
    return allergies, meds, vitals, problems
