"""Opaque tokens checked by RFC 7662 introspection at the tenant's issuer, over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Coroutine, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.auth.introspection import REFUSALS_KEPT_SECONDS, Introspector
from gateway.auth.tokens import InvalidToken
from gateway.sandbox_host import serve_in_thread
from gateway.settings import PagingSettings, ServerSettings, Settings, TenantAuthSettings, TenantSettings
from tests.support.fake_vendor import BASE, FAKE, FAKE_URL, TENANT, FakeBackend, TestClient, fake_gateway, ok, outcome

AUDIENCE = f"https://fhir.example.org/fhir/{TENANT}"
T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


class IssuerState:
    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.down = False


@pytest.fixture
def issuer() -> Iterator[tuple[str, IssuerState]]:
    state = IssuerState()

    async def introspect(request: Request) -> Response:
        state.calls += 1
        if state.down:
            return Response(status_code=503)
        expected = "Basic " + base64.b64encode(b"gateway:s3cret").decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, 401)
        token = dict(parse_qsl((await request.body()).decode())).get("token")
        # As JSON with escapes (ensure_ascii), so an answer may carry what UTF-8 cannot (a lone surrogate).
        return Response(json.dumps(state.tokens.get(str(token), {"active": False})), media_type="application/json")

    running = serve_in_thread(Starlette(routes=[Route("/introspect", introspect, methods=["POST"])]))
    yield f"{running.url}/introspect", state
    running.stop()


def introspected(endpoint: str, **options: Any) -> TenantAuthSettings:
    return TenantAuthSettings(
        issuer="https://login.example.org",
        introspection_endpoint=endpoint,
        introspection_client_id="gateway",
        introspection_client_secret="env:TEST_INTROSPECTION_SECRET",
        token_endpoint="https://login.example.org/token",
        **options,
    )


def gateway_over(tenants: dict[str, TenantAuthSettings]) -> AbstractContextManager[TestClient]:
    settings = Settings(
        server=ServerSettings(auth="smart", public_base_url="https://fhir.example.org"),
        paging=PagingSettings(),
        tenants={name: TenantSettings(vendor=FAKE, base_url=FAKE_URL, auth=auth) for name, auth in tenants.items()},
    )
    backend = FakeBackend()
    backend.add_patient("p1")
    return fake_gateway(backend, settings)


@pytest.fixture
def client(issuer: tuple[str, IssuerState], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("TEST_INTROSPECTION_SECRET", "s3cret")
    with gateway_over({TENANT: introspected(issuer[0])}) as client:
        yield client


def active(scope: str, **claims: Any) -> dict[str, Any]:
    return {"active": True, "scope": scope, "client_id": "app-9", "exp": time.time() + 600, "aud": AUDIENCE, **claims}


def test_an_active_opaque_token_is_accepted_and_cached(client: TestClient, issuer: tuple[str, IssuerState]) -> None:
    state = issuer[1]
    state.tokens["opaque-1"] = active("user/*.rs")
    headers = {"Authorization": "Bearer opaque-1"}
    for _ in range(3):
        assert ok(client.get(f"{BASE}/Patient/p1", headers=headers))["id"] == "p1"
    assert state.calls == 1  # a positive answer is kept for a short while


@pytest.mark.parametrize(
    "answer",
    [
        {"active": False},
        {"active": True, "scope": "user/*.rs", "exp": 1},
        {"active": True, "scope": "user/*.rs", "aud": "https://fhir.example.org/fhir/other"},
        {"active": "true", "scope": "user/*.rs"},
        {"active": True, "scope": "user/*.rs", "client_id": "app-\ud800"},  # not text: no client to record
        {"active": True, "scope": "user/*.rs", "exp": "9999999999"},  # RFC 7662 section 2.2: a number
        # No `aud`: RFC 7662 section 2.2 makes it optional, but without it nothing says the token
        # is for this tenant and not another that trusts the same issuer (RFC 6750 section 5.2).
        {"active": True, "scope": "user/*.rs", "client_id": "app-9", "exp": time.time() + 600},
        {"active": True, "scope": "user/*.rs", "aud": []},
    ],
)
def test_inactive_expired_or_foreign_tokens_are_401(
    client: TestClient, issuer: tuple[str, IssuerState], answer: dict[str, Any]
) -> None:
    issuer[1].tokens["opaque-2"] = answer
    response = client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-2"})
    outcome(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_scopes_from_introspection_are_enforced(client: TestClient, issuer: tuple[str, IssuerState]) -> None:
    issuer[1].tokens["opaque-3"] = active("user/Observation.rs")
    outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-3"}), 403)


def test_an_unreachable_issuer_is_502_not_401(client: TestClient, issuer: tuple[str, IssuerState]) -> None:
    issuer[1].down = True
    outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-4"}), 502)


def test_the_introspection_secret_must_be_a_reference() -> None:
    with pytest.raises(ValueError, match="not a literal secret"):
        TenantAuthSettings(
            issuer="i",
            introspection_endpoint="https://i/introspect",
            introspection_client_id="c",
            introspection_client_secret="literal",
            token_endpoint="https://i/token",
        )


def test_a_token_without_aud_opens_no_tenant_of_a_shared_issuer(
    issuer: tuple[str, IssuerState], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The attack: two tenants ask one issuer; its answer names no audience, so a token a client
    # got for one tenant read the other.
    monkeypatch.setenv("TEST_INTROSPECTION_SECRET", "s3cret")
    issuer[1].tokens["opaque-A-1"] = {"active": True, "scope": "user/*.rs", "client_id": "appA", "sub": "alice"}
    issuer[1].tokens["opaque-B-1"] = active("user/*.rs", aud="https://fhir.example.org/fhir/other")
    with gateway_over({TENANT: introspected(issuer[0]), "other": introspected(issuer[0])}) as client:
        for tenant in (TENANT, "other"):
            response = client.get(f"/fhir/{tenant}/Patient/p1", headers={"Authorization": "Bearer opaque-A-1"})
            outcome(response, 401)
            assert "(aud)" in response.json()["issue"][0]["diagnostics"]
        outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-B-1"}), 401)
        ok(client.get("/fhir/other/Patient/p1", headers={"Authorization": "Bearer opaque-B-1"}))


def test_an_answer_without_aud_is_told_apart_from_one_for_another_server(
    issuer: tuple[str, IssuerState], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: both said "not for this server (aud)", which sent operators to check `audience`
    # when the issuer simply names none (introspection_aud_optional is the setting for that).
    monkeypatch.setenv("TEST_INTROSPECTION_SECRET", "s3cret")
    issuer[1].tokens["opaque-none"] = {"active": True, "scope": "user/*.rs", "client_id": "appA"}
    issuer[1].tokens["opaque-other"] = active("user/*.rs", aud="https://fhir.example.org/fhir/other")
    with gateway_over({TENANT: introspected(issuer[0])}) as client:
        no_aud = outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-none"}), 401)
        assert "names no audience" in no_aud["issue"][0]["diagnostics"]
        assert "introspection_aud_optional" in no_aud["issue"][0]["diagnostics"]
        other = outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-other"}), 401)
        assert "not for this server (aud)" in other["issue"][0]["diagnostics"]


def test_a_tenant_alone_with_its_issuer_may_accept_answers_without_aud(
    issuer: tuple[str, IssuerState], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_INTROSPECTION_SECRET", "s3cret")
    issuer[1].tokens["opaque-5"] = {"active": True, "scope": "user/*.rs", "client_id": "app-9"}
    issuer[1].tokens["opaque-6"] = active("user/*.rs", aud="https://fhir.example.org/fhir/other")
    with gateway_over({TENANT: introspected(issuer[0], introspection_aud_optional=True)}) as client:
        assert ok(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-5"}))["id"] == "p1"
        # An answer that names another audience is still refused.
        outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-6"}), 401)


@pytest.mark.parametrize("shared", ["introspection_endpoint", "issuer"])
def test_accepting_answers_without_aud_is_refused_when_another_tenant_shares_the_issuer(shared: str) -> None:
    lone = introspected("https://login.example.org/introspect", introspection_aud_optional=True)
    if shared == "issuer":
        other = introspected("https://login.example.org/introspect-2")
    else:
        other = introspected("https://login.example.org/introspect").model_copy(update={"issuer": "https://b"})
    with pytest.raises(ValueError, match="introspection_aud_optional"):
        Settings(
            server=ServerSettings(auth="smart", public_base_url="https://fhir.example.org"),
            tenants={
                "a": TenantSettings(vendor=FAKE, base_url=FAKE_URL, auth=lone),
                "b": TenantSettings(vendor=FAKE, base_url=FAKE_URL, auth=other),
            },
        )


def test_a_refused_token_is_remembered_briefly_so_repeating_it_does_not_ask_again(
    client: TestClient, issuer: tuple[str, IssuerState]
) -> None:
    # The attack: the same junk token twice cost two calls to the issuer.
    state = issuer[1]
    for _ in range(3):
        outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer junk-1"}), 401)
    assert state.calls == 1
    state.tokens["opaque-7"] = {"active": True, "scope": "user/*.rs"}  # no aud: refused, remembered too
    for _ in range(2):
        outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer opaque-7"}), 401)
    assert state.calls == 2
    outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": "Bearer junk-2"}), 401)
    assert state.calls == 3  # another token is asked about


def test_a_refusal_is_kept_a_few_seconds_only_in_a_bounded_cache() -> None:
    calls: list[str] = []
    now = [1000.0]
    kept = 8

    def answer(request: httpx.Request) -> httpx.Response:
        token = dict(parse_qsl(request.content.decode()))["token"]
        calls.append(token)
        return httpx.Response(200, json={"active": token == "good", "scope": "user/*.rs", "aud": AUDIENCE})

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            introspector = Introspector(
                "https://i/introspect", "c", "s", AUDIENCE, http, refusals_kept=kept, clock=lambda: now[0]
            )
            for _ in range(2):
                with pytest.raises(InvalidToken, match="not active"):
                    await introspector.claims("junk-secret")
            assert len(calls) == 1
            now[0] += REFUSALS_KEPT_SECONDS + 0.1
            with pytest.raises(InvalidToken):
                await introspector.claims("junk-secret")  # asked again: it may have become good
            assert len(calls) == 2
            for n in range(kept + 5):
                with pytest.raises(InvalidToken):
                    await introspector.claims(f"junk-{n}")
            asked = len(calls)
            with pytest.raises(InvalidToken):
                await introspector.claims(f"junk-{kept + 4}")  # among the last `kept`: remembered
            assert len(calls) == asked
            with pytest.raises(InvalidToken):
                await introspector.claims("junk-0")  # pushed out by the later ones: asked again
            assert len(calls) == asked + 1

    run_async(scenario())


def test_accepting_answers_without_aud_is_refused_for_a_jwt_issuer() -> None:
    with pytest.raises(ValueError, match="introspection_aud_optional applies to introspection_endpoint only"):
        TenantAuthSettings(
            issuer="https://login.example.org",
            jwks_uri="https://login.example.org/jwks",
            token_endpoint="https://login.example.org/token",
            introspection_aud_optional=True,
        )
