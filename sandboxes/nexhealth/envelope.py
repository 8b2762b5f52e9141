"""NexHealth's response envelope (vendor-docs/nexhealth-getting-started.txt), success and error.

Success: ``{"code": true, "description": ..., "error": [], "data": ...}`` plus ``"count"`` on
lists only; errors: ``{"code": false, "description": null, "error": [...], "data": null}``
(``error_body`` of ``readings.Reading``: the messages may instead be one string, or only the
``description``, or a bare ``{"detail": "..."}`` without the envelope, or Django REST
Framework's bare answers: a validation error's ``{"<field>": ["..."]}`` by field, other errors'
``{"detail": "..."}``; or FastAPI's 422 for a refused body, ``{"detail": [{"type", "loc",
"msg", "input"}]}``; or no JSON at all, the messages as ``text/html``, as Express sends a string).
Both are sent as ``application/json`` (what Rails' ``render json:`` sends), whatever the
``Accept`` header asked for.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

from sandboxes.nexhealth.readings import ErrorBody

__all__ = ["CONTENT_TYPE", "envelope", "error_envelope"]

CONTENT_TYPE = "application/json; charset=utf-8"


def envelope(status: int, data: bytes, description: bytes, count: int | bytes | None = None) -> Response:
    """A success envelope around already-serialized `data` and `description` (and `count`)."""
    written = str(count).encode() if isinstance(count, int) else count
    tail = b"}" if written is None else b',"count":' + written + b"}"
    body = b'{"code":true,"description":' + description + b',"error":[],"data":' + data + tail
    return Response(body, status_code=status, media_type=CONTENT_TYPE)


# A message about one field: its path in the body (``patient.bio.date_of_birth``), then the rest.
_FIELD_MESSAGE = re.compile(r"(?P<path>[a-z_]+(?:\.[a-z_]+)*) (?P<rest>.+)")
# The simulator's words, as Django REST Framework's fields say them.
_DRF_WORDS = (
    (re.compile(r"is required"), "This field is required."),
    (re.compile(r"must not be blank"), "This field may not be blank."),
    (re.compile(r"must be less than or equal to (\d+)"), r"Ensure this value is less than or equal to \1."),
)


def drf_field_errors(messages: list[str]) -> dict[str, Any]:
    """A DRF ``ValidationError``'s body: each field's messages under its path, nested as a
    nested serializer's are (``{"patient": {"bio": {"date_of_birth": ["This field is
    required."]}}}``); messages about no field under ``non_field_errors``."""
    body: dict[str, Any] = {}
    for message in messages:
        about = _FIELD_MESSAGE.fullmatch(message)
        if about is None:
            body.setdefault("non_field_errors", []).append(message)
            continue
        rest = about["rest"]
        for words, drf in _DRF_WORDS:
            if words.fullmatch(rest):
                rest = words.sub(drf, rest)
                break
        else:
            rest = rest[0].upper() + rest[1:] + "."
        *parents, name = about["path"].split(".")
        at = body
        for parent in parents:
            at = at.setdefault(parent, {})
        at.setdefault(name, []).append(rest)
    return body


# The simulator's words, as Pydantic v2 says them: (error type, message).
_PYDANTIC_WORDS = (
    (re.compile(r"is required"), "missing", "Field required"),
    (re.compile(r"must not be blank"), "string_too_short", "String should have at least 1 character"),
    (re.compile(r"is not permitted"), "extra_forbidden", "Extra inputs are not permitted"),
)
_ONE_OF = re.compile(r"must be one of (?P<values>.+)")


def _pydantic_words(rest: str) -> tuple[str, str, dict[str, Any] | None]:
    """A message's words after its path, as Pydantic's error type, message and context."""
    for words, kind, said in _PYDANTIC_WORDS:
        if words.fullmatch(rest):
            return kind, said, None
    one_of = _ONE_OF.fullmatch(rest)
    if one_of is not None:  # an Enum's (or a Literal's) values, quoted, the last after "or"
        quoted = [f"'{value}'" for value in one_of["values"].split(", ")]
        expected = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        return "enum", f"Input should be {expected}", {"expected": expected}
    return "value_error", f"Value error, {rest}", {"error": {}}


def _at(body: Any, path: list[str]) -> Any:
    for key in path:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def fastapi_errors(messages: list[str], body: Any) -> list[dict[str, Any]]:
    """FastAPI's ``RequestValidationError`` items for a refused body's messages: each with its
    Pydantic ``type``, its ``loc`` in the body, ``msg`` and the ``input`` it refused (for a
    missing field, the object that lacks it), as its default handler answers them (422)."""
    errors: list[dict[str, Any]] = []
    for message in messages:
        about = _FIELD_MESSAGE.fullmatch(message)
        path = about["path"].split(".") if about is not None else []
        kind, said, context = _pydantic_words(about["rest"] if about is not None else message)
        given = _at(body, path[:-1] if kind == "missing" else path)
        error: dict[str, Any] = {"type": kind, "loc": ["body", *path], "msg": said, "input": given}
        if context is not None:
            error["ctx"] = context
        errors.append(error)
    return errors


def error_envelope(status: int, messages: list[str], style: ErrorBody = "list", body: Any = None) -> Response:
    """An error answer in the ``error_body`` reading `style`; `body`, a refused create or edit
    body as sent (parsed), is what FastAPI's 422 (``"pydantic"``) echoes as each error's input."""
    if style == "text":  # no JSON: Express's `res.status(status).send(message)`, text/html
        return Response("; ".join(messages), status_code=status, media_type="text/html")
    if style == "pydantic" and status == 422:  # no envelope: FastAPI's RequestValidationError
        detail = {"detail": fastapi_errors(messages, body)}
        return Response(orjson.dumps(detail), status_code=status, media_type=CONTENT_TYPE)
    if style == "fields" and status == 400:  # no envelope: DRF's ValidationError
        return Response(orjson.dumps(drf_field_errors(messages)), status_code=status, media_type=CONTENT_TYPE)
    if style == "nestjs":  # no envelope: NestJS's HttpException (and ValidationPipe's 400)
        reason = HTTPStatus(status).phrase
        nest = {"statusCode": status, "message": messages if status == 400 else "; ".join(messages), "error": reason}
        return Response(orjson.dumps(nest), status_code=status, media_type=CONTENT_TYPE)
    if style in ("detail", "fields", "pydantic"):  # no envelope: FastAPI's HTTPException, DRF's APIException
        return Response(orjson.dumps({"detail": "; ".join(messages)}), status_code=status, media_type=CONTENT_TYPE)
    if style == "string":
        fields: dict[str, object] = {"description": None, "error": "; ".join(messages)}
    elif style == "description":
        fields = {"description": "; ".join(messages), "error": None}
    elif style == "object":
        fields = {"description": None, "error": {"base": messages}}
    else:
        fields = {"description": None, "error": messages}
    body = orjson.dumps({"code": False, **fields, "data": None})
    return Response(body, status_code=status, media_type=CONTENT_TYPE)
