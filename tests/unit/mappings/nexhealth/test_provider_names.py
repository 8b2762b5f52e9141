"""Provider names for appointments that carry `provider_id` alone (mappings.nexhealth.provider_names)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.contract import Drift
from gateway.errors import UpstreamError
from mappings.nexhealth.client import Envelope
from mappings.nexhealth.provider_names import ProviderNames, provider_display
from mappings.nexhealth.shapes import VendorProvider

PROVIDERS = [
    {"id": 201, "display_name": "Dr. Maria Alvarez", "name": "Maria Alvarez"},
    {"id": 202, "display_name": None, "name": "Priya Raman"},
    {"id": 203, "first_name": "Kenji", "last_name": "Watanabe"},
]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (PROVIDERS[0], "Dr. Maria Alvarez"),
        (PROVIDERS[1], "Priya Raman"),
        (PROVIDERS[2], "Kenji Watanabe"),
        ({"id": 204, "display_name": "  ", "first_name": None}, None),
    ],
)
def test_a_provider_is_named_as_appointments_name_it(raw: dict[str, Any], shown: str | None) -> None:
    assert provider_display(VendorProvider.model_validate(raw)) == shown


class _Pages:
    """A provider list served in pages of two, counting how often it is read; or failing."""

    def __init__(self, *, failing: bool = False) -> None:
        self.reads = 0
        self.failing = failing

    async def __call__(self) -> AsyncIterator[Envelope | None]:
        self.reads += 1
        if self.failing:
            raise UpstreamError("down")
        for start in range(0, len(PROVIDERS) + 2, 2):
            yield Envelope({"providers": PROVIDERS[start : start + 2]}, len(PROVIDERS))


def _appointments() -> list[dict[str, Any]]:
    return [
        {"id": 1, "provider_id": 201},
        {"id": 2, "provider_id": "203"},
        {"id": 3, "provider_id": 202, "provider_name": "Served"},
        {"id": 4, "provider_id": 999},
        {"id": 5},
    ]


def test_appointments_without_a_providers_name_are_named_from_the_list_read_once() -> None:
    pages = _Pages()
    names = ProviderNames(pages, Drift())

    async def twice() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await names.named(_appointments()), await names.named(_appointments())

    first, second = asyncio.run(twice())
    assert [a.get("provider_name") for a in first] == ["Dr. Maria Alvarez", "Kenji Watanabe", "Served", None, None]
    assert second == first and pages.reads == 1


def test_appointments_that_name_their_providers_do_not_read_the_list() -> None:
    pages = _Pages()
    named = asyncio.run(ProviderNames(pages, Drift()).named([{"id": 1, "provider_id": 201, "provider_name": "X"}]))
    assert named == [{"id": 1, "provider_id": 201, "provider_name": "X"}] and pages.reads == 0


def test_a_provider_list_that_fails_names_no_one_and_fails_nothing() -> None:
    pages = _Pages(failing=True)
    named = asyncio.run(ProviderNames(pages, Drift()).named(_appointments()))
    assert named == _appointments() and pages.reads == 1
