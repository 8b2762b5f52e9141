"""Clinic truth → Dental PMS sandbox (HTTP) → gateway (HTTP) → FHIR, compared back to the truth.

Every patient, allergy, medication and vital sign of the synthetic clinic must come back
through the gateway, nothing lost and nothing invented; deleted records must not.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandboxes.clinic import Clinic, Patient, VitalSigns
from sandboxes.registry import playing
from tests.conftest import RunningGateway
from tests.support.fhir_http import FhirHttp

TENANT = "dentalpms"
GENDER = {
    "male": "male",
    "female": "female",
    "non_binary": "other",
    "other": "other",
    "unknown": "unknown",
    "prefer_not_to_say": "unknown",
    None: "unknown",
}
MED_STATUS = {"active": "active", "discontinued": "stopped", "on_hold": "on-hold", "completed": "completed"}


@pytest.fixture(scope="module")
def all_patients(gateway: RunningGateway) -> list[dict[str, Any]]:
    client = FhirHttp(gateway.url)
    try:
        return client.search_all(f"/fhir/{TENANT}/Patient", _count=100)
    finally:
        client.close()


def test_every_live_patient_comes_back_exactly_once(all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    ids = Counter(p["id"] for p in all_patients)
    assert all(n == 1 for n in ids.values()), [i for i, n in ids.items() if n > 1]
    expected = {str(p.uuid) for p in clinic.patients if not p.deleted}
    assert set(ids) == expected
    assert len(expected) >= 200


def test_patient_demographics_match_the_clinic(all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    for resource in all_patients:
        truth = clinic.patient_by_uuid(resource["id"])
        official = next(n for n in resource["name"] if n.get("use") == "official")
        assert official.get("family") == truth.last_name
        assert official.get("given") == [g for g in (truth.first_name, truth.middle_name) if g]
        assert resource.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
        assert resource["gender"] == GENDER[truth.gender]
        values = {i["value"] for i in resource["identifier"]}
        assert {str(truth.uuid), truth.chart_number} <= values
        phones = {t["value"] for t in resource.get("telecom", []) if t["system"] == "phone"}
        assert {_national(p) for p in phones} == {p for p in (truth.mobile_phone, truth.home_phone) if p}
        emails = [t["value"] for t in resource.get("telecom", []) if t["system"] == "email"]
        assert emails == ([truth.email] if truth.email else [])
        assert resource["active"] is (truth.status in ("active", "prospective"))
        assert ("deceasedDateTime" in resource or "deceasedBoolean" in resource) is (truth.status == "deceased")


def _national(phone: str) -> str:
    """A served phone's digits, less the North American country code where it is written (a
    vendor storing E.164, `+12245550105`, serves the number the clinic holds as `2245550105`)."""
    digits = "".join(c for c in phone if c.isdigit())
    return digits[1:] if phone.startswith("+1") and len(digits) == 11 else digits


def test_deleted_patients_are_gone(fhir: FhirHttp, clinic: Clinic) -> None:
    deleted = [p for p in clinic.patients if p.deleted]
    assert deleted
    # A vendor keeping archived patients out of every endpoint (a soft-delete filter) tells the
    # gateway nothing of them: a 404 then, as for a patient never there (R4 http.html#read).
    expected = 404 if playing("dentalpms").get("archived_patients") == "not_found" else 410
    for patient in deleted:
        response = fhir.get(f"/fhir/{TENANT}/Patient/{patient.uuid}")
        assert response.status_code == expected
        assert response.json()["resourceType"] == "OperationOutcome"


def _live(patients: list[dict[str, Any]], clinic: Clinic) -> list[Patient]:
    # Not tests.support.clinic.live_patients: the truths of the patients the gateway listed, in
    # its order, so each check below covers what the gateway served (that this is every live
    # patient, once, is test_every_live_patient_comes_back_exactly_once's to say).
    return [clinic.patient_by_uuid(p["id"]) for p in patients]


def test_allergies_match_the_clinic(fhir: FhirHttp, all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    for truth in _live(all_patients, clinic):
        got = fhir.search_all(f"/fhir/{TENANT}/AllergyIntolerance", patient=str(truth.uuid), _count=50)
        expected = Counter(
            (a.substance, "active" if a.active else "inactive") for a in truth.allergies if not a.deleted
        )
        if truth.allergy_review == "nkda":
            expected[("No known drug allergies", "active")] += 1
        actual = Counter((a["code"]["text"], a["clinicalStatus"]["coding"][0]["code"]) for a in got)
        assert actual == expected, truth.uuid
        assert all(a["patient"]["reference"] == f"Patient/{truth.uuid}" for a in got)


def test_medications_match_the_clinic(fhir: FhirHttp, all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    for truth in _live(all_patients, clinic):
        got = fhir.search_all(f"/fhir/{TENANT}/MedicationStatement", patient=str(truth.uuid), _count=50)
        expected = Counter((m.name, MED_STATUS[m.status], m.rxnorm, m.prn) for m in truth.medications if not m.deleted)
        actual = Counter(
            (
                m["medicationCodeableConcept"]["text"],
                m["status"],
                next((c["code"] for c in m["medicationCodeableConcept"].get("coding", [])), None),
                any(d.get("asNeededBoolean") for d in m.get("dosage", [])),
            )
            for m in got
        )
        assert actual == expected, truth.uuid


def _expected_vitals(reading: VitalSigns, zone: str) -> Counter[tuple[Any, ...]]:
    when = reading.taken_on.isoformat()
    if reading.taken_at is not None:
        when = datetime.combine(reading.taken_on, reading.taken_at, ZoneInfo(zone)).isoformat()
    out: Counter[tuple[Any, ...]] = Counter()
    if reading.systolic is not None or reading.diastolic is not None:
        out[(when, "85354-9", (reading.systolic, reading.diastolic))] += 1
    for code, value in (
        ("8867-4", reading.pulse),
        ("9279-1", reading.respiration_rate),
        ("59408-5", reading.spo2),
        ("8310-5", reading.temperature_f),
        ("8302-2", reading.height_in),
        ("29463-7", reading.weight_lb),
        ("39156-5", reading.bmi),
        ("59576-9", reading.bmi_percentile),
    ):
        if value is not None:
            out[(when, code, Decimal(str(value)))] += 1
    return out


def _actual_vitals(observation: dict[str, Any]) -> tuple[Any, ...]:
    code = observation["code"]["coding"][0]["code"]
    if code == "85354-9":
        parts = {
            c["code"]["coding"][0]["code"]: c.get("valueQuantity", {}).get("value") for c in observation["component"]
        }
        return (observation["effectiveDateTime"], code, (parts["8480-6"], parts["8462-4"]))
    return (observation["effectiveDateTime"], code, Decimal(str(observation["valueQuantity"]["value"])))


def test_vital_signs_match_the_clinic(
    fhir: FhirHttp, gateway: RunningGateway, all_patients: list[dict[str, Any]], clinic: Clinic
) -> None:
    zone = gateway.settings.tenants[TENANT].timezone
    for truth in _live(all_patients, clinic):
        got = fhir.search_all(f"/fhir/{TENANT}/Observation", patient=str(truth.uuid), _count=100)
        expected: Counter[tuple[Any, ...]] = Counter()
        for reading in truth.vitals:
            if not reading.deleted:
                expected += _expected_vitals(reading, zone)
        assert Counter(_actual_vitals(o) for o in got) == expected, truth.uuid
        assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in got)


def test_every_searched_resource_reads_back_identically(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = clinic.awkward_patient("many_vitals")
    for resource_type in ("AllergyIntolerance", "MedicationStatement", "Observation"):
        for resource in fhir.search_all(f"/fhir/{TENANT}/{resource_type}", patient=str(patient.uuid))[:15]:
            assert fhir.get_ok(f"/fhir/{TENANT}/{resource_type}/{resource['id']}") == resource


def test_problems_match_the_clinic(fhir: FhirHttp, all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    status = {"active": "active", "resolved": "resolved", "inactive": "inactive"}
    for truth in _live(all_patients, clinic):
        got = fhir.search_all(f"/fhir/{TENANT}/Condition", patient=str(truth.uuid))
        expected = Counter(
            (p.name, status[p.status], p.onset.isoformat() if p.onset else None)
            for p in truth.problems
            if not p.deleted
        )
        actual = Counter(
            (c["code"]["text"], c["clinicalStatus"]["coding"][0]["code"], c.get("onsetDateTime")) for c in got
        )
        assert actual == expected, truth.uuid
    patient = next(p for p in _live(all_patients, clinic) if any(x.status == "active" for x in p.problems))
    active = fhir.search_all(f"/fhir/{TENANT}/Condition", patient=str(patient.uuid), **{"clinical-status": "active"})
    assert active and all(c["clinicalStatus"]["coding"][0]["code"] == "active" for c in active)
    assert fhir.get_ok(f"/fhir/{TENANT}/Condition/{active[0]['id']}") == active[0]
