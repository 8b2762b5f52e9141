"""The FHIR route table: `/fhir/{tenant}/…` paths, and the methods each answers.

Every route accepts any method and dispatches here, so a method a path does not take is a 405
OperationOutcome whose `Allow` lists exactly what that resource supports (not a framework
default listing every method).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from gateway.errors import MethodNotAllowed, NotFound
from gateway.rest.capability_endpoint import metadata
from gateway.rest.context import INSTANCE_METHODS, TYPE_METHODS, allow, allowed_methods, tenant_of
from gateway.rest.operations import ccd_endpoint, docref_endpoint, patient_everything
from gateway.rest.read import read
from gateway.rest.search import search_get, search_post
from gateway.rest.write import create, delete, update

Endpoint = Callable[[Request], Awaitable[Response]]

_TYPE_HANDLERS: dict[str, Endpoint] = {"GET": search_get, "POST": create}
_INSTANCE_HANDLERS: dict[str, Endpoint] = {"GET": read, "PUT": update, "DELETE": delete}
assert set(_TYPE_HANDLERS) == set(TYPE_METHODS) and set(_INSTANCE_HANDLERS) == set(INSTANCE_METHODS)


def _fixed(handlers: Mapping[str, Endpoint]) -> Endpoint:
    """A path whose methods do not depend on the resource type (metadata, operations)."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        handler = handlers.get(method)
        if handler is None:
            raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": allow(handlers)})
        return await handler(request)

    return endpoint


def _per_type(handlers: Mapping[str, Endpoint], instance: bool) -> Endpoint:
    """A type's or an instance's path: what it allows is what the type's provider supports."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        handler = handlers.get(method)
        if handler is not None:
            return await handler(request)
        tenant = tenant_of(request)
        provider = tenant.providers.get(request.path_params["type"])
        if provider is None:  # an unknown type is not there, whatever the method
            raise NotFound(f"Resource type '{request.path_params['type']}' is not served by tenant '{tenant.name}'")
        raise MethodNotAllowed(
            f"{request.method} is not supported here", headers={"Allow": allow(allowed_methods(provider, instance))}
        )

    return endpoint


class _AsgiEndpoint:
    """An endpoint as an ASGI app object: a Route given one takes every method (given a function
    it would take GET only and answer others with a framework 405 of its own)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _any_method(path: str, endpoint: Endpoint) -> Route:
    return Route(path, _AsgiEndpoint(endpoint))


def fhir_routes() -> list[Route]:
    return [
        _any_method("/fhir/{tenant}/metadata", _fixed({"GET": metadata})),
        _any_method("/fhir/{tenant}/{type}/_search", _fixed({"POST": search_post})),
        _any_method("/fhir/{tenant}/{type}/{id}/_history/{vid}", _fixed({"GET": read})),
        _any_method(
            "/fhir/{tenant}/DocumentReference/$docref", _fixed({"GET": docref_endpoint, "POST": docref_endpoint})
        ),
        _any_method("/fhir/{tenant}/{type}/{id}/$everything", _fixed({"GET": patient_everything})),
        _any_method("/fhir/{tenant}/{type}/{id}/$ccd", _fixed({"GET": ccd_endpoint})),
        _any_method("/fhir/{tenant}/{type}/{id}", _per_type(_INSTANCE_HANDLERS, instance=True)),
        _any_method("/fhir/{tenant}/{type}", _per_type(_TYPE_HANDLERS, instance=False)),
    ]
