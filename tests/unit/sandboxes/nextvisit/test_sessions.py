"""The Nextvisit simulator: token login, logout and the token guard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from sandboxes.nextvisit.app import create_app
from tests.unit.sandboxes.nextvisit.client import (
    CLINIC,
    EMAIL,
    FIXED_NOW,
    ONE,
    PASSWORD,
    UNAUTHENTICATED,
    Api,
    Clock,
    new_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


def test_login_returns_a_sanctum_token_and_the_user() -> None:
    api = new_api()
    r = api.login()
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "success"
    assert re.fullmatch(r"1\|[A-Za-z0-9]{40}", body["token"])
    user = body["user"]
    assert user["email"] == EMAIL
    assert {"id", "name", "email", "current_team_id", "created_at", "updated_at"} <= set(user)
    assert re.fullmatch(r"2\|[A-Za-z0-9]{40}", api.login().json()["token"])  # ids count up


def test_login_email_is_case_insensitive_password_is_exact(api: Api) -> None:
    assert api.login(email=EMAIL.upper()).status_code == 200
    assert api.login(password=PASSWORD.strip()).status_code == 422


@pytest.mark.parametrize("body", [{"password": "wrong"}, {"email": "someone@clinic.example"}])
def test_wrong_credentials_are_422(api: Api, body: dict[str, str]) -> None:
    r = api.login(**body)
    assert r.status_code == 422
    assert r.json() == {
        "message": "The provided credentials are incorrect.",
        "errors": {"email": ["The provided credentials are incorrect."]},
    }


def test_login_validation_errors(api: Api) -> None:
    r = api.call("POST", "/v1/auth/tokens", auth=False, json={"email": "  ", "device_name": ""})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The email field is required. (and 2 more errors)",
        "errors": {
            "email": ["The email field is required."],
            "password": ["The password field is required."],
            "device_name": ["The device name field is required."],
        },
    }
    r = api.login(email="not-an-email")
    assert r.json() == {
        "message": "The email field must be a valid email address.",
        "errors": {"email": ["The email field must be a valid email address."]},
    }
    r = api.call(
        "POST", "/v1/auth/tokens", auth=False, content=b"{broken", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"email", "password", "device_name"}


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Bearer 1|" + "x" * 40, "Basic c2FuZGJveA==", "Bearer 99|abc"],
)
def test_missing_or_unknown_token_is_401(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for path in ("/v1/patients", "/v1/patients/search?query=a", ONE):
        r = api.get(path, auth=False, headers=headers)
        assert (r.status_code, r.json()) == (401, UNAUTHENTICATED)
        assert "www-authenticate" not in r.headers


def test_revoke_all_tokens_forces_a_401_until_a_new_login() -> None:
    api = new_api()
    assert api.get(ONE).status_code == 200
    api.app.state.revoke_all_tokens()
    r = api.get(ONE)
    assert (r.status_code, r.json()) == (401, UNAUTHENTICATED)
    api.token = api.login().json()["token"]  # what a client does on 401: log in again
    assert api.get(ONE).status_code == 200


def test_a_token_past_its_lifetime_is_refused_until_a_new_login() -> None:
    clock = Clock(FIXED_NOW)
    api = Api(
        create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=clock, token_lifetime=600, unauthenticated_status=403)
    )
    assert api.get(ONE).status_code == 200
    clock.now = FIXED_NOW + timedelta(seconds=599)
    assert api.get(ONE).status_code == 200
    clock.now = FIXED_NOW + timedelta(seconds=600)
    r = api.get(ONE)
    assert (r.status_code, r.json()) == (403, UNAUTHENTICATED)
    api.token = api.login().json()["token"]  # its lifetime counts from this login
    assert api.get(ONE).status_code == 200


def test_logout_revokes_only_the_current_token() -> None:
    api = new_api()
    other = api.login().json()["token"]
    assert api.token is None
    r = api.call("DELETE", "/v1/auth/tokens/current")
    assert (r.status_code, r.json()) == (200, {"message": "Token revoked successfully"})
    assert api.get(ONE).status_code == 401
    assert api.get(ONE, headers={"Authorization": f"bearer {other}"}).status_code == 200
    secret = other.split("|", 1)[1]  # Sanctum also finds a token by its secret alone
    assert api.get(ONE, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
