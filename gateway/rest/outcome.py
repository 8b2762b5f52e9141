"""OperationOutcome rendering: the one place errors become HTTP responses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway import jsonio
from gateway.errors import FHIRError
from gateway.logs import redact
from gateway.rest.negotiation import FHIR_JSON

log = logging.getLogger("gateway.errors")

_HTTP_CODES = {404: "not-found", 405: "not-supported", 400: "invalid"}


def operation_outcome(
    severity: str,
    code: str,
    diagnostics: str,
    expression: str | None = None,
    more: list[tuple[str, str | None]] | None = None,
) -> dict[str, Any]:
    issues = []
    for text, where in [(diagnostics, expression), *(more or [])]:
        issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": text}
        if where:
            issue["expression"] = [where]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def outcome_response(status: int, outcome: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        jsonio.dumps(outcome),
        status_code=status,
        media_type=f"{FHIR_JSON}; charset=utf-8",
        headers=headers,
    )


async def fhir_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FHIRError)
    body = operation_outcome(exc.severity, exc.code, exc.diagnostics, exc.expression, exc.issues)
    return outcome_response(exc.status, body, exc.headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "processing")
    detail = exc.detail if exc.status_code != 404 else f"No such endpoint: {request.url.path}"
    return outcome_response(exc.status_code, operation_outcome("error", code, str(detail)), exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    # The traceback goes to the operator's log (no request data in it); the client gets
    # a plain OperationOutcome, never a stack trace.
    log.exception("unhandled error on %s %s", request.method, redact(request.url.path))
    body = operation_outcome("fatal", "exception", "Internal error; the operator's log has details")
    return outcome_response(500, body)
