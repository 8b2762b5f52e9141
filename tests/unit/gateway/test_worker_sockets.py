"""gateway.worker_sockets: the parent's socket holds the address without taking connections, and
each copy a worker unpickles is a socket of its own on that address, among which the system
spreads the connections."""

from __future__ import annotations

import io
import socket
from multiprocessing.reduction import ForkingPickler

import pytest
from uvicorn.config import STARTUP_FAILURE

from gateway.worker_sockets import bind_reuse_port, hold_address, reuse_port_supported

pytestmark = pytest.mark.skipif(not reuse_port_supported(), reason="SO_REUSEPORT spreads connections on Linux only")


def _as_a_worker_gets_it(sock: socket.socket) -> socket.socket:
    """Pickled as uvicorn's supervisor hands its sockets to a spawned worker."""
    buffer = io.BytesIO()
    ForkingPickler(buffer).dump([sock])
    (copy,) = ForkingPickler.loads(buffer.getvalue())
    assert isinstance(copy, socket.socket)
    return copy


def test_the_parents_socket_holds_the_port_but_takes_no_connection() -> None:
    with hold_address("127.0.0.1", 0) as parent:
        port = parent.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):  # bound, not listening: nothing waits on it
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with socket.socket() as other, pytest.raises(OSError):  # nor can another program take it
            other.bind(("127.0.0.1", port))


def test_a_port_another_gateway_listens_on_is_refused_even_with_reuse_port() -> None:
    with bind_reuse_port(socket.AF_INET, ("127.0.0.1", 0)) as other:
        other.listen(8)  # a gateway of the same user, its workers on SO_REUSEPORT sockets
        with pytest.raises(OSError):
            hold_address("127.0.0.1", other.getsockname()[1]).close()


def test_a_worker_that_cannot_bind_stops_as_a_start_up_failure() -> None:
    with hold_address("127.0.0.1", 0) as parent, socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))  # held without SO_REUSEPORT: no worker can bind it
        rebuild, (family, _) = parent.__reduce_ex__(2)  # what a worker runs when it unpickles
        with pytest.raises(SystemExit) as stopped:
            rebuild(family, squatter.getsockname())
    assert stopped.value.code == STARTUP_FAILURE  # uvicorn's supervisor then stops instead of restarting it


def test_each_worker_listens_on_its_own_socket_and_connections_are_spread() -> None:
    with hold_address("127.0.0.1", 0) as parent:
        port = parent.getsockname()[1]
        workers = [_as_a_worker_gets_it(parent) for _ in range(2)]
        try:
            for worker in workers:
                assert worker.getsockname() == ("127.0.0.1", port) and worker.fileno() != parent.fileno()
                worker.listen(64)
                worker.setblocking(False)
            clients = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(64)]
            accepted = [_accept_all(worker) for worker in workers]
            for client in clients:
                client.close()
        finally:
            for worker in workers:
                worker.close()
    assert sum(accepted) == 64
    # By a hash of each connection's addresses: fewer than 16 of 64 on one side about once in
    # 40,000 runs; on one shared socket, the first worker to accept would have taken them all.
    assert min(accepted) >= 16


def _accept_all(listening: socket.socket) -> int:
    count = 0
    while True:
        try:
            connection, _ = listening.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1
