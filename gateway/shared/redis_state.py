"""The shared state on one Redis server, for several workers or replicas (redis-py, asyncio).

- Values: plain keys with PX expiry; `put_new` is `SET NX PX` (a lease); `get_many` is `MGET`;
  `put_if` (store while a guard key holds a value) and `incr` of a counter given a lifetime
  are each one Lua script: the check and the write at one instant, in one round trip.
- Locks: redis-py's `Lock` (a random token set with NX and an expiry, released by a Lua script
  only by its holder), so a worker that dies mid-renewal frees the lock after its timeout.
- Rate limits: the leaky bucket of `LocalState.reserve` as one Lua script, on the Redis
  server's own clock (`TIME`), so that every sharer reserves from the same bucket atomically
  and no two hosts' clocks need to agree.

Every Redis failure becomes `SharedStateUnavailable` (503, Retry-After): without the shared
state the gateway could exceed a vendor's rate limit or race a rotating refresh token, so it
refuses the request rather than call the vendor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError, ResponseError

from gateway.shared.state import SharedStateUnavailable

log = logging.getLogger("gateway.shared")


async def _keep(lock: Any, timeout: float) -> None:
    """Reset the held `lock`'s expiry to `timeout` every third of it, until cancelled."""
    while True:
        await asyncio.sleep(timeout / 3)
        try:
            await lock.reacquire()
        except (LockError, RedisError):
            return  # lost, or Redis unreachable: the release says so


def _lock_name(key: str) -> str:
    """What a log line may say of a lock's key: its kind (the last part), never what it names."""
    return key.rsplit(":", 1)[-1]


# KEYS[1]: the bucket hash; ARGV: rate per second, capacity, max wait, +1 to reserve / -1 to release.
# Returns the wait in microseconds, or -1 when it would be past max wait (nothing reserved).
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, capacity, max_wait, delta = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level, at = tonumber(state[1]) or 0, tonumber(state[2]) or now
level = math.max(0, level - math.max(0, now - at) * rate)
local wait = 0
if delta > 0 then
  wait = math.max(0, (level + 1 - capacity) / rate)
  if wait > max_wait then
    redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
    return -1
  end
  level = level + 1
else
  level = math.max(0, level - 1)
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
-- Kept until it has drained (and a second more): its level still counts the turns queued ahead.
redis.call('PEXPIRE', KEYS[1], math.ceil((level / rate + 1) * 1000))
return math.floor(wait * 1e6)
"""

# KEYS[1]: the counter; ARGV: the amount, the lifetime in milliseconds of a counter this creates.
_INCR_CREATING = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return count
"""

# KEYS[1]: the guard, KEYS[2]: the key to store; ARGV: "1" if the guard must hold nothing (else
# "0"), the value it must hold, the value to store, its lifetime in milliseconds. 1 if stored.
_PUT_IF = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
"""


class RedisState:
    kind = "redis"

    def __init__(self, url: str, *, prefix: str = "fhir-gateway:", timeout: float = 2.0) -> None:
        """`url`: redis://[user:password@]host:port/db, or rediss:// for TLS. `prefix` keeps
        gateways sharing one Redis apart (server.shared_state_prefix). `timeout` bounds every
        command, so a Redis that hangs fails requests fast instead of holding them."""
        self._redis = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._prefix = prefix
        self._bucket = self._redis.register_script(_BUCKET)
        self._put_if = self._redis.register_script(_PUT_IF)
        self._incr_creating = self._redis.register_script(_INCR_CREATING)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        async with _reachable():
            return cast(bytes | None, await self._redis.get(self._key(key)))

    async def get_many(self, *keys: str) -> list[bytes | None]:
        if not keys:
            return []  # MGET needs one key at least
        async with _reachable():
            return cast(list[bytes | None], await self._redis.mget([self._key(key) for key in keys]))

    async def put_if(self, guard: str, expected: bytes | None, key: str, value: bytes, ttl: float) -> bool:
        absent = b"1" if expected is None else b"0"
        async with _reachable():
            stored: Any = await self._put_if(
                keys=[self._key(guard), self._key(key)], args=[absent, expected or b"", value, _millis(ttl)]
            )
        return int(stored) == 1

    async def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        async with _reachable():
            await self._redis.set(self._key(key), value, px=_millis(ttl) if ttl is not None else None)

    async def put_new(self, key: str, value: bytes, ttl: float) -> bool:
        async with _reachable():
            return bool(await self._redis.set(self._key(key), value, px=_millis(ttl), nx=True))

    async def delete(self, key: str) -> None:
        async with _reachable():
            await self._redis.delete(self._key(key))

    async def expiry(self, key: str) -> float | None:
        async with _reachable():
            millis = int(await self._redis.pttl(self._key(key)))
        return millis / 1000 if millis >= 0 else None  # -1: no expiry, -2: no key

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        async with _reachable():
            if ttl is None:
                return int(await self._redis.incrby(self._key(key), amount))
            count: Any = await self._incr_creating(keys=[self._key(key)], args=[amount, _millis(ttl)])
        return int(count)

    @asynccontextmanager
    async def lock(
        self, key: str, timeout: float, wait: float | None = None, busy: str | None = None
    ) -> AsyncIterator[None]:
        lock = self._redis.lock(self._key(key), timeout=timeout, blocking_timeout=timeout if wait is None else wait)
        async with _reachable():
            acquired = await lock.acquire()
        if not acquired:
            raise SharedStateUnavailable(busy or "Another worker has held a renewal for too long; retry shortly")
        # While this process holds it, its expiry is put off: a holder slower than `timeout`
        # (vendor calls bounded one by one, not in sum) keeps it; one that died frees it then.
        keeping = asyncio.create_task(_keep(lock, timeout))
        try:
            yield
        finally:
            keeping.cancel()
            try:
                await lock.release()
            except LockError:
                # Lost while held (Redis unreachable for longer than the timeout, or a frozen
                # process): another holder may have run meanwhile.
                log.error("shared lock %s was lost while held", _lock_name(key))
            except RedisError:
                pass  # it expires by itself

    async def reserve(self, key: str, rate: float, capacity: float, max_wait: float) -> float | None:
        micros = await self._run_bucket(key, rate, capacity, max_wait, 1)
        return None if micros < 0 else micros / 1e6

    async def release(self, key: str, rate: float, capacity: float) -> None:
        await self._run_bucket(key, rate, capacity, 0.0, -1)

    async def _run_bucket(self, key: str, rate: float, capacity: float, max_wait: float, delta: int) -> int:
        async with _reachable():
            answer: Any = await self._bucket(keys=[self._key(key)], args=[rate, capacity, max_wait, delta])
        return int(answer)

    async def ping(self) -> None:
        async with _reachable():
            await self._redis.ping()

    async def eviction_policy(self) -> str | None:
        async with _reachable():
            try:
                memory: dict[str, Any] = await self._redis.info("memory")
            except ResponseError:  # INFO renamed or refused (some managed services): it does not say
                return None
        policy = memory.get("maxmemory_policy")
        return None if policy is None else str(policy)

    async def aclose(self) -> None:
        await self._redis.aclose()


def _millis(seconds: float) -> int:
    return max(1, int(seconds * 1000))


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    try:
        yield
    except (RedisError, OSError):
        # Never the URL or the error's text: either may carry the Redis password.
        raise SharedStateUnavailable() from None
