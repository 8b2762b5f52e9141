"""Patients rendered from the clinic (``sandboxes.nexhealth.render``)."""

from __future__ import annotations

import pytest

from sandboxes.nexhealth.app import OTHER_LOCATION_ID, PATIENT_ID_OFFSET, location_id_of
from tests.unit.sandboxes.nexhealth.harness import (
    LIVE,
    MS,
    Api,
    assert_error,
    awkward,
    ids_of,
    make_api,
    nexhealth_id,
    unlimited_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


def test_patient_shape_for_an_inserted_patient(api: Api) -> None:
    twin = awkward("twin")
    p = api.ok(f"/patients/{nexhealth_id(twin)}")["data"]["patient"]
    assert set(p) == {
        "id", "email", "first_name", "middle_name", "last_name", "name", "created_at", "updated_at",
        "institution_id", "foreign_id", "foreign_id_type", "bio", "inactive", "last_sync_time",
        "guarantor_id", "unsubscribe_sms", "location_ids",
    }  # fmt: skip
    assert p["name"] == "Chidi Okonkwo"
    assert p["foreign_id"] == twin.chart_number and p["foreign_id_type"] == "msg-opendental-DataSource-35"
    assert MS.fullmatch(p["created_at"]) and MS.fullmatch(p["updated_at"]) and MS.fullmatch(p["last_sync_time"])
    assert p["bio"]["gender"] == "Male"
    assert p["bio"]["date_of_birth"] == "1992-04-30"
    assert p["bio"]["phone_number"] == twin.mobile_phone == p["bio"]["cell_phone_number"]
    assert p["bio"]["home_phone_number"] == twin.home_phone
    assert p["location_ids"] == [location_id_of(twin.location_id)] == [OTHER_LOCATION_ID]
    assert p["inactive"] is False and p["bio"]["new_patient"] is False and p["bio"]["non_patient"] is False
    assert p["guarantor_id"] == p["id"]


GENDERS = {"male": "Male", "female": "Female", "non_binary": "Other", "other": "Other", "unknown": None,
           "prefer_not_to_say": None, None: None}  # fmt: skip


def test_gender_mapping(api: Api) -> None:
    clinic = {nexhealth_id(p): p.gender for p in LIVE}
    rendered = {r["id"]: r["bio"]["gender"] for r in api.patients()}
    assert rendered == {pid: GENDERS[g] for pid, g in clinic.items()}
    assert {"male", "female", "non_binary", "unknown", "prefer_not_to_say", None} <= set(clinic.values())


def test_inactive_and_deleted_patients(api: Api) -> None:
    for case in ("inactive", "deceased"):
        assert api.ok(f"/patients/{nexhealth_id(awkward(case))}")["data"]["patient"]["inactive"] is True
    deleted = nexhealth_id(awkward("deleted_patient"))
    assert_error(api.get(f"/patients/{deleted}"), 404, ["Patient not found"])
    assert_error(api.get("/patients/abc"), 404, ["Patient not found"])
    assert deleted not in ids_of(api.patients())
    inactive = api.patients(inactive="true")
    assert ids_of(inactive) == {nexhealth_id(p) for p in LIVE if p.status in ("inactive", "deceased")}
    assert len(api.patients(inactive="false")) == len(LIVE) - len(inactive)


def test_a_flag_whose_true_includes_filters_only_when_false() -> None:
    # `flags_true="include"`: `inactive=true` filters out no one, `false` leaves them out; with
    # `absent_flags="false"`, not sending it is `false` (FastAPI's `inactive: bool = False`).
    api = make_api(rate_per_second=10_000, rate_per_minute=100_000, flags_true="include", absent_flags="false")
    inactive = {nexhealth_id(p) for p in LIVE if p.status in ("inactive", "deceased")}
    everyone = ids_of(api.patients(inactive="true", new_patient="true"))
    assert everyone == {nexhealth_id(p) for p in LIVE}
    assert ids_of(api.patients(inactive="false", new_patient="true")) == everyone - inactive
    assert ids_of(api.patients(new_patient="true")) == everyone - inactive


def test_new_and_non_patient_filters(api: Api) -> None:
    new = api.patients(new_patient="true")
    assert awkward("prospective").id + PATIENT_ID_OFFSET in ids_of(new)
    assert ids_of(new) == {
        nexhealth_id(p) for p in LIVE if not any(e.status in ("finished", "arrived") for e in p.encounters)
    }
    assert api.patients(non_patient="true") == []
    assert len(api.patients(non_patient="false")) == len(LIVE)
    assert api.patients(inactive="true", new_patient="true") == [
        r for r in api.patients(inactive="true") if r["bio"]["new_patient"]
    ]
    assert_error(api.get("/patients", inactive="maybe"), 400, ["inactive must be true or false"])
