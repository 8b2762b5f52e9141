"""Headers of an ASGI `http.response.start` message, read and set in place.

The middlewares that stamp every answer (request id, Cache-Control, CORS) run on every
request; Starlette's `MutableHeaders` wraps the list and decodes as it searches, which costs
more than the few raw comparisons needed here. Names are given lower-case, as bytes.
"""

from __future__ import annotations

from starlette.types import Message


def has_header(message: Message, name: bytes) -> bool:
    return any(key.lower() == name for key, _ in message.get("headers", ()))


def set_header(message: Message, name: bytes, value: bytes) -> None:
    """`name: value`, replacing any value the message already has for `name`."""
    headers = [(key, old) for key, old in message.get("headers", ()) if key.lower() != name]
    headers.append((name, value))
    message["headers"] = headers


def set_headers(message: Message, *pairs: tuple[bytes, bytes]) -> None:
    """Each `name: value` of `pairs`, replacing any value the message already has for it."""
    names = {name for name, _ in pairs}
    headers = [(key, old) for key, old in message.get("headers", ()) if key.lower() not in names]
    headers += pairs
    message["headers"] = headers


def add_header(message: Message, name: bytes, value: bytes) -> None:
    """`name: value` appended (the caller knows the message has none)."""
    headers = list(message.get("headers", ()))
    headers.append((name, value))
    message["headers"] = headers
