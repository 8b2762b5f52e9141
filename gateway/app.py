"""create_app(settings, vendors, sandboxes): the one composition root.

The entry point (the CLI, the tests) hands over the vendors and, for the demo, the simulators;
the configuration is checked against them before anything starts. At start-up the sandboxes of
sandbox tenants are served on loopback, every tenant's adapter is built, and the FHIR routes
are mounted with the single error handler.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.audit.health import AuditHealth
from gateway.audit.middleware import Audit
from gateway.audit.scope_keys import TOKEN_PATH
from gateway.audit.sink import audit_sink
from gateway.auth.gate import Gate
from gateway.cache import CachePolicy
from gateway.collector import gateway_started, gateway_stopped
from gateway.contract import AdapterConfig, SandboxFactory, Vendor
from gateway.errors import FHIRError
from gateway.observability import Observability
from gateway.observability.tracing import Tracing
from gateway.plugins import by_name
from gateway.rest.cache_control import CacheControl
from gateway.rest.context import RestState
from gateway.rest.cors import Cors
from gateway.rest.hosts import HostCheck
from gateway.rest.last_resort import LastResort
from gateway.rest.outcome import fhir_error_handler, http_error_handler, unexpected_error_handler
from gateway.rest.paging import PageTokens
from gateway.rest.routes import fhir_routes
from gateway.sandbox_host import SandboxHost
from gateway.sandbox_tenants import HostedSandbox, host_sandbox
from gateway.settings import Settings, TenantSettings, resolve_paging_secret
from gateway.shared import SharedState, shared_state
from gateway.shared.eviction import eviction_warning
from gateway.shared.sealed import Seal
from gateway.tenant_config import adapter_config, check_tenants, resolve_credentials, shared_state_url, token_keys
from gateway.tenants import Tenant, build_tenant
from gateway.upstream.grants import grants_of

log = logging.getLogger("gateway")
# httpx logs every URL at INFO; the start-up connection's callback URL carries an authorization code.
logging.getLogger("httpx").setLevel(logging.WARNING)


def _paging_secret(settings: Settings) -> str:
    if settings.server.paging_secret:
        return resolve_paging_secret(settings.server.paging_secret)
    log.warning("server.paging_secret is not set: paging links stop working when this process restarts")
    return secrets.token_urlsafe(32)


# The demo's sandbox grants live in a throw-away directory, under a throw-away key.
SANDBOX_TOKEN_KEY = Fernet.generate_key().decode()


@dataclass(frozen=True)
class _Composition:
    settings: Settings
    vendors: Mapping[str, Vendor[Any]]
    sandboxes: Mapping[str, SandboxFactory]
    hosted: Mapping[str, HostedSandbox]  # sandboxes already running (a workers' parent hosts them)
    observability: Observability

    async def tenant(
        self, name: str, conf: TenantSettings, host: SandboxHost, sandbox_tokens: Path | None, shared: SharedState
    ) -> Tenant:
        vendor = self.vendors[conf.vendor]
        if conf.sandbox:
            hosted = self.hosted.get(name)
            if hosted is None:
                assert sandbox_tokens is not None  # made for every sandbox this process starts
                hosted = await host_sandbox(
                    name, conf, vendor, self.sandboxes[conf.vendor], host, sandbox_tokens, SANDBOX_TOKEN_KEY
                )
            config = hosted.adapter_config(name, conf, vendor, shared)
        else:
            config = adapter_config(
                name,
                conf,
                vendor,
                base_url=conf.base_url,
                options=conf.options,
                secrets=resolve_credentials(conf.credentials),
                token_store=Path(self.settings.server.token_store).expanduser(),
                token_keys=token_keys(self.settings),
                shared=shared,
            )
        cache = (
            CachePolicy(conf.cache.ttl, conf.cache.max_entries, conf.cache.stale_for) if conf.cache.enabled else None
        )
        adapter = vendor.create_adapter(config)
        self.observability.watch(name, conf.vendor, config.base_url, _has_grant(name, config) if vendor.oauth else None)
        seal = Seal(config.token_keys) if config.token_keys else None
        return build_tenant(
            name, config.context, vendor.name, adapter, conf.organization or name, config.drift, cache, shared, seal
        )


def _has_grant(name: str, config: AdapterConfig[Any]) -> Callable[[], Awaitable[bool]]:
    """For /readyz: an OAuth tenant is connected while its grant store holds a refresh token."""

    async def has_grant() -> bool:
        return await grants_of(config).load(name) is not None

    return has_grant


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    settings: Settings,
    vendors: Iterable[Vendor[Any]] | Mapping[str, Vendor[Any]],
    sandboxes: Mapping[str, SandboxFactory] | None = None,
    *,
    access_logging: bool = True,
    hosted: Mapping[str, HostedSandbox] | None = None,
    tracing: Tracing | None = None,
) -> Starlette:
    """The gateway for these settings; a configuration the vendors cannot take is a ConfigError
    here, before anything is started."""
    observability = Observability(settings, tracing)  # metrics, probes, logs, traces, status page
    composition = _Composition(settings, by_name(vendors), dict(sandboxes or {}), dict(hosted or {}), observability)
    check_tenants(settings, composition.vendors, composition.sandboxes)
    shared = shared_state(shared_state_url(settings), settings.server.shared_state_prefix)
    gate = Gate(settings, shared)
    sink = audit_sink(settings.audit)
    audit_health = AuditHealth()
    if not settings.audit.fail_open:  # failing open, an unwritable trail refuses nothing
        observability.readiness.audit = audit_health

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        observability.start()
        host = SandboxHost()
        # Only for sandboxes this process starts itself: a worker's are hosted by its parent, and
        # a worker killed outright (no lifespan shutdown) would leave the directory behind.
        hosts_its_own = any(c.sandbox and n not in composition.hosted for n, c in settings.tenants.items())
        sandbox_tokens = Path(tempfile.mkdtemp(prefix="fhir-gateway-sandbox-tokens-")) if hosts_its_own else None
        tenants: dict[str, Tenant] = {}
        app.state.shared = shared
        started = False
        try:
            for name, conf in settings.tenants.items():
                tenants[name] = await composition.tenant(name, conf, host, sandbox_tokens, shared)
            app.state.rest = RestState(settings, tenants, PageTokens(_paging_secret(settings), shared), gate, shared)
            if (warning := await eviction_warning(shared)) is not None:
                log.error("%s", warning)
            gateway_started()  # gateway.collector: what start-up built frozen, young objects collected less often
            started = True
            yield
        finally:
            if started:
                gateway_stopped()
            await gate.aclose()
            sink.close()
            for tenant in tenants.values():
                await tenant.aclose()
            host.stop()
            if sandbox_tokens is not None:
                shutil.rmtree(sandbox_tokens, ignore_errors=True)
            await shared.aclose()
            observability.stop()

    # The FHIR routes first: they take nearly every request (each other route is one more match).
    routes = [*fhir_routes(), *observability.routes(), Route("/healthz", health)]
    if gate.server is not None:  # the gateway's own token endpoint (SMART Backend Services)
        routes += [
            Route(TOKEN_PATH, gate.server.token, methods=["POST"]),
            Route("/auth/jwks", gate.server.jwks, methods=["GET"]),
        ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            # Outermost: request ids, metrics, spans and the access line see every answer.
            observability.middleware(access_logging),
            Middleware(Cors, origins={name: frozenset(t.cors_origins) for name, t in settings.tenants.items()}),
            # Inside CORS: preflights are not FHIR interactions, and a 503 still reaches the browser
            # app. Outside the Host check: a request refused for its Host is on the trail too.
            Middleware(
                Audit,
                sink=sink,
                fail_open=settings.audit.fail_open,
                sequence=shared,
                tenants=settings.tenants,
                health=audit_health,
            ),
            Middleware(HostCheck, server=settings.server),  # links are built from Host (gateway.rest.hosts)
            Middleware(
                CacheControl, private={name: t.client_caching == "private" for name, t in settings.tenants.items()}
            ),
            Middleware(LastResort),  # innermost: an unexpected error answered through all of the above
        ],
        exception_handlers={
            FHIRError: fhir_error_handler,
            HTTPException: http_error_handler,
            # A middleware's own error (a route's is answered by LastResort, innermost).
            Exception: unexpected_error_handler,
        },
    )
    # No trailing-slash redirect: Starlette's would answer `/fhir/t/Patient/` with a 307 whose
    # Location is built from the client's Host (even with public_base_url set) and is no
    # OperationOutcome. R4 http.html's URLs ([base]/[type], [base]/[type]/[id]) end in no "/":
    # such a path is a 404 like any other this server does not serve, not a second name for a
    # resource (`Patient/` would be a search or a read of an empty id), and nothing is done.
    app.router.redirect_slashes = False
    return app
