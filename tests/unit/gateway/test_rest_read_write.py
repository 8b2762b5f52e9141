"""read, vread, create, update, delete as a FHIR client sees them, over the fake vendor."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from gateway.contract import Written
from gateway.errors import PreconditionFailed
from tests.support.fake_vendor import (
    BASE,
    CREATE,
    DELETE,
    READ,
    SEARCH,
    UPDATE,
    FakeBackend,
    TestClient,
    fake_gateway,
    ok,
    outcome,
)

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _patient(**elements: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": "Nguyen", "given": ["Mai"]}], "gender": "female", **elements}


# -- read and vread ---------------------------------------------------------------------------


def test_read_answers_the_resource_with_its_version_headers(client: TestClient, backend: FakeBackend) -> None:
    stored = backend.add_patient("p1", family="Okafor")
    response = client.get(f"{BASE}/Patient/p1")
    assert ok(response) == stored
    assert response.headers["content-type"] == "application/fhir+json; charset=utf-8"
    assert response.headers["etag"] == 'W/"1"'
    modified = parsedate_to_datetime(response.headers["last-modified"])
    assert modified == backend.clock().replace(microsecond=0)
    assert response.headers["last-modified"].endswith(" GMT")
    assert backend.calls_to("Patient", READ) == 1


def test_version_headers_follow_the_vendors_meta(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.clock.advance(3600)
    backend.patients["p1"]["meta"] = {"versionId": "7", "lastUpdated": "2024-05-01T13:00:00.000Z"}
    response = client.get(f"{BASE}/Patient/p1")
    assert response.headers["etag"] == 'W/"7"'
    assert response.headers["last-modified"] == "Wed, 01 May 2024 13:00:00 GMT"
    backend.patients["p1"].pop("meta")
    bare = client.get(f"{BASE}/Patient/p1")
    assert bare.status_code == 200 and "etag" not in bare.headers and "last-modified" not in bare.headers


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": 'W/"1"'}, 304),
        ({"If-None-Match": '"1"'}, 304),  # weak comparison (RFC 9110 §8.8.3.2)
        ({"If-None-Match": 'W/"0", W/"1"'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": 'W/"2"'}, 200),
        ({"If-Modified-Since": "Wed, 01 May 2024 12:00:00 GMT"}, 304),  # stored at 12:00:00
        ({"If-Modified-Since": "Wed, 01 May 2024 11:59:59 GMT"}, 200),
        ({"If-Modified-Since": "yesterday"}, 200),
        # The two obsolete forms a recipient must read too (RFC 9110 §5.6.7).
        ({"If-Modified-Since": "Wed May  1 12:00:00 2024"}, 304),
        ({"If-Modified-Since": "Wednesday, 01-May-24 12:00:00 GMT"}, 304),
        ({"If-Modified-Since": "Wed May  1 11:59:59 2024"}, 200),
        # rfc850's two-digit year: not more than 50 years ahead, so 75 is 2075 (RFC 9110 §5.6.7).
        ({"If-Modified-Since": "Sunday, 01-May-75 12:00:00 GMT"}, 304),
        # A list is no HTTP-date: the field is ignored (§13.1.3, §13.1.4: "more than one member").
        ({"If-Modified-Since": "Sat, 01 May 2100 12:00:00 GMT, Mon, 01 Jan 2001 00:00:00 GMT"}, 200),
        ({"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT, Sat, 01 May 2100 12:00:00 GMT"}, 200),
        ({"If-Modified-Since": "Sat, 01 May 2100 12:00:00 GMT trailing words"}, 200),
        ({"If-None-Match": 'W/"2"', "If-Modified-Since": "Wed, 01 May 2024 13:00:00 GMT"}, 200),  # §13.2.2
        # If-Match and If-Unmodified-Since hold on a read too (RFC 9110 §13.1.1, §13.1.4), first.
        ({"If-Match": 'W/"1"'}, 200),
        ({"If-Match": 'W/"3"'}, 412),
        ({"If-Match": 'W/"3"', "If-None-Match": 'W/"1"'}, 412),
        ({"If-Unmodified-Since": "Wed, 01 May 2024 12:00:00 GMT"}, 200),
        ({"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 412),
        ({"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT", "If-Match": "*"}, 200),  # §13.2.2 step 2
    ],
)
def test_conditional_reads_answer_304_when_the_clients_copy_is_current(
    client: TestClient, backend: FakeBackend, headers: dict[str, str], status: int
) -> None:
    backend.add_patient("p1")
    response = client.get(f"{BASE}/Patient/p1", headers=headers)
    assert response.status_code == status
    if status == 412:
        assert response.json()["resourceType"] == "OperationOutcome"
        return
    assert response.headers["etag"] == 'W/"1"'
    if status == 304:
        assert response.content == b"" and response.headers["last-modified"]


@pytest.mark.parametrize(
    "field",
    [("If-Modified-Since", "Wed, 01 May 2024 12:00:00 GMT"), ("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")],
)
def test_a_date_precondition_on_two_lines_is_ignored(
    client: TestClient, backend: FakeBackend, field: tuple[str, str]
) -> None:
    backend.add_patient("p1")
    name, first = field
    lines = [(name, first), (name, "Sat, 01 May 2100 12:00:00 GMT")]
    assert client.get(f"{BASE}/Patient/p1", headers=lines).status_code == 200
    # If-None-Match on two lines is one list of tags too: a match on the second is a 304.
    tags = [("If-None-Match", 'W/"7"'), ("If-None-Match", 'W/"1"')]
    assert client.get(f"{BASE}/Patient/p1", headers=tags).status_code == 304


def test_an_id_with_a_trailing_newline_is_400_not_a_vendor_call(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    outcome(client.get(f"{BASE}/Patient/p1%0a"), 400)
    outcome(client.get(f"{BASE}/Patient", params={"_id": "p1\n"}), 400)
    assert backend.calls_to("Patient") == 0


def test_head_answers_the_headers_of_a_read(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    response = client.head(f"{BASE}/Patient/p1")
    assert response.status_code == 200 and response.headers["etag"] == 'W/"1"'


def test_vread_serves_the_current_version_only(client: TestClient, backend: FakeBackend) -> None:
    stored = backend.add_patient("p1")
    current = client.get(f"{BASE}/Patient/p1/_history/1")
    assert ok(current) == stored and current.headers["etag"] == 'W/"1"'
    old = outcome(client.get(f"{BASE}/Patient/p1/_history/0"), 404)
    assert "only the current" in old["issue"][0]["diagnostics"]


def test_a_missing_resource_is_404_and_a_deleted_one_410(client: TestClient, backend: FakeBackend) -> None:
    assert outcome(client.get(f"{BASE}/Patient/nobody"), 404)["issue"][0]["code"] == "not-found"
    backend.add_patient("p1")
    assert client.delete(f"{BASE}/Patient/p1").status_code == 204
    assert outcome(client.get(f"{BASE}/Patient/p1"), 410)["issue"][0]["code"] == "deleted"


def test_a_malformed_id_is_400_before_the_vendor_is_asked(client: TestClient, backend: FakeBackend) -> None:
    body = outcome(client.get(f"{BASE}/Patient/not_an_id"), 400)
    assert body["issue"][0]["code"] == "invalid"
    assert outcome(client.get(f"{BASE}/Patient/{'x' * 65}"), 400)
    assert backend.calls_to("Patient") == 0


@pytest.mark.parametrize("path", ["/Patient%2Fp1", "/Patient%2fp1/_history%2F1", "/Patient/p1%2F_history%2F1"])
def test_an_encoded_slash_is_no_path_separator(client: TestClient, backend: FakeBackend, path: str) -> None:
    # RFC 3986 section 2.2: `%2F` is data. Decoded before routing, `Patient%2Fp1` read (and
    # deleted) Patient/p1 past a proxy that allows or denies by path prefix.
    backend.add_patient("p1")
    assert outcome(client.get(f"{BASE}{path}"), 404)
    assert outcome(client.delete(f"{BASE}{path}"), 404)
    assert backend.calls_to("Patient") == 0
    assert client.get(f"{BASE}/Patient/p1").status_code == 200


def test_read_honours_format_negotiation(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    plain = client.get(f"{BASE}/Patient/p1", headers={"Accept": "application/json"})
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")
    pretty = client.get(f"{BASE}/Patient/p1", params={"_format": "json", "_pretty": "true"})
    assert pretty.headers["content-type"].startswith("application/fhir+json") and "\n  " in pretty.text
    assert outcome(client.get(f"{BASE}/Patient/p1", headers={"Accept": "application/fhir+xml"}), 406)
    assert outcome(client.get(f"{BASE}/Patient/p1", params={"_format": "xml"}), 406)


@pytest.mark.parametrize("path", ["/Patient/p1/_history", "/Patient/_history", "/_history"])
def test_history_is_a_405_allowing_nothing_not_an_unknown_id_or_type(
    client: TestClient, backend: FakeBackend, path: str
) -> None:
    # history-instance, -type and -system (R4 http.html#history): no history is kept. Read as
    # an id or a type, `_history` was a 400 (not a valid id) or a 404 (no such type).
    backend.add_patient("p1")
    for method in ("GET", "POST"):
        refused = client.request(method, f"{BASE}{path}")
        assert outcome(refused, 405)["issue"][0]["diagnostics"].startswith("History is not kept here")
        assert refused.headers["allow"] == ""
    assert outcome(client.get(f"{BASE}/Shoe/_history"), 404)  # a type the tenant does not serve


def test_the_base_url_is_a_405_allowing_nothing_not_an_unknown_endpoint(client: TestClient) -> None:
    # A batch or transaction is POSTed to the base, a search across types is a GET there (R4
    # http.html#transaction, #search); neither is served. It was a 404 "No such endpoint".
    for method in ("POST", "GET"):
        refused = client.request(method, BASE, json={"resourceType": "Bundle", "type": "batch"})
        assert outcome(refused, 405)["issue"][0]["diagnostics"].startswith("Batch and transaction Bundles")
        assert refused.headers["allow"] == ""
    assert outcome(client.post("/fhir/no-such-tenant", json={}), 404)


def test_a_read_takes_repeated_elements_as_a_search_does(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", birth_date="1990-02-03")
    both = ok(client.get(f"{BASE}/Patient/p1?_elements=name&_elements=gender"))
    assert {"name", "gender"} <= set(both) and "birthDate" not in both  # the last alone was kept
    twice = client.get(f"{BASE}/Patient/p1?_summary=count&_summary=true")
    assert outcome(twice, 400)["issue"][0]["expression"] == ["_summary"]


def test_read_with_elements_is_marked_subsetted(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", birth_date="1990-02-03")
    body = ok(client.get(f"{BASE}/Patient/p1", params={"_elements": "gender"}))
    assert set(body) == {"resourceType", "id", "meta", "gender"}
    assert body["meta"]["tag"][0]["code"] == "SUBSETTED"
    assert outcome(client.get(f"{BASE}/Patient/p1", params={"_summary": "count"}), 400)


# -- create -------------------------------------------------------------------------------------


def test_create_answers_201_with_location_and_the_stored_resource(client: TestClient, backend: FakeBackend) -> None:
    response = client.post(f"{BASE}/Patient", json=_patient(id="chosen-by-client"), headers=FHIR_JSON)
    body = ok(response, 201)
    assert body["id"] != "chosen-by-client" and body["id"] in backend.patients
    assert response.headers["location"] == f"http://testserver{BASE}/Patient/{body['id']}/_history/1"
    assert response.headers["etag"] == 'W/"1"' and "last-modified" in response.headers
    assert body["name"] == [{"family": "Nguyen", "given": ["Mai"]}]
    assert backend.calls_to("Patient", CREATE) == 1


@pytest.mark.parametrize("media", ["application/fhir+json", "application/json", "application/fhir+json; charset=utf-8"])
def test_create_takes_fhir_json_media_types(client: TestClient, media: str) -> None:
    assert client.post(f"{BASE}/Patient", json=_patient(), headers={"Content-Type": media}).status_code == 201


def test_create_return_minimal_has_no_body(client: TestClient) -> None:
    response = client.post(f"{BASE}/Patient", json=_patient(), headers={**FHIR_JSON, "Prefer": "return=minimal"})
    assert response.status_code == 201 and response.content == b""
    assert "/Patient/" in response.headers["location"] and response.headers["etag"] == 'W/"1"'


def test_create_return_operation_outcome_reports_what_the_vendor_did_not_store(client: TestClient) -> None:
    resource = _patient(maritalStatus={"text": "married"})
    response = client.post(f"{BASE}/Patient", json=resource, headers={**FHIR_JSON, "Prefer": "return=OperationOutcome"})
    body = ok(response, 201)
    assert body["resourceType"] == "OperationOutcome"
    first, *rest = body["issue"]
    assert first["severity"] == "information" and first["diagnostics"].endswith(" created")
    assert [(i["severity"], i["expression"]) for i in rest] == [("warning", ["Patient.maritalStatus"])]
    assert "location" in response.headers


def test_create_refuses_what_is_not_a_fhir_resource_without_calling_the_vendor(
    client: TestClient, backend: FakeBackend
) -> None:
    assert outcome(client.post(f"{BASE}/Patient", content=b'{"resourceType":"Patient"}'), 415)
    assert outcome(client.post(f"{BASE}/Patient", content=b"{not json", headers=FHIR_JSON), 400)
    assert outcome(client.post(f"{BASE}/Patient", content=b"[1, 2]", headers=FHIR_JSON), 400)
    wrong_type = outcome(client.post(f"{BASE}/Patient", json={"resourceType": "Observation"}, headers=FHIR_JSON), 400)
    assert wrong_type["issue"][0]["expression"] == ["resourceType"]
    invalid = outcome(
        client.post(f"{BASE}/Patient", json=_patient(gender=["x"], active="maybe"), headers=FHIR_JSON), 400
    )
    assert invalid["issue"][0]["code"] == "structure" and len(invalid["issue"]) >= 2
    assert backend.calls_to("Patient", CREATE) == 0


def test_codes_outside_a_required_binding_are_400_naming_each_element(client: TestClient, backend: FakeBackend) -> None:
    """Required bindings (R4 terminologies.html#required): the model alone accepts any string."""
    body = _patient(gender="banana", telecom=[{"system": "phone", "value": "1"}, {"system": "pigeon", "value": "2"}])
    invalid = outcome(client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON), 400)
    assert [i["expression"] for i in invalid["issue"]] == [["Patient.gender"], ["Patient.telecom[1].system"]]
    assert "male, female, other, unknown" in invalid["issue"][0]["diagnostics"]
    assert outcome(client.put(f"{BASE}/Patient/p1", json={**body, "id": "p1"}, headers=FHIR_JSON), 400)
    assert backend.calls_to("Patient", CREATE) == 0
    assert client.post(f"{BASE}/Patient", json=_patient(gender="unknown"), headers=FHIR_JSON).status_code == 201


def test_control_characters_in_strings_are_400_naming_each_element(client: TestClient, backend: FakeBackend) -> None:
    # R4 datatypes.html#string: no character below U+0020 but tab, CR and LF. Stored, it came
    # back in every read, and a CCD (XML 1.0) could not carry it.
    body = _patient(name=[{"family": "Zz\u0001atk\u001b[31m", "given": ["Mai"]}])
    body["telecom"] = [{"system": "email", "value": "zz\u0007@example.org"}]
    invalid = outcome(client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON), 400)
    assert [i["expression"] for i in invalid["issue"]] == [["Patient.name[0].family"], ["Patient.telecom[0].value"]]
    assert outcome(client.put(f"{BASE}/Patient/p1", json={**body, "id": "p1"}, headers=FHIR_JSON), 400)
    assert backend.calls_to("Patient", CREATE) == 0
    spaced = _patient(name=[{"family": "Nguyen", "given": ["Mai\tAnh"]}], address=[{"text": "1 Main St\r\nApt 2"}])
    assert client.post(f"{BASE}/Patient", json=spaced, headers=FHIR_JSON).status_code == 201


def test_a_body_in_another_charset_than_utf8_is_415(client: TestClient, backend: FakeBackend) -> None:
    # FHIR's JSON is UTF-8: a Latin-1 body read as UTF-8 would be another name.
    latin = {"Content-Type": "application/fhir+json; charset=ISO-8859-1"}
    body = json.dumps(_patient(name=[{"family": "Åberg"}]), ensure_ascii=False).encode("latin-1")
    refused = outcome(client.post(f"{BASE}/Patient", content=body, headers=latin), 415)
    assert "UTF-8" in refused["issue"][0]["diagnostics"]
    assert backend.calls_to("Patient", CREATE) == 0
    # An ASCII body reads the same in any charset: its label does not matter (RFC 8259 §8.1).
    for charset in ("us-ascii", "ISO-8859-1"):
        ascii_only = {"Content-Type": f"application/fhir+json; charset={charset}"}
        assert client.post(f"{BASE}/Patient", json=_patient(), headers=ascii_only).status_code == 201


def test_a_body_of_another_fhir_version_is_415(client: TestClient, backend: FakeBackend) -> None:
    # R4 versioning.html#mt-version: the body says it is STU3; read as R4 it may mean otherwise.
    for version in ("3.0", '"1.0.2"', "5.0"):
        stu3 = {"Content-Type": f"application/fhir+json; fhirVersion={version}"}
        refused = outcome(client.post(f"{BASE}/Patient", json=_patient(), headers=stu3), 415)
        assert "R4" in refused["issue"][0]["diagnostics"]
    assert backend.calls_to("Patient", CREATE) == 0
    for version in ("4.0", "4.0.1"):
        r4 = {"Content-Type": f"application/fhir+json; charset=utf-8; fhirVersion={version}"}
        assert client.post(f"{BASE}/Patient", json=_patient(), headers=r4).status_code == 201


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate, gzip"])
def test_a_body_with_a_content_coding_is_415(client: TestClient, backend: FakeBackend, coding: str) -> None:
    # RFC 9110 §15.5.16: a coding not taken is a 415 naming what is (Accept-Encoding, §12.5.3);
    # a gzip body was "not valid JSON", a plain one labelled br was taken as if unlabelled.
    raw = json.dumps(_patient()).encode()
    body = gzip.compress(raw) if "gzip" in coding else raw
    headers = {**FHIR_JSON, "Content-Encoding": coding}
    response = client.post(f"{BASE}/Patient", content=body, headers=headers)
    assert "Content-Encoding" in outcome(response, 415)["issue"][0]["diagnostics"]
    assert response.headers["accept-encoding"] == "identity"
    assert backend.calls_to("Patient", CREATE) == 0
    plain = {**FHIR_JSON, "Content-Encoding": "identity"}
    assert client.post(f"{BASE}/Patient", content=raw, headers=plain).status_code == 201


def test_a_body_of_too_many_values_is_413_before_any_validation(client: TestClient, backend: FakeBackend) -> None:
    # 495,000 one-byte values fit in 1 MB: validating them and listing each error took seconds
    # and made a 100 MB answer.
    body = b'{"resourceType":"Patient","identifier":[' + b",".join([b"1"] * 495_000) + b"]}"
    refused = outcome(client.post(f"{BASE}/Patient", content=body, headers=FHIR_JSON), 413)
    assert "10000 JSON values" in refused["issue"][0]["diagnostics"] and len(refused["issue"]) == 1
    assert outcome(client.put(f"{BASE}/Patient/p1", content=body, headers=FHIR_JSON), 413)
    assert backend.calls_to("Patient", CREATE) == 0 and backend.calls_to("Patient", UPDATE) == 0


def test_an_invalid_body_lists_the_first_100_problems_and_counts_the_rest(
    client: TestClient, backend: FakeBackend
) -> None:
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(identifier=[1] * 150), headers=FHIR_JSON), 400)
    issues = invalid["issue"]
    assert len(issues) == 101
    assert issues[0]["expression"][0].startswith("Patient.identifier[0]")
    assert issues[99]["expression"][0].startswith("Patient.identifier[99]")
    assert issues[100]["diagnostics"] == "50 more problems of the same body are not listed"
    assert backend.calls_to("Patient", CREATE) == 0


def test_a_body_too_large_is_413(client: TestClient, backend: FakeBackend) -> None:
    huge = b'{"resourceType":"Patient","text":"' + b"x" * 1_000_001 + b'"}'
    assert outcome(client.post(f"{BASE}/Patient", content=huge, headers=FHIR_JSON), 413)
    assert backend.calls_to("Patient", CREATE) == 0


# -- conditional create -------------------------------------------------------------------------


def test_if_none_exist_answers_the_one_match_without_creating(client: TestClient, backend: FakeBackend) -> None:
    existing = backend.add_patient("p1", identifier="MRN-1")
    headers = {**FHIR_JSON, "If-None-Exist": "identifier=urn:fake:mrn|MRN-1"}
    response = client.post(f"{BASE}/Patient", json=_patient(), headers=headers)
    assert ok(response, 200) == existing
    assert response.headers["location"].endswith("/Patient/p1/_history/1")
    assert backend.calls_to("Patient", CREATE) == 0 and len(backend.patients) == 1


def test_if_none_exist_creates_when_nothing_matches(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", identifier="MRN-1")
    headers = {**FHIR_JSON, "If-None-Exist": "Patient?identifier=urn:fake:mrn|MRN-2"}
    sent = _patient(identifier=[{"system": "urn:fake:mrn", "value": "MRN-2"}])
    assert ok(client.post(f"{BASE}/Patient", json=sent, headers=headers), 201)["id"] != "p1"
    # One search: the record created meets the condition, so it is not searched for again.
    assert backend.calls_to("Patient", SEARCH) == 1 and backend.calls_to("Patient", CREATE) == 1


def test_a_created_record_its_condition_does_not_select_is_said(client: TestClient, backend: FakeBackend) -> None:
    # As stored, the record does not meet If-None-Exist: the same request again would create
    # another, which the client must know (it relies on the condition to stay idempotent).
    said = {**FHIR_JSON, "Prefer": "return=OperationOutcome"}
    sent = _patient(identifier=[{"system": "urn:fake:mrn", "value": "MRN-7"}])
    meets = ok(client.post(f"{BASE}/Patient", json=sent, headers={**said, "If-None-Exist": "identifier=MRN-7"}), 201)
    assert [i["severity"] for i in meets["issue"]] == ["information"]
    misses = client.post(f"{BASE}/Patient", json=sent, headers={**said, "If-None-Exist": "family=Other"})
    warning = ok(misses, 201)["issue"][1]
    assert warning["severity"] == "warning" and "would not find it" in warning["diagnostics"]


@pytest.mark.slow
def test_conditional_creates_wait_only_for_the_same_criteria(backend: FakeBackend) -> None:
    # The same condition sent twice waits for the first create and answers its record; another
    # condition (the next record of a bulk load) is not held up behind a slow create.
    plain_create = backend.create_patient
    finished: list[str] = []

    async def create_slowly_for_slow(resource: dict[str, Any]) -> Written:
        if resource["name"][0]["family"] == "Slow":
            await asyncio.sleep(1.5)
        return await plain_create(resource)

    backend.create_patient = create_slowly_for_slow  # type: ignore[method-assign]

    def post(family: str, condition: str) -> httpx.Response:
        headers = {**FHIR_JSON, "If-None-Exist": condition}
        answer = client.post(f"{BASE}/Patient", json=_patient(name=[{"family": family}]), headers=headers)
        finished.append(family if answer.status_code == 201 else f"{family} {answer.status_code}")
        return answer

    with fake_gateway(backend) as client, ThreadPoolExecutor(3) as pool:
        slow = pool.submit(post, "Slow", "family:exact=Slow")
        time.sleep(0.3)  # the first is creating
        again = pool.submit(post, "Slow", "family:exact=Slow")  # the same criteria
        other = pool.submit(post, "Quick", "family:exact=Quick")
        answers = [slow.result(), again.result(), other.result()]
    assert [a.status_code for a in answers] == [201, 200, 201], [a.text for a in answers]
    assert answers[1].json()["id"] == answers[0].json()["id"]
    # The other condition did not wait. The two "Slow" answers finish together, in either order.
    assert finished[0] == "Quick", finished
    assert sorted(finished[1:]) == ["Slow", "Slow 200"], finished
    assert backend.calls_to("Patient", CREATE) == 2


def test_if_none_exist_matching_several_is_412(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(2, family="Twin")
    headers = {**FHIR_JSON, "If-None-Exist": "family:exact=Twin"}
    assert outcome(client.post(f"{BASE}/Patient", json=_patient(), headers=headers), 412)
    assert backend.calls_to("Patient", CREATE) == 0


@pytest.mark.parametrize(
    "condition", ["", " ", "_count=1", "unknown=1", "family:text=x", "identifier=%ZZ", "family=%C5berg"]
)
def test_if_none_exist_without_usable_criteria_is_400(client: TestClient, backend: FakeBackend, condition: str) -> None:
    # An empty header too: a client whose condition came out empty asked for a guard it lacks.
    headers = {**FHIR_JSON, "If-None-Exist": condition}
    body = outcome(client.post(f"{BASE}/Patient", json=_patient(), headers=headers), 400)
    assert body["issue"][0]["expression"] == ["If-None-Exist"]
    assert backend.calls_to("Patient", CREATE) == 0


def test_if_none_exist_that_cannot_be_checked_completely_is_refused() -> None:
    # The gateway filters `birthdate`: two vendor pages of one record, no matches in 25 calls.
    backend = FakeBackend(page_size=1)
    backend.add_patients(30, birth_date="1950-01-01")
    with fake_gateway(backend) as client:
        headers = {**FHIR_JSON, "If-None-Exist": "birthdate=2000-01-01"}
        assert outcome(client.post(f"{BASE}/Patient", json=_patient(), headers=headers), 422)
    assert backend.calls_to("Patient", CREATE) == 0


def test_a_vendor_duplicate_answers_the_condition_only_if_it_meets_it(client: TestClient, backend: FakeBackend) -> None:
    backend.refuse_duplicates = True
    backend.add_patient("p1", family="Nguyen", identifier="MRN-1")
    backend.unindexed.add("p1")  # created a moment ago: the vendor's search does not find it yet
    resource = _patient(identifier=[{"system": "urn:fake:mrn", "value": "MRN-1"}])
    # The condition's search missed it; the vendor's duplicate meets the condition: that is the answer.
    meets = {**FHIR_JSON, "If-None-Exist": "identifier=urn:fake:mrn|MRN-1"}
    response = client.post(f"{BASE}/Patient", json=resource, headers={**meets, "Prefer": "return=OperationOutcome"})
    assert ok(response, 200)["issue"][0]["diagnostics"] == "Patient/p1 matched If-None-Exist; nothing created"
    # A duplicate that does not meet the client's condition is not "the patient you asked about".
    misses = {**FHIR_JSON, "If-None-Exist": "family=someone-else"}
    assert outcome(client.post(f"{BASE}/Patient", json=resource, headers=misses), 409)["issue"][0]["code"] == "conflict"
    assert outcome(client.post(f"{BASE}/Patient", json=resource, headers=FHIR_JSON), 409)
    assert len(backend.patients) == 1


# -- update ---------------------------------------------------------------------------------------


def test_update_answers_the_new_version(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.clock.advance(60)
    response = client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers=FHIR_JSON)
    body = ok(response)
    assert body["meta"]["versionId"] == "2" and response.headers["etag"] == 'W/"2"'
    assert response.headers["location"].endswith("/Patient/p1/_history/2")
    assert response.headers["last-modified"] == "Wed, 01 May 2024 12:01:00 GMT"
    assert backend.patients["p1"]["name"][0]["family"] == "Nguyen"


@pytest.mark.parametrize("etag", ['W/"1"', '"1"'])
def test_update_with_the_current_etag_succeeds(client: TestClient, backend: FakeBackend, etag: str) -> None:
    backend.add_patient("p1")
    response = client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers={**FHIR_JSON, "If-Match": etag})
    assert response.status_code == 200


def test_update_with_a_stale_etag_is_412_and_changes_nothing(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", family="Before")
    assert client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers=FHIR_JSON).status_code == 200
    stale = client.put(
        f"{BASE}/Patient/p1", json=_patient(id="p1", gender="male"), headers={**FHIR_JSON, "If-Match": 'W/"1"'}
    )
    assert outcome(stale, 412)["issue"][0]["code"] == "conflict"
    assert backend.patients["p1"]["gender"] == "female" and backend.patients["p1"]["meta"]["versionId"] == "2"


@pytest.mark.slow
def test_two_updates_with_one_if_match_in_flight_at_once_are_one_200_and_one_412(backend: FakeBackend) -> None:
    # An adapter whose vendor keeps no version compares just before writing: two PUTs holding
    # one If-Match, in flight together, would both find it current and both write, one
    # client's update lost though answered 200 (R4 http.html#concurrency). A PUT of another
    # record, or one without a precondition, goes on beside them.
    plain_update = backend.update_patient

    async def compare_then_write_slowly(resource_id: str, resource: dict[str, Any], version: str | None) -> Written:
        now = backend.patients[resource_id]["meta"]["versionId"]
        if version is not None and version != now:
            raise PreconditionFailed(f"Patient/{resource_id} is at version {now}, not {version}")
        await asyncio.sleep(0.5)  # the vendor's write, after the comparison
        return await plain_update(resource_id, resource, None)

    backend.update_patient = compare_then_write_slowly  # type: ignore[method-assign]
    backend.add_patient("p1", family="Before")
    backend.add_patient("p2", family="Other")

    def put(resource_id: str, family: str, if_match: str | None) -> httpx.Response:
        headers = {**FHIR_JSON, **({"If-Match": if_match} if if_match else {})}
        return client.put(
            f"{BASE}/Patient/{resource_id}", json=_patient(id=resource_id, name=[{"family": family}]), headers=headers
        )

    with fake_gateway(backend) as client, ThreadPoolExecutor(4) as pool:
        first = pool.submit(put, "p1", "First", 'W/"1"')
        time.sleep(0.1)
        second = pool.submit(put, "p1", "Second", 'W/"1"')
        elsewhere = pool.submit(put, "p2", "Elsewhere", 'W/"1"')
        unchecked = pool.submit(put, "p2", "Unchecked", None)
        answers = [first.result(), second.result(), elsewhere.result(), unchecked.result()]
    assert [a.status_code for a in answers] == [200, 412, 200, 200], [a.text for a in answers]
    assert backend.patients["p1"]["name"][0]["family"] == "First"
    assert backend.patients["p1"]["meta"]["versionId"] == "2"


@pytest.mark.parametrize("etag", ["1", "W/1", 'W/"', ""])
def test_a_malformed_if_match_is_400(client: TestClient, backend: FakeBackend, etag: str) -> None:
    backend.add_patient("p1")
    response = client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers={**FHIR_JSON, "If-Match": etag or " "})
    assert outcome(response, 400)
    assert backend.calls_to("Patient", UPDATE) == 0


def test_update_needs_the_id_of_the_url_in_the_body(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    missing = outcome(client.put(f"{BASE}/Patient/p1", json=_patient(), headers=FHIR_JSON), 400)["issue"][0]
    other = outcome(client.put(f"{BASE}/Patient/p1", json=_patient(id="p2"), headers=FHIR_JSON), 400)["issue"][0]
    assert missing["diagnostics"] == "The body has no id; it must carry the id in the URL ('p1')"  # no Python None
    assert other["diagnostics"] == "The body has id 'p2'; it must carry the id in the URL ('p1')"
    assert missing["expression"] == other["expression"] == ["id"]
    assert backend.calls_to("Patient", UPDATE) == 0


def test_update_of_a_missing_resource_is_405_not_a_create(client: TestClient, backend: FakeBackend) -> None:
    # R4 http.html#update: the record did not exist and clients may not choose ids (updateCreate
    # is false), so 405, with the methods that the URL does answer (RFC 9110 section 15.5.6).
    response = client.put(f"{BASE}/Patient/p9", json=_patient(id="p9"), headers=FHIR_JSON)
    assert "POST" in outcome(response, 405)["issue"][0]["diagnostics"]
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "DELETE"} <= allowed and "PUT" not in allowed
    assert "p9" not in backend.patients


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [("return=minimal", None), ("return=representation", "Patient"), ("return=OperationOutcome", "OperationOutcome")],
)
def test_update_answers_what_prefer_asks_for(
    client: TestClient, backend: FakeBackend, prefer: str, expected: str | None
) -> None:
    backend.add_patient("p1")
    response = client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers={**FHIR_JSON, "Prefer": prefer})
    assert response.status_code == 200 and response.headers["etag"] == 'W/"2"'
    if expected is None:
        assert response.content == b""
    else:
        body = response.json()
        assert body["resourceType"] == expected
        if expected == "OperationOutcome":
            assert body["issue"][0]["diagnostics"] == "Patient/p1 updated"


# -- delete ---------------------------------------------------------------------------------------


def test_delete_is_204_and_a_missing_resource_404(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    response = client.delete(f"{BASE}/Patient/p1")
    assert response.status_code == 204 and response.content == b""
    assert outcome(client.delete(f"{BASE}/Patient/p2"), 404)
    assert outcome(client.delete(f"{BASE}/Patient/p1"), 410)


# -- a read-only type ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/Observation"), ("PUT", "/Observation/o1"), ("DELETE", "/Observation/o1"), ("PATCH", "/Observation/o1")],
)
def test_writes_to_a_read_only_type_are_405_listing_what_works(
    client: TestClient, backend: FakeBackend, method: str, path: str
) -> None:
    backend.add_patient("p1")
    backend.add_observation("p1", "o1")
    response = client.request(method, f"{BASE}{path}", json={"resourceType": "Observation"}, headers=FHIR_JSON)
    assert outcome(response, 405)["issue"][0]["code"] == "not-supported"
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD"}
    assert backend.calls_to("Observation") == 0


# -- conditional writes (RFC 9110 section 13.1; FHIR http.html#concurrency) -----------------------

OLD_DATE = "Thu, 01 Jan 1970 00:00:00 GMT"  # before the record's lastUpdated
LATER_DATE = "Fri, 01 Jan 2100 00:00:00 GMT"


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Match": 'W/"0"'},
        {"If-Match": 'W/"0", W/"7"'},
        {"If-None-Match": "*"},
        {"If-None-Match": 'W/"0", W/"1"'},
        {"If-Unmodified-Since": OLD_DATE},
    ],
)
def test_a_delete_whose_precondition_fails_is_412_and_deletes_nothing(
    client: TestClient, backend: FakeBackend, headers: dict[str, str]
) -> None:
    backend.add_patient("p1")
    assert outcome(client.delete(f"{BASE}/Patient/p1", headers=headers), 412)["issue"][0]["code"] == "conflict"
    assert backend.calls_to("Patient", DELETE) == 0
    assert client.get(f"{BASE}/Patient/p1").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Match": 'W/"1"'},
        {"If-Match": '"1"'},
        {"If-Match": "*"},
        {"If-Match": 'W/"0", W/"1"'},
        {"If-None-Match": 'W/"0"'},
        {"If-Unmodified-Since": LATER_DATE},
        {"If-Unmodified-Since": "not a date"},  # ignored (RFC 9110 section 13.1.4)
        {"If-Match": 'W/"1"', "If-Unmodified-Since": OLD_DATE},  # If-Match decides (section 13.2.2)
    ],
)
def test_a_delete_whose_preconditions_hold_is_204(
    client: TestClient, backend: FakeBackend, headers: dict[str, str]
) -> None:
    backend.add_patient("p1")
    assert client.delete(f"{BASE}/Patient/p1", headers=headers).status_code == 204
    assert backend.calls_to("Patient", DELETE) == 1


@pytest.mark.parametrize("etag", ["", "1", 'W/"1", 2'])
def test_a_malformed_if_match_on_delete_is_400(client: TestClient, backend: FakeBackend, etag: str) -> None:
    backend.add_patient("p1")
    assert outcome(client.delete(f"{BASE}/Patient/p1", headers={"If-Match": etag}), 400)
    assert backend.calls_to("Patient", DELETE) == 0


def test_an_update_of_no_record_answers_as_without_preconditions(client: TestClient, backend: FakeBackend) -> None:
    # RFC 9110 section 13.2.1: preconditions count only where the request would otherwise succeed.
    for etag in ('W/"1"', "*"):
        headers = {**FHIR_JSON, "If-Match": etag}
        assert outcome(client.put(f"{BASE}/Patient/p9", json=_patient(id="p9"), headers=headers), 405)
    backend.add_patient("p1")
    assert client.delete(f"{BASE}/Patient/p1").status_code == 204
    for etag in ('W/"1"', "*"):
        headers = {**FHIR_JSON, "If-Match": etag}
        assert outcome(client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers=headers), 410)


def test_if_match_on_a_delete_of_no_record_fails(client: TestClient, backend: FakeBackend) -> None:
    # A DELETE of no record is a 204 with the vendors' adapters (README): so If-Match, which
    # holds only for a current record (section 13.1.1), fails there.
    for etag in ('W/"1"', "*"):
        assert outcome(client.delete(f"{BASE}/Patient/p9", headers={"If-Match": etag}), 412)
    assert backend.calls_to("Patient", DELETE) == 0


def test_a_date_no_datetime_can_hold_is_ignored(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")  # not an HTTP-date this server can read: ignored (section 13.1.4)
    huge = {"If-Unmodified-Since": "Sun, 06 Nov 99999999999999999999 08:49:37 GMT"}
    assert client.delete(f"{BASE}/Patient/p1", headers=huge).status_code == 204


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": "*"},
        {"If-None-Match": 'W/"1"'},
        {"If-Unmodified-Since": OLD_DATE},
        {"If-Match": 'W/"0", W/"7"'},
        {"If-Match": ""},
    ],
)
def test_an_update_whose_precondition_fails_is_refused_and_changes_nothing(
    client: TestClient, backend: FakeBackend, headers: dict[str, str]
) -> None:
    backend.add_patient("p1", family="Before")
    response = client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers={**FHIR_JSON, **headers})
    assert outcome(response, 400 if headers.get("If-Match") == "" else 412)
    assert backend.calls_to("Patient", UPDATE) == 0
    assert backend.patients["p1"]["name"][0]["family"] == "Before"


@pytest.mark.parametrize(
    "headers",
    [{"If-None-Match": 'W/"0"'}, {"If-Unmodified-Since": LATER_DATE}, {"If-Match": 'W/"1", W/"5"'}, {"If-Match": "*"}],
)
def test_an_update_whose_preconditions_hold_is_made(
    client: TestClient, backend: FakeBackend, headers: dict[str, str]
) -> None:
    backend.add_patient("p1", family="Before")
    response = client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers={**FHIR_JSON, **headers})
    assert ok(response)["meta"]["versionId"] == "2"
    assert backend.patients["p1"]["name"][0]["family"] == "Nguyen"


def test_a_field_sent_on_several_lines_is_one_list(client: TestClient, backend: FakeBackend) -> None:
    # RFC 9110 section 5.3: the second line's W/"1" matches, so If-None-Match fails.
    backend.add_patient("p1")
    lines = [("If-None-Match", 'W/"0"'), ("If-None-Match", 'W/"1"')]
    assert outcome(client.delete(f"{BASE}/Patient/p1", headers=lines), 412)
    assert backend.calls_to("Patient", DELETE) == 0


def test_empty_list_elements_are_skipped(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")  # RFC 9110 section 5.6.1.2
    assert client.delete(f"{BASE}/Patient/p1", headers={"If-Match": 'W/"0", , W/"1",'}).status_code == 204


def test_an_asctime_date_is_read_as_gmt(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")  # RFC 9110 section 5.6.7: the obsolete asctime form is accepted
    stale = {"If-Unmodified-Since": "Thu Jan  1 00:00:00 1970"}
    assert outcome(client.delete(f"{BASE}/Patient/p1", headers=stale), 412)


def test_if_match_on_a_deleted_record_fails(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    assert client.delete(f"{BASE}/Patient/p1").status_code == 204
    for etag in ('W/"1"', "*"):  # no current version: If-Match cannot hold (section 13.1.1)
        assert outcome(client.delete(f"{BASE}/Patient/p1", headers={"If-Match": etag}), 412)


def test_a_date_only_last_updated_counts_as_its_whole_day(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.patients["p1"]["meta"]["lastUpdated"] = "2024-05-01"
    noon = {"If-Unmodified-Since": "Wed, 01 May 2024 12:00:00 GMT"}  # it may have changed after noon
    assert outcome(client.delete(f"{BASE}/Patient/p1", headers=noon), 412)
    next_day = {"If-Unmodified-Since": "Thu, 02 May 2024 00:00:00 GMT"}
    assert client.delete(f"{BASE}/Patient/p1", headers=next_day).status_code == 204


def test_if_unmodified_since_holds_within_the_second_of_a_write(
    client: TestClient, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A vendor keeping lastUpdated to the second (Nextvisit): written at 12:00:00, checked at
    # 12:00:00.4. The second it names began before now, so it is not "dated ahead"; read as
    # its last microsecond it was, and the failing condition was dropped: 204, record deleted.
    written = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)

    class _JustAfter(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> _JustAfter:
            return cls.fromtimestamp((written + timedelta(milliseconds=400)).timestamp(), tz)

    monkeypatch.setattr("gateway.rest.preconditions.datetime", _JustAfter)
    backend.add_patient("p1")
    backend.patients["p1"]["meta"]["lastUpdated"] = "2026-12-07T12:00:00Z"
    stale = {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    assert outcome(client.delete(f"{BASE}/Patient/p1", headers=stale), 412)
    assert backend.calls_to("Patient", DELETE) == 0
    given = {"If-Unmodified-Since": "Mon, 07 Dec 2026 12:00:00 GMT"}  # its own Last-Modified holds
    assert client.delete(f"{BASE}/Patient/p1", headers=given).status_code == 204


def test_binding_problems_are_listed_up_to_100_and_counted(client: TestClient, backend: FakeBackend) -> None:
    telecom = [{"system": "pigeon", "value": str(n)} for n in range(150)]
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(telecom=telecom), headers=FHIR_JSON), 400)
    assert len(invalid["issue"]) == 101
    assert invalid["issue"][100]["diagnostics"] == "50 more problems of the same body are not listed"


def _named(invalid: dict[str, Any]) -> list[str]:
    return [expression for issue in invalid["issue"] for expression in issue.get("expression", [])]


def test_one_400_names_structural_and_binding_problems_together(client: TestClient, backend: FakeBackend) -> None:
    # R4 operationoutcome.html: one issue per problem, so the client fixes the body in one go.
    body = _patient(gender="x", foo=1, telecom=[{"system": "pigeon", "value": 7}])
    invalid = outcome(client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON), 400)
    assert sorted(_named(invalid)) == [
        "Patient.foo",
        "Patient.gender",
        "Patient.telecom[0].system",
        "Patient.telecom[0].value",
    ]
    assert backend.calls_to("Patient", CREATE) == 0


@pytest.mark.parametrize(
    ("element", "said"),
    [
        ({"birthDate": "1990-13-01"}, "Patient.birthDate: not a valid FHIR date"),
        ({"birthDate": 19900101}, "Patient.birthDate: must be a JSON string"),  # read as a Unix time
        ({"deceasedDateTime": "2020-01-01T10:00"}, "Patient.deceasedDateTime: not a valid FHIR dateTime"),
        ({"telecom": [{"system": "phone", "value": ""}]}, "Patient.telecom[0].value: must not be empty"),
    ],
)
def test_a_malformed_element_is_said_in_fhir_terms(client: TestClient, element: dict[str, Any], said: str) -> None:
    # Not pydantic's "Value error, Date value string does not match spec regex." or a pattern
    # with raw line breaks in it.
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(**element), headers=FHIR_JSON), 400)
    diagnostics = invalid["issue"][0]["diagnostics"]
    assert diagnostics.startswith(said), diagnostics
    assert "Value error" not in diagnostics and "\n" not in diagnostics


@pytest.mark.parametrize(
    ("element", "said"),
    [
        ({"active": "yes"}, "Patient.active: must be a JSON boolean (true or false), not a string"),
        ({"active": "true"}, "Patient.active: must be a JSON boolean (true or false), not a string"),
        ({"multipleBirthInteger": "2"}, "Patient.multipleBirthInteger: must be a JSON number without a fraction"),
        ({"multipleBirthInteger": True}, "Patient.multipleBirthInteger: must be a JSON number without a fraction"),
        ({"multipleBirthInteger": 2.0}, "Patient.multipleBirthInteger: must be a JSON number without a fraction"),
        (
            {"extension": [{"url": "https://example.org/weight", "valueDecimal": "1.5"}]},
            "Patient.extension[0].valueDecimal: must be a JSON number, not a string",
        ),
        (
            {"_active": {"extension": [{"url": "https://example.org/x", "valueBoolean": "false"}]}},
            "Patient._active.extension[0].valueBoolean: must be a JSON boolean",
        ),
    ],
)
def test_a_primitive_sent_as_another_json_type_is_400(
    client: TestClient, backend: FakeBackend, element: dict[str, Any], said: str
) -> None:
    # R4 json.html#primitive: boolean is a JSON boolean, integer and decimal JSON numbers. The
    # model's lax mode took "yes" as true, and the vendor's mapping was handed the string.
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(**element), headers=FHIR_JSON), 400)
    assert [issue["diagnostics"][: len(said)] for issue in invalid["issue"]] == [said]
    assert outcome(client.put(f"{BASE}/Patient/p1", json={**_patient(**element), "id": "p1"}, headers=FHIR_JSON), 400)
    assert backend.calls_to("Patient", CREATE) == 0 and backend.calls_to("Patient", UPDATE) == 0


def test_primitives_in_their_own_json_types_are_taken(client: TestClient) -> None:
    body = _patient(
        active=False,
        multipleBirthInteger=2,
        extension=[{"url": "https://example.org/weight", "valueDecimal": 70}],
    )
    assert client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON).status_code == 201


@pytest.mark.parametrize(
    ("element", "named"),
    [
        ({"name": [{"family": "Nguyen", "given": ["Mai", 7]}]}, "Patient.name[0].given[1]"),
        ({"active": ["yes"]}, "Patient.active"),  # an array where one value belongs
        ({"name": [{"family": "Nguyen", "given": "Mai"}]}, "Patient.name[0].given"),  # the reverse
    ],
)
def test_an_element_of_the_wrong_json_type_is_named_once(
    client: TestClient, element: dict[str, Any], named: str
) -> None:
    # The model refuses it too, under the same FHIRPath (not again at `Patient.active[0]`).
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(**element), headers=FHIR_JSON), 400)
    assert _named(invalid) == [named]


def test_a_malformed_decimal_is_said_in_fhir_terms(client: TestClient) -> None:
    # FHIR's type is `decimal` (R4 datatypes.html#decimal), not the model's class name.
    body = _patient(extension=[{"url": "https://example.org/weight", "valueDecimal": "1,5"}])
    invalid = outcome(client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON), 400)
    diagnostics = invalid["issue"][0]["diagnostics"]
    said = "Patient.extension[0].valueDecimal: not a valid FHIR decimal (R4 datatypes.html#decimal)"
    assert diagnostics.startswith(said), diagnostics


def test_an_element_both_malformed_and_outside_its_binding_is_named_once(client: TestClient) -> None:
    # The model's error and the binding check name it by the same FHIRPath (brackets for the index).
    body = _patient(telecom=[{"system": "no such  system", "value": "1"}])
    invalid = outcome(client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON), 400)
    assert _named(invalid) == ["Patient.telecom[0].system"]


def test_a_body_the_model_cannot_read_is_a_400_not_a_500(client: TestClient) -> None:
    body = _patient(gender="x", name="not a list", contained=[{"resourceType": "NoSuchType"}])
    invalid = outcome(client.post(f"{BASE}/Patient", json=body, headers=FHIR_JSON), 400)
    assert sorted(_named(invalid)) == ["Patient.contained[0]", "Patient.gender"]
    broken = _patient(gender="x", name="not a list", contact=[{"gender": "q", "foo": 1}])
    invalid = outcome(client.post(f"{BASE}/Patient", json=broken, headers=FHIR_JSON), 400)
    assert sorted(_named(invalid)) == [
        "Patient.contact[0].foo",
        "Patient.contact[0].gender",
        "Patient.gender",
        "Patient.name",
    ]


@pytest.mark.parametrize(
    ("contained", "said"),
    [
        ({"resourceType": 5}, "resourceType must be a string"),
        ({"resourceType": None}, "resourceType must be a string"),
        ({"id": "c1"}, "a contained resource needs its resourceType"),
    ],
)
def test_a_contained_resource_without_a_resource_type_is_a_400_not_a_500(
    client: TestClient, backend: FakeBackend, contained: dict[str, Any], said: str
) -> None:
    # The model met a resourceType that is not a string with a TypeError (a 500), and took a
    # contained resource without one.
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(contained=[contained]), headers=FHIR_JSON), 400)
    assert _named(invalid) == ["Patient.contained[0]"]
    assert said in invalid["issue"][0]["diagnostics"]
    assert backend.calls_to("Patient", CREATE) == 0


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ({"family": "Prim2", "given": ["A"], "_given": [None, {"id": "g1"}]}, "Patient.name[0].given"),
        ({"family": "Prim2", "given": ["A", "B"], "_given": [{"id": "g1"}]}, "Patient.name[0].given"),
    ],
)
def test_primitive_arrays_that_do_not_line_up_are_a_400(
    client: TestClient, backend: FakeBackend, name: dict[str, Any], named: str
) -> None:
    # R4 json.html#primitive: `given` and `_given` line up item by item. The model took
    # `_given` longer than `given`, and a vendor stored both and served invalid JSON back.
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(name=[name]), headers=FHIR_JSON), 400)
    assert _named(invalid) == [named]
    assert backend.calls_to("Patient", CREATE) == 0
    aligned = {"family": "Prim2", "given": [None, "A"], "_given": [{"id": "g1"}, None]}
    assert client.post(f"{BASE}/Patient", json=_patient(name=[aligned]), headers=FHIR_JSON).status_code == 201
    only_extensions = {"family": "Prim2", "_given": [{"id": "g1"}]}  # no values at all: lines up
    assert client.post(f"{BASE}/Patient", json=_patient(name=[only_extensions]), headers=FHIR_JSON).status_code == 201


def test_a_body_nested_too_deep_is_a_400_not_a_500(client: TestClient, backend: FakeBackend) -> None:
    # A few KB of extensions inside extensions exhausted the model's recursion: a 500.
    extension: dict[str, Any] = {"url": "https://example.org/x", "valueString": "a"}
    for _ in range(200):
        extension = {"url": "https://example.org/x", "extension": [extension]}
    invalid = outcome(client.post(f"{BASE}/Patient", json=_patient(extension=[extension]), headers=FHIR_JSON), 400)
    assert "64 deep at most" in invalid["issue"][0]["diagnostics"]
    assert backend.calls_to("Patient", CREATE) == 0
    nested = {"url": "https://example.org/x", "valueString": "a"}
    for _ in range(5):  # as deep as real extensions go
        nested = {"url": "https://example.org/x", "extension": [nested]}
    assert client.post(f"{BASE}/Patient", json=_patient(extension=[nested]), headers=FHIR_JSON).status_code == 201


def test_a_write_conditional_on_the_last_modified_given_holds_for_a_record_dated_ahead(
    client: TestClient, backend: FakeBackend
) -> None:
    # A vendor clock ahead of ours: the read's Last-Modified is now (RFC 9110 section 8.8.2.1),
    # and If-Unmodified-Since compares the record's modification date as that header gave it, so
    # a client sending back what it was given is not refused as if the record had changed since.
    backend.add_patient("p1", family="Before")
    backend.patients["p1"]["meta"]["lastUpdated"] = "2999-01-01T00:00:00.000Z"
    given = client.get(f"{BASE}/Patient/p1").headers["last-modified"]
    assert not given.endswith("2999 00:00:00 GMT")
    unchanged = {**FHIR_JSON, "If-Unmodified-Since": given}
    assert client.get(f"{BASE}/Patient/p1", headers=unchanged).status_code == 200
    # The moment Last-Modified gives moves on with every answer: a date given a second (here,
    # an hour) before is not "modified since" either; the record has no date to hold it to
    # (RFC 9110 section 13.1.4), where it failed whenever a second boundary fell between the two.
    earlier = {**FHIR_JSON, "If-Unmodified-Since": "Mon, 07 Dec 2026 00:00:00 GMT"}
    assert client.get(f"{BASE}/Patient/p1", headers=earlier).status_code == 200
    assert ok(client.put(f"{BASE}/Patient/p1", json=_patient(id="p1"), headers=unchanged))["meta"]["versionId"] == "2"
    assert backend.patients["p1"]["name"][0]["family"] == "Nguyen"
