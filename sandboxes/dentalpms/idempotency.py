"""``Idempotency-Key`` on ``POST /patients``: replay a stored 201, refuse a different body.

The API reference lists "409: Idempotency conflict (duplicate Idempotency-Key)" for the
create. The sandbox stores only successful creates: the same key with the same JSON body
(key order and whitespace ignored) gets the stored response again; the same key with
another body is 409 ``Idempotency conflict``. Keys are kept for the app's lifetime.
"""

from __future__ import annotations

import hashlib
import json

import orjson

from sandboxes.toolkit.errors import ApiError

__all__ = ["IdempotencyLog", "fingerprint"]


def fingerprint(body: bytes) -> str:
    """A hash of `body` as canonical JSON (sorted keys), or of its raw bytes when not JSON."""
    try:
        canonical = orjson.dumps(json.loads(body), option=orjson.OPT_SORT_KEYS)
    except (ValueError, TypeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class IdempotencyLog:
    """The responses of successful creates, by ``Idempotency-Key``."""

    def __init__(self) -> None:
        self._responses: dict[str, tuple[str, bytes]] = {}

    def replay(self, key: str | None, body_fingerprint: str) -> bytes | None:
        """The stored response for `key`, None when there is none; 409 for another body."""
        if key is None or key not in self._responses:
            return None
        seen, response = self._responses[key]
        if seen != body_fingerprint:
            raise ApiError(409, "Idempotency conflict")
        return response

    def remember(self, key: str | None, body_fingerprint: str, response: bytes) -> None:
        """Store the response of a successful create (nothing without a key)."""
        if key is not None:
            self._responses[key] = (body_fingerprint, response)
