"""The Observer (gateway.upstream.observe) that turns vendor-connection events into Prometheus
metrics, OpenTelemetry client spans and the recent per-tenant figures.

One is installed per process while any gateway runs (`activate`); it hands each event to the
gateway whose request (or start-up) reported it, found through a context variable, so two
gateways in one process (the tests) keep their figures apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from gateway.observability import context
from gateway.observability.figures import Figures
from gateway.observability.metrics import BREAKER_STATES, Metrics
from gateway.observability.tracing import Tracing, method_name
from gateway.upstream.observe import CacheOutcome, Observer, VendorCall, install


class GatewayObserver:
    def __init__(self, metrics: Metrics, figures: Figures, tracing: Tracing) -> None:
        self.metrics = metrics
        self.figures = figures
        self.tracing = tracing

    def vendor_call(self, tenant: str, method: str, path_template: str) -> AbstractContextManager[VendorCall]:
        request = context.current.get()
        if request is not None:
            request.vendor_calls += 1
            # A connection without a name (an OAuth token endpoint's) is the request's tenant's.
            tenant = tenant or request.tenant
        # Outside a request (start-up), the tenant whose work it is.
        tenant = tenant or context.tenant_at_work.get()
        call = VendorCall(tenant, method, path_template)
        if self.tracing.tracer is None:
            return _Timed(self, call, method_name(method))  # every vendor call: no generator
        return self._traced(call, method_name(method))

    @contextmanager
    def _traced(self, call: VendorCall, method: str) -> Iterator[VendorCall]:
        # Client span, named `{method} {endpoint template}` (OTel HTTP client conventions);
        # `url.template` rather than `url.full`, which would carry ids and query values.
        assert self.tracing.tracer is not None
        span = self.tracing.tracer.start_as_current_span(
            f"{method} {call.path_template}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "url.template": call.path_template,
                "fhir_gateway.tenant": call.tenant,
            },
            record_exception=False,  # exception messages may quote the vendor; the kind is enough
            set_status_on_exception=False,
        )
        started = time.perf_counter()
        with span as current:
            try:
                yield call
            finally:
                self._ended(call, method, time.perf_counter() - started, current)

    def _ended(self, call: VendorCall, method: str, seconds: float, span: Any) -> None:
        metrics, figures = self.metrics, self.figures.tenant(call.tenant)
        # A status class, else the error kind; neither: the caller gave up (cancelled) mid-call.
        outcome = f"{call.status // 100}xx" if call.status is not None else call.error or "cancelled"
        failed = call.error is not None
        metrics.child(metrics.vendor_calls, call.tenant, method, call.path_template, outcome).inc()
        metrics.child(metrics.vendor_duration, call.tenant, method, call.path_template).observe(seconds)
        if call.error is not None:
            metrics.child(metrics.vendor_errors, call.tenant, call.error).inc()
        if call.status is not None or call.error is not None:
            figures.vendor.add(seconds, failed)
            if failed:
                figures.last_failure, figures.last_error = figures.clock(), call.error
            else:
                figures.last_ok = figures.clock()
        if span is not None:
            if call.status is not None:
                span.set_attribute("http.response.status_code", call.status)
            if call.attempt > 1:
                span.set_attribute("http.request.resend_count", call.attempt - 1)
            if failed:
                span.set_attribute("error.type", str(call.status) if call.error == "status" else call.error)
                span.set_status(StatusCode.ERROR)

    def retried(self, tenant: str) -> None:
        self.metrics.child(self.metrics.vendor_retries, tenant).inc()

    def breaker_state(self, tenant: str, state: str) -> None:
        self.figures.tenant(tenant).breaker = state
        for known in BREAKER_STATES:
            self.metrics.child(self.metrics.breaker_state, tenant, known).set(1 if known == state else 0)

    def rate_limit_wait(self, tenant: str, seconds: float) -> None:
        self.metrics.child(self.metrics.rate_limit_wait, tenant).observe(seconds)
        if seconds > 0:
            self.figures.tenant(tenant).rate_limit_waits.add()

    def rate_limit_refused(self, tenant: str) -> None:
        self.metrics.child(self.metrics.rate_limit_refusals, tenant).inc()
        self.figures.tenant(tenant).rate_limit_refusals.add()

    def vendor_throttled(self, tenant: str) -> None:
        self.metrics.child(self.metrics.vendor_throttled, tenant).inc()
        self.figures.tenant(tenant).vendor_throttled.add()

    def token_renewed(self, tenant: str, ok: bool) -> None:
        self.metrics.child(self.metrics.token_renewals, tenant, "ok" if ok else "failed").inc()
        figures = self.figures.tenant(tenant)
        figures.renewal_failed = not ok
        if ok:
            figures.last_renewal = time.time()

    def cache(self, tenant: str, outcome: CacheOutcome) -> None:
        self.metrics.child(self.metrics.cache, tenant, outcome).inc()


class _Timed:
    """A vendor call's metrics and figures, without a span (as `_traced`, minus the span)."""

    __slots__ = ("_call", "_method", "_observer", "_started")

    def __init__(self, observer: GatewayObserver, call: VendorCall, method: str) -> None:
        self._observer, self._call, self._method = observer, call, method
        self._started = 0.0

    def __enter__(self) -> VendorCall:
        self._started = time.perf_counter()
        return self._call

    def __exit__(self, *exc: object) -> None:
        self._observer._ended(self._call, self._method, time.perf_counter() - self._started, None)


# The gateway (its observer) whose request or start-up is running in this context.
_active: ContextVar[GatewayObserver | None] = ContextVar("fhir_gateway_observer", default=None)


class _Dispatch:
    """The process-wide Observer: each event goes to the active gateway's observer, if any."""

    def vendor_call(self, tenant: str, method: str, path_template: str) -> AbstractContextManager[VendorCall]:
        target = _active.get()
        if target is None:
            return nullcontext(VendorCall(tenant, method, path_template))
        return target.vendor_call(tenant, method, path_template)

    def retried(self, tenant: str) -> None:
        if (target := _active.get()) is not None:
            target.retried(tenant)

    def breaker_state(self, tenant: str, state: str) -> None:
        if (target := _active.get()) is not None:
            target.breaker_state(tenant, state)

    def rate_limit_wait(self, tenant: str, seconds: float) -> None:
        if (target := _active.get()) is not None:
            target.rate_limit_wait(tenant, seconds)

    def rate_limit_refused(self, tenant: str) -> None:
        if (target := _active.get()) is not None:
            target.rate_limit_refused(tenant)

    def vendor_throttled(self, tenant: str) -> None:
        if (target := _active.get()) is not None:
            target.vendor_throttled(tenant)

    def token_renewed(self, tenant: str, ok: bool) -> None:
        if (target := _active.get()) is not None:
            target.token_renewed(tenant, ok)

    def cache(self, tenant: str, outcome: CacheOutcome) -> None:
        if (target := _active.get()) is not None:
            target.cache(tenant, outcome)


DISPATCH = _Dispatch()
_lock = threading.Lock()
_users = 0
_previous: Observer | None = None


def activate() -> None:
    """A gateway starts: the dispatching observer is installed while at least one runs."""
    global _users, _previous
    with _lock:
        if _users == 0:
            _previous = install(DISPATCH)
        _users += 1


def deactivate() -> None:
    """A gateway stopped: the observer that was there before the first is put back after the last."""
    global _users, _previous
    with _lock:
        _users -= 1
        if _users == 0 and _previous is not None:
            install(_previous)
            _previous = None


def serving(target: GatewayObserver) -> None:
    """Events reported from this context (and the tasks it starts) go to `target`."""
    _active.set(target)
