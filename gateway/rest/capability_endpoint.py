"""`GET /fhir/{tenant}/metadata`: the tenant's CapabilityStatement."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.rest.capability import capability_statement
from gateway.rest.context import base_url, respond, response_format, state, tenant_of


async def metadata(request: Request) -> Response:
    fmt = response_format(request)
    tenant = tenant_of(request)
    paging = state(request).settings.paging
    supports = {name: provider.support for name, provider in tenant.providers.items()}
    body = capability_statement(
        tenant.name, base_url(request, tenant.name), supports, paging.default_count, paging.max_count
    )
    return respond(fmt, body)
