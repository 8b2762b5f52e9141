"""The gateway's token endpoint for backend services (SMART App Launch 2.0.0, Backend Services).

`POST /auth/token` takes `grant_type=client_credentials` with a `private_key_jwt` client
assertion (RFC 7523): a JWT the client signs (RS384 or ES384) with a key of its registered
JWKS, `iss` = `sub` = its client id, `aud` = this token endpoint, `exp` no more than five
minutes ahead, and a `jti` never seen before. The answer is a short-lived access token, a JWT
signed by the gateway's key, for the scopes asked that the client is registered for, valid at
the tenants the client may use; it is never cached (`Cache-Control: no-store`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.audit.scope_keys import CLAIMED_CLIENT, TOKEN_PATH
from gateway.auth.keys import RSA_MIN_BITS, JwksFile, JwksUrl, KeySource, KeysUnavailable, StaticKeys, fits, too_short
from gateway.auth.scopes import ResourceScope, parse_resource_scope
from gateway.auth.signing import SigningKeys
from gateway.auth.tokens import not_numeric_date
from gateway.errors import InvalidRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from gateway.rest.incoming import read_body
from gateway.rest.query_encoding import check_query_encoding
from gateway.settings import AuthServerSettings, ClientSettings, resolve_secret
from gateway.shared.state import SharedState, SharedStateUnavailable
from gateway.text import is_text

log = logging.getLogger("gateway.auth")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
MAX_ASSERTION_LIFETIME = 300  # SMART Backend Services: exp no more than five minutes ahead
SKEW = 30  # seconds


class OAuthError(Exception):
    """An error answer of the token endpoint (RFC 6749 section 5.2). Its status is 400, that
    section's default, for `invalid_client` too: a client authenticated by an assertion used
    no HTTP authentication scheme, and a 401 must name one in WWW-Authenticate (RFC 9110
    section 15.5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    keys: KeySource
    scopes: tuple[ResourceScope, ...]
    tenants: tuple[str, ...]


class TokenServer:
    def __init__(
        self, conf: AuthServerSettings, public_base_url: str, http: httpx.AsyncClient, seen: SharedState
    ) -> None:
        root = public_base_url.rstrip("/")
        self.issuer = f"{root}/auth"
        self.token_endpoint = f"{root}{TOKEN_PATH}"
        self.jwks_uri = f"{root}/auth/jwks"
        self.audience = f"{root}/fhir"  # the access tokens' audience: this gateway's FHIR tenants
        self.lifetime = conf.token_lifetime
        self.signing = SigningKeys([resolve_secret(ref) for ref in conf.signing_keys])
        self.clients = {c.client_id: _registered(c, http) for c in conf.clients}
        # Assertion ids seen (shared by every worker), kept past their expiry so that a replay
        # within its lifetime is caught.
        self._seen = seen

    def keys(self) -> KeySource:
        return StaticKeys(self.signing.jwks())

    async def token(self, request: Request) -> Response:
        try:
            content_type = request.headers.get("content-type", "")
            if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
                raise OAuthError("invalid_request", "send the request as application/x-www-form-urlencoded")
            form = _form(await _small_body(request))
            if "client_assertion" in form and (
                request.headers.get("authorization") is not None or "client_secret" in form
            ):
                # RFC 6749 section 2.3: "The client MUST NOT use more than one authentication
                # method in each request"; the server cannot tell which one it meant.
                raise OAuthError(
                    "invalid_request",
                    "authenticate with client_assertion alone, not a client secret or Authorization header too",
                )
            answer = await self._grant(form, request.scope)
        except UnicodeDecodeError:
            return _error(OAuthError("invalid_request", "the form is not UTF-8"))
        except OAuthError as exc:
            return _error(exc)
        except SharedStateUnavailable:  # the replay check cannot be made: no token without it
            response = _error(OAuthError("temporarily_unavailable", "try again shortly", 503))
            response.headers["Retry-After"] = "1"
            return response
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(self.signing.jwks(), headers={"Cache-Control": "public, max-age=300"})

    async def _grant(self, form: Mapping[str, str], scope: MutableMapping[str, Any]) -> dict[str, Any]:
        """`scope`: the request's, where the client the assertion claims to be is put for the
        audit line (gateway.audit.events.authentication_event)."""
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "this endpoint takes grant_type=client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is missing")
        client = await self._authenticate(assertion, scope)
        named = form.get("client_id")
        if named is not None and named != client.client_id:
            # RFC 7521 section 4.2: a client_id sent beside the assertion must name its client.
            raise OAuthError("invalid_client", "client_id is not the client the assertion authenticates")
        granted = self._scopes(client, form.get("scope", ""))
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": client.client_id,
            "client_id": client.client_id,
            "aud": self.audience,
            "tenants": list(client.tenants),
            "scope": granted,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        return {
            "access_token": self.signing.sign(claims),
            "token_type": "bearer",
            "expires_in": self.lifetime,
            "scope": granted,
        }

    async def _authenticate(self, assertion: str, scope: MutableMapping[str, Any]) -> RegisteredClient:
        invalid = OAuthError("invalid_client", "the client assertion is not acceptable")
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError("invalid_client", "the client assertion is not a JWT") from None
        client = self.clients.get(str(unverified.get("iss")))
        if client is None:
            raise OAuthError("invalid_client", "unknown client")
        scope[CLAIMED_CLIENT] = client.client_id  # claimed, not yet proven: a failure is that client's
        algorithm = header.get("alg")
        if algorithm not in ASSERTION_ALGORITHMS:
            raise OAuthError("invalid_client", "client assertions must be signed with RS384 or ES384")
        try:
            key = await client.keys.key(header.get("kid") if isinstance(header.get("kid"), str) else None)
        except KeysUnavailable as exc:
            log.warning("client %s: its key set is unavailable: %s", client.client_id, exc)
            raise OAuthError("invalid_client", "the client's key set could not be fetched") from None
        if key is None:
            raise OAuthError("invalid_client", "the assertion's kid is not in the client's key set")
        if not fits(key, algorithm):
            raise OAuthError("invalid_client", f"the assertion's alg ({algorithm}) does not fit its key")
        if too_short(key):
            raise OAuthError("invalid_client", f"the client's RSA key is shorter than {RSA_MIN_BITS} bits")
        try:
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=[algorithm],
                audience=self.token_endpoint,
                issuer=client.client_id,
                leeway=SKEW,
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_client", "the client assertion has expired") from None
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_client", f"the assertion's aud must be {self.token_endpoint}") from None
        except (jwt.PyJWTError, TypeError, ValueError):  # TypeError, ValueError: a key the library cannot use
            raise invalid from None
        if not is_text(claims):  # a lone surrogate (RFC 8259 section 8.2): no jti to remember
            raise OAuthError("invalid_client", "the client assertion's claims are not valid Unicode text")
        named = not_numeric_date(claims)
        if named is not None:
            raise OAuthError("invalid_client", f"the assertion's '{named}' is not a NumericDate (a JSON number)")
        if claims.get("sub") != client.client_id:
            raise OAuthError("invalid_client", "the assertion's sub must be the client id")
        if claims["exp"] > time.time() + MAX_ASSERTION_LIFETIME + SKEW:  # a number: int or float, any size
            raise OAuthError("invalid_client", "the assertion's exp is more than five minutes ahead")
        replay_key = "assertion:" + hashlib.sha256(f"{client.client_id}\x1f{claims['jti']}".encode()).hexdigest()
        if not await self._seen.put_new(replay_key, b"1", MAX_ASSERTION_LIFETIME + 2 * SKEW):
            raise OAuthError("invalid_client", "this assertion (jti) has been used already")
        return client

    def _scopes(self, client: RegisteredClient, asked: str) -> str:
        """The scopes asked for that the client is registered for (RFC 6749 §3.3: the server
        may grant fewer than asked, and says which)."""
        granted = [word for word in asked.split() if _covered(parse_resource_scope(word), client.scopes)]
        if not granted:
            raise OAuthError("invalid_scope", "none of the scopes asked for can be granted to this client")
        return " ".join(dict.fromkeys(granted))


def _covered(asked: ResourceScope | None, registered: tuple[ResourceScope, ...]) -> bool:
    if asked is None or asked.context.value != "system":
        return False
    return any(
        r.context is asked.context
        and r.resource_type in ("*", asked.resource_type)
        and asked.permissions <= r.permissions
        and (not r.constraints or r.constraints == asked.constraints)
        for r in registered
    )


def _registered(conf: ClientSettings, http: httpx.AsyncClient) -> RegisteredClient:
    keys: KeySource
    if conf.jwks is not None:
        keys = StaticKeys(conf.jwks)
    elif conf.jwks_file is not None:
        keys = JwksFile(Path(conf.jwks_file).expanduser())
    else:
        assert conf.jwks_uri is not None
        # SMART App Launch 2.x, client-confidential-asymmetric (hl7.org/fhir/smart-app-launch/
        # client-confidential-asymmetric.html): "The FHIR authorization server SHALL NOT cache a
        # JWKS for longer than the client's cache-control header indicates": no minimum here (an
        # issuer's set keeps gateway.auth.keys' 30 s minimum). Only a registered client_id's set
        # is ever fetched, and revalidated with its validators when it has them.
        keys = JwksUrl(conf.jwks_uri, http, min_ttl=0.0)
    scopes = tuple(s for s in (parse_resource_scope(w) for w in conf.scopes) if s is not None)
    return RegisteredClient(conf.client_id, keys, scopes, tuple(conf.tenants))


def _error(exc: OAuthError) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return JSONResponse({"error": exc.error, "error_description": exc.description}, exc.status, headers)


def _form(body: bytes) -> dict[str, str]:
    """The grant's parameters, each given once (RFC 6749 section 3.2: "parameters MUST NOT be
    included more than once"; section 5.2: invalid_request "repeats a parameter"), percent-
    encoded as UTF-8: a repeated parameter, or a `%` that encodes no byte, would leave which
    value the client meant to the server's guess."""
    text = body.decode()  # UnicodeDecodeError: the caller answers invalid_request
    try:
        check_query_encoding(body, "form")
    except InvalidRequest as exc:
        raise OAuthError("invalid_request", exc.diagnostics) from None
    form: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name in form:
            named = f"'{name}'" if name in _PARAMETERS else "a parameter"  # never echo arbitrary text
            raise OAuthError("invalid_request", f"the form has {named} more than once")
        form[name] = value
    return form


_PARAMETERS = ("grant_type", "scope", "client_assertion_type", "client_assertion", "client_id")


MAX_FORM_BYTES = 64_000  # a grant with an assertion is a few KB
FORM_SECONDS = 10.0


async def _small_body(request: Request) -> bytes:
    """The form, refused past MAX_FORM_BYTES or FORM_SECONDS: the endpoint takes anyone's
    requests, so no one may make it hold memory or a connection."""
    try:
        return await read_body(request, MAX_FORM_BYTES, FORM_SECONDS)
    except PayloadTooLarge:
        raise OAuthError("invalid_request", "the request is too large") from None
    except RequestTimeout:
        raise OAuthError("invalid_request", "the request did not arrive in time") from None
    except UnsupportedMediaType:
        raise OAuthError("invalid_request", "the form must be sent without a content coding") from None
