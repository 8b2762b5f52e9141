"""NexHealth Patient writes carrying a modifier element NexHealth cannot hold, end to end.

R4 Patient.active and Patient.deceased[x] are modifier elements ("the value of the element
cannot be ignored"): a record stored without the value sent means something else. No NexHealth
write body sets `inactive` (the create's fields, nexhealth-patients.txt), and its patients have
no field for a death. So a create with `active: false`, a PUT with an `active` other than the
patient's, and any write with a death are refused (422, `not-supported`, naming the element by
FHIRPath) before anything is sent to NexHealth. Before, each was a 201 or 200 and the patient
stayed (or was made) active, alive. Left out, `active` is kept and named as before
(tests/e2e/test_nexhealth_update_left_out.py); sent as the patient holds it, it is stored.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import Patient, build_clinic
from sandboxes.nexhealth import create_sandbox
from sandboxes.nexhealth.app import PATIENT_ID_OFFSET
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.variants import gateway_over, vendor_calls

TENANT = "nex"
BASE = f"/fhir/{TENANT}"
JSON = {"Content-Type": "application/fhir+json"}


def _editable(patient: Patient, status: str) -> bool:
    """A clinic patient of `status` holding what a NexHealth write requires."""
    return bool(
        patient.email
        and patient.mobile_phone
        and patient.birth_date
        and patient.gender in ("male", "female")
        and patient.status == status
    )


ACTIVE = live_patients(build_clinic(), partial(_editable, status="active"))[0]
INACTIVE = live_patients(build_clinic(), partial(_editable, status="inactive"))[0]


@pytest.fixture(scope="module")
def fhir() -> Iterator[FhirHttp]:
    # Neither patient inserted into the practice system yet: the only ones an edit reaches.
    sandbox = partial(create_sandbox, not_inserted={ACTIVE.id, INACTIVE.id})
    with gateway_over("nexhealth", sandbox, tenant=TENANT) as gateway:
        yield gateway.fhir


def _vendor_writes(fhir: FhirHttp) -> float:
    """The writes the gateway has sent NexHealth so far (its /metrics): calls other than reads
    and the authentication (`POST /authenticates`, nexhealth-getting-started.txt)."""
    return vendor_calls(
        fhir, TENANT, lambda labels: labels.get("method") != "GET" and labels.get("endpoint") != "/authenticates"
    )


def _refused(fhir: FhirHttp, method: str, path: str, body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The (code, expression) of each issue `body` is refused with (a 422), no write sent."""
    before = _vendor_writes(fhir)
    response = fhir.request(method, path, json=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert _vendor_writes(fhir) == before, "a write reached NexHealth"
    return [(issue["code"], issue["expression"]) for issue in outcome_of(response)["issue"]]


def _pid(patient: Patient) -> str:
    return str(patient.id + PATIENT_ID_OFFSET)


def _new_patient(family: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Ida"]}],
        "telecom": [
            {"system": "email", "value": f"{family.lower()}@example.org"},
            {"system": "phone", "value": f"(773) 555-{zlib.crc32(family.encode()) % 9000 + 1000}"},
        ],
        "birthDate": "1988-04-05",
        "gender": "female",
        **extra,
    }


def test_a_create_of_an_inactive_or_deceased_patient_is_refused_and_makes_no_patient(fhir: FhirHttp) -> None:
    # A new NexHealth patient is active and alive, whatever was sent: before, `active: false`
    # made an active patient (201), named only in the not-stored list.
    for family, extra, refused in (
        ("Inactivenew", {"active": False}, [("not-supported", ["Patient.active"])]),
        ("Deceasednew", {"deceasedBoolean": True}, [("not-supported", ["Patient.deceased"])]),
        (
            "Bothnew",
            {"active": False, "deceasedDateTime": "2020-01-02"},
            [("not-supported", ["Patient.active"]), ("not-supported", ["Patient.deceased"])],
        ),
    ):
        assert _refused(fhir, "POST", f"{BASE}/Patient", _new_patient(family, **extra)) == refused
        assert fhir.search_all(f"{BASE}/Patient", family=family) == []
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Activenew", active=True), headers=JSON)
    assert created.status_code == 201, created.text
    assert created.json()["active"] is True


def test_an_update_to_an_active_the_patient_cannot_take_is_refused_and_changes_nothing(fhir: FhirHttp) -> None:
    # Before, `active: true` of an inactive patient (and `active: false` of an active one) was
    # a 200 with a note, the rest of the PUT written and the status as it was.
    for patient, active in ((INACTIVE, True), (ACTIVE, False)):
        held = fhir.get_ok(f"{BASE}/Patient/{_pid(patient)}")
        assert held["active"] is not active
        sent = {**held, "active": active, "birthDate": "1971-02-03"}
        assert _refused(fhir, "PUT", f"{BASE}/Patient/{_pid(patient)}", sent) == [("not-supported", ["Patient.active"])]
        assert fhir.get_ok(f"{BASE}/Patient/{_pid(patient)}") == held
    died = {**fhir.get_ok(f"{BASE}/Patient/{_pid(ACTIVE)}"), "deceasedDateTime": "2024-02-03"}
    assert _refused(fhir, "PUT", f"{BASE}/Patient/{_pid(ACTIVE)}", died) == [("not-supported", ["Patient.deceased"])]


def test_an_active_sent_as_the_patient_holds_it_is_stored_with_the_edit(fhir: FhirHttp) -> None:
    held = fhir.get_ok(f"{BASE}/Patient/{_pid(INACTIVE)}")
    assert held["active"] is False
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    answer = fhir.request(
        "PUT", f"{BASE}/Patient/{_pid(INACTIVE)}", json={**held, "birthDate": "1972-03-04"}, headers=prefer
    )
    assert answer.status_code == 200, answer.text
    assert [i for i in answer.json()["issue"] if i["severity"] == "warning"] == []
    after = fhir.get_ok(f"{BASE}/Patient/{_pid(INACTIVE)}")
    assert (after["active"], after["birthDate"]) == (False, "1972-03-04")
