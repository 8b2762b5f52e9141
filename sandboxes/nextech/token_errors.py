"""The token endpoint's refusals as the framework a team built its authorization server on spells
them (``create_app(oauth_errors=...)``).

The docs show no OAuth error at all (their "Response Codes" list 400, 403, 404 and 500 for the
whole API); RFC 6749 section 5.2 gives the body (``{"error", "error_description"}``) and says a
refused grant is ``invalid_grant`` with a 400. Teams answer as their framework does:

- ``"azure"`` (default): Azure AD's, as Nextech's own server answers (``oauth_errors``).
- ``"passport"``: Laravel Passport up to 10, on league/oauth2-server before 9.0: a refresh token
  that is revoked, expired, unknown or another client's is a **401** ``invalid_request`` ("The
  refresh token is invalid.", with a ``hint``: thephpleague/oauth2-server issue 993, fixed only
  in 9.0 by PR 1042), a refused authorization code a 400 ``invalid_request`` (PR 1082, 9.0
  too), a client that does not authenticate a 401 ``invalid_client`` ("Client authentication
  failed"); every body ``{"error", "error_description", "hint", "message"}``.
- ``"fastapi"``: a FastAPI team's own token endpoint raising ``HTTPException(status_code,
  detail={"error", "error_description"})``, which FastAPI answers as ``{"detail": {...}}``
  (the status, and a ``WWW-Authenticate`` header given, kept).
- ``"nestjs"``: a NestJS team's raising the built-in exception of the status with the code as its
  message (``new UnauthorizedException("invalid_client")``), which NestJS answers as
  ``{"statusCode": 401, "message": "invalid_client", "error": "Unauthorized"}``: ``error`` the
  status's reason phrase.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal, get_args

import orjson
from starlette.responses import Response

from sandboxes.nextech.errors import JSON_CONTENT_TYPE
from sandboxes.nextech.oauth_errors import TOKEN_HEADERS, OAuthError, oauth_error_response

__all__ = ["TOKEN_ERROR_SPELLINGS", "TokenErrorSpelling", "token_error_response"]

TokenErrorSpelling = Literal["azure", "passport", "fastapi", "nestjs"]
TOKEN_ERROR_SPELLINGS: tuple[str, ...] = get_args(TokenErrorSpelling)

# league/oauth2-server 8's OAuthServerException messages.
_LEAGUE_INVALID_REQUEST = (
    "The request is missing a required parameter, includes an invalid parameter value, includes a parameter "
    "more than once, or is otherwise malformed."
)
_LEAGUE_REFRESH_INVALID = "The refresh token is invalid."
_LEAGUE_CLIENT_FAILED = "Client authentication failed"
_LEAGUE_GRANT_TYPE = "The authorization grant type is not supported by the authorization server."


def _league(error: OAuthError, grant_type: str) -> tuple[int, dict[str, str]]:
    """(status, body) of league/oauth2-server 8 for what Azure refuses as `error`."""
    if error.error == "invalid_grant" and grant_type == "refresh_token":
        # OAuthServerException::invalidRefreshToken: 'invalid_request', HTTP 401.
        return 401, {"error": "invalid_request", "message": _LEAGUE_REFRESH_INVALID, "hint": "Token has been revoked"}
    if error.error == "invalid_grant":  # the code grant's invalidRequest('code', ...)
        return 400, {
            "error": "invalid_request",
            "message": _LEAGUE_INVALID_REQUEST,
            "hint": "Authorization code has expired",
        }
    if error.error in ("invalid_client", "unauthorized_client"):  # an unknown client is invalid_client there
        return 401, {"error": "invalid_client", "message": _LEAGUE_CLIENT_FAILED}
    if error.error == "unsupported_grant_type":
        return 400, {
            "error": error.error,
            "message": _LEAGUE_GRANT_TYPE,
            "hint": "Check that all required parameters have been provided",
        }
    return error.status, {"error": error.error, "message": _LEAGUE_INVALID_REQUEST}


def token_error_response(error: OAuthError, now: float, spelling: TokenErrorSpelling, grant_type: str) -> Response:
    """The token endpoint's answer refusing a request as `error`, spelled as `spelling` says."""
    if spelling == "azure":
        return oauth_error_response(error, now)
    status = error.status
    body: dict[str, Any]
    if spelling == "fastapi":
        body = {"detail": {"error": error.error, "error_description": error.message}}
    elif spelling == "nestjs":
        body = {"statusCode": status, "message": error.error, "error": HTTPStatus(status).phrase}
    else:
        status, said = _league(error, grant_type)
        body = {"error": said["error"], "error_description": said["message"], **said}
    return Response(orjson.dumps(body), status, {**TOKEN_HEADERS, **error.headers}, JSON_CONTENT_TYPE)
