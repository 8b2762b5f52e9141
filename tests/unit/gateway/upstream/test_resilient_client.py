"""The vendor HTTP client under faults, over real HTTP: retries of what is safe to repeat, within
budget and deadline, and the breaker that answers at once while the vendor is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.concurrently import concurrently
from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.errors import (
    FHIRError,
    Gone,
    NotFound,
    PreconditionFailed,
    Throttled,
    UpstreamTimeout,
    UpstreamUnusable,
    VendorUnavailable,
)
from gateway.sandbox_host import serve_in_thread
from gateway.upstream.coalesce import shared_reads
from gateway.upstream.errors import error_for_status, error_from_response
from gateway.upstream.http import MAX_REDIRECTS, Timeouts, UpstreamClient
from gateway.upstream.ratelimit import RateLimit, Window
from gateway.upstream.tentative import tentative

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
NO_BREAKER = BreakerPolicy(consecutive=10_000, min_calls=10_000)


@dataclass
class Vendor:
    failures: list[int] = field(default_factory=list)  # statuses to answer before a 200
    calls: int = 0
    down: bool = False
    url: str = ""

    async def handle(self, request: Request) -> Response:
        self.calls += 1
        if request.url.path.startswith("/slow/"):
            await asyncio.sleep(float(request.url.path.split("/")[-1]))
            return JSONResponse({"ok": True})
        if request.url.path.startswith("/slow-failing/"):  # a 503 after a wait
            await asyncio.sleep(float(request.url.path.split("/")[-1]))
            return JSONResponse({"error": "overloaded"}, 503)
        if request.url.path.startswith("/loop/"):  # a redirect to itself, every time
            return Response(status_code=302, headers={"Location": request.url.path})
        if request.url.path.startswith("/fail/"):
            return JSONResponse({"error": "down"}, 500)
        if request.url.path.startswith("/throttled/"):  # Starlette writes header names in lower case
            return JSONResponse({"error": "slow down"}, 429, headers={"Retry-After": request.url.path.split("/")[-1]})
        if self.down:
            return JSONResponse({"error": "down"}, 500)
        if self.failures:
            return JSONResponse({"error": "x"}, self.failures.pop(0))
        return JSONResponse({"ok": True})


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    fake = Vendor()
    app = Starlette(routes=[Route("/{path:path}", fake.handle, methods=["GET", "POST"])])
    running = serve_in_thread(app)
    fake.url = running.url
    yield fake
    running.stop()


def client(vendor: Vendor, retry: RetryPolicy = FAST_RETRY, breaker: BreakerPolicy = NO_BREAKER) -> UpstreamClient:
    return UpstreamClient(vendor.url, Timeouts(1, 1, 2), 8, Resilience(retry, breaker))


def test_a_failed_get_is_retried_and_succeeds(vendor: Vendor) -> None:
    vendor.failures = [503, 500]

    async def scenario() -> int:
        upstream = client(vendor)
        try:
            return (await upstream.request("GET", "/patients")).status
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == 200 and vendor.calls == 3


def test_every_attempt_waits_its_turn_under_the_vendors_limit(vendor: Vendor) -> None:
    # A vendor counts each request it receives: a retry takes a turn of its own (`pace`, the
    # connection's RateLimit.acquire), taken before it is sent.
    vendor.failures = [503, 502]
    turns: list[int] = []  # the vendor's count of calls when each turn was given

    async def pace() -> None:
        turns.append(vendor.calls)

    async def scenario() -> int:
        upstream = UpstreamClient(vendor.url, Timeouts(1, 1, 2), 8, Resilience(FAST_RETRY, NO_BREAKER), pace=pace)
        try:
            return (await upstream.request("GET", "/patients")).status
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == 200
    assert turns == [0, 1, 2] and vendor.calls == 3


def test_a_call_the_open_breaker_refuses_neither_waits_nor_uses_a_turn(vendor: Vendor) -> None:
    """An open breaker refuses at once with a 503 and its Retry-After: the call sends nothing,
    so it must not wait for a turn under the vendor's limit, nor use one up that a call the
    vendor does receive then waits for. A turn taken first made a burst against a failed vendor
    answer 429 ("the request limit is used up") once the limit's queue was full."""
    vendor.down = True
    # A window of one request a second (a turn every 1.2 s) and half a second's queue: a second
    # turn within the test is refused with a 429 at once.
    limit = RateLimit([Window(1, 1.0)], max_wait=0.5)
    turns = 0

    async def pace() -> None:
        nonlocal turns
        turns += 1
        await limit.acquire()

    async def scenario() -> FHIRError:
        tight = BreakerPolicy(consecutive=1, min_calls=10_000, open_for=60)
        upstream = UpstreamClient(
            vendor.url, Timeouts(1, 1, 2), 8, Resilience(RetryPolicy(attempts=1), tight), pace=pace
        )
        try:
            assert (await upstream.request("GET", "/patients")).status == 500  # the breaker opens
            with pytest.raises(FHIRError) as refused:
                await upstream.request("GET", "/patients")
            return refused.value
        finally:
            await upstream.aclose()

    refused = asyncio.run(scenario())
    assert isinstance(refused, VendorUnavailable), f"{refused.status}: {refused}"
    assert refused.headers["Retry-After"] == "60" and turns == 1 and vendor.calls == 1


@pytest.mark.parametrize("turn", ["refused", "given up"])
def test_a_call_that_gets_no_turn_while_half_open_leaves_the_probe_to_the_next(vendor: Vendor, turn: str) -> None:
    """The half-open breaker lets one probe through. A call refused a turn under the vendor's
    limit (its client gets the 429), or given up while it waits for one, sends nothing: it
    must not hold the probe, or the breaker would refuse every call from then on."""
    vendor.down = True
    starved = True

    async def pace() -> None:
        if starved:
            if turn == "refused":
                raise Throttled("The vendor's request limit is used up; retry later", retry_after=1)
            await asyncio.sleep(5)

    async def scenario() -> int:
        nonlocal starved
        quick = BreakerPolicy(consecutive=1, min_calls=10_000, open_for=0.1)
        upstream = UpstreamClient(
            vendor.url, Timeouts(1, 1, 2), 8, Resilience(RetryPolicy(attempts=1), quick), pace=pace
        )
        try:
            starved = False
            assert (await upstream.request("GET", "/patients")).status == 500  # the breaker opens
            vendor.down, starved = False, True
            await asyncio.sleep(0.15)  # half-open
            if turn == "refused":
                with pytest.raises(Throttled):
                    await upstream.request("GET", "/patients")
            else:
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await upstream.request("GET", "/patients")
            starved = False
            return (await upstream.request("GET", "/patients")).status  # the probe: the breaker closes
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == 200 and vendor.calls == 2


@pytest.mark.slow
def test_a_probe_after_a_wait_for_its_turn_still_settles_the_breaker_when_its_sibling_is_refused(
    vendor: Vendor,
) -> None:
    """A request making two calls at once while the breaker is half-open, each waiting for its
    turn under the vendor's limit (a busy limit, or the shared state's round trip): the one let
    through probes, the other is refused, which cancels the probe. Were the probe chosen before
    its wait, it would be cancelled before it was sent, every time: the breaker never settled,
    and every such request was refused while the vendor was back."""
    vendor.down = True

    async def pace() -> None:
        await asyncio.sleep(0.01)

    async def scenario() -> list[int]:
        quick = BreakerPolicy(consecutive=1, min_calls=10_000, open_for=0.2)
        upstream = UpstreamClient(
            vendor.url, Timeouts(1, 1, 2), 8, Resilience(RetryPolicy(attempts=1), quick), pace=pace
        )
        try:
            assert (await upstream.request("GET", "/patients")).status == 500  # the breaker opens
            vendor.down = False
            await asyncio.sleep(0.25)  # half-open
            with pytest.raises(VendorUnavailable):
                await concurrently(upstream.request("GET", "/patients"), upstream.request("GET", "/count"))
            await asyncio.sleep(0.1)  # the probe's answer has come back
            both = await concurrently(upstream.request("GET", "/patients"), upstream.request("GET", "/count"))
            return [answer.status for answer in both]
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == [200, 200] and vendor.calls == 4


@pytest.mark.parametrize("status", [400, 404, 409, 429])
def test_answers_a_retry_cannot_change_are_not_retried(vendor: Vendor, status: int) -> None:
    vendor.failures = [status]

    async def scenario() -> int:
        upstream = client(vendor)
        try:
            return (await upstream.request("GET", "/patients")).status
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == status and vendor.calls == 1


def test_a_write_is_sent_once_unless_the_vendor_dedupes_it(vendor: Vendor) -> None:
    async def scenario() -> tuple[int, int]:
        upstream = client(vendor)
        try:
            vendor.failures = [503]
            plain = (await upstream.request("POST", "/patients", json={})).status
            vendor.failures = [503]
            keyed = (await upstream.request("POST", "/patients", json={}, headers={"Idempotency-Key": "k1"})).status
            return plain, keyed
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == (503, 200)
    assert vendor.calls == 3  # the plain POST once; the keyed one twice


@pytest.mark.slow
def test_retries_end_by_the_calls_total_deadline(vendor: Vendor) -> None:
    """A vendor that fails slowly: the retry gets what is left of the call's total timeout, not
    a whole one of its own, so the FHIR client hears within that timeout, not nearly twice it."""

    async def scenario() -> tuple[float, BaseException | int]:
        upstream = UpstreamClient(vendor.url, Timeouts(1, 2, 1.0), 8, Resilience(FAST_RETRY, NO_BREAKER))
        started = time.monotonic()
        try:
            answer: BaseException | int = (await upstream.request("GET", "/slow-failing/0.7")).status
        except FHIRError as error:
            answer = error
        finally:
            await upstream.aclose()
        return time.monotonic() - started, answer

    elapsed, answer = asyncio.run(scenario())
    assert elapsed < 1.0 * 1.25, f"the call took {elapsed:.2f} s under a 1 s total timeout"
    assert isinstance(answer, UpstreamTimeout) and vendor.calls == 2


def _one_get(vendor: Vendor, path: str, total: float, retry: RetryPolicy) -> tuple[int, BaseException | int]:
    """(retries taken from the budget, the status or the error) of one GET."""

    async def scenario() -> tuple[int, BaseException | int]:
        upstream = UpstreamClient(vendor.url, Timeouts(1, 2, total), 8, Resilience(retry, NO_BREAKER))
        try:
            answer: BaseException | int = (await upstream.request("GET", path)).status
        except FHIRError as error:
            answer = error
        finally:
            await upstream.aclose()
        return upstream.budget.retries, answer

    return asyncio.run(scenario())


@pytest.mark.slow
def test_a_retry_the_deadline_stops_spends_no_budget(vendor: Vendor) -> None:
    # The first attempt meets the total timeout: no retry can be sent, so none is taken from
    # the budget other calls share.
    retries, answer = _one_get(vendor, "/slow/0.6", 0.3, FAST_RETRY)
    assert isinstance(answer, UpstreamTimeout) and vendor.calls == 1
    assert retries == 0


@pytest.mark.slow
def test_no_retry_is_sent_without_time_for_it_after_its_backoff(vendor: Vendor) -> None:
    # A 503 that took 0.9 s of a 1 s deadline: a retry would be sent with a few milliseconds
    # left, sure to time out. The vendor's own answer is what the caller gets, the vendor is not
    # called again, and no retry is taken from the budget other calls share.
    slow = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1, budget_ratio=0.2, budget_burst=10)
    retries, answer = _one_get(vendor, "/slow-failing/0.9", 1.0, slow)
    assert vendor.calls == 1 and retries == 0
    assert answer == 503 or isinstance(answer, UpstreamTimeout)  # a slow machine may have met the deadline


@pytest.mark.slow
def test_a_retry_whose_turn_leaves_it_no_time_is_not_sent(vendor: Vendor) -> None:
    # The retry was judged to have time, then waited 0.56 s for its turn under the vendor's
    # rate limit: sent now it would have a few milliseconds. It is not sent.
    policy = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, budget_ratio=0.2, budget_burst=10)
    turns: list[float] = []

    async def pace() -> None:
        if turns:
            await asyncio.sleep(0.56)
        turns.append(time.monotonic())

    async def scenario() -> BaseException | int:
        upstream = UpstreamClient(vendor.url, Timeouts(1, 2, 1.0), 8, Resilience(policy, NO_BREAKER), pace=pace)
        try:
            return (await upstream.request("GET", "/slow-failing/0.4")).status
        except FHIRError as error:
            return error
        finally:
            await upstream.aclose()

    answer = asyncio.run(scenario())
    assert vendor.calls == 1 and isinstance(answer, UpstreamTimeout)


def test_an_answer_no_retry_mends_is_not_retried(vendor: Vendor) -> None:
    # A redirect loop is the same on every try: one attempt, no retry taken from the budget.
    retries, answer = _one_get(vendor, "/loop/x", 2.0, FAST_RETRY)
    assert isinstance(answer, UpstreamUnusable) and answer.code == "processing"
    assert retries == 0 and vendor.calls == MAX_REDIRECTS + 1


def test_the_last_attempt_spends_no_retry(vendor: Vendor) -> None:
    # Three attempts on a vendor that always fails: two retries sent, two taken from the budget
    # (tenacity's retry predicate was asked, and spent, after the last attempt too).
    vendor.down = True

    async def scenario() -> int:
        upstream = client(vendor)
        try:
            assert (await upstream.request("GET", "/patients")).status == 500
        finally:
            await upstream.aclose()
        return upstream.budget.retries

    assert asyncio.run(scenario()) == 2 and vendor.calls == 3


def test_retries_stay_within_the_budget(vendor: Vendor) -> None:
    vendor.down = True
    budgeted = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=2)

    async def scenario() -> UpstreamClient:
        upstream = client(vendor, budgeted)
        try:
            for _ in range(50):
                await upstream.request("GET", "/patients")
        finally:
            await upstream.aclose()
        return upstream

    upstream = asyncio.run(scenario())
    print(f"\n50 GETs on a dead vendor: {vendor.calls} vendor calls, {upstream.budget.retries} retries")
    assert upstream.budget.retries <= 2 + 0.2 * 50
    assert vendor.calls <= 50 * 1.2 + 2


@pytest.mark.slow
def test_the_breaker_opens_answers_at_once_and_closes_when_the_vendor_is_back(vendor: Vendor) -> None:
    vendor.down = True
    quick = BreakerPolicy(window=10, min_calls=20, failure_ratio=0.5, consecutive=5, open_for=0.3)

    async def scenario() -> None:
        upstream = client(vendor, RetryPolicy(attempts=1), quick)
        try:
            for _ in range(5):
                assert (await upstream.request("GET", "/patients")).status == 500
            seen = vendor.calls
            started = time.perf_counter()
            with pytest.raises(VendorUnavailable) as refused:
                await upstream.request("GET", "/patients")
            elapsed = time.perf_counter() - started
            print(f"\nrefused by the open breaker in {elapsed * 1000:.2f} ms")
            assert elapsed < 0.010 and vendor.calls == seen
            assert refused.value.headers["Retry-After"] == "1"
            vendor.down = False
            await asyncio.sleep(0.35)
            assert (await upstream.request("GET", "/patients")).status == 200  # the probe
            assert (await upstream.request("GET", "/patients")).status == 200  # closed again
        finally:
            await upstream.aclose()

    asyncio.run(scenario())


def test_a_call_whose_own_failures_open_the_breaker_answers_with_the_vendors_failure(vendor: Vendor) -> None:
    # Its retry is refused by the breaker its own attempts opened: the client hears the vendor
    # failing (its 500: a 502 for the client), not "paused" as if others had tripped it; the next
    # call is refused at once.
    vendor.down = True
    tripping = BreakerPolicy(window=10, min_calls=100, failure_ratio=0.5, consecutive=2, open_for=30)

    async def scenario() -> None:
        upstream = client(vendor, FAST_RETRY, tripping)
        try:
            assert (await upstream.request("GET", "/patients")).status == 500
            assert vendor.calls == 2  # the third attempt was refused, not sent
            with pytest.raises(VendorUnavailable):
                await upstream.request("GET", "/patients")
            assert vendor.calls == 2
        finally:
            await upstream.aclose()

    asyncio.run(scenario())


@pytest.mark.slow
@pytest.mark.parametrize("vendor_back", [True, False])
def test_a_probe_cancelled_by_its_requests_refused_sibling_still_settles_the_breaker(
    vendor: Vendor, vendor_back: bool
) -> None:
    """A request making two calls at once (a search and its count) while the breaker is half-open:
    one is the probe, the other is refused, which cancels the probe. The probe's answer still
    closes the breaker (the vendor is back) or opens it again (it is not); before, the breaker
    stayed half-open, and every such request sent one call and was refused all the same."""
    vendor.down = True
    quick = BreakerPolicy(window=10, min_calls=20, failure_ratio=0.5, consecutive=5, open_for=0.2)

    async def scenario() -> None:
        upstream = client(vendor, RetryPolicy(attempts=1), quick)
        try:
            for _ in range(5):
                await upstream.request("GET", "/patients")
            vendor.down = not vendor_back
            await asyncio.sleep(0.25)  # half-open
            with pytest.raises(VendorUnavailable):
                await concurrently(upstream.request("GET", "/patients"), upstream.request("GET", "/count"))
            await asyncio.sleep(0.1)  # the probe's answer has come back
            seen = vendor.calls
            if vendor_back:
                both = await concurrently(upstream.request("GET", "/patients"), upstream.request("GET", "/count"))
                assert [answer.status for answer in both] == [200, 200] and vendor.calls == seen + 2
            else:
                for _ in range(3):  # open again, for longer: refused without a call
                    with pytest.raises(VendorUnavailable):
                        await concurrently(upstream.request("GET", "/patients"), upstream.request("GET", "/count"))
                assert vendor.calls == seen
        finally:
            await upstream.aclose()

    asyncio.run(scenario())


def test_a_tentative_call_is_tried_once_and_its_failure_does_not_open_the_breaker(vendor: Vendor) -> None:
    # A far date one implementation fails on (500) says nothing of the vendor's health: were it
    # counted, the breaker would refuse every request of the tenant for a while.
    vendor.down = True
    tight = BreakerPolicy(consecutive=2, min_calls=10_000, open_for=60)

    async def scenario() -> tuple[list[int], int]:
        upstream = client(vendor, breaker=tight)
        try:
            with tentative():
                statuses = [(await upstream.request("GET", f"/far/{n}")).status for n in range(5)]
            calls = vendor.calls
            vendor.down = False
            return [*statuses, (await upstream.request("GET", "/near")).status], calls
        finally:
            await upstream.aclose()

    statuses, calls = asyncio.run(scenario())
    assert statuses == [500] * 5 + [200] and calls == 5  # once each, and the breaker stayed closed


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [("7", 7), ("1.5", 2), ("Wed, 21 Oct 2015 07:28:00 GMT", 1), ("soon", 1), ("99999999", 3600)],
)
def test_a_vendors_retry_after_reaches_the_client_however_it_is_written(
    vendor: Vendor, retry_after: str, seconds: int
) -> None:
    # RFC 9110 section 10.2.3: delay-seconds or an HTTP-date; header names are case-insensitive.
    async def scenario() -> FHIRError:
        upstream = client(vendor)
        try:
            return error_from_response(await upstream.request("GET", f"/throttled/{retry_after}"), lambda body: "")
        finally:
            await upstream.aclose()

    error = asyncio.run(scenario())
    assert isinstance(error, Throttled) and error.headers == {"Retry-After": str(seconds)}


@pytest.mark.parametrize("form", ["imf", "rfc850", "asctime"])
def test_a_retry_after_as_an_http_date_in_the_future_is_the_seconds_until_then(form: str) -> None:
    # RFC 9110 section 5.6.7: a recipient reads all three forms (asctime has no zone: GMT).
    when = datetime.now(UTC) + timedelta(seconds=90)
    moment = {
        "imf": format_datetime(when, usegmt=True),
        "rfc850": when.strftime("%A, %d-%b-%y %H:%M:%S GMT"),
        "asctime": when.strftime("%a %b %e %H:%M:%S %Y"),
    }[form]
    error = error_for_status(429, "", retry_after=moment)
    assert isinstance(error, Throttled) and 85 <= int(error.headers["Retry-After"]) <= 90


@pytest.mark.parametrize(
    ("status", "error", "answer"), [(404, NotFound, 404), (410, Gone, 410), (409, PreconditionFailed, 412)]
)
def test_a_vendor_status_that_means_something_to_the_client_keeps_its_meaning(
    status: int, error: type[FHIRError], answer: int
) -> None:
    # A record the vendor says it deleted (410, RFC 9110 section 15.5.11) is gone, not a failure.
    mapped = error_for_status(status, "")
    assert isinstance(mapped, error) and mapped.status == answer


def test_a_tentative_failure_is_not_what_a_plain_read_of_the_url_meets_later(vendor: Vendor) -> None:
    # One request's identical reads are made once (shared_reads); a tentative one that failed is
    # not shared: the plain read after it is made, and retried, as any other.
    vendor.failures = [503, 503]

    async def scenario() -> tuple[int, int]:
        upstream = client(vendor)
        try:
            with shared_reads():
                with tentative():
                    first = (await upstream.request("GET", "/patients/180")).status
                second = (await upstream.request("GET", "/patients/180")).status
            return first, second
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == (503, 200) and vendor.calls == 3


@pytest.mark.slow
def test_a_call_given_up_while_the_probe_is_out_lets_no_second_probe_through(vendor: Vendor) -> None:
    # A call let through while the breaker was closed, given up (its client gone) after the
    # breaker opened and sent its one probe, must not hand the probe's slot to another call.
    once = RetryPolicy(attempts=1, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
    tight = BreakerPolicy(consecutive=1, min_calls=10_000, open_for=0.2)

    async def scenario() -> str:
        upstream = client(vendor, retry=once, breaker=tight)
        try:
            early = asyncio.ensure_future(upstream.request("GET", "/slow/2"))  # admitted: closed
            await asyncio.sleep(0.1)
            assert (await upstream.request("GET", "/fail/1")).status == 500  # the breaker opens
            await asyncio.sleep(0.3)  # half-open
            probe = asyncio.ensure_future(upstream.request("GET", "/slow/0.5"))
            await asyncio.sleep(0.1)
            early.cancel()
            await asyncio.sleep(0.05)
            try:
                await upstream.request("GET", "/patients")
                verdict = "let through"
            except VendorUnavailable:
                verdict = "refused"
            await probe
            return verdict
        finally:
            await upstream.aclose()

    assert asyncio.run(scenario()) == "refused"
