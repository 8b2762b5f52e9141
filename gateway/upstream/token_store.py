"""Where a tenant's OAuth refresh token lives between restarts: one file per tenant, 0600,
encrypted.

The token is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under the
first of the configured keys; any of them decrypts, so a key is rotated by putting the new key
first: every renewal rewrites the file under it (refresh tokens rotate on each use), after
which the old key can go. A file or directory that group or others can read is refused, not
silently repaired: something else on the machine changed it, and the operator should know.

Writes are atomic: the new token goes to a temporary file in the same directory (created
0600, flushed and fsynced), which then replaces the old file with os.replace; the directory
is fsynced too. A crash at any moment leaves either the old file or the new one, never a
torn or empty one.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gateway.errors import UpstreamSecurity


class TokenStoreError(UpstreamSecurity):
    """The stored grant cannot be read: an operator problem, reported as one."""


@dataclass(frozen=True)
class Grant:
    refresh_token: str
    obtained_at: float  # epoch seconds
    # Which of two copies of a grant is the later one, without comparing two hosts' clocks:
    # when `connect` began this line of grants (epoch seconds; 0 for one stored before this
    # was kept), and how many renewals have rotated it since.
    connected_at: float = 0.0
    rotations: int = 0
    # False for a copy written without the two above (by the previous version, whose workers
    # still renew during a rolling upgrade): its rank says nothing.
    ranked: bool = field(default=True, compare=False)

    @property
    def rank(self) -> tuple[float, int]:
        """Higher for a later grant: a reconnect starts a new line above every earlier one."""
        return self.connected_at, self.rotations

    def later_than(self, other: Grant) -> bool:
        """Whether this copy of the grant is the later one: by rank; beside a copy without one,
        which may be a rotation of this very grant by a worker of the previous version, by when
        each was obtained (the only order the two have in common)."""
        if other.ranked:
            return self.rank > other.rank
        return self.ranked and self.obtained_at > other.obtained_at

    def rotated(self, refresh_token: str, now: float) -> Grant:
        """The grant a renewal's rotated refresh token makes: the next of this line."""
        return Grant(refresh_token, now, self.connected_at, self.rotations + 1)

    def fields(self) -> dict[str, str | float | int]:
        return {
            "refresh_token": self.refresh_token,
            "obtained_at": self.obtained_at,
            "connected_at": self.connected_at,
            "rotations": self.rotations,
        }

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Grant:
        """What `fields` wrote (a grant stored before `connected_at` and `rotations` were kept is not `ranked`)."""
        return cls(
            str(stored["refresh_token"]),
            float(stored["obtained_at"]),
            float(stored.get("connected_at", 0.0)),
            int(stored.get("rotations", 0)),
            ranked="rotations" in stored and "connected_at" in stored,
        )


class TokenStore:
    def __init__(self, directory: str | Path, keys: Sequence[str] = ()) -> None:
        """`keys`: Fernet keys (`Fernet.generate_key()`), the first encrypting. Without keys the
        file holds the token in clear (tests and the demo's throw-away sandbox grants only:
        the gateway refuses to start a real OAuth tenant without a key)."""
        self.directory = Path(directory).expanduser()
        try:
            self._cipher = MultiFernet([Fernet(k.encode()) for k in keys]) if keys else None
        except ValueError:
            raise TokenStoreError(
                "server.token_store_keys: a key is not a Fernet key (32 url-safe base64 bytes)"
            ) from None

    def _path(self, tenant: str) -> Path:
        return self.directory / f"{tenant}.json"

    def load(self, tenant: str) -> Grant | None:
        path = self._path(tenant)
        try:
            _private(path)
            _private(self.directory)
            data = json.loads(path.read_text())
            if "ciphertext" in data:
                data = json.loads(self._decrypt(str(data["ciphertext"]), path))
            return Grant.of(data)
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise TokenStoreError(f"the token file {path} is unreadable; reconnect the tenant") from None

    def _decrypt(self, ciphertext: str, path: Path) -> str:
        if self._cipher is None:
            raise TokenStoreError(f"the token file {path} is encrypted and no server.token_store_keys are set")
        try:
            return self._cipher.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise TokenStoreError(
                f"the token file {path} was encrypted with a key not in server.token_store_keys"
            ) from None

    def modified(self, tenant: str) -> float | None:
        try:
            return self._path(tenant).stat().st_mtime
        except FileNotFoundError:
            return None

    def save(self, tenant: str, grant: Grant) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _private(self.directory)
        payload = json.dumps(grant.fields())
        if self._cipher is not None:
            payload = json.dumps({"ciphertext": self._cipher.encrypt(payload.encode()).decode()})
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{tenant}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w") as handle:  # mkstemp creates the file 0600
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self._path(tenant))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _private(path: Path) -> None:
    """Refuse a token file or directory that anyone but its owner may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise TokenStoreError(
            f"{path} is open to group or others (mode {mode:o}); run chmod {'700' if path.is_dir() else '600'} on it"
        )
