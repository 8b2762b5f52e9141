"""The Nextvisit HTTP client: the only code that knows its URLs, login and error bodies.

Auth is Laravel Sanctum: `POST /v1/auth/tokens {email, password, device_name}` returns a
plain-text token `<id>|<secret>` with no expiry. The token is cached and sent as a bearer;
on a 401 the client logs in again once (one login at a time however many requests wait),
then retries; a second 401 means our credentials are wrong. The token is never logged.
Errors are Laravel-shaped: 422 `{"message", "errors": {field: [messages]}}`, 401/404
`{"message"}`, Spatie's 400 for disallowed filters/includes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from gateway.contract import AdapterConfig, NoOptions
from gateway.errors import FHIRError, UpstreamSecurity
from gateway.upstream.errors import error_from_response
from gateway.upstream.http import Timeouts, UpstreamClient, UpstreamResponse

log = logging.getLogger("mappings.nextvisit")
Params = Mapping[str, str | int]
DEVICE_NAME = "fhir-gateway"
LOGIN_FAILURE_MEMORY = 5.0  # seconds a failed login is reported to callers without retrying


class NextvisitClient:
    def __init__(self, config: AdapterConfig[NoOptions]) -> None:
        try:
            self._credentials = {
                "email": config.secrets["email"],
                "password": config.secrets["password"],
                "device_name": DEVICE_NAME,
            }
        except KeyError as missing:
            raise ValueError(f"Nextvisit tenant needs credentials.{missing.args[0]}") from None
        self._http = UpstreamClient(
            config.base_url,
            Timeouts(config.connect_timeout, config.read_timeout, config.total_timeout),
            config.max_connections,
        )
        self._token: str | None = None
        self._login_lock = asyncio.Lock()
        self._failed: tuple[float, FHIRError] | None = None
        self.logins = 0  # observable for tests and metrics; never the token itself

    async def _login(self, stale: str | None) -> str:
        async with self._login_lock:
            if self._token is not None and self._token != stale:
                return self._token  # another request already logged in again
            if self._failed and time.monotonic() - self._failed[0] < LOGIN_FAILURE_MEMORY:
                raise self._failed[1]  # the waiters share one failed attempt, not one each
            try:
                return await self._attempt_login()
            except FHIRError as exc:
                self._failed = (time.monotonic(), exc)
                raise

    async def _attempt_login(self) -> str:
        response = await self._http.request("POST", "/v1/auth/tokens", json=self._credentials)
        if response.status in (401, 403, 422):
            log.error("Nextvisit login refused (HTTP %d): check the tenant's email/password", response.status)
            raise UpstreamSecurity("The vendor refused the gateway's credentials; the operator must check them")
        if response.status >= 300:
            raise _error(response)
        token = (response.json() or {}).get("token")
        if not isinstance(token, str) or not token:
            raise _error(UpstreamResponse(502, {}, b""))
        self._token, self._failed = token, None
        self.logins += 1
        return token

    async def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        token = self._token or await self._login(None)
        response = await self._send(method, path, token, params, json)
        if response.status == 401:
            token = await self._login(token)
            response = await self._send(method, path, token, params, json)
        if 200 <= response.status < 300:
            return response.json()
        raise _error(response)

    async def _send(self, method: str, path: str, token: str, params: Params | None, json: Any) -> UpstreamResponse:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return await self._http.request(method, path, params=params, json=json, headers=headers)

    async def aclose(self) -> None:
        await self._http.aclose()


def _error(response: UpstreamResponse) -> Exception:
    return error_from_response(response, _message)


def _message(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, dict):
        # Laravel's messages name the field and the rule, not the input value.
        return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
    message = body.get("message")
    if isinstance(message, str) and not message.startswith("No query results"):
        return message
    return ""
