"""A create answered without the patient is found by its email, names and birth date: a
household sharing an email holds other patients than the one just made."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.contract import Drift
from mappings.nexhealth.adapter import NexHealthAdapter
from mappings.nexhealth.client import Envelope


def _patient(pid: int, first: str, born: str) -> dict[str, Any]:
    return {
        "id": pid,
        "first_name": first,
        "last_name": "Okafor",
        "email": "home@example.org",
        "bio": {"date_of_birth": born},
    }


def test_the_patient_made_is_the_newest_described_not_a_household_member() -> None:
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._drift = Drift()
    adapter._served_spelling = None  # (no __init__: the gender spelling its lists show is not known)
    adapter._unsent_flags = ()  # (nor which flags its lists filter by when not sent: none)
    household = [_patient(7, "Ada", "1990-02-03"), _patient(9, "Ben", "1988-01-01"), _patient(8, "Ada", "1990-02-03")]

    async def listing(params: dict[str, Any]) -> Envelope:
        assert params["email"].lower() == "home@example.org"
        return Envelope({"patients": household}, None)

    adapter._patient_list = listing  # type: ignore[method-assign]
    sent = {
        "first_name": "Ada",
        "last_name": "OKAFOR",
        "email": "Home@example.org",
        "bio": {"date_of_birth": "1990-02-03"},
    }
    found = asyncio.run(adapter._newest_described(sent))
    assert found is not None and found["id"] == 8  # Ada, not Ben (the list's newest of the email)
    assert asyncio.run(adapter._newest_described({**sent, "first_name": "Cy"})) is None


def test_a_patient_made_whose_email_was_stored_lower_cased_is_asked_so_after_it_as_sent() -> None:
    # A Rails `before_save { self.email = email.downcase }` beside a search comparing exactly: the
    # email as sent finds no one, lower-cased the patient just made.
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._drift = Drift()
    adapter._served_spelling = None
    adapter._unsent_flags = ()
    stored = {**_patient(8, "Ada", "1990-02-03"), "email": "home@example.org"}
    asked: list[str] = []

    async def listing(params: dict[str, Any]) -> Envelope:
        asked.append(str(params["email"]))
        return Envelope({"patients": [stored] if params["email"] == stored["email"] else []}, None)

    adapter._patient_list = listing  # type: ignore[method-assign]
    sent = {
        "first_name": "Ada",
        "last_name": "Okafor",
        "email": "Home@Example.org",
        "bio": {"date_of_birth": "1990-02-03"},
    }
    found = asyncio.run(adapter._newest_described(sent))
    assert found is not None and found["id"] == 8
    assert asked == ["Home@Example.org", "home@example.org"]
    asked.clear()
    assert asyncio.run(adapter._newest_described({**sent, "email": "home@example.org"}))["id"] == 8  # type: ignore[index]
    assert asked == ["home@example.org"]  # asked once where it is lower-case already


def test_a_create_answered_without_bio_is_read_again_by_its_id() -> None:
    # Prisma's `create` without `include: {bio: true}` answers the patient without `bio`: served
    # as it was, the new patient had no birth date or phone and gender `unknown`.
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._drift = Drift()
    adapter._served_spelling = None
    whole = {**_patient(12, "Ada", "1990-02-03"), "bio": {"date_of_birth": "1990-02-03", "gender": "Female"}}
    reads: list[str] = []

    async def read(patient_id: str) -> dict[str, Any]:
        reads.append(patient_id)
        return whole

    adapter._patient = read  # type: ignore[method-assign]
    sent = {"first_name": "Ada", "last_name": "Okafor", "email": "home@example.org", "bio": {}}
    answered = {"patient": {key: value for key, value in whole.items() if key != "bio"}}
    assert asyncio.run(adapter._created(Envelope(answered, None), sent)) == whole
    assert reads == ["12"]
    assert asyncio.run(adapter._created(Envelope({"patient": whole}, None), sent))["bio"]["gender"] == "Female"
    assert reads == ["12"]  # answered whole: not read again
