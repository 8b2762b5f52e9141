"""How this simulator spells its answers: the switches for the shapes the docs leave open.

The API reference types fields (``string (date-time)``, ``boolean``, ``integer``) and shows
FastAPI error bodies, but not their spelling on the wire. Independent implementations
differ; ``create_app`` takes one keyword per point (the first value is the documented
simulator's), applied to every JSON answer by ``ShapedApp``:

- ``timestamps``: ``"z"`` (``2024-05-01T14:00:00Z``), ``"offset"`` (``+00:00``) or
  ``"naive"`` (no zone at all: a UTC wall-clock time).
- ``dates``: ``"date"`` (``YYYY-MM-DD``) or ``"datetime"`` (fields documented as dates
  served as midnight date-times, ``1980-05-02T00:00:00`` plus the ``timestamps`` zone).
- ``scalars``: ``"json"``, ``"strings"`` (booleans ``"true"``/``"false"``, integers as
  decimal text: ``"version": "3"``, ``"total": "12"``) or ``"digits"`` (booleans
  ``"1"``/``"0"``, integers as text).
- ``nulls``: ``"null"`` (every field present, null when empty) or ``"absent"`` (null
  fields left out, in records and envelopes alike).
- ``page_info``: ``"full"`` (``end_cursor`` and ``has_next_page`` always) or ``"sparse"``
  (``has_next_page`` only when true, ``end_cursor`` only when there is a next page).
- ``error_bodies``: ``"fastapi"`` (``{"detail": "text"}``, 422 ``{"detail": [...]}``),
  ``"detail_text"`` (422 too as one text, ``"first_name: Field required"``) or
  ``"error_object"`` (``{"error": {"code": <status>, "message": "text"}}``).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DOCUMENTED_SHAPES", "ShapedApp", "Shapes"]

Timestamps = Literal["z", "offset", "naive"]
Dates = Literal["date", "datetime"]
Scalars = Literal["json", "strings", "digits"]
Nulls = Literal["null", "absent"]
PageInfo = Literal["full", "sparse"]
ErrorBodies = Literal["fastapi", "detail_text", "error_object"]

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


@dataclass(frozen=True)
class Shapes:
    timestamps: Timestamps = "z"
    dates: Dates = "date"
    scalars: Scalars = "json"
    nulls: Nulls = "null"
    page_info: PageInfo = "full"
    error_bodies: ErrorBodies = "fastapi"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("timestamps", ("z", "offset", "naive")),
            ("dates", ("date", "datetime")),
            ("scalars", ("json", "strings", "digits")),
            ("nulls", ("null", "absent")),
            ("page_info", ("full", "sparse")),
            ("error_bodies", ("fastapi", "detail_text", "error_object")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")

    @property
    def documented(self) -> bool:
        return self == DOCUMENTED_SHAPES

    def reshape(self, body: Any, status: int) -> Any:
        """`body`, a JSON answer of `status`, spelled as these switches say."""
        if status >= 400:
            return self._error(body, status)
        return self._value(body)

    def _error(self, body: Any, status: int) -> Any:
        detail = body.get("detail") if isinstance(body, dict) else None
        if self.error_bodies == "fastapi" or detail is None:
            return body
        if isinstance(detail, list):
            text = "; ".join(
                ".".join(str(part) for part in item.get("loc", []) if part not in ("body", "query", "path"))
                + f": {item.get('msg')}"
                for item in detail
                if isinstance(item, dict)
            )
        else:
            text = str(detail)
        if self.error_bodies == "detail_text":
            return {"detail": text}
        return {"error": {"code": status, "message": text}}

    def _value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self._object(value)
        if isinstance(value, list):
            return [self._value(item) for item in value]
        if isinstance(value, bool):
            if self.scalars == "json":
                return value
            return ("true" if value else "false") if self.scalars == "strings" else ("1" if value else "0")
        if isinstance(value, int) and self.scalars != "json":
            return str(value)
        if isinstance(value, str):
            return self._text(value)
        return value

    def _text(self, text: str) -> str:
        if _TIMESTAMP.fullmatch(text):
            return self._zone(text)
        if self.dates == "datetime" and _DATE.fullmatch(text):
            return self._zone(f"{text}T00:00:00Z")
        return text

    def _zone(self, stamp: str) -> str:
        if self.timestamps == "offset":
            return stamp[:-1] + "+00:00"
        if self.timestamps == "naive":
            return stamp[:-1]
        return stamp

    def _object(self, value: dict[str, Any]) -> dict[str, Any]:
        sparse = self.page_info == "sparse" and "end_cursor" in value
        if sparse and "has_next_page" in value and not value["has_next_page"]:
            value = {k: v for k, v in value.items() if k not in ("has_next_page", "end_cursor")}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None and self.nulls == "absent":
                continue
            out[key] = self._value(item)
        return out


DOCUMENTED_SHAPES = Shapes()


class ShapedApp:
    """ASGI wrapper: every JSON answer of `app` re-spelled by `shapes` (nothing when documented)."""

    def __init__(self, app: ASGIApp, shapes: Shapes) -> None:
        self.app = app
        self.shapes = shapes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.shapes.documented:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def reshaped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            with contextlib.suppress(orjson.JSONDecodeError):  # not JSON: sent as it is
                body = orjson.dumps(self.shapes.reshape(orjson.loads(body), start["status"]))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reshaped)
