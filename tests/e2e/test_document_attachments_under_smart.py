"""A caller confined to one patient follows every attachment of the documents it may read, on
every tenant: the vendor's own CCDs (Nextech's, their sections) as well as the generated ones.
R4 Binary.securityContext names what guards a vendor's Binary; one naming nothing would be
refused to every confined caller, a document listed whose content cannot be opened."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.app import create_app
from gateway.settings import DEMO_CONFIG, load_settings
from mappings.registry import VENDORS
from sandboxes.registry import SANDBOXES
from tests.support.fake_vendor import TestClient
from tests.support.smart import PUBLIC_BASE, Issuer, smart_settings

TENANTS = sorted(load_settings(DEMO_CONFIG).tenants)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return Issuer.in_dir(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def client(issuer: Issuer) -> Iterator[TestClient]:
    settings = smart_settings(issuer, load_settings(DEMO_CONFIG).tenants)
    with TestClient(create_app(settings, VENDORS, SANDBOXES), base_url=PUBLIC_BASE) as running:
        yield running


def _documents(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == "DocumentReference"]


def _patient_with_documents(client: TestClient, issuer: Issuer, tenant: str) -> tuple[str, list[str]]:
    """A patient whose DocumentReferences include a vendor's own (not `ccd-`) one if the tenant
    has any, and the attachment URLs of that patient's documents."""
    everyone = issuer.headers(tenant, "system/*.rs")
    listed = client.get(f"/fhir/{tenant}/Patient", params={"_count": "40"}, headers=everyone)
    if listed.status_code == 400:  # a tenant that searches patients by a term (Nextech's) needs one
        listed = client.get(f"/fhir/{tenant}/Patient", params={"_count": "40", "name": "a"}, headers=everyone)
    patients = listed.json()
    fallback: tuple[str, list[str]] | None = None
    for entry in patients.get("entry", []):
        patient = entry["resource"]["id"]
        bundle = client.get(f"/fhir/{tenant}/DocumentReference", params={"patient": patient}, headers=everyone)
        assert bundle.status_code == 200, bundle.text
        documents = _documents(bundle.json())
        urls = [c["attachment"]["url"] for d in documents for c in d["content"]]
        if any(not d["id"].startswith("ccd-") for d in documents):
            return patient, urls
        fallback = fallback or ((patient, urls) if urls else None)
    assert fallback is not None, f"{tenant}: no patient with a document among the first 40"
    return fallback


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize("scope", ["patient/*.rs", "patient/DocumentReference.rs patient/Patient.r"])
def test_a_patient_app_opens_every_attachment_of_its_patients_documents(
    client: TestClient, issuer: Issuer, tenant: str, scope: str
) -> None:
    patient, urls = _patient_with_documents(client, issuer, tenant)
    confined = issuer.headers(tenant, f"launch/patient {scope}", patient=patient)
    bundle = client.get(f"/fhir/{tenant}/DocumentReference", params={"patient": patient}, headers=confined)
    assert bundle.status_code == 200, bundle.text
    listed = [c["attachment"]["url"] for d in _documents(bundle.json()) for c in d["content"]]
    assert sorted(listed) == sorted(urls) and listed
    for url in listed:
        opened = client.get(f"/fhir/{tenant}/{url}", headers={**confined, "Accept": "application/fhir+json"})
        if opened.status_code == 502 and opened.json()["issue"][0]["code"] == "incomplete":
            continue  # a vendor reading that cannot give the record whole: refused so, to everyone
        assert opened.status_code == 200, (url, opened.text)
        if "_format=" not in url:  # else the format it names (a CCD's HTML page)
            assert opened.json()["resourceType"] == "Binary"


def test_a_visits_ccd_out_of_a_document_scope_looks_missing_as_the_visit(client: TestClient, issuer: Issuer) -> None:
    # The caller named Encounter/<id>/$ccd, never a Binary: the 404 names what it asked for.
    tenant = "nextvisit"
    everyone = issuer.headers(tenant, "system/*.rs")
    patient = client.get(f"/fhir/{tenant}/Patient", params={"_count": "20"}, headers=everyone).json()
    visit = None
    for entry in patient["entry"]:
        found = client.get(f"/fhir/{tenant}/Encounter", params={"patient": entry["resource"]["id"]}, headers=everyone)
        visits = [e["resource"] for e in found.json().get("entry", []) if e["resource"].get("status") == "finished"]
        if visits:
            visit = visits[0]
            break
    assert visit is not None
    owner = visit["subject"]["reference"].removeprefix("Patient/")
    other_documents = "patient/Encounter.rs patient/DocumentReference.rs?category=http://loinc.org|11506-3"
    headers = issuer.headers(tenant, f"launch/patient {other_documents}", patient=owner)
    answer = client.get(f"/fhir/{tenant}/Encounter/{visit['id']}/$ccd", headers=headers)
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["diagnostics"] == f"Encounter/{visit['id']} does not exist"
    allowed = issuer.headers(tenant, "launch/patient patient/Encounter.rs patient/DocumentReference.rs", patient=owner)
    assert client.get(f"/fhir/{tenant}/Encounter/{visit['id']}/$ccd", headers=allowed).status_code == 200
