"""Numbers and dates from clients are ASCII digits, read whole; nothing a client sends as a
number or date can make the gateway fail (int() refuses more than 4300 digits, `$` lets a
trailing newline through, str.isdigit() is true for '²' and '١')."""

from __future__ import annotations

import pytest

from gateway.documents import ids
from gateway.errors import InvalidRequest
from gateway.search.dates import parse_fhir_date
from gateway.search.parse import parse_count
from tests.support.fake_vendor import BASE, FakeBackend, TestClient, ok, outcome


@pytest.mark.parametrize("value", ["²", "1²", "١٩", "１", "-1", "+1", "1.0", " 1", "1\n", ""])
def test_a_count_that_is_not_ascii_digits_is_a_400(value: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_count(value, 20, 100)


@pytest.mark.parametrize(("value", "count"), [("1" * 5000, 100), ("9" * 40, 100), ("0" * 5000 + "7", 7), ("0", 0)])
def test_a_count_of_any_length_is_read_and_capped(value: str, count: int) -> None:
    assert parse_count(value, 20, 100) == count


@pytest.mark.parametrize("text", ["1985\n", "1985-03-15\n", "١٩٨٥", "1985-0٣", "²⁰²⁵", "1985-03-15T10:00:00Z\n"])
def test_dates_are_ascii_and_whole(text: str) -> None:
    with pytest.raises(ValueError):
        parse_fhir_date(text)


@pytest.mark.parametrize("bounds", ["١٩٨٥-", "1985\n-", "-2025٠١"])
def test_generated_document_ids_take_ascii_dates_only(bounds: str) -> None:
    assert ids.parse(f"ccd-p-{bounds}.p1") is None
    assert ids.parse("ccd-p-19850315-.p1") == ids.DocumentId("p1", None, "1985-03-15", None)


def test_a_huge_count_on_search_and_everything_is_capped(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p001")
    for path in (f"{BASE}/Patient", f"{BASE}/Patient/p001/$everything"):
        bundle = ok(client.get(path, params={"_count": "1" * 5000}))
        self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
        assert "_count=100" in self_link
        outcome(client.get(path, params={"_count": "1²"}), 400)


def test_if_modified_since_in_other_digits_is_not_a_date(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p001")
    current = client.get(f"{BASE}/Patient/p001")
    modified = current.headers["last-modified"]
    assert client.get(f"{BASE}/Patient/p001", headers={"If-Modified-Since": modified}).status_code == 304
    other_digits = modified.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    response = client.get(f"{BASE}/Patient/p001", headers={"If-Modified-Since": other_digits.encode()})
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["family=%C5berg", "family=%ZZ", "family=100%", "gender=%FF", "_format=%C3"])
def test_query_escapes_that_do_not_decode_to_utf8_are_400(client: TestClient, backend: FakeBackend, query: str) -> None:
    # RFC 3986 section 2.5: text is UTF-8, then percent-encoded. `%C5berg` (Latin-1 Åberg) was
    # searched as "\ufffdberg" and `%ZZ` as itself: answers to searches nobody asked for.
    backend.add_patient("p1", family="Åberg")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [
        client.get(f"{BASE}/Patient?{query}"),
        client.post(f"{BASE}/Patient/_search", content=query.encode(), headers=form),
        client.post(f"{BASE}/DocumentReference/$docref", content=query.encode(), headers=form),
    ]
    for answer in answers:
        assert "percent-encoded" in outcome(answer, 400)["issue"][0]["diagnostics"]
    assert backend.calls_to("Patient") == 0
    found = ok(client.get(f"{BASE}/Patient?family=%C3%85berg"))
    assert [e["resource"]["id"] for e in found["entry"]] == ["p1"]
