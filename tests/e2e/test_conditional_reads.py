"""What each demo tenant's CapabilityStatement claims of conditional reads
(`CapabilityStatement.rest.resource.conditionalRead`), held to by a read of each type a
patient's `$everything` holds: a copy the client has is a 304, not the record again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DEMO_TENANTS
from tests.e2e.test_everything import _a_patient, _statement
from tests.support.fhir_http import FhirHttp


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_each_type_answers_304_as_its_conditional_read_claims(fhir: FhirHttp, tenant: str) -> None:
    resources = _statement(fhir, tenant)
    patient = _a_patient(fhir, tenant, resources)
    everything = fhir.search_all(f"/fhir/{tenant}/Patient/{patient}/$everything")
    held: dict[str, dict[str, Any]] = {}
    for resource in everything:
        held.setdefault(resource["resourceType"], resource)
    assert "Patient" in held
    for rtype, resource in held.items():
        claim = resources[rtype]["conditionalRead"]
        url = f"/fhir/{tenant}/{rtype}/{resource['id']}"
        first = fhir.get(url, headers={"Accept": "application/fhir+json"})
        assert first.status_code == 200, (rtype, first.status_code)
        etag, modified = first.headers.get("ETag"), first.headers.get("Last-Modified")
        # Each validator the claim names is given, to send back (R4 ConditionalReadStatus). A
        # type mixing generated documents with the vendor's claims nothing, though the vendor's
        # own may still be answered 304.
        if claim in ("full-support", "not-match"):
            assert etag is not None, (rtype, claim)
        if claim in ("full-support", "modified-since"):
            assert modified is not None, (rtype, claim)
        if etag is not None:
            again = fhir.get(url, headers={"Accept": "application/fhir+json", "If-None-Match": etag})
            assert again.status_code == 304 and again.content == b"", (rtype, again.status_code)
        if modified is not None:
            again = fhir.get(url, headers={"Accept": "application/fhir+json", "If-Modified-Since": modified})
            assert again.status_code == 304, (rtype, again.status_code)
