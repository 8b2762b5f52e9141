"""Conformance checks every demo tenant gets for free: one suite, parametrized by tenant.

- the CapabilityStatement is valid and honest both ways: every declared search parameter,
  modifier and sort works under `Prefer: handling=strict`, and undeclared ones are refused;
- every declared resource type's read and search work, and everything they return passes
  `conformance.check_resource` (the client in tests.support checks each response).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import check_capability_statement, require_conformance_data
from tests.conftest import DEMO_TENANTS, RunningGateway
from tests.support.fhir_http import FhirHttp

STRICT = {"Prefer": "handling=strict"}
SAMPLE_VALUE = {"string": "a", "token": "x", "date": "ge2000-01-01", "reference": None}


@pytest.fixture(scope="module", params=DEMO_TENANTS)
def tenant(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def capability(gateway: RunningGateway, tenant: str) -> dict[str, Any]:
    client = FhirHttp(gateway.url)
    try:
        return client.get_ok(f"/fhir/{tenant}/metadata")
    finally:
        client.close()


@pytest.fixture(scope="module")
def a_patient(gateway: RunningGateway, tenant: str) -> str:
    client = FhirHttp(gateway.url)
    try:
        statement = client.get_ok(f"/fhir/{tenant}/metadata")
        patient = _resources(statement)["Patient"]
        bundle = client.get_ok(f"/fhir/{tenant}/Patient", params={"_count": "50", **_required(patient, "")})
    finally:
        client.close()
    # A patient with vital signs and allergies makes the sub-resource checks meaningful.
    return str(bundle["entry"][len(bundle["entry"]) // 2]["resource"]["id"])


def _resources(capability: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["type"]: r for r in capability["rest"][0]["resource"]}


def test_capability_statement_is_valid(capability: dict[str, Any]) -> None:
    require_conformance_data()
    assert check_capability_statement(capability) == []


def _required(resource: dict[str, Any], patient_id: str) -> dict[str, str]:
    """Parameters that satisfy what the statement says a search of this type requires."""
    docs = resource.get("documentation", "")
    if "requires one of:" not in docs:
        return {}
    names = [n.strip() for n in docs.split("requires one of:")[1].split(".")[0].split(",")]
    if "patient" in names and patient_id:
        return {"patient": patient_id}
    if "family" in names:
        return {"family": "s"}
    return {}


def test_every_declared_search_parameter_works_strictly(
    fhir: FhirHttp, tenant: str, capability: dict[str, Any], a_patient: str
) -> None:
    for rtype, resource in _resources(capability).items():
        base = _required(resource, a_patient)
        for param in resource.get("searchParam", []):
            target = "Encounter" if param["name"] == "encounter" else "Patient"
            value = SAMPLE_VALUE[param["type"]] or f"{target}/{a_patient}"
            if param["name"] == "_id":
                value = a_patient if rtype == "Patient" else "x"
            if param["name"] == "active":  # a boolean: another value is malformed (400)
                value = "true"
            params = {**base, param["name"]: value}
            response = fhir.get(f"/fhir/{tenant}/{rtype}", params=params, headers=STRICT)
            assert response.status_code == 200, (rtype, param["name"], response.text)
            for modifier in ("exact", "contains"):
                if f":{modifier}" in param.get("documentation", ""):
                    response = fhir.get(
                        f"/fhir/{tenant}/{rtype}", params={**base, f"{param['name']}:{modifier}": "a"}, headers=STRICT
                    )
                    assert response.status_code == 200, (rtype, param["name"], modifier)


def test_declared_sorts_work_and_others_are_refused(fhir: FhirHttp, tenant: str, capability: dict[str, Any]) -> None:
    for rtype, resource in _resources(capability).items():
        docs = resource.get("documentation", "")
        if "_sort:" not in docs or "requires one of" in docs:
            continue
        declared = [s.strip().split(" ")[0] for s in docs.split("_sort:")[1].split(".")[0].split(",")]
        for key in declared:
            for spelled in (key, f"-{key}"):
                response = fhir.get(f"/fhir/{tenant}/{rtype}", params={"_sort": spelled, "_count": "3"}, headers=STRICT)
                assert response.status_code == 200, (rtype, spelled, response.text)
        refused = fhir.get(f"/fhir/{tenant}/{rtype}", params={"_sort": "no-such-key"}, headers=STRICT)
        assert refused.status_code == 400


def test_undeclared_parameters_are_refused_strictly(fhir: FhirHttp, tenant: str, capability: dict[str, Any]) -> None:
    for rtype, resource in _resources(capability).items():
        response = fhir.get(f"/fhir/{tenant}/{rtype}", params={"not-a-parameter": "1"}, headers=STRICT)
        if "search-type" not in {i["code"] for i in resource["interaction"]}:
            assert response.status_code == 405  # no search at all: the method is what is refused
            continue
        assert response.status_code == 400
        assert response.json()["issue"][0]["code"] in ("not-supported", "invalid")


def test_undeclared_types_are_not_served(fhir: FhirHttp, tenant: str, capability: dict[str, Any]) -> None:
    for rtype in {"Practitioner", "Condition", "Encounter", "Immunization"} - set(_resources(capability)):
        assert fhir.get(f"/fhir/{tenant}/{rtype}").status_code == 404


def test_every_declared_type_reads_and_searches_conformantly(
    fhir: FhirHttp, tenant: str, capability: dict[str, Any], a_patient: str
) -> None:
    require_conformance_data()
    assert fhir.checks, "the test client must be validating responses"
    for rtype, resource in _resources(capability).items():
        interactions = {i["code"] for i in resource["interaction"]}
        params = _required(resource, a_patient) or {"_count": "25"}
        found = fhir.search_all(f"/fhir/{tenant}/{rtype}", **params) if "search-type" in interactions else []
        for item in found[:10]:
            if "read" in interactions:
                assert fhir.get_ok(f"/fhir/{tenant}/{rtype}/{item['id']}")["id"] == item["id"]
            # Where vread (of the current version) or versioning is declared, it works. A type
            # of generated and vendor documents together declares neither.
            version = item.get("meta", {}).get("versionId")
            if "vread" in interactions or resource["versioning"] != "no-version":
                assert version is not None, (rtype, item["id"])
                vread = fhir.get_ok(f"/fhir/{tenant}/{rtype}/{item['id']}/_history/{version}")
                assert vread["meta"]["versionId"] == version
            for profile in item.get("meta", {}).get("profile", []):
                assert profile in resource.get("supportedProfile", []), (rtype, profile)


def test_encounter_ccd_is_declared_and_works(fhir: FhirHttp, tenant: str, capability: dict[str, Any]) -> None:
    """The statement lists `Encounter/[id]/$ccd` wherever the route answers, with its `section`,
    and nowhere else."""
    resources = _resources(capability)
    if "Encounter" not in resources:  # no encounter, no encounter document: nothing declares one
        assert not [(t, o["name"]) for t, r in resources.items() for o in r.get("operation", []) if o["name"] == "ccd"]
        return
    operations = {o["name"]: o for o in resources["Encounter"].get("operation", [])}
    assert "ccd" in operations, resources["Encounter"].get("operation")
    assert operations["ccd"]["definition"].startswith(capability["implementation"]["url"])
    assert "section" in operations["ccd"]["documentation"]
    # A finished visit of one of the tenant's patients (a planned one is a 422: nothing happened yet).
    patients = fhir.get_ok(f"/fhir/{tenant}/Patient", params={"_count": "50", **_required(resources["Patient"], "")})
    finished: list[dict[str, Any]] = []
    for entry in patients["entry"]:
        params = _required(resources["Encounter"], entry["resource"]["id"])
        finished = [e for e in fhir.search_all(f"/fhir/{tenant}/Encounter", **params) if e.get("status") == "finished"]
        if finished:
            break
    assert finished, f"no finished encounter among {tenant}'s first 50 patients"
    response = fhir.get(f"/fhir/{tenant}/Encounter/{finished[0]['id']}/$ccd", params={"section": "allergies"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
