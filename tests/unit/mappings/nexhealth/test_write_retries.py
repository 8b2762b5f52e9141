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


class Strict:
    """A NexHealth taking `declared` top-level keys only, refusing any other as NestJS does."""

    def __init__(self, declared: set[str]) -> None:
        self.declared = declared
        self.bodies: list[Any] = []

    async def request(self, method: str, path: str, json: Any = None) -> Envelope:
        self.bodies.append(json)
        unknown = [key for key in json if key not in self.declared]
        if unknown:
            raise InvalidRequest("; ".join(f"property {key} should not exist" for key in unknown))
        return Envelope({"patient": {"id": 1, **json}}, None)


def _strict_adapter(declared: set[str]) -> tuple[NexHealthAdapter, Strict]:
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._gender_spelling = 0
    adapter._gender_at = adapter._served_gender_at = None
    adapter._scope_in_body = {}
    adapter._refuses_unknown_keys = set()
    adapter._create_shape = None
    adapter._provider_refused = False
    vendor = Strict(declared)
    adapter.client = vendor  # type: ignore[assignment]
    return adapter, vendor


async def _taken(envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any]:
    return dict(envelope.data["patient"])


FIELDS = {"first_name": "Ada", "bio": {"date_of_birth": "1990-02-03", "gender": "Female"}}
EDIT_SHAPES: list[Any] = ["nested", "flat_and_fully_flat", "flat", "fully_flat"]


@pytest.mark.parametrize(
    ("declared", "sent"),
    [
        # The nested body refused for `patient`: such a vendor refuses a body whole, so the
        # doubled body (sent until a vendor ignoring keys shows which flat shape it takes) is
        # not needed: the flat one next, then the fully flat one.
        ({"first_name", "bio"}, [["patient"], ["bio", "first_name"]]),
        (
            {"first_name", "date_of_birth", "gender"},
            [["patient"], ["bio", "first_name"], ["date_of_birth", "first_name", "gender"]],
        ),
    ],
)
def test_a_vendor_refusing_unknown_keys_gets_the_plain_shapes_not_the_doubled_one(
    declared: set[str], sent: list[list[str]]
) -> None:
    adapter, vendor = _strict_adapter(declared)
    asyncio.run(adapter._write("PATCH", "/patients/1", FIELDS, list(EDIT_SHAPES), {}, _taken))
    assert [sorted(body) for body in vendor.bodies] == sent
    assert adapter._refuses_unknown_keys == {"PATCH"}


@pytest.mark.parametrize(
    ("declared", "taken"),
    [({"first_name", "bio"}, "flat"), ({"first_name", "date_of_birth", "gender"}, "fully_flat")],
)
def test_the_doubled_body_refused_for_what_it_holds_twice_is_followed_by_the_shape_it_leaves(
    declared: set[str], taken: str
) -> None:
    # The doubled body refused for `bio`'s fields beside the names leaves the flat body; for
    # `bio`, the fully flat one: sent next, not after the nested one.
    adapter, vendor = _strict_adapter(declared)
    shapes: list[Any] = ["flat_and_fully_flat", "nested", "flat", "fully_flat"]
    _, shape = asyncio.run(adapter._write("PATCH", "/patients/1", FIELDS, shapes, {}, _taken))
    assert (shape, len(vendor.bodies)) == (taken, 2)


def test_a_create_refused_for_its_provider_is_sent_again_without_it_and_that_is_remembered() -> None:
    # The docs name no provider among a create's fields: an implementation refusing keys it
    # does not declare refused every create, whatever its shape.
    adapter, vendor = _strict_adapter({"first_name", "bio"})
    extra = {"provider": {"provider_id": 201}}
    asyncio.run(adapter._write("POST", "/patients", FIELDS, ["flat"], extra, _taken))
    assert [sorted(body) for body in vendor.bodies] == [["bio", "first_name", "provider"], ["bio", "first_name"]]
    assert adapter._provider_refused
