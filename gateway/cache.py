"""The vendor response cache of a tenant (off unless the tenant enables it).

What it keeps is what the vendor's providers answered: one resource per read, one vendor page
per search request, before any authorization is applied. Every caller's answer is filtered by
its own scopes after the cache (gateway.auth), so a cached answer never crosses scopes or
patients, and one vendor answer serves every caller allowed to see it.

- Fresh for `ttl` seconds; identical concurrent fetches share one vendor call (single-flight).
- Any write the gateway makes to a type drops that type's entries: a client never reads
  around its own write.
- `stale_for` seconds past freshness, an entry still answers when the vendor cannot
  (`stale-if-error`, RFC 5861): the resources carry a `stale` meta.tag, and a search page says
  so in its OperationOutcome entry; the read answer carries a `Warning` header.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cachetools import LRUCache

from gateway.errors import UpstreamError, UpstreamTimeout, VendorUnavailable

T = TypeVar("T")
STALE_TAG = {
    "system": "urn:fhir-gateway:cache",
    "code": "stale",
    "display": "Served from the gateway's cache: the vendor could not be reached",
}
STALE_WARNING = "The vendor could not be reached: these results come from the gateway's cache and may be out of date"
VENDOR_DOWN = (UpstreamError, UpstreamTimeout, VendorUnavailable)


@dataclass(frozen=True)
class CachePolicy:
    ttl: float = 30.0
    max_entries: int = 10_000
    stale_for: float = 300.0


@dataclass
class _Entry:
    stored_at: float
    value: Any


class ResponseCache:
    def __init__(self, policy: CachePolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._entries: LRUCache[tuple[str, str, str], _Entry] = LRUCache(maxsize=policy.max_entries)
        self._inflight: dict[tuple[str, str, str], asyncio.Future[Any]] = {}
        self.hits = self.misses = self.stale = 0

    async def fetch(
        self, key: tuple[str, str, str], load: Callable[[], Awaitable[T]], mark_stale: Callable[[T], T]
    ) -> T:
        """The fresh entry for `key`, else `load()` (shared by concurrent callers), else, when the
        vendor cannot answer, the entry within its stale period, marked by `mark_stale`."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry.stored_at < self.policy.ttl:
            self.hits += 1
            return copy.deepcopy(entry.value)  # type: ignore[no-any-return]
        self.misses += 1
        try:
            value: T = await self._single_flight(key, load)
        except VENDOR_DOWN:
            if entry is not None and now - entry.stored_at < self.policy.ttl + self.policy.stale_for:
                self.stale += 1
                return mark_stale(copy.deepcopy(entry.value))
            raise
        return copy.deepcopy(value)

    async def _single_flight(self, key: tuple[str, str, str], load: Callable[[], Awaitable[T]]) -> T:
        running = self._inflight.get(key)
        if running is not None:
            result: T = await asyncio.shield(running)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            self._inflight.pop(key, None)
        self._entries[key] = _Entry(self._clock(), value)
        future.set_result(value)
        return value

    def forget_type(self, resource_type: str) -> None:
        """Drop every entry of a type (after a write to it)."""
        for key in [k for k in self._entries if k[1] == resource_type]:
            self._entries.pop(key, None)


def stale_resource(resource: dict[str, Any]) -> dict[str, Any]:
    meta = resource.setdefault("meta", {})
    meta["tag"] = [*meta.get("tag", []), STALE_TAG]
    return resource


def is_stale(resource: dict[str, Any]) -> bool:
    return any(t.get("system") == STALE_TAG["system"] for t in (resource.get("meta") or {}).get("tag", []))
