"""What an attacker tried against the SMART layer and got through, each now refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import AuditSettings, TenantSettings
from tests.support.fake_vendor import (
    BASE,
    FAKE,
    FAKE_URL,
    TENANT,
    FakeBackend,
    TestClient,
    fake_gateway,
    ids,
    link,
    ok,
    outcome,
)
from tests.support.smart import Issuer, smart_settings

JSON = {"Content-Type": "application/fhir+json"}
MRN = {"system": "urn:fake:mrn", "value": "MRN-1"}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return Issuer.in_dir(tmp_path_factory.mktemp("issuer"))


@pytest.fixture
def backend() -> FakeBackend:
    backend = FakeBackend(refuse_duplicates=True)
    backend.add_patient("p1", family="Okafor", identifier="MRN-1", telecom=[{"system": "phone", "value": "555-0100"}])
    backend.add_patient("p2", family="Nguyen")
    for n in range(4):
        backend.add_observation("p1", f"o1{n}")
    return backend


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def client(backend: FakeBackend, issuer: Issuer, trail: Path) -> Iterator[TestClient]:
    settings = smart_settings(issuer, {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)})
    with fake_gateway(backend, settings.model_copy(update={"audit": AuditSettings(sink="file", path=str(trail))})) as c:
        yield c


def test_a_duplicate_create_shows_the_existing_record_only_to_who_may_read_it(
    client: TestClient, issuer: Issuer
) -> None:
    body = {"resourceType": "Patient", "name": [{"family": "Okafor"}], "identifier": [MRN]}
    condition = {"If-None-Exist": "identifier=urn:fake:mrn|MRN-1"}
    blind = issuer.headers(TENANT, "user/Patient.c user/Patient.s?family=Nobody")
    refused = outcome(client.post(f"{BASE}/Patient", json=body, headers={**JSON, **blind, **condition}), 409)
    assert "p1" not in json.dumps(refused) and "555-0100" not in json.dumps(refused)
    plain = outcome(client.post(f"{BASE}/Patient", json=body, headers={**JSON, **blind}), 409)
    assert "p1" not in json.dumps(plain)
    seeing = issuer.headers(TENANT, "user/Patient.crs")
    matched = client.post(f"{BASE}/Patient", json=body, headers={**JSON, **seeing, **condition})
    assert matched.status_code == 200 and matched.json()["id"] == "p1"


@pytest.mark.parametrize("claim", ["", "p1,p2", ["p1"], "*", 7])
def test_a_launch_patient_that_is_not_one_id_reaches_nothing(client: TestClient, issuer: Issuer, claim: Any) -> None:
    headers = issuer.headers(TENANT, "patient/*.rs", patient=claim)
    outcome(client.get(f"{BASE}/Patient", headers=headers), 403)
    outcome(client.get(f"{BASE}/Observation/o10", headers=headers), 403)


def test_a_launch_patient_given_as_a_reference_is_that_patient(client: TestClient, issuer: Issuer) -> None:
    headers = issuer.headers(TENANT, "patient/*.rs", patient="Patient/p1")
    assert ids(ok(client.get(f"{BASE}/Patient", headers=headers))) == ["p1"]


def test_everything_pages_do_not_follow_into_a_token_with_narrower_scopes(client: TestClient, issuer: Issuer) -> None:
    wide = issuer.headers(TENANT, "patient/*.rs", patient="p1")
    first = ok(client.get(f"{BASE}/Patient/p1/$everything?_count=2", headers=wide))
    following = link(first, "next")
    assert following is not None
    narrow = issuer.headers(TENANT, "patient/Patient.r patient/Observation.s?status=cancelled", patient="p1")
    outcome(client.get(following, headers=narrow), 400)
    assert ok(client.get(following, headers=wide))


def test_a_confined_patient_create_is_403_not_500(client: TestClient, issuer: Issuer) -> None:
    headers = {**JSON, **issuer.headers(TENANT, "patient/*.cruds", patient="p1")}
    outcome(client.post(f"{BASE}/Patient", json={"resourceType": "Patient"}, headers=headers), 403)


def test_a_document_id_with_an_impossible_time_is_404_not_500(client: TestClient, issuer: Issuer) -> None:
    headers = issuer.headers(TENANT, "patient/*.rs", patient="p1")
    outcome(client.get(f"{BASE}/Binary/ccd-p-20240101T999999Z-.p1", headers=headers), 404)
    outcome(client.get(f"{BASE}/DocumentReference/ccd-p-20241301-.p1", headers=headers), 404)


def test_audit_lines_name_the_patient_of_a_form_search_and_never_a_chained_name(
    client: TestClient, issuer: Issuer, trail: Path
) -> None:
    headers = {**issuer.headers(TENANT, "user/*.rs"), "Content-Type": "application/x-www-form-urlencoded"}
    ok(client.post(f"{BASE}/Observation/_search", content="patient=p1", headers=headers))
    client.get(f"{BASE}/Observation?subject:Patient.family=Okafor&patient=p1", headers=headers)
    client.get("/fhir/clinic/John%20Smith%20DOB%201970-01-01", headers=headers)
    events = [json.loads(line) for line in trail.read_text().splitlines()]
    assert events[0]["entity"][-1]["what"] == {"reference": "Patient/p1"}
    text = trail.read_text()
    assert "Okafor" not in text and "John Smith" not in text and "1970-01-01" not in text
