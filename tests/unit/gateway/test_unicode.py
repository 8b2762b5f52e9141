"""Strings are served in NFC and matched regardless of normalization, :exact included
(http://hl7.org/fhir/R4/search.html#string)."""

from __future__ import annotations

import unicodedata

import pytest

from gateway.text import nfc
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
