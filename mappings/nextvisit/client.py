"""The Nextvisit HTTP client: the only code that knows its URLs, login and error bodies.

Auth is Laravel Sanctum: `POST /v1/auth/tokens {email, password, device_name}` returns a
plain-text token `<id>|<secret>` with no expiry, as `{"status", "token", "user"}`
(DESIGN.md; the docs show no login answer, so the token is also read inside `data`, or as
Sanctum's `plainTextToken`). The token is cached and sent as a bearer
(gateway.upstream.tokens: one login at a time however many requests wait, a failed login
shared for a few seconds); on a 401 the client logs in again once and retries; a second
401 means our credentials are wrong. The token is never logged.
Errors are documented as Laravel-shaped: 422 `{"message", "errors": {field: [messages]}}`,
401/404 `{"message"}`, Spatie's 400 for disallowed filters/includes. The docs do not show an
error body, so `{"error": "<message>"}` (or `{"error": {"message": ...}}`) and a body that is
not JSON at all are read too: the status alone decides what the error means, the body only
adds its message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gateway.contract import AdapterConfig, NoOptions
from gateway.errors import UpstreamError, UpstreamSecurity
from gateway.upstream.errors import json_or_error
from gateway.upstream.http import UpstreamClient, UpstreamResponse
from gateway.upstream.tokens import SharedTokens, TokenCache

log = logging.getLogger("mappings.nextvisit")
Params = Mapping[str, str | int]
DEVICE_NAME = "fhir-gateway"


class NextvisitClient:
    def __init__(self, config: AdapterConfig[NoOptions]) -> None:
        secrets = config.secrets  # both required by the vendor's declaration, checked with the config
        self._credentials = {"email": secrets["email"], "password": secrets["password"], "device_name": DEVICE_NAME}
        self._http = UpstreamClient.from_config(config)
        self._tokens = TokenCache(self._login, shared=SharedTokens.of(config), name=config.context.tenant)

    @property
    def logins(self) -> int:
        """Logins so far: observable for tests and metrics; never the token itself."""
        return self._tokens.renewals

    async def _login(self) -> tuple[str, None]:
        response = await self._http.request("POST", "/v1/auth/tokens", json=self._credentials)
        if response.status in (401, 403, 422):
            log.error("Nextvisit login refused (HTTP %d): check the tenant's email/password", response.status)
            raise UpstreamSecurity("The vendor refused the gateway's credentials; the operator must check them")
        token = _token(json_or_error(response, _message))
        if not isinstance(token, str) or not token:
            raise UpstreamError("The vendor's login answer had no token")
        return token, None  # Sanctum tokens do not expire: kept until the vendor refuses one

    async def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        async def send(token: str) -> UpstreamResponse:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            return await self._http.request(method, path, params=params, json=json, headers=headers)

        return json_or_error(await self._tokens.send_with_renewal(send), _message)

    async def aclose(self) -> None:
        await self._http.aclose()


def _token(body: Any) -> Any:
    """The plain-text token of a login answer: `{"token": ...}` (DESIGN.md), or the same
    inside `data` (an API resource), or Sanctum's own name for it, `plainTextToken`."""
    for holder in (body, body.get("data") if isinstance(body, dict) else None):
        if isinstance(holder, dict):
            for name in ("token", "plainTextToken", "access_token"):
                if isinstance(holder.get(name), str):
                    return holder[name]
    return None


def _message(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, dict):
        # Laravel's messages name the field and the rule, not the input value.
        return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
    message = body.get("message")
    error = body.get("error")
    if message is None and isinstance(error, dict):
        message = error.get("message")
    elif message is None:
        message = error
    if isinstance(message, str) and not message.startswith("No query results"):
        return message
    return ""
