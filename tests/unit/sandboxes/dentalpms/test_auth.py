"""The Dental PMS simulator: token and organisation checks, routing errors, content type."""

from __future__ import annotations

import pytest

from sandboxes.clinic import AWKWARD
from tests.unit.sandboxes.dentalpms.client import (
    BASE,
    ORG,
    TOKEN,
    Api,
    new_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


def test_missing_token_is_401(api: Api) -> None:
    r = api.get(BASE, auth=False)
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer nope", "Basic c2FuZGJveA==", f"Token {TOKEN}"])
def test_wrong_token_is_401(api: Api, header: str) -> None:
    r = api.get(BASE, auth=False, headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json() == {"detail": "Invalid authentication credentials"}
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_org_is_404(api: Api) -> None:
    r = api.get("/api/v1/someone-else/patients")
    assert (r.status_code, r.json()) == (404, {"detail": "Organization not found"})


def test_unknown_path_is_fastapi_404(api: Api) -> None:
    for path in ("/nope", f"/api/v1/{ORG}/appointments", f"{BASE}/{AWKWARD['nkda']}/alerts/x/y"):
        r = api.get(path, auth=False)
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    r = api.call("DELETE", BASE)
    assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})


def test_json_content_type(api: Api) -> None:
    assert api.get(BASE).headers["content-type"] == "application/json"
