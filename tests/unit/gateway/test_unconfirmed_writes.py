"""A create whose answer is lost, as a FHIR client meets it through the gateway: an
OperationOutcome saying the write may have been (or was) applied, with the status of how it was
lost, and no word of the patient in the answer or the logs.

The gateway (create_app, the real Nextvisit adapter and client, whose creates carry no
Idempotency-Key and are sent once) is in front of a scripted vendor over real sockets
(tests.support.scripted_vendor): its login answers, and its patient create is read and then
never answered, or answered a 201 whose body is cut short, or a 422 cut short. A Dental PMS
create, under an Idempotency-Key, is retried under it and then says the same.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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
LOGGED_IN = Script(head(200, len(LOGIN), "Connection: close") + LOGIN, close=True)
ACCESS_LINE = "POST /fhir/clinic/Patient {}"  # the gateway's access log line of a create
NEXTVISIT = {
    "vendor": "nextvisit",
    "credentials": {"email": "env:UNCONFIRMED_EMAIL", "password": "env:UNCONFIRMED_PASSWORD"},
}


@dataclass
class Running:
    vendor: ScriptedVendor
    http: httpx.Client  # to the gateway in front of it


@contextmanager
def gateway_before(tenant: dict[str, object]) -> Iterator[Running]:
    """The gateway with one tenant, `clinic`, in front of a scripted vendor, over HTTP."""
    vendor = ScriptedVendor({})
    vendor.start()
    faults = {
        "base_url": vendor.url,
        "timeouts": {"connect": 1, "read": 0.2, "total": 1},
        "breaker": {"consecutive": 1000, "min_calls": 1000},
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("UNCONFIRMED_PAGING_SECRET", "a-paging-secret-long-enough-for-the-gateway")
        env.setenv("UNCONFIRMED_EMAIL", "gw@example.test")
        env.setenv("UNCONFIRMED_PASSWORD", "correct horse")
        env.setenv("UNCONFIRMED_API_TOKEN", "a-dental-pms-api-token")
        settings = Settings.model_validate(
            {"server": {"paging_secret": "env:UNCONFIRMED_PAGING_SECRET"}, "tenants": {"clinic": faults | tenant}}
        )
        running = serve_in_thread(create_app(settings, VENDORS), name="gateway-unconfirmed")
        try:
            with httpx.Client(base_url=running.url, timeout=10) as http:
                yield Running(vendor, http)
        finally:
            running.stop()
            vendor.stop()


@pytest.fixture(scope="module")
def nextvisit() -> Iterator[Running]:
    with gateway_before(NEXTVISIT) as running:
        running.vendor.scripts["/v1/auth/tokens"] = LOGGED_IN
        yield running


def create(running: Running, caplog: pytest.LogCaptureFixture) -> httpx.Response:
    """A FHIR client's create of PATIENT through the gateway, the vendor's requests recorded
    afresh, and the logs until the gateway's access line for it (written once it has answered)."""
    running.vendor.read.clear()
    running.vendor.keys.clear()
    with caplog.at_level(logging.DEBUG):
        response = running.http.post(
            "/fhir/clinic/Patient", json=PATIENT, headers={"Content-Type": "application/fhir+json"}
        )
        logged_by = time.monotonic() + 2
        while ACCESS_LINE.format(response.status_code) not in caplog.text and time.monotonic() < logged_by:
            time.sleep(0.005)
    return response


def assert_unconfirmed(response: httpx.Response, status: int, says: str, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["code"] == "processing" and says in issue["diagnostics"]
    assert_no_phi(response, caplog)


def assert_no_phi(response: httpx.Response, caplog: pytest.LogCaptureFixture) -> None:
    assert ACCESS_LINE.format(response.status_code) in caplog.text  # the logs were heard
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
    nextvisit: Running, create_answer: Script, status: int, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    nextvisit.vendor.scripts["/v1/patients"] = create_answer
    response = create(nextvisit, caplog)
    # Before: 504 `timeout` "did not answer in time", or 502 `transient` "could not be reached":
    # a FHIR client retrying those made a second patient.
    assert nextvisit.vendor.read[-1] == "POST /v1/patients"
    assert nextvisit.vendor.read.count("POST /v1/patients") == 1  # sent once
    assert_unconfirmed(response, status, says, caplog)


def test_a_create_refused_whose_answer_is_cut_short_is_a_refusal(
    nextvisit: Running, caplog: pytest.LogCaptureFixture
) -> None:
    # The 422 head says nothing was made: the client may correct it and send it again. Before:
    # 502 `transient`, "could not be reached".
    nextvisit.vendor.scripts["/v1/patients"] = Script(head(422, 100) + b'{"message":', close=True)
    response = create(nextvisit, caplog)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["code"] == "invalid"
    assert_no_phi(response, caplog)


def test_a_keyed_create_whose_every_attempt_goes_unanswered_says_it_may_have_been_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Dental PMS creates carry an Idempotency-Key of the gateway's, and are retried under it; the
    # FHIR client's own resubmission would come under a new one. Before: 504 `timeout`.
    dental = {
        "vendor": "dentalpms",
        "options": {"org_id": "org"},
        "credentials": {"api_token": "env:UNCONFIRMED_API_TOKEN"},
        "timeouts": {"connect": 1, "read": 0.1, "total": 0.5},  # attempts of 0.1 s, within 0.5
    }
    with gateway_before(dental) as running:  # every request read and never answered
        response = create(running, caplog)
    assert len(running.vendor.read) > 1 and set(running.vendor.read) == {"POST /org/patients"}
    assert len(set(running.vendor.keys)) == 1  # retried under one key
    assert_unconfirmed(response, 504, "may have been applied", caplog)
