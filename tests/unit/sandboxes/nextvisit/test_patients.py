"""The Nextvisit simulator: one patient, its free-text fields, and the writes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.unit.sandboxes.nextvisit.client import (
    CLINIC,
    EMAIL,
    LIVE,
    NKA_TEXTS,
    ONE,
    Api,
    Clock,
    all_rows,
    awkward,
    ids_of,
    new_api,
    search,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


def test_show_renders_the_clinic_patient(api: Api) -> None:
    p = awkward("in_progress_encounter")
    d = api.ok(f"/v1/patients/{p.id}")["data"]
    assert (d["id"], d["uuid"], d["first_name"], d["last_name"]) == (p.id, str(p.uuid), p.first_name, p.last_name)
    assert d["created_at"] == p.created_at.isoformat().replace("+00:00", "Z")
    assert "team" not in d and "demographics" not in d
    assert [e["id"] for e in d["encounters"]] == sorted((e.id for e in p.encounters), key=lambda i: -i)
    current = next(e for e in d["encounters"] if e["status"] == "in_progress")
    assert current["end_time"] is None and current["signed"] is False
    assert current["provider"] == {"id": 1, "name": "Maria Alvarez", "credentials": "DDS"}
    assert set(current) == {"id", "uuid", "patient_id", "status", "visit_type", "type", "reason", "start_time",
                            "end_time", "provider", "location", "signed", "created_at", "updated_at"}  # fmt: skip
    assert d["timeline"] and {t["type"] for t in d["timeline"]} <= {"encounter", "note"}
    stamps = [t["occurred_at"] for t in d["timeline"]]
    assert stamps == sorted(stamps, reverse=True)


def test_show_takes_includes(api: Api) -> None:
    p = awkward("twin")
    d = api.ok(f"/v1/patients/{p.id}", include="demographics,team")["data"]
    assert d["team"] == {"id": 1, "name": "Sandbox Dental Group"} and "encounters" in d
    assert d["demographics"]["address_line1"] == p.address_line1
    assert d["demographics"]["email"] == p.email
    phone = p.mobile_phone or p.home_phone
    assert phone is not None
    assert d["demographics"]["phone"] == f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
    r = api.get(f"/v1/patients/{p.id}", params={"include": "vitals"})
    assert r.status_code == 400 and r.json()["message"].startswith("Requested include(s) `vitals`")
    assert api.get("/v1/patients/99999", params={"include": "vitals"}).status_code == 404


def test_encounter_statuses_and_visit_types(api: Api) -> None:
    rows = all_rows(api, include="encounters")
    encounters = [e for d in rows for e in d["encounters"]]
    assert {e["status"] for e in encounters} == {"scheduled", "in_progress", "completed", "cancelled"}
    tele = [e for e in encounters if e["visit_type"] == "telehealth"]
    assert tele and all(e["location"] is None for e in tele)
    assert all(e["location"] is not None for e in encounters if e["visit_type"] == "in_person")
    assert all(e["start_time"].endswith("Z") for e in encounters)


def test_gender_and_missing_birth_date(api: Api) -> None:
    rows = {d["id"]: d for d in all_rows(api)}
    expected = {"male": "male", "female": "female", "non_binary": "other", "other": "other",
                "unknown": "unknown", "prefer_not_to_say": "unknown", None: None}  # fmt: skip
    for p in LIVE:
        assert rows[p.id]["gender"] == expected[p.gender]
    assert rows[awkward("missing_birth_date").id]["date_of_birth"] is None
    assert rows[awkward("no_gender").id]["gender"] is None


@pytest.mark.parametrize("raw", ["abc", "99999", "1.5", "-1"])
def test_unknown_or_non_numeric_id_is_404(api: Api, raw: str) -> None:
    r = api.get(f"/v1/patients/{raw}")
    assert (r.status_code, r.json()) == (404, {"message": f"No query results for model [App\\Models\\Patient] {raw}"})


# --------------------------------------------------------------------------- free text


def test_allergy_text_variants() -> None:
    api = new_api()
    rows = {d["id"]: d for d in all_rows(api)}
    texts = [d["allergies"] for d in rows.values()]
    assert set(texts) >= NKA_TEXTS
    assert None in texts and "" in texts
    assert any(t and re.search(r"\w \([a-z ]+\)", t) for t in texts)  # "Penicillin (hives)"
    assert any(t and "; " in t for t in texts)
    assert any(t and " and " in t for t in texts)
    assert any(t and ", " in t and "(" not in t for t in texts)
    for p in LIVE:
        text = rows[p.id]["allergies"]
        live = [a.substance for a in p.allergies if not a.deleted]
        if live:
            assert text is not None
            positions = [text.index(s) for s in live]
            assert positions == sorted(positions)
            assert all(a.substance not in text for a in p.allergies if a.deleted)
        elif p.allergy_review == "nkda":
            assert text in NKA_TEXTS
        else:
            assert text in (None, "")
    deleted = awkward("deleted_allergy")
    assert next(a.substance for a in deleted.allergies if a.deleted) not in rows[deleted.id]["allergies"]


def test_latest_medications_format() -> None:
    api = new_api()
    rows = {d["id"]: d for d in all_rows(api)}
    prn = rows[awkward("prn_medication").id]["latest_medications"]
    assert "Lorazepam 0.5mg PRN" in prn
    free = rows[awkward("free_text_medication").id]["latest_medications"]
    assert {"Fish oil 1000 mg", "Herbal sleep tea PRN"} <= set(free)
    assert "Sertraline 50mg" not in rows[awkward("deleted_medication").id]["latest_medications"]
    every = {m for d in rows.values() for m in d["latest_medications"]}
    assert {"Sertraline 50mg", "Lisinopril 10mg", "Metformin hydrochloride 500mg"} <= every
    for m in every:
        assert " MG" not in m and "Oral" not in m
    for p in LIVE:
        meds = rows[p.id]["latest_medications"]
        current = [m for m in p.medications if not m.deleted and m.status in ("active", "on_hold")]
        assert len(meds) == len(current)
        assert sum(m.endswith(" PRN") for m in meds) == sum(m.prn for m in current)


# --------------------------------------------------------------------------- writes


def test_create_get_update_delete_lifecycle() -> None:
    clock = Clock(datetime(2026, 11, 21, 9, 0, 0, 500, tzinfo=UTC))
    api = new_api(clock)
    body = {"first_name": " Jane ", "middle_name": "", "last_name": "Doe", "date_of_birth": "1985-03-15",
            "notes": "New patient referral from Dr. Smith.", "allergies": "Penicillin, Sulfa drugs",
            "insurance": "Blue Cross Blue Shield", "gender": "female", "id": 5}  # fmt: skip
    r = api.call("POST", "/v1/patients", json=body)
    assert r.status_code == 201, r.text
    created = r.json()["data"]
    pid = created["id"]
    assert pid == max(p.id for p in CLINIC.patients) + 1
    assert created["first_name"] == "Jane" and created["middle_name"] is None  # trimmed, "" -> null
    assert created["gender"] is None  # not an accepted field
    assert (created["allergies"], created["insurance"]) == ("Penicillin, Sulfa drugs", "Blue Cross Blue Shield")
    assert created["latest_medications"] == [] and created["encounters"] == [] and created["timeline"] == []
    assert created["meta"] == {}
    assert created["user"]["email"] == EMAIL
    assert created["created_at"] == created["updated_at"] == "2026-11-21T09:00:00Z"

    assert api.ok(f"/v1/patients/{pid}")["data"] == created
    assert api.ok(f"/v1/patients/00{pid}")["data"]["id"] == pid  # MySQL compares it as a number
    assert pid in ids_of(search(api, "Jane Doe")["data"])
    assert api.ok("/v1/patients", per_page=1)["data"][0]["id"] == pid  # newest created first

    clock.now += timedelta(hours=1)
    r = api.call("PUT", f"/v1/patients/{pid}", json={"notes": "Moved to Evanston.", "insurance": "Aetna",
                                                      "meta": {"source": "gateway"}})  # fmt: skip
    assert r.status_code == 200, r.text
    updated = r.json()["data"]
    assert updated["notes"] == "Moved to Evanston."
    assert updated["insurance"] == "Blue Cross Blue Shield"  # not part of the update body
    assert updated["meta"] == {"source": "gateway"}
    assert (updated["first_name"], updated["allergies"]) == ("Jane", "Penicillin, Sulfa drugs")
    assert updated["updated_at"] == "2026-11-21T10:00:00Z" and updated["created_at"] == created["created_at"]

    clock.now += timedelta(hours=1)
    same = api.call("PATCH", f"/v1/patients/{pid}", json={"notes": "Moved to Evanston."}).json()["data"]
    assert same["updated_at"] == updated["updated_at"]  # nothing changed, nothing saved

    r = api.call("DELETE", f"/v1/patients/{pid}")
    assert (r.status_code, r.json()) == (200, {"message": "Patient deleted successfully"})
    missing = {"message": f"No query results for model [App\\Models\\Patient] {pid}"}
    for method in ("GET", "PUT", "DELETE"):
        r = api.call(method, f"/v1/patients/{pid}", json={})
        assert (r.status_code, r.json()) == (404, missing)
    only = api.ok("/v1/patients", **{"filter[trashed]": "only"})["data"]
    mine = next(d for d in only if d["id"] == pid)
    assert mine["deleted_at"] == mine["updated_at"] == "2026-11-21T11:00:00Z"
    assert pid in ids_of(all_rows(api, **{"filter[trashed]": "with"}))
    assert pid not in ids_of(all_rows(api))
    assert pid not in ids_of(search(api, "Jane Doe")["data"])
    r = api.call("POST", "/v1/patients", json={**body, "first_name": "Ann"})
    assert r.json()["data"]["id"] == pid + 1  # ids are not reused


def test_update_changes_only_given_fields_and_reindexes(api: Api) -> None:
    api = new_api()
    p = awkward("no_middle_name")
    before = api.ok(f"/v1/patients/{p.id}")["data"]
    r = api.call("PUT", f"/v1/patients/{p.id}", json={"last_name": "Quuxley"})
    after = r.json()["data"]
    assert after["last_name"] == "Quuxley"
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"last_name", "updated_at"}
    assert after["updated_at"] == "2026-11-21T12:30:15Z"
    assert ids_of(all_rows(api, **{"filter[last_name]": "quux"})) == {p.id}
    assert search(api, "quuxley")["data"][0]["id"] == p.id


def test_create_validation_bodies(api: Api) -> None:
    r = api.call("POST", "/v1/patients", json={"date_of_birth": "1990-01-01"})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The first name field is required. (and 1 more error)",
        "errors": {"first_name": ["The first name field is required."],
                   "last_name": ["The last name field is required."]},
    }  # fmt: skip
    for dob in ("2027-01-01", "2026-11-21"):  # FIXED_NOW's date is not before today
        r = api.call("POST", "/v1/patients", json={"first_name": "A", "last_name": "B", "date_of_birth": dob})
        assert r.json() == {
            "message": "The date of birth field must be a date before today.",
            "errors": {"date_of_birth": ["The date of birth field must be a date before today."]},
        }
    r = api.call("POST", "/v1/patients", json={"first_name": 7, "last_name": "x" * 256, "date_of_birth": "soon",
                                               "meta": "x"})  # fmt: skip
    assert r.json() == {
        "message": "The first name field must be a string. (and 3 more errors)",
        "errors": {
            "first_name": ["The first name field must be a string."],
            "last_name": ["The last name field must not be greater than 255 characters."],
            "date_of_birth": ["The date of birth field must be a valid date."],
            "meta": ["The meta field must be an array."],
        },
    }
    r = api.call("POST", "/v1/patients", content=b"first_name=A", headers={"Content-Type": "text/plain"})
    assert set(r.json()["errors"]) == {"first_name", "last_name", "date_of_birth"}
    r = api.call("PUT", ONE, json={"first_name": None, "date_of_birth": "2026-12-01"})
    assert r.json() == {
        "message": "The first name field is required. (and 1 more error)",
        "errors": {"first_name": ["The first name field is required."],
                   "date_of_birth": ["The date of birth field must be a date before today."]},
    }  # fmt: skip
    assert api.ok(ONE)["data"]["first_name"] == LIVE[0].first_name


def test_a_today_birth_date_is_valid_tomorrow() -> None:
    clock = Clock(datetime(2026, 11, 21, 23, 59, tzinfo=UTC))
    api = new_api(clock)
    body = {"first_name": "New", "last_name": "Born", "date_of_birth": "2026-11-21"}
    assert api.call("POST", "/v1/patients", json=body).status_code == 422
    clock.now += timedelta(minutes=1)
    assert api.call("POST", "/v1/patients", json=body).status_code == 201
    assert date.fromisoformat(api.ok("/v1/patients", per_page=1)["data"][0]["date_of_birth"]) == date(2026, 11, 21)
