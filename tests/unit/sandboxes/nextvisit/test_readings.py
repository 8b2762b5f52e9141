"""The simulator's switches for readings of the docs (``sandboxes.nextvisit.readings``): each
changes only what it says, and the defaults are the documented reading."""

from __future__ import annotations

from typing import Any

import pytest

from sandboxes.nextvisit.app import create_app
from tests.unit.sandboxes.nextvisit.client import CLINIC, EMAIL, FIXED_NOW, PASSWORD, Api

PATIENT = max((p for p in CLINIC.patients if not p.deleted), key=lambda p: len(p.encounters))
ONE = f"/v1/patients/{PATIENT.id}"


def _api(**switches: Any) -> Api:
    return Api(create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=lambda: FIXED_NOW, **switches))


def test_defaults_are_the_documented_reading() -> None:
    body = _api().ok(ONE, include="demographics")["data"]
    assert "demographics" in body
    encounter = body["encounters"][0]
    assert isinstance(encounter["id"], int) and "start_time" in encounter and "date_of_service" not in encounter
    assert isinstance(encounter["provider"], dict)


def test_flat_encounters() -> None:
    documented = _api().ok(ONE)["data"]["encounters"]
    flat = _api(encounter_shape="flat").ok(ONE)["data"]["encounters"]
    assert len(flat) == len(documented)
    for before, after in zip(documented, flat, strict=True):
        assert after["id"] == str(before["id"]) and after["patient_id"] == str(before["patient_id"])
        assert after["date_of_service"] == before["start_time"] and "start_time" not in after
        assert after["provider"] == ", ".join(
            x for x in (before["provider"]["name"], before["provider"]["credentials"]) if x
        )
        assert after["location"] == (before["location"] or {}).get("name")
        assert {
            k: v for k, v in after.items() if k not in ("id", "patient_id", "date_of_service", "provider", "location")
        } == {k: v for k, v in before.items() if k not in ("id", "patient_id", "start_time", "provider", "location")}


def test_a_read_that_ignores_include_demographics() -> None:
    api = _api(include_demographics=False)
    assert "demographics" not in api.ok(ONE, include="demographics")["data"]
    listed = api.ok("/v1/patients", include="demographics", per_page=5)["data"]
    assert all("demographics" in row for row in listed)


def test_one_unreadable_encounter() -> None:
    broken = PATIENT.encounters[0].id
    encounters = _api(unreadable_encounter=broken).ok(ONE)["data"]["encounters"]
    documented = {e["id"]: e for e in _api().ok(ONE)["data"]["encounters"]}
    for encounter in encounters:
        if encounter["id"] == broken:
            assert encounter["start_time"][5:10] == "02-30"
            assert encounter["start_time"][:4] == documented[broken]["start_time"][:4]
        else:
            assert encounter == documented[encounter["id"]]


def test_an_unknown_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="encounter_shape"):
        create_app(CLINIC, email=EMAIL, password=PASSWORD, encounter_shape="nested")  # type: ignore[arg-type]
