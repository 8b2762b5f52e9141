"""The Nextvisit HTTP client: the only code that knows its URLs, login and error bodies.

Auth is Laravel Sanctum: `POST /v1/auth/tokens {email, password, device_name}` returns a
plain-text token `<id>|<secret>` with no expiry, as `{"status", "token", "user"}` (the
login answer the vendor's integrators report; its public docs name no login route, so the
usual others are tried where that one is not there, and `options.login_path` names another). The docs
show no login answer, so the token is read wherever an implementation
may put it: `token`, `plainTextToken`, `plain_text_token`, `access_token` or `accessToken`
(or, as Rails apps name theirs, `jwt`, `auth_token` or `authentication_token`), at the top,
inside `data` or `user` (a user with its `has_secure_token`), or inside a `token` object
(Sanctum's `NewAccessToken` encoded as it is: `{"accessToken": {...}, "plainTextToken": ...}`);
or the whole body is the token as
text (the answer of Sanctum's own documented route for this very request body,
`return $user->createToken($request->device_name)->plainTextToken;`). A token written with
its scheme (`"Bearer <token>"`, as the passport-jwt tutorials answer) is read without it. A
login answer whose
body holds no token may carry it in an `Authorization: Bearer <token>` response header, where
devise-jwt (a Rails API's usual token login) puts it, the body being the user. A login
refused with the credentials at the top of the body is tried once more with them as Devise's
sign-in reads them, `{"user": {"email", "password"}}`, and then as an OAuth 2.0 password grant
(RFC 6749 section 4.3.2: form-encoded `grant_type=password`, `username`, `password`), the
login FastAPI's `OAuth2PasswordRequestForm` reads (a JSON body fills none of its form fields: a
422), answering `{"access_token", "token_type": "bearer"}`, and last as a JSON body of those
OAuth names, `{"username", "password"}` (a pydantic model of them; not when the form was
refused with a 401 or 403, its credentials checked already); the body that worked is
kept for later logins, so each renewal is one request. A 429 or 5xx to one of these tries is
the vendor throttling or failing and ends them, never read as wrong credentials.
The token is cached and sent as a bearer (gateway.upstream.tokens: one login at a time
however many requests wait, a failed login shared for a few seconds); on a 401 the client
logs in again once and retries; a second 401 means our credentials are wrong. A 419
(Laravel's "Page Expired", which some implementations answer for an expired token) is read
as that 401. A 403 may be either: a policy refusing one record (another team's patient) or,
at an Express app's `jwt.verify` or Django REST Framework, an expired or revoked token: it is
sent again with a new token unless a fresh token was refused that very request before
(gateway.upstream.tokens): a token that expires minutes after another team's patient was
refused is renewed at once, and a refused record costs one login the first time, not each time.
Any other refusal of the login (a 404 where the base_url lacks a path prefix) is a
502 naming the login, whatever its status would mean for a record; a 5xx there is the vendor
failing, as on any other call. The token is never logged.
Errors are documented as Laravel-shaped: 422 `{"message", "errors": {field: [messages]}}`,
401/404 `{"message"}`, Spatie's 400 for disallowed filters/includes. The docs do not show an
error body, so `{"error": "<message>"}` (or `{"error": {"message": ...}}`), Rails' field errors
(`{field: [messages]}` as the whole body, or `{"errors": ["<full message>"]}`), FastAPI's
(`{"detail": [pydantic's errors]}` for a 422, `{"detail": "<message>"}`) and a body that
is not JSON at all are read too: the status alone decides what the error means, the body only
adds its message. A write's 2xx answer that is a message in text (not
JSON, not a web page) is a success without a record (`_said_as_text`).
Nextvisit keeps no record versions (no request can carry one), so a 409 is
never a version conflict: it is the vendor's conflict with a record it has (a duplicate,
say), a 409 to the FHIR client, not a 412.
Request limits: the docs name none. A Laravel 10 app's `api` routes carry `throttle:api` (60
requests a minute; past it, 429 with `Retry-After` until the minute ends), whose answers say the
limit (`X-RateLimit-Limit`) but not its window. The tenant's `rate_per_minute` and
`rate_per_second` (options) are the limit the calls are paced under (gateway.upstream.ratelimit:
each call, the login and a retry included, waits its turn, at most `max_queue_seconds`; past it
the FHIR client gets a 429 at once, and the vendor is not asked). With neither set, an answer
that says a limit is told to the operator once (its number only): paced by a window guessed
from it, a limit counted per second (Laravel 11's `Limit::perSecond`) would be read as one a
minute, and every call slowed sixty-fold. A read the vendor answers 429 with a `Retry-After` it
can wait out within `max_queue_seconds` (a window about to end) is sent again after it, up to
`THROTTLED_ATTEMPTS` times; a longer wait is the FHIR client's 429, with the vendor's
`Retry-After`. Writes are not sent again: a 429 is the client's to retry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import Any

from gateway.contract import AdapterConfig
from gateway.errors import Conflict, UpstreamError, UpstreamSecurity, UpstreamUnusable
from gateway.upstream.errors import error_for_status, json_or_error
from gateway.upstream.http import UpstreamClient, UpstreamResponse
from gateway.upstream.ratelimit import RateLimit, Window
from gateway.upstream.tokens import SharedTokens, TokenCache, request_key
from mappings.nextvisit.options import LOGIN_PATHS, NextvisitOptions

log = logging.getLogger("mappings.nextvisit")
Params = Mapping[str, str | int]
DEVICE_NAME = "fhir-gateway"
THROTTLED_ATTEMPTS = 3  # times a read answered 429 with a Retry-After it can wait out is sent, in all


class NextvisitClient:
    def __init__(self, config: AdapterConfig[NextvisitOptions]) -> None:
        secrets = config.secrets  # both required by the vendor's declaration, checked with the config
        self._credentials = {"email": secrets["email"], "password": secrets["password"], "device_name": DEVICE_NAME}
        # Devise's sign-in (a Rails implementation) reads `params[:user]`: the same credentials
        # nested. Tried only when the flat body is refused; kept once it is the one that works.
        devise = {"user": {"email": secrets["email"], "password": secrets["password"]}}
        # The docs name no login body: an OAuth 2.0 password grant (RFC 6749 section 4.3.2) is
        # form-encoded, with the email as the `username` (FastAPI's OAuth2PasswordRequestForm).
        oauth2 = {"grant_type": "password", "username": secrets["email"], "password": secrets["password"]}
        self._login_bodies: tuple[_LoginBody, ...] = (
            _LoginBody(self._credentials),
            _LoginBody(devise),
            _LoginBody(oauth2, form=True),
            # The same OAuth names as JSON: a login model `{username, password}`, where neither
            # `email` nor a form body fills a field (FastAPI answers the form a 422).
            _LoginBody({"username": secrets["email"], "password": secrets["password"]}, resend=True),
        )
        self._login_body = self._login_bodies[0]
        chosen = config.options.login_path
        self._login_paths: tuple[str, ...] = (chosen,) if chosen else LOGIN_PATHS
        options = config.options
        windows = [
            Window(requests, seconds)
            for requests, seconds in ((options.rate_per_second, 1.0), (options.rate_per_minute, 60.0))
            if requests is not None
        ]
        limit = (
            RateLimit(windows, max_wait=options.max_queue_seconds, state=config.shared, key=config.context.tenant)
            if windows
            else None
        )
        self._http = UpstreamClient.from_config(config, pace=limit.acquire if limit is not None else None)
        self._max_wait = options.max_queue_seconds  # also the longest a read waits out the vendor's 429s
        self._tenant = config.context.tenant
        self._limit_untold = limit is None  # the operator is yet to hear of a limit the vendor says
        self._tokens = TokenCache(self._login, shared=SharedTokens.of(config), name=config.context.tenant)

    @property
    def logins(self) -> int:
        """Logins so far: observable for tests and metrics; never the token itself."""
        return self._tokens.renewals

    async def _post_login(self, body: _LoginBody) -> UpstreamResponse:
        """The login at the first of its routes that exists (options.LOGIN_PATHS), kept once found."""
        for path in self._login_paths:
            if body.form:
                response = self._heard(await self._http.request("POST", path, data=body.fields, changes_nothing=True))
            else:  # a login, either way: failed as a read would be, not as a write (UpstreamClient.request)
                response = self._heard(await self._http.request("POST", path, json=body.fields, changes_nothing=True))
            if response.status not in (404, 405):
                self._login_paths = (path,)
                break
        return response

    async def _login(self) -> tuple[str, None]:
        response = await self._post_login(self._login_body)
        if response.status in (401, 403, 422) and self._login_body is self._login_bodies[0]:
            response = await self._login_as_others_read(response)
        if response.status in (401, 403, 422):
            log.error("Nextvisit login refused (HTTP %d): check the tenant's email/password", response.status)
            raise UpstreamSecurity("The vendor refused the gateway's credentials; the operator must check them")
        if response.status < 200 or (300 <= response.status < 500 and response.status != 429):
            # No login there (a base_url without the API's `/api` prefix answers 404): its error
            # is the gateway's, never the FHIR request's. Read by status, a 404 would tell the
            # client that the patient asked for does not exist, or (inside a patient's records)
            # that the patient has no allergies; a 400, that its own request was refused. A 5xx
            # is the vendor failing, as on any other call (below), not the tenant's setup.
            log.error(
                "Nextvisit login failed (HTTP %d at %s): check the tenant's base_url, or set options.login_path "
                "to the route of its login",
                response.status,
                ", ".join(self._login_paths),
            )
            raise UpstreamUnusable(
                f"The vendor's login failed (HTTP {response.status}); the operator must check the tenant"
            )
        token = _login_token(response)
        if token is None:
            raise UpstreamUnusable("The vendor's login answer had no token")
        return token, None  # Sanctum tokens do not expire: kept until the vendor refuses one

    async def _login_as_others_read(self, refusal: UpstreamResponse) -> UpstreamResponse:
        """The first body refused as sent (`refusal`): the credentials sent as the other
        implementations read a login, in turn, until an answer that is not a refusal. A success
        keeps its body for later logins; a 429 or a 5xx is the vendor throttling or failing, as
        at any other call, and ends the tries. All refused, the first refusal stands (wrong
        credentials). A body resending the fields of the one before is skipped when that one was
        refused as credentials (401, 403): its `username` and `password` were read and checked,
        and a second check of the same wrong password counts toward the vendor's lockout."""
        previous = refusal
        for body in self._login_bodies[1:]:
            if body.resend and previous.status in (401, 403):
                continue
            other = previous = await self._post_login(body)
            if 200 <= other.status < 300:
                self._login_body = body
                return other
            if other.status == 429 or other.status >= 500:
                return other
        return refusal

    async def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        async def send(token: str) -> UpstreamResponse:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            response = self._heard(await self._http.request(method, path, params=params, json=json, headers=headers))
            # 419 "Page Expired" for a token the vendor no longer takes: renewed as a 401 is.
            return dataclasses.replace(response, status=401) if response.status == 419 else response

        key = request_key(method, path, params)
        response = await self._tokens.send_with_renewal(send, key)
        waited = 0.0
        for _ in range(THROTTLED_ATTEMPTS - 1):
            wait = self._wait_asked(response, waited) if method == "GET" else None
            if wait is None:
                break
            waited += wait
            await asyncio.sleep(wait)
            response = await self._tokens.send_with_renewal(send, key)
        if response.status == 403:
            raise Refused(
                "The vendor refused the gateway's credentials (HTTP 403); "
                "the operator must check the tenant configuration"
            )
        if response.status == 409:
            raise Conflict(
                _message(_body(response)) or "The vendor refused the change: it conflicts with a record it has"
            )
        if method != "GET" and 200 <= response.status < 300 and _said_as_text(response):
            return None  # a write done, its answer a message: the adapter reads the record back
        return json_or_error(response, _message)

    def _wait_asked(self, response: UpstreamResponse, waited: float) -> int | None:
        """The seconds a 429 asks the read to wait (`Retry-After`) when it may still wait them:
        at most `max_queue_seconds` in all, `waited` already. A limit's window ending within it
        (a second's, or the end of a minute's) costs the FHIR client that wait, not a 429."""
        told = response.headers.get("Retry-After") if response.status == 429 else None
        if told is None:
            return None
        seconds = int(error_for_status(429, "", retry_after=told).headers["Retry-After"])
        return seconds if waited + seconds <= self._max_wait else None

    def _heard(self, response: UpstreamResponse) -> UpstreamResponse:
        """`response`, after telling the operator once of the request limit it says
        (`X-RateLimit-Limit`, Laravel's `throttle`) when the tenant sets none."""
        if self._limit_untold:
            said = response.headers.get("X-RateLimit-Limit", "").strip()
            if said.isascii() and said.isdigit():  # a number only: nothing else from the header reaches the log
                self._limit_untold = False
                log.warning(
                    "Nextvisit tenant %s: the vendor limits requests (X-RateLimit-Limit: %d, a window it does not "
                    "name; Laravel's throttle:api counts a minute); set options.rate_per_minute (or "
                    "rate_per_second) to it so that calls wait their turn instead of meeting its 429s",
                    self._tenant,
                    int(said),
                )
        return response

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclasses.dataclass(frozen=True)
class _LoginBody:
    """One way to send the credentials: a JSON body, or form-encoded fields (`form`); `resend`:
    the fields of the body tried before it, otherwise encoded."""

    fields: dict[str, Any]
    form: bool = False
    resend: bool = False


class Refused(UpstreamSecurity):
    """A 403 that a new token did not lift (gateway.upstream.tokens): the gateway's access
    refused, a configuration problem, unless the refusal is of one record (an authorization
    policy: another team's patient), which the adapter tells apart."""


_TOKEN_NAMES = (
    *("token", "plainTextToken", "plain_text_token", "access_token", "accessToken"),
    *("jwt", "auth_token", "authentication_token"),  # Rails: `render json: { jwt: }`, has_secure_token
)
_HOLDERS = ("data", "token", "attributes", "user")
_BARE_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII without spaces: a token, not a page


def _login_token(response: UpstreamResponse) -> str | None:
    """The plain-text token of a (successful) login answer; the login's error otherwise."""
    try:
        return _token(json_or_error(response, _message)) or _header_token(response)
    except UpstreamError:
        if not 200 <= response.status < 300:
            raise
    # Not JSON: the body is the token itself (or a JSON string of it).
    text = _unprefixed(response.body.decode("utf-8", "replace").strip().strip('"'))
    return text if _BARE_TOKEN.fullmatch(text) else _header_token(response)


_SCHEME = re.compile(r"bearer\s+", re.IGNORECASE)


def _unprefixed(token: str) -> str:
    """`token` without the `Bearer ` an implementation may write before it (the passport-jwt
    tutorials an Express team follows answer `token: 'Bearer ' + token`): sent as it is, the
    header would read `Bearer Bearer <token>`, refused on every request. A token is one word
    (RFC 6750 section 2.1, b64token), so a space after `Bearer` is never part of it."""
    match = _SCHEME.match(token)
    return token[match.end() :].strip() if match else token


def _header_token(response: UpstreamResponse) -> str | None:
    """The token of an `Authorization: Bearer <token>` response header (devise-jwt dispatches
    the token there and answers the user as the body); its scheme is Bearer, as the docs'
    `bearerAuth` security scheme names it (RFC 6750 section 2.1)."""
    value = next((v for k, v in response.headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and _BARE_TOKEN.fullmatch(token) else None


def _token(body: Any, depth: int = 3) -> str | None:
    """A token under one of its names in `body`, or in an object `body` holds it in."""
    if isinstance(body, str):  # `response()->json($token)`: a JSON string
        text = _unprefixed(body.strip())
        return text if _BARE_TOKEN.fullmatch(text) else None
    if not isinstance(body, dict) or depth == 0:
        return None
    for name in _TOKEN_NAMES:
        value = body.get(name)
        if isinstance(value, str) and _unprefixed(value.strip()):
            return _unprefixed(value.strip())
    for name in _HOLDERS:
        found = _token(body.get(name), depth - 1) if isinstance(body.get(name), dict) else None
        if found:
            return found
    return None


_PAGE = re.compile(rb"<(?:!doctype|html|head|body)\b", re.IGNORECASE)


def _said_as_text(response: UpstreamResponse) -> bool:
    """Whether a write's success answer is a message in text, not JSON: the docs show JSON,
    but a Spring controller returning `ResponseEntity.ok("Patient updated successfully")` of a
    `String` answers `text/plain`, and Express's `res.send("...")` or `res.sendStatus(200)`
    (`OK`) text too. The status says the write was done; a create's id is then looked up (as
    for an answer without a body). A web page (a login form, a proxy's page) is no such message:
    it stays a body that is not JSON, a 502."""
    try:
        response.json()
    except UpstreamError:
        return _PAGE.search(response.body[:1024]) is None
    return False


def _body(response: UpstreamResponse) -> Any:
    try:
        return response.json()
    except UpstreamError:
        return None


def _message(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, dict):
        # Laravel's messages name the field and the rule, not the input value.
        return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
    if isinstance(errors, list) and errors and all(isinstance(m, str) for m in errors):
        return "; ".join(errors)  # Rails' full messages: `{"errors": ["Last name can't be blank"]}`
    if body and all(isinstance(m, list) and m and all(isinstance(x, str) for x in m) for m in body.values()):
        # A Rails scaffold's `render json: @patient.errors`: the field errors are the body.
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in body.items())
    detail = body.get("detail")
    if isinstance(detail, list):
        # FastAPI's 422: pydantic's errors, `{"type", "loc": ["body", field, ...], "msg", "input"}`.
        # The location and the rule only: `input` (and a `ctx` quoting it) is the value sent.
        return "; ".join(_pydantic_error(e) for e in detail if isinstance(e, dict) and isinstance(e.get("msg"), str))
    message = body.get("message")
    error = body.get("error")
    if isinstance(message, list) and message and all(isinstance(m, str) for m in message):
        # NestJS's ValidationPipe: `{"statusCode": 422, "message": ["last_name should not be
        # empty"], "error": "Unprocessable Entity"}`, `error` only the status's reason phrase.
        return "; ".join(message)
    if isinstance(detail, str) and body.keys() == {"detail"}:
        message = detail  # FastAPI's HTTPException: `{"detail": "Patient not found"}`
    elif message is None and isinstance(error, dict):
        message = error.get("message")
    elif message is None:
        message = error
    # Eloquent's 404 quotes the vendor's model and the id as sent, whichever body carries it.
    if isinstance(message, str) and not message.startswith("No query results"):
        return message
    return ""


def _pydantic_error(error: dict[str, Any]) -> str:
    """`field: rule` of one pydantic error: its location without the request part it names
    (a list; one name as a string is read too, anything else names no field)."""
    where = error.get("loc")
    parts = where if isinstance(where, list) else [where] if isinstance(where, str) else []
    loc = [str(part) for part in parts if isinstance(part, str | int) and not isinstance(part, bool)]
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    msg = str(error["msg"])
    return f"{'.'.join(loc)}: {msg}" if loc else msg
