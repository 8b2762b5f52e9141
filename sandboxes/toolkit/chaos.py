"""Chaos mode for any simulator: the faults real vendors have, injected at random.

``Chaos(app, faults, spare=...)`` wraps a simulator's ASGI app. Each request, unless its path
is spared (token endpoints: a client that cannot log in is another test), draws one fault from
``Faults``. The draw is seeded by the seed, the request (method, path, query) and how many times
that request came since the faults were set: a run is repeatable even though concurrent clients
reach the simulator in a different order each time, and a retry of a call draws afresh.

- ``error``: a 500 with a JSON error body;
- ``throttle``: a 429 burst answer (no Retry-After, as NexHealth's);
- ``stall``: the answer comes ``stall_seconds`` late;
- ``reset``: the connection drops in the middle of the answer;
- ``malformed``: a 200 whose JSON is cut short;
- ``wrong_type``: a 200 with an HTML error page.

``latency`` adds a random delay (uniform over its bounds) to every answer. ``calls`` counts
the requests that reached the simulator (including faulted ones): the vendor's load.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class Faults:
    error: float = 0.0
    throttle: float = 0.0
    stall: float = 0.0
    reset: float = 0.0
    malformed: float = 0.0
    wrong_type: float = 0.0
    stall_seconds: float = 2.0
    latency: tuple[float, float] = (0.0, 0.0)
    seed: int = 7


class _Reset(Exception):
    """Raised mid-answer: uvicorn then drops the connection."""


class Chaos:
    def __init__(self, app: ASGIApp, faults: Faults, spare: tuple[str, ...] = ()) -> None:
        self.app = app
        self.spare = spare
        self.calls = 0
        self.injected: dict[str, int] = {}
        self.faults = faults

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        """New faults start the draws again: the same requests meet the same faults."""
        self._faults = faults
        self._seen: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # the simulator's own attributes (state, counters)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(part in scope["path"] for part in self.spare):
            await self.app(scope, receive, send)
            return
        self.calls += 1
        draws = self._draws(scope)
        low, high = self.faults.latency
        if high > 0:
            await asyncio.sleep(draws.uniform(low, high))
        fault = self._draw(draws)
        if fault is not None:
            self.injected[fault] = self.injected.get(fault, 0) + 1
        if fault == "error":
            await _answer(send, 500, b'{"error": "injected failure"}', b"application/json")
        elif fault == "throttle":
            await _answer(send, 429, b'{"error": "too many requests"}', b"application/json")
        elif fault == "malformed":
            await _answer(send, 200, b'{"data": [{"id": 1, "first_na', b"application/json")
        elif fault == "wrong_type":
            await _answer(send, 200, b"<html><body>Service error</body></html>", b"text/html")
        elif fault == "reset":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
            await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
            raise _Reset("injected connection reset")
        else:
            if fault == "stall":
                await asyncio.sleep(self.faults.stall_seconds)
            await self.app(scope, receive, send)

    def _draws(self, scope: Scope) -> random.Random:
        request = f"{scope['method']} {scope['path']}?{scope['query_string'].decode('latin-1')}"
        seen = self._seen[request] = self._seen.get(request, 0) + 1
        # A str seed is hashed with SHA-512 (random.seed, version 2): the same in every process.
        return random.Random(f"{self.faults.seed}|{request}|{seen}")

    def _draw(self, draws: random.Random) -> str | None:
        roll = draws.random()
        for name in ("error", "throttle", "stall", "reset", "malformed", "wrong_type"):
            share: float = getattr(self.faults, name)
            if roll < share:
                return name
            roll -= share
        return None


async def _answer(send: Send, status: int, body: bytes, media: bytes) -> None:
    message: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode())],
    }
    await send(message)
    await send({"type": "http.response.body", "body": body})
