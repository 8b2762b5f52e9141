"""A synchronous face on an ASGI app (pytest-asyncio is not a dependency)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette


class SyncAsgi:
    """Requests to `app` in-process, each call in an event loop of its own with a fresh client.

    Vendor harnesses subclass it and add their auth and defaults on top of `request`.
    """

    def __init__(self, app: Starlette, base_url: str) -> None:
        self.app = app
        self.base_url = base_url

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request; `kw` goes to `httpx.AsyncClient.request` as it is."""
        return self.repeat(1, method, path, **kw)[0]

    def repeat(self, n: int, method: str, path: str, **kw: Any) -> list[httpx.Response]:
        """The same request `n` times, one after another, in one event loop and one client (fast
        enough to hit a per-second rate limit for real)."""

        async def go() -> list[httpx.Response]:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=self.base_url) as c:
                return [await c.request(method, path, **kw) for _ in range(n)]

        return asyncio.run(go())
