"""`Cache-Control` on every FHIR answer that may carry PHI.

Without it, a shared cache may keep a 200 carrying `Last-Modified` on its own heuristics
(RFC 9111 §4.2.2). So answers are `no-store` unless the tenant opts in to private caching:
`private, no-cache` lets the client's own cache keep a copy that it must revalidate each time
(cheaply: `If-None-Match` answers 304). The discovery documents (`metadata`,
`.well-known/smart-configuration`) hold no PHI and keep their own headers.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.rest.response_headers import add_header, has_header

PUBLIC = ("metadata", ".well-known")


class CacheControl:
    def __init__(self, app: ASGIApp, private: Mapping[str, bool]) -> None:
        self.app = app
        self.private = private  # tenant → may the client's private cache keep answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].split("/") if scope["type"] == "http" else []
        if len(parts) < 4 or parts[1] != "fhir" or parts[3] in PUBLIC:
            await self.app(scope, receive, send)
            return
        value = b"private, no-cache" if self.private.get(parts[2], False) else b"no-store"

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start" and not has_header(message, b"cache-control"):
                add_header(message, b"cache-control", value)
            await send(message)

        await self.app(scope, receive, with_header)
