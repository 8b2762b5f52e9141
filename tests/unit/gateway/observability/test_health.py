"""Readiness: which tenants can reach their vendor, and whether the gateway as a whole is ready."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from gateway.observability import health
from gateway.observability.figures import Figures
from gateway.observability.health import Readiness, Watched
from gateway.shared import LocalState, SharedState, SharedStateUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Probe:
    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, base_url: str) -> bool:
        self.asked.append(base_url)
        return self.answer


@pytest.fixture(autouse=True)
def fresh_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests change the world between reports: no report is reused."""
    monkeypatch.setattr(health, "REPORT_KEPT", 0.0)


def _readiness(probe: Probe, *watched: Watched) -> tuple[Readiness, Clock]:
    clock = Clock()
    readiness = Readiness(Figures(clock), window=30, probe=probe)
    for one in watched:
        readiness.watch(one)
    return readiness, clock


def _report(readiness: Readiness, shared: Any = None) -> Any:
    return asyncio.run(readiness.report(cast(SharedState | None, shared)))


def test_a_recent_vendor_answer_is_enough_and_costs_no_probe() -> None:
    probe = Probe(False)
    readiness, clock = _readiness(probe, Watched("dentalpms", "dentalpms", "http://vendor"))
    readiness.figures.tenant("dentalpms").last_ok = clock.now - 5
    report = _report(readiness)
    assert report.ready and report.tenants["dentalpms"].ready and probe.asked == []


def test_without_recent_calls_the_vendor_is_probed_and_the_answer_kept() -> None:
    probe = Probe(True)
    readiness, clock = _readiness(probe, Watched("dentalpms", "dentalpms", "http://vendor"))
    assert _report(readiness).ready
    clock.now += 10
    assert _report(readiness).ready and probe.asked == ["http://vendor"]
    clock.now += 30
    _report(readiness)
    assert len(probe.asked) == 2


def test_an_unreachable_vendor_makes_its_tenant_and_the_gateway_unready() -> None:
    readiness, _ = _readiness(
        Probe(False), Watched("dentalpms", "dentalpms", "http://vendor"), Watched("nextvisit", "nextvisit", "http://b")
    )
    readiness.figures.tenant("nextvisit").last_ok = readiness.figures.clock()
    report = _report(readiness)
    assert not report.ready
    body = report.as_json()
    assert body["status"] == "not ready" and body["down"] == ["dentalpms"]
    assert body["tenants"]["dentalpms"]["reason"] == "the vendor's host does not accept connections"
    assert body["tenants"]["nextvisit"]["ready"] is True


def test_a_tenant_not_required_for_readiness_is_reported_but_does_not_fail_the_gateway() -> None:
    readiness, _ = _readiness(Probe(False), Watched("dentalpms", "dentalpms", "http://vendor", required=False))
    report = _report(readiness)
    assert report.ready and not report.tenants["dentalpms"].ready
    assert report.as_json()["down"] == ["dentalpms"]


def test_an_open_breaker_is_down_however_recent_the_last_answer() -> None:
    readiness, clock = _readiness(Probe(True), Watched("dentalpms", "dentalpms", "http://vendor"))
    figures = readiness.figures.tenant("dentalpms")
    figures.last_ok, figures.breaker = clock.now, "open"
    tenant = _report(readiness).tenants["dentalpms"]
    assert not tenant.ready and tenant.breaker == "open" and "breaker" in (tenant.reason or "")


def test_an_oauth_tenant_must_hold_a_grant_and_renew_its_tokens() -> None:
    granted = {"nextech": False}

    async def has_grant() -> bool:
        return granted["nextech"]

    readiness, _ = _readiness(Probe(True), Watched("nextech", "nextech", "http://vendor", has_grant=has_grant))
    tenant = _report(readiness).tenants["nextech"]
    assert not tenant.ready and tenant.oauth == "not connected" and "fhir-gateway connect" in (tenant.reason or "")
    granted["nextech"] = True
    assert _report(readiness).tenants["nextech"].oauth == "connected"
    readiness.figures.tenant("nextech").renewal_failed = True
    tenant = _report(readiness).tenants["nextech"]
    assert not tenant.ready and tenant.oauth == "renewal failed"


class _Redis(LocalState):
    kind = "redis"

    def __init__(self, up: bool) -> None:
        super().__init__()
        self.up = up

    async def ping(self) -> None:
        if not self.up:
            raise SharedStateUnavailable()


def test_with_redis_shared_state_redis_must_answer() -> None:
    readiness, _ = _readiness(Probe(True), Watched("dentalpms", "dentalpms", "http://vendor"))
    assert _report(readiness, _Redis(up=True)).as_json()["shared_state"]["ready"] is True
    down = _report(readiness, _Redis(up=False))
    assert not down.ready and down.as_json()["shared_state"] == {
        "kind": "redis",
        "ready": False,
        "reason": "redis does not answer",
    }
    assert _report(readiness, LocalState()).as_json()["shared_state"] == {"kind": "in-process"}


def test_many_probes_at_once_make_one_report_and_one_vendor_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "REPORT_KEPT", 1.0)
    probe = Probe(False)  # a vendor that is down: nothing is kept from a failed probe for long
    readiness, _ = _readiness(probe, Watched("dentalpms", "dentalpms", "http://vendor"))

    async def flood() -> list[Any]:
        return list(await asyncio.gather(*(readiness.report(None) for _ in range(200))))

    reports = asyncio.run(flood())
    assert len(probe.asked) == 1 and all(not r.ready for r in reports)
