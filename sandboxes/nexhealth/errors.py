"""NexHealth's error answers: a refused request (``ApiError``), routing failures and crashes.

An ``ApiError``'s detail is the list of messages the error envelope carries. Unmatched paths
and wrong methods are 404 ``["Not Found"]`` (no auth check, not rate-limited, but counted in
``app.state.requests``); unexpected failures are 500 ``["Internal server error"]``.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.nexhealth.envelope import error_envelope
from sandboxes.toolkit.errors import ApiError, http_exception_handler

__all__ = ["api_error_envelope", "not_found", "server_error"]


def api_error_envelope(error: ApiError) -> Response:
    return error_envelope(error.status, error.detail)


def _not_found(request: Request, exc: HTTPException) -> Response:
    request.app.state.requests += 1
    return error_envelope(404, ["Not Found"])


#: The handler for Starlette's routing failures (unknown path, wrong method): always 404.
not_found = http_exception_handler(_not_found)


async def server_error(request: Request, exc: Exception) -> Response:
    return error_envelope(500, ["Internal server error"])
