"""Golden files: Dental PMS JSON in `tests/golden/dentalpms/<kind>/<case>.input.json`, the FHIR it
must become beside it as `<case>.expected.json`. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance import assert_conformant, require_conformance_data
from mappings.base import TenantContext
from mappings.dentalpms.allergy import allergy_to_fhir, nkda_to_fhir
from mappings.dentalpms.condition import condition_to_fhir
from mappings.dentalpms.medication import medication_to_fhir
from mappings.dentalpms.observation import vitals_to_fhir
from mappings.dentalpms.patient import patient_to_fhir

GOLDEN = Path(__file__).parents[3] / "golden" / "dentalpms"
CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")

MAPPERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "patient": lambda case: patient_to_fhir(case["record"], CTX),
    "nkda": lambda case: nkda_to_fhir(case["record"], CTX),
    "allergy": lambda case: allergy_to_fhir(case["record"], case["patient_id"], CTX),
    "medication": lambda case: medication_to_fhir(case["record"], case["patient_id"], CTX),
    "vitals": lambda case: vitals_to_fhir(case["record"], case["patient_id"], CTX),
    "condition": lambda case: condition_to_fhir(case["record"], case["patient_id"], CTX),
}
CASES = sorted(GOLDEN.glob("*/*.input.json"))


def test_every_mapper_has_golden_cases() -> None:
    assert {p.parent.name for p in CASES} == set(MAPPERS)


@pytest.mark.parametrize("source", CASES, ids=lambda p: f"{p.parent.name}/{p.name.removesuffix('.input.json')}")
def test_golden(source: Path) -> None:
    produced = MAPPERS[source.parent.name](json.loads(source.read_text()))
    expected_file = source.with_name(source.name.replace(".input.json", ".expected.json"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(json.dumps(produced, indent=2, ensure_ascii=False) + "\n")
    assert produced == json.loads(expected_file.read_text())


@pytest.mark.parametrize("source", CASES, ids=lambda p: f"{p.parent.name}/{p.name.removesuffix('.input.json')}")
def test_golden_output_conforms(source: Path) -> None:
    require_conformance_data()
    produced = MAPPERS[source.parent.name](json.loads(source.read_text()))
    for resource in produced if isinstance(produced, list) else [produced]:
        assert_conformant(resource)
