"""/metrics, /livez, /readyz, /healthz, the status page and the request middleware, over the
in-memory fake vendor (tests.support.fake_vendor)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from gateway.observability import health
from gateway.observability.log_format import JsonFormatter
from gateway.observability.status_page import CSP
from gateway.observability.tracing import Tracing
from gateway.settings import AuditSettings, ObservabilitySettings, Settings
from tests.support.fake_vendor import BASE, TENANT, FakeBackend, TestClient, fake_settings, outcome

SECRET_ID = "C00042"
SECRET_NAME = "Zyxwoodhouse"


@contextmanager
def running(
    backend: FakeBackend, observability: ObservabilitySettings | None = None, tracing: Tracing | None = None
) -> Iterator[TestClient]:
    settings = fake_settings()
    if observability is not None:
        settings = settings.model_copy(update={"observability": observability})
    app = create_app(settings, [backend.vendor()], tracing=tracing)
    with TestClient(app) as client:
        yield client


@pytest.fixture(autouse=True)
def reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake vendor has no host to connect to: its probe answers as the test says."""

    async def probe(base_url: str) -> bool:
        return True

    monkeypatch.setattr(health, "connect_probe", probe)


@pytest.fixture
def open_metrics() -> ObservabilitySettings:
    return ObservabilitySettings(metrics_networks=[])  # the test client's address is no IP


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("gateway.access")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_probes_answer(backend: FakeBackend) -> None:
    with running(backend) as client:
        assert client.get("/livez").json() == {"status": "live"}
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["tenants"][TENANT]["ready"] is True


def test_readyz_names_the_tenant_that_is_down(backend: FakeBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    async def unreachable(base_url: str) -> bool:
        return False

    monkeypatch.setattr(health, "connect_probe", unreachable)
    with running(backend) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["down"] == [TENANT] and answer.json()["status"] == "not ready"


def test_metrics_count_requests_by_route_template_never_ids_or_values(
    backend: FakeBackend, open_metrics: ObservabilitySettings
) -> None:
    backend.add_patient(SECRET_ID, family=SECRET_NAME)
    with running(backend, open_metrics) as client:
        assert client.get(f"{BASE}/Patient/{SECRET_ID}").status_code == 200
        assert client.get(f"{BASE}/Patient", params={"family": SECRET_NAME}).status_code == 200
        client.get(f"{BASE}/Patient/nobody")
        client.get("/no/such/path/C00043")
        answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert SECRET_ID not in text and SECRET_NAME not in text and "C00043" not in text
    assert (
        'fhir_gateway_http_requests_total{method="GET",route="/fhir/{tenant}/{type}/{id}",'
        f'status_class="2xx",tenant="{TENANT}"}} 1.0'
    ) in text
    assert f'route="/fhir/{{tenant}}/{{type}}/{{id}}",status_class="4xx",tenant="{TENANT}"' in text
    assert 'route="(unmatched)",status_class="4xx",tenant=""' in text
    assert "fhir_gateway_http_request_duration_seconds_bucket" in text
    assert "fhir_gateway_http_requests_in_flight" in text
    assert f'fhir_gateway_vendor_breaker_state{{state="closed",tenant="{TENANT}"}} 1.0' in text
    assert "process_cpu_seconds_total" in text or "python_info" in text


def test_metrics_refused_from_other_networks_and_without_the_token(
    backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(backend) as client:  # default: loopback only, and the test client is not
        refused = client.get("/metrics")
    assert outcome(refused, 403)["issue"][0]["code"] == "forbidden"

    monkeypatch.setenv("TEST_METRICS_TOKEN", "s3cret-metrics-token")
    guarded = ObservabilitySettings(metrics_token="env:TEST_METRICS_TOKEN", metrics_networks=[])
    with running(backend, guarded) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        doubled = [("Authorization", "Bearer s3cret-metrics-token"), ("Authorization", "Bearer nope")]
        twice = client.get("/metrics", headers=doubled)  # RFC 6750 section 3.1: not one of them picked
    outcome(twice, 401)
    assert outcome(missing, 401)["issue"][0]["code"] == "login"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    outcome(wrong, 401)
    assert right.status_code == 200 and "fhir_gateway_http_requests_total" in right.text


def test_a_literal_metrics_token_is_refused() -> None:
    with pytest.raises(ValueError, match="env:NAME"):
        ObservabilitySettings(metrics_token="s3cret")
    with pytest.raises(ValueError, match="not an address"):
        ObservabilitySettings(metrics_networks=["10.0.0.0/33"])


def test_the_request_id_is_kept_or_made_and_echoed(backend: FakeBackend, access_lines: Lines) -> None:
    with running(backend) as client:
        kept = client.get(f"{BASE}/Patient", headers={"X-Request-ID": "client-chosen-id-1"})
        made = client.get(f"{BASE}/Patient", headers={"X-Request-ID": "bad id\twith tab"})
        other = client.get("/livez")
    assert kept.headers["x-request-id"] == "client-chosen-id-1"
    assert made.headers["x-request-id"] not in ("bad id\twith tab", "")
    assert other.headers["x-request-id"]
    lines = [json.loads(line) for line in access_lines.lines]
    assert lines[0]["request_id"] == "client-chosen-id-1"
    assert lines[0]["route"] == "/fhir/{tenant}/{type}" and lines[0]["resource_type"] == "Patient"
    assert lines[0]["tenant"] == TENANT and lines[0]["status"] == 200 and lines[0]["vendor_calls"] == 0
    assert lines[1]["request_id"] == made.headers["x-request-id"]


def test_no_path_forges_an_access_line(backend: FakeBackend, access_lines: Lines) -> None:
    with running(backend) as client:
        client.get(f"{BASE}/Patient%0d%0a%7B%22level%22%3A%22INFO%22%7D/{SECRET_ID}?family={SECRET_NAME}")
    assert len(access_lines.lines) == 1
    line = access_lines.lines[0]
    assert "\n" not in line and "\r" not in line and SECRET_ID not in line and SECRET_NAME not in line
    assert json.loads(line)["route"] == "/fhir/{tenant}/{type}/{id}"


def test_requests_and_their_vendor_calls_are_traced(backend: FakeBackend) -> None:
    exporter = InMemorySpanExporter()
    backend.add_patient(SECRET_ID)
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    trusting = ObservabilitySettings(trust_incoming_trace=True)
    with running(backend, trusting, tracing=Tracing.exporting_to(exporter)) as client:
        client.get(f"{BASE}/Patient/{SECRET_ID}", headers={"traceparent": f"00-{parent_trace}-00f067aa0ba902b7-01"})
    (span,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert span.name == "GET /fhir/{tenant}/{type}/{id}"
    attributes: dict[str, Any] = dict(span.attributes or {})
    assert attributes["http.route"] == "/fhir/{tenant}/{type}/{id}"
    assert attributes["http.response.status_code"] == 200 and attributes["fhir_gateway.tenant"] == TENANT
    assert SECRET_ID not in repr(attributes) and "url.path" not in attributes
    assert format(span.context.trace_id, "032x") == parent_trace  # the caller's trace, continued


def test_by_default_a_callers_trace_context_is_not_continued_nor_exported(backend: FakeBackend) -> None:
    exporter = InMemorySpanExporter()
    backend.add_patient(SECRET_ID)
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{parent_trace}-00f067aa0ba902b7-00", "tracestate": f"phi={SECRET_NAME}"}
    with running(backend, tracing=Tracing.exporting_to(exporter)) as client:
        client.get(f"{BASE}/Patient/{SECRET_ID}", headers=headers)
    spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]  # exported although the caller said unsampled
    assert format(server.context.trace_id, "032x") != parent_trace
    assert all(SECRET_NAME not in repr(s.context.trace_state) for s in spans)


def test_the_status_page_is_json_by_default_keeping_the_tenant_list(
    backend: FakeBackend, open_metrics: ObservabilitySettings
) -> None:
    with running(backend, open_metrics) as client:
        client.get(f"{BASE}/Patient")
        body = client.get("/").json()
    assert body["service"] == "fhir-gateway" and body["version"]
    assert body["tenants"] == {TENANT: f"http://testserver{BASE}/metadata"}
    status = body["status"][TENANT]
    assert status["vendor"] == "fake" and status["readiness"]["ready"] is True
    assert status["recent"]["requests"] == 1 and status["recent"]["error_rate"] == 0


def test_the_status_page_shows_figures_only_to_clients_allowed_metrics(backend: FakeBackend) -> None:
    with running(backend) as client:
        body = client.get("/").json()
        page = client.get("/", headers={"Accept": "text/html"}).text
    assert body["status"][TENANT]["recent"] is None
    assert "shown to clients allowed to read /metrics" in page


def test_the_status_page_is_escaped_html_under_a_strict_policy(
    backend: FakeBackend, open_metrics: ObservabilitySettings
) -> None:
    settings: Settings = fake_settings()
    with running(backend, open_metrics) as client:
        answer = client.get("/", headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CSP and "script" not in CSP
    page = answer.text
    assert "<script" not in page.lower() and "http://" not in page.split("<body>")[0]
    assert f'id="tenant-{TENANT}"' in page and f'href="http://testserver{BASE}/metadata"' in page
    assert settings.tenants[TENANT].vendor in page


def test_readyz_tells_anyone_whether_each_tenant_is_ready_but_not_when_it_was_last_used(backend: FakeBackend) -> None:
    elsewhere = ObservabilitySettings(metrics_networks=["10.0.0.0/8"])
    with running(backend, elsewhere) as client:
        client.get(f"{BASE}/Patient")
        tenant = client.get("/readyz").json()["tenants"][TENANT]
    assert "ready" in tenant and not {"breaker", "oauth", "last_vendor_answer_seconds"} & set(tenant)


def test_readyz_says_not_ready_while_the_audit_trail_cannot_be_written(
    backend: FakeBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every FHIR request is refused (503) while no audit line can be written: a load balancer
    # must take the gateway out of rotation, and put it back once lines are written again.
    monkeypatch.setattr(health, "REPORT_KEPT", 0.0)  # each probe computed afresh
    backend.add_patient("p1")
    trail = tmp_path / "audit" / "audit.jsonl"
    settings = fake_settings().model_copy(update={"audit": AuditSettings(sink="file", path=str(trail))})
    with TestClient(create_app(settings, [backend.vendor()])) as client:
        assert client.get("/readyz").status_code == 200
        trail.mkdir(parents=True)  # the file cannot be opened: no line can be written
        outcome(client.get(f"{BASE}/Patient/p1"), 503)
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["audit"]["ready"] is False
        trail.rmdir()  # writable again: the next request is written, and the gateway is ready
        assert client.get(f"{BASE}/Patient/p1").status_code == 200
        assert client.get("/readyz").status_code == 200
