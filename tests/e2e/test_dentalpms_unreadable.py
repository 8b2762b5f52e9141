"""A Dental PMS record the gateway cannot read takes nothing else down: the rest of its page
is served, the searchset carries an OperationOutcome entry naming the record and the field
(never the value, no total claimed), and a read of that record is a 502 naming the field.

The simulator's answers are corrupted on the way out (one patient's birth date is no date,
one allergy's `status_is_active` is a list), as a vendor's bug would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.contract import Sandbox
from mappings.ids import child_id
from sandboxes.clinic import Clinic, build_clinic
from sandboxes.dentalpms import create_sandbox
from sandboxes.dentalpms.ids import record_uuid
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.variants import gateway_over

BASE = "/fhir/dentalpms"
BAD_DATE = "1990-02-30"


class _Corrupting:
    """Rewrites every JSON object whose `id` is in `changes` with the changes given."""

    def __init__(self, app: ASGIApp, changes: dict[str, dict[str, Any]]) -> None:
        self.app = app
        self.changes = changes

    def _fix(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._fix(item) for item in value]
        if isinstance(value, dict):
            out = {key: self._fix(item) for key, item in value.items()}
            return {**out, **self.changes.get(str(out.get("id")), {})}
        return value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            body = orjson.dumps(self._fix(orjson.loads(message["body"]))) if message.get("body") else b""
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


@pytest.fixture(scope="module")
def clinic() -> Clinic:
    return build_clinic()


@pytest.fixture(scope="module")
def broken(clinic: Clinic) -> dict[str, str]:
    live = live_patients(clinic)
    patient = live[3]
    owner = next(p for p in live if len([a for a in p.allergies if not a.deleted]) >= 2)
    allergy = next(a for a in owner.allergies if not a.deleted)
    return {
        "patient": str(patient.uuid),
        "owner": str(owner.uuid),
        "allergy": str(record_uuid(clinic, "allergy", allergy.id)),
    }


@pytest.fixture(scope="module")
def fhir(broken: dict[str, str]) -> Iterator[FhirHttp]:
    changes = {broken["patient"]: {"date_of_birth": BAD_DATE}, broken["allergy"]: {"status_is_active": ["x"]}}

    def sandbox() -> Sandbox:
        made = create_sandbox()
        return Sandbox(_Corrupting(made.app, changes), made.base_path, made.options, made.secrets)

    with gateway_over("dentalpms", sandbox) as running:
        yield running.fhir


def _outcomes(fhir: FhirHttp, path: str, **params: Any) -> tuple[list[dict[str, Any]], list[str], list[Any]]:
    found, notes, totals = [], [], []
    for bundle in fhir.pages(path, **params):
        totals.append(bundle.get("total"))
        for entry in bundle.get("entry", []):
            if entry["search"]["mode"] == "outcome":
                notes += [issue["diagnostics"] for issue in entry["resource"]["issue"]]
            else:
                found.append(entry["resource"])
    return found, notes, totals


def test_an_unreadable_patient_is_reported_and_the_rest_served(
    fhir: FhirHttp, clinic: Clinic, broken: dict[str, str]
) -> None:
    found, notes, _ = _outcomes(fhir, f"{BASE}/Patient", _count=100)
    expected = {str(p.uuid) for p in live_patients(clinic)} - {broken["patient"]}
    assert {p["id"] for p in found} == expected
    assert any(broken["patient"] in note and "date_of_birth" in note for note in notes), notes
    assert not any(BAD_DATE in note for note in notes)
    # An exact search that meets it claims no total.
    _, _, totals = _outcomes(fhir, f"{BASE}/Patient", birthdate="ge1900-01-01")
    assert totals[0] is None


def test_reading_the_unreadable_patient_is_a_502_naming_the_field(fhir: FhirHttp, broken: dict[str, str]) -> None:
    response = fhir.get(f"{BASE}/Patient/{broken['patient']}")
    assert response.status_code == 502
    diagnostics = outcome_of(response)["issue"][0]["diagnostics"]
    assert "date_of_birth" in diagnostics and BAD_DATE not in diagnostics


def test_an_unreadable_allergy_is_reported_and_its_siblings_served(
    fhir: FhirHttp, clinic: Clinic, broken: dict[str, str]
) -> None:
    owner = clinic.patient_by_uuid(broken["owner"])
    found, notes, totals = _outcomes(fhir, f"{BASE}/AllergyIntolerance", patient=broken["owner"])
    live = [a for a in owner.allergies if not a.deleted]
    assert len(found) == len(live) - 1 + (owner.allergy_review == "nkda")
    fhir_id = child_id(broken["owner"], broken["allergy"])
    assert any(fhir_id in note and "status_is_active" in note for note in notes), notes
    assert totals[0] is None
    response = fhir.get(f"{BASE}/AllergyIntolerance/{fhir_id}")
    assert response.status_code == 502
    assert "status_is_active" in outcome_of(response)["issue"][0]["diagnostics"]
    sibling = found[-1]
    assert fhir.get_ok(f"{BASE}/AllergyIntolerance/{sibling['id']}") == sibling
