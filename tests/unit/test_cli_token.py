"""`fhir-gateway token`: what an operator is told when no token comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
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
