"""Clients that never finish sending a request are dropped (slowloris).

uvicorn closes idle keep-alive connections, but a connection that opens and sends nothing, or
sends headers a byte at a time, or a body that never ends, holds its socket for ever. Headers:
`header_protocol` gives uvicorn an HTTP protocol that closes a connection whose request headers
are not complete `header_timeout` seconds after the connection opened or the request began.
Bodies: the gateway reads a request body within `body_timeout` seconds, else answers 408
(gateway.rest.incoming).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _HeaderDeadline(HttpToolsProtocol):
    header_timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def header_protocol(header_timeout: float) -> type[Any]:
    """uvicorn's httptools protocol, closing connections whose headers take too long."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadline,), {"header_timeout": header_timeout})
