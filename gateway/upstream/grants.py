"""Where a tenant's OAuth grant (its refresh token) is kept: `FileGrants`, one encrypted file
per tenant (gateway.upstream.token_store), or `SharedGrants`, the shared state (Redis, sealed)
with the file beside it.

With several workers or replicas the grant must be shared: a rotating refresh token is
replaced on every renewal, and a replica still holding the old one would be refused (or,
after the grace period, get the grant revoked). With `SharedGrants` the shared state is the
authority (`fhir-gateway connect` writes there too); the file is the fallback and the copy
this host keeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gateway import jsonio
from gateway.shared.sealed import Seal
from gateway.shared.state import SharedState, SharedStateUnavailable
from gateway.upstream.token_store import Grant, TokenStore, TokenStoreError

if TYPE_CHECKING:
    from gateway.contract import AdapterConfig

log = logging.getLogger("gateway.oauth")
SAVE_ATTEMPTS = 4


class GrantStore(Protocol):
    async def load(self, tenant: str) -> Grant | None: ...

    async def save(self, tenant: str, grant: Grant) -> None: ...

    async def version(self, tenant: str) -> object:
        """Changes whenever the grant is replaced (a reconnect): compared, never interpreted."""
        ...


@dataclass(frozen=True)
class FileGrants:
    files: TokenStore

    async def load(self, tenant: str) -> Grant | None:
        return self.files.load(tenant)

    async def save(self, tenant: str, grant: Grant) -> None:
        self.files.save(tenant, grant)

    async def version(self, tenant: str) -> object:
        return self.files.modified(tenant)


@dataclass(frozen=True)
class SharedGrants:
    state: SharedState
    seal: Seal
    files: TokenStore

    async def load(self, tenant: str) -> Grant | None:
        """The shared grant; the file's where there is none (before the first renewal of a
        grant `connect` stored without the shared state, or one sealed under a dropped key), or
        where the file's is the later one: a renewal whose rotated token reached this host's
        file but not the shared state, which was failing. The shared copy is then one the vendor
        has replaced, and presenting it after the rotation's grace period is a replay: strict
        servers revoke the whole line (OAuth 2.0 Security BCP, RFC 9700 section 4.14.2)."""
        shared = await self._shared(tenant)
        if shared is None:
            return self.files.load(tenant)
        try:
            own = self.files.load(tenant)
        except TokenStoreError as exc:  # the shared grant serves; the file's problem is still said
            log.warning("tenant %s: %s", tenant, exc.diagnostics)
            return shared
        if own is not None and own.later_than(shared):
            log.warning("tenant %s: this host's token file holds a later grant than the shared state; using it", tenant)
            return own
        return shared

    async def _shared(self, tenant: str) -> Grant | None:
        where = _where(tenant)
        sealed = await self.state.get(where)
        if sealed is None:
            return None
        plain = self.seal.open(sealed, where)
        if plain is None:
            # A grant sealed before seals named their key is not read either: nothing would tell
            # it from another tenant's moved here, or from a token file's copy put in Redis.
            log.warning(
                "tenant %s: the shared grant cannot be opened (sealed with a key no longer configured, "
                "for another tenant, or by a version before this one); using its file",
                tenant,
            )
            return None
        return _grant(plain)

    async def save(self, tenant: str, grant: Grant) -> None:
        """The file first (workers on this host read it should the shared state fail now), then
        the shared state, tried again briefly: the holder of the renewal lock must not let it
        go before the other replicas can read the rotated token."""
        self.files.save(tenant, grant)
        plain = jsonio.dumps(grant.fields())
        for attempt in range(SAVE_ATTEMPTS):
            try:
                await self.state.put(_where(tenant), self.seal.seal(plain, _where(tenant)))
                return
            except SharedStateUnavailable:
                if attempt == SAVE_ATTEMPTS - 1:
                    log.error("tenant %s: the rotated grant is only in this host's token file", tenant)
                    raise
                await asyncio.sleep(0.2 * 2**attempt)

    async def version(self, tenant: str) -> object:
        grant = await self.load(tenant)
        if grant is None:
            return None
        return hashlib.sha256(grant.refresh_token.encode()).hexdigest()[:16], grant.obtained_at


def grants_of(config: AdapterConfig[Any]) -> GrantStore:
    """A connection's grant store: its token file, and the shared state too when that leaves
    this process (sealed with the same keys as the file)."""
    files = TokenStore(config.token_store, config.token_keys)
    if config.shared is None or config.shared.kind == "in-process":
        return FileGrants(files)
    if not config.token_keys:
        raise TokenStoreError("OAuth grants are shared off this process only sealed: set server.token_store_keys")
    return SharedGrants(config.shared, Seal(config.token_keys), files)


def _grant(plain: bytes) -> Grant:
    stored: dict[str, Any] = jsonio.loads(plain)
    return Grant.of(stored)


def _where(tenant: str) -> str:
    return f"{tenant}:grant"
