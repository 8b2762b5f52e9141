"""NexHealth's error answers: a refused request (``ApiError``), routing failures and crashes.

An ``ApiError``'s detail is the list of messages the error envelope carries. Unmatched paths
and wrong methods are 404 ``["Not Found"]`` (no auth check, not rate-limited, but counted in
``app.state.requests``); unexpected failures are 500 ``["Internal server error"]``.
``ErrorAnswers(style, framework)`` writes all three as the reading's ``error_body`` says; with
``framework="html"`` what the web framework answers on its own (an unmatched route, a refused
token, a crash) is instead the HTML page Express's defaults write.
"""

from __future__ import annotations

from html import escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from sandboxes.nexhealth.envelope import error_envelope
from sandboxes.nexhealth.readings import ErrorBody, FrameworkErrors
from sandboxes.toolkit.errors import ApiError, http_exception_handler

__all__ = ["BodyRefused", "ErrorAnswers"]


class BodyRefused(ApiError):
    """A create or edit body refused for what it holds: `body` is the body as sent (parsed),
    which FastAPI's 422 echoes as each error's ``input`` (``error_body="pydantic"``)."""

    def __init__(self, status: int, messages: list[str], body: object) -> None:
        super().__init__(status, messages)
        self.body = body


def express_page(status: int, text: str) -> Response:
    """Express's finalhandler page: the message in a ``<pre>``, ``text/html``."""
    body = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
        f"</head>\n<body>\n<pre>{escape(text)}</pre>\n</body>\n</html>\n"
    )
    return HTMLResponse(body, status_code=status)


class ErrorAnswers:
    """The error answers of one app, with its ``error_body`` and ``framework_errors`` readings."""

    def __init__(self, style: ErrorBody = "list", framework: FrameworkErrors = "envelope") -> None:
        self.style = style
        self.framework = framework
        self.not_found = http_exception_handler(self._not_found)

    def api_error(self, error: ApiError) -> Response:
        body = error.body if isinstance(error, BodyRefused) else None
        return error_envelope(error.status, error.detail, self.style, body)

    def refuse(self, status: int, messages: list[str]) -> Response:
        return error_envelope(status, messages, self.style)

    def no_route(self, request: Request) -> Response:
        """An unmatched path or method."""
        if self.framework == "html":
            return express_page(404, f"Cannot {request.method} {request.url.path}")
        return error_envelope(404, ["Not Found"], self.style)

    def unauthorized(self, message: str) -> Response:
        """A refused bearer token (express-jwt's default error page under ``"html"``)."""
        if self.framework == "html":
            return express_page(401, f"UnauthorizedError: {message}")
        return error_envelope(401, [message], self.style)

    def _not_found(self, request: Request, exc: HTTPException) -> Response:
        request.app.state.requests += 1
        return self.no_route(request)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        if self.framework == "html":
            return express_page(500, "Internal Server Error")
        return error_envelope(500, ["Internal server error"], self.style)
