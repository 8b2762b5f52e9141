"""The NexHealth client against its sandbox over HTTP: token lifecycle and rate limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.contract import AdapterConfig, TenantContext
from gateway.errors import Throttled, UpstreamSecurity
from gateway.sandbox_host import serve_in_thread
from mappings.nexhealth.client import NexHealthClient
from mappings.nexhealth.options import NexHealthOptions
from sandboxes.clinic import build_clinic
from sandboxes.nexhealth.app import MAIN_LOCATION_ID, create_app

KEY, SUBDOMAIN = "test-api-key", "test-dental"


class Clock:
    """The sandbox's clock: real time plus an offset a test can push forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _serve(**kwargs: Any) -> tuple[Any, Any]:
    app = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN, **kwargs)
    return app, serve_in_thread(app, name="nexhealth-sandbox")


def _client(url: str, key: str = KEY, **options: Any) -> NexHealthClient:
    config = AdapterConfig(
        url,
        TenantContext("t", "urn:t"),
        NexHealthOptions(subdomain=SUBDOMAIN, location_id=MAIN_LOCATION_ID, **options),
        {"api_key": key},
    )
    return NexHealthClient(config)


async def _burst(client: NexHealthClient, n: int) -> list[Any]:
    return await asyncio.gather(
        *(client.request("GET", "/patients", params={"per_page": 1}) for _ in range(n)), return_exceptions=True
    )


@pytest.fixture
def short_lived() -> Iterator[tuple[Any, Any, Clock]]:
    clock = Clock()
    app, running = _serve(token_ttl=3.0, clock=clock)
    yield app, running, clock
    running.stop()


def test_token_renewed_once_before_expiry_under_load(short_lived: tuple[Any, Any, Clock]) -> None:
    app, running, _ = short_lived

    async def scenario() -> NexHealthClient:
        client = _client(running.url)
        try:
            assert not [r for r in await _burst(client, 20) if isinstance(r, Exception)]
            await asyncio.sleep(3.2)  # past the 3 s lifetime
            assert not [r for r in await _burst(client, 30) if isinstance(r, Exception)]
            return client
        finally:
            await client.aclose()

    client = asyncio.run(scenario())
    assert client.authentications == 2
    assert app.state.authentications == 2


def test_server_side_expiry_gives_exactly_one_reauthentication_under_load(short_lived: tuple[Any, Any, Clock]) -> None:
    app, running, clock = short_lived

    async def scenario() -> NexHealthClient:
        client = _client(running.url)
        try:
            assert not [r for r in await _burst(client, 10) if isinstance(r, Exception)]
            clock.offset = 10.0  # the vendor now sees our token as expired; we still think it is fresh
            results = await _burst(client, 40)
            assert not [r for r in results if isinstance(r, Exception)]
            return client
        finally:
            await client.aclose()

    client = asyncio.run(scenario())
    assert client.authentications == 2
    assert app.state.authentications == 2


def test_wrong_api_key_is_a_security_error() -> None:
    _, running = _serve()
    try:

        async def scenario() -> None:
            client = _client(running.url, key="wrong")
            try:
                await client.request("GET", "/patients")
            finally:
                await client.aclose()

        with pytest.raises(UpstreamSecurity):
            asyncio.run(scenario())
    finally:
        running.stop()


def test_client_stays_under_the_vendor_limit() -> None:
    app, running = _serve(rate_per_second=10, rate_per_minute=1000)
    try:

        async def scenario() -> list[Any]:
            client = _client(running.url, rate_per_second=10)
            try:
                return await _burst(client, 25)
            finally:
                await client.aclose()

        started = time.monotonic()
        results = asyncio.run(scenario())
        assert not [r for r in results if isinstance(r, Exception)]
        assert time.monotonic() - started >= 1.5  # 26 calls at 9/s cannot finish sooner
        assert app.state.requests == 26  # 25 searches and one authentication: no 429 was ever needed
    finally:
        running.stop()


def test_vendor_429_is_backed_off_and_retried() -> None:
    app, running = _serve(rate_per_second=5, rate_per_minute=1000)
    try:

        async def scenario() -> list[Any]:
            client = _client(running.url, rate_per_second=100, max_queue_seconds=8)  # we believe in a higher limit
            try:
                return await _burst(client, 12)
            finally:
                await client.aclose()

        results = asyncio.run(scenario())
        assert not [r for r in results if isinstance(r, Exception)], results
        assert app.state.requests > 13  # some calls were refused with 429 and retried
    finally:
        running.stop()


def test_requests_that_cannot_be_served_in_time_get_429_with_retry_after() -> None:
    _, running = _serve(rate_per_second=100, rate_per_minute=1000)
    try:

        async def scenario() -> list[Any]:
            client = _client(running.url, rate_per_second=5, max_queue_seconds=0.5)
            try:
                return await _burst(client, 10)
            finally:
                await client.aclose()

        results = asyncio.run(scenario())
        throttled = [r for r in results if isinstance(r, Throttled)]
        assert throttled and all(int(t.headers["Retry-After"]) >= 1 for t in throttled)
        assert any(not isinstance(r, Exception) for r in results)
    finally:
        running.stop()
