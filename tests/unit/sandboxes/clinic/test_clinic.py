"""The synthetic clinic: deterministic, realistic enough, and every awkward case present."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

import pytest

from sandboxes.clinic import (
    AWKWARD,
    AWKWARD_CASES,
    CLINIC_NAMESPACE,
    Clinic,
    Patient,
    build_clinic,
)

CLINIC = build_clinic()


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_build_is_deterministic_and_cached() -> None:
    first = build_clinic.__wrapped__()
    second = build_clinic.__wrapped__()
    assert first == second
    assert first is not second
    assert build_clinic() is build_clinic()


def test_patient_uuids_are_stable() -> None:
    for p in CLINIC.patients:
        assert p.uuid == uuid5(CLINIC_NAMESPACE, f"{CLINIC.seed}:patient:{p.id}")
    # Pinned: a change here breaks every recorded fixture that names a sandbox patient.
    assert CLINIC.patient(1).uuid == UUID("2c5bfc5c-cc19-579e-908c-9c7b8fd5e6ed")


def test_build_does_not_depend_on_hash_randomisation() -> None:
    script = (
        "import hashlib; from sandboxes.clinic import build_clinic; "
        "print(hashlib.sha256(repr(build_clinic()).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
    assert digests == {hashlib.sha256(repr(CLINIC).encode()).hexdigest() + "\n"}


def test_other_seed_gives_other_clinic() -> None:
    other = build_clinic(seed=7)
    assert other.patients[0].uuid != CLINIC.patients[0].uuid
    assert [p.last_name for p in other.patients] != [p.last_name for p in CLINIC.patients]
    assert set(other.awkward_uuids()) == set(AWKWARD_CASES)


def test_size_and_today_are_honoured() -> None:
    small = build_clinic(size=100, today=date(2030, 1, 1))
    assert len(small.patients) == 100
    assert all(p.created_at.date() < date(2030, 1, 1) for p in small.patients)
    with pytest.raises(ValueError):
        build_clinic(size=10)


def test_size_ids_and_chart_numbers() -> None:
    assert len(CLINIC.patients) >= 200
    assert [p.id for p in CLINIC.patients] == list(range(1, len(CLINIC.patients) + 1))
    assert all(p.chart_number == f"C{p.id:05d}" for p in CLINIC.patients)
    assert len({p.uuid for p in CLINIC.patients}) == len(CLINIC.patients)
    for kind in ("allergies", "medications", "vitals", "problems", "encounters"):
        ids = [r.id for p in CLINIC.patients for r in getattr(p, kind)]
        assert len(ids) == len(set(ids)), kind
        assert ids, kind


def test_datetimes_are_utc() -> None:
    for p in CLINIC.patients:
        stamps = [p.created_at, p.updated_at, p.deceased_at]
        stamps += [e.start for e in p.encounters] + [e.end for e in p.encounters]
        for dt in stamps:
            assert dt is None or dt.utcoffset() == UTC.utcoffset(None)
        assert p.updated_at >= p.created_at


def test_providers_and_locations() -> None:
    assert 4 <= len(CLINIC.providers) <= 6
    assert 2 <= len(CLINIC.locations) <= 3
    designations = {p.designation for p in CLINIC.providers}
    assert designations <= {"DDS", "DMD", "MD", "RDH", "NP"}
    for p in CLINIC.patients:
        if p.primary_provider_id is not None:
            CLINIC.provider(p.primary_provider_id)
        if p.location_id is not None:
            CLINIC.location(p.location_id)


def _has(pred: Callable[[Patient], bool]) -> Callable[[Patient], bool]:
    return pred


def _partial_vitals(p: Patient) -> bool:
    bp_half = any(v.systolic is not None and v.diastolic is None for v in p.vitals)
    weight_only = any(
        v.weight_lb is not None
        and v.systolic is None
        and v.pulse is None
        and v.height_in is None
        and v.temperature_f is None
        for v in p.vitals
    )
    return bp_half and weight_only


AWKWARD_CHECKS: dict[str, Callable[[Patient], bool]] = {
    "unicode_name": lambda p: (p.first_name, p.last_name) == ("Zoë", "Müller"),
    "accented_name": lambda p: (p.first_name, p.last_name) == ("José", "García"),
    "cjk_name": lambda p: (p.first_name, p.last_name) == ("小明", "王"),
    "apostrophe_hyphen": lambda p: p.last_name == "O'Brien-Nguyễn",
    "markup_name": lambda p: "<script>" in p.last_name and "&" in p.last_name,
    "no_middle_name": lambda p: p.middle_name is None,
    "missing_birth_date": lambda p: p.birth_date is None,
    "no_gender": lambda p: p.gender is None,
    "no_contact": lambda p: (p.email, p.mobile_phone, p.home_phone) == (None, None, None),
    "deleted_patient": lambda p: p.deleted,
    "deceased": lambda p: p.status == "deceased" and p.deceased_at is not None,
    "inactive": lambda p: p.status == "inactive",
    "prospective": lambda p: p.status == "prospective",
    "twin": lambda p: p.birth_date is not None,
    "twin_sibling": lambda p: p.birth_date is not None,
    "shared_prefix": lambda p: p.last_name == "Smith",
    "shared_prefix_smithson": lambda p: p.last_name == "Smithson",
    "shared_prefix_smithers": lambda p: p.last_name == "Smithers",
    "nkda": lambda p: p.allergy_review == "nkda" and not p.allergies,
    "allergies_not_reviewed": lambda p: p.allergy_review == "not_reviewed" and not p.allergies,
    "no_records": lambda p: not (p.allergies or p.medications or p.vitals),
    "partial_vitals": _partial_vitals,
    "many_vitals": lambda p: len([v for v in p.vitals if not v.deleted]) >= 30,
    "deleted_allergy": lambda p: any(a.deleted for a in p.allergies) and any(not a.deleted for a in p.allergies),
    "deleted_medication": lambda p: any(m.deleted for m in p.medications) and any(not m.deleted for m in p.medications),
    "deleted_vitals": lambda p: any(v.deleted for v in p.vitals) and any(not v.deleted for v in p.vitals),
    "deleted_problem": lambda p: any(x.deleted for x in p.problems) and any(not x.deleted for x in p.problems),
    "free_text_allergy": lambda p: any(a.substance_snomed is None and not a.deleted for a in p.allergies),
    "free_text_medication": lambda p: any(m.rxnorm is None for m in p.medications),
    "prn_medication": lambda p: any(m.prn and m.status == "active" for m in p.medications),
    "child": lambda p: any(v.bmi_percentile is not None for v in p.vitals),
    "in_progress_encounter": lambda p: any(e.status == "arrived" for e in p.encounters),
}


def test_every_awkward_case_is_named_and_checked() -> None:
    assert set(AWKWARD_CHECKS) == set(AWKWARD_CASES)
    assert set(AWKWARD) == set(AWKWARD_CASES)
    assert len(set(AWKWARD.values())) == len(AWKWARD)


@pytest.mark.parametrize("case", AWKWARD_CASES)
def test_awkward_case(case: str) -> None:
    patient = CLINIC.awkward_patient(case)
    assert CLINIC.patient_by_uuid(AWKWARD[case]) is patient
    assert CLINIC.patient_by_uuid(str(AWKWARD[case])) is patient
    assert AWKWARD_CHECKS[case](patient)


def test_twins_share_last_name_and_birth_date() -> None:
    a, b = CLINIC.awkward_patient("twin"), CLINIC.awkward_patient("twin_sibling")
    assert a.id != b.id
    assert (a.last_name, a.birth_date) == (b.last_name, b.birth_date)
    assert a.first_name != b.first_name


def test_unicode_coverage() -> None:
    names = {p.first_name for p in CLINIC.patients} | {p.last_name for p in CLINIC.patients}
    for needle in ("José", "Zoë", "Müller"):
        assert needle in names
    assert any("Nguyễn" in n for n in names)
    assert any("\u4e00" <= ch <= "\u9fff" for n in names for ch in n)


def test_common_last_names_fill_several_pages() -> None:
    counts = Counter(p.last_name for p in CLINIC.patients if not p.deleted)
    assert sum(1 for n in counts.values() if n >= 12) >= 2
    smiths = [n for n in counts if n.startswith("Smith")]
    assert sorted(smiths) == ["Smith", "Smithers", "Smithson"]


def test_birth_dates_spread() -> None:
    births = [p.birth_date for p in CLINIC.patients if p.birth_date]
    after = sum(1 for b in births if b >= date(1985, 1, 1))
    assert 0.25 < after / len(births) < 0.75
    ages = [_age(b, CLINIC.today) for b in births]
    assert min(ages) <= 5
    assert max(ages) >= 80


def test_vitals_are_plausible() -> None:
    for p in CLINIC.patients:
        for v in p.vitals:
            assert v.taken_on <= CLINIC.today
            if p.birth_date:
                assert v.taken_on >= p.birth_date
            if v.systolic is not None:
                assert 80 <= v.systolic <= 200
            if v.diastolic is not None:
                assert v.systolic is not None and 45 <= v.diastolic < v.systolic
            if v.pulse is not None:
                assert 40 <= v.pulse <= 130
            if v.spo2 is not None:
                assert 88 <= v.spo2 <= 100
            if v.temperature_f is not None:
                assert Decimal("95") <= v.temperature_f <= Decimal("104")
            if v.bmi is not None:
                assert v.height_in is not None and v.weight_lb is not None
                computed = 703 * float(v.weight_lb) / float(v.height_in) ** 2
                assert abs(computed - float(v.bmi)) < 0.2
            if v.bmi_percentile is not None:
                assert p.birth_date is not None and 2 <= _age(p.birth_date, v.taken_on) < 20
                assert v.bmi is not None
        keys = [(v.taken_on, v.taken_at is None, v.taken_at) for v in p.vitals]
        assert [v.id for v in p.vitals] == sorted(v.id for v in p.vitals)
        assert [k[0] for k in keys] == sorted(k[0] for k in keys)


def test_children_with_bmi_get_percentiles() -> None:
    for p in CLINIC.patients:
        if p.birth_date is None:
            continue
        for v in p.vitals:
            if v.bmi is not None and 2 <= _age(p.birth_date, v.taken_on) < 20:
                assert v.bmi_percentile is not None


KNOWN_RXNORM = {"314076", "308191", "197806", "861007", "617310", "312940", "197900"}


def test_codes_are_known_ones() -> None:
    meds = [m for p in CLINIC.patients for m in p.medications]
    assert {m.rxnorm for m in meds if m.rxnorm} <= KNOWN_RXNORM
    assert any(m.rxnorm is None for m in meds)
    assert {m.status for m in meds} == {"active", "discontinued", "on_hold", "completed"}
    allergies = [a for p in CLINIC.patients for a in p.allergies]
    by_name = {a.substance: a.substance_snomed for a in allergies}
    assert by_name["Penicillin"] == "764146007"
    assert by_name["Latex"] == "111088007"
    reactions = {a.reaction: a.reaction_snomed for a in allergies if a.reaction}
    assert reactions["Hives"] == "247472004"
    assert reactions["Anaphylaxis"] == "39579001"
    problems = {(x.name, x.snomed, x.icd10) for p in CLINIC.patients for x in p.problems}
    assert ("Hypertension", "38341003", "I10") in problems
    assert ("Type 2 diabetes mellitus", "44054006", "E11.9") in problems
    assert ("Gingivitis", "66383009", "K05.10") in problems
    assert ("Asthma", "195967001", "J45.909") in problems


def test_medication_dates_are_consistent() -> None:
    for p in CLINIC.patients:
        for m in p.medications:
            if m.status in ("active", "on_hold"):
                assert m.stop is None
            if m.stop is not None and m.start is not None:
                assert m.stop >= m.start
        for x in p.problems:
            assert (x.resolved_on is not None) == (x.status == "resolved")


def test_encounters() -> None:
    now = datetime.combine(CLINIC.today, datetime.min.time(), tzinfo=UTC)
    encounters = [e for p in CLINIC.patients for e in p.encounters]
    statuses = Counter(e.status for e in encounters)
    assert statuses["finished"] > statuses["cancelled"] > 0
    assert statuses["planned"] > 0
    assert any(e.locked for e in encounters)
    assert any(not e.locked and e.status == "finished" for e in encounters)
    for e in encounters:
        if e.status == "planned":
            assert e.start > now
        if e.status in ("finished", "cancelled"):
            assert e.start < now
        if e.status == "finished":
            assert e.end is not None and e.end > e.start
        if e.locked:
            assert e.status == "finished"
        CLINIC.provider(e.provider_id)
        CLINIC.location(e.location_id)
    assert any(e.type_code is None for e in encounters)
    assert {e.type_code for e in encounters if e.type_code} >= {"D0120", "D1110"}


def test_clinic_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CLINIC.patients[0].first_name = "x"  # type: ignore[misc]
    assert isinstance(CLINIC, Clinic)
