"""Bearer JWTs checked as a SMART resource server must (the assertions Inferno's SMART kit
makes of one): signature, algorithm allow-list, iss, aud, exp, nbf, key rotation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth.keys import JwksFile, JwksUrl, KeysUnavailable, StaticKeys
from gateway.auth.scopes import Permission
from gateway.auth.server import TokenServer
from gateway.auth.tokens import InvalidToken, Trust, caller_from, verify
from gateway.settings import AuthServerSettings, ClientSettings
from gateway.shared.state import LocalState

T = TypeVar("T")
ISSUER = "https://auth.example.org"
AUDIENCE = "https://gateway.example.org/fhir/acme"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def jwk(private: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else ECAlgorithm
    public: dict[str, Any] = algorithm.to_jwk(private.public_key(), as_dict=True)
    return {**public, "kid": kid, "use": "sig"}


JWKS = {"keys": [jwk(RSA_KEY, "rsa1"), jwk(EC_KEY, "ec1")]}
TRUST = Trust(ISSUER, AUDIENCE, StaticKeys(JWKS))


def token(private: Any = RSA_KEY, kid: str = "rsa1", alg: str = "RS384", lifetime: float = 300, **claims: Any) -> str:
    now = time.time()
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + lifetime, "iat": now, "sub": "client-1", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, private, algorithm=alg, headers={"kid": kid})


def refused(raw: str, trust: Trust = TRUST) -> str:
    with pytest.raises(InvalidToken) as caught:
        run(verify(raw, trust))
    return str(caught.value)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_valid_token_gives_its_claims_rs384_and_es384() -> None:
    assert run(verify(token(scope="system/*.rs"), TRUST))["scope"] == "system/*.rs"
    assert run(verify(token(EC_KEY, "ec1", "ES384"), TRUST))["iss"] == ISSUER


def test_expired_and_not_yet_valid_tokens_are_refused_beyond_the_skew() -> None:
    assert "expired" in refused(token(lifetime=-120))
    assert run(verify(token(lifetime=-5), TRUST))  # within 30 s of skew
    assert "not valid yet" in refused(token(nbf=time.time() + 600))


def test_wrong_audience_or_issuer_is_refused() -> None:
    assert "aud" in refused(token(aud="https://gateway.example.org/fhir/other"))
    assert "iss" in refused(token(iss="https://evil.example.org"))
    assert "'aud'" in refused(token(aud=None))
    assert "'exp'" in refused(jwt.encode({"iss": ISSUER, "aud": AUDIENCE}, RSA_KEY, "RS384", {"kid": "rsa1"}))


def test_a_tampered_or_foreign_signature_is_refused() -> None:
    head, payload, signature = token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = b64(json.dumps({**claims, "scope": "system/*.cruds"}).encode())
    assert "signature" in refused(f"{head}.{forged}.{signature}")
    assert "signature" in refused(token(OTHER_KEY, kid="rsa1"))


def test_alg_none_and_hmac_with_the_public_key_are_refused() -> None:
    claims = b64(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60}).encode())
    unsigned = f"{b64(json.dumps({'alg': 'none', 'kid': 'rsa1'}).encode())}.{claims}."
    assert "'none'" in refused(unsigned)
    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "kid": "rsa1"}).encode())
    mac = b64(hmac.new(pem, f"{head}.{claims}".encode(), hashlib.sha256).digest())
    assert "'HS256'" in refused(f"{head}.{claims}.{mac}")


def test_garbage_is_refused_without_echoing_it() -> None:
    message = refused("secret-looking-garbage")
    assert "secret-looking-garbage" not in message


def test_an_unknown_kid_is_refused() -> None:
    assert "does not publish" in refused(token(kid="nope"))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the test signs with it
def test_a_token_signed_with_an_rsa_key_under_2048_bits_is_refused() -> None:
    # RFC 7518 section 3.3: 2048 bits or more MUST be used with RS*; PyJWT only warned.
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    trust = Trust(ISSUER, AUDIENCE, StaticKeys({"keys": [jwk(short, "short")]}))
    assert "shorter than 2048 bits" in refused(token(short, kid="short"), trust)


class Issuer:
    """A JWKS endpoint whose key set the test rotates, counting fetches; with `etag`, it answers
    a conditional request for the set it holds with 304 (RFC 9110 section 13.1.2)."""

    def __init__(self, jwks: dict[str, Any], cache_control: str = "max-age=600", etag: str | None = None) -> None:
        self.jwks, self.cache_control, self.etag, self.calls = jwks, cache_control, etag, 0
        self.conditional = 0  # requests that carried If-None-Match

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        headers = {"Cache-Control": self.cache_control, **({"ETag": self.etag} if self.etag else {})}
        if "if-none-match" in request.headers:
            self.conditional += 1
            if request.headers["if-none-match"] == self.etag:
                return httpx.Response(304, headers=headers)
        return httpx.Response(200, json=self.jwks, headers=headers)


def test_a_rotated_key_is_fetched_once_and_unknown_kids_cannot_hammer_the_issuer() -> None:
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]})
    now = [1000.0]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler)) as client:
            keys = JwksUrl("https://auth.example.org/jwks", client, min_refetch=30, clock=lambda: now[0])
            trust = Trust(ISSUER, AUDIENCE, keys)
            await verify(token(), trust)
            issuer.jwks = {"keys": [jwk(RSA_KEY, "rsa1"), jwk(OTHER_KEY, "rsa2")]}  # rotation
            with pytest.raises(InvalidToken):  # too soon after the last fetch: no refetch
                await verify(token(OTHER_KEY, "rsa2"), trust)
            assert issuer.calls == 1
            now[0] += 31
            await verify(token(OTHER_KEY, "rsa2"), trust)  # unknown kid: one refetch
            assert issuer.calls == 2
            for _ in range(5):
                with pytest.raises(InvalidToken):
                    await verify(token(OTHER_KEY, "rsa9"), trust)
            assert issuer.calls == 2

    run(scenario())


def test_the_key_set_is_cached_as_long_as_cache_control_allows() -> None:
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]}, cache_control="public, max-age=60")
    now = [0.0]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler)) as client:
            trust = Trust(ISSUER, AUDIENCE, JwksUrl("https://a/jwks", client, clock=lambda: now[0]))
            await verify(token(), trust)
            now[0] = 59
            await verify(token(), trust)
            assert issuer.calls == 1
            now[0] = 61
            await verify(token(), trust)
            assert issuer.calls == 2

    run(scenario())


@pytest.mark.parametrize("cache_control", ["no-cache", "no-store", "max-age=0", "private, no-cache, max-age=0"])
def test_a_key_set_marked_no_cache_is_not_fetched_per_request(cache_control: str) -> None:
    # The attack: with `Cache-Control: no-cache`, 5 requests (2 valid, 3 forged) cost 5 fetches.
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]}, cache_control=cache_control)
    now = [0.0]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler)) as client:
            trust = Trust(ISSUER, AUDIENCE, JwksUrl("https://a/jwks", client, min_ttl=30, clock=lambda: now[0]))
            for _ in range(2):
                await verify(token(), trust)
            for forged in (token(OTHER_KEY), token(OTHER_KEY, kid="rsa7"), token(OTHER_KEY, kid="rsa8")):
                now[0] += 0.3  # unknown kids within a second of the fetch: no refetch
                with pytest.raises(InvalidToken):
                    await verify(forged, trust)
            assert issuer.calls == 1
            now[0] = 31  # kept no longer than the minimum: then asked again
            await verify(token(), trust)
            assert issuer.calls == 2

    run(scenario())


def test_a_key_set_with_an_etag_is_revalidated_and_a_304_keeps_the_keys() -> None:
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]}, cache_control="no-cache", etag='"v1"')
    now = [0.0]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler)) as client:
            trust = Trust(ISSUER, AUDIENCE, JwksUrl("https://a/jwks", client, min_ttl=30, clock=lambda: now[0]))
            await verify(token(), trust)
            assert issuer.conditional == 0
            now[0] = 31
            await verify(token(), trust)  # revalidated: 304, the keys held still verify
            assert (issuer.calls, issuer.conditional) == (2, 1)
            issuer.jwks, issuer.etag = {"keys": [jwk(OTHER_KEY, "rsa2")]}, '"v2"'  # rotation
            now[0] = 62
            await verify(token(OTHER_KEY, "rsa2"), trust)  # the etag changed: a 200 with the new set
            assert (issuer.calls, issuer.conditional) == (3, 2)
            with pytest.raises(InvalidToken):
                await verify(token(), trust)  # the old key is gone with the old set

    run(scenario())


def test_a_new_kid_from_an_issuer_on_no_cache_is_fetched_within_a_second_and_junk_kids_stay_bounded() -> None:
    # Before: an issuer on no-cache that started signing with a new kid had its tokens refused
    # (401) for up to 30 s after the last fetch.
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]}, cache_control="no-cache")
    now = [0.0]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler)) as client:
            trust = Trust(ISSUER, AUDIENCE, JwksUrl("https://a/jwks", client, clock=lambda: now[0]))
            await verify(token(), trust)
            issuer.jwks = {"keys": [jwk(RSA_KEY, "rsa1"), jwk(OTHER_KEY, "rsa2")]}  # rotation
            now[0] = 2
            await verify(token(OTHER_KEY, "rsa2"), trust)
            assert issuer.calls == 2
            for step in range(50):  # five seconds of junk kids, ten a second
                now[0] = 2 + step / 10
                with pytest.raises(InvalidToken):
                    await verify(token(OTHER_KEY, f"junk{step}"), trust)
            assert issuer.calls <= 2 + 5

    run(scenario())


def test_an_unknown_kid_waits_no_longer_than_the_sets_own_max_age() -> None:
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]}, cache_control="max-age=10")
    now = [0.0]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler)) as client:
            trust = Trust(ISSUER, AUDIENCE, JwksUrl("https://a/jwks", client, clock=lambda: now[0]))
            await verify(token(), trust)
            issuer.jwks = {"keys": [jwk(OTHER_KEY, "rsa2")]}
            now[0] = 5
            with pytest.raises(InvalidToken):  # the set is still fresh: no refetch
                await verify(token(OTHER_KEY, "rsa2"), trust)
            now[0] = 11  # stale by its own max-age, though kept for the 30 s minimum
            await verify(token(OTHER_KEY, "rsa2"), trust)
            assert issuer.calls == 2

    run(scenario())


def test_a_304_without_cache_control_keeps_the_stored_max_age() -> None:
    # RFC 9111 section 4.3.4. Before: the 304 reset the set's lifetime to the 300 s default.
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]}, cache_control="max-age=60", etag='"v1"')
    now = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = issuer.handler(request)
        if answer.status_code == 304:
            del answer.headers["Cache-Control"]
        return answer

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            trust = Trust(ISSUER, AUDIENCE, JwksUrl("https://a/jwks", client, clock=lambda: now[0]))
            await verify(token(), trust)
            now[0] = 61
            await verify(token(), trust)  # revalidated: 304 without Cache-Control
            assert (issuer.calls, issuer.conditional) == (2, 1)
            now[0] = 122  # past the stored max-age=60 again
            await verify(token(), trust)
            assert (issuer.calls, issuer.conditional) == (3, 2)

    run(scenario())


def test_a_clients_key_set_at_the_token_endpoint_is_kept_no_longer_than_its_cache_control(tmp_path: Any) -> None:
    # SMART App Launch 2.x client-confidential-asymmetric: the authorization server SHALL NOT
    # cache a client's JWKS longer than its Cache-Control says. Before: kept at least 30 s, so a
    # client on no-cache that rotated got invalid_client meanwhile.
    signing = tmp_path / "signing.pem"
    signing.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    client_keys = Issuer({"keys": [jwk(RSA_KEY, "c1")]}, cache_control="no-cache")
    conf = AuthServerSettings(
        signing_keys=[f"file:{signing}"],
        clients=[
            ClientSettings(client_id="hie", jwks_uri="https://hie.example/jwks", scopes=["system/*.rs"], tenants=["t"])
        ],
    )

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(client_keys.handler)) as http:
            keys = TokenServer(conf, "https://fhir.example.org", http, LocalState()).clients["hie"].keys
            assert await keys.key("c1") is not None
            client_keys.jwks = {"keys": [jwk(OTHER_KEY, "c2")]}  # the client rotates at once
            await asyncio.sleep(0.01)
            assert await keys.key("c1") is None  # the withdrawn key is not trusted on
            assert await keys.key("c2") is not None

    run(scenario())


def test_a_failing_key_set_is_not_asked_again_by_every_request_meanwhile() -> None:
    issuer = Issuer({"keys": [jwk(RSA_KEY, "rsa1")]}, cache_control="max-age=60")
    down = [True]
    now = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503) if down[0] else issuer.handler(request)

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            keys = JwksUrl("https://a/jwks", client, retry_after_failure=5, clock=lambda: now[0])
            trust = Trust(ISSUER, AUDIENCE, keys)
            for _ in range(4):  # the issuer is down: asked once, not once per request
                now[0] += 1
                with pytest.raises(KeysUnavailable):
                    await verify(token(), trust)
            assert keys.fetches == 1
            down[0] = False
            now[0] = 6.5  # 5 s after the failure (at 1): asked again, and the keys verify
            await verify(token(), trust)
            assert (keys.fetches, issuer.calls) == (2, 1)

    run(scenario())


def test_an_unreachable_or_broken_key_set_is_keys_unavailable(tmp_path: Any) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(broken)) as client:
            with pytest.raises(KeysUnavailable):
                await JwksUrl("https://a/jwks", client).key("rsa1")

    run(scenario())
    path = tmp_path / "jwks.json"
    path.write_text("{not json")
    with pytest.raises(KeysUnavailable):
        run(JwksFile(path).key("rsa1"))
    path.write_text(json.dumps(JWKS))
    assert run(JwksFile(path).key("ec1")) is not None


def test_the_caller_comes_from_scope_client_and_launch_patient() -> None:
    claims = run(verify(token(scope="patient/Observation.rs launch/patient", client_id="app-7", patient="p1"), TRUST))
    caller = caller_from(claims, frozenset({"acme"}))
    assert caller.client_id == "app-7" and caller.patient == "p1" and caller.subject == "client-1"
    assert caller.scopes.resource[0].permissions == {Permission.READ, Permission.SEARCH}
    listed = caller_from({"scp": ["user/*.rs", "openid"], "azp": "app-8"}, frozenset())
    assert listed.client_id == "app-8" and len(listed.scopes.resource) == 1
