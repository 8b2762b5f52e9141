"""A SMART authorization server for tests: a signing key, its JWKS file, and access tokens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.settings import (
    ClientSettings,
    PagingSettings,
    ServerSettings,
    Settings,
    TenantAuthSettings,
    TenantSettings,
)

ISSUER = "https://login.example.org"
PUBLIC_BASE = "https://fhir.example.org"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # one per test session: slow to make


@dataclass(frozen=True)
class Issuer:
    jwks_file: Path
    kid: str = "test-key-1"

    @classmethod
    def in_dir(cls, directory: Path) -> Issuer:
        path = directory / "jwks.json"
        public = RSAAlgorithm.to_jwk(_KEY.public_key(), as_dict=True)
        path.write_text(json.dumps({"keys": [{**public, "kid": "test-key-1", "use": "sig", "alg": "RS384"}]}))
        return cls(path)

    def token(self, tenant: str, scope: str, *, lifetime: float = 300, **claims: Any) -> str:
        now = time.time()
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": f"{PUBLIC_BASE}/fhir/{tenant}",
            "exp": now + lifetime,
            "iat": now,
            "sub": "app-1",
            "client_id": "app-1",
            "scope": scope,
            **claims,
        }
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, _KEY, "RS384", {"kid": self.kid})

    def headers(self, tenant: str, scope: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, scope, **claims)}"}

    def auth(self) -> TenantAuthSettings:
        return TenantAuthSettings(
            issuer=ISSUER,
            jwks_file=str(self.jwks_file),
            token_endpoint=f"{ISSUER}/token",
            authorization_endpoint=f"{ISSUER}/authorize",
        )


def smart_settings(issuer: Issuer, tenants: dict[str, TenantSettings]) -> Settings:
    """`tenants` protected by `issuer`, as a deployment behind PUBLIC_BASE would be."""
    return Settings(
        server=ServerSettings(auth="smart", public_base_url=PUBLIC_BASE),
        paging=PagingSettings(),
        tenants={name: conf.model_copy(update={"auth": issuer.auth()}) for name, conf in tenants.items()},
    )


@dataclass(frozen=True)
class BackendClient:
    """A backend-services client of the gateway's own token endpoint: its key and its assertions."""

    client_id: str
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def new(cls, client_id: str) -> BackendClient:
        return cls(client_id, ec.generate_private_key(ec.SECP384R1()))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True), "kid": "k1"}]}

    def settings(self, scopes: list[str], tenants: list[str]) -> ClientSettings:
        return ClientSettings(client_id=self.client_id, jwks=self.jwks(), scopes=scopes, tenants=tenants)

    def assertion(self, token_url: str) -> str:
        now = time.time()
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": token_url, "exp": now + 240, "jti": str(uuid4())}
        return jwt.encode(claims, self.key, "ES384", {"kid": "k1"})

    def token(self, root_url: str, scope: str) -> str:
        token_url = f"{root_url}/auth/token"
        form = {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(token_url),
        }
        response = httpx.post(token_url, data=form, timeout=30)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


def signing_key_file(directory: Path) -> Path:
    """A fresh EC P-384 signing key for the gateway, as an operator would mount it."""
    path = directory / "gateway-signing-key.pem"
    key = ec.generate_private_key(ec.SECP384R1())
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path
