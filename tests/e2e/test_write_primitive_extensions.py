"""What a client sends that a vendor may not keep, on the tenants that take creates: an item of
a primitive array that has only an extension (R4 json.html#primitive: `"given": [null, "Zed"]`,
the extension in `_given`) is no value, and the create goes through with the values there are
(it was a 502, a mapping meeting None); the narrative and `meta`'s security labels and tags are
either read back or reported as not stored, never dropped without a word."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fhir_http import FhirHttp

JSON = {"Content-Type": "application/fhir+json", "Prefer": "return=OperationOutcome"}


def _patient(family: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [
            {
                "use": "official",
                "family": family,
                "given": [None, "Zed"],
                "_given": [{"extension": [{"url": "http://example.org/fhir/ext", "valueString": "a"}]}, None],
            }
        ],
        "gender": "male",
        "birthDate": "1985-03-15",
        "telecom": [{"system": "email", "value": f"{family.lower()}@example.org"}],
        "meta": {
            "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
            "tag": [{"system": "http://example.org/fhir/tags", "code": "imported"}],
        },
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Zed</div>'},
    }


@pytest.mark.parametrize("tenant", ["dentalpms", "nextvisit"])
def test_a_given_name_with_only_an_extension_is_no_given_name(fhir: FhirHttp, tenant: str) -> None:
    family = f"Nullgiven{tenant.capitalize()}"
    created = fhir.request("POST", f"/fhir/{tenant}/Patient", json=_patient(family), headers=JSON)
    assert created.status_code == 201, created.text
    lost = {e for issue in created.json()["issue"] for e in issue.get("expression", [])}
    stored = fhir.get_ok(f"/fhir/{tenant}/Patient/{created.json()['issue'][0]['diagnostics'].split('/')[1].split()[0]}")
    assert stored["name"][0]["given"][0] == "Zed" and stored["name"][0]["family"] == family
    # The extension of the item without a value went with it, and the client is told.
    assert "_given" not in stored["name"][0] and "Patient.name[0].given[0].extension" in lost, lost
    for element, path in (("text", "Patient.text"), ("security", "Patient.meta.security"), ("tag", "Patient.meta.tag")):
        sent = _patient(family)["text"] if element == "text" else _patient(family)["meta"][element]
        back = stored.get("text") if element == "text" else stored.get("meta", {}).get(element)
        assert back == sent or path in lost, (element, lost)


@pytest.mark.parametrize("tenant", ["dentalpms", "nextvisit"])
def test_an_extension_stays_on_the_item_it_was_sent_on(fhir: FhirHttp, tenant: str) -> None:
    # `given` and `_given` line up by position (json.html#primitive): the null before "Zed"'s
    # extension holds its place, whether the vendor keeps the extension or reports it not stored.
    family = f"Alignedgiven{tenant.capitalize()}"
    extension = {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "for-Zed"}]}
    sent = {**_patient(family), "name": [{"use": "official", "family": family, "given": ["Ann", "Zed"],
                                          "_given": [None, extension]}]}  # fmt: skip
    created = fhir.request("POST", f"/fhir/{tenant}/Patient", json=sent, headers=JSON)
    assert created.status_code == 201, created.text
    lost = {e for issue in created.json()["issue"] for e in issue.get("expression", [])}
    stored = fhir.get_ok(f"/fhir/{tenant}/Patient/{created.json()['issue'][0]['diagnostics'].split('/')[1].split()[0]}")
    name = stored["name"][0]
    assert name["given"] == ["Ann", "Zed"]
    assert name.get("_given") == [None, extension] or any("name" in e for e in lost), (name, lost)


def test_an_item_after_a_valueless_one_is_named_at_its_place_as_sent(fhir: FhirHttp) -> None:
    # The mapping sees `given` without its valueless items (["Ann", "Zed"] of [null, "Ann",
    # "Zed"]): what it reports of "Zed" is named at the place the client sent it, given[2].
    family = "Placedgiven"
    extension = {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "for-Zed"}]}
    lone = {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "alone"}]}
    name = {"use": "official", "family": family, "given": [None, "Ann", "Zed"], "_given": [lone, None, extension]}
    created = fhir.request("POST", "/fhir/dentalpms/Patient", json={**_patient(family), "name": [name]}, headers=JSON)
    assert created.status_code == 201, created.text
    lost = {e for issue in created.json()["issue"] for e in issue.get("expression", [])}
    new_id = created.json()["issue"][0]["diagnostics"].split("/")[1].split()[0]
    stored = fhir.get_ok(f"/fhir/dentalpms/Patient/{new_id}")
    assert stored["name"][0]["given"] == ["Ann", "Zed"] and "_given" not in stored["name"][0]
    assert {"Patient.name[0].given[0].extension", "Patient.name[0].given[2].extension"} <= lost, lost
    assert "Patient.name[0].given[1].extension" not in lost, lost  # Ann's: she was sent none
