"""``GET /api/{patientId}/encounters/search``: window, summary, parameters, sections."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandboxes.nextech.app import CCD_SECTIONS, SECTION_TITLES
from tests.unit.sandboxes.nextech.harness import (
    CHART_STATUSES,
    CLINIC,
    LIVE,
    MS,
    Api,
    Clock,
    assert_api_error,
    awkward,
    chart_encounters,
    make_api,
    section_names,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return make_api()


def test_encounters_are_the_chart_visits_with_a_faithful_summary(api: Api) -> None:
    p = awkward("in_progress_encounter")
    items = api.encounters(p.id)
    expected = chart_encounters(p)
    assert [i["summary"]["encounterId"] for i in items] == [e.id for e in expected]
    assert all(e.status in CHART_STATUSES for e in expected) and len(expected) < len(p.encounters)
    for item, enc in zip(items, expected, strict=True):
        assert list(item) == ["summary", "ccd"]
        s = item["summary"]
        assert list(s) == [
            "encounterId",
            "doctorId",
            "doctorFirstName",
            "doctorLastName",
            "doctorProfessionalDesignation",
            "department",
            "location",
            "encounterDate",
            "type",
            "encounterLocked",
        ]
        doctor = CLINIC.provider(enc.provider_id)
        assert (s["doctorId"], s["doctorFirstName"], s["doctorLastName"], s["doctorProfessionalDesignation"]) == (
            doctor.id,
            doctor.first_name,
            doctor.last_name,
            doctor.designation,
        )
        assert s["location"] == CLINIC.location(enc.location_id).name
        assert s["type"] == enc.type_text
        assert MS.fullmatch(s["encounterDate"])
        assert datetime.fromisoformat(s["encounterDate"]) == enc.start
        department = "General Dentistry"
        if enc.type_code is None:
            department = "Primary Care"
        elif enc.type_code.startswith("D4"):
            department = "Periodontics"
        assert s["department"] == department
        locked = s["encounterLocked"]
        assert (locked if isinstance(locked, bool) else locked.lower() == "true") == enc.locked


def test_encounter_locked_comes_as_boolean_and_as_strings(api: Api) -> None:
    kinds: set[Any] = set()
    for p in LIVE[:60]:
        for item in api.encounters(p.id):
            locked = item["summary"]["encounterLocked"]
            kinds.add(type(locked) if isinstance(locked, bool) else locked)
    assert bool in kinds
    assert kinds & {"true", "false"} and kinds & {"True", "False"}
    assert kinds <= {bool, "true", "false", "True", "False"}


def test_departments_vary(api: Api) -> None:
    seen = {i["summary"]["department"] for p in LIVE[:80] for i in api.encounters(p.id)}
    assert {"General Dentistry", "Periodontics", "Primary Care"} <= seen


def test_encounter_window_is_inclusive_and_end_defaults_to_now() -> None:
    clock = Clock()
    api = make_api(clock)
    p = awkward("in_progress_encounter")
    chart = chart_encounters(p)
    assert len(chart) >= 4
    second, last = chart[1], chart[-1]
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    found = api.encounters(p.id, start=second.start.strftime(fmt), end=chart[-2].start.strftime(fmt))
    assert [i["summary"]["encounterId"] for i in found] == [e.id for e in chart[1:-1]]
    found = api.encounters(p.id, start=second.start.isoformat())
    assert [i["summary"]["encounterId"] for i in found] == [e.id for e in chart[1:]]
    just_before = (second.start - timedelta(seconds=1)).astimezone(ZoneInfo("America/Chicago")).isoformat()
    found = api.encounters(p.id, end=just_before)
    assert [i["summary"]["encounterId"] for i in found] == [chart[0].id]
    clock.now = (last.start - timedelta(minutes=1)).timestamp()  # the in-progress visit is not yet "now"
    assert last.id not in {i["summary"]["encounterId"] for i in api.encounters(p.id)}
    assert api.encounters(p.id, start="2030-01-01", end="2029-01-01") == []


def test_bare_date_end_is_its_midnight_utc(api: Api) -> None:
    p = awkward("in_progress_encounter")
    enc = chart_encounters(p)[0]
    day = enc.start.date().isoformat()
    assert enc.id not in {i["summary"]["encounterId"] for i in api.encounters(p.id, end=day)}
    next_day = (enc.start.date() + timedelta(days=1)).isoformat()
    assert enc.id in {i["summary"]["encounterId"] for i in api.encounters(p.id, end=next_day)}


@pytest.mark.parametrize("name", ["start", "end"])
def test_invalid_datetime_is_400(api: Api, name: str) -> None:
    r = api.get(f"/api/{LIVE[0].id}/encounters/search", **{name: "yesterday"})
    assert r.status_code == 400
    assert r.json() == {
        "Message": "The request is invalid.",
        "ModelState": {name: [f"The value 'yesterday' is not valid for {name}."]},
    }


def test_encounter_path_and_patient_errors(api: Api) -> None:
    r = api.get("/api/abc/encounters/search")
    assert r.status_code == 400 and r.json()["Message"] == "The request is invalid." and "MessageDetail" in r.json()
    assert_api_error(api.get("/api/999999/encounters/search"), 404, "Patient not found")
    assert api.encounters(awkward("no_records").id) == []


def test_categories_and_section_filter(api: Api) -> None:
    assert api.ok("/api/encounters/categories") == list(CCD_SECTIONS)
    p = awkward("in_progress_encounter")
    full = api.encounters(p.id)
    assert section_names(full[0]["ccd"]) == list(CCD_SECTIONS)
    for name in CCD_SECTIONS:
        only = api.encounters(p.id, section=name)
        assert [i["summary"] for i in only] == [i["summary"] for i in full]
        for item in only:
            assert section_names(item["ccd"]) == [name]
            assert f"<h2>{SECTION_TITLES[name]}</h2>" in item["ccd"]
            assert '<div class="header">' in item["ccd"] and p.chart_number in item["ccd"]
    assert section_names(api.encounters(p.id, section="vitalsigns")[0]["ccd"]) == ["VitalSigns"]
    assert section_names(api.encounters(p.id, section="")[0]["ccd"]) == list(CCD_SECTIONS)
    assert_api_error(
        api.get(f"/api/{p.id}/encounters/search", section="Vital Signs"),
        400,
        "The section 'Vital Signs' is not a valid CCD section.",
    )
