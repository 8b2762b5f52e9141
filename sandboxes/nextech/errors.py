"""The EHR API's errors, ASP.NET Web API style: ``{"Message": ...}`` (plus ``ModelState`` or ``MessageDetail``).

Routing comes first, so unmatched paths (404) and wrong methods (405) answer before any
credential check. A handler refuses a request by raising ``ApiError(status, body)`` with the
whole JSON body as its detail. Every API answer carries ``Cache-Control: no-cache``,
``Pragma: no-cache`` and ``Expires: -1``, and is JSON whatever ``Accept`` says
(vendor-docs/nextech-api.txt).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.toolkit.errors import ApiError, http_exception_handler

__all__ = [
    "API_HEADERS",
    "INVALID",
    "JSON_CONTENT_TYPE",
    "api_error_response",
    "json_response",
    "routing_error",
    "styled_error",
]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
API_HEADERS = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1"}
#: The ``Message`` of a 400 for bad parameters.
INVALID = "The request is invalid."


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """An API answer: `body` as JSON with the API's no-cache headers (and `headers`)."""
    return Response(orjson.dumps(body), status, {**API_HEADERS, **(headers or {})}, JSON_CONTENT_TYPE)


def api_error_response(error: ApiError) -> Response:
    return json_response(error.status, error.detail)


def styled_error(status: int, body: dict[str, Any], style: str, headers: dict[str, str] | None = None) -> Response:
    """A Web API error body (``{"Message": ...}``) as `style` (``readings.ErrorBodies``) writes it."""
    message = str(body.get("Message", ""))
    if style == "problem":
        problem = {"type": "about:blank", "title": message, "status": status, "detail": body.get("MessageDetail")}
        if "ModelState" in body:
            problem["errors"] = body["ModelState"]
        content = orjson.dumps(problem)
        return Response(content, status, {**API_HEADERS, **(headers or {})}, "application/problem+json")
    if style == "text":
        return Response(message, status, {**API_HEADERS, **(headers or {})}, "text/plain; charset=utf-8")
    return json_response(status, body, headers)


def _routing_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        message = f"The requested resource does not support http method '{request.method}'."
        return json_response(405, {"Message": message}, {"Allow": (exc.headers or {}).get("Allow", "")})
    if exc.status_code == 404:
        message = f"No HTTP resource was found that matches the request URI '{request.url}'."
        return json_response(404, {"Message": message})
    return json_response(exc.status_code, {"Message": str(exc.detail)})


#: The handler for Starlette's routing failures, answering like Web API.
routing_error = http_exception_handler(_routing_error)
