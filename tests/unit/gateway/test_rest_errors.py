"""Error answers as a FHIR client meets them: every one an OperationOutcome in FHIR JSON, with
the status FHIR names, and `Allow` on a 405 listing exactly what the type supports."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from gateway.app import create_app
from gateway.errors import NotFound, Throttled, UpstreamSecurity, UpstreamTimeout
from gateway.rest.cache_control import CacheControl
from gateway.sandbox_host import serve_in_thread
from tests.support.fake_vendor import (
    BASE,
    READ,
    SEARCH,
    FakeBackend,
    TestClient,
    fake_gateway,
    fake_settings,
    outcome,
)


def _methods(allow: str) -> set[str]:
    """An `Allow` header's methods (their order means nothing)."""
    return {m.strip() for m in allow.split(",") if m.strip()}


# -- unknown things -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Medication"),
        ("GET", "/Medication/m1"),
        ("POST", "/Medication"),
        ("PUT", "/Medication/m1"),
        ("DELETE", "/Medication/m1"),
        ("POST", "/Medication/_search"),
        ("GET", "/Medication/m1/_history/1"),
    ],
)
def test_a_type_the_tenant_does_not_serve_is_404(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, f"{BASE}{path}", headers={"Content-Type": "application/x-www-form-urlencoded"})
    body = outcome(response, 404)
    assert body["issue"][0]["code"] == "not-found"
    assert "Medication" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS"])
def test_an_unknown_type_is_404_whatever_the_method(client: TestClient, method: str) -> None:
    outcome(client.request(method, f"{BASE}/Medication/m1"), 404)


@pytest.mark.parametrize("path", ["/fhir/elsewhere/metadata", "/fhir/elsewhere/Patient", "/fhir/elsewhere/Patient/p1"])
def test_an_unknown_tenant_is_404(client: TestClient, path: str) -> None:
    assert "elsewhere" in outcome(client.get(path), 404)["issue"][0]["diagnostics"]


def test_a_path_that_is_no_endpoint_is_404(client: TestClient) -> None:
    assert outcome(client.get("/nothing/here"), 404)["issue"][0]["code"] == "not-found"


# -- methods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/Patient", "GET, HEAD, POST"),
        ("/Patient/p1", "GET, HEAD, PUT, DELETE"),
        ("/Observation", "GET, HEAD"),
        ("/Observation/o1", "GET, HEAD"),
        ("/Binary/b1", "GET, HEAD"),
        ("/metadata", "GET, HEAD"),
        ("/Patient/p1/_history/1", "GET, HEAD"),
        ("/Patient/p1/$everything", "GET, HEAD, POST"),
        ("/Patient/_search", "POST"),
    ],
)
@pytest.mark.parametrize("method", ["OPTIONS", "PATCH", "TRACE"])
def test_a_method_a_path_does_not_take_is_405_listing_exactly_what_it_does(
    client: TestClient, backend: FakeBackend, path: str, allowed: str, method: str
) -> None:
    response = client.request(method, f"{BASE}{path}")
    body = outcome(response, 405)
    assert body["issue"][0]["code"] == "not-supported"
    assert _methods(response.headers["allow"]) == _methods(allowed)
    assert sum(backend.calls.values()) == 0


def test_a_type_with_no_type_level_interaction_allows_nothing_there(client: TestClient) -> None:
    # Binary is read-only (generated documents): no search, no create on its type URL.
    for method in ("GET", "POST"):
        response = client.request(method, f"{BASE}/Binary")
        assert outcome(response, 405) and response.headers["allow"] == ""


def test_head_is_answered_wherever_get_is(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    for path in ("/metadata", "/Patient", "/Patient/p1", "/Patient/p1/_history/1"):
        assert client.head(f"{BASE}{path}").status_code == 200, path


# -- the vendor failing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (None, 502, "transient"),
        (UpstreamTimeout("The vendor did not answer in time"), 504, "timeout"),
        (UpstreamSecurity("The vendor refused the gateway's credentials"), 502, "security"),
        (NotFound("Patient/p1 does not exist"), 404, "not-found"),
        (KeyError("patients"), 502, "processing"),  # an answer of the wrong shape: no retry mends it
    ],
)
def test_vendor_failures_become_operation_outcomes(
    client: TestClient, backend: FakeBackend, error: Exception | None, status: int, code: str
) -> None:
    backend.add_patient("p1")
    backend.fail("Patient", READ, error)
    assert outcome(client.get(f"{BASE}/Patient/p1"), status)["issue"][0]["code"] == code
    backend.fail("Patient", SEARCH, error)
    assert outcome(client.get(f"{BASE}/Patient", params={"family": "doe"}), status)["issue"][0]["code"] == code


def test_a_throttled_vendor_is_429_with_retry_after(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.fail("Patient", READ, Throttled("The vendor is rate-limiting requests; retry later", retry_after=7))
    response = client.get(f"{BASE}/Patient/p1")
    assert outcome(response, 429)["issue"][0]["code"] == "throttled"
    assert response.headers["retry-after"] == "7"


def test_a_failure_is_not_remembered(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.fail("Patient", READ, after=1)
    assert client.get(f"{BASE}/Patient/p1").status_code == 200
    assert outcome(client.get(f"{BASE}/Patient/p1"), 502)
    backend.heal()
    assert client.get(f"{BASE}/Patient/p1").status_code == 200


def test_an_unexpected_error_is_a_500_outcome_without_details() -> None:
    backend = FakeBackend()
    backend.add_patient("p1")
    backend.fail("Patient", READ, RuntimeError("secret vendor payload: Jane Doe 1970-01-01"))
    with fake_gateway(backend, raise_server_exceptions=False) as client:
        response = client.get(f"{BASE}/Patient/p1", headers={"X-Request-ID": "trace-500"})
    body = outcome(response, 500)
    assert body["issue"][0]["severity"] == "fatal" and "Jane" not in str(body)
    # The answer passes the middlewares as any other: the id the log has, and never cached.
    assert response.headers["x-request-id"] == "trace-500"
    assert response.headers["cache-control"] == "no-store"


def test_an_unexpected_error_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    backend = FakeBackend()
    backend.add_patient("p1")
    backend.fail("Patient", READ, RuntimeError("boom"))
    running = serve_in_thread(create_app(fake_settings(), [backend.vendor()], access_logging=False), date_header=False)
    try:
        with caplog.at_level(logging.ERROR):
            outcome(httpx.get(f"{running.url}{BASE}/Patient/p1", timeout=30), 500)
    finally:
        running.stop()
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 1 and tracebacks[0].name == "gateway.errors"


def test_a_middlewares_own_error_is_a_500_outcome_with_its_request_id_and_date(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Starlette's outermost handler answered it past the observing middleware: no request id
    # for the client to quote, no Date (RFC 9110 section 6.6.1), not counted as a 500.
    async def broken(self: CacheControl, scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(CacheControl, "__call__", broken)
    backend = FakeBackend()
    backend.add_patient("p1")
    app = create_app(fake_settings(), [backend.vendor()], access_logging=True)
    # Captured until the server has stopped: the access line is written after the answer is
    # sent, and the client may read it first.
    with caplog.at_level(logging.INFO):
        running = serve_in_thread(app, date_header=False)
        try:
            response = httpx.get(
                f"{running.url}{BASE}/Patient/p1", headers={"X-Request-ID": "trace-mw-500"}, timeout=30
            )
        finally:
            running.stop()
    assert outcome(response, 500)["issue"][0]["severity"] == "fatal"
    assert response.headers["x-request-id"] == "trace-mw-500"
    assert len(response.headers.get_list("date")) == 1
    # Logged once, by the handler (not again by Starlette or uvicorn), and its access line a 500.
    tracebacks = [r.name for r in caplog.records if r.exc_info is not None and "boom" in str(r.exc_info[1])]
    assert tracebacks == ["gateway.errors"]
    answered = [r for r in caplog.records if r.name == "gateway.access" and getattr(r, "status", None) == 500]
    assert [r.getMessage().split(" ")[:3] for r in answered] == [["GET", "(unmatched)", "500"]]


def test_errors_are_json_even_when_the_client_asked_for_something_else(client: TestClient) -> None:
    response = client.get(f"{BASE}/Medication/m1", headers={"Accept": "application/fhir+xml"})
    assert response.status_code in (404, 406)
    outcome(response, response.status_code)
    outcome(client.get(f"{BASE}/Patient/p1", params={"_format": "turtle"}), 406)


def test_the_adapter_is_closed_with_the_app(backend: FakeBackend) -> None:
    with fake_gateway(backend) as client:
        adapter = client.app.state.rest.tenants["clinic"].connection._adapter  # type: ignore[attr-defined]
        assert not adapter.closed
    assert adapter.closed


# -- numbers and dates are ASCII ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/Patient", {"birthdate": "١٩٨٥"}),  # Arabic-Indic digits
        ("/Patient", {"birthdate": "ge１９８５"}),  # full-width digits
        ("/Patient", {"_lastUpdated": "ge2٠٠٠"}),
        ("/Patient", {"_count": "²"}),
        ("/Patient/p001/$everything", {"start": "2025-0١-01"}),
        ("/Patient/p001/$everything", {"_count": "²"}),
    ],
)
def test_digits_that_are_not_ascii_are_a_400(
    client: TestClient, backend: FakeBackend, path: str, params: dict[str, str]
) -> None:
    backend.add_patient("p001")
    outcome(client.get(f"{BASE}{path}", params=params), 400)


def test_an_operation_on_a_type_is_named_not_taken_for_an_id(client: TestClient) -> None:
    # R4 defines Patient/$everything on the type too (every patient): not served here, and the
    # answer says so instead of calling `$everything` a malformed id.
    refused = outcome(client.get(f"{BASE}/Patient/$everything"), 400)
    assert refused["issue"][0]["code"] == "not-supported" and "$everything" in refused["issue"][0]["diagnostics"]
    assert outcome(client.get(f"{BASE}/Patient/$x$"), 400)["issue"][0]["code"] == "invalid"


# -- fixed paths: the tenant and the type come first -------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "allowed"),
    [
        ("POST", "/fhir/nosuch/metadata", 404, None),  # no such tenant, whatever the method
        ("DELETE", "/fhir/nosuch/Patient/p001", 404, None),
        ("POST", f"{BASE}/Observation/o1/$everything", 404, None),  # defined on Patient only
        ("PUT", f"{BASE}/Patient/p001/$everything", 405, {"GET", "HEAD", "POST"}),
        ("GET", f"{BASE}/Patient/_search", 405, {"POST"}),
        ("POST", f"{BASE}/metadata", 405, {"GET", "HEAD"}),
    ],
)
def test_fixed_paths_check_tenant_and_type_before_the_method(
    client: TestClient, method: str, path: str, status: int, allowed: set[str] | None
) -> None:
    response = client.request(method, path)
    outcome(response, status)
    if allowed is not None:
        assert _methods(response.headers["allow"]) == allowed
