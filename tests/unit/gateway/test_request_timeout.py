"""`server.request_timeout`: a read, search or operation is answered within it, whatever the
vendor calls it makes; a write is not cut short."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from gateway.contract import Resource, SearchRequest, VendorPage, Written
from gateway.settings import ServerSettings, Settings, TenantSettings, TimeoutSettings
from tests.support.fake_vendor import BASE, FakeBackend, fake_gateway, fake_settings, ok, outcome

LIMIT = 0.3


@dataclass
class _Slow(FakeBackend):
    """Each Patient search page takes `page_seconds`; an update `write_seconds`."""

    page_seconds: float = 0.0
    write_seconds: float = 0.0

    async def search_patients(self, request: SearchRequest) -> VendorPage:
        await asyncio.sleep(self.page_seconds)
        return await super().search_patients(request)

    async def update_patient(self, resource_id: str, resource: Resource, version: str | None) -> Written:
        await asyncio.sleep(self.write_seconds)
        return await super().update_patient(resource_id, resource, version)


def _limited() -> Settings:
    """The fake tenant under a limit of LIMIT, its calls' total under it (as settings require)."""
    settings = fake_settings()
    quick = TimeoutSettings(connect=LIMIT / 3, read=LIMIT / 3, total=LIMIT / 2)
    tenants = {name: tenant.model_copy(update={"timeouts": quick}) for name, tenant in settings.tenants.items()}
    return Settings.model_validate(
        {**settings.model_dump(), "server": ServerSettings(request_timeout=LIMIT).model_dump(), "tenants": tenants}
    )


def test_a_search_whose_vendor_pages_outlast_the_limit_is_a_504_when_it_runs_out() -> None:
    # Each page alone is quick; the search needs twelve of them one after another (a filter the
    # vendor cannot apply), which no per-call timeout bounds.
    backend = _Slow(page_size=1, page_seconds=0.1)
    backend.add_patients(12, family="Okafor")
    with fake_gateway(backend, _limited()) as client:
        started = time.monotonic()
        response = client.get(f"{BASE}/Patient", params={"birthdate": "1999-01-01"})
        took = time.monotonic() - started
    body = outcome(response, 504)
    assert body["issue"][0]["code"] == "timeout"
    assert "limit for one request (0.3 s)" in body["issue"][0]["diagnostics"]
    assert LIMIT <= took < LIMIT + 0.6  # the twelve pages take 1.2 s; a busy machine adds some
    assert backend.calls_to("Patient", "search") < 12


@pytest.mark.slow
def test_a_write_is_not_cut_short() -> None:
    backend = _Slow(write_seconds=2 * LIMIT)
    patient = backend.add_patient("p1")
    with fake_gateway(backend, _limited()) as client:
        patient["gender"] = "female"
        updated = ok(client.put(f"{BASE}/Patient/p1", json=patient, headers={"Content-Type": "application/fhir+json"}))
    assert updated["gender"] == "female"


def test_a_tenant_whose_vendor_calls_may_outlast_the_limit_is_refused() -> None:
    # Cut off by the limit, a call to a hanging vendor is cancelled, never a failure: its
    # breaker would never open, and every request would wait out the limit for a 504.
    slow = TenantSettings(vendor="fake", timeouts=TimeoutSettings(total=60))
    refused = r"tenant 'slow': timeouts.total \(60 s\) must be under server.request_timeout"
    with pytest.raises(ValidationError, match=refused):
        Settings(tenants={"slow": slow})
    Settings(tenants={"slow": slow}, server=ServerSettings(request_timeout=90))
