"""Secrets kept in the shared state are sealed: Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`) under `server.token_store_keys`, the first sealing and all opening (rotation:
put the new key first). A Redis that leaks its keys leaks no vendor token.

A value is sealed for the key it is stored under (the SHA-256 of that key sealed with it), and
opens only there: Fernet alone does not say where a value belongs, so whoever could write to
Redis without a sealing key could otherwise move one tenant's token, or one patient's cached
record, under another's key and have it used there.

A key may hold what a value is about (a record's id): `blind` names it by a keyed hash
instead, so that the key names in Redis (its `SCAN`, `MONITOR`, a backup) say nothing of it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Seal:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("sealing needs at least one key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        # Fernet's key is two 128-bit halves (signing, encryption): the names get a key of their own.
        first = base64.urlsafe_b64decode(keys[0].encode())
        self._naming = hashlib.sha256(b"fhir-gateway.key-name\x00" + first).digest()

    def seal(self, plain: bytes, where: str) -> bytes:
        """`plain` sealed for the key `where` it will be stored under."""
        return self._fernet.encrypt(_place(where) + plain)

    def blind(self, name: str) -> str:
        """`name` as a keyed hash (HMAC-SHA256 under the first key, 128 bits in hex): the same
        in every worker and replica, unguessable from the ids it hides without the key."""
        return hmac.new(self._naming, name.encode(), hashlib.sha256).hexdigest()[:32]

    def open(self, sealed: bytes, where: str) -> bytes | None:
        """The plain value, or None if no key opens it (sealed under a key since dropped) or it
        was not sealed for `where`."""
        try:
            opened = self._fernet.decrypt(sealed)
        except InvalidToken:
            return None
        place = _place(where)
        return opened[len(place) :] if opened.startswith(place) else None


def _place(where: str) -> bytes:
    return hashlib.sha256(where.encode()).digest()
