"""In-process timings of the gateway's per-request CPU work, on real sandbox payloads.

    .venv/bin/python -m bench.micro

No servers and no profiler: each step one of the two benchmark requests goes through is
timed on its own (best of several repeats, µs per request), so a fix in one mapping function
can be checked in seconds, and the numbers add up to roughly what `bench.run` reports as the
gateway's extra CPU per request. A step whose code has moved is reported as `n/a`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/micro.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

ORG_ID, TOKEN, COUNT = "bench-org", "bench-token", 20


def timed(fn: Callable[[], Any], budget: float = 0.15, repeats: int = 5) -> float:
    """Best-of-`repeats` µs per call of `fn`."""
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < budget / repeats:
        fn()
        n += 1
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def payloads() -> tuple[bytes, bytes, str, str]:
    """(patient record, vital-signs page of 20, patient id, many-vitals patient id) from the sandbox."""
    import asyncio

    import httpx

    from sandboxes.clinic import build_clinic
    from sandboxes.dentalpms.app import create_app

    clinic = build_clinic()
    pid = str(next(p for p in clinic.patients if not p.deleted).uuid)
    vid = str(clinic.awkward_patient("many_vitals").uuid)

    async def fetch() -> tuple[bytes, bytes]:
        transport = httpx.ASGITransport(app=create_app(clinic, org_id=ORG_ID, api_token=TOKEN))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=headers) as client:
            patient = await client.get(f"/api/v1/{ORG_ID}/patients/{pid}")
            vitals = await client.get(
                f"/api/v1/{ORG_ID}/patients/{vid}/vital-signs", params={"page": 1, "page_size": COUNT}
            )
        patient.raise_for_status()
        vitals.raise_for_status()
        return patient.content, vitals.content

    patient_raw, vitals_raw = asyncio.run(fetch())
    return patient_raw, vitals_raw, pid, vid


def main() -> int:
    from gateway.contract import TenantContext

    patient_raw, vitals_raw, pid, vid = payloads()
    ctx = TenantContext(tenant="dentalpms", identifier_system="urn:fhir-gateway:dentalpms", timezone="America/Chicago")
    rows: list[tuple[str, str, float | None, str]] = []

    def step(kind: str, name: str, build: Callable[[], Callable[[], Any]], note: str = "") -> None:
        try:
            fn = build()
            fn()
            rows.append((kind, name, timed(fn), note))
        except Exception as exc:  # the code under test moved or changed shape
            rows.append((kind, name, None, f"n/a: {type(exc).__name__}: {exc}"[:90]))

    # ---- Patient/{id}
    from gateway import jsonio

    record = orjson.loads(patient_raw)

    def patient_to_fhir() -> Callable[[], Any]:
        from mappings.dentalpms.patient import patient_to_fhir as f

        return lambda: f(record, ctx)

    def version_headers() -> Callable[[], Any]:
        from gateway.rest.context import version_headers as headers
        from mappings.dentalpms.patient import patient_to_fhir as f

        resource = f(record, ctx)
        return lambda: headers(resource)

    def negotiate() -> Callable[[], Any]:
        from gateway.rest.negotiation import negotiate as f

        return lambda: f(None, "*/*", None)

    def is_uuid() -> Callable[[], Any]:
        from mappings.ids import is_uuid as f

        return lambda: f(pid)

    def dumps_patient() -> Callable[[], Any]:
        from mappings.dentalpms.patient import patient_to_fhir as f

        resource = f(record, ctx)
        return lambda: jsonio.dumps(resource)

    step("Patient", "orjson.loads(vendor record)", lambda: lambda: orjson.loads(patient_raw), f"{len(patient_raw)} B")
    step("Patient", "mappings/dentalpms/patient.py:patient_to_fhir", patient_to_fhir)
    step("Patient", "gateway/rest/context.py:version_headers", version_headers, "ETag + Last-Modified")
    step("Patient", "gateway/rest/negotiation.py:negotiate", negotiate, "Accept: */*")
    step("Patient", "mappings/ids.py:is_uuid", is_uuid)
    step("Patient", "jsonio.dumps(Patient)", dumps_patient)

    # ---- Observation?patient=X&_count=20
    page = orjson.loads(vitals_raw)
    items = page["items"]

    def map_all() -> Callable[[], Any]:
        from mappings.dentalpms.observation import vitals_to_fhir

        return lambda: [o for v in items for o in vitals_to_fhir(v, vid, ctx)]

    def map_needed() -> Callable[[], Any]:
        from mappings.dentalpms.observation import vitals_to_fhir

        def run() -> list[Any]:
            out: list[Any] = []
            for v in items:
                out.extend(vitals_to_fhir(v, vid, ctx))
                if len(out) >= COUNT:
                    break
            return out[:COUNT]

        return run

    def map_lazily() -> Callable[[], Any]:
        from gateway.contract import Drift
        from mappings.dentalpms.adapter import _observations, _SubPage
        from mappings.dentalpms.reader import Reader
        from mappings.dentalpms.vendor import VendorPageList, VendorVitals

        reader = Reader(Drift("bench", "dentalpms"))

        def run() -> Any:  # each request reads its page afresh, as far as the 20 need
            records = reader.lazy_records("vital_signs", VendorVitals, items, lambda vendor_id, index: "a reading")
            return _observations(_SubPage(vid, None, VendorPageList(items=[]), records, []), ctx, 0, 0, COUNT)

        return run

    def read_page() -> Callable[[], Any]:
        from gateway.contract import Drift
        from mappings.dentalpms.reader import Reader
        from mappings.dentalpms.vendor import VendorPageList, VendorVitals

        reader = Reader(Drift("bench", "dentalpms"))

        def run() -> Any:
            listing = reader.one("vital_signs_page", VendorPageList, page, "a page")
            return reader.records("vital_signs", VendorVitals, listing.items, lambda vendor_id, index: "a reading")

        return run

    def pack_uuids() -> Callable[[], Any]:
        from mappings.dentalpms.observation import vitals_to_fhir
        from mappings.ids import pack_uuid

        produced = sum(len(vitals_to_fhir(v, vid, ctx)) for v in items)
        ids = [vid, items[0]["id"]] * produced
        return lambda: [pack_uuid(u) for u in ids]

    def one_pack() -> Callable[[], Any]:
        from mappings.ids import pack_uuid

        return lambda: pack_uuid(vid)

    def local_datetimes() -> Callable[[], Any]:
        from mappings.dentalpms.observation import vitals_to_fhir
        from mappings.fhirjson import instant, local_datetime

        produced = sum(len(vitals_to_fhir(v, vid, ctx)) for v in items)
        v = items[0]
        return lambda: [
            (local_datetime(v["date_taken"], v.get("time_taken"), ctx.timezone), instant(v.get("created_at")),
             instant(v.get("updated_at")))
            for _ in range(produced)
        ]  # fmt: skip

    def parsed() -> Any:
        from gateway.contract.declarations import Interaction, served
        from gateway.search.parse import parse_search
        from mappings.dentalpms.capabilities import OBSERVATION

        # Observation as the Dental PMS provider serves it (read and search): the generic
        # parameters (`_id`, `_lastUpdated`, `patient`/`subject`) come from served().
        support = served(OBSERVATION, frozenset({Interaction.READ, Interaction.SEARCH}))
        return parse_search(
            support, [("patient", vid), ("_count", str(COUNT))], strict=False, default_count=20, max_count=100
        )

    def parse() -> Callable[[], Any]:
        parsed()
        return parsed

    def match() -> Callable[[], Any]:
        from gateway.search.match import matches
        from mappings.dentalpms.observation import vitals_to_fhir

        query = parsed().query
        resources = [o for v in items for o in vitals_to_fhir(v, vid, ctx)][:COUNT]
        return lambda: [matches(r, query) for r in resources]

    def issue_token() -> Callable[[], Any]:
        from gateway.rest.paging import PageTokens
        from gateway.search.execute import PagePosition

        tokens = PageTokens("bench-secret")
        position = PagePosition(2, 0, COUNT, ((None, 0),))
        return lambda: tokens.issue("0123456789abcdef01234567", position)

    def bundle() -> Callable[[], Any]:
        from gateway.rest.bundle import searchset
        from mappings.dentalpms.observation import vitals_to_fhir

        resources = [o for v in items for o in vitals_to_fhir(v, vid, ctx)][:COUNT]
        links = [("self", "http://127.0.0.1/fhir/dentalpms/Observation?patient=x&_count=20")] * 3
        return lambda: jsonio.dumps(
            searchset(base="http://127.0.0.1/fhir/dentalpms", resources=resources, links=links, total=None)
        )

    produced = None
    try:
        from mappings.dentalpms.observation import vitals_to_fhir

        produced = sum(len(vitals_to_fhir(v, vid, ctx)) for v in items)
    except Exception:
        pass
    step("Observation", "orjson.loads(vendor page of 20)", lambda: lambda: orjson.loads(vitals_raw),
         f"{len(vitals_raw)} B")  # fmt: skip
    step("Observation", "vitals_to_fhir x 20 readings (adapter maps all)", map_all,
         f"{produced} Observations made, {COUNT} used")  # fmt: skip
    step("Observation", "  of which: mappings/ids.py:pack_uuid x 2 per Observation", pack_uuids,
         f"{2 * (produced or 0)} calls")  # fmt: skip
    step("Observation", "  of which: fhirjson local_datetime + 2x instant per Observation", local_datetimes)
    step("Observation", "vitals_to_fhir, stopping at 20 Observations", map_needed, "what a lazy mapping would cost")
    step("Observation", "mappings/dentalpms/adapter.py:_observations (need 20)", map_lazily, "read and mapped")
    step("Observation", "mappings/dentalpms/reader.py: envelope + 20 readings", read_page, "pydantic models, drift")
    step("Observation", "mappings/ids.py:pack_uuid, one call", one_pack)
    step("Observation", "gateway/search/parse.py:parse_search", parse)
    step("Observation", "gateway/search/match.py:matches x 20", match)
    step("Observation", "gateway/rest/paging.py:PageTokens.issue (next link)", issue_token)
    step("Observation", "searchset + jsonio.dumps (20 entries)", bundle)

    print(f"{'request':12} {'µs':>8}  step")
    for kind, name, us, note in rows:
        value = f"{us:8.1f}" if us is not None else f"{'':>8}"
        print(f"{kind:12} {value}  {name}{'  — ' + note if note else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
