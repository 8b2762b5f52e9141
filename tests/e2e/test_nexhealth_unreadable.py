"""One NexHealth record the reader cannot make sense of does not take the others down.

A wrapper around the simulator spoils one patient (`"inactive": "perhaps"`) and one appointment
(`"start_time": "soon"`) wherever they are served. Searches serve the rest with an
OperationOutcome entry naming the record's vendor id and the field, and claim no total; a
read of the record itself is a 502 naming the field. No value is repeated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from sandboxes.clinic import Encounter, build_clinic
from sandboxes.nexhealth import LOCATION, create_sandbox
from sandboxes.nexhealth.app import APPOINTMENT_ID_OFFSET, PATIENT_ID_OFFSET, location_id_of
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp, outcome_notes
from tests.support.variants import gateway_over

TENANT = "nex"
BASE = f"/fhir/{TENANT}"
CLINIC = build_clinic()


def _here(encounters: tuple[Encounter, ...]) -> list[Encounter]:
    return [e for e in encounters if location_id_of(e.location_id) == LOCATION]


PATIENT = live_patients(CLINIC)[4]
OWNER = next(p for p in live_patients(CLINIC) if len(_here(p.encounters)) >= 3)
VISIT = _here(OWNER.encounters)[1]
BAD_PATIENT = PATIENT.id + PATIENT_ID_OFFSET
BAD_APPOINTMENT = VISIT.id + APPOINTMENT_ID_OFFSET


def _spoil(value: Any) -> Any:
    if isinstance(value, list):
        return [_spoil(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _spoil(v) for k, v in value.items()}
    if out.get("id") == BAD_PATIENT and "first_name" in out:
        out["inactive"] = "perhaps"
    if out.get("id") == BAD_APPOINTMENT and "start_time" in out:
        out["start_time"] = "soon"
    return out


class Spoiling:
    """An ASGI wrapper rewriting each JSON answer of `app` through `_spoil`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = orjson.dumps(_spoil(orjson.loads(b"".join(chunks))))
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def _spoiled_sandbox() -> Any:
    sandbox = create_sandbox()
    return dataclasses.replace(sandbox, app=Spoiling(sandbox.app))


@pytest.fixture(scope="module")
def fhir() -> Iterator[FhirHttp]:
    with gateway_over("nexhealth", _spoiled_sandbox, tenant=TENANT) as running:
        yield running.fhir


def test_a_patient_page_serves_the_rest_and_names_the_unreadable_one(fhir: FhirHttp) -> None:
    pages = list(fhir.pages(f"{BASE}/Patient", _count=100))
    ids = {e["resource"]["id"] for page in pages for e in page["entry"] if e["search"]["mode"] == "match"}
    assert ids == {str(p.id + PATIENT_ID_OFFSET) for p in live_patients(CLINIC)} - {str(BAD_PATIENT)}
    outcomes = [text for page in pages for text in outcome_notes(page)]
    assert outcomes == [
        f"Patient {BAD_PATIENT} could not be read: the vendor's field inactive has an unexpected type or value"
    ]
    assert "total" not in pages[0]
    assert "perhaps" not in str(pages)


def test_reading_the_unreadable_patient_is_a_502_naming_the_field(fhir: FhirHttp) -> None:
    response = fhir.get(f"{BASE}/Patient/{BAD_PATIENT}")
    assert response.status_code == 502
    assert "inactive" in response.text and "perhaps" not in response.text


def test_an_encounter_search_serves_the_other_visits_and_names_the_appointment(fhir: FhirHttp) -> None:
    owner = str(OWNER.id + PATIENT_ID_OFFSET)
    bundle = fhir.get_ok(f"{BASE}/Encounter", params={"patient": owner, "_count": 100})
    matches = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert len(matches) == len(_here(OWNER.encounters)) - 1
    assert str(BAD_APPOINTMENT) not in {e["identifier"][0]["value"] for e in matches}
    assert outcome_notes(bundle) == [
        f"NexHealth appointment {BAD_APPOINTMENT} could not be read: the vendor's field start_time "
        "is not an ISO 8601 date-time"
    ]
    assert "total" not in bundle


def test_reading_the_unreadable_encounter_is_a_502_naming_the_field(fhir: FhirHttp) -> None:
    encounter_id = f"{OWNER.id + PATIENT_ID_OFFSET}.{BAD_APPOINTMENT}.{VISIT.start.strftime('%Y%m%d')}"
    response = fhir.get(f"{BASE}/Encounter/{encounter_id}")
    assert response.status_code == 502, response.text
    assert "start_time" in response.text and "soon" not in response.text
