"""Strings are served in NFC and matched regardless of normalization, :exact included
(http://hl7.org/fhir/R4/search.html#string)."""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from gateway.errors import UpstreamError
from gateway.text import nfc
from gateway.upstream.http import UpstreamResponse
from tests.support.fake_vendor import BASE, FakeBackend, TestClient, ids, ok

RENEE_NFC = "Ren\u00e9e"
RENEE_NFD = "Rene\u0301e"


def test_nfc_normalizes_every_string_and_copies_only_what_changes() -> None:
    plain = {"name": [{"family": "Doe", "given": ["Jan"]}], "active": True}
    assert nfc(plain) is plain  # already normal: the same object, nothing copied
    decomposed = {"name": [{"family": RENEE_NFD}], "id": "p1"}
    normal = nfc(decomposed)
    assert normal == {"name": [{"family": RENEE_NFC}], "id": "p1"}
    assert decomposed["name"][0]["family"] == RENEE_NFD  # the vendor's object is left alone


@pytest.mark.parametrize(
    "body",
    [
        '{"last_name": "Rene\u0301e", "notes": ["Rene\u0301e"]}'.encode(),  # raw UTF-8, decomposed
        b'{"last_name": "Rene\\u0301e", "notes": ["Rene\\u0301e"]}',  # ASCII, with JSON escapes
    ],
)
def test_vendor_text_enters_the_gateway_in_nfc(body: bytes) -> None:
    """Where vendor answers are parsed, every text of them, at any depth, is put in NFC."""
    assert UpstreamResponse(200, {}, body).json() == {"last_name": RENEE_NFC, "notes": [RENEE_NFC]}


def test_an_ascii_vendor_answer_is_parsed_as_it_is() -> None:
    assert UpstreamResponse(200, {}, b'{"last_name": "Renee", "n": 1}').json() == {"last_name": "Renee", "n": 1}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, codecs.BOM_UTF8 + '{"last_name": "Renée"}'.encode()),  # PHP's and .NET's stray BOM
        ({}, codecs.BOM_UTF16_LE + '{"last_name": "Renée"}'.encode("utf-16-le")),
        ({"Content-Type": "application/json; charset=ISO-8859-1"}, '{"last_name": "Renée"}'.encode("latin-1")),
        ({"content-type": "application/json;charset=windows-1252"}, '{"last_name": "Renée"}'.encode("cp1252")),
    ],
)
def test_a_vendor_answer_in_another_encoding_that_says_so_is_read(headers: dict[str, str], body: bytes) -> None:
    assert UpstreamResponse(200, headers, body).json() == {"last_name": RENEE_NFC}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, '{"last_name": "Renée"}'.encode("latin-1")),  # not UTF-8, and nothing says what it is
        ({"Content-Type": "application/json; charset=klingon"}, '{"last_name": "Renée"}'.encode("latin-1")),
        ({}, codecs.BOM_UTF8 + b"<html>oops</html>"),
    ],
)
def test_a_vendor_answer_that_is_not_json_in_any_encoding_it_names_is_a_502(
    headers: dict[str, str], body: bytes
) -> None:
    with pytest.raises(UpstreamError, match="not JSON"):
        UpstreamResponse(200, headers, body).json()


def test_a_decomposed_name_is_served_composed(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", given=[RENEE_NFD])
    given = ok(client.get(f"{BASE}/Patient/p1"))["name"][0]["given"][0]
    assert given == RENEE_NFC and unicodedata.is_normalized("NFC", given)


@pytest.mark.parametrize("stored", [RENEE_NFC, RENEE_NFD])
@pytest.mark.parametrize("typed", [RENEE_NFC, RENEE_NFD])
@pytest.mark.parametrize("modifier", ["", ":exact", ":contains"])
def test_matching_ignores_normalization(
    client: TestClient, backend: FakeBackend, stored: str, typed: str, modifier: str
) -> None:
    backend.add_patient("p1", given=[stored])
    backend.add_patient("p2", given=["Rene"])
    found = ids(ok(client.get(f"{BASE}/Patient", params={f"given{modifier}": typed})))
    assert found == ["p1"]
