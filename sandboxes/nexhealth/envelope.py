"""NexHealth's response envelope (vendor-docs/nexhealth-getting-started.txt), success and error.

Success: ``{"code": true, "description": ..., "error": [], "data": ...}`` plus ``"count"`` on
lists only; errors: ``{"code": false, "description": null, "error": [...], "data": null}``
(``error_body`` of ``readings.Reading``: the messages may instead be one string, or only the
``description``, or a bare ``{"detail": "..."}`` without the envelope).
Both are sent as ``application/json`` (what Rails' ``render json:`` sends), whatever the
``Accept`` header asked for.
"""

from __future__ import annotations

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


def error_envelope(status: int, messages: list[str], style: ErrorBody = "list") -> Response:
    if style == "detail":  # no envelope: FastAPI's HTTPException, DRF's APIException
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
