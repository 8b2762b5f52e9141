"""The fault-injection suite over every other simulator (test_vendor_faults.py has Dental PMS in
depth), each in chaos mode (sandboxes.toolkit.chaos) behind its own tenant; and a hanging
vendor beside a healthy one. Each scenario prints its figures.

What it shows, for NexHealth, Nextech and Nextvisit alike: occasional vendor 500s and stalls
are absorbed by retries at little extra vendor load, and truncated JSON, HTML error pages and
dropped connections never become a 200 that differs from what the vendor holds. And a vendor
that hangs does not slow another tenant.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.app import create_app
from gateway.contract import Sandbox
from gateway.sandbox_host import serve_in_thread
from gateway.settings import AuditSettings, ServerSettings, Settings, TenantSettings
from mappings.registry import VENDORS
from sandboxes import dentalpms, nexhealth, nextech, nextvisit
from sandboxes.clinic import build_clinic
from sandboxes.toolkit.chaos import Chaos, Faults
from tests.support.clinic import live_patients
from tests.support.runs import Run, get_all, run_against

CLINIC = build_clinic()
FAMILIES = sorted({p.last_name for p in live_patients(CLINIC)})[:15]
# The simulators' token endpoints are spared: a client that cannot log in is another test.
CHAOTIC = {
    "nexhealth": (nexhealth.create_sandbox, ("/authenticates",)),
    "nextech": (nextech.create_sandbox, ("/oauth2/",)),
    "nextvisit": (nextvisit.create_sandbox, ("/v1/auth/",)),
}
QUIET = AuditSettings(sink="off")
BREAKER = {"window": 10, "min_calls": 20, "failure_ratio": 0.5, "consecutive": 5, "open_for": 1.5}


@dataclass
class Faulty:
    vendor: str
    url: str
    chaos: Chaos
    workload: list[str]

    def run(self, paths: list[str] | None = None) -> Run:
        return run_against(self.url, self.chaos, paths or self.workload)


@pytest.fixture(scope="module", params=sorted(CHAOTIC))
def faulty(request: pytest.FixtureRequest) -> Iterator[Faulty]:
    vendor: str = request.param
    create, spare = CHAOTIC[vendor]
    made: list[Chaos] = []

    def chaotic() -> Sandbox:
        sandbox = create(CLINIC)
        made.append(Chaos(sandbox.app, Faults(), spare=spare))
        return dataclasses.replace(sandbox, app=made[-1])

    conf = TenantSettings(vendor=vendor, sandbox=True, timezone="America/Chicago", breaker=BREAKER)
    app = create_app(Settings(tenants={vendor: conf}, audit=QUIET), VENDORS, {vendor: chaotic}, access_logging=False)
    running = serve_in_thread(app, name=f"faulty-{vendor}", date_header=False)
    try:
        searches = [f"/fhir/{vendor}/Patient?family={family}" for family in FAMILIES]
        found = get_all(running.url, searches)
        matches = [e for _, _, bundle in found for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        ids = [e["resource"]["id"] for e in matches][:30]  # not an outcome entry's (a warning), which has none
        assert ids, f"{vendor}: the searches found no patient"
        yield Faulty(vendor, running.url, made[0], searches + [f"/fhir/{vendor}/Patient/{i}" for i in ids])
    finally:
        running.stop()


@pytest.fixture(scope="module")
def baseline(faulty: Faulty) -> Run:
    faulty.chaos.faults = Faults()
    run = faulty.run()
    assert run.success == 1.0, run.failures
    return run


def test_occasional_failures_and_stalls_are_absorbed(faulty: Faulty, baseline: Run) -> None:
    faulty.chaos.faults = Faults(error=0.05, stall=0.01, stall_seconds=2.0, seed=21)
    run = faulty.run(faulty.workload * 3)
    load = run.vendor_calls / (3 * baseline.vendor_calls)
    print(
        f"\n[{faulty.vendor}: 5% vendor 500s + 1% 2-s stalls] {len(run.statuses)} GETs: {run.success:.1%} ok, "
        f"p99 {run.p(99):.0f} ms (no faults {baseline.p(99):.0f} ms), vendor load {load:.2f}x"
    )
    assert run.success >= 0.995, run.failures
    assert load <= 1.2
    # The p99 is the vendor's (a stalled call; a search makes up to three calls, so two of them
    # may stall) plus a backoff step, not a client-visible timeout or a retry storm.
    assert run.p(99) <= baseline.p(99) + 2 * 2000 + 1000
    for path, body in run.bodies.items():
        if "Patient/" in path:
            assert body == baseline.bodies[path], path


def test_broken_answers_are_never_a_200(faulty: Faulty, baseline: Run) -> None:
    faulty.chaos.faults = Faults(malformed=0.1, wrong_type=0.05, reset=0.05, throttle=0.05, seed=23)
    run = faulty.run()
    print(
        f"\n[{faulty.vendor}: 10% truncated JSON, 5% HTML, 5% resets, 5% 429s] {len(run.statuses)} GETs: "
        f"{run.success:.1%} ok, statuses {sorted(set(run.statuses))}"
    )
    assert set(run.statuses) <= {200, 429, 502, 503, 504}
    for path, body in run.bodies.items():  # what came back is what the vendor holds, never a part
        if body["resourceType"] == "Bundle":
            expected = baseline.bodies[path]
            assert [e["resource"] for e in body.get("entry", [])] == [e["resource"] for e in expected.get("entry", [])]
            assert body.get("total") == expected.get("total")
        else:
            assert body == baseline.bodies[path], path


def test_a_hanging_vendor_does_not_slow_another_tenant() -> None:
    hanging: list[Chaos] = []

    def stalled() -> Sandbox:
        sandbox = dentalpms.create_sandbox(CLINIC)
        hanging.append(Chaos(sandbox.app, Faults(stall=1.0, stall_seconds=30.0)))
        return dataclasses.replace(sandbox, app=hanging[-1])

    # The healthy tenant is one with no request limit of its own: NexHealth's 1,000 a minute
    # paces a tenant to ~15 calls a second once its burst is spent, which timed that pacing
    # (p50 135 → 780 ms) instead of any effect of the stuck vendor.
    healthy: Callable[[], Sandbox] = lambda: nextvisit.create_sandbox(CLINIC)  # noqa: E731
    tenants = {
        "stuck": TenantSettings(vendor="dentalpms", sandbox=True, timeouts={"read": 30, "total": 30}),
        "fine": TenantSettings(vendor="nextvisit", sandbox=True),
    }
    app = create_app(
        Settings(tenants=tenants, audit=QUIET),
        VENDORS,
        {"dentalpms": stalled, "nextvisit": healthy},
        access_logging=False,
    )
    running = serve_in_thread(app, name="hanging-and-healthy", date_header=False)
    paths = [f"/fhir/fine/Patient?family={family}" for family in FAMILIES] * 2
    try:
        get_all(running.url, paths[:10])  # warm: token, connections
        alone = Run([], [r[1] for r in get_all(running.url, paths, workers=4)], 0, {}, [])
        stop = threading.Event()

        def hang() -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    # A timeout, or the gateway stopping under a request at the test's end (a reset)
                    with contextlib.suppress(httpx.TransportError):
                        client.get(f"{running.url}/fhir/stuck/Patient?family=Okafor", timeout=2)

        hangers = [threading.Thread(target=hang, daemon=True) for _ in range(16)]
        for thread in hangers:
            thread.start()
        time.sleep(0.5)  # every hanger is waiting on the stuck vendor
        during = Run([], [r[1] for r in get_all(running.url, paths, workers=4)], 0, {}, [])
        stop.set()
    finally:
        running.stop()
    print(
        f"\n[one vendor hanging] other tenant p50/p99 {alone.p(50):.1f}/{alone.p(99):.1f} ms alone, "
        f"{during.p(50):.1f}/{during.p(99):.1f} ms while 16 requests hang on the other vendor"
    )
    # What a shared pool or loop would do: make the other tenant wait on the stuck vendor's
    # 30-s timeout. A busy CI machine moves the figures by some hundreds of milliseconds (the
    # 16 hangers retry in this very process; CI at 1b22a1c saw p50 133 -> 494 ms with three test
    # workers on two cores): the bounds stay far below a wait on the stuck vendor.
    assert during.p(50) <= alone.p(50) + 1000
    assert during.p(99) <= alone.p(99) + 5000


def test_a_search_whose_vendor_calls_outlast_the_request_limit_is_a_504_and_the_tenant_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A NexHealth search the gateway must finish (no vendor term for phone) walks the patient
    # pages one after another: each call well within its total, together past the request's
    # limit. The call cut off is cancelled, not a failure: the breaker stays closed, the
    # connections and the token are fine, and nothing is logged as an error.
    made: list[Chaos] = []

    def slowed() -> Sandbox:
        sandbox = nexhealth.create_sandbox(CLINIC)
        made.append(Chaos(sandbox.app, Faults(), spare=("/authenticates",)))
        return dataclasses.replace(sandbox, app=made[-1])

    conf = TenantSettings(
        vendor="nexhealth",
        sandbox=True,
        # Each call well within its own total even on a loaded machine (0.4 s of latency against
        # 0.95), three of them past the request's limit (1 s)
        timeouts={"connect": 0.9, "read": 0.9, "total": 0.95},
        breaker={**BREAKER, "min_calls": 4, "consecutive": 3},
    )
    settings = Settings(server=ServerSettings(request_timeout=1.0), tenants={"slow": conf}, audit=QUIET)
    running = serve_in_thread(
        create_app(settings, VENDORS, {"nexhealth": slowed}, access_logging=False), name="slow", date_header=False
    )
    walk = f"/fhir/slow/Patient?family={FAMILIES[0]}&phone=5555550100"
    try:
        with httpx.Client(base_url=running.url, timeout=10) as client:
            assert client.get(walk).status_code == 200
            calls = made[0].calls
            assert client.get(walk).status_code == 200
            assert made[0].calls - calls >= 3  # pages walked one after another
            made[0].faults = Faults(latency=(0.4, 0.4))
            for _ in range(6):
                started = time.monotonic()
                slow = client.get(walk)
                assert slow.status_code == 504 and time.monotonic() - started < 2.0, slow.text
                assert "limit for one request (1 s)" in slow.json()["issue"][0]["diagnostics"]
            made[0].faults = Faults()
            assert client.get(walk).status_code == 200
    finally:
        running.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
