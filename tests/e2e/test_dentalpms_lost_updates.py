"""A Dental PMS update whose PATCH was applied and its answer lost (a 500 in its place): the
gateway sends it again, and the documented simulator, which reads an Idempotency-Key on creates
only, refuses the resend as a version conflict (its `base_version` is the one the first attempt
moved past). That is not the client's stale `If-Match` (R4 http.html#concurrency: a 412 is
"instead of updating the resource"): the update is answered as made when the patient holds it,
and as perhaps made (502 `processing`) when it cannot be told, never 412."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.contract import Sandbox
from sandboxes.clinic import build_clinic
from sandboxes.dentalpms import create_sandbox
from tests.support.fhir_http import outcome_of
from tests.support.variants import VariantGateway, gateway_over

BASE = "/fhir/dentalpms"
JSON = {"Content-Type": "application/fhir+json"}
# What runs at the vendor after a PATCH is applied and before its answer is lost (another writer).
Between = Callable[[ASGIApp, Scope, dict[str, Any]], Awaitable[None]]


class PatchAnswerLost:
    """The simulator, each PATCH of the next `armed` applied and answered 500 instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.armed = 0
        self.between: Between | None = None
        # What the PATCH after a lost one is refused with instead of reaching the simulator (a
        # vendor checking the chart number before the version), when set.
        self.refuse_next: bytes | None = None
        # Whether an armed PATCH is applied before its 500; False: it is refused before commit
        # (a 503), `between` given the PATCH's own body.
        self.applies = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PATCH" and self.armed <= 0 and self.refuse_next:
            refusal, self.refuse_next = self.refuse_next, None
            await _answer(send, 409, refusal)
            return
        if scope["type"] != "http" or scope["method"] != "PATCH" or self.armed <= 0:
            await self.app(scope, receive, send)
            return
        self.armed -= 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if not self.applies:
            if self.between is not None:
                await self.between(self.app, scope, orjson.loads(body))
            await _answer(send, 503, b'{"detail":"Service Unavailable"}')
            return
        answer = await _call(self.app, scope, body)
        if self.between is not None:
            await self.between(self.app, scope, orjson.loads(_body_of(answer)))
        await _answer(send, 500, b'{"detail":"Internal Server Error"}')


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _call(app: ASGIApp, scope: Scope, body: bytes) -> list[Message]:
    """`app`'s answer to the request `scope` with `body`, as messages."""
    answer: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        answer.append(message)

    await app(scope, receive, send)
    return answer


def _body_of(answer: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")


async def _another_writer(app: ASGIApp, scope: Scope, patient: dict[str, Any]) -> None:
    """Another writer's PATCH of the patient after this one's: the record is no longer it."""
    other = orjson.dumps({"base_version": patient["version"], "preferred_name": "Someone else's"})
    await _call(app, scope, other)


async def _another_writer_of_the_same_phone(app: ASGIApp, scope: Scope, patch: dict[str, Any]) -> None:
    """Another writer's PATCH, based on the version this update's unapplied PATCH was based on:
    the same phone, and an email of its own."""
    other = {"base_version": patch["base_version"], "mobile_phone": patch["mobile_phone"], "email": "x@other.example"}
    await _call(app, scope, orjson.dumps(other))


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[VariantGateway, PatchAnswerLost]]:
    wrappers: list[PatchAnswerLost] = []

    def make() -> Sandbox:
        sandbox = create_sandbox(build_clinic(size=100))
        wrappers.append(PatchAnswerLost(sandbox.app))
        return dataclasses.replace(sandbox, app=wrappers[-1])

    with gateway_over("dentalpms", make) as gateway:
        yield gateway, wrappers[0]


def _a_patient(gateway: VariantGateway, family: str) -> tuple[str, dict[str, Any], str]:
    sent = {
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Lou"]}],
        "gender": "female",
        "birthDate": "1982-08-08",
    }
    created = gateway.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert created.status_code == 201, created.text
    read = gateway.fhir.request("GET", f"{BASE}/Patient/{created.json()['id']}")
    return created.json()["id"], read.json(), read.headers["etag"]


def test_an_update_applied_and_its_answer_lost_is_the_update(running: tuple[VariantGateway, PatchAnswerLost]) -> None:
    # Before: 412 "has changed since version 1", the patient holding the client's own change.
    gateway, vendor = running
    pid, patient, etag = _a_patient(gateway, "Lostpatchdp")
    changed = {**patient, "birthDate": "1982-08-09"}
    vendor.armed = 1
    updated = gateway.fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers={**JSON, "If-Match": etag})
    assert vendor.armed == 0  # the PATCH was applied and its answer lost
    assert updated.status_code == 200, updated.text
    assert updated.json()["birthDate"] == "1982-08-09"
    read = gateway.fhir.request("GET", f"{BASE}/Patient/{pid}")
    assert read.json()["birthDate"] == "1982-08-09"
    assert updated.headers["etag"] == read.headers["etag"] == f'W/"{int(etag[3:-1]) + 1}"'


def test_an_update_lost_and_then_changed_by_another_writer_is_said_perhaps_applied(
    running: tuple[VariantGateway, PatchAnswerLost],
) -> None:
    # The patient moved on past this update's PATCH: whether it was applied cannot be told from
    # it, and the client's If-Match was not stale when it was sent. Before: 412.
    gateway, vendor = running
    pid, patient, etag = _a_patient(gateway, "Lostpatchotherdp")
    vendor.armed, vendor.between = 1, _another_writer
    try:
        updated = gateway.fhir.request(
            "PUT",
            f"{BASE}/Patient/{pid}",
            json={**patient, "birthDate": "1982-08-10"},
            headers={**JSON, "If-Match": etag},
        )
    finally:
        vendor.between = None
    assert updated.status_code in (502, 504), updated.text
    issue = outcome_of(updated)["issue"][0]
    assert issue["code"] == "processing" and "may have been applied" in issue["diagnostics"], issue


def test_an_update_lost_and_its_resend_refused_for_its_own_chart_number_is_the_update(
    running: tuple[VariantGateway, PatchAnswerLost],
) -> None:
    # A vendor checking the chart number before the version (against every patient, this one
    # included) refuses the resend of a PATCH that set it: "Duplicate chart number", held by the
    # patient the lost attempt updated. Before: 409 naming the client's own chart number.
    gateway, vendor = running
    pid, patient, etag = _a_patient(gateway, "Lostpatchchartdp")
    chart = next(i for i in patient["identifier"] if i.get("type", {}).get("text") == "Chart number")
    identifiers = [{"system": chart["system"], "value": "LOSTCHART-1"}]
    vendor.armed, vendor.refuse_next = 1, b'{"detail":"Duplicate chart number"}'
    updated = gateway.fhir.request(
        "PUT", f"{BASE}/Patient/{pid}", json={**patient, "identifier": identifiers}, headers={**JSON, "If-Match": etag}
    )
    assert vendor.refuse_next is None  # the resend was refused
    assert updated.status_code == 200, updated.text
    read = gateway.fhir.request("GET", f"{BASE}/Patient/{pid}")
    assert "LOSTCHART-1" in [i["value"] for i in read.json()["identifier"]]
    assert updated.headers["etag"] == read.headers["etag"]


def test_an_update_refused_before_commit_and_its_retry_meeting_another_write_is_stale(
    running: tuple[VariantGateway, PatchAnswerLost],
) -> None:
    # The first PATCH is refused before commit (503); another writer then makes the next version,
    # holding the phone this update sends and an email of its own; the retry meets a conflict.
    # The record holds what the client sent but not the email it kept: its If-Match was stale,
    # a 412. Before: 200, reporting the client's replacement applied over the other email.
    gateway, vendor = running
    pid, patient, etag = _a_patient(gateway, "Lostpatchemaildp")
    with_email = {**patient, "telecom": [{"system": "phone", "value": "+15550100", "use": "mobile"}]}
    with_email["telecom"].append({"system": "email", "value": "lou@mine.example"})
    put = gateway.fhir.request("PUT", f"{BASE}/Patient/{pid}", json=with_email, headers={**JSON, "If-Match": etag})
    assert put.status_code == 200, put.text
    etag = put.headers["etag"]
    changed = {**with_email, "telecom": [{**with_email["telecom"][0], "value": "+15550199"}, with_email["telecom"][1]]}
    vendor.armed, vendor.applies, vendor.between = 1, False, _another_writer_of_the_same_phone
    try:
        updated = gateway.fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers={**JSON, "If-Match": etag})
    finally:
        vendor.applies, vendor.between = True, None
    assert vendor.armed == 0  # the first PATCH met the 503
    assert updated.status_code == 412, updated.text
    read = gateway.fhir.request("GET", f"{BASE}/Patient/{pid}")
    assert {"system": "email", "value": "x@other.example"} in read.json()["telecom"]
