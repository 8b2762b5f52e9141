"""OpenTelemetry traces: a server span per request, a client span per vendor call attempt.

Exported over OTLP/HTTP when `observability.otlp_endpoint` or the standard
OTEL_EXPORTER_OTLP_ENDPOINT (https://opentelemetry.io/docs/specs/otel/protocol/exporter/) is
set; otherwise there is no tracer at all and the request path skips span creation. The
gateway keeps its own TracerProvider rather than setting the global one, so that two gateways
in one process (the tests) never share an exporter.

Span names and attributes follow the HTTP semantic conventions
(https://opentelemetry.io/docs/specs/semconv/http/http-spans/): `{method} {route}` with the
route template, never `url.path` or `url.query`, which carry ids and search values (PHI).
"""

from __future__ import annotations

import os

from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, Tracer, format_span_id, format_trace_id, get_current_span

from gateway.version import SOFTWARE_VERSION

OTLP_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
# Methods RFC 9110 defines (and PATCH); any other is reported as `_OTHER`, as the HTTP
# conventions ask, so that a client cannot make up label values or span names.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})


def method_name(method: str) -> str:
    return method if method in KNOWN_METHODS else "_OTHER"


class Tracing:
    """The gateway's tracer, or none (tracing off)."""

    def __init__(self, provider: TracerProvider | None) -> None:
        self.provider = provider
        self.tracer: Tracer | None = provider.get_tracer("fhir-gateway", SOFTWARE_VERSION) if provider else None

    @classmethod
    def configured(cls, endpoint: str | None, service_name: str) -> Tracing:
        """OTLP/HTTP export to `endpoint` (or the OTEL_EXPORTER_OTLP_* environment), else off."""
        if not (endpoint or os.environ.get(OTLP_ENV) or os.environ.get(TRACES_ENV)):
            return cls(None)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Given a base endpoint, OTLP/HTTP sends traces to its /v1/traces path (the exporter
        # does that itself for the environment variable, not for an argument).
        url = endpoint.rstrip("/") + "/v1/traces" if endpoint and not endpoint.endswith("/v1/traces") else endpoint
        provider = _provider(service_name)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        return cls(provider)

    @classmethod
    def exporting_to(cls, exporter: SpanExporter, service_name: str = "fhir-gateway") -> Tracing:
        """Spans handed to `exporter` as each ends (the tests' InMemorySpanExporter)."""
        provider = _provider(service_name)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return cls(provider)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()  # flushes what the batch processor still holds


def _provider(service_name: str) -> TracerProvider:
    return TracerProvider(resource=Resource.create({SERVICE_NAME: service_name, SERVICE_VERSION: SOFTWARE_VERSION}))


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span id (hex), for log lines; None outside a recorded span."""
    span: Span = get_current_span()
    context = span.get_span_context()
    if not context.is_valid or not span.is_recording():
        return None
    return format_trace_id(context.trace_id), format_span_id(context.span_id)
