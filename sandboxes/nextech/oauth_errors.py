"""OAuth errors as Azure AD (v1 endpoint) words them.

``{"error", "error_description": "AADSTSnnnn: ...\\r\\nTrace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp:
..."}``, plus ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id`` and ``error_uri``;
``error`` is RFC 6749's (§5.2), the rest Azure's. An adapter should rely on ``error`` and at
most ``error_codes``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
from starlette.responses import Response

from sandboxes.nextech.errors import JSON_CONTENT_TYPE

__all__ = ["AADSTS_ERRORS", "TOKEN_HEADERS", "OAuthError", "oauth_error_response"]

#: Headers of every token endpoint answer (RFC 6749 §5.1: no caching).
TOKEN_HEADERS = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}

#: Azure AD errors by our name for them: (AADSTS code, message without the trace suffix).
AADSTS_ERRORS: dict[str, tuple[int, str]] = {
    "bad_code": (70000, "AADSTS70000: The provided value for the 'code' parameter is not valid."),
    "other_client": (70000, "AADSTS70000: The provided refresh token was issued to another client."),
    "grant_type": (70003, "AADSTS70003: The app requested an unsupported grant type '{}'."),
    "expired": (
        70008,
        "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. "
        "Send a new interactive authorization request for this user and resource.",
    ),
    "redirect_uri": (
        50011,
        "AADSTS50011: The redirect URI '{}' specified in the request does not match the redirect URIs "
        "configured for the application '{}'.",
    ),
    "revoked": (
        50173,
        "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. "
        "The user might have changed or reset their password.",
    ),
    "redeemed": (
        54005,
        "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
        "use an existing refresh token.",
    ),
    "response_type": (70005, "AADSTS70005: The provided value for the input parameter 'response_type' is not allowed."),
    "reply_address": (
        500112,
        "AADSTS500112: The reply address does not match the reply address provided when requesting the "
        "authorization code.",
    ),
    "unknown_client": (
        700016,
        "AADSTS700016: Application with identifier '{}' was not found in the directory 'Nextech Sandbox'.",
    ),
    "bad_secret": (
        7000215,
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app '{}'.",
    ),
    "no_secret": (
        7000218,
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
    "missing": (900144, "AADSTS900144: The request body must contain the following parameter: '{}'."),
    "malformed": (9002313, "AADSTS9002313: Invalid request. Request is malformed or invalid."),
    "post_only": (900561, "AADSTS900561: The endpoint only accepts POST requests."),
    # PKCE (RFC 7636), under `oauth_pkce="required"`: an authorize request without an S256
    # challenge (§4.4.1: "transform algorithm not supported"), a verifier that does not match (§4.6).
    "challenge_method": (70011, "AADSTS70011: The provided value for the input parameter '{}' is not valid."),
    "verifier": (
        50148,
        "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request "
        "for PKCE.",
    ),
}


class OAuthError(Exception):
    """An OAuth error: `status`, the RFC 6749 `error`, and the Azure error named `kind` (see ``AADSTS_ERRORS``)."""

    def __init__(self, status: int, error: str, kind: str, *args: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.error = error
        self.code, template = AADSTS_ERRORS[kind]
        self.message = template.format(*args)
        self.headers = headers or {}


def oauth_error_response(error: OAuthError, now: float) -> Response:
    """Azure's error body for `error`, stamped with `now` (epoch seconds)."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error.error,
        "error_description": f"{error.message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
        f"\r\nTimestamp: {stamp}",
        "error_codes": [error.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={error.code}",
    }
    return Response(orjson.dumps(body), error.status, {**TOKEN_HEADERS, **error.headers}, JSON_CONTENT_TYPE)
