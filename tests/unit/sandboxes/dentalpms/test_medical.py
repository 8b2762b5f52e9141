"""The Dental PMS simulator: allergies, medications, diseases, vital signs, medical summary."""

from __future__ import annotations

from typing import Any

import pytest

from sandboxes.clinic import AWKWARD
from sandboxes.dentalpms.ids import record_uuid
from tests.unit.sandboxes.dentalpms.client import (
    BASE,
    CLINIC,
    LIVE,
    Api,
    awkward,
    new_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


def _all(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = api.ok(path, page=page, page_size=10, **params)
        items += body["items"]
        if page * 10 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


@pytest.mark.parametrize(
    ("case", "resource", "kind", "attr"),
    [
        ("deleted_allergy", "allergies", "allergy", "allergies"),
        ("deleted_medication", "medications", "medication", "medications"),
        ("deleted_vitals", "vital-signs", "vitals", "vitals"),
        ("deleted_problem", "diseases", "disease", "problems"),
    ],
)
def test_lists_leave_deleted_records_out(api: Api, case: str, resource: str, kind: Any, attr: str) -> None:
    p = awkward(case)
    items = _all(api, f"{BASE}/{p.uuid}/{resource}")
    records = getattr(p, attr)
    expected = {str(record_uuid(CLINIC, kind, r.id)) for r in records if not r.deleted}
    assert {d["id"] for d in items} == expected
    assert all(d["deleted_at"] is None for d in items)
    assert all(d["patient"]["uuid"] == str(p.uuid) for d in items)


def test_many_vitals_span_pages_in_order(api: Api) -> None:
    p = awkward("many_vitals")
    items = _all(api, f"{BASE}/{p.uuid}/vital-signs")
    assert len(items) == len([v for v in p.vitals if not v.deleted]) >= 30
    keys = [(d["date_taken"], d["time_taken"] is None, d["time_taken"] or "") for d in items]
    assert keys == sorted(keys)
    some = items[len(items) // 2]
    window = api.ok(f"{BASE}/{p.uuid}/vital-signs", date_from=some["date_taken"], date_to=some["date_taken"])
    assert some["id"] in {d["id"] for d in window["items"]}
    assert all(d["date_taken"] == some["date_taken"] for d in window["items"])
    r = api.get(f"{BASE}/{p.uuid}/vital-signs", params={"date_from": "yesterday"})
    assert r.status_code == 422


def test_vitals_rendering(api: Api) -> None:
    p = awkward("partial_vitals")
    items = api.ok(f"{BASE}/{p.uuid}/vital-signs", page_size=200)["items"]
    by_id = {d["id"]: d for d in items}
    half = next(v for v in p.vitals if v.systolic is not None and v.diastolic is None)
    d = by_id[str(record_uuid(CLINIC, "vitals", half.id))]
    assert (d["bp_systolic"], d["bp_diastolic"]) == (half.systolic, None)
    weight = next(v for v in p.vitals if v.weight_lb is not None and v.systolic is None)
    d = by_id[str(record_uuid(CLINIC, "vitals", weight.id))]
    assert d["weight_lbs"] == str(weight.weight_lb)
    assert d["height_inches"] is None and d["bmi"] is None
    child = awkward("child")
    items = api.ok(f"{BASE}/{child.uuid}/vital-signs", page_size=200)["items"]
    full = [d for d in items if d["bmi"] is not None]
    assert full and all(isinstance(d["bmi_percentile"], int) for d in full)
    assert all(isinstance(d["temperature_f"], str) for d in full)


def test_single_vitals(api: Api) -> None:
    p = awkward("deleted_vitals")
    live = next(v for v in p.vitals if not v.deleted)
    dead = next(v for v in p.vitals if v.deleted)
    path = f"{BASE}/{p.uuid}/vital-signs"
    d = api.ok(f"{path}/{record_uuid(CLINIC, 'vitals', live.id)}")
    assert d["date_taken"] == live.taken_on.isoformat()
    assert d["bp_systolic"] == live.systolic
    r = api.get(f"{path}/{record_uuid(CLINIC, 'vitals', dead.id)}")
    assert (r.status_code, r.json()) == (404, {"detail": "Vital signs not found"})
    other = awkward("many_vitals").vitals[0]
    r = api.get(f"{path}/{record_uuid(CLINIC, 'vitals', other.id)}")
    assert (r.status_code, r.json()) == (404, {"detail": "Vital signs not found"})
    r = api.get(f"{path}/bogus")
    assert r.json()["detail"][0]["loc"] == ["path", "vitals_uuid"]


def test_allergy_rendering(api: Api) -> None:
    p = awkward("free_text_allergy")
    items = api.ok(f"{BASE}/{p.uuid}/allergies")["items"]
    by_name = {d["allergy_definition"]["name"]: d for d in items}
    for a in p.allergies:
        d = by_name[a.substance]
        assert d["id"] == str(record_uuid(CLINIC, "allergy", a.id))
        assert d["allergy_definition"]["uuid"] == str(record_uuid(CLINIC, "allergy_definition", a.substance))
        assert d["reaction"] == a.reaction
        assert d["snomed_reaction"] == a.reaction_snomed
        assert d["severity"] == a.severity
        assert d["status_is_active"] is a.active
        assert d["interaction_warnings"] == []
        assert "substance_snomed" not in d


def test_is_active_filters(api: Api) -> None:
    p = next(p for p in LIVE if any(not a.active for a in p.allergies))
    active = api.ok(f"{BASE}/{p.uuid}/allergies", is_active="true")["items"]
    inactive = api.ok(f"{BASE}/{p.uuid}/allergies", is_active="false")["items"]
    assert all(d["status_is_active"] for d in active)
    assert inactive and not any(d["status_is_active"] for d in inactive)
    p = next(p for p in LIVE if {m.status for m in p.medications} >= {"active", "completed"})
    current = api.ok(f"{BASE}/{p.uuid}/medications", is_active=True)["items"]
    past = api.ok(f"{BASE}/{p.uuid}/medications", is_active=False)["items"]
    assert {d["status"] for d in current} == {"active"}
    assert "active" not in {d["status"] for d in past}
    r = api.get(f"{BASE}/{p.uuid}/medications", params={"is_active": "maybe"})
    assert r.json()["detail"][0]["type"] == "bool_parsing"


def test_medication_rendering(api: Api) -> None:
    p = awkward("free_text_medication")
    items = api.ok(f"{BASE}/{p.uuid}/medications")["items"]
    free = [d for d in items if d["rx_cui"] is None]
    assert free and all(d["medication_definition"] is None and d["med_descript"] for d in free)
    tea = next(d for d in free if d["med_descript"] == "Herbal sleep tea")
    assert tea["frequency"] == "as needed"
    p = awkward("prn_medication")
    items = api.ok(f"{BASE}/{p.uuid}/medications")["items"]
    lorazepam = next(d for d in items if d["rx_cui"] == "197900")
    assert lorazepam["frequency"] == "twice daily as needed"
    assert lorazepam["dosage"] == "0.5 mg"
    assert lorazepam["med_descript"] is None
    assert lorazepam["medication_definition"]["name"] == "Lorazepam 0.5 MG Oral Tablet"
    assert lorazepam["provider"]["uuid"] == str(record_uuid(CLINIC, "provider", 5))


def test_disease_filters(api: Api) -> None:
    p = next(p for p in LIVE if {x.status for x in p.problems} >= {"active", "resolved"})
    resolved = api.ok(f"{BASE}/{p.uuid}/diseases", problem_status="resolved")["items"]
    assert resolved and {d["problem_status"] for d in resolved} == {"resolved"}
    assert all(d["date_stop"] for d in resolved)


def test_medical_summary(api: Api) -> None:
    p = awkward("deleted_medication")
    s = api.ok(f"{BASE}/{p.uuid}/medical-summary")
    live = [m for m in p.medications if not m.deleted]
    assert {d["id"] for d in s["current_medications"] + s["past_medications"]} == {
        str(record_uuid(CLINIC, "medication", m.id)) for m in live
    }
    assert all(d["status"] == "active" for d in s["current_medications"])
    assert s["allergy_review_status"] == p.allergy_review
    assert s["patient"]["uuid"] == str(p.uuid)
    assert all(d["problem_status"] == "active" for d in s["active_problems"])
    s = api.ok(f"{BASE}/{AWKWARD['no_records']}/medical-summary")
    assert s["latest_vitals"] is None
    assert s["allergies"] == s["current_medications"] == s["past_medications"] == []
    s = api.ok(f"{BASE}/{AWKWARD['many_vitals']}/medical-summary")
    newest = max(v.taken_on for v in awkward("many_vitals").vitals)
    assert s["latest_vitals"]["date_taken"] == newest.isoformat()


def test_nkda_is_a_review_status_not_an_allergy(api: Api) -> None:
    p = awkward("nkda")
    assert api.ok(f"{BASE}/{p.uuid}")["allergy_review_status"] == "nkda"
    assert api.ok(f"{BASE}/{p.uuid}/allergies")["total"] == 0
