"""Writes whose answer is lost after they were sent, over real sockets: what the gateway says.

A write the vendor read may have been applied whatever way its answer was lost afterwards (RFC
9110 section 9.2.2): the time ran out while the vendor was slow to answer, or the connection
dropped in the middle of the answer. A client told `timeout` or `transient` resubmits it, and a
create is made twice. What was certainly not sent (the time ran out while connecting) stays a
plain timeout.

`ScriptedVendor` (tests.support.scripted_vendor) answers each path as `SCRIPTS` says.
`full_backlog` is a listener whose accept queue is full: a connection to it is never made (Linux
drops the SYN), so a request to it times out before it is sent.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.errors import FHIRError
from gateway.upstream.errors import error_from_response
from gateway.upstream.http import Timeouts, UpstreamClient, UpstreamResponse
from tests.support.scripted_vendor import Script, ScriptedVendor, head

NO_BREAKER = BreakerPolicy(consecutive=10_000, min_calls=10_000)
KEY = "9d1f2c3e-key"  # an Idempotency-Key

WHOLE = Script(head(200, 11, "Connection: close") + b'{"ok":true}', close=True)
CUT = b'{"id":'  # the first bytes of a body announced as 100
SCRIPTS = {
    "/never-answers/": Script(),  # reads the request and never answers
    "/ok/": WHOLE,
    "/cut/201/": Script(head(201, 100) + CUT, close=True),  # the connection drops mid-body
    "/cut/422/": Script(head(422, 100) + CUT, close=True),
    "/cut/500/": Script(head(500, 100) + CUT, close=True),
    "/stalls/201/": Script(head(201, 100) + CUT),  # the body never finishes
    "/stalls/409/": Script(head(409, 100) + CUT),
    "/cut/307/": Script(head(307, 100, "Location: /ok/1") + CUT, close=True),
    "/see-other/never-answers/": Script(head(303, 0, "Location: /never-answers/9", "Connection: close"), close=True),
    "/see-other/cut/201/": Script(head(303, 0, "Location: /cut/201/9", "Connection: close"), close=True),
    "/see-other/cut/500/": Script(head(303, 0, "Location: /cut/500/9", "Connection: close"), close=True),
    "/see-other/fails/": Script(head(303, 0, "Location: /fails/9", "Connection: close"), close=True),
    "/fails/": Script(head(500, 2, "Connection: close") + b"{}", close=True),
}


@pytest.fixture
def vendor() -> Iterator[ScriptedVendor]:
    server = ScriptedVendor(SCRIPTS)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """The URL of a listener that never accepts, its queue full: a connection to it never completes."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname()):  # fills the queue of one
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def upstream(url: str, timeouts: Timeouts, attempts: int = 1) -> UpstreamClient:
    retry = RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
    return UpstreamClient(url, timeouts, 8, Resilience(retry, NO_BREAKER))


def failure(
    url: str, method: str, path: str, timeouts: Timeouts, key: str | None = None, attempts: int = 1
) -> FHIRError:
    """What the gateway raises for `method path` (a write of a small JSON body)."""

    async def scenario() -> FHIRError:
        client = upstream(url, timeouts, attempts)
        try:
            with pytest.raises(FHIRError) as failed:
                await client.request(
                    method, path, json={"name": "Ann"}, headers={"Idempotency-Key": key} if key else {}
                )
            return failed.value
        finally:
            await client.aclose()

    return asyncio.run(scenario())


SOCK_READ_RUNS_OUT = Timeouts(connect=1, read=0.5, total=3)  # the answer waited for 0.5 s at a time (not 0.1: load)
TOTAL_RUNS_OUT = Timeouts(connect=1, read=2, total=0.6)  # the whole request has 0.6 s (sent within it, loaded)


# -- 1. the time runs out after the write was sent ---------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
@pytest.mark.parametrize("timeouts", [SOCK_READ_RUNS_OUT, TOTAL_RUNS_OUT], ids=["sock_read", "total"])
def test_a_write_sent_once_whose_answer_does_not_come_in_time_may_have_been_applied(
    vendor: ScriptedVendor, method: str, timeouts: Timeouts
) -> None:
    # Before: 504 `timeout`, "did not answer in time"; a client retrying timeouts made it twice.
    error = failure(vendor.url, method, "/never-answers/1", timeouts)
    assert vendor.read == [f"{method} /never-answers/1"]  # read, and not sent again
    # RFC 9110 section 15.6.5: an upstream that did not answer in time is a 504; the issue code,
    # not the status, tells the client not to resend it blindly (`timeout` is a `transient`).
    assert (error.status, error.code) == (504, "processing")
    assert "may have been applied" in error.diagnostics


@pytest.mark.parametrize(
    "timeouts",
    [Timeouts(connect=5, read=5, total=0.15), Timeouts(connect=0.15, read=5, total=5)],
    ids=["total", "connect"],
)
def test_a_write_whose_time_runs_out_while_connecting_is_a_plain_timeout(full_backlog: str, timeouts: Timeouts) -> None:
    # Nothing was sent: the write was certainly not applied, and may be sent again.
    error = failure(full_backlog, "POST", "/patients", timeouts)
    assert (error.status, error.code) == (504, "timeout")
    assert "did not answer in time" in error.diagnostics


# -- 2. the answer is cut short after its head -------------------------------------------------


def answer(url: str, method: str, path: str, timeouts: Timeouts = SOCK_READ_RUNS_OUT) -> UpstreamResponse:
    """The answer the gateway takes for `method path` (a write of a small JSON body)."""

    async def scenario() -> UpstreamResponse:
        client = upstream(url, timeouts)
        try:
            return await client.request(method, path, json={"name": "Ann"})
        finally:
            await client.aclose()

    return asyncio.run(scenario())


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_write_sent_once_answered_2xx_whose_body_is_cut_short_was_taken(vendor: ScriptedVendor, method: str) -> None:
    # Before: 502 `transient`, "could not be reached (ClientPayloadError)": resubmitted, made twice.
    error = failure(vendor.url, method, "/cut/201/1", SOCK_READ_RUNS_OUT)
    assert vendor.read == [f"{method} /cut/201/1"]
    # The 201 says it was applied; only its answer is lost: 502 (an incomplete answer is an
    # invalid one, RFC 9110 section 15.6.3), `processing`, never resubmitted as it is.
    assert (error.status, error.code) == (502, "processing")
    assert "took the write" in error.diagnostics and "could not be reached" not in error.diagnostics


def test_a_write_sent_once_answered_2xx_whose_body_does_not_come_in_time_was_taken(vendor: ScriptedVendor) -> None:
    # Before: 504 `timeout` (and since the previous commit, "may have been applied": the head said more).
    error = failure(vendor.url, "POST", "/stalls/201/1", SOCK_READ_RUNS_OUT)
    assert vendor.read == ["POST /stalls/201/1"]
    assert (error.status, error.code) == (504, "processing")
    assert "took the write" in error.diagnostics


@pytest.mark.parametrize(
    ("path", "status", "told"),
    [
        ("/cut/422/1", 422, (400, "invalid")),  # refused: nothing made, the client may correct it
        ("/stalls/409/1", 409, (412, "conflict")),
        # failed answering the write, which it may have applied, as a 500 whose body came whole is
        ("/cut/500/1", 500, (502, "processing")),
    ],
)
def test_a_write_sent_once_refused_whose_body_is_cut_short_is_answered_by_its_status(
    vendor: ScriptedVendor, path: str, status: int, told: tuple[int, str]
) -> None:
    # Before: 502 `transient`, "could not be reached", whatever the status said. The status line
    # is the answer (RFC 9110 section 15); the body only says more of why, and is left out,
    # incomplete (RFC 9112 section 8: an incomplete message is not to be taken as complete).
    got = answer(vendor.url, "POST", path)
    assert (got.status, got.body) == (status, b"")
    error = error_from_response(got, lambda body: "")
    assert (error.status, error.code) == told


def test_a_redirect_whose_body_is_cut_short_is_followed(vendor: ScriptedVendor) -> None:
    # Before: 502 `transient`, "could not be reached". A 307 is all in its head (RFC 9110
    # section 15.4.8): the write was not taken there, and goes where the Location says.
    got = answer(vendor.url, "POST", "/cut/307/1")
    assert got.status == 200
    assert vendor.read == ["POST /cut/307/1", "POST /ok/1"]


def test_the_answer_a_see_other_points_to_cut_short_after_a_2xx_head_says_the_write_was_taken(
    vendor: ScriptedVendor,
) -> None:
    # As when that answer's connection drops before its head (test_idle_connections.py): the 303
    # said the write was done (RFC 9110 section 15.4.4), only its answer is lost.
    error = failure(vendor.url, "POST", "/see-other/cut/201/9", SOCK_READ_RUNS_OUT)
    assert vendor.read == ["POST /see-other/cut/201/9", "GET /cut/201/9"]
    assert (error.status, error.code) == (502, "processing")
    assert "took the write" in error.diagnostics


# -- 3. the answer a 303 points to; writes under an Idempotency-Key ------------------------------


def test_the_answer_a_see_other_points_to_not_coming_in_time_says_the_write_was_taken(vendor: ScriptedVendor) -> None:
    # Before: 502. A timeout, as for the write itself (test 1): 504, `processing`, "took the write".
    error = failure(vendor.url, "POST", "/see-other/never-answers/9", SOCK_READ_RUNS_OUT)
    assert vendor.read == ["POST /see-other/never-answers/9", "GET /never-answers/9"]
    assert (error.status, error.code) == (504, "processing")
    assert "took the write" in error.diagnostics


@pytest.mark.parametrize("path", ["/see-other/fails/9", "/see-other/cut/500/9"], ids=["whole", "cut"])
def test_the_answer_a_see_other_points_to_failing_says_the_write_was_taken(vendor: ScriptedVendor, path: str) -> None:
    # Before: the 500 of that read was handed on as the write's answer: a 502 `transient`, whose
    # client makes the write again. The 303 said it was done (RFC 9110 section 15.4.4).
    error = failure(vendor.url, "POST", path, SOCK_READ_RUNS_OUT)
    assert vendor.read[0] == f"POST {path}"
    assert (error.status, error.code) == (502, "processing")
    assert "took the write" in error.diagnostics


def test_a_keyed_write_whose_answer_does_not_come_in_time_is_sent_again_under_its_key(vendor: ScriptedVendor) -> None:
    # Under its Idempotency-Key the vendor takes a repeat as the same write: the gateway's retry
    # is safe, and the write is not "sent once". But the key is the gateway's, one per write it
    # sends: a client resubmitting after the last attempt comes under another, and the vendor
    # makes it again. Before: 504 `timeout`, which a client retries.
    error = failure(vendor.url, "POST", "/never-answers/1", SOCK_READ_RUNS_OUT, key=KEY, attempts=2)
    assert vendor.read == ["POST /never-answers/1"] * 2
    assert vendor.keys == [KEY, KEY]
    assert (error.status, error.code) == (504, "processing")
    assert "may have been applied" in error.diagnostics


def test_a_keyed_write_answered_2xx_whose_body_is_cut_short_is_sent_again_under_its_key(vendor: ScriptedVendor) -> None:
    # Before: 502 `transient`, "could not be reached" (then "cut short"): a client resubmits it.
    error = failure(vendor.url, "POST", "/cut/201/1", SOCK_READ_RUNS_OUT, key=KEY, attempts=2)
    assert vendor.read == ["POST /cut/201/1"] * 2
    assert vendor.keys == [KEY, KEY]
    assert (error.status, error.code) == (502, "processing")
    assert "took the write" in error.diagnostics


def test_a_keyed_write_one_attempt_of_which_may_have_been_applied_says_so_whatever_the_next_met() -> None:
    # The first attempt is read and never answered; the vendor then refuses every connection, so
    # the retry is not sent at all. Before: "could not be reached", 502 `transient`.
    vendor = ScriptedVendor({"/": Script(last=True)})
    vendor.start()
    try:
        error = failure(vendor.url, "POST", "/patients", SOCK_READ_RUNS_OUT, key=KEY, attempts=2)
    finally:
        vendor.stop()
    assert vendor.read == ["POST /patients"]
    assert (error.status, error.code) == (504, "processing")
    assert "may have been applied" in error.diagnostics


def test_a_keyed_write_whose_time_runs_out_while_connecting_is_a_plain_timeout(full_backlog: str) -> None:
    error = failure(full_backlog, "POST", "/patients", Timeouts(connect=5, read=5, total=0.15), key=KEY, attempts=2)
    assert (error.status, error.code) == (504, "timeout")
