"""NexHealth's response envelope (vendor-docs/nexhealth-getting-started.txt), success and error.

Success: ``{"code": true, "description": ..., "error": [], "data": ...}`` plus ``"count"`` on
lists only; errors: ``{"code": false, "description": null, "error": [...], "data": null}``.
Both are sent as ``application/json`` (what Rails' ``render json:`` sends), whatever the
``Accept`` header asked for.
"""

from __future__ import annotations

import orjson
from starlette.responses import Response

__all__ = ["CONTENT_TYPE", "envelope", "error_envelope"]

CONTENT_TYPE = "application/json; charset=utf-8"


def envelope(status: int, data: bytes, description: bytes, count: int | None = None) -> Response:
    """A success envelope around already-serialized `data` and `description`."""
    tail = b"}" if count is None else b',"count":' + str(count).encode() + b"}"
    body = b'{"code":true,"description":' + description + b',"error":[],"data":' + data + tail
    return Response(body, status_code=status, media_type=CONTENT_TYPE)


def error_envelope(status: int, messages: list[str]) -> Response:
    body = orjson.dumps({"code": False, "description": None, "error": messages, "data": None})
    return Response(body, status_code=status, media_type=CONTENT_TYPE)
