"""Tracing is off unless an OTLP endpoint is configured; configured, spans reach it over OTLP/HTTP."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.observability.tracing import OTLP_ENV, TRACES_ENV, Tracing, method_name
from gateway.sandbox_host import serve_in_thread


def test_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OTLP_ENV, raising=False)
    monkeypatch.delenv(TRACES_ENV, raising=False)
    assert Tracing.configured(None, "fhir-gateway").tracer is None


@pytest.mark.slow
def test_spans_are_exported_to_the_configured_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[tuple[str, str]] = []

    async def collect(request: Request) -> Response:
        await request.body()
        received.append((request.url.path, request.headers["content-type"]))
        return Response(b"", media_type="application/x-protobuf")

    collector = serve_in_thread(Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])]), name="otlp")
    try:
        tracing = Tracing.configured(collector.url, "fhir-gateway")
        assert tracing.tracer is not None
        with tracing.tracer.start_as_current_span("GET /fhir/{tenant}/metadata"):
            pass
        tracing.shutdown()  # flushes the batch
    finally:
        collector.stop()
    assert received == [("/v1/traces", "application/x-protobuf")]


def test_unknown_methods_are_other() -> None:
    assert method_name("GET") == "GET" and method_name("BREW") == "_OTHER"
