"""`fhir-gateway serve --smart-demo`: the demo behind SMART authorization, ready to try.

The embedded demo's tenants, with `auth = "smart"` and the gateway's own token endpoint, whose
signing key and one registered backend-services client (`demo-client`, `system/*.cruds` on
every tenant) are generated at start-up into a private temporary directory. The client's
private key is written there for the operator to use with `fhir-gateway token`; the directory
is removed when the demo stops, so no private key outlives it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from gateway.settings import AuthServerSettings, ClientSettings, Settings

DEMO_CLIENT = "demo-client"
DEMO_SCOPES = ["system/*.cruds"]


@dataclass(frozen=True)
class SmartDemo:
    settings: Settings
    client_key: Path  # the demo client's private key (PEM)
    root: str  # the gateway's URL


@contextmanager
def smart_demo(demo: Settings, host: str, port: int) -> Iterator[SmartDemo]:
    """The demo's settings and keys, for as long as the `with` block runs."""
    directory = Path(tempfile.mkdtemp(prefix="fhir-gateway-smart-demo-"))  # created 0700
    try:
        yield _made(demo, host, port, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _made(demo: Settings, host: str, port: int, directory: Path) -> SmartDemo:
    signing = directory / "gateway-signing-key.pem"
    client_key = directory / "demo-client-key.pem"
    _write_key(signing, ec.generate_private_key(ec.SECP384R1()))
    client = ec.generate_private_key(ec.SECP384R1())
    _write_key(client_key, client)
    jwk = {**json.loads(ECAlgorithm.to_jwk(client.public_key())), "kid": "demo-1"}
    root = f"http://{host}:{port}"
    settings = demo.model_copy(
        update={
            "server": demo.server.model_copy(update={"auth": "smart", "public_base_url": root}),
            "auth": AuthServerSettings(
                signing_keys=[f"file:{signing}"],
                clients=[
                    ClientSettings(
                        client_id=DEMO_CLIENT, jwks={"keys": [jwk]}, scopes=DEMO_SCOPES, tenants=list(demo.tenants)
                    )
                ],
            ),
        }
    )
    return SmartDemo(settings, client_key, root)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
