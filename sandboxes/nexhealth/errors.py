"""NexHealth's error answers: a refused request (``ApiError``), routing failures and crashes.

An ``ApiError``'s detail is the list of messages the error envelope carries. Unmatched paths
and wrong methods are 404 ``["Not Found"]`` (no auth check, not rate-limited, but counted in
``app.state.requests``); unexpected failures are 500 ``["Internal server error"]``.
``ErrorAnswers(style)`` writes all three as the reading's ``error_body`` says.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.nexhealth.envelope import error_envelope
from sandboxes.nexhealth.readings import ErrorBody
from sandboxes.toolkit.errors import ApiError, http_exception_handler

__all__ = ["ErrorAnswers"]


class ErrorAnswers:
    """The error answers of one app, with its ``error_body`` reading."""

    def __init__(self, style: ErrorBody = "list") -> None:
        self.style = style
        self.not_found = http_exception_handler(self._not_found)

    def api_error(self, error: ApiError) -> Response:
        return error_envelope(error.status, error.detail, self.style)

    def refuse(self, status: int, messages: list[str]) -> Response:
        return error_envelope(status, messages, self.style)

    def _not_found(self, request: Request, exc: HTTPException) -> Response:
        request.app.state.requests += 1
        return error_envelope(404, ["Not Found"], self.style)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        return error_envelope(500, ["Internal server error"], self.style)
