"""The NexHealth simulator: JWT auth, version header, rate limits, envelope, OR search, writes."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mappings.nexhealth.sandbox import (
    ACCEPT,
    APPOINTMENT_ID_OFFSET,
    MAIN_LOCATION_ID,
    OTHER_LOCATION_ID,
    PATIENT_ID_OFFSET,
    PROVIDER_ID_OFFSET,
    create_app,
    location_id_of,
)
from mappings.sandbox.clinic import Encounter, Patient, build_clinic

CLINIC = build_clinic()
KEY = "test-api-key-123"
SUB = "sandbox-dental"
HOST = "http://nexhealth.test"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC).timestamp()  # on a minute boundary
LIVE = [p for p in CLINIC.patients if not p.deleted]
SCOPE: dict[str, Any] = {"subdomain": SUB, "location_id": MAIN_LOCATION_ID}
MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
VERSION_ERROR = "Missing or unsupported API version. Send Accept: application/vnd.Nexhealth+json;version=2"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Api:
    """A synchronous face on the ASGI app (pytest-asyncio is not a dependency)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.token: str | None = None

    def headers(self, auth: bool, extra: dict[str, str]) -> dict[str, str]:
        headers = {"Accept": ACCEPT, **extra}
        if auth and "Authorization" not in headers:
            if self.token is None:
                self.token = self.authenticate().json()["data"]["token"]
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def call(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = self.headers(auth, dict(kw.pop("headers", {})))

        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=HOST) as c:
                return await c.request(method, path, headers=headers, **kw)

        return asyncio.run(go())

    def burst(self, n: int, path: str = "/providers") -> list[httpx.Response]:
        """`n` GETs in one event loop (fast enough to hit the per-second limit for real)."""
        headers = self.headers(True, {})

        async def go() -> list[httpx.Response]:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=HOST) as c:
                return [await c.get(path, params=SCOPE, headers=headers) for _ in range(n)]

        return asyncio.run(go())

    def authenticate(self, key: str | None = KEY, accept: str | None = ACCEPT) -> httpx.Response:
        headers = {} if key is None else {"Authorization": key}
        if accept is not None:
            headers["Accept"] = accept

        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=HOST) as c:
                return await c.post("/authenticates", headers=headers)

        return asyncio.run(go())

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.call("GET", path, params={**SCOPE, **params})

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["code"] is True and body["error"] == []
        return body

    def patients(self, **params: Any) -> list[dict[str, Any]]:
        """Every patient of a search, all pages."""
        body = self.ok("/patients", per_page=1000, **params)
        assert len(body["data"]["patients"]) == body["count"]
        return list(body["data"]["patients"])

    def create(self, body: Any, **params: Any) -> httpx.Response:
        return self.call("POST", "/patients", params={**SCOPE, **params}, json=body)


def _app(clock: Clock | None = None, **kw: Any) -> Api:
    return Api(create_app(CLINIC, api_key=KEY, subdomain=SUB, clock=clock or Clock(), **kw))


@pytest.fixture(scope="module")
def api() -> Api:
    return _app(rate_per_second=10_000, rate_per_minute=100_000)


def _nid(p: Patient) -> int:
    return p.id + PATIENT_ID_OFFSET


def _ids(rows: list[dict[str, Any]]) -> set[int]:
    return {r["id"] for r in rows}


def _awk(case: str) -> Patient:
    return CLINIC.awkward_patient(case)


def _claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def part(s: str) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        return out

    header, payload, _ = token.split(".")
    return part(header), part(payload)


def _assert_error(r: httpx.Response, status: int, messages: list[str]) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"code": False, "description": None, "data": None, "error": messages}


def _new_patient(**over: Any) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Quintrell",
        "email": "ada.quintrell@example.com",
        "bio": {"date_of_birth": "1990-05-17", "phone_number": "3125559876", "gender": "Female"},
    }
    bio = {**patient["bio"], **over.pop("bio", {})}
    return {"provider": {"provider_id": PROVIDER_ID_OFFSET + 1}, "patient": {**patient, **over, "bio": bio}}


# --------------------------------------------------------------------------- authentication


def test_authenticate_returns_a_signed_jwt() -> None:
    clock = Clock()
    api = _app(clock, token_ttl=120)
    r = api.authenticate()
    assert r.status_code == 201
    assert "retry-after" not in r.headers
    body = r.json()
    assert body["code"] is True and body["description"] == "Authenticated" and body["error"] == []
    assert set(body) == {"code", "description", "error", "data"}
    header, claims = _claims(body["data"]["token"])
    assert header == {"alg": "HS256"}
    assert claims["sub"] == "1" and claims["scp"] == "api_user"
    assert claims["iat"] == int(T0) and claims["exp"] == int(T0) + 120
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["jti"])
    assert api.app.state.authentications == 1
    assert _claims(api.authenticate().json()["data"]["token"])[1]["jti"] != claims["jti"]
    assert api.app.state.authentications == 2


@pytest.mark.parametrize("key", [None, "", "wrong-key", f"Bearer {KEY}", KEY + " "])
def test_authenticate_with_a_wrong_key_is_401(key: str | None) -> None:
    api = _app()
    _assert_error(api.authenticate(key), 401, ["Invalid API key"])
    assert api.app.state.authentications == 0


# --------------------------------------------------------------------------- version header


@pytest.mark.parametrize(
    "accept", [None, "application/json", "application/vnd.Nexhealth+json", "application/vnd.Nexhealth+json;version=1"]
)
def test_version_header_is_required(api: Api, accept: str | None) -> None:
    _assert_error(api.authenticate(accept=accept), 400, [VERSION_ERROR])
    headers = {} if accept is None else {"Accept": accept}

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url=HOST) as c:
            return await c.get("/patients", params=SCOPE, headers={**headers, "Authorization": "Bearer x.y.z"})

    _assert_error(asyncio.run(go()), 400, [VERSION_ERROR])  # checked before the token


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.nexhealth+json; version=2",
        'application/vnd.Nexhealth+json;version="2"',
        "application/json, application/vnd.Nexhealth+json;version=2",
    ],
)
def test_version_header_variants_are_accepted(api: Api, accept: str) -> None:
    assert api.call("GET", "/providers", params=SCOPE, headers={"Accept": accept}).status_code == 200


# --------------------------------------------------------------------------- bearer tokens


def test_missing_and_garbage_tokens_are_401(api: Api) -> None:
    good = api.headers(True, {})["Authorization"].removeprefix("Bearer ")
    h, p, s = good.split(".")
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    forged_claims = base64.urlsafe_b64encode(b'{"sub":"1","scp":"api_user","exp":99999999999}').rstrip(b"=").decode()
    for value in [
        None,
        "",
        "Bearer",
        "Bearer garbage",
        "Bearer a.b.c",
        good,  # no scheme
        f"Basic {good}",
        f"Bearer {h}.{p}.{s[:-2]}AA",  # bad signature
        f"Bearer {h}.{forged_claims}.{s}",  # claims changed
        f"Bearer {none_alg}.{p}.",
        f"Bearer {h}.{p}.{s}!",
    ]:
        headers = {} if value is None else {"Authorization": value}
        r = api.call("GET", "/patients", params=SCOPE, headers=headers, auth=value is not None)
        _assert_error(r, 401, ["Unauthorized"])
    assert api.call("GET", "/patients", params=SCOPE, headers={"Authorization": f"bearer {good}"}).status_code == 200


def test_token_expires_after_ttl_by_the_clock() -> None:
    clock = Clock()
    api = _app(clock, token_ttl=3600)
    assert api.get("/providers").status_code == 200
    clock.now = T0 + 3599.5
    assert api.get("/providers").status_code == 200
    clock.now = T0 + 3600
    _assert_error(api.get("/providers"), 401, ["Unauthorized: token has expired"])
    api.token = None  # re-authenticate: a fresh token works again
    assert api.get("/providers").status_code == 200


# --------------------------------------------------------------------------- rate limits


def test_per_second_limit_429_without_retry_after() -> None:
    clock = Clock()
    api = _app(clock, rate_per_second=3, rate_per_minute=100)
    api.headers(True, {})  # /authenticates counts: 1
    assert [r.status_code for r in api.burst(4)] == [200, 200, 429, 429]
    r = api.get("/providers")
    _assert_error(r, 429, ["Rate limit exceeded: 3 requests per second"])
    assert "retry-after" not in {k.lower() for k in r.headers}
    _assert_error(api.authenticate(), 429, ["Rate limit exceeded: 3 requests per second"])
    clock.now = T0 + 1  # the next second: a fresh window
    assert [r.status_code for r in api.burst(4)] == [200, 200, 200, 429]


def test_per_minute_limit_and_refused_requests_do_not_count() -> None:
    clock = Clock()
    api = _app(clock, rate_per_second=2, rate_per_minute=5)
    api.headers(True, {})  # 1 (second 0)
    assert [r.status_code for r in api.burst(3)] == [200, 429, 429]  # 2
    clock.now += 1
    assert [r.status_code for r in api.burst(2)] == [200, 200]  # 4
    clock.now += 1
    statuses = [r.status_code for r in api.burst(2)]
    assert statuses == [200, 429]  # 5 admitted: the minute is full
    r = api.get("/providers")
    _assert_error(r, 429, ["Rate limit exceeded: 5 requests per minute"])
    assert "retry-after" not in {k.lower() for k in r.headers}
    clock.now = T0 + 59.9
    assert api.get("/providers").status_code == 429
    clock.now = T0 + 60  # the next minute
    assert api.get("/providers").status_code == 200


def test_default_limit_is_100_per_second() -> None:
    api = _app()  # clock stands still: every request is in the same second
    responses = api.burst(101)
    assert [r.status_code for r in responses].count(200) == 99  # + the authentication = 100
    assert responses[-1].status_code == 429 and responses[-2].status_code == 429


def test_unauthenticated_requests_are_not_rate_limited() -> None:
    api = _app(rate_per_second=1, rate_per_minute=1)
    for _ in range(3):
        _assert_error(api.call("GET", "/providers", params=SCOPE, auth=False), 401, ["Unauthorized"])
    assert api.authenticate().status_code == 201


def test_request_counter_counts_everything() -> None:
    api = _app()
    api.authenticate()
    api.authenticate("nope")
    api.get("/providers")
    api.call("GET", "/nowhere")
    assert api.app.state.requests == 5  # two authentications, a bad key, providers, the 404
    assert api.app.state.authentications == 2


# --------------------------------------------------------------------------- envelope and scoping


def test_list_envelope_shape(api: Api) -> None:
    body = api.ok("/patients", per_page=2)
    assert set(body) == {"code", "description", "error", "data", "count"}
    assert body["description"] == []
    assert set(body["data"]) == {"patients"}
    assert len(body["data"]["patients"]) == 2
    assert body["count"] == len(LIVE)


def test_single_envelope_has_no_count(api: Api) -> None:
    body = api.ok(f"/patients/{_nid(LIVE[0])}")
    assert set(body) == {"code", "description", "error", "data"}
    assert body["data"]["patient"]["id"] == _nid(LIVE[0])


def test_required_scope_parameters(api: Api) -> None:
    for path in ("/patients", "/providers", f"/patients/{_nid(LIVE[0])}"):
        r = api.call("GET", path)
        _assert_error(r, 400, ["Missing required parameter: subdomain", "Missing required parameter: location_id"])
        r = api.call("GET", path, params={"subdomain": SUB, "location_id": ""})
        _assert_error(r, 400, ["Missing required parameter: location_id"])
    _assert_error(api.get("/patients", subdomain="someone-else"), 403, ["You do not have access to this institution"])
    assert api.get("/patients", subdomain=SUB.upper()).status_code == 200
    _assert_error(api.get("/patients", location_id=999), 404, ["Location not found"])
    _assert_error(api.get("/patients", location_id="abc"), 400, ["location_id must be an integer"])


def test_unknown_route_and_method_are_404_envelopes(api: Api) -> None:
    _assert_error(api.call("GET", "/nowhere"), 404, ["Not Found"])
    _assert_error(api.call("DELETE", "/patients"), 404, ["Not Found"])


def test_unknown_parameters_are_ignored_with_a_warning(api: Api) -> None:
    body = api.ok("/patients", gender="female", sort="-id", per_page=1000)
    assert body["description"] == ["Ignored unknown parameter: gender", "Ignored unknown parameter: sort"]
    assert body["count"] == len(LIVE)  # gender did not narrow anything
    assert api.ok("/providers", foo="1")["description"] == ["Ignored unknown parameter: foo"]


# --------------------------------------------------------------------------- patient shape


def test_patient_shape_for_an_inserted_patient(api: Api) -> None:
    twin = _awk("twin")
    p = api.ok(f"/patients/{_nid(twin)}")["data"]["patient"]
    assert set(p) == {
        "id", "email", "first_name", "middle_name", "last_name", "name", "created_at", "updated_at",
        "institution_id", "foreign_id", "foreign_id_type", "bio", "inactive", "last_sync_time",
        "guarantor_id", "unsubscribe_sms", "location_ids",
    }  # fmt: skip
    assert p["name"] == "Chidi Okonkwo"
    assert p["foreign_id"] == twin.chart_number and p["foreign_id_type"] == "msg-opendental-DataSource-35"
    assert MS.fullmatch(p["created_at"]) and MS.fullmatch(p["updated_at"]) and MS.fullmatch(p["last_sync_time"])
    assert p["bio"]["gender"] == "Male"
    assert p["bio"]["date_of_birth"] == "1992-04-30"
    assert p["bio"]["phone_number"] == twin.mobile_phone == p["bio"]["cell_phone_number"]
    assert p["bio"]["home_phone_number"] == twin.home_phone
    assert p["location_ids"] == [location_id_of(twin.location_id)] == [OTHER_LOCATION_ID]
    assert p["inactive"] is False and p["bio"]["new_patient"] is False and p["bio"]["non_patient"] is False
    assert p["guarantor_id"] == p["id"]


GENDERS = {"male": "Male", "female": "Female", "non_binary": "Other", "other": "Other", "unknown": None,
           "prefer_not_to_say": None, None: None}  # fmt: skip


def test_gender_mapping(api: Api) -> None:
    clinic = {_nid(p): p.gender for p in LIVE}
    rendered = {r["id"]: r["bio"]["gender"] for r in api.patients()}
    assert rendered == {pid: GENDERS[g] for pid, g in clinic.items()}
    assert {"male", "female", "non_binary", "unknown", "prefer_not_to_say", None} <= set(clinic.values())


def test_inactive_and_deleted_patients(api: Api) -> None:
    for case in ("inactive", "deceased"):
        assert api.ok(f"/patients/{_nid(_awk(case))}")["data"]["patient"]["inactive"] is True
    deleted = _nid(_awk("deleted_patient"))
    _assert_error(api.get(f"/patients/{deleted}"), 404, ["Patient not found"])
    _assert_error(api.get("/patients/abc"), 404, ["Patient not found"])
    assert deleted not in _ids(api.patients())
    inactive = api.patients(inactive="true")
    assert _ids(inactive) == {_nid(p) for p in LIVE if p.status in ("inactive", "deceased")}
    assert len(api.patients(inactive="false")) == len(LIVE) - len(inactive)


def test_new_and_non_patient_filters(api: Api) -> None:
    new = api.patients(new_patient="true")
    assert _awk("prospective").id + PATIENT_ID_OFFSET in _ids(new)
    assert _ids(new) == {_nid(p) for p in LIVE if not any(e.status in ("finished", "arrived") for e in p.encounters)}
    assert api.patients(non_patient="true") == []
    assert len(api.patients(non_patient="false")) == len(LIVE)
    assert api.patients(inactive="true", new_patient="true") == [
        r for r in api.patients(inactive="true") if r["bio"]["new_patient"]
    ]
    _assert_error(api.get("/patients", inactive="maybe"), 400, ["inactive must be true or false"])


# --------------------------------------------------------------------------- search


def test_search_parameters_are_ored(api: Api) -> None:
    a, b = _awk("unicode_name"), _awk("apostrophe_hyphen")
    assert a.mobile_phone is not None
    found = api.patients(phone_number=a.mobile_phone, name="Siobhan")
    assert _ids(found) == {_nid(a), _nid(b)}
    assert _ids(api.patients(phone_number=a.mobile_phone)) == {_nid(a)}


def test_exact_search_parameters(api: Api) -> None:
    twin, sibling = _awk("twin"), _awk("twin_sibling")
    assert twin.email is not None
    assert _ids(api.patients(email=twin.email.upper())) == {_nid(twin)}
    assert _ids(api.patients(phone_number="(312) 555-0199")) == {_nid(twin), _nid(sibling)}  # shared home phone
    assert _ids(api.patients(phone_number="+1 312 555 0199")) == {_nid(twin), _nid(sibling)}
    assert _ids(api.patients(date_of_birth="1992-04-30")) == {_nid(twin), _nid(sibling)}
    assert _ids(api.patients(foreign_id=twin.chart_number)) == {_nid(twin)}
    assert api.patients(phone_number="no digits") == []
    _assert_error(api.get("/patients", date_of_birth="30/04/1992"), 400, ["date_of_birth must be a date (YYYY-MM-DD)"])


def test_empty_search_parameter_means_not_given(api: Api) -> None:
    assert len(api.patients(name="", email=" ")) == len(LIVE)


def _names(rows: list[dict[str, Any]]) -> set[str]:
    return {r["name"] for r in rows}


def test_fuzzy_name_accents_case_and_full_name(api: Api) -> None:
    jose = _nid(_awk("accented_name"))
    assert jose in _ids(api.patients(name="jose garcia"))
    assert jose in _ids(api.patients(name="GARCIA JOSÉ"))  # word order does not matter
    assert _nid(_awk("unicode_name")) in _ids(api.patients(name="zoe muller"))
    garcias = api.patients(name="garcia")
    assert len(garcias) == 13 and all(r["last_name"] in ("Garcia", "García") for r in garcias)
    ming = api.patients(name="Ming")  # a preferred name; King and others are one typo away
    assert _nid(_awk("cjk_name")) in _ids(ming) and "King" in {r["last_name"] for r in ming}
    assert api.patients(name="Ming Wang") == []  # every query word must match, and 王 is not "wang"
    assert _nid(_awk("cjk_name")) in _ids(api.patients(name="王"))
    assert _nid(_awk("no_contact")) in _ids(api.patients(name="bill campbell"))  # preferred William
    assert _nid(_awk("apostrophe_hyphen")) in _ids(api.patients(name="O'Brien"))
    assert _nid(_awk("apostrophe_hyphen")) in _ids(api.patients(name="obrien-nguyen"))


def test_fuzzy_name_typos(api: Api) -> None:
    zoe = _nid(_awk("unicode_name"))
    assert zoe in _ids(api.patients(name="Zoe Mueller"))  # one insertion
    assert zoe in _ids(api.patients(name="Zoe Mulker"))  # one substitution
    assert zoe in _ids(api.patients(name="Zoe Mluler"))  # two adjacent letters swapped
    assert zoe not in _ids(api.patients(name="Zoe Mlkker"))  # two typos
    okonkwos = {_nid(_awk("twin")), _nid(_awk("twin_sibling"))}
    assert _ids(api.patients(name="Okonkow")) == okonkwos
    assert _ids(api.patients(name="Chidi Okonkwoo")) == {_nid(_awk("twin"))}
    assert _awk("accented_name").id + PATIENT_ID_OFFSET not in _ids(api.patients(name="Jse"))  # < 4: no typos


def test_fuzzy_name_prefixes(api: Api) -> None:
    smiths = api.patients(name="Smi")
    assert {"Smith", "Smithson", "Smithers"} <= {r["last_name"] for r in smiths}
    assert all(r["last_name"].startswith("Smi") or r["first_name"].startswith("Smi") for r in smiths)
    # "smithe": a prefix of Smithers, one deletion from Smith, too far from Smithson
    assert {r["last_name"] for r in api.patients(name="smithe")} == {"Smith", "Smithers"}
    assert _nid(_awk("accented_name")) in _ids(api.patients(name="jo garc"))
    assert api.patients(name="--") == []


def test_location_strict(api: Api) -> None:
    main = api.patients(location_strict="true")
    assert _ids(main) == {_nid(p) for p in LIVE if p.location_id == 1}
    other = api.patients(location_strict="true", location_id=OTHER_LOCATION_ID)
    assert _ids(other) == {_nid(p) for p in LIVE if p.location_id in (2, 3)}
    assert all(r["location_ids"] == [OTHER_LOCATION_ID] for r in other)
    assert len(api.patients(location_strict="false")) == len(LIVE) == len(main) + len(other)
    zoe = _awk("unicode_name")  # at location 1
    assert api.patients(location_strict="true", location_id=OTHER_LOCATION_ID, name="Zoe Muller") == []
    assert _nid(zoe) in _ids(api.patients(location_strict="false", location_id=OTHER_LOCATION_ID, name="Zoe Muller"))


def test_paging_and_count(api: Api) -> None:
    first = api.ok("/patients")
    assert len(first["data"]["patients"]) == 5 and first["count"] == len(LIVE)  # default per_page 5
    seen: list[int] = []
    page = 1
    while True:
        body = api.ok("/patients", page=page, per_page=7)
        assert body["count"] == len(LIVE)
        rows = body["data"]["patients"]
        if not rows:
            break
        seen += [r["id"] for r in rows]
        page += 1
    assert seen == sorted(_nid(p) for p in LIVE)  # ordered by id, complete, no repeats
    assert page == -(-len(LIVE) // 7) + 1
    smiths = api.ok("/patients", name="smith", per_page=2, page=2)
    assert len(smiths["data"]["patients"]) == 2 and smiths["count"] > 4
    assert len(api.ok("/patients", per_page=5000)["data"]["patients"]) == len(LIVE)  # capped at 1000
    assert len(api.ok("/patients", per_page="abc", page="0")["data"]["patients"]) == 5


# --------------------------------------------------------------------------- appointments


def _truth(location: int, start: datetime, end: datetime, cancelled: bool = False) -> list[tuple[Patient, Encounter]]:
    rows = [
        (p, e) for p in LIVE for e in p.encounters
        if location_id_of(e.location_id) == location and start <= e.start <= end
        and (cancelled or e.status != "cancelled")
    ]  # fmt: skip
    rows.sort(key=lambda pe: (pe[1].start, pe[1].id))
    return rows


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": start.isoformat().replace("+00:00", "Z"), "end": end.isoformat().replace("+00:00", "+0000")}


def test_appointments_window_and_statuses(api: Api) -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC)
    body = api.ok("/appointments", per_page=1000, **_window(start, end))
    assert set(body) == {"code", "description", "error", "data", "count"}
    truth = _truth(MAIN_LOCATION_ID, start, end)
    assert [a["id"] for a in body["data"]] == [e.id + APPOINTMENT_ID_OFFSET for _, e in truth]
    assert body["count"] == len(truth)
    assert {e.status for _, e in truth} == {"finished", "planned"}
    by_id = {e.id + APPOINTMENT_ID_OFFSET: (p, e) for p, e in truth}
    for a in body["data"]:
        p, e = by_id[a["id"]]
        assert a["patient_id"] == _nid(p) and a["provider_id"] == e.provider_id + PROVIDER_ID_OFFSET
        assert a["location_id"] == MAIN_LOCATION_ID and a["cancelled"] is False
        assert MS.fullmatch(a["start_time"]) and a["start_time"].startswith(e.start.strftime("%Y-%m-%dT%H:%M"))
        assert a["confirmed"] is (e.status == "finished" or e.id % 2 == 0)
        assert a["note"] == e.reason and a["timezone"] == CLINIC.timezone
        assert (a["checkin_at"] is not None) is (e.status == "finished")
    with_cancelled = api.ok("/appointments", per_page=1000, cancelled="true", **_window(start, end))
    truth_all = _truth(MAIN_LOCATION_ID, start, end, cancelled=True)
    assert [a["id"] for a in with_cancelled["data"]] == [e.id + APPOINTMENT_ID_OFFSET for _, e in truth_all]
    cancelled = [a for a in with_cancelled["data"] if a["cancelled"]]
    assert cancelled and all(a["end_time"] is None and a["confirmed"] is False for a in cancelled)


def test_appointment_window_is_inclusive(api: Api) -> None:
    _, e = _truth(MAIN_LOCATION_ID, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))[0]
    body = api.ok("/appointments", **_window(e.start, e.start))
    assert [a["id"] for a in body["data"]] == [e.id + APPOINTMENT_ID_OFFSET]
    later = api.ok("/appointments", **_window(e.start + timedelta(seconds=1), e.start + timedelta(minutes=1)))
    assert e.id + APPOINTMENT_ID_OFFSET not in [a["id"] for a in later["data"]]


def test_in_progress_appointment(api: Api) -> None:
    p = _awk("in_progress_encounter")
    e = next(e for e in p.encounters if e.status == "arrived")
    location = location_id_of(e.location_id)
    day = datetime.combine(CLINIC.today, datetime.min.time(), UTC)
    body = api.ok("/appointments", location_id=location, patient_id=_nid(p), **_window(day, day + timedelta(days=1)))
    (a,) = body["data"]
    assert a["id"] == e.id + APPOINTMENT_ID_OFFSET
    assert a["confirmed"] is True and a["end_time"] is None and a["checkin_at"] == a["start_time"]


def test_appointment_filters_and_includes(api: Api) -> None:
    jose = _awk("accented_name")
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    body = api.ok("/appointments", patient_id=_nid(jose), per_page=100, **_window(start, end))
    expected = [e.id + APPOINTMENT_ID_OFFSET for p, e in _truth(MAIN_LOCATION_ID, start, end) if p.id == jose.id]
    assert [a["id"] for a in body["data"]] == expected and expected
    body = api.ok("/appointments", patient_id=_nid(jose), per_page=1, **{"include[]": ["patient", "appointment_type",
                  "procedures"]}, **_window(start, end))  # fmt: skip
    (a,) = body["data"]
    assert body["count"] == len(expected)
    assert a["patient"]["id"] == _nid(jose) and a["appointment_type"]["id"] == a["appointment_type_id"]
    first = min((e for e in jose.encounters if location_id_of(e.location_id) == MAIN_LOCATION_ID),
                key=lambda e: e.start)  # fmt: skip
    assert a["appointment_type"]["name"] == first.type_text
    assert body["description"] == ["Ignored unknown include: procedures"]
    provider = PROVIDER_ID_OFFSET + 3
    rows = api.ok("/appointments", provider_id=provider, per_page=1000, **_window(start, end))["data"]
    assert rows and all(r["provider_id"] == provider for r in rows)


def test_appointment_parameter_errors(api: Api) -> None:
    _assert_error(
        api.get("/appointments"), 400, ["Missing required parameter: start", "Missing required parameter: end"]
    )
    _assert_error(api.get("/appointments", start="yesterday", end="2026-01-01"), 400,
                  ["start must be an ISO 8601 date-time"])  # fmt: skip
    _assert_error(api.get("/appointments", start="2026-02-01", end="2026-01-01"), 400, ["end must not be before start"])
    _assert_error(api.get("/appointments", start="2026-01-01", end="2026-02-01", patient_id="x"), 400,
                  ["patient_id must be an integer"])  # fmt: skip


def test_one_appointment(api: Api) -> None:
    p = _awk("twin")
    e = p.encounters[0]
    r = api.call("GET", f"/appointments/{e.id + APPOINTMENT_ID_OFFSET}", params={"subdomain": SUB})
    body = r.json()
    assert r.status_code == 200 and body["description"] == []
    assert body["data"]["appointment"]["patient_id"] == _nid(p)
    r = api.call("GET", "/appointments/1", params={"subdomain": SUB})
    _assert_error(r, 404, ["Appointment not found"])


def test_upcoming_appts_match_the_appointments(api: Api) -> None:
    zoe = _awk("unicode_name")
    patient = api.ok(f"/patients/{_nid(zoe)}", include_upcoming_appts="true")["data"]["patient"]
    planned = [e for e in zoe.encounters if e.status == "planned"]
    assert [u["id"] for u in patient["upcoming_appts"]] == [e.id + APPOINTMENT_ID_OFFSET for e in planned]
    window = _window(datetime.combine(CLINIC.today, datetime.min.time(), UTC), datetime(2028, 1, 1, tzinfo=UTC))
    appts = api.ok("/appointments", patient_id=_nid(zoe), location_id=location_id_of(planned[0].location_id),
                   **window)["data"]  # fmt: skip
    for upcoming in patient["upcoming_appts"]:
        (full,) = [a for a in appts if a["id"] == upcoming["id"]]
        assert upcoming == {k: full[k] for k in upcoming}
        assert set(upcoming) == {"id", "provider_id", "provider_name", "start_time", "end_time", "location_id",
                                 "confirmed"}  # fmt: skip
    listed = api.ok("/patients", foreign_id=zoe.chart_number, include_upcoming_appts="true")["data"]["patients"]
    assert listed[0]["upcoming_appts"] == patient["upcoming_appts"]
    assert "upcoming_appts" not in api.ok("/patients", foreign_id=zoe.chart_number)["data"]["patients"][0]
    past_only = api.ok(f"/patients/{_nid(_awk('accented_name'))}", include_upcoming_appts="true")["data"]["patient"]
    assert past_only["upcoming_appts"] == []


# --------------------------------------------------------------------------- providers


def test_providers(api: Api) -> None:
    body = api.ok("/providers", per_page=100)
    assert body["count"] == len(CLINIC.providers)
    assert [p["id"] for p in body["data"]] == [p.id + PROVIDER_ID_OFFSET for p in CLINIC.providers]
    first = body["data"][0]
    assert first["name"] == "Maria Alvarez" and first["display_name"] == "Dr. Maria Alvarez"
    assert body["data"][2]["display_name"] == "Priya Raman"  # a hygienist
    assert len(api.ok("/providers", per_page=1)["data"]) == 1


# --------------------------------------------------------------------------- create


def test_create_patient() -> None:
    clock = Clock(T0 + 0.25)
    api = _app(clock)
    r = api.create(_new_patient(), location_id=OTHER_LOCATION_ID)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["code"] is True and body["error"] == [] and "count" not in body
    p = body["data"]["patient"]
    assert p["id"] == max(_nid(q) for q in CLINIC.patients) + 1
    assert p["foreign_id_type"] == "nex" and p["foreign_id"] is None
    assert p["created_at"] == p["updated_at"] == "2026-11-01T12:00:00.250Z"
    assert p["bio"] == {
        "date_of_birth": "1990-05-17", "phone_number": "3125559876", "gender": "Female", "street_address": None,
        "city": None, "state": None, "zip_code": None, "cell_phone_number": None, "home_phone_number": None,
        "new_patient": True, "non_patient": False,
    }  # fmt: skip
    assert p["location_ids"] == [OTHER_LOCATION_ID] and p["name"] == "Ada Quintrell"
    assert api.ok(f"/patients/{p['id']}")["data"]["patient"] == p
    assert [r["id"] for r in api.patients(name="Quintrel")] == [p["id"]]  # searchable at once, fuzzily
    assert [r["id"] for r in api.patients(phone_number="312-555-9876")] == [p["id"]]
    assert api.patients(location_strict="true", name="Quintrell") == []  # created at 102
    assert len(api.patients()) == len(LIVE) + 1


def test_create_formats_input() -> None:
    api = _app()
    r = api.create(_new_patient(first_name="  Ada ", bio={"phone_number": "+1 (312) 555-9876"}))
    assert r.status_code == 201, r.text
    p = r.json()["data"]["patient"]
    assert p["first_name"] == "Ada" and p["bio"]["phone_number"] == "3125559876"


def test_create_lists_every_missing_field(api: Api) -> None:
    r = api.create({"patient": {"first_name": " ", "bio": {"gender": "Male"}}})
    _assert_error(
        r,
        400,
        [
            "provider.provider_id is required",
            "patient.first_name is required",
            "patient.last_name is required",
            "patient.email is required",
            "patient.bio.date_of_birth is required",
            "patient.bio.phone_number is required",
        ],
    )
    _assert_error(api.create([1, 2]), 400, ["Request body must be a JSON object"])
    r = api.call("POST", "/patients", params=SCOPE, content=b"{not json", headers={"Content-Type": "application/json"})
    _assert_error(r, 400, ["Request body must be a JSON object"])


def test_create_validates_formats(api: Api) -> None:
    body = _new_patient(email="not-an-email", bio={"phone_number": "555-12", "date_of_birth": "17/05/1990",
                                                   "gender": "female"})  # fmt: skip
    body["provider"]["provider_id"] = "abc"
    _assert_error(
        api.create(body),
        400,
        [
            "provider.provider_id must be an integer",
            "patient.email is invalid",
            "patient.bio.phone_number must be a 10-digit phone number",
            "patient.bio.date_of_birth must be a date (YYYY-MM-DD)",
            "patient.bio.gender must be one of Male, Female, Other",
        ],
    )
    body = _new_patient()
    body["provider"]["provider_id"] = 999
    _assert_error(api.create(body), 400, ["Provider not found"])
    _assert_error(api.create(_new_patient(), location_id=5), 404, ["Location not found"])


@pytest.mark.parametrize("rule", ["email", "phone", "home_phone", "name_and_dob"])
def test_create_refuses_duplicates(rule: str) -> None:
    api = _app()
    twin = _awk("twin")
    assert twin.email and twin.birth_date and twin.home_phone
    overrides: dict[str, dict[str, Any]] = {
        "email": {"email": twin.email.upper()},
        "phone": {"bio": {"phone_number": twin.mobile_phone}},
        "home_phone": {"bio": {"phone_number": twin.home_phone}},
        "name_and_dob": {"first_name": "CHIDI", "last_name": "okonkwo",
                         "bio": {"date_of_birth": twin.birth_date.isoformat()}},
    }  # fmt: skip
    _assert_error(api.create(_new_patient(**overrides[rule])), 400, ["A patient with that information already exists."])
    assert len(api.patients()) == len(LIVE)


def test_create_name_alone_or_dob_alone_is_not_a_duplicate() -> None:
    api = _app()
    twin = _awk("twin")
    assert twin.birth_date is not None
    assert api.create(_new_patient(first_name="Chidi", last_name="Okonkwo")).status_code == 201
    second = _new_patient(email="x@example.org", bio={"phone_number": "3125550000",
                          "date_of_birth": twin.birth_date.isoformat()})  # fmt: skip
    assert api.create(second).status_code == 201
    again = _new_patient(email="y@example.org", bio={"phone_number": "3125550001",
                         "date_of_birth": twin.birth_date.isoformat()})  # fmt: skip
    _assert_error(api.create(again), 400, ["A patient with that information already exists."])  # name + dob


def test_created_patients_are_checked_for_duplicates_too() -> None:
    api = _app()
    assert api.create(_new_patient()).status_code == 201
    _assert_error(api.create(_new_patient(first_name="Other", last_name="Person", bio={"phone_number": "3125550002"})),
                  400, ["A patient with that information already exists."])  # same email  # fmt: skip
