"""Nextech's OAuth lifecycle against its sandbox over HTTP: connect, refresh under load,
a crash at each step of a refresh followed by a restart, and a revoked grant."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from gateway.connect import connect
from gateway.contract import AdapterConfig, OAuthApp, TenantContext
from gateway.errors import UpstreamSecurity
from gateway.sandbox_host import RunningServer, serve_in_thread
from gateway.shared import SharedStateUnavailable
from gateway.shared.sealed import Seal
from gateway.shared.state import LocalState
from gateway.upstream import oauth as oauth_module
from gateway.upstream import token_store
from gateway.upstream.grants import SharedGrants
from gateway.upstream.oauth import OAuthSession, token_client
from gateway.upstream.token_store import TokenStore
from mappings.nextech.client import NextechClient, oauth_app
from mappings.nextech.options import NextechOptions
from sandboxes.clinic import build_clinic
from sandboxes.nextech.app import create_app
from tests.support.clock import OffsetClock as Clock

CLIENT_ID, SECRET, PRACTICE = "test-client", "test-secret", "practice-1"


class Crash(Exception):
    pass


@pytest.fixture(params=[(401, "rfc"), (403, "docs")], ids=["rfc", "docs-literal"])
def vendor(request: pytest.FixtureRequest) -> Iterator[tuple[Any, RunningServer, Clock]]:
    # As Azure AD has it, or the docs read literally: an expired access token a 403 (their
    # statuses have no 401), the authorize redirect in `redirect_url`, the access token `code`.
    refused, wording = request.param
    clock = Clock()
    app = create_app(
        build_clinic(),
        client_id=CLIENT_ID,
        client_secret=SECRET,
        practice_id=PRACTICE,
        access_ttl=3600.0,
        refresh_grace=30.0,
        clock=clock,
        refused_token_status=refused,
        oauth_wording=wording,
    )
    running = serve_in_thread(app, name="nextech-sandbox")
    yield app, running, clock
    running.stop()


def _config(url: str, store: Path) -> AdapterConfig:
    return AdapterConfig(
        f"{url}/api",
        TenantContext("nx", "urn:nx"),
        NextechOptions(client_id=CLIENT_ID, practice_id=PRACTICE, oauth_base_url=url),
        {"client_secret": SECRET},
        token_store=store,
    )


async def _connect(app: OAuthApp, store: TokenStore | SharedGrants) -> None:
    http, post = token_client(app)
    async with httpx.AsyncClient(follow_redirects=True) as browser:

        async def approve(url: str) -> None:
            (await browser.get(url)).raise_for_status()

        try:
            await connect("nx", app, store, post, approve, timeout=10)
        finally:
            await http.aclose()


def _refreshes(app: Any) -> int:
    return int(app.state.token_calls.get("refresh_token", 0))


def test_connect_stores_a_private_refresh_token(vendor: tuple[Any, RunningServer, Clock], tmp_path: Path) -> None:
    _, running, _ = vendor
    config = _config(running.url, tmp_path)
    asyncio.run(_connect(oauth_app(config), TokenStore(tmp_path)))
    saved = tmp_path / "nx.json"
    assert saved.exists() and (saved.stat().st_mode & 0o777) == 0o600


@pytest.mark.slow
def test_one_refresh_for_many_concurrent_requests(vendor: tuple[Any, RunningServer, Clock], tmp_path: Path) -> None:
    app, running, clock = vendor
    config = _config(running.url, tmp_path)

    async def scenario() -> None:
        await _connect(oauth_app(config), TokenStore(tmp_path))
        client = NextechClient(config)
        try:
            await asyncio.gather(*(client.get("/encounters/categories") for _ in range(10)))
            clock.offset = 7200.0  # every access token is now expired at the vendor
            await asyncio.gather(*(client.get("/encounters/categories") for _ in range(30)))
        finally:
            await client.aclose()

    asyncio.run(scenario())
    assert _refreshes(app) == 2  # the first access token, then exactly one renewal


@pytest.mark.parametrize("step", ["before the call", "after the response", "during the store"])
def test_a_crash_at_any_step_of_a_refresh_recovers_without_reconnecting(
    vendor: tuple[Any, RunningServer, Clock], tmp_path: Path, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, running, clock = vendor
    config = _config(running.url, tmp_path)
    oauth = oauth_app(config)
    store = TokenStore(tmp_path)
    asyncio.run(_connect(oauth, store))

    async def crashing_refresh() -> None:
        http, post = token_client(oauth)

        async def faulty(form: Any) -> Any:
            if step == "before the call":
                raise Crash(step)
            answer = await post(form)
            if step == "after the response":
                raise Crash(step)  # the vendor has rotated; we never saw the new token stored
            return answer

        if step == "during the store":
            monkeypatch.setattr(token_store.os, "replace", lambda *a: (_ for _ in ()).throw(Crash(step)))
        try:
            await OAuthSession("nx", oauth, store, faulty).access_token()
        finally:
            monkeypatch.undo()
            await http.aclose()

    with pytest.raises(Crash):
        asyncio.run(crashing_refresh())

    async def restarted() -> None:  # a new process: nothing in memory, only the store
        client = NextechClient(config)
        try:
            assert await client.get("/encounters/categories")
            clock.offset += 3600.0  # past the access token's life and any grace period
            assert await client.get("/encounters/categories")  # the token the restart stored still refreshes
        finally:
            await client.aclose()

    asyncio.run(restarted())


def test_a_revoked_grant_is_a_502_and_a_reconnect_log(
    vendor: tuple[Any, RunningServer, Clock], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, running, _clock = vendor
    config = _config(running.url, tmp_path)

    async def scenario() -> None:
        await _connect(oauth_app(config), TokenStore(tmp_path))
        app.state.revoke_refresh_tokens()
        client = NextechClient(config)
        try:
            await client.get("/encounters/categories")
        finally:
            await client.aclose()

    with caplog.at_level(logging.ERROR), pytest.raises(UpstreamSecurity):
        asyncio.run(scenario())
    assert _refreshes(app) == 1  # refused once; not retried by every later request

    async def many_more() -> list[object]:
        client = NextechClient(config)
        try:
            return await asyncio.gather(
                *(client.get("/encounters/categories") for _ in range(5)), return_exceptions=True
            )
        finally:
            await client.aclose()

    assert all(isinstance(r, UpstreamSecurity) for r in asyncio.run(many_more()))
    assert _refreshes(app) == 2  # one attempt for the five waiters of the new process
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "fhir-gateway connect nx" in logged
    stored = (tmp_path / "nx.json").read_text()
    assert stored.split('"refresh_token": "')[1].split('"')[0] not in logged


def test_a_client_secret_refused_is_a_502_naming_the_client_credentials(
    vendor: tuple[Any, RunningServer, Clock], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A client secret rotated at the vendor (or mistyped) answers the refresh `invalid_client`
    (Duende IdentityServer and OpenIddict: a 400). Before, the 502 and the log told the operator
    to reconnect, which with the same secret fails again; now they name the client credentials."""
    _app, running, _clock = vendor
    config = _config(running.url, tmp_path)
    asyncio.run(_connect(oauth_app(config), TokenStore(tmp_path)))
    wrong = AdapterConfig(
        config.base_url, config.context, config.options, {"client_secret": "rotated"}, token_store=tmp_path
    )

    async def scenario() -> None:
        client = NextechClient(wrong)
        try:
            await client.get("/encounters/categories")
        finally:
            await client.aclose()

    with caplog.at_level(logging.ERROR), pytest.raises(UpstreamSecurity, match="client_secret"):
        asyncio.run(scenario())
    assert "client_secret" in "\n".join(r.getMessage() for r in caplog.records)


def test_an_authorization_server_at_other_paths_is_configured_by_its_urls(tmp_path: Path) -> None:
    """The docs name no OAuth paths: a Nextech whose authorization server is not Azure AD's
    (django-oauth-toolkit's /o/authorize/, /o/token/) could not be connected before, since only
    a base URL for Azure's paths could be configured."""
    app = create_app(
        build_clinic(), client_id=CLIENT_ID, client_secret=SECRET, practice_id=PRACTICE, oauth_paths="django"
    )
    running = serve_in_thread(app, name="nextech-sandbox")
    try:
        options = NextechOptions(
            client_id=CLIENT_ID,
            practice_id=PRACTICE,
            authorize_url=f"{running.url}/o/authorize/",
            token_url=f"{running.url}/o/token/",
        )
        config = AdapterConfig(
            f"{running.url}/api",
            TenantContext("nx", "urn:nx"),
            options,
            {"client_secret": SECRET},
            token_store=tmp_path,
        )

        async def scenario() -> Any:
            await _connect(oauth_app(config), TokenStore(tmp_path))
            client = NextechClient(config)
            try:
                return await client.get("/encounters/categories")
            finally:
                await client.aclose()

        assert asyncio.run(scenario())
    finally:
        running.stop()
    with pytest.raises(ValueError, match="oauth_base_url"):
        NextechOptions(client_id=CLIENT_ID, practice_id=PRACTICE, token_url="https://login.example/o/token/")


def test_a_token_endpoint_taking_http_basic_only_connects_and_renews(tmp_path: Path) -> None:
    """A token endpoint refusing a secret in the form as `invalid_client` (Authlib's default
    `client_secret_basic`): the code is exchanged again with HTTP Basic, and Basic is used for
    every renewal after. Before, the tenant could not be connected."""
    clock = Clock()
    app = create_app(
        build_clinic(),
        client_id=CLIENT_ID,
        client_secret=SECRET,
        practice_id=PRACTICE,
        clock=clock,
        oauth_client_auth="basic",
    )
    running = serve_in_thread(app, name="nextech-sandbox")
    try:
        config = _config(running.url, tmp_path)

        async def scenario() -> None:
            await _connect(oauth_app(config), TokenStore(tmp_path))
            client = NextechClient(config)
            try:
                await client.get("/encounters/categories")
                clock.offset = 7200.0
                await client.get("/encounters/categories")
                clock.offset = 14400.0
                await client.get("/encounters/categories")
            finally:
                await client.aclose()

        asyncio.run(scenario())
    finally:
        running.stop()
    # The code: refused in the form, taken in Basic. The client's first access token: refused
    # in the form, taken in Basic (a new client starts with the form); its two renewals: Basic
    # at once, remembered.
    assert app.state.token_calls.get("authorization_code") == 2
    assert _refreshes(app) == 4


class FailingWrites(LocalState):
    """Shared state whose writes fail while `down` (Redis going away mid-renewal)."""

    down = False

    async def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        if self.down:
            raise SharedStateUnavailable()
        await super().put(key, value, ttl)


@pytest.mark.slow
def test_a_grant_rotated_while_the_shared_state_failed_is_the_one_the_next_worker_presents(
    vendor: tuple[Any, RunningServer, Clock], tmp_path: Path
) -> None:
    # The rotated token reached this host's file only. Another worker (or this one restarted)
    # that took the shared state's older copy would present a token the vendor has replaced:
    # after the grace period a replay, for which it revokes every token of the grant.
    app, running, clock = vendor
    oauth = oauth_app(_config(running.url, tmp_path))
    state, key = FailingWrites(), Fernet.generate_key().decode()

    def grants() -> SharedGrants:
        return SharedGrants(state, Seal([key]), TokenStore(tmp_path, [key]))

    async def scenario() -> None:
        await _connect(oauth, grants())
        http, post = token_client(oauth)
        try:
            worker = OAuthSession("nx", oauth, grants(), post)
            token = await worker.access_token()  # a renewal, rotated and stored in both
            state.down = True
            with pytest.raises(SharedStateUnavailable):
                await worker.access_token(stale=token)  # rotated again at the vendor: only the file has it
            state.down = False
            clock.offset += 120.0  # past the grace of the token the shared state still holds
            assert await OAuthSession("nx", oauth, grants(), post).access_token()
            assert await OAuthSession("nx", oauth, grants(), post).access_token()  # the line was not revoked
        finally:
            await http.aclose()

    asyncio.run(scenario())
    assert _refreshes(app) == 4


@pytest.mark.slow
def test_a_reconnect_outranks_the_line_it_replaces_whatever_the_clock_of_the_host_that_began_it(
    vendor: tuple[Any, RunningServer, Clock], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first `connect` ran where the clock was a day ahead (or jumped): its line's
    # connected_at is that clock's. A reconnect from a host with the right clock must still be
    # the later line, or every host whose file holds the old line keeps presenting it (and its
    # next rotation overwrites the reconnect in the shared state).
    _, running, _ = vendor
    oauth = oauth_app(_config(running.url, tmp_path))
    state, key = LocalState(), Fernet.generate_key().decode()

    def grants(host: str) -> SharedGrants:
        return SharedGrants(state, Seal([key]), TokenStore(tmp_path / host, [key]))

    class _AheadByADay:
        @staticmethod
        def time() -> float:
            return time.time() + 86400.0

    async def scenario() -> tuple[str, str]:
        with monkeypatch.context() as ahead:
            ahead.setattr(oauth_module, "time", _AheadByADay)
            await _connect(oauth, grants("a"))
        http, post = token_client(oauth)
        try:
            await OAuthSession("nx", oauth, grants("b"), post).access_token()  # host b rotates the old line
        finally:
            await http.aclose()
        await _connect(oauth, grants("a"))  # the operator reconnects, the clock now right
        reconnected = await grants("a").load("nx")
        seen_by_b = await grants("b").load("nx")
        assert reconnected is not None and seen_by_b is not None
        return reconnected.refresh_token, seen_by_b.refresh_token

    reconnected, seen_by_b = asyncio.run(scenario())
    assert seen_by_b == reconnected


@pytest.mark.parametrize("rotation", ["reuse", "none"])
def test_a_server_not_rotating_refresh_tokens_keeps_renewing_with_the_one_it_issued(
    rotation: str, tmp_path: Path
) -> None:
    """RFC 6749 §6: a server MAY issue a new refresh token. Spring Authorization Server answers
    the one presented again by default, Authlib none: the grant stored at connect keeps
    renewing, across a restart too (nothing in memory), and is never replaced by nothing."""
    clock = Clock()
    app = create_app(
        build_clinic(),
        client_id=CLIENT_ID,
        client_secret=SECRET,
        practice_id=PRACTICE,
        clock=clock,
        refresh_grace=0.0,
        refresh_rotation=rotation,
    )
    running = serve_in_thread(app, name="nextech-sandbox")
    try:
        config = _config(running.url, tmp_path)
        asyncio.run(_connect(oauth_app(config), TokenStore(tmp_path)))
        stored = (tmp_path / "nx.json").read_text()

        async def hours(count: int) -> None:  # a new process: nothing in memory, only the store
            client = NextechClient(config)
            try:
                for _ in range(count):
                    clock.offset += 3600.0  # the access token expired
                    assert await client.get("/encounters/categories")
            finally:
                await client.aclose()

        asyncio.run(hours(3))
        asyncio.run(hours(2))
        assert _refreshes(app) == 5 and app.state.issued_refresh_tokens == 1
        assert (tmp_path / "nx.json").read_text() == stored  # the grant it issued, kept as it was
    finally:
        running.stop()
