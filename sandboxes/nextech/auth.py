"""Nextech's OAuth2 authorization server, Azure AD (v1 endpoint) style: ``/oauth2/authorize`` and ``/oauth2/token``
(or other ``paths``: the docs name none).

The authorization-code flow of vendor-docs/nextech-api.txt; see the ``app`` module docstring
for every behaviour the docs leave open (approval at once, redirect URI rules, client
authentication, the order of checks, rotation of refresh tokens).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Literal
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandboxes.nextech.errors import JSON_CONTENT_TYPE
from sandboxes.nextech.grants import Grants
from sandboxes.nextech.oauth_errors import TOKEN_HEADERS, OAuthError, oauth_error_response
from sandboxes.nextech.redirects import is_loopback, is_valid_redirect, with_query
from sandboxes.nextech.token_errors import TokenErrorSpelling, token_error_response

__all__ = ["DEFAULT_RESOURCE", "AuthorizationServer"]

#: What the token response says in ``resource`` when no ``resource`` was ever given.
DEFAULT_RESOURCE = "https://select.nextech-api.com/api"

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="login.microsoftonline.com"'}


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(client id, secret) of a Basic header, each form-urlencoded first (RFC 6749 §2.3.1); None for another scheme."""
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    user, _, password = decoded.partition(":")
    return unquote_plus(user), unquote_plus(password)


# RFC 7636 §4.1: a code_verifier is 43 to 128 unreserved characters; an S256 code_challenge is
# the 43-character base64url of a SHA-256 digest (§4.2), from the same alphabet.
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def _challenge_refusal(challenge: str | None, method: str) -> OAuthError | None:
    """Why an authorize request's PKCE challenge is refused (None: it is not, or not read): none
    given, or one not S256 (RFC 7636 §4.3: an absent method is `plain`)."""
    if challenge is None:
        return None
    if not challenge:
        return OAuthError(400, "invalid_request", "missing", "code_challenge")
    if method != "S256" or not _PKCE_VALUE.fullmatch(challenge):
        return OAuthError(400, "invalid_request", "challenge_method", "code_challenge_method")
    return None


def _verify_pkce(form: dict[str, str], challenge: str) -> None:
    """RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the code's challenge, else invalid_grant."""
    verifier = _required(form, "code_verifier")
    if not _PKCE_VALUE.fullmatch(verifier):
        raise OAuthError(400, "invalid_grant", "verifier")
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    if not hmac.compare_digest(digest, challenge.encode()):
        raise OAuthError(400, "invalid_grant", "verifier")


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise OAuthError(400, "invalid_request", "missing", name)
    return value


async def _read_form(request: Request) -> dict[str, str]:
    """A form-urlencoded body as a dict (any other body counts as empty); a repeated name: the first wins."""
    form: dict[str, str] = {}
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", "").lower():
        body = (await request.body()).decode("utf-8", "replace")
        for name, value in parse_qsl(body, keep_blank_values=True):
            form.setdefault(name, value)
    return form


class AuthorizationServer:
    """The one registered app (`client_id`, `client_secret`, `redirect_uris`) and its grants.

    ``token_calls`` counts every ``POST /oauth2/token`` by ``grant_type`` (failed ones too;
    none given counts under ``""``).
    """

    def __init__(
        self,
        grants: Grants,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: Sequence[str],
        clock: Callable[[], float],
        redirect_param: str = "redirect_uri",
        paths: tuple[str, str] = ("/oauth2/authorize", "/oauth2/token"),
        client_auth: Literal["any", "basic"] = "any",
        pkce: Literal["ignored", "required"] = "ignored",
        state: Literal["echoed", "dropped"] = "echoed",
        errors: TokenErrorSpelling = "azure",
        token_status: Literal[200, 201] = 200,
        refused_grant_status: Literal[400, 403] = 400,
    ) -> None:
        self.grants = grants
        self.paths = paths  # (authorize, token)
        self.redirect_param = redirect_param  # "redirect_url": the docs' authorize table
        self.client_id = client_id
        self.secret = client_secret.encode()
        self.registered = tuple(redirect_uris)
        self.clock = clock
        self.token_calls: dict[str, int] = {}
        self.client_auth = client_auth  # "basic": client_secret_basic only (Authlib's default registration)
        # "required": PKCE with S256 for every code (OAuth 2.1, Duende IdentityServer's
        # `RequirePkce`, Keycloak's "PKCE Method: S256"); "ignored": the parameters are not
        # read, as RFC 7636 §5 says a server without PKCE does.
        self.pkce = pkce
        # "dropped": the redirect carries no `state`, as a server built from the docs' authorize
        # table (which lists none) would send it; RFC 6749 section 4.1.2 says to echo it.
        self.state = state
        # How the token endpoint spells its refusals (sandboxes.nextech.token_errors).
        self.errors = errors
        # The status of a token answer: RFC 6749 section 5.1's 200, or 201, what a NestJS `@Post()`
        # handler answers unless it says `@HttpCode(200)` (the docs give no status for it).
        self.token_status = token_status
        # The status of a grant refused (`invalid_grant`: a code or refresh token revoked, expired,
        # unknown): RFC 6749 section 5.2's 400, or 403, the docs' "The request is valid, but the
        # server is refusing action" (their statuses have no 401, and list 400 as "missing
        # information or ... malformed", which a well-formed request for a revoked token is not).
        self.refused_grant_status = refused_grant_status

    def routes(self) -> list[Route]:
        return [
            Route(self.paths[0], self.authorize, methods=["GET"]),
            Route(self.paths[1], self.token, methods=["POST"]),
            Route(self.paths[1], self.token_get, methods=["GET"]),
        ]

    # ---- authorize

    def _authorize_error(self, kind: str, *args: str) -> Response:
        return oauth_error_response(OAuthError(400, "invalid_request", kind, *args), self.clock())

    async def authorize(self, request: Request) -> Response:
        """Approve at once: 302 to the redirect URI with a code, once the client and the URI are trusted."""
        params = request.query_params
        client = params.get("client_id", "")
        if not client:
            return self._authorize_error("missing", "client_id")
        if client != self.client_id:
            return self._authorize_error("unknown_client", client)
        redirect_uri = params.get(self.redirect_param, "")
        if not redirect_uri:
            return self._authorize_error("missing", self.redirect_param)
        allowed = is_valid_redirect(redirect_uri) and (
            not self.registered or redirect_uri in self.registered or is_loopback(redirect_uri)
        )
        if not allowed:
            return self._authorize_error("redirect_uri", redirect_uri, client)
        state = {"state": params["state"]} if "state" in params and self.state == "echoed" else {}
        response_type = params.get("response_type", "")
        if response_type != "code":  # reported to the redirect URI (RFC 6749 §4.1.2.1)
            if response_type:
                problem = OAuthError(400, "unsupported_response_type", "response_type")
            else:
                problem = OAuthError(400, "invalid_request", "missing", "response_type")
            error = {"error": problem.error, "error_description": problem.message, **state}
            return RedirectResponse(with_query(redirect_uri, error), 302)
        challenge = params.get("code_challenge", "") if self.pkce == "required" else None
        refusal = _challenge_refusal(challenge, params.get("code_challenge_method", "plain"))
        if refusal is not None:  # reported to the redirect URI (RFC 7636 §4.4.1)
            error = {"error": refusal.error, "error_description": refusal.message, **state}
            return RedirectResponse(with_query(redirect_uri, error), 302)
        code = self.grants.new_code(client, redirect_uri, params.get("resource") or None, challenge)
        granted = {"code": code, **state, "session_state": str(uuid.uuid4())}
        return RedirectResponse(with_query(redirect_uri, granted), 302, headers=TOKEN_HEADERS)

    # ---- token

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> str:
        """The client id, from HTTP Basic (which wins) or the form; ``OAuthError`` when it does not authenticate."""
        basic = _basic_credentials(request.headers.get("authorization", ""))
        form_client = form.get("client_id", "")
        if basic is not None:
            client, given = basic
            if form_client and form_client != client:
                raise OAuthError(400, "invalid_request", "malformed")
        elif self.client_auth == "basic" and form.get("client_secret"):
            raise OAuthError(401, "invalid_client", "bad_secret", form_client, headers=_BASIC_CHALLENGE)
        else:
            client, given = form_client, form.get("client_secret", "")
        if not client:
            raise OAuthError(400, "invalid_request", "missing", "client_id")
        if client != self.client_id:
            raise OAuthError(400, "unauthorized_client", "unknown_client", client)
        challenge = _BASIC_CHALLENGE if basic is not None else {}
        if not given:
            raise OAuthError(401, "invalid_client", "no_secret", headers=challenge)
        if not hmac.compare_digest(given.encode(), self.secret):
            raise OAuthError(401, "invalid_client", "bad_secret", client, headers=challenge)
        return client

    async def token(self, request: Request) -> Response:
        """Check ``grant_type``, then the client, then the grant; a new token pair."""
        form = await _read_form(request)
        grant_type = form.get("grant_type", "")
        self.token_calls[grant_type] = self.token_calls.get(grant_type, 0) + 1
        try:
            _required(form, "grant_type")
            if grant_type not in ("authorization_code", "refresh_token"):
                raise OAuthError(400, "unsupported_grant_type", "grant_type", grant_type)
            client = self._authenticate_client(request, form)
            if grant_type == "authorization_code":
                code, redirect_uri = _required(form, "code"), _required(form, "redirect_uri")
                redeemed = self.grants.redeem(code, client, redirect_uri)
                if redeemed.challenge is not None:
                    _verify_pkce(form, redeemed.challenge)
                resource = form.get("resource") or redeemed.resource or DEFAULT_RESOURCE
                issued = self.grants.issue(client, None, resource)
            else:
                presented = _required(form, "refresh_token")
                record = self.grants.rotate(presented, client)
                issued = self.grants.issue(client, record.family, form.get("resource") or record.resource, presented)
        except OAuthError as error:
            if error.error == "invalid_grant":
                error.status = self.refused_grant_status
            return token_error_response(error, self.clock(), self.errors, grant_type)
        request.app.state.issued_refresh_tokens = self.grants.issued_refresh
        return Response(orjson.dumps(issued), self.token_status, TOKEN_HEADERS, JSON_CONTENT_TYPE)

    async def token_get(self, request: Request) -> Response:
        return oauth_error_response(OAuthError(400, "invalid_request", "post_only"), self.clock())
