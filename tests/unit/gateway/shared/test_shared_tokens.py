"""Vendor tokens and OAuth grants shared by workers (gateway.upstream.tokens, .grants), on both
shared-state implementations."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway import jsonio
from gateway.shared import SharedStateUnavailable
from gateway.shared.redis_state import RedisState
from gateway.shared.sealed import Seal
from gateway.upstream.grants import SharedGrants
from gateway.upstream.token_store import Grant, TokenStore
from gateway.upstream.tokens import SharedTokens, TokenCache
from tests.unit.gateway.shared.conftest import MakeState

KEY = Fernet.generate_key().decode()


def _workers(make_state: MakeState, shared: bool) -> tuple[list[TokenCache], list[int]]:
    """Two workers' token caches of one connection; the vendor counts its renewals."""
    renewals = [0]

    async def renew() -> tuple[str, float]:
        renewals[0] += 1
        await asyncio.sleep(0.05)  # both workers are waiting meanwhile
        return f"token-{renewals[0]}", time.time() + 60

    def cache() -> TokenCache:
        tokens = SharedTokens(make_state(), "t", Seal([KEY])) if shared else None
        return TokenCache(renew, shared=tokens)

    return [cache(), cache()], renewals


def test_two_workers_needing_a_token_at_once_renew_once_and_share_it(make_state: MakeState) -> None:
    async def scenario() -> tuple[list[str], int]:
        (a, b), renewals = _workers(make_state, shared=True)
        tokens = await asyncio.gather(a.token(), b.token(), a.token(), b.token())
        return list(tokens), renewals[0]

    tokens, renewals = asyncio.run(scenario())
    assert renewals == 1 and set(tokens) == {"token-1"}


def test_without_sharing_each_worker_renews_on_its_own(make_state: MakeState) -> None:
    async def scenario() -> int:
        (a, b), renewals = _workers(make_state, shared=False)
        await asyncio.gather(a.token(), b.token())
        return renewals[0]

    assert asyncio.run(scenario()) == 2  # what a rotating refresh token does not survive


def test_a_token_the_vendor_refused_is_renewed_not_taken_from_the_others(make_state: MakeState) -> None:
    async def scenario() -> tuple[str, str, int]:
        (a, b), renewals = _workers(make_state, shared=True)
        first = await a.token()
        assert await b.token() == first  # b takes a's
        renewed = await b.token(stale=first)  # the vendor refused it: b renews
        return first, renewed, renewals[0]

    first, renewed, renewals = asyncio.run(scenario())
    assert renewed != first and renewals == 2


def test_shared_tokens_are_sealed(make_state: MakeState) -> None:
    async def scenario() -> bytes | None:
        state = make_state()
        await SharedTokens(state, "t", Seal([KEY])).store("secret-token", None, time.time())
        return await state.get("t:token")

    stored = asyncio.run(scenario())
    assert stored is not None and b"secret-token" not in stored


def test_a_token_or_grant_moved_to_another_tenants_key_is_not_used(make_state: MakeState, tmp_path: Path) -> None:
    """Whoever can write to Redis without a sealing key cannot make one tenant's vendor token
    or OAuth grant serve another tenant (gateway.shared.sealed: sealed for its key)."""

    async def scenario() -> tuple[object, Grant | None]:
        state = make_state()
        await SharedTokens(state, "clinic-a", Seal([KEY])).store("token-of-a", None, time.time())
        moved = await state.get("clinic-a:token")
        assert moved is not None
        await state.put("clinic-b:token", moved)
        token_of_b = await SharedTokens(state, "clinic-b", Seal([KEY])).load()
        files = TokenStore(tmp_path / "tokens", [KEY])
        files.save("clinic-b", Grant("b-own-grant", 10.0))
        grants = SharedGrants(state, Seal([KEY]), files)
        await grants.save("clinic-a", Grant("a-grant", 20.0))
        grant = await state.get("clinic-a:grant")
        assert grant is not None
        await state.put("clinic-b:grant", grant)
        return token_of_b, await grants.load("clinic-b")

    token_of_b, grant_of_b = asyncio.run(scenario())
    assert token_of_b is None  # renewed, not borrowed
    assert grant_of_b == Grant("b-own-grant", 10.0)  # its own file, not a's grant


def test_a_grant_sealed_for_no_key_is_not_read_and_the_file_is(make_state: MakeState, tmp_path: Path) -> None:
    """What a token file holds (the same keys, sealed for no key), or a grant sealed before
    seals named their key, cannot be told from another tenant's: neither is the authority."""

    async def scenario() -> Grant | None:
        state = make_state()
        files = TokenStore(tmp_path / "tokens", [KEY])
        files.save("t", Grant("t-own-grant", 10.0))
        unplaced = Fernet(KEY.encode()).encrypt(b'{"refresh_token": "another-tenants", "obtained_at": 20.0}')
        await state.put("t:grant", unplaced)
        return await SharedGrants(state, Seal([KEY]), files).load("t")

    assert asyncio.run(scenario()) == Grant("t-own-grant", 10.0)


def test_the_shared_grant_is_the_authority_and_the_file_the_fallback(make_state: MakeState, tmp_path: Path) -> None:
    async def scenario() -> list[Grant | None]:
        files = TokenStore(tmp_path / "tokens", [KEY])
        files.save("t", Grant("connected-before-sharing", 50.0))
        grants = SharedGrants(make_state(), Seal([KEY]), files)
        before_sharing = await grants.load("t")
        await grants.save("t", Grant("rotated-by-a-worker", 100.0))
        files.save("t", Grant("a-stale-copy-on-another-host", 200.0))  # its clock ahead, say
        shared = await grants.load("t")
        other_key = SharedGrants(make_state(), Seal([Fernet.generate_key().decode()]), files)
        return [before_sharing, shared, await other_key.load("t")]

    before_sharing, shared, unopenable = asyncio.run(scenario())
    assert before_sharing == Grant("connected-before-sharing", 50.0)
    assert shared == Grant("rotated-by-a-worker", 100.0)  # not the file's, whatever its time
    assert unopenable == Grant("a-stale-copy-on-another-host", 200.0)  # sealed under a dropped key: the file


def test_the_file_serves_only_a_later_grant_than_the_shared_one(
    make_state: MakeState, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Later by the grant's line and rotations, never by a host's clock."""
    shared_grant = Grant("rotated-thrice", 100.0, connected_at=5.0, rotations=3)

    async def load_with(file_grant: Grant, mode: int = 0o600) -> Grant | None:
        files = TokenStore(tmp_path / "tokens", [KEY])
        grants = SharedGrants(make_state(), Seal([KEY]), files)
        await grants.save("t", shared_grant)
        files.save("t", file_grant)
        (tmp_path / "tokens" / "t.json").chmod(mode)
        return await grants.load("t")

    behind_but_clock_ahead = Grant("rotated-twice", 900.0, connected_at=5.0, rotations=2)
    assert asyncio.run(load_with(behind_but_clock_ahead)) == shared_grant
    rotated_in_an_outage = Grant("rotated-four-times", 150.0, connected_at=5.0, rotations=4)
    assert asyncio.run(load_with(rotated_in_an_outage)) == rotated_in_an_outage
    reconnected_here = Grant("a-new-connection", 120.0, connected_at=110.0)
    assert asyncio.run(load_with(reconnected_here)) == reconnected_here
    # A file the gateway refuses to read: the shared grant, and the file's problem said.
    assert asyncio.run(load_with(rotated_in_an_outage, mode=0o644)) == shared_grant
    assert "open to group or others" in caplog.text


def test_a_shared_grant_the_previous_version_rotated_is_not_outranked_by_an_older_file(
    make_state: MakeState, tmp_path: Path
) -> None:
    """In a rolling upgrade a worker of the previous version renews too, and writes the shared
    grant without a line or rotations: it is not ranked below this host's file, which holds
    the grant that renewal replaced (presenting it would be a replay, RFC 9700 section 4.14.2)."""

    async def load_with(file_grant: Grant, old_worker_obtained_at: float) -> Grant | None:
        state = make_state()
        files = TokenStore(tmp_path / "tokens", [KEY])
        files.save("t", file_grant)
        plain = jsonio.dumps({"refresh_token": "rotated-by-the-old-version", "obtained_at": old_worker_obtained_at})
        await state.put("t:grant", Seal([KEY]).seal(plain, "t:grant"))
        return await SharedGrants(state, Seal([KEY]), files).load("t")

    rotated_here_first = Grant("rotated-here-then-replaced", 100.0, connected_at=0.0, rotations=1)
    loaded = asyncio.run(load_with(rotated_here_first, old_worker_obtained_at=200.0))
    assert loaded is not None and loaded.refresh_token == "rotated-by-the-old-version"
    # The other way round: this host rotated after the old version's copy, and the shared state
    # failed to take it: the file's is the later one.
    rotated_here_later = Grant("rotated-here-in-an-outage", 300.0, connected_at=0.0, rotations=1)
    assert asyncio.run(load_with(rotated_here_later, old_worker_obtained_at=200.0)) == rotated_here_later


@pytest.mark.slow
def test_a_rotated_grant_is_in_the_file_even_when_the_shared_state_fails(tmp_path: Path) -> None:
    async def scenario() -> None:
        files = TokenStore(tmp_path / "tokens", [KEY])
        down = RedisState("redis://127.0.0.1:1/0", timeout=0.2)
        try:
            with pytest.raises(SharedStateUnavailable):
                await SharedGrants(down, Seal([KEY]), files).save("t", Grant("rotated", 1.0))
        finally:
            await down.aclose()

    asyncio.run(scenario())
    assert TokenStore(tmp_path / "tokens", [KEY]).load("t") == Grant("rotated", 1.0)
