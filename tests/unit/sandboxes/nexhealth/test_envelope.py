"""The response envelope, scoping parameters, routing errors and warnings."""

from __future__ import annotations

import pytest

from tests.unit.sandboxes.nexhealth.harness import LIVE, SUB, Api, assert_error, nexhealth_id, unlimited_api


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


def test_list_envelope_shape(api: Api) -> None:
    body = api.ok("/patients", per_page=2)
    assert set(body) == {"code", "description", "error", "data", "count"}
    assert body["description"] == []
    assert set(body["data"]) == {"patients"}
    assert len(body["data"]["patients"]) == 2
    assert body["count"] == len(LIVE)


def test_single_envelope_has_no_count(api: Api) -> None:
    body = api.ok(f"/patients/{nexhealth_id(LIVE[0])}")
    assert set(body) == {"code", "description", "error", "data"}
    assert body["data"]["patient"]["id"] == nexhealth_id(LIVE[0])


def test_required_scope_parameters(api: Api) -> None:
    for path in ("/patients", "/providers", f"/patients/{nexhealth_id(LIVE[0])}"):
        r = api.call("GET", path)
        assert_error(r, 400, ["Missing required parameter: subdomain", "Missing required parameter: location_id"])
        r = api.call("GET", path, params={"subdomain": SUB, "location_id": ""})
        assert_error(r, 400, ["Missing required parameter: location_id"])
    assert_error(api.get("/patients", subdomain="someone-else"), 403, ["You do not have access to this institution"])
    assert api.get("/patients", subdomain=SUB.upper()).status_code == 200
    assert_error(api.get("/patients", location_id=999), 404, ["Location not found"])
    assert_error(api.get("/patients", location_id="abc"), 400, ["location_id must be an integer"])


def test_unknown_route_and_method_are_404_envelopes(api: Api) -> None:
    assert_error(api.call("GET", "/nowhere"), 404, ["Not Found"])
    assert_error(api.call("DELETE", "/patients"), 404, ["Not Found"])


def test_unknown_parameters_are_ignored_with_a_warning(api: Api) -> None:
    body = api.ok("/patients", gender="female", sort="-id", per_page=1000)
    assert body["description"] == ["Ignored unknown parameter: gender", "Ignored unknown parameter: sort"]
    assert body["count"] == len(LIVE)  # gender did not narrow anything
    assert api.ok("/providers", foo="1")["description"] == ["Ignored unknown parameter: foo"]
