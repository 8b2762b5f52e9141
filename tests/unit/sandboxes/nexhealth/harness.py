"""What the NexHealth simulator's tests share: the app under a fixed clock, a synchronous client, helpers."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette

from sandboxes.clinic import Patient, build_clinic
from sandboxes.nexhealth.app import ACCEPT, MAIN_LOCATION_ID, PATIENT_ID_OFFSET, PROVIDER_ID_OFFSET, create_app
from tests.support.asgi import SyncAsgi
from tests.support.clock import SetClock

CLINIC = build_clinic()
KEY = "test-api-key-123"
SUB = "sandbox-dental"
HOST = "http://nexhealth.test"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC).timestamp()  # on a minute boundary
LIVE = [p for p in CLINIC.patients if not p.deleted]
SCOPE: dict[str, Any] = {"subdomain": SUB, "location_id": MAIN_LOCATION_ID}
MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
VERSION_ERROR = "Missing or unsupported API version. Send Accept: application/vnd.Nexhealth+json;version=2"


class Clock(SetClock[float]):
    def __init__(self, now: float = T0) -> None:
        super().__init__(now)


class Api(SyncAsgi):
    """The app with NexHealth's version header, a bearer token fetched once and the default scope."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(app, HOST)
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
        return self.request(method, path, headers=headers, **kw)

    def burst(self, n: int, path: str = "/providers") -> list[httpx.Response]:
        """`n` GETs in one event loop (fast enough to hit the per-second limit for real)."""
        return self.repeat(n, "GET", path, params=SCOPE, headers=self.headers(True, {}))

    def authenticate(self, key: str | None = KEY, accept: str | None = ACCEPT) -> httpx.Response:
        headers = {} if key is None else {"Authorization": key}
        if accept is not None:
            headers["Accept"] = accept
        return self.request("POST", "/authenticates", headers=headers)

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


def make_api(clock: Clock | None = None, **kw: Any) -> Api:
    return Api(create_app(CLINIC, api_key=KEY, subdomain=SUB, clock=clock or Clock(), **kw))


def unlimited_api() -> Api:
    """An app whose rate limits no test reaches (what the module-scoped ``api`` fixtures hold)."""
    return make_api(rate_per_second=10_000, rate_per_minute=100_000)


def nexhealth_id(p: Patient) -> int:
    return p.id + PATIENT_ID_OFFSET


def ids_of(rows: list[dict[str, Any]]) -> set[int]:
    return {r["id"] for r in rows}


def awkward(case: str) -> Patient:
    return CLINIC.awkward_patient(case)


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def part(s: str) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        return out

    header, payload, _ = token.split(".")
    return part(header), part(payload)


def assert_error(r: httpx.Response, status: int, messages: list[str]) -> None:
    assert r.status_code == status, r.text
    assert r.json() == {"code": False, "description": None, "data": None, "error": messages}


def new_patient_body(**over: Any) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Quintrell",
        "email": "ada.quintrell@example.com",
        "bio": {"date_of_birth": "1990-05-17", "phone_number": "3125559876", "gender": "Female"},
    }
    bio = {**patient["bio"], **over.pop("bio", {})}
    return {"provider": {"provider_id": PROVIDER_ID_OFFSET + 1}, "patient": {**patient, **over, "bio": bio}}
