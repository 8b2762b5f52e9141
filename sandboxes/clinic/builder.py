"""The seeded, deterministic generation of the synthetic clinic.

``build_clinic(seed, size, today)`` is pure: the same arguments always give an equal
clinic (one ``random.Random(seed)`` stream, no wall clock, no ``hash()``, uuids from
``uuid5`` under a fixed namespace). It is cached, so callers share one instance; the
dataclasses are frozen. A patient is its demographics, then its encounters (``visits``),
problems, medications and allergies (``history``), vital signs (``vitals``) and, for an
awkward case, the records that make it awkward (``awkward``), drawn in that order.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from uuid import uuid5

from sandboxes.clinic.awkward import AWKWARD_CASES, PatientSpec, awkward_records, placed_patients
from sandboxes.clinic.catalogs import (
    CITIES,
    DENTISTS,
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    LOCATIONS,
    MALE_FIRST_NAMES,
    MIDDLE_NAMES,
    NEUTRAL_FIRST_NAMES,
    NICKNAMES,
    PROVIDERS,
    STREETS,
)
from sandboxes.clinic.draws import Draws
from sandboxes.clinic.history import draw_allergies, draw_medications, draw_problems
from sandboxes.clinic.model import (
    CLINIC_NAMESPACE,
    Allergy,
    Clinic,
    Encounter,
    Gender,
    Medication,
    Patient,
    PatientStatus,
    Problem,
    VitalSigns,
)
from sandboxes.clinic.visits import draw_encounters
from sandboxes.clinic.vitals import draw_visit_vitals

__all__ = ["build_clinic"]


def _demographics(draws: Draws, pid: int, demo: dict[str, Any]) -> dict[str, Any]:
    rng = draws.rng
    gender: Gender | None = rng.choices(
        ["female", "male", "non_binary", "other", "unknown", "prefer_not_to_say"],
        weights=[480, 460, 20, 10, 15, 15],
    )[0]  # type: ignore[assignment]
    gender = demo.get("gender", gender)
    if gender == "female":
        first = rng.choice(FEMALE_FIRST_NAMES)
    elif gender == "male":
        first = rng.choice(MALE_FIRST_NAMES)
    else:
        first = rng.choice(NEUTRAL_FIRST_NAMES + FEMALE_FIRST_NAMES[:8] + MALE_FIRST_NAMES[:8])
    first = demo.get("first_name", first)
    last = demo.get("last_name", rng.choice(LAST_NAMES))
    middle = rng.choice(MIDDLE_NAMES) if rng.random() < 0.6 else None
    preferred = NICKNAMES.get(first) if rng.random() < 0.6 else None
    age_range = demo.pop("age_range", None)
    birth: date | None = demo["birth_date"] if "birth_date" in demo else draws.birth_date(age_range)
    status: PatientStatus = rng.choices(["active", "inactive", "prospective", "deceased"], weights=[86, 8, 4, 2])[0]  # type: ignore[assignment]
    status = demo.get("status", status)
    city, state, postal = rng.choice(CITIES)
    line1 = f"{rng.randint(100, 19999)} {rng.choice(STREETS)}"
    if rng.random() < 0.15:
        line1 += f" Apt {rng.randint(1, 40)}{rng.choice('ABCD')}"
    has_address = rng.random() < 0.95
    slug = _ascii_slug(first) + "." + _ascii_slug(last)
    email_domain = rng.choice(("example.com", "example.net", "example.org"))
    email = f"{slug}{pid}@{email_domain}" if rng.random() < 0.85 else None
    mobile = draws.phone() if rng.random() < 0.9 else None
    home = draws.phone() if rng.random() < 0.3 else None
    earliest = max(date(2012, 1, 1), (birth or date(1970, 1, 1)) + timedelta(days=30))
    if status == "prospective":
        created_day = draws.day_between(draws.today - timedelta(days=60), draws.today)
    else:
        created_day = draws.day_between(earliest, draws.today - timedelta(days=90))
    created_day = min(created_day, draws.today - timedelta(days=1))
    created_at = draws.instant_on(created_day)
    deceased_at = None
    if status == "deceased":
        death_day = draws.day_between(created_day + timedelta(days=60), draws.today)
        deceased_at = datetime.combine(death_day, time(rng.randint(0, 23), rng.randint(0, 59)), tzinfo=UTC)
    merged: dict[str, Any] = {
        "first_name": first,
        "middle_name": middle,
        "last_name": last,
        "preferred_name": preferred,
        "birth_date": birth,
        "gender": gender,
        "email": email,
        "mobile_phone": mobile,
        "home_phone": home,
        "address_line1": line1 if has_address else None,
        "city": city if has_address else None,
        "state": state if has_address else None,
        "postal_code": postal if has_address else None,
        "status": status,
        "deceased_at": deceased_at,
        "deleted": False,
        "created_at": created_at,
        "primary_provider_id": rng.choice(DENTISTS) if status != "prospective" else None,
        "location_id": rng.choice((1, 1, 2, 3)),
    }
    merged.update(demo)
    if merged["status"] == "deceased" and merged["deceased_at"] is None:
        death_day = draws.day_between(created_day + timedelta(days=60), draws.today)
        merged["deceased_at"] = datetime.combine(death_day, time(9, 30), tzinfo=UTC)
    if merged["status"] != "deceased":
        merged["deceased_at"] = None
    return merged


def _patient(draws: Draws, pid: int, spec: PatientSpec) -> Patient:
    demo = _demographics(draws, pid, dict(spec.demo))
    birth: date | None = demo["birth_date"]
    created_at: datetime = demo["created_at"]
    last_day = draws.today
    if demo["deceased_at"] is not None:
        last_day = min(last_day, demo["deceased_at"].date())
    shape = spec.shape
    if shape == "none":
        allergies: list[Allergy] = []
        meds: list[Medication] = []
        vitals: list[VitalSigns] = []
        problems: list[Problem] = []
        encounters: list[Encounter] = []
    else:
        encounters = draw_encounters(draws, demo, birth, created_at.date(), last_day, shape)
        visit_days = [encounter.start for encounter in encounters if encounter.status == "finished"]
        problems = draw_problems(draws, birth, created_at.date(), last_day)
        meds = draw_medications(draws, problems, birth, created_at.date(), last_day)
        allergies = [] if shape in ("nkda", "not_reviewed") else draw_allergies(draws, birth)
        vitals = draw_visit_vitals(draws, demo, birth, visit_days)
        allergies, meds, vitals, problems = awkward_records(
            draws, shape, demo, birth, allergies, meds, vitals, problems, last_day
        )
    vitals.sort(key=lambda reading: (reading.taken_on, reading.taken_at or time.max))
    vitals = [replace(reading, id=draws.next_id("vitals")) for reading in vitals]
    live_allergies = [allergy for allergy in allergies if not allergy.deleted]
    review: Literal["not_reviewed", "nkda", "reviewed"]
    if shape == "nkda":
        review = "nkda"
    elif shape in ("not_reviewed", "none"):
        review = "not_reviewed"
    elif live_allergies:
        review = "reviewed" if draws.rng.random() < 0.85 else "not_reviewed"
    else:
        review = "nkda" if draws.rng.random() < 0.55 else "not_reviewed"
    updated_at = created_at
    if draws.rng.random() < 0.5 or demo["deleted"] or demo["deceased_at"] is not None:
        floor = demo["deceased_at"] or created_at
        upd_day = draws.day_between(floor.date() + timedelta(days=1), draws.today)
        updated_at = max(draws.instant_on(upd_day), floor + timedelta(minutes=5))
    return Patient(
        id=pid,
        uuid=uuid5(CLINIC_NAMESPACE, f"{draws.seed}:patient:{pid}"),
        chart_number=f"C{pid:05d}",
        first_name=demo["first_name"],
        middle_name=demo["middle_name"],
        last_name=demo["last_name"],
        preferred_name=demo["preferred_name"],
        birth_date=birth,
        gender=demo["gender"],
        email=demo["email"],
        mobile_phone=demo["mobile_phone"],
        home_phone=demo["home_phone"],
        address_line1=demo["address_line1"],
        city=demo["city"],
        state=demo["state"],
        postal_code=demo["postal_code"],
        status=demo["status"],
        deceased_at=demo["deceased_at"],
        deleted=demo["deleted"],
        created_at=created_at,
        updated_at=updated_at,
        allergy_review=review,
        primary_provider_id=demo["primary_provider_id"],
        location_id=demo["location_id"],
        allergies=tuple(allergies),
        medications=tuple(meds),
        vitals=tuple(vitals),
        problems=tuple(problems),
        encounters=tuple(encounters),
    )


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "patient"


@functools.lru_cache(maxsize=8)
def build_clinic(seed: int = 20261121, size: int = 240, today: date = date(2026, 11, 1)) -> Clinic:
    """Build the synthetic clinic; same arguments, equal clinic (and, cached, the same one)."""
    draws = Draws(seed, today)
    specs = placed_patients(draws.rng, today)
    if size < len(specs) + 20:
        raise ValueError(f"size must be at least {len(specs) + 20}")
    placed = draws.rng.sample(range(1, size + 1), len(specs))
    by_id = dict(zip(placed, specs, strict=True))
    patients = tuple(_patient(draws, pid, by_id.get(pid, PatientSpec(None))) for pid in range(1, size + 1))
    awkward = tuple(
        sorted(
            ((spec.case, pid) for pid, spec in by_id.items() if spec.case is not None),
            key=lambda case_and_pid: AWKWARD_CASES.index(case_and_pid[0]),
        )
    )
    return Clinic(
        seed=seed,
        today=today,
        providers=PROVIDERS,
        locations=LOCATIONS,
        patients=patients,
        awkward=awkward,
    )
