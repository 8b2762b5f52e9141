"""/readyz and the status page when a tenant's vendor is down: the tenant is named, its breaker
state shown, and a tenant with `required_for_readiness = false` does not fail the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.observability import health
from gateway.sandbox_host import serve_in_thread
from gateway.settings import Settings
from mappings.registry import VENDORS

TOKEN_ENV = "OPS_TEST_VENDOR_TOKEN"


def _unreachable(required: bool) -> dict[str, Any]:
    return {
        "vendor": "dentalpms",
        "base_url": "http://127.0.0.1:9/api/v1",  # the discard port: nothing listens
        "options": {"org_id": "org"},
        "credentials": {"api_token": f"env:{TOKEN_ENV}"},
        "timeouts": {"connect": 0.5, "read": 0.5, "total": 1},
        "retry": {"attempts": 1},
        "breaker": {"consecutive": 2, "min_calls": 100, "open_for": 60},
        "required_for_readiness": required,
    }


@contextmanager
def _gateway(tenants: dict[str, Any]) -> Iterator[httpx.Client]:
    settings = Settings.model_validate({"tenants": tenants})
    running = serve_in_thread(create_app(settings, VENDORS), name="gateway-readiness", date_header=False)
    try:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            yield client
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _fresh_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests change a tenant's state between two /readyz: no report is reused."""
    monkeypatch.setattr(health, "REPORT_KEPT", 0.0)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "not-a-real-token")


def test_a_required_tenant_that_is_down_makes_the_gateway_unready() -> None:
    with _gateway({"down": _unreachable(required=True)}) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready" and body["down"] == ["down"]
    assert body["tenants"]["down"]["reason"] == "the vendor's host does not accept connections"


def test_an_optional_tenant_is_named_but_the_gateway_stays_ready_and_its_breaker_shows() -> None:
    with _gateway({"optional": _unreachable(required=False)}) as client:
        first = client.get("/readyz")
        for _ in range(2):  # two connection failures in a row open its breaker
            assert client.get("/fhir/optional/Patient").status_code in (502, 503)
        after = client.get("/readyz")
        page = client.get("/", headers={"Accept": "text/html"}).text
    assert first.status_code == 200 and first.json()["down"] == ["optional"]
    tenant = after.json()["tenants"]["optional"]
    assert after.status_code == 200 and tenant["breaker"] == "open" and not tenant["ready"]
    assert "circuit breaker is open" in tenant["reason"]
    assert 'id="tenant-optional"' in page and "circuit breaker is open" in page
