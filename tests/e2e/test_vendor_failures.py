"""Vendor failures reach clients as OperationOutcomes with the statuses docs/architecture.md tabulates, without PHI.

A fake vendor on loopback answers each request as the test tells it; the gateway in front
of it uses the real Dental PMS adapter and client over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.app import create_app
from gateway.sandbox_host import serve_in_thread
from gateway.settings import Settings
from mappings.registry import VENDORS
from tests.support.fhir_http import FhirHttp, outcome_of

PATIENT = "0b6c4c62-6b2a-4b57-9d7e-3f1c2a9d8e01"
PHI = "Jonathan Quixote-Smith"


class FakeVendor:
    def __init__(self) -> None:
        self.answer: tuple[int, Any, dict[str, str]] = (200, {}, {})
        self.by_path: dict[str, tuple[int, Any, dict[str, str]]] = {}  # path suffix -> answer
        self.with_cursor: tuple[int, Any, dict[str, str]] | None = None  # the answer to any `after=`
        self.delay = 0.0

    async def handle(self, request: Request) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.with_cursor is not None and "after" in request.query_params:
            status, body, headers = self.with_cursor
            return JSONResponse(body, status_code=status, headers=headers)
        status, body, headers = next(
            (answer for suffix, answer in self.by_path.items() if request.url.path.endswith(suffix)), self.answer
        )
        if isinstance(body, bytes):
            return Response(body, status_code=status, headers=headers, media_type="text/html")
        return JSONResponse(body, status_code=status, headers=headers)


@pytest.fixture(scope="module")
def vendor() -> Iterator[FakeVendor]:
    fake = FakeVendor()
    app = Starlette(routes=[Route("/{path:path}", fake.handle, methods=["GET", "POST", "PATCH"])])
    running = serve_in_thread(app, name="fake-vendor")
    fake.url = running.url  # type: ignore[attr-defined]
    yield fake
    running.stop()


@pytest.fixture(scope="module")
def client(vendor: FakeVendor) -> Iterator[FhirHttp]:
    import os

    os.environ["FAKE_VENDOR_TOKEN"] = "not-a-real-token-but-long-enough-for-paging"
    settings = Settings.model_validate(
        {
            "server": {"paging_secret": "env:FAKE_VENDOR_TOKEN"},
            "tenants": {
                "faulty": {
                    "vendor": "dentalpms",
                    "base_url": f"{vendor.url}/api/v1",  # type: ignore[attr-defined]
                    "options": {"org_id": "org"},
                    "credentials": {"api_token": "env:FAKE_VENDOR_TOKEN"},
                    "timeouts": {"connect": 1, "read": 0.5, "total": 1},
                    # These tests are about how each vendor answer is translated, one after the
                    # other: the breaker, which would open on them, has tests of its own.
                    "breaker": {"consecutive": 1000, "min_calls": 1000},
                },
                "unreachable": {
                    "vendor": "dentalpms",
                    "base_url": "http://127.0.0.1:9/api/v1",
                    "options": {"org_id": "org"},
                    "credentials": {"api_token": "env:FAKE_VENDOR_TOKEN"},
                },
            },
        }
    )
    running = serve_in_thread(
        create_app(settings, VENDORS, access_logging=True), name="gateway-faulty", date_header=False
    )
    http = FhirHttp(running.url)
    yield http
    http.close()
    running.stop()


CASES = [
    ((500, {"detail": "boom"}, {}), 502, "transient"),
    ((503, b"<html>maintenance</html>", {}), 502, "transient"),
    ((401, {"detail": "Invalid authentication credentials"}, {}), 502, "security"),
    ((403, {"detail": "Forbidden"}, {}), 502, "security"),
    ((404, {"detail": "Patient not found"}, {}), 404, "not-found"),
    ((429, {"detail": "Too many requests"}, {"Retry-After": "7"}), 429, "throttled"),
    ((429, {"detail": "Too many requests"}, {}), 429, "throttled"),
    (
        (
            422,
            {"detail": [{"type": "missing", "loc": ["query", "x"], "msg": "Field required", "input": {"name": PHI}}]},
            {},
        ),
        400,
        "invalid",
    ),
    ((405, {"detail": "Method Not Allowed"}, {}), 502, "processing"),  # no retry will change it
    ((501, {"detail": "Not Implemented"}, {}), 502, "processing"),
    ((408, {"detail": "Request Timeout"}, {}), 502, "transient"),  # may be sent again (RFC 9110 15.5.9)
    ((200, b"<html>not json</html>", {}), 502, "processing"),
    ((200, {"unexpected": "shape"}, {}), 502, "processing"),
]


@pytest.mark.parametrize(("answer", "status", "code"), CASES, ids=[f"{c[0][0]}-{c[2]}" for c in CASES])
def test_vendor_answers_are_translated(
    vendor: FakeVendor, client: FhirHttp, answer: tuple[int, Any, dict[str, str]], status: int, code: str
) -> None:
    vendor.answer = answer
    for path, params in ((f"/fhir/faulty/Patient/{PATIENT}", {}), ("/fhir/faulty/Patient", {"family": "x"})):
        response = client.get(path, params=params)
        # A 404 for the patient list itself is no "no such patient": the list is there for every
        # organization, so the tenant's org_id or base_url is wrong (a 502 saying so). A read's
        # 404 that says "Patient not found" is taken at its word (one that does not is asked of
        # the list: test_a_404_that_does_not_name_the_patient_is_asked_of_the_list).
        expected = (502, "processing") if answer[0] == 404 and params else (status, code)
        assert response.status_code == expected[0], response.text
        issue = outcome_of(response)["issue"][0]
        assert issue["code"] == expected[1]
        assert PHI not in response.text and "not-a-real-token" not in response.text
        if status == 429:
            assert int(response.headers["Retry-After"]) == int(answer[2].get("Retry-After", "1"))


def test_a_404_for_a_patient_is_not_found(vendor: FakeVendor, client: FhirHttp) -> None:
    # Spring Boot's reason phrase only: the list, asked, is there, so it is the patient that is not.
    vendor.answer = (404, {"status": 404, "error": "Not Found", "path": "/api/v1/org/patients/x"}, {})
    vendor.by_path = {"/patients/cursor": (200, {"data": [], "page_info": {"has_next_page": False}}, {})}
    try:
        response = client.get(f"/fhir/faulty/Patient/{PATIENT}")
    finally:
        vendor.by_path = {}
    assert response.status_code == 404, response.text
    assert outcome_of(response)["issue"][0]["code"] == "not-found"


def test_a_404_that_does_not_name_the_patient_is_asked_of_the_list(vendor: FakeVendor, client: FhirHttp) -> None:
    vendor.answer = (404, {"status": 404, "error": "Not Found", "path": "/api/v1/org/patients"}, {})
    response = client.get(f"/fhir/faulty/Patient/{PATIENT}")
    assert response.status_code == 502, response.text
    assert "org_id" in outcome_of(response)["issue"][0]["diagnostics"]


def test_a_cursor_the_vendor_refuses_is_the_vendors_fault_not_the_clients(vendor: FakeVendor, client: FhirHttp) -> None:
    # The next page's cursor is the vendor's own ("422: Invalid or malformed cursor value"; or a
    # keyset cursor of a very long name its server's request line cannot take): a 502, not a 400
    # telling the client its search was wrong.
    someone = {"id": PATIENT, "first_name": "Ann", "last_name": "Other", "status": "active", "version": 1}
    someone |= {"created_at": "2026-01-05T08:00:00+00:00", "updated_at": "2026-01-05T08:00:00+00:00"}
    first = {"data": [someone], "page_info": {"has_next_page": True, "end_cursor": "b64-cursor"}}
    vendor.by_path = {"/patients/cursor": (200, first, {})}
    vendor.with_cursor = (422, {"detail": "Invalid or malformed cursor value"}, {})
    try:
        response = client.get("/fhir/faulty/Patient", params={"family": "x"})
    finally:
        vendor.by_path, vendor.with_cursor = {}, None
    assert response.status_code == 502, response.text
    issue = outcome_of(response)["issue"][0]
    assert issue["code"] == "processing" and "cursor" in issue["diagnostics"]


def test_slow_vendor_is_a_504(vendor: FakeVendor, client: FhirHttp) -> None:
    vendor.answer, vendor.delay = (200, {}, {}), 2.0
    try:
        response = client.get(f"/fhir/faulty/Patient/{PATIENT}")
    finally:
        vendor.delay = 0.0
    assert response.status_code == 504
    assert outcome_of(response)["issue"][0]["code"] == "timeout"


def test_unreachable_vendor_is_a_502(client: FhirHttp) -> None:
    response = client.get(f"/fhir/unreachable/Patient/{PATIENT}")
    assert response.status_code == 502
    assert outcome_of(response)["issue"][0]["code"] == "transient"


def test_logs_carry_no_phi_or_secrets(vendor: FakeVendor, client: FhirHttp, caplog: pytest.LogCaptureFixture) -> None:
    vendor.answer = (422, {"detail": [{"loc": ["query", "search"], "msg": "bad", "input": PHI}]}, {})
    with caplog.at_level(logging.DEBUG):
        client.get("/fhir/faulty/Patient", params={"name": PHI, "birthdate": "1961-02-03"})
        vendor.answer = (200, {"unexpected": PHI}, {})
        client.get("/fhir/faulty/Patient", params={"name": PHI})
    # The test's own HTTP client (httpx) logs URLs; what matters is what the server side logs.
    server_side = ("gateway", "mappings", "uvicorn", "aiohttp", "starlette")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_side))
    assert "/fhir/faulty/Patient" in logged  # the access log did run
    for secret in (PHI, "Quixote", "1961-02-03", "not-a-real-token"):
        assert secret not in logged


def _medications_down(vendor: FakeVendor) -> None:
    """A patient (named with PHI) whose vendor answers everything but the medications."""
    patient = {
        "id": PATIENT,
        "first_name": "Ann",
        "last_name": PHI,
        "status": "active",
        "version": 1,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "gender": "female",
    }
    empty = {"items": [], "page": 1, "page_size": 100, "total": 0}
    vendor.by_path = {
        f"/patients/{PATIENT}": (200, patient, {}),
        "/allergies": (200, empty, {}),
        "/medications": (503, b"<html>down</html>", {}),
        "/vital-signs": (200, empty, {}),
        "/diseases": (200, empty, {}),
    }


def test_everything_says_what_is_missing(vendor: FakeVendor, client: FhirHttp) -> None:
    _medications_down(vendor)
    try:
        bundle = client.get_ok(f"/fhir/faulty/Patient/{PATIENT}/$everything")
    finally:
        vendor.by_path = {}
    assert "total" not in bundle  # never presented as complete
    outcome = next(e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome")
    assert "MedicationStatement" in outcome["issue"][0]["diagnostics"]
    assert bundle["entry"][0]["resource"]["id"] == PATIENT


def test_no_ccd_from_an_incomplete_record(vendor: FakeVendor, client: FhirHttp) -> None:
    """A clinical document is all or nothing: with medications unavailable there is no CCD
    (whose Medications section would say "No information"), but a 502 naming what failed."""
    _medications_down(vendor)
    try:
        for accept in ("application/xml", "text/html", "application/fhir+json"):
            response = client.get(f"/fhir/faulty/Binary/ccd-p.{PATIENT}", headers={"Accept": accept})
            assert response.status_code == 502
            assert "MedicationStatement" in outcome_of(response)["issue"][0]["diagnostics"]
            assert outcome_of(response)["issue"][0]["code"] == "incomplete"
            assert PHI not in response.text
    finally:
        vendor.by_path = {}


@pytest.mark.parametrize("path", ["AllergyIntolerance", "Observation", "Condition"])
def test_failures_inside_concurrent_vendor_calls_keep_their_status(
    vendor: FakeVendor, client: FhirHttp, path: str
) -> None:
    vendor.answer = (503, b"<html>down</html>", {})
    response = client.get(f"/fhir/faulty/{path}", params={"patient": PATIENT})
    assert response.status_code == 502, response.text  # not a 500 from an ExceptionGroup
    assert outcome_of(response)["issue"][0]["code"] == "transient"
