"""The Nextvisit simulator: the patient list's pagination, sorting, filters and includes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.text import fold
from tests.unit.sandboxes.nextvisit.client import (
    HOST,
    LIVE,
    LIVE_IDS,
    Api,
    all_rows,
    awkward,
    ids_of,
    new_api,
    query_of,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


@pytest.mark.parametrize("per_page", [7, 50, 100])
def test_page_walk_covers_every_live_patient_once(api: Api, per_page: int) -> None:
    total = len(LIVE)
    last_page = -(-total // per_page)
    seen: list[int] = []
    body = api.ok("/v1/patients", per_page=per_page)
    page = 1
    while True:
        meta, links = body["meta"], body["links"]
        assert (meta["current_page"], meta["per_page"], meta["total"]) == (page, per_page, total)
        assert meta["last_page"] == last_page
        assert meta["path"] == f"{HOST}/v1/patients"
        assert meta["from"] == (page - 1) * per_page + 1
        assert meta["to"] == meta["from"] + len(body["data"]) - 1
        assert len(body["data"]) == (per_page if page < last_page else total - (last_page - 1) * per_page)
        assert links["first"] == f"{HOST}/v1/patients?per_page={per_page}&page=1"
        assert links["last"] == f"{HOST}/v1/patients?per_page={per_page}&page={last_page}"
        assert links["prev"] == (None if page == 1 else f"{HOST}/v1/patients?per_page={per_page}&page={page - 1}")
        nav = meta["links"]
        assert nav[0]["label"] == "&laquo; Previous" and nav[0]["url"] == links["prev"]
        assert nav[-1]["label"] == "Next &raquo;" and nav[-1]["url"] == links["next"]
        assert [x["label"] for x in nav if x["active"]] == [str(page)]
        seen += [d["id"] for d in body["data"]]
        if links["next"] is None:
            break
        body = api.follow(links["next"])
        page += 1
    assert page == last_page
    assert len(seen) == len(set(seen)) == total
    assert set(seen) == LIVE_IDS


def _labels(api: Api, page: int) -> list[str]:
    nav = api.ok("/v1/patients", per_page=7, page=page)["meta"]["links"]
    return [x["label"] for x in nav[1:-1]]


def test_meta_links_use_laravels_sliding_window(api: Api) -> None:
    last = -(-len(LIVE) // 7)
    assert last >= 20
    tail = [str(last - 1), str(last)]
    assert _labels(api, 1) == [*map(str, range(1, 11)), "...", *tail]
    assert _labels(api, 12) == ["1", "2", "...", *map(str, range(9, 16)), "...", *tail]
    assert _labels(api, last) == ["1", "2", "...", *map(str, range(last - 9, last + 1))]
    small = api.ok("/v1/patients", per_page=100)["meta"]["links"]
    assert [x["label"] for x in small[1:-1]] == ["1", "2", "3"]
    assert all(x["url"] is None for x in api.ok("/v1/patients", per_page=7, page=12)["meta"]["links"]
               if x["label"] == "...")  # fmt: skip


def test_links_keep_the_other_query_parameters(api: Api) -> None:
    body = api.ok("/v1/patients", **{"filter[last_name]": "son", "sort": "last_name", "per_page": 3,
                                     "page": 2, "include": "user,team"})  # fmt: skip
    nxt = body["links"]["next"]
    assert nxt.startswith(f"{HOST}/v1/patients?")
    assert "filter%5Blast_name%5D=son" in nxt and "include=user%2Cteam" in nxt
    assert query_of(nxt) == [("filter[last_name]", "son"), ("sort", "last_name"), ("per_page", "3"),
                              ("include", "user,team"), ("page", "3")]  # fmt: skip
    assert body["meta"]["path"] == f"{HOST}/v1/patients"


def test_page_past_the_end_and_bad_page(api: Api) -> None:
    body = api.ok("/v1/patients", per_page=100, page=9)
    assert body["data"] == []
    assert (body["meta"]["from"], body["meta"]["to"], body["meta"]["current_page"]) == (None, None, 9)
    assert body["links"]["next"] is None
    assert body["links"]["prev"].endswith("page=8")
    for bad in ("0", "-1", "x", "1.5"):
        assert api.ok("/v1/patients", page=bad)["meta"]["current_page"] == 1
    empty = api.ok("/v1/patients", **{"filter[first_name]": "zzzzzz"})
    assert (empty["meta"]["total"], empty["meta"]["last_page"], empty["meta"]["from"]) == (0, 1, None)
    assert [x["label"] for x in empty["meta"]["links"]] == ["&laquo; Previous", "1", "Next &raquo;"]


@pytest.mark.parametrize(
    ("per_page", "messages"),
    [
        ("0", ["The per page field must be at least 1."]),
        ("101", ["The per page field must not be greater than 100."]),
        ("abc", ["The per page field must be an integer."]),
    ],
)
def test_per_page_out_of_range_is_422(api: Api, per_page: str, messages: list[str]) -> None:
    r = api.get("/v1/patients", params={"per_page": per_page})
    assert r.status_code == 422
    assert r.json() == {"message": messages[0], "errors": {"per_page": messages}}


def test_default_per_page_and_empty_parameters(api: Api) -> None:
    body = api.ok("/v1/patients", per_page="", sort="", include="")
    assert body["meta"]["per_page"] == 50
    assert "per_page" not in body["links"]["next"]  # empty values are null, dropped from links


# --------------------------------------------------------------------------- sorting

SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "id": lambda d: d["id"],
    "first_name": lambda d: fold(d["first_name"]),
    "last_name": lambda d: fold(d["last_name"]),
    "date_of_birth": lambda d: (d["date_of_birth"] is not None, d["date_of_birth"] or ""),
    "created_at": lambda d: d["created_at"],
}


@pytest.mark.parametrize("field", sorted(SORT_KEYS))
def test_sorting_both_ways_with_id_tie_break(api: Api, field: str) -> None:
    key = SORT_KEYS[field]
    for desc in (False, True):
        rows = all_rows(api, sort=f"-{field}" if desc else field)
        assert len(rows) == len(LIVE)
        keys = [key(d) for d in rows]
        assert keys == sorted(keys, reverse=desc)
        for a, b in itertools.pairwise(rows):
            if key(a) == key(b):
                assert a["id"] < b["id"]


def test_default_sort_is_newest_created_first(api: Api) -> None:
    assert [d["id"] for d in all_rows(api)] == [d["id"] for d in all_rows(api, sort="-created_at")]


def test_null_birth_dates_sort_first_ascending(api: Api) -> None:
    missing = awkward("missing_birth_date").id
    assert api.ok("/v1/patients", sort="date_of_birth")["data"][0]["id"] == missing
    assert all_rows(api, sort="-date_of_birth")[-1]["id"] == missing


@pytest.mark.parametrize("sort", ["ssn", "-updated_at", "last_name,id", "+id"])
def test_unknown_sort_is_422(api: Api, sort: str) -> None:
    r = api.get("/v1/patients", params={"sort": sort})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The selected sort is invalid.",
        "errors": {"sort": ["The selected sort is invalid."]},
    }


# --------------------------------------------------------------------------- filters


def test_name_filters_are_partial_case_and_accent_insensitive(api: Api) -> None:
    jose = awkward("accented_name")
    rows = all_rows(api, **{"filter[first_name]": "JOS"})
    assert jose.id in ids_of(rows)
    assert ids_of(rows) == {p.id for p in LIVE if "jos" in fold(p.first_name)}
    garcias = all_rows(api, **{"filter[last_name]": "garcia"})
    assert ids_of(garcias) == {p.id for p in LIVE if "garcia" in fold(p.last_name)}
    assert jose.id in ids_of(garcias) and len(garcias) >= 13
    smiths = all_rows(api, **{"filter[last_name]": "mith"})  # partial, not prefix
    assert {d["last_name"] for d in smiths} >= {"Smith", "Smithson", "Smithers"}
    zoe = awkward("unicode_name")
    both = all_rows(api, **{"filter[first_name]": "zoe", "filter[last_name]": "MULLER"})
    assert ids_of(both) == {zoe.id}


def test_name_filter_commas_are_alternatives(api: Api) -> None:
    rows = all_rows(api, **{"filter[first_name]": "Zoë,José"})
    assert ids_of(rows) == {p.id for p in LIVE if fold(p.first_name) in ("zoe", "jose")}
    assert len(rows) >= 2


def test_date_of_birth_filter(api: Api) -> None:
    twin = awkward("twin")
    assert twin.birth_date is not None
    rows = all_rows(api, **{"filter[date_of_birth]": twin.birth_date.isoformat()})
    assert ids_of(rows) == {twin.id, awkward("twin_sibling").id}
    r = api.get("/v1/patients", params={"filter[date_of_birth]": "1985-02-30"})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The filter.date of birth field must be a valid date.",
        "errors": {"filter.date_of_birth": ["The filter.date of birth field must be a valid date."]},
    }


def test_trashed_filter(api: Api) -> None:
    deleted = awkward("deleted_patient")
    plain = all_rows(api)
    assert deleted.id not in ids_of(plain)
    assert all("deleted_at" not in d for d in plain)
    with_trashed = all_rows(api, **{"filter[trashed]": "with"})
    assert ids_of(with_trashed) == LIVE_IDS | {deleted.id}
    by_id = {d["id"]: d for d in with_trashed}
    assert by_id[deleted.id]["deleted_at"] is not None
    assert all(d["deleted_at"] is None for i, d in by_id.items() if i != deleted.id)
    only = api.ok("/v1/patients", **{"filter[trashed]": "only"})
    assert [d["id"] for d in only["data"]] == [deleted.id]
    assert only["meta"]["total"] == 1
    r = api.get("/v1/patients", params={"filter[trashed]": "all"})
    assert r.status_code == 422
    assert r.json()["errors"] == {"filter.trashed": ["The selected filter.trashed is invalid."]}
    r = api.get(f"/v1/patients/{deleted.id}")
    assert (r.status_code, r.json()) == (
        404,
        {"message": f"No query results for model [App\\Models\\Patient] {deleted.id}"},
    )


def test_unknown_filter_and_include_are_400(api: Api) -> None:
    r = api.get("/v1/patients", params={"filter[email]": "x", "filter[phone]": "1"})
    assert r.status_code == 400
    assert r.json() == {"message": "Requested filter(s) `email, phone` are not allowed. Allowed filter(s) are "
                                   "`first_name, last_name, date_of_birth, trashed`."}  # fmt: skip
    r = api.get("/v1/patients", params={"include": "user,vitals,encounters.provider"})
    assert r.status_code == 400
    assert r.json() == {"message": "Requested include(s) `vitals, encounters.provider` are not allowed. "
                                   "Allowed include(s) are `user, team, encounters, demographics`."}  # fmt: skip
    r = api.get("/v1/patients", params={"include": "x", "filter[y]": "1"})
    assert r.json()["message"].startswith("Requested filter(s) `y`")  # filters are checked first
    r = api.get("/v1/patients", params={"include": "x", "per_page": "0"})
    assert r.status_code == 422  # validation comes before Spatie


def test_includes(api: Api) -> None:
    plain = api.ok("/v1/patients", per_page=5)["data"]
    for d in plain:
        assert "user" in d and "timeline" in d
        assert not {"team", "encounters", "demographics", "deleted_at"} & set(d)
    full = api.ok("/v1/patients", per_page=5, include="user,team,encounters,demographics")["data"]
    assert [d["id"] for d in full] == [d["id"] for d in plain]
    for d in full:
        assert d["team"] == {"id": 1, "name": "Sandbox Dental Group"}
        assert isinstance(d["encounters"], list)
        assert set(d["demographics"]) == {"email", "phone", "address_line1", "city", "state", "postal_code"}
    keys = list(full[0])
    assert keys == ["id", "uuid", "first_name", "middle_name", "last_name", "gender", "date_of_birth", "notes",
                    "allergies", "insurance", "latest_medications", "user", "team", "timeline", "encounters",
                    "demographics", "meta", "created_at", "updated_at"]  # fmt: skip
    assert set(api.ok("/v1/patients", per_page=1, include="demographics")["data"][0]) & {"team", "encounters"} == set()
