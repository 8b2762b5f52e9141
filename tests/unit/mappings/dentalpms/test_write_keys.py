"""Every Dental PMS POST and PATCH carries an Idempotency-Key of its own (client.py)."""

from __future__ import annotations

from uuid import UUID

import pytest

from mappings.dentalpms.client import _keyed


@pytest.mark.parametrize("method", ["POST", "PATCH", "patch"])
def test_a_write_gets_a_fresh_uuid_key(method: str) -> None:
    first, second = _keyed(method, None), _keyed(method, {"X-Other": "1"})
    assert first is not None and second is not None and second["X-Other"] == "1"
    assert UUID(first["Idempotency-Key"]) != UUID(second["Idempotency-Key"])


def test_a_key_already_given_is_kept_and_a_read_gets_none() -> None:
    assert _keyed("POST", {"idempotency-key": "mine"}) == {"idempotency-key": "mine"}
    assert _keyed("GET", None) is None and _keyed("DELETE", {}) == {}
