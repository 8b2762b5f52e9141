"""``POST /patients``: required fields, formats, duplicates (``sandboxes.nexhealth.new_patient``)."""

from __future__ import annotations

from typing import Any

import pytest

from sandboxes.nexhealth.app import OTHER_LOCATION_ID
from tests.unit.sandboxes.nexhealth.harness import (
    CLINIC,
    LIVE,
    SCOPE,
    T0,
    Api,
    Clock,
    assert_error,
    awkward,
    make_api,
    new_patient_body,
    nexhealth_id,
    unlimited_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


def test_create_patient() -> None:
    clock = Clock(T0 + 0.25)
    api = make_api(clock)
    r = api.create(new_patient_body(), location_id=OTHER_LOCATION_ID)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["code"] is True and body["error"] == [] and "count" not in body
    p = body["data"]["patient"]
    assert p["id"] == max(nexhealth_id(q) for q in CLINIC.patients) + 1
    assert p["foreign_id_type"] == "nex" and p["foreign_id"] is None
    assert p["created_at"] == p["updated_at"] == "2026-11-01T12:00:00.250Z"
    assert p["bio"] == {
        "date_of_birth": "1990-05-17", "phone_number": "3125559876", "gender": "Female", "street_address": None,
        "city": None, "state": None, "zip_code": None, "cell_phone_number": None, "home_phone_number": None,
        "new_patient": True, "non_patient": False,
    }  # fmt: skip
    assert p["location_ids"] == [OTHER_LOCATION_ID] and p["name"] == "Ada Quintrell"
    assert api.ok(f"/patients/{p['id']}")["data"]["patient"] == p
    assert [r["id"] for r in api.patients(name="Quintrel")] == [p["id"]]  # searchable at once, fuzzily
    assert [r["id"] for r in api.patients(phone_number="312-555-9876")] == [p["id"]]
    assert api.patients(location_strict="true", name="Quintrell") == []  # created at 102
    assert len(api.patients()) == len(LIVE) + 1


def test_create_formats_input() -> None:
    api = make_api()
    r = api.create(new_patient_body(first_name="  Ada ", bio={"phone_number": "+1 (312) 555-9876"}))
    assert r.status_code == 201, r.text
    p = r.json()["data"]["patient"]
    assert p["first_name"] == "Ada" and p["bio"]["phone_number"] == "3125559876"


def test_create_lists_every_missing_field(api: Api) -> None:
    r = api.create({"patient": {"first_name": " ", "bio": {"gender": "Male"}}})
    assert_error(
        r,
        400,
        [
            "provider.provider_id is required",
            "patient.first_name is required",
            "patient.last_name is required",
            "patient.email is required",
            "patient.bio.date_of_birth is required",
            "patient.bio.phone_number is required",
        ],
    )
    assert_error(api.create([1, 2]), 400, ["Request body must be a JSON object"])
    r = api.call("POST", "/patients", params=SCOPE, content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(r, 400, ["Request body must be a JSON object"])


def test_create_validates_formats(api: Api) -> None:
    body = new_patient_body(email="not-an-email", bio={"phone_number": "555-12", "date_of_birth": "17/05/1990",
                                                   "gender": "female"})  # fmt: skip
    body["provider"]["provider_id"] = "abc"
    assert_error(
        api.create(body),
        400,
        [
            "provider.provider_id must be an integer",
            "patient.email is invalid",
            "patient.bio.phone_number must be a 10-digit phone number",
            "patient.bio.date_of_birth must be a date (YYYY-MM-DD)",
            "patient.bio.gender must be one of Male, Female, Other",
        ],
    )
    body = new_patient_body()
    body["provider"]["provider_id"] = 999
    assert_error(api.create(body), 400, ["Provider not found"])
    assert_error(api.create(new_patient_body(), location_id=5), 404, ["Location not found"])


@pytest.mark.parametrize("rule", ["email", "phone", "home_phone", "name_and_dob"])
def test_create_refuses_duplicates(rule: str) -> None:
    api = make_api()
    twin = awkward("twin")
    assert twin.email and twin.birth_date and twin.home_phone
    overrides: dict[str, dict[str, Any]] = {
        "email": {"email": twin.email.upper()},
        "phone": {"bio": {"phone_number": twin.mobile_phone}},
        "home_phone": {"bio": {"phone_number": twin.home_phone}},
        "name_and_dob": {"first_name": "CHIDI", "last_name": "okonkwo",
                         "bio": {"date_of_birth": twin.birth_date.isoformat()}},
    }  # fmt: skip
    assert_error(
        api.create(new_patient_body(**overrides[rule])), 400, ["A patient with that information already exists."]
    )
    assert len(api.patients()) == len(LIVE)


def test_create_name_alone_or_dob_alone_is_not_a_duplicate() -> None:
    api = make_api()
    twin = awkward("twin")
    assert twin.birth_date is not None
    assert api.create(new_patient_body(first_name="Chidi", last_name="Okonkwo")).status_code == 201
    second = new_patient_body(email="x@example.org", bio={"phone_number": "3125550000",
                          "date_of_birth": twin.birth_date.isoformat()})  # fmt: skip
    assert api.create(second).status_code == 201
    again = new_patient_body(email="y@example.org", bio={"phone_number": "3125550001",
                         "date_of_birth": twin.birth_date.isoformat()})  # fmt: skip
    assert_error(api.create(again), 400, ["A patient with that information already exists."])  # name + dob


def test_created_patients_are_checked_for_duplicates_too() -> None:
    api = make_api()
    assert api.create(new_patient_body()).status_code == 201
    same_email = new_patient_body(first_name="Other", last_name="Person", bio={"phone_number": "3125550002"})
    assert_error(api.create(same_email), 400, ["A patient with that information already exists."])
