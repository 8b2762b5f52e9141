"""The CCD document of an encounter (``sandboxes.nextech.ccd_html``)."""

from __future__ import annotations

import re
from datetime import datetime, time
from html import escape
from zoneinfo import ZoneInfo

import pytest

from sandboxes.nextech.app import HOSTILE_SNIPPETS
from tests.unit.sandboxes.nextech.harness import CLINIC, LIVE, Api, awkward, chart_encounters, make_api


@pytest.fixture(scope="module")
def api() -> Api:
    return make_api()


def test_ccd_renders_the_clinic(api: Api) -> None:
    p = next(
        p
        for p in LIVE
        if chart_encounters(p)
        and any(m.prn for m in p.medications if not m.deleted)
        and p.allergies
        and p.problems
        and p.birth_date
        and any(e.reason for e in chart_encounters(p))
    )
    enc = next(e for e in chart_encounters(p) if e.reason)
    (item,) = [i for i in api.encounters(p.id) if i["summary"]["encounterId"] == enc.id]
    ccd = item["ccd"]
    assert ccd.startswith("<!DOCTYPE html>") and "<title>Continuity of Care Document</title>" in ccd
    assert escape(p.last_name) in ccd and p.chart_number in ccd
    assert p.birth_date is not None and p.birth_date.strftime("%m/%d/%Y") in ccd
    for a in p.allergies:
        assert (escape(a.substance) in ccd) != a.deleted
    for m in p.medications:
        assert (escape(m.name) in ccd) != m.deleted
    assert "as needed" in ccd
    for pr in p.problems:
        assert (escape(pr.name) in ccd) != pr.deleted
    if enc.reason:
        assert escape(enc.reason) in _block(ccd, "PlanOfCare")
    assert escape(enc.type_text) in _block(ccd, "Encounter")


def _block(ccd: str, name: str) -> str:
    match = re.search(rf'<div class="section" data-section="{name}">(.*?)</div>', ccd, re.S)
    assert match, name
    return match.group(1)


VITAL_FIELDS = (
    "systolic",
    "diastolic",
    "pulse",
    "respiration_rate",
    "spo2",
    "temperature_f",
    "height_in",
    "weight_lb",
    "bmi",
    "bmi_percentile",
)


@pytest.mark.parametrize("case", ["many_vitals", "partial_vitals", "deleted_vitals", "child"])
def test_vital_signs_section_shows_the_closest_reading(api: Api, case: str) -> None:
    p = awkward(case)
    zone = ZoneInfo(CLINIC.timezone)
    live = [v for v in p.vitals if not v.deleted]
    items = api.encounters(p.id, section="VitalSigns")
    assert items and live
    for item in items:
        start = datetime.fromisoformat(item["summary"]["encounterDate"])
        taken = [datetime.combine(v.taken_on, v.taken_at or time(12), tzinfo=zone) for v in live]
        distances = [abs((t - start).total_seconds()) for t in taken]
        best = live[distances.index(min(distances))]  # the first (earlier) of ties
        block = _block(item["ccd"], "VitalSigns")
        assert f"Taken {best.taken_on.strftime('%m/%d/%Y')}" in block
        values = [getattr(best, f) for f in VITAL_FIELDS if getattr(best, f) is not None]
        assert block.count("<tr><td>") == len(values)
        for value in values:
            assert f"<td>{value}</td>" in block


def test_empty_sections_say_so(api: Api) -> None:
    no_vitals = next(p for p in LIVE if chart_encounters(p) and not [v for v in p.vitals if not v.deleted])
    ccd = api.encounters(no_vitals.id)[0]["ccd"]
    assert "No vital signs recorded" in _block(ccd, "VitalSigns")
    nkda = next(
        p
        for p in LIVE
        if p.allergy_review == "nkda" and chart_encounters(p) and not [a for a in p.allergies if not a.deleted]
    )
    assert "No known drug allergies" in _block(api.encounters(nkda.id)[0]["ccd"], "Allergies")


def test_clinic_text_is_escaped(api: Api) -> None:
    p = awkward("markup_name")
    items = api.encounters(p.id)
    assert items
    for item in items:
        ccd = item["ccd"]
        assert "Tables&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in ccd
        assert "<script" not in ccd and "& Sons" not in ccd
    (row,) = [r for r in api.search(p.chart_number)]
    assert row["lastName"] == p.last_name  # JSON carries the raw text


def test_every_ccd_is_well_formed_enough_and_escaped(api: Api) -> None:
    tag = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
    allowed = {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "div",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
    for p in LIVE[::7]:
        for item in api.encounters(p.id):
            ccd = item["ccd"]
            assert {m.group(2) for m in tag.finditer(ccd)} <= allowed
            assert "javascript:" not in ccd and "onerror" not in ccd


def test_hostile_html_only_when_enabled() -> None:
    p = awkward("in_progress_encounter")
    plain, hostile = make_api(), make_api(hostile_html=True)
    for ccd in (i["ccd"] for i in plain.encounters(p.id)):
        assert not any(s in ccd for s in HOSTILE_SNIPPETS)
        assert "<script" not in ccd and "evil.example" not in ccd
    for section in (None, "Allergies"):
        params = {"section": section} if section else {}
        for ccd in (i["ccd"] for i in hostile.encounters(p.id, **params)):
            for snippet in HOSTILE_SNIPPETS:
                assert snippet in ccd
    joined = "".join(HOSTILE_SNIPPETS)
    for needle in ("<script>alert(1)</script>", "onerror=", 'href="javascript:', "<iframe", "<link", "url(https://"):
        assert needle in joined
