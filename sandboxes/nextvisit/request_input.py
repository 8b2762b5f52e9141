"""Request input read the Laravel way: ``$request->all()`` and the query alone.

The query string is merged under the body. The body counts only when ``Content-Type``
contains ``/json`` or ``+json`` (malformed JSON, or JSON that is not an object, is an
empty body) or is form-urlencoded (read with PHP's ``parse_str``); anything else is no
body. Then Laravel's ``TrimStrings`` and ``ConvertEmptyStringsToNull`` middleware run:
strings are trimmed (passwords are not) and empty strings become null, recursively.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from sandboxes.nextvisit.php_query import php_parse
from sandboxes.toolkit.aliases import JsonObject

__all__ = ["request_input", "request_query", "sent_json"]

#: ``TrimStrings::$except`` in a Laravel skeleton.
_NOT_TRIMMED = frozenset({"password", "password_confirmation", "current_password"})


def _clean(value: Any, key: str = "") -> Any:
    """Laravel's TrimStrings + ConvertEmptyStringsToNull, recursively."""
    if isinstance(value, str):
        if key not in _NOT_TRIMMED:
            value = value.strip()
        return value or None
    if isinstance(value, dict):
        return {key: _clean(item, str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


async def request_input(request: Request) -> JsonObject:
    """``$request->all()``: the query string merged under the body, cleaned."""
    data = php_parse(request.url.query)
    content_type = request.headers.get("content-type", "").lower()
    body = await request.body()
    if "/json" in content_type or "+json" in content_type:
        try:
            parsed = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            parsed = {}
        if isinstance(parsed, dict):
            data.update(parsed)
    elif "application/x-www-form-urlencoded" in content_type:
        data.update(php_parse(body.decode("utf-8", "replace")))
    cleaned: JsonObject = _clean(data)
    return cleaned


def request_query(request: Request) -> JsonObject:
    """The query string alone, parsed and cleaned."""
    cleaned: JsonObject = _clean(php_parse(request.url.query))
    return cleaned


async def sent_json(request: Request) -> JsonObject:
    """The JSON object body as sent, before any middleware (an app on another stack has none of
    Laravel's); empty when the body is not a JSON object."""
    try:
        parsed = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
