"""The gateway's Prometheus metrics, in a registry of their own (one per app, so that two
gateways in one process, as in the tests, never count into each other).

Names follow the Prometheus conventions (https://prometheus.io/docs/practices/naming/):
a `fhir_gateway_` prefix, base units (seconds), `_total` on counters. Labels are bounded:
tenants are configured names, routes are templates (`/fhir/{tenant}/{type}/{id}`), vendor
endpoints are path templates (`gateway.upstream.observe.vendor_path_template`); no id, query
value or token is ever a label value.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# Request latencies: from a cached read (milliseconds) to a CCD gathered from a slow vendor.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BREAKER_STATES = ("closed", "open", "half-open")
# Set by `serve --workers N` for its workers (gateway/workers.py): each writes its figures to
# files there, and a scrape of any worker sums them (prometheus_client's multiprocess mode).
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        # The process's own figures (process_cpu_seconds_total, process_resident_memory_bytes, ...),
        # as the default registry would have them.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

        # Incoming requests (labels as the OpenTelemetry HTTP server conventions name them).
        self.http_requests = Counter(
            "fhir_gateway_http_requests_total",
            "Requests answered, by tenant, route template, method and status class (2xx, 4xx, ...).",
            ["tenant", "route", "method", "status_class"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "fhir_gateway_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            ["tenant", "route", "method"],
            buckets=_HTTP_BUCKETS,
            registry=registry,
        )
        self.http_in_flight = Gauge(
            "fhir_gateway_http_requests_in_flight",
            "Requests being served now, by tenant.",
            ["tenant"],
            registry=registry,
            multiprocess_mode="livesum",  # across the workers alive
        )

        # Vendor connections (one per tenant).
        self.vendor_calls = Counter(
            "fhir_gateway_vendor_calls_total",
            "Vendor call attempts, by tenant, method, vendor endpoint template and outcome "
            "(a status class, or the error kind when there was no answer).",
            ["tenant", "method", "endpoint", "outcome"],
            registry=registry,
        )
        self.vendor_duration = Histogram(
            "fhir_gateway_vendor_call_duration_seconds",
            "Time of one vendor call attempt.",
            ["tenant", "method", "endpoint"],
            buckets=_HTTP_BUCKETS,
            registry=registry,
        )
        self.vendor_errors = Counter(
            "fhir_gateway_vendor_errors_total",
            "Vendor call attempts that failed: connect, timeout, status (5xx) or refused (breaker open).",
            ["tenant", "kind"],
            registry=registry,
        )
        self.vendor_retries = Counter(
            "fhir_gateway_vendor_retries_total", "Vendor calls sent again.", ["tenant"], registry=registry
        )
        self.breaker_state = Gauge(
            "fhir_gateway_vendor_breaker_state",
            "1 for the circuit breaker's current state (closed, open, half-open), 0 for the others.",
            ["tenant", "state"],
            registry=registry,
            multiprocess_mode="liveall",  # each worker's breaker, with its pid
        )
        self.rate_limit_wait = Histogram(
            "fhir_gateway_vendor_rate_limit_wait_seconds",
            "Time calls waited for a turn under the vendor's rate limit (0 when they did not).",
            ["tenant"],
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.rate_limit_refusals = Counter(
            "fhir_gateway_vendor_rate_limit_refusals_total",
            "Calls that could not get a turn in time (the client got a 429).",
            ["tenant"],
            registry=registry,
        )
        self.vendor_throttled = Counter(
            "fhir_gateway_vendor_throttled_total", "Answers of 429 from the vendor.", ["tenant"], registry=registry
        )
        self.token_renewals = Counter(
            "fhir_gateway_vendor_token_renewals_total",
            "Vendor access-token renewals, by outcome (ok, failed).",
            ["tenant", "outcome"],
            registry=registry,
        )
        self.cache = Counter(
            "fhir_gateway_cache_requests_total",
            "Response-cache lookups, by outcome (hit, miss, stale).",
            ["tenant", "outcome"],
            registry=registry,
        )

    def child(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, kept: on every request and vendor call, a dict lookup is far
        cheaper than prometheus_client's locked one (labels are bounded, see above)."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def tenant_known(self, tenant: str) -> None:
        """Every series of a tenant that should read 0 rather than be missing before its first event."""
        for state in BREAKER_STATES:
            self.breaker_state.labels(tenant, state).set(1 if state == "closed" else 0)
        self.vendor_retries.labels(tenant)
        self.rate_limit_refusals.labels(tenant)
        self.vendor_throttled.labels(tenant)
