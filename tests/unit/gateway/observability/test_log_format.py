"""Log lines: one JSON object (or one readable line) per record, whatever the input; request
id, tenant, route and trace ids on every line written while a request is served."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.observability import context
from gateway.observability.context import RequestContext
from gateway.observability.log_format import JsonFormatter, TextFormatter
from gateway.observability.tracing import Tracing

FORGED = 'GET /fhir/x/Patient\r\n{"level":"INFO","message":"forged"}\u2028\x1b[31m\x85'


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("gateway.access", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_holds_time_level_logger_and_message() -> None:
    line = json.loads(JsonFormatter().format(_record("%s %d", "GET", 200, status=200, route="/readyz")))
    assert line["level"] == "INFO" and line["logger"] == "gateway.access" and line["message"] == "GET 200"
    assert line["time"].endswith("Z") and line["status"] == 200


def test_no_input_can_forge_a_line_or_carry_control_characters() -> None:
    for formatter in (JsonFormatter(), TextFormatter()):
        out = formatter.format(_record("%s", FORGED, method="GET\r\nX"))
        assert "\n" not in out and "\r" not in out and "\u2028" not in out and "\x1b" not in out and "\x85" not in out
        assert "\\x0d\\x0a" in out.replace("\\\\", "\\")
    line = json.loads(JsonFormatter().format(_record("%s", FORGED)))
    assert line["message"].startswith("GET /fhir/x/Patient\\x0d\\x0a")


def test_exceptions_stay_on_the_line() -> None:
    try:
        raise ValueError("bad\ninput")
    except ValueError:
        import sys

        record = logging.LogRecord("gateway", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    for formatter in (JsonFormatter(), TextFormatter()):
        assert "\n" not in formatter.format(record)
    assert "ValueError" in json.loads(JsonFormatter().format(record))["exception"]


def test_the_request_and_its_trace_are_on_every_line_written_while_it_is_served() -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.exporting_to(exporter)
    assert tracing.tracer is not None
    token = context.current.set(RequestContext("req-12345678", tenant="dentalpms", route="/fhir/{tenant}/{type}"))
    try:
        with tracing.tracer.start_as_current_span("GET /fhir/{tenant}/{type}") as span:
            line = json.loads(JsonFormatter().format(_record("vendor answered")))
            text = TextFormatter().format(_record("vendor answered"))
    finally:
        context.current.reset(token)
    assert line["request_id"] == "req-12345678" and line["tenant"] == "dentalpms"
    assert line["route"] == "/fhir/{tenant}/{type}"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "request_id=req-12345678" in text and "tenant=dentalpms" in text
    outside = json.loads(JsonFormatter().format(_record("start-up")))
    assert "request_id" not in outside and "trace_id" not in outside
