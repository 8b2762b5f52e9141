"""create_app(settings): the one composition root.

It starts the sandboxes of sandbox tenants (demo), builds every tenant's adapter through the
vendor registry, and mounts the FHIR routes with the single error handler.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.connect import connect
from gateway.errors import FHIRError
from gateway.logs import redact
from gateway.rest.outcome import fhir_error_handler, http_error_handler, unexpected_error_handler
from gateway.rest.paging import PageTokens
from gateway.rest.routes import RestState, fhir_routes
from gateway.sandbox_host import SandboxHost
from gateway.settings import Settings, resolve_secret
from gateway.tenants import Endpoint, build_tenants, endpoint_from_settings, tenant_config
from gateway.upstream.oauth import token_client
from gateway.upstream.token_store import TokenStore
from mappings.registry import vendor

log = logging.getLogger("gateway")
# httpx logs every URL at INFO; the start-up connection's callback URL carries an authorization code.
logging.getLogger("httpx").setLevel(logging.WARNING)
access_log = logging.getLogger("gateway.access")


def _paging_secret(settings: Settings) -> str:
    if settings.server.paging_secret:
        return resolve_secret(settings.server.paging_secret)
    log.warning("server.paging_secret is not set: paging links stop working when this process restarts")
    return secrets.token_urlsafe(32)


def _endpoints(settings: Settings, host: SandboxHost, sandbox_tokens: Path) -> dict[str, Endpoint]:
    endpoints: dict[str, Endpoint] = {}
    store = str(Path(settings.server.token_store).expanduser())
    for name, conf in settings.tenants.items():
        if conf.sandbox:
            sandbox = vendor(conf.vendor).create_sandbox()
            url = host.start(sandbox.app, name)
            options = {**sandbox.options, "sandbox_url": url, "token_store": str(sandbox_tokens), **conf.options}
            endpoints[name] = Endpoint(url + sandbox.base_path, options, sandbox.secrets)
            log.info("tenant %s: %s sandbox on %s", name, conf.vendor, url)
        else:
            found = endpoint_from_settings(conf)
            endpoints[name] = Endpoint(found.base_url, {"token_store": store, **found.options}, found.secrets)
    return endpoints


async def _connect_sandboxes(settings: Settings, endpoints: dict[str, Endpoint]) -> None:
    """Sandbox tenants of OAuth vendors are connected at start-up through the operator's own
    flow (gateway.connect); their authorization servers approve without a login page."""
    for name, conf in settings.tenants.items():
        oauth = vendor(conf.vendor).oauth
        if not conf.sandbox or oauth is None:
            continue
        where = endpoints[name]
        config = tenant_config(name, conf, where)
        app = oauth(config)
        store = TokenStore(where.options["token_store"])
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


def create_app(settings: Settings, *, access_logging: bool = True) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        host = SandboxHost()
        sandbox_tokens = Path(tempfile.mkdtemp(prefix="fhir-gateway-sandbox-tokens-"))
        try:
            endpoints = _endpoints(settings, host, sandbox_tokens)
            tenants = build_tenants(settings, endpoints)
            await _connect_sandboxes(settings, endpoints)
            app.state.rest = RestState(settings, tenants, PageTokens(_paging_secret(settings)))
            yield
            for tenant in tenants.values():
                await tenant.adapter.aclose()
        finally:
            host.stop()
            shutil.rmtree(sandbox_tokens, ignore_errors=True)

    routes = [Route("/", index), Route("/healthz", health), *fhir_routes()]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(AccessLog)] if access_logging else [],
        exception_handlers={
            FHIRError: fhir_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
    )
