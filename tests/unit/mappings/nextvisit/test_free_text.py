"""Nextvisit's free text and spellings the docs leave open: allergy and medication lists as
implementations write them, gender and encounter status spellings, visit types."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.contract import TenantContext
from mappings.nextvisit.allergy import allergies_to_fhir
from mappings.nextvisit.encounter import encounter_to_fhir
from mappings.nextvisit.medication import medications_to_fhir
from mappings.nextvisit.patient import patient_to_fhir

CTX = TenantContext("t", "urn:t")
PATIENT: dict[str, Any] = {"id": 7, "first_name": "Jane", "last_name": "Doe", "allergies": None,
                           "latest_medications": []}  # fmt: skip
NKA, NKDA = "716186003", "409137002"


def _allergies(text: Any) -> list[tuple[str, list[str]]]:
    found = allergies_to_fhir({**PATIENT, "allergies": text}, CTX)
    return [(a["code"]["text"], [c["code"] for c in a["code"].get("coding", [])]) for a in found]


@pytest.mark.parametrize("text", ["N/A", "n/a", "-", "Unknown"])
def test_an_allergy_text_that_records_nothing_is_no_allergy(text: str) -> None:
    assert _allergies(text) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [("No allergies", NKA), ("Denies", NKA), ("NKA/NKDA", NKA), ("No known drug allergies (NKDA)", NKDA)],
)
def test_more_spellings_of_no_known_allergies(text: str, code: str) -> None:
    assert _allergies(text) == [(text, [code])]


@pytest.mark.parametrize(
    "text", ['["Penicillin", "Sulfa drugs"]', "- Penicillin\n- Sulfa drugs", "1. Penicillin\n2. Sulfa drugs"]
)
def test_allergies_as_json_text_or_a_marked_list(text: str) -> None:
    assert _allergies(text) == [("Penicillin", []), ("Sulfa drugs", [])]


@pytest.mark.parametrize(
    ("value", "texts"),
    [
        ("Sertraline 50mg\nLorazepam 0.5mg PRN", ["Sertraline 50mg", "Lorazepam 0.5mg PRN"]),
        ("Sertraline 50mg, Lorazepam 0.5mg PRN", ["Sertraline 50mg", "Lorazepam 0.5mg PRN"]),
        ('["Sertraline 50mg", "Lorazepam 0.5mg PRN"]', ["Sertraline 50mg", "Lorazepam 0.5mg PRN"]),
        ("[]", []),
        ("None", []),
        (["N/A"], []),
        ([{"name": "Sertraline", "dose": "50mg", "frequency": "daily"}], ["Sertraline 50mg daily"]),
        ([{"drug_name": "Sertraline", "strength": "50mg"}], ["Sertraline 50mg"]),
        ([{"medication": {"name": "Sertraline", "strength": "50mg"}}], ["Sertraline 50mg"]),
    ],
)
def test_medications_in_every_shape(value: Any, texts: list[str]) -> None:
    found = medications_to_fhir({**PATIENT, "latest_medications": value}, CTX)
    assert [m["medicationCodeableConcept"]["text"] for m in found] == texts


@pytest.mark.parametrize(
    ("entry", "status"),
    [
        ({"name": "Sertraline", "discontinued_at": "2024-09-01T12:00:00.000-04:00"}, "stopped"),
        ({"name": "Sertraline", "stopped_on": "2024-09-01"}, "stopped"),
        ({"name": "Sertraline", "discontinued_at": None}, "unknown"),
        ({"name": "Sertraline", "discontinued_at": "0001-01-01T00:00:00Z"}, "unknown"),
        ({"name": "Sertraline", "status": "active", "discontinued_at": None}, "active"),
        # A stop still to come (a course planned to end) has not stopped the drug yet.
        ({"name": "Amoxicillin", "stopped_on": "2999-01-10"}, "unknown"),
        ({"name": "Amoxicillin", "discontinued_at": "2999-01-10T12:00:00.000-05:00"}, "unknown"),
        ({"name": "Amoxicillin", "discontinued_at": 32472144000}, "unknown"),  # 2999, epoch seconds
    ],
)
def test_a_medication_stopped_by_its_stop_time_is_stopped(entry: dict[str, Any], status: str) -> None:
    # A Rails model may keep `discontinued_at` in place of a status: a drug it says was stopped
    # is not one of unknown status.
    found = medications_to_fhir({**PATIENT, "latest_medications": [entry]}, CTX)
    assert [m["status"] for m in found] == [status]


@pytest.mark.parametrize(
    ("gender", "fhir"),
    [("nonbinary", "other"), ("X", "other"), ("O", "other"), ("U", "unknown"), ("Woman", "female"), ("F", "female")],
)
def test_gender_spellings(gender: str, fhir: str) -> None:
    assert patient_to_fhir({**PATIENT, "gender": gender}, CTX)["gender"] == fhir


@pytest.mark.parametrize(
    ("status", "fhir"),
    [("complete", "finished"), ("signed", "finished"), ("InProgress", "in-progress"), ("checked_in", "in-progress"),
     ("booked", "planned"), ("no_show", "cancelled"), ("draft", "unknown"), ("amended", "finished"),
     ("Addended", "finished"), ("void", "entered-in-error"), ("VOIDED", "entered-in-error"),
     ("entered-in-error", "entered-in-error"), ("EnteredInError", "entered-in-error"), ("triaged", "triaged"),
     ("on_leave", "onleave"), ("unsigned", "unknown")],
)  # fmt: skip
def test_encounter_status_spellings(status: str, fhir: str) -> None:
    assert encounter_to_fhir({"id": 1, "status": status}, "7", CTX)["status"] == fhir


@pytest.mark.parametrize(
    ("visit_type", "code"),
    [("tele-health", "VR"), ("video_visit", "VR"), ("Telephone", "VR"), ("in_person", "AMB"), ("office", "AMB")],
)
def test_visit_types(visit_type: str, code: str) -> None:
    assert encounter_to_fhir({"id": 1, "visit_type": visit_type}, "7", CTX)["class"]["code"] == code


def test_a_medication_row_whose_start_is_no_date_is_reported_not_served_undated() -> None:
    from mappings.nextvisit.medication import medications_read
    from mappings.nextvisit.vendor import read_patient

    rows = [{"name": "Metoprolol", "started_on": "2024-02-30"}, {"name": "Prednisone", "started_on": "2024-02-01"}]
    found, unreadable = medications_read(read_patient({"id": 5, "latest_medications": rows}), CTX)
    assert [m["effectivePeriod"] for m in found] == [{"start": "2024-02-01"}]
    assert [u.field for u in unreadable] == ["latest_medications[0].started_on"]
