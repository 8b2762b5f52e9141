"""The leak detector the end-to-end tests run after each test: it must catch what it looks for."""

from __future__ import annotations

from sandboxes.clinic import build_clinic
from tests.support.phi import JWT, found, phi_terms


def test_names_birth_dates_phones_and_chart_numbers_are_caught() -> None:
    clinic = build_clinic()
    terms = phi_terms(clinic)
    patient = next(p for p in clinic.patients if p.birth_date and p.mobile_phone and len(p.last_name) >= 4)
    assert patient.birth_date is not None and patient.mobile_phone is not None
    for line in (
        f"searching family={patient.last_name}",
        f"dob {patient.birth_date.isoformat()} not found",
        f"calling {patient.mobile_phone[3:6]}-{patient.mobile_phone[6:]}",
        f"chart {patient.chart_number}",
    ):
        assert list(found(line, terms)), line
    assert not list(found("GET /fhir/dentalpms/Patient/{id} 200 3.1ms", terms))


def test_tokens_are_caught() -> None:
    assert JWT.search("Authorization: Bearer eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJhcHAifQ.sig")
    assert not JWT.search("eyJ alone is not a token")
