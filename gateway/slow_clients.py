"""The gateway's HTTP protocol: slow clients are dropped, oversize or malformed requests are
answered with an OperationOutcome.

uvicorn closes idle keep-alive connections, but a connection that opens and sends nothing, or
sends headers a byte at a time, or a body that never ends, holds its socket for ever. Headers:
`header_protocol` gives uvicorn an HTTP protocol that closes a connection whose request headers
are not complete `header_timeout` seconds after the connection opened or the request began.
Bodies: the gateway reads a request body within `body_timeout` seconds, else answers 408
(gateway.rest.incoming); a body still arriving after its request was answered is given no
longer than uvicorn's keep-alive timeout, which each byte it sends would otherwise put off.

The same protocol bounds what a request's head may hold (uvicorn's httptools parser has no
limit of its own, and keeps all of it in memory): a request target over `MAX_TARGET_BYTES` is
a 414, a head over `MAX_HEAD_BYTES` a 431 (RFC 9110 section 15.5.15, RFC 6585 section 5), and
what the parser cannot read at all a 400 (a method it does not know, a 501: RFC 9110 section
9.1; a transfer coding other than chunked, a 501: RFC 9112 section 6.1). Every one of them
is an OperationOutcome, like any other answer of a FHIR server, and closes the connection
after the client has been given time to read it (RFC 9112 section 9.6).

`OPTIONS *` (the asterisk-form, RFC 9112 section 3.2.4) asks about the server as a whole, not
about a resource: it is answered here, 200 with `Allow` and no content (RFC 9110 section 9.3.7),
without going through the app. It skips the allowed-hosts check (gateway.rest.hosts), which
keeps links from naming another server and a page from reaching the gateway by DNS rebinding:
this answer holds no link, is the same for every Host, and cannot come from a browser (fetch
has no asterisk-form); CORS, for browsers only, has nothing to say to it either. RFC 9112
section 3.2 still holds: an HTTP/1.1 one without Host, or any with two, is a 400. Any other
method with the target `*` is a 400 (section 3.2.4: the asterisk-form is only for OPTIONS).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import httptools
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from gateway import jsonio
from gateway.http_dates import date_now
from gateway.observability.context import REFUSED_STATUS_KEY
from gateway.rest.incoming import DISCARD_BYTES
from gateway.rest.negotiation import FHIR_JSON
from gateway.rest.outcome import operation_outcome

# RFC 9112 section 3 recommends accepting request lines of at least 8000 octets; FHIR search
# URLs are far shorter (long searches go in a POST _search body).
MAX_TARGET_BYTES = 8192
# The request line and every header field together; a large bearer token is a few KB.
MAX_HEAD_BYTES = 65536
# When the connection closes after an answer sent before the client finished sending (a
# refusal here, or an early error answer with `Connection: close`), what the client still sends
# is read and thrown away, this long and this much at most, so that it reads the answer instead
# of a connection reset (RFC 9112 section 9.6).
LINGER_SECONDS = 5.0
LINGER_BYTES = DISCARD_BYTES
_METHOD = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ ")  # a method is a token (RFC 9110 section 9.1)
REFUSED = "(refused)"  # the route of an access line for a request refused before routing
# The methods this server answers on some target: the FHIR routes' (HEAD as GET), the token
# endpoint's POST, and OPTIONS (CORS preflights and `OPTIONS *`). The answer to `OPTIONS *`.
SERVER_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
_ASTERISK_FORM = "gateway.asterisk_form"  # in the scope of an `OPTIONS *`, answered by `_about_the_server`
access_log = logging.getLogger("gateway.access")


class _Refusal(Exception):
    """Raised from a parser callback: the request is answered with `status` and not served."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics


def _too_long_target() -> _Refusal:
    return _Refusal(414, "too-long", f"The request target is limited to {MAX_TARGET_BYTES} bytes")


def _too_large_head() -> _Refusal:
    return _Refusal(431, "too-long", f"The request's header fields are limited to {MAX_HEAD_BYTES} bytes")


def _unknown_transfer_coding() -> _Refusal:
    # Which coding, the client knows: diagnostics name no request data (as `_unreadable`'s).
    return _Refusal(
        501, "not-supported", "Only the chunked transfer coding is implemented: send the body without others"
    )


def _transfer_codings(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The transfer codings of a request, in the order applied (RFC 9112 section 6.1: fields
    given more than once are one list)."""
    codings = [
        coding.strip().lower()
        for name, value in headers
        if name == b"transfer-encoding"
        for coding in value.split(b",")
    ]
    return [coding for coding in codings if coding]


def _unreadable(exc: httptools.HttpParserError, data: bytes) -> _Refusal:
    if isinstance(exc.__context__, _Refusal):
        return exc.__context__
    if isinstance(exc, httptools.HttpParserInvalidMethodError) and _METHOD.match(data):
        return _Refusal(501, "not-supported", "The request method is not one this server implements")
    if isinstance(exc, httptools.HttpParserCallbackError):  # uvicorn could not read the target
        return _Refusal(400, "invalid", "The request target is not a URL path this server can read")
    # The parser's own messages ("Invalid header token", ...) name no request data.
    return _Refusal(400, "invalid", f"Malformed HTTP request: {exc}")


def _asterisk_form_problem(method: bytes, http_version: str, headers: list[tuple[bytes, bytes]]) -> _Refusal | None:
    """Why a request with the target `*` cannot be answered, or None."""
    if method != b"OPTIONS":  # RFC 9112 section 3.2.4: the asterisk-form is only for OPTIONS
        return _Refusal(400, "invalid", "Only OPTIONS may have the request target '*' (the server as a whole)")
    return _host_problem(http_version, headers)


def _host_problem(http_version: str, headers: list[tuple[bytes, bytes]]) -> _Refusal | None:
    """RFC 9112 section 3.2: a 400 for more than one Host, or none in HTTP/1.1, whatever the
    target (gateway.rest.hosts answers it for origin-form targets; the asterisk and absolute
    forms are answered here, before the Host the latter carries replaces the sent one)."""
    hosts = sum(1 for name, _ in headers if name == b"host")
    if hosts > 1:
        return _Refusal(400, "invalid", "The request has more than one Host header")
    if hosts == 0 and http_version != "1.0":
        return _Refusal(400, "invalid", "The request has no Host header")
    return None


async def _about_the_server(send: ASGISendCallable) -> None:
    """The answer to `OPTIONS *`: RFC 9110 section 9.3.7, a successful answer without content
    says `Content-Length: 0`, and `Allow` the methods the server implements."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"allow", ", ".join(SERVER_METHODS).encode()),
                (b"content-length", b"0"),
                (b"date", date_now()),  # the gateway's servers leave Date to it (gateway.http_dates)
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    access_log.info("OPTIONS * 200", extra={"method": "OPTIONS", "route": "*", "status": 200})


def _absolute_form_authority(target: bytes) -> bytes | None:
    """The authority of a request target in absolute form (`http://host:port/path`), without
    any userinfo; None for the origin form (`/path`) and `*`."""
    scheme, separator, rest = target.partition(b"://")
    if not separator or not scheme or b"/" in scheme:
        return None
    authority = rest.split(b"/", 1)[0].split(b"?", 1)[0]
    return authority.rpartition(b"@")[2] or None


class _CloseAfterBody:
    """The transport as a request's response cycle sees it: its `close` lingers while the
    request's body is still arriving."""

    def __init__(self, transport: asyncio.Transport, close: Callable[[], None]) -> None:
        self._transport = transport
        self.close = close

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _HeaderDeadline(HttpToolsProtocol):
    header_timeout = 10.0
    # The head's deadline; once a request is answered before its body all arrived, the body's.
    _deadline: asyncio.TimerHandle | None = None
    _linger: asyncio.TimerHandle | None = None  # set once the connection only waits to close
    _discarded = 0
    _in_head = True  # the parser is between messages or inside a request's head
    _head_method = False  # the request being read is a HEAD: a refusal of it has no content
    _head_bytes = 0  # bytes received since the head began (an upper bound of its size)
    _field_bytes = 0  # bytes of the header fields parsed so far
    _body_pending = False  # a request's head has been read, its body not yet all
    _refused = False  # a request was refused: what the client sends after it is not read
    _after_answers: bytes | None = None  # that refusal, waiting for the answers to earlier requests
    _refused_cycle: RequestResponseCycle | None = None  # the response cycle of a request refused for its body
    _serving: RequestResponseCycle | None = None  # the cycle whose app runs (uvicorn keeps only the newest)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._linger is not None or self._refused:
            self._discarded += len(data)
            if self._discarded > LINGER_BYTES:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # as uvicorn: a WebSocket, else a warning
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            self._refuse(_unreadable(exc, data))
            return
        if self._in_head:  # the head is not complete yet: bound what it has taken so far
            if len(getattr(self, "url", b"")) > MAX_TARGET_BYTES:
                self._refuse(_too_long_target())
            elif self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(_too_large_head() if self._field_bytes else _too_long_target())

    def _should_upgrade_to_ws(self) -> bool:
        # No route of the gateway is a WebSocket: `Upgrade` is ignored and the request answered
        # as HTTP (RFC 9110 section 7.8 lets a server ignore it), never with a bodiless 403.
        return False

    def _unsupported_upgrade_warning(self) -> None:
        pass  # not a fault of the server, and not worth a log line per request

    def send_400_response(self, msg: str) -> None:
        self._refuse(_Refusal(400, "invalid", "Malformed HTTP request"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._field_bytes, self._head_method = 0, False
        self._unset_keepalive_if_required()  # the header deadline bounds the request from here
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._head_method = self.parser.get_method() == b"HEAD"  # the method precedes the target
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._field_bytes += len(name) + len(value) + 4  # name: value CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._in_head, self._head_bytes = False, 0
        if len(self.url) > MAX_TARGET_BYTES:
            raise _too_long_target()
        if len(self.url) + self._field_bytes > MAX_HEAD_BYTES:
            raise _too_large_head()
        codings = _transfer_codings(self.headers)
        if codings[-1:] == [b"chunked"] and len(codings) > 1:
            # RFC 9112 section 6.1: a transfer coding the server does not understand SHOULD be a
            # 501 (llhttp decodes the chunks and hands on the gzip bytes as if they were the
            # body). Without chunked last, llhttp itself refuses: a 400 (section 6.3).
            raise _unknown_transfer_coding()
        if self.url == b"*":
            problem = _asterisk_form_problem(self.parser.get_method(), self.parser.get_http_version(), self.headers)
            if problem is not None:
                raise problem
            self.scope[_ASTERISK_FORM] = True  # type: ignore[literal-required]
        authority = _absolute_form_authority(self.url)
        if authority is not None:
            problem = _host_problem(self.parser.get_http_version(), self.headers)
            if problem is not None:
                raise problem
            # RFC 9112 section 3.2.2: of a target in absolute form the server MUST use the
            # authority and ignore Host; the allowed-hosts check and the links then see it.
            self.headers[:] = [(n, v) for n, v in self.headers if n != b"host"] + [(b"host", authority)]
        super().on_headers_complete()
        self._body_pending = True
        if self.cycle is not None:
            self.cycle.transport = _CloseAfterBody(self.transport, self._close)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._in_head, self._head_bytes, self._body_pending, self._head_method = True, 0, False, False
        self._disarm()  # the body's deadline, if it was answered before it all arrived
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            # Answered before its body was all read: the keep-alive timeout the answer armed was
            # cancelled by the bytes of the body (uvicorn's data_received), so it is armed again
            # here, else an idle connection after them is held for ever.
            self._unset_keepalive_if_required()
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def _refuse(self, refusal: _Refusal) -> None:
        """Answer with an OperationOutcome, then close: at once if the client has stopped
        sending, else after reading and throwing away what it still sends, within bounds."""
        self._disarm()
        if self.transport.is_closing():
            return
        self._refused = True
        if self._body_pending and self.cycle is not None:
            # Refused for its body (a malformed chunk): the request has a response cycle of its
            # own, which must not answer it as well (RFC 9112 section 9.3.2: one answer per
            # request). Its app sees `http.disconnect` and what it sends is dropped; one still
            # queued behind earlier requests (pipelined) is never started.
            cycle = self._refused_cycle = self.cycle
            cycle.disconnected = True
            cycle.message_event.set()
            for queued in [queued for queued in self.pipeline if queued[0] is cycle]:
                self.pipeline.remove(queued)
            if cycle.response_started:
                # It was answered before its body was read (or is being): a refusal now would be
                # read as the answer to the client's next request. The connection just closes.
                self._start_lingering(half_close=True)
                return
            # Its app, if it runs, answers in vain: the access line below and the AuditEvent
            # (gateway.audit) are the refusal's, one of each for the request, not the app's too.
            cycle.scope[REFUSED_STATUS_KEY] = refusal.status  # type: ignore[literal-required]
        body = jsonio.dumps(operation_outcome("error", refusal.code, refusal.diagnostics))
        head = [STATUS_LINE[refusal.status]]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"date: " + date_now() + b"\r\n",  # the gateway's servers leave Date to it (gateway.http_dates)
            f"content-type: {FHIR_JSON}; charset=utf-8\r\n".encode(),
            f"content-length: {len(body)}\r\n".encode(),
            b"connection: close\r\n\r\n",
        ]
        if self._head_method:
            # RFC 9110 section 9.3.2: the answer to HEAD has no content; its Content-Length says
            # what a GET would have had.
            body = b""
        # The access line an operator looks for (gateway.observability writes one per request
        # it serves): the status and why, never the target or a header, which the client wrote.
        access_log.info(
            "- %s %d %s",
            REFUSED,
            refusal.status,
            refusal.code,
            extra={"route": REFUSED, "status": refusal.status},
        )
        if self._answers_outstanding():
            # Requests before it on this connection (pipelined) are still being answered: the
            # refusal follows their answers (RFC 9112 section 9.3.2), sent as the last completes.
            self._after_answers = b"".join(head) + body
            self.flow.resume_reading()  # what the client still sends is read and thrown away
            return
        self.transport.write(b"".join(head) + body)
        self._start_lingering(half_close=True)

    def _answers_outstanding(self) -> bool:
        """Whether a request before the refused one still has its answer to send."""
        serving = self._serving
        running = serving is not None and serving is not self._refused_cycle and not serving.response_complete
        return running or bool(self.pipeline)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        async def served(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
            if cycle is self._refused_cycle:
                # Refused for its body between the cycle's creation and the start of its task:
                # not served at all, no app, no access line or audit of an answer never sent.
                return
            if scope.get(_ASTERISK_FORM):
                await _about_the_server(send)  # in turn after the requests before it (pipelined)
            else:
                await app(scope, receive, send)

        self._serving = cycle
        super()._start_asgi_task(cycle, served)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._after_answers is not None:
            if not self._answers_outstanding():
                self._answer_refusal()
        elif self._body_pending and self.cycle is not None and self.cycle.response_complete and self._linger is None:
            # Answered before its body was all read, on a connection kept alive: every byte of the
            # body puts off uvicorn's keep-alive timeout, so a client trickling it would hold the
            # socket for ever. The rest of the body gets as long as an idle connection, counted
            # from the answer, not from each byte.
            self._disarm()
            self._deadline = self.loop.call_later(self.timeout_keep_alive, self._too_slow)

    def _answer_refusal(self) -> bool:
        """Send the refusal that waited for the answers before it, if one did."""
        waiting, self._after_answers = self._after_answers, None
        if waiting is None or self.transport.is_closing():
            return False
        self.transport.write(waiting)
        self._start_lingering(half_close=True)
        return True

    def _close(self) -> None:
        """The response cycle closes the connection (`Connection: close`, an HTTP/1.0 client)."""
        if self._answer_refusal():
            return  # the last answer, then the refusal of the request that followed it
        if self._body_pending and not self.transport.is_closing():
            self._start_lingering(half_close=True)
        else:
            self.transport.close()

    def _start_lingering(self, *, half_close: bool) -> None:
        if self._linger is not None:
            return
        if half_close and self.transport.can_write_eof():
            self.transport.write_eof()  # the client sees the answer end; its own sending may go on
        self.flow.resume_reading()  # the body may have paused reading: it is thrown away now
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)

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
    """uvicorn's httptools protocol, closing connections whose headers take too long and
    answering oversize or malformed requests with an OperationOutcome."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadline,), {"header_timeout": header_timeout})
