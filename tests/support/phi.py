"""What counts as PHI or a secret in a log line, for the synthetic clinic (tests/e2e/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sandboxes.clinic import Clinic

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_WORD = re.compile(r"[^\W\d_]{4,}")


def phi_terms(clinic: Clinic) -> dict[str, str]:
    """Each identifying string of the clinic → what it is (for the failure message)."""
    terms: dict[str, str] = {}
    for patient in clinic.patients:
        for name in (patient.first_name, patient.last_name, patient.middle_name, patient.preferred_name):
            for word in _WORD.findall(name or ""):
                terms[word] = "a patient's name"
        if patient.birth_date is not None:
            terms[patient.birth_date.isoformat()] = "a birth date"
        for phone in (patient.mobile_phone, patient.home_phone):
            if phone:
                terms[phone] = "a phone number"
                terms[f"{phone[3:6]}-{phone[6:]}"] = "a phone number"
        for value, kind in (
            (patient.email, "an email"),
            (patient.chart_number, "a chart number"),
            (patient.address_line1, "an address"),
        ):
            if value and len(value) >= 4:
                terms[value] = kind
    return terms


def found(line: str, terms: dict[str, str]) -> Iterator[tuple[str, str]]:
    words = set(_WORD.findall(line))
    for term, kind in terms.items():
        if (term in words) if kind == "a patient's name" else (term in line):
            yield term, kind
