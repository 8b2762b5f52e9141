"""Golden files for every Nextvisit mapping, both directions: `tests/golden/nextvisit/<kind>/<case>.input.json`
beside `<case>.expected.json`. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conformance import assert_conformant, require_conformance_data
from gateway.errors import Unprocessable
from mappings.base import TenantContext
from mappings.nextvisit.allergy import allergies_to_fhir
from mappings.nextvisit.encounter import encounter_to_fhir
from mappings.nextvisit.medication import medications_to_fhir
from mappings.nextvisit.patient import patient_from_fhir, patient_to_fhir

GOLDEN = Path(__file__).parents[3] / "golden" / "nextvisit"
CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")


def _rejected(case: dict[str, Any]) -> Any:
    with pytest.raises(Unprocessable) as caught:
        patient_from_fhir(case["resource"], CTX, date.fromisoformat(case["today"]))
    error = caught.value
    return [[error.diagnostics, error.expression], *[list(i) for i in error.issues]]


MAPPERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "patient": lambda case: patient_to_fhir(case["record"], CTX),
    "allergies": lambda case: allergies_to_fhir(case["record"], CTX),
    "medications": lambda case: medications_to_fhir(case["record"], CTX),
    "encounter": lambda case: encounter_to_fhir(case["record"], case["patient_id"], CTX),
    "patient_from_fhir": lambda case: patient_from_fhir(case["resource"], CTX, date.fromisoformat(case["today"])),
    "patient_rejected": _rejected,
}
FHIR_KINDS = {"patient", "allergies", "medications", "encounter"}
CASES = sorted(GOLDEN.glob("*/*.input.json"))


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name.removesuffix('.input.json')}"


def test_every_mapper_has_golden_cases() -> None:
    assert {p.parent.name for p in CASES} == set(MAPPERS)


@pytest.mark.parametrize("source", CASES, ids=_id)
def test_golden(source: Path) -> None:
    produced = MAPPERS[source.parent.name](json.loads(source.read_text()))
    expected_file = source.with_name(source.name.replace(".input.json", ".expected.json"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(json.dumps(produced, indent=2, ensure_ascii=False) + "\n")
    assert produced == json.loads(expected_file.read_text())


@pytest.mark.parametrize("source", [c for c in CASES if c.parent.name in FHIR_KINDS], ids=_id)
def test_golden_output_conforms(source: Path) -> None:
    require_conformance_data()
    produced = MAPPERS[source.parent.name](json.loads(source.read_text()))
    for resource in produced if isinstance(produced, list) else [produced]:
        assert_conformant(resource)


def test_a_written_patient_reads_back_whole() -> None:
    """FHIR → Nextvisit body → (vendor stores it) → FHIR gives back what was sent."""
    sent = json.loads((GOLDEN / "patient_from_fhir" / "us_core_patient.input.json").read_text())["resource"]
    body = patient_from_fhir(sent, CTX, date(2026, 11, 21))
    stored = {**body, "id": 42, "uuid": "11111111-2222-4333-8444-555555555555", "updated_at": "2026-11-21T00:00:00Z"}
    back = patient_to_fhir(stored, CTX)
    for element in ("name", "gender", "birthDate", "telecom", "address"):
        assert back[element] == sent[element]
    assert {"system": "https://hie.example.org/mrn", "value": "H-77"} in back["identifier"]
