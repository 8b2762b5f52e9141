"""What a token endpoint's refusal says (RFC 6749 §5.2), wherever the framework a vendor built its
authorization server on puts it.

RFC 6749 §5.2 puts the error code at the top of the body (`{"error": "invalid_grant", ...}`), as
Azure AD, Duende, OpenIddict, Spring Authorization Server, django-oauth-toolkit, Doorkeeper and
league/oauth2-server do. A team writing its own token endpoint on a web framework raises the
framework's HTTP exception instead, which wraps what it is given:
- FastAPI's (and Starlette's) `HTTPException(status_code, detail=...)` answers `{"detail": ...}`:
  the RFC body under `detail` (`detail={"error": "invalid_grant", ...}`), or the code alone
  (`detail="invalid_grant"`);
- NestJS's built-in exceptions given a message (`new UnauthorizedException("invalid_grant")`)
  answer `{"statusCode": 401, "message": "invalid_grant", "error": "Unauthorized"}`: the code in
  `message`, and `error` the status's reason phrase.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RFC6749_ERRORS", "token_error"]

#: The error codes of RFC 6749 §5.2.
RFC6749_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)


def _code(value: Any) -> str | None:
    """`value` as one of RFC 6749's error codes, or None."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower()
    return code if code in RFC6749_ERRORS else None


def token_error(body: Any) -> str | None:
    """The RFC 6749 §5.2 error code a token endpoint's answer carries: at the body's top (`error`),
    in FastAPI's `detail` (the RFC body, or the code alone) or NestJS's `message`; else the
    body's `error` as it is when it is text (a code of the server's own, for messages), or None."""
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    places = (body.get("error"), detail.get("error") if isinstance(detail, dict) else detail, body.get("message"))
    found = next((code for code in map(_code, places) if code is not None), None)
    if found is not None:
        return found
    error = body.get("error")
    return error if isinstance(error, str) else None
