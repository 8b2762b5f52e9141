"""NexHealth Patient update (PUT → PATCH /patients/{id}), end to end over the simulator.

The docs: a patient "can only be edited via PATCH commands prior to being inserted into the
practice management system"; after insertion, edits are overwritten at the next sync. So an
inserted patient (foreign_id_type other than "nex") is a 409 and no PATCH is sent; a patient
created through the API is edited, with If-Match checked against its current version. The
PATCH body is not documented: the simulator takes the create body's nested shape or, as
another implementation might, the flat one, or the fully flat one (``bio``'s fields beside
the names; a ``bio`` object ignored as an unknown key), refusing the others or ignoring
them with a 200; the adapter learns which, and never loses half an edit.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import build_clinic
from sandboxes.nexhealth import create_sandbox
from sandboxes.nexhealth.app import PATIENT_ID_OFFSET
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp
from tests.support.variants import VariantGateway, gateway_over

TENANT = "nex"
BASE = f"/fhir/{TENANT}"
JSON = {"Content-Type": "application/fhir+json"}


READINGS: dict[str, dict[str, str]] = {
    "nested": {"patch_body": "nested"},
    "flat": {"patch_body": "flat"},
    "flat_ignoring": {"patch_body": "flat_ignoring"},
    "fully_flat": {"patch_body": "fully_flat"},
    "fully_flat_ignoring": {"patch_body": "fully_flat_ignoring"},
    # The docs show no write request: an implementation may read an edit's `location_id` from
    # its body alone, as it may a create's.
    "fully_flat-location_in_body": {"patch_body": "fully_flat", "create_location": "body", "edit_location": "body"},
    "nested-edit_location_in_body": {"edit_location": "body"},
}


@pytest.fixture(scope="module", params=sorted(READINGS))
def running(request: pytest.FixtureRequest) -> Iterator[VariantGateway]:
    with gateway_over("nexhealth", partial(create_sandbox, **READINGS[request.param]), tenant=TENANT) as gateway:
        yield gateway


@pytest.fixture
def fhir(running: VariantGateway) -> FhirHttp:
    return running.fhir


def _new_patient(fhir: FhirHttp, tag: str) -> dict[str, Any]:
    body = {
        "resourceType": "Patient",
        "name": [{"family": f"Editable{tag.title()}", "given": ["Ida"]}],
        "telecom": [
            {"system": "email", "value": f"ida.{tag}@example.org"},
            {"system": "phone", "value": f"(773) 555-{zlib.crc32(tag.encode()) % 9000 + 1000}"},
        ],
        "birthDate": "1988-04-05",
        "gender": "female",
    }
    created = fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
    assert created.status_code == 201, created.text
    return fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}")


def _renamed(resource: dict[str, Any], family: str) -> dict[str, Any]:
    return {**resource, "name": [{**resource["name"][0], "family": family}]}


def test_a_patient_not_yet_inserted_is_updated_in_either_body_shape(fhir: FhirHttp, running: VariantGateway) -> None:
    patient = _new_patient(fhir, "one")
    response = fhir.request("PUT", f"{BASE}/Patient/{patient['id']}", json=_renamed(patient, "Renamed"), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["name"][0]["family"] == "Renamed"
    assert fhir.get_ok(f"{BASE}/Patient/{patient['id']}")["name"][0]["family"] == "Renamed"
    # Once learned, an edit is one read and one PATCH.
    again = fhir.get_ok(f"{BASE}/Patient/{patient['id']}")
    before = running.sandbox.app.state.requests
    response = fhir.request("PUT", f"{BASE}/Patient/{patient['id']}", json=_renamed(again, "Twice"), headers=JSON)
    assert response.status_code == 200, response.text
    assert running.sandbox.app.state.requests - before == 2


def test_names_and_bio_changed_together_are_all_applied(fhir: FhirHttp, running: VariantGateway) -> None:
    # An implementation taking `bio`'s fields at the top level and ignoring unknown keys takes
    # a flat body's names and drops its `bio`: a 200 that loses the birth date and phone.
    patient = _new_patient(fhir, "whole")
    telecom = [t if t["system"] != "phone" else {**t, "value": "7735550199"} for t in patient["telecom"]]
    edit = {**_renamed(patient, "Wholly"), "birthDate": "1988-04-06", "telecom": telecom, "gender": "other"}
    response = fhir.request("PUT", f"{BASE}/Patient/{patient['id']}", json=edit, headers=JSON)
    assert response.status_code == 200, response.text
    for served in (response.json(), fhir.get_ok(f"{BASE}/Patient/{patient['id']}")):
        phones = [t["value"] for t in served["telecom"] if t["system"] == "phone"]
        assert (served["name"][0]["family"], served["birthDate"], served["gender"]) == ("Wholly", "1988-04-06", "other")
        assert [p[-10:] for p in phones] == ["7735550199"]


def test_if_match_is_checked_against_the_current_version(fhir: FhirHttp, running: VariantGateway) -> None:
    patient = _new_patient(fhir, "two")
    stale = patient["meta"]["versionId"]
    first = fhir.request(
        "PUT",
        f"{BASE}/Patient/{patient['id']}",
        json=_renamed(patient, "Matched"),
        headers={**JSON, "If-Match": f'W/"{stale}"'},
    )
    assert first.status_code == 200, first.text
    second = fhir.request(
        "PUT",
        f"{BASE}/Patient/{patient['id']}",
        json=_renamed(patient, "Stale"),
        headers={**JSON, "If-Match": f'W/"{stale}"'},
    )
    assert second.status_code == 412, second.text
    assert fhir.get_ok(f"{BASE}/Patient/{patient['id']}")["name"][0]["family"] == "Matched"


def test_an_inserted_patient_is_a_409_and_nothing_is_sent(fhir: FhirHttp, running: VariantGateway) -> None:
    truth = live_patients(build_clinic())[5]
    pid = str(truth.id + PATIENT_ID_OFFSET)
    current = fhir.get_ok(f"{BASE}/Patient/{pid}")
    before = running.sandbox.app.state.requests
    response = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=_renamed(current, "Overwritten"), headers=JSON)
    assert response.status_code == 409, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "practice management system" in outcome["issue"][0]["diagnostics"]
    assert running.sandbox.app.state.requests - before == 1  # the read; no PATCH
    assert fhir.get_ok(f"{BASE}/Patient/{pid}")["name"][0]["family"] == truth.last_name


def test_taking_another_patients_email_is_a_409(fhir: FhirHttp, running: VariantGateway) -> None:
    patient = _new_patient(fhir, "three")
    other = next(p for p in live_patients(build_clinic()) if p.email)
    telecom = [t if t["system"] != "email" else {**t, "value": other.email} for t in patient["telecom"]]
    response = fhir.request(
        "PUT", f"{BASE}/Patient/{patient['id']}", json={**patient, "telecom": telecom}, headers=JSON
    )
    assert response.status_code == 409, response.text
    assert "already has another patient" in response.json()["issue"][0]["diagnostics"]


def test_what_nexhealth_cannot_keep_is_reported(fhir: FhirHttp, running: VariantGateway) -> None:
    patient = _new_patient(fhir, "four")
    body = {**patient, "maritalStatus": {"text": "Married"}}
    response = fhir.request(
        "PUT", f"{BASE}/Patient/{patient['id']}", json=body, headers={**JSON, "Prefer": "return=OperationOutcome"}
    )
    assert response.status_code == 200, response.text
    assert "Patient.maritalStatus" in response.text
    # What was read and is sent back unchanged (its identifier, `active`) is not "lost".
    assert "Patient.identifier" not in response.text and "Patient.active" not in response.text


def test_an_update_missing_what_nexhealth_requires_is_a_422(fhir: FhirHttp, running: VariantGateway) -> None:
    patient = _new_patient(fhir, "five")
    body = {k: v for k, v in patient.items() if k != "birthDate"}
    response = fhir.request("PUT", f"{BASE}/Patient/{patient['id']}", json=body, headers=JSON)
    assert response.status_code == 422, response.text
