"""Bad input on every tenant of the demo: answered with a 4xx OperationOutcome, never a 5xx,
never read as something else (a superscript two as a count, Arabic-Indic digits as a year, a
code outside a required binding stored)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_TENANTS, RunningGateway
from tests.support.fhir_http import FhirHttp, assert_refused_as_incomplete, outcome_of, record_is_complete

JSON = {"Content-Type": "application/fhir+json"}
ARABIC_1985 = "١٩٨٥"


@pytest.fixture(scope="module")
def patients(gateway: RunningGateway) -> dict[str, str]:
    """A patient id of each tenant."""
    found = {}
    with httpx.Client(base_url=gateway.url, timeout=60) as http:
        for tenant in DEMO_TENANTS:
            bundle = http.get(f"/fhir/{tenant}/Patient", params={"family": "a", "_count": "1"}).json()
            found[tenant] = bundle["entry"][0]["resource"]["id"]
    return found


def refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, f"{response.status_code}: {response.text[:300]}"
    return outcome_of(response)


def _writes(fhir: FhirHttp, tenant: str) -> set[str]:
    statement = fhir.get_ok(f"/fhir/{tenant}/metadata")
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    return {i["code"] for i in patient["interaction"]}


# -- numbers and dates are ASCII digits -------------------------------------------------------


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_counts_and_dates_in_other_digits_are_a_400(fhir: FhirHttp, patients: dict[str, str], tenant: str) -> None:
    base, patient = f"/fhir/{tenant}", patients[tenant]
    for count in ("²", "1²", "١", "１", "-1", "1e3"):
        body = refused(fhir.get(f"{base}/Patient/{patient}/$everything", params={"_count": count}), 400)
        assert body["issue"][0]["expression"] == ["_count"]
        refused(fhir.get(f"{base}/Patient", params={"family": "a", "_count": count}), 400)
    for name in ("birthdate", "_lastUpdated"):
        response = fhir.get(f"{base}/Patient", params={"family": "a", name: ARABIC_1985})
        if response.status_code == 200:  # a tenant that does not search by it ignores it (lenient)
            self_link = next(link["url"] for link in response.json()["link"] if link["relation"] == "self")
            assert name not in self_link
        else:
            assert refused(response, 400)["issue"][0]["expression"] == [name]
    for params in ({"start": ARABIC_1985}, {"end": "2025-0١-01"}):
        refused(fhir.get(f"{base}/Patient/{patient}/$everything", params=params), 400)
        refused(fhir.get(f"{base}/DocumentReference/$docref", params={"patient": patient, **params}), 400)
    refused(fhir.get(f"{base}/DocumentReference", params={"patient": patient, "date": ARABIC_1985}), 400)


def test_a_count_of_many_digits_is_capped(fhir: FhirHttp, patients: dict[str, str]) -> None:
    for path in ("/fhir/dentalpms/Patient", f"/fhir/dentalpms/Patient/{patients['dentalpms']}/$everything"):
        for count in ("9" * 40, "1" * 5000):  # int() refuses more than 4300 digits: this was a 500
            bundle = fhir.get_ok(path, params={"family": "a", "_count": count})
            self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
            assert "_count=100" in self_link


# -- required bindings ------------------------------------------------------------------------


BANANA = {
    "resourceType": "Patient",
    "name": [{"family": "Bananaman", "given": ["Zed"]}],
    "birthDate": "1985-03-15",
    "gender": "banana",
    "telecom": [{"system": "phone", "value": "8475550100"}],
}


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_a_code_outside_a_required_binding_is_refused_on_every_write(
    fhir: FhirHttp, patients: dict[str, str], tenant: str
) -> None:
    base, patient = f"/fhir/{tenant}", patients[tenant]
    writes = _writes(fhir, tenant)
    created = fhir.request("POST", f"{base}/Patient", json=BANANA, headers=JSON)
    conditional = fhir.request(
        "POST", f"{base}/Patient", json=BANANA, headers={**JSON, "If-None-Exist": "family=Bananaman"}
    )
    for response in (created, conditional):
        if "create" not in writes:
            refused(response, 405)
            continue
        body = refused(response, 400, 422)
        assert any("Patient.gender" in (issue.get("expression") or []) for issue in body["issue"])
    current = fhir.get_ok(f"{base}/Patient/{patient}")
    changed = {**current, "gender": "banana"}
    updated = fhir.request("PUT", f"{base}/Patient/{patient}", json=changed, headers=JSON)
    if "update" not in writes:
        refused(updated, 405)
    else:
        body = refused(updated, 400, 422)
        assert any("Patient.gender" in (issue.get("expression") or []) for issue in body["issue"])
    assert fhir.get_ok(f"{base}/Patient/{patient}").get("gender") == current.get("gender")
    if "search-type" in writes:
        assert fhir.get_ok(f"{base}/Patient", params={"family": "Bananaman"}).get("entry", []) == []


# -- what a write cannot pass on: modifiers, repeated properties ------------------------------

MODIFIED = {
    "resourceType": "Patient",
    "name": [{"family": "Modifierman", "given": ["Zed"]}],
    "birthDate": "1985-03-15",
    "gender": "male",
    "telecom": [{"system": "phone", "value": "8475550101"}, {"system": "email", "value": "zed@example.org"}],
}
NOT_REALLY = [{"url": "http://example.org/fhir/StructureDefinition/not-really", "valueBoolean": True}]


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_a_write_carrying_a_modifier_is_refused_and_nothing_is_stored(
    fhir: FhirHttp, patients: dict[str, str], tenant: str
) -> None:
    # R4 extensibility.html#modifierExtension: a modifier extension changes what the record
    # means; stored without it, the record would say something else.
    base, patient = f"/fhir/{tenant}", patients[tenant]
    writes = _writes(fhir, tenant)
    bodies = (
        ({**MODIFIED, "modifierExtension": NOT_REALLY}, "Patient.modifierExtension"),
        ({**MODIFIED, "implicitRules": "http://example.org/rules"}, "Patient.implicitRules"),
        (
            {**MODIFIED, "contact": [{"name": {"family": "Kin"}, "modifierExtension": NOT_REALLY}]},
            "Patient.contact[0].modifierExtension",
        ),
        # R4 patient.html#Patient.link (isModifier): stored without it, a patient merged away
        # would read as a primary one. No vendor keeps links.
        ({**MODIFIED, "link": [{"other": {"reference": "Patient/other"}, "type": "replaced-by"}]}, "Patient.link"),
    )
    for body, where in bodies:
        response = fhir.request("POST", f"{base}/Patient", json=body, headers=JSON)
        if "create" not in writes:
            refused(response, 405)
            continue
        outcome = refused(response, 422)
        assert outcome["issue"][0]["code"] == "not-supported"
        assert outcome["issue"][0]["expression"] == [where]
    current = fhir.get_ok(f"{base}/Patient/{patient}")
    updated = fhir.request(
        "PUT", f"{base}/Patient/{patient}", json={**current, "modifierExtension": NOT_REALLY}, headers=JSON
    )
    if "update" not in writes:
        refused(updated, 405)
    else:
        assert refused(updated, 422)["issue"][0]["expression"] == ["Patient.modifierExtension"]
    assert fhir.get_ok(f"{base}/Patient/{patient}").get("meta") == current.get("meta")  # not written
    if "search-type" in writes:
        assert fhir.get_ok(f"{base}/Patient", params={"family": "Modifierman"}).get("entry", []) == []


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_a_property_given_twice_in_one_object_is_a_400(fhir: FhirHttp, tenant: str) -> None:
    # RFC 8259 section 4: which of two values a reader takes is the reader's; the gateway took
    # the last, where a proxy or an auditor reading the first saw another resource.
    base = f"/fhir/{tenant}"
    body = (
        b'{"resourceType":"Patient","name":[{"family":"Twiceman","given":["Zed"],"family":"Onceman"}],'
        b'"birthDate":"1985-03-15","gender":"male","gender":"female",'
        b'"telecom":[{"system":"phone","value":"8475550102"},{"system":"email","value":"twice@example.org"}]}'
    )
    response = fhir.request("POST", f"{base}/Patient", content=body, headers=JSON)
    if "create" not in _writes(fhir, tenant):
        refused(response, 405)
        return
    outcome = refused(response, 400)
    assert "'family' more than once" in outcome["issue"][0]["diagnostics"]
    for family in ("Twiceman", "Onceman"):
        assert fhir.get_ok(f"{base}/Patient", params={"family": family}).get("entry", []) == []


# -- documents that do not exist --------------------------------------------------------------


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_documents_that_do_not_exist_are_404(fhir: FhirHttp, patients: dict[str, str], tenant: str) -> None:
    base, patient = f"/fhir/{tenant}", patients[tenant]
    for path in (
        "DocumentReference/zz-does-not-exist-9",
        "Binary/zz-does-not-exist-9",
        "DocumentReference/999999999",
        "Binary/999999999",
        "DocumentReference/ccd-p.zz-does-not-exist-9",
        "Binary/ccd-e.zz-does-not-exist-9",
        "Binary/ccd-x.1",
        f"Binary/ccd-p-20251301-.{patient}",  # month 13 names no document
    ):
        for accept in ("application/fhir+json", "application/xml") if path.startswith("Binary") else ("*/*",):
            response = fhir.get(f"{base}/{path}", headers={"Accept": accept})
            assert refused(response, 404)["issue"][0]["code"] == "not-found", path


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_a_version_a_generated_document_never_had_is_404(fhir: FhirHttp, patients: dict[str, str], tenant: str) -> None:
    base, patient = f"/fhir/{tenant}", patients[tenant]
    refused(fhir.get(f"{base}/Patient/{patient}/_history/nope"), 404)
    # A version id is an id: one no id can be (an Arabic-Indic digit, a space) is malformed, a 400.
    for malformed in ("%D9%A5", "a%20b", "x" * 65):
        assert refused(fhir.get(f"{base}/Patient/{patient}/_history/{malformed}"), 400)["issue"][0]["code"] == "invalid"
        refused(fhir.get(f"{base}/Binary/ccd-p.{patient}/_history/{malformed}"), 400)
    # Under a vendor reading that cannot give the patient's visits whole, the document is refused
    # as incomplete before any version of it can be looked at (tests/support/fhir_http).
    complete = record_is_complete(fhir, tenant, patient)
    for resource in (f"Binary/ccd-p.{patient}", f"DocumentReference/ccd-p.{patient}"):
        for version in ("nope", "1", "0"):
            binary = resource.startswith("Binary")
            for accept in ("application/fhir+json", "application/xml", "text/html") if binary else ("*/*",):
                response = fhir.get(f"{base}/{resource}/_history/{version}", headers={"Accept": accept})
                if complete or response.status_code == 404:
                    assert refused(response, 404)["issue"][0]["code"] == "not-found"
                else:
                    assert_refused_as_incomplete(response)
