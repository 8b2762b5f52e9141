"""A patient write NexHealth refuses is sent again only where something in it changes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.errors import InvalidRequest
from mappings.nexhealth.adapter import NexHealthAdapter, _NotApplied, _Refused
from mappings.nexhealth.client import Envelope


class Refusing:
    """A NexHealth refusing every body with a message naming the gender."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def request(self, method: str, path: str, json: Any = None) -> Envelope:
        self.bodies.append(json)
        raise InvalidRequest("bio.gender is not one of the allowed values")


def _write(fields: dict[str, Any]) -> Refusing:
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._gender_spelling = None
    adapter._served_spelling = None
    adapter._gender_at = adapter._served_gender_at = None
    adapter._spelling_looked_up = True  # (no page is listed to see the spelling served first)
    adapter._scope_in_body = {}
    adapter.client = Refusing()  # type: ignore[assignment]

    async def accept(envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("every body is refused: nothing is read")

    with pytest.raises(_Refused):
        asyncio.run(adapter._write("PATCH", "/patients/1", fields, ["nested"], {}, accept))
    return adapter.client  # type: ignore[return-value]


def test_a_body_without_a_gender_is_not_sent_again_for_its_spelling() -> None:
    assert len(_write({"first_name": "Ada"}).bodies) == 1  # it was sent three times, unchanged


def test_a_body_with_a_gender_tries_each_spelling() -> None:
    bodies = _write({"first_name": "Ada", "bio": {"gender": "Female"}}).bodies
    assert len(bodies) > 1 and len({str(b) for b in bodies}) == len(bodies)  # each one different


class Taking:
    """A NexHealth answering every body 200."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def request(self, method: str, path: str, json: Any = None) -> Envelope:
        self.bodies.append(json)
        return Envelope(None, None)


def test_a_gender_an_edit_left_as_it_was_is_sent_beside_bio_before_another_shape() -> None:
    # An implementation keeping gender beside `bio` ignores `bio.gender` as an unknown key: the
    # edit is taken, the gender left as it was. Where NexHealth keeps it is not known yet (the
    # patient had none to see): the same shape goes again with the gender beside `bio`.
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._gender_spelling = 0
    adapter._gender_at = adapter._served_gender_at = None
    adapter._scope_in_body = {}
    adapter.client = Taking()  # type: ignore[assignment]

    async def accept(envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any]:
        if "gender" not in sent:
            raise _NotApplied(["Patient.gender"])
        return {"id": 1, **sent}

    fields = {"first_name": "Ada", "bio": {"gender": "Female"}}
    edited, shape = asyncio.run(adapter._write("PATCH", "/patients/1", fields, ["nested", "flat"], {}, accept))
    assert (edited["gender"], shape, adapter._gender_at) == ("Female", "nested", "top")
    assert adapter.client.bodies == [  # type: ignore[attr-defined]
        {"patient": {"first_name": "Ada", "bio": {"gender": "Female"}}},
        {"patient": {"first_name": "Ada", "gender": "Female", "bio": {}}},
    ]
