"""SMART Backend Services end to end: a client proves itself with a signed assertion at the
gateway's token endpoint, gets a short-lived token, and calls the FHIR API with it."""

from __future__ import annotations

import base64
import gzip
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.settings import (
    AuthServerSettings,
    ClientSettings,
    PagingSettings,
    ServerSettings,
    Settings,
    TenantSettings,
)
from tests.support.fake_vendor import BASE, FAKE, FAKE_URL, TENANT, FakeBackend, TestClient, fake_gateway, ok, outcome

PUBLIC = "https://fhir.example.org"
TOKEN_URL = f"{PUBLIC}/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLIENT_EC = ec.generate_private_key(ec.SECP384R1())
CLIENT_RSA_1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # registered by mistake
GATEWAY_KEY = ec.generate_private_key(ec.SECP384R1())


def public_jwk(private: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else ECAlgorithm
    return {**algorithm.to_jwk(private.public_key(), as_dict=True), "kid": kid}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(
        GATEWAY_KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    settings = Settings(
        server=ServerSettings(auth="smart", public_base_url=PUBLIC),
        paging=PagingSettings(),
        auth=AuthServerSettings(
            signing_keys=[f"file:{key_file}"],
            clients=[
                ClientSettings(
                    client_id="hie-1",
                    jwks={
                        "keys": [
                            public_jwk(CLIENT_RSA, "rsa-1"),
                            public_jwk(CLIENT_EC, "ec-1"),
                            public_jwk(CLIENT_RSA_1024, "rsa-short"),
                        ]
                    },
                    scopes=["system/*.rs"],
                    tenants=[TENANT],
                )
            ],
        ),
        tenants={name: TenantSettings(vendor=FAKE, base_url=FAKE_URL) for name in (TENANT, "other")},
    )
    backend = FakeBackend()
    backend.add_patient("p1")
    backend.add_patient("p2")
    with fake_gateway(backend, settings) as client:
        yield client


def assertion(
    private: Any = CLIENT_RSA, kid: str = "rsa-1", alg: str = "RS384", lifetime: float = 240, **claims: Any
) -> str:
    now = time.time()
    payload = {"iss": "hie-1", "sub": "hie-1", "aud": TOKEN_URL, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode({**payload, **claims}, private, algorithm=alg, headers={"kid": kid})


def ask(client: TestClient, signed: str, scope: str = "system/Patient.rs", **form: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **form,
    }
    return client.post("/auth/token", data=data)


@pytest.mark.parametrize(("private", "kid", "alg"), [(CLIENT_RSA, "rsa-1", "RS384"), (CLIENT_EC, "ec-1", "ES384")])
def test_a_registered_client_gets_a_token_and_reads_with_it(
    client: TestClient, private: Any, kid: str, alg: str
) -> None:
    response = ask(client, assertion(private, kid, alg))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer" and body["scope"] == "system/Patient.rs" and body["expires_in"] <= 300
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert ok(client.get(f"{BASE}/Patient/p1", headers=headers))["id"] == "p1"
    elsewhere = client.get("/fhir/other/Patient/p1", headers=headers)  # not a tenant of this client
    outcome(elsewhere, 403)
    assert elsewhere.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    outcome(client.post(f"{BASE}/Patient", json={"resourceType": "Patient"}, headers=headers), 403)


def test_the_gateways_keys_are_published_and_verify_its_tokens(client: TestClient) -> None:
    jwks = client.get("/auth/jwks").json()
    token = ask(client, assertion()).json()["access_token"]
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    claims = jwt.decode(token, key.key, algorithms=["ES384"], audience=f"{PUBLIC}/fhir")
    assert claims["client_id"] == "hie-1" and claims["tenants"] == [TENANT]
    assert "d" not in jwks["keys"][0]  # public only


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: assertion(lifetime=900), "five minutes"),
        (lambda: assertion(aud="https://fhir.example.org/other/token"), "aud"),
        (lambda: assertion(kid="unknown"), "kid"),
        (lambda: assertion(iss="stranger", sub="stranger"), "unknown client"),
        (lambda: assertion(sub="someone-else"), "sub"),
        (lambda: assertion(lifetime=-120), "expired"),
        (lambda: assertion(alg="RS256"), "RS384 or ES384"),
        (lambda: assertion(private=rsa.generate_private_key(public_exponent=65537, key_size=2048)), "not acceptable"),
        # RFC 7518 section 3.3: RS384 needs 2048 bits or more; PyJWT only warned and accepted it.
        pytest.param(
            lambda: assertion(private=CLIENT_RSA_1024, kid="rsa-short"),
            "shorter than 2048 bits",
            marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),  # the test signs with it
        ),
    ],
)
def test_unacceptable_assertions_are_invalid_client(client: TestClient, make: Any, why: str) -> None:
    response = ask(client, make())
    # RFC 6749 section 5.2: 400 unless the client used an HTTP authentication scheme; a 401
    # would need a WWW-Authenticate naming one (RFC 9110 section 15.5.2).
    assert response.status_code == 400 and response.headers["cache-control"] == "no-store"
    assert "www-authenticate" not in response.headers
    body = response.json()
    assert body["error"] == "invalid_client" and why in body["error_description"]


def test_a_client_id_beside_the_assertion_must_name_its_client(client: TestClient) -> None:
    # RFC 7521 section 4.2: a request naming one client and authenticated as another is refused.
    other = ask(client, assertion(), client_id="someone-else")
    assert other.status_code == 400 and other.json()["error"] == "invalid_client"
    assert ask(client, assertion(), client_id="hie-1").status_code == 200


def test_a_replayed_assertion_is_refused(client: TestClient) -> None:
    signed = assertion()
    assert ask(client, signed).status_code == 200
    replay = ask(client, signed)
    assert replay.status_code == 400 and "jti" in replay.json()["error_description"]


def test_grant_type_and_scopes_are_checked(client: TestClient) -> None:
    wrong = ask(client, assertion(), grant_type="password")
    assert wrong.status_code == 400 and wrong.json()["error"] == "unsupported_grant_type"
    narrow = ask(client, assertion(), scope="system/Patient.cruds patient/*.rs system/Observation.rs")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "system/Observation.rs"
    none = ask(client, assertion(), scope="system/Patient.c")
    assert none.status_code == 400 and none.json()["error"] == "invalid_scope"


def test_smart_configuration_describes_the_gateways_token_endpoint(client: TestClient) -> None:
    body = client.get(f"{BASE}/.well-known/smart-configuration").json()
    assert body["token_endpoint"] == TOKEN_URL and body["jwks_uri"] == f"{PUBLIC}/auth/jwks"
    assert "client_credentials" in body["grant_types_supported"]
    assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]
    # No authorization endpoint, so no app launch: only what a backend service can be granted,
    # and no issuer (SMART conformance.html: only with sso-openid-connect).
    assert body["scopes_supported"] and all(s.startswith("system/") for s in body["scopes_supported"])
    assert "authorization_endpoint" not in body and "issuer" not in body
    assert not {"permission-patient", "permission-user"} & set(body["capabilities"])


def test_the_token_endpoint_refuses_bodies_too_large_for_a_grant(client: TestClient) -> None:
    huge = "scope=" + "x" * 100_000
    response = client.post("/auth/token", content=huge, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "too large" in response.json()["error_description"]


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A JWT with `header` and `claims` and a signature of nothing: what anyone can send."""
    parts = [base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode() for part in (header, claims)]
    return ".".join([*parts, "AAAA"])


@pytest.mark.parametrize("alg", ["RS256", "PS256", "RS384", "PS512"])
def test_a_token_naming_an_rsa_algorithm_for_the_gateways_ec_key_is_401(client: TestClient, alg: str) -> None:
    # The gateway signs with EC P-384: a header naming an RSA algorithm cannot be verified with
    # it (RFC 7518 section 3.1), and is an unacceptable token (RFC 6750 section 3.1), not a 500.
    kid = client.get("/auth/jwks").json()["keys"][0]["kid"]
    for header in ({"alg": alg}, {"alg": alg, "kid": kid}):
        token = unsigned(header, {"iss": f"{PUBLIC}/auth", "aud": f"{PUBLIC}/fhir", "exp": time.time() + 60})
        response = client.get(f"{BASE}/Patient/p1", headers={"Authorization": f"Bearer {token}"})
        body = outcome(response, 401)
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        assert alg in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(("alg", "kid"), [("RS384", "ec-1"), ("ES384", "rsa-1")])
def test_an_assertion_naming_an_algorithm_its_key_does_not_sign_with_is_invalid_client(
    client: TestClient, alg: str, kid: str
) -> None:
    now = time.time()
    claims = {"iss": "hie-1", "sub": "hie-1", "aud": TOKEN_URL, "exp": now + 60, "jti": str(uuid.uuid4())}
    response = ask(client, unsigned({"alg": alg, "kid": kid}, claims))
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("jti", ["\ud800", "a\udfffb"])
def test_an_assertion_whose_jti_is_not_text_is_invalid_client(client: TestClient, jti: str) -> None:
    # A lone surrogate (a JSON escape UTF-8 cannot carry, RFC 8259 section 8.2) is no jti the
    # replay check could remember: the assertion is refused, not a 500.
    response = ask(client, assertion(jti=jti))
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_client"


def post_form(client: TestClient, form: str) -> Any:
    return client.post("/auth/token", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})


@pytest.mark.parametrize(
    "repeated",
    [
        "grant_type=authorization_code&grant_type=client_credentials",
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=system/Observation.rs&scope=system/Patient.rs",
        "grant_type=client_credentials&client_id=hie-1&client_id=hie-1",
    ],
)
def test_a_parameter_given_twice_is_invalid_request(client: TestClient, repeated: str) -> None:
    # RFC 6749 section 3.2: parameters MUST NOT be included more than once; which one the client
    # meant is not the server's to guess (the last, or the first).
    form = f"{repeated}&client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion()}"
    response = post_form(client, form)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "more than once" in response.json()["error_description"]


@pytest.mark.parametrize("escape", ["%ZZ", "%", "%C5berg", "%ff"])
def test_a_form_with_a_malformed_or_non_utf8_escape_is_invalid_request(client: TestClient, escape: str) -> None:
    form = f"grant_type=client_credentials&client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion()}"
    response = post_form(client, f"{form}&scope=system/Patient.rs{escape}")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert post_form(client, f"{form}&scope=system/Patient.rs").status_code == 200  # the same, well formed


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_an_assertion_whose_times_are_not_numbers_is_invalid_client(client: TestClient, claim: str) -> None:
    # RFC 7519 section 2: a NumericDate is a JSON number; "1765000000" is a string of digits.
    now = int(time.time())
    value = {"exp": now + 240, "iat": now, "nbf": now - 10}[claim]
    response = ask(client, assertion(**{claim: str(value)}))
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"
    assert f"'{claim}' is not a NumericDate" in response.json()["error_description"]
    assert ask(client, assertion(**{claim: value})).status_code == 200  # the same, as a number


def test_an_assertion_expiring_beyond_any_float_is_too_far_ahead_not_a_500(client: TestClient) -> None:
    # A NumericDate may be any JSON number: 10**400 seconds is one, and is far more than five minutes.
    response = ask(client, assertion(exp=10**400))
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"
    assert "five minutes" in response.json()["error_description"]


def test_the_token_endpoint_refuses_a_form_with_a_content_coding(client: TestClient) -> None:
    # As the FHIR routes do (RFC 9110 §15.5.16), but in OAuth's own words (RFC 6749 §5.2).
    form = gzip.compress(b"grant_type=client_credentials")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"}
    response = client.post("/auth/token", content=form, headers=headers)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_two_ways_of_authenticating_in_one_request_are_refused(client: TestClient) -> None:
    # RFC 6749 section 2.3: one authentication method per request; a Basic header beside the
    # assertion leaves which client is asking to the server's guess.
    data = {"grant_type": "client_credentials", "scope": "system/Patient.rs"}
    data |= {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion()}
    both = client.post("/auth/token", data=data, headers={"Authorization": "Basic YXBwOnNlY3JldA=="})
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    with_secret = client.post("/auth/token", data={**data, "client_secret": "secret"})
    assert with_secret.status_code == 400 and with_secret.json()["error"] == "invalid_request"
    assert ask(client, assertion()).status_code == 200
