"""A loopback server over real sockets, each connection served in a thread of its own.

The test vendors that play what HTTP libraries hide (a connection closed as idle, an answer cut
short or never given) share this: `start` listens on a free port (`url`), `stop` closes every
connection, and a subclass's `_serve(conn)` does what its vendor does with one connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class SocketServer:
    url: str
    connections: int  # accepted so far

    def start(self) -> None:
        self._listener = socket.socket()
        self._open: list[socket.socket] = []
        self._stopping = threading.Event()
        self.connections = 0
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        for conn in list(self._open):
            with contextlib.suppress(OSError):
                conn.close()

    def _accept(self) -> None:
        with self._listener:
            while not self._stopping.is_set():
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:  # closed: the server stopped listening
                    return
                self.connections += 1
                self._open.append(conn)
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError
