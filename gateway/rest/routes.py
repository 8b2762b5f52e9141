"""The FHIR route table: `/fhir/{tenant}/…` paths, and the methods each answers.

Every route accepts any method and dispatches here, so a method a path does not take is a 405
OperationOutcome whose `Allow` lists exactly what that resource supports (not a framework
default listing every method).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gateway.audit.scope_keys import REFUSED_CALLER
from gateway.auth.gate import TenantRefused
from gateway.contract import Interaction
from gateway.errors import MethodNotAllowed, NotFound, UpstreamTimeout
from gateway.rest.capability_endpoint import metadata, smart_configuration_endpoint
from gateway.rest.context import INSTANCE_METHODS, TYPE_METHODS, allow, served, state, tenant_of
from gateway.rest.deadlines import DeadlinePassed, Deadlines
from gateway.rest.operations import ccd_endpoint, docref_endpoint, patient_everything
from gateway.rest.query_encoding import check_query_encoding
from gateway.rest.read import read
from gateway.rest.route_index import SegmentIndex
from gateway.rest.search import search_get, search_post
from gateway.rest.write import create, delete, update
from gateway.upstream.coalesce import shared_reads

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Handler:
    endpoint: Endpoint
    needs: Interaction | None = None  # what the type's provider must support for `Allow` to list it
    writes: bool = False  # not cut off at `server.request_timeout` (gateway.settings)


def _dispatch(
    methods: Mapping[str, Handler],
    *,
    operation: str | None = None,
    on_type: str | None = None,
    public: bool = False,
    refusal: str | None = None,
) -> Endpoint:
    """One path's methods. An unknown tenant or type (or a type an operation is not defined on)
    is a 404 whatever the method; a method the path does not take is a 405 whose `Allow` lists
    the methods the type's provider supports. Unless `public`, the caller is established from
    the request's access token first (401 without an acceptable one)."""

    async def endpoint(request: Request) -> Response:
        check_query_encoding(request.scope["query_string"], "query")
        tenant = tenant_of(request)
        if not public:
            try:
                request.scope["fhir.caller"] = await state(request).gate.caller(request.headers, tenant.name)
            except TenantRefused as refused:
                # Under its own key, which only the audit line reads: nothing may take the
                # client for a caller of this tenant, but the trail names who was refused.
                request.scope[REFUSED_CALLER] = refused.caller
                raise
        resource_type = request.path_params.get("type")
        provider = None
        if resource_type is not None:
            if on_type is not None and resource_type != on_type:
                raise NotFound(f"{operation} is defined on {on_type}")
            provider = served(tenant, resource_type)
        handler = methods.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            allowed = [
                method
                for method, candidate in methods.items()
                if candidate.needs is None
                or (provider is not None and candidate.needs in provider.support.interactions)
            ]
            why = refusal or f"{request.method} is not supported here"
            raise MethodNotAllowed(why, headers={"Allow": allow(allowed)})
        with shared_reads():  # identical vendor reads of this request are made once
            if handler.writes:
                return await handler.endpoint(request)
            return await _within(state(request).deadlines, handler.endpoint(request))

    return endpoint


async def _within(deadlines: Deadlines, answering: Awaitable[Response]) -> Response:
    """`answering`, cancelled at the request's deadline with a 504 (R4 http.html: a server that
    cannot complete in time says so; FHIR issue type `timeout`)."""
    try:
        return await deadlines.within(answering)
    except DeadlinePassed:
        raise UpstreamTimeout(
            f"The answer was not ready within the gateway's limit for one request ({deadlines.seconds:g} s): "
            "the vendor system is slow; try again later, or ask for less"
        ) from None


_TYPE = {
    "GET": Handler(search_get, TYPE_METHODS["GET"]),
    "POST": Handler(create, TYPE_METHODS["POST"], writes=True),
}
_INSTANCE = {
    "GET": Handler(read, INSTANCE_METHODS["GET"]),
    "PUT": Handler(update, INSTANCE_METHODS["PUT"], writes=True),
    "DELETE": Handler(delete, INSTANCE_METHODS["DELETE"], writes=True),
}
assert set(_TYPE) == set(TYPE_METHODS) and set(_INSTANCE) == set(INSTANCE_METHODS)


class _AsgiEndpoint:
    """An endpoint as an ASGI app object: a Route given one takes every method (given a function
    it would take GET only and answer others with a framework 405 of its own). Its errors go to
    the application's exception handlers (every handler is application-wide), without the
    per-route wrapper Starlette's `request_response` adds around each call."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._endpoint(Request(scope, receive, send))
        await response(scope, receive, send)


def _any_method(path: str, endpoint: Endpoint) -> Route:
    return Route(path, _AsgiEndpoint(endpoint))


def fhir_routes() -> list[BaseRoute]:
    """The FHIR routes, as one route indexed by segment count (gateway.rest.route_index)."""
    # Operations that change nothing take GET and POST alike (R4 operations.html#request).
    everything = _dispatch(
        {"GET": Handler(patient_everything), "POST": Handler(patient_everything)},
        operation="$everything",
        on_type="Patient",
    )
    # history-instance, -type and -system (R4 http.html#history): vendors keep no history, so
    # no method is allowed there (an empty `Allow`, RFC 9110 section 10.2.1); without these
    # routes `_history` was read as an id or a type (400, 404).
    history = _dispatch({}, refusal="History is not kept here: only each resource's current version can be read")
    routes = [
        _any_method("/fhir/{tenant}/metadata", _dispatch({"GET": Handler(metadata)}, public=True)),
        _any_method(
            "/fhir/{tenant}/.well-known/smart-configuration",
            _dispatch({"GET": Handler(smart_configuration_endpoint)}, public=True),
        ),
        _any_method("/fhir/{tenant}/{type}/_search", _dispatch({"POST": Handler(search_post, Interaction.SEARCH)})),
        _any_method("/fhir/{tenant}/{type}/{id}/_history/{vid}", _dispatch({"GET": Handler(read, Interaction.READ)})),
        _any_method(
            "/fhir/{tenant}/DocumentReference/$docref",
            _dispatch({"GET": Handler(docref_endpoint), "POST": Handler(docref_endpoint)}),
        ),
        _any_method("/fhir/{tenant}/{type}/{id}/$everything", everything),
        _any_method(
            "/fhir/{tenant}/{type}/{id}/$ccd",
            _dispatch(
                {"GET": Handler(ccd_endpoint), "POST": Handler(ccd_endpoint)}, operation="$ccd", on_type="Encounter"
            ),
        ),
        _any_method("/fhir/{tenant}/{type}/{id}/_history", history),
        _any_method("/fhir/{tenant}/{type}/_history", history),
        _any_method("/fhir/{tenant}/_history", history),
        # The system level (R4 http.html#transaction, #search): a batch or transaction Bundle
        # is POSTed, a search of every type is a GET, to the base. Neither is served: a 405
        # allowing nothing, not a 404 "no such endpoint" that reads as a wrong base URL.
        _any_method(
            "/fhir/{tenant}",
            _dispatch(
                {},
                refusal="Batch and transaction Bundles, and searches across all types, are not supported "
                "here: send each request to its type's endpoint",
            ),
        ),
        _any_method("/fhir/{tenant}/{type}/{id}", _dispatch(_INSTANCE)),
        _any_method("/fhir/{tenant}/{type}", _dispatch(_TYPE)),
    ]
    return [SegmentIndex(routes)]
