"""A listening socket of its own for each worker, so that the kernel shares connections out.

With one listening socket inherited by every worker, whichever worker wakes first accepts every
connection waiting (libuv and asyncio accept until the queue is empty). Clients that open their
connections together and keep them (load balancers, connection pools, benchmarks) then all land
on one worker, and the others idle: two workers served no more than one in two measurements of
three. With SO_REUSEPORT each worker listens on a socket of its own, bound to the same address,
and Linux spreads new connections over them by a hash of their addresses (socket(7)).

uvicorn's supervisor hands every worker the list of sockets it was given, pickled. The parent's
`ReusePortSocket` is bound but never listens, so no connection ever waits on it: it holds the
address (a port in use is an error at start, in the parent) and, pickled for a worker, becomes
a fresh socket bound to the same address, on which that worker's server listens.
"""

from __future__ import annotations

import socket
import sys
from typing import Any


def reuse_port_supported() -> bool:
    # Other systems accept the option without spreading connections (BSD: the last socket bound
    # takes them all): there the workers keep sharing one socket.
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


class ReusePortSocket(socket.socket):
    """A TCP socket bound to `address` with SO_REUSEPORT; pickled, a new one to the same address."""

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return bind_reuse_port, (self.family, self.getsockname()[:2])


def bind_reuse_port(family: socket.AddressFamily, address: tuple[str, int]) -> ReusePortSocket:
    sock = ReusePortSocket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
