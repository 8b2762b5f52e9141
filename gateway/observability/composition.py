"""What one gateway holds of observability, made from its settings: the metrics registry, the
recent figures, the tracer, the readiness watch, and the endpoints and middleware over them.
`create_app` makes one and wires it in (gateway/app.py)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.observability import observer as observing
from gateway.observability.access import MetricsAccess
from gateway.observability.figures import Figures
from gateway.observability.health import Probe, Readiness, Report, Watched
from gateway.observability.metrics import MULTIPROCESS_ENV, Metrics
from gateway.observability.middleware import Observe
from gateway.observability.observer import GatewayObserver
from gateway.observability.status_page import status_response, tenant_statuses
from gateway.observability.tracing import Tracing
from gateway.rest.outcome import operation_outcome, outcome_response
from gateway.settings import Settings


class Observability:
    def __init__(self, settings: Settings, tracing: Tracing | None = None, probe: Probe | None = None) -> None:
        conf = settings.observability
        self.settings = settings
        self.metrics = Metrics()
        self.figures = Figures()
        self.tracing = tracing or Tracing.configured(conf.otlp_endpoint, conf.service_name)
        self.observer = GatewayObserver(self.metrics, self.figures, self.tracing)
        self.access = MetricsAccess.of(conf)
        self.readiness = Readiness(self.figures, conf.readiness_window, probe)
        for name in settings.tenants:
            self.metrics.tenant_known(name)

    def watch(
        self, tenant: str, vendor: str, base_url: str, has_grant: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        """A tenant's vendor connection, for /readyz; `has_grant` for OAuth vendors."""
        required = self.settings.tenants[tenant].required_for_readiness
        self.readiness.watch(Watched(tenant, vendor, base_url, required, has_grant))

    def middleware(self, access_logging: bool = True) -> Middleware:
        return Middleware(
            Observe,
            observer=self.observer,
            tenants=self.settings.tenants,
            access_logging=access_logging,
            trust_incoming_trace=self.settings.observability.trust_incoming_trace,
        )

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index),
            Route("/livez", self.livez),
            Route("/readyz", self.readyz),
            Route("/metrics", self.metrics_endpoint),
        ]

    # -- lifespan -------------------------------------------------------------------------------

    def start(self) -> None:
        """At start-up, in the lifespan's context: what it reports (a sandbox's OAuth connection)
        is this gateway's, and the process reports to the observers of running gateways."""
        observing.activate()
        observing.serving(self.observer)

    def stop(self) -> None:
        observing.deactivate()
        self.tracing.shutdown()

    # -- endpoints ------------------------------------------------------------------------------

    async def livez(self, request: Request) -> Response:
        # Answered by the event loop itself: if it is blocked, this times out (Kubernetes liveness).
        return JSONResponse({"status": "live"}, headers={"Cache-Control": "no-store"})

    async def _report(self, request: Request) -> Report | None:
        if getattr(request.app.state, "rest", None) is None:
            return None  # start-up has not finished: configuration and tenants not ready yet
        return await self.readiness.report(getattr(request.app.state, "shared", None))

    async def readyz(self, request: Request) -> Response:
        report = await self._report(request)
        if report is None:
            return JSONResponse({"status": "starting"}, status_code=503, headers={"Cache-Control": "no-store"})
        body = report.as_json()
        if not self.access.allows(request):
            # Anyone may ask whether the gateway is ready; when each vendor was last used, its
            # breaker and its OAuth state are for those who may read /metrics.
            for tenant in body["tenants"].values():
                for detail in ("breaker", "oauth", "last_vendor_answer_seconds"):
                    tenant.pop(detail, None)
        return JSONResponse(body, status_code=200 if report.ready else 503, headers={"Cache-Control": "no-store"})

    async def metrics_endpoint(self, request: Request) -> Response:
        refusal = self.access.refusal(request)
        if refusal == "unauthorized":
            return outcome_response(
                401,
                operation_outcome("error", "login", "/metrics needs the metrics bearer token"),
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        if refusal == "forbidden":
            return outcome_response(
                403, operation_outcome("error", "forbidden", "/metrics is not served to this client's network")
            )
        return Response(generate_latest(self._scraped()), media_type=CONTENT_TYPE_LATEST)

    def _scraped(self) -> CollectorRegistry:
        """This process's registry; with several workers (`serve --workers N`), every worker's
        figures summed from their shared files (prometheus_client's multiprocess mode), so that
        a scrape answered by any worker counts them all."""
        if not os.environ.get(MULTIPROCESS_ENV):
            return self.metrics.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry

    async def index(self, request: Request) -> Response:
        report = await self._report(request)
        if report is None:
            report = Report(False, {}, {})
        statuses = tenant_statuses(request, self.settings.tenants, report, self.figures, self.access.allows(request))
        return status_response(request, statuses, report)
