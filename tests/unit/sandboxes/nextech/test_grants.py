"""Refresh tokens: rotation, the grace period, replay and revocation (``sandboxes.nextech.grants``)."""

from __future__ import annotations

from sandboxes.nextech.app import REFRESH_TOKEN_TTL
from tests.unit.sandboxes.nextech.harness import Clock, assert_oauth_error, make_api


def test_refresh_rotates_both_tokens() -> None:
    api = make_api()
    first = api.connect()
    seen_refresh, seen_access = {first["refresh_token"]}, {first["access_token"]}
    current = first
    for _ in range(3):
        r = api.refresh(current["refresh_token"])
        assert r.status_code == 200, r.text
        current = r.json()
        assert current["refresh_token"] not in seen_refresh and current["access_token"] not in seen_access
        assert current["resource"] == "api://nx"
        seen_refresh.add(current["refresh_token"])
        seen_access.add(current["access_token"])
    assert api.app.state.token_calls == {"authorization_code": 1, "refresh_token": 3}
    assert api.app.state.issued_refresh_tokens == 4
    for access in seen_access:  # earlier access tokens live on until they expire
        assert api.get("/api/encounters/categories", token=access).status_code == 200


def test_used_refresh_token_works_within_grace_then_kills_the_grant() -> None:
    clock = Clock()
    api = make_api(clock, refresh_grace=30)
    rt1 = api.connect()["refresh_token"]
    r = api.refresh(rt1)
    assert r.status_code == 200
    rt2 = r.json()["refresh_token"]
    clock.now += 29  # the client crashed before saving rt2 and retries with rt1
    retry = api.refresh(rt1)
    assert retry.status_code == 200, retry.text
    rt3 = retry.json()["refresh_token"]
    assert rt3 not in (rt1, rt2)
    clock.now += 1  # 30 s after the first use: replay
    assert_oauth_error(api.refresh(rt1), 400, "invalid_grant", 70008)
    # strict servers revoke the whole grant on replay (documented choice)
    assert_oauth_error(api.refresh(rt2), 400, "invalid_grant", 50173)
    assert_oauth_error(api.refresh(rt3), 400, "invalid_grant", 50173)
    assert api.refresh(api.connect()["refresh_token"]).status_code == 200  # a new grant is unaffected


def test_zero_grace_makes_refresh_tokens_single_use() -> None:
    api = make_api(refresh_grace=0)
    rt = api.connect()["refresh_token"]
    assert api.refresh(rt).status_code == 200
    assert_oauth_error(api.refresh(rt), 400, "invalid_grant", 70008)


def test_refresh_token_errors() -> None:
    clock = Clock()
    api = make_api(clock)
    assert_oauth_error(api.refresh("nope"), 400, "invalid_grant", 70008)
    assert_oauth_error(api.token({"grant_type": "refresh_token"}), 400, "invalid_request", 900144)
    rt = api.connect()["refresh_token"]
    clock.now += REFRESH_TOKEN_TTL
    assert_oauth_error(api.refresh(rt), 400, "invalid_grant", 70008)


def test_revoke_hook_invalidates_every_refresh_token() -> None:
    api = make_api()
    a, b = api.connect(), api.connect()
    rotated = api.refresh(b["refresh_token"]).json()
    api.app.state.revoke_refresh_tokens()
    for rt in (a["refresh_token"], b["refresh_token"], rotated["refresh_token"]):
        r = api.refresh(rt)
        assert_oauth_error(r, 400, "invalid_grant", 50173)
        assert "AADSTS50173" in r.json()["error_description"]
    assert api.get("/api/encounters/categories", token=a["access_token"]).status_code == 200
    fresh = api.connect()  # reconnecting works
    assert api.refresh(fresh["refresh_token"]).status_code == 200


def test_oauth_errors_carry_no_token() -> None:
    api = make_api()
    rt = api.connect()["refresh_token"]
    api.app.state.revoke_refresh_tokens()
    assert rt not in api.refresh(rt).text
