"""The Nextvisit client against its sandbox over HTTP: login once, re-login once on a 401."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from gateway.errors import UpstreamSecurity
from gateway.sandbox_host import RunningServer, serve_in_thread
from mappings.base import AdapterConfig, TenantContext
from mappings.nextvisit.client import NextvisitClient
from mappings.nextvisit.sandbox import create_app
from mappings.sandbox.clinic import build_clinic

EMAIL, PASSWORD = "gw@example.test", "correct horse"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[RunningServer, object]]:
    app = create_app(build_clinic(), email=EMAIL, password=PASSWORD)
    running = serve_in_thread(app, name="nextvisit-sandbox")
    yield running, app
    running.stop()


def _client(url: str, password: str = PASSWORD) -> NextvisitClient:
    ctx = TenantContext("t", "urn:t")
    return NextvisitClient(AdapterConfig(url, ctx, {}, {"email": EMAIL, "password": password}))


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
