"""The gateway as a SMART resource server, over HTTP: one test per assertion an Inferno-style
kit makes (no token, bad tokens, scopes, v1/v2, the patient compartment by every route)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from gateway.auth.gate import check_exposure
from gateway.settings import (
    ConfigError,
    ServerMetadata,
    ServerSettings,
    Settings,
    TenantAuthSettings,
    TenantSettings,
)
from tests.support.fake_vendor import (
    BASE,
    FAKE,
    FAKE_URL,
    READ,
    SEARCH,
    TENANT,
    FakeBackend,
    TestClient,
    fake_gateway,
    ids,
    link,
    ok,
    outcome,
)
from tests.support.smart import Issuer, smart_settings

JSON = {"Content-Type": "application/fhir+json"}
STATUSES = ("final", "amended", "preliminary", "cancelled")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return Issuer.in_dir(tmp_path_factory.mktemp("issuer"))


@pytest.fixture
def backend() -> FakeBackend:
    backend = FakeBackend()
    backend.add_patient("p1", family="Nguyen")
    backend.add_patient("p2", family="Okafor")
    for n, status in enumerate(STATUSES):
        backend.add_observation("p1", f"o1{n}", status=status)
        backend.add_observation("p2", f"o2{n}", status=status)
    return backend


@pytest.fixture
def client(backend: FakeBackend, issuer: Issuer) -> Iterator[TestClient]:
    tenants = {name: TenantSettings(vendor=FAKE, base_url=FAKE_URL) for name in (TENANT, "other")}
    with fake_gateway(backend, smart_settings(issuer, tenants)) as client:
        yield client


def as_patient(issuer: Issuer, scope: str = "patient/*.rs", patient: str = "p1") -> dict[str, str]:
    return issuer.headers(TENANT, f"launch/patient openid {scope}", patient=patient)


# -- discovery stays open ---------------------------------------------------------------------


def test_metadata_is_open_and_declares_smart_security(client: TestClient) -> None:
    statement = ok(client.get(f"{BASE}/metadata"))
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris == {"token": "https://login.example.org/token", "authorize": "https://login.example.org/authorize"}


def test_smart_configuration_has_the_required_fields(client: TestClient) -> None:
    response = client.get(f"{BASE}/.well-known/smart-configuration")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    body = response.json()
    for required in ("token_endpoint", "grant_types_supported", "capabilities", "code_challenge_methods_supported"):
        assert body[required]
    assert (
        "S256" in body["code_challenge_methods_supported"] and "plain" not in body["code_challenge_methods_supported"]
    )
    assert {"permission-v1", "permission-v2", "permission-patient", "launch-standalone"} <= set(body["capabilities"])
    assert body["grant_types_supported"] == ["authorization_code"]
    # No id_token is promised: sso-openid-connect is the authorization server's to claim.
    assert "sso-openid-connect" not in body["capabilities"]


def test_an_external_servers_features_are_not_invented(client: TestClient) -> None:
    # The tenant trusts another server (login.example.org): how its clients authenticate, what
    # scopes and client kinds it grants, nothing here knows; a client told `private_key_jwt` by
    # discovery would fail at a server that takes only client secrets.
    body = client.get(f"{BASE}/.well-known/smart-configuration").json()
    for unknown in (
        "token_endpoint_auth_methods_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "scopes_supported",
    ):
        assert unknown not in body
    assert not [c for c in body["capabilities"] if c.startswith(("client-", "context-"))]
    assert "client_credentials" not in body["grant_types_supported"]


def test_what_the_operator_declares_of_the_server_is_advertised(backend: FakeBackend, issuer: Issuer) -> None:
    declared = ServerMetadata(
        grant_types_supported=["authorization_code", "client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_basic"],
        scopes_supported=["openid", "launch/patient", "patient/*.rs"],
        capabilities=["client-confidential-symmetric", "context-standalone-patient", "permission-v2"],
    )
    auth = issuer.auth().model_copy(update={"advertise": declared})
    settings = smart_settings(issuer, {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)})
    settings = settings.model_copy(
        update={"tenants": {TENANT: settings.tenants[TENANT].model_copy(update={"auth": auth})}}
    )
    with fake_gateway(backend, settings) as declaring:
        body = declaring.get(f"{BASE}/.well-known/smart-configuration").json()
    assert body["grant_types_supported"] == ["authorization_code", "client_credentials"]
    assert body["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert body["scopes_supported"] == ["openid", "launch/patient", "patient/*.rs"]
    assert body["capabilities"].count("permission-v2") == 1
    assert "issuer" not in body  # no sso-openid-connect declared
    assert {"client-confidential-symmetric", "context-standalone-patient", "launch-standalone"} <= set(
        body["capabilities"]
    )


def test_without_authorization_there_is_no_smart_configuration(backend: FakeBackend) -> None:
    with fake_gateway(backend) as open_client:
        outcome(open_client.get(f"{BASE}/.well-known/smart-configuration"), 404)
        assert ok(open_client.get(f"{BASE}/Patient/p1"))["id"] == "p1"  # auth = "none": as before


# -- the token ------------------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient, backend: FakeBackend) -> None:
    response = client.get(f"{BASE}/Patient/p1")
    outcome(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert backend.calls_to("Patient") == 0


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Digest username=x", "Negotiate abc"])
def test_another_scheme_is_no_authentication_a_bare_challenge(client: TestClient, header: str) -> None:
    # RFC 6750 section 3: a request "attempted using an unsupported authentication method" lacks
    # authentication: 401 and a challenge without an error code, as for no header at all.
    response = client.get(f"{BASE}/Patient/p1", headers={"Authorization": header})
    outcome(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer", "Bearer    "])
def test_the_bearer_scheme_without_a_token_is_invalid_request(client: TestClient, header: str) -> None:
    response = client.get(f"{BASE}/Patient/p1", headers={"Authorization": header})
    outcome(response, 400)
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_request"')


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"lifetime": -3600}, "expired"),
        ({"nbf": 4_102_444_800}, "not valid yet"),
        ({"aud": "https://fhir.example.org/fhir/other"}, "aud"),
        ({"iss": "https://evil.example.org"}, "iss"),
        # RFC 7519 section 2: a NumericDate is a JSON number; a string of digits is not one.
        ({"exp": str(int(time.time()) + 300)}, "'exp' is not a NumericDate"),
        ({"iat": str(int(time.time()))}, "'iat' is not a NumericDate"),
        ({"nbf": "0"}, "'nbf' is not a NumericDate"),
    ],
)
def test_unacceptable_tokens_are_401_invalid_token(
    client: TestClient, issuer: Issuer, claims: dict[str, Any], why: str
) -> None:
    response = client.get(f"{BASE}/Patient/p1", headers=issuer.headers(TENANT, "system/*.rs", **claims))
    body = outcome(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert why in body["issue"][0]["diagnostics"]


def test_a_tampered_token_is_401(client: TestClient, issuer: Issuer) -> None:
    head, payload, signature = issuer.token(TENANT, "patient/*.rs", patient="p1").split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    outcome(client.get(f"{BASE}/Patient/p1", headers={"Authorization": f"Bearer {forged}"}), 401)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_alg_none_hmac_with_the_public_key_and_an_unknown_kid_are_401(client: TestClient, issuer: Issuer) -> None:
    _, payload, signature = issuer.token(TENANT, "system/*.rs").split(".")
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'kid': issuer.kid}).encode())}.{payload}."
    public = json.loads(issuer.jwks_file.read_text())["keys"][0]
    pem = RSAAlgorithm.from_jwk(json.dumps(public)).public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_head = _b64(json.dumps({"alg": "HS256", "kid": issuer.kid}).encode())
    mac = _b64(hmac.new(pem, f"{hs_head}.{payload}".encode(), hashlib.sha256).digest())
    unknown = json.dumps({"alg": "RS384", "kid": "rotated-away"}).encode()
    for token in (unsigned, f"{hs_head}.{payload}.{mac}", f"{_b64(unknown)}.{payload}.{signature}"):
        response = client.get(f"{BASE}/Patient/p1", headers={"Authorization": f"Bearer {token}"})
        outcome(response, 401)
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("alg", ["ES384", "ES256", "ES512"])
def test_a_token_naming_an_ec_algorithm_for_an_rsa_key_is_401(client: TestClient, issuer: Issuer, alg: str) -> None:
    # The issuer's key is RSA: an ES* header cannot be verified with it (RFC 7518 section 3.1);
    # the token is unacceptable (RFC 6750 section 3.1), whoever sends it, never a 500.
    _, payload, signature = issuer.token(TENANT, "system/*.rs").split(".")
    head = _b64(json.dumps({"alg": alg, "kid": issuer.kid}).encode())
    response = client.get(f"{BASE}/Patient/p1", headers={"Authorization": f"Bearer {head}.{payload}.{signature}"})
    outcome(response, 401)
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


CHALLENGE = re.compile(r'Bearer error="[a-z_]+", error_description="[\x20-\x21\x23-\x5b\x5d-\x7e]*"')


@pytest.mark.parametrize("alg", ["\u4e00", 'RS384"', "RS\\384", "x\r\nSet-Cookie: a=b", "A" * 2000])
def test_whatever_a_tokens_header_says_the_challenge_is_a_well_formed_header(
    client: TestClient, issuer: Issuer, alg: Any
) -> None:
    # The header's alg is the sender's text: echoed into WWW-Authenticate it ended the quoted
    # description early, broke the header in two, or could not be encoded at all (a 500). RFC
    # 6750 section 3: error_description is printable ASCII but '"' and '\\'.
    _, payload, signature = issuer.token(TENANT, "system/*.rs").split(".")
    head = _b64(json.dumps({"alg": alg, "kid": issuer.kid}).encode())
    response = client.get(f"{BASE}/Patient/p1", headers={"Authorization": f"Bearer {head}.{payload}.{signature}"})
    body = outcome(response, 401)
    assert CHALLENGE.fullmatch(response.headers["www-authenticate"])
    assert "Set-Cookie" not in json.dumps(body) and "AAAA" not in json.dumps(body)


def test_a_token_for_one_tenant_does_not_open_another(client: TestClient, issuer: Issuer) -> None:
    headers = issuer.headers("other", "system/*.rs")
    assert ok(client.get("/fhir/other/Patient/p1", headers=headers))["id"] == "p1"
    outcome(client.get(f"{BASE}/Patient/p1", headers=headers), 401)


# -- scopes -------------------------------------------------------------------------------------


def test_a_scope_too_narrow_is_403(client: TestClient, issuer: Issuer, backend: FakeBackend) -> None:
    headers = as_patient(issuer, "patient/Observation.rs")
    response = client.get(f"{BASE}/Patient/p1", headers=headers)
    assert "read on Patient" in outcome(response, 403)["issue"][0]["diagnostics"]
    # RFC 6750 section 3.1: the challenge says the token's scopes are short of the request.
    assert response.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    created = client.post(f"{BASE}/Patient", json={"resourceType": "Patient"}, headers={**JSON, **headers})
    outcome(created, 403)
    assert 'error="insufficient_scope"' in created.headers["www-authenticate"]
    assert backend.calls_to("Patient") == 0


@pytest.mark.parametrize(
    ("scope", "advised"),
    [
        ("patient/Observation.rs", "patient/Patient.r"),
        ("system/Observation.rs", "system/Patient.r"),  # a backend service cannot use a patient/ scope
        ("user/Observation.rs system/Observation.rs", "user/Patient.r or system/Patient.r"),
    ],
)
def test_a_403_names_a_scope_of_the_kind_the_client_holds(
    client: TestClient, issuer: Issuer, scope: str, advised: str
) -> None:
    headers = as_patient(issuer, scope) if scope.startswith("patient/") else issuer.headers(TENANT, scope)
    diagnostics = outcome(client.get(f"{BASE}/Patient/p1", headers=headers), 403)["issue"][0]["diagnostics"]
    assert diagnostics.endswith(f"(a scope such as {advised})")


@pytest.mark.parametrize("scope", ["patient/*.read", "patient/*.rs", "patient/Patient.r patient/Observation.s"])
def test_v1_and_v2_scopes_are_both_understood(client: TestClient, issuer: Issuer, scope: str) -> None:
    headers = as_patient(issuer, scope)
    if "Patient.r" in scope or "*" in scope:
        assert ok(client.get(f"{BASE}/Patient/p1", headers=headers))["id"] == "p1"
    assert set(ids(ok(client.get(f"{BASE}/Observation", headers=headers)))) == {f"o1{n}" for n in range(4)}


@pytest.mark.parametrize("claim", [None, "", ["p1"], "p1,p2", "*"])
def test_a_patient_scope_without_a_launch_patient_reaches_nothing(
    client: TestClient, issuer: Issuer, claim: object
) -> None:
    headers = issuer.headers(TENANT, "patient/*.rs", patient=claim)
    diagnostics = outcome(client.get(f"{BASE}/Patient/p1", headers=headers), 403)["issue"][0]["diagnostics"]
    # Says why; never suggests the patient/ scope the token already holds.
    assert "names none" in diagnostics and "patient/Patient" not in diagnostics


def test_user_and_system_scopes_reach_every_patient(client: TestClient, issuer: Issuer) -> None:
    for scope in ("user/*.rs", "system/Patient.read"):
        headers = issuer.headers(TENANT, scope)
        assert set(ids(ok(client.get(f"{BASE}/Patient", headers=headers)))) == {"p1", "p2"}


# -- the patient compartment, probed by every route ----------------------------------------------


def test_another_patient_looks_missing_and_costs_no_vendor_call(
    client: TestClient, issuer: Issuer, backend: FakeBackend
) -> None:
    headers = as_patient(issuer)
    forbidden = outcome(client.get(f"{BASE}/Patient/p2", headers=headers), 404)
    missing = outcome(client.get(f"{BASE}/Patient/p9", headers=headers), 404)
    assert forbidden["issue"][0]["diagnostics"] == missing["issue"][0]["diagnostics"].replace("p9", "p2")
    outcome(client.get(f"{BASE}/Patient/p2/$everything", headers=headers), 404)
    assert backend.calls_to("Patient") == 0
    assert ok(client.get(f"{BASE}/Patient/p1", headers=headers))["id"] == "p1"


def test_another_patients_record_looks_missing(client: TestClient, issuer: Issuer) -> None:
    headers = as_patient(issuer)
    forbidden = outcome(client.get(f"{BASE}/Observation/o20", headers=headers), 404)
    missing = outcome(client.get(f"{BASE}/Observation/zz9", headers=headers), 404)
    assert forbidden["issue"][0]["diagnostics"] == missing["issue"][0]["diagnostics"].replace("zz9", "o20")
    assert ok(client.get(f"{BASE}/Observation/o10", headers=headers))["id"] == "o10"


@pytest.mark.parametrize(
    "query",
    [
        "patient=p2",
        "subject=Patient/p2",
        "patient=https://fhir.example.org/fhir/clinic/Patient/p2",
        "_id=o20",
    ],
)
def test_searches_for_another_patient_are_empty_without_vendor_calls(
    client: TestClient, issuer: Issuer, backend: FakeBackend, query: str
) -> None:
    bundle = ok(client.get(f"{BASE}/Observation?{query}", headers=as_patient(issuer)))
    assert ids(bundle) == []
    if not query.startswith("_id"):
        assert bundle["total"] == 0 and backend.calls_to("Observation") == 0


def test_searches_are_narrowed_to_the_launch_patient(client: TestClient, issuer: Issuer) -> None:
    headers = as_patient(issuer)
    assert ids(ok(client.get(f"{BASE}/Patient", headers=headers))) == ["p1"]
    assert ids(ok(client.get(f"{BASE}/Patient?_id=p1,p2", headers=headers))) == ["p1"]
    assert set(ids(ok(client.get(f"{BASE}/Observation", headers=headers)))) == {f"o1{n}" for n in range(4)}
    both = ok(client.get(f"{BASE}/Observation?patient=p1,p2", headers=headers))
    assert set(ids(both)) == {f"o1{n}" for n in range(4)}


def test_everything_holds_only_what_the_scopes_reach(client: TestClient, issuer: Issuer) -> None:
    bundle = ok(client.get(f"{BASE}/Patient/p1/$everything", headers=as_patient(issuer, "patient/Patient.rs")))
    assert ids(bundle) == ["p1"]  # no Observation scope: no Observations
    granular = as_patient(issuer, "patient/Patient.rs patient/Observation.rs?status=final")
    assert ids(ok(client.get(f"{BASE}/Patient/p1/$everything", headers=granular))) == ["p1", "o10"]
    outcome(
        client.get(
            f"{BASE}/Patient/p1/$everything?_type=Observation", headers=as_patient(issuer, "patient/Patient.rs")
        ),
        403,
    )


def test_a_paging_link_does_not_work_for_another_caller(
    client: TestClient, issuer: Issuer, backend: FakeBackend
) -> None:
    for n in range(5):
        backend.add_observation("p1", f"extra{n}")
    first = ok(client.get(f"{BASE}/Observation?_count=2", headers=as_patient(issuer)))
    following = link(first, "next")
    assert following is not None
    assert ok(client.get(following, headers=as_patient(issuer)))
    outcome(client.get(following, headers=as_patient(issuer, patient="p2")), 400)
    outcome(client.get(following, headers=issuer.headers(TENANT, "user/*.rs")), 400)


# -- granular scopes ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    granted=st.sets(st.sampled_from(STATUSES), min_size=1),
    asked=st.one_of(st.none(), st.sampled_from(STATUSES)),
    context=st.sampled_from(["patient", "user"]),
)
def test_granular_scopes_filter_the_unrestricted_answer_exactly(
    client: TestClient, issuer: Issuer, granted: set[str], asked: str | None, context: str
) -> None:
    query = "patient=p1" + (f"&status={asked}" if asked else "")
    everything = ok(client.get(f"{BASE}/Observation?{query}", headers=issuer.headers(TENANT, "user/*.rs")))
    scope = " ".join(f"{context}/Observation.rs?status={s}" for s in sorted(granted))
    restricted = ok(client.get(f"{BASE}/Observation?{query}&_count=2", headers=as_patient(issuer, scope)))
    pages = [restricted]
    while (following := link(pages[-1], "next")) is not None:
        pages.append(ok(client.get(following, headers=as_patient(issuer, scope))))
    got = [i for page in pages for i in ids(page)]
    expected = [r["id"] for r in (e["resource"] for e in everything.get("entry", [])) if r["status"] in granted]
    assert sorted(got) == sorted(expected)


# -- writes ----------------------------------------------------------------------------------------


def test_writes_need_write_scopes_and_stay_in_the_compartment(
    client: TestClient, issuer: Issuer, backend: FakeBackend
) -> None:
    headers = {**JSON, **as_patient(issuer, "patient/Patient.rus")}
    mine = ok(client.get(f"{BASE}/Patient/p1", headers=headers))
    assert (
        ok(client.put(f"{BASE}/Patient/p1", json={**mine, "gender": "female"}, headers=headers))["gender"] == "female"
    )
    other = {"resourceType": "Patient", "id": "p2", "gender": "male"}
    outcome(client.put(f"{BASE}/Patient/p2", json=other, headers=headers), 404)
    outcome(client.post(f"{BASE}/Patient", json={"resourceType": "Patient"}, headers=headers), 403)
    creator = {**JSON, **issuer.headers(TENANT, "user/Patient.c")}
    assert client.post(f"{BASE}/Patient", json={"resourceType": "Patient"}, headers=creator).status_code == 201
    outcome(client.delete(f"{BASE}/Patient/p2", headers=issuer.headers(TENANT, "user/Patient.r")), 403)
    assert backend.calls_to("Patient", "delete") == 0


def test_a_confined_caller_cannot_tell_a_missing_record_from_one_out_of_reach(
    client: TestClient, issuer: Issuer, backend: FakeBackend
) -> None:
    # A PUT to an id that does not exist is a 405 (R4 http.html#update); to a caller whose
    # scopes confine it, a 405 there and a 404 for a record outside its reach would tell it
    # which ids exist: both are 404.
    backend.add_patient("p2", gender="female")
    body = {"resourceType": "Patient", "gender": "male"}
    confined = {**JSON, **issuer.headers(TENANT, "user/Patient.ru?gender=male")}
    missing = outcome(client.put(f"{BASE}/Patient/p9", json={**body, "id": "p9"}, headers=confined), 404)
    hidden = outcome(client.put(f"{BASE}/Patient/p2", json={**body, "id": "p2"}, headers=confined), 404)
    assert missing["issue"][0]["code"] == hidden["issue"][0]["code"] == "not-found"
    unconfined = {**JSON, **issuer.headers(TENANT, "user/Patient.ru")}
    assert backend.calls_to("Patient", "update") == 0  # the confined caller's were refused before
    outcome(client.put(f"{BASE}/Patient/p9", json={**body, "id": "p9"}, headers=unconfined), 405)


# -- exposure ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_no_authorization_is_accepted_on_loopback(host: str) -> None:
    check_exposure(Settings(tenants={}), host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "fhir.example.org"])
def test_no_authorization_refuses_any_other_address(host: str) -> None:
    with pytest.raises(ConfigError, match="anyone who can reach"):
        check_exposure(Settings(tenants={}), host)
    check_exposure(Settings(server=ServerSettings(auth="smart"), tenants={}), host)


def test_smart_needs_each_tenants_issuer() -> None:
    with pytest.raises(ValueError, match=r"tenant 'clinic'.*needs \[tenants\.clinic\.auth\]"):
        Settings(server=ServerSettings(auth="smart"), tenants={TENANT: TenantSettings(vendor=FAKE)})


assert READ and SEARCH  # the fake's interaction names, used through calls_to


# -- browser apps (CORS) -------------------------------------------------------------------------

APP_ORIGIN = "https://app.example.org"


@pytest.fixture
def browser_client(backend: FakeBackend, issuer: Issuer) -> Iterator[TestClient]:
    tenants = {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL, cors_origins=[APP_ORIGIN])}
    with fake_gateway(backend, smart_settings(issuer, tenants)) as client:
        yield client


def test_a_preflight_from_an_allowed_origin_is_answered(browser_client: TestClient) -> None:
    response = browser_client.options(
        f"{BASE}/Patient/p1",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, if-match, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "PUT" in response.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "if-match", "if-none-exist", "prefer", "content-type"} <= allowed


def test_a_preflight_from_another_origin_is_refused_without_cors_headers(browser_client: TestClient) -> None:
    response = browser_client.options(
        f"{BASE}/Patient/p1", headers={"Origin": "https://evil.example.org", "Access-Control-Request-Method": "GET"}
    )
    outcome(response, 403)
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["content-type"] == "application/fhir+json; charset=utf-8"  # as every other answer


def test_answers_to_an_allowed_origin_expose_what_fhir_clients_read(browser_client: TestClient, issuer: Issuer) -> None:
    headers = {"Origin": APP_ORIGIN, **issuer.headers(TENANT, "user/*.rs")}
    response = browser_client.get(f"{BASE}/Patient/p1", headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = response.headers["access-control-expose-headers"]
    assert all(h in exposed for h in ("Location", "ETag", "Content-Location"))
    refused = browser_client.get(f"{BASE}/Patient/p1", headers={**headers, "Origin": "https://evil.example.org"})
    assert "access-control-allow-origin" not in refused.headers
    unauthorized = browser_client.get(f"{BASE}/Patient/p1", headers={"Origin": APP_ORIGIN})
    assert (
        unauthorized.status_code == 401 and "WWW-Authenticate" in unauthorized.headers["access-control-expose-headers"]
    )
    assert ok(browser_client.get(f"{BASE}/metadata"))["rest"][0]["security"]["cors"] is True


@pytest.mark.parametrize("origin", ["*", "https://app.example.org/path", "app.example.org", "ftp://x"])
def test_cors_origins_must_be_origins(origin: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        TenantSettings(vendor=FAKE, cors_origins=[origin])


def test_a_granular_scope_pages_through_its_search(client: TestClient, issuer: Issuer, backend: FakeBackend) -> None:
    # The grant's condition is added to the search and repeated by its links: following them
    # must not add it twice (another search, whose paging token would be refused).
    mine = [f"final-{n}" for n in range(5)]
    for observation in mine:
        backend.add_observation("p1", observation, status="final")
    backend.add_observation("p1", "prelim", status="preliminary")
    headers = as_patient(issuer, "patient/Observation.rs?status=final")
    page = ok(client.get(f"{BASE}/Observation?_count=2", headers=headers))
    seen, pages = ids(page), 1
    while (following := link(page, "next")) is not None:
        page = ok(client.get(following, headers=headers))
        seen, pages = seen + ids(page), pages + 1
    assert pages >= 3 and set(mine) <= set(seen) and "prelim" not in seen
    assert len(seen) == len(set(seen))


# -- documents: $docref and Binary CCDs ------------------------------------------------------------


def test_docref_for_another_patient_is_empty_without_vendor_calls(
    client: TestClient, issuer: Issuer, backend: FakeBackend
) -> None:
    headers = as_patient(issuer, "patient/*.rs")
    assert ids(ok(client.get(f"{BASE}/DocumentReference/$docref?patient=p2", headers=headers))) == []
    assert backend.calls_to("Patient") == 0
    assert ids(ok(client.get(f"{BASE}/DocumentReference/$docref?patient=p1", headers=headers))) == ["ccd-p.p1"]


def test_docref_for_a_patient_of_another_server_is_empty_without_vendor_calls(
    client: TestClient, issuer: Issuer, backend: FakeBackend
) -> None:
    headers = issuer.headers(TENANT, "user/*.rs")
    here = ok(client.get(f"{BASE}/DocumentReference/$docref?patient=p1", headers=headers))
    own_base = here["link"][0]["url"].split("/DocumentReference")[0]
    assert ids(ok(client.get(f"{BASE}/DocumentReference/$docref?patient={own_base}/Patient/p1", headers=headers))) == [
        "ccd-p.p1"
    ]
    read = backend.calls_to("Patient")
    elsewhere = "https://other.example/fhir/Patient/p1"
    assert ids(ok(client.get(f"{BASE}/DocumentReference/$docref?patient={elsewhere}", headers=headers))) == []
    assert backend.calls_to("Patient") == read
    refused = outcome(client.get(f"{BASE}/DocumentReference/$docref?patient=//x/Patient/p1", headers=headers), 400)
    assert refused["issue"][0]["expression"] == ["patient"]


def test_a_ccd_of_another_patient_looks_missing(client: TestClient, issuer: Issuer, backend: FakeBackend) -> None:
    headers = as_patient(issuer, "patient/*.rs")
    forbidden = outcome(client.get(f"{BASE}/Binary/ccd-p.p2", headers=headers), 404)
    assert backend.calls_to("Patient") == 0
    missing = outcome(client.get(f"{BASE}/Binary/ccd-p.p9", headers=headers), 404)
    assert forbidden["issue"][0]["diagnostics"] == missing["issue"][0]["diagnostics"].replace("p9", "p2")
    mine = client.get(f"{BASE}/Binary/ccd-p.p1", headers=headers)
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("application/xml")


def test_a_ccd_needs_document_access_not_just_patient_access(client: TestClient, issuer: Issuer) -> None:
    outcome(client.get(f"{BASE}/Binary/ccd-p.p1", headers=as_patient(issuer, "patient/Patient.rs")), 403)
    with_documents = as_patient(issuer, "patient/Patient.rs patient/DocumentReference.rs patient/Observation.rs")
    assert client.get(f"{BASE}/Binary/ccd-p.p1", headers=with_documents).status_code == 200


# -- the Authorization header itself ----------------------------------------------------------------


def test_two_authorization_headers_are_invalid_request(
    client: TestClient, issuer: Issuer, backend: FakeBackend
) -> None:
    # RFC 6750 section 3.1: a repeated credential is invalid_request (400); the server does not
    # pick one (the first would let whoever adds a header in front decide who the caller is).
    good = issuer.headers(TENANT, "user/*.rs")["Authorization"]
    for pair in ((good, "Bearer not-a-token"), ("Bearer not-a-token", good), (good, good)):
        response = client.get(f"{BASE}/Patient/p1", headers=[("Authorization", pair[0]), ("Authorization", pair[1])])
        outcome(response, 400)
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_request"')
    assert backend.calls_to("Patient") == 0


def test_an_openid_connect_server_is_named_by_its_issuer(backend: FakeBackend, issuer: Issuer) -> None:
    # SMART App Launch 2.0 conformance.html: with sso-openid-connect, issuer and jwks_uri are required.
    declared = ServerMetadata(capabilities=["sso-openid-connect"])
    with pytest.raises(ValueError, match="jwks_uri"):
        issuer.auth().model_validate({**issuer.auth().model_dump(), "advertise": declared.model_dump()})
    auth = TenantAuthSettings.model_validate(
        {**issuer.auth().model_dump(), "jwks_file": None, "jwks_uri": "https://login.example.org/jwks"}
        | {"advertise": declared.model_dump()}
    )
    settings = smart_settings(issuer, {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)})
    settings = settings.model_copy(
        update={"tenants": {TENANT: settings.tenants[TENANT].model_copy(update={"auth": auth})}}
    )
    with fake_gateway(backend, settings) as declaring:
        body = declaring.get(f"{BASE}/.well-known/smart-configuration").json()
    assert body["issuer"] == "https://login.example.org" and body["jwks_uri"] == "https://login.example.org/jwks"
