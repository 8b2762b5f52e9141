"""NexHealth Patient update (PUT): what the client leaves out, end to end over the simulator.

A FHIR update replaces the resource (R4 http.html#update): an element the PUT leaves out is
meant to be gone. A patient not yet inserted into the practice system (the only one an edit
reaches, nexhealth-patients.txt) may hold an address, a middle name and a mobile and a home
phone, which no write of the gateway's sets. Each the PUT leaves out is cleared where
NexHealth's PATCH clears it (a `bio` replaced whole; a `null`), or named in the not-stored
list (`Prefer: return=OperationOutcome`) where NexHealth kept it: never kept unseen. What the
client did send is never cleared, nor lost to an edit of something else. A patient NexHealth
holds as inactive stays so when the PUT has no `active` (no write of it is documented), which
R4 reads as active (Patient.active's meaningWhenMissing): named as kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import Patient, build_clinic
from sandboxes.nexhealth import create_sandbox
from sandboxes.nexhealth.app import PATIENT_ID_OFFSET
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp
from tests.support.variants import gateway_over

TENANT = "nex"
BASE = f"/fhir/{TENANT}"
HEADERS = {"Content-Type": "application/fhir+json", "Prefer": "return=OperationOutcome"}

READINGS: dict[str, dict[str, str]] = {
    "documented": {},  # `bio` merged field by field: a null for a field it does not take is ignored
    "bio_replaced": {"edit_bio": "replaced"},  # `bio` stored as the object sent: what it lacks is gone
    "keys_refused": {"unknown_keys": "refused"},  # `bio`'s other keys refused by name
    "fully_flat": {"patch_body": "fully_flat"},  # a `bio` object ignored
    "answers_before": {"edit_answer": "before"},  # the answer is the patient as it was
    # Joi's `Joi.string()` without `.allow(null)`: a null in `bio` refused ("... must be a string"),
    # `bio` merged (what is left out stays) or replaced whole (what is left out is gone).
    "nulls_refused": {"bio_nulls": "refused"},
    "nulls_refused_bio_replaced": {"bio_nulls": "refused", "edit_bio": "replaced"},
}


def _registered(patient: Patient, status: str = "active") -> bool:
    """A clinic patient holding every element a NexHealth write does not set, of `status`."""
    return bool(
        patient.middle_name
        and patient.address_line1
        and patient.city
        and patient.postal_code
        and patient.mobile_phone
        and patient.home_phone
        and patient.mobile_phone != patient.home_phone
        and patient.email
        and patient.birth_date
        and patient.gender in ("male", "female")
        and patient.status == status
    )


# One patient for each test: a test's PUT changes what another would start from.
AS_READ, LEFT_OUT, WITHOUT_ADDRESS, ACTIVE, REPLACED = live_patients(build_clinic(), _registered)[:5]
INACTIVE = live_patients(build_clinic(), partial(_registered, status="inactive"))[0]
EDITED = {AS_READ.id, LEFT_OUT.id, WITHOUT_ADDRESS.id, ACTIVE.id, INACTIVE.id}


@pytest.fixture(scope="module", params=sorted(READINGS))
def fhir(request: pytest.FixtureRequest) -> Iterator[FhirHttp]:
    sandbox = partial(create_sandbox, not_inserted=EDITED, **READINGS[request.param])
    with gateway_over("nexhealth", sandbox, tenant=TENANT) as gateway:
        yield gateway.fhir


def _pid(patient: Patient) -> str:
    return str(patient.id + PATIENT_ID_OFFSET)


def _put(fhir: FhirHttp, body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The not-stored elements the PUT of `body` is answered with, and the patient read after it."""
    response = fhir.request("PUT", f"{BASE}/Patient/{body['id']}", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    named = [e for issue in response.json()["issue"] if issue["severity"] == "warning" for e in issue["expression"]]
    return named, fhir.get_ok(f"{BASE}/Patient/{body['id']}")


def _phones(resource: dict[str, Any]) -> set[str]:
    return {"".join(c for c in t["value"] if c.isdigit())[-10:] for t in resource["telecom"] if t["system"] == "phone"}


def test_a_put_of_the_patient_as_read_loses_nothing_sent(fhir: FhirHttp) -> None:
    # The patient sent back as read with a new birth date, then a new gender: `bio` changes. An
    # edit setting the phone number may take it as replacing the cell and home numbers (even
    # those sent back), and a `bio` replaced whole clears what it lacks: the edit carries the
    # cell and home numbers and leaves out the unchanged phone number they hold too, so no
    # reading loses a phone sent. The second edit starts from what the first left (a `bio`
    # replaced keeps no phone number beside the cell number holding it).
    held = fhir.get_ok(f"{BASE}/Patient/{_pid(AS_READ)}")
    other_gender = "female" if held["gender"] == "male" else "male"
    for change in ({"birthDate": "1971-02-03"}, {"gender": other_gender}):
        named, after = _put(fhir, {**held, **change})
        assert {key: after[key] for key in change} == change
        assert (after["telecom"], after["address"], after["name"]) == (held["telecom"], held["address"], held["name"])
        assert named == [], named
        held = after


def test_what_a_put_leaves_out_is_cleared_or_named_as_kept(fhir: FhirHttp) -> None:
    held = fhir.get_ok(f"{BASE}/Patient/{_pid(LEFT_OUT)}")
    assert held.get("address") and len(held["name"][0]["given"]) == 2 and _phones(held) >= {LEFT_OUT.home_phone}
    email = next(t for t in held["telecom"] if t["system"] == "email")
    body = {
        "resourceType": "Patient",
        "id": _pid(LEFT_OUT),
        "name": [{"family": held["name"][0]["family"], "given": held["name"][0]["given"][:1]}],
        "telecom": [email, {"system": "phone", "value": LEFT_OUT.mobile_phone}],
        "gender": held["gender"],
        "birthDate": held["birthDate"],
    }
    named, after = _put(fhir, body)
    # Each element left out is gone, or named as kept by its FHIRPath.
    assert "address" not in after or "Patient.address" in named, (after.get("address"), named)
    assert len(after["name"][0]["given"]) == 1 or "Patient.name[0].given[1]" in named, (after["name"], named)
    assert LEFT_OUT.home_phone not in _phones(after) or "Patient.telecom" in named, (after["telecom"], named)
    # What the PUT sent stays.
    assert after["name"][0]["given"][0] == held["name"][0]["given"][0]
    assert (after["name"][0]["family"], after["birthDate"], after["gender"]) == (
        held["name"][0]["family"],
        held["birthDate"],
        held["gender"],
    )
    assert LEFT_OUT.mobile_phone in _phones(after) and email in after["telecom"]
    # Nothing of what was sent is named as lost.
    left_out = ("Patient.address", "Patient.name[0].given[1]", "Patient.telecom")
    assert not [path for path in named if path not in left_out], named


def test_clearing_an_address_loses_no_phone_sent_back(fhir: FhirHttp) -> None:
    # The patient sent back as read but for its address: an edit clearing the address would
    # carry the phone number too, which NexHealth may take as replacing the cell and home
    # numbers the PUT sent back. Those are kept; the address is cleared or named as kept.
    held = fhir.get_ok(f"{BASE}/Patient/{_pid(WITHOUT_ADDRESS)}")
    assert _phones(held) == {WITHOUT_ADDRESS.mobile_phone, WITHOUT_ADDRESS.home_phone}
    named, after = _put(fhir, {k: v for k, v in held.items() if k != "address"})
    assert _phones(after) == _phones(held), (after["telecom"], named)
    assert "address" not in after or "Patient.address" in named, (after.get("address"), named)
    assert named in (["Patient.address"], []), named


def test_an_inactive_patient_put_without_active_is_named_as_kept_inactive(fhir: FhirHttp) -> None:
    # R4 reads a Patient without `active` as active (Patient.active's meaningWhenMissing), but
    # no NexHealth write sets `inactive` (the create's fields, nexhealth-patients.txt): the
    # patient stays inactive, and the client is told. An active patient's PUT without it is
    # what NexHealth holds: nothing is said of it.
    held = fhir.get_ok(f"{BASE}/Patient/{_pid(INACTIVE)}")
    assert held["active"] is False
    named, after = _put(fhir, {key: value for key, value in held.items() if key != "active"})
    assert after["active"] is False
    assert named == ["Patient.active"], named
    active = fhir.get_ok(f"{BASE}/Patient/{_pid(ACTIVE)}")
    named, after = _put(fhir, {key: value for key, value in active.items() if key != "active"})
    assert after["active"] is True
    assert named == [], named


def test_where_bio_is_replaced_without_its_phone_keys_the_phone_number_stays() -> None:
    # An implementation refusing `bio`'s cell and home keys and replacing `bio` whole keeps of
    # an edit of the birth date only what its `bio` holds: those numbers are gone whatever is
    # sent (and named), but the phone number, left out as one the cell number holds too, is
    # sent again rather than lost with them.
    sandbox = partial(create_sandbox, not_inserted={REPLACED.id}, edit_bio="replaced", unknown_keys="refused")
    with gateway_over("nexhealth", sandbox, tenant=TENANT) as gateway:
        held = gateway.fhir.get_ok(f"{BASE}/Patient/{_pid(REPLACED)}")
        named, after = _put(gateway.fhir, {**held, "birthDate": "1971-02-03"})
    assert after["birthDate"] == "1971-02-03"
    assert REPLACED.mobile_phone in _phones(after), (after["telecom"], named)
    for i, point in enumerate(held["telecom"]):
        if point["system"] == "phone" and _phones({"telecom": [point]}) - _phones(after):
            assert f"Patient.telecom[{i}]" in named, (held["telecom"], after["telecom"], named)
