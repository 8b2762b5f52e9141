"""Type aliases every simulator uses: a JSON object and a Starlette endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["Handler", "JsonObject"]

#: A JSON object as the simulators build it before encoding (vendor field names as keys).
JsonObject: TypeAlias = dict[str, Any]

#: A Starlette endpoint: one request in, one response out.
Handler: TypeAlias = Callable[[Request], Awaitable[Response]]
