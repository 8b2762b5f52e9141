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
    "abp_wrapped",
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


def abp_wrapped(response: Response) -> Response:
    """`response` as ASP.NET Boilerplate's default ``WrapResult`` writes it (``AjaxResponse``):
    a success's JSON under ``result``; a refusal as ``success: false`` and an ``error``
    (``ErrorInfo``: ``code``, ``message``, ``details``, ``validationErrors``) read from the
    body it had (Web API's ``Message``/``MessageDetail``/``ModelState``, a problem's
    ``title``/``detail``/``errors``, an ``{"error": {...}}`` or text), the status kept
    (``AbpExceptionFilter``), ``unAuthorizedRequest`` true for a 401 or 403."""
    body = bytes(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    if 200 <= response.status_code < 300:
        wrapped = b'{"result":%s,"targetUrl":null,"success":true,"error":null,"unAuthorizedRequest":false,"__abp":true}'
        return Response(wrapped % (body or b"null"), response.status_code, headers, JSON_CONTENT_TYPE)
    try:
        said: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        said = {"Message": body.decode("utf-8", "replace")}
    said = said if isinstance(said, dict) else {}
    inner = said.get("error") if isinstance(said.get("error"), dict) else {}
    message = said.get("Message") or said.get("title") or inner.get("message") or said.get("detail")
    details = said.get("MessageDetail") or (said.get("detail") if "title" in said else None) or inner.get("details")
    invalid = said.get("ModelState") or said.get("errors")
    validation = (
        [{"message": m, "members": [field]} for field, messages in invalid.items() for m in messages]
        if isinstance(invalid, dict)
        else inner.get("validationErrors")
    )
    error = {"code": 0, "message": message, "details": details, "validationErrors": validation or None}
    refused = response.status_code in (401, 403)
    answer = {
        "result": None,
        "targetUrl": None,
        "success": False,
        "error": error,
        "unAuthorizedRequest": refused,
        "__abp": True,
    }
    return Response(orjson.dumps(answer), response.status_code, headers, JSON_CONTENT_TYPE)
