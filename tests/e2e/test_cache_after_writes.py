"""The response cache after the gateway's own writes, over the Dental PMS simulator: a record
served inside its patient (an allergy) answers as the vendor would once the patient is deleted
through the gateway, not from an entry cached before the delete."""

from __future__ import annotations

from sandboxes.dentalpms import create_sandbox
from tests.support.variants import gateway_over

BASE = "/fhir/dentalpms"


def test_a_deleted_patients_records_are_not_served_from_the_cache() -> None:
    with gateway_over("dentalpms", create_sandbox, cache={"enabled": True, "ttl": 60}) as running:
        fhir = running.fhir
        patients = [e["resource"]["id"] for e in fhir.get_ok(f"{BASE}/Patient", params={"_count": 50})["entry"]]
        allergies = {
            p: fhir.get_ok(f"{BASE}/AllergyIntolerance", params={"patient": p}).get("entry", []) for p in patients
        }
        patient, found = next((p, entries) for p, entries in allergies.items() if entries)
        allergy = found[0]["resource"]["id"]
        assert fhir.get(f"{BASE}/AllergyIntolerance/{allergy}").status_code == 200  # now cached
        assert fhir.request("DELETE", f"{BASE}/Patient/{patient}").status_code == 204
        assert fhir.get(f"{BASE}/Patient/{patient}").status_code == 410
        # As without a cache: the allergy belongs to a deleted patient (RFC 9110 section 15.5.11).
        assert fhir.get(f"{BASE}/AllergyIntolerance/{allergy}").status_code == 410
