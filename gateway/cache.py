"""The vendor response cache of a tenant (off unless the tenant enables it).

What it keeps is what the vendor's providers answered: one resource per read, one vendor page
per search request, before any authorization is applied. Every caller's answer is filtered by
its own scopes after the cache (gateway.auth), so a cached answer never crosses scopes or
patients, and one vendor answer serves every caller allowed to see it.

- Fresh for `ttl` seconds; identical concurrent fetches share one vendor call (single-flight).
- Any write the gateway makes to a type drops that type's entries: a client never reads
  around its own write.
- Entries are kept as bytes (orjson), in this process (LRU, `max_entries`) or, with a shared
  state off this process, on Redis for every worker and replica; each caller gets its own
  decoded copy.
- `stale_for` seconds past freshness, an entry still answers when the vendor cannot
  (`stale-if-error`, RFC 5861): the resources carry a `stale` meta.tag, and a search page says
  so in its OperationOutcome entry; the read answer carries a `Warning` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from cachetools import LRUCache

from gateway.errors import UpstreamError, UpstreamTimeout, VendorUnavailable
from gateway.shared.sealed import Seal
from gateway.shared.state import SharedState, SharedStateUnavailable
from gateway.upstream.observe import observer

log = logging.getLogger("gateway.cache")
T = TypeVar("T")
STALE_TAG = {
    "system": "urn:fhir-gateway:cache",
    "code": "stale",
    "display": "Served from the gateway's cache: the vendor could not be reached",
}
STALE_WARNING = "The vendor could not be reached: these results come from the gateway's cache and may be out of date"
MAX_SHARED_ENTRY = 512 * 1024  # bytes of one answer kept in the shared state, at most
VENDOR_DOWN = (UpstreamError, UpstreamTimeout, VendorUnavailable)
# A shared entry: its generation in clear (a miss after a write is known without opening it),
# then sealed for its key: the time it was stored (epoch seconds), its generation again, and
# the payload.
_GENERATION = struct.Struct("!q")
_STAMP = struct.Struct("!dq")


_PAST_THE_CACHE: ContextVar[bool] = ContextVar("fhir_gateway_past_the_cache", default=False)


@contextmanager
def past_the_cache() -> Iterator[None]:
    """Reads and searches made inside go to the vendor: what a write decides on (If-None-Exist,
    FHIR R4 http.html#ccreate) must be what the vendor holds now, neither an entry up to `ttl`
    old nor a stale one (RFC 5861's stale-if-error is for reads only)."""
    token = _PAST_THE_CACHE.set(True)
    try:
        yield
    finally:
        _PAST_THE_CACHE.reset(token)


class _Abandoned(Exception):
    """The fetch other requests joined was cancelled with the request that began it."""


@dataclass(frozen=True)
class CachePolicy:
    ttl: float = 30.0
    max_entries: int = 10_000
    stale_for: float = 300.0


class CacheStore(Protocol):
    """Where the entries are kept: this process (`LocalCacheStore`) or the shared state.

    Each entry belongs to the generation of its type that was current when its fill began; a
    write moves the type to the next one, and only entries of the current generation are found.
    A fill takes the generation from its lookup, before it asks the vendor, and its entry is
    kept only if that generation is still current: an answer fetched before a write can never
    be found after it, nor replace one fetched after it."""

    async def lookup(self, kind: str, key: str) -> tuple[int, tuple[float, bytes] | None]:
        """The type's current generation, and (age in seconds, payload) of the entry of that
        generation, if there is one."""
        ...

    async def put(self, kind: str, generation: int, key: str, payload: bytes, keep: float) -> None:
        """Keep `payload` for at least `keep` seconds (as room allows), unless the type has
        moved past `generation` (the one `lookup` gave before the fill)."""
        ...

    async def forget_type(self, kind: str) -> None:
        """Move the type to its next generation."""
        ...


class LocalCacheStore:
    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: LRUCache[tuple[str, int, str], tuple[float, bytes]] = LRUCache(maxsize=max_entries)
        self._generations: dict[str, int] = {}

    async def lookup(self, kind: str, key: str) -> tuple[int, tuple[float, bytes] | None]:
        generation = self._generations.get(kind, 0)
        found = self._entries.get((kind, generation, key))
        return generation, None if found is None else (self._clock() - found[0], found[1])

    async def put(self, kind: str, generation: int, key: str, payload: bytes, keep: float) -> None:
        if generation == self._generations.get(kind, 0):  # else a write came meanwhile: never found again
            self._entries[(kind, generation, key)] = (self._clock(), payload)

    async def forget_type(self, kind: str) -> None:
        self._generations[kind] = self._generations.get(kind, 0) + 1  # old entries age out of the LRU


class SharedCacheStore:
    """Entries in the shared state under `<tenant>:cache:<type>:<blinded key>`, sealed (they are vendor
    answers: PHI at rest in Redis is encrypted, gateway.shared.sealed) with the time they were
    stored and the generation of their type inside, the generation in clear before them too.
    A write moves its type to the next generation, so that every worker and replica stops
    finding the type's old entries at once (they expire by themselves). A lookup reads the
    generation and the entry together: one round trip to the shared state per cache hit."""

    def __init__(self, state: SharedState, tenant: str, seal: Seal, max_entries: int, keep: float) -> None:
        """At most `max_entries` entries are stored per `keep` seconds (the entries' lifetime), so
        that at most twice that many are alive at once, however many distinct searches clients
        make: Redis holds the tenants' tokens and limits too, and must not fill up."""
        self._state = state
        self._tenant = tenant
        self._seal = seal
        self._max_entries = max_entries
        self._keep = keep

    async def lookup(self, kind: str, key: str) -> tuple[int, tuple[float, bytes] | None]:
        entry_key = self._entry_key(kind, key)
        stored_generation, found = await self._state.get_many(self._generation_key(kind), entry_key)
        generation = int(stored_generation or b"0")
        if found is None or len(found) < _GENERATION.size or _GENERATION.unpack_from(found)[0] != generation:
            return generation, None  # none, or fetched before a write to its type
        # None under a dropped key, or for an entry moved here from another key: a miss
        opened = self._seal.open(found[_GENERATION.size :], entry_key)
        if opened is None or len(opened) < _STAMP.size:
            return generation, None
        stored_at, sealed_generation = _STAMP.unpack_from(opened)
        if sealed_generation != generation:  # the clear one was altered in the store
            return generation, None
        return generation, (max(0.0, time.time() - stored_at), opened[_STAMP.size :])

    async def put(self, kind: str, generation: int, key: str, payload: bytes, keep: float) -> None:
        if len(payload) > MAX_SHARED_ENTRY:
            return  # a rare, large answer: not worth its room in Redis
        window = f"{self._tenant}:cache-stored:{int(time.time() // self._keep)}"
        if await self._state.incr(window, ttl=2 * self._keep) > self._max_entries:
            return  # this period's room is used up: answered, not kept
        entry_key = self._entry_key(kind, key)
        sealed = self._seal.seal(_STAMP.pack(time.time(), generation) + payload, entry_key)
        # Kept only if no write moved the type on meanwhile: a fill begun before a write must not
        # replace an entry fetched after it (its own would never be found: a miss for everyone).
        current = str(generation).encode() if generation else None  # INCR writes decimal text
        await self._state.put_if(
            self._generation_key(kind), current, entry_key, _GENERATION.pack(generation) + sealed, keep
        )

    async def forget_type(self, kind: str) -> None:
        await self._state.incr(self._generation_key(kind))

    def _generation_key(self, kind: str) -> str:
        return f"{self._tenant}:cache-generation:{kind}"

    def _entry_key(self, kind: str, key: str) -> str:
        # `key` holds a record's id (`read:<id>`): blinded, so that Redis's key names hold no id.
        return f"{self._tenant}:cache:{kind}:{self._seal.blind(key)}"


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a cached value becomes bytes and back (a fresh object for every caller)."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


class ResponseCache:
    def __init__(self, policy: CachePolicy, store: CacheStore | None = None, *, tenant: str = "") -> None:
        self.policy = policy
        self._store = store if store is not None else LocalCacheStore(policy.max_entries)
        self._tenant = tenant
        self._inflight: dict[tuple[str, int, str], asyncio.Future[Any]] = {}
        self.hits = self.misses = self.stale = 0

    async def fetch(
        self, kind: str, key: str, load: Callable[[], Awaitable[T]], codec: Codec[T], mark_stale: Callable[[T], T]
    ) -> T:
        """The fresh entry for `key`, else `load()` (shared by concurrent callers), else, when the
        vendor cannot answer, the entry within its stale period, marked by `mark_stale`. The
        cache is an optimisation: when its store cannot be reached, the vendor answers. Inside
        `past_the_cache()`, the vendor answers, or its failure stands."""
        if _PAST_THE_CACHE.get():
            return await load()
        try:
            generation, entry = await self._store.lookup(kind, key)
        except SharedStateUnavailable:
            log.warning("tenant %s: the shared cache cannot be reached; asking the vendor", self._tenant)
            return await load()
        if entry is not None and entry[0] < self.policy.ttl:
            self.hits += 1
            observer().cache(self._tenant, "hit")
            return codec.decode(entry[1])
        self.misses += 1
        observer().cache(self._tenant, "miss")
        try:
            payload = await self._single_flight(kind, generation, key, load, codec)
        except VENDOR_DOWN:
            if entry is not None and entry[0] < self.policy.ttl + self.policy.stale_for:
                self.stale += 1
                observer().cache(self._tenant, "stale")
                return mark_stale(codec.decode(entry[1]))
            raise
        return codec.decode(payload)

    async def _single_flight(
        self, kind: str, generation: int, key: str, load: Callable[[], Awaitable[T]], codec: Codec[T]
    ) -> bytes:
        # Keyed by generation too: a request after a write never joins a fill begun before it.
        flight = (kind, generation, key)
        while (running := self._inflight.get(flight)) is not None:
            try:
                payload: bytes = await asyncio.shield(running)
                return payload
            except _Abandoned:
                continue  # its request went away (cancelled): this one fetches (or joins the next fetch)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[flight] = future
        try:
            payload = codec.encode(await load())
        except BaseException as exc:
            # A fetch cancelled with its own request (a client gone, a sibling call failed) is no
            # answer to the other requests that joined it: they fetch again, not fail with it.
            future.set_exception(_Abandoned() if isinstance(exc, asyncio.CancelledError) else exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            self._inflight.pop(flight, None)
        future.set_result(payload)
        with contextlib.suppress(SharedStateUnavailable):  # not kept this time; the answer stands
            await self._store.put(kind, generation, key, payload, self.policy.ttl + self.policy.stale_for)
        return payload

    async def forget_type(self, resource_type: str) -> None:
        """Drop every entry of a type (after a write to it). A write that succeeded stays a
        success even when the shared cache cannot be told (its entries expire after `ttl`)."""
        try:
            await self._store.forget_type(resource_type)
        except SharedStateUnavailable:
            log.error("tenant %s: a write could not drop the shared cache's %s entries", self._tenant, resource_type)


def stale_resource(resource: dict[str, Any]) -> dict[str, Any]:
    meta = resource.setdefault("meta", {})
    meta["tag"] = [*meta.get("tag", []), STALE_TAG]
    return resource


def is_stale(resource: dict[str, Any]) -> bool:
    return any(t.get("system") == STALE_TAG["system"] for t in (resource.get("meta") or {}).get("tag", []))
