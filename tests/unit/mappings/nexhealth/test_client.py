"""The NexHealth client against its sandbox over HTTP: token lifecycle and rate limits.

Time is moved, not waited for: the client and the sandbox share a clock (`Clock` for token
lifetimes, `VirtualTime` where the client's rate limiter and backoff must sleep).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs

import pytest
from starlette.responses import JSONResponse

from gateway.contract import AdapterConfig, TenantContext
from gateway.errors import NotFound, Throttled, UpstreamSecurity
from gateway.sandbox_host import serve_in_thread
from gateway.upstream.coalesce import shared_reads
from mappings.nexhealth.client import NexHealthClient, _refused_parameter, _smaller_page
from mappings.nexhealth.options import NexHealthOptions
from sandboxes.clinic import build_clinic
from sandboxes.nexhealth.app import MAIN_LOCATION_ID, create_app
from tests.support.clock import OffsetClock as Clock

KEY, SUBDOMAIN = "test-api-key", "test-dental"
T = TypeVar("T")


class VirtualTime:
    """Time that passes only while every request of a burst sleeps.

    The client's sleeps (rate limiter, backoff) and the sandbox's clock use this instead of
    real time. When every request still running is asleep, time jumps to the earliest
    wake-up and that sleeper alone goes on. No request is at the vendor then (one in flight
    is not asleep), so the vendor sees each request at the instant the client sent it.
    A request waiting for another (e.g. for a token renewal) is neither asleep nor done, so
    only bursts whose token renewal never has to sleep may use it.
    """

    def __init__(self) -> None:
        self.now = time.time()
        self._running = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), woken))
        self._advance()
        await woken

    async def burst(self, calls: Sequence[Awaitable[Any]]) -> list[Any]:
        async def one(call: Awaitable[Any]) -> Any:
            try:
                return await call
            finally:
                self._running -= 1
                self._advance()

        self._running += len(calls)
        return await asyncio.gather(*(one(c) for c in calls), return_exceptions=True)

    def _advance(self) -> None:
        while self._sleepers and len(self._sleepers) >= self._running:
            wake, _, woken = heapq.heappop(self._sleepers)
            if not woken.cancelled():
                self.now = max(self.now, wake)
                woken.set_result(None)
                return


def _serve(**kwargs: Any) -> tuple[Any, Any]:
    app = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN, **kwargs)
    return app, serve_in_thread(app, name="nexhealth-sandbox")


def _client(url: str, key: str = KEY, time: Clock | VirtualTime | None = None, **options: Any) -> NexHealthClient:
    config = AdapterConfig(
        url,
        TenantContext("t", "urn:t"),
        NexHealthOptions(subdomain=SUBDOMAIN, location_id=MAIN_LOCATION_ID, **options),
        {"api_key": key},
    )
    if isinstance(time, VirtualTime):
        return NexHealthClient(config, clock=time, sleep=time.sleep)
    return NexHealthClient(config, clock=time)


async def _burst(client: NexHealthClient, n: int, time: VirtualTime | None = None) -> list[Any]:
    calls = [client.request("GET", "/patients", params={"per_page": 1}) for _ in range(n)]
    if time is not None:
        return await time.burst(calls)
    return await asyncio.gather(*calls, return_exceptions=True)


def _with_client(app: Any, use: Callable[[NexHealthClient], Awaitable[T]], **client: Any) -> T:
    """`use` a client (`_client`'s keywords) of the NexHealth `app` serves: the sandbox, or an
    ASGI wrapper around it that answers some requests itself."""
    running = serve_in_thread(app, name="nexhealth-sandbox")
    try:

        async def scenario() -> T:
            connected = _client(running.url, **client)
            try:
                return await use(connected)
            finally:
                await connected.aclose()

        return asyncio.run(scenario())
    finally:
        running.stop()


@pytest.fixture(params=["envelope", "html"])
def short_lived(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, Clock]]:
    # An Express implementation refuses an expired token with express-jwt's HTML page, not
    # the envelope: the 401 alone must renew the token.
    clock = Clock()
    app, running = _serve(token_ttl=3.0, clock=clock, framework_errors=request.param)
    yield app, running, clock
    running.stop()


@pytest.mark.slow
def test_token_renewed_once_before_expiry_under_load(short_lived: tuple[Any, Any, Clock]) -> None:
    app, running, clock = short_lived

    async def scenario() -> NexHealthClient:
        client = _client(running.url, time=clock)
        try:
            assert not [r for r in await _burst(client, 20) if isinstance(r, Exception)]
            clock.offset += 3.2  # past the 3 s lifetime, for the client and the vendor alike
            assert not [r for r in await _burst(client, 30) if isinstance(r, Exception)]
            return client
        finally:
            await client.aclose()

    client = asyncio.run(scenario())
    assert client.authentications == 2
    assert app.state.authentications == 2


@pytest.mark.slow
def test_server_side_expiry_gives_exactly_one_reauthentication_under_load(short_lived: tuple[Any, Any, Clock]) -> None:
    app, running, clock = short_lived

    async def scenario() -> NexHealthClient:
        client = _client(running.url)
        try:
            assert not [r for r in await _burst(client, 10) if isinstance(r, Exception)]
            clock.offset = 10.0  # the vendor now sees our token as expired; we still think it is fresh
            results = await _burst(client, 40)
            assert not [r for r in results if isinstance(r, Exception)]
            return client
        finally:
            await client.aclose()

    client = asyncio.run(scenario())
    assert client.authentications == 2
    assert app.state.authentications == 2


def test_a_route_the_vendor_lacks_is_not_found_even_as_an_html_page() -> None:
    # Express answers a route it has not got with "Cannot GET /providers" as text/html; the
    # clean-room round met that as a 502 "not JSON" on every create. The status decides.
    _, running = _serve(providers="absent", framework_errors="html")
    try:

        async def scenario() -> None:
            client = _client(running.url)
            try:
                await client.request("GET", "/providers", params={"per_page": 1})
            finally:
                await client.aclose()

        with pytest.raises(NotFound):
            asyncio.run(scenario())
    finally:
        running.stop()


def test_wrong_api_key_is_a_security_error() -> None:
    _, running = _serve()
    try:

        async def scenario() -> None:
            client = _client(running.url, key="wrong")
            try:
                await client.request("GET", "/patients")
            finally:
                await client.aclose()

        with pytest.raises(UpstreamSecurity):
            asyncio.run(scenario())
    finally:
        running.stop()


def test_client_stays_under_the_vendor_limit() -> None:
    clock = VirtualTime()
    app, running = _serve(rate_per_second=10, rate_per_minute=1000, clock=clock)
    try:

        async def scenario() -> list[Any]:
            client = _client(running.url, time=clock, rate_per_second=10)
            try:
                return await _burst(client, 25, clock)
            finally:
                await client.aclose()

        started = clock()
        results = asyncio.run(scenario())
        assert not [r for r in results if isinstance(r, Exception)]
        assert clock() - started >= 1.5  # 26 calls at 9/s cannot finish sooner
        assert app.state.requests == 26  # 25 searches and one authentication: no 429 was ever needed
    finally:
        running.stop()


def test_vendor_429_is_backed_off_and_retried() -> None:
    clock = VirtualTime()
    app, running = _serve(rate_per_second=5, rate_per_minute=1000, clock=clock)
    try:

        async def scenario() -> list[Any]:
            # We believe in a higher limit than the vendor's.
            client = _client(running.url, time=clock, rate_per_second=100, max_queue_seconds=8)
            try:
                return await _burst(client, 12, clock)
            finally:
                await client.aclose()

        results = asyncio.run(scenario())
        assert not [r for r in results if isinstance(r, Exception)], results
        assert app.state.requests > 13  # some calls were refused with 429 and retried
    finally:
        running.stop()


def test_requests_that_cannot_be_served_in_time_get_429_with_retry_after() -> None:
    clock = VirtualTime()
    _, running = _serve(rate_per_second=100, rate_per_minute=1000, clock=clock)
    try:

        async def scenario() -> list[Any]:
            client = _client(running.url, time=clock, rate_per_second=5, max_queue_seconds=0.5)
            try:
                return await _burst(client, 10, clock)
            finally:
                await client.aclose()

        results = asyncio.run(scenario())
        throttled = [r for r in results if isinstance(r, Throttled)]
        assert throttled and all(int(t.headers["Retry-After"]) >= 1 for t in throttled)
        assert any(not isinstance(r, Exception) for r in results)
    finally:
        running.stop()


def test_a_vendor_retry_after_longer_than_the_wait_is_passed_on_at_once() -> None:
    # The docs say nothing of limits: a NexHealth that does send Retry-After (here: when its
    # minute ends) is not asked again within it, and our client is told the vendor's wait.
    clock = VirtualTime()
    clock.now = math.floor(clock.now / 60) * 60 + 1.0  # a second into a minute: 59 s of it left
    app, running = _serve(rate_per_second=100, rate_per_minute=4, clock=clock, retry_after="seconds")
    try:

        async def scenario() -> list[Any]:
            client = _client(running.url, time=clock, rate_per_second=100, max_queue_seconds=5)
            try:
                return await _burst(client, 8, clock)
            finally:
                await client.aclose()

        results = asyncio.run(scenario())
        throttled = [r for r in results if isinstance(r, Throttled)]
        assert len(throttled) == 5 and all(t.headers["Retry-After"] == "59" for t in throttled), results
        assert app.state.requests == 9  # one authentication and 8 searches, each asked once
    finally:
        running.stop()


def test_backing_off_from_429s_never_keeps_a_request_past_its_wait() -> None:
    """`max_queue_seconds` is the longest a request waits on NexHealth's limit; its own backoff
    (at least a quarter of a second) must not sleep past it and ask once more after it."""
    clock = VirtualTime()
    inner = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN, clock=clock)

    async def always_throttling(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/patients":
            await JSONResponse({"error": ["Too many requests"]}, status_code=429)(scope, receive, send)
            return
        await inner(scope, receive, send)

    async def timed(client: NexHealthClient) -> tuple[float, Any]:
        started = clock()
        [answer] = await _burst(client, 1, clock)
        return clock() - started, answer

    waited, answer = _with_client(always_throttling, timed, time=clock, max_queue_seconds=0.1)
    assert isinstance(answer, Throttled)
    assert waited <= 0.1 + 1e-6, f"waited {waited:.2f} s on a request allowed 0.1 s"


@pytest.mark.slow
def test_a_vendor_429_is_retried_at_the_vendor_within_a_gateway_request() -> None:
    """Every gateway request shares its identical vendor reads (gateway.upstream.coalesce), and
    the client's retry after a 429 is such a read: it must reach NexHealth again, not take the
    429 kept from the first attempt, backing off against it until the client is told 429."""
    inner = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN)
    searches: list[int] = []

    async def throttling_the_first_search(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/patients":
            searches.append(1)
            if len(searches) == 1:
                await JSONResponse({"error": ["Too many requests"]}, status_code=429)(scope, receive, send)
                return
        await inner(scope, receive, send)

    async def search(client: NexHealthClient) -> Any:
        with shared_reads():  # as the REST layer opens around each request
            return await client.request("GET", "/patients", params={"per_page": 1})

    envelope = _with_client(throttling_the_first_search, search)
    assert len(searches) == 2 and envelope.data


@pytest.mark.slow
def test_a_client_that_waits_the_retry_after_of_a_throttled_authentication_is_served() -> None:
    """NexHealth counts `POST /authenticates` against the key's limit, and may answer it 429.
    The failed renewal is shared with the requests that come after it for a few seconds, but
    not past the wait our client was told (RFC 6585 section 4): a client that waits its
    Retry-After and asks again reaches NexHealth, rather than the 429 remembered."""
    inner = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN)
    authentications: list[int] = []

    async def throttling_the_first_authentication(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/authenticates":
            authentications.append(1)
            if len(authentications) == 1:
                await JSONResponse({"error": ["Too many requests"]}, status_code=429)(scope, receive, send)
                return
        await inner(scope, receive, send)

    async def search_twice(client: NexHealthClient) -> tuple[str, Any]:
        try:
            await client.request("GET", "/patients", params={"per_page": 1})
        except Throttled as throttled:
            wait = throttled.headers["Retry-After"]
        else:
            raise AssertionError("the first search was not throttled")
        await asyncio.sleep(int(wait) + 0.05)
        return wait, await client.request("GET", "/patients", params={"per_page": 1})

    wait, envelope = _with_client(throttling_the_first_authentication, search_twice)
    assert int(wait) < 5 and envelope.data and len(authentications) == 2


def test_a_call_retried_after_a_vendor_failure_waits_its_turn() -> None:
    """The core retries a read NexHealth failed (gateway.upstream.retry). NexHealth counts the
    retry as it counted the first attempt, but the turn was taken once, before the call: a burst
    whose calls failed one in three sent 12 requests in a second under a limit of 10, enough
    for the vendor's 429s (and, behind ASP.NET Core's limiter, for 503s retried again)."""
    clock = VirtualTime()
    inner = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN, clock=clock, rate_per_minute=100_000)
    arrivals: list[float] = []
    searches = itertools.count(1)

    async def failing_one_in_three(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            arrivals.append(clock())
            if scope["path"] == "/patients" and next(searches) % 3 == 0:
                await JSONResponse({"error": ["temporarily unavailable"]}, status_code=503)(scope, receive, send)
                return
        await inner(scope, receive, send)

    limit = {"rate_per_second": 10, "rate_per_minute": 100_000, "max_queue_seconds": 30}
    results = _with_client(failing_one_in_three, lambda client: _burst(client, 24, clock), time=clock, **limit)
    # A call may fail on each of its three attempts; nearly all are answered on a retry.
    assert sum(1 for r in results if not isinstance(r, Exception)) >= 20, results
    assert len(arrivals) > 25  # the failed calls were retried
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)
    assert busiest <= 10, f"{busiest} requests reached NexHealth within one second"


@pytest.mark.parametrize(
    ("sent", "message", "expected"),
    [
        (100, "The vendor rejected the request: per_page must be less than or equal to 50", 50),
        (100, 'The vendor rejected the request: "per_page" must be between 1 and 25', 25),
        (100, "The vendor rejected the request: per_page is too large", 50),  # no number: the next usual size
        (26, "per_page must be less than 26", 25),
        # Rails' `full_messages` and Laravel name the field as people read it; NestJS's DTO in camelCase.
        (100, "The vendor rejected the request: base Per page must be less than or equal to 50", 50),
        (100, "The vendor rejected the request: The per page field must not be greater than 25.", 25),
        (100, "The vendor rejected the request: perPage must not be greater than 20", 20),
        (100, "The vendor rejected the request: superpage must be less than 50", None),  # another word
        (100, "The vendor rejected the request: start is not a date", None),  # not about per_page
        (1, "per_page must be at least 1", None),
        (None, "per_page must be less than or equal to 50", None),  # no page size was sent
    ],
)
def test_a_refused_page_size_is_asked_again_smaller(sent: int | None, message: str, expected: int | None) -> None:
    assert _smaller_page(sent, message) == expected


def test_a_page_size_refused_by_one_list_is_not_imposed_on_another() -> None:
    # A limit learned on /appointments (a validator's maximum of 50) was applied to every list:
    # a patient walk begun at 100 a page (its page 1 held 100, its position says so) then had
    # its page 2 asked at 50, which is records 51-100 again, while the walk counted pages of
    # 100 to the total: records served twice, and the last ones never.
    app = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN)
    seen: list[str] = []

    async def limited(scope: Any, receive: Any, send: Any) -> None:
        query = parse_qs(scope.get("query_string", b"").decode())
        if scope["type"] == "http" and scope["path"] == "/patients":
            seen.append(query["per_page"][0])
        if scope["type"] == "http" and scope["path"] == "/appointments" and int(query["per_page"][0]) > 50:
            refusal = {"code": False, "description": None, "data": None, "error": ["per_page must be <= 50"]}
            await JSONResponse(refusal, status_code=400)(scope, receive, send)
            return
        await app(scope, receive, send)

    async def two_lists(client: NexHealthClient) -> None:
        window = {"patient_id": 1, "start": "2000-01-01T00:00:00Z", "end": "2001-01-01T00:00:00Z"}
        await client.request("GET", "/appointments", params={**window, "per_page": 100})
        await client.request("GET", "/patients", params={"per_page": 100, "page": 2})

    _with_client(limited, two_lists)
    assert seen == ["100"]


def test_a_search_parameter_refused_as_unknown_is_left_out_with_a_warning() -> None:
    # The docs name no `foreign_id` among the patient search's parameters: a Joi schema written
    # from them refuses it. The call is asked again without it (the gateway filters the wider
    # answer), says so in a warning, and that list is not sent it again.
    app = create_app(build_clinic(), api_key=KEY, subdomain=SUBDOMAIN, undocumented_params="refused")
    sent: list[dict[str, list[str]]] = []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/patients":
            sent.append(parse_qs(scope.get("query_string", b"").decode()))
        await app(scope, receive, send)

    async def twice(client: NexHealthClient) -> list[Any]:
        asked = {"foreign_id": "C00012", "per_page": 5}
        return [await client.request("GET", "/patients", params=asked) for _ in range(2)]

    answers = _with_client(counting, twice)
    assert [bool(a.warnings) for a in answers] == [True, True]
    assert all("foreign_id" in a.warnings[0] for a in answers)
    assert ["foreign_id" in query for query in sent] == [True, False, False]  # refused once, then left out


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('The vendor rejected the request: "foreign_id" is not allowed', "foreign_id"),
        ("The vendor rejected the request: date_of_birth: Extra inputs are not permitted", "date_of_birth"),
        ("The vendor rejected the request: per_page must be less than or equal to 50", None),
        ("The vendor rejected the request: location_id must be an integer", None),  # not one to do without
        ("The vendor rejected the request: Date of birth is not a permitted parameter", "date_of_birth"),
        ("The vendor rejected the request: Foreign id is not allowed", "foreign_id"),
    ],
)
def test_the_search_parameter_a_refusal_names(message: str, expected: str | None) -> None:
    sent = {"foreign_id": "C1", "date_of_birth": "1990-01-01", "per_page": 100, "location_id": "x"}
    assert _refused_parameter(sent, message) == expected
