"""The gateway's own signing keys: access tokens it issues are signed with the first, and every
key is published (`/auth/jwks`) so that a rotation never strands a token already issued.

Keys are PEM private keys, RSA (signing RS384) or EC P-384 (ES384): the algorithms SMART
Backend Services asks servers to support. A key's `kid` is its RFC 7638 thumbprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.settings import ConfigError

_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


@dataclass(frozen=True)
class SigningKey:
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    algorithm: str
    kid: str
    public_jwk: dict[str, Any]


def load_signing_key(pem: str) -> SigningKey:
    try:
        private = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"auth.signing_keys: not an unencrypted PEM private key ({type(exc).__name__})") from None
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise ConfigError("auth.signing_keys: RSA keys must have at least 2048 bits")
        algorithm, jwk = "RS384", RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, ec.SECP384R1):
        algorithm, jwk = "ES384", ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise ConfigError("auth.signing_keys: use an RSA (2048+ bits) or EC P-384 key")
    kid = thumbprint(jwk)
    return SigningKey(private, algorithm, kid, {**jwk, "kid": kid, "alg": algorithm, "use": "sig"})


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the key's required members, as canonical JSON."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


class SigningKeys:
    def __init__(self, pems: list[str]) -> None:
        if not pems:
            raise ConfigError("auth.signing_keys: at least one key is needed")
        self.keys = [load_signing_key(pem) for pem in pems]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        current = self.keys[0]
        return jwt.encode(claims, current.private, algorithm=current.algorithm, headers={"kid": current.kid})
