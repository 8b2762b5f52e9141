"""`Cache-Control` on every FHIR answer that may carry PHI.

Without it, a shared cache may keep a 200 carrying `Last-Modified` on its own heuristics
(RFC 9111 §4.2.2). So answers are `no-store` unless the tenant opts in to private caching:
`private, no-cache` lets the client's own cache keep a copy that it must revalidate each time
(cheaply: `If-None-Match` answers 304). The discovery documents (`metadata`,
`.well-known/smart-configuration`) hold no PHI and keep their own headers.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
        value = "private, no-cache" if self.private.get(parts[2], False) else "no-store"

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = value
            await send(message)

        await self.app(scope, receive, with_header)
