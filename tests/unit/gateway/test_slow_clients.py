"""Slow clients (slowloris) are dropped: headers and bodies that never finish, over real sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from gateway.app import create_app
from gateway.sandbox_host import serve_in_thread
from gateway.settings import PagingSettings, ServerSettings, Settings, TenantSettings
from gateway.slow_clients import header_protocol
from tests.support.fake_vendor import BASE, FAKE, FAKE_URL, TENANT, FakeBackend


@pytest.fixture
def port() -> Iterator[int]:
    backend = FakeBackend()
    backend.add_patient("p1")
    settings = Settings(
        server=ServerSettings(body_timeout=0.3),
        paging=PagingSettings(),
        tenants={TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)},
    )
    app = create_app(settings, [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(0.3), date_header=False)
    yield running.port
    running.stop()


def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False


def receive_all(sock: socket.socket) -> str:
    """One whole answer: its headers, then as many body bytes as its Content-Length says (the
    answer may come in several parts, and the connection may stay open after it)."""
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return (head + b"\r\n\r\n" + body).decode()


@pytest.mark.slow
def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert closed_within(sock, 2)


@pytest.mark.slow
def test_headers_sent_a_byte_at_a_time_do_not_hold_the_connection(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        for byte in f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode():
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.02)
        assert closed_within(sock, 2) and time.monotonic() - started < 3


@pytest.mark.slow
def test_a_body_that_never_finishes_is_a_408(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        request = (
            f"POST {BASE}/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
            'Content-Length: 100\r\n\r\n{"resourceType":'
        )
        sock.sendall(request.encode())
        answer = receive_all(sock)
    assert answer.startswith("HTTP/1.1 408") and "OperationOutcome" in answer


def test_a_prompt_client_is_served(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert receive_all(sock).startswith("HTTP/1.1 200")


def trickle_until_closed(sock: socket.socket, seconds: float) -> bool:
    """Send a body byte every half second, as the attacker did; True if within `seconds` the
    server closed its socket, not only its sending side (a half-close may linger while the
    client sends): the bytes sent then are answered with a reset."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock.send(b"a")
            if sock.recv(1024) == b"":  # the end of the server's sending; it may read on a while
                time.sleep(0.5)
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "status"),
    [(f"{BASE}/Observation", 405), (f"{BASE}/Patient", 408)],
    ids=["answered-before-its-body", "too-slow"],
)
def test_a_body_trickled_after_its_answer_does_not_hold_the_connection(port: int, path: str, status: int) -> None:
    # The answer went out, each byte the client trickled after it put off the keep-alive
    # timeout, and nothing else bounded the body: the socket was still held a minute on. The
    # body announced (1000 bytes) takes the trickle eight minutes; the bound (uvicorn's 5 s
    # keep-alive timeout) is far shorter than the 60 s allowed here.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
            f'Content-Length: 1000\r\n\r\n{{"resourceType":'.encode()
        )
        answer = receive_all(sock)
        assert answer.startswith(f"HTTP/1.1 {status} "), answer[:200]
        assert trickle_until_closed(sock, 60)


@pytest.mark.slow
def test_a_408_closes_the_connection(port: int) -> None:
    # RFC 9110 section 15.5.9: a server sending 408 SHOULD send the "close" connection option,
    # as it has decided to close rather than wait on.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {BASE}/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
            'Content-Length: 100\r\n\r\n{"resourceType":'.encode()
        )
        answer = receive_all(sock)
    assert answer.startswith("HTTP/1.1 408") and "\r\nconnection: close\r\n" in answer.lower()


@pytest.mark.slow
def test_a_body_finished_after_its_answer_leaves_the_connection_to_the_keep_alive_timeout(port: int) -> None:
    # The rest of the body, sent after the answer, put off the keep-alive timeout that the answer
    # had armed, and nothing armed it again: an idle connection held for ever.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"POST {BASE}/Observation HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{{".encode())
        assert receive_all(sock).startswith("HTTP/1.1 405 ")
        sock.sendall(b"123456789")
        assert closed_within(sock, 60)
