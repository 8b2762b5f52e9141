"""Identical vendor reads within one gateway request are made once (gateway.upstream.coalesce),
over real HTTP: concurrent or one after the other, never across requests, never past a write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.errors import Throttled, UpstreamError
from gateway.sandbox_host import serve_in_thread
from gateway.upstream.coalesce import read_once, shared_reads
from gateway.upstream.http import Timeouts, UpstreamClient

NO_RETRY = RetryPolicy(attempts=1)
NO_BREAKER = BreakerPolicy(consecutive=10_000, min_calls=10_000)


@dataclass
class Vendor:
    url: str = ""
    calls: list[str] = field(default_factory=list)  # "METHOD path?query" of each request it answered
    version: int = 0  # what a read answers; a write makes it the next one

    async def handle(self, request: Request) -> Response:
        self.calls.append(f"{request.method} {request.url.path}?{request.url.query}")
        if request.method != "GET":
            self.version += 1
        await asyncio.sleep(0.02)  # long enough for concurrent reads to overlap
        return JSONResponse({"version": self.version})


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    fake = Vendor()
    app = Starlette(routes=[Route("/{path:path}", fake.handle, methods=["GET", "POST", "PUT"])])
    running = serve_in_thread(app)
    fake.url = running.url
    yield fake
    running.stop()


def _client(vendor: Vendor) -> UpstreamClient:
    return UpstreamClient(vendor.url, Timeouts(1, 1, 2), 8, Resilience(NO_RETRY, NO_BREAKER))


async def _version(upstream: UpstreamClient, path: str = "/patients/1", **params: str) -> int:
    answer = await upstream.request("GET", path, params=params or None, headers={"Authorization": "Bearer a"})
    return int(answer.json()["version"])


def test_concurrent_and_repeated_identical_reads_of_one_request_reach_the_vendor_once(vendor: Vendor) -> None:
    async def scenario() -> list[int]:
        upstream = _client(vendor)
        try:
            with shared_reads():
                together = await asyncio.gather(*(_version(upstream) for _ in range(5)))
                again = await _version(upstream)
            return [*together, again]
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == [0] * 6
    assert vendor.calls == ["GET /patients/1?"]


def test_reads_that_differ_in_path_parameters_or_headers_each_reach_the_vendor(vendor: Vendor) -> None:
    async def scenario() -> None:
        upstream = _client(vendor)
        try:
            with shared_reads():
                await _version(upstream, "/patients/1")
                await _version(upstream, "/patients/2")
                await _version(upstream, "/patients/1", page="2")
                await upstream.request("GET", "/patients/1", headers={"Authorization": "Bearer b"})
        finally:
            await upstream.aclose()

    asyncio.run(scenario())
    assert len(vendor.calls) == 4


def test_two_requests_never_share_a_read(vendor: Vendor) -> None:
    async def request(upstream: UpstreamClient) -> int:
        with shared_reads():
            return await _version(upstream)

    async def scenario() -> None:
        upstream = _client(vendor)
        try:
            await asyncio.gather(request(upstream), request(upstream))
            await _version(upstream)  # outside any request's scope: made as asked
            await _version(upstream)
        finally:
            await upstream.aclose()

    asyncio.run(scenario())
    assert len(vendor.calls) == 4


def test_a_write_ends_the_sharing_so_a_read_after_it_sees_what_it_changed(vendor: Vendor) -> None:
    async def scenario() -> tuple[int, int]:
        upstream = _client(vendor)
        try:
            with shared_reads():
                before = await _version(upstream)
                await upstream.request("PUT", "/patients/1", json={"name": "x"})
                return before, await _version(upstream)
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == (0, 1)
    assert [call.split()[0] for call in vendor.calls] == ["GET", "PUT", "GET"]


def test_a_read_whose_first_caller_is_cancelled_is_read_again_by_the_one_waiting() -> None:
    started = asyncio.Event
    calls: list[str] = []

    async def scenario() -> str:
        began = started()

        async def slow(name: str) -> str:
            calls.append(name)
            began.set()
            await asyncio.sleep(0.05)
            return name

        with shared_reads():
            first = asyncio.ensure_future(read_once("key", lambda: slow("first")))
            await began.wait()
            second = asyncio.ensure_future(read_once("key", lambda: slow("second")))
            await asyncio.sleep(0)
            first.cancel()
            return await second

    assert asyncio.run(scenario()) == "second"
    assert calls == ["first", "second"]


def test_a_429_is_the_answer_of_the_reads_waiting_for_it_but_a_later_read_asks_again() -> None:
    """A 429 says when to ask again (RFC 6585 section 4): the reads in flight with it share it,
    but the read a vendor client makes after backing off must reach the vendor."""
    statuses = [429]  # then 200s
    calls = 0

    async def handle(request: Request) -> Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)  # long enough for the concurrent reads to overlap
        return JSONResponse({}, statuses.pop(0) if statuses else 200)

    running = serve_in_thread(Starlette(routes=[Route("/{path:path}", handle)]))

    async def scenario() -> list[int]:
        upstream = UpstreamClient(running.url, Timeouts(1, 1, 2), 8, Resilience(NO_RETRY, NO_BREAKER))
        try:
            with shared_reads():
                concurrent = await asyncio.gather(*(upstream.request("GET", "/patients") for _ in range(3)))
                later = await upstream.request("GET", "/patients")
                again = await upstream.request("GET", "/patients")
            return [answer.status for answer in (*concurrent, later, again)]
        finally:
            await upstream.aclose()

    try:
        assert asyncio.run(scenario()) == [429, 429, 429, 200, 200] and calls == 2
    finally:
        running.stop()


def test_a_read_refused_a_turn_under_the_vendors_limit_is_asked_again_later(vendor: Vendor) -> None:
    """The limit's refusal (a 429 for the client) says the read could not be sent yet, not what
    the vendor answers: a later identical read of the request (another section of a patient's
    record, gathered on after one could not be) waits for a turn of its own, as it did when the
    turn was taken before the shared read."""
    refusals = [Throttled("The vendor's request limit is used up; retry later", retry_after=1)]

    async def pace() -> None:
        if refusals:
            raise refusals.pop()

    async def scenario() -> int:
        upstream = UpstreamClient(vendor.url, Timeouts(1, 1, 2), 8, Resilience(NO_RETRY, NO_BREAKER), pace=pace)
        try:
            with shared_reads():
                with pytest.raises(Throttled):
                    await _version(upstream)
                return await _version(upstream)
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == 0 and len(vendor.calls) == 1


def test_an_error_is_the_answer_of_every_identical_read_of_the_request() -> None:
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise ConnectionError("vendor unreachable")

    answers = _three_callers_of_one_read(failing)
    assert calls == 1 and all(isinstance(answer, ConnectionError) for answer in answers)


def test_each_caller_sharing_a_failed_read_gets_an_error_of_its_own() -> None:
    """One error object raised to every caller would chain all their frames onto its traceback
    (and the request's shared reads with them, in a cycle only the collector frees)."""

    async def failing() -> str:
        await asyncio.sleep(0.01)
        raise UpstreamError("The vendor system could not be reached (ClientConnectorError)")

    answers = _three_callers_of_one_read(failing)
    assert all(isinstance(a, UpstreamError) and a.diagnostics.startswith("The vendor system") for a in answers)
    assert len({id(a) for a in answers}) == 3
    for answer in answers:  # no caller's traceback holds another caller's frames
        assert isinstance(answer, BaseException)
        frames = [tb.tb_frame for tb in _tracebacks(answer.__traceback__)]
        assert sum(frame.f_code.co_name == "read_once" for frame in frames) == 1


def _three_callers_of_one_read(read: Callable[[], Awaitable[str]]) -> list[BaseException | str]:
    """What three concurrent callers of one shared read within one request get."""

    async def scenario() -> list[BaseException | str]:
        with shared_reads():
            return await asyncio.gather(*(read_once("key", read) for _ in range(3)), return_exceptions=True)

    return asyncio.run(scenario())


def _tracebacks(tb: TracebackType | None) -> Iterator[TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next
