"""Serves vendor sandboxes over real HTTP on loopback, each in a thread of its own.

The demo and the tests reach every sandbox exactly as they would reach the vendor: through
the adapter's HTTP client, on a socket. Nothing takes a shortcut into sandbox data.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class RunningServer:
    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str = "sandbox",
    http: Any = "auto",
    date_header: bool = True,
) -> RunningServer:
    """Start `app` on a bound loopback socket and return once it accepts connections.
    `date_header=False` for an app that writes its own `Date`, as the gateway does."""
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets whose protocol
    # says TCP; without it every reused connection stalls ~40 ms on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # log_config=None: uvicorn keeps to the process's logging (JSON lines) instead of installing its own.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="auto", http=http, log_config=None, date_header=date_header
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
    return RunningServer(server, thread, sock.getsockname()[1])


@dataclass
class SandboxHost:
    servers: list[RunningServer] = field(default_factory=list)

    def start(self, app: Any, name: str) -> str:
        running = serve_in_thread(app, name=f"sandbox-{name}")
        self.servers.append(running)
        return running.url

    def stop(self) -> None:
        for running in self.servers:
            running.stop()
        self.servers.clear()
