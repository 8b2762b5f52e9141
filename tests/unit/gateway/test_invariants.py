"""The R4 invariants a resource sent to be written must meet beyond its model
(gateway/rest/invariants.py), and the 400 that names them before any vendor call."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.rest.invariants import invariant_problems
from tests.support.fake_vendor import BASE, CREATE, FakeBackend, TestClient, outcome

FHIR_JSON = {"Content-Type": "application/fhir+json"}
PATIENT: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": "Inv", "given": ["Ann"]}]}
MARK = {"url": "http://example.org/x", "valueString": "v"}
NOT_REALLY = [{"url": "http://example.org/x", "valueString": "v", "extension": [{"url": "y", "valueString": "z"}]}]


def _paths(resource: dict[str, Any]) -> list[str]:
    return [where for _, where in invariant_problems(resource)]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"address": [{}]}, ["Patient.address[0]"]),  # ele-1
        ({"maritalStatus": {}}, ["Patient.maritalStatus"]),
        ({"telecom": []}, ["Patient.telecom"]),  # json.html: no empty array
        ({"gender": None}, ["Patient.gender"]),  # json.html: no null
        ({"name": [None]}, ["Patient.name[0]"]),
        ({"extension": NOT_REALLY}, ["Patient.extension[0]"]),  # ext-1
        ({"name": [{"family": "Inv", "extension": NOT_REALLY}]}, ["Patient.name[0].extension[0]"]),
        ({"contact": [{"gender": "male"}]}, ["Patient.contact[0]"]),  # pat-1
        (
            {
                "contained": [{"resourceType": "Organization", "id": "o", "contained": [{"resourceType": "Basic"}]}],
                "managingOrganization": {"reference": "#o"},
            },
            ["Patient.contained[0].contained"],  # dom-2
        ),
        ({"contained": [{"resourceType": "Organization", "id": "o", "name": "Unused"}]}, ["Patient.contained[0]"]),
        ({"contained": [{"resourceType": "Organization", "name": "No id"}]}, ["Patient.contained[0]"]),  # dom-3
        (
            {
                "contained": [{"resourceType": "Organization", "id": "o", "meta": {"versionId": "3"}}],
                "managingOrganization": {"reference": "#o"},
            },
            ["Patient.contained[0].meta.versionId"],  # dom-4
        ),
        ({"managingOrganization": {"reference": "#missing"}}, ["Patient"]),  # ref-1
        (
            {
                "contained": [{"resourceType": "Organization", "id": "o", "partOf": {"reference": "#gone"}}],
                "managingOrganization": {"reference": "#o"},
            },
            ["Patient"],
        ),
    ],
)
def test_each_invariant_broken_is_named_by_its_path(extra: dict[str, Any], named: list[str]) -> None:
    assert _paths({**PATIENT, **extra}) == named


@pytest.mark.parametrize(
    "extra",
    [
        {},
        # json.html#primitive: a null in a primitive array lined up with its `_` twin
        {"name": [{"family": "Inv", "given": [None, "Ann"], "_given": [{"extension": [MARK]}, None]}]},
        {"extension": [{"url": "http://example.org/x", "extension": [{"url": "y", "valueString": "z"}]}]},
        {"contact": [{"organization": {"reference": "Organization/1"}}]},
        {
            "contained": [{"resourceType": "Organization", "id": "o", "name": "Clinic"}],
            "managingOrganization": {"reference": "#o"},
        },
        {"contained": [{"resourceType": "Provenance", "id": "p", "target": [{"reference": "#"}]}]},  # refers back
        {  # referenced from another contained resource, which the patient references
            "contained": [
                {"resourceType": "Organization", "id": "o", "partOf": {"reference": "#p"}},
                {"resourceType": "Organization", "id": "p", "name": "Parent"},
            ],
            "managingOrganization": {"reference": "#o"},
        },
    ],
)
def test_a_resource_meeting_them_passes(extra: dict[str, Any]) -> None:
    assert _paths({**PATIENT, **extra}) == []


def test_a_body_breaking_them_is_a_400_naming_each_and_nothing_is_written(
    client: TestClient, backend: FakeBackend
) -> None:
    body = {**PATIENT, "address": [{}], "extension": NOT_REALLY, "contact": [{"gender": "male"}]}
    refused = outcome(client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON), 400)
    assert [issue["expression"] for issue in refused["issue"]] == [
        ["Patient.address[0]"],
        ["Patient.extension[0]"],
        ["Patient.contact[0]"],
    ]
    assert "ext-1" in refused["issue"][1]["diagnostics"]
    assert backend.calls_to("Patient", CREATE) == 0
