"""The API guard: bearer tokens, the practice header, Web API routing errors, headers (``routes``, ``errors``)."""

from __future__ import annotations

import pytest

from sandboxes.nextech.app import ACCESS_DENIED, PRACTICE_HEADER
from tests.unit.sandboxes.nextech.harness import HOST, PRACTICE, Api, Clock, assert_api_error, make_api


@pytest.fixture(scope="module")
def api() -> Api:
    return make_api()


def test_access_token_expires_per_clock() -> None:
    clock = Clock()
    api = make_api(clock, access_ttl=60)
    token = api.connect()["access_token"]
    clock.now += 59
    assert api.get("/api/encounters/categories", token=token).status_code == 200
    clock.now += 1
    r = api.get("/api/encounters/categories", token=token)
    assert_api_error(r, 401, ACCESS_DENIED)
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer unknown-token", "Basic abc"])
def test_missing_or_unknown_bearer_is_401(api: Api, header: str | None) -> None:
    headers = {PRACTICE_HEADER: PRACTICE}
    if header is not None:
        headers["Authorization"] = header
    r = api.request("GET", "/api/search", params={"term": "smith"}, headers=headers)
    assert_api_error(r, 401, ACCESS_DENIED)
    assert r.json() == {"Message": ACCESS_DENIED}


def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    headers = {"Authorization": f"bearer {api.access()}", PRACTICE_HEADER: PRACTICE}
    assert api.request("GET", "/api/encounters/categories", headers=headers).status_code == 200


def test_practice_header_missing_is_400_and_wrong_is_403(api: Api) -> None:
    assert_api_error(
        api.get("/api/search", practice=None, term="smith"), 400, "The x-nextech-practice-id header is required."
    )
    assert_api_error(
        api.get("/api/search", practice=" ", term="smith"), 400, "The x-nextech-practice-id header is required."
    )
    assert_api_error(
        api.get("/api/search", practice="9999", term="smith"), 403, "Access to the requested practice is denied."
    )
    assert api.get("/api/search", practice=f" {PRACTICE} ", term="smith").status_code == 200


def test_unknown_route_and_method_answer_like_web_api(api: Api) -> None:
    r = api.request("GET", "/api/patients/12")  # no such route in the docs: no patient read by id
    assert_api_error(r, 404, f"No HTTP resource was found that matches the request URI '{HOST}/api/patients/12'.")
    r = api.request("POST", "/api/search")
    assert_api_error(r, 405, "The requested resource does not support http method 'POST'.")


def test_api_responses_are_json_with_no_cache(api: Api) -> None:
    r = api.get("/api/encounters/categories")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
