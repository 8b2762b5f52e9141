"""The Nextvisit simulator: Sanctum login, Laravel paging, Spatie filters, Meilisearch, writes."""

from __future__ import annotations

import asyncio
import itertools
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from mappings.nextvisit.sandbox import create_app
from mappings.sandbox.clinic import Patient, build_clinic

CLINIC = build_clinic()
EMAIL = "api@clinic.example"
PASSWORD = "s3cret pass "  # trailing space: passwords are not trimmed
HOST = "http://sandbox"
LIVE = [p for p in CLINIC.patients if not p.deleted]
LIVE_IDS = {p.id for p in LIVE}
ONE = f"/v1/patients/{LIVE[0].id}"
FIXED_NOW = datetime(2026, 11, 21, 12, 30, 15, 999, tzinfo=UTC)
UNAUTHENTICATED = {"message": "Unauthenticated."}
NKA_TEXTS = {"NKDA", "NKA", "No known allergies", "none", "No Known Drug Allergies"}


class Api:
    """A synchronous face on the ASGI app (pytest-asyncio is not a dependency)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.token: str | None = None

    def call(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if auth:
            if self.token is None:
                self.token = self.login().json()["token"]
            headers.setdefault("Authorization", f"Bearer {self.token}")

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=HOST) as c:
                return await c.request(method, path, headers=headers, **kw)

        return asyncio.run(go())

    def login(self, **body: Any) -> httpx.Response:
        payload = {"email": EMAIL, "password": PASSWORD, "device_name": "pytest", **body}
        return self.call("POST", "/v1/auth/tokens", auth=False, json=payload)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("GET", path, **kw)

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def follow(self, url: str | None) -> Any:
        """GET an absolute link the API handed out."""
        assert url is not None and url.startswith(HOST + "/v1/")
        r = self.get(url[len(HOST) :])
        assert r.status_code == 200, r.text
        return r.json()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _app(clock: Callable[[], datetime] = lambda: FIXED_NOW) -> Api:
    return Api(create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=clock))


@pytest.fixture(scope="module")
def api() -> Api:
    return _app()


def _fold(s: str) -> str:
    d = unicodedata.normalize("NFKD", s.replace("ø", "o").replace("Ø", "O"))
    return "".join(c for c in d if not unicodedata.combining(c)).casefold()


def _awk(case: str) -> Patient:
    return CLINIC.awkward_patient(case)


def _all(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every row of a listing, following ``links.next``."""
    body = api.ok("/v1/patients", per_page=100, **params)
    rows = list(body["data"])
    while body["links"]["next"]:
        body = api.follow(body["links"]["next"])
        rows += body["data"]
    return rows


def _query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# --------------------------------------------------------------------------- tokens


def test_login_returns_a_sanctum_token_and_the_user() -> None:
    api = _app()
    r = api.login()
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "success"
    assert re.fullmatch(r"1\|[A-Za-z0-9]{40}", body["token"])
    user = body["user"]
    assert user["email"] == EMAIL
    assert {"id", "name", "email", "current_team_id", "created_at", "updated_at"} <= set(user)
    assert re.fullmatch(r"2\|[A-Za-z0-9]{40}", api.login().json()["token"])  # ids count up


def test_login_email_is_case_insensitive_password_is_exact(api: Api) -> None:
    assert api.login(email=EMAIL.upper()).status_code == 200
    assert api.login(password=PASSWORD.strip()).status_code == 422


@pytest.mark.parametrize("body", [{"password": "wrong"}, {"email": "someone@clinic.example"}])
def test_wrong_credentials_are_422(api: Api, body: dict[str, str]) -> None:
    r = api.login(**body)
    assert r.status_code == 422
    assert r.json() == {
        "message": "The provided credentials are incorrect.",
        "errors": {"email": ["The provided credentials are incorrect."]},
    }


def test_login_validation_errors(api: Api) -> None:
    r = api.call("POST", "/v1/auth/tokens", auth=False, json={"email": "  ", "device_name": ""})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The email field is required. (and 2 more errors)",
        "errors": {
            "email": ["The email field is required."],
            "password": ["The password field is required."],
            "device_name": ["The device name field is required."],
        },
    }
    r = api.login(email="not-an-email")
    assert r.json() == {
        "message": "The email field must be a valid email address.",
        "errors": {"email": ["The email field must be a valid email address."]},
    }
    r = api.call(
        "POST", "/v1/auth/tokens", auth=False, content=b"{broken", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"email", "password", "device_name"}


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Bearer 1|" + "x" * 40, "Basic c2FuZGJveA==", "Bearer 99|abc"],
)
def test_missing_or_unknown_token_is_401(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for path in ("/v1/patients", "/v1/patients/search?query=a", ONE):
        r = api.get(path, auth=False, headers=headers)
        assert (r.status_code, r.json()) == (401, UNAUTHENTICATED)
        assert "www-authenticate" not in r.headers


def test_revoke_all_tokens_forces_a_401_until_a_new_login() -> None:
    api = _app()
    assert api.get(ONE).status_code == 200
    api.app.state.revoke_all_tokens()
    r = api.get(ONE)
    assert (r.status_code, r.json()) == (401, UNAUTHENTICATED)
    api.token = api.login().json()["token"]  # what a client does on 401: log in again
    assert api.get(ONE).status_code == 200


def test_logout_revokes_only_the_current_token() -> None:
    api = _app()
    other = api.login().json()["token"]
    assert api.token is None
    r = api.call("DELETE", "/v1/auth/tokens/current")
    assert (r.status_code, r.json()) == (200, {"message": "Token revoked successfully"})
    assert api.get(ONE).status_code == 401
    assert api.get(ONE, headers={"Authorization": f"bearer {other}"}).status_code == 200
    secret = other.split("|", 1)[1]  # Sanctum also finds a token by its secret alone
    assert api.get(ONE, headers={"Authorization": f"Bearer {secret}"}).status_code == 200


# --------------------------------------------------------------------------- protocol


def test_unknown_route_and_wrong_method(api: Api) -> None:
    r = api.get("/v1/appointments", auth=False)
    assert (r.status_code, r.json()) == (404, {"message": "The route v1/appointments could not be found."})
    r = api.call("DELETE", "/v1/patients")
    assert r.status_code == 405
    assert r.json() == {"message": "The DELETE method is not supported for route v1/patients. "
                                   "Supported methods: GET, HEAD, POST."}  # fmt: skip


def test_json_is_encoded_like_php(api: Api) -> None:
    zoe = _awk("unicode_name")
    r = api.get(f"/v1/patients/{zoe.id}")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-cache, private"
    assert b'"first_name":"Zo\\u00eb"' in r.content
    assert r.json()["data"]["first_name"] == "Zoë"
    links = api.get("/v1/patients", params={"per_page": 5}).content
    assert b"http:\\/\\/sandbox\\/v1\\/patients?" in links


# --------------------------------------------------------------------------- pagination


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
    assert _query_of(nxt) == [("filter[last_name]", "son"), ("sort", "last_name"), ("per_page", "3"),
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
    "first_name": lambda d: _fold(d["first_name"]),
    "last_name": lambda d: _fold(d["last_name"]),
    "date_of_birth": lambda d: (d["date_of_birth"] is not None, d["date_of_birth"] or ""),
    "created_at": lambda d: d["created_at"],
}


@pytest.mark.parametrize("field", sorted(SORT_KEYS))
def test_sorting_both_ways_with_id_tie_break(api: Api, field: str) -> None:
    key = SORT_KEYS[field]
    for desc in (False, True):
        rows = _all(api, sort=f"-{field}" if desc else field)
        assert len(rows) == len(LIVE)
        keys = [key(d) for d in rows]
        assert keys == sorted(keys, reverse=desc)
        for a, b in itertools.pairwise(rows):
            if key(a) == key(b):
                assert a["id"] < b["id"]


def test_default_sort_is_newest_created_first(api: Api) -> None:
    assert [d["id"] for d in _all(api)] == [d["id"] for d in _all(api, sort="-created_at")]


def test_null_birth_dates_sort_first_ascending(api: Api) -> None:
    missing = _awk("missing_birth_date").id
    assert api.ok("/v1/patients", sort="date_of_birth")["data"][0]["id"] == missing
    assert _all(api, sort="-date_of_birth")[-1]["id"] == missing


@pytest.mark.parametrize("sort", ["ssn", "-updated_at", "last_name,id", "+id"])
def test_unknown_sort_is_422(api: Api, sort: str) -> None:
    r = api.get("/v1/patients", params={"sort": sort})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The selected sort is invalid.",
        "errors": {"sort": ["The selected sort is invalid."]},
    }


# --------------------------------------------------------------------------- filters


def _ids(rows: list[dict[str, Any]]) -> set[int]:
    return {d["id"] for d in rows}


def test_name_filters_are_partial_case_and_accent_insensitive(api: Api) -> None:
    jose = _awk("accented_name")
    rows = _all(api, **{"filter[first_name]": "JOS"})
    assert jose.id in _ids(rows)
    assert _ids(rows) == {p.id for p in LIVE if "jos" in _fold(p.first_name)}
    garcias = _all(api, **{"filter[last_name]": "garcia"})
    assert _ids(garcias) == {p.id for p in LIVE if "garcia" in _fold(p.last_name)}
    assert jose.id in _ids(garcias) and len(garcias) >= 13
    smiths = _all(api, **{"filter[last_name]": "mith"})  # partial, not prefix
    assert {d["last_name"] for d in smiths} >= {"Smith", "Smithson", "Smithers"}
    zoe = _awk("unicode_name")
    both = _all(api, **{"filter[first_name]": "zoe", "filter[last_name]": "MULLER"})
    assert _ids(both) == {zoe.id}


def test_name_filter_commas_are_alternatives(api: Api) -> None:
    rows = _all(api, **{"filter[first_name]": "Zoë,José"})
    assert _ids(rows) == {p.id for p in LIVE if _fold(p.first_name) in ("zoe", "jose")}
    assert len(rows) >= 2


def test_date_of_birth_filter(api: Api) -> None:
    twin = _awk("twin")
    assert twin.birth_date is not None
    rows = _all(api, **{"filter[date_of_birth]": twin.birth_date.isoformat()})
    assert _ids(rows) == {twin.id, _awk("twin_sibling").id}
    r = api.get("/v1/patients", params={"filter[date_of_birth]": "1985-02-30"})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The filter.date of birth field must be a valid date.",
        "errors": {"filter.date_of_birth": ["The filter.date of birth field must be a valid date."]},
    }


def test_trashed_filter(api: Api) -> None:
    deleted = _awk("deleted_patient")
    plain = _all(api)
    assert deleted.id not in _ids(plain)
    assert all("deleted_at" not in d for d in plain)
    with_trashed = _all(api, **{"filter[trashed]": "with"})
    assert _ids(with_trashed) == LIVE_IDS | {deleted.id}
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


# --------------------------------------------------------------------------- one patient


def test_show_renders_the_clinic_patient(api: Api) -> None:
    p = _awk("in_progress_encounter")
    d = api.ok(f"/v1/patients/{p.id}")["data"]
    assert (d["id"], d["uuid"], d["first_name"], d["last_name"]) == (p.id, str(p.uuid), p.first_name, p.last_name)
    assert d["created_at"] == p.created_at.isoformat().replace("+00:00", "Z")
    assert "team" not in d and "demographics" not in d
    assert [e["id"] for e in d["encounters"]] == sorted((e.id for e in p.encounters), key=lambda i: -i)
    current = next(e for e in d["encounters"] if e["status"] == "in_progress")
    assert current["end_time"] is None and current["signed"] is False
    assert current["provider"] == {"id": 1, "name": "Maria Alvarez", "credentials": "DDS"}
    assert set(current) == {"id", "uuid", "patient_id", "status", "visit_type", "type", "reason", "start_time",
                            "end_time", "provider", "location", "signed", "created_at", "updated_at"}  # fmt: skip
    assert d["timeline"] and {t["type"] for t in d["timeline"]} <= {"encounter", "note"}
    stamps = [t["occurred_at"] for t in d["timeline"]]
    assert stamps == sorted(stamps, reverse=True)


def test_show_takes_includes(api: Api) -> None:
    p = _awk("twin")
    d = api.ok(f"/v1/patients/{p.id}", include="demographics,team")["data"]
    assert d["team"] == {"id": 1, "name": "Sandbox Dental Group"} and "encounters" in d
    assert d["demographics"]["address_line1"] == p.address_line1
    assert d["demographics"]["email"] == p.email
    phone = p.mobile_phone or p.home_phone
    assert phone is not None
    assert d["demographics"]["phone"] == f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
    r = api.get(f"/v1/patients/{p.id}", params={"include": "vitals"})
    assert r.status_code == 400 and r.json()["message"].startswith("Requested include(s) `vitals`")
    assert api.get("/v1/patients/99999", params={"include": "vitals"}).status_code == 404


def test_encounter_statuses_and_visit_types(api: Api) -> None:
    rows = _all(api, include="encounters")
    encounters = [e for d in rows for e in d["encounters"]]
    assert {e["status"] for e in encounters} == {"scheduled", "in_progress", "completed", "cancelled"}
    tele = [e for e in encounters if e["visit_type"] == "telehealth"]
    assert tele and all(e["location"] is None for e in tele)
    assert all(e["location"] is not None for e in encounters if e["visit_type"] == "in_person")
    assert all(e["start_time"].endswith("Z") for e in encounters)


def test_gender_and_missing_birth_date(api: Api) -> None:
    rows = {d["id"]: d for d in _all(api)}
    expected = {"male": "male", "female": "female", "non_binary": "other", "other": "other",
                "unknown": "unknown", "prefer_not_to_say": "unknown", None: None}  # fmt: skip
    for p in LIVE:
        assert rows[p.id]["gender"] == expected[p.gender]
    assert rows[_awk("missing_birth_date").id]["date_of_birth"] is None
    assert rows[_awk("no_gender").id]["gender"] is None


@pytest.mark.parametrize("raw", ["abc", "99999", "1.5", "-1"])
def test_unknown_or_non_numeric_id_is_404(api: Api, raw: str) -> None:
    r = api.get(f"/v1/patients/{raw}")
    assert (r.status_code, r.json()) == (404, {"message": f"No query results for model [App\\Models\\Patient] {raw}"})


# --------------------------------------------------------------------------- free text


def test_allergy_text_variants() -> None:
    api = _app()
    rows = {d["id"]: d for d in _all(api)}
    texts = [d["allergies"] for d in rows.values()]
    assert set(texts) >= NKA_TEXTS
    assert None in texts and "" in texts
    assert any(t and re.search(r"\w \([a-z ]+\)", t) for t in texts)  # "Penicillin (hives)"
    assert any(t and "; " in t for t in texts)
    assert any(t and " and " in t for t in texts)
    assert any(t and ", " in t and "(" not in t for t in texts)
    for p in LIVE:
        text = rows[p.id]["allergies"]
        live = [a.substance for a in p.allergies if not a.deleted]
        if live:
            assert text is not None
            positions = [text.index(s) for s in live]
            assert positions == sorted(positions)
            assert all(a.substance not in text for a in p.allergies if a.deleted)
        elif p.allergy_review == "nkda":
            assert text in NKA_TEXTS
        else:
            assert text in (None, "")
    deleted = _awk("deleted_allergy")
    assert next(a.substance for a in deleted.allergies if a.deleted) not in rows[deleted.id]["allergies"]


def test_latest_medications_format() -> None:
    api = _app()
    rows = {d["id"]: d for d in _all(api)}
    prn = rows[_awk("prn_medication").id]["latest_medications"]
    assert "Lorazepam 0.5mg PRN" in prn
    free = rows[_awk("free_text_medication").id]["latest_medications"]
    assert {"Fish oil 1000 mg", "Herbal sleep tea PRN"} <= set(free)
    assert "Sertraline 50mg" not in rows[_awk("deleted_medication").id]["latest_medications"]
    every = {m for d in rows.values() for m in d["latest_medications"]}
    assert {"Sertraline 50mg", "Lisinopril 10mg", "Metformin hydrochloride 500mg"} <= every
    for m in every:
        assert " MG" not in m and "Oral" not in m
    for p in LIVE:
        meds = rows[p.id]["latest_medications"]
        current = [m for m in p.medications if not m.deleted and m.status in ("active", "on_hold")]
        assert len(meds) == len(current)
        assert sum(m.endswith(" PRN") for m in meds) == sum(m.prn for m in current)


# --------------------------------------------------------------------------- search


def _search(api: Api, query: str, **params: Any) -> dict[str, Any]:
    return api.ok("/v1/patients/search", query=query, **params)  # type: ignore[no-any-return]


def test_search_tolerates_one_typo(api: Api) -> None:
    twin = _awk("twin")
    assert twin.id in _ids(_search(api, "Okonkow")["data"])  # a swap: 1 typo
    assert twin.id in _ids(_search(api, "Okonkwa")["data"])  # a substitution
    assert twin.id not in _ids(_search(api, "Okunkwa")["data"])  # 2 typos in 7 letters
    assert twin.id not in _ids(_search(api, "Chdi")["data"])  # under 5 letters: no typo
    johnsons = {p.id for p in LIVE if p.last_name == "Johnson"}
    assert johnsons <= _ids(_search(api, "jonhson", per_page=100)["data"])
    assert _search(api, "hohnson")["meta"]["total"] == 0  # a typo on the first letter counts double


def test_search_tolerates_two_typos_from_nine_letters(api: Api) -> None:
    smithers = {p.id for p in LIVE if p.last_name == "Smithers"}
    assert smithers <= _ids(_search(api, "smithersxy", per_page=100)["data"])
    assert not smithers & _ids(_search(api, "smithersxyz", per_page=100)["data"])


def test_search_is_accent_insensitive_with_prefix_on_the_last_word(api: Api) -> None:
    zoe = _awk("unicode_name")
    assert _ids(_search(api, "zoe muller")["data"]) >= {zoe.id}
    assert _search(api, "zoe muller")["data"][0]["id"] == zoe.id
    smi = _search(api, "smi", per_page=100)["data"]
    assert {d["last_name"] for d in smi} >= {"Smith", "Smithson", "Smithers"}
    jose = _awk("accented_name")
    assert jose.id in _ids(_search(api, "GARCIA", per_page=100)["data"])
    assert _awk("cjk_name").id in _ids(_search(api, "王")["data"])


def test_search_matches_birth_date_and_notes(api: Api) -> None:
    twin = _awk("twin")
    assert twin.birth_date is not None
    found = _ids(_search(api, twin.birth_date.isoformat())["data"])
    assert {twin.id, _awk("twin_sibling").id} <= found
    inactive = _awk("inactive")
    assert inactive.id in _ids(_search(api, "inactive", per_page=100)["data"])


def test_search_drops_trailing_words_and_orders_by_updated_at(api: Api) -> None:
    twin = _awk("twin")
    body = _search(api, "Chidi Zzzzzzqq")
    assert twin.id in _ids(body["data"])  # Meilisearch "last" matching strategy
    johnsons = _search(api, "Johnson", per_page=100)["data"]
    stamps = [d["updated_at"] for d in johnsons]
    assert stamps == sorted(stamps, reverse=True)
    asc = _search(api, "Johnson", per_page=100, sort_by="asc")["data"]
    assert [d["updated_at"] for d in asc] == sorted(stamps)
    full = _search(api, "Adaeze Okonkwo", per_page=100)["data"]
    assert full[0]["id"] == _awk("twin_sibling").id  # both words before the first word alone


def test_search_pages_like_scout(api: Api) -> None:
    body = _search(api, "a", per_page=5, sort_by="asc")
    assert body["meta"]["per_page"] == 5 and body["meta"]["total"] > 5
    assert _query_of(body["links"]["next"]) == [("query", "a"), ("page", "2")]  # only `query` is kept
    assert body["meta"]["path"] == f"{HOST}/v1/patients/search"
    assert _search(api, "Johnson")["meta"]["per_page"] == 20
    seen: list[int] = []
    page = 1
    while True:
        part = _search(api, "a", per_page=7, page=page)
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
    assert _search(api, "--")["meta"]["total"] == len(LIVE)  # no words: a placeholder search


def test_search_leaves_out_deleted_patients(api: Api) -> None:
    deleted = _awk("deleted_patient")
    assert deleted.id not in _ids(_search(api, f"{deleted.first_name} {deleted.last_name}", per_page=100)["data"])


# --------------------------------------------------------------------------- writes


def test_create_get_update_delete_lifecycle() -> None:
    clock = Clock(datetime(2026, 11, 21, 9, 0, 0, 500, tzinfo=UTC))
    api = _app(clock)
    body = {"first_name": " Jane ", "middle_name": "", "last_name": "Doe", "date_of_birth": "1985-03-15",
            "notes": "New patient referral from Dr. Smith.", "allergies": "Penicillin, Sulfa drugs",
            "insurance": "Blue Cross Blue Shield", "gender": "female", "id": 5}  # fmt: skip
    r = api.call("POST", "/v1/patients", json=body)
    assert r.status_code == 201, r.text
    created = r.json()["data"]
    pid = created["id"]
    assert pid == max(p.id for p in CLINIC.patients) + 1
    assert created["first_name"] == "Jane" and created["middle_name"] is None  # trimmed, "" -> null
    assert created["gender"] is None  # not an accepted field
    assert (created["allergies"], created["insurance"]) == ("Penicillin, Sulfa drugs", "Blue Cross Blue Shield")
    assert created["latest_medications"] == [] and created["encounters"] == [] and created["timeline"] == []
    assert created["meta"] == {}
    assert created["user"]["email"] == EMAIL
    assert created["created_at"] == created["updated_at"] == "2026-11-21T09:00:00Z"

    assert api.ok(f"/v1/patients/{pid}")["data"] == created
    assert api.ok(f"/v1/patients/00{pid}")["data"]["id"] == pid  # MySQL compares it as a number
    assert pid in _ids(_search(api, "Jane Doe")["data"])
    assert api.ok("/v1/patients", per_page=1)["data"][0]["id"] == pid  # newest created first

    clock.now += timedelta(hours=1)
    r = api.call("PUT", f"/v1/patients/{pid}", json={"notes": "Moved to Evanston.", "insurance": "Aetna",
                                                      "meta": {"source": "gateway"}})  # fmt: skip
    assert r.status_code == 200, r.text
    updated = r.json()["data"]
    assert updated["notes"] == "Moved to Evanston."
    assert updated["insurance"] == "Blue Cross Blue Shield"  # not part of the update body
    assert updated["meta"] == {"source": "gateway"}
    assert (updated["first_name"], updated["allergies"]) == ("Jane", "Penicillin, Sulfa drugs")
    assert updated["updated_at"] == "2026-11-21T10:00:00Z" and updated["created_at"] == created["created_at"]

    clock.now += timedelta(hours=1)
    same = api.call("PATCH", f"/v1/patients/{pid}", json={"notes": "Moved to Evanston."}).json()["data"]
    assert same["updated_at"] == updated["updated_at"]  # nothing changed, nothing saved

    r = api.call("DELETE", f"/v1/patients/{pid}")
    assert (r.status_code, r.json()) == (200, {"message": "Patient deleted successfully"})
    missing = {"message": f"No query results for model [App\\Models\\Patient] {pid}"}
    for method in ("GET", "PUT", "DELETE"):
        r = api.call(method, f"/v1/patients/{pid}", json={})
        assert (r.status_code, r.json()) == (404, missing)
    only = api.ok("/v1/patients", **{"filter[trashed]": "only"})["data"]
    mine = next(d for d in only if d["id"] == pid)
    assert mine["deleted_at"] == mine["updated_at"] == "2026-11-21T11:00:00Z"
    assert pid in _ids(_all(api, **{"filter[trashed]": "with"}))
    assert pid not in _ids(_all(api))
    assert pid not in _ids(_search(api, "Jane Doe")["data"])
    r = api.call("POST", "/v1/patients", json={**body, "first_name": "Ann"})
    assert r.json()["data"]["id"] == pid + 1  # ids are not reused


def test_update_changes_only_given_fields_and_reindexes(api: Api) -> None:
    api = _app()
    p = _awk("no_middle_name")
    before = api.ok(f"/v1/patients/{p.id}")["data"]
    r = api.call("PUT", f"/v1/patients/{p.id}", json={"last_name": "Quuxley"})
    after = r.json()["data"]
    assert after["last_name"] == "Quuxley"
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"last_name", "updated_at"}
    assert after["updated_at"] == "2026-11-21T12:30:15Z"
    assert _ids(_all(api, **{"filter[last_name]": "quux"})) == {p.id}
    assert _search(api, "quuxley")["data"][0]["id"] == p.id


def test_create_validation_bodies(api: Api) -> None:
    r = api.call("POST", "/v1/patients", json={"date_of_birth": "1990-01-01"})
    assert r.status_code == 422
    assert r.json() == {
        "message": "The first name field is required. (and 1 more error)",
        "errors": {"first_name": ["The first name field is required."],
                   "last_name": ["The last name field is required."]},
    }  # fmt: skip
    for dob in ("2027-01-01", "2026-11-21"):  # FIXED_NOW's date is not before today
        r = api.call("POST", "/v1/patients", json={"first_name": "A", "last_name": "B", "date_of_birth": dob})
        assert r.json() == {
            "message": "The date of birth field must be a date before today.",
            "errors": {"date_of_birth": ["The date of birth field must be a date before today."]},
        }
    r = api.call("POST", "/v1/patients", json={"first_name": 7, "last_name": "x" * 256, "date_of_birth": "soon",
                                               "meta": "x"})  # fmt: skip
    assert r.json() == {
        "message": "The first name field must be a string. (and 3 more errors)",
        "errors": {
            "first_name": ["The first name field must be a string."],
            "last_name": ["The last name field must not be greater than 255 characters."],
            "date_of_birth": ["The date of birth field must be a valid date."],
            "meta": ["The meta field must be an array."],
        },
    }
    r = api.call("POST", "/v1/patients", content=b"first_name=A", headers={"Content-Type": "text/plain"})
    assert set(r.json()["errors"]) == {"first_name", "last_name", "date_of_birth"}
    r = api.call("PUT", ONE, json={"first_name": None, "date_of_birth": "2026-12-01"})
    assert r.json() == {
        "message": "The first name field is required. (and 1 more error)",
        "errors": {"first_name": ["The first name field is required."],
                   "date_of_birth": ["The date of birth field must be a date before today."]},
    }  # fmt: skip
    assert api.ok(ONE)["data"]["first_name"] == LIVE[0].first_name


def test_a_today_birth_date_is_valid_tomorrow() -> None:
    clock = Clock(datetime(2026, 11, 21, 23, 59, tzinfo=UTC))
    api = _app(clock)
    body = {"first_name": "New", "last_name": "Born", "date_of_birth": "2026-11-21"}
    assert api.call("POST", "/v1/patients", json=body).status_code == 422
    clock.now += timedelta(minutes=1)
    assert api.call("POST", "/v1/patients", json=body).status_code == 201
    assert date.fromisoformat(api.ok("/v1/patients", per_page=1)["data"][0]["date_of_birth"]) == date(2026, 11, 21)
