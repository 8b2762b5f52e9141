"""What the authorization server remembers: codes, access tokens and refresh tokens, timed by ``clock``.

Codes are opaque, single-use and live ``AUTH_CODE_TTL`` seconds; a redemption that fails
does not consume the code, and redeeming a code twice does not revoke what the first
redemption issued (Azure does not). Refresh tokens ROTATE: every use returns a new pair. A
used refresh token stays usable for ``refresh_grace`` seconds after its first use (a client
that crashed before saving the new token can retry); after that it counts as a replay and
every refresh token of its grant (the descendants of one authorization code) is revoked, as
strict servers do (the OAuth 2.0 Security BCP, RFC 9700 §4.14); or, with ``rotation``, they do not
rotate: the one presented comes back, or none does, and it stays valid. Refresh tokens also die
``REFRESH_TOKEN_TTL`` after issue. Access tokens stay valid until they expire, whatever happens to refresh tokens.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sandboxes.nextech.oauth_errors import OAuthError
from sandboxes.toolkit.aliases import JsonObject

__all__ = ["AUTH_CODE_TTL", "REFRESH_TOKEN_TTL", "SCOPE", "AuthorizationCode", "Grants", "RefreshToken"]

#: Lifetime of an authorization code, seconds.
AUTH_CODE_TTL = 600.0
#: Lifetime of a refresh token from its issue, seconds (Azure's 90-day inactivity limit).
REFRESH_TOKEN_TTL = 90 * 24 * 3600.0
#: The token response's ``scope`` (Azure v1's delegated default).
SCOPE = "user_impersonation"


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    resource: str | None
    issued: float
    used: bool = False
    challenge: str | None = None  # its PKCE S256 code_challenge (RFC 7636 §4.4), when one is required


@dataclass
class RefreshToken:
    client_id: str
    family: int  # the grant: every refresh token descending from one authorization code
    resource: str
    issued: float
    first_used: float | None = None
    revoked: bool = False


@dataclass
class Grants:
    """Codes, access tokens and refresh tokens, all in memory, timed by ``clock``."""

    clock: Callable[[], float]
    access_ttl: float
    refresh_grace: float
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)  # token -> expires at
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    numbers_as_strings: bool = False  # expires_in & co as JSON strings, as Azure AD v1 sends them
    access_token_field: str = "access_token"  # "code": the docs' "Response Parameters" table
    families: dict[int, list[str]] = field(default_factory=dict)
    issued_refresh: int = 0
    # "rotate": a new refresh token with every refresh; "reuse": the one presented, again (Spring
    # Authorization Server's default `reuseRefreshTokens(true)`); "none": no refresh token in a
    # refresh's answer (Authlib's default `INCLUDE_NEW_REFRESH_TOKEN = False`). Either of the two
    # keeps the presented token valid, for as long as it lives.
    rotation: Literal["rotate", "reuse", "none"] = "rotate"

    def new_code(self, client_id: str, redirect_uri: str, resource: str | None, challenge: str | None = None) -> str:
        code = secrets.token_urlsafe(48)
        self.codes[code] = AuthorizationCode(client_id, redirect_uri, resource, self.clock(), challenge=challenge)
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str) -> AuthorizationCode:
        found = self.codes.get(code)
        if found is None or found.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "bad_code")
        if found.used:
            raise OAuthError(400, "invalid_grant", "redeemed")
        if self.clock() >= found.issued + AUTH_CODE_TTL:
            raise OAuthError(400, "invalid_grant", "expired")
        if redirect_uri != found.redirect_uri:
            raise OAuthError(400, "invalid_grant", "reply_address")
        found.used = True
        return found

    def issue(self, client_id: str, family: int | None, resource: str, presented: str | None = None) -> JsonObject:
        """A new access and refresh token pair (a new grant when `family` is None): the token
        response. `presented`: the refresh token a refresh presented, which `rotation` may keep."""
        now = self.clock()
        if family is None:
            family = len(self.families) + 1
            self.families[family] = []
        access = secrets.token_urlsafe(48)
        self.access[access] = now + self.access_ttl
        refresh: str | None = presented if presented is not None and self.rotation != "rotate" else None
        if refresh is None:
            refresh = secrets.token_urlsafe(64)
            self.refresh[refresh] = RefreshToken(client_id, family, resource, now)
            self.families[family].append(refresh)
            self.issued_refresh += 1
        ttl = int(self.access_ttl)
        number: Callable[[int], int | str] = str if self.numbers_as_strings else int
        answer: JsonObject = {
            "token_type": "Bearer",
            "scope": SCOPE,
            "expires_in": number(ttl),
            "ext_expires_in": number(ttl),
            "expires_on": number(int(now + self.access_ttl)),
            "not_before": number(int(now)),
            "resource": resource,
            self.access_token_field: access,
            "refresh_token": refresh,
        }
        if presented is not None and self.rotation == "none":
            del answer["refresh_token"]
        return answer

    def rotate(self, token: str, client_id: str) -> RefreshToken:
        """The refresh token's record if it may be used now (marking its first use), else raise."""
        now = self.clock()
        found = self.refresh.get(token)
        if found is None:
            raise OAuthError(400, "invalid_grant", "expired")
        if found.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "other_client")
        if found.revoked:
            raise OAuthError(400, "invalid_grant", "revoked")
        if now >= found.issued + REFRESH_TOKEN_TTL:
            raise OAuthError(400, "invalid_grant", "expired")
        if self.rotation != "rotate":  # kept, not rotated: every use is its own, no replay
            return found
        if found.first_used is None:
            found.first_used = now
        elif now >= found.first_used + self.refresh_grace:
            for sibling in self.families[found.family]:  # replay: the whole grant goes
                self.refresh[sibling].revoked = True
            raise OAuthError(400, "invalid_grant", "expired")
        return found

    def access_ok(self, token: str) -> bool:
        expires = self.access.get(token)
        return expires is not None and self.clock() < expires

    def revoke_all(self) -> None:
        """Revoke every refresh token issued so far, as when a user or admin revokes the grant."""
        for record in self.refresh.values():
            record.revoked = True
