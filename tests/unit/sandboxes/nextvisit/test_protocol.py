"""The Nextvisit simulator: Laravel's routing errors and PHP-encoded JSON."""

from __future__ import annotations

import pytest

from tests.unit.sandboxes.nextvisit.client import (
    Api,
    awkward,
    new_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


def test_unknown_route_and_wrong_method(api: Api) -> None:
    r = api.get("/v1/appointments", auth=False)
    assert (r.status_code, r.json()) == (404, {"message": "The route v1/appointments could not be found."})
    r = api.call("DELETE", "/v1/patients")
    assert r.status_code == 405
    assert r.json() == {"message": "The DELETE method is not supported for route v1/patients. "
                                   "Supported methods: GET, HEAD, POST."}  # fmt: skip


def test_json_is_encoded_like_php(api: Api) -> None:
    zoe = awkward("unicode_name")
    r = api.get(f"/v1/patients/{zoe.id}")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-cache, private"
    assert b'"first_name":"Zo\\u00eb"' in r.content
    assert r.json()["data"]["first_name"] == "Zoë"
    links = api.get("/v1/patients", params={"per_page": 5}).content
    assert b"http:\\/\\/sandbox\\/v1\\/patients?" in links
