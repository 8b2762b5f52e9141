"""Golden files for every Nextech mapping: `tests/golden/nextech/<kind>/<case>.input.json` beside
`<case>.expected.json`, read through the declared models (mappings/nextech/vendor.py) as the
adapter reads them. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.contract import TenantContext
from mappings.nextech.encounter import document_to_fhir, encounter_to_fhir
from mappings.nextech.patient import patient_to_fhir
from mappings.nextech.vendor import VendorEncounter, VendorPatient, problem_of, section_names
from tests.support.golden import GoldenSuite, case_id, vendor_json

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")


def _encounter(case: dict[str, Any]) -> Any:
    now = datetime.fromisoformat(case["now"].replace("Z", "+00:00"))
    return encounter_to_fhir(VendorEncounter.model_validate(case["record"]), case["patient_id"], CTX, now)


def _unreadable(case: dict[str, Any]) -> Any:
    """What the client is told of a record that cannot be read: a field path and a problem, no value."""
    model = {"patient": VendorPatient, "encounter": VendorEncounter}[case["shape"]]
    with pytest.raises(ValidationError) as caught:
        model.model_validate(case["record"])
    return str(problem_of(caught.value, "[0]"))


MAPPERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "patient": lambda case: patient_to_fhir(VendorPatient.model_validate(case["record"]), CTX),
    "encounter": _encounter,
    "document": lambda case: document_to_fhir(
        VendorEncounter.model_validate(case["record"]), case["patient_id"], case["sections"]
    ),
    "unreadable": _unreadable,
    "categories": lambda case: list(section_names(case["body"])),
}


def _input(name: str) -> Any:
    return vendor_json(SUITE.root / f"{name}.input.json")


SUITE = GoldenSuite("nextech", MAPPERS, fhir_kinds={"patient", "encounter", "document"})


def test_every_mapper_has_golden_cases() -> None:
    SUITE.assert_complete()


@pytest.mark.parametrize("source", SUITE.cases, ids=case_id)
def test_golden(source: Path) -> None:
    SUITE.check(source)


@pytest.mark.conformance  # validated against the standards: the conformance tier
@pytest.mark.parametrize("source", SUITE.fhir_cases, ids=case_id)
def test_golden_output_conforms(source: Path) -> None:
    SUITE.check_conforms(source)


def test_one_patient_however_it_is_spelled() -> None:
    """The documented shape and PascalCase keys, string ids, decomposed names and an offset are one patient."""
    documented, other = (
        patient_to_fhir(VendorPatient.model_validate(_input(name)["record"]), CTX)
        for name in ("patient/documented", "patient/other_spellings")
    )
    for element in ("id", "identifier", "birthDate", "telecom"):
        assert documented[element] == other[element]
    assert other["name"][0]["family"] == "Núñez" and other["name"][0]["given"] == ["Renée"]  # NFC
