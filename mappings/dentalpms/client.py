"""The Dental PMS HTTP client: the only code that knows its URLs, headers and error bodies.

Auth is a static API token sent as `Authorization: Bearer`; every path is under
`/{org_id}`. Errors are documented FastAPI-shaped: `{"detail": "text"}` or, for
validation, `{"detail": [{"type", "loc", "msg", "input"}]}`. Implementations differ
(where the docs are silent): a 422 whose `detail` is a text, `{"error": "text"}` or
`{"error": {"message", ...}}`, `{"message": "text"}`, Spring Boot's binding errors
`{"errors": [{"field", "defaultMessage", "rejectedValue"}]}`, Laravel's `{"message": "text",
"errors": {field: [text, ...]}}`, ASP.NET Core's problem details `{"type", "title",
"status", "detail"}` (RFC 9457), whose validation failure has no `detail`, only the `title`
"One or more validation errors occurred." and `"errors": {key: [text, ...]}`, each key a
property (`Email`) or the JSON path of a value the reader could not take (`$.email`); all
are read. Only `loc` and
`msg` (`field` and `defaultMessage` or `message`), or the text, are passed on: `input` and
`rejectedValue` echo what we sent, which can be PHI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.contract import AdapterConfig
from gateway.upstream.errors import json_or_error
from gateway.upstream.http import UpstreamClient, UpstreamResponse
from mappings.dentalpms.options import DentalPmsOptions

Params = Mapping[str, str | int]
_LOC_PREFIXES = ("query", "body", "path")


class DentalPmsClient:
    def __init__(self, config: AdapterConfig[DentalPmsOptions]) -> None:
        self._org = config.options.org_id
        token = config.secrets["api_token"]  # required by the vendor's declaration, checked with the config
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._http = UpstreamClient.from_config(config)

    async def get(self, path: str, params: Params | None = None) -> Any:
        response = await self._http.request("GET", f"/{self._org}{path}", params=params, headers=self._headers)
        return json_or_error(response, message_of)

    async def send(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> UpstreamResponse:
        """A write; the answer whatever its status (the adapter reads 409/422 itself)."""
        return await self._http.request(
            method, f"/{self._org}{path}", json=body, headers={**self._headers, **(headers or {})}
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def message_of(body: Any) -> str:
    """A PHI-free message out of any error body shape (see the module docstring)."""
    if not isinstance(body, dict):
        return ""
    nest = _nestjs_messages(body)
    if nest:
        return "; ".join(nest)
    for key in ("detail", "error", "message", "errors", "title"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if key == "errors" and isinstance(value, dict) and value:  # by field: Laravel, ASP.NET Core
            return "; ".join(f"{_field(field)}: {_first_text(texts)}" for field, texts in value.items())
        if isinstance(value, dict) and (text := message_of(value)):
            return text
        if isinstance(value, list) and value:
            return "; ".join(f"{loc}: {msg}" if loc else msg for loc, msg in _items(value))
    return ""


def fields_of(body: Any) -> list[str]:
    """The body fields a validation error names (`loc` without its `body`/`query` head)."""
    if not isinstance(body, dict):
        return []
    nest = _nestjs_messages(body)
    if nest:  # class-validator's messages start with the property path: `email must be an email`
        return [field for message in nest if (field := _field(message.split(" ", 1)[0]))]
    for key in ("detail", "errors"):  # a ProblemDetail's `detail` is a text, its field errors beside it
        listed = body.get(key)
        if isinstance(listed, list):
            return [loc for loc, _ in _items(listed) if loc]
        if key == "errors" and isinstance(listed, dict):  # Laravel, ASP.NET Core: {"errors": {field: [text]}}
            return [name for field in listed if (name := _field(field))]
    return []


def _nestjs_messages(body: dict[str, Any]) -> list[str]:
    """The messages of NestJS's `HttpException` body, `{"statusCode", "message", "error"}`, whose
    `error` is only the status's reason phrase ("Conflict"): `message` one text, or ValidationPipe's
    list of class-validator's. None for any other body."""
    if "statusCode" not in body:
        return []
    message = body.get("message")
    if isinstance(message, str):
        return [message] if message else []
    return [m for m in message if isinstance(m, str) and m] if isinstance(message, list) else []


def _field(key: Any) -> str:
    """A field as an error body keys it, without the JSON path's root: System.Text.Json names a
    value it could not read `$.first_name` (`$.address.city`)."""
    text = str(key)
    return text[2:] if text.startswith("$.") else text.lstrip("$")


def _first_text(texts: Any) -> str:
    if isinstance(texts, list) and texts and isinstance(texts[0], str):
        return texts[0]
    return texts if isinstance(texts, str) else "invalid"


def _items(errors: list[Any]) -> list[tuple[str, str]]:
    out = []
    for item in errors:
        if isinstance(item, dict):
            loc = item.get("loc")
            parts = [str(x) for x in loc if x not in _LOC_PREFIXES] if isinstance(loc, list) else []
            if not parts and isinstance(item.get("field"), str):  # Spring's FieldError
                parts = [item["field"]]
            msg = next((item[k] for k in ("msg", "defaultMessage", "message") if isinstance(item.get(k), str)), None)
            out.append((".".join(parts), msg or "invalid"))
        elif isinstance(item, str):
            out.append(("", item))
    return out
