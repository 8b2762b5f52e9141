"""The Dental PMS simulator: one patient, and the writes (create, patch, archive, restore)."""

from __future__ import annotations

from uuid import UUID

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
    search_ids,
    walk_cursor,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


def test_patient_matches_clinic(api: Api) -> None:
    p = awkward("markup_name")
    d = api.ok(f"{BASE}/{p.uuid}")
    assert d["id"] == str(p.uuid)
    assert d["last_name"] == "Tables<script>alert(1)</script> & Sons"
    assert d["first_name"] == p.first_name
    assert d["chart_number"] == p.chart_number
    assert d["date_of_birth"] == (p.birth_date.isoformat() if p.birth_date else None)
    assert d["gender"] == p.gender
    assert d["created_at"] == p.created_at.isoformat().replace("+00:00", "Z")
    assert d["status"] == p.status
    assert d["deleted_at"] is None
    assert isinstance(d["version"], int) and d["version"] >= 1
    provider = CLINIC.provider(p.primary_provider_id or 0)
    assert d["primary_provider"] == {
        "uuid": str(record_uuid(CLINIC, "provider", provider.id)),
        "name": f"{provider.first_name} {provider.last_name}, {provider.designation}",
    }


def test_patient_nulls(api: Api) -> None:
    assert api.ok(f"{BASE}/{AWKWARD['missing_birth_date']}")["date_of_birth"] is None
    assert api.ok(f"{BASE}/{AWKWARD['no_gender']}")["gender"] is None
    d = api.ok(f"{BASE}/{AWKWARD['no_contact']}")
    assert (d["email"], d["mobile_phone"], d["home_phone"]) == (None, None, None)
    assert d["receives_sms"] is False
    d = api.ok(f"{BASE}/{AWKWARD['deceased']}")
    assert d["status"] == "deceased"
    assert d["date_time_deceased"].endswith("Z")


def test_deleted_patient_is_still_readable(api: Api) -> None:
    d = api.ok(f"{BASE}/{AWKWARD['deleted_patient']}")
    assert d["status"] == "archived"
    assert d["deleted_at"] is not None


def test_unknown_and_malformed_patient(api: Api) -> None:
    r = api.get(f"{BASE}/{UUID(int=5)}")
    assert (r.status_code, r.json()) == (404, {"detail": "Patient not found"})
    r = api.get(f"{BASE}/{UUID(int=5)}/allergies")
    assert (r.status_code, r.json()) == (404, {"detail": "Patient not found"})
    r = api.get(f"{BASE}/not-a-uuid")
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert (err["type"], err["loc"], err["input"]) == (
        "uuid_parsing", ["path", "patient_uuid"], "not-a-uuid",
    )  # fmt: skip
    assert err["msg"].startswith("Input should be a valid UUID")


# --------------------------------------------------------------------------- writes

NEW = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10"}


def test_create_patient() -> None:
    api = new_api()
    r = api.call("POST", BASE, json={**NEW, "gender": "female", "mobile_phone": "5035550100"})
    assert r.status_code == 201
    d = r.json()
    assert (d["first_name"], d["last_name"], d["date_of_birth"]) == ("Ada", "Lovelace", "1990-12-10")
    assert (d["version"], d["status"], d["deleted_at"]) == (1, "active", None)
    assert d["created_at"] == d["updated_at"] == "2026-11-21T12:30:00Z"
    assert d["chart_number"].startswith("C")
    assert api.ok(f"{BASE}/{d['id']}") == {**d, "potential_duplicates": []}
    assert api.ok(BASE, page_size=1)["total"] == len(LIVE) + 1
    # The cached clinic (and other apps over it) are untouched.
    assert new_api().ok(BASE, page_size=1)["total"] == len(LIVE)


def test_create_flags_potential_duplicates() -> None:
    api = new_api()
    twin = awkward("twin")
    assert twin.birth_date is not None
    body = {"first_name": "Other", "last_name": twin.last_name,
            "date_of_birth": twin.birth_date.isoformat()}  # fmt: skip
    d = api.call("POST", BASE, json=body).json()
    assert {str(twin.uuid), str(AWKWARD["twin_sibling"])} <= {x["id"] for x in d["potential_duplicates"]}


def test_create_validation_errors() -> None:
    api = new_api()
    r = api.call("POST", BASE, json={"last_name": "X", "gender": "robot", "email": "nope"})
    assert r.status_code == 422
    errors = {tuple(e["loc"]): e for e in r.json()["detail"]}
    assert errors[("body", "first_name")]["type"] == "missing"
    assert errors[("body", "first_name")]["msg"] == "Field required"
    assert errors[("body", "gender")]["type"] == "literal_error"
    assert errors[("body", "email")]["type"] == "value_error"
    r = api.call("POST", BASE, content=b"{", headers={"Content-Type": "application/json"})
    assert r.json()["detail"][0]["type"] == "json_invalid"
    r = api.call("POST", BASE)
    assert r.json() == {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]}
    r = api.call("POST", BASE, json={**NEW, "primary_provider_uuid": str(UUID(int=9))})
    assert (r.status_code, r.json()) == (404, {"detail": "Provider not found"})


def test_create_duplicate_chart_number() -> None:
    api = new_api()
    r = api.call("POST", BASE, json={**NEW, "chart_number": CLINIC.patients[0].chart_number})
    assert (r.status_code, r.json()) == (409, {"detail": "Duplicate chart number"})


def test_idempotency_key() -> None:
    api = new_api()
    key = {"Idempotency-Key": "k-1"}
    first = api.call("POST", BASE, json=NEW, headers=key)
    again = api.call("POST", BASE, json=dict(reversed(NEW.items())), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert api.ok(BASE, search="lovelace")["total"] == 1
    r = api.call("POST", BASE, json={**NEW, "first_name": "Augusta"}, headers=key)
    assert (r.status_code, r.json()) == (409, {"detail": "Idempotency conflict"})
    other = api.call("POST", BASE, json=NEW, headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_patch_with_versions() -> None:
    api = new_api()
    p = awkward("no_middle_name")
    before = api.ok(f"{BASE}/{p.uuid}")
    r = api.call("PATCH", f"{BASE}/{p.uuid}", json={"middle_name": "Q"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "base_version"]
    body = {"base_version": before["version"], "middle_name": "Quinn", "last_name": "Renamed"}
    r = api.call("PATCH", f"{BASE}/{p.uuid}", json=body)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["version"] == before["version"] + 1
    assert after["updated_at"] == "2026-11-21T12:30:00Z"
    assert (after["middle_name"], after["last_name"]) == ("Quinn", "Renamed")
    assert after["first_name"] == before["first_name"]
    r = api.call("PATCH", f"{BASE}/{p.uuid}", json=body)
    assert (r.status_code, r.json()) == (409, {"detail": "Version conflict"})
    assert str(p.uuid) in search_ids(api, "renamed")
    if p.allergies or p.vitals:
        path = "allergies" if p.allergies else "vital-signs"
        item = api.ok(f"{BASE}/{p.uuid}/{path}")["items"][0]
        assert item["patient"]["name"].endswith("Renamed")
    r = api.call("PATCH", f"{BASE}/{UUID(int=3)}", json={"base_version": 1})
    assert (r.status_code, r.json()) == (404, {"detail": "Patient not found"})


def test_archive_and_restore() -> None:
    api = new_api()
    p = awkward("nkda")
    r = api.call("POST", f"{BASE}/{p.uuid}/archive")
    assert r.status_code == 200
    d = r.json()
    assert d["status"] == "archived" and d["deleted_at"] == "2026-11-21T12:30:00Z"
    assert str(p.uuid) not in {x["id"] for x in walk_cursor(api, 200)}
    assert api.ok(BASE, page_size=1)["total"] == len(LIVE) - 1
    assert str(p.uuid) in {x["id"] for x in api.ok(BASE, status="archived")["items"]}
    r = api.call("POST", f"{BASE}/{p.uuid}/archive")
    assert (r.status_code, r.json()) == (422, {"detail": "Patient is already archived"})
    r = api.call("POST", f"{BASE}/{p.uuid}/restore")
    assert r.status_code == 200
    d2 = r.json()
    assert (d2["status"], d2["deleted_at"], d2["version"]) == ("inactive", None, d["version"] + 1)
    r = api.call("POST", f"{BASE}/{p.uuid}/restore")
    assert (r.status_code, r.json()) == (422, {"detail": "Patient is not archived"})


def test_transition_status_follows_the_documented_transitions() -> None:
    api = new_api()
    p = next(p for p in LIVE if p.status == "active")
    url = f"{BASE}/{p.uuid}/transition-status"
    version = api.ok(f"{BASE}/{p.uuid}")["version"]
    stale = api.call("POST", url, json={"base_version": version - 1, "new_status": "inactive"})
    assert (stale.status_code, stale.json()) == (409, {"detail": "Version conflict"})
    moved = api.call("POST", url, json={"base_version": version, "new_status": "inactive"})
    assert moved.status_code == 200 and moved.json()["status"] == "inactive"
    assert moved.json()["version"] == version + 1 and moved.json()["scheduling_restricted"] is True
    for refused in ("deceased", "inactive", "archived"):  # inactive -> deceased, the same, the archive's
        r = api.call("POST", url, json={"base_version": version + 1, "new_status": refused})
        assert r.status_code == 422, refused
    back = api.call("POST", url, json={"base_version": version + 1, "new_status": "active"})
    assert back.json()["status"] == "active"
    died = api.call("POST", url, json={"base_version": version + 2, "new_status": "deceased"})
    assert died.json()["status"] == "deceased"
    terminal = api.call("POST", url, json={"base_version": version + 3, "new_status": "active"})
    assert terminal.status_code == 422
