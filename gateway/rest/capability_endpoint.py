"""`GET /fhir/{tenant}/metadata`: the tenant's CapabilityStatement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.auth.discovery import AuthorizationServer, security, smart_configuration
from gateway.errors import NotFound
from gateway.rest.capability import capability_statement
from gateway.rest.context import base_url, respond, response_format, state, tenant_of


async def metadata(request: Request) -> Response:
    fmt = response_format(request)
    tenant = tenant_of(request)
    settings = state(request).settings
    paging = settings.paging
    supports = {name: provider.support for name, provider in tenant.providers.items()}
    body = capability_statement(
        tenant.name, base_url(request, tenant.name), supports, paging.default_count, paging.max_count
    )
    server = authorization_server(request, tenant.name)
    if server is not None:
        body["rest"][0]["security"] = security(server, cors=bool(settings.tenants[tenant.name].cors_origins))
    return respond(fmt, body)


def authorization_server(request: Request, tenant: str) -> AuthorizationServer | None:
    """The server that issues the tenant's tokens: its own issuer, else the gateway's token
    endpoint; None when the gateway serves without authorization."""
    rest = state(request)
    if rest.settings.server.auth != "smart":
        return None
    conf = rest.settings.tenants[tenant].auth
    if conf is not None:
        return AuthorizationServer.external(conf)
    own = rest.gate.server
    return AuthorizationServer(own.issuer, own.token_endpoint, own.jwks_uri) if own is not None else None


async def smart_configuration_endpoint(request: Request) -> Response:
    """`GET /fhir/{tenant}/.well-known/smart-configuration`: 404 where there is no authorization."""
    tenant = tenant_of(request)
    server = authorization_server(request, tenant.name)
    if server is None:
        raise NotFound(f"Tenant '{tenant.name}' is served without authorization: there is no SMART configuration")
    return JSONResponse(smart_configuration(server), headers={"Cache-Control": "public, max-age=3600"})
