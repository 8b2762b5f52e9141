"""JSON responses as the Dental PMS (FastAPI) sends them: ``application/json``, compact."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["json_response", "raw_json"]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """`body` encoded as JSON (anything JSON cannot hold as its ``str``)."""
    content = orjson.dumps(body, default=str)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def raw_json(content: bytes, status: int = 200) -> Response:
    """Already encoded JSON `content`."""
    return Response(content, status_code=status, media_type="application/json")
