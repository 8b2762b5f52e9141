"""``GET /providers``."""

from __future__ import annotations

import pytest

from sandboxes.nexhealth.app import PROVIDER_ID_OFFSET
from tests.unit.sandboxes.nexhealth.harness import CLINIC, Api, unlimited_api


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


@pytest.mark.slow
def test_providers(api: Api) -> None:
    body = api.ok("/providers", per_page=100)
    assert body["count"] == len(CLINIC.providers)
    assert [p["id"] for p in body["data"]] == [p.id + PROVIDER_ID_OFFSET for p in CLINIC.providers]
    first = body["data"][0]
    assert first["name"] == "Maria Alvarez" and first["display_name"] == "Dr. Maria Alvarez"
    assert body["data"][2]["display_name"] == "Priya Raman"  # a hygienist
    assert len(api.ok("/providers", per_page=1)["data"]) == 1
