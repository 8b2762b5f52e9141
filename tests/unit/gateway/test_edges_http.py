"""The HTTP edges, over real sockets: what the server itself refuses (malformed or oversize
requests) is an OperationOutcome too, an oversize body gets its 413 rather than a reset, and
links are never built from a Host the operator did not allow."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send

from gateway.app import create_app
from gateway.cli import main
from gateway.http_dates import http_date
from gateway.rest.hosts import HostCheck, check_hosts, split_host
from gateway.rest.incoming import MAX_BODY_BYTES
from gateway.sandbox_host import serve_in_thread
from gateway.settings import AuditSettings, ConfigError, PagingSettings, ServerSettings, Settings, TenantSettings
from gateway.slow_clients import MAX_HEAD_BYTES, MAX_TARGET_BYTES, SERVER_METHODS, header_protocol
from gateway.smart_demo import smart_demo
from tests.support.fake_vendor import BASE, FAKE, FAKE_URL, TENANT, FakeBackend, fake_gateway, ok, outcome


def _settings(**server: Any) -> Settings:
    return Settings(
        server=ServerSettings(**server),
        paging=PagingSettings(),
        tenants={TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)},
    )


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """The gateway over the fake vendor, served as `fhir-gateway serve` serves it (one server for
    the module: each test opens connections of its own)."""
    backend = FakeBackend()
    backend.add_patient("p1")
    app = create_app(_settings(), [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    yield running.port
    running.stop()


def exchange(port: int, data: bytes, *, chunk: int = 65536) -> bytes:
    """Send `data` (in pieces, as a client streaming a body does), then read until the server
    closes or the answer is complete; a reset while sending or reading fails the test."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        for start in range(0, len(data), chunk):
            sock.sendall(data[start : start + chunk])
        received = b""
        while True:
            part = sock.recv(65536)
            if not part:
                return received
            received += part
            head, sep, body = received.partition(b"\r\n\r\n")
            length = _content_length(head)
            if sep and length is not None and len(body) >= length:
                return received


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None


def answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and the OperationOutcome of a raw HTTP answer (checked to be one)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"].startswith("application/fhir+json"), raw[:300]
    parsed: dict[str, Any] = json.loads(body)
    assert parsed["resourceType"] == "OperationOutcome" and parsed["issue"][0]["severity"] == "error"
    return status, headers, parsed


# -- what the HTTP parser refuses ---------------------------------------------------------------


def _search_line(length: int) -> bytes:
    return f"GET {BASE}/Patient?family={'a' * length} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def _chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def _gzip_create(*transfer_encoding: str) -> bytes:
    """A Patient create whose body is gzip-compressed as a transfer coding, then chunked."""
    fields = "".join(f"Transfer-Encoding: {value}\r\n" for value in transfer_encoding)
    head = f"POST {BASE}/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n{fields}\r\n"
    return head.encode() + _chunked(gzip.compress(b'{"resourceType":"Patient"}'))


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not-supported"),
        (b"GET " + BASE.encode() + b"/metadata HTTP/9.1\r\nHost: x\r\n\r\n", 400, "invalid"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "invalid"),
        (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400, "invalid"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400, "invalid"),  # TLS on the plain port
        (b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, "invalid"),
        (_search_line(100_000), 414, "too-long"),
        (_search_line(MAX_TARGET_BYTES), 414, "too-long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n\r\n", 431, "too-long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-Many: " + b"a" * 40 + b"\r\n") * 2000 + b"\r\n", 431, "too-long"),
        # RFC 9112 section 6.1: a transfer coding the server does not understand is a 501 (the
        # gzip bytes were read as the body itself); without chunked last, the length of the body
        # cannot be known, a 400 (section 6.3).
        (_gzip_create("gzip, chunked"), 501, "not-supported"),
        (_gzip_create("gzip", "chunked"), 501, "not-supported"),
        (_gzip_create("gzip"), 400, "invalid"),
    ],
    ids=["unknown-method", "http-version", "content-length", "header-name", "tls", "connect", "100kb-url", "8kb-url",
         "one-big-header", "many-headers", "gzip-then-chunked", "gzip-then-chunked-two-fields", "gzip-alone"],
)  # fmt: skip
def test_what_the_server_cannot_take_is_an_operation_outcome_and_closes(
    port: int, request_bytes: bytes, status: int, code: str
) -> None:
    got, headers, body = answer(exchange(port, request_bytes))
    assert (got, body["issue"][0]["code"]) == (status, code)
    assert headers["connection"] == "close"


@pytest.mark.parametrize(
    ("second", "refused"), [(_search_line(MAX_TARGET_BYTES), 414), (b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501)]
)
def test_a_refusal_of_a_pipelined_request_follows_the_answers_before_it(port: int, second: bytes, refused: int) -> None:
    # RFC 9112 section 9.3.2: answers go in the order of the requests. The refusal of the second
    # request was written at once, so the client read a 414 as the answer to its first.
    first = f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        sock.sendall(first + second)
        received = b""
        while part := sock.recv(65536):
            received += part
    statuses = [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)]
    assert statuses == [200, refused], received[:400]
    assert b'"resourceType":"Patient"' in received.split(f"HTTP/1.1 {refused}".encode())[0]


def _statuses_until_closed(port: int, data: bytes) -> tuple[list[int], bytes]:
    """Send `data` on one connection and read until the server closes it: the status of every
    answer received, and all of it."""
    received = _until_closed(port, data)
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)], received


def _one_answer(sock: socket.socket) -> bytes:
    """Read one whole answer, framed by its Content-Length (the connection stays open)."""
    received = b""
    while True:
        head, separator, body = received.partition(b"\r\n\r\n")
        length = _content_length(head) if separator else None
        if length is not None and len(body) >= length:
            return received
        part = sock.recv(65536)
        assert part, received[:300]
        received += part


BAD_CHUNK = b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n"  # a chunk size that is no hex number


@pytest.mark.parametrize(
    "refused",
    [
        f"GET {BASE}/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + BAD_CHUNK,
        f"POST {BASE}/Patient/_search HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + BAD_CHUNK,
    ],
    ids=["get", "post-search"],
)
def test_a_pipelined_request_refused_for_its_body_is_answered_once_after_the_answers_before_it(
    port: int, refused: bytes
) -> None:
    # RFC 9112 section 9.3.2: one answer per request, in order. The 400 went out before the
    # first request's answer, and the refused request was served all the same: 400, 200, 200.
    first = f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    after = f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()  # not read: framing is lost
    statuses, received = _statuses_until_closed(port, first + refused + after)
    assert statuses == [200, 400], received[:600]
    assert b'"resourceType":"Patient"' in received.split(b"HTTP/1.1 400")[0]


@pytest.mark.parametrize(
    "request_head",
    [
        f"GET {BASE}/Patient/p1 HTTP/1.1\r\n",
        f"GET {BASE}/metadata HTTP/1.1\r\n",
        f"POST {BASE}/Observation HTTP/1.1\r\n",
    ],
    ids=["read", "metadata", "answered-without-its-body"],
)
def test_a_request_refused_for_its_body_is_not_served_as_well(port: int, request_head: str) -> None:
    # Its app cycle ran on after the refusal: a 400 with `connection: close`, then a 200 (or a
    # 405) to the same request on the same socket.
    statuses, received = _statuses_until_closed(port, f"{request_head}Host: 127.0.0.1\r\n".encode() + BAD_CHUNK)
    assert statuses == [400], received[:600]
    assert answer(received)[2]["issue"][0]["code"] == "invalid"


def test_a_body_found_malformed_after_its_answer_gets_no_second_answer(port: int) -> None:
    # The request was answered before its body was read (a read does not read it): a 400 sent
    # now would be read by the client as the answer to its next request. The connection closes.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(15)
        sock.sendall(f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + BAD_CHUNK[:-4] + b"1\r\na\r\n")
        received = _one_answer(sock)
        assert received.startswith(b"HTTP/1.1 200 "), received[:300]
        sock.sendall(b"ZZ\r\n")
        while part := sock.recv(65536):
            received += part
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", received) == [b"200"], received[:600]


def _refusals(caplog: pytest.LogCaptureFixture, status: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.access" and r.__dict__.get("status") == status]


def test_a_refused_request_leaves_an_access_line_without_its_target(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    # Refused by the protocol, the request never reaches the access middleware: without a line
    # of its own an operator would not see why a client's calls fail.
    secret = "family=Doe-" + "x" * MAX_TARGET_BYTES
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        got, _, _ = answer(exchange(port, f"GET {BASE}/Patient?{secret} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))
        deadline = time.monotonic() + 5
        while not _refusals(caplog, 414) and time.monotonic() < deadline:  # written by the server's thread
            time.sleep(0.01)
    assert got == 414
    [line] = _refusals(caplog, 414)  # (an earlier test's refusal may be logged while this one runs)
    assert line.getMessage() == "- (refused) 414 too-long" and line.__dict__["status"] == 414
    assert "Doe" not in caplog.text and "Patient" not in caplog.text


def test_an_upgrade_to_websocket_is_ignored_and_the_request_served(port: int) -> None:
    head = f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    head += "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    raw = exchange(port, head.encode())
    assert raw.startswith(b"HTTP/1.1 200 ") and b'"resourceType":"Patient"' in raw, raw[:200]


def test_a_long_url_within_the_limit_is_served(port: int) -> None:
    target = f"{BASE}/Patient?family=" + "a" * (MAX_TARGET_BYTES - len(BASE) - 100)
    raw = exchange(port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.1 200 "), raw[:200]


def test_headers_within_the_limit_are_served(port: int) -> None:
    many = b"".join(b"X-Field-%d: %s\r\n" % (i, b"v" * 100) for i in range(200))  # ~22 KB
    raw = exchange(port, f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + many + b"\r\n")
    assert raw.startswith(b"HTTP/1.1 200 "), raw[:200]


# -- oversize bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("connection", ["keep-alive", "close"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_2mb_form_body_gets_its_413_every_time(port: int, connection: str, framing: str) -> None:
    form = b"family=" + b"a" * 2_000_000
    head = f"POST {BASE}/Patient/_search HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {connection}\r\n"
    head += "Content-Type: application/x-www-form-urlencoded\r\n"
    if framing == "chunked":
        step = 65536
        body = b"".join(
            b"%x\r\n%s\r\n" % (len(form[i : i + step]), form[i : i + step]) for i in range(0, len(form), step)
        )
        body += b"0\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
    else:
        body = form
        head += f"Content-Length: {len(form)}\r\n\r\n"
    for _ in range(5):  # the reset came now and then: not once in five tries
        status, _, outcome_body = answer(exchange(port, head.encode() + body, chunk=16384))
        assert status == 413
        assert str(MAX_BODY_BYTES) in outcome_body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("path", "content_type", "status"),
    [(f"{BASE}/Observation", "application/fhir+json", 405), (f"{BASE}/Patient", "application/xml", 415)],
)
def test_an_early_error_to_a_client_still_sending_arrives_whole(
    port: int, path: str, content_type: str, status: int
) -> None:
    """Answered before the body is read, with the connection closing (the client said so): the
    server reads on, and throws away, what the client still sends instead of resetting."""
    body = b"x" * 2_000_000
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: {content_type}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    for _ in range(3):
        assert answer(exchange(port, head.encode() + body, chunk=16384))[0] == status


def test_the_connection_serves_on_after_a_413(port: int) -> None:
    form = b"family=" + b"a" * (MAX_BODY_BYTES + 10)
    first = f"POST {BASE}/Patient/_search HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    first += "Content-Type: application/x-www-form-urlencoded\r\n"
    first += f"Content-Length: {len(form)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        sock.sendall(first.encode() + form)
        sock.sendall(f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while part := sock.recv(65536):
            received += part
    assert received.startswith(b"HTTP/1.1 413 ") and b"HTTP/1.1 200 " in received


def test_a_body_announced_past_what_is_read_is_refused_at_once(port: int) -> None:
    head = f"POST {BASE}/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/fhir+json\r\n"
    head += "Content-Length: 99999999999999999999999\r\nExpect: 100-continue\r\n\r\n"
    status, headers, _ = answer(exchange(port, head.encode()))
    assert status in (400, 413) and headers["connection"] == "close"


def test_a_body_waiting_for_100_continue_is_not_invited_when_too_large(port: int) -> None:
    head = f"POST {BASE}/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/fhir+json\r\n"
    head += f"Content-Length: {MAX_BODY_BYTES + 1}\r\nExpect: 100-continue\r\n\r\n"
    raw = exchange(port, head.encode())
    assert not raw.startswith(b"HTTP/1.1 100")
    status, headers, _ = answer(raw)
    assert status == 413 and headers["connection"] == "close"


# -- the Host header --------------------------------------------------------------------------


def _hosts_gateway(**server: Any) -> Any:
    backend = FakeBackend()
    backend.add_patient("p1")
    return fake_gateway(backend, _settings(**server))


def test_a_host_outside_allowed_hosts_is_a_400_and_no_link_names_it() -> None:
    with _hosts_gateway(allowed_hosts=["fhir.example.org", "localhost:8080"]) as client:
        for host in (
            "evil.example",
            "fhir.example.org.evil.example",
            "localhost:9999",
            "fhir.example.org@evil",
            "localhost:@evil.example",  # a port that is no number
        ):
            body = outcome(client.get(f"{BASE}/Patient", params={"family": "doe"}, headers={"Host": host}), 400)
            assert "evil" not in json.dumps(body) and "Host" in body["issue"][0]["diagnostics"]
        bundle = ok(client.get(f"http://fhir.example.org:8443{BASE}/Patient", params={"family": "doe", "_count": 1}))
        assert all(link["url"].startswith(f"http://fhir.example.org:8443{BASE}/") for link in bundle["link"])
        ok(client.get(f"http://FHIR.example.org{BASE}/Patient/p1"))  # host names are case-insensitive
        ok(client.get(f"http://localhost:8080{BASE}/Patient/p1"))


def test_a_write_names_the_allowed_host_in_its_location() -> None:
    patient = {"resourceType": "Patient", "name": [{"family": "Doe"}]}
    with _hosts_gateway(allowed_hosts=["fhir.example.org"]) as client:
        refused = client.post(f"{BASE}/Patient", json=patient, headers={"Host": "evil.example"})
        outcome(refused, 400)
        created = client.post(f"http://fhir.example.org{BASE}/Patient", json=patient)
        assert created.status_code == 201 and created.headers["location"].startswith(f"http://fhir.example.org{BASE}/")


def test_public_base_url_makes_links_whatever_the_host() -> None:
    with _hosts_gateway(public_base_url="https://fhir.example.org") as client:
        bundle = ok(client.get(f"{BASE}/Patient", params={"family": "doe"}, headers={"Host": "evil.example"}))
        assert all(link["url"].startswith(f"https://fhir.example.org{BASE}/") for link in bundle["link"])


def test_serving_off_loopback_needs_public_base_url_or_allowed_hosts() -> None:
    with pytest.raises(ConfigError, match="allowed_hosts"):
        check_hosts(_settings(host="0.0.0.0"), "0.0.0.0")
    assert check_hosts(_settings(allowed_hosts=["fhir.example.org"]), "0.0.0.0").server.allowed_hosts == [
        "fhir.example.org"
    ]
    assert check_hosts(_settings(public_base_url="https://x.example"), "10.0.0.5").server.allowed_hosts is None
    on_loopback = check_hosts(_settings(), "127.0.0.1").server.allowed_hosts
    assert on_loopback == ["localhost", "127.0.0.1", "[::1]"]


def test_on_loopback_only_loopback_names_are_answered() -> None:
    settings = check_hosts(_settings(), "127.0.0.1")
    backend = FakeBackend()
    backend.add_patient("p1")
    with fake_gateway(backend, settings) as client:
        outcome(client.get(f"{BASE}/Patient/p1", headers={"Host": "evil.example"}), 400)
        for port in ("0", "99999", "0080a", "9" * 5000):  # no port a link could lead to
            outcome(client.get(f"{BASE}/Patient/p1", headers={"Host": f"localhost:{port}"}), 400)
        for host in ("localhost", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST:1"):
            ok(client.get(f"{BASE}/Patient/p1", headers={"Host": host}))


def test_on_loopback_public_base_url_leaves_no_way_in_by_dns_rebinding() -> None:
    # A page at attacker.example, its name made to resolve to 127.0.0.1, sends its requests to
    # the gateway as same-origin ones. With public_base_url set the Host check was skipped: an
    # `auth = "none"` gateway on loopback answered the page's search 200, create 201, delete 204.
    settings = check_hosts(_settings(public_base_url="http://localhost:8099"), "127.0.0.1")
    backend = FakeBackend()
    backend.add_patient("p1")
    patient = {"resourceType": "Patient", "name": [{"family": "Doe"}]}
    with fake_gateway(backend, settings) as client:
        page = {"Host": "attacker.example:8099", "Origin": "http://attacker.example:8099"}
        outcome(client.get(f"{BASE}/Patient", params={"_count": 1}, headers=page), 400)
        outcome(client.post(f"{BASE}/Patient", json=patient, headers=page), 400)
        outcome(client.delete(f"{BASE}/Patient/p1", headers=page), 400)
        assert list(backend.patients) == ["p1"]
        for host in ("localhost:8099", "127.0.0.1:8099", "[::1]:8099"):
            ok(client.get(f"{BASE}/Patient/p1", headers={"Host": host}))


def test_on_loopback_behind_a_proxy_the_public_host_is_answered_and_links_use_the_public_base() -> None:
    # A reverse proxy on the same machine passes the public Host on (nginx `proxy_set_header
    # Host $host`) or its own upstream one (`127.0.0.1:8080`): both are answered.
    settings = check_hosts(_settings(public_base_url="https://FHIR.example.org/gw"), "127.0.0.1")
    backend = FakeBackend()
    backend.add_patient("p1")
    with fake_gateway(backend, settings) as client:
        for host in ("fhir.example.org", "fhir.example.org:443", "127.0.0.1:8080"):
            bundle = ok(client.get(f"{BASE}/Patient", params={"family": "doe"}, headers={"Host": host}))
            assert all(link["url"].startswith(f"https://FHIR.example.org/gw{BASE}/") for link in bundle["link"])
        outcome(client.get(f"{BASE}/Patient/p1", headers={"Host": "attacker.example"}), 400)
    # Set, server.allowed_hosts is the whole list: the operator's names, not the loopback ones.
    named = check_hosts(_settings(public_base_url="https://fhir.example.org", allowed_hosts=["gw.internal"]), "::1")
    assert named.server.allowed_hosts == ["gw.internal"]


def _host_check_status(server: ServerSettings, path: str, host: bytes, reached: str = "127.0.0.1") -> int:
    """The status HostCheck gives a GET of `path` naming `host`, reached on `reached`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("served")(scope, receive, send)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host)],
        "server": (reached, 8099),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "root_path": "",
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(HostCheck(app, server)(scope, receive, send))
    return int(sent[0]["status"])


def test_the_smart_demo_answers_no_other_host_on_its_unguarded_metrics() -> None:
    # `serve --smart-demo` sets public_base_url: the Host check was skipped, and a rebinding page
    # read /metrics, which takes no token on loopback.
    with smart_demo(_settings(), "127.0.0.1", 8099) as demo:
        server = check_hosts(demo.settings, "127.0.0.1").server
    assert _host_check_status(server, "/metrics", b"attacker.example:8099") == 400
    assert _host_check_status(server, "/metrics", b"127.0.0.1:8099") == 200


@pytest.mark.parametrize(
    "path", [f"{BASE}/Patient/?family=smith", f"{BASE}/Patient/p1/", "/readyz/", "/metrics/", "/healthz/"]
)
def test_a_trailing_slash_is_a_404_outcome_never_a_redirect_to_the_clients_host(path: str) -> None:
    # Starlette's redirect_slashes answered with a 307 to `http://evil.example/...` (Location
    # built from the client's Host although public_base_url was set), and no OperationOutcome.
    with _hosts_gateway(public_base_url="https://fhir.example.org") as client:
        headers = {"Host": "evil.example", "X-Forwarded-Proto": "https"}
        refused = client.get(path, headers=headers, follow_redirects=False)
        body = outcome(refused, 404)
        assert "location" not in refused.headers and "evil" not in json.dumps(body)
        assert body["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize("entry", ["https://fhir.example.org", "fhir.example.org/fhir", "*", "a b"])
def test_allowed_hosts_entries_are_names(entry: str) -> None:
    with pytest.raises(ValueError, match="allowed_hosts"):
        ServerSettings(allowed_hosts=[entry])


def test_host_values_split_into_name_and_port() -> None:
    assert split_host("Example.ORG.:443") == ("example.org", "443")
    assert split_host("[::1]:8080") == ("[::1]", "8080")
    assert split_host("[::1]") == ("[::1]", None)
    assert split_host("localhost") == ("localhost", None)


def test_two_host_headers_or_none_are_a_400() -> None:
    backend = FakeBackend()
    backend.add_patient("p1")
    app = create_app(_settings(allowed_hosts=["127.0.0.1"]), [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    try:
        get = f"GET {BASE}/Patient/p1 HTTP/1.1\r\n"
        for head in ("Host: 127.0.0.1\r\nHost: evil.example\r\n", ""):
            status, _, _ = answer(exchange(running.port, f"{get}{head}Connection: close\r\n\r\n".encode()))
            assert status == 400
        raw = exchange(running.port, f"{get}Host: 127.0.0.1:{running.port}\r\nConnection: close\r\n\r\n".encode())
        assert raw.startswith(b"HTTP/1.1 200 ")
    finally:
        running.stop()


def _until_closed(port: int, data: bytes) -> bytes:
    """Send `data` on one connection and read all the server sends until it closes it."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(15)
        sock.sendall(data)
        received = b""
        while part := sock.recv(65536):
            received += part
    return received


def _links_of(raw: bytes) -> list[str]:
    bundle = json.loads(raw.partition(b"\r\n\r\n")[2])
    return [link["url"] for link in bundle["link"]] + [entry["fullUrl"] for entry in bundle["entry"]]


@pytest.fixture(scope="module")
def on_loopback() -> Iterator[int]:
    """The gateway as `serve` runs it on loopback: only the loopback names allowed."""
    backend = FakeBackend()
    backend.add_patient("p1")
    app = create_app(check_hosts(_settings(), "127.0.0.1"), [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    yield running.port
    running.stop()


def test_an_http10_request_without_host_is_served_with_links_to_the_address_it_reached(on_loopback: int) -> None:
    # RFC 9112 section 3.2 asks Host of HTTP/1.1 requests only: a probe's `GET ... HTTP/1.0`
    # without it was a 400. Its links name the address and port the connection reached.
    port = on_loopback
    raw = _until_closed(port, f"GET {BASE}/Patient?_count=1 HTTP/1.0\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.1 200 "), raw[:300]
    links = _links_of(raw)
    assert links and all(url.startswith(f"http://127.0.0.1:{port}{BASE}/Patient") for url in links), links
    body = b'{"resourceType":"Patient","name":[{"family":"Doe"}]}'
    create = f"POST {BASE}/Patient HTTP/1.0\r\nContent-Type: application/fhir+json\r\n"
    raw = _until_closed(port, f"{create}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert raw.startswith(b"HTTP/1.1 201 "), raw[:300]
    location = next(line for line in raw.split(b"\r\n") if line.lower().startswith(b"location:"))
    assert location.split(b":", 1)[1].strip().startswith(f"http://127.0.0.1:{port}{BASE}/Patient/".encode())


@pytest.mark.slow
def test_without_host_links_come_from_public_base_url_and_http11_needs_host_all_the_same() -> None:
    backend = FakeBackend()
    backend.add_patient("p1")
    app = create_app(_settings(public_base_url="https://fhir.example.org"), [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    try:
        raw = _until_closed(running.port, f"GET {BASE}/Patient?_count=1 HTTP/1.0\r\n\r\n".encode())
        assert raw.startswith(b"HTTP/1.1 200 "), raw[:300]
        links = _links_of(raw)
        assert links and all(url.startswith(f"https://fhir.example.org{BASE}/Patient") for url in links), links
        # RFC 9112 section 3.2: an HTTP/1.1 request without Host MUST be a 400. With
        # public_base_url (and no allowed_hosts) the Host check was skipped, and it was served.
        status, _, _ = answer(_until_closed(running.port, f"GET {BASE}/Patient/p1 HTTP/1.1\r\n\r\n".encode()))
        assert status == 400
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("base", "status"),
    [(None, 400), ("https://fhir.example.org", 200)],
    ids=["links-from-host", "fixed-base"],
)
def test_an_http10_request_without_host_off_loopback_needs_a_fixed_base(base: str | None, status: int) -> None:
    # Reached at an address off loopback (a container's, behind a TCP load balancer), links built
    # from that address would name it to the client: served only with public_base_url.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("served")(scope, receive, send)

    server = ServerSettings(host="0.0.0.0", allowed_hosts=["fhir.example.org"], public_base_url=base)
    scope = {
        "type": "http",
        "http_version": "1.0",
        "method": "GET",
        "path": f"{BASE}/Patient",
        "raw_path": f"{BASE}/Patient".encode(),
        "query_string": b"",
        "headers": [],
        "server": ("10.1.2.3", 8080),
        "client": ("10.9.9.9", 50000),
        "scheme": "http",
        "root_path": "",
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(HostCheck(app, server)(scope, receive, send))
    assert sent[0]["status"] == status
    if status == 400:
        assert b"needs to build its links" in b"".join(m.get("body", b"") for m in sent)


def _head_of(raw: bytes) -> dict[str, str]:
    lines = raw.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}


@pytest.mark.parametrize(
    "fields",
    [
        "Host: 127.0.0.1\r\n",
        "Host: evil.example\r\n",  # a name the Host check refuses: the answer names no host
        "Host: 127.0.0.1\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: DELETE\r\n",
    ],
    ids=["allowed-host", "other-host", "cors-preflight-fields"],
)
def test_options_asterisk_is_answered_for_the_whole_server(
    on_loopback: int, fields: str, caplog: pytest.LogCaptureFixture
) -> None:
    # RFC 9110 section 9.3.7: `OPTIONS *` asks about the server in general. It was a 404
    # ("No such endpoint: /*"). The connection serves on after it.
    then = f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        statuses, received = _statuses_until_closed(on_loopback, f"OPTIONS * HTTP/1.1\r\n{fields}\r\n{then}".encode())
        deadline = time.monotonic() + 5
        while not _asterisk_lines(caplog) and time.monotonic() < deadline:  # written by the server's thread
            time.sleep(0.01)
    assert statuses == [200, 200], received[:600]
    first, _, rest = received.partition(b"\r\n\r\n")
    headers = _head_of(first + b"\r\n\r\n")
    assert [method.strip() for method in headers["allow"].split(",")] == list(SERVER_METHODS)
    assert headers["content-length"] == "0" and "date" in headers
    assert rest.startswith(b"HTTP/1.1 200 ")  # no content between the two answers
    assert [line.getMessage() for line in _asterisk_lines(caplog)] == ["OPTIONS * 200"]


def _asterisk_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.access" and r.__dict__.get("route") == "*"]


def test_options_asterisk_without_host_follows_rfc_9112(on_loopback: int) -> None:
    raw = _until_closed(on_loopback, b"OPTIONS * HTTP/1.0\r\n\r\n")  # HTTP/1.0 needs no Host
    assert raw.startswith(b"HTTP/1.1 200 ") and "allow" in _head_of(raw), raw[:300]
    for fields in ("", "Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n"):  # HTTP/1.1: none, or two, is a 400
        status, headers, body = answer(_until_closed(on_loopback, f"OPTIONS * HTTP/1.1\r\n{fields}\r\n".encode()))
        assert (status, body["issue"][0]["code"], headers["connection"]) == (400, "invalid", "close")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_another_method_with_the_target_asterisk_is_a_400(on_loopback: int, method: str) -> None:
    # RFC 9112 section 3.2.4: the asterisk-form is only for OPTIONS. It was a 404.
    request = f"{method} * HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    status, headers, body = answer(exchange(on_loopback, request.encode()))
    assert (status, body["issue"][0]["code"], headers["connection"]) == (400, "invalid", "close")
    assert "OPTIONS" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("target", "status"),
    [("*", 400), (f"{BASE}/Patient?family={'a' * MAX_TARGET_BYTES}", 414)],
    ids=["asterisk", "8kb-url"],
)
def test_a_refused_head_request_gets_no_content(on_loopback: int, target: str, status: int) -> None:
    # RFC 9110 section 9.3.2: an answer to HEAD has no content. The refusal's OperationOutcome
    # followed its head all the same.
    received = _until_closed(on_loopback, f"HEAD {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head, _, content = received.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()) and b"\r\ncontent-length: " in head, received[:300]
    assert content == b""


def test_the_methods_options_asterisk_lists_are_the_ones_the_server_answers() -> None:
    # `Allow` on `OPTIONS *` is a fixed list: a method answered nowhere, or one left out, shows here.
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe"}]}
    with _hosts_gateway() as client:
        answered = {
            "GET": client.get(f"{BASE}/Patient/p1"),
            "HEAD": client.head(f"{BASE}/Patient/p1"),
            "POST": client.post(f"{BASE}/Patient/_search", data={"family": "Doe"}),
            "PUT": client.put(f"{BASE}/Patient/p1", json=patient),
            "DELETE": client.delete(f"{BASE}/Patient/p1"),
        }
        assert {method: r.status_code for method, r in answered.items() if r.status_code >= 300} == {}
        for method in ("PATCH", "TRACE"):
            assert client.request(method, f"{BASE}/Patient/p1").status_code in (405, 501), method
    assert set(SERVER_METHODS) == {*answered, "OPTIONS"}  # OPTIONS: CORS preflights and `OPTIONS *`


SMART_OFF_LOOPBACK = """
[server]
auth = "smart"

[tenants.smile]
vendor = "dentalpms"
base_url = "https://pms.example.com/api/v1"
options = { org_id = "org-1" }
credentials = { api_token = "env:SMILE_TOKEN" }

[tenants.smile.auth]
issuer = "https://login.example.org"
jwks_uri = "https://login.example.org/jwks"
audience = "https://fhir.example.org/fhir/smile"
token_endpoint = "https://login.example.org/token"
"""


def test_serve_off_loopback_refuses_to_start_without_a_link_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the gateway started")

    monkeypatch.setattr(uvicorn, "run", started)
    monkeypatch.setenv("SMILE_TOKEN", "t0ken")
    config = tmp_path / "gateway.toml"
    config.write_text(SMART_OFF_LOOPBACK)
    assert main(["serve", "--config", str(config), "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "server.allowed_hosts" in error and "server.public_base_url" in error


def test_a_target_in_absolute_form_is_served_for_its_own_authority_not_host() -> None:
    # RFC 9112 section 3.2.2: the server MUST ignore Host and use the target's authority. A
    # loopback gateway answered `GET http://evil.example/...` with `Host: 127.0.0.1` as its own.
    backend = FakeBackend()
    backend.add_patient("p1")
    app = create_app(check_hosts(_settings(), "127.0.0.1"), [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    try:
        refused = f"GET http://evil.example{BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        assert answer(exchange(running.port, refused.encode()))[0] == 400
        served = (
            f"GET http://user@127.0.0.1:{running.port}{BASE}/Patient?_count=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n"
        )
        raw = exchange(running.port, served.encode())
        assert raw.startswith(b"HTTP/1.1 200 "), raw[:300]
        self_link = next(link["url"] for link in json.loads(raw.partition(b"\r\n\r\n")[2])["link"])
        assert self_link.startswith(f"http://127.0.0.1:{running.port}{BASE}/Patient?"), self_link
        # RFC 9112 section 3.2: an HTTP/1.1 request without Host, or with two, is a 400 in any
        # target form (the authority of an absolute one stood in for the missing Host).
        target = f"GET http://127.0.0.1:{running.port}{BASE}/Patient/p1 HTTP/1.1\r\n"
        assert answer(exchange(running.port, f"{target}\r\n".encode()))[0] == 400
        twice = f"{target}Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n"
        assert answer(exchange(running.port, twice.encode()))[0] == 400
        http10 = f"GET http://127.0.0.1:{running.port}{BASE}/Patient/p1 HTTP/1.0\r\n\r\n"
        assert exchange(running.port, http10.encode()).startswith(b"HTTP/1.1 200 ")
    finally:
        running.stop()


def test_a_target_in_absolute_form_naming_another_server_is_refused_with_public_base_url_too() -> None:
    # RFC 9112 section 3.2.2: the target's authority, not Host, names the server asked. With
    # public_base_url set (the attacker's `serve` config) the Host check was skipped, and
    # `GET http://evil.example/fhir/...` with `Host: 127.0.0.1` was answered 200.
    backend = FakeBackend()
    backend.add_patient("p1")
    settings = check_hosts(_settings(public_base_url="http://localhost:8097"), "127.0.0.1")
    app = create_app(settings, [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    try:
        for target in (f"http://evil.example{BASE}/Patient/p1", f"http://localhost@evil.example:8097{BASE}/Patient/p1"):
            raw = exchange(running.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            assert raw.startswith(b"HTTP/1.1 400 "), (target, raw[:300])
            assert "evil" not in json.dumps(answer(raw)[2])
        served = f"GET http://localhost:8097{BASE}/Patient?_count=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n"
        raw = exchange(running.port, served.encode())
        assert raw.startswith(b"HTTP/1.1 200 "), raw[:300]
        assert all(url.startswith(f"http://localhost:8097{BASE}/") for url in _links_of(raw)), _links_of(raw)
    finally:
        running.stop()


# -- Date ------------------------------------------------------------------------------------------


def _dated(raw: bytes) -> tuple[int, list[str], str | None]:
    """Status, every Date value and the Last-Modified of a raw HTTP answer."""
    lines = raw.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    fields = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
    modified = next((value for name, value in fields if name == "last-modified"), None)
    return int(lines[0].split()[1]), [value for name, value in fields if name == "date"], modified


def test_every_answer_has_one_date_and_no_last_modified_after_it() -> None:
    # RFC 9110 section 6.6.1: an origin server with a clock sends Date; section 8.8.2.1: a
    # Last-Modified is never later than it (one in the future, by a vendor's clock ahead of
    # ours, is replaced by the Date).
    backend = FakeBackend()
    backend.add_patient("ahead")
    backend.patients["ahead"]["meta"]["lastUpdated"] = "2999-01-01T00:00:00.000Z"
    app = create_app(_settings(), [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    try:
        for request in [
            f"GET {BASE}/Patient/ahead HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            f"GET {BASE}/Patient/nobody HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            "GET /fhir HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n",  # refused by the parser
        ]:
            status, dates, modified = _dated(exchange(running.port, request.encode()))
            assert len(dates) == 1, (status, dates)
            date = http_date(dates[0])
            assert date is not None and abs(date.timestamp() - time.time()) < 5
            if modified is not None:
                last = http_date(modified)
                assert last is not None and 0 <= (date - last).total_seconds() <= 1, (modified, dates)
        assert status == 400
    finally:
        running.stop()


def test_serve_leaves_the_date_to_the_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    options: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: options.update(kwargs))
    monkeypatch.setenv("SMILE_TOKEN", "t0ken")
    config = tmp_path / "gateway.toml"
    config.write_text(SMART_OFF_LOOPBACK)
    assert main(["serve", "--config", str(config)]) == 0
    assert options["date_header"] is False  # uvicorn's, a second behind at times, would be a second one
    assert options["server_header"] is False  # `Server: uvicorn` would name the software


# -- one request, one access line, at most one AuditEvent ---------------------------------------


@pytest.fixture
def backend() -> FakeBackend:
    backend = FakeBackend()
    backend.add_patient("p1")
    return backend


@pytest.fixture
def logged(tmp_path: Path, backend: FakeBackend) -> Iterator[tuple[int, Path]]:
    """A gateway over `backend` writing access lines, and its audit trail to a file: its port,
    and that file."""
    trail = tmp_path / "audit.jsonl"
    settings = Settings(
        server=ServerSettings(body_timeout=1.0),
        paging=PagingSettings(),
        audit=AuditSettings(sink="file", path=str(trail)),
        tenants={TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)},
    )
    app = create_app(settings, [backend.vendor()], access_logging=True)
    running = serve_in_thread(app, http=header_protocol(5.0), date_header=False)
    yield running.port, trail
    running.stop()


def _wait_until_served(port: int) -> None:
    """Return once no request of the tenant is in flight (its handler has returned, and written
    whatever it writes), as the gateway's /metrics says; bounded generously."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        raw = exchange(port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        if f'fhir_gateway_http_requests_in_flight{{tenant="{TENANT}"}} 0.0'.encode() in raw:
            return
        time.sleep(0.05)
    raise AssertionError("the request's handler did not return")


def _chunks(body: bytes, size: int = 65536) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("framing", "rest_of_body", "status"),
    [
        # The protocol finds a chunk size that is no number and answers 400 itself: the handler,
        # reading the body, saw the client "go away" and answered (unsent) a 400 of its own.
        ("Transfer-Encoding: chunked", b'5\r\n{"res\r\nZZ\r\n', 400),
        ("Content-Length: 100", b'{"res', 408),  # the body stops coming: server.body_timeout
        ("Transfer-Encoding: chunked", _chunks(b" " * (MAX_BODY_BYTES + 10)) + b"0\r\n\r\n", 413),
    ],
    ids=["malformed-chunk", "body-too-slow", "body-too-large"],
)
def test_a_request_refused_while_its_handler_reads_the_body_is_logged_and_audited_once(
    logged: tuple[int, Path], caplog: pytest.LogCaptureFixture, framing: str, rest_of_body: bytes, status: int
) -> None:
    # One request, one answer: the access log showed two lines for it (the refusal's and the
    # handler's), and the audit trail an AuditEvent for the handler's answer, which was never sent.
    port, trail = logged
    head = f"POST {BASE}/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/fhir+json\r\n"
    head += f"{framing}\r\nExpect: 100-continue\r\n\r\n"
    with caplog.at_level(logging.INFO, logger="gateway.access"), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(15)
        sock.sendall(head.encode())
        # The server invites the body once the handler reads it: it is reading when the body fails.
        continued = b""
        while b"\r\n\r\n" not in continued:
            part = sock.recv(65536)
            assert part, continued
            continued += part
        assert continued == b"HTTP/1.1 100 Continue\r\n\r\n", continued
        sock.sendall(rest_of_body)
        raw = _one_answer(sock)
        assert answer(raw)[0] == status, raw[:300]
        _wait_until_served(port)
    lines = _logged_lines(caplog)
    assert [line.__dict__["status"] for line in lines] == [status], [line.getMessage() for line in lines]
    assert _audited(trail) in ([], [str(status)])


def _logged_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.access" and "/metrics" not in r.getMessage()]


def _audited(trail: Path) -> list[str]:
    """The status of each AuditEvent on the trail."""
    lines = trail.read_text().splitlines() if trail.exists() else []
    return [json.loads(line)["outcomeDesc"] for line in lines]


@pytest.fixture
def held_read(backend: FakeBackend) -> Iterator[tuple[threading.Event, threading.Event]]:
    """The vendor's Patient read held until released: (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    read = backend.read_patient

    async def held(resource_id: str) -> Any:
        reached.set()
        await asyncio.to_thread(release.wait, 30)
        return await read(resource_id)

    backend.read_patient = held  # type: ignore[method-assign]
    yield reached, release
    release.set()


@pytest.mark.slow
def test_a_read_refused_for_its_body_while_the_vendor_answers_is_audited_as_refused(
    held_read: tuple[threading.Event, threading.Event], logged: tuple[int, Path], caplog: pytest.LogCaptureFixture
) -> None:
    # The read does not wait for its body: the vendor was asked, the chunk found malformed, the
    # client answered 400, then the vendor's answer made a 200 that was never sent, and the
    # trail said the patient was read (200) and the access log said so beside the 400.
    reached, release = held_read
    port, trail = logged
    with caplog.at_level(logging.INFO, logger="gateway.access"), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(15)
        sock.sendall(f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + BAD_CHUNK[:-4])
        assert reached.wait(15)  # the handler is waiting on the vendor
        sock.sendall(b"ZZ\r\n")
        raw = _one_answer(sock)
        assert answer(raw)[0] == 400, raw[:300]
        release.set()
        _wait_until_served(port)
    assert [line.__dict__["status"] for line in _logged_lines(caplog)] == [400]
    assert _audited(trail) == ["400"]


def _smart_on_loopback(**server: Any) -> ServerSettings:
    """check_hosts' server settings for an `auth = "smart"` gateway on 127.0.0.1 (the tenant's
    issuer is nothing the Host check reads)."""
    settings = _settings(**server)
    smart = settings.model_copy(update={"server": settings.server.model_copy(update={"auth": "smart"})})
    return check_hosts(smart, "127.0.0.1").server


@pytest.mark.parametrize("host", [b"fhir_gateway", b"10.0.0.5", b"fhir.internal.example.org:8080"])
def test_on_loopback_a_proxy_that_rewrites_host_reaches_the_token_guarded_api(host: bytes) -> None:
    # nginx `proxy_pass http://fhir_gateway;` sends `Host: fhir_gateway`; a load balancer's check
    # by IP `Host: 10.0.0.5`. With public_base_url and auth = "smart" they got 400 everywhere.
    server = _smart_on_loopback(public_base_url="https://fhir.example.org")
    assert _host_check_status(server, f"{BASE}/Patient/p1", host) == 200
    assert _host_check_status(server, "/metrics", host) == 400  # no token on loopback: still guarded
    assert _host_check_status(server, "/", host) == 400
    assert _host_check_status(server, "/metrics", b"fhir.example.org") == 200


@pytest.mark.parametrize("probe", ["/livez", "/healthz", "/readyz"])
def test_the_probes_answer_whatever_host_names_the_instance(probe: str) -> None:
    # A health check by IP or internal alias got 400: the instance was marked unhealthy.
    strict = check_hosts(_settings(public_base_url="https://fhir.example.org"), "127.0.0.1").server  # auth none
    named = _settings(allowed_hosts=["fhir.example.org"]).server
    for server in (strict, named, _smart_on_loopback(public_base_url="https://fhir.example.org")):
        assert _host_check_status(server, probe, b"10.0.0.5") == 200
    assert _host_check_status(strict, f"{BASE}/Patient/p1", b"10.0.0.5") == 400  # auth none: data guarded


def test_the_start_up_log_names_the_hosts_answered(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="gateway.rest.hosts")
    HostCheck(PlainTextResponse("x"), _smart_on_loopback(public_base_url="https://fhir.example.org"))
    assert "/metrics reached on a loopback address answer only localhost, 127.0.0.1, [::1], fhir.example.org" in (
        caplog.text
    )


def _client_seen(server: ServerSettings, path: str, host: bytes) -> Any:
    """The `client` of the scope the app behind HostCheck sees for a GET of `path` naming `host`,
    reached on 127.0.0.1 from 127.0.0.1."""
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"])
        await PlainTextResponse("served")(scope, receive, send)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host)],
        "server": ("127.0.0.1", 8099),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "root_path": "",
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    asyncio.run(HostCheck(app, server)(scope, receive, send))
    [client] = seen
    return client


def test_readyz_named_by_a_host_not_answered_tells_no_more_than_to_a_stranger() -> None:
    # A rebinding page on loopback would read /readyz's breaker and OAuth details, which a
    # loopback client is shown like /metrics: it gets the answer of a client of no known address.
    for server in (
        _smart_on_loopback(public_base_url="https://fhir.example.org"),
        check_hosts(_settings(), "127.0.0.1").server,
    ):
        assert _client_seen(server, "/readyz", b"attacker.example:8099") is None
        assert _client_seen(server, "/readyz", b"localhost:8099") == ("127.0.0.1", 50000)


def test_listening_on_all_addresses_a_loopback_connection_to_metrics_still_needs_a_name_answered() -> None:
    settings = _settings(public_base_url="https://fhir.example.org")
    smart = settings.model_copy(update={"server": settings.server.model_copy(update={"auth": "smart"})})
    server = check_hosts(smart, "0.0.0.0").server
    assert server.allowed_hosts is None
    assert _host_check_status(server, "/metrics", b"attacker.example:8099") == 400
    assert _host_check_status(server, "/metrics", b"localhost:8099") == 200
    assert _host_check_status(server, f"{BASE}/Patient/p1", b"lb.internal") == 200


def test_on_a_dual_stack_socket_an_ipv4_loopback_connection_to_metrics_needs_a_name_answered() -> None:
    # A cold review's case: `--host ::` (with workers, a dual-stack socket) sees an IPv4 client as
    # `::ffff:127.0.0.1` (RFC 4291 section 2.5.5.2), which Python 3.11 does not call loopback: a
    # DNS-rebinding page read /metrics and the status page without a token.
    settings = _settings(public_base_url="https://fhir.example.org")
    smart = settings.model_copy(update={"server": settings.server.model_copy(update={"auth": "smart"})})
    server = check_hosts(smart, "::").server
    assert _host_check_status(server, "/metrics", b"attacker.example:8099", reached="::ffff:127.0.0.1") == 400
    assert _host_check_status(server, "/metrics", b"localhost:8099", reached="::ffff:127.0.0.1") == 200
