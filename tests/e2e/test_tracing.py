"""Traces of a demo tenant's requests: one server span per request, one client span per vendor
call under it, named by templates, with no id, name or query value anywhere; the trace id on
the request's log lines. Spans go to the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from gateway.observability.log_format import JsonFormatter
from gateway.observability.tracing import Tracing
from gateway.sandbox_host import serve_in_thread
from gateway.settings import DEMO_CONFIG, load_settings
from mappings.registry import VENDORS
from sandboxes.clinic import Clinic
from sandboxes.registry import SANDBOXES


@pytest.fixture(scope="module")
def traced() -> Iterator[tuple[str, InMemorySpanExporter]]:
    demo = load_settings(DEMO_CONFIG)
    settings = demo.model_copy(update={"tenants": {"nextech": demo.tenants["nextech"]}})
    exporter = InMemorySpanExporter()
    running = serve_in_thread(
        create_app(settings, VENDORS, SANDBOXES, tracing=Tracing.exporting_to(exporter)),
        name="gateway-traced",
        date_header=False,
    )
    yield running.url, exporter
    running.stop()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "gateway.access":
            self.lines.append(json.loads(self.format(record)))


def _wait_for(predicate: Any) -> None:
    deadline = time.monotonic() + 5
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_search_is_a_server_span_with_its_vendor_calls_as_children(
    traced: tuple[str, InMemorySpanExporter], clinic: Clinic
) -> None:
    url, exporter = traced
    exporter.clear()
    patient = next(p for p in clinic.patients if not p.deleted)
    lines = _Lines()
    logging.getLogger("gateway.access").addHandler(lines)
    try:
        answer = httpx.get(f"{url}/fhir/nextech/Patient", params={"family": patient.last_name}, timeout=30)
        assert answer.status_code == 200
        _wait_for(lambda: lines.lines and any(s.kind is SpanKind.SERVER for s in exporter.get_finished_spans()))
    finally:
        logging.getLogger("gateway.access").removeHandler(lines)
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.name == "GET /fhir/{tenant}/{type}"
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200
    clients = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert clients, [s.name for s in spans]
    for span in clients:
        assert span.parent is not None and span.parent.span_id == server.context.span_id
        assert span.context.trace_id == server.context.trace_id
        assert span.name.startswith(("GET ", "POST ")) and "?" not in span.name
    everything = repr([(s.name, dict(s.attributes or {})) for s in spans])
    assert patient.last_name not in everything and patient.chart_number not in everything
    line = lines.lines[0]
    assert line["trace_id"] == format(server.context.trace_id, "032x")
