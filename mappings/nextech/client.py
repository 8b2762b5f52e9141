"""The Nextech HTTP client: the only code that knows its URLs, headers and OAuth details.

Every call carries the OAuth bearer (vendor-docs/nextech-api.txt: `Authorization: Bearer
{access_token}`, an access token living an hour, renewed with the refresh token; see
gateway.upstream.oauth for rotation and one renewal at a time) and `x-nextech-practice-id`.
A 401 renews the access token once and retries. Calls keep to `rate_per_second` when the
operator sets one (the docs publish no limit). The docs show no error body: ASP.NET-style
`{"Message": ...}`, `{"message": ...}`, RFC 7807 problems (`title`, `detail`), OAuth
`{"error", "error_description"}` and bodies that are no JSON are all read; only the status
decides what an error means. A successful answer serialized twice (a JSON string holding the
JSON) is read as the JSON it holds, and one inside ASP.NET Boilerplate's default wrapper
(`{"result": ..., "success": true, "__abp": true}`; its errors' message in `error.message`)
as the answer it holds.

The docs list no 429, but an implementation may throttle all the same, as Django REST
Framework's throttles or express-rate-limit do: a 429 whose `Retry-After` says when to ask
again. A wait that fits in `max_queue_seconds` (all of a call's waits together,
`THROTTLED_ATTEMPTS` at most) is taken and the call asked again: the side-by-side terms of one
name search go past a few a second. A 429 saying no wait (rack-attack's default responder,
Flask-Limiter's without its headers, ASP.NET Core's limiter set to 429) is waited for
`UNSAID_WAITS`, within the same bounds: before, it went to our client at once, and the same
side-by-side terms met it again however often the client asked. A wait longer than the bounds
goes to our client as a 429 with that `Retry-After` (gateway.upstream.errors). The gateway's
own retries (gateway.upstream.retry) leave 429s to the vendor's client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gateway import jsonio
from gateway.contract import AdapterConfig, OAuthApp
from gateway.errors import Throttled, UpstreamError
from gateway.text import nfc
from gateway.upstream.errors import error_for_status, json_or_error
from gateway.upstream.grants import grants_of
from gateway.upstream.http import Timeouts, UpstreamClient, UpstreamResponse
from gateway.upstream.oauth import OAuthSession, token_client
from gateway.upstream.ratelimit import RateLimit, Window
from gateway.upstream.tokens import SharedTokens, request_key
from mappings.nextech.options import NextechOptions
from mappings.nextech.vendor import abp_answer

THROTTLED_ATTEMPTS = 3  # times a call answered 429 with a Retry-After it can wait out is asked, in all
# Seconds waited after the first and the second 429 that says no wait: a per-second window
# (the most a side-by-side search meets) is past after the first; then twice as long.
UNSAID_WAITS = (1.0, 2.0)  # one before each attempt after the first: THROTTLED_ATTEMPTS - 1


def oauth_app(config: AdapterConfig[NextechOptions]) -> OAuthApp:
    """Nextech's endpoints (Azure AD's under `oauth_base_url`, or as configured) and our
    registration, from the tenant's config."""
    return OAuthApp(
        authorize_url=config.options.authorize_endpoint,
        token_url=config.options.token_endpoint,
        client_id=config.options.client_id,
        client_secret=config.secrets["client_secret"],
        resource=config.options.resource,
        # The docs' authorize table names the redirect `redirect_url` (the token request's
        # `redirect_uri`), and their token answer names the access token `code`.
        redirect_params=("redirect_uri", "redirect_url"),
        access_token_fields=("access_token", "code"),
    )


class NextechClient:
    def __init__(self, config: AdapterConfig[NextechOptions]) -> None:
        app = oauth_app(config)
        self._practice = config.options.practice_id
        self._token_http, post = token_client(app, Timeouts.from_config(config))
        self.session = OAuthSession(config.context.tenant, app, grants_of(config), post, shared=SharedTokens.of(config))
        rate = config.options.rate_per_second
        # The operator's limit (options.rate_per_second): every call waits its turn, a retry of
        # a failed one too (gateway.upstream.http).
        limit = (
            RateLimit(
                [Window(rate, 1.0)],
                max_wait=config.options.max_queue_seconds,
                state=config.shared,
                key=config.context.tenant,
            )
            if rate is not None
            else None
        )
        self._http = UpstreamClient.from_config(config, pace=limit.acquire if limit is not None else None)
        self._max_wait = config.options.max_queue_seconds  # the longest a call waits out 429s, in all

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return (await self.get_with_headers(path, params))[0]

    async def get_with_headers(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        """The parsed body and the answer's headers (a list's pages may be described only there)."""

        async def send(token: str) -> UpstreamResponse:
            headers = {
                "Authorization": f"Bearer {token}",
                "x-nextech-practice-id": self._practice,
                "Accept": "application/json",
            }
            return await self._http.request("GET", path, params=params, headers=headers)

        waited = 0.0
        for attempt in range(1, THROTTLED_ATTEMPTS + 1):
            response = await self.session.tokens.send_with_renewal(send, request_key("GET", path, params))
            try:
                return _unwrapped(_json_inside(json_or_error(response, _message))), response.headers
            except Throttled as throttled:
                if attempt == THROTTLED_ATTEMPTS:
                    raise
                told = any(name.lower() == "retry-after" for name in response.headers)
                # Retry-After read as every vendor's is, whole seconds; none said: a short wait.
                wait = float(throttled.headers["Retry-After"]) if told else UNSAID_WAITS[attempt - 1]
                if waited + wait > self._max_wait:
                    raise
            waited += wait
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._token_http.aclose()


def _json_inside(body: Any) -> Any:
    """An answer serialized twice read as the JSON it holds: ASP.NET Core writes `return
    Ok(JsonConvert.SerializeObject(patients))` as one JSON string (`"[{\"patientId\":42}]"`)
    to a request accepting `application/json` only, as ours do (the string goes to the JSON
    formatter, not the text/plain one). No documented answer is a bare string; one that does
    not hold a JSON array or object is left as it is (and is unreadable where it is read)."""
    if not isinstance(body, str) or body.lstrip()[:1] not in ("[", "{"):
        return body
    try:
        inside = jsonio.loads(body)
    except ValueError:
        return body
    return nfc(inside)  # text escaped inside (`\u0301`) was not put in NFC with the answer


def _unwrapped(body: Any) -> Any:
    """An answer inside ASP.NET Boilerplate's default wrapper (vendor.abp_answer) as the answer
    it holds. Before, every list of such a Nextech was a 502 (`{"result": {"items": [...]}}` is
    no list). A wrapper saying it failed (`"success": false`) under a 2xx status holds no answer
    (its `result` is null): it is the error it says, not an empty list."""
    wrapped = abp_answer(body)
    if wrapped is None:
        return body
    if not wrapped.success:
        if wrapped.unauthorized:
            raise error_for_status(401, "")
        message = _message(body)
        raise UpstreamError(f"Nextech answered that the request failed: {message}" if message else "Nextech failed")
    return _json_inside(wrapped.result)


MESSAGE_KEYS = ("Message", "message", "title", "detail", "error_description", "error")


def _message(body: Any) -> str:
    message = None
    if isinstance(body, dict):
        said = body.get("message")
        error = body.get("error")
        if isinstance(said, list) and said and all(isinstance(m, str) for m in said):
            message = "; ".join(said)  # NestJS's ValidationPipe; its `error` is only the reason phrase
        else:
            message = next((body[k] for k in MESSAGE_KEYS if isinstance(body.get(k), str) and body[k].strip()), None)
        if message is None and isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]  # ASP.NET Boilerplate's (and ABP Framework's) `{"error": {"message", ...}}`
    # Nextech's messages describe the request, not patient data; keep them short anyway.
    return str(message or "")[:200]
