"""What the Nextech simulator's tests share: the app under a fixed clock, a synchronous client, helpers."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette

from sandboxes.clinic import Encounter, Patient, build_clinic
from sandboxes.nextech.app import PRACTICE_HEADER, create_app
from tests.support.asgi import SyncAsgi
from tests.support.clock import SetClock

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


class Clock(SetClock[float]):
    def __init__(self, now: float = T0) -> None:
        super().__init__(now)


class Api(SyncAsgi):
    """The app with Nextech's OAuth dance, a bearer token fetched once and the practice header."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, HOST)
        self._access: str | None = None

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


def make_api(clock: Clock | None = None, **kw: Any) -> Api:
    kw.setdefault("redirect_uris", (REGISTERED,))
    app = create_app(CLINIC, client_id=CLIENT, client_secret=SECRET, practice_id=PRACTICE, clock=clock or Clock(), **kw)
    return Api(app)


def awkward(case: str) -> Patient:
    return CLINIC.awkward_patient(case)


def assert_oauth_error(r: httpx.Response, status: int, error: str, code: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert body["error_uri"].endswith(f"code={code}")


def assert_api_error(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["Message"] == message


def chart_encounters(p: Patient) -> list[Encounter]:
    return sorted((e for e in p.encounters if e.status in CHART_STATUSES), key=lambda e: (e.start, e.id))


def ids_of(rows: list[dict[str, Any]]) -> set[int]:
    return {r["patientId"] for r in rows}


def section_names(ccd: str) -> list[str]:
    return re.findall(r'<div class="section" data-section="([^"]+)">', ccd)
