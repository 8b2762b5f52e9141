"""A vendor over real sockets that answers each request as a script says, for tests of lost answers.

`ScriptedVendor` reads each request whole (recording its request line and Idempotency-Key),
then sends the bytes the script of the request's path gives, and closes the connection or holds
it open, never answering more, until the test ends: a vendor slow to answer, or one whose
connection drops in the middle of an answer, made deterministic.
"""

from __future__ import annotations

import contextlib
import select
import socket
from dataclasses import dataclass, field

from tests.support.socket_server import SocketServer


def head(status: int, length: int, *extra: str) -> bytes:
    """An answer's status line and headers, announcing a body of `length` bytes."""
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", f"Content-Length: {length}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(frozen=True)
class Script:
    sent: bytes = b""  # what the vendor sends once it has read the request
    close: bool = False  # and then closes the connection; else it holds it open, saying nothing more
    last: bool = False  # and then stops listening: every later connection is refused


@dataclass
class ScriptedVendor(SocketServer):
    scripts: dict[str, Script]  # by path prefix (a test may change them); a path none matches is never answered
    url: str = ""
    read: list[str] = field(default_factory=list)  # "METHOD /path" of each request it read
    keys: list[str] = field(default_factory=list)  # the Idempotency-Key of each, "" for none

    def _serve(self, conn: socket.socket) -> None:
        # OSError: closed by `stop`; ValueError: `select` of the socket `stop` closed (its fd is -1)
        with conn, contextlib.suppress(OSError, ValueError):
            path = self._read_request(conn)
            if not path:
                return
            script = next((s for prefix, s in self.scripts.items() if path.startswith(prefix)), Script())
            conn.sendall(script.sent)
            if script.last:
                self._listener.close()
            if script.close:
                return
            while not self._stopping.is_set():  # held open, unanswered, until the test ends
                select.select([conn], [], [], 0.05)

    def _read_request(self, conn: socket.socket) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return ""
            data += chunk
        head_bytes, _, body = data.partition(b"\r\n\r\n")
        fields = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.decode().partition(":") for line in head_bytes.split(b"\r\n")[1:])
        }
        while len(body) < int(fields.get("content-length", "0")) and (chunk := conn.recv(65536)):
            body += chunk
        method, path, _ = head_bytes.split(b"\r\n")[0].decode().split(" ")
        self.read.append(f"{method} {path}")
        self.keys.append(fields.get("idempotency-key", ""))
        return path
