"""NexHealth's API key -> bearer token exchange (vendor-docs/nexhealth-getting-started.txt).

``POST /authenticates`` trades the API key for a JWT; every other route wants it as
``Authorization: Bearer <JWT>``. Our tokens are HS256, signed with a random per-app secret,
and stateless: re-authenticating does not revoke earlier ones.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import secrets
import uuid

import orjson

from sandboxes.toolkit.auth import bearer_credentials
from sandboxes.toolkit.base64url import b64url_decode, b64url_encode

__all__ = ["EXPIRED", "UNAUTHORIZED", "TokenIssuer"]

UNAUTHORIZED = "Unauthorized"
EXPIRED = "Unauthorized: token has expired"

_API_USER = "1"
_SCOPE = "api_user"


_JWT_HEADER = b64url_encode(b'{"alg":"HS256"}')


class TokenIssuer:
    """Issues and checks HS256 JWTs signed with a per-app secret."""

    def __init__(self, ttl: float) -> None:
        self.secret = secrets.token_bytes(32)
        self.ttl = ttl

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self.secret, signing_input.encode(), hashlib.sha256).digest()

    def issue(self, now: float) -> str:
        issued_at = int(now)
        expires: float = issued_at + self.ttl
        claims = {
            "sub": _API_USER,
            "scp": _SCOPE,
            "iat": issued_at,
            "exp": int(expires) if float(expires).is_integer() else expires,
            "jti": str(uuid.uuid4()),
        }
        signing_input = f"{_JWT_HEADER}.{b64url_encode(orjson.dumps(claims))}"
        return f"{signing_input}.{b64url_encode(self._sign(signing_input))}"

    def check(self, authorization: str | None, now: float) -> str | None:
        """The 401 message for this ``Authorization`` header, or None when it is good."""
        token = bearer_credentials((authorization or "").strip())
        parts = token.split(".") if token is not None else []
        if len(parts) != 3:
            return UNAUTHORIZED
        try:
            header = orjson.loads(b64url_decode(parts[0]))
            signature = b64url_decode(parts[2])
            claims = orjson.loads(b64url_decode(parts[1]))
        except (ValueError, binascii.Error):
            return UNAUTHORIZED
        good = isinstance(header, dict) and header.get("alg") == "HS256"
        if not (good and hmac.compare_digest(signature, self._sign(f"{parts[0]}.{parts[1]}"))):
            return UNAUTHORIZED
        expires = claims.get("exp") if isinstance(claims, dict) else None
        if not isinstance(expires, int | float) or isinstance(expires, bool) or claims.get("scp") != _SCOPE:
            return UNAUTHORIZED
        if now >= expires:
            return EXPIRED
        return None
