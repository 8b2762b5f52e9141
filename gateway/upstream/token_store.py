"""Where a tenant's OAuth refresh token lives between restarts: one file per tenant, 0600.

Writes are atomic: the new token goes to a temporary file in the same directory (created
0600, flushed and fsynced), which then replaces the old file with os.replace; the directory
is fsynced too. A crash at any moment leaves either the old file or the new one, never a
torn or empty one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import UpstreamSecurity


class TokenStoreError(UpstreamSecurity):
    """The stored grant cannot be read: an operator problem, reported as one."""


@dataclass(frozen=True)
class Grant:
    refresh_token: str
    obtained_at: float  # epoch seconds


class TokenStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()

    def _path(self, tenant: str) -> Path:
        return self.directory / f"{tenant}.json"

    def load(self, tenant: str) -> Grant | None:
        path = self._path(tenant)
        try:
            data = json.loads(path.read_text())
            return Grant(str(data["refresh_token"]), float(data["obtained_at"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise TokenStoreError(f"the token file {path} is unreadable; reconnect the tenant") from None

    def modified(self, tenant: str) -> float | None:
        try:
            return self._path(tenant).stat().st_mtime
        except FileNotFoundError:
            return None

    def save(self, tenant: str, grant: Grant) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # an existing directory may have been created more open
        payload = json.dumps({"refresh_token": grant.refresh_token, "obtained_at": grant.obtained_at})
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
