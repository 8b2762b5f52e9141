"""CORS for browser SMART apps, per tenant (https://fetch.spec.whatwg.org/#http-cors-protocol).

A tenant lists the origins whose pages may call it (`cors_origins`). A preflight (`OPTIONS`
with `Access-Control-Request-Method`) from one of them is answered here, before routing, with
the methods and request headers FHIR clients send; from any other origin it is a 403 without
CORS headers, so the browser blocks the call. Answers to allowed origins expose the headers a
FHIR client reads (`Location`, `ETag`, `Content-Location`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import jsonio
from gateway.rest.outcome import operation_outcome

METHODS = "GET, HEAD, POST, PUT, DELETE"
REQUEST_HEADERS = ", ".join(
    [
        *("Authorization", "Content-Type", "Accept", "Prefer", "If-Match", "If-None-Match"),
        *("If-None-Exist", "If-Modified-Since", "X-Request-Id"),
    ]
)
EXPOSED = "Location, ETag, Content-Location, Last-Modified, WWW-Authenticate, Retry-After, X-Request-Id"
MAX_AGE = "600"


class Cors:
    def __init__(self, app: ASGIApp, origins: Mapping[str, frozenset[str]]) -> None:
        self.app = app
        self.origins = origins  # tenant → allowed origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Most requests carry no Origin (only browsers send it): one scan of the raw headers.
        if not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers["origin"]
        allowed = origin in self.origins.get(_tenant(scope["path"]), frozenset())
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(allowed, origin, send)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers["Access-Control-Allow-Origin"] = origin
                response_headers["Access-Control-Expose-Headers"] = EXPOSED
                response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, allowed: bool, origin: str, send: Send) -> None:
        if allowed:
            status, body = 204, b""
            headers = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", METHODS.encode()),
                (b"access-control-allow-headers", REQUEST_HEADERS.encode()),
                (b"access-control-max-age", MAX_AGE.encode()),
                (b"vary", b"Origin"),
            ]
        else:
            status = 403
            body = jsonio.dumps(operation_outcome("error", "forbidden", "This origin may not call this tenant"))
            headers = [(b"content-type", b"application/fhir+json; charset=utf-8"), (b"vary", b"Origin")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _tenant(path: str) -> str:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "fhir" else ""
