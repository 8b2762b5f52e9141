"""A write the vendor answers with a 5xx may have been applied: what the gateway says.

An app failing after its commit (an event it publishes, a hook), or its proxy answering 502 or
504 once the app behind it applied the write, answers a 5xx for a write that was made. RFC 9110
section 9.2.2: the outcome of a request that is not idempotent is unknown unless the answer
says. A client told 502 `transient` resends it and the record is made twice (seen: a Nextvisit
create answered 500 after the patient was made, then sent again by the client). A read failing,
a login failing, and a 501 or 505 (the request not taken at all) stay as they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.errors import FHIRError, UpstreamError, UpstreamTimeout
from gateway.upstream.errors import error_from_response
from gateway.upstream.http import Timeouts, UpstreamClient, UpstreamResponse
from tests.support.scripted_vendor import Script, ScriptedVendor, head
from tests.unit.gateway.test_unconfirmed_writes import LOGGED_IN, NEXTVISIT, create, gateway_before
from tests.unit.gateway.upstream.test_retried_after_lost import InTurn

NO_BREAKER = BreakerPolicy(consecutive=10_000, min_calls=10_000)


def failing(status: int) -> Script:
    body = b'{"error":"internal"}'
    return Script(head(status, len(body), "Connection: close") + body, close=True)


@contextmanager
def vendor_answering(status: int) -> Iterator[ScriptedVendor]:
    server = ScriptedVendor({"/": failing(status)})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def answered(url: str, method: str, changes_nothing: bool = False) -> UpstreamResponse:
    async def scenario() -> UpstreamResponse:
        retry = RetryPolicy(attempts=1, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
        client = UpstreamClient(url, Timeouts(connect=1, read=1, total=2), 8, Resilience(retry, NO_BREAKER))
        try:
            body = None if method in ("GET", "DELETE") else {"name": "Ann"}
            return await client.request(method, "/patients/1", json=body, changes_nothing=changes_nothing)
        finally:
            await client.aclose()

    return asyncio.run(scenario())


def told(response: UpstreamResponse) -> FHIRError:
    return error_from_response(response, lambda body: "")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_write_answered_5xx_may_have_been_applied(method: str, status: int) -> None:
    # Before: 502 `transient` "The vendor system failed (HTTP 500)": a client resends it.
    with vendor_answering(status) as server:
        response = answered(server.url, method)
    assert server.read == [f"{method} /patients/1"]  # sent once: no key
    error = told(response)
    assert (error.status, error.code) == (502, "processing")
    assert f"failed answering the write (HTTP {status}); it may have been applied" in error.diagnostics
    assert (response.status, response.answers_a_write) == (status, True)  # the vendor module may read it


@pytest.mark.parametrize(("method", "changes_nothing"), [("GET", False), ("POST", True)], ids=["read", "login"])
def test_a_read_or_a_login_answered_5xx_is_the_vendor_failing(method: str, changes_nothing: bool) -> None:
    with vendor_answering(500) as server:
        response = answered(server.url, method, changes_nothing)
    assert (told(response).status, told(response).code) == (502, "transient")
    assert not response.answers_a_write


def test_a_write_answered_501_was_not_taken() -> None:
    # RFC 9110 section 15.6.2: the server does not support the request at all
    with vendor_answering(501) as server:
        error = told(answered(server.url, "POST"))
    assert (error.status, error.code) == (502, "processing")
    assert "did not take the request" in error.diagnostics


def test_a_nextvisit_create_answered_500_tells_the_client_it_may_have_been_made(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The attack seen: Nextvisit made the patient and answered 500; the client, told 502
    # `transient`, sent the create again and a second patient was made.
    with gateway_before(NEXTVISIT) as running:
        running.vendor.scripts["/v1/auth/tokens"] = LOGGED_IN
        running.vendor.scripts["/v1/patients"] = failing(500)
        with caplog.at_level(logging.DEBUG):
            response = create(running, caplog)
    assert running.vendor.read.count("POST /v1/patients") == 1
    assert response.status_code == 502, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == "processing", issue
    assert "may have been applied" in issue["diagnostics"]


@pytest.mark.parametrize("status", [429, 409, 412])
def test_a_keyed_write_answered_5xx_then_refused_may_have_been_applied(status: int) -> None:
    # The first attempt answered 500 (perhaps after the vendor applied it), the retry under the
    # same key refused or throttled. Before: the refusal was the call's answer (a 429 "retry
    # later", a 412 "version conflict"), on which the client resends the write under a new key.
    with in_turn(failing(500), failing(status)) as server:
        response = keyed(server.url)
    assert server.read == ["POST /patients/1"] * 2
    error = told(response)
    assert (error.status, error.code) == (502, "processing")
    assert "may have been applied" in error.diagnostics
    assert (response.status, response.attempt, response.after_perhaps_applied) == (status, 2, True)


def test_a_keyed_write_answered_5xx_every_time_reaches_the_vendor_module_as_a_5xx() -> None:
    # Dental PMS create reads it itself (`_made_despite`: the patient made all the same?)
    with in_turn(failing(500)) as server:
        response = keyed(server.url)
    assert (response.status, response.attempt, response.answers_a_write) == (500, 2, True)
    assert (told(response).status, told(response).code) == (502, "processing")


@contextmanager
def in_turn(*turns: Script) -> Iterator[InTurn]:
    server = InTurn(*turns)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def keyed(url: str) -> UpstreamResponse:
    async def scenario() -> UpstreamResponse:
        retry = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
        client = UpstreamClient(url, Timeouts(connect=1, read=1, total=2), 8, Resilience(retry, NO_BREAKER))
        try:
            return await client.request("POST", "/patients/1", json={"name": "Ann"}, headers={"Idempotency-Key": "k"})
        finally:
            await client.aclose()

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    "then",
    [UpstreamError("The vendor system refused the connection"), UpstreamTimeout("The vendor system did not answer")],
    ids=["refused", "timed-out-before-sending"],
)
def test_a_keyed_write_answered_5xx_whose_retry_fails_before_going_out_may_have_been_applied(
    then: Exception,
) -> None:
    # A cold review's case: the vendor's proxy answered 503 after the app committed the write; the
    # retry under the same key never reached the vendor. Before: the retry's failure was the
    # call's, a 502 `transient`, on which the client resends under a new key (made twice).
    sent: list[int] = []

    async def scenario() -> UpstreamResponse:
        retry = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
        timeouts = Timeouts(connect=1, read=1, total=2)
        client = UpstreamClient("http://127.0.0.1:9", timeouts, 8, Resilience(retry, NO_BREAKER))

        async def send(*args: object, **kwargs: object) -> UpstreamResponse:
            sent.append(1)
            if len(sent) == 1:
                return UpstreamResponse(503, {}, b'{"error":"x"}')
            raise then

        client._send = send  # type: ignore[method-assign]
        try:
            return await client.request("POST", "/patients", json={"a": 1}, headers={"Idempotency-Key": "k"})
        finally:
            await client.aclose()

    response = asyncio.run(scenario())
    assert len(sent) == 2
    assert (response.status, response.answers_a_write) == (503, True)
    error = told(response)
    assert (error.status, error.code) == (502, "processing")
