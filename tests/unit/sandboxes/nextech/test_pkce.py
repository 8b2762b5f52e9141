"""PKCE under ``oauth_pkce="required"`` (RFC 7636), and ignored by default (``sandboxes.nextech.auth``)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from gateway.connect import pkce_pair
from tests.unit.sandboxes.nextech.harness import CALLBACK, Api, assert_oauth_error, make_api


def _redirected(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 302, r.text
    assert r.headers["location"].startswith(CALLBACK)
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}


def _exchange(api: Api, code: str, verifier: str | None) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier is not None:
        form["code_verifier"] = verifier
    return api.token(form)


def test_a_required_pkce_takes_an_s256_challenge_and_its_verifier() -> None:
    api = make_api(oauth_pkce="required")
    verifier, challenge = pkce_pair()
    code = _redirected(api.authorize(code_challenge=challenge, code_challenge_method="S256", state="s1"))["code"]
    answer = _exchange(api, code, verifier)
    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"]


def test_a_required_pkce_refuses_an_authorize_request_without_an_s256_challenge() -> None:
    api = make_api(oauth_pkce="required")
    _, challenge = pkce_pair()
    for params in ({}, {"code_challenge": challenge}, {"code_challenge": challenge, "code_challenge_method": "plain"}):
        refused = _redirected(api.authorize(state="s2", **params))
        assert refused["error"] == "invalid_request" and refused["state"] == "s2" and "code" not in refused


def test_a_required_pkce_refuses_a_code_without_its_verifier() -> None:
    api = make_api(oauth_pkce="required")
    verifier, challenge = pkce_pair()
    other, _ = pkce_pair()
    for sent in (None, other, verifier[:42]):
        code = _redirected(api.authorize(code_challenge=challenge, code_challenge_method="S256"))["code"]
        refused = _exchange(api, code, sent)
        if sent is None:
            assert_oauth_error(refused, 400, "invalid_request", 900144)
        else:
            assert_oauth_error(refused, 400, "invalid_grant", 50148)


def test_pkce_is_ignored_by_default() -> None:
    # RFC 7636 section 5: a server without PKCE ignores the parameters, so sending them is safe.
    api = make_api()
    _, challenge = pkce_pair()
    code = _redirected(api.authorize(code_challenge=challenge, code_challenge_method="S256"))["code"]
    assert _exchange(api, code, "not-the-verifier").status_code == 200
    assert _exchange(api, api.code(), None).status_code == 200
