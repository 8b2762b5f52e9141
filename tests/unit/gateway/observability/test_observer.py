"""The observer: vendor-connection events as Prometheus metrics, client spans and the recent
per-tenant figures; installed only while a gateway runs, each event to its own gateway."""

from __future__ import annotations

import contextvars

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway.observability import observer as observing
from gateway.observability.context import working_for
from gateway.observability.figures import Figures
from gateway.observability.metrics import Metrics
from gateway.observability.observer import GatewayObserver
from gateway.observability.tracing import Tracing
from gateway.upstream.observe import observer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _observer(tracing: Tracing | None = None) -> GatewayObserver:
    return GatewayObserver(Metrics(), Figures(Clock()), tracing or Tracing(None))


def _value(obs: GatewayObserver, name: str, **labels: str) -> float:
    found = obs.metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_vendor_calls_are_counted_by_tenant_endpoint_template_and_outcome() -> None:
    obs = _observer()
    with obs.vendor_call("dentalpms", "GET", "/patients/{id}") as call:
        call.status = 200
    with obs.vendor_call("dentalpms", "GET", "/patients/{id}") as call:
        call.status, call.error = 503, "status"
    with obs.vendor_call("dentalpms", "GET", "/patients") as call:
        call.error = "timeout"
    labels = {"tenant": "dentalpms", "method": "GET", "endpoint": "/patients/{id}"}
    assert _value(obs, "fhir_gateway_vendor_calls_total", **labels, outcome="2xx") == 1
    assert _value(obs, "fhir_gateway_vendor_calls_total", **labels, outcome="5xx") == 1
    assert _value(obs, "fhir_gateway_vendor_call_duration_seconds_count", **labels) == 2
    assert _value(obs, "fhir_gateway_vendor_errors_total", tenant="dentalpms", kind="status") == 1
    assert _value(obs, "fhir_gateway_vendor_errors_total", tenant="dentalpms", kind="timeout") == 1
    figures = obs.figures.tenant("dentalpms")
    assert figures.last_ok is not None and figures.last_error == "timeout"
    summary = figures.vendor.summary()
    assert summary.count == 3 and summary.error_rate == pytest.approx(2 / 3)


def test_connection_events_are_counted_and_remembered() -> None:
    obs = _observer()
    obs.retried("nexhealth")
    obs.breaker_state("nexhealth", "open")
    obs.rate_limit_wait("nexhealth", 0.25)
    obs.rate_limit_wait("nexhealth", 0.0)
    obs.rate_limit_refused("nexhealth")
    obs.vendor_throttled("nexhealth")
    obs.token_renewed("nexhealth", ok=True)
    obs.token_renewed("nexhealth", ok=False)
    for outcome in ("hit", "hit", "miss", "stale"):
        obs.cache("nexhealth", outcome)  # type: ignore[arg-type]
    tenant = {"tenant": "nexhealth"}
    assert _value(obs, "fhir_gateway_vendor_retries_total", **tenant) == 1
    assert _value(obs, "fhir_gateway_vendor_breaker_state", **tenant, state="open") == 1
    assert _value(obs, "fhir_gateway_vendor_breaker_state", **tenant, state="closed") == 0
    assert _value(obs, "fhir_gateway_vendor_rate_limit_wait_seconds_count", **tenant) == 2
    assert _value(obs, "fhir_gateway_vendor_rate_limit_refusals_total", **tenant) == 1
    assert _value(obs, "fhir_gateway_vendor_throttled_total", **tenant) == 1
    assert _value(obs, "fhir_gateway_vendor_token_renewals_total", **tenant, outcome="failed") == 1
    assert _value(obs, "fhir_gateway_cache_requests_total", **tenant, outcome="hit") == 2
    figures = obs.figures.tenant("nexhealth")
    assert figures.breaker == "open" and figures.renewal_failed and figures.last_renewal is not None
    assert figures.rate_limit_waits.recent() == 1 and figures.rate_limit_refusals.recent() == 1


def test_a_vendor_call_is_a_client_span_inside_the_request_span() -> None:
    exporter = InMemorySpanExporter()
    obs = _observer(Tracing.exporting_to(exporter))
    assert obs.tracing.tracer is not None
    with obs.tracing.tracer.start_as_current_span("GET /fhir/{tenant}/{type}/{id}") as server:
        with obs.vendor_call("dentalpms", "GET", "/patients/{id}") as call:
            call.status = 200
        with obs.vendor_call("dentalpms", "GET", "/patients/{id}") as call:
            call.status, call.error, call.attempt = 502, "status", 2
    spans = {span.name: span for span in exporter.get_finished_spans()}
    client = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert len(client) == 2 and spans["GET /patients/{id}"].kind is SpanKind.CLIENT
    for span in client:
        assert span.parent is not None and span.parent.span_id == server.get_span_context().span_id
        assert span.attributes is not None
        assert not {"url.full", "url.path", "url.query"} & set(span.attributes)
    failed = client[1]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["http.request.resend_count"] == 1


def test_without_tracing_no_span_is_made() -> None:
    obs = _observer()
    assert obs.tracing.tracer is None
    with obs.vendor_call("dentalpms", "GET", "/x") as call:
        call.status = 200


def test_the_observer_is_installed_while_a_gateway_runs_and_put_back_after_the_last() -> None:
    before = observer()  # (the dispatcher itself, if a test gateway already runs in this process)
    observing.activate()
    observing.activate()  # a second gateway in the same process
    try:
        assert observer() is observing.DISPATCH
    finally:
        observing.deactivate()
        assert observer() is observing.DISPATCH  # the first still runs
        observing.deactivate()
    assert observer() is before


def test_each_event_goes_to_the_gateway_whose_context_reported_it() -> None:
    first, second = _observer(), _observer()
    observing.activate()
    try:

        def report(target: GatewayObserver) -> None:
            observing.serving(target)
            with observer().vendor_call("dentalpms", "GET", "/x") as call:
                call.status = 200

        contextvars.copy_context().run(report, first)
        contextvars.copy_context().run(report, first)
        contextvars.copy_context().run(report, second)
        # No gateway serving this context: dropped, not counted anywhere.
        with observer().vendor_call("dentalpms", "GET", "/x") as call:
            call.status = 200
    finally:
        observing.deactivate()
    assert first.figures.tenant("dentalpms").vendor.summary().count == 2
    assert second.figures.tenant("dentalpms").vendor.summary().count == 1


def test_a_call_outside_any_request_is_the_tenant_at_work() -> None:
    # A sandbox tenant's start-up code exchange: a nameless connection (the token endpoint's)
    # with no request to take the tenant from.
    obs = _observer()
    with working_for("nextech"), obs.vendor_call("", "POST", "/{id}/token") as call:
        call.status = 200
    labels = {"tenant": "nextech", "method": "POST", "endpoint": "/{id}/token", "outcome": "2xx"}
    assert _value(obs, "fhir_gateway_vendor_calls_total", **labels) == 1
    assert _value(obs, "fhir_gateway_vendor_calls_total", **{**labels, "tenant": ""}) == 0
