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


def gateway(tenant: dict[str, object]) -> Iterator[httpx.Client]:
    """The gateway with one tenant, `clinic`, over HTTP."""
    faults = {
        "timeouts": {"connect": 1, "read": 0.2, "total": 1},
        "breaker": {"consecutive": 1000, "min_calls": 1000},
    }
    settings = Settings.model_validate(
        {"server": {"paging_secret": "env:UNCONFIRMED_PAGING_SECRET"}, "tenants": {"clinic": faults | tenant}}
    )
    running = serve_in_thread(create_app(settings, VENDORS), name="gateway-unconfirmed")
    try:
        with httpx.Client(base_url=running.url, timeout=10) as http:
            yield http
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNCONFIRMED_PAGING_SECRET", "a-paging-secret-long-enough-for-the-gateway")
    monkeypatch.setenv("UNCONFIRMED_EMAIL", "gw@example.test")
    monkeypatch.setenv("UNCONFIRMED_PASSWORD", "correct horse")
    monkeypatch.setenv("UNCONFIRMED_API_TOKEN", "a-dental-pms-api-token")


def create(vendor: ScriptedVendor, tenant: dict[str, object], caplog: pytest.LogCaptureFixture) -> httpx.Response:
    """A FHIR client's create of PATIENT through the gateway in front of `vendor`."""
    vendor.start()
    try:
        with caplog.at_level(logging.DEBUG):
            for http in gateway({"base_url": vendor.url} | tenant):
                return http.post(
                    "/fhir/clinic/Patient", json=PATIENT, headers={"Content-Type": "application/fhir+json"}
                )
    finally:
        vendor.stop()
    raise AssertionError("no gateway")


def assert_unconfirmed(response: httpx.Response, status: int, says: str, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["code"] == "processing" and says in issue["diagnostics"]
    assert f"POST /fhir/clinic/Patient {status}" in caplog.text  # the logs were heard
    for word in (FAMILY, GIVEN, BORN):
        assert word not in response.text
        assert word not in caplog.text  # nothing of the request in the logs (PHI)


@pytest.mark.parametrize(
    ("create_answer", "status", "says"),
    [
        (Script(), 504, "may have been applied"),  # read, never answered: sock_read runs out
        (Script(head(201, 100) + b'{"id":', close=True), 502, "took the write"),  # cut after its head
    ],
    ids=["not-answered-in-time", "cut-short"],
)
def test_a_create_whose_answer_is_lost_says_so_to_the_fhir_client(
    create_answer: Script, status: int, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    login = Script(head(200, len(LOGIN), "Connection: close") + LOGIN, close=True)
    vendor = ScriptedVendor({"/v1/auth/tokens": login, "/v1/patients": create_answer})
    nextvisit = {
        "vendor": "nextvisit",
        "credentials": {"email": "env:UNCONFIRMED_EMAIL", "password": "env:UNCONFIRMED_PASSWORD"},
    }
    response = create(vendor, nextvisit, caplog)
    # Before: 504 `timeout` "did not answer in time", or 502 `transient` "could not be reached":
    # a FHIR client retrying those made a second patient.
    assert vendor.read == ["POST /v1/auth/tokens", "POST /v1/patients"]  # the create sent once
    assert_unconfirmed(response, status, says, caplog)


def test_a_keyed_create_whose_every_attempt_goes_unanswered_says_it_may_have_been_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Dental PMS creates carry an Idempotency-Key of the gateway's, and are retried under it; the
    # FHIR client's own resubmission would come under a new one. Before: 504 `timeout`.
    vendor = ScriptedVendor({})  # every request read and never answered
    dental = {
        "vendor": "dentalpms",
        "options": {"org_id": "org"},
        "credentials": {"api_token": "env:UNCONFIRMED_API_TOKEN"},
        "timeouts": {"connect": 1, "read": 0.1, "total": 0.4},  # attempts of 0.1 s, within 0.4
    }
    response = create(vendor, dental, caplog)
    assert len(vendor.read) > 1 and set(vendor.read) == {"POST /org/patients"}
    assert len(set(vendor.keys)) == 1  # retried under one key
    assert_unconfirmed(response, 504, "may have been applied", caplog)
