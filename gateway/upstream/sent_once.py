"""Writes the gateway sends once: each on a new connection, and never sent again by aiohttp.

A write the vendor cannot tell from a repeat (no `Idempotency-Key`; gateway.upstream.retry) is
sent once. On a kept-alive connection it can meet the race of RFC 9112 section 9.5: the vendor's
server closes the connection as idle (gunicorn after 2 s, uvicorn and Node after 5 s) just as
the request goes out, and the request fails unread, with nothing to say it was never applied.
RFC 9110 section 9.2.2: a client SHOULD NOT retry a non-idempotent request unless it can tell
the request was never applied, and a reset before any answer cannot tell it (a server that read
the request and then failed resets the connection the same way). So such a write is not taken
from the pool at all: a connector with `force_close` (aiohttp's documented switch off keep-alive)
opens a connection for it, which has never been idle, and closes it after the answer (the
request says `Connection: close`). It costs the write a connection set-up; reads, the hot path,
keep the shared pool and pay nothing. A write under an `Idempotency-Key`, which the gateway
retries, goes the same way (gateway.upstream.http): so that whether each attempt went out is
known (`Sending`), and an attempt that may have been applied is not passed over for the plain
failure of a later one.

aiohttp itself sends a request of an RFC-idempotent method (PUT and DELETE among them) a second
time when its connection fails before the answer (aiohttp/client.py, "Retrying Requests"),
whatever the connection's age, and without a public switch to stop it (aio-libs/aiohttp#10790).
For a write sent once that resend is what the gateway's retry policy refuses: the vendor may
have applied the first (an update's `base_version` then answers the second with a conflict, a
delete with a 404), and it goes past the vendor's request limit and the count of requests sent.
`never_resent` (a client middleware, aiohttp's public hook around sending) turns the failure into
`AnswerLost`, which aiohttp does not resend.

A write whose time runs out may likewise have been applied, or certainly not: aiohttp's total
timeout fires in whichever phase the request is in (waiting for a connection of the pool,
connecting, or waiting for the answer), and raises the same `TimeoutError` in each. `Sending`
records which: aiohttp's tracing signal `on_request_headers_sent` (its public, documented hook
into a request's phases) fires once a connection is made and the request is about to be written
to it (`ClientRequest.send`: at once, or on Python 3.11 in a task started there, its next step).
A middleware cannot tell: the total timeout reaches it as a cancellation, in either phase.
Before the signal, nothing was sent; after it, the vendor may have read the write. The signal
comes just before the bytes are handed to the transport, so a timeout in that instant is told
as "may have been applied": the safe side of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp


class AnswerLost(aiohttp.ClientConnectionError):
    """The connection failed after the write was sent and before its answer: the vendor may have
    applied it."""


async def never_resent(request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # no connection, nothing sent; aiohttp does not resend it either
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as lost:
        raise AnswerLost(str(lost)) from lost


def connector(limit: int) -> aiohttp.TCPConnector:
    """A connection of its own for each write, closed after its answer."""
    return aiohttp.TCPConnector(limit=limit, force_close=True)


@dataclass
class Sending:
    """One request of a write, as aiohttp's tracing saw it (its `trace_request_ctx`)."""

    sent: bool = False  # a connection was made, and the request began to go out on it


async def _going_out(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    if isinstance(context.trace_request_ctx, Sending):
        context.trace_request_ctx.sent = True


def tracing() -> aiohttp.TraceConfig:
    """The trace that marks a `Sending` passed as a request's `trace_request_ctx` as sent."""
    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(_going_out)
    return config
