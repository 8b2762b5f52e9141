"""The versioned ``Accept`` header (``sandboxes.nexhealth.protocol``)."""

from __future__ import annotations

import pytest

from tests.unit.sandboxes.nexhealth.harness import SCOPE, VERSION_ERROR, Api, assert_error, unlimited_api


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


@pytest.mark.parametrize(
    "accept", [None, "application/json", "application/vnd.Nexhealth+json", "application/vnd.Nexhealth+json;version=1"]
)
def test_version_header_is_required(api: Api, accept: str | None) -> None:
    assert_error(api.authenticate(accept=accept), 400, [VERSION_ERROR])
    headers = {} if accept is None else {"Accept": accept}
    r = api.request("GET", "/patients", params=SCOPE, headers={**headers, "Authorization": "Bearer x.y.z"})
    assert_error(r, 400, [VERSION_ERROR])  # checked before the token


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.nexhealth+json; version=2",
        'application/vnd.Nexhealth+json;version="2"',
        "application/json, application/vnd.Nexhealth+json;version=2",
    ],
)
def test_version_header_variants_are_accepted(api: Api, accept: str) -> None:
    assert api.call("GET", "/providers", params=SCOPE, headers={"Accept": accept}).status_code == 200
