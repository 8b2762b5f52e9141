"""The Nextvisit client against its sandbox over HTTP: login once, re-login once on a 401."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from gateway.contract import AdapterConfig, NoOptions, TenantContext
from gateway.errors import UpstreamSecurity
from gateway.sandbox_host import RunningServer, serve_in_thread
from mappings.nextvisit.client import NextvisitClient
from sandboxes.clinic import build_clinic
from sandboxes.nextvisit.app import create_app

EMAIL, PASSWORD = "gw@example.test", "correct horse"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[RunningServer, object]]:
    app = create_app(build_clinic(), email=EMAIL, password=PASSWORD)
    running = serve_in_thread(app, name="nextvisit-sandbox")
    yield running, app
    running.stop()


def _client(url: str, password: str = PASSWORD) -> NextvisitClient:
    ctx = TenantContext("t", "urn:t")
    return NextvisitClient(AdapterConfig(url, ctx, NoOptions(), {"email": EMAIL, "password": password}))


def test_logs_in_once_and_again_once_after_revocation_under_load(sandbox: tuple[RunningServer, object]) -> None:
    running, app = sandbox

    async def scenario() -> int:
        client = _client(running.url)
        try:
            await asyncio.gather(*(client.request("GET", "/v1/patients", params={"per_page": 1}) for _ in range(10)))
            assert client.logins == 1
            app.state.revoke_all_tokens()  # type: ignore[attr-defined]
            await asyncio.gather(*(client.request("GET", "/v1/patients", params={"per_page": 1}) for _ in range(20)))
            return client.logins
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == 2


def test_wrong_password_is_a_security_error(sandbox: tuple[RunningServer, object]) -> None:
    running, _ = sandbox

    async def scenario() -> None:
        client = _client(running.url, password="wrong")
        try:
            await client.request("GET", "/v1/patients")
        finally:
            await client.aclose()

    with pytest.raises(UpstreamSecurity):
        asyncio.run(scenario())


def test_update_keeps_the_vendors_own_meta(sandbox: tuple[RunningServer, object]) -> None:
    from mappings.nextvisit.adapter import NextvisitAdapter

    running, _ = sandbox

    async def scenario() -> tuple[dict[str, object], dict[str, object]]:
        ctx = TenantContext("t", "urn:t")
        adapter = NextvisitAdapter(AdapterConfig(running.url, ctx, NoOptions(), {"email": EMAIL, "password": PASSWORD}))
        try:
            before = (await adapter.client.request("GET", "/v1/patients/7"))["data"]["meta"]
            patients = adapter.providers["Patient"]
            assert patients.update is not None
            patient = await patients.read("7")
            await patients.update("7", {**patient, "telecom": [{"system": "phone", "value": "5550001"}]}, None)
            after = (await adapter.client.request("GET", "/v1/patients/7"))["data"]["meta"]
            return before, after
        finally:
            await adapter.aclose()

    before, after = asyncio.run(scenario())
    assert before and {k: v for k, v in after.items() if k != "fhir"} == before


def test_waiters_share_one_failed_login(sandbox: tuple[RunningServer, object]) -> None:
    running, _ = sandbox

    async def scenario() -> list[object]:
        client = _client(running.url, password="wrong")
        try:
            return await asyncio.gather(
                *(client.request("GET", "/v1/patients") for _ in range(8)), return_exceptions=True
            )
        finally:
            await client.aclose()

    results = asyncio.run(scenario())
    assert all(isinstance(r, UpstreamSecurity) for r in results)
