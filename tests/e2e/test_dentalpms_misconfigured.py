"""A Dental PMS tenant pointed at an organization the vendor does not have (a wrong `org_id`,
or a `base_url` missing a path segment) is a misconfiguration, not missing data: the vendor
answers 404 for its whole patient list, which is not "no such patient" nor "no matches".

A read of one patient, or a search of a patient's records, meets the same 404 for the
patient itself, which a service may spell exactly as its 404 for an unknown path (Spring
Boot's default error body names only the status and the path): taken as "no such patient",
a clinic's known patient read as 404 and its allergies as an empty searchset.

A practice without a single patient, under a vendor that answers 404 for a list matching no one,
gets that 404 for its list of every patient too: it is no misconfiguration (its patient counts
answer, or, from a vendor without the counts, its typeahead search), and it gets empty
searchsets and its first patient.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import httpx
import pytest

from gateway.contract import Sandbox
from sandboxes.clinic import Clinic, build_clinic
from sandboxes.dentalpms import create_sandbox
from tests.support.clinic import live_patients
from tests.support.fhir_http import outcome_of
from tests.support.variants import gateway_over, vendor_calls

BASE = "/fhir/dentalpms"


def _says_configuration(response: httpx.Response, what: object) -> None:
    assert response.status_code == 502, (what, response.text)
    diagnostics = outcome_of(response)["issue"][0]["diagnostics"]
    assert "org_id" in diagnostics and "base_url" in diagnostics, diagnostics


@pytest.mark.parametrize("empty_lists", ["page", "not_found"])
def test_a_patient_list_the_vendor_does_not_have_is_a_502_naming_the_configuration(empty_lists: str) -> None:
    # A vendor may answer 404 for a list matching no one (`NotFound()`): its 404 for every
    # patient list, here under Spring Boot's error body, still says the tenant is misconfigured.
    sandbox = partial(create_sandbox, empty_lists=empty_lists, error_bodies="spring")
    with gateway_over("dentalpms", sandbox, options={"org_id": "not-this-practice"}) as running:
        for params in ({}, {"family": "smith"}, {"birthdate": "1980-01-01"}):
            _says_configuration(running.fhir.get(f"{BASE}/Patient", params=params), params)


@pytest.mark.parametrize(
    "path",
    [
        "Patient/{id}",
        "AllergyIntolerance?patient={id}",
        "Condition?patient={id}",
        "MedicationStatement?patient={id}",
        "Observation?patient={id}",
        "Patient/{id}/$everything",
    ],
)
def test_a_patient_of_an_organization_the_vendor_does_not_have_is_no_missing_patient(path: str) -> None:
    patient = str(live_patients(build_clinic())[0].uuid)
    with gateway_over("dentalpms", create_sandbox, options={"org_id": "not-this-practice"}) as running:
        _says_configuration(running.fhir.get(f"{BASE}/{path.format(id=patient)}"), path)


@pytest.mark.parametrize("path", ["Patient/{id}", "AllergyIntolerance?patient={id}", "Patient/{id}/$everything"])
def test_a_base_url_missing_a_segment_is_no_missing_patient_when_the_404_echoes_the_path(path: str) -> None:
    # Laravel's router answers a path it does not have with "The route
    # api/<org_id>/patients/<uuid> could not be found.": before, the "patients" of the echoed
    # path was read as the documented "Patient not found", and a known patient was a 404 (its
    # allergies an empty searchset) instead of a misconfiguration.
    patient = str(live_patients(build_clinic())[0].uuid)

    def short_base() -> Sandbox:
        return replace(create_sandbox(error_bodies="laravel"), base_path="/api")

    with gateway_over("dentalpms", short_base) as running:
        _says_configuration(running.fhir.get(f"{BASE}/{path.format(id=patient)}"), path)


def test_an_unknown_patient_of_the_right_organization_is_still_not_found() -> None:
    with gateway_over("dentalpms", create_sandbox) as running:
        unknown = "00000000-0000-4000-8000-000000000000"
        response = running.fhir.get(f"{BASE}/Patient/{unknown}")
        assert response.status_code == 404, response.text
        assert outcome_of(response)["issue"][0]["code"] == "not-found"
        response = running.fhir.get(f"{BASE}/AllergyIntolerance", params={"patient": unknown})
        assert response.status_code == 200 and response.json().get("total", 0) == 0, response.text


@pytest.mark.parametrize(("error_bodies", "calls"), [("fastapi", 1), ("spring", 2)])
def test_a_patient_the_vendor_says_it_does_not_have_costs_no_second_call(error_bodies: str, calls: int) -> None:
    # The documented 404 says "Patient not found": the organization is there, and asking its
    # patient list as well only doubles what every read of a missing patient costs. A 404
    # that says nothing of the patient (Spring Boot's reason phrase) is asked about.
    unknown = "00000000-0000-4000-8000-000000000000"
    sandbox = partial(create_sandbox, error_bodies=error_bodies)
    with gateway_over("dentalpms", sandbox) as running:
        before = vendor_calls(running.fhir, "dentalpms")
        response = running.fhir.get(f"{BASE}/Patient/{unknown}")
        assert response.status_code == 404, response.text
        assert vendor_calls(running.fhir, "dentalpms") - before == calls


def _without_patients() -> Clinic:
    return replace(build_clinic(), patients=(), awkward=())


@pytest.mark.parametrize(
    ("error_bodies", "counts_endpoint"),
    [
        ("fastapi", "served"),
        ("spring", "served"),
        ("spring", "absent"),
        ("spring", "not_implemented"),
        ("problem_details", "absent"),
    ],
)
def test_a_practice_without_patients_is_empty_and_takes_its_first_patient(
    error_bodies: str, counts_endpoint: str
) -> None:
    # A vendor answering 404 for a list matching no one (`NotFound()`) answers it for the list of
    # every patient of a practice that has none yet, under Spring Boot's error body the very 404
    # of a wrong org_id or base_url. Before, that was taken for a misconfigured tenant: every
    # search a 502, a conditional create too, and the practice could not get its first patient;
    # and so it still was from a vendor without the counts by location (skipped: a 404, or a
    # stub's 501), the one answer that told such a practice apart.
    switches = {"empty_lists": "not_found", "error_bodies": error_bodies, "counts_endpoint": counts_endpoint}
    sandbox = partial(create_sandbox, _without_patients(), **switches)
    with gateway_over("dentalpms", sandbox) as running:
        fhir = running.fhir
        for params in ({}, {"family": "smith"}, {"birthdate": "1980-01-01"}, {"identifier": "C00001"}):
            response = fhir.get(f"{BASE}/Patient", params=params)
            assert response.status_code == 200, (params, response.text)
            assert response.json().get("entry", []) == [] and response.json()["total"] == 0, params
        unknown = "00000000-0000-4000-8000-000000000000"
        assert fhir.get(f"{BASE}/Patient/{unknown}").status_code == 404
        allergies = fhir.get(f"{BASE}/AllergyIntolerance", params={"patient": unknown})
        assert allergies.status_code == 200 and allergies.json()["total"] == 0, allergies.text
        first = {
            "resourceType": "Patient",
            "name": [{"family": "Firstpatient", "given": ["Ada"]}],
            "gender": "female",
            "birthDate": "1990-02-03",
        }
        headers = {"Content-Type": "application/fhir+json", "If-None-Exist": "family=Firstpatient&birthdate=1990-02-03"}
        created = fhir.request("POST", f"{BASE}/Patient", json=first, headers=headers)
        assert created.status_code == 201, created.text
        found = fhir.search_all(f"{BASE}/Patient", family="Firstpatient")
        assert [p["id"] for p in found] == [created.json()["id"]]


@pytest.mark.parametrize("counts_endpoint", ["served", "absent"])
@pytest.mark.parametrize("misconfigured", ["org_id", "base_url"])
def test_a_misconfigured_tenant_of_a_practice_without_patients_is_still_a_502(
    misconfigured: str, counts_endpoint: str
) -> None:
    def sandbox() -> Sandbox:
        switches = {"empty_lists": "not_found", "error_bodies": "spring", "counts_endpoint": counts_endpoint}
        made = create_sandbox(_without_patients(), **switches)
        return replace(made, base_path="/api") if misconfigured == "base_url" else made

    options = {"org_id": "not-this-practice"} if misconfigured == "org_id" else {}
    with gateway_over("dentalpms", sandbox, **({"options": options} if options else {})) as running:
        for params in ({}, {"family": "smith"}):
            _says_configuration(running.fhir.get(f"{BASE}/Patient", params=params), params)
        _says_configuration(running.fhir.get(f"{BASE}/Patient/00000000-0000-4000-8000-000000000000"), "read")
