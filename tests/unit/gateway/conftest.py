"""Fixtures for unit tests of the gateway over the in-memory fake vendor (tests.support.fake_vendor)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_vendor import FakeBackend, TestClient, fake_gateway


@pytest.fixture
def backend() -> FakeBackend:
    """The fake vendor's data and hooks, empty: seed it in the test."""
    return FakeBackend()


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    """The gateway over `backend`, with one tenant (`BASE`) of vendor "fake"."""
    with fake_gateway(backend) as running:
        yield running
