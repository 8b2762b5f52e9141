"""Phones written to NexHealth as its docs show them (ten digits), and a patient NexHealth
refused a create as a duplicate of found by its phone whichever way the phone is written: ten
digits as the docs show, or E.164 as an implementation may keep it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.contract import Drift
from mappings.nexhealth.adapter import NexHealthAdapter
from mappings.nexhealth.client import Envelope
from mappings.nexhealth.patient import patient_from_fhir


@pytest.mark.parametrize(
    ("served", "sent"),
    [("+13125557311", "3125557311"), ("3125557311", "13125557311"), ("+13125557311", "13125557311")],
)
def test_the_existing_patient_is_found_by_its_phone_in_either_form(served: str, sent: str) -> None:
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._drift = Drift()
    adapter._served_spelling = None  # (no __init__: the gender spelling its lists show is not known)
    listed = {"id": 7, "first_name": "Ada", "last_name": "Okafor", "email": "ada@example.org"}

    async def listing(params: dict[str, Any]) -> Envelope:
        return Envelope({"patients": [{**listed, "bio": {"phone_number": served}}]}, None)

    adapter._patient_list = listing  # type: ignore[method-assign]
    body = {"email": "someone.else@example.org", "bio": {"phone_number": sent}}
    found = asyncio.run(adapter._by_contact(body))
    assert found is not None and found["id"] == 7
    assert asyncio.run(adapter._by_contact({**body, "bio": {"phone_number": "3125557312"}})) is None


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("+1 (312) 555-7311", "3125557311"),
        ("13125557311", "3125557311"),
        ("312.555.7311", "3125557311"),
        ("+44 20 7946 0958", "442079460958"),  # not North American: every digit, for NexHealth to judge
    ],
)
def test_a_phone_is_written_as_the_docs_ten_digits_without_the_country_code(written: str, sent: str) -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Okafor", "given": ["Ada"]}],
        "telecom": [{"system": "email", "value": "ada@example.org"}, {"system": "phone", "value": written}],
        "birthDate": "1990-02-03",
        "gender": "female",
    }
    body, _ = patient_from_fhir(patient, 201)
    assert body["patient"]["bio"]["phone_number"] == sent
