"""A vendor closing a kept-alive connection just as the gateway reuses it, over real sockets.

RFC 9112 section 9.5: "a client might have started to send a new request at the same time that
the server has decided to close the 'idle' connection". Vendor servers close idle connections
after 1 to 5 s (gunicorn 2 s, uvicorn and Node 5 s); the gateway's pool keeps them longer. The
request then meets a closed connection the server never read it from. A read may be sent again
(RFC 9110 section 9.2.2); a write the gateway sends once must not meet that connection at all,
and a write the vendor did read must not be sent a second time behind the gateway's back.

`ClosingVendor` is that server, made deterministic: it answers the first request on a connection
and keeps the connection open (no `Connection: close`), then closes it unread when another
request arrives on it (its idle timer firing as the request came). A request to `/hang-up/...`
it reads whole and never answers: a server that may have acted on it. A request to
`/see-other/ID` it answers `303 See Other` to `/hang-up/ID`: a write applied, whose answer is
never given.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import select
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.errors import UpstreamError
from gateway.upstream.http import Timeouts, UpstreamClient
from tests.support.socket_server import SocketServer

NO_BREAKER = BreakerPolicy(consecutive=10_000, min_calls=10_000)
ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


@dataclass
class ClosingVendor(SocketServer):
    url: str = ""
    read: list[str] = field(default_factory=list)  # "METHOD /path" of each request it read
    connections: int = 0

    def _serve(self, conn: socket.socket) -> None:
        # OSError: closed by `stop`; ValueError: `select` of the socket `stop` closed (its fd is -1)
        with conn, contextlib.suppress(OSError, ValueError):
            head = self._read_request(conn)
            if not head or head.split(" ")[1].startswith("/hang-up/"):
                return  # (a request) read whole, perhaps acted on, never answered
            path = head.split(" ")[1]
            if path.startswith("/see-other/"):
                location = path.replace("/see-other/", "/hang-up/", 1)
                conn.sendall(f"HTTP/1.1 303 See Other\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
            else:
                conn.sendall(ANSWER)  # and the connection kept open, as HTTP/1.1 does by default
            # The next request on it: the idle timer fires as it arrives, and the server closes
            # the connection without reading it (unread data: the peer gets a reset).
            while not self._stopping.is_set() and not select.select([conn], [], [], 0.05)[0]:
                pass

    def _read_request(self, conn: socket.socket) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return ""  # closed by the client before a whole request
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
            0,
        )
        while len(body) < length and (chunk := conn.recv(65536)):
            body += chunk
        line = head.split(b"\r\n")[0].decode()
        self.read.append(line.rsplit(" ", 1)[0])
        return line


@pytest.fixture
def vendor() -> Iterator[ClosingVendor]:
    server = ClosingVendor()
    server.start()
    yield server
    server.stop()


def upstream(vendor: ClosingVendor, attempts: int = 3) -> UpstreamClient:
    retry = RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
    return UpstreamClient(vendor.url, Timeouts(1, 1, 2), 8, Resilience(retry, NO_BREAKER))


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_write_after_a_read_is_not_sent_on_the_connection_the_vendor_is_closing(
    vendor: ClosingVendor, method: str
) -> None:
    # Before the fix a POST or PATCH failed here: "The vendor system could not be reached
    # (ClientOSError)", a 502 that does not say whether the write was applied; a PUT or a DELETE
    # was sent again by aiohttp, on a new connection.
    async def scenario() -> int:
        client = upstream(vendor)
        try:
            assert (await client.request("GET", "/patients")).status == 200
            return (await client.request(method, "/patients/1", json={"name": "Ann"})).status
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == 200
    assert vendor.read == ["GET /patients", f"{method} /patients/1"]
    assert vendor.connections == 2  # the write on one of its own


def test_a_read_on_the_connection_the_vendor_is_closing_is_sent_again(vendor: ClosingVendor) -> None:
    # A read the vendor never read is sent again on a new connection (RFC 9110 section 9.2.2),
    # and with no retry of the gateway's own (attempts=1): the client's pool does it.
    async def scenario() -> int:
        client = upstream(vendor, attempts=1)
        try:
            assert (await client.request("GET", "/patients")).status == 200
            return (await client.request("GET", "/patients/1")).status
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == 200
    assert vendor.read == ["GET /patients", "GET /patients/1"]


def test_a_write_with_an_idempotency_key_on_the_connection_the_vendor_is_closing_is_retried(
    vendor: ClosingVendor,
) -> None:
    async def scenario() -> int:
        client = upstream(vendor)
        try:
            assert (await client.request("GET", "/patients")).status == 200
            answer = await client.request("POST", "/patients", json={"name": "Ann"}, headers={"Idempotency-Key": "k1"})
            return answer.status
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == 200
    assert vendor.read == ["GET /patients", "POST /patients"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_write_the_vendor_read_and_never_answered_is_sent_once(vendor: ClosingVendor, method: str) -> None:
    # The vendor may have applied it: RFC 9110 section 9.2.2, a client SHOULD NOT retry a
    # non-idempotent request unless it knows it was never applied. Before the fix aiohttp sent a
    # PUT or a DELETE a second time (it retries RFC-idempotent methods once, unasked), past the
    # gateway's retry policy, its rate limit and its count of requests sent.
    async def scenario() -> UpstreamError:
        client = upstream(vendor)
        try:
            with pytest.raises(UpstreamError) as failed:
                await client.request(method, "/hang-up/1", json={"name": "Ann"})
            return failed.value
        finally:
            await client.aclose()

    error = asyncio.run(scenario())
    assert vendor.read == [f"{method} /hang-up/1"]
    assert error.status == 502 and "may have" in str(error)
    # Not `transient` (R4 issue type: another try may succeed): resubmitted, it may be made twice
    assert error.code == "processing"


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_writes_one_after_another_each_go_on_a_connection_of_their_own(vendor: ClosingVendor, method: str) -> None:
    # The second write would meet the first one's connection as the vendor closes it, were the
    # connections of writes kept for the next (the first write's answer leaves it open).
    async def scenario() -> list[int]:
        client = upstream(vendor)
        try:
            return [(await client.request(method, f"/patients/{n}", json={"n": n})).status for n in (1, 2)]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [200, 200]
    assert vendor.read == [f"{method} /patients/1", f"{method} /patients/2"]
    assert vendor.connections == 2


def test_a_write_answered_see_other_whose_answer_is_lost_says_it_was_taken(vendor: ClosingVendor) -> None:
    # The 303 says the write was done (RFC 9110 section 15.4.4); only the answer it points to
    # was lost. Before, the client heard "it may have been applied", as a retryable failure.
    async def scenario() -> UpstreamError:
        client = upstream(vendor)
        try:
            with pytest.raises(UpstreamError) as failed:
                await client.request("POST", "/see-other/9", json={"name": "Ann"})
            return failed.value
        finally:
            await client.aclose()

    error = asyncio.run(scenario())
    assert vendor.read[0] == "POST /see-other/9"
    assert set(vendor.read[1:]) == {"GET /hang-up/9"}  # the answer is a read: asked again if lost
    assert error.status == 502 and error.code == "processing"
    assert "took the write" in str(error)


def test_closing_the_client_closes_the_connections_of_writes_too(vendor: ClosingVendor) -> None:
    async def scenario() -> None:
        client = upstream(vendor)
        await client.request("POST", "/patients", json={"name": "Ann"})
        await client.aclose()

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        asyncio.run(scenario())
        gc.collect()
    assert not [w for w in seen if "Unclosed" in str(w.message)]
