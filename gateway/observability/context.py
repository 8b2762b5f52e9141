"""The request being served, as log lines and vendor-call counts see it.

A context variable, so that every log line written while a request is served (in its task,
or in tasks it starts, which copy the context) carries its request id, and every vendor
call it makes is counted on it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import Scope

# Where the request id is kept in the ASGI scope, for the audit middleware (gateway.audit).
REQUEST_ID_KEY = "fhir.request_id"
# Set by the HTTP protocol (gateway.slow_clients) in the scope of a request it refused while its
# app was serving it (a malformed chunk of the body): the status the client was answered. The
# app's own answer is never sent, so the access line (the protocol's) and the AuditEvent say
# this status, once (RFC 9112 section 9.3.2: one answer per request).
REFUSED_STATUS_KEY = "fhir.refused_status"
# What an incoming X-Request-ID may be to be kept: anything else could carry input into logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9\-_.]{8,64}")


@dataclass
class RequestContext:
    request_id: str
    tenant: str = ""  # a configured tenant's name, else empty (never what a client made up)
    route: str = ""  # the route template, `/fhir/{tenant}/{type}/{id}`: never ids or values
    vendor_calls: int = 0


current: ContextVar[RequestContext | None] = ContextVar("fhir_gateway_request", default=None)

# The tenant whose work runs outside any request (a sandbox tenant connected at start-up), for
# the vendor calls it makes on a connection that has no name of its own (an OAuth token
# endpoint's): without it they would be counted under an empty tenant label.
tenant_at_work: ContextVar[str] = ContextVar("fhir_gateway_tenant_at_work", default="")


@contextmanager
def working_for(tenant: str) -> Iterator[None]:
    """Vendor calls made in this block, outside a request, are `tenant`'s."""
    token = tenant_at_work.set(tenant)
    try:
        yield
    finally:
        tenant_at_work.reset(token)


def refused_status(scope: Scope) -> int | None:
    """The status the HTTP protocol answered a request with instead of its app, if it did."""
    status = scope.get(REFUSED_STATUS_KEY)
    return status if isinstance(status, int) else None


def request_id_of(scope: Scope) -> str:
    """The client's X-Request-ID when it is a plain token, else a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    return secrets.token_hex(8)
