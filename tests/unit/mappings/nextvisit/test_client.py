"""The Nextvisit client against its sandbox over HTTP: login once, re-login once on a 401 (or
a 419), the token read from every login answer shape, a vendor 409 kept a conflict."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from gateway.contract import AdapterConfig, SearchRequest, TenantContext
from gateway.errors import (
    Conflict,
    Gone,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    Throttled,
    UpstreamError,
    UpstreamSecurity,
)
from gateway.sandbox_host import RunningServer, serve_in_thread
from gateway.search.model import ParamType, ReferenceValue, SearchParam, SearchQuery
from mappings.nextvisit.adapter import NextvisitAdapter
from mappings.nextvisit.client import NextvisitClient, Refused
from mappings.nextvisit.options import NextvisitOptions
from sandboxes.clinic import build_clinic
from sandboxes.nextvisit.app import create_app
from tests.support.clock import SetClock

EMAIL, PASSWORD = "gw@example.test", "correct horse"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[RunningServer, object]]:
    app = create_app(build_clinic(), email=EMAIL, password=PASSWORD)
    running = serve_in_thread(app, name="nextvisit-sandbox")
    yield running, app
    running.stop()


def _client(url: str, password: str = PASSWORD) -> NextvisitClient:
    ctx = TenantContext("t", "urn:t")
    return NextvisitClient(AdapterConfig(url, ctx, NextvisitOptions(), {"email": EMAIL, "password": password}))


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


def test_a_login_that_is_not_there_fails_the_request_and_never_reads_as_not_found(
    sandbox: tuple[RunningServer, object],
) -> None:
    # A base_url off by a path prefix: the login answers 404. The read of a patient that exists
    # must not become "does not exist", nor the patient's allergy list "none recorded".
    running, _ = sandbox
    patient = SearchParam("patient", ParamType.REFERENCE, None, (ReferenceValue("Patient", "1"),), "")
    allergies = SearchRequest(SearchQuery("AllergyIntolerance", (patient,), (), "UTC"), None, 100)

    async def scenario(resource_type: str) -> Any:
        config = AdapterConfig(f"{running.url}/api", TenantContext("t", "urn:t"), NextvisitOptions(), {"email": EMAIL,
                               "password": PASSWORD})  # fmt: skip
        adapter = NextvisitAdapter(config)
        provider = adapter.providers[resource_type]
        try:
            if resource_type == "Patient":
                return await provider.read("1")
            assert provider.search is not None
            return await provider.search(allergies)
        finally:
            await adapter.aclose()

    for resource_type in ("Patient", "AllergyIntolerance"):
        with pytest.raises(UpstreamError, match="login failed"):
            asyncio.run(scenario(resource_type))


def test_update_keeps_the_vendors_own_meta(sandbox: tuple[RunningServer, object]) -> None:
    from mappings.nextvisit.adapter import NextvisitAdapter

    running, _ = sandbox

    async def scenario() -> tuple[dict[str, object], dict[str, object]]:
        ctx = TenantContext("t", "urn:t")
        adapter = NextvisitAdapter(
            AdapterConfig(running.url, ctx, NextvisitOptions(), {"email": EMAIL, "password": PASSWORD})
        )
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


async def _list_patients(url: str) -> None:
    """One list call through a fresh client (its login first), closed after."""
    client = _client(url)
    try:
        await client.request("GET", "/v1/patients")
    finally:
        await client.aclose()


@contextmanager
def _serving(**switches: Any) -> Iterator[tuple[RunningServer, Any]]:
    app = create_app(build_clinic(), email=EMAIL, password=PASSWORD, **switches)
    running = serve_in_thread(app, name="nextvisit-sandbox-reading")
    try:
        yield running, app
    finally:
        running.stop()


@pytest.mark.parametrize("shape", ["plain", "new_token", "data", "header", "jwt", "user_token", "prefixed"])
def test_the_token_is_read_from_every_login_answer_shape(shape: str) -> None:
    # "plain": Sanctum's documented route for this request body answers the token as text;
    # "new_token": `['token' => $user->createToken(...)]` encodes Sanctum's NewAccessToken;
    # "header": devise-jwt's token in the `Authorization` response header, the user the body;
    # "jwt" and "user_token": Rails token logins written by hand (`{"jwt"}`, the user's auth_token);
    # "prefixed": `"token": "Bearer <token>"` (passport-jwt tutorials), sent as one `Bearer <token>`.
    with _serving(login_shape=shape) as (running, _):

        async def scenario() -> int:
            client = _client(running.url)
            try:
                answer = await client.request("GET", "/v1/patients", params={"per_page": 1})
                assert answer["data"]
                return client.logins
            finally:
                await client.aclose()

        assert asyncio.run(scenario()) == 1


@pytest.mark.parametrize(
    "reading",
    [
        # A Rails implementation's Devise sign-in reads `{"user": {"email", "password"}}` and
        # refuses the flat body with a 401 (its token in the response header, devise-jwt's).
        {"login_body": "user", "login_shape": "header"},
        # A FastAPI implementation's token login is `OAuth2PasswordRequestForm` (form-encoded
        # `username` and `password`, a JSON body refused with a 422) or a JSON model of the same
        # names. Before, every request of the tenant was a 502 "refused the gateway's
        # credentials" although they were right.
        {"login_body": "form"},
        {"login_body": "username"},
    ],
    ids=["devise", "form", "username"],
)
def test_a_refused_login_body_is_tried_as_other_implementations_read_it(reading: dict[str, str]) -> None:
    # The body that works is used for the next logins; a wrong password is still refused.
    with _serving(**reading) as (running, app):

        async def scenario() -> int:
            client = _client(running.url)
            try:
                answer = await client.request("GET", "/v1/patients", params={"per_page": 1})
                assert answer["data"]
                app.state.revoke_all_tokens()
                await client.request("GET", "/v1/patients", params={"per_page": 1})
                return client.logins
            finally:
                await client.aclose()

        assert asyncio.run(scenario()) == 2

        async def refused() -> None:
            client = _client(running.url, password="wrong")
            try:
                with pytest.raises(UpstreamSecurity):
                    await client.request("GET", "/v1/patients", params={"per_page": 1})
            finally:
                await client.aclose()

        asyncio.run(refused())


def test_the_form_login_is_kept_for_later_logins() -> None:
    # Once the form body worked, a renewal is one request, not three.
    with _serving(login_body="form") as (running, app):
        calls: list[str] = []

        async def scenario() -> None:
            client = _client(running.url)
            original = client._http.request

            async def counting(method: str, path: str, **kw: Any) -> Any:
                if path.endswith("/auth/tokens"):
                    calls.append("json" if kw.get("json") is not None else "form")
                return await original(method, path, **kw)

            client._http.request = counting  # type: ignore[method-assign]
            try:
                await client.request("GET", "/v1/patients", params={"per_page": 1})
                app.state.revoke_all_tokens()
                await client.request("GET", "/v1/patients", params={"per_page": 1})
            finally:
                await client.aclose()

        asyncio.run(scenario())
        assert calls == ["json", "json", "form", "form"]


@pytest.mark.parametrize("errors", ["laravel", "rails", "fastapi", "nestjs"])
def test_a_refusal_names_the_field_whatever_the_error_body(errors: str) -> None:
    # Rails answers a 422 with the field errors as the whole body (`render json: @patient.errors`),
    # FastAPI as pydantic's list under `detail`, NestJS's ValidationPipe as a list under
    # `message` (beside `error`, the reason phrase): the client's message names the field and the
    # rule, as for Laravel's `errors` (before, FastAPI's and NestJS's said nothing of them).
    with _serving(errors=errors) as (running, _):

        async def scenario() -> str:
            client = _client(running.url)
            try:
                with pytest.raises(InvalidRequest) as refused:
                    await client.request(
                        "POST", "/v1/patients", json={"first_name": "Ann", "date_of_birth": "1990-04-01"}
                    )
                return str(refused.value)
            finally:
                await client.aclose()

        said = asyncio.run(scenario())
        assert ("last_name " if errors == "nestjs" else "last_name: ") in said, said


@pytest.mark.parametrize("status", [419, 403])
def test_a_419_or_403_for_an_expired_token_logs_in_again(status: int) -> None:
    # 419: Laravel's "Page Expired"; 403: an Express app's `jwt.verify` callback, or DRF whose
    # first authentication class names no WWW-Authenticate scheme.
    with _serving(unauthenticated_status=status) as (running, app):

        async def scenario() -> int:
            client = _client(running.url)
            try:
                await client.request("GET", "/v1/patients", params={"per_page": 1})
                app.state.revoke_all_tokens()
                await client.request("GET", "/v1/patients", params={"per_page": 1})
                return client.logins
            finally:
                await client.aclose()

        assert asyncio.run(scenario()) == 2


def test_a_token_refused_with_403_after_a_refused_record_is_renewed_and_a_refused_record_costs_no_login() -> None:
    # Another team's patients refused by a policy (403) and a revoked token refused with 403 too:
    # neither can be told from the other by its status alone.
    with _serving(unauthenticated_status=403, foreign_patients="403") as (running, app):

        async def scenario() -> list[int]:
            client = _client(running.url)
            logins = []

            async def refused(patient_id: int) -> None:
                with pytest.raises(Refused):
                    await client.request("GET", f"/v1/patients/{patient_id}")

            try:
                await client.request("GET", "/v1/patients", params={"per_page": 1})
                for _ in range(3):
                    await refused(9001)
                    await refused(9002)
                    await client.request("GET", "/v1/patients", params={"per_page": 1})
                    logins.append(client.logins)
                app.state.revoke_all_tokens()  # a token that expires minutes after such a refusal
                await client.request("GET", "/v1/patients", params={"per_page": 1})
                logins.append(client.logins)
                await refused(9001)
                await refused(9002)
                logins.append(client.logins)
                return logins
            finally:
                await client.aclose()

        # One login to start, and at most one for each of the two refused records, the first
        # time a fresh token is refused it; asked for again, none.
        *passes, after_revocation, refused_again = asyncio.run(scenario())
        assert passes[-1] == passes[-2] <= 3
        assert after_revocation == passes[-1] + 1  # renewed at once, not a 403 for minutes
        assert refused_again == after_revocation


def test_a_token_refused_with_403_under_load_is_renewed_once() -> None:
    with _serving(unauthenticated_status=403, foreign_patients="403") as (running, app):

        async def scenario() -> int:
            client = _client(running.url)
            try:
                with pytest.raises(Refused):  # a token met with a 403 when fresh
                    await client.request("GET", "/v1/patients/9001")
                await client.request("GET", "/v1/patients", params={"per_page": 1})
                app.state.revoke_all_tokens()
                pages = [client.request("GET", "/v1/patients", params={"per_page": 1, "page": n}) for n in range(20)]
                await asyncio.gather(*pages)
                return client.logins
            finally:
                await client.aclose()

        assert asyncio.run(scenario()) == 3  # the first, the renewal at the first 403, one more


def test_a_tenant_refused_everything_with_403_does_not_log_in_at_every_request() -> None:
    # A 403 to every request with every token (the account may not read this team, say).
    with _serving(unauthenticated_status=403, foreign_patients="403") as (running, _):

        async def scenario() -> int:
            client = _client(running.url)
            try:
                for patient_id in (9001, 9002) * 3:
                    with pytest.raises(Refused):
                        await client.request("GET", f"/v1/patients/{patient_id}", params={"include": "demographics"})
                return client.logins
            finally:
                await client.aclose()

        assert asyncio.run(scenario()) == 2  # the first, and the one renewal of the first 403


def test_a_duplicate_refused_with_409_is_a_conflict_not_a_failed_precondition() -> None:
    body = {"first_name": "Ann", "last_name": "Zed", "date_of_birth": "1990-04-01"}
    with _serving(duplicates="409") as (running, _):

        async def scenario() -> None:
            client = _client(running.url)
            try:
                await client.request("POST", "/v1/patients", json=body)
                await client.request("POST", "/v1/patients", json=body)
            finally:
                await client.aclose()

        with pytest.raises(Conflict, match="already exists") as caught:
            asyncio.run(scenario())
        assert not isinstance(caught.value, PreconditionFailed)


@pytest.mark.parametrize("answer", ["message", "record"])
def test_a_create_answered_without_the_record_is_the_patient_it_made(answer: str) -> None:
    from mappings.nextvisit.adapter import NextvisitAdapter

    sent = {"resourceType": "Patient", "name": [{"family": "Zed", "given": ["Ann"]}], "birthDate": "1990-04-01"}
    with _serving(create_answer=answer) as (running, _):

        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            ctx = TenantContext("t", "urn:t")
            adapter = NextvisitAdapter(
                AdapterConfig(running.url, ctx, NextvisitOptions(), {"email": EMAIL, "password": PASSWORD})
            )
            patients = adapter.providers["Patient"]
            assert patients.create is not None
            try:
                await patients.create(sent)  # a namesake born the same day, created earlier
                written = await patients.create(sent)
                return written.resource, await patients.read(written.resource["id"])
            finally:
                await adapter.aclose()

        created, read = asyncio.run(scenario())
        assert created == read and created["name"][0]["family"] == "Zed" and created["birthDate"] == "1990-04-01"
        assert int(created["id"]) == max(p.id for p in build_clinic().patients) + 2  # the newer of the two


def test_writes_answered_with_a_text_message_are_done() -> None:
    # A Spring controller's `ResponseEntity.ok("Patient updated successfully")` of a String.
    from mappings.nextvisit.adapter import NextvisitAdapter

    sent = {"resourceType": "Patient", "name": [{"family": "Zed", "given": ["Ann"]}], "birthDate": "1990-04-01"}
    with _serving(write_answers="text") as (running, _):

        async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            ctx = TenantContext("t", "urn:t")
            adapter = NextvisitAdapter(
                AdapterConfig(running.url, ctx, NextvisitOptions(), {"email": EMAIL, "password": PASSWORD})
            )
            patients = adapter.providers["Patient"]
            assert patients.create is not None and patients.update is not None and patients.delete is not None
            try:
                created = (await patients.create(sent)).resource
                renamed = {**sent, "id": created["id"], "name": [{"family": "Zed", "given": ["Anne"]}]}
                updated = (await patients.update(created["id"], renamed, None)).resource
                await patients.delete(created["id"])
                with pytest.raises(Gone):
                    await patients.read(created["id"])
                return created, updated, renamed
            finally:
                await adapter.aclose()

        created, updated, renamed = asyncio.run(scenario())
        assert int(created["id"]) == max(p.id for p in build_clinic().patients) + 1
        assert updated["name"][0]["given"] == ["Anne"] and updated["id"] == renamed["id"]


def test_a_write_answered_with_a_web_page_is_not_taken_for_done() -> None:
    # A login form or a proxy's page at 200 says nothing of the write: a 502, never a success.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    async def login(request: Request) -> JSONResponse:
        return JSONResponse({"token": "1|abc"})

    async def patient(request: Request) -> HTMLResponse:
        return HTMLResponse("<!DOCTYPE html><html><body><form action='/login'></form></body></html>")

    routes = [Route("/v1/auth/tokens", login, methods=["POST"]), Route("/v1/patients/{id}", patient, methods=["PUT"])]
    running = serve_in_thread(Starlette(routes=routes), name="page")

    async def scenario() -> None:
        client = _client(running.url)
        try:
            await client.request("PUT", "/v1/patients/7", json={"first_name": "Ann"})
        finally:
            await client.aclose()

    try:
        with pytest.raises(UpstreamError, match="not JSON"):
            asyncio.run(scenario())
    finally:
        running.stop()


def test_a_login_the_vendor_fails_at_is_its_outage_not_the_tenants_configuration() -> None:
    # A vendor down (503 at its login) is the vendor failing, as on any other call: never
    # "check the tenant", which sends the operator to a configuration that is right.
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def login(_: object) -> JSONResponse:
        return JSONResponse({"message": "Service Unavailable"}, status_code=503)

    running = serve_in_thread(Starlette(routes=[Route("/v1/auth/tokens", login, methods=["POST"])]), name="down")

    try:
        with pytest.raises(UpstreamError) as raised:
            asyncio.run(_list_patients(running.url))
        assert "tenant" not in str(raised.value) and "503" in str(raised.value)
    finally:
        running.stop()


@pytest.mark.parametrize(("status", "error"), [(503, UpstreamError), (429, Throttled)])
def test_a_login_the_vendor_fails_at_while_trying_other_bodies_is_not_wrong_credentials(
    status: int, error: type[Exception]
) -> None:
    # A FastAPI login refuses the JSON bodies it cannot read (422) and is failing, or
    # throttling, when the form body reaches it: the vendor's state, as at any other call.
    # Before, the first 422 stood ("the operator must check" the credentials, which were
    # right) and the JSON `username` body was sent to the failing vendor all the same.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    sent: list[str] = []

    async def login(request: Request) -> JSONResponse:
        content_type = request.headers.get("content-type", "")
        sent.append(content_type)
        if "json" in content_type:
            missing = [{"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": None}]
            return JSONResponse({"detail": missing}, status_code=422)
        return JSONResponse({"detail": "Unavailable"}, status_code=status, headers={"Retry-After": "7"})

    running = serve_in_thread(Starlette(routes=[Route("/v1/auth/tokens", login, methods=["POST"])]), name="failing")

    try:
        with pytest.raises(error) as raised:
            asyncio.run(_list_patients(running.url))
        assert "credentials" not in str(raised.value) and "tenant" not in str(raised.value)
        assert len(sent) == 3  # the flat and Devise JSON bodies, then the form: nothing after the failure
    finally:
        running.stop()


def test_wrong_credentials_are_checked_once_per_login_by_a_vendor_reading_username_from_any_body() -> None:
    # A login reading `username` and `password` from a form or a JSON body alike (Laravel's
    # `$request->input()`, Rails' `params`, passport-local behind both body parsers) refuses the
    # form body's credentials; the same names sent again as JSON would be a second failed
    # sign-in counted against the account toward the vendor's lockout. Before, each login of a
    # tenant with a wrong password cost two; now one, and a right password still logs in.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    checked: list[str] = []

    async def login(request: Request) -> JSONResponse:
        if "json" in request.headers.get("content-type", ""):
            fields = await request.json()
        else:
            fields = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not isinstance(fields.get("username"), str):
            return JSONResponse({"message": "The username field is required."}, status_code=422)
        checked.append(fields["username"])
        if fields.get("password") != PASSWORD:
            return JSONResponse({"message": "Invalid credentials"}, status_code=401)
        return JSONResponse({"access_token": "1|abc", "token_type": "bearer"})

    async def patients(request: Request) -> JSONResponse:
        assert request.headers["authorization"] == "Bearer 1|abc"
        return JSONResponse({"data": []})

    routes = [Route("/v1/auth/tokens", login, methods=["POST"]), Route("/v1/patients", patients)]
    running = serve_in_thread(Starlette(routes=routes), name="merged")

    async def scenario(password: str) -> None:
        client = _client(running.url, password=password)
        try:
            assert await client.request("GET", "/v1/patients") == {"data": []}
        finally:
            await client.aclose()

    try:
        with pytest.raises(UpstreamSecurity):
            asyncio.run(scenario("wrong"))
        assert checked == [EMAIL]
        checked.clear()
        asyncio.run(scenario(PASSWORD))
        assert checked == [EMAIL]
    finally:
        running.stop()


def test_a_fastapi_refusal_names_the_field_and_rule_never_the_value_whatever_its_loc() -> None:
    # pydantic's errors quote what was sent (`input`, and `ctx`); the client's message names the
    # field and the rule only. A `loc` that is not a list (one name, or a number from an
    # implementation of its own) is still a 400 naming what it can, not a 500.
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    detail = [
        {"type": "string_too_short", "loc": ["body", "last_name"], "msg": "String should have at least 2 characters",
         "input": "Q", "ctx": {"min_length": 2}},
        {"type": "missing", "loc": "date_of_birth", "msg": "Field required", "input": {"first_name": "Zelda"}},
        {"type": "json_invalid", "loc": 7, "msg": "JSON decode error", "input": {}},
    ]  # fmt: skip

    async def login(_: object) -> JSONResponse:
        return JSONResponse({"token": "1|abc"})

    async def create(_: object) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=422)

    routes = [Route("/v1/auth/tokens", login, methods=["POST"]), Route("/v1/patients", create, methods=["POST"])]
    running = serve_in_thread(Starlette(routes=routes), name="pydantic")

    async def scenario() -> str:
        client = _client(running.url)
        try:
            with pytest.raises(InvalidRequest) as refused:
                await client.request("POST", "/v1/patients", json={"first_name": "Zelda", "last_name": "Q"})
            return str(refused.value)
        finally:
            await client.aclose()

    try:
        message = asyncio.run(scenario())
        assert "last_name: String should have at least 2 characters" in message
        assert "date_of_birth: Field required" in message and "JSON decode error" in message
        assert "Zelda" not in message and "'Q'" not in message
    finally:
        running.stop()


@pytest.mark.parametrize("errors", ["laravel", "error", "rails", "fastapi", "nestjs"])
def test_a_record_not_there_is_not_found_without_the_id_the_vendor_echoes(errors: str) -> None:
    # Eloquent's 404 is "No query results for model [App\Models\Patient] <the id as sent>":
    # the vendor's model and the client's id, whichever body carries it. Before, FastAPI's
    # `{"detail": ...}` passed it on to the client's OperationOutcome as it was.
    with _serving(errors=errors) as (running, _):

        async def scenario() -> str:
            client = _client(running.url)
            try:
                with pytest.raises(NotFound) as missing:
                    await client.request("GET", "/v1/patients/987654321")
                return str(missing.value)
            finally:
                await client.aclose()

        message = asyncio.run(scenario())
        assert "987654321" not in message and "Models" not in message


def test_a_login_at_none_of_the_usual_routes_is_found_through_options_login_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The docs list a Tokens section without its paths: the usual routes are tried in turn, and
    # an operator whose deployment has another names it.
    running = serve_in_thread(
        create_app(build_clinic(), email=EMAIL, password=PASSWORD, login_path="/v1/session"), name="nextvisit-session"
    )
    secrets = {"email": EMAIL, "password": PASSWORD}
    ctx = TenantContext("t", "urn:t")

    async def read(options: NextvisitOptions) -> Any:
        client = NextvisitClient(AdapterConfig(f"{running.url}", ctx, options, secrets))
        try:
            return await client.request("GET", "/v1/patients/7")
        finally:
            await client.aclose()

    try:
        with pytest.raises(UpstreamError, match="login failed"):
            asyncio.run(read(NextvisitOptions()))
        assert "HTTP 404 at /v1/auth/tokens, /v1/auth/login, /v1/login, /v1/sanctum/token" in caplog.text
        assert "set options.login_path" in caplog.text
        assert asyncio.run(read(NextvisitOptions(login_path="/v1/session")))["data"]["id"] == 7
    finally:
        running.stop()


def _reads(url: str, options: NextvisitOptions, count: int) -> list[Any]:
    """`count` reads of one patient, one after another: each answer, or the error it raised."""

    async def scenario() -> list[Any]:
        config = AdapterConfig(url, TenantContext("t", "urn:t"), options, {"email": EMAIL, "password": PASSWORD})
        client = NextvisitClient(config)
        answers: list[Any] = []
        try:
            for _ in range(count):
                try:
                    answers.append(await client.request("GET", "/v1/patients/7"))
                except Throttled as exc:
                    answers.append(exc)
            return answers
        finally:
            await client.aclose()

    return asyncio.run(scenario())


def test_calls_past_the_configured_limit_a_minute_wait_their_turn_and_are_never_sent_to_meet_a_429() -> None:
    # Laravel's `throttle:api`, 60 a minute, configured (options.rate_per_minute): calls go at
    # its pace (a few at once, then one every second or so). One that would wait longer than
    # max_queue_seconds is refused at once by the gateway, never sent: the vendor's minute is
    # not used up, and no 429 of its own comes back.
    with _serving(rate_limit=60) as (running, _):
        answers = _reads(running.url, NextvisitOptions(rate_per_minute=60, max_queue_seconds=0.5), 12)
    served = [a for a in answers if not isinstance(a, Exception)]
    refused = [a for a in answers if isinstance(a, Throttled)]
    assert 4 <= len(served) <= 8 and len(served) + len(refused) == 12  # the login took a turn too
    assert all(r.diagnostics.startswith("The vendor's request limit is used up") for r in refused), refused
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)


@pytest.mark.parametrize("configured", [False, True])
def test_the_operator_is_told_once_of_the_limit_the_vendor_says_when_the_tenant_sets_none(
    configured: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # The docs name no limit; Laravel's throttle says it in every answer (X-RateLimit-Limit).
    options = NextvisitOptions(rate_per_minute=1000) if configured else NextvisitOptions()
    with _serving(rate_limit=1000) as (running, _), caplog.at_level("WARNING", logger="mappings.nextvisit"):
        assert [a["data"]["id"] for a in _reads(running.url, options, 3)] == [7, 7, 7]
    told = [r.getMessage() for r in caplog.records if "X-RateLimit-Limit" in r.getMessage()]
    if configured:
        assert told == []
        return
    assert told == [
        "Nextvisit tenant t: the vendor limits requests (X-RateLimit-Limit: 1000, a window it does not name; "
        "Laravel's throttle:api counts a minute); set options.rate_per_minute (or rate_per_second) to it so "
        "that calls wait their turn instead of meeting its 429s"
    ]


def test_a_429_asking_a_longer_wait_than_the_tenant_allows_is_passed_on_at_once_with_its_retry_after() -> None:
    # Laravel's throttle refuses until its minute ends: 60 seconds away, more than
    # max_queue_seconds, is not waited out in the request (the FHIR client hears when to retry).
    clock = SetClock(datetime.now(UTC))
    with _serving(rate_limit=60, clock=clock) as (running, app):
        app.state.use_up_requests(2)  # the login and one read
        started = time.monotonic()
        first, refused = _reads(running.url, NextvisitOptions(max_queue_seconds=5), 2)
        assert time.monotonic() - started < 3
    assert first["data"]["id"] == 7
    assert isinstance(refused, Throttled) and refused.headers["Retry-After"] == "60"
    assert refused.diagnostics == "The vendor is rate-limiting requests; retry later"
