"""The Dental PMS error bodies: FastAPI's ``{"detail": ...}``.

A refused request answers ``{"detail": "<message>"}``; a validation failure (422) answers
``{"detail": [<error>, ...]}`` with every error at once, each in pydantic v2's wording as
FastAPI reports it (``type``, ``loc`` starting with ``query``/``path``/``body``, ``msg``,
``input``, and ``ctx`` when pydantic gives one). Routing failures are FastAPI's too:
``{"detail": "Not Found"}`` (404) and ``{"detail": "Method Not Allowed"}`` (405).

``ValidationStatus``: what the reference documents as a 422 (a validation error, and the
refusals it lists as 422: an invalid transition, "already archived") is answered 422, or 400
(``validation_status=400``), the status Spring Boot (``MethodArgumentNotValidException``),
ASP.NET Core (``[ApiController]``'s ``ValidationProblemDetails``), Django REST Framework
(``ValidationError``) and NestJS (``ValidationPipe``) give a request they refuse as invalid.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.dentalpms.responses import json_response
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError

__all__ = ["ValidationStatus", "render_api_error", "render_http_error", "validation_errors"]

ValidationStatus = Literal[422, 400]


def validation_errors(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[JsonObject]:
    """`exc`'s errors as FastAPI lists them, each ``loc`` under `prefix` (``("query", "page")``)."""
    out: list[JsonObject] = []
    for err in exc.errors(include_url=False):
        item: JsonObject = {
            "type": err["type"],
            "loc": [*prefix, *err["loc"]],
            "msg": err["msg"],
            "input": err["input"],
        }
        if "ctx" in err:
            item["ctx"] = {
                key: value if isinstance(value, int | float | str) else str(value) for key, value in err["ctx"].items()
            }
        out.append(item)
    return out


def render_api_error(error: ApiError, validation_status: ValidationStatus = 422) -> Response:
    """``{"detail": ...}`` with the error's status (a 422 as `validation_status`)."""
    return json_response(validation_status if error.status == 422 else error.status, {"detail": error.detail})


def render_http_error(request: Request, exc: HTTPException) -> Response:
    """FastAPI's answer to an unknown path or a wrong method (no auth check first)."""
    return json_response(exc.status_code, {"detail": exc.detail}, dict(exc.headers or {}))
