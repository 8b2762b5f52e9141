"""A known client refused for a tenant its token does not open is named in the audit line, as
a refusal of its own tenant's scopes is: the trail says who tried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.settings import AuditSettings, AuthServerSettings, PagingSettings, ServerSettings, Settings, TenantSettings
from tests.support.fake_vendor import BASE, FAKE, FAKE_URL, TENANT, FakeBackend, TestClient, fake_gateway, ok, outcome
from tests.support.smart import BackendClient

PUBLIC = "https://fhir.example.org"
HIE = BackendClient.new("hie")


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def client(tmp_path: Path, trail: Path) -> Iterator[TestClient]:
    key_file = tmp_path / "signing.pem"
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_file.write_bytes(pem)
    settings = Settings(
        server=ServerSettings(auth="smart", public_base_url=PUBLIC),
        paging=PagingSettings(),
        auth=AuthServerSettings(signing_keys=[f"file:{key_file}"], clients=[HIE.settings(["system/*.rs"], [TENANT])]),
        tenants={name: TenantSettings(vendor=FAKE, base_url=FAKE_URL) for name in (TENANT, "other")},
        audit=AuditSettings(sink="file", path=str(trail)),
    )
    backend = FakeBackend()
    backend.add_patient("p1")
    with fake_gateway(backend, settings) as client:
        yield client


def token(client: TestClient) -> str:
    form = {
        "grant_type": "client_credentials",
        "scope": "system/*.rs",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": HIE.assertion(f"{PUBLIC}/auth/token"),
    }
    answer = client.post("/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    found: str = answer.json()["access_token"]
    return found


def agents(trail: Path) -> list[dict[str, Any]]:
    return [json.loads(line)["agent"][0]["who"] for line in trail.read_text().splitlines()]


def test_a_known_clients_cross_tenant_attempt_names_the_client(client: TestClient, trail: Path) -> None:
    headers = {"Authorization": f"Bearer {token(client)}"}
    refused = client.get("/fhir/other/Patient/p1", headers=headers)
    outcome(refused, 403)
    assert refused.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    ok(client.get(f"{BASE}/Patient/p1", headers=headers))
    hie = {"identifier": {"system": "urn:fhir-gateway:client", "value": "hie"}}
    assert agents(trail) == [hie, hie]
    outcome(client.get("/fhir/other/Patient/p1"), 401)  # no token: nobody to name
    assert agents(trail)[-1] == {"display": "unauthenticated"}
