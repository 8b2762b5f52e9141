"""The fault-injection suite: the gateway over the real Dental PMS simulator in chaos mode
(sandboxes.toolkit.chaos), driven by concurrent clients. Each scenario prints its figures.

What it shows: retries within budget keep client GETs succeeding through occasional vendor
failures at little extra vendor load; a dead vendor trips the breaker (fast 503s, no vendor
calls) and, with a warm cache, reads go on, marked stale; a broken answer is never a 200.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.contract import Sandbox
from sandboxes.clinic import build_clinic
from sandboxes.dentalpms import create_sandbox
from sandboxes.toolkit.chaos import Chaos, Faults
from tests.support.clinic import live_patients
from tests.support.runs import Run, run_against
from tests.support.variants import gateway_over

TENANT = "dentalpms"
# Long enough that no half-open probe reaches the vendor while the test reads through the open
# breaker on a busy machine (a probe is a vendor call, which the test counts).
OPEN_FOR = 4.0
CLINIC = build_clinic()
PATIENTS = [str(p.uuid) for p in live_patients(CLINIC)][:60]
# Each client request: a patient read and the patient's allergies (each a few vendor calls).
WORKLOAD = [f"/fhir/{TENANT}/Patient/{p}" for p in PATIENTS] + [
    f"/fhir/{TENANT}/AllergyIntolerance?patient={p}" for p in PATIENTS
]


@dataclass
class Faulty:
    url: str
    chaos: Chaos

    def run(self, paths: list[str], workers: int = 8) -> Run:
        return run_against(self.url, self.chaos, paths, workers)


@pytest.fixture(scope="module")
def faulty() -> Iterator[Faulty]:
    made: list[Chaos] = []

    def chaotic() -> Sandbox:
        sandbox = create_sandbox(CLINIC)
        made.append(Chaos(sandbox.app, Faults()))
        return dataclasses.replace(sandbox, app=made[-1])

    settings = {
        "breaker": {"window": 10, "min_calls": 20, "failure_ratio": 0.5, "consecutive": 5, "open_for": OPEN_FOR},
        "cache": {"enabled": True, "ttl": 0.01, "stale_for": 600},
    }
    with gateway_over(TENANT, chaotic, tenant=TENANT, **settings) as running:
        yield Faulty(running.url, made[0])


@pytest.fixture(scope="module")
def baseline(faulty: Faulty) -> Run:
    faulty.chaos.faults = Faults()
    run = faulty.run(WORKLOAD)
    run.report("no faults")
    assert run.success == 1.0, run.failures
    return run


def test_occasional_failures_and_stalls_are_absorbed(faulty: Faulty, baseline: Run) -> None:
    faulty.chaos.faults = Faults(error=0.05, stall=0.01, stall_seconds=2.0, seed=11)
    time.sleep(0.02)  # past the cache's freshness: every read goes to the vendor
    run = faulty.run(WORKLOAD)
    run.report("5% vendor 500s + 1% 2-s stalls", baseline)
    assert run.success >= 0.995, run.failures
    assert run.vendor_calls <= 1.2 * baseline.vendor_calls
    assert all(run.bodies[path] == baseline.bodies[path] for path in run.bodies if "Patient/" in path)


def test_heavy_failures_are_retried_within_budget_and_the_rest_answered_honestly(faulty: Faulty, baseline: Run) -> None:
    faulty.chaos.faults = Faults(error=0.30, seed=12)
    time.sleep(0.02)
    run = faulty.run(WORKLOAD)
    run.report("30% vendor 500s", baseline)
    assert set(run.statuses) <= {200, 502, 503}  # a failure is an OperationOutcome (checked in run)
    # The retry budget: 0.2 of a retry earned per call, 10 at most saved up.
    assert run.vendor_calls <= 1.2 * baseline.vendor_calls + 10
    assert run.success >= 0.80, run.failures


def test_broken_answers_are_never_a_200(faulty: Faulty, baseline: Run) -> None:
    faulty.chaos.faults = Faults(malformed=0.1, wrong_type=0.05, reset=0.05, seed=13)
    time.sleep(0.02)
    run = faulty.run(WORKLOAD)
    run.report("10% truncated JSON, 5% HTML, 5% resets", baseline)
    assert set(run.statuses) <= {200, 502, 503, 504}
    stale = 0
    for path, body in run.bodies.items():  # what came back is what the vendor holds
        if body["resourceType"] == "Bundle":
            continue
        tags = body.get("meta", {}).get("tag", [])
        if tags and tags[-1]["code"] == "stale":  # the cache answered for a broken vendor answer
            stale += 1
            body = {**body, "meta": {**body["meta"], "tag": tags[:-1]}}
            if not body["meta"]["tag"]:
                del body["meta"]["tag"]
        assert body == baseline.bodies[path], path
    print(f"  ({stale} reads answered from the cache, marked stale)")


def _probes_since(tripping: float) -> int:
    """The vendor calls an open breaker may have let through since `tripping`: none within
    OPEN_FOR of it; after that one half-open probe per OPEN_FOR (a machine slow enough to take
    that long over the requests below is not a breaker letting calls through)."""
    return int((time.monotonic() - tripping) // OPEN_FOR)


_UNSEARCHED = itertools.count()


def _until_the_breaker_is_closed(faulty: Faulty) -> None:
    """The tests before may leave the breaker open, for up to 8 x OPEN_FOR after failed probes:
    searches no one made before (never cached) until one is answered by the vendor."""
    deadline = time.monotonic() + 8 * OPEN_FOR + 5
    for _ in range(10_000):
        # A name never searched before in this gateway (a cached answer would say nothing of the breaker)
        if httpx.get(f"{faulty.url}/fhir/{TENANT}/Patient?family=zz{next(_UNSEARCHED)}", timeout=10).status_code == 200:
            return
        assert time.monotonic() < deadline, "the breaker did not close with the vendor back"
        time.sleep(0.2)


def test_a_dead_vendor_trips_the_breaker_and_warm_reads_go_on_stale(faulty: Faulty, baseline: Run) -> None:
    reads = [p for p in WORKLOAD if "Patient/" in p][:20]
    faulty.chaos.faults = Faults()
    _until_the_breaker_is_closed(faulty)  # so that this test's failures are what opens it
    faulty.run(reads)  # warm the cache
    faulty.chaos.faults = Faults(error=1.0)
    time.sleep(0.02)
    tripping = time.monotonic()  # the breaker opens after this, and stays open OPEN_FOR at least
    faulty.run([f"/fhir/{TENANT}/AllergyIntolerance?patient={p}" for p in PATIENTS[:10]])  # trips it
    calls = faulty.chaos.calls
    cold = faulty.run([f"/fhir/{TENANT}/Patient?birthdate=ge1900-01-0{d}" for d in range(1, 10)], workers=1)
    probes = faulty.chaos.calls - calls
    assert probes <= _probes_since(tripping)  # refused without a vendor call, but for a half-open probe
    assert set(cold.statuses) <= {502, 503} and cold.statuses.count(503) >= len(cold.statuses) - probes
    cold.report("breaker open: uncached searches")
    warm = faulty.run(reads, workers=1)
    assert warm.success == 1.0 and faulty.chaos.calls - calls <= _probes_since(tripping)
    assert all(body["meta"]["tag"][-1]["code"] == "stale" for body in warm.bodies.values())
    warm.report("breaker open: cached reads, served stale")
    faulty.chaos.faults = Faults()  # the vendor is back
    # OPEN_FOR at least; longer when probes made while the vendor still failed reopened it (a
    # loaded machine makes more of them before the vendor is back)
    _until_the_breaker_is_closed(faulty)
    again = faulty.run(reads[:5], workers=1)
    assert again.success == 1.0 and not any("tag" in (b.get("meta") or {}) for b in again.bodies.values())
