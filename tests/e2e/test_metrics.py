"""Operating the demo gateway over HTTP: /metrics, the probes, request ids and JSON log lines.

The demo's requests reach the four simulators through the real vendor clients, so the vendor
metrics here are the ones an operator would see: calls per endpoint template, token renewals
(Nextech's OAuth), and never an id, a name or a query value.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.log_format import JsonFormatter
from sandboxes.clinic import Clinic
from tests.conftest import DEMO_TENANTS, RunningGateway
from tests.support.phi import found, phi_terms


@pytest.fixture(scope="module")
def http(gateway: RunningGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        yield client


def _samples(text: str) -> dict[str, float]:
    """`name{label="value",...}` → value, through Prometheus's own parser of the text format."""
    return {
        sample.name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items())) + "}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_every_tenant_and_its_vendor_without_phi(http: httpx.Client, clinic: Clinic) -> None:
    patient = next(p for p in clinic.patients if p.last_name)
    for tenant in DEMO_TENANTS:
        assert http.get(f"/fhir/{tenant}/Patient", params={"family": patient.last_name}).status_code == 200
    answer = http.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    for tenant in DEMO_TENANTS:
        requests = [
            value
            for name, value in samples.items()
            if name.startswith("fhir_gateway_http_requests_total{")
            and f'tenant="{tenant}"' in name
            and 'route="/fhir/{tenant}/{type}"' in name
        ]
        assert sum(requests) >= 1, tenant
        calls = [v for n, v in samples.items() if n.startswith("fhir_gateway_vendor_calls_total{") and tenant in n]
        assert sum(calls) >= 1, f"no vendor call counted for {tenant}"
    assert any(
        n.startswith("fhir_gateway_vendor_token_renewals_total{") or "fhir_gateway_vendor_calls_total" in n
        for n in samples
    )
    assert "process_resident_memory_bytes" in answer.text or "python_gc_objects_collected_total" in answer.text
    leaks = list(found(answer.text, phi_terms(clinic)))
    assert not leaks and patient.last_name not in answer.text, leaks[:5]
    # Reads by id are counted under the route template, never the id (a uuid, a chart number).
    read = http.get("/fhir/dentalpms/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"]
    assert http.get(f"/fhir/dentalpms/Patient/{read}").status_code == 200
    text = http.get("/metrics").text
    assert read not in text and patient.chart_number not in text
    assert 'route="/fhir/{tenant}/{type}/{id}"' in text


def test_start_up_vendor_calls_are_labelled_with_their_tenant(http: httpx.Client) -> None:
    # Nextech's sandbox tenant is connected at start-up (the authorization-code exchange), on a
    # connection with no name and outside any request: still Nextech's, never tenant="".
    samples = _samples(http.get("/metrics").text)
    vendor = [n for n in samples if n.startswith(("fhir_gateway_vendor_", "fhir_gateway_breaker_"))]
    assert vendor and not [n for n in vendor if 'tenant=""' in n], [n for n in vendor if 'tenant=""' in n]
    # Its token endpoint's path is the simulator reading's (`/{id}/oauth2/token`, `/o/token/`, ...).
    calls = [n for n in samples if n.startswith("fhir_gateway_vendor_calls_total{") and 'tenant="nextech"' in n]
    assert any("token" in n.split('endpoint="')[1].split('"')[0] for n in calls), calls


def test_probes(http: httpx.Client) -> None:
    assert http.get("/livez").json() == {"status": "live"}
    assert http.get("/healthz").status_code == 200
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and sorted(body["tenants"]) == DEMO_TENANTS
    assert body["tenants"]["nextech"]["oauth"] == "connected"
    assert body["shared_state"] == {"kind": "in-process"}


def test_the_request_id_is_echoed_and_is_the_audit_events(http: httpx.Client, gateway: RunningGateway) -> None:
    answer = http.get("/fhir/dentalpms/Patient", params={"_count": 1}, headers={"X-Request-ID": "ops-test-request-1"})
    assert answer.headers["x-request-id"] == "ops-test-request-1"
    events = [json.loads(line) for line in gateway.audit.read_text().splitlines()]
    assert any(ext.get("valueString") == "ops-test-request-1" for event in events for ext in event.get("extension", []))
    made = http.get("/fhir/dentalpms/metadata").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)


class _Json(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("gateway"):
            self.lines.append(self.format(record))


@pytest.fixture
def json_lines() -> Iterator[_Json]:
    handler = _Json()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def test_access_lines_are_json_with_the_request_and_no_forged_line(http: httpx.Client, json_lines: _Json) -> None:
    http.get("/fhir/dentalpms/Patient%0d%0a%7B%22forged%22%3Atrue%7D", headers={"X-Request-ID": "ops-test-forge-1"})
    http.get("/fhir/nextech/Patient", params={"family": "x"}, headers={"X-Request-ID": "ops-test-vendor-1"})
    # The access line is written once the answer has gone out: it may follow the answer by a moment.
    deadline = time.monotonic() + 5
    wanted = ("ops-test-forge-1", "ops-test-vendor-1")
    while not all(any(w in line and '"gateway.access"' in line for line in json_lines.lines) for w in wanted) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.01)
    lines = [json.loads(line) for line in json_lines.lines]  # each is one object
    access = {line["request_id"]: line for line in lines if line["logger"] == "gateway.access"}
    forged = access["ops-test-forge-1"]
    assert forged["status"] == 404 and forged["tenant"] == "dentalpms" and forged["route"] == "/fhir/{tenant}/{type}"
    assert not any(line.get("forged") for line in lines)
    vendor = access["ops-test-vendor-1"]
    assert vendor["vendor_calls"] >= 1 and vendor["resource_type"] == "Patient" and vendor["duration_ms"] >= 0
    assert "x" not in vendor["message"].split()


def test_a_patients_record_reads_each_vendor_answer_once(http: httpx.Client) -> None:
    """`$everything` runs every type's search, and each checks that the patient is live: within
    the one request, the vendor is asked for the patient once (gateway.upstream.coalesce)."""
    patient = http.get("/fhir/dentalpms/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"]

    def reads(endpoint: str) -> float:
        samples = _samples(http.get("/metrics").text)
        return sum(
            value
            for name, value in samples.items()
            if name.startswith("fhir_gateway_vendor_calls_total{")
            and re.search(f'endpoint="/[^/"]+{re.escape(endpoint)}"', name)
            and 'tenant="dentalpms"' in name
        )

    # Endpoints below the practice's `/{org_id}` (`/patients/{id}`: never the id itself).
    before = {endpoint: reads(endpoint) for endpoint in ("/patients/{id}", "/patients/{id}/vital-signs")}
    assert http.get(f"/fhir/dentalpms/Patient/{patient}/$everything").status_code == 200
    assert {endpoint: reads(endpoint) - count for endpoint, count in before.items()} == {
        "/patients/{id}": 1,
        "/patients/{id}/vital-signs": 1,
    }
