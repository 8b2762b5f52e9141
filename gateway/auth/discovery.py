"""What a tenant tells SMART clients about its authorization: `.well-known/smart-configuration`
(SMART App Launch 2.0.0, conformance.html) and the CapabilityStatement's `rest.security`.

The tenant is a resource server; its authorization server is the issuer it trusts. The
capabilities listed are the ones this server enforces (scopes v1 and v2, patient and user
contexts), plus the launch and client kinds the configured endpoints make possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.settings import TenantAuthSettings

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
SYSTEM_SCOPES = ["system/*.rs", "system/*.cruds"]  # what a backend service may ask for
# With an authorization endpoint: what a launched app may ask for too.
# (Not openid or fhirUser: sso-openid-connect is the authorization server's to claim.)
APP_SCOPES = ["launch", "launch/patient", "offline_access", "patient/*.rs", "user/*.rs"]


@dataclass(frozen=True)
class AuthorizationServer:
    """What a client needs to know of the server that issues this tenant's tokens."""

    issuer: str
    token_endpoint: str
    jwks_uri: str | None = None
    authorization_endpoint: str | None = None

    @classmethod
    def external(cls, conf: TenantAuthSettings) -> AuthorizationServer:
        return cls(conf.issuer, conf.token_endpoint, conf.jwks_uri, conf.authorization_endpoint)


def smart_configuration(conf: AuthorizationServer) -> dict[str, Any]:
    capabilities = ["permission-v1", "permission-v2"]
    grants = ["client_credentials"]
    if conf.authorization_endpoint:  # patient and user scopes come from a launch: only with one
        capabilities += ["permission-patient", "permission-user"]
        capabilities += ["launch-standalone", "context-standalone-patient", "client-public"]
        grants.insert(0, "authorization_code")
    capabilities.append("client-confidential-asymmetric")
    # `issuer` is left out: SMART App Launch 2.0 conformance.html has it only with the
    # sso-openid-connect capability, which is the authorization server's to claim, not ours.
    # The scopes listed are those a client of that server can ask for: without an
    # authorization endpoint there is no app launch, only backend services.
    body: dict[str, Any] = {
        "token_endpoint": conf.token_endpoint,
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": (APP_SCOPES if conf.authorization_endpoint else []) + SYSTEM_SCOPES,
        "response_types_supported": ["code"] if conf.authorization_endpoint else [],
        "capabilities": capabilities,
        "code_challenge_methods_supported": ["S256"],
    }
    if conf.jwks_uri:
        body["jwks_uri"] = conf.jwks_uri
    if conf.authorization_endpoint:
        body["authorization_endpoint"] = conf.authorization_endpoint
    return body


def security(conf: AuthorizationServer, cors: bool) -> dict[str, Any]:
    """`CapabilityStatement.rest.security` for a SMART-protected tenant."""
    uris = [{"url": "token", "valueUri": conf.token_endpoint}]
    if conf.authorization_endpoint:
        uris.append({"url": "authorize", "valueUri": conf.authorization_endpoint})
    return {
        "extension": [{"url": OAUTH_URIS, "extension": uris}],
        "cors": cors,
        "service": [
            {
                "coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"}],
                "text": "OAuth2 bearer tokens (SMART App Launch 2.0)",
            }
        ],
        "description": "Every endpoint but metadata and .well-known/smart-configuration needs a bearer token.",
    }
