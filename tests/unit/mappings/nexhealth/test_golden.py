"""Golden files for the NexHealth mappings, both directions: `tests/golden/nexhealth/<kind>/<case>.input.json`
beside `<case>.expected.json`. Regenerate with UPDATE_GOLDEN=1 and review the diff."""

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import assert_conformant, require_conformance_data
from gateway.errors import Unprocessable
from mappings.base import TenantContext
from mappings.nexhealth.encounter import encounter_to_fhir
from mappings.nexhealth.patient import patient_from_fhir, patient_to_fhir

GOLDEN = Path(__file__).parents[3] / "golden" / "nexhealth"
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


@pytest.mark.parametrize("source", [c for c in CASES if c.parent.name in ("patient", "encounter")], ids=_id)
def test_golden_output_conforms(source: Path) -> None:
    require_conformance_data()
    assert_conformant(MAPPERS[source.parent.name](json.loads(source.read_text())))
