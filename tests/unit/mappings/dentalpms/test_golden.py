"""Golden files: Dental PMS JSON in `tests/golden/dentalpms/<kind>/<case>.input.json`, the FHIR it
must become beside it as `<case>.expected.json`. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.contract import TenantContext
from mappings.dentalpms.allergy import allergy_to_fhir, nkda_to_fhir
from mappings.dentalpms.condition import condition_to_fhir
from mappings.dentalpms.medication import medication_to_fhir
from mappings.dentalpms.observation import vitals_to_fhir
from mappings.dentalpms.patient import patient_to_fhir
from tests.support.golden import GoldenSuite, case_id

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")

MAPPERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "patient": lambda case: patient_to_fhir(case["record"], CTX),
    "nkda": lambda case: nkda_to_fhir(case["record"], CTX),
    "allergy": lambda case: allergy_to_fhir(case["record"], case["patient_id"], CTX),
    "medication": lambda case: medication_to_fhir(case["record"], case["patient_id"], CTX),
    "vitals": lambda case: vitals_to_fhir(case["record"], case["patient_id"], CTX),
    "condition": lambda case: condition_to_fhir(case["record"], case["patient_id"], CTX),
}
SUITE = GoldenSuite("dentalpms", MAPPERS, fhir_kinds=set(MAPPERS))


def test_every_mapper_has_golden_cases() -> None:
    SUITE.assert_complete()


@pytest.mark.parametrize("source", SUITE.cases, ids=case_id)
def test_golden(source: Path) -> None:
    SUITE.check(source)


@pytest.mark.conformance  # validated against the standards: the conformance tier
@pytest.mark.parametrize("source", SUITE.fhir_cases, ids=case_id)
def test_golden_output_conforms(source: Path) -> None:
    SUITE.check_conforms(source)
