"""The outermost middleware: a request id, a server span, metrics, recent figures and one
access-log line per request.

The request id is the client's `X-Request-ID` when it is a plain token, else a new one; it
is echoed in the answer, kept in the scope for the audit trail (gateway.audit) and on every
log line written while the request is served. The access line holds method, route template,
status, time and vendor calls: never the path's ids or the query string (they carry PHI).
Being the one layer every answer passes, it also dates them (gateway.http_dates.date_now).

Plain ASGI rather than BaseHTTPMiddleware, which costs a task and a stream per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http_dates import date_now
from gateway.observability import context
from gateway.observability.context import REQUEST_ID_KEY, RequestContext, refused_status, request_id_of
from gateway.observability.figures import Figures
from gateway.observability.metrics import Metrics
from gateway.observability.observer import GatewayObserver, serving
from gateway.observability.tracing import Tracing, method_name
from gateway.rest.context import RestState
from gateway.rest.outcome import unexpected_error_handler
from gateway.rest.response_headers import set_headers

access_log = logging.getLogger("gateway.access")
UNMATCHED = "(unmatched)"  # the route of a request no route took (a 404 before routing)


class Observe:
    def __init__(
        self,
        app: ASGIApp,
        observer: GatewayObserver,
        tenants: Collection[str],
        access_logging: bool = True,
        trust_incoming_trace: bool = False,
    ) -> None:
        self.app = app
        self.trust_incoming_trace = trust_incoming_trace
        self.observer = observer
        self.metrics: Metrics = observer.metrics
        self.figures: Figures = observer.figures
        self.tracing: Tracing = observer.tracing
        self.tenants = frozenset(tenants)
        self.access_logging = access_logging

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = RequestContext(request_id_of(scope), tenant=self._tenant_of(scope["path"]))
        request_id = request.request_id.encode("latin-1")  # a plain token (request_id_of)
        scope[REQUEST_ID_KEY] = request.request_id
        context.current.set(request)  # this request's task only: each has its own context
        serving(self.observer)
        method = method_name(scope["method"])
        status = 500
        answered = False
        in_flight = self.metrics.child(self.metrics.http_in_flight, request.tenant)
        in_flight.inc()

        async def answer(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                set_headers(message, (b"x-request-id", request_id), (b"date", date_now()))
            await send(message)

        span: AbstractContextManager[Any] = nullcontext()
        if self.tracing.tracer is not None:
            # Server span (OTel HTTP server conventions), a child of the caller's W3C traceparent if
            # it sent one; named by method alone until routing has found the route template.
            span = self.tracing.tracer.start_as_current_span(
                method,
                context=extract(_carrier(scope)) if self.trust_incoming_trace else None,
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "url.scheme": scope.get("scheme", "http")},
                record_exception=False,
                set_status_on_exception=False,
            )
        with span as current:
            try:
                await self.app(scope, receive, answer)
            except Exception as exc:
                # A middleware's own error (a route's is answered innermost, gateway.rest.last_resort):
                # answered here, through `answer`, rather than by Starlette's outermost handler,
                # so that it too carries its request id and `Date` and is counted and logged as a
                # 500 like any other.
                if answered:
                    raise
                response = await unexpected_error_handler(Request(scope, receive), exc)
                await response(scope, receive, answer)
            finally:
                in_flight.dec()
                seconds = time.perf_counter() - started
                request.route = _route_of(scope)
                refused = refused_status(scope)
                if refused is None:
                    self._record(request, method, status, seconds, scope, current)
                else:
                    # Refused by the HTTP protocol while the app served it (gateway.slow_clients):
                    # the client was answered the refusal, which the protocol has logged; counted
                    # as what it was answered, and given no second access line.
                    self._record(request, method, refused, seconds, scope, current, access_line=False)

    def _tenant_of(self, path: str) -> str:
        # /fhir/{tenant}/...: a configured tenant's name, never a made-up one (label cardinality).
        if path.startswith("/fhir/"):
            name = path[6:].split("/", 1)[0]
            if name in self.tenants:
                return name
        return ""

    def _record(
        self,
        request: RequestContext,
        method: str,
        status: int,
        seconds: float,
        scope: Scope,
        span: Any,
        *,
        access_line: bool = True,
    ) -> None:
        tenant, route = request.tenant, request.route
        self.metrics.child(self.metrics.http_requests, tenant, route, method, f"{status // 100}xx").inc()
        self.metrics.child(self.metrics.http_duration, tenant, route, method).observe(seconds)
        if tenant:
            self.figures.tenant(tenant).requests.add(seconds, status >= 500)
        if span is not None:
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if tenant:
                span.set_attribute("fhir_gateway.tenant", tenant)
            if status >= 500:  # server spans are errors on 5xx only (the client's 4xx is not ours)
                span.set_attribute("error.type", str(status))
                span.set_status(StatusCode.ERROR)
        if access_line and self.access_logging and access_log.isEnabledFor(logging.INFO):
            resource_type = _resource_type(scope, tenant)
            # For people: the template with the tenant and resource type filled in, both checked
            # against the configuration; ids stay `{id}` and the query string is left out.
            path = route.replace("{tenant}", tenant, 1) if tenant else route
            path = path.replace("{type}", resource_type, 1) if resource_type else path
            access_log.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                seconds * 1000,
                extra={
                    "method": method,
                    "resource_type": resource_type,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "vendor_calls": request.vendor_calls,
                },
            )


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return route.path if isinstance(route, Route) else UNMATCHED


def _resource_type(scope: Scope, tenant: str) -> str | None:
    """The resource type of a FHIR route, if the tenant serves it (else it is client input)."""
    kind = scope.get("path_params", {}).get("type")
    app = scope.get("app")
    state = getattr(app.state, "rest", None) if isinstance(app, Starlette) else None
    if not tenant or not isinstance(kind, str) or not isinstance(state, RestState):
        return None
    found = state.tenants.get(tenant)
    return kind if found is not None and kind in found.providers else None


def _carrier(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"traceparent"  # never tracestate: free text from the client
    }
