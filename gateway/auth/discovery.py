"""What a tenant tells SMART clients about its authorization: `.well-known/smart-configuration`
(SMART App Launch 2.0.0, conformance.html) and the CapabilityStatement's `rest.security`.

The tenant is a resource server; its authorization server is the issuer it trusts. The
capabilities listed are the ones this server enforces (scopes v1 and v2, patient and user
contexts) and the launch an authorization endpoint makes possible. Of an external server,
nothing else is claimed but what its operator declares (its grant types, client
authentication, scopes, client kinds): a client following discovery to a server that does not
have them would fail. Of the gateway's own token endpoint, what it implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.settings import ServerMetadata, TenantAuthSettings

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
SYSTEM_SCOPES = ["system/*.rs", "system/*.cruds"]  # what a backend service may ask the gateway for


@dataclass(frozen=True)
class AuthorizationServer:
    """What a client needs to know of the server that issues this tenant's tokens. `declared`:
    what its operator says of an external server beyond its endpoints; None for the gateway's
    own token endpoint, whose features are known here."""

    issuer: str
    token_endpoint: str
    jwks_uri: str | None = None
    authorization_endpoint: str | None = None
    declared: ServerMetadata | None = None

    @classmethod
    def external(cls, conf: TenantAuthSettings) -> AuthorizationServer:
        return cls(conf.issuer, conf.token_endpoint, conf.jwks_uri, conf.authorization_endpoint, conf.advertise)


def smart_configuration(conf: AuthorizationServer) -> dict[str, Any]:
    # `issuer` is left out: SMART App Launch 2.0 conformance.html has it only with the
    # sso-openid-connect capability, which is the authorization server's to claim, not ours.
    launch = conf.authorization_endpoint is not None
    capabilities = ["permission-v1", "permission-v2"]  # enforced here, whoever issues the token
    if launch:  # patient and user scopes come from a launch: only with one
        capabilities += ["permission-patient", "permission-user", "launch-standalone"]
    body: dict[str, Any] = {
        "token_endpoint": conf.token_endpoint,
        "grant_types_supported": ["authorization_code"] if launch else ["client_credentials"],
        "response_types_supported": ["code"] if launch else [],
        "capabilities": capabilities,
        # Required of every SMART server (App Launch 2.0 conformance.html: S256 SHALL be listed,
        # plain SHALL NOT).
        "code_challenge_methods_supported": ["S256"],
    }
    if conf.declared is None:  # the gateway's own token endpoint (gateway.auth.server): backend services
        body["token_endpoint_auth_methods_supported"] = ["private_key_jwt"]
        body["token_endpoint_auth_signing_alg_values_supported"] = ["RS384", "ES384"]
        body["scopes_supported"] = SYSTEM_SCOPES
        capabilities.append("client-confidential-asymmetric")
    else:  # another server's features: only what its operator declared (gateway.settings.ServerMetadata)
        declared = conf.declared.model_dump(exclude_none=True)
        capabilities += [c for c in declared.pop("capabilities") if c not in capabilities]
        body.update(declared)
        if "sso-openid-connect" in capabilities:  # conformance.html: then issuer and jwks_uri are required
            body["issuer"] = conf.issuer
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
