"""Golden files for the NexHealth mappings, both directions: `tests/golden/nexhealth/<kind>/<case>.input.json`
beside `<case>.expected.json`. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.contract import TenantContext
from gateway.errors import Unprocessable
from mappings.nexhealth.encounter import encounter_to_fhir
from mappings.nexhealth.patient import patient_from_fhir, patient_to_fhir
from tests.support.golden import GoldenSuite, case_id

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")


def _rejected(case: dict[str, Any]) -> Any:
    with pytest.raises(Unprocessable) as caught:
        patient_from_fhir(case["resource"], case["provider_id"])
    return [[caught.value.diagnostics, caught.value.expression], *[list(i) for i in caught.value.issues]]


def _created(case: dict[str, Any]) -> Any:
    body, not_stored = patient_from_fhir(case["resource"], case["provider_id"])
    return {"body": body, "not_stored": not_stored}


MAPPERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "patient": lambda case: patient_to_fhir(case["record"], CTX),
    "encounter": lambda case: encounter_to_fhir(case["record"], CTX, datetime.fromisoformat(case["now"])),
    "patient_from_fhir": _created,
    "patient_rejected": _rejected,
}
SUITE = GoldenSuite("nexhealth", MAPPERS, fhir_kinds=("patient", "encounter"))


def test_every_mapper_has_golden_cases() -> None:
    SUITE.assert_complete()


@pytest.mark.parametrize("source", SUITE.cases, ids=case_id)
def test_golden(source: Path) -> None:
    SUITE.check(source)


@pytest.mark.conformance  # validated against the standards: the conformance tier
@pytest.mark.parametrize("source", SUITE.fhir_cases, ids=case_id)
def test_golden_output_conforms(source: Path) -> None:
    SUITE.check_conforms(source)
