"""`fhir-gateway token`: a SMART Backend Services client in one command, for operators and demos.

Signs a client assertion (RFC 7523) with the client's private key (EC P-384 → ES384, RSA →
RS384), posts the client-credentials grant to the gateway's token endpoint, and gives back the
access token.
"""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key


class TokenRequestError(Exception):
    pass


def request_token(root: str, client_id: str, key_file: Path, scope: str, kid: str | None = None) -> str:
    # The root, or the token endpoint itself (what the server's smart-configuration names).
    base = root.rstrip("/")
    token_url = base if base.endswith("/auth/token") else f"{base}/auth/token"
    key = load_pem_private_key(key_file.read_bytes(), password=None)
    # What the gateway's token endpoint verifies: ES384 on P-384, RS384 with 2048 bits or more
    # (SMART Backend Services; NIST SP 800-131A). Anything else would only be refused there.
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
        algorithm = "ES384"
    elif isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        algorithm = "RS384"
    elif isinstance(key, rsa.RSAPrivateKey):
        raise TokenRequestError(f"the RSA key has {key.key_size} bits: it needs at least 2048")
    else:
        raise TokenRequestError("the key must be an EC P-384 or an RSA (2048 bits or more) private key")
    now = time.time()
    claims = {"iss": client_id, "sub": client_id, "aud": token_url, "exp": now + 240, "jti": str(uuid4())}
    assertion = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)
    form = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    try:
        response = httpx.post(token_url, data=form, timeout=30)
    except httpx.HTTPError as exc:
        raise TokenRequestError(f"{token_url}: {type(exc).__name__}") from None
    try:
        body = response.json() if "json" in response.headers.get("content-type", "") else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    token = body.get("access_token")
    if response.status_code == 200 and isinstance(token, str):
        return token
    if body.get("error"):  # RFC 6749 section 5.2
        raise TokenRequestError(f"{response.status_code} {body['error']}: {body.get('error_description') or '-'}")
    hint = "; --url is the gateway's root (e.g. http://127.0.0.1:8080), not a FHIR base" if "/fhir/" in root else ""
    raise TokenRequestError(f"{token_url} answered HTTP {response.status_code} without a token{hint}")
