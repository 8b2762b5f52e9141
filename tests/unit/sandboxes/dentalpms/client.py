"""The Dental PMS simulator under test: the clinic, credentials and a synchronous client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette

from sandboxes.clinic import AWKWARD, Patient, build_clinic
from sandboxes.dentalpms.app import create_app

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


def new_api() -> Api:
    return Api(create_app(CLINIC, org_id=ORG, api_token=TOKEN, clock=lambda: FIXED_NOW))


def awkward(case: str) -> Patient:
    return CLINIC.patient_by_uuid(AWKWARD[case])


def search_ids(api: Api, q: str, path: str = BASE) -> set[str]:
    body = api.ok(path, search=q, page_size=200)
    return {d["id"] for d in body["items"]}


def walk_cursor(api: Api, first: int, **params: Any) -> list[dict[str, Any]]:
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
