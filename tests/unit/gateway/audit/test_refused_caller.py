"""A known client refused for a tenant its token does not open is named in the audit line, as
a refusal of its own tenant's scopes is: the trail says who tried."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.fake_vendor import BASE, TestClient, ok, outcome
from tests.unit.gateway.audit.conftest import HIE, TOKEN_URL, ask_token


def fhir_agents(trail: Path) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in trail.read_text().splitlines()]
    return [e["agent"][0]["who"] for e in events if e["type"]["code"] == "rest"]


def test_a_known_clients_cross_tenant_attempt_names_the_client(with_token_endpoint: TestClient, trail: Path) -> None:
    client = with_token_endpoint
    status, token = ask_token(client, HIE.assertion(TOKEN_URL))
    assert status == 200 and token is not None
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.get("/fhir/other/Patient/p1", headers=headers)
    outcome(refused, 403)
    assert refused.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    ok(client.get(f"{BASE}/Patient/p1", headers=headers))
    hie = {"identifier": {"system": "urn:fhir-gateway:client", "value": "hie"}}
    assert fhir_agents(trail) == [hie, hie]
    outcome(client.get("/fhir/other/Patient/p1"), 401)  # no token: nobody to name
    assert fhir_agents(trail)[-1] == {"display": "unauthenticated"}
