"""A Dental PMS tenant pointed at an organization the vendor does not have (a wrong `org_id`,
or a `base_url` missing a path segment) is a misconfiguration, not missing data: the vendor
answers 404 for its whole patient list, which is not "no such patient" nor "no matches".
"""

from __future__ import annotations

from sandboxes.dentalpms import create_sandbox
from tests.support.fhir_http import outcome_of
from tests.support.variants import gateway_over

BASE = "/fhir/dentalpms"


def test_a_patient_list_the_vendor_does_not_have_is_a_502_naming_the_configuration() -> None:
    with gateway_over("dentalpms", create_sandbox, options={"org_id": "not-this-practice"}) as running:
        for params in ({}, {"family": "smith"}, {"birthdate": "1980-01-01"}):
            response = running.fhir.get(f"{BASE}/Patient", params=params)
            assert response.status_code == 502, (params, response.text)
            diagnostics = outcome_of(response)["issue"][0]["diagnostics"]
            assert "org_id" in diagnostics and "base_url" in diagnostics, diagnostics
