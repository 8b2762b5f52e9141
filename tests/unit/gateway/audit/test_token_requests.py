"""Every token request is an authentication, audited as one (DICOM 110114 User Authentication,
110122 Login): with the registered client its assertion claims to be, never the assertion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.fake_vendor import TestClient
from tests.support.smart import BackendClient
from tests.unit.gateway.audit.conftest import HIE, TOKEN_URL, ask_token

HIE_IMPOSTOR = BackendClient("hie", ec.generate_private_key(ec.SECP384R1()))  # not hie's registered key


def logins(trail: Path) -> list[tuple[str, dict[str, Any]]]:
    events = [json.loads(line) for line in trail.read_text().splitlines()]
    assert all(e["type"]["code"] == "110114" and e["subtype"][0]["code"] == "110122" for e in events)
    return [(e["outcome"], e["agent"][0]["who"]) for e in events]


def test_token_requests_granted_or_refused_leave_a_login_line_naming_the_claimed_client(
    with_token_endpoint: TestClient, trail: Path
) -> None:
    client = with_token_endpoint
    assertion = HIE.assertion(TOKEN_URL)
    assert ask_token(client, assertion)[0] == 200
    assert ask_token(client, assertion)[0] >= 400  # its jti replayed
    assert ask_token(client, HIE_IMPOSTOR.assertion(TOKEN_URL))[0] >= 400  # signed with another key
    stranger = BackendClient("stranger\u202e" + "x" * 500, HIE_IMPOSTOR.key)
    assert ask_token(client, stranger.assertion(TOKEN_URL))[0] >= 400  # no registered client
    hie = {"identifier": {"system": "urn:fhir-gateway:client", "value": "hie"}}
    assert logins(trail) == [("0", hie), ("4", hie), ("4", hie), ("4", {"display": "unauthenticated"})]
    text = trail.read_text()
    assert assertion not in text and assertion.split(".")[2] not in text
    assert "stranger" not in text and "xxxx" not in text
