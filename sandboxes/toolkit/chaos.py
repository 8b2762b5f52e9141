"""Chaos mode for any simulator: the faults real vendors have, injected at random.

``Chaos(app, faults, spare=...)`` wraps a simulator's ASGI app. Each request, unless its path
is spared (token endpoints: a client that cannot log in is another test), draws one fault from
``Faults`` with a seeded random generator, so a run is repeatable:

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
        self.faults = faults
        self.spare = spare
        self.calls = 0
        self.injected: dict[str, int] = {}
        self._random = random.Random(faults.seed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # the simulator's own attributes (state, counters)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(part in scope["path"] for part in self.spare):
            await self.app(scope, receive, send)
            return
        self.calls += 1
        low, high = self.faults.latency
        if high > 0:
            await asyncio.sleep(self._random.uniform(low, high))
        fault = self._draw()
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

    def _draw(self) -> str | None:
        roll = self._random.random()
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
