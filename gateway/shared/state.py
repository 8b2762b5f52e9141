"""The state that workers and replicas of one gateway must share, behind one interface.

What is shared: vendor access tokens (and a lock around their renewal, so that a rotating
refresh token is used by one renewal at a time), rate-limit buckets, circuit-breaker state,
the response cache and the audit sequence. Two implementations:

- `LocalState` (the default): in this process's memory. Right for one worker; with several,
  each would spend a vendor's whole rate limit and renew its tokens on its own, which is why
  `serve --workers N` needs the other.
- `RedisState` (gateway.shared.redis_state): one Redis server for every worker and replica.

Keys are plain strings chosen by the callers (`<tenant>:<what>`); values are bytes. Nothing
here interprets a value, so a caller that stores a secret seals it first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from gateway.errors import FHIRError


class SharedStateUnavailable(FHIRError):
    """The shared state (Redis) cannot be reached: the gateway cannot keep its promises to the
    vendors (rate limits, one renewal at a time), so it does not call them."""

    status = 503
    code = "transient"

    def __init__(self, message: str = "The gateway's shared state cannot be reached; retry shortly") -> None:
        super().__init__(message, headers={"Retry-After": "1"})


class SharedState(Protocol):
    kind: str  # "in-process" or "redis": for the status page and logs

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, *keys: str) -> list[bytes | None]:
        """The values of `keys`, in their order, read at one instant (one round trip)."""
        ...

    async def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store `value`, dropped after `ttl` seconds (never, for None)."""
        ...

    async def put_new(self, key: str, value: bytes, ttl: float) -> bool:
        """Store `value` only if `key` holds nothing: True if this call stored it (a lease)."""
        ...

    async def put_if(self, guard: str, expected: bytes | None, key: str, value: bytes, ttl: float) -> bool:
        """Store `value` at `key` (dropped after `ttl` seconds) only if `guard` holds `expected`
        (None: holds nothing), checked and stored at one instant: True if this call stored it."""
        ...

    async def delete(self, key: str) -> None: ...

    async def expiry(self, key: str) -> float | None:
        """Seconds until `key` is dropped; None if it holds nothing or never expires."""
        ...

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add `amount` to the counter at `key` (0 if absent) and return it; a counter this
        creates is dropped after `ttl` seconds (never, for None), and an expiry it has stays."""
        ...

    def lock(
        self, key: str, timeout: float, wait: float | None = None, busy: str | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Held by one holder at a time across all sharers, as long as it holds it; one that
        dies releases it after `timeout` seconds. Waiting longer than `wait` (default
        `timeout`) raises SharedStateUnavailable, saying `busy` (default: a token renewal held
        too long). A key's last part (after its last ':') names its kind in logs."""
        ...

    async def reserve(self, key: str, rate: float, capacity: float, max_wait: float) -> float | None:
        """One turn in the leaky bucket at `key` (draining `rate` per second, `capacity` deep):
        seconds until the turn (the place is taken), or None if that is past `max_wait`."""
        ...

    async def release(self, key: str, rate: float, capacity: float) -> None:
        """Give back a reserved turn that will not be used."""
        ...

    async def ping(self) -> None:
        """Raise SharedStateUnavailable if the state cannot be reached."""
        ...

    async def eviction_policy(self) -> str | None:
        """What the state drops when it runs out of memory (Redis's `maxmemory-policy`); None
        where it drops nothing the gateway keeps, or does not say."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class _Bucket:
    level: float
    at: float


class LocalState:
    """The shared state of a single process (asyncio: no thread safety needed)."""

    kind = "in-process"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[bytes, float | None]] = {}  # value, deadline on the clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._buckets: dict[str, _Bucket] = {}

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        found = self._values.get(key)
        if found is not None and found[1] is not None and self._clock() >= found[1]:
            del self._values[key]
            return None
        return found

    async def get(self, key: str) -> bytes | None:
        found = self._live(key)
        return None if found is None else found[0]

    async def get_many(self, *keys: str) -> list[bytes | None]:
        return [None if (found := self._live(key)) is None else found[0] for key in keys]

    async def put_if(self, guard: str, expected: bytes | None, key: str, value: bytes, ttl: float) -> bool:
        found = self._live(guard)
        if (None if found is None else found[0]) != expected:
            return False
        await self.put(key, value, ttl)
        return True

    async def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._values[key] = (value, None if ttl is None else self._clock() + ttl)

    async def put_new(self, key: str, value: bytes, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        await self.put(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def expiry(self, key: str) -> float | None:
        found = self._live(key)
        if found is None or found[1] is None:
            return None
        return max(0.0, found[1] - self._clock())

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        found = self._live(key)
        if found is None:
            found = (b"0", None if ttl is None else self._clock() + ttl)
        count = int(found[0]) + amount
        self._values[key] = (str(count).encode(), found[1])  # an existing counter keeps its expiry
        return count

    @asynccontextmanager
    async def lock(
        self, key: str, timeout: float, wait: float | None = None, busy: str | None = None
    ) -> AsyncIterator[None]:
        held = self._locks.setdefault(key, asyncio.Lock())
        try:
            await asyncio.wait_for(held.acquire(), timeout if wait is None else wait)
        except TimeoutError:
            raise SharedStateUnavailable(
                busy or "Another request has held a renewal for too long; retry shortly"
            ) from None
        try:
            yield
        finally:
            held.release()

    async def reserve(self, key: str, rate: float, capacity: float, max_wait: float) -> float | None:
        now = self._clock()
        bucket = self._buckets.setdefault(key, _Bucket(0.0, now))
        bucket.level = max(0.0, bucket.level - max(0.0, now - bucket.at) * rate)
        bucket.at = now
        wait = max(0.0, (bucket.level + 1 - capacity) / rate)
        if wait > max_wait:
            return None
        bucket.level += 1
        return wait

    async def release(self, key: str, rate: float, capacity: float) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            now = self._clock()
            bucket.level = max(0.0, bucket.level - max(0.0, now - bucket.at) * rate - 1)
            bucket.at = now

    async def ping(self) -> None:
        pass

    async def eviction_policy(self) -> str | None:
        return None  # this process's memory: nothing is dropped but what expires

    async def aclose(self) -> None:
        pass
