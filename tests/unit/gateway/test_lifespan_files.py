"""What the gateway leaves on disk: the token directory of the sandboxes it starts itself exists
while it runs and is removed when it stops; a gateway starting no sandbox (real tenants only, or
a worker whose sandboxes its parent hosts) makes none, so that one killed outright leaves none."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

import gateway.app
from sandboxes.nextech import create_sandbox
from tests.support.fake_vendor import FakeBackend, fake_gateway
from tests.support.variants import gateway_over

PREFIX = "fhir-gateway-sandbox-tokens-"


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The token directories the gateway makes, in order."""
    paths: list[Path] = []
    real = tempfile.mkdtemp

    def spying(*args: Any, **kwargs: Any) -> str:
        path: str = real(*args, **kwargs)
        if kwargs.get("prefix") == PREFIX:
            paths.append(Path(path))
        return path

    monkeypatch.setattr(gateway.app.tempfile, "mkdtemp", spying)
    return paths


def test_a_gateway_of_real_tenants_makes_no_token_directory(made: list[Path]) -> None:
    backend = FakeBackend()
    backend.add_patient("p1")
    with fake_gateway(backend) as client:
        assert client.get("/healthz").status_code == 200
    assert made == []


def test_the_token_directory_of_its_own_sandboxes_is_removed_when_it_stops(made: list[Path]) -> None:
    # Nextech's sandbox is an OAuth server: its grants are kept in that directory.
    with gateway_over("nextech", create_sandbox) as running:
        assert running.fhir.get("/fhir/nextech/metadata").status_code == 200
        assert len(made) == 1 and made[0].is_dir()
    assert not made[0].exists()
