"""A Redis that may drop the gateway's keys under memory pressure is said at start-up and on
/readyz (gateway.shared.eviction), against a real redis-server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
import redis.asyncio as redis
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.settings import ServerSettings
from gateway.shared.eviction import eviction_warning
from gateway.shared.redis_state import RedisState
from tests.support.fake_vendor import FakeBackend, fake_settings


def _set_policy(url: str, policy: str) -> None:
    async def set_it() -> None:
        admin = redis.from_url(url)
        try:
            await admin.config_set("maxmemory-policy", policy)
        finally:
            await admin.aclose()

    asyncio.run(set_it())


@pytest.fixture
def evicting(redis_url: str) -> Iterator[str]:
    """The test process's redis-server with managed services' usual default, for one test."""
    _set_policy(redis_url, "volatile-lru")
    try:
        yield redis_url
    finally:
        _set_policy(redis_url, "noeviction")


def test_redis_as_installed_is_safe(redis_url: str) -> None:
    async def warning() -> str | None:
        state = RedisState(redis_url)
        try:
            return await eviction_warning(state)
        finally:
            await state.aclose()

    assert asyncio.run(warning()) is None  # redis-server's default: noeviction


def test_an_evicting_redis_is_said_at_start_up_and_on_readyz(
    evicting: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TEST_REDIS_URL", evicting)
    monkeypatch.setenv("TEST_TOKEN_KEY", Fernet.generate_key().decode())
    server = ServerSettings(shared_state="env:TEST_REDIS_URL", token_store_keys=["env:TEST_TOKEN_KEY"])
    settings = fake_settings().model_copy(update={"server": server})
    with caplog.at_level(logging.ERROR), TestClient(create_app(settings, [FakeBackend().vendor()])) as client:
        shared = client.get("/readyz").json()["shared_state"]
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert said == [
        "the shared state's maxmemory-policy is volatile-lru: under memory pressure it drops the gateway's "
        "locks, rate-limit buckets and tokens (a grant can then be revoked); set maxmemory-policy noeviction"
    ]
    assert shared["ready"] is True and shared["warning"] == said[0]
