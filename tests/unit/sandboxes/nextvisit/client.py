"""The Nextvisit simulator under test: the clinic, credentials and a synchronous client."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette

from sandboxes.clinic import Patient, build_clinic
from sandboxes.nextvisit.app import create_app
from tests.support.asgi import SyncAsgi
from tests.support.clock import SetClock

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


class Api(SyncAsgi):
    """The app with a bearer token fetched once (a login) and sent on every call."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, HOST)
        self.token: str | None = None

    def call(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if auth:
            if self.token is None:
                self.token = self.login().json()["token"]
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.request(method, path, headers=headers, **kw)

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


Clock = SetClock[datetime]  # the app's clock says datetimes


def new_api(clock: Callable[[], datetime] = lambda: FIXED_NOW) -> Api:
    return Api(create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=clock))


def awkward(case: str) -> Patient:
    return CLINIC.awkward_patient(case)


def all_rows(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every row of a listing, following ``links.next``."""
    body = api.ok("/v1/patients", per_page=100, **params)
    rows = list(body["data"])
    while body["links"]["next"]:
        body = api.follow(body["links"]["next"])
        rows += body["data"]
    return rows


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def ids_of(rows: list[dict[str, Any]]) -> set[int]:
    return {d["id"] for d in rows}


def search(api: Api, query: str, **params: Any) -> dict[str, Any]:
    return api.ok("/v1/patients/search", query=query, **params)  # type: ignore[no-any-return]
