"""The Dental PMS simulator: page list, search, typeahead and cursor list."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from sandboxes.clinic import AWKWARD
from sandboxes.dentalpms.app import create_app
from sandboxes.dentalpms.ids import record_uuid
from tests.support.text import fold
from tests.unit.sandboxes.dentalpms.client import (
    BASE,
    CLINIC,
    LIVE,
    LIVE_IDS,
    ORG,
    SMITHS,
    TOKEN,
    Api,
    awkward,
    new_api,
    search_ids,
    walk_cursor,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return new_api()


@pytest.mark.parametrize("page_size", [7, 50, 200])
def test_pages_cover_every_live_patient_once(api: Api, page_size: int) -> None:
    seen: list[str] = []
    page = 1
    while True:
        body = api.ok(BASE, page=page, page_size=page_size)
        assert (body["page"], body["page_size"], body["total"]) == (page, page_size, len(LIVE))
        if not body["items"]:
            break
        assert len(body["items"]) <= page_size
        seen += [item["id"] for item in body["items"]]
        page += 1
    assert len(seen) == len(set(seen)) == len(LIVE)
    assert set(seen) == LIVE_IDS
    assert page - 1 == -(-len(LIVE) // page_size)


@pytest.mark.parametrize("page_size", ["0", "201", "x"])
def test_page_size_out_of_range_is_422(api: Api, page_size: str) -> None:
    r = api.get(BASE, params={"page_size": page_size})
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["query", "page_size"]
    assert err["input"] == page_size
    assert err["type"] in {"greater_than_equal", "less_than_equal", "int_parsing"}


def test_bad_query_values_are_all_reported(api: Api) -> None:
    r = api.get(BASE, params={"page": "a", "sort_by": "ssn", "dob_from": "1985-13-01"})
    assert r.status_code == 422
    errors = {tuple(e["loc"]): e for e in r.json()["detail"]}
    assert errors[("query", "page")]["type"] == "int_parsing"
    assert errors[("query", "page")]["msg"] == ("Input should be a valid integer, unable to parse string as an integer")
    assert errors[("query", "sort_by")]["type"] == "literal_error"
    assert errors[("query", "dob_from")]["type"] == "date_from_datetime_parsing"
    assert errors[("query", "dob_from")]["input"] == "1985-13-01"


SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "last_name": lambda d: fold(d["last_name"]),
    "first_name": lambda d: fold(d["first_name"]),
    "chart_number": lambda d: d["chart_number"],
    "created_at": lambda d: datetime.fromisoformat(d["created_at"]),
    "status": lambda d: d["status"],
}


@pytest.mark.parametrize("sort_by", sorted(SORT_KEYS))
def test_sorting(api: Api, sort_by: str) -> None:
    asc = api.ok(BASE, page_size=200, sort_by=sort_by)["items"]
    asc += api.ok(BASE, page=2, page_size=200, sort_by=sort_by)["items"]
    keys = [SORT_KEYS[sort_by](d) for d in asc]
    assert keys == sorted(keys)
    desc = api.ok(BASE, page_size=200, sort_by=sort_by, sort_dir="desc")["items"]
    desc += api.ok(BASE, page=2, page_size=200, sort_by=sort_by, sort_dir="desc")["items"]
    assert [d["id"] for d in desc] == [d["id"] for d in reversed(asc)]


def test_date_of_birth_sort_puts_nulls_last(api: Api) -> None:
    items = api.ok(BASE, page_size=200, sort_by="date_of_birth")["items"]
    items += api.ok(BASE, page=2, page_size=200, sort_by="date_of_birth")["items"]
    dobs = [d["date_of_birth"] for d in items]
    assert dobs[-1] is None
    known = [d for d in dobs if d is not None]
    assert known == sorted(known)


def test_archived_only_with_status_filter(api: Api) -> None:
    deleted = awkward("deleted_patient")
    assert str(deleted.uuid) not in {d["id"] for d in api.ok(BASE, page_size=200)["items"]}
    body = api.ok(BASE, status="archived")
    assert [d["id"] for d in body["items"]] == [str(deleted.uuid)]
    assert body["items"][0]["deleted_at"] is not None


def test_status_filter(api: Api) -> None:
    body = api.ok(BASE, status="inactive", page_size=200)
    expected = {str(p.uuid) for p in LIVE if p.status == "inactive"}
    assert {d["id"] for d in body["items"]} == expected
    assert body["total"] == len(expected)
    assert api.ok(BASE, status="no-such-status")["total"] == 0


def test_provider_and_location_filters(api: Api) -> None:
    provider = record_uuid(CLINIC, "provider", 1)
    location = record_uuid(CLINIC, "location", 2)
    body = api.ok(BASE, primary_provider_uuid=str(provider), location_uuid=str(location))
    expected = {str(p.uuid) for p in LIVE if p.primary_provider_id == 1 and p.location_id == 2}
    assert body["total"] == len(expected) > 0
    r = api.get(BASE, params={"primary_provider_uuid": str(UUID(int=1))})
    assert (r.status_code, r.json()) == (404, {"detail": "Provider not found"})
    r = api.get(BASE, params={"location_uuid": "nope"})
    assert (r.status_code, r.json()) == (404, {"detail": "Location not found"})


def test_dob_filters(api: Api) -> None:
    body = api.ok(BASE, dob_from="1985-01-01", page_size=200)
    expected = {str(p.uuid) for p in LIVE if p.birth_date and p.birth_date.year >= 1985}
    assert {d["id"] for d in body["items"]} == expected
    assert str(AWKWARD["missing_birth_date"]) not in expected
    body = api.ok(BASE, dob_from="1960-01-01", dob_to="1969-12-31", page_size=200)
    expected = {str(p.uuid) for p in LIVE if p.birth_date and 1960 <= p.birth_date.year <= 1969}
    assert {d["id"] for d in body["items"]} == expected
    assert body["total"] == len(expected) > 0


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize("q", ["garcia", "GARCIA", "García", "gArCíA"])
def test_search_is_case_and_accent_insensitive(api: Api, q: str) -> None:
    expected = {str(p.uuid) for p in LIVE if fold(p.last_name) == "garcia"}
    assert str(AWKWARD["accented_name"]) in expected
    assert len(expected) >= 13
    assert search_ids(api, q) == expected


@pytest.mark.parametrize(
    ("q", "case"),
    [("muller", "unicode_name"), ("ZOE", "unicode_name"), ("nguyen", "apostrophe_hyphen"),
     ("o'brien", "apostrophe_hyphen"), ("小明", "cjk_name"), ("<script>", "markup_name")],
)  # fmt: skip
def test_search_finds_awkward_names(api: Api, q: str, case: str) -> None:
    assert str(AWKWARD[case]) in search_ids(api, q)


def test_search_by_shared_prefix(api: Api) -> None:
    assert len(SMITHS) >= 6
    assert search_ids(api, "smith") == SMITHS
    assert search_ids(api, "smithson") == {str(p.uuid) for p in LIVE if p.last_name == "Smithson"}


def test_search_by_phone_digits_chart_and_dob(api: Api) -> None:
    p = next(p for p in LIVE if p.mobile_phone)
    assert p.mobile_phone is not None
    formatted = f"({p.mobile_phone[:3]}) {p.mobile_phone[3:6]}-{p.mobile_phone[6:]}"
    assert str(p.uuid) in search_ids(api, formatted)
    assert search_ids(api, p.chart_number) == {str(p.uuid)}
    twin = awkward("twin")
    assert twin.birth_date is not None
    found = search_ids(api, twin.birth_date.isoformat())
    assert {str(twin.uuid), str(AWKWARD["twin_sibling"])} <= found


def test_search_tokens_are_anded(api: Api) -> None:
    zoe = awkward("unicode_name")
    assert search_ids(api, "zoë müller") == {str(zoe.uuid)}
    assert search_ids(api, "zoë smith") == set()


def test_search_with_filters_pages(api: Api) -> None:
    first = api.ok(BASE, search="johnson", page_size=10)
    second = api.ok(BASE, search="johnson", page=2, page_size=10)
    assert first["total"] == second["total"] >= 14
    assert len(first["items"]) == 10
    ids = [d["id"] for d in first["items"] + second["items"]]
    assert len(set(ids)) == len(ids) == first["total"]


def test_typeahead_search(api: Api) -> None:
    assert api.ok(f"{BASE}/search") == {"items": [], "total": 0}
    assert api.ok(f"{BASE}/search", q="") == {"items": [], "total": 0}
    body = api.ok(f"{BASE}/search", q="smith", limit=2)
    assert body["total"] == len(SMITHS)
    assert len(body["items"]) == 2
    assert set(body["items"][0]) == {
        "id", "first_name", "last_name", "preferred_name", "date_of_birth", "status",
        "mobile_phone", "email", "chart_number",
    }  # fmt: skip
    deleted = awkward("deleted_patient")
    assert api.ok(f"{BASE}/search", q=deleted.chart_number)["total"] == 0


# --------------------------------------------------------------------------- cursor list

CURSOR_SORTS = [
    "first_name", "last_name", "date_of_birth", "chart_number", "created_at", "updated_at",
    "status",
]  # fmt: skip


@pytest.mark.parametrize("sort_by", CURSOR_SORTS)
@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_cursor_walk_covers_everyone_once(api: Api, sort_by: str, sort_dir: str) -> None:
    rows = walk_cursor(api, 17, sort_by=sort_by, sort_dir=sort_dir)
    ids = [d["id"] for d in rows]
    assert len(ids) == len(set(ids)) == len(LIVE)
    assert set(ids) == LIVE_IDS
    if sort_by != "updated_at":
        listed = api.ok(BASE, page_size=200, sort_by=sort_by, sort_dir=sort_dir)["items"]
        listed += api.ok(BASE, page=2, page_size=200, sort_by=sort_by, sort_dir=sort_dir)["items"]
        assert ids == [d["id"] for d in listed]


def test_cursor_default_sort_is_first_name(api: Api) -> None:
    data = api.ok(f"{BASE}/cursor", first=200)["data"]
    names = [fold(d["first_name"]) for d in data]
    assert names == sorted(names)


def test_cursor_with_filters(api: Api) -> None:
    rows = walk_cursor(api, 4, search="johnson")
    assert len(rows) == api.ok(BASE, search="johnson")["total"]
    rows = walk_cursor(api, 5, status="archived")
    assert [d["id"] for d in rows] == [str(AWKWARD["deleted_patient"])]


def test_cursor_last_page(api: Api) -> None:
    body = api.ok(f"{BASE}/cursor", first=200, search="smith")
    assert len(body["data"]) == len(SMITHS)
    assert body["page_info"]["has_next_page"] is False
    after = body["page_info"]["end_cursor"]
    empty = api.ok(f"{BASE}/cursor", first=200, search="smith", after=after)
    assert empty == {"data": [], "page_info": {"end_cursor": None, "has_next_page": False}}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("cursor", "sort_by"),
    [
        ("zzz", "first_name"),
        ("%%%", "first_name"),
        (_b64(b"not json"), "first_name"),
        (_b64(b'{"a": 1}'), "first_name"),
        (_b64(b'{"Emma": 1, "00000000-0000-0000-0000-000000000001": 2}'), "first_name"),
        (_b64(b'["Emma", "not-a-uuid"]'), "first_name"),
        (_b64(b'["Emma", "00000000-0000-0000-0000-000000000001"]'), "created_at"),
        (_b64(b'["Emma", "00000000-0000-0000-0000-000000000001"]'), "date_of_birth"),
        (_b64(b'[3, "00000000-0000-0000-0000-000000000001"]'), "first_name"),
    ],
)
def test_malformed_cursor_is_422(api: Api, cursor: str, sort_by: str) -> None:
    r = api.get(f"{BASE}/cursor", params={"after": cursor, "sort_by": sort_by})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {
                "type": "value_error",
                "loc": ["query", "after"],
                "msg": "Value error, Invalid or malformed cursor",
                "input": cursor,
                "ctx": {"error": "Invalid or malformed cursor"},
            }
        ]
    }


def test_cursor_first_out_of_range(api: Api) -> None:
    r = api.get(f"{BASE}/cursor", params={"first": 201})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "first"]


def test_counts_by_location_count_active_patients_unless_asked(api: Api) -> None:
    body = api.ok(f"{BASE}/counts/by-location")
    active = [p for p in LIVE if p.status == "active"]
    located = [p for p in active if p.location_id is not None]
    assert body["status_set"] == ["active"]
    assert body["total"] == len(located) and body["excluded_count"] == len(active) - len(located)
    assert sum(item["count"] for item in body["items"]) == body["total"]
    response = api.get(f"{BASE}/counts/by-location", params=[("status_set", "active"), ("status_set", "inactive")])
    both = response.json()
    assert both["total"] + both["excluded_count"] == sum(1 for p in LIVE if p.status in ("active", "inactive"))


def test_counts_of_an_organization_without_patients_are_zero_even_when_empty_lists_are_404() -> None:
    clinic = replace(CLINIC, patients=(), awkward=())
    empty = Api(create_app(clinic, org_id=ORG, api_token=TOKEN, empty_lists="not_found"))
    assert empty.get(BASE, params={"page": 1}).status_code == 404
    body = empty.ok(f"{BASE}/counts/by-location")
    assert (body["items"], body["total"], body["excluded_count"]) == ([], 0, 0)
