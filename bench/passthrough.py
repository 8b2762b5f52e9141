"""The baseline: a raw passthrough proxy with zero mapping, which the gateway is measured against.

Starlette + one shared aiohttp `ClientSession` with keep-alive, in front of the same sandboxes
as the gateway. The gateway calls vendors through the same kind of session, and the baseline
must too: the vendor HTTP client sets the ceiling (aiohttp measured ~8x cheaper per request
than httpx under concurrency). It answers each request kind the benchmark sends with the vendor
calls a proxy would make for it, and returns the vendor's bytes as they are:

- `GET /fhir/dentalpms/Patient/{id}` → `GET {base}/{org}/patients/{id}` (and the same for
  `/fhir/dentalpms-cached/...`, the gateway's cached tenant: a proxy has no cache)
- `GET /fhir/dentalpms/Observation?patient=X&_count=N` →
  `GET {base}/{org}/patients/X/vital-signs?page=1&page_size=N`
- `GET /fhir/dentalpms/Patient/{id}/$everything` and `GET /fhir/dentalpms/Binary/ccd-p.{id}` →
  the patient and its four lists (allergies, medications, diseases, vital signs; pages of 100),
  concurrently, their bodies joined in one JSON array
- `GET /fhir/nexhealth/Patient?…` → `GET {nexhealth}/patients?subdomain=…&location_id=…&per_page=100`
  (NexHealth ORs its search parameters, so a proxy can only list; its bearer token is fetched
  once, at the first request)

What it costs per request is what any proxy in this stack costs (uvicorn + Starlette routing
+ aiohttp vendor calls); what the gateway costs above it is the price of being FHIR.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

NEXHEALTH_ACCEPT = "application/vnd.Nexhealth+json;version=2"  # its API version header
RECORD_LISTS = ("allergies", "medications", "diseases", "vital-signs")


@dataclass(frozen=True)
class NexHealthVendor:
    base: str  # the NexHealth API root
    api_key: str
    subdomain: str
    location_id: int


def create_app(
    vendor_base: str, org_id: str, api_token: str, max_connections: int = 64, nexhealth: NexHealthVendor | None = None
) -> Starlette:
    """`vendor_base` is the Dental PMS sandbox's API root, e.g. `http://127.0.0.1:PORT/api/v1`."""
    root = f"{vendor_base.rstrip('/')}/{org_id}"
    headers = {"Authorization": f"Bearer {api_token}", "Accept": "application/json"}
    session: aiohttp.ClientSession | None = None
    nexhealth_token: str | None = None
    token_lock = asyncio.Lock()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal session
        # The same pool and timeouts the gateway's UpstreamClient uses (gateway/upstream/http.py).
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30),
            timeout=aiohttp.ClientTimeout(total=20.0, connect=3.0, sock_read=10.0),
            headers=headers,
        )
        try:
            yield
        finally:
            await session.close()

    async def fetch(url: str, params: dict[str, str | int] | None = None) -> tuple[int, bytes]:
        assert session is not None
        async with session.get(url, params=params) as upstream:
            return upstream.status, await upstream.read()

    async def forward(url: str, params: dict[str, str | int] | None = None) -> Response:
        status, body = await fetch(url, params)
        return Response(body, status_code=status, media_type="application/json")

    async def patient(request: Request) -> Response:
        return await forward(f"{root}/patients/{request.path_params['id']}")

    async def observations(request: Request) -> Response:
        query = request.query_params
        patient_id = query.get("patient", "")
        count = int(query.get("_count", "20"))
        return await forward(f"{root}/patients/{patient_id}/vital-signs", {"page": 1, "page_size": count})

    async def record(patient_id: str) -> Response:
        page: dict[str, str | int] = {"page": 1, "page_size": 100}
        answers = await asyncio.gather(
            fetch(f"{root}/patients/{patient_id}"),
            *(fetch(f"{root}/patients/{patient_id}/{name}", page) for name in RECORD_LISTS),
        )
        status = max(s for s, _ in answers)
        body = b"[" + b",".join(b for _, b in answers) + b"]"
        return Response(body, status_code=status, media_type="application/json")

    async def everything(request: Request) -> Response:
        return await record(request.path_params["id"])

    async def binary(request: Request) -> Response:
        name: str = request.path_params["name"]
        return await record(name.removeprefix("ccd-p."))

    async def nexhealth_token_once() -> str:
        nonlocal nexhealth_token
        assert session is not None and nexhealth is not None
        async with token_lock:
            if nexhealth_token is None:
                auth = {"Authorization": nexhealth.api_key, "Accept": NEXHEALTH_ACCEPT}
                async with session.post(f"{nexhealth.base}/authenticates", headers=auth) as answer:
                    nexhealth_token = str((await answer.json(content_type=None))["data"]["token"])
        return nexhealth_token

    async def nexhealth_patients(request: Request) -> Response:
        assert session is not None and nexhealth is not None
        token = nexhealth_token or await nexhealth_token_once()
        params: dict[str, str | int] = {
            "subdomain": nexhealth.subdomain, "location_id": nexhealth.location_id, "page": 1, "per_page": 100,
        }  # fmt: skip
        auth = {"Authorization": f"Bearer {token}", "Accept": NEXHEALTH_ACCEPT}
        async with session.get(f"{nexhealth.base}/patients", params=params, headers=auth) as upstream:
            body = await upstream.read()
            return Response(body, status_code=upstream.status, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    routes = [
        Route("/healthz", health),
        Route("/fhir/dentalpms/Patient/{id}", patient, methods=["GET"]),
        Route("/fhir/dentalpms-cached/Patient/{id}", patient, methods=["GET"]),
        Route("/fhir/dentalpms/Patient/{id}/$everything", everything, methods=["GET"]),
        Route("/fhir/dentalpms/Binary/{name}", binary, methods=["GET"]),
        Route("/fhir/dentalpms/Observation", observations, methods=["GET"]),
    ]
    if nexhealth is not None:
        routes.append(Route("/fhir/nexhealth/Patient", nexhealth_patients, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)
