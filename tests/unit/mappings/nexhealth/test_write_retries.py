"""A patient write NexHealth refuses is sent again only where something in it changes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.errors import InvalidRequest
from mappings.nexhealth.adapter import NexHealthAdapter, _Refused
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

    async def accept(envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any] | None:
        return None

    with pytest.raises(_Refused):
        asyncio.run(adapter._write("PATCH", "/patients/1", fields, ["nested"], {}, accept))
    return adapter.client  # type: ignore[return-value]


def test_a_body_without_a_gender_is_not_sent_again_for_its_spelling() -> None:
    assert len(_write({"first_name": "Ada"}).bodies) == 1  # it was sent three times, unchanged


def test_a_body_with_a_gender_tries_each_spelling() -> None:
    bodies = _write({"first_name": "Ada", "bio": {"gender": "Female"}}).bodies
    assert len(bodies) > 1 and len({str(b) for b in bodies}) == len(bodies)  # each one different
