"""Sanctum personal access tokens: issue, find, revoke.

The plain-text token is Sanctum's ``<id>|<40 random alphanumerics>``; ids count up from
1, and only the SHA-256 of the secret is kept. A bare secret without ``<id>|`` is found
too, as Sanctum's ``PersonalAccessToken::findToken`` does. Sanctum 4's optional prefix
and CRC32 suffix are not used. Tokens never expire unless given a `lifetime` (seconds on
`clock`): Sanctum's ``expiration`` setting, or a JWT's ``exp``; an expired token is not found.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import datetime, timedelta

from sandboxes.toolkit.clock import Clock, wall_clock
from sandboxes.toolkit.integers import ascii_int

__all__ = ["PersonalAccessTokens"]

_TOKEN_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 40


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class PersonalAccessTokens:
    """The live tokens of the API user."""

    def __init__(self, clock: Clock = wall_clock, lifetime: int | None = None) -> None:
        self._digests: dict[int, bytes] = {}  # token id -> sha256(secret)
        self._ids: dict[bytes, int] = {}
        self._issued: dict[int, datetime] = {}  # token id -> when it was issued
        self._next_id = 1
        self._clock = clock
        self._lifetime = None if lifetime is None else timedelta(seconds=lifetime)

    def issue(self) -> str:
        """A new token, in its plain-text form."""
        secret = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_SECRET_LENGTH))
        token_id = self._next_id
        self._next_id += 1
        digest = _digest(secret)
        self._digests[token_id] = digest
        self._ids[digest] = token_id
        self._issued[token_id] = self._clock()
        return f"{token_id}|{secret}"

    def find(self, plain: str) -> int | None:
        """The id of the live token `plain` (Sanctum's ``PersonalAccessToken::findToken``), if it
        has not expired (Sanctum's guard checks ``created_at`` against its ``expiration``)."""
        if "|" in plain:
            raw_id, _, secret = plain.partition("|")
            token_id = ascii_int(raw_id)
            if token_id is None:
                return None
            digest = self._digests.get(token_id)
            found = token_id if digest is not None and hmac.compare_digest(digest, _digest(secret)) else None
        else:
            found = self._ids.get(_digest(plain))
        return found if found is not None and self._live(found) else None

    def _live(self, token_id: int) -> bool:
        return self._lifetime is None or self._clock() < self._issued[token_id] + self._lifetime

    def revoke(self, token_id: int) -> None:
        """Delete token `token_id` (logout)."""
        digest = self._digests.pop(token_id, None)
        if digest is not None:
            self._ids.pop(digest, None)
        self._issued.pop(token_id, None)

    def revoke_all(self) -> None:
        """Delete every token (a test hook: the next request is a 401)."""
        self._digests.clear()
        self._ids.clear()
        self._issued.clear()
