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
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import pytest

from gateway.contract import Sandbox
from sandboxes.clinic import build_clinic
from sandboxes.nexhealth import LOCATION, SUBDOMAIN, create_sandbox
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


def test_a_phone_use_nexhealth_cannot_keep_is_reported(fhir: FhirHttp, running: VariantGateway) -> None:
    # The one phone an edit writes reads back without a use: a PUT changing only its use to
    # `mobile` is answered 200, and the use is named as not stored, never dropped unseen.
    patient = _new_patient(fhir, "mobile")
    telecom = [{**t, "use": "mobile"} if t["system"] == "phone" else t for t in patient["telecom"]]
    response = fhir.request(
        "PUT",
        f"{BASE}/Patient/{patient['id']}",
        json={**patient, "telecom": telecom},
        headers={**JSON, "Prefer": "return=OperationOutcome"},
    )
    assert response.status_code == 200, response.text
    named = [e for i in response.json()["issue"] if i["severity"] == "warning" for e in i["expression"]]
    phone = next(i for i, t in enumerate(telecom) if t["system"] == "phone")
    assert named == [f"Patient.telecom[{phone}].use"]
    stored = fhir.get_ok(f"{BASE}/Patient/{patient['id']}")
    assert all("use" not in t for t in stored["telecom"]), stored["telecom"]


def test_an_update_missing_what_nexhealth_requires_is_a_422(fhir: FhirHttp, running: VariantGateway) -> None:
    patient = _new_patient(fhir, "five")
    body = {k: v for k, v in patient.items() if k != "birthDate"}
    response = fhir.request("PUT", f"{BASE}/Patient/{patient['id']}", json=body, headers=JSON)
    assert response.status_code == 422, response.text


def _watched(reading: dict[str, str], seen: list[tuple[str, str, str]]) -> Callable[[], Sandbox]:
    """The simulator under `reading`, with a reader of NexHealth beside the gateway (the front
    desk, another client): as each PATCH is answered, what NexHealth then holds of the patient
    (family name, birth date, phone) is added to `seen`, before the gateway can send anything else."""

    def make() -> Sandbox:
        sandbox = create_sandbox(**reading)
        api = sandbox.app

        async def front(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["method"] != "PATCH":
                await api(scope, receive, send)
                return
            headers = {k.decode(): v.decode() for k, v in scope["headers"] if k in (b"authorization", b"accept")}

            async def answered(message: Any) -> None:
                if message["type"] == "http.response.start":
                    transport = httpx.ASGITransport(app=api)
                    async with httpx.AsyncClient(transport=transport, base_url="http://nexhealth") as reader:
                        params = {"subdomain": SUBDOMAIN, "location_id": LOCATION}
                        held = (await reader.get(scope["path"], params=params, headers=headers)).json()["data"]
                    patient = held["patient"]
                    bio = patient["bio"]
                    seen.append((patient["last_name"], bio["date_of_birth"], bio["phone_number"]))
                await send(message)

            await api(scope, receive, answered)

        return replace(sandbox, app=front)

    return make


@pytest.mark.parametrize(
    "reading",
    [
        # `bio`'s fields beside the names, a `bio` object ignored: a flat body (which a rename
        # alone showed taken) changes the names and drops the birth date and phone.
        {"patch_body": "fully_flat"},
        {"patch_body": "fully_flat_ignoring"},
        {"patch_body": "fully_flat", "create_body": "flat"},
        # Creates take `bio`'s fields beside the names, edits a `bio` object (its answers' shape):
        # the fully flat body creates took changes an edit's names and drops the rest.
        {"patch_body": "flat", "create_body": "fully_flat"},
        {"patch_body": "flat_ignoring", "create_body": "fully_flat"},
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_no_reader_ever_sees_half_an_edit(reading: dict[str, str]) -> None:
    # The PATCH shape a rename showed NexHealth taking said nothing of `bio`: the next edit,
    # changing the name and the birth date and phone, went out in it first, and until the
    # next shape was sent a reader saw the new name with the old birth date (and had the next
    # been refused, the patient stayed half-edited).
    seen: list[tuple[str, str, str]] = []
    with gateway_over("nexhealth", _watched(reading, seen), tenant=TENANT) as running:
        fhir = running.fhir
        patient = _new_patient(fhir, "halves")
        renamed = fhir.request("PUT", f"{BASE}/Patient/{patient['id']}", json=_renamed(patient, "Once"), headers=JSON)
        assert renamed.status_code == 200, renamed.text
        current = fhir.get_ok(f"{BASE}/Patient/{patient['id']}")
        phone = next(t["value"] for t in current["telecom"] if t["system"] == "phone")
        before = ("Once", current["birthDate"], phone[-10:])
        after = ("Twice", "1988-04-07", "7735550123")
        telecom = [t if t["system"] != "phone" else {**t, "value": after[2]} for t in current["telecom"]]
        edit = {**_renamed(current, after[0]), "birthDate": after[1], "telecom": telecom}
        seen.clear()
        response = fhir.request("PUT", f"{BASE}/Patient/{patient['id']}", json=edit, headers=JSON)
        assert response.status_code == 200, response.text
        assert seen, "the edit sent no PATCH"
        held = [(family, birth[:10], "".join(c for c in phone if c.isdigit())[-10:]) for family, birth, phone in seen]
        assert all(state in (before, after) for state in held), f"half an edit was seen: {held}"
        assert held[-1] == after
        assert len(held) == 1, f"the edit took {len(held)} PATCHes"
