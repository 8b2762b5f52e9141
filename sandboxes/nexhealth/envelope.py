"""NexHealth's response envelope (vendor-docs/nexhealth-getting-started.txt), success and error.

Success: ``{"code": true, "description": ..., "error": [], "data": ...}`` plus ``"count"`` on
lists only; errors: ``{"code": false, "description": null, "error": [...], "data": null}``
(``error_body`` of ``readings.Reading``: the messages may instead be one string, or only the
``description``, or a bare ``{"detail": "..."}`` without the envelope, or Django REST
Framework's bare answers: a validation error's ``{"<field>": ["..."]}`` by field, other errors'
``{"detail": "..."}``).
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


def error_envelope(status: int, messages: list[str], style: ErrorBody = "list") -> Response:
    if style == "fields" and status == 400:  # no envelope: DRF's ValidationError
        return Response(orjson.dumps(drf_field_errors(messages)), status_code=status, media_type=CONTENT_TYPE)
    if style == "nestjs":  # no envelope: NestJS's HttpException (and ValidationPipe's 400)
        reason = HTTPStatus(status).phrase
        nest = {"statusCode": status, "message": messages if status == 400 else "; ".join(messages), "error": reason}
        return Response(orjson.dumps(nest), status_code=status, media_type=CONTENT_TYPE)
    if style in ("detail", "fields"):  # no envelope: FastAPI's HTTPException, DRF's APIException
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
