"""Outbound HTTP to vendors: one shared aiohttp session per vendor connection.

Every vendor call goes through this seam: aiohttp with one shared keep-alive session per
vendor, because under concurrency that measured ~8x cheaper per request than httpx (and
reusing connections spares each request a TCP/TLS handshake). Timeouts are explicit
(connect, per-read, total). Transport failures become gateway errors here; what a vendor's *answer*
means is for the vendor's client module to say.

`UpstreamClient.from_config` is the one place a tenant's `AdapterConfig` becomes a pool.

Faults are handled here, once for every vendor: a circuit breaker per connection (open, calls
are refused at once with a 503), and retries of what is safe to repeat, within a budget and
the total deadline (gateway.upstream.retry); a tentative call (gateway.upstream.tentative) is
tried once and its failure not counted by the breaker. The connector's connection limit is the
connection's bulkhead: calls beyond it wait for a connection, within the same deadline. A
connection under a vendor's request limit (gateway.upstream.ratelimit) is paced here too, so
that every attempt the vendor receives, a retry included, has waited its turn; one the breaker
refuses sends nothing, and takes no turn.

A write sent once (no `Idempotency-Key`) goes on a connection of its own, never one the pool
kept idle, and aiohttp does not send it again (gateway.upstream.sent_once): a vendor's server
closing an idle connection as the write goes out failed it with nothing to say it was unread.
Its time running out is told apart by whether it had gone out (`sent_once.Sending`): after, the
vendor may have applied it (`WriteTimedOut`); before, it certainly was not (`UpstreamTimeout`).
A write under an `Idempotency-Key` goes the same way, and is retried under its key: should
every attempt fail, one that may have been applied is what the call says. The key is the
gateway's, one per write it sends: the client's own resubmission comes under another, and the
vendor would make it again.

Redirects are followed here, not by aiohttp (`_redirected`): only on the vendor's own origin,
so that neither its credentials nor a query naming a patient goes to another site; and a
write with its method and body, where aiohttp, as browsers do, turns a POST met with a 301 or
302 into a GET without its body: behind a framework redirecting a path to its trailing slash
(Django's APPEND_SLASH), every create would have been a list read.
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from gateway import jsonio
from gateway.contract.resilience import Resilience
from gateway.errors import (
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnusable,
    VendorUnavailable,
    WriteTimedOut,
    WriteUnconfirmed,
)
from gateway.shared.state import SharedState
from gateway.text import content_charset, nfc
from gateway.upstream import cut_short, sent_once
from gateway.upstream.breaker import CircuitBreaker
from gateway.upstream.coalesce import forget_reads, read_once
from gateway.upstream.errors import NEVER_TAKEN
from gateway.upstream.observe import observer, vendor_path_template
from gateway.upstream.retry import (
    IDEMPOTENT_METHODS,
    MIN_ATTEMPT,
    RETRYABLE_STATUSES,
    RetryBudget,
    idempotent,
    with_retries,
)
from gateway.upstream.sent import one_sent
from gateway.upstream.tentative import is_tentative

if TYPE_CHECKING:  # gateway.contract imports this package: only the type, not the module
    from gateway.contract import AdapterConfig


@dataclass(frozen=True)
class Timeouts:
    connect: float = 3.0
    read: float = 10.0
    total: float = 20.0

    @classmethod
    def from_config(cls, config: AdapterConfig[Any]) -> Timeouts:
        return cls(config.connect_timeout, config.read_timeout, config.total_timeout)


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    # Which attempt of the request this answers: past the first, the vendor may have acted on an
    # earlier one whose answer was lost (a write with an Idempotency-Key refused as a repeat).
    attempt: int = 1
    # An earlier attempt of this keyed write may have been applied: its answer lost (a 5xx or 429
    # to this one then ends the call as that attempt's `WriteUnconfirmed`), or a 5xx. This answer
    # (a 3xx, a 4xx, a 429 after a 5xx) refuses the write sent again, and does not say the vendor
    # did not make it (RFC 9110 section 9.2.2).
    after_perhaps_applied: bool = False
    # The request was a write (not a read, nor a login: `changes_nothing`): a 5xx to it does not
    # say it was not applied (RFC 9110 section 9.2.2), as gateway.upstream.errors reads it
    answers_a_write: bool = False

    def json(self) -> Any:
        """The body parsed, every text in NFC (gateway.text): vendor text enters the gateway here."""
        try:
            value = jsonio.loads(self.body) if self.body else None
        except ValueError:
            value = self._json_otherwise_encoded()
        # ASCII without `\u` escapes (nearly every answer; two scans in C) has nothing to normalize.
        return value if self.body.isascii() and b"\\u" not in self.body else nfc(value)

    def _json_otherwise_encoded(self) -> Any:
        """A body that is not bare UTF-8 JSON read as JSON all the same where it says how: a
        UTF-8 byte order mark (RFC 8259 section 8.1 lets a parser ignore it; PHP and .NET
        stacks send one), a UTF-16 one, or the charset its Content-Type names."""
        # A failing vendor's error page (5xx) is its failure; a body it meant as an answer is unusable.
        unusable = UpstreamError if self.status >= 500 else UpstreamUnusable
        not_json = unusable(f"The vendor answered with a body that is not JSON (HTTP {self.status})")
        charset = content_charset(next((v for k, v in self.headers.items() if k.lower() == "content-type"), ""))
        body = self.body
        if body.startswith(codecs.BOM_UTF8):
            encoding, body = "utf-8", body[len(codecs.BOM_UTF8) :]
        elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        elif charset and charset != "utf-8":
            encoding = charset
        else:
            raise not_json
        try:
            return jsonio.loads(body.decode(encoding))
        except (ValueError, LookupError):
            raise not_json from None


@dataclass
class UpstreamClient:
    """A keep-alive connection pool to one vendor base URL."""

    base_url: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_connections: int = 64
    resilience: Resilience = field(default_factory=Resilience)
    name: str = ""  # the connection (its tenant), as metrics and traces name it
    shared: SharedState | None = None  # where the breaker's state is shared with other workers
    # Awaited before each attempt: the vendor's request limit (RateLimit.acquire), if it has one
    pace: Callable[[], Awaitable[None]] | None = None
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)
    _session_writes: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)
    _detached: set[asyncio.Future[Any]] = field(default_factory=set, init=False, repr=False)  # probes settling
    breaker: CircuitBreaker = field(init=False, repr=False)
    budget: RetryBudget = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.breaker = CircuitBreaker(self.resilience.breaker, shared=self.shared, name=self.name)
        self.budget = RetryBudget(self.resilience.retry)

    @classmethod
    def from_config(
        cls, config: AdapterConfig[Any], *, pace: Callable[[], Awaitable[None]] | None = None
    ) -> UpstreamClient:
        """The pool to a tenant's vendor: its base URL, timeouts, connection limit and fault
        policy; `pace`, the vendor's request limit, when it has one."""
        return cls(
            config.base_url,
            Timeouts.from_config(config),
            config.max_connections,
            config.resilience,
            name=config.context.tenant,
            shared=config.shared,
            pace=pace,
        )

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop, then shared by every request.
        if self._session is None or self._session.closed:
            self._session = self._new_session(aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=30))
        return self._session

    def _client_writes(self) -> aiohttp.ClientSession:
        """The session of writes: a new connection each (gateway.upstream.sent_once), as many at
        a time as the pool's, each traced to tell whether it went out."""
        if self._session_writes is None or self._session_writes.closed:
            self._session_writes = self._new_session(
                sent_once.connector(self.max_connections),
                middlewares=(sent_once.never_resent,),
                trace_configs=(sent_once.tracing(),),
            )
        return self._session_writes

    def _new_session(
        self,
        connector: aiohttp.TCPConnector,
        middlewares: tuple[aiohttp.ClientMiddlewareType, ...] = (),
        trace_configs: tuple[aiohttp.TraceConfig, ...] = (),  # none on the pool's: reads pay nothing
    ) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            base_url=None,
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=self.timeouts.total, connect=self.timeouts.connect, sock_read=self.timeouts.read
            ),
            json_serialize=lambda v: jsonio.dumps(v).decode(),
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": "fhir-gateway"},
            middlewares=middlewares,
            trace_configs=list(trace_configs) or None,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | list[tuple[str, str]] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        changes_nothing: bool = False,
    ) -> UpstreamResponse:
        """`method path` at the vendor. `changes_nothing`: a POST that changes nothing there (a
        login, an OAuth token request, RFC 6749 section 4): not a write, whose outcome unknown
        leaves a record perhaps made (RFC 9110 section 9.2.2), so its time running out or its
        answer lost is failed as a read's is (a timeout, `transient`), never "the write may have
        been applied", which a read waiting on the login would pass on to its client. It is
        still sent once (not retried: a refresh token may be spent by the first attempt, RFC 6749
        section 10.4) on a connection of its own (`sent_once`: aiohttp does not resend a POST
        whose pooled connection the vendor closed as idle), and does not end the request's
        shared reads."""
        url = self.base_url.rstrip("/") + path
        body = jsonio.dumps(json) if json is not None else None
        send_headers = dict(headers or {})
        if body is not None:
            send_headers.setdefault("Content-Type", "application/json")

        template = vendor_path_template(path)
        attempts = 0
        # This call's last failure: a retry the breaker then refuses (this call's own failures
        # opened it) answers with it, the vendor failing (a 502 or 504 for the client), not the
        # 503 "paused" of a breaker that other calls opened.
        last_failure: UpstreamResponse | UpstreamError | UpstreamTimeout | None = None
        tentative = is_tentative()
        # Not retried (gateway.upstream.retry)
        once = not idempotent(method, send_headers)
        # On a connection of its own (`_send`), any POST, PUT, PATCH or DELETE
        own_connection = method.upper() not in IDEMPOTENT_METHODS
        # Keyed or not, traced: whether it went out, and so whether it may have been applied
        write = own_connection and not changes_nothing
        # An attempt of a keyed write that may have been applied, its answer lost: what the call
        # says if the attempts after it fail too (a connection refused, a timeout before it went out)
        perhaps_applied: WriteUnconfirmed | None = None
        # An attempt of a keyed write answered with a 5xx: perhaps applied too, its answer a
        # response the vendor module may read (Dental PMS create looks for the patient made)
        failed_answering = False
        failed_answer: UpstreamResponse | None = None  # that 5xx: the call's answer if the retries fail too
        ends_at: float | None = None  # the total deadline, from when the first attempt was sent

        async def outcome(failed: bool, probe: bool) -> None:
            if failed and tentative:  # perhaps how the vendor reads this request: not held against it
                if probe:
                    self.breaker.abandon()  # the breaker's probe slot back, for a call that can tell
            else:
                await self.breaker.record(failed=failed)

        async def attempt() -> UpstreamResponse:
            nonlocal last_failure, perhaps_applied, failed_answering, failed_answer
            try:
                answer = await one_attempt()
            except (UpstreamTimeout, UpstreamError) as failed:
                last_failure = failed
                if isinstance(failed, WriteUnconfirmed):
                    perhaps_applied = failed
                raise
            if answer.status >= 500:
                last_failure = answer
                # A write the vendor failed to answer, perhaps after applying it (gateway.upstream.errors)
                if write and answer.status not in NEVER_TAKEN:
                    failed_answering, failed_answer = True, answer
            return answer

        async def one_attempt() -> UpstreamResponse:
            nonlocal attempts, ends_at
            attempts += 1
            if attempts > 1:
                observer().retried(self.name)
                if ends_at is not None and ends_at - time.monotonic() <= 0:
                    raise UpstreamTimeout("The vendor system did not answer in time")
            if self.pace is not None:
                try:
                    # An open breaker refuses at once: not after a wait for a turn, nor with a
                    # turn used up by a call that sends nothing.
                    await self.breaker.refuse_while_open()
                except VendorUnavailable:
                    with observer().vendor_call(self.name, method, template) as refused:
                        refused.attempt, refused.error = attempts, "refused"
                    raise
                # A vendor counts every request it receives, a retry as much as the first: a
                # retry sent without a turn is what goes past its limit (and, behind ASP.NET
                # Core's limiter, meets the 503 that is retried again). Before the observed
                # call: the wait is the limit's, not the vendor's latency. Before the breaker
                # lets the call through, too: the half-open breaker's probe, chosen there, is
                # then sent at once, and settles the breaker however its request ends (`_probe`).
                await self.pace()
                if attempts > 1 and ends_at is not None and ends_at - time.monotonic() < MIN_ATTEMPT:
                    # The turn took what the retry was judged to have (gateway.upstream.retry):
                    # not sent to time out, nor to add to a failing vendor's load.
                    raise UpstreamTimeout("The vendor system did not answer in time")
            with observer().vendor_call(self.name, method, template) as call:
                call.attempt = attempts
                try:
                    probe = await self.breaker.before_call()
                except VendorUnavailable:
                    call.error = "refused"
                    raise
                one_sent()
                # A retry has what is left of the call's total timeout, not a whole one of its own:
                # the client hears within the total whatever the attempts (each a fresh one, a
                # vendor failing slowly kept a request nearly `attempts` times as long).
                now = time.monotonic()
                ends_at = now + self.timeouts.total if ends_at is None else ends_at
                left = max(ends_at - now, 0.001)
                sending = self._send(
                    method, url, params, body if body is not None else data, send_headers, left, own_connection, write
                )
                try:
                    answer = await (self._probe(sending) if probe else sending)
                except UpstreamTimeout:
                    call.error = "timeout"
                    await outcome(True, probe)
                    raise
                except UpstreamUnusable:  # answered, in a way it will answer again (a redirect loop)
                    call.error = "status"
                    await outcome(False, probe)
                    raise
                except UpstreamError:
                    call.error = "connect"
                    await outcome(True, probe)
                    raise
                except asyncio.CancelledError:
                    raise  # a probe's own outcome settles the breaker (`_probe`); another call's, nothing
                except BaseException:
                    if probe:  # the slot back; another call must not clear the probe that is out
                        self.breaker.abandon()
                    raise
                call.status = answer.status
                if answer.status >= 500:
                    call.error = "status"
                if answer.status == 429:
                    observer().vendor_throttled(self.name)
                await outcome(answer.status >= 500, probe)
                if write:
                    return replace(answer, attempt=attempts, answers_a_write=True)
                return answer if attempts == 1 else replace(answer, attempt=attempts)

        if once and changes_nothing:  # a login: sent once, and what was read still holds
            return await attempt()
        if once:
            forget_reads()  # what this request reads from now on may have changed
            try:
                return await attempt()
            finally:
                forget_reads()  # and what it read while the write was out may be from before it

        def told(answer: UpstreamResponse) -> UpstreamResponse:
            """What the call answers with `answer`, the last of its attempts, once an earlier one
            may have been applied (`perhaps_applied`). A 2xx: the write's answer. A 5xx or a 429
            says nothing of the write, only that the vendor failed or was busy: the call ends as
            the attempt that may have been applied, not `transient` nor "retry later", on which a
            client resends it under another key, and the vendor makes it twice (the key is the
            gateway's, one per write). Any other answer (a 409 "Idempotency conflict" while the
            first attempt still runs, a 412 or 422 of a write the first attempt changed) is the
            vendor module's to read: passed on with its `attempt` and `after_perhaps_applied`,
            and read as a write that may have been applied when the module does not
            (gateway.upstream.errors.error_from_response)."""
            if 200 <= answer.status < 300:
                return answer
            if perhaps_applied is None:
                # After a 5xx to an earlier attempt: a 5xx is read as that one is; a 429 or a
                # refusal of this one does not say the earlier one was not applied
                earlier = failed_answering and answer.status < 500
                return replace(answer, after_perhaps_applied=True) if earlier else answer
            if answer.status >= 500 or answer.status == 429:
                raise perhaps_applied from None
            return replace(answer, after_perhaps_applied=True)

        async def retried() -> UpstreamResponse:
            if tentative:
                return await attempt()
            try:
                return told(
                    await with_retries(
                        attempt,
                        policy=self.resilience.retry,
                        budget=self.budget,
                        deadline=self.timeouts.total,
                        should_retry=_worth_another_attempt,
                    )
                )
            except VendorUnavailable:  # never retried: the breaker refused a retry of this call
                if perhaps_applied is not None:
                    raise perhaps_applied from None
                if failed_answer is not None:
                    return failed_answer
                if last_failure is None:
                    raise
                if isinstance(last_failure, UpstreamResponse):
                    return last_failure
                raise last_failure from None
            except (UpstreamError, UpstreamTimeout) as failed:
                # The vendor holds an attempt it took under the key, which a later one failing
                # before it went out does not undo (RFC 9110 section 9.2.2)
                if perhaps_applied is not None and not isinstance(failed, WriteUnconfirmed):
                    raise perhaps_applied from None
                if failed_answer is not None and not isinstance(failed, WriteUnconfirmed):
                    # Nor does it undo one the vendor failed to answer (a 5xx): the call ends as
                    # that answer, which says the write may have been applied (error_from_response)
                    return failed_answer
                raise

        if method not in ("GET", "HEAD") or body is not None or data is not None:
            forget_reads()  # an idempotent write (Idempotency-Key) is a write all the same
            try:
                return await retried()
            finally:
                forget_reads()
        if tentative:  # its failure is not what a plain read of the same URL would meet: not shared
            return await retried()
        key = (id(self), method, url, _frozen(params), _frozen(send_headers))
        return await read_once(key, retried, keep=_kept_for_the_request)

    async def _probe(self, sending: Coroutine[Any, Any, UpstreamResponse]) -> UpstreamResponse:
        """The half-open breaker's probe call, whose outcome settles the breaker even when the
        request that made it goes away. A sibling call of the same request, refused while the
        probe is out, cancels it (gateway.concurrently): abandoned each time, the probe would let
        one vendor call through per request and never close or reopen the breaker."""
        task = asyncio.ensure_future(sending)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            self._detached.add(task)
            task.add_done_callback(self._settle_detached_probe)
            raise

    def _settle_detached_probe(self, task: asyncio.Future[UpstreamResponse]) -> None:
        self._detached.discard(task)
        if task.cancelled():
            self.breaker.abandon()
            return
        error = task.exception()
        if error is not None and not isinstance(error, (UpstreamError, UpstreamTimeout)):
            self.breaker.abandon()
            return
        failed = error is not None or task.result().status >= 500
        recording = asyncio.ensure_future(self.breaker.record(failed=failed))
        self._detached.add(recording)
        recording.add_done_callback(self._detached.discard)

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | list[tuple[str, str]] | None,
        data: Any,
        headers: Mapping[str, str],
        total: float,
        own_connection: bool,
        write: bool,
    ) -> UpstreamResponse:
        # The session's timeouts, or less in total (a retry); never `timeout=None`: no timeout at all.
        shorter: dict[str, Any] = {}
        if total < self.timeouts.total:
            shorter["timeout"] = aiohttp.ClientTimeout(
                total=total, connect=self.timeouts.connect, sock_read=self.timeouts.read
            )
        applied = False  # a write answered 303: done, its answer to be read where it points
        sending: sent_once.Sending | None = None  # whether a write has gone out
        try:
            for _ in range(MAX_REDIRECTS + 1):
                session = self._client_writes() if own_connection else self._client()
                sending = sent_once.Sending() if write else None
                async with session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    allow_redirects=False,
                    trace_request_ctx=sending,
                    **shorter,
                ) as response:
                    # A write answered 2xx was applied, whatever becomes of its body
                    taken = _APPLIED_UNREAD if applied else _TAKEN_UNREAD if write else None
                    payload = await cut_short.body_of(response, taken)
                    target = _redirected(response)
                    if target is None:
                        if applied and not 200 <= response.status < 300:
                            # Not the write's answer: it was taken (the 303), and only this read failed
                            raise WriteUnconfirmed(f"{_APPLIED_UNREAD} (HTTP {response.status})")
                        # aiohttp's own headers: case-insensitive (a vendor may send `retry-after`)
                        return UpstreamResponse(response.status, response.headers, payload)
                url, params = target, None  # the Location carries the query it wants
                if response.status == 303:  # See Other: the answer is read there (RFC 9110 section 15.4.4)
                    applied = applied or method not in ("GET", "HEAD")
                    # a read now: the pool, and sent again if lost
                    method, data, own_connection, write = "GET", None, False, False
            if applied:
                raise WriteUnconfirmed(_APPLIED_UNREAD)
            raise UpstreamUnusable("The vendor system redirected the request too many times")
        except TimeoutError:
            if applied:  # a 504 as for the write's own answer (WriteTimedOut), the write taken
                raise WriteTimedOut(_APPLIED_UNREAD) from None
            if sending is not None and sending.sent:  # read by the vendor, perhaps applied (RFC 9110 section 9.2.2)
                raise WriteTimedOut(
                    "The vendor system did not answer the write in time; it may have been applied"
                ) from None
            raise UpstreamTimeout("The vendor system did not answer in time") from None
        except sent_once.AnswerLost:
            if not write:  # a login's connection lost: nothing changed, it may be sent again
                raise UpstreamError("The vendor system closed the connection before answering") from None
            raise WriteUnconfirmed(
                "The vendor system closed the connection before answering the write; it may have been applied"
            ) from None
        except aiohttp.ClientError as exc:
            if applied:
                raise WriteUnconfirmed(_APPLIED_UNREAD) from None
            raise UpstreamError(f"The vendor system could not be reached ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        for task in list(self._detached):  # a probe still out when the gateway stops
            task.cancel()
        for session in (self._session, self._session_writes):
            if session is not None and not session.closed:
                await session.close()
        await asyncio.sleep(0)  # let aiohttp close transports before the loop ends


_APPLIED_UNREAD = "The vendor system took the write, and the answer it pointed to could not be read"
_TAKEN_UNREAD = "The vendor system took the write, and its answer could not be read in full"
MAX_REDIRECTS = 3  # aiohttp's default is 10; a vendor's own redirect is one hop, a trailing slash


def _redirected(response: aiohttp.ClientResponse) -> str | None:
    """Where a redirect answer sends the request again, with its method and body (RFC 9110
    sections 15.4.2 and 15.4.3 let a client keep them for 301 and 302; 307 and 308 require it),
    or with GET for a 303; None for any other answer, and for a Location off the vendor's
    origin: that redirect is the answer, an error (gateway.upstream.errors.error_for_status)."""
    if response.status not in (301, 302, 303, 307, 308) or "Location" not in response.headers:
        return None
    target = response.url.join(URL(response.headers["Location"]))
    return str(target) if target.origin() == response.url.origin() else None


def _frozen(items: Mapping[str, Any] | list[tuple[str, str]] | None) -> tuple[tuple[str, str], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items or ()
    return tuple((str(name), str(value)) for name, value in pairs)


def _kept_for_the_request(answer: UpstreamResponse) -> bool:
    """Whether identical reads later in the request may take this answer instead of asking. Not
    a 429: it says when to ask again, not what was asked (RFC 6585 section 4), and a vendor
    client that backs off and asks again (a vendor's own back-off) must reach the vendor, not the 429."""
    return answer.status != 429


def _worth_another_attempt(answer: UpstreamResponse | None, error: BaseException | None) -> bool:
    """Connection failures, timeouts and the 5xx a retry may cure; never a refusal by the breaker,
    nor an answer that cannot be used (a redirect loop: the same on every try)."""
    if error is not None:
        return isinstance(error, (UpstreamError, UpstreamTimeout)) and not isinstance(error, UpstreamUnusable)
    return answer is not None and answer.status in RETRYABLE_STATUSES
