"""Golden files for every Nextvisit mapping, both directions: `tests/golden/nextvisit/<kind>/<case>.input.json`
beside `<case>.expected.json`. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gateway.contract import TenantContext
from gateway.errors import Unprocessable
from mappings.nextvisit.allergy import allergies_read, allergies_to_fhir
from mappings.nextvisit.encounter import encounter_to_fhir, encounters_to_fhir
from mappings.nextvisit.medication import medications_read, medications_to_fhir
from mappings.nextvisit.patient import patient_from_fhir, patient_to_fhir, unkept_elements
from mappings.nextvisit.vendor import UnreadablePayload, read_patient
from tests.support.golden import GoldenSuite, case_id

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")


def _rejected(case: dict[str, Any]) -> Any:
    with pytest.raises(Unprocessable) as caught:
        patient_from_fhir(case["resource"], CTX, date.fromisoformat(case["today"]))
    error = caught.value
    return [[error.diagnostics, error.expression], *[list(i) for i in error.issues]]


def _records(case: dict[str, Any]) -> Any:
    """Every record inside a patient payload: those read, and what is said of those that are not."""
    patient = read_patient(case["record"])
    out: dict[str, Any] = {}
    for kind, read in (("Encounter", encounters_to_fhir), ("AllergyIntolerance", allergies_read),
                       ("MedicationStatement", medications_read)):  # fmt: skip
        found, unreadable = read(patient, CTX)
        out[kind] = {"read": [r["id"] for r in found], "unreadable": [u.message for u in unreadable]}
    return out


def _unreadable_patient(case: dict[str, Any]) -> Any:
    with pytest.raises(UnreadablePayload) as caught:
        patient_to_fhir(case["record"], CTX)
    return str(caught.value)


MAPPERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "patient": lambda case: patient_to_fhir(case["record"], CTX),
    "allergies": lambda case: allergies_to_fhir(case["record"], CTX),
    "medications": lambda case: medications_to_fhir(case["record"], CTX),
    "encounter": lambda case: encounter_to_fhir(case["record"], case["patient_id"], CTX),
    "patient_from_fhir": lambda case: patient_from_fhir(case["resource"], CTX, date.fromisoformat(case["today"])),
    # An update's body: `current` is the record the vendor holds, whose `meta` copy it replaces.
    "patient_update_body": lambda case: patient_from_fhir(
        case["resource"], CTX, date.fromisoformat(case["today"]), read_patient(case["current"])
    ),
    "patient_rejected": _rejected,
    "records": _records,
    "patient_unreadable": _unreadable_patient,
}
FHIR_KINDS = {"patient", "allergies", "medications", "encounter"}
SUITE = GoldenSuite("nextvisit", MAPPERS, fhir_kinds=FHIR_KINDS)


def test_every_mapper_has_golden_cases() -> None:
    SUITE.assert_complete()


@pytest.mark.parametrize("source", SUITE.cases, ids=case_id)
def test_golden(source: Path) -> None:
    SUITE.check(source)


@pytest.mark.conformance  # validated against the standards: the conformance tier
@pytest.mark.parametrize("source", SUITE.fhir_cases, ids=case_id)
def test_golden_output_conforms(source: Path) -> None:
    SUITE.check_conforms(source)


def test_a_written_patient_reads_back_whole() -> None:
    """FHIR → Nextvisit body → (vendor stores it) → FHIR gives back what was sent."""
    sent = json.loads((SUITE.root / "patient_from_fhir" / "us_core_patient.input.json").read_text())["resource"]
    body = patient_from_fhir(sent, CTX, date(2026, 11, 21))
    stored = {**body, "id": 42, "uuid": "11111111-2222-4333-8444-555555555555", "updated_at": "2026-11-21T00:00:00Z"}
    back = patient_to_fhir(stored, CTX)
    for element in ("name", "gender", "birthDate", "telecom", "address"):
        assert back[element] == sent[element]
    assert {"system": "https://hie.example.org/mrn", "value": "H-77"} in back["identifier"]


def _merged_by_key(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    return {**stored, **sent}


def _merge_patch(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 section 2."""
    out = dict(stored)
    for key, value in sent.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            out[key] = _merge_patch(out.get(key) if isinstance(out.get(key), dict) else {}, value)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    "write_meta",
    [lambda stored, sent: sent, _merged_by_key, _merge_patch],
    ids=["replaced", "merged-by-key", "merge-patch"],
)
def test_an_update_leaves_no_element_it_removed_however_the_vendor_writes_meta(
    write_meta: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
) -> None:
    """FHIR → an update body over the record → the vendor writes its `meta` (set, merged by key,
    or merged at every depth) → FHIR gives back the resource sent, nothing it left out."""
    today = date(2026, 11, 21)
    married = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]}
    telecom = [{"system": "phone", "value": "555-0100"}, {"system": "email", "value": "m@x.org"}]
    first: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": "Lee", "given": ["Min"]}],
                             "birthDate": "2000-01-01", "gender": "female", "telecom": telecom,
                             "maritalStatus": {**married, "text": "Married"}}  # fmt: skip
    record: dict[str, Any] = {**patient_from_fhir(first, CTX, today), "id": 3, "updated_at": "2026-11-21T00:00:00Z"}
    record["meta"]["chart_number"] = "C00003"  # the vendor's own key: kept
    fewer = {**first, "maritalStatus": married, "telecom": first["telecom"][:1]}
    bare = {k: first[k] for k in ("resourceType", "name", "birthDate")}
    for sent in (fewer, bare, first):
        body = patient_from_fhir(sent, CTX, today, read_patient(record))
        record = {**record, **body, "meta": write_meta(record["meta"], body["meta"])}
        back = patient_to_fhir(record, CTX)
        assert {k: back.get(k) for k in ("telecom", "maritalStatus")} == {
            k: sent.get(k) for k in ("telecom", "maritalStatus")
        }
        assert back["gender"] == sent.get("gender", "unknown") and record["meta"]["chart_number"] == "C00003"


@pytest.mark.parametrize(
    ("stored_as", "unkept"),
    [
        ("taken", ()),
        (
            "meta dropped",
            ("Patient.identifier", "Patient.name", "Patient.gender", "Patient.telecom", "Patient.address"),
        ),
        ("own demographics", ("Patient.telecom", "Patient.address")),
    ],
)
def test_what_the_vendor_did_not_keep_is_named(stored_as: str, unkept: tuple[str, ...]) -> None:
    """A write whose `meta` the vendor did not take (Rails' `permit(..., :meta)`), or whose telecom
    and address the vendor's own demographics replace, names each element it lost."""
    sent = json.loads((SUITE.root / "patient_from_fhir" / "us_core_patient.input.json").read_text())["resource"]
    sent = {**sent, "name": [*sent["name"], {"use": "maiden", "family": "Nowak"}]}
    body = patient_from_fhir(sent, CTX, date(2026, 11, 21))
    record = {**body, "id": 42, "updated_at": "2026-11-21T00:00:00Z"}
    if stored_as == "meta dropped":
        record["meta"] = {}
    elif stored_as == "own demographics":
        record["demographics"] = {"phone": "(312) 555-0142", "city": "Evanston"}
    assert unkept_elements(sent, patient_to_fhir(record, CTX), CTX) == unkept
