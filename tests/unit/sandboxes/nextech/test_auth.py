"""The OAuth2 authorization server: authorize, the code grant, client authentication (``sandboxes.nextech.auth``)."""

from __future__ import annotations

import re
from typing import Any
from unittest.mock import ANY
from urllib.parse import parse_qs, urlsplit

import pytest

from sandboxes.nextech.app import AUTH_CODE_TTL, DEFAULT_RESOURCE, create_app
from tests.unit.sandboxes.nextech.harness import (
    CALLBACK,
    CLIENT,
    CLINIC,
    PRACTICE,
    REGISTERED,
    SECRET,
    T0,
    Api,
    Clock,
    assert_oauth_error,
    make_api,
)


def test_authorize_redirects_with_a_code_and_the_state() -> None:
    api = make_api()
    r = api.authorize(state="xyz 1/2")
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:8765", "/callback")
    query = parse_qs(location.query)
    assert query["state"] == ["xyz 1/2"]
    assert len(query["code"][0]) >= 32
    assert re.fullmatch(r"[0-9a-f-]{36}", query["session_state"][0])
    assert api.code() != api.code()


def test_authorize_keeps_the_redirect_uris_own_query() -> None:
    api = make_api(redirect_uris=(REGISTERED + "?tenant=a",))
    r = api.authorize(REGISTERED + "?tenant=a")
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["tenant"] == ["a"] and "code" in query and "state" not in query


@pytest.mark.parametrize(
    "uri",
    [REGISTERED, "http://127.0.0.1:1/x", "http://localhost:55555/cb/", "http://[::1]:8080/cb", "http://localhost/cb"],
)
def test_registered_and_loopback_redirect_uris_are_allowed(uri: str) -> None:
    r = make_api().authorize(uri)
    assert r.status_code == 302, r.text
    assert r.headers["location"].startswith(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/cb",
        REGISTERED + "/",
        "https://127.0.0.1:8765/callback",  # loopback is http only
        "http://127.0.0.2:8765/callback",
        "https://gateway.example.com/oauth/callback#frag",
    ],
)
def test_unregistered_redirect_uri_is_400(uri: str) -> None:
    r = make_api().authorize(uri)
    assert_oauth_error(r, 400, "invalid_request", 50011)
    assert "location" not in r.headers


def test_without_registered_uris_any_http_uri_is_allowed_but_not_garbage() -> None:
    api = make_api(redirect_uris=())
    assert api.authorize("https://anything.example/cb").status_code == 302
    assert_oauth_error(api.authorize("not a uri"), 400, "invalid_request", 50011)
    assert_oauth_error(api.authorize("ftp://files.example/cb"), 400, "invalid_request", 50011)


def test_authorize_client_errors_are_400_json() -> None:
    api = make_api()
    assert_oauth_error(api.authorize(client_id="someone-else"), 400, "invalid_request", 700016)
    assert_oauth_error(
        api.request("GET", "/oauth2/authorize", params={"redirect_uri": CALLBACK}), 400, "invalid_request", 900144
    )
    assert_oauth_error(
        api.request("GET", "/oauth2/authorize", params={"client_id": CLIENT}), 400, "invalid_request", 900144
    )


def test_bad_response_type_goes_back_to_the_client() -> None:
    r = make_api().authorize(response_type="token", state="s")
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["unsupported_response_type"] and query["state"] == ["s"] and "code" not in query


def test_code_exchange_returns_an_azure_token_response() -> None:
    clock = Clock()
    api = make_api(clock, access_ttl=1800)
    r = api.exchange(api.code())
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers["cache-control"]
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800 and body["ext_expires_in"] == 1800
    assert body["expires_on"] == int(T0) + 1800 and body["not_before"] == int(T0)
    assert body["resource"] == "api://nx" and body["scope"] == "user_impersonation"
    assert len(body["access_token"]) >= 32 and len(body["refresh_token"]) >= 32
    assert body["access_token"] != body["refresh_token"]
    assert api.app.state.token_calls == {"authorization_code": 1}
    assert api.app.state.issued_refresh_tokens == 1


def test_resource_defaults_and_can_be_overridden_at_the_token_step() -> None:
    api = make_api()
    r = api.request(
        "GET", "/oauth2/authorize", params={"client_id": CLIENT, "response_type": "code", "redirect_uri": CALLBACK}
    )
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    assert api.exchange(code).json()["resource"] == DEFAULT_RESOURCE
    form = {"grant_type": "authorization_code", "code": api.code(), "redirect_uri": CALLBACK, "resource": "api://x"}
    assert api.token(form).json()["resource"] == "api://x"


def test_code_is_single_use() -> None:
    api = make_api()
    code = api.code()
    assert api.exchange(code).status_code == 200
    assert_oauth_error(api.exchange(code), 400, "invalid_grant", 54005)
    assert api.app.state.token_calls == {"authorization_code": 2}
    assert api.app.state.issued_refresh_tokens == 1


def test_code_expires_after_ten_minutes() -> None:
    clock = Clock()
    api = make_api(clock)
    fresh, stale = api.code(), api.code()
    clock.now += AUTH_CODE_TTL - 1
    assert api.exchange(fresh).status_code == 200
    clock.now += 1
    assert_oauth_error(api.exchange(stale), 400, "invalid_grant", 70008)


def test_redirect_uri_must_equal_the_authorize_one() -> None:
    api = make_api()
    code = api.code(CALLBACK)
    assert_oauth_error(api.exchange(code, "http://127.0.0.1:8765/callback/"), 400, "invalid_grant", 500112)
    assert_oauth_error(api.token({"grant_type": "authorization_code", "code": code}), 400, "invalid_request", 900144)
    assert api.exchange(code, CALLBACK).status_code == 200  # failed redemptions do not burn the code


def test_unknown_code_and_missing_parameters() -> None:
    api = make_api()
    assert_oauth_error(api.exchange("not-a-code"), 400, "invalid_grant", 70000)
    assert_oauth_error(api.token({"grant_type": "password"}), 400, "unsupported_grant_type", 70003)
    r = api.request("POST", "/oauth2/token", json={"grant_type": "authorization_code"})  # not a form
    assert_oauth_error(r, 400, "invalid_request", 900144)
    assert_oauth_error(api.request("GET", "/oauth2/token"), 400, "invalid_request", 900561)
    assert api.app.state.token_calls == {"authorization_code": 1, "password": 1, "": 1}


def test_wrong_or_missing_secret_is_401_invalid_client() -> None:
    api = make_api()
    code = api.code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": CLIENT}
    r = api.request("POST", "/oauth2/token", data={**form, "client_secret": "wrong"})
    assert_oauth_error(r, 401, "invalid_client", 7000215)
    assert_oauth_error(api.request("POST", "/oauth2/token", data=form), 401, "invalid_client", 7000218)
    r = api.request("POST", "/oauth2/token", data={**form, "client_id": "other", "client_secret": SECRET})
    assert_oauth_error(r, 400, "unauthorized_client", 700016)
    r = api.token({k: v for k, v in form.items() if k != "client_id"}, basic=(CLIENT, "wrong"))
    assert_oauth_error(r, 401, "invalid_client", 7000215)
    assert r.headers["www-authenticate"].startswith("Basic")
    assert api.app.state.issued_refresh_tokens == 0
    r = api.token({**form, "client_id": "someone-else"}, basic=(CLIENT, SECRET))
    assert_oauth_error(r, 400, "invalid_request", 9002313)
    r = api.token({k: v for k, v in form.items() if k != "client_id"}, basic=(CLIENT, SECRET))
    assert r.status_code == 200, r.text


def test_basic_credentials_are_form_urlencoded_first() -> None:
    app = create_app(CLINIC, client_id="a:b", client_secret="p%q:r", practice_id=PRACTICE, clock=Clock())
    api = Api(app)
    r = api.request(
        "GET", "/oauth2/authorize", params={"client_id": "a:b", "response_type": "code", "redirect_uri": CALLBACK}
    )
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert api.token(form, basic=("a%3Ab", "p%25q%3Ar")).status_code == 200


@pytest.mark.parametrize(("rotation", "answered"), [("reuse", True), ("none", False)])
def test_a_refresh_not_rotated_keeps_the_token_presented(rotation: str, answered: bool) -> None:
    api = make_api(refresh_rotation=rotation, refresh_grace=0.0)
    first = api.connect()["refresh_token"]
    for _ in range(3):  # no replay: the same token, used again and again
        r = api.refresh(first)
        assert r.status_code == 200, r.text
        assert ("refresh_token" in r.json()) is answered
        assert r.json().get("refresh_token", first) == first and r.json()["access_token"]
    assert api.app.state.issued_refresh_tokens == 1


def test_passport_refuses_a_revoked_refresh_token_as_a_401_invalid_request() -> None:
    """`oauth_errors="passport"`: league/oauth2-server before 9.0's spelling of every refusal."""
    api = make_api(oauth_errors="passport")
    first = api.connect()["refresh_token"]
    api.app.state.revoke_refresh_tokens()
    r = api.refresh(first)
    assert r.status_code == 401
    assert r.json() == {
        "error": "invalid_request",
        "error_description": "The refresh token is invalid.",
        "hint": "Token has been revoked",
        "message": "The refresh token is invalid.",
    }
    form = {"grant_type": "authorization_code", "code": "nope", "redirect_uri": CALLBACK, "client_id": CLIENT}
    r = api.request("POST", "/oauth2/token", data={**form, "client_secret": SECRET})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    r = api.request("POST", "/oauth2/token", data={**form, "client_secret": "wrong"})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("spelling", "refused"),
    [
        ("fastapi", {"detail": {"error": "invalid_grant", "error_description": ANY}}),
        ("nestjs", {"statusCode": 400, "message": "invalid_grant", "error": "Bad Request"}),
    ],
)
def test_a_web_framework_wraps_the_refusal_as_it_does(spelling: str, refused: dict[str, Any]) -> None:
    """`oauth_errors="fastapi"` / `"nestjs"`: a team's own token endpoint raising its framework's exception."""
    api = make_api(oauth_errors=spelling)
    first = api.connect()["refresh_token"]
    api.app.state.revoke_refresh_tokens()
    r = api.refresh(first)
    assert r.status_code == 400
    assert r.json() == refused


def test_a_token_answer_may_be_201_created() -> None:
    """`oauth_token_status=201`: a NestJS `@Post()` handler's default status, for every token answer."""
    api = make_api(oauth_token_status=201)
    code = api.code()
    first = api.exchange(code)
    assert first.status_code == 201 and first.json()["access_token"]
    again = api.refresh(first.json()["refresh_token"])
    assert again.status_code == 201 and again.json()["refresh_token"]


def test_a_refused_grant_may_be_a_403() -> None:
    """`oauth_refused_grant_status=403`: the docs' "refusing action" for a revoked refresh token."""
    api = make_api(oauth_refused_grant_status=403)
    first = api.connect()["refresh_token"]
    api.app.state.revoke_refresh_tokens()
    assert_oauth_error(api.refresh(first), 403, "invalid_grant", 50173)
