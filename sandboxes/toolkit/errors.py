"""Refused requests: ``ApiError`` and the glue that turns errors into vendor responses.

Every simulator answers a refused request (bad parameter, unknown record, conflict) with
its vendor's own error body: FastAPI's ``{"detail": ...}`` for the Dental PMS, Laravel's
``{"message": ..., "errors": ...}`` for Nextvisit, the ``{"code": false, "error": [...]}``
envelope for NexHealth, ASP.NET's ``{"Message": ...}`` for Nextech. Handlers raise
``ApiError(status, detail)`` wherever they find the problem; ``catch_api_errors`` wraps an
endpoint so the vendor's renderer turns the error into that body. Only the shape of the
body is vendor-specific, so the renderer stays in the vendor's package.

Routing failures (unknown path, wrong method) are Starlette ``HTTPException``s raised
before any endpoint runs; ``http_exception_handler`` adapts a vendor's renderer for them
to Starlette's ``exception_handlers`` signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["ApiError", "ErrorRenderer", "HttpErrorRenderer", "catch_api_errors", "http_exception_handler"]

P = ParamSpec("P")


class ApiError(Exception):
    """A request the vendor refuses: the HTTP `status` and the vendor-specific `detail`.

    `detail` is whatever the vendor's error renderer needs to build the body (a message,
    a list of messages, a list of validation errors, or the whole JSON body).
    """

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


#: Builds the vendor's error response for an ``ApiError``.
ErrorRenderer = Callable[[ApiError], Response]
#: Builds the vendor's error response for a routing failure (404, 405).
HttpErrorRenderer = Callable[[Request, HTTPException], Response]


def catch_api_errors(
    handler: Callable[P, Awaitable[Response]], render: ErrorRenderer
) -> Callable[P, Awaitable[Response]]:
    """`handler`, answering ``render(error)`` when it raises an ``ApiError``."""

    async def answer(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await handler(*args, **kwargs)
        except ApiError as error:
            return render(error)

    return answer


def http_exception_handler(render: HttpErrorRenderer) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A Starlette exception handler (register it for ``HTTPException``) answering `render`."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):  # Starlette only passes what it was registered for
            raise exc
        return render(request, exc)

    return handle
