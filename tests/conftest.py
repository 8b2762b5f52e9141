"""Session fixtures: the demo gateway, running over real HTTP on loopback with its sandboxes;
and the test tiers: tests under tests/e2e are marked `e2e`, under tests/conformance
`conformance`, so `pytest -m "not e2e and not conformance and not slow"` is the fast tier."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from gateway.app import create_app
from gateway.sandbox_host import serve_in_thread
from gateway.settings import DEMO_CONFIG, AuditSettings, Settings, load_settings
from mappings.registry import VENDORS
from sandboxes.clinic import Clinic, build_clinic
from sandboxes.registry import SANDBOXES
from tests.support.fhir_http import FhirHttp
from tests.support.redis_server import running_redis

# Property tests check behaviour, not speed (bench/ measures that): Hypothesis's default 200 ms
# deadline per example failed an authorization property on a loaded 2-core machine, the first
# example of a run paying for cold caches.
settings.register_profile("gateway", deadline=None)
settings.load_profile("gateway")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores. About a third of the suite's time is spent
    waiting (on sockets, servers starting, timeouts it exercises): with one worker per core two
    cores were 67 % busy and the suite took 641 s, with three workers 499 s (all passing)."""
    return (os.cpu_count() or 1) + 1


_TIERS = {"e2e": pytest.mark.e2e, "conformance": pytest.mark.conformance}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = _TIERS.get(item.path.parent.name)
        if tier is not None:
            item.add_marker(tier)


DEMO_TENANTS = sorted(load_settings(DEMO_CONFIG).tenants)


@dataclass(frozen=True)
class RunningGateway:
    url: str
    settings: Settings
    audit: Path  # its audit trail (tests/e2e/conftest.py reads it for PHI)

    def base(self, tenant: str) -> str:
        return f"{self.url}/fhir/{tenant}"


@contextmanager
def running_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """The demo, as `fhir-gateway serve` runs it, with its access log on and its audit trail in
    a file, so that the end-to-end tests can read both for leaks."""
    audit = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    settings = load_settings(DEMO_CONFIG)
    settings = settings.model_copy(update={"audit": AuditSettings(sink="file", path=str(audit))})
    running = serve_in_thread(create_app(settings, VENDORS, SANDBOXES), name="gateway", date_header=False)
    try:
        yield RunningGateway(running.url, settings, audit)
    finally:
        running.stop()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """The demo, shared by the session's end-to-end tests (writes of one module are seen by the
    next: a module that needs the clinic as it was built has one of its own, `running_demo`)."""
    with running_demo(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="session")
def clinic() -> Clinic:
    return build_clinic()


@pytest.fixture
def fhir(gateway: RunningGateway) -> Iterator[FhirHttp]:
    client = FhirHttp(gateway.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for this test process (tests/support/redis_server.py)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url
