"""The CapabilityStatement says exactly what the fake vendor's providers do, and the routes agree."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.contract import Interaction, Pushdown, ResourceSupport
from gateway.rest.capability import capability_statement
from tests.support.fake_vendor import (
    BASE,
    DEFAULT_PATIENT_PARAMS,
    FakeBackend,
    TestClient,
    fake_gateway,
    fake_settings,
    ok,
)


def _resources(client: TestClient) -> dict[str, dict[str, Any]]:
    statement = ok(client.get(f"{BASE}/metadata"))
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    assert statement["kind"] == "instance" and statement["implementation"]["url"] == f"http://testserver{BASE}"
    return {r["type"]: r for r in statement["rest"][0]["resource"]}


def _interactions(resource: dict[str, Any]) -> list[str]:
    return [i["code"] for i in resource["interaction"]]


def _params(resource: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["type"] for p in resource.get("searchParam", [])}


def test_the_types_are_the_fakes_and_the_generated_documents(client: TestClient) -> None:
    assert list(_resources(client)) == ["Patient", "Observation", "DocumentReference", "Binary"]


def test_interactions_are_exactly_the_providers_handlers(client: TestClient) -> None:
    resources = _resources(client)
    assert _interactions(resources["Patient"]) == ["read", "search-type", "create", "update", "delete"]
    assert _interactions(resources["Observation"]) == ["read", "search-type"]
    assert _interactions(resources["Binary"]) == ["read"]
    assert resources["Patient"]["versioning"] == "versioned-update" and resources["Patient"]["conditionalCreate"]
    assert resources["Observation"]["versioning"] == "no-version" and not resources["Observation"]["conditionalCreate"]


def test_search_parameters_are_the_declared_ones_plus_the_generic_ones(client: TestClient) -> None:
    resources = _resources(client)
    assert _params(resources["Patient"]) == {
        "_id": "token",
        "_lastUpdated": "date",
        "family": "string",
        "given": "string",
        "gender": "token",
        "birthdate": "date",
        "identifier": "token",
        "active": "token",
    }
    assert _params(resources["Observation"]) == {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "date": "date",
        "status": "token",
    }
    assert "searchParam" not in resources["Binary"]


def test_each_parameter_says_who_evaluates_it(client: TestClient) -> None:
    documented = {p["name"]: p["documentation"] for p in _resources(client)["Patient"]["searchParam"]}
    assert documented["family"].endswith("evaluated by the vendor")
    assert documented["given"].endswith("narrowed by the vendor, finished by the gateway")
    assert documented["birthdate"].endswith("evaluated by the gateway")
    assert documented["_lastUpdated"].endswith("evaluated by the gateway")
    assert "modifiers: :contains, :exact" in documented["family"]


def test_requirements_sorts_and_operations_are_documented(client: TestClient) -> None:
    resources = _resources(client)
    assert "Search requires one of: _id, patient, subject." in resources["Observation"]["documentation"]
    assert "_sort: family / -family." in resources["Patient"]["documentation"]
    assert resources["Patient"]["operation"][0]["name"] == "everything"


def test_the_statement_follows_the_declarations(backend: FakeBackend) -> None:
    backend.patient_params = {"family": Pushdown.GATEWAY}
    with fake_gateway(backend) as client:
        patient = _resources(client)["Patient"]
    assert _params(patient) == {"_id": "token", "_lastUpdated": "date", "family": "string"}
    assert patient["searchParam"][2]["documentation"].endswith("evaluated by the gateway")


def test_paging_limits_are_stated(backend: FakeBackend) -> None:
    with fake_gateway(backend, fake_settings(default_count=7, max_count=70)) as client:
        documentation = ok(client.get(f"{BASE}/metadata"))["rest"][0]["documentation"]
    assert "Bundles of 7 entries by default; _count is capped at 70" in documentation


_TYPE_METHODS = {"search-type": "GET", "create": "POST"}
_INSTANCE_METHODS = {"read": "GET", "update": "PUT", "delete": "DELETE"}


@pytest.mark.parametrize("resource_type", ["Patient", "Observation", "DocumentReference", "Binary"])
def test_allow_headers_agree_with_the_statement(client: TestClient, resource_type: str) -> None:
    interactions = set(_interactions(_resources(client)[resource_type]))
    for path, table in ((f"/{resource_type}", _TYPE_METHODS), (f"/{resource_type}/x1", _INSTANCE_METHODS)):
        expected = {method for code, method in table.items() if code in interactions}
        if "GET" in expected:
            expected.add("HEAD")
        allow = client.request("PATCH", f"{BASE}{path}").headers["allow"]
        assert {m.strip() for m in allow.split(",") if m.strip()} == expected, path


def test_the_default_fake_declares_every_pushdown_kind() -> None:
    assert set(DEFAULT_PATIENT_PARAMS.values()) == set(Pushdown)


def _statement(*types: ResourceSupport) -> dict[str, dict[str, Any]]:
    statement = capability_statement("t", "https://gw.example/fhir/t", {r.type: r for r in types}, 10, 100)
    return {r["type"]: r for r in statement["rest"][0]["resource"]}


_READ = frozenset({Interaction.READ})


def test_encounter_ccd_is_declared_where_it_works() -> None:
    resources = _statement(ResourceSupport("Patient", _READ), ResourceSupport("Encounter", _READ))
    [ccd] = resources["Encounter"]["operation"]
    assert ccd["name"] == "ccd" and ccd["definition"] == "https://gw.example/fhir/t/OperationDefinition/Encounter-ccd"
    assert "Parameter section" in ccd["documentation"] and "allergies" in ccd["documentation"]
    # $ccd reads the encounter's patient: without Patient read there is no CCD to declare.
    assert "operation" not in _statement(ResourceSupport("Encounter", _READ))["Encounter"]
