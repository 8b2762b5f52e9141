"""The Dental PMS simulator's switches for how the list `search` is read (readings)."""

from __future__ import annotations

import unicodedata

import pytest

from sandboxes.dentalpms.app import create_app
from sandboxes.dentalpms.readings import SearchReading
from sandboxes.toolkit.phones import format_us_phone
from tests.unit.sandboxes.dentalpms.client import BASE, CLINIC, LIVE, ORG, SMITHS, TOKEN, Api, new_api, search_ids

RENEES = {str(p.uuid) for p in LIVE if p.first_name == "Renée"}
PHONED = next(p for p in LIVE if p.mobile_phone)


def variant(**switches: str) -> Api:
    return Api(create_app(CLINIC, org_id=ORG, api_token=TOKEN, **switches))  # type: ignore[arg-type]


def by_name(api: Api, q: str) -> set[str]:
    """Typeahead matches (names and chart numbers only: emails hold unaccented names)."""
    return {item["id"] for item in api.ok(f"{BASE}/search", q=q, limit=100)["items"]}


def test_the_default_is_the_documented_reading() -> None:
    api = new_api()
    assert RENEES and search_ids(api, "renee") >= RENEES
    assert str(PHONED.uuid) in search_ids(api, PHONED.mobile_phone or "")
    assert search_ids(api, "mith") >= SMITHS


@pytest.mark.slow
def test_accent_sensitive_misses_unaccented_queries_but_not_unaccented_parts() -> None:
    api = variant(search_accents="sensitive")
    assert not by_name(api, "renee") & RENEES
    assert by_name(api, "RENÉE") >= RENEES  # case still ignored
    assert by_name(api, "ren") >= RENEES
    assert by_name(new_api(), "renee") >= RENEES


def test_nfd_storage_misses_precomposed_queries() -> None:
    api = variant(search_accents="sensitive_nfd")
    assert not by_name(api, "Renée") & RENEES
    assert by_name(api, unicodedata.normalize("NFD", "Renée")) >= RENEES
    assert by_name(api, "Ren") >= RENEES


def test_phones_as_stored_are_served_formatted_and_matched_as_text() -> None:
    api = variant(search_phones="as_stored")
    digits = PHONED.mobile_phone or ""
    formatted = format_us_phone(digits)
    assert api.ok(f"{BASE}/{PHONED.uuid}")["mobile_phone"] == formatted
    assert str(PHONED.uuid) not in search_ids(api, digits)
    assert str(PHONED.uuid) in search_ids(api, formatted)
    assert str(PHONED.uuid) in search_ids(api, digits[-4:])


def test_prefix_matches_only_the_start_of_a_field() -> None:
    api = variant(search_match="prefix")
    assert not search_ids(api, "mith") & SMITHS
    assert search_ids(api, "smith") >= SMITHS
    digits = PHONED.mobile_phone or ""
    assert str(PHONED.uuid) not in search_ids(api, digits[-4:])
    assert str(PHONED.uuid) in search_ids(api, digits[:6])


def test_case_sensitive_matches_only_the_case_stored() -> None:
    api = variant(search_case="sensitive")
    emailed = next(p for p in LIVE if p.email and p.email != p.email.upper())
    email = emailed.email or ""
    assert str(emailed.uuid) in search_ids(api, email)
    assert str(emailed.uuid) not in search_ids(api, email.upper())
    assert str(emailed.uuid) in search_ids(new_api(), email.upper())
    assert not search_ids(api, "SMITH") & SMITHS
    assert search_ids(api, "Smith") >= SMITHS
    assert str(PHONED.uuid) in search_ids(api, PHONED.mobile_phone or "")  # digits have no case


def test_list_search_follows_the_switches_on_names() -> None:
    sorensens = {str(p.uuid) for p in LIVE if p.last_name == "Sørensen"}  # emails say "srensen"
    assert sorensens
    assert not search_ids(variant(search_accents="sensitive"), "sorensen") & sorensens
    assert search_ids(new_api(), "sorensen") >= sorensens


def test_unknown_switch_values_are_refused() -> None:
    with pytest.raises(ValueError, match="search_accents"):
        SearchReading(accents="loose")  # type: ignore[arg-type]
