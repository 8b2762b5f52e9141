"""The shared token cache (gateway.upstream.tokens): single flight, stale tokens, remembered
failures, the OAuth terminal-failure policy and renew-once-on-401. Time is a fake clock."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from gateway.contract import OAuthApp
from gateway.errors import UpstreamError, UpstreamSecurity
from gateway.upstream import token_store
from gateway.upstream.http import UpstreamResponse
from gateway.upstream.oauth import OAuthSession, UntilReconnected, exchange_code
from gateway.upstream.token_store import Grant, TokenStore
from gateway.upstream.tokens import (
    FORBIDDEN_TRUSTED_FOR,
    USELESS_RENEWALS,
    USELESS_WINDOW,
    RememberFor,
    TokenCache,
    request_key,
)
from tests.support.clock import SetClock


class Vendor:
    """A renewal function that hands out token-1, token-2, ... or raises what it is told to."""

    def __init__(self, clock: SetClock[float], lifetime: float | None = 60.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def renew(self) -> tuple[str, float | None]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        expires = None if self.lifetime is None else self.clock() + self.lifetime
        return f"token-{self.calls}", expires


def _cache(lifetime: float | None = 60.0, **kwargs: Any) -> tuple[TokenCache, Vendor, SetClock[float]]:
    clock = SetClock(1_700_000_000.0)
    vendor = Vendor(clock, lifetime)
    return TokenCache(vendor.renew, clock=clock, **kwargs), vendor, clock


def test_fifty_waiters_share_one_renewal() -> None:
    cache, vendor, _ = _cache()

    async def scenario() -> list[str]:
        vendor.gate = asyncio.Event()
        waiters = [asyncio.create_task(cache.token()) for _ in range(50)]
        for _ in range(5):
            await asyncio.sleep(0)
        assert vendor.calls == 1  # the others queue behind the one renewal
        vendor.gate.set()
        return await asyncio.gather(*waiters)

    assert asyncio.run(scenario()) == ["token-1"] * 50
    assert vendor.calls == 1 and cache.renewals == 1


def test_a_fresh_token_is_reused_until_it_expires_on_the_clock() -> None:
    cache, _, clock = _cache(lifetime=60.0)

    async def scenario() -> list[str]:
        first = await cache.token()
        clock.now += 59.0
        still = await cache.token()
        clock.now += 1.0
        return [first, still, await cache.token()]

    assert asyncio.run(scenario()) == ["token-1", "token-1", "token-2"]
    assert cache.renewals == 2


def test_a_token_without_expiry_is_kept_until_refused() -> None:
    cache, _, clock = _cache(lifetime=None)

    async def scenario() -> list[str]:
        first = await cache.token()
        clock.now += 10 * 365 * 86400.0
        return [first, await cache.token(), await cache.token(stale=first)]

    assert asyncio.run(scenario()) == ["token-1", "token-1", "token-2"]


def test_a_stale_token_forces_one_renewal_however_many_report_it() -> None:
    cache, vendor, _ = _cache()

    async def scenario() -> tuple[str, list[str], str]:
        first = await cache.token()
        renewed = await asyncio.gather(*(cache.token(stale=first) for _ in range(50)))
        # A caller still holding the first token learns of the renewal instead of renewing again.
        return first, renewed, await cache.token(stale=first)

    first, renewed, late = asyncio.run(scenario())
    assert first == "token-1" and renewed == ["token-2"] * 50 and late == "token-2"
    assert vendor.calls == 2


def _same(answer: object, failure: Exception | None) -> bool:
    """The remembered failure again: same class and message (each caller gets a copy)."""
    return type(answer) is type(failure) and str(answer) == str(failure)


def test_a_failed_renewal_is_shared_then_forgotten_when_the_clock_moves_on() -> None:
    cache, vendor, clock = _cache(policy=RememberFor(5.0))
    vendor.fail = UpstreamError("The vendor's token endpoint failed (HTTP 500)")

    async def burst() -> list[object]:
        return await asyncio.gather(*(cache.token() for _ in range(20)), return_exceptions=True)

    results = asyncio.run(burst())
    assert all(_same(r, vendor.fail) for r in results)
    assert vendor.calls == 1  # one attempt for twenty callers

    clock.now += 4.9
    assert all(_same(r, vendor.fail) for r in asyncio.run(burst()))
    assert vendor.calls == 1  # still remembered

    clock.now += 0.1
    vendor.fail = None
    assert asyncio.run(cache.token()) == "token-2"
    assert cache.renewals == 1


def test_a_clock_set_back_does_not_prolong_a_failure() -> None:
    cache, vendor, clock = _cache()
    vendor.fail = UpstreamError("down")
    with pytest.raises(UpstreamError):
        asyncio.run(cache.token())
    clock.now -= 3600.0
    vendor.fail = None
    assert asyncio.run(cache.token()) == "token-2"


def test_errors_that_are_not_the_vendors_answer_are_not_remembered() -> None:
    cache, vendor, _ = _cache()
    vendor.fail = RuntimeError("a bug, not an answer")
    with pytest.raises(RuntimeError):
        asyncio.run(cache.token())
    vendor.fail = None
    assert asyncio.run(cache.token()) == "token-2"


def test_oauth_policy_keeps_a_refused_grant_until_the_store_changes(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save("t1", Grant("revoked", 1.0))
    cache, vendor, clock = _cache(policy=UntilReconnected(store, "t1", seconds=5.0))
    vendor.fail = UpstreamSecurity("The vendor no longer accepts the gateway's authorization")

    with pytest.raises(UpstreamSecurity):
        asyncio.run(cache.token())
    clock.now += 86400.0  # time alone does not bring a revoked grant back
    with pytest.raises(UpstreamSecurity):
        asyncio.run(cache.token())
    assert vendor.calls == 1

    (tmp_path / "t1.json").unlink()  # the operator reconnects: a new grant is stored
    store.save("t1", Grant("reconnected", 2.0))
    vendor.fail = None
    assert asyncio.run(cache.token()) == "token-2"


def test_oauth_policy_retries_a_transient_failure_after_its_seconds(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    cache, vendor, clock = _cache(policy=UntilReconnected(store, "t1", seconds=5.0))
    vendor.fail = UpstreamError("The vendor's token endpoint failed (HTTP 503)")
    with pytest.raises(UpstreamError):
        asyncio.run(cache.token())
    with pytest.raises(UpstreamError):
        asyncio.run(cache.token())
    assert vendor.calls == 1
    clock.now += 5.0
    vendor.fail = None
    assert asyncio.run(cache.token()) == "token-2"


APP = OAuthApp("https://a/authorize", "https://a/token", "id", "secret")


Answer = Callable[[int], dict[str, Any]]  # the token endpoint's body for its n-th renewal


def _session(tmp_path: Path, answer: Answer) -> tuple[OAuthSession, TokenStore, SetClock[float], list[dict[str, str]]]:
    """A session on a stored grant `refresh-0`, whose token endpoint answers 200 with
    `answer(n)`; with its store, its clock and the forms the endpoint received."""
    store = TokenStore(tmp_path)
    store.save("t1", Grant("refresh-0", 1.0))
    clock = SetClock(1_700_000_000.0)
    forms: list[dict[str, str]] = []

    async def post(form: Any) -> tuple[int, Any]:
        forms.append(dict(form))
        return 200, answer(len(forms))

    return OAuthSession("t1", APP, store, post, clock=clock), store, clock, forms


def _tokens_over_an_hour(session: OAuthSession, clock: SetClock[float]) -> list[str]:
    """The tokens `session` gives at first, a minute and a second before an hour's token ends, and
    a second past that minute."""

    async def scenario() -> list[str]:
        first = await session.access_token()
        clock.now += 3600 - 61.0
        same = await session.access_token()
        clock.now += 2.0
        return [first, same, await session.access_token()]

    return asyncio.run(scenario())


def test_oauth_session_renews_on_its_clock(tmp_path: Path) -> None:
    session, store, clock, forms = _session(
        tmp_path, lambda n: {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600}
    )
    # renewed a minute before `expires_in` runs out
    assert _tokens_over_an_hour(session, clock) == ["access-1", "access-1", "access-2"]
    assert session.refreshes == 2
    assert [f["refresh_token"] for f in forms] == ["refresh-0", "refresh-1"]  # each rotation was stored
    loaded = store.load("t1")
    assert loaded is not None and loaded.refresh_token == "refresh-2"


def test_a_reconnect_wins_over_a_rotated_grant_the_store_could_not_take(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save("t1", Grant("refresh-0", 1.0, connected_at=1.0))
    forms: list[dict[str, str]] = []
    replace = os.replace

    async def post(form: Any) -> tuple[int, Any]:
        forms.append(dict(form))
        n = len(forms)
        return 200, {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600}

    session = OAuthSession("t1", APP, store, post)

    async def scenario() -> None:
        with pytest.MonkeyPatch.context() as patch:  # the disk refuses the rotated grant
            patch.setattr(token_store.os, "replace", lambda *_: (_ for _ in ()).throw(OSError("disk full")))
            with pytest.raises(OSError):
                await session.access_token()
        assert token_store.os.replace is replace
        store.save("t1", Grant("reconnected", 2.0, connected_at=2.0))  # the operator reconnects
        await session.access_token()

    asyncio.run(scenario())
    # The rotated refresh-1 was kept in memory, but the new connection is later than it.
    assert [f["refresh_token"] for f in forms] == ["refresh-0", "reconnected"]


def _response(status: int) -> UpstreamResponse:
    return UpstreamResponse(status, {}, b"{}")


class Api:
    """A vendor API that refuses every token in `refused`."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.sent: list[str] = []

    async def send(self, token: str) -> UpstreamResponse:
        self.sent.append(token)
        return _response(401 if token in self.refused else 200)


def test_a_401_renews_once_and_resends() -> None:
    cache, _, _ = _cache()
    api = Api({"token-1"})  # e.g. revoked at the vendor before it expired

    response = asyncio.run(cache.send_with_renewal(api.send))
    assert response.status == 200
    assert api.sent == ["token-1", "token-2"]
    assert cache.renewals == 2


def test_a_second_401_is_the_vendor_refusing_fresh_credentials() -> None:
    cache, _, _ = _cache()
    api = Api({"token-1", "token-2", "token-3"})

    with pytest.raises(UpstreamSecurity):
        asyncio.run(cache.send_with_renewal(api.send))
    assert api.sent == ["token-1", "token-2"]  # renewed once, not again and again
    assert cache.renewals == 2


def test_other_statuses_are_the_callers_to_read() -> None:
    cache, _, _ = _cache()

    async def missing(token: str) -> UpstreamResponse:
        return _response(404)

    assert asyncio.run(cache.send_with_renewal(missing)).status == 404
    assert cache.renewals == 1


def test_a_403_renews_once_per_token() -> None:
    # Nextech's documented statuses have no 401: an expired or revoked token may be a 403.
    cache, vendor, clock = _cache(lifetime=3600.0)
    revoked = {"token-1"}

    async def forbidding(token: str) -> UpstreamResponse:
        return _response(403 if token in revoked else 200)

    assert asyncio.run(cache.send_with_renewal(forbidding)).status == 200
    assert cache.renewals == 2
    # A 403 the fresh token meets too is the vendor refusing the request: the caller reads it,
    # and that token's later 403s renew nothing (no renewal, nor refresh-token rotation, each)...
    sent: list[str] = []

    async def refusing(token: str) -> UpstreamResponse:
        sent.append(token)
        return _response(403)

    assert asyncio.run(cache.send_with_renewal(refusing)).status == 403
    assert asyncio.run(cache.send_with_renewal(refusing)).status == 403
    assert sent == ["token-2", "token-3", "token-3"] and cache.renewals == 3
    # ...for a while: a revocation answered with 403 later is renewed again.
    clock.now = clock() + FORBIDDEN_TRUSTED_FOR + 1
    revoked.add("token-3")
    assert asyncio.run(cache.send_with_renewal(forbidding)).status == 200
    assert vendor.calls == 4


def test_a_403_after_a_refused_record_renews_once_the_token_has_been_answered_since() -> None:
    # A vendor answering an expired token with 403 (an Express jwt.verify, Django REST
    # Framework): minutes after another team's patient was refused, its token expires; the next
    # 403 must renew, not be read as a refusal for FORBIDDEN_TRUSTED_FOR.
    cache, vendor, clock = _cache(lifetime=None)
    expired: set[str] = set()

    def api(path: str) -> Callable[[str], Awaitable[UpstreamResponse]]:
        async def send(token: str) -> UpstreamResponse:
            return _response(403 if token in expired or path == "/patients/other-team" else 200)

        return send

    async def get(path: str) -> int:
        return (await cache.send_with_renewal(api(path), request_key("GET", path))).status

    async def scenario() -> list[int]:
        statuses = [await get("/patients/1"), await get("/patients/other-team")]  # a fresh token refused
        statuses += [await get("/patients/other-team"), await get("/patients/2")]  # no renewal; answered since
        clock.now = clock() + 60
        expired.add(await cache.token())  # the token expires: its 403s are no refusal of the request
        statuses += [await get("/patients/3"), await get("/patients/other-team")]
        return statuses

    assert asyncio.run(scenario()) == [200, 403, 403, 200, 200, 403]
    # token-1, token-2 for the first refusal, token-3 for the expiry; the remembered refusal
    # renews nothing, before the expiry or after it.
    assert vendor.calls == 3


def test_refused_records_one_after_another_cost_a_few_logins_a_minute_not_one_each() -> None:
    # A client reading another team's patients one by one, between reads that work: each
    # refusal was a vendor login (a Sanctum vendor stores a token row for each).
    cache, vendor, clock = _cache(lifetime=None)

    async def send(token: str, path: str) -> UpstreamResponse:
        return _response(403 if path.startswith("/foreign/") else 200)

    async def get(path: str) -> int:
        return (await cache.send_with_renewal(partial(send, path=path), request_key("GET", path))).status

    async def scenario() -> list[int]:
        statuses = []
        for number in range(20):
            statuses += [await get(f"/foreign/{number}"), await get(f"/own/{number}")]
        return statuses

    assert asyncio.run(scenario()) == [403, 200] * 20
    assert vendor.calls == 1 + USELESS_RENEWALS  # the first token, and the renewals of no use...
    clock.now += USELESS_WINDOW  # ...a minute on, another few
    assert asyncio.run(scenario()) == [403, 200] * 20
    assert vendor.calls == 1 + 2 * USELESS_RENEWALS


def test_a_login_giving_the_same_token_again_makes_the_403_the_requests() -> None:
    # Some logins hand back the token still valid: the 403 then refuses the request, and is
    # remembered as such, not a login each time it is asked.
    renewals: list[int] = []

    async def same_token() -> tuple[str, float | None]:
        renewals.append(1)
        return "the-token", None

    cache = TokenCache(same_token, clock=SetClock(1_700_000_000.0))

    async def refused(token: str) -> UpstreamResponse:
        return _response(403)

    async def scenario() -> list[int]:
        key = request_key("GET", "/patients/other-team")
        return [(await cache.send_with_renewal(refused, key)).status for _ in range(10)]

    assert asyncio.run(scenario()) == [403] * 10
    assert len(renewals) == 2  # the first token, and the one renewal that gave it again


def test_only_an_answer_that_took_the_token_counts_as_its_acceptance() -> None:
    # A 429 or a 503 may come before any check of the token: after a refused record, it does
    # not make the token's next 403 worth a renewal.
    cache, vendor, _ = _cache(lifetime=None)
    answers = {"/throttled": 429, "/down": 503}

    async def send(token: str, path: str) -> UpstreamResponse:
        return _response(403 if path.startswith("/foreign") else answers.get(path, 200))

    async def get(path: str) -> int:
        return (await cache.send_with_renewal(partial(send, path=path), request_key("GET", path))).status

    async def scenario() -> list[int]:
        return [await get(p) for p in ("/foreign", "/throttled", "/down", "/foreign-too")]

    assert asyncio.run(scenario()) == [403, 429, 503, 403]
    assert vendor.calls == 2  # the first token and the renewal at the first refusal only


def test_a_403_whose_renewal_fails_is_the_answer_and_the_token_stays() -> None:
    # A 403 may refuse the request, not the token: a token endpoint failing then must not take
    # the working token away from every other request of the tenant.
    cache, vendor, _ = _cache(lifetime=3600.0)
    forbidden_ids = {"/records/7"}

    async def scenario() -> list[int]:
        token = await cache.token()
        vendor.fail = UpstreamError("the token endpoint failed (HTTP 500)")
        statuses = []
        for path in ("/records/7", "/records/8", "/records/7"):

            async def send(sent: str, path: str = path) -> UpstreamResponse:
                return _response(403 if path in forbidden_ids or sent != token else 200)

            statuses.append((await cache.send_with_renewal(send)).status)
        return statuses

    assert asyncio.run(scenario()) == [403, 200, 403]


def test_concurrent_401s_share_one_renewal() -> None:
    cache, vendor, _ = _cache()
    api = Api({"token-1"})

    async def scenario() -> list[UpstreamResponse]:
        await cache.token()
        return await asyncio.gather(*(cache.send_with_renewal(api.send) for _ in range(50)))

    assert all(r.status == 200 for r in asyncio.run(scenario()))
    assert vendor.calls == 2


def test_a_remembered_failure_does_not_keep_its_callers_frames_alive() -> None:
    async def refused() -> tuple[str, float | None]:
        raise UpstreamSecurity("refused")

    cache = TokenCache(refused, policy=RememberFor(3600.0))

    async def scenario() -> list[int]:
        depths: list[int] = []
        for _ in range(50):
            try:
                await cache.token()
            except UpstreamSecurity as exc:
                tb, depth = exc.__traceback__, 0
                while tb is not None:
                    tb, depth = tb.tb_next, depth + 1
                depths.append(depth)
        return depths

    depths = asyncio.run(scenario())
    assert len(set(depths[1:])) == 1  # every remembered answer is as deep as the first one, not deeper


def test_a_refused_token_is_not_offered_again_while_renewal_fails() -> None:
    attempts = 0

    async def renew() -> tuple[str, float | None]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return "first", None
        raise UpstreamSecurity("refused")

    cache = TokenCache(renew)

    async def scenario() -> None:
        assert await cache.token() == "first"
        with pytest.raises(UpstreamSecurity):
            await cache.token(stale="first")
        assert cache.fresh() is None

    asyncio.run(scenario())


def test_a_caller_giving_up_does_not_cut_a_renewal_short() -> None:
    """With rotating refresh tokens, a renewal cut short after the vendor rotated could lose the
    only valid grant: the renewal finishes and keeps its token for the next caller."""
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_renewal() -> tuple[str, float | None]:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return f"token-{calls}", None

    cache = TokenCache(slow_renewal)

    async def scenario() -> str:
        caller = asyncio.ensure_future(cache.token())
        await started.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        waiting = asyncio.ensure_future(cache.token())  # joins the renewal still in flight
        await asyncio.sleep(0)
        release.set()
        return await waiting

    assert asyncio.run(scenario()) == "token-1"
    assert calls == 1 and cache.renewals == 1


@pytest.mark.parametrize("expires_in", [None, 0, -5, "1h", {"seconds": 60}, [], True, "nan", "inf"])
def test_a_token_lifetime_that_is_no_positive_number_is_the_docs_hour(tmp_path: Path, expires_in: Any) -> None:
    # Before, "1h" or an object raised out of the renewal (a 500), and "inf" kept a token forever.
    session, _, clock, _ = _session(tmp_path, lambda n: {"access_token": f"access-{n}", "expires_in": expires_in})
    assert _tokens_over_an_hour(session, clock) == ["access-1", "access-1", "access-2"]


@pytest.mark.parametrize("refresh_token", [None, "", 12345, {"token": "r"}])
def test_a_rotated_refresh_token_that_is_no_text_keeps_the_grant(tmp_path: Path, refresh_token: Any) -> None:
    session, store, _, _ = _session(
        tmp_path, lambda n: {"access_token": f"access-{n}", "refresh_token": refresh_token, "expires_in": 3600}
    )
    assert asyncio.run(session.access_token()) == "access-1"
    loaded = store.load("t1")
    assert loaded is not None and loaded.refresh_token == "refresh-0"


@pytest.mark.parametrize("answer", [{"access_token": "a"}, {"access_token": "a", "refresh_token": None}])
def test_a_code_exchange_answered_without_a_refresh_token_does_not_connect(answer: dict[str, Any]) -> None:
    # Before, a null one was stored as the text "None": connected, until the first renewal failed.
    async def post(form: Any) -> tuple[int, Any]:
        return 200, answer

    app = APP
    with pytest.raises(UpstreamSecurity, match="no refresh token"):
        asyncio.run(exchange_code(app, post, "code", "https://gw/callback", "verifier"))
