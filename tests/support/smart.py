"""A SMART authorization server for tests: a signing key, its JWKS file, and access tokens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gateway.settings import PagingSettings, ServerSettings, Settings, TenantAuthSettings, TenantSettings

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
