"""A keyed write whose first attempt may have been applied (read, its answer lost), and whose
retry under the same key is answered: what the gateway says.

The key is the gateway's, one per write it sends: a client told `transient` or "retry later"
resubmits, under another key, and the vendor makes it twice (RFC 9110 section 9.2.2: the first
attempt's outcome is unknown). A 5xx or 429 to the retry says nothing of the first attempt; a
refusal of it (a 409 "Idempotency conflict" while the first still runs, a 412 of a record the first
changed) is the vendor module's to read, with its `attempt`, and read as "may have been applied"
when the module does not.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.errors import FHIRError
from gateway.upstream.errors import error_from_response
from gateway.upstream.http import Timeouts, UpstreamClient, UpstreamResponse
from tests.support.scripted_vendor import Script, ScriptedVendor, head

NO_BREAKER = BreakerPolicy(consecutive=10_000, min_calls=10_000)
KEY = "9d1f2c3e-key"
SOCK_READ_RUNS_OUT = Timeouts(connect=1, read=0.1, total=2)  # the first attempt's answer is waited for 0.1 s


class InTurn(ScriptedVendor):
    """Answers the n-th request it reads with the n-th script (the last one after that)."""

    def __init__(self, *turns: Script) -> None:
        super().__init__({"/": turns[0]})
        self.turns = turns

    def _read_request(self, conn: socket.socket) -> str:
        path = super()._read_request(conn)
        self.scripts = {"/": self.turns[min(len(self.read), len(self.turns)) - 1]}
        return path


def answered(status: int) -> Script:
    return Script(head(status, 2, "Connection: close", "Retry-After: 1") + b"{}", close=True)


@contextmanager
def vendor(status: int) -> Iterator[InTurn]:
    """The first attempt read and never answered; each retry answered `status`."""
    server = InTurn(Script(), answered(status))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def outcome(url: str, attempts: int) -> UpstreamResponse | FHIRError:
    """What a keyed POST gets: the answer the vendor module reads, or the error raised."""

    async def scenario() -> UpstreamResponse | FHIRError:
        retry = RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
        client = UpstreamClient(url, SOCK_READ_RUNS_OUT, 8, Resilience(retry, NO_BREAKER))
        try:
            return await client.request("POST", "/patients", json={"name": "Ann"}, headers={"Idempotency-Key": KEY})
        except FHIRError as error:
            return error
        finally:
            await client.aclose()

    return asyncio.run(scenario())


@pytest.mark.parametrize("status", [500, 503, 504, 429])
@pytest.mark.parametrize("attempts", [2, 3])
def test_a_keyed_write_perhaps_applied_whose_retries_are_answered_failing_says_it_may_have_been_applied(
    status: int, attempts: int
) -> None:
    # Before: the last retry's answer was the call's: 502 `transient` "The vendor system failed
    # (HTTP 503)" (429: "rate-limiting; retry later"), and the client's resubmission made it twice.
    with vendor(status) as server:
        got = outcome(server.url, attempts)
    assert len(server.read) >= 2 and set(server.keys) == {KEY}
    assert isinstance(got, FHIRError), got
    assert (got.status, got.code) == (504, "processing")  # the first attempt's: it did not answer in time
    assert "may have been applied" in got.diagnostics


@pytest.mark.parametrize("status", [409, 412, 422])
def test_a_refusal_of_a_keyed_write_sent_again_reaches_the_vendor_module_and_is_read_as_perhaps_applied(
    status: int,
) -> None:
    # The vendor module reads a retry's refusal itself (Dental PMS: a 409 naming the key is the
    # first attempt's patient; a 412 to an update its own change): passed on, with its attempt.
    with vendor(status) as server:
        got = outcome(server.url, 2)
    assert server.read == ["POST /patients"] * 2
    assert isinstance(got, UpstreamResponse), got
    assert (got.status, got.attempt, got.after_perhaps_applied) == (status, 2, True)
    # A module that does not read it: not the refusal (409 would be a 412 "version conflict"), on
    # which the client resends, but the write's outcome unknown. Before: 412 `conflict` / 400.
    error = error_from_response(got, lambda body: "")
    assert (error.status, error.code) == (502, "processing")
    assert "may have been applied" in error.diagnostics


def test_a_refusal_of_a_first_attempt_is_the_vendors_refusal() -> None:
    # Nothing lost before it: a 409 is the vendor's own refusal, mapped by its status
    got = UpstreamResponse(409, {}, b"{}")
    assert error_from_response(got, lambda body: "").status == 412
