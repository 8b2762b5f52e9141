"""The NexHealth Synchronizer HTTP client: the only code that knows its URLs, auth and envelope.

- Auth: `POST /authenticates` with the API key as `Authorization` returns a JWT bearer token
  valid for an hour (vendor-docs/nexhealth-getting-started.txt). The token is cached until
  shortly before its `exp` claim, renewed once on expiry or on a 401, and only one renewal
  runs at a time however many requests wait on it (gateway.upstream.tokens). Neither key
  nor token is ever logged.
- Every call sends the version header and the tenant's `subdomain`/`location_id`. The docs
  give `per_page` no bound: one refused as too large (a 400 naming `per_page`) is asked
  again smaller, and that size is the most asked of that list (path) from then on. Nor do
  they name `foreign_id` or `date_of_birth` among the patient search's parameters: a search
  parameter NexHealth refuses (a 400 naming it: a Joi schema's `"foreign_id" is not
  allowed`) is left out and the call asked again, as if NexHealth had ignored it (a warning
  comes back, as for one it ignores, and the gateway filters the wider answer); one refused
  as unknown is left out of that list's later calls too.
- The envelope `{code, description, error, data, count}` is unwrapped here and only here:
  `code: false` or a non-empty `error` is an error even under HTTP 200, and a `description`
  saying a parameter was ignored comes back as a warning for the adapter to weigh. An error
  status without the envelope (an HTML page, no body) is read by its status alone, its
  messages where its framework puts them (`detail`, `message`, DRF's by field, FastAPI's
  validation errors by `loc`, their refused `input` left unread), and a
  write's success without a body (204) or without JSON (Express's `res.sendStatus(201)`,
  `Created` as text) as an envelope of no data.
- Limits (100 req/s and 1,000 req/min per key; 429 without Retry-After): a shared limiter
  keeps us under them, a 429 is retried with jittered exponential backoff, and a request
  that cannot be served in time becomes a 429 with Retry-After for our client. The docs say
  nothing of limits: an implementation that does send `Retry-After` is waited for as it says,
  and when that is longer than the request may wait, our client is told its wait at once
  (rather than the vendor asked again and again within it).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jwt
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from gateway.contract import AdapterConfig
from gateway.errors import (
    AlreadyExists,
    FHIRError,
    InvalidRequest,
    NotFound,
    Throttled,
    UpstreamError,
    UpstreamSecurity,
    UpstreamUnusable,
)
from gateway.text import content_charset
from gateway.upstream.errors import error_for_status
from gateway.upstream.http import UpstreamClient, UpstreamResponse
from gateway.upstream.ratelimit import RateLimit, Sleep, Window
from gateway.upstream.tokens import Clock, SharedTokens, TokenCache, request_key
from mappings.nexhealth.options import NexHealthOptions

log = logging.getLogger("mappings.nexhealth")
VERSION_HEADER = "application/vnd.Nexhealth+json;version=2"
DUPLICATE = "already exists"
# The docs' duplicate message, and Rails' uniqueness validation's (`{"email": ["has already been
# taken"]}`, a 422), which a Rails implementation of the duplicate guard answers.
DUPLICATE_WORDS = (DUPLICATE, "already been taken")


class Duplicate(AlreadyExists):
    """NexHealth refused a create because the patient already exists."""


class NoRoute(NotFound):
    """A 404 without NexHealth's envelope: the web server's own page for a path it has no route
    for (Express's `Cannot GET /providers`), or a page in front of the API; not the API saying
    that a record or a list holds no one. Where a route may be missing (`/providers`) that is
    "not found"; where the API must be (a list, authentication) it is the vendor failing."""


class VendorFailed(UpstreamError):
    """NexHealth answered with a server error (5xx): it is failing, or failed on what was sent
    (a Rails enum's ArgumentError on a spelling of gender it does not know is a 500)."""


class _VendorThrottled(Exception):
    def __init__(self, retry_after: int | None) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after  # whole seconds the vendor asked us to wait, if it said


@dataclass(frozen=True)
class Envelope:
    data: Any
    count: int | None
    warnings: list[str] = field(default_factory=list)


class NexHealthClient:
    def __init__(
        self, config: AdapterConfig[NexHealthOptions], *, clock: Clock | None = None, sleep: Sleep = asyncio.sleep
    ) -> None:
        """`clock` (epoch seconds) and `sleep` are for tests that move time instead of waiting."""
        options = config.options
        self._api_key = config.secrets["api_key"]
        self.subdomain = options.subdomain
        self.location_id = str(options.location_id)
        self.location_strict = options.location_strict
        self._clock = clock or time.time
        self._steady = clock or time.monotonic  # for waiting: immune to changes of the wall clock
        self._sleep = sleep
        max_wait = options.max_queue_seconds
        self._limit = RateLimit(
            [Window(options.rate_per_second, 1.0), Window(options.rate_per_minute, 60.0)],
            max_wait=max_wait,
            clock=self._steady,
            sleep=sleep,
            state=config.shared,
            key=config.context.tenant,
        )
        # Every call waits its turn there, a retry of a failed one too (gateway.upstream.http).
        self._http = UpstreamClient.from_config(config, pace=self._limit.acquire)
        self._retry_for = max_wait
        # The largest `per_page` NexHealth has taken after refusing a larger one, by path (none:
        # none refused there). The docs give `per_page` no bound; a validator may refuse beyond
        # its own, which may differ by list: one list's limit is not another's.
        self._max_per_page: dict[str, int] = {}
        # The search parameters NexHealth refused as unknown, by path: left out from then on.
        self._refused_params: dict[str, set[str]] = {}
        self._tokens = TokenCache(
            self._authenticate, clock=self._clock, shared=SharedTokens.of(config), name=config.context.tenant
        )

    @property
    def authentications(self) -> int:
        """Authentications so far: observable for tests and metrics; never the token."""
        return self._tokens.renewals

    async def _authenticate(self) -> tuple[str, float]:
        # vendor-docs/nexhealth-getting-started.txt: POST /authenticates with the key as
        # `Authorization` returns `data.token`, a bearer valid for an hour.
        response = await self._http.request(
            "POST",
            "/authenticates",
            headers={"Authorization": self._api_key, "Accept": VERSION_HEADER},
            changes_nothing=True,  # a login: failed as a read would be, not as a write (UpstreamClient.request)
        )
        if response.status in (401, 403):
            log.error("NexHealth refused the API key (HTTP %d): check the tenant's credentials", response.status)
            raise UpstreamSecurity("The vendor refused the gateway's credentials; the operator must check them")
        try:
            envelope = _unwrap(response, "POST")
        except NotFound:  # the server's page, or its API's own 404 (bare words): no route there
            raise UpstreamUnusable(
                "The vendor has no authentication route at the tenant's address (HTTP 404)"
            ) from None
        token = (envelope.data or {}).get("token") if isinstance(envelope.data, dict) else None
        if not isinstance(token, str):
            raise UpstreamUnusable("The vendor's authentication answer had no token")
        return token, _renew_at(token, self._clock())

    async def request(
        self, method: str, path: str, *, params: Mapping[str, str | int] | None = None, json: Any = None
    ) -> Envelope:
        """One call; a `per_page` NexHealth refuses as too large is asked again smaller, and the
        size it took is the most asked from then on; a search parameter it refuses is left out
        (see the module's docstring), with a warning in the answer."""
        asked = dict(params or {})
        left_out: list[str] = []
        while True:
            sent = self._within_page_limit(path, asked)
            unknown = [name for name in self._refused_params.get(path, ()) if name in sent]
            sent = {name: value for name, value in sent.items() if name not in unknown}
            try:
                answer = await self._request(method, path, sent, json)
            except InvalidRequest as refused:
                smaller = _smaller_page(sent.get("per_page"), refused.diagnostics)
                named = _refused_parameter(sent, refused.diagnostics) if method == "GET" else None
                if smaller is not None:
                    log.info("NexHealth refused per_page=%s; asking at most %d a page", sent["per_page"], smaller)
                    self._max_per_page[path] = smaller
                elif named is not None:
                    log.info("NexHealth refused the search parameter %s; the gateway filters without it", named)
                    left_out.append(named)
                    del asked[named]
                    if _says_unknown(refused.diagnostics):  # it will be again: not sent there any more
                        self._refused_params.setdefault(path, set()).add(named)
                else:
                    raise
                continue
            said = [f"Ignored refused parameter: {name}" for name in (*left_out, *unknown)]
            return replace(answer, warnings=[*answer.warnings, *said]) if said else answer

    def _within_page_limit(self, path: str, params: dict[str, str | int]) -> dict[str, str | int]:
        size, most = params.get("per_page"), self._max_per_page.get(path)
        if most is None or not isinstance(size, int) or size <= most:
            return params
        return {**params, "per_page": most}

    async def _request(self, method: str, path: str, params: Mapping[str, str | int], json: Any) -> Envelope:
        scoped: dict[str, str | int] = {"subdomain": self.subdomain, "location_id": self.location_id, **params}
        deadline = self._steady() + self._retry_for
        # NexHealth's windows are a second and a minute: back off past the second.
        backoff = wait_random_exponential(multiplier=0.5, min=0.25, max=2.0)

        def wait(state: RetryCallState) -> float:
            told = _told(state)
            chosen = float(told) if told is not None else backoff(state)
            # Never past the request's wait: tenacity checks `stop` before it sleeps, so a backoff
            # chosen just before the deadline would otherwise sleep past it and ask once more.
            return min(chosen, max(0.0, deadline - self._steady()))

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_VendorThrottled),
                wait=wait,
                stop=stop_after_attempt(12) | _StopAt(self._steady, deadline),
                sleep=self._sleep,
                reraise=True,
            ):
                with attempt:
                    return await self._once(method, path, scoped, json, deadline)
        except _VendorThrottled as exc:
            told = exc.retry_after
            raise Throttled("The vendor is rate-limiting requests; retry later", retry_after=told or 2) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, method: str, path: str, params: Mapping[str, str | int], json: Any, deadline: float
    ) -> Envelope:
        async def send(token: str) -> UpstreamResponse:
            headers = {"Authorization": f"Bearer {token}", "Accept": VERSION_HEADER}
            return await self._http.request(method, path, params=params, json=json, headers=headers)

        response = await self._tokens.send_with_renewal(send, request_key(method, path, params))
        if response.status == 429:  # without a Retry-After, we back off on our own
            told = response.headers.get("Retry-After")
            seconds = _retry_after(told) if told is not None else None
            if seconds is not None and self._steady() + seconds > deadline:
                raise Throttled("The vendor is rate-limiting requests; retry later", retry_after=seconds)
            raise _VendorThrottled(seconds)
        return _unwrap(response, method)

    async def aclose(self) -> None:
        await self._http.aclose()


class _StopAt(stop_base):
    """Stop retrying once `clock` reaches `deadline` (tenacity's stop_after_delay, on our clock)."""

    def __init__(self, clock: Clock, deadline: float) -> None:
        self._clock = clock
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock() >= self._deadline


def _told(state: RetryCallState) -> int | None:
    """The wait the vendor's last 429 asked for, if it said one."""
    failed = state.outcome.exception() if state.outcome is not None else None
    return failed.retry_after if isinstance(failed, _VendorThrottled) else None


def _retry_after(value: str) -> int:
    """Whole seconds a `Retry-After` asks for, read as the core reads every vendor's
    (delay-seconds or an HTTP-date, RFC 9110 section 10.2.3)."""
    throttled = error_for_status(429, "", retry_after=value)
    return int(throttled.headers.get("Retry-After", "1"))


# Search parameters a refusal may name that a call can do without: the patient search's
# narrowing terms, by each of which the gateway filters whatever NexHealth answers.
_NARROWING = ("foreign_id", "date_of_birth", "email", "phone_number", "inactive")
# Words of a refusal of a parameter as unknown (Joi's "is not allowed", pydantic's "Extra
# inputs are not permitted"), not of its value.
_UNKNOWN_WORDS = ("not allowed", "not permitted", "unknown", "unsupported", "unrecognized")


def _refused_parameter(sent: Mapping[str, str | int], message: str) -> str | None:
    """The narrowing search parameter of `sent` that a refusal's `message` names, if any."""
    return next((name for name in _NARROWING if name in sent and _names(message, name)), None)


def _names(message: str, parameter: str) -> bool:
    """Whether `message` names `parameter` (`per_page`): as sent, or as a framework words a field
    for people (Rails' `full_messages` "Per page must be ...", Laravel's "The per page field ...")
    or in camelCase (a NestJS DTO's `perPage`). The docs give no refusal's words."""
    spelled = r"[\s_-]?".join(re.escape(part) for part in parameter.split("_"))
    return re.search(rf"(?<![a-z0-9_]){spelled}(?![a-z0-9_])", message, re.IGNORECASE) is not None


def _says_unknown(message: str) -> bool:
    return any(w in message.lower() for w in _UNKNOWN_WORDS)


# Page sizes tried, largest first, after a refused `per_page` whose message names no smaller one.
_PAGE_SIZES = (500, 250, 200, 100, 50, 25, 20, 10, 5, 1)


def _smaller_page(sent: str | int | None, message: str) -> int | None:
    """The page size to ask after NexHealth refused `sent` with `message`: None unless the
    refusal is about `per_page` ("per_page must be less than or equal to 50"); the largest
    number the message names below `sent`, else the next smaller of the usual sizes."""
    if not isinstance(sent, int) or sent <= 1 or not _names(message, "per_page"):
        return None
    named = [int(n) for n in re.findall(r"\d{1,6}", message) if 0 < int(n) < sent]
    return max(named) if named else next(size for size in _PAGE_SIZES if size < sent)


def _renew_at(token: str, now: float) -> float:
    """When to renew: shortly before `exp` (10% of the lifetime, at most a minute early)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return now + 300  # not a JWT we can read: renew in 5 minutes, or on a 401
    expires = float(claims.get("exp", now + 300))
    issued = float(claims.get("iat", now))
    return expires - min(60.0, max(0.0, (expires - issued) * 0.1))


def _unwrap(response: UpstreamResponse, method: str = "GET") -> Envelope:
    said: list[str] = []  # the words of an error answered as bare text, not JSON
    try:
        body = response.json()
    except UpstreamError:
        if 200 <= response.status < 300 and method != "GET":
            # A write done, answered in words rather than JSON (Express's `res.sendStatus(201)`
            # sends `Created` as text/plain): nothing to read; the adapter reads the record
            # again. Read as an unusable answer, a patient made was a 502, and sent again a 409.
            return Envelope(None, None)
        if response.status < 400:
            raise
        body, said = None, _plain_words(response)
    if body is None and (response.status == 204 or (200 <= response.status < 300 and method != "GET")):
        # A write done without a body (Express's `res.sendStatus(204)` for a PATCH), or a 204
        # No Content: nothing to read; the adapter reads the record again where it needs it. A
        # GET answered 200 without its envelope is no answer (an empty list has `data`): it
        # is not read as a list of no one.
        return Envelope(None, None)
    if not isinstance(body, dict):
        if response.status >= 400:
            # What the web framework answers on its own is not the API's envelope: Express's
            # page for a route it lacks ("Cannot GET /providers", text/html), an empty 404. The
            # status alone says what happened; such a 404 is the server's, not the API's
            # (`NoRoute`). A 404 of other bare words is the API's, as its other errors are
            # (Express's `res.status(404).send("Patient not found")`): a list of no one, a
            # patient not there; read as a missing route, every search of no one was a 502.
            if response.status == 404 and not _api_words(said):
                raise NoRoute(f"NexHealth has no route for this request (HTTP 404 without its envelope, {method})")
            # A list of messages is DRF's answer to a `ValidationError("...")` raised in a view; a
            # bare text, Express's `res.status(400).send(message)` (the docs' duplicate is "a 400
            # Bad Request error with the message A patient with that information already exists").
            raise _error(response.status, _messages(body) if isinstance(body, list) else said)
        raise UpstreamUnusable(f"The vendor's answer was not its documented envelope (HTTP {response.status})")
    errors = _messages(body.get("error"))
    if "statusCode" in body and _messages(body.get("message")):
        # NestJS's HttpException body, `{"statusCode": 400, "message": [...], "error": "Bad
        # Request"}`: its `error` is only the status's reason phrase, the words are `message`.
        errors = _messages(body.get("message"))
    # `code: false` fails an answer that carries nothing else; beside data and no error it does
    # not: the docs' own "Patients Response" shows `"code": false` over a list of patients.
    refused = body.get("code") in (False, "false") and body.get("data") is None
    failed = response.status >= 400 or refused or bool(errors)
    description = _messages(body.get("description"))
    if failed:
        # The docs show the messages in `error` (a list); some answers carry one string there,
        # or only a `description`: all are read. The docs show no error body, so an error may
        # come without the envelope, as its framework writes it: FastAPI's and Django REST
        # Framework's `{"detail": ...}`, Express's `{"message": ...}`. Read too: a duplicate
        # or a refused `per_page` is known by its words. Nor DRF's serializer errors, keyed by
        # field (`{"date_of_birth": ["This field is required."]}`): each is read after its
        # field's path, which says where a create's fields are wanted.
        bare = _messages({k: body.get(k) for k in _BARE})
        raise _error(response.status, errors or description or bare or _field_errors(body))
    warnings = [w for w in description if "ignor" in w.lower()]
    return Envelope(body.get("data"), _count(body.get("count")), warnings)


# Where frameworks put an error's words when the answer is not NexHealth's envelope.
_BARE = ("detail", "message", "errors")
# A tag of an HTML page (Express's finalhandler page, a proxy's): not a message to read.
_HTML_TAG = re.compile(r"<[a-zA-Z!/]")
_PLAIN_WORDS_MAX = 300  # characters of a bare-text error read, as of any message (`_error`)


# What web servers answer on their own for a path they have no route for, as bare text:
# Express's finalhandler (`Cannot GET /patients/7`), Go's `http.NotFound` (`404 page not found`).
_NO_ROUTE_WORDS = re.compile(r"cannot [a-z]+ /\S*|404 page not found", re.IGNORECASE)


def _api_words(said: list[str]) -> bool:
    """Whether the bare words of a 404 (`_plain_words`) are the API's answer rather than a web
    server's for a route it lacks: there are words, and they are no such server's."""
    return bool(said) and not any(_NO_ROUTE_WORDS.fullmatch(words.strip()) for words in said)


def _plain_words(response: UpstreamResponse) -> list[str]:
    """The words of an error answered as bare text rather than JSON: Express's
    `res.status(400).send(message)` (text/html), ASP.NET Core's `BadRequest("...")` and
    Spring's `ResponseEntity` of a string (text/plain). The docs show no error body, only that
    a duplicate is "a 400 Bad Request error with the message A patient with that information
    already exists" (nexhealth-patients.txt): the message may be the body itself. An HTML page
    is not read (a framework's page may hold a stack trace), nor is a body of no words."""
    content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    try:
        text = response.body.decode(content_charset(content_type) or "utf-8", errors="replace")
    except LookupError:
        text = response.body.decode("utf-8", errors="replace")
    words = " ".join(text.split())
    if not words or _HTML_TAG.search(words):
        return []
    return [words[:_PLAIN_WORDS_MAX]]


def _messages(value: Any) -> list[str]:
    """Messages given as a list, as one string, or not at all; or, where the docs' list is
    read as an object (Rails' `{"email": ["has already been taken"]}`, `{"message": ...}`),
    the texts it holds, each after its field's name."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [m for item in value for m in (_messages(item) if isinstance(item, dict | list) else [str(item)])
                if item not in (None, "")]  # fmt: skip
    if isinstance(value, dict):
        if isinstance(value.get("loc"), list) and isinstance(value.get("msg"), str):
            return [_validation_item(value["loc"], value["msg"])]
        return [
            m if key in ("message", "messages", "detail", "error", "errors", "description") else f"{key} {m}"
            for key, item in value.items()
            if item not in (None, "", False)  # `{"message": null}` says nothing
            for m in _messages(item if isinstance(item, dict | list | str) else str(item))
        ]
    return []


# Where a FastAPI `loc` says a field was: not part of the field's path in the body.
_LOC_ROOTS = ("body", "query", "path")


def _validation_item(loc: list[Any], msg: str) -> str:
    """One of FastAPI's `RequestValidationError` items (`{"type", "loc", "msg", "input"}`,
    Pydantic's errors: the docs show no error body) as the field's dotted path and the message:
    `patient.bio.gender: Input should be 'M', 'F' or 'O'`. Its `input` is the value refused
    (a birth date, a whole patient): never read, so that no value reaches a message."""
    path = [str(part) for part in loc]
    if path and path[0] in _LOC_ROOTS:
        path = path[1:]
    return f"{'.'.join(path)}: {msg}" if path else msg


# The envelope's keys (nexhealth-getting-started.txt): a body holding one is no field errors.
_ENVELOPE = ("code", "description", "error", "data", "count")


def _field_errors(body: dict[str, Any], prefix: str = "") -> list[str]:
    """A Django REST Framework validation error's messages, each after its field's dotted path
    (`patient.bio.date_of_birth: This field is required.`; `non_field_errors` without one): its
    serializers answer `{"<field>": [...]}`, a nested serializer's fields nested in theirs."""
    if not prefix and any(key in body for key in _ENVELOPE):
        return []
    found: list[str] = []
    for key, value in body.items():
        if isinstance(value, dict):
            found += _field_errors(value, f"{prefix}{key}.")
        elif key == "non_field_errors":
            found += _messages(value)
        else:
            found += [f"{prefix}{key}: {message}" for message in _messages(value)]
    return found


def _count(value: Any) -> int | None:
    """`count`: a number, or a string of digits; anything else is no count."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _error(status: int, errors: list[str]) -> FHIRError:
    message = "; ".join(errors)
    # The docs name a duplicate's 400 and message; an implementation answering 409 Conflict
    # means the same whatever its words (NexHealth keeps no versions: it is no version conflict).
    if status == 409 or any(words in e.lower() for e in errors for words in DUPLICATE_WORDS):
        return Duplicate("The vendor already has a patient with that information")
    if status < 400:
        return UpstreamError("The vendor reported an error in a successful answer")
    if status >= 500:
        return VendorFailed(f"The vendor system failed (HTTP {status})")
    # NexHealth's messages describe parameters, not the values sent; keep them short anyway.
    return error_for_status(status, message[:300])
