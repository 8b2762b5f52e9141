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
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.audit.middleware import Audit
from gateway.audit.sink import audit_sink
from gateway.auth.gate import Gate
from gateway.cache import CachePolicy
from gateway.connect import connect
from gateway.contract import OAuthApp, SandboxFactory, Vendor
from gateway.errors import FHIRError
from gateway.logs import redact
from gateway.plugins import by_name
from gateway.rest.cache_control import CacheControl
from gateway.rest.context import RestState
from gateway.rest.cors import Cors
from gateway.rest.outcome import fhir_error_handler, http_error_handler, unexpected_error_handler
from gateway.rest.paging import PageTokens
from gateway.rest.routes import fhir_routes
from gateway.sandbox_host import SandboxHost
from gateway.settings import Settings, TenantSettings, resolve_secret
from gateway.tenant_config import adapter_config, check_tenants, resolve_credentials, token_keys
from gateway.tenants import Tenant, build_tenant
from gateway.upstream.oauth import token_client
from gateway.upstream.token_store import TokenStore

log = logging.getLogger("gateway")
# httpx logs every URL at INFO; the start-up connection's callback URL carries an authorization code.
logging.getLogger("httpx").setLevel(logging.WARNING)
access_log = logging.getLogger("gateway.access")


def _paging_secret(settings: Settings) -> str:
    if settings.server.paging_secret:
        return resolve_secret(settings.server.paging_secret)
    log.warning("server.paging_secret is not set: paging links stop working when this process restarts")
    return secrets.token_urlsafe(32)


# The demo's sandbox grants live in a throw-away directory, under a throw-away key.
SANDBOX_TOKEN_KEY = Fernet.generate_key().decode()


@dataclass(frozen=True)
class _Composition:
    settings: Settings
    vendors: Mapping[str, Vendor[Any]]
    sandboxes: Mapping[str, SandboxFactory]

    async def tenant(self, name: str, conf: TenantSettings, host: SandboxHost, sandbox_tokens: Path) -> Tenant:
        vendor = self.vendors[conf.vendor]
        if conf.sandbox:
            sandbox = self.sandboxes[conf.vendor]()
            root = host.start(sandbox.app, name)
            config = adapter_config(
                name,
                conf,
                vendor,
                base_url=root + sandbox.base_path,
                options={**sandbox.options(root), **conf.options},
                secrets=sandbox.secrets,
                token_store=sandbox_tokens,
                token_keys=(SANDBOX_TOKEN_KEY,),
            )
            log.info("tenant %s: %s sandbox on %s", name, conf.vendor, root)
            if vendor.oauth is not None:
                await _connect_sandbox(name, vendor.oauth(config), TokenStore(sandbox_tokens, config.token_keys))
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
            )
        cache = (
            CachePolicy(conf.cache.ttl, conf.cache.max_entries, conf.cache.stale_for) if conf.cache.enabled else None
        )
        adapter = vendor.create_adapter(config)
        return build_tenant(name, config.context, vendor.name, adapter, conf.organization or name, config.drift, cache)


async def _connect_sandbox(name: str, app: OAuthApp, store: TokenStore) -> None:
    """A sandbox tenant of an OAuth vendor is connected at start-up through the operator's own
    flow (gateway.connect); its authorization server approves without a login page."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:

        async def approve(url: str) -> None:
            (await browser.get(url)).raise_for_status()

        token_http, post = token_client(app)
        try:
            await connect(name, app, store, post, approve)
        finally:
            await token_http.aclose()
    log.info("tenant %s: connected to its sandbox through the authorization-code flow", name)


class AccessLog:
    """Method, route, status and time only: query strings carry PHI (names, birth dates) and
    resource ids may carry identifiers, so neither is logged.

    Plain ASGI rather than BaseHTTPMiddleware, which costs a task and a stream per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            access_log.info("%s %s %d %.1fms", scope["method"], redact(scope["path"]), status, elapsed)


async def index(request: Request) -> Response:
    state: RestState = request.app.state.rest
    root = str(request.base_url).rstrip("/")
    return JSONResponse({"service": "fhir-gateway", "tenants": {n: f"{root}/fhir/{n}/metadata" for n in state.tenants}})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    settings: Settings,
    vendors: Iterable[Vendor[Any]] | Mapping[str, Vendor[Any]],
    sandboxes: Mapping[str, SandboxFactory] | None = None,
    *,
    access_logging: bool = True,
) -> Starlette:
    """The gateway for these settings; a configuration the vendors cannot take is a ConfigError
    here, before anything is started."""
    composition = _Composition(settings, by_name(vendors), dict(sandboxes or {}))
    check_tenants(settings, composition.vendors, composition.sandboxes)
    gate = Gate(settings)
    sink = audit_sink(settings.audit)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        host = SandboxHost()
        sandbox_tokens = Path(tempfile.mkdtemp(prefix="fhir-gateway-sandbox-tokens-"))
        tenants: dict[str, Tenant] = {}
        try:
            for name, conf in settings.tenants.items():
                tenants[name] = await composition.tenant(name, conf, host, sandbox_tokens)
            app.state.rest = RestState(settings, tenants, PageTokens(_paging_secret(settings)), gate)
            yield
        finally:
            await gate.aclose()
            sink.close()
            for tenant in tenants.values():
                await tenant.aclose()
            host.stop()
            shutil.rmtree(sandbox_tokens, ignore_errors=True)

    routes = [Route("/", index), Route("/healthz", health), *fhir_routes()]
    if gate.server is not None:  # the gateway's own token endpoint (SMART Backend Services)
        routes += [
            Route("/auth/token", gate.server.token, methods=["POST"]),
            Route("/auth/jwks", gate.server.jwks, methods=["GET"]),
        ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            *([Middleware(AccessLog)] if access_logging else []),
            Middleware(Cors, origins={name: frozenset(t.cors_origins) for name, t in settings.tenants.items()}),
            # Inside CORS: preflights are not FHIR interactions, and a 503 still reaches the browser app.
            Middleware(Audit, sink=sink, fail_open=settings.audit.fail_open),
            Middleware(
                CacheControl, private={name: t.client_caching == "private" for name, t in settings.tenants.items()}
            ),
        ],
        exception_handlers={
            FHIRError: fhir_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
    )
