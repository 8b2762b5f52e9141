"""A Dental PMS allergy's `severity`, typed only `string`, in whatever words the vendor keeps:
each word naming a FHIR grade is that grade, and any other is kept in a note, never dropped
(before, "High" and "Life-threatening" vanished without a trace)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.contract import TenantContext
from mappings.dentalpms.allergy import allergy_to_fhir

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
PATIENT = "3f2b9c1e-8d4a-4f6b-9a1e-2c3d4e5f6a7b"


def _allergy(**fields: Any) -> dict[str, Any]:
    return {
        "id": "6c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e",
        "allergy_definition": {"uuid": "21111111-2222-4333-8444-555555555555", "name": "Penicillin"},
        "reaction": "Hives",
        "snomed_reaction": None,
        "status_is_active": True,
        "created_at": "2020-01-02T10:00:00Z",
        **fields,
    }


@pytest.mark.parametrize(
    ("word", "grade"),
    [
        ("mild", "mild"),
        ("Moderate", "moderate"),
        ("SEVERE ", "severe"),
        ("Low", "mild"),
        ("Medium", "moderate"),
        ("High", "severe"),
        ("Life-threatening", "severe"),
        ("LIFE_THREATENING", "severe"),
    ],
)
def test_a_word_naming_a_grade_is_that_grade(word: str, grade: str) -> None:
    resource = allergy_to_fhir(_allergy(severity=word), PATIENT, CTX)
    assert resource["reaction"][0]["severity"] == grade
    assert "note" not in resource


def test_a_word_naming_no_grade_is_kept_in_a_note() -> None:
    resource = allergy_to_fhir(_allergy(severity="Unknown - ask patient"), PATIENT, CTX)
    assert "severity" not in resource["reaction"][0]
    assert resource["note"] == [{"text": "Reaction severity (as recorded): Unknown - ask patient"}]


def test_a_severity_without_a_reaction_is_kept_in_a_note() -> None:
    resource = allergy_to_fhir(_allergy(severity="Severe", reaction=None), PATIENT, CTX)
    assert "reaction" not in resource  # a reaction needs a manifestation
    assert resource["note"] == [{"text": "Reaction severity (as recorded): Severe"}]


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_no_severity_no_note(blank: str | None) -> None:
    resource = allergy_to_fhir(_allergy(severity=blank), PATIENT, CTX)
    assert "note" not in resource and "severity" not in resource["reaction"][0]
