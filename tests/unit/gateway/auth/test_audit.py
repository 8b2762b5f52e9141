"""The audit trail: one AuditEvent line per FHIR request, allowed or refused, never PHI; a
request that cannot be audited is not served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.events import Request as AuditRequest
from gateway.audit.events import audit_event
from gateway.audit.sink import FileSink, StdoutSink
from gateway.settings import AuditSettings, TenantSettings
from tests.support.fake_vendor import BASE, FAKE, FAKE_URL, TENANT, FakeBackend, TestClient, fake_gateway, ok, outcome
from tests.support.smart import Issuer, smart_settings

JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return Issuer.in_dir(tmp_path_factory.mktemp("issuer"))


def gateway(issuer: Issuer, audit: AuditSettings) -> Iterator[TestClient]:
    backend = FakeBackend()
    backend.add_patient("p1", family="Zebulon-Quartz", birth_date="1961-07-04", identifier="MRN-777")
    backend.add_observation("p1", "o1")
    settings = smart_settings(issuer, {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)})
    with fake_gateway(backend, settings.model_copy(update={"audit": audit})) as client:
        yield client


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


@pytest.fixture
def client(issuer: Issuer, trail: Path) -> Iterator[TestClient]:
    yield from gateway(issuer, AuditSettings(sink="file", path=str(trail)))


def lines(trail: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in trail.read_text().splitlines()]


def test_every_interaction_allowed_or_refused_leaves_one_line(client: TestClient, issuer: Issuer, trail: Path) -> None:
    reader = issuer.headers(TENANT, "user/*.rs", sub="dr-who")
    ok(client.get(f"{BASE}/Patient/p1", headers=reader))
    ok(client.get(f"{BASE}/Observation?patient=p1&code=8867-4", headers=reader))
    ok(client.get(f"{BASE}/Patient/p1/$everything", headers=reader))
    outcome(client.get(f"{BASE}/Patient/p1"), 401)
    outcome(client.post(f"{BASE}/Patient", json={"resourceType": "Patient"}, headers={**JSON, **reader}), 403)
    ok(client.get(f"{BASE}/metadata"))
    events = lines(trail)
    assert [(e["subtype"][0]["code"], e["action"], e["outcomeDesc"]) for e in events] == [
        ("read", "R", "200"),
        ("search-type", "E", "200"),
        ("operation", "E", "200"),
        ("read", "R", "401"),
        ("create", "C", "403"),
        ("capabilities", "R", "200"),
    ]
    assert events[0]["entity"][0]["what"] == {"reference": "Patient/p1"}
    assert events[0]["agent"][0]["who"]["identifier"]["value"] == "app-1"
    assert events[0]["agent"][0]["altId"] == "dr-who"
    assert events[0]["source"]["site"] == TENANT
    assert events[1]["entity"][1]["what"] == {"reference": "Patient/p1"}  # the search's patient
    assert events[3]["agent"][0]["who"] == {"display": "unauthenticated"}
    assert [e["outcome"] for e in events] == ["0", "0", "0", "4", "4", "0"]


def test_a_create_line_names_the_record_made_or_matched(client: TestClient, issuer: Issuer, trail: Path) -> None:
    writer = {**JSON, **issuer.headers(TENANT, "user/Patient.crs", sub="dr-who")}
    body = {"resourceType": "Patient", "name": [{"family": "Madeby"}]}
    made = client.post(f"{BASE}/Patient", json=body, headers=writer)
    assert made.status_code == 201, made.text
    matched = client.post(f"{BASE}/Patient", json=body, headers={**writer, "If-None-Exist": "family:exact=Madeby"})
    assert matched.status_code == 200, matched.text
    refused = client.post(f"{BASE}/Patient", json={"resourceType": "Patient", "bogus": 1}, headers=writer)
    assert refused.status_code == 400
    events = lines(trail)
    reference = f"Patient/{made.json()['id']}"
    assert [e["entity"][0]["what"] for e in events] == [
        {"reference": reference},
        {"reference": reference},
        {"type": "Patient"},  # nothing made
    ]


def test_a_request_refused_for_its_host_leaves_a_line(issuer: Issuer, trail: Path) -> None:
    backend = FakeBackend()
    backend.add_patient("p1")
    settings = smart_settings(issuer, {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)})
    server = settings.server.model_copy(update={"allowed_hosts": ["fhir.example.org"]})
    audit = AuditSettings(sink="file", path=str(trail))
    with fake_gateway(backend, settings.model_copy(update={"audit": audit, "server": server})) as client:
        reader = issuer.headers(TENANT, "user/*.rs")
        outcome(client.get(f"{BASE}/Patient/p1", headers={**reader, "Host": "evil.example"}), 400)
        ok(client.get(f"http://fhir.example.org{BASE}/Patient/p1", headers=reader))
    assert [(e["subtype"][0]["code"], e["outcomeDesc"]) for e in lines(trail)] == [("read", "400"), ("read", "200")]


def test_a_create_on_a_path_with_a_trailing_slash_makes_nothing_and_its_line_says_so(
    client: TestClient, issuer: Issuer, trail: Path
) -> None:
    # It was a 307 (Starlette's trailing-slash redirect) recorded as a create that succeeded
    # (outcome 0), though nothing was made: now a 404 that is one, and recorded as one.
    writer = {**JSON, **issuer.headers(TENANT, "user/Patient.crs", sub="dr-who")}
    refused = client.post(f"{BASE}/Patient/", json={"resourceType": "Patient"}, headers=writer, follow_redirects=False)
    outcome(refused, 404)
    assert "location" not in refused.headers
    everyone = ok(client.get(f"{BASE}/Patient?_summary=count", headers=issuer.headers(TENANT, "user/*.rs")))
    assert everyone["total"] == 1  # p1 alone
    (line, _) = lines(trail)
    assert (line["subtype"][0]["code"], line["outcome"], line["outcomeDesc"]) == ("create", "4", "404")
    assert line["entity"] == [
        {"what": {"type": "Patient"}, "type": {"system": "http://hl7.org/fhir/resource-types", "code": "Patient"}}
    ]


def test_audit_lines_carry_ids_never_phi_or_query_values(client: TestClient, issuer: Issuer, trail: Path) -> None:
    reader = issuer.headers(TENANT, "user/*.rs")
    ok(client.get(f"{BASE}/Patient?family=Zebulon-Quartz&birthdate=1961-07-04&identifier=MRN-777", headers=reader))
    text = trail.read_text()
    assert all(secret not in text for secret in ("Zebulon", "1961-07-04", "MRN-777", "Bearer", "eyJ"))


def test_a_path_naming_no_configured_tenant_is_recorded_as_unknown(client: TestClient, trail: Path) -> None:
    # The path's tenant text is the client's: up to kilobytes, or a right-to-left override that
    # reorders how the line reads in a terminal. Only configured names are recorded.
    for name in ("\u202e" + "x" * 3000, "not-a-tenant"):
        outcome(client.get(f"/fhir/{name}/metadata"), 404)
    assert [e["source"]["site"] for e in lines(trail)] == ["(unknown)", "(unknown)"]
    assert "\u202e" not in trail.read_text() and "xxxx" not in trail.read_text()


def test_the_request_id_is_answered_and_recorded(client: TestClient, issuer: Issuer, trail: Path) -> None:
    response = client.get(
        f"{BASE}/Patient/p1", headers={**issuer.headers(TENANT, "user/*.rs"), "X-Request-Id": "req-0042abcd"}
    )
    assert response.headers["x-request-id"] == "req-0042abcd"
    generated = client.get(f"{BASE}/Patient/p1", headers={"X-Request-Id": "bad id\r\nforged"})
    recorded = [e["extension"][0]["valueString"] for e in lines(trail)]
    assert recorded == ["req-0042abcd", generated.headers["x-request-id"]]
    assert "forged" not in generated.headers["x-request-id"]


def test_a_request_that_cannot_be_audited_is_not_served(issuer: Issuer, tmp_path: Path) -> None:
    unwritable = tmp_path / "audit.jsonl"
    for client in gateway(issuer, AuditSettings(sink="file", path=str(unwritable))):
        unwritable.mkdir()  # after start-up, a directory where the file should be: every write fails, even as root
        response = client.get(f"{BASE}/Patient/p1", headers=issuer.headers(TENANT, "user/*.rs"))
        body = outcome(response, 503)
        assert "audited" in body["issue"][0]["diagnostics"] and "Zebulon" not in response.text
        assert response.headers["retry-after"]


def test_fail_open_serves_unaudited_when_the_operator_chose_it(issuer: Issuer, tmp_path: Path) -> None:
    unwritable = tmp_path / "audit.jsonl"
    for client in gateway(issuer, AuditSettings(sink="file", path=str(unwritable), fail_open=True)):
        unwritable.mkdir()
        assert ok(client.get(f"{BASE}/Patient/p1", headers=issuer.headers(TENANT, "user/*.rs")))["id"] == "p1"


def test_the_file_trail_rotates_by_size(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "audit.jsonl", max_bytes=10_000, backups=2)
    for n in range(200):
        sink.write({"resourceType": "AuditEvent", "n": n, "pad": "x" * 100})
    sink.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    assert all(p.stat().st_size <= 10_000 for p in tmp_path.iterdir())


def test_lines_are_numbered_in_one_sequence(client: TestClient, issuer: Issuer, trail: Path) -> None:
    reader = issuer.headers(TENANT, "user/*.rs")
    for _ in range(3):
        ok(client.get(f"{BASE}/Patient/p1", headers=reader))
    outcome(client.get(f"{BASE}/Patient/p1"), 401)
    numbers = [
        x["valueInteger"] for e in lines(trail) for x in e["extension"] if x["url"] == "urn:fhir-gateway:audit-sequence"
    ]
    assert numbers == [1, 2, 3, 4]  # a merged trail of several workers shows a missing line as a gap


@pytest.mark.parametrize("claims", [{"client_id": "demo\ud800"}, {"sub": "\udc00dr", "client_id": None}])
def test_a_token_whose_claims_are_not_text_is_401_and_leaves_its_line(
    client: TestClient, issuer: Issuer, trail: Path, claims: dict[str, Any]
) -> None:
    # A lone surrogate (a JSON escape UTF-8 cannot carry) in a validly signed claim: no client
    # the gateway could name, so an unacceptable token, and the request is audited all the same.
    response = client.get(f"{BASE}/Patient/p1", headers=issuer.headers(TENANT, "user/*.rs", **claims))
    outcome(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    (event,) = lines(trail)
    assert event["outcomeDesc"] == "401" and event["agent"][0]["who"] == {"display": "unauthenticated"}


@pytest.mark.parametrize("sink", ["file", "stdout"])
def test_the_audit_writer_writes_any_text_as_one_line(
    sink: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Whatever a client's text holds, the line is written: what UTF-8 cannot carry, escaped.
    event = {"resourceType": "AuditEvent", "agent": [{"who": {"display": "demo\ud800"}}], "n": "\udfff\u00e9"}
    if sink == "file":
        writer = FileSink(tmp_path / "audit.jsonl", max_bytes=10_000, backups=1)
        writer.write(event)
        writer.close()
        written = (tmp_path / "audit.jsonl").read_text()
    else:
        StdoutSink().write(event)
        written = capfd.readouterr().out
    (line,) = written.splitlines()
    assert json.loads(line)["agent"][0]["who"]["display"] == "demo\\ud800"
    assert json.loads(line)["n"] == "\\udfff\u00e9"


def test_a_line_the_sink_fails_to_write_in_any_way_is_a_503(
    client: TestClient, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once the answer has started nothing else writes the line: a request whose line was not
    # written is not served, however the sink failed.
    def broken(self: FileSink, event: dict[str, Any]) -> None:
        raise RuntimeError("a sink failing as none foresaw")

    monkeypatch.setattr(FileSink, "write", broken)
    response = client.get(f"{BASE}/Patient/p1", headers=issuer.headers(TENANT, "user/*.rs"))
    assert "audited" in outcome(response, 503)["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.9", {"address": "203.0.113.9", "type": "2"}),
        ("2001:db8::1", {"address": "2001:db8::1", "type": "2"}),
        ("ZQXMARK25", {"address": "ZQXMARK25"}),  # what a trusted proxy's X-Forwarded-For claimed
        ("x" * 300, {"address": "x" * 64}),
        # An IPv6 address's zone may be any text (RFC 4007 section 11): one longer than any
        # interface name is recorded as claimed, untyped and cut, never 5 kB on an audit line.
        ("fe80::1%eth0", {"address": "fe80::1%eth0", "type": "2"}),
        ("fe80::1%" + "z" * 5000, {"address": ("fe80::1%" + "z" * 5000)[:64]}),
    ],
)
def test_the_network_address_is_typed_an_ip_address_only_when_it_is_one(address: str, expected: dict[str, str]) -> None:
    # R4 AuditEvent.agent.network.type 2 is "IP Address": a proxy-supplied text that is none is
    # recorded as claimed, untyped.
    request = AuditRequest(method="GET", path="/fhir/t/Patient", request_id="r" * 16, client_address=address)
    assert audit_event(request, 200, None)["agent"][0]["network"] == expected
