"""Patient/$everything for every demo tenant, and what it says when part of it fails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DEMO_TENANTS
from tests.support.fhir_http import FhirHttp, outcome_of, playing_other_readings


def _statement(fhir: FhirHttp, tenant: str) -> dict[str, dict[str, Any]]:
    return {r["type"]: r for r in fhir.get_ok(f"/fhir/{tenant}/metadata")["rest"][0]["resource"]}


def _a_patient(fhir: FhirHttp, tenant: str, resources: dict[str, dict[str, Any]]) -> str:
    needs_name = "requires one of" in resources["Patient"].get("documentation", "")
    params = {"family": "s", "_count": "30"} if needs_name else {"_count": "30"}
    bundle = fhir.get_ok(f"/fhir/{tenant}/Patient", params=params)
    return str(bundle["entry"][len(bundle["entry"]) // 2]["resource"]["id"])


@pytest.fixture(params=DEMO_TENANTS)
def tenant(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_everything_is_the_patient_and_each_types_search(fhir: FhirHttp, tenant: str) -> None:
    resources = _statement(fhir, tenant)
    assert resources["Patient"]["operation"][0]["name"] == "everything"
    patient = _a_patient(fhir, tenant, resources)
    per_patient = [
        t
        for t, r in resources.items()
        if t != "Patient" and any(p["name"] == "patient" for p in r.get("searchParam", []))
    ]
    expected = {("Patient", patient)}
    for rtype in per_patient:
        expected |= {(rtype, r["id"]) for r in fhir.search_all(f"/fhir/{tenant}/{rtype}", patient=patient)}
    got = fhir.search_all(f"/fhir/{tenant}/Patient/{patient}/$everything", _count=7)
    assert got[0]["resourceType"] == "Patient" and got[0]["id"] == patient
    keys = [(r["resourceType"], r["id"]) for r in got]
    assert len(keys) == len(set(keys)) and set(keys) == expected
    first = fhir.get_ok(f"/fhir/{tenant}/Patient/{patient}/$everything", params={"_count": "7"})
    if not playing_other_readings() or not any(e["search"]["mode"] == "outcome" for e in first["entry"]):
        assert first["total"] == len(expected)
    else:  # the vendor could not be asked for all of it (it refuses far dates): no total claimed
        assert "total" not in first


def test_type_filter_and_errors(fhir: FhirHttp) -> None:
    resources = _statement(fhir, "dentalpms")
    patient = _a_patient(fhir, "dentalpms", resources)
    only = fhir.search_all(f"/fhir/dentalpms/Patient/{patient}/$everything", _type="Observation")
    assert only and {r["resourceType"] for r in only} == {"Observation"}
    assert fhir.get(f"/fhir/dentalpms/Patient/{patient}/$everything", params={"_type": "Claim"}).status_code == 400
    assert fhir.get("/fhir/dentalpms/Patient/00000000-0000-4000-8000-000000000000/$everything").status_code == 404
    assert fhir.get(f"/fhir/dentalpms/Observation/{patient}/$everything").status_code == 404
    dated = fhir.search_all(f"/fhir/dentalpms/Patient/{patient}/$everything", start="2026-01-01", _type="Observation")
    assert all(o["effectiveDateTime"][:10] >= "2026-01-01" for o in dated)


def test_everything_is_invoked_by_post_with_parameters_as_by_get(fhir: FhirHttp) -> None:
    # R4 operations.html#request: an operation that changes nothing takes GET and POST, its
    # parameters in a Parameters resource (or a form) in the body.
    resources = _statement(fhir, "dentalpms")
    patient = _a_patient(fhir, "dentalpms", resources)
    url = f"/fhir/dentalpms/Patient/{patient}/$everything"
    by_get = fhir.get_ok(url, params={"_type": "Observation,AllergyIntolerance", "_count": "100"})
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "_type", "valueString": "Observation,AllergyIntolerance"},
            {"name": "_count", "valueInteger": 100},  # an integer, as the operation defines it
        ],
    }
    json_headers = {"Content-Type": "application/fhir+json"}
    by_post = fhir.request("POST", url, json=parameters, headers=json_headers)
    assert by_post.status_code == 200, by_post.text
    form = fhir.request("POST", url, data={"_type": "Observation,AllergyIntolerance", "_count": "100"})
    assert form.status_code == 200, form.text
    for answer in (by_post.json(), form.json()):
        assert [e["fullUrl"] for e in answer["entry"]] == [e["fullUrl"] for e in by_get["entry"]]
    not_parameters = fhir.request("POST", url, json={"resourceType": "Patient"}, headers=json_headers)
    assert not_parameters.status_code == 400
    assert fhir.request("POST", url).status_code == 200  # no body: no parameters
    formatted = {"resourceType": "Parameters", "parameter": [{"name": "_format", "valueString": "xml"}]}
    in_body = fhir.request("POST", url, json=formatted, headers=json_headers)
    assert in_body.status_code == 400 and "URL" in outcome_of(in_body)["issue"][0]["diagnostics"]
    stu3 = {"Content-Type": "application/fhir+json; fhirVersion=3.0"}
    assert fhir.request("POST", url, json=parameters, headers=stu3).status_code == 415


def test_start_and_end_are_care_dates_for_documents_too(fhir: FhirHttp) -> None:
    # Patient-$everything: start/end "relate to care dates, not record currency dates". A CCD
    # generated for a visit is made now, but records the visit: it goes with the visit's dates.
    resources = _statement(fhir, "nextvisit")
    patient = _a_patient(fhir, "nextvisit", resources)
    encounters = fhir.search_all("/fhir/nextvisit/Encounter", patient=patient)
    happened = [e for e in encounters if e["status"] == "finished" and e.get("period", {}).get("start")]
    dated = sorted(happened, key=lambda e: e["period"]["start"])  # a visit to come has no CCD
    assert len(dated) >= 2
    visit, last = dated[0], dated[-1]
    day = visit["period"]["start"][:10]
    got = fhir.search_all(f"/fhir/nextvisit/Patient/{patient}/$everything", start=day, end=day)
    keys = {(r["resourceType"], r["id"]) for r in got}
    assert ("Encounter", visit["id"]) in keys and ("DocumentReference", f"ccd-e.{visit['id']}") in keys
    later = last["period"]["start"][:10]
    assert later > day
    after = fhir.search_all(f"/fhir/nextvisit/Patient/{patient}/$everything", start=later, _type="DocumentReference")
    documents = {r["id"] for r in after}
    assert f"ccd-e.{last['id']}" in documents and f"ccd-e.{visit['id']}" not in documents
    refused = fhir.get(
        f"/fhir/nextvisit/Patient/{patient}/$everything", params={"start": "soon", "_type": "DocumentReference"}
    )
    assert refused.status_code == 400
