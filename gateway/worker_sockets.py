"""A listening socket of its own for each worker, so that the kernel shares connections out.

With one listening socket inherited by every worker, whichever worker wakes first accepts every
connection waiting (libuv and asyncio accept until the queue is empty). Clients that open their
connections together and keep them (load balancers, connection pools, benchmarks) then all land
on one worker, and the others idle: two workers served no more than one in two measurements of
three. With SO_REUSEPORT each worker listens on a socket of its own, bound to the same address,
and Linux spreads new connections over them by a hash of their addresses (socket(7)).

The price: connections still waiting in the queue of a worker that stops (a restart, a crash)
are reset, unless the system moves them to another worker (`net.ipv4.tcp_migrate_req = 1`,
Linux 5.14+); on one shared socket they would wait for the others. `server.worker_sockets =
"shared"` keeps the one socket.

uvicorn's supervisor hands every worker the list of sockets it was given, pickled. The parent's
`ReusePortSocket` is bound but never listens, so no connection ever waits on it: it holds the
address and, pickled for a worker, becomes a fresh socket bound to the same address, on which
that worker's server listens.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("gateway.workers")


def reuse_port_supported() -> bool:
    # Other systems accept the option without spreading connections (BSD: the last socket bound
    # takes them all): there the workers keep sharing one socket.
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


class ReusePortSocket(socket.socket):
    """A TCP socket bound with SO_REUSEPORT; pickled, a new one bound to the same address."""

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return _bind_in_worker, (self.family, self.getsockname())  # the whole address: an IPv6 scope too


def hold_address(host: str, port: int) -> ReusePortSocket:
    """The parent's socket for `host:port`: bound, not listening. OSError if the address is taken,
    by any program: SO_REUSEPORT alone would let a second gateway of the same user join the port
    and take half its connections, so a socket without it tries the address first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    return bind_reuse_port(family, (host, port))


def bind_reuse_port(family: socket.AddressFamily, address: tuple[Any, ...]) -> ReusePortSocket:
    sock = ReusePortSocket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_in_worker(family: socket.AddressFamily, address: tuple[Any, ...]) -> ReusePortSocket:
    try:
        return bind_reuse_port(family, address)
    except OSError as exc:
        # A start-up failure, which uvicorn's supervisor does not retry: binding would fail the
        # same way in every replacement.
        log.error("worker cannot listen on %s: %s", address[:2], exc.strerror)
        sys.exit(STARTUP_FAILURE)
