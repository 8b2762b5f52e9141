"""Each shared-state test runs on both implementations: this process's and a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from gateway.shared import LocalState, SharedState
from gateway.shared.redis_state import RedisState

MakeState = Callable[[], SharedState]


@pytest.fixture(params=["in-process", "redis"])
def make_state(request: pytest.FixtureRequest) -> MakeState:
    """Makes a state; two made by one fixture share their data, as two workers on one Redis do
    (in-process: the same object). Call it inside the test's event loop."""
    if request.param == "in-process":
        local = LocalState()
        return lambda: local
    url = request.getfixturevalue("redis_url")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return lambda: RedisState(url, prefix=prefix)
