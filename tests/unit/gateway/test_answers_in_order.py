"""Answers to HEAD and GET, one after another on a connection or ending it, come whole and in
order, over real sockets."""

from __future__ import annotations

import socket
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
        server=ServerSettings(),
        paging=PagingSettings(),
        tenants={TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)},
    )
    app = create_app(settings, [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, http=header_protocol(5.0))
    yield running.port
    running.stop()


def _content_length(head: bytes) -> int:
    return next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_an_answer_ending_its_connection_goes_out_whole(port: int, method: str) -> None:
    # A HEAD answer is its head alone (Content-Length says what a GET would have had); an answer
    # on a connection the client closes goes out whole before the connection is closed.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(5)
        sock.sendall(f"{method} {BASE}/Patient/p1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(1 << 20):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), received[:200]
    assert len(body) == (0 if method == "HEAD" else _content_length(head)) and _content_length(head) > 0


def test_pipelined_answers_to_head_and_get_come_whole_and_in_order(port: int) -> None:
    # RFC 9112 section 9.3.2: pipelined requests are answered in the order they came, each
    # whole; a HEAD answer carries no content the client would read as the next answer's.
    requests = [f"{method} {BASE}/Patient/p1 HTTP/1.1\r\nHost: localhost\r\n\r\n" for method in ("HEAD", "GET", "HEAD")]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(5)
        sock.sendall(
            "".join(requests).encode()
            + f"GET {BASE}/Patient/p1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(1 << 20):
            received += chunk
    answers = []
    rest = received
    for method in ("HEAD", "GET", "HEAD", "GET"):
        head, _, rest = rest.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), received[:400]
        length = 0 if method == "HEAD" else _content_length(head)
        answers.append(rest[:length])
        rest = rest[length:]
    assert rest == b"" and answers[0] == answers[2] == b"" and answers[1] == answers[3] != b""
