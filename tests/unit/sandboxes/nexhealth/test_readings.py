"""The simulator's switches for what NexHealth's docs leave open (sandboxes.nexhealth.readings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandboxes.nexhealth.app import MAIN_LOCATION_ID
from sandboxes.nexhealth.readings import far_visit_patient, with_far_visit
from tests.unit.sandboxes.nexhealth.harness import CLINIC, LIVE, SCOPE, make_api, nexhealth_id

UNLIMITED = {"rate_per_second": 10_000, "rate_per_minute": 100_000}
WINDOW = {"start": "2000-01-01T00:00:00Z", "end": "2040-01-01T00:00:00Z"}


def test_defaults_are_the_documented_readings() -> None:
    api = make_api(**UNLIMITED)
    patient = LIVE[0]
    assert api.call("GET", f"/patients/{nexhealth_id(patient)}", params=SCOPE).json()["data"]["patient"]["id"] == (
        nexhealth_id(patient)
    )
    assert "patients" in api.call("GET", "/patients", params=SCOPE).json()["data"]


def test_flat_single_patients_and_list_shapes() -> None:
    patient = LIVE[0]
    flat = make_api(patient_envelope="flat", patient_list="array", **UNLIMITED)
    assert flat.call("GET", f"/patients/{nexhealth_id(patient)}", params=SCOPE).json()["data"]["id"] == (
        nexhealth_id(patient)
    )
    listed = flat.call("GET", "/patients", params=SCOPE).json()["data"]
    assert isinstance(listed, list) and listed[0]["id"]
    body = {
        "provider": {"provider_id": 201},
        "patient": {
            "first_name": "Flat",
            "last_name": "Created",
            "email": "flat.created@example.org",
            "bio": {"date_of_birth": "1990-01-01", "phone_number": "3125550100", "gender": "Female"},
        },
    }
    created = flat.call("POST", "/patients", params=SCOPE, json=body)
    assert created.status_code == 201 and created.json()["data"]["first_name"] == "Flat"
    wrapped = make_api(patient_list="wrapped", **UNLIMITED).call("GET", "/patients", params=SCOPE).json()["data"]
    assert isinstance(wrapped, list) and len(wrapped) == 1 and wrapped[0]["patients"]


def test_cancelled_only_reading() -> None:
    def flags(**switches: str) -> dict[str, set[bool]]:
        api = make_api(**switches, **UNLIMITED)
        answers = {}
        for value in ("true", "false"):
            params = {**SCOPE, **WINDOW, "cancelled": value, "per_page": 1000}
            answers[value] = {a["cancelled"] for a in api.call("GET", "/appointments", params=params).json()["data"]}
        return answers

    assert flags() == {"true": {True, False}, "false": {False}}
    assert flags(cancelled_means="only") == {"true": {True}, "false": {False}}


def test_a_far_visit_is_added_under_its_switch_only() -> None:
    patient = far_visit_patient(CLINIC)
    changed = with_far_visit(CLINIC, 5)
    far = changed.patient(patient.id).encounters[-1]
    assert far.start.date() > CLINIC.today + timedelta(days=4 * 365) and far.status == "planned"
    assert CLINIC.patient(patient.id).encounters == patient.encounters  # the cached clinic is untouched
    window = {"start": "2031-01-01T00:00:00Z", "end": "2033-01-01T00:00:00Z", "patient_id": nexhealth_id(patient)}
    params = {**SCOPE, **window}
    assert make_api(**UNLIMITED).call("GET", "/appointments", params=params).json()["data"] == []
    found = make_api(far_visit_years=5, **UNLIMITED).call("GET", "/appointments", params=params).json()["data"]
    assert [a["start_time"][:10] for a in found] == [far.start.date().isoformat()]
    assert found[0]["location_id"] == MAIN_LOCATION_ID
    assert datetime.fromisoformat(found[0]["start_time"]) > datetime.now(UTC)


def test_latest_year_refuses_windows_past_it() -> None:
    api = make_api(latest_year=2100, **UNLIMITED)
    assert api.call("GET", "/appointments", params={**SCOPE, **WINDOW}).status_code == 200
    far = {**SCOPE, "start": "2099-01-01T00:00:00Z", "end": "2101-01-01T00:00:00Z"}
    refused = api.call("GET", "/appointments", params=far)
    assert refused.status_code == 400 and refused.json()["error"] == ["start and end must not be after 2100"]
