"""A gateway with its own token endpoint (SMART Backend Services) and a file audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.settings import AuditSettings, AuthServerSettings, PagingSettings, ServerSettings, Settings, TenantSettings
from tests.support.fake_vendor import FAKE, FAKE_URL, TENANT, FakeBackend, TestClient, fake_gateway
from tests.support.smart import BackendClient

PUBLIC = "https://fhir.example.org"
TOKEN_URL = f"{PUBLIC}/auth/token"
HIE = BackendClient.new("hie")  # registered for TENANT only
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def with_token_endpoint(tmp_path: Path, trail: Path) -> Iterator[TestClient]:
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


def ask_token(client: TestClient, assertion: str) -> tuple[int, str | None]:
    """The token endpoint's status and access token (None when refused)."""
    form = {
        "grant_type": "client_credentials",
        "scope": "system/*.rs",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    answer = client.post("/auth/token", data=form)
    return answer.status_code, answer.json().get("access_token")
