"""Generated document ids carry what to render, and come back from the URL unchanged."""

from __future__ import annotations

import pytest

from gateway.documents import ids
from gateway.errors import InvalidRequest, NotAcceptable
from gateway.rest.negotiation import FHIR_JSON, check_document_format, file_formats, wants_binary_resource, wants_html


@pytest.mark.parametrize(
    ("patient", "start", "end", "expected", "start_in_utc"),
    [
        ("123", None, None, "ccd-p.123", None),
        ("180.C00180", "2020-01-01", None, "ccd-p-20200101-.180.C00180", "2020-01-01"),
        ("a-b", None, "2024-06", "ccd-p--202406.a-b", None),
        ("x", "2024-01-02T03:04:05-06:00", "2025", "ccd-p-20240102T090405Z-2025.x", "2024-01-02T09:04:05Z"),
        # The year in four digits (strftime wrote "1", and the gateway could not read its own id)
        ("6", "0001-01-01T00:00:00Z", None, "ccd-p-00010101T000000Z-.6", "0001-01-01T00:00:00Z"),
        ("6", "0001-01-01T00:00:00-12:00", None, "ccd-p-00010101T120000Z-.6", "0001-01-01T12:00:00Z"),
    ],
)
def test_patient_documents_round_trip(
    patient: str, start: str | None, end: str | None, expected: str, start_in_utc: str | None
) -> None:
    made = ids.patient_document(patient, start, end)
    assert made == expected
    parsed = ids.parse(made)
    assert parsed is not None and parsed.patient == patient and parsed.encounter is None
    # A dateTime comes back in UTC: the same instant, written canonically.
    assert (parsed.start, parsed.end) == (start_in_utc, end)


def test_encounter_documents_round_trip() -> None:
    made = ids.encounter_document("3.e.5")
    assert made == "ccd-e.3.e.5"
    assert ids.parse(made) == ids.DocumentId(None, "3.e.5")


@pytest.mark.parametrize(
    "bad",
    ["ccd-", "ccd-p", "ccd-p.", "ccd-q.1", "ccd-p-2024.1", "ccd-p-x-.1", "ccd-p--.1", "123", "ccd-p-2024-2023.1"],
)
def test_malformed_ids_name_nothing(bad: str) -> None:
    assert ids.parse(bad) is None


def test_ids_stay_within_fhir_limits() -> None:
    with pytest.raises(InvalidRequest):
        ids.patient_document("p" * 60)


@pytest.mark.parametrize(
    ("format_param", "accept", "html"),
    [
        ("html", None, True),
        ("text/html", "application/xml", True),
        ("json", "text/html", False),
        (None, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        (None, "application/xml", False),
        (None, "application/xml, text/html", False),
        (None, "application/xml;q=0.5, text/html", True),
        # RFC 9110 section 12.5.1: a range names every type it covers, the most specific decides.
        (None, "text/*", True),
        (None, "text/*;q=0.9, application/xml;q=0.1", True),
        (None, "text/*, application/xml;q=0", True),
        (None, "application/*;q=0.5, text/html;q=0.4", False),
        (None, "text/*;q=0.5, text/xml", False),  # text/xml names the XML itself
        (None, "*/*", False),
        (None, "application/xml;q=0", True),
        (None, "text/html;q=0", False),
        (None, None, False),
    ],
)
def test_html_or_xml(format_param: str | None, accept: str | None, html: bool) -> None:
    assert wants_html(format_param, accept) is html


@pytest.mark.parametrize(
    ("format_param", "accept"),
    [
        ("foo", None),  # names no format a document has
        ("text/turtle", "application/xml"),
        ("xml", None),  # FHIR's xml: the Binary resource in XML
        (None, "application/fhir+xml"),
        (None, "application/fhir+xml, application/xml+fhir;q=0.5, text/html;q=0"),
        (None, "application/fhir+json; fhirVersion=3.0"),  # only FHIR JSON, of another version
        (None, "*/*;q=0"),  # every form ruled out (RFC 9110 section 12.4.2)
        (None, "image/png, application/*;q=0, text/*;q=0"),
        (None, "text/html;q=0, application/xml;q=0"),
    ],
)
def test_a_document_format_it_does_not_have_is_406(format_param: str | None, accept: str | None) -> None:
    with pytest.raises(NotAcceptable):
        check_document_format(format_param, accept)


@pytest.mark.parametrize(
    ("format_param", "accept"),
    [
        ("html", None),
        ("json", "application/fhir+xml"),  # _format decides
        ("application/cda+xml", None),
        (None, "application/fhir+xml, */*;q=0.1"),  # the document is acceptable too
        (None, "image/png"),  # disregarded: the document is served
        (None, "application/*;q=0, application/xml"),  # the most specific range decides
        (None, "application/xml;q=0, text/html"),  # the HTML page is served
        (None, "application/xml;q=0"),  # the XML ruled out, the page not: the page is served
        (None, "image/png, application/*;q=0"),
        (None, None),
    ],
)
def test_a_document_format_it_has_is_served(format_param: str | None, accept: str | None) -> None:
    check_document_format(format_param, accept)


def test_a_vendor_file_ruled_out_by_accept_is_406() -> None:
    html_file = file_formats("text/html; charset=utf-8")
    with pytest.raises(NotAcceptable):
        check_document_format(None, "text/html;q=0", html_file)
    check_document_format(None, "application/xml", html_file)  # not named: disregarded, served


def test_the_binary_resource_is_wanted_only_in_this_version_of_fhir() -> None:
    # A Binary's content is served unless a FHIR format is asked for: one of another version is
    # not, so a browser-like list falls to the HTML page (binary.html#rest, versioning.html#mt-version).
    assert wants_binary_resource(None, "application/fhir+json")
    assert not wants_binary_resource(None, "application/fhir+json; fhirVersion=3.0, text/html")
    assert not wants_binary_resource(None, "application/fhir+json;q=0, text/html")
    assert wants_html(None, "application/fhir+json; fhirVersion=3.0, text/html")
    # Preferred to every other range, as RFC 9110 section 12.5.1 weighs them; a tie is the content's.
    assert wants_binary_resource(None, "application/fhir+json, */*")
    assert wants_binary_resource(None, "application/json;q=0.9, application/xml;q=0.5")
    assert not wants_binary_resource(None, "application/fhir+json;q=0.1, application/xml")
    assert not wants_binary_resource(None, "application/*;q=0.5, text/html;q=0.4")
    assert not wants_binary_resource(None, "*/*")
    assert not wants_binary_resource(None, "image/png")


@pytest.mark.parametrize(
    "accept", ["application/fhir+json;q=0.5, image/png", "application/fhir+json;q=0.9, application/pdf"]
)
def test_the_binary_resource_is_served_when_its_content_is_not_acceptable(accept: str) -> None:
    from tests.support.fake_vendor import BASE, FakeBackend, fake_gateway

    backend = FakeBackend()
    backend.add_patient("p1")
    with fake_gateway(backend) as client:
        response = client.get(f"{BASE}/Binary/ccd-p.p1", headers={"Accept": accept})
    # The CDA document (application/xml) is named by no range; the Binary resource is.
    assert response.status_code == 200 and response.headers["content-type"].startswith(FHIR_JSON)
    assert response.json()["resourceType"] == "Binary"
