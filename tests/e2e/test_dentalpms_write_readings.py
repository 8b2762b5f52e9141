"""Dental PMS patient writes against one reading of the docs at a time: each test starts one
simulator with the switch that plays it and sends the few FHIR requests that show the case
(the full write module runs in tests/e2e/test_dentalpms_writes.py under a few combined readings;
a reading played here costs one simulator, not a replay of that module)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import build_clinic
from sandboxes.dentalpms import create_sandbox
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.variants import gateway_over

TENANT = "dentalpms"
BASE = f"/fhir/{TENANT}"
JSON = {"Content-Type": "application/fhir+json"}


def _new_patient(family: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": ["Zoë"]}],
        "gender": "female",
        "birthDate": "1991-04-05",
        "address": [{"use": "home", "line": ["1 Main St"], "city": "Springfield", "state": "IL"}],
        **extra,
    }


def _over(**switches: Any) -> Any:
    """The gateway over one simulator of 100 patients playing `switches`."""
    return gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches))


def _created(fhir: FhirHttp, resource: dict[str, Any]) -> dict[str, Any]:
    created = fhir.request("POST", f"{BASE}/Patient", json=resource, headers=JSON)
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


def test_every_write_carries_an_idempotency_key_of_its_own() -> None:
    # The reference names `Idempotency-Key` only in the create's errors; a service may put one
    # idempotency middleware before every POST and PATCH (400 without a key, as the IETF draft
    # says; a key repeated with another write 409). Before, only the create sent one: every
    # status move (a create out of use at a vendor moving status by transition alone, an
    # update's `active`), every update's PATCH and every delete's archive was refused (422, 409).
    with _over(write_keys="every_write", create_statuses="ignored", death_dates="required") as running:
        fhir = running.fhir
        made = _created(fhir, _new_patient("Keyedwritedp", active=False))
        assert made["active"] is False  # created active, then moved by transition-status
        pid = made["id"]
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == made
        changed = {**made, "gender": "other", "active": True}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert (updated.json()["gender"], updated.json()["active"]) == ("other", True)
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()
        # A death without its date is refused by the transition: the PATCH is taken back under a
        # key of its own (the PATCH's key with another body would be an "Idempotency conflict").
        dead = {**updated.json(), "gender": "male", "active": False, "deceasedBoolean": True}
        refused = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=dead, headers=JSON)
        assert refused.status_code == 422, refused.text
        assert "nothing was written" in outcome_of(refused)["issue"][0]["diagnostics"]
        assert fhir.get_ok(f"{BASE}/Patient/{pid}")["gender"] == "other"
        assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204
        assert fhir.get(f"{BASE}/Patient/{pid}").status_code == 410


def test_an_update_at_a_vendor_whose_patch_keeps_the_version_is_taken_back_whole() -> None:
    # The reference says a PATCH "Requires base_version", not that it moves `version`: a service
    # may leave it as it was (only its lifecycle writes move it). A FHIR client sees the same
    # versionId after such an update (the vendor's, so a following If-Match update is taken).
    # Before, a transition refused after the PATCH was taken back on a version the patient never
    # had (the next one): refused 409, the update a 409 "part of it may remain" and its PATCH
    # left written under the old status.
    with _over(patch_versions="kept", death_dates="required") as running:
        fhir = running.fhir
        pid = _created(fhir, _new_patient("Keptversiondp"))["id"]
        held = fhir.get(f"{BASE}/Patient/{pid}")
        moved = {**held.json(), "gender": "other"}
        updated = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json=moved, headers={**JSON, "If-Match": held.headers["etag"]}
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["meta"]["versionId"] == held.json()["meta"]["versionId"]  # the vendor's, unmoved
        now = fhir.get(f"{BASE}/Patient/{pid}")
        assert now.json() == updated.json()
        dead = {
            **now.json(),
            "gender": "male",
            "address": [{"city": "Peoria"}],
            "active": False,
            "deceasedBoolean": True,
        }
        refused = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json=dead, headers={**JSON, "If-Match": now.headers["etag"]}
        )
        assert refused.status_code == 422, refused.text
        assert "nothing was written" in outcome_of(refused)["issue"][0]["diagnostics"]
        after = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert {k: v for k, v in after.items() if k != "meta"} == {k: v for k, v in now.json().items() if k != "meta"}


@pytest.mark.parametrize("idempotency", ["see_other", "see_other_internal"])
def test_a_create_whose_repeat_is_answered_see_other_is_the_patient_it_points_at(idempotency: str) -> None:
    # The answer to the create is lost (a 503 once its patient is stored), and the vendor answers
    # the retry's repeated key `303 See Other` to the patient the first attempt made ("returns the
    # original response" read as the resource it made). One request, one patient, a 201. On the
    # vendor's origin the 303 is followed (gateway.upstream); to an absolute URL on the address the
    # service listens on behind its proxy, it is not (neither credentials nor a patient's id go
    # to another origin), and before it was a 502 for a patient made: the client's resend made a
    # second one.
    with _over(idempotency=idempotency, create_answers="lost_once") as running:
        fhir = running.fhir
        made = _created(fhir, _new_patient("Seeotherdp"))
        assert fhir.get_ok(f"{BASE}/Patient/{made['id']}") == made
        found = fhir.search_all(f"{BASE}/Patient", family="Seeotherdp", birthdate="1991-04-05")
        assert [p["id"] for p in found] == [made["id"]]


def test_a_create_conditional_on_a_chart_number_the_vendor_drops_is_refused_not_made_twice() -> None:
    # A service whose chart numbers the practice assigns drops one sent without a word. If-None-Exist
    # on it can then never find the patient made: before, each conditional create made another
    # patient (201, only warned "If-None-Exist does not select..."). Now the first is archived
    # and refused, and once the vendor has shown it drops chart numbers, the next is refused
    # before anything is written. Creates without that condition are made as before.
    with _over(chart_numbers="assigned") as running:
        fhir = running.fhir
        system = f"{_any_chart_system(fhir)}"
        sent = {**_new_patient("Conditionalchartdp"), "identifier": [{"system": system, "value": "COND-1"}]}
        conditional = {**JSON, "If-None-Exist": f"identifier={system}|COND-1"}
        for outcome in ("was archived", "nothing was written"):
            refused = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=conditional)
            assert refused.status_code == 422, refused.text
            issue = outcome_of(refused)["issue"][0]
            assert issue["expression"] == ["Patient.identifier[0]"] and outcome in issue["diagnostics"], issue
            assert _live(fhir, "Conditionalchartdp") == []
        on_names = {**JSON, "If-None-Exist": "family=Conditionalchartdp&birthdate=1991-04-05"}
        made = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=on_names)
        assert made.status_code == 201, made.text
        again = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=on_names)
        assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
        assert [p["id"] for p in _live(fhir, "Conditionalchartdp")] == [made.json()["id"]]


def _any_chart_system(fhir: FhirHttp) -> str:
    patient = fhir.get_ok(f"{BASE}/Patient", params={"_count": 1})["entry"][0]["resource"]
    return str(next(i["system"] for i in patient["identifier"] if i.get("type", {}).get("text") == "Chart number"))


def _live(fhir: FhirHttp, family: str) -> list[dict[str, Any]]:
    return fhir.search_all(f"{BASE}/Patient", family=family, birthdate="1991-04-05")
