"""`GET /fhir/{tenant}/metadata`: the tenant's CapabilityStatement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.auth.discovery import security, smart_configuration
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
    conf = settings.tenants[tenant.name].auth
    if settings.server.auth == "smart" and conf is not None:
        body["rest"][0]["security"] = security(conf, cors=bool(settings.tenants[tenant.name].cors_origins))
    return respond(fmt, body)


async def smart_configuration_endpoint(request: Request) -> Response:
    """`GET /fhir/{tenant}/.well-known/smart-configuration`: 404 where there is no authorization."""
    tenant = tenant_of(request)
    settings = state(request).settings
    conf = settings.tenants[tenant.name].auth
    if settings.server.auth != "smart" or conf is None:
        raise NotFound(f"Tenant '{tenant.name}' is served without authorization: there is no SMART configuration")
    return JSONResponse(smart_configuration(conf), headers={"Cache-Control": "public, max-age=3600"})
