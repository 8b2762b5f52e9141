"""The Nextvisit simulator: Scout + Meilisearch search."""

from __future__ import annotations

import pytest

from tests.unit.sandboxes.nextvisit.client import (
    HOST,
    LIVE,
    Api,
    awkward,
    ids_of,
    new_api,
    query_of,
    search,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


def test_search_tolerates_one_typo(api: Api) -> None:
    twin = awkward("twin")
    assert twin.id in ids_of(search(api, "Okonkow")["data"])  # a swap: 1 typo
    assert twin.id in ids_of(search(api, "Okonkwa")["data"])  # a substitution
    assert twin.id not in ids_of(search(api, "Okunkwa")["data"])  # 2 typos in 7 letters
    assert twin.id not in ids_of(search(api, "Chdi")["data"])  # under 5 letters: no typo
    johnsons = {p.id for p in LIVE if p.last_name == "Johnson"}
    assert johnsons <= ids_of(search(api, "jonhson", per_page=100)["data"])
    assert search(api, "hohnson")["meta"]["total"] == 0  # a typo on the first letter counts double


def test_search_tolerates_two_typos_from_nine_letters(api: Api) -> None:
    smithers = {p.id for p in LIVE if p.last_name == "Smithers"}
    assert smithers <= ids_of(search(api, "smithersxy", per_page=100)["data"])
    assert not smithers & ids_of(search(api, "smithersxyz", per_page=100)["data"])


def test_search_is_accent_insensitive_with_prefix_on_the_last_word(api: Api) -> None:
    zoe = awkward("unicode_name")
    assert ids_of(search(api, "zoe muller")["data"]) >= {zoe.id}
    assert search(api, "zoe muller")["data"][0]["id"] == zoe.id
    smi = search(api, "smi", per_page=100)["data"]
    assert {d["last_name"] for d in smi} >= {"Smith", "Smithson", "Smithers"}
    jose = awkward("accented_name")
    assert jose.id in ids_of(search(api, "GARCIA", per_page=100)["data"])
    assert awkward("cjk_name").id in ids_of(search(api, "王")["data"])


def test_search_matches_birth_date_and_notes(api: Api) -> None:
    twin = awkward("twin")
    assert twin.birth_date is not None
    found = ids_of(search(api, twin.birth_date.isoformat())["data"])
    assert {twin.id, awkward("twin_sibling").id} <= found
    inactive = awkward("inactive")
    assert inactive.id in ids_of(search(api, "inactive", per_page=100)["data"])


def test_search_drops_trailing_words_and_orders_by_updated_at(api: Api) -> None:
    twin = awkward("twin")
    body = search(api, "Chidi Zzzzzzqq")
    assert twin.id in ids_of(body["data"])  # Meilisearch "last" matching strategy
    johnsons = search(api, "Johnson", per_page=100)["data"]
    stamps = [d["updated_at"] for d in johnsons]
    assert stamps == sorted(stamps, reverse=True)
    asc = search(api, "Johnson", per_page=100, sort_by="asc")["data"]
    assert [d["updated_at"] for d in asc] == sorted(stamps)
    full = search(api, "Adaeze Okonkwo", per_page=100)["data"]
    assert full[0]["id"] == awkward("twin_sibling").id  # both words before the first word alone


def test_search_pages_like_scout(api: Api) -> None:
    body = search(api, "a", per_page=5, sort_by="asc")
    assert body["meta"]["per_page"] == 5 and body["meta"]["total"] > 5
    assert query_of(body["links"]["next"]) == [("query", "a"), ("page", "2")]  # only `query` is kept
    assert body["meta"]["path"] == f"{HOST}/v1/patients/search"
    assert search(api, "Johnson")["meta"]["per_page"] == 20
    seen: list[int] = []
    page = 1
    while True:
        part = search(api, "a", per_page=7, page=page)
        seen += [d["id"] for d in part["data"]]
        if part["links"]["next"] is None:
            break
        page += 1
    assert len(seen) == len(set(seen)) == body["meta"]["total"]
    assert all(set(d) & {"team", "encounters", "demographics"} == set() for d in body["data"])


def test_search_validation(api: Api) -> None:
    for params in ({}, {"query": ""}, {"query": "   "}):
        r = api.get("/v1/patients/search", params=params)
        assert r.status_code == 422
        assert r.json() == {"message": "The query field is required.",
                            "errors": {"query": ["The query field is required."]}}  # fmt: skip
    r = api.get("/v1/patients/search", params={"query": "a", "per_page": "101", "sort_by": "up"})
    assert r.json() == {
        "message": "The per page field must not be greater than 100. (and 1 more error)",
        "errors": {"per_page": ["The per page field must not be greater than 100."],
                   "sort_by": ["The selected sort by is invalid."]},
    }  # fmt: skip
    assert search(api, "--")["meta"]["total"] == len(LIVE)  # no words: a placeholder search


def test_search_leaves_out_deleted_patients(api: Api) -> None:
    deleted = awkward("deleted_patient")
    assert deleted.id not in ids_of(search(api, f"{deleted.first_name} {deleted.last_name}", per_page=100)["data"])
