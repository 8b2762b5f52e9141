"""The Dental PMS simulator: auth, paging, cursors, search, sub-resources, errors, writes."""

from __future__ import annotations

import asyncio
import base64
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from starlette.applications import Starlette

from mappings.dentalpms.sandbox import create_app, record_uuid
from mappings.sandbox.clinic import AWKWARD, Patient, build_clinic

CLINIC = build_clinic()
ORG = "org-7f3a"
TOKEN = "sandbox-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = f"/api/v1/{ORG}/patients"
LIVE = [p for p in CLINIC.patients if not p.deleted]
LIVE_IDS = {str(p.uuid) for p in LIVE}
SMITHS = {str(p.uuid) for p in LIVE if p.last_name.startswith("Smith")}  # Smith*, 3 names
FIXED_NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


class Api:
    """A synchronous face on the ASGI app (pytest-asyncio is not a dependency)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def call(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = {**(AUTH if auth else {}), **kw.pop("headers", {})}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
                return await c.request(method, path, headers=headers, **kw)

        return asyncio.run(go())

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("GET", path, **kw)

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()


def _app() -> Api:
    return Api(create_app(CLINIC, org_id=ORG, api_token=TOKEN, clock=lambda: FIXED_NOW))


@pytest.fixture(scope="module")
def api() -> Api:
    return _app()


def _fold(s: str) -> str:
    d = unicodedata.normalize("NFKD", s.replace("ø", "o").replace("Ø", "O"))
    return "".join(c for c in d if not unicodedata.combining(c)).casefold()


def _awk(case: str) -> Patient:
    return CLINIC.patient_by_uuid(AWKWARD[case])


# --------------------------------------------------------------------------- protocol


def test_missing_token_is_401(api: Api) -> None:
    r = api.get(BASE, auth=False)
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer nope", "Basic c2FuZGJveA==", f"Token {TOKEN}"])
def test_wrong_token_is_401(api: Api, header: str) -> None:
    r = api.get(BASE, auth=False, headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json() == {"detail": "Invalid authentication credentials"}
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_org_is_404(api: Api) -> None:
    r = api.get("/api/v1/someone-else/patients")
    assert (r.status_code, r.json()) == (404, {"detail": "Organization not found"})


def test_unknown_path_is_fastapi_404(api: Api) -> None:
    for path in ("/nope", f"/api/v1/{ORG}/appointments", f"{BASE}/{AWKWARD['nkda']}/alerts/x/y"):
        r = api.get(path, auth=False)
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    r = api.call("DELETE", BASE)
    assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})


def test_json_content_type(api: Api) -> None:
    assert api.get(BASE).headers["content-type"] == "application/json"


# --------------------------------------------------------------------------- page list


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
    "last_name": lambda d: _fold(d["last_name"]),
    "first_name": lambda d: _fold(d["first_name"]),
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
    deleted = _awk("deleted_patient")
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


def _search_ids(api: Api, q: str, path: str = BASE) -> set[str]:
    body = api.ok(path, search=q, page_size=200)
    return {d["id"] for d in body["items"]}


@pytest.mark.parametrize("q", ["garcia", "GARCIA", "García", "gArCíA"])
def test_search_is_case_and_accent_insensitive(api: Api, q: str) -> None:
    expected = {str(p.uuid) for p in LIVE if _fold(p.last_name) == "garcia"}
    assert str(AWKWARD["accented_name"]) in expected
    assert len(expected) >= 13
    assert _search_ids(api, q) == expected


@pytest.mark.parametrize(
    ("q", "case"),
    [("muller", "unicode_name"), ("ZOE", "unicode_name"), ("nguyen", "apostrophe_hyphen"),
     ("o'brien", "apostrophe_hyphen"), ("小明", "cjk_name"), ("<script>", "markup_name")],
)  # fmt: skip
def test_search_finds_awkward_names(api: Api, q: str, case: str) -> None:
    assert str(AWKWARD[case]) in _search_ids(api, q)


def test_search_by_shared_prefix(api: Api) -> None:
    assert len(SMITHS) >= 6
    assert _search_ids(api, "smith") == SMITHS
    assert _search_ids(api, "smithson") == {str(p.uuid) for p in LIVE if p.last_name == "Smithson"}


def test_search_by_phone_digits_chart_and_dob(api: Api) -> None:
    p = next(p for p in LIVE if p.mobile_phone)
    assert p.mobile_phone is not None
    formatted = f"({p.mobile_phone[:3]}) {p.mobile_phone[3:6]}-{p.mobile_phone[6:]}"
    assert str(p.uuid) in _search_ids(api, formatted)
    assert _search_ids(api, p.chart_number) == {str(p.uuid)}
    twin = _awk("twin")
    assert twin.birth_date is not None
    found = _search_ids(api, twin.birth_date.isoformat())
    assert {str(twin.uuid), str(AWKWARD["twin_sibling"])} <= found


def test_search_tokens_are_anded(api: Api) -> None:
    zoe = _awk("unicode_name")
    assert _search_ids(api, "zoë müller") == {str(zoe.uuid)}
    assert _search_ids(api, "zoë smith") == set()


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
    deleted = _awk("deleted_patient")
    assert api.ok(f"{BASE}/search", q=deleted.chart_number)["total"] == 0


# --------------------------------------------------------------------------- cursor list

CURSOR_SORTS = [
    "first_name", "last_name", "date_of_birth", "chart_number", "created_at", "updated_at",
    "status",
]  # fmt: skip


def _walk(api: Api, first: int, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    for _ in range(1000):
        query = {"first": first, **params, **({"after": after} if after else {})}
        body = api.ok(f"{BASE}/cursor", **query)
        assert len(body["data"]) <= first
        rows += body["data"]
        info = body["page_info"]
        if not info["has_next_page"]:
            return rows
        after = info["end_cursor"]
        assert after
    raise AssertionError("cursor walk did not end")


@pytest.mark.parametrize("sort_by", CURSOR_SORTS)
@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_cursor_walk_covers_everyone_once(api: Api, sort_by: str, sort_dir: str) -> None:
    rows = _walk(api, 17, sort_by=sort_by, sort_dir=sort_dir)
    ids = [d["id"] for d in rows]
    assert len(ids) == len(set(ids)) == len(LIVE)
    assert set(ids) == LIVE_IDS
    if sort_by != "updated_at":
        listed = api.ok(BASE, page_size=200, sort_by=sort_by, sort_dir=sort_dir)["items"]
        listed += api.ok(BASE, page=2, page_size=200, sort_by=sort_by, sort_dir=sort_dir)["items"]
        assert ids == [d["id"] for d in listed]


def test_cursor_default_sort_is_first_name(api: Api) -> None:
    data = api.ok(f"{BASE}/cursor", first=200)["data"]
    names = [_fold(d["first_name"]) for d in data]
    assert names == sorted(names)


def test_cursor_with_filters(api: Api) -> None:
    rows = _walk(api, 4, search="johnson")
    assert len(rows) == api.ok(BASE, search="johnson")["total"]
    rows = _walk(api, 5, status="archived")
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


# --------------------------------------------------------------------------- one patient


def test_patient_matches_clinic(api: Api) -> None:
    p = _awk("markup_name")
    d = api.ok(f"{BASE}/{p.uuid}")
    assert d["id"] == str(p.uuid)
    assert d["last_name"] == "Tables<script>alert(1)</script> & Sons"
    assert d["first_name"] == p.first_name
    assert d["chart_number"] == p.chart_number
    assert d["date_of_birth"] == (p.birth_date.isoformat() if p.birth_date else None)
    assert d["gender"] == p.gender
    assert d["created_at"] == p.created_at.isoformat().replace("+00:00", "Z")
    assert d["status"] == p.status
    assert d["deleted_at"] is None
    assert isinstance(d["version"], int) and d["version"] >= 1
    provider = CLINIC.provider(p.primary_provider_id or 0)
    assert d["primary_provider"] == {
        "uuid": str(record_uuid(CLINIC, "provider", provider.id)),
        "name": f"{provider.first_name} {provider.last_name}, {provider.designation}",
    }


def test_patient_nulls(api: Api) -> None:
    assert api.ok(f"{BASE}/{AWKWARD['missing_birth_date']}")["date_of_birth"] is None
    assert api.ok(f"{BASE}/{AWKWARD['no_gender']}")["gender"] is None
    d = api.ok(f"{BASE}/{AWKWARD['no_contact']}")
    assert (d["email"], d["mobile_phone"], d["home_phone"]) == (None, None, None)
    assert d["receives_sms"] is False
    d = api.ok(f"{BASE}/{AWKWARD['deceased']}")
    assert d["status"] == "deceased"
    assert d["date_time_deceased"].endswith("Z")


def test_deleted_patient_is_still_readable(api: Api) -> None:
    d = api.ok(f"{BASE}/{AWKWARD['deleted_patient']}")
    assert d["status"] == "archived"
    assert d["deleted_at"] is not None


def test_unknown_and_malformed_patient(api: Api) -> None:
    r = api.get(f"{BASE}/{UUID(int=5)}")
    assert (r.status_code, r.json()) == (404, {"detail": "Patient not found"})
    r = api.get(f"{BASE}/{UUID(int=5)}/allergies")
    assert (r.status_code, r.json()) == (404, {"detail": "Patient not found"})
    r = api.get(f"{BASE}/not-a-uuid")
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert (err["type"], err["loc"], err["input"]) == (
        "uuid_parsing", ["path", "patient_uuid"], "not-a-uuid",
    )  # fmt: skip
    assert err["msg"].startswith("Input should be a valid UUID")


# --------------------------------------------------------------------------- sub-resources


def _all(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = api.ok(path, page=page, page_size=10, **params)
        items += body["items"]
        if page * 10 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


@pytest.mark.parametrize(
    ("case", "resource", "kind", "attr"),
    [
        ("deleted_allergy", "allergies", "allergy", "allergies"),
        ("deleted_medication", "medications", "medication", "medications"),
        ("deleted_vitals", "vital-signs", "vitals", "vitals"),
        ("deleted_problem", "diseases", "disease", "problems"),
    ],
)
def test_lists_leave_deleted_records_out(api: Api, case: str, resource: str, kind: Any, attr: str) -> None:
    p = _awk(case)
    items = _all(api, f"{BASE}/{p.uuid}/{resource}")
    records = getattr(p, attr)
    expected = {str(record_uuid(CLINIC, kind, r.id)) for r in records if not r.deleted}
    assert {d["id"] for d in items} == expected
    assert all(d["deleted_at"] is None for d in items)
    assert all(d["patient"]["uuid"] == str(p.uuid) for d in items)


def test_many_vitals_span_pages_in_order(api: Api) -> None:
    p = _awk("many_vitals")
    items = _all(api, f"{BASE}/{p.uuid}/vital-signs")
    assert len(items) == len([v for v in p.vitals if not v.deleted]) >= 30
    keys = [(d["date_taken"], d["time_taken"] is None, d["time_taken"] or "") for d in items]
    assert keys == sorted(keys)
    some = items[len(items) // 2]
    window = api.ok(f"{BASE}/{p.uuid}/vital-signs", date_from=some["date_taken"], date_to=some["date_taken"])
    assert some["id"] in {d["id"] for d in window["items"]}
    assert all(d["date_taken"] == some["date_taken"] for d in window["items"])
    r = api.get(f"{BASE}/{p.uuid}/vital-signs", params={"date_from": "yesterday"})
    assert r.status_code == 422


def test_vitals_rendering(api: Api) -> None:
    p = _awk("partial_vitals")
    items = api.ok(f"{BASE}/{p.uuid}/vital-signs", page_size=200)["items"]
    by_id = {d["id"]: d for d in items}
    half = next(v for v in p.vitals if v.systolic is not None and v.diastolic is None)
    d = by_id[str(record_uuid(CLINIC, "vitals", half.id))]
    assert (d["bp_systolic"], d["bp_diastolic"]) == (half.systolic, None)
    weight = next(v for v in p.vitals if v.weight_lb is not None and v.systolic is None)
    d = by_id[str(record_uuid(CLINIC, "vitals", weight.id))]
    assert d["weight_lbs"] == str(weight.weight_lb)
    assert d["height_inches"] is None and d["bmi"] is None
    child = _awk("child")
    items = api.ok(f"{BASE}/{child.uuid}/vital-signs", page_size=200)["items"]
    full = [d for d in items if d["bmi"] is not None]
    assert full and all(isinstance(d["bmi_percentile"], int) for d in full)
    assert all(isinstance(d["temperature_f"], str) for d in full)


def test_single_vitals(api: Api) -> None:
    p = _awk("deleted_vitals")
    live = next(v for v in p.vitals if not v.deleted)
    dead = next(v for v in p.vitals if v.deleted)
    path = f"{BASE}/{p.uuid}/vital-signs"
    d = api.ok(f"{path}/{record_uuid(CLINIC, 'vitals', live.id)}")
    assert d["date_taken"] == live.taken_on.isoformat()
    assert d["bp_systolic"] == live.systolic
    r = api.get(f"{path}/{record_uuid(CLINIC, 'vitals', dead.id)}")
    assert (r.status_code, r.json()) == (404, {"detail": "Vital signs not found"})
    other = _awk("many_vitals").vitals[0]
    r = api.get(f"{path}/{record_uuid(CLINIC, 'vitals', other.id)}")
    assert (r.status_code, r.json()) == (404, {"detail": "Vital signs not found"})
    r = api.get(f"{path}/bogus")
    assert r.json()["detail"][0]["loc"] == ["path", "vitals_uuid"]


def test_allergy_rendering(api: Api) -> None:
    p = _awk("free_text_allergy")
    items = api.ok(f"{BASE}/{p.uuid}/allergies")["items"]
    by_name = {d["allergy_definition"]["name"]: d for d in items}
    for a in p.allergies:
        d = by_name[a.substance]
        assert d["id"] == str(record_uuid(CLINIC, "allergy", a.id))
        assert d["allergy_definition"]["uuid"] == str(record_uuid(CLINIC, "allergy_definition", a.substance))
        assert d["reaction"] == a.reaction
        assert d["snomed_reaction"] == a.reaction_snomed
        assert d["severity"] == a.severity
        assert d["status_is_active"] is a.active
        assert d["interaction_warnings"] == []
        assert "substance_snomed" not in d


def test_is_active_filters(api: Api) -> None:
    p = next(p for p in LIVE if any(not a.active for a in p.allergies))
    active = api.ok(f"{BASE}/{p.uuid}/allergies", is_active="true")["items"]
    inactive = api.ok(f"{BASE}/{p.uuid}/allergies", is_active="false")["items"]
    assert all(d["status_is_active"] for d in active)
    assert inactive and not any(d["status_is_active"] for d in inactive)
    p = next(p for p in LIVE if {m.status for m in p.medications} >= {"active", "completed"})
    current = api.ok(f"{BASE}/{p.uuid}/medications", is_active=True)["items"]
    past = api.ok(f"{BASE}/{p.uuid}/medications", is_active=False)["items"]
    assert {d["status"] for d in current} == {"active"}
    assert "active" not in {d["status"] for d in past}
    r = api.get(f"{BASE}/{p.uuid}/medications", params={"is_active": "maybe"})
    assert r.json()["detail"][0]["type"] == "bool_parsing"


def test_medication_rendering(api: Api) -> None:
    p = _awk("free_text_medication")
    items = api.ok(f"{BASE}/{p.uuid}/medications")["items"]
    free = [d for d in items if d["rx_cui"] is None]
    assert free and all(d["medication_definition"] is None and d["med_descript"] for d in free)
    tea = next(d for d in free if d["med_descript"] == "Herbal sleep tea")
    assert tea["frequency"] == "as needed"
    p = _awk("prn_medication")
    items = api.ok(f"{BASE}/{p.uuid}/medications")["items"]
    lorazepam = next(d for d in items if d["rx_cui"] == "197900")
    assert lorazepam["frequency"] == "twice daily as needed"
    assert lorazepam["dosage"] == "0.5 mg"
    assert lorazepam["med_descript"] is None
    assert lorazepam["medication_definition"]["name"] == "Lorazepam 0.5 MG Oral Tablet"
    assert lorazepam["provider"]["uuid"] == str(record_uuid(CLINIC, "provider", 5))


def test_disease_filters(api: Api) -> None:
    p = next(p for p in LIVE if {x.status for x in p.problems} >= {"active", "resolved"})
    resolved = api.ok(f"{BASE}/{p.uuid}/diseases", problem_status="resolved")["items"]
    assert resolved and {d["problem_status"] for d in resolved} == {"resolved"}
    assert all(d["date_stop"] for d in resolved)


def test_medical_summary(api: Api) -> None:
    p = _awk("deleted_medication")
    s = api.ok(f"{BASE}/{p.uuid}/medical-summary")
    live = [m for m in p.medications if not m.deleted]
    assert {d["id"] for d in s["current_medications"] + s["past_medications"]} == {
        str(record_uuid(CLINIC, "medication", m.id)) for m in live
    }
    assert all(d["status"] == "active" for d in s["current_medications"])
    assert s["allergy_review_status"] == p.allergy_review
    assert s["patient"]["uuid"] == str(p.uuid)
    assert all(d["problem_status"] == "active" for d in s["active_problems"])
    s = api.ok(f"{BASE}/{AWKWARD['no_records']}/medical-summary")
    assert s["latest_vitals"] is None
    assert s["allergies"] == s["current_medications"] == s["past_medications"] == []
    s = api.ok(f"{BASE}/{AWKWARD['many_vitals']}/medical-summary")
    newest = max(v.taken_on for v in _awk("many_vitals").vitals)
    assert s["latest_vitals"]["date_taken"] == newest.isoformat()


def test_nkda_is_a_review_status_not_an_allergy(api: Api) -> None:
    p = _awk("nkda")
    assert api.ok(f"{BASE}/{p.uuid}")["allergy_review_status"] == "nkda"
    assert api.ok(f"{BASE}/{p.uuid}/allergies")["total"] == 0


# --------------------------------------------------------------------------- writes

NEW = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10"}


def test_create_patient() -> None:
    api = _app()
    r = api.call("POST", BASE, json={**NEW, "gender": "female", "mobile_phone": "5035550100"})
    assert r.status_code == 201
    d = r.json()
    assert (d["first_name"], d["last_name"], d["date_of_birth"]) == ("Ada", "Lovelace", "1990-12-10")
    assert (d["version"], d["status"], d["deleted_at"]) == (1, "active", None)
    assert d["created_at"] == d["updated_at"] == "2026-11-21T12:30:00Z"
    assert d["chart_number"].startswith("C")
    assert api.ok(f"{BASE}/{d['id']}") == {**d, "potential_duplicates": []}
    assert api.ok(BASE, page_size=1)["total"] == len(LIVE) + 1
    # The cached clinic (and other apps over it) are untouched.
    assert _app().ok(BASE, page_size=1)["total"] == len(LIVE)


def test_create_flags_potential_duplicates() -> None:
    api = _app()
    twin = _awk("twin")
    assert twin.birth_date is not None
    body = {"first_name": "Other", "last_name": twin.last_name,
            "date_of_birth": twin.birth_date.isoformat()}  # fmt: skip
    d = api.call("POST", BASE, json=body).json()
    assert {str(twin.uuid), str(AWKWARD["twin_sibling"])} <= {x["id"] for x in d["potential_duplicates"]}


def test_create_validation_errors() -> None:
    api = _app()
    r = api.call("POST", BASE, json={"last_name": "X", "gender": "robot", "email": "nope"})
    assert r.status_code == 422
    errors = {tuple(e["loc"]): e for e in r.json()["detail"]}
    assert errors[("body", "first_name")]["type"] == "missing"
    assert errors[("body", "first_name")]["msg"] == "Field required"
    assert errors[("body", "gender")]["type"] == "literal_error"
    assert errors[("body", "email")]["type"] == "value_error"
    r = api.call("POST", BASE, content=b"{", headers={"Content-Type": "application/json"})
    assert r.json()["detail"][0]["type"] == "json_invalid"
    r = api.call("POST", BASE)
    assert r.json() == {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]}
    r = api.call("POST", BASE, json={**NEW, "primary_provider_uuid": str(UUID(int=9))})
    assert (r.status_code, r.json()) == (404, {"detail": "Provider not found"})


def test_create_duplicate_chart_number() -> None:
    api = _app()
    r = api.call("POST", BASE, json={**NEW, "chart_number": CLINIC.patients[0].chart_number})
    assert (r.status_code, r.json()) == (409, {"detail": "Duplicate chart number"})


def test_idempotency_key() -> None:
    api = _app()
    key = {"Idempotency-Key": "k-1"}
    first = api.call("POST", BASE, json=NEW, headers=key)
    again = api.call("POST", BASE, json=dict(reversed(NEW.items())), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert api.ok(BASE, search="lovelace")["total"] == 1
    r = api.call("POST", BASE, json={**NEW, "first_name": "Augusta"}, headers=key)
    assert (r.status_code, r.json()) == (409, {"detail": "Idempotency conflict"})
    other = api.call("POST", BASE, json=NEW, headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_patch_with_versions() -> None:
    api = _app()
    p = _awk("no_middle_name")
    before = api.ok(f"{BASE}/{p.uuid}")
    r = api.call("PATCH", f"{BASE}/{p.uuid}", json={"middle_name": "Q"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "base_version"]
    body = {"base_version": before["version"], "middle_name": "Quinn", "last_name": "Renamed"}
    r = api.call("PATCH", f"{BASE}/{p.uuid}", json=body)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["version"] == before["version"] + 1
    assert after["updated_at"] == "2026-11-21T12:30:00Z"
    assert (after["middle_name"], after["last_name"]) == ("Quinn", "Renamed")
    assert after["first_name"] == before["first_name"]
    r = api.call("PATCH", f"{BASE}/{p.uuid}", json=body)
    assert (r.status_code, r.json()) == (409, {"detail": "Version conflict"})
    assert str(p.uuid) in _search_ids(api, "renamed")
    if p.allergies or p.vitals:
        path = "allergies" if p.allergies else "vital-signs"
        item = api.ok(f"{BASE}/{p.uuid}/{path}")["items"][0]
        assert item["patient"]["name"].endswith("Renamed")
    r = api.call("PATCH", f"{BASE}/{UUID(int=3)}", json={"base_version": 1})
    assert (r.status_code, r.json()) == (404, {"detail": "Patient not found"})


def test_archive_and_restore() -> None:
    api = _app()
    p = _awk("nkda")
    r = api.call("POST", f"{BASE}/{p.uuid}/archive")
    assert r.status_code == 200
    d = r.json()
    assert d["status"] == "archived" and d["deleted_at"] == "2026-11-21T12:30:00Z"
    assert str(p.uuid) not in {x["id"] for x in _walk(api, 200)}
    assert api.ok(BASE, page_size=1)["total"] == len(LIVE) - 1
    assert str(p.uuid) in {x["id"] for x in api.ok(BASE, status="archived")["items"]}
    r = api.call("POST", f"{BASE}/{p.uuid}/archive")
    assert (r.status_code, r.json()) == (422, {"detail": "Patient is already archived"})
    r = api.call("POST", f"{BASE}/{p.uuid}/restore")
    assert r.status_code == 200
    d2 = r.json()
    assert (d2["status"], d2["deleted_at"], d2["version"]) == ("inactive", None, d["version"] + 1)
    r = api.call("POST", f"{BASE}/{p.uuid}/restore")
    assert (r.status_code, r.json()) == (422, {"detail": "Patient is not archived"})
