"""Page positions too long for a link, kept in the shared state: any worker opens them, and
Redis holds them sealed (a Dental PMS cursor is a patient's name)."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio

from gateway.rest.paging import KEPT_SECONDS, PageTokens, search_fingerprint
from gateway.search.execute import PagePosition
from gateway.shared.redis_state import RedisState


def test_a_position_kept_by_one_worker_opens_in_another_and_is_sealed(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    fingerprint = search_fingerprint("t", "anonymous", "Patient", [])
    cursor = "Longfamilyname" * 700

    async def scenario() -> tuple[str, list[tuple[bytes, bytes, float]]]:
        one, two = RedisState(redis_url, prefix=prefix), RedisState(redis_url, prefix=prefix)
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            token = await PageTokens("secret", one).issue_kept(fingerprint, PagePosition(cursor, 0, 100))
            assert token is not None
            opened = await PageTokens("secret", two).open(token, fingerprint)
            stored = [(k, await client.get(k), await client.ttl(k)) async for k in client.scan_iter(match=f"{prefix}*")]
            return opened.vendor, stored
        finally:
            await client.aclose()
            await one.aclose()
            await two.aclose()

    vendor, stored = asyncio.run(scenario())
    assert vendor == cursor
    [(name, value, ttl)] = stored
    assert b"Longfamilyname" not in name + value and 0 < ttl <= KEPT_SECONDS
