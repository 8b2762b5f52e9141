"""NexHealth's API key -> JWT exchange and bearer token checks (``sandboxes.nexhealth.auth``)."""

from __future__ import annotations

import base64
import re

import pytest

from tests.unit.sandboxes.nexhealth.harness import (
    KEY,
    SCOPE,
    T0,
    Api,
    Clock,
    assert_error,
    jwt_parts,
    make_api,
    unlimited_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


def test_authenticate_returns_a_signed_jwt() -> None:
    clock = Clock()
    api = make_api(clock, token_ttl=120)
    r = api.authenticate()
    assert r.status_code == 201
    assert "retry-after" not in r.headers
    body = r.json()
    assert body["code"] is True and body["description"] == "Authenticated" and body["error"] == []
    assert set(body) == {"code", "description", "error", "data"}
    header, claims = jwt_parts(body["data"]["token"])
    assert header == {"alg": "HS256"}
    assert claims["sub"] == "1" and claims["scp"] == "api_user"
    assert claims["iat"] == int(T0) and claims["exp"] == int(T0) + 120
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["jti"])
    assert api.app.state.authentications == 1
    assert jwt_parts(api.authenticate().json()["data"]["token"])[1]["jti"] != claims["jti"]
    assert api.app.state.authentications == 2


@pytest.mark.parametrize("key", [None, "", "wrong-key", f"Bearer {KEY}", KEY + " "])
def test_authenticate_with_a_wrong_key_is_401(key: str | None) -> None:
    api = make_api()
    assert_error(api.authenticate(key), 401, ["Invalid API key"])
    assert api.app.state.authentications == 0


def test_missing_and_garbage_tokens_are_401(api: Api) -> None:
    good = api.headers(True, {})["Authorization"].removeprefix("Bearer ")
    h, p, s = good.split(".")
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    forged_claims = base64.urlsafe_b64encode(b'{"sub":"1","scp":"api_user","exp":99999999999}').rstrip(b"=").decode()
    for value in [
        None,
        "",
        "Bearer",
        "Bearer garbage",
        "Bearer a.b.c",
        good,  # no scheme
        f"Basic {good}",
        f"Bearer {h}.{p}.{'B' if s[0] == 'A' else 'A'}{s[1:]}",  # bad signature (s[:-2] + "AA" was s itself 1 in 1,024)
        f"Bearer {h}.{forged_claims}.{s}",  # claims changed
        f"Bearer {none_alg}.{p}.",
        f"Bearer {h}.{p}.{s}!",
    ]:
        headers = {} if value is None else {"Authorization": value}
        r = api.call("GET", "/patients", params=SCOPE, headers=headers, auth=value is not None)
        assert_error(r, 401, ["Unauthorized"])
    assert api.call("GET", "/patients", params=SCOPE, headers={"Authorization": f"bearer {good}"}).status_code == 200


def test_token_expires_after_ttl_by_the_clock() -> None:
    clock = Clock()
    api = make_api(clock, token_ttl=3600)
    assert api.get("/providers").status_code == 200
    clock.now = T0 + 3599.5
    assert api.get("/providers").status_code == 200
    clock.now = T0 + 3600
    assert_error(api.get("/providers"), 401, ["Unauthorized: token has expired"])
    api.token = None  # re-authenticate: a fresh token works again
    assert api.get("/providers").status_code == 200
