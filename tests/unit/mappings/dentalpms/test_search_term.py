"""Which term the Dental PMS adapter sends as the free-text `search`: only one every reading
of the docs finds (a whole chart number, ASCII), never a name, phone or email value (FHIR
finds an email in any case; a case-sensitive `search` only in the case stored)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.contract import ResourceProvider
from gateway.search.parse import parse_search
from mappings.dentalpms.adapter import _search_term
from mappings.dentalpms.capabilities import PATIENT

CHART = "urn:example:chart"


async def _unused(*args: object) -> Any:
    raise AssertionError("planning never calls a vendor")


SUPPORT = ResourceProvider(PATIENT, _unused, _unused).support


def term(*items: tuple[str, str]) -> str | None:
    parsed = parse_search(SUPPORT, list(items), strict=True, default_count=20, max_count=100)
    return _search_term(parsed.query, CHART)


@pytest.mark.parametrize(
    "items",
    [
        [("family", "NUÑEZ")],
        [("family", "nunez")],
        [("given", "Renée")],
        [("given", "Renee")],
        [("name", "Smith")],
        [("family:contains", "mit")],
        [("family:exact", "Smith")],
        [("phone", "(555) 123-4567")],
        [("phone", "5551234567")],
        [("email", "josé@example.org")],
        [("email", "a b@example.org")],
        [("email", "a\\\\b@example.org")],
        [("identifier", "urn:other|C00001")],
        [("email", "a@example.org,b@example.org")],
        [("email", "Ada.King@Example.org")],
        [("email", "ada@example.org")],
        [("family", "Núñez"), ("phone", "5551234567"), ("email", "a@x.org")],
    ],
)
def test_no_term_unless_every_reading_finds_it(items: list[tuple[str, str]]) -> None:
    assert term(*items) is None


def test_chart_numbers_go_whole() -> None:
    assert term(("identifier", "C00042")) == "C00042"
    assert term(("identifier", f"{CHART}|C00042")) == "C00042"
    assert term(("identifier", "C00042"), ("email", "ada@example.org")) == "C00042"
