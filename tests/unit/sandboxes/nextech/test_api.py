"""The Nextech simulator: Azure-style OAuth2 with rotation, practice header, /search, encounters + CCD HTML."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime, time, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

from mappings.nextech.sandbox import (
    ACCESS_DENIED,
    AUTH_CODE_TTL,
    CCD_SECTIONS,
    DEFAULT_RESOURCE,
    HOSTILE_SNIPPETS,
    PRACTICE_HEADER,
    REFRESH_TOKEN_TTL,
    SECTION_TITLES,
    create_app,
)
from mappings.sandbox.clinic import Encounter, Patient, build_clinic

CLINIC = build_clinic()
CLIENT = "c6eef4c1-62a2-4f3f-88a6-8679639da10a"
SECRET = "s3cret~value"
PRACTICE = "4242"
HOST = "http://nextech.test"
CALLBACK = "http://127.0.0.1:8765/callback"
REGISTERED = "https://gateway.example.com/oauth/callback"
T0 = datetime(2026, 11, 1, 21, 0, tzinfo=UTC).timestamp()  # after the in-progress visit of the clinic's today
LIVE = [p for p in CLINIC.patients if not p.deleted]
MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
CHART_STATUSES = ("finished", "arrived")


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Api:
    """A synchronous face on the ASGI app (pytest-asyncio is not a dependency)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._access: str | None = None

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=HOST) as c:
                return await c.request(method, path, **kw)

        return asyncio.run(go())

    # ---- OAuth

    def authorize(self, redirect_uri: str = CALLBACK, **params: str) -> httpx.Response:
        query = {"client_id": CLIENT, "response_type": "code", "redirect_uri": redirect_uri, "resource": "api://nx"}
        return self.request("GET", "/oauth2/authorize", params={**query, **params})

    def code(self, redirect_uri: str = CALLBACK) -> str:
        r = self.authorize(redirect_uri)
        assert r.status_code == 302, r.text
        return parse_qs(urlsplit(r.headers["location"]).query)["code"][0]

    def token(self, form: dict[str, str], *, basic: tuple[str, str] | None = None) -> httpx.Response:
        headers = {}
        if basic is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        else:
            form = {"client_id": CLIENT, "client_secret": SECRET, **form}
        return self.request("POST", "/oauth2/token", data=form, headers=headers)

    def exchange(self, code: str, redirect_uri: str = CALLBACK) -> httpx.Response:
        return self.token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def connect(self) -> dict[str, Any]:
        r = self.exchange(self.code())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    # ---- API

    def access(self) -> str:
        if self._access is None:
            self._access = str(self.connect()["access_token"])
        return self._access

    def get(
        self, path: str, *, token: str | None = None, practice: str | None = PRACTICE, **params: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.access()}"}
        if practice is not None:
            headers[PRACTICE_HEADER] = practice
        return self.request("GET", path, params=params, headers=headers)

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json")
        return r.json()

    def search(self, term: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.ok("/api/search", term=term)
        return found

    def encounters(self, patient_id: int, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.ok(f"/api/{patient_id}/encounters/search", **params)
        return found


def _app(clock: Clock | None = None, **kw: Any) -> Api:
    kw.setdefault("redirect_uris", (REGISTERED,))
    app = create_app(CLINIC, client_id=CLIENT, client_secret=SECRET, practice_id=PRACTICE, clock=clock or Clock(), **kw)
    return Api(app)


@pytest.fixture(scope="module")
def api() -> Api:
    return _app()


def _awk(case: str) -> Patient:
    return CLINIC.awkward_patient(case)


def _oauth_error(r: httpx.Response, status: int, error: str, code: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert body["error_uri"].endswith(f"code={code}")


def _api_error(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["Message"] == message


def _chart_encounters(p: Patient) -> list[Encounter]:
    return sorted((e for e in p.encounters if e.status in CHART_STATUSES), key=lambda e: (e.start, e.id))


def _ids(rows: list[dict[str, Any]]) -> set[int]:
    return {r["patientId"] for r in rows}


def _section_names(ccd: str) -> list[str]:
    return re.findall(r'<div class="section" data-section="([^"]+)">', ccd)


# --------------------------------------------------------------------------- authorize


def test_authorize_redirects_with_a_code_and_the_state() -> None:
    api = _app()
    r = api.authorize(state="xyz 1/2")
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:8765", "/callback")
    query = parse_qs(location.query)
    assert query["state"] == ["xyz 1/2"]
    assert len(query["code"][0]) >= 32
    assert re.fullmatch(r"[0-9a-f-]{36}", query["session_state"][0])
    assert api.code() != api.code()


def test_authorize_keeps_the_redirect_uris_own_query() -> None:
    api = _app(redirect_uris=(REGISTERED + "?tenant=a",))
    r = api.authorize(REGISTERED + "?tenant=a")
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["tenant"] == ["a"] and "code" in query and "state" not in query


@pytest.mark.parametrize(
    "uri",
    [REGISTERED, "http://127.0.0.1:1/x", "http://localhost:55555/cb/", "http://[::1]:8080/cb", "http://localhost/cb"],
)
def test_registered_and_loopback_redirect_uris_are_allowed(uri: str) -> None:
    r = _app().authorize(uri)
    assert r.status_code == 302, r.text
    assert r.headers["location"].startswith(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/cb",
        REGISTERED + "/",
        "https://127.0.0.1:8765/callback",  # loopback is http only
        "http://127.0.0.2:8765/callback",
        "https://gateway.example.com/oauth/callback#frag",
    ],
)
def test_unregistered_redirect_uri_is_400(uri: str) -> None:
    r = _app().authorize(uri)
    _oauth_error(r, 400, "invalid_request", 50011)
    assert "location" not in r.headers


def test_without_registered_uris_any_http_uri_is_allowed_but_not_garbage() -> None:
    api = _app(redirect_uris=())
    assert api.authorize("https://anything.example/cb").status_code == 302
    _oauth_error(api.authorize("not a uri"), 400, "invalid_request", 50011)
    _oauth_error(api.authorize("ftp://files.example/cb"), 400, "invalid_request", 50011)


def test_authorize_client_errors_are_400_json() -> None:
    api = _app()
    _oauth_error(api.authorize(client_id="someone-else"), 400, "invalid_request", 700016)
    _oauth_error(
        api.request("GET", "/oauth2/authorize", params={"redirect_uri": CALLBACK}), 400, "invalid_request", 900144
    )
    _oauth_error(api.request("GET", "/oauth2/authorize", params={"client_id": CLIENT}), 400, "invalid_request", 900144)


def test_bad_response_type_goes_back_to_the_client() -> None:
    r = _app().authorize(response_type="token", state="s")
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["unsupported_response_type"] and query["state"] == ["s"] and "code" not in query


# --------------------------------------------------------------------------- authorization_code grant


def test_code_exchange_returns_an_azure_token_response() -> None:
    clock = Clock()
    api = _app(clock, access_ttl=1800)
    r = api.exchange(api.code())
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers["cache-control"]
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800 and body["ext_expires_in"] == 1800
    assert body["expires_on"] == int(T0) + 1800 and body["not_before"] == int(T0)
    assert body["resource"] == "api://nx" and body["scope"] == "user_impersonation"
    assert len(body["access_token"]) >= 32 and len(body["refresh_token"]) >= 32
    assert body["access_token"] != body["refresh_token"]
    assert api.app.state.token_calls == {"authorization_code": 1}
    assert api.app.state.issued_refresh_tokens == 1


def test_resource_defaults_and_can_be_overridden_at_the_token_step() -> None:
    api = _app()
    r = api.request(
        "GET", "/oauth2/authorize", params={"client_id": CLIENT, "response_type": "code", "redirect_uri": CALLBACK}
    )
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    assert api.exchange(code).json()["resource"] == DEFAULT_RESOURCE
    form = {"grant_type": "authorization_code", "code": api.code(), "redirect_uri": CALLBACK, "resource": "api://x"}
    assert api.token(form).json()["resource"] == "api://x"


def test_code_is_single_use() -> None:
    api = _app()
    code = api.code()
    assert api.exchange(code).status_code == 200
    _oauth_error(api.exchange(code), 400, "invalid_grant", 54005)
    assert api.app.state.token_calls == {"authorization_code": 2}
    assert api.app.state.issued_refresh_tokens == 1


def test_code_expires_after_ten_minutes() -> None:
    clock = Clock()
    api = _app(clock)
    fresh, stale = api.code(), api.code()
    clock.now += AUTH_CODE_TTL - 1
    assert api.exchange(fresh).status_code == 200
    clock.now += 1
    _oauth_error(api.exchange(stale), 400, "invalid_grant", 70008)


def test_redirect_uri_must_equal_the_authorize_one() -> None:
    api = _app()
    code = api.code(CALLBACK)
    _oauth_error(api.exchange(code, "http://127.0.0.1:8765/callback/"), 400, "invalid_grant", 500112)
    _oauth_error(api.token({"grant_type": "authorization_code", "code": code}), 400, "invalid_request", 900144)
    assert api.exchange(code, CALLBACK).status_code == 200  # failed redemptions do not burn the code


def test_unknown_code_and_missing_parameters() -> None:
    api = _app()
    _oauth_error(api.exchange("not-a-code"), 400, "invalid_grant", 70000)
    _oauth_error(api.token({"grant_type": "password"}), 400, "unsupported_grant_type", 70003)
    r = api.request("POST", "/oauth2/token", json={"grant_type": "authorization_code"})  # not a form
    _oauth_error(r, 400, "invalid_request", 900144)
    _oauth_error(api.request("GET", "/oauth2/token"), 400, "invalid_request", 900561)
    assert api.app.state.token_calls == {"authorization_code": 1, "password": 1, "": 1}


# --------------------------------------------------------------------------- client authentication


def test_wrong_or_missing_secret_is_401_invalid_client() -> None:
    api = _app()
    code = api.code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": CLIENT}
    r = api.request("POST", "/oauth2/token", data={**form, "client_secret": "wrong"})
    _oauth_error(r, 401, "invalid_client", 7000215)
    _oauth_error(api.request("POST", "/oauth2/token", data=form), 401, "invalid_client", 7000218)
    r = api.request("POST", "/oauth2/token", data={**form, "client_id": "other", "client_secret": SECRET})
    _oauth_error(r, 400, "unauthorized_client", 700016)
    r = api.token({k: v for k, v in form.items() if k != "client_id"}, basic=(CLIENT, "wrong"))
    _oauth_error(r, 401, "invalid_client", 7000215)
    assert r.headers["www-authenticate"].startswith("Basic")
    assert api.app.state.issued_refresh_tokens == 0
    r = api.token({**form, "client_id": "someone-else"}, basic=(CLIENT, SECRET))
    _oauth_error(r, 400, "invalid_request", 9002313)
    r = api.token({k: v for k, v in form.items() if k != "client_id"}, basic=(CLIENT, SECRET))
    assert r.status_code == 200, r.text


def test_basic_credentials_are_form_urlencoded_first() -> None:
    app = create_app(CLINIC, client_id="a:b", client_secret="p%q:r", practice_id=PRACTICE, clock=Clock())
    api = Api(app)
    r = api.request(
        "GET", "/oauth2/authorize", params={"client_id": "a:b", "response_type": "code", "redirect_uri": CALLBACK}
    )
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert api.token(form, basic=("a%3Ab", "p%25q%3Ar")).status_code == 200


# --------------------------------------------------------------------------- refresh_token grant


def test_refresh_rotates_both_tokens() -> None:
    api = _app()
    first = api.connect()
    seen_refresh, seen_access = {first["refresh_token"]}, {first["access_token"]}
    current = first
    for _ in range(3):
        r = api.refresh(current["refresh_token"])
        assert r.status_code == 200, r.text
        current = r.json()
        assert current["refresh_token"] not in seen_refresh and current["access_token"] not in seen_access
        assert current["resource"] == "api://nx"
        seen_refresh.add(current["refresh_token"])
        seen_access.add(current["access_token"])
    assert api.app.state.token_calls == {"authorization_code": 1, "refresh_token": 3}
    assert api.app.state.issued_refresh_tokens == 4
    for access in seen_access:  # earlier access tokens live on until they expire
        assert api.get("/api/encounters/categories", token=access).status_code == 200


def test_used_refresh_token_works_within_grace_then_kills_the_grant() -> None:
    clock = Clock()
    api = _app(clock, refresh_grace=30)
    rt1 = api.connect()["refresh_token"]
    r = api.refresh(rt1)
    assert r.status_code == 200
    rt2 = r.json()["refresh_token"]
    clock.now += 29  # the client crashed before saving rt2 and retries with rt1
    retry = api.refresh(rt1)
    assert retry.status_code == 200, retry.text
    rt3 = retry.json()["refresh_token"]
    assert rt3 not in (rt1, rt2)
    clock.now += 1  # 30 s after the first use: replay
    _oauth_error(api.refresh(rt1), 400, "invalid_grant", 70008)
    # strict servers revoke the whole grant on replay (documented choice)
    _oauth_error(api.refresh(rt2), 400, "invalid_grant", 50173)
    _oauth_error(api.refresh(rt3), 400, "invalid_grant", 50173)
    assert api.refresh(api.connect()["refresh_token"]).status_code == 200  # a new grant is unaffected


def test_zero_grace_makes_refresh_tokens_single_use() -> None:
    api = _app(refresh_grace=0)
    rt = api.connect()["refresh_token"]
    assert api.refresh(rt).status_code == 200
    _oauth_error(api.refresh(rt), 400, "invalid_grant", 70008)


def test_refresh_token_errors() -> None:
    clock = Clock()
    api = _app(clock)
    _oauth_error(api.refresh("nope"), 400, "invalid_grant", 70008)
    _oauth_error(api.token({"grant_type": "refresh_token"}), 400, "invalid_request", 900144)
    rt = api.connect()["refresh_token"]
    clock.now += REFRESH_TOKEN_TTL
    _oauth_error(api.refresh(rt), 400, "invalid_grant", 70008)


def test_revoke_hook_invalidates_every_refresh_token() -> None:
    api = _app()
    a, b = api.connect(), api.connect()
    rotated = api.refresh(b["refresh_token"]).json()
    api.app.state.revoke_refresh_tokens()
    for rt in (a["refresh_token"], b["refresh_token"], rotated["refresh_token"]):
        r = api.refresh(rt)
        _oauth_error(r, 400, "invalid_grant", 50173)
        assert "AADSTS50173" in r.json()["error_description"]
    assert api.get("/api/encounters/categories", token=a["access_token"]).status_code == 200
    fresh = api.connect()  # reconnecting works
    assert api.refresh(fresh["refresh_token"]).status_code == 200


def test_oauth_errors_carry_no_token() -> None:
    api = _app()
    rt = api.connect()["refresh_token"]
    api.app.state.revoke_refresh_tokens()
    assert rt not in api.refresh(rt).text


# --------------------------------------------------------------------------- API guard


def test_access_token_expires_per_clock() -> None:
    clock = Clock()
    api = _app(clock, access_ttl=60)
    token = api.connect()["access_token"]
    clock.now += 59
    assert api.get("/api/encounters/categories", token=token).status_code == 200
    clock.now += 1
    r = api.get("/api/encounters/categories", token=token)
    _api_error(r, 401, ACCESS_DENIED)
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer unknown-token", "Basic abc"])
def test_missing_or_unknown_bearer_is_401(api: Api, header: str | None) -> None:
    headers = {PRACTICE_HEADER: PRACTICE}
    if header is not None:
        headers["Authorization"] = header
    r = api.request("GET", "/api/search", params={"term": "smith"}, headers=headers)
    _api_error(r, 401, ACCESS_DENIED)
    assert r.json() == {"Message": ACCESS_DENIED}


def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    headers = {"Authorization": f"bearer {api.access()}", PRACTICE_HEADER: PRACTICE}
    assert api.request("GET", "/api/encounters/categories", headers=headers).status_code == 200


def test_practice_header_missing_is_400_and_wrong_is_403(api: Api) -> None:
    _api_error(
        api.get("/api/search", practice=None, term="smith"), 400, "The x-nextech-practice-id header is required."
    )
    _api_error(api.get("/api/search", practice=" ", term="smith"), 400, "The x-nextech-practice-id header is required.")
    _api_error(
        api.get("/api/search", practice="9999", term="smith"), 403, "Access to the requested practice is denied."
    )
    assert api.get("/api/search", practice=f" {PRACTICE} ", term="smith").status_code == 200


def test_unknown_route_and_method_answer_like_web_api(api: Api) -> None:
    r = api.request("GET", "/api/patients/12")  # no such route in the docs: no patient read by id
    _api_error(r, 404, f"No HTTP resource was found that matches the request URI '{HOST}/api/patients/12'.")
    r = api.request("POST", "/api/search")
    _api_error(r, 405, "The requested resource does not support http method 'POST'.")


# --------------------------------------------------------------------------- /search


def test_search_shape_and_dob_datetime(api: Api) -> None:
    p = _awk("apostrophe_hyphen")
    (row,) = [r for r in api.search(p.chart_number)]
    assert list(row) == ["patientId", "chartNumber", "firstName", "lastName", "middleName", "dob", "ssn", "homePhone"]
    assert row["patientId"] == p.id and row["chartNumber"] == p.chart_number
    assert (row["firstName"], row["lastName"], row["middleName"]) == (p.first_name, p.last_name, p.middle_name)
    assert p.birth_date is not None
    assert row["dob"] == f"{p.birth_date.isoformat()}T00:00:00.000Z"
    assert MS.fullmatch(row["dob"])


def test_every_live_patient_is_rendered_faithfully(api: Api) -> None:
    by_id = {}
    for p in LIVE:
        found = [r for r in api.search(p.chart_number) if r["chartNumber"] == p.chart_number]
        assert len(found) == 1
        by_id[p.id] = found[0]
    ssns = [r["ssn"] for r in by_id.values() if r["ssn"] is not None]
    assert len(ssns) == len(set(ssns)) and len(ssns) < len(LIVE)  # unique, and some are null
    for p in LIVE:
        row = by_id[p.id]
        if row["ssn"] is not None:
            assert re.fullmatch(r"9\d{2}-\d{2}-\d{4}", row["ssn"])
        if p.home_phone:
            assert re.sub(r"\D", "", row["homePhone"]) == p.home_phone
            assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", row["homePhone"])
        else:
            assert row["homePhone"] is None
        assert row["dob"] == (f"{p.birth_date.isoformat()}T00:00:00.000Z" if p.birth_date else None)


def test_missing_birth_date_and_middle_name_are_null(api: Api) -> None:
    p = _awk("missing_birth_date")
    (row,) = [r for r in api.search(p.chart_number)]
    assert row["dob"] is None
    q = _awk("no_middle_name")
    (row,) = [r for r in api.search(q.chart_number)]
    assert row["middleName"] is None


def test_deleted_patients_are_absent(api: Api) -> None:
    p = _awk("deleted_patient")
    assert api.search(p.chart_number) == []
    assert p.id not in _ids(api.search(p.last_name))
    _api_error(api.get(f"/api/{p.id}/encounters/search"), 404, "Patient not found")


def test_name_prefix_search_covers_shared_prefixes(api: Api) -> None:
    def with_last(*names: str) -> set[int]:
        return {p.id for p in LIVE if p.last_name in names}

    assert _ids(api.search("Smith")) == with_last("Smith", "Smithson", "Smithers")
    assert _ids(api.search("smiths")) == with_last("Smithson")
    assert _ids(api.search("SMITHE")) == with_last("Smithers")
    assert len(with_last("Smith")) == 3


def test_search_matches_first_name_and_name_parts(api: Api) -> None:
    expected = {
        p.id for p in LIVE if p.first_name.lower().startswith("sebas") or p.last_name.lower().startswith("sebas")
    }
    assert expected and _ids(api.search("sebas")) == expected
    assert _awk("apostrophe_hyphen").id in _ids(api.search("nguyen"))  # after the hyphen, accent-folded
    assert _awk("apostrophe_hyphen").id in _ids(api.search("o'bri"))
    berg = {p.id for p in LIVE if p.last_name == "Van der Berg"}
    assert berg and berg <= _ids(api.search("berg")) and berg == _ids(api.search("van der b"))
    assert {p.id for p in LIVE if p.last_name == "St. James"} == _ids(api.search("st. james"))
    assert _awk("cjk_name").id in _ids(api.search("王"))


def test_search_is_case_and_accent_insensitive(api: Api) -> None:
    jose = _awk("accented_name")
    assert jose.id in _ids(api.search("garcia"))
    assert jose.id in _ids(api.search("GARCÍA"))
    assert jose.id in _ids(api.search("jose garc"))


def test_first_last_and_last_first_forms(api: Api) -> None:
    p = _awk("twin")
    both = {_awk("twin").id, _awk("twin_sibling").id}
    assert _ids(api.search("Okonkwo")) == both
    assert _ids(api.search(f"{p.first_name[:3]} okon")) == {p.id}
    assert _ids(api.search(f"okonkwo, {p.first_name}")) == {p.id}
    assert _ids(api.search("okonkwo,")) == both
    assert _ids(api.search(f"  {p.first_name}    Okonkwo ")) == {p.id}  # whitespace collapsed
    assert _ids(api.search(f"okonkwo {p.first_name}")) == set()  # "last first" is not a form
    assert _ids(api.search(f"{p.first_name}, okonkwo")) == set()
    middle = _awk("unicode_name")
    assert _ids(api.search(f"{middle.first_name} {middle.middle_name} {middle.last_name}")) == set()


def test_chart_number_search_is_a_prefix(api: Api) -> None:
    p = CLINIC.patient(12) if not CLINIC.patient(12).deleted else LIVE[0]
    assert [r["patientId"] for r in api.search(p.chart_number)] == [p.id]
    assert [r["patientId"] for r in api.search(p.chart_number.lower())] == [p.id]
    tens = {q.id for q in LIVE if q.chart_number.startswith("C0001")}
    assert _ids(api.search("C0001")) == tens and len(tens) >= 9
    assert api.search(p.chart_number.removeprefix("C")) == []  # bare digits never match


def test_search_orders_by_last_then_first_name(api: Api) -> None:
    rows = api.search("Johnson")
    keys = [(r["lastName"].casefold(), r["firstName"].casefold(), r["patientId"]) for r in rows]
    assert len(rows) == 14 and keys == sorted(keys)


@pytest.mark.parametrize("params", [{}, {"term": ""}, {"term": "   "}])
def test_empty_term_is_400(api: Api, params: dict[str, str]) -> None:
    r = api.get("/api/search", **params)
    assert r.status_code == 400
    assert r.json() == {"Message": "The request is invalid.", "ModelState": {"term": ["The term field is required."]}}


def test_unmatched_term_is_an_empty_array(api: Api) -> None:
    assert api.search("zzzzqqq") == []
    assert api.search("--") == []


# --------------------------------------------------------------------------- encounters


def test_encounters_are_the_chart_visits_with_a_faithful_summary(api: Api) -> None:
    p = _awk("in_progress_encounter")
    items = api.encounters(p.id)
    expected = _chart_encounters(p)
    assert [i["summary"]["encounterId"] for i in items] == [e.id for e in expected]
    assert all(e.status in CHART_STATUSES for e in expected) and len(expected) < len(p.encounters)
    for item, enc in zip(items, expected, strict=True):
        assert list(item) == ["summary", "ccd"]
        s = item["summary"]
        assert list(s) == [
            "encounterId",
            "doctorId",
            "doctorFirstName",
            "doctorLastName",
            "doctorProfessionalDesignation",
            "department",
            "location",
            "encounterDate",
            "type",
            "encounterLocked",
        ]
        doctor = CLINIC.provider(enc.provider_id)
        assert (s["doctorId"], s["doctorFirstName"], s["doctorLastName"], s["doctorProfessionalDesignation"]) == (
            doctor.id,
            doctor.first_name,
            doctor.last_name,
            doctor.designation,
        )
        assert s["location"] == CLINIC.location(enc.location_id).name
        assert s["type"] == enc.type_text
        assert MS.fullmatch(s["encounterDate"])
        assert datetime.fromisoformat(s["encounterDate"]) == enc.start
        department = "General Dentistry"
        if enc.type_code is None:
            department = "Primary Care"
        elif enc.type_code.startswith("D4"):
            department = "Periodontics"
        assert s["department"] == department
        locked = s["encounterLocked"]
        assert (locked if isinstance(locked, bool) else locked.lower() == "true") == enc.locked


def test_encounter_locked_comes_as_boolean_and_as_strings(api: Api) -> None:
    kinds: set[Any] = set()
    for p in LIVE[:60]:
        for item in api.encounters(p.id):
            locked = item["summary"]["encounterLocked"]
            kinds.add(type(locked) if isinstance(locked, bool) else locked)
    assert bool in kinds
    assert kinds & {"true", "false"} and kinds & {"True", "False"}
    assert kinds <= {bool, "true", "false", "True", "False"}


def test_departments_vary(api: Api) -> None:
    seen = {i["summary"]["department"] for p in LIVE[:80] for i in api.encounters(p.id)}
    assert {"General Dentistry", "Periodontics", "Primary Care"} <= seen


def test_encounter_window_is_inclusive_and_end_defaults_to_now() -> None:
    clock = Clock()
    api = _app(clock)
    p = _awk("in_progress_encounter")
    chart = _chart_encounters(p)
    assert len(chart) >= 4
    second, last = chart[1], chart[-1]
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    found = api.encounters(p.id, start=second.start.strftime(fmt), end=chart[-2].start.strftime(fmt))
    assert [i["summary"]["encounterId"] for i in found] == [e.id for e in chart[1:-1]]
    found = api.encounters(p.id, start=second.start.isoformat())
    assert [i["summary"]["encounterId"] for i in found] == [e.id for e in chart[1:]]
    just_before = (second.start - timedelta(seconds=1)).astimezone(ZoneInfo("America/Chicago")).isoformat()
    found = api.encounters(p.id, end=just_before)
    assert [i["summary"]["encounterId"] for i in found] == [chart[0].id]
    clock.now = (last.start - timedelta(minutes=1)).timestamp()  # the in-progress visit is not yet "now"
    assert last.id not in {i["summary"]["encounterId"] for i in api.encounters(p.id)}
    assert api.encounters(p.id, start="2030-01-01", end="2029-01-01") == []


def test_bare_date_end_is_its_midnight_utc(api: Api) -> None:
    p = _awk("in_progress_encounter")
    enc = _chart_encounters(p)[0]
    day = enc.start.date().isoformat()
    assert enc.id not in {i["summary"]["encounterId"] for i in api.encounters(p.id, end=day)}
    next_day = (enc.start.date() + timedelta(days=1)).isoformat()
    assert enc.id in {i["summary"]["encounterId"] for i in api.encounters(p.id, end=next_day)}


@pytest.mark.parametrize("name", ["start", "end"])
def test_invalid_datetime_is_400(api: Api, name: str) -> None:
    r = api.get(f"/api/{LIVE[0].id}/encounters/search", **{name: "yesterday"})
    assert r.status_code == 400
    assert r.json() == {
        "Message": "The request is invalid.",
        "ModelState": {name: [f"The value 'yesterday' is not valid for {name}."]},
    }


def test_encounter_path_and_patient_errors(api: Api) -> None:
    r = api.get("/api/abc/encounters/search")
    assert r.status_code == 400 and r.json()["Message"] == "The request is invalid." and "MessageDetail" in r.json()
    _api_error(api.get("/api/999999/encounters/search"), 404, "Patient not found")
    assert api.encounters(_awk("no_records").id) == []


def test_categories_and_section_filter(api: Api) -> None:
    assert api.ok("/api/encounters/categories") == list(CCD_SECTIONS)
    p = _awk("in_progress_encounter")
    full = api.encounters(p.id)
    assert _section_names(full[0]["ccd"]) == list(CCD_SECTIONS)
    for name in CCD_SECTIONS:
        only = api.encounters(p.id, section=name)
        assert [i["summary"] for i in only] == [i["summary"] for i in full]
        for item in only:
            assert _section_names(item["ccd"]) == [name]
            assert f"<h2>{SECTION_TITLES[name]}</h2>" in item["ccd"]
            assert '<div class="header">' in item["ccd"] and p.chart_number in item["ccd"]
    assert _section_names(api.encounters(p.id, section="vitalsigns")[0]["ccd"]) == ["VitalSigns"]
    assert _section_names(api.encounters(p.id, section="")[0]["ccd"]) == list(CCD_SECTIONS)
    _api_error(
        api.get(f"/api/{p.id}/encounters/search", section="Vital Signs"),
        400,
        "The section 'Vital Signs' is not a valid CCD section.",
    )


def test_ccd_renders_the_clinic(api: Api) -> None:
    p = next(
        p
        for p in LIVE
        if _chart_encounters(p)
        and any(m.prn for m in p.medications if not m.deleted)
        and p.allergies
        and p.problems
        and p.birth_date
        and any(e.reason for e in _chart_encounters(p))
    )
    enc = next(e for e in _chart_encounters(p) if e.reason)
    (item,) = [i for i in api.encounters(p.id) if i["summary"]["encounterId"] == enc.id]
    ccd = item["ccd"]
    assert ccd.startswith("<!DOCTYPE html>") and "<title>Continuity of Care Document</title>" in ccd
    assert escape(p.last_name) in ccd and p.chart_number in ccd
    assert p.birth_date is not None and p.birth_date.strftime("%m/%d/%Y") in ccd
    for a in p.allergies:
        assert (escape(a.substance) in ccd) != a.deleted
    for m in p.medications:
        assert (escape(m.name) in ccd) != m.deleted
    assert "as needed" in ccd
    for pr in p.problems:
        assert (escape(pr.name) in ccd) != pr.deleted
    if enc.reason:
        assert escape(enc.reason) in _block(ccd, "PlanOfCare")
    assert escape(enc.type_text) in _block(ccd, "Encounter")


def _block(ccd: str, name: str) -> str:
    match = re.search(rf'<div class="section" data-section="{name}">(.*?)</div>', ccd, re.S)
    assert match, name
    return match.group(1)


VITAL_FIELDS = (
    "systolic",
    "diastolic",
    "pulse",
    "respiration_rate",
    "spo2",
    "temperature_f",
    "height_in",
    "weight_lb",
    "bmi",
    "bmi_percentile",
)


@pytest.mark.parametrize("case", ["many_vitals", "partial_vitals", "deleted_vitals", "child"])
def test_vital_signs_section_shows_the_closest_reading(api: Api, case: str) -> None:
    p = _awk(case)
    zone = ZoneInfo(CLINIC.timezone)
    live = [v for v in p.vitals if not v.deleted]
    items = api.encounters(p.id, section="VitalSigns")
    assert items and live
    for item in items:
        start = datetime.fromisoformat(item["summary"]["encounterDate"])
        taken = [datetime.combine(v.taken_on, v.taken_at or time(12), tzinfo=zone) for v in live]
        distances = [abs((t - start).total_seconds()) for t in taken]
        best = live[distances.index(min(distances))]  # the first (earlier) of ties
        block = _block(item["ccd"], "VitalSigns")
        assert f"Taken {best.taken_on.strftime('%m/%d/%Y')}" in block
        values = [getattr(best, f) for f in VITAL_FIELDS if getattr(best, f) is not None]
        assert block.count("<tr><td>") == len(values)
        for value in values:
            assert f"<td>{value}</td>" in block


def test_empty_sections_say_so(api: Api) -> None:
    no_vitals = next(p for p in LIVE if _chart_encounters(p) and not [v for v in p.vitals if not v.deleted])
    ccd = api.encounters(no_vitals.id)[0]["ccd"]
    assert "No vital signs recorded" in _block(ccd, "VitalSigns")
    nkda = next(
        p
        for p in LIVE
        if p.allergy_review == "nkda" and _chart_encounters(p) and not [a for a in p.allergies if not a.deleted]
    )
    assert "No known drug allergies" in _block(api.encounters(nkda.id)[0]["ccd"], "Allergies")


def test_clinic_text_is_escaped(api: Api) -> None:
    p = _awk("markup_name")
    items = api.encounters(p.id)
    assert items
    for item in items:
        ccd = item["ccd"]
        assert "Tables&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in ccd
        assert "<script" not in ccd and "& Sons" not in ccd
    (row,) = [r for r in api.search(p.chart_number)]
    assert row["lastName"] == p.last_name  # JSON carries the raw text


def test_every_ccd_is_well_formed_enough_and_escaped(api: Api) -> None:
    tag = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
    allowed = {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "div",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
    for p in LIVE[::7]:
        for item in api.encounters(p.id):
            ccd = item["ccd"]
            assert {m.group(2) for m in tag.finditer(ccd)} <= allowed
            assert "javascript:" not in ccd and "onerror" not in ccd


def test_hostile_html_only_when_enabled() -> None:
    p = _awk("in_progress_encounter")
    plain, hostile = _app(), _app(hostile_html=True)
    for ccd in (i["ccd"] for i in plain.encounters(p.id)):
        assert not any(s in ccd for s in HOSTILE_SNIPPETS)
        assert "<script" not in ccd and "evil.example" not in ccd
    for section in (None, "Allergies"):
        params = {"section": section} if section else {}
        for ccd in (i["ccd"] for i in hostile.encounters(p.id, **params)):
            for snippet in HOSTILE_SNIPPETS:
                assert snippet in ccd
    joined = "".join(HOSTILE_SNIPPETS)
    for needle in ("<script>alert(1)</script>", "onerror=", 'href="javascript:', "<iframe", "<link", "url(https://"):
        assert needle in joined


def test_api_responses_are_json_with_no_cache(api: Api) -> None:
    r = api.get("/api/encounters/categories")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
