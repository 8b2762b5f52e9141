"""The simulator's switches for points Nextech's docs leave open: ``section_names``,
``far_future_visit`` and ``latest_end`` (the defaults are covered by the other tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandboxes.nextech.app import CCD_SECTIONS, FAR_FUTURE_VISIT, SPACED_SECTIONS, create_app
from tests.unit.sandboxes.nextech.harness import CLIENT, CLINIC, LIVE, PRACTICE, SECRET, assert_api_error, make_api
from tests.unit.sandboxes.nextech.harness import section_names as sections_in


def test_spaced_section_names_everywhere() -> None:
    api = make_api(section_names="spaced")
    assert api.ok("/api/encounters/categories") == list(SPACED_SECTIONS)
    patient = next(p for p in LIVE if api.encounters(p.id))
    assert sections_in(api.encounters(patient.id)[0]["ccd"]) == list(SPACED_SECTIONS)
    for name in ("Vital Signs", "plan of treatment", "Social History"):
        [canonical] = [s for s in SPACED_SECTIONS if s.casefold() == name.casefold()]
        assert sections_in(api.encounters(patient.id, section=name)[0]["ccd"]) == [canonical]
    assert api.get(f"/api/{patient.id}/encounters/search", section="VitalSigns").status_code == 400


def test_compact_is_the_default() -> None:
    assert make_api().ok("/api/encounters/categories") == list(CCD_SECTIONS)
    with pytest.raises(ValueError, match="section_names"):
        create_app(CLINIC, client_id=CLIENT, client_secret=SECRET, practice_id=PRACTICE, section_names="wide")  # type: ignore[arg-type]


def test_a_far_future_visit_needs_a_far_end() -> None:
    api = make_api(far_future_visit=True)
    patient_id, encounter_id = api.app.state.far_visit
    assert encounter_id not in {e.id for p in CLINIC.patients for e in p.encounters}
    assert encounter_id not in [i["summary"]["encounterId"] for i in api.encounters(patient_id)]  # end: now
    [item] = api.encounters(patient_id, start="2031-01-01", end="9999-12-31T00:00:00Z")
    assert item["summary"]["encounterId"] == encounter_id
    assert item["summary"]["encounterDate"] == FAR_FUTURE_VISIT.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert item["summary"]["encounterLocked"] in (False, "false", "False")
    assert make_api().app.state.far_visit is None


def test_a_far_future_visit_at_a_chosen_moment() -> None:
    at = datetime(2240, 2, 29, 9, 0, tzinfo=UTC)
    api = make_api(far_future_visit=at)
    patient_id, _ = api.app.state.far_visit
    [item] = api.encounters(patient_id, start="2100-01-01", end="9999-12-31")
    assert item["summary"]["encounterDate"].startswith("2240-02-29T09:00")


def test_latest_end_refuses_far_ends() -> None:
    api = make_api(latest_end=datetime(2100, 1, 1, tzinfo=UTC))
    patient = LIVE[0]
    r = api.get(f"/api/{patient.id}/encounters/search", end="9999-12-31T00:00:00Z")
    assert_api_error(r, 400, "The request is invalid.")
    assert r.json()["ModelState"] == {"end": ["The value '9999-12-31T00:00:00Z' is not valid for end."]}
    assert api.get(f"/api/{patient.id}/encounters/search", end="2099-12-31").status_code == 200
