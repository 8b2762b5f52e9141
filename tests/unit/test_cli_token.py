"""`fhir-gateway token`: what an operator is told when no token comes back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes as PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway import cli
from gateway.sandbox_host import serve_in_thread


async def _token_endpoint(request: Request) -> JSONResponse:
    # RFC 6749 section 5.2: a refused client gets `error` (and perhaps a description).
    return JSONResponse({"error": "invalid_client", "error_description": "unknown client"}, 401)


async def _fhir_route(request: Request) -> JSONResponse:
    # What a FHIR route of the gateway answers a request without a bearer token.
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]}
    return JSONResponse(outcome, 401, media_type="application/fhir+json")


@pytest.fixture
def gateway_url() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/auth/token", _token_endpoint, methods=["POST"]),
            Route("/fhir/{tenant}/auth/token", _fhir_route, methods=["POST"]),
        ]
    )
    running = serve_in_thread(app)
    yield running.url
    running.stop()


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "client.pem"
    pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.write_bytes(pem)
    return path


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("", "no token: 401 invalid_client: unknown client"),
        # A FHIR base given for the root: was "no token: 401 None: None".
        ("/fhir/dentalpms", "answered HTTP 401 without a token; --url is the gateway's root"),
    ],
)
def test_a_refusal_says_why(
    gateway_url: str, key: Path, path: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["token", "--url", gateway_url + path, "--client", "app", "--key", str(key)])
    err = capsys.readouterr().err
    assert code == 1 and said in err and "None" not in err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("private", "said"),
    [
        (lambda: rsa.generate_private_key(65537, 1024), "the RSA key has 1024 bits: it needs at least 2048"),
        (
            lambda: ec.generate_private_key(ec.SECP256R1()),
            "the key must be an EC P-384 or an RSA (2048 bits or more) private key",
        ),
    ],
)
def test_a_key_the_token_endpoint_would_refuse_is_refused_in_one_line(
    gateway_url: str, tmp_path: Path, private: Callable[[], PrivateKey], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "weak.pem"
    path.write_bytes(private().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    code = cli.main(["token", "--url", gateway_url, "--client", "app", "--key", str(path)])
    err = capsys.readouterr().err
    # Was a library warning (two lines, a file path of the library) and a signature the
    # endpoint could only refuse.
    assert code == 1 and err == f"no token: {said}\n"


def test_the_token_endpoint_itself_may_be_given_for_the_root(
    gateway_url: str, key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["token", "--url", gateway_url + "/auth/token/", "--client", "app", "--key", str(key)])
    # The endpoint answered (it refuses this client), not a 404 from `/auth/token/auth/token`.
    assert code == 1 and "no token: 401 invalid_client: unknown client" in capsys.readouterr().err
