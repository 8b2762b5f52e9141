"""The patients an audit line names are those whose data the request was served, or that its
path (or the condition the gateway applied) asked for: never a query parameter the interaction
ignored (R4 AuditEvent.entity: the instances accessed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.audit import events
from gateway.audit.events import MAX_PATIENTS, PATIENTS_NOT_NAMED, audit_event, authentication_event
from gateway.audit.events import Request as AuditRequest
from gateway.audit.sink import audit_line
from gateway.auth.decision import Caller
from gateway.auth.scopes import Scopes
from gateway.settings import AuditSettings, TenantSettings
from tests.support.fake_vendor import BASE, FAKE, FAKE_URL, TENANT, FakeBackend, TestClient, fake_gateway, ok, outcome
from tests.support.smart import Issuer, smart_settings


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return Issuer.in_dir(tmp_path_factory.mktemp("issuer"))


@pytest.fixture
def backend() -> FakeBackend:
    backend = FakeBackend()
    backend.add_patient("p1", family="Nguyen")
    backend.add_patient("p2", family="Okafor")
    backend.add_observation("p1", "o1")
    return backend


@pytest.fixture
def client(issuer: Issuer, backend: FakeBackend, trail: Path) -> Iterator[TestClient]:
    settings = smart_settings(issuer, {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)})
    audit = AuditSettings(sink="file", path=str(trail))
    with fake_gateway(backend, settings.model_copy(update={"audit": audit})) as client:
        yield client


@pytest.fixture
def reader(issuer: Issuer) -> dict[str, str]:
    return issuer.headers(TENANT, "system/*.rs")


def named(trail: Path) -> list[list[str]]:
    """Each line's patient entities, in order."""
    events = [json.loads(line) for line in trail.read_text().splitlines()]
    return [
        [e["what"]["reference"] for e in event["entity"] if e.get("role", {}).get("code") == "1"] for event in events
    ]


@pytest.mark.parametrize(
    "path",
    [
        "Patient/p1?patient=p2",
        "Patient/p1?subject=Patient/p2",
        "Patient/p1/$everything?patient=p2",
        "Observation/o1?patient=p2",  # named by the record's own subject
    ],
)
def test_a_read_names_the_patient_served_not_one_in_an_ignored_parameter(
    client: TestClient, reader: dict[str, str], trail: Path, path: str
) -> None:
    ok(client.get(f"{BASE}/{path}", headers=reader))
    assert named(trail) == [["Patient/p1"]]


def test_a_ccd_names_its_patient_not_one_in_an_ignored_parameter(
    client: TestClient, reader: dict[str, str], trail: Path
) -> None:
    served = client.get(f"{BASE}/Binary/ccd-p.p1?patient=p2", headers={**reader, "Accept": "application/xml"})
    assert served.status_code == 200, served.text
    assert named(trail) == [["Patient/p1"]]


def test_a_search_names_the_patients_of_its_results(client: TestClient, reader: dict[str, str], trail: Path) -> None:
    ok(client.get(f"{BASE}/Patient?family=Nguyen,Okafor", headers=reader))
    ok(client.get(f"{BASE}/Observation?_id=o1", headers=reader))
    ok(client.get(f"{BASE}/Observation?patient=p2", headers=reader))  # none found: named as asked
    assert named(trail) == [["Patient/p1", "Patient/p2"], ["Patient/p1"], ["Patient/p2"]]


def test_a_search_refused_before_it_was_applied_names_no_patient_from_its_query(
    client: TestClient, reader: dict[str, str], trail: Path
) -> None:
    strict = {**reader, "Prefer": "handling=strict"}
    outcome(client.get(f"{BASE}/Observation?patient=p2&no-such-parameter=1", headers=strict), 400)
    assert named(trail) == [[]]


def test_a_page_of_many_patients_names_a_bounded_number_and_says_so(
    client: TestClient, backend: FakeBackend, reader: dict[str, str], trail: Path
) -> None:
    backend.add_patients(MAX_PATIENTS + 3, family="Many")
    ok(client.get(f"{BASE}/Patient?family=Many&_count={MAX_PATIENTS + 3}", headers=reader))
    [event] = [json.loads(line) for line in trail.read_text().splitlines()]
    assert len(named(trail)[0]) == MAX_PATIENTS
    assert {"url": PATIENTS_NOT_NAMED, "valueInteger": 3} in event["extension"]


def test_a_line_naming_the_most_patients_of_the_longest_ids_is_one_atomic_pipe_write() -> None:
    # POSIX write(2): at most PIPE_BUF (4096 on Linux) bytes reach a pipe without interleaving.
    caller = Caller("c" * 64, "s" * 64, Scopes((), (), ()))
    patients = tuple(f"{n:02d}" + "x" * 62 for n in range(MAX_PATIENTS + 5))
    request = AuditRequest("GET", f"/fhir/{TENANT}/Patient", "r" * 64, "2001:db8::1", patients=patients)
    event: dict[str, Any] = audit_event(request, 200, caller)
    event["extension"].append({"url": "urn:fhir-gateway:audit-sequence", "valueInteger": 10**15})
    assert len(audit_line(event)) + 1 <= 4096


def _one_pipe_write(event: dict[str, Any]) -> bool:
    """Whether the line StdoutSink writes for `event`, numbered as the middleware numbers it, is
    at most PIPE_BUF (4096) bytes."""
    event["extension"].append({"url": "urn:fhir-gateway:audit-sequence", "valueInteger": 2**63 - 1})
    return len(audit_line(event)) + 1 <= 4096


@pytest.mark.parametrize("filler", ["c", '"', "\x01", "é", "\ud800"])
def test_a_line_of_unbounded_agent_names_is_one_pipe_write_and_says_what_it_cut(filler: str) -> None:
    # Before: an IdP-supplied 18,000-character client_id made a line of 18 kB, which interleaves
    # with other workers' lines on one pipe.
    client_id, subject, tenant = "hie-" + filler * 18_000, "Practitioner/" + filler * 9_000, "t" * 3_000
    patients = tuple(f"{n:02d}" + "x" * 62 for n in range(40))
    request = AuditRequest("GET", f"/fhir/{tenant}/Patient", "r" * 64, "2001:db8::1", patients=patients)
    event: dict[str, Any] = audit_event(request, 200, Caller(client_id, subject, Scopes((), (), ())), tenants={tenant})
    named_here = [e for e in event["entity"] if e.get("role", {}).get("code") == "1"]
    not_named = next(x["valueInteger"] for x in event["extension"] if x["url"] == PATIENTS_NOT_NAMED)
    assert len(named_here) + not_named == 40
    who = event["agent"][0]["who"]["identifier"]["value"]
    assert who.startswith("hie-" + filler) and who.endswith("(truncated from 18004 characters)")
    assert event["agent"][0]["altId"].endswith("(truncated from 9013 characters)")
    assert event["source"]["site"].endswith("(truncated from 3000 characters)")
    assert _one_pipe_write(event)


def test_a_token_request_line_of_a_long_client_id_is_one_pipe_write() -> None:
    request = AuditRequest("POST", "/auth/token", "r" * 64, "2001:db8::1")
    event = authentication_event(request, 401, "x" * 18_000)
    assert event["agent"][0]["who"]["identifier"]["value"].endswith("(truncated from 18000 characters)")
    assert _one_pipe_write(event)


def test_a_search_refused_after_its_patients_were_read_names_them_as_asked(
    client: TestClient, reader: dict[str, str], trail: Path
) -> None:
    # Parsed, then refused (a vendor searches one patient at a time): what was asked, as asked;
    # the old line named the last one of its query text only.
    answer = outcome(client.get(f"{BASE}/Observation?patient=Patient/p1,Patient/p2", headers=reader), 400)
    assert "several patients" in answer["issue"][0]["diagnostics"]
    assert named(trail) == [["Patient/p1", "Patient/p2"]]


def test_patients_that_would_overflow_the_line_are_counted_not_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "LINE_BYTES", 1_500)  # as if the rest of the line were long
    patients = tuple(f"{n:02d}" + "x" * 62 for n in range(40))
    request = AuditRequest("GET", f"/fhir/{TENANT}/Patient", "r" * 64, "2001:db8::1", patients=patients)
    event = audit_event(request, 200, Caller("c" * 200, "s" * 200, Scopes((), (), ())))
    named_here = [e for e in event["entity"] if e.get("role", {}).get("code") == "1"]
    not_named = next(x["valueInteger"] for x in event["extension"] if x["url"] == PATIENTS_NOT_NAMED)
    assert 0 < len(named_here) < MAX_PATIENTS and len(named_here) + not_named == 40
    assert len(audit_line(event)) <= 1_500
