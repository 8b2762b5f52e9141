"""The baseline: a raw passthrough proxy with zero mapping, which the gateway is measured against.

Starlette + one shared aiohttp `ClientSession` with keep-alive, in front of the same Dental
PMS sandbox as the gateway. The gateway calls vendors through the same kind of session, and
the baseline must too: the vendor HTTP client sets the ceiling (aiohttp measured ~8x cheaper
per request than httpx under concurrency). It forwards the two request kinds the benchmark
sends and returns the vendor's bytes as they are:

- `GET /fhir/dentalpms/Patient/{id}` → `GET {base}/{org}/patients/{id}`
- `GET /fhir/dentalpms/Observation?patient=X&_count=N` →
  `GET {base}/{org}/patients/X/vital-signs?page=1&page_size=N`

What it costs per request is what any proxy in this stack costs (uvicorn + Starlette routing
+ an aiohttp vendor call); what the gateway costs above it is the price of being FHIR.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_app(vendor_base: str, org_id: str, api_token: str, max_connections: int = 64) -> Starlette:
    """`vendor_base` is the sandbox's API root, e.g. `http://127.0.0.1:PORT/api/v1`."""
    root = f"{vendor_base.rstrip('/')}/{org_id}"
    headers = {"Authorization": f"Bearer {api_token}", "Accept": "application/json"}
    session: aiohttp.ClientSession | None = None

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

    async def forward(url: str, params: dict[str, str | int] | None = None) -> Response:
        assert session is not None
        async with session.get(url, params=params) as upstream:
            body = await upstream.read()
            return Response(body, status_code=upstream.status, media_type="application/json")

    async def patient(request: Request) -> Response:
        return await forward(f"{root}/patients/{request.path_params['id']}")

    async def observations(request: Request) -> Response:
        query = request.query_params
        patient_id = query.get("patient", "")
        count = int(query.get("_count", "20"))
        return await forward(f"{root}/patients/{patient_id}/vital-signs", {"page": 1, "page_size": count})

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/fhir/dentalpms/Patient/{id}", patient, methods=["GET"]),
            Route("/fhir/dentalpms/Observation", observations, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
