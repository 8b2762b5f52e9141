"""Secrets kept in the shared state are sealed: Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`) under `server.token_store_keys`, the first sealing and all opening (rotation:
put the new key first). A Redis that leaks its keys leaks no vendor token."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Seal:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("sealing needs at least one key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def open(self, sealed: bytes) -> bytes | None:
        """The plain value, or None if no key opens it (sealed under a key since dropped)."""
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            return None
