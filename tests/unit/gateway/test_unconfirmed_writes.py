"""A create whose answer is lost, as a FHIR client meets it through the gateway: an
OperationOutcome saying the write may have been (or was) applied, with the status of how it was
lost, and no word of the patient in the answer or the logs.

The gateway (create_app, the real Nextvisit adapter and client, whose creates carry no
Idempotency-Key and are sent once) is in front of a scripted vendor over real sockets
(tests.support.scripted_vendor): its login answers, and its patient create is read and then
never answered, or answered a 201 whose body is cut short.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from gateway.app import create_app
from gateway.sandbox_host import serve_in_thread
from gateway.settings import Settings
from mappings.registry import VENDORS
from tests.support.scripted_vendor import Script, ScriptedVendor, head

FAMILY, GIVEN, BORN = "Quixote-Smythe", "Jonathan", "1961-02-03"
PATIENT = {"resourceType": "Patient", "name": [{"family": FAMILY, "given": [GIVEN]}], "birthDate": BORN}
LOGIN = json.dumps({"status": "success", "token": "1|Qk9b7mW2xT4vN8pL3sR6yU1zE5cH0jA9"}).encode()


def gateway(vendor: ScriptedVendor) -> Iterator[httpx.Client]:
    settings = Settings.model_validate(
        {
            "server": {"paging_secret": "env:UNCONFIRMED_PAGING_SECRET"},
            "tenants": {
                "clinic": {
                    "vendor": "nextvisit",
                    "base_url": vendor.url,
                    "credentials": {"email": "env:UNCONFIRMED_EMAIL", "password": "env:UNCONFIRMED_PASSWORD"},
                    "timeouts": {"connect": 1, "read": 0.2, "total": 2},
                    "breaker": {"consecutive": 1000, "min_calls": 1000},
                }
            },
        }
    )
    running = serve_in_thread(create_app(settings, VENDORS), name="gateway-unconfirmed")
    try:
        with httpx.Client(base_url=running.url, timeout=10) as http:
            yield http
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("create", "status", "says"),
    [
        (Script(), 504, "may have been applied"),  # read, never answered: sock_read runs out
        (Script(head(201, 100) + b'{"id":', close=True), 502, "took the write"),  # cut after its head
    ],
    ids=["not-answered-in-time", "cut-short"],
)
def test_a_create_whose_answer_is_lost_says_so_to_the_fhir_client(
    create: Script, status: int, says: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNCONFIRMED_PAGING_SECRET", "a-paging-secret-long-enough-for-the-gateway")
    monkeypatch.setenv("UNCONFIRMED_EMAIL", "gw@example.test")
    monkeypatch.setenv("UNCONFIRMED_PASSWORD", "correct horse")
    login = Script(head(200, len(LOGIN), "Connection: close") + LOGIN, close=True)
    vendor = ScriptedVendor({"/v1/auth/tokens": login, "/v1/patients": create})
    vendor.start()
    try:
        with caplog.at_level(logging.DEBUG):
            for http in gateway(vendor):
                response = http.post(
                    "/fhir/clinic/Patient", json=PATIENT, headers={"Content-Type": "application/fhir+json"}
                )
    finally:
        vendor.stop()
    # Before: 504 `timeout` "did not answer in time", or 502 `transient` "could not be reached":
    # a FHIR client retrying those made a second patient.
    assert vendor.read == ["POST /v1/auth/tokens", "POST /v1/patients"]  # the create sent once
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["code"] == "processing" and says in issue["diagnostics"]
    assert f"POST /fhir/clinic/Patient {status}" in caplog.text  # the logs were heard
    for word in (FAMILY, GIVEN, BORN):
        assert word not in response.text
        assert word not in caplog.text  # nothing of the request in the logs (PHI)
