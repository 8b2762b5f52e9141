"""What the benchmark sends: two request kinds over real clinic patients, checked before measuring."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.control import SetupError
from bench.servers import TENANT, Server

N_PATIENTS = 32
OBSERVATION_COUNT = 20


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    paths: tuple[str, ...]  # cycled by the load generator


def workload() -> tuple[list[Kind], list[str], str]:
    """The two request kinds over real clinic patients: (kinds, patient ids, many-vitals id)."""
    from sandboxes.clinic import build_clinic

    clinic = build_clinic()
    ids = [str(p.uuid) for p in clinic.patients if not p.deleted][:N_PATIENTS]
    vitals = str(clinic.awkward_patient("many_vitals").uuid)
    kinds = [
        Kind("patient_read", f"Patient/{{id}} (cycling over {len(ids)} patients)", tuple(
            f"/fhir/{TENANT}/Patient/{pid}" for pid in ids
        )),
        Kind("observation_search", f"Observation?patient=<many_vitals>&_count={OBSERVATION_COUNT}", (
            f"/fhir/{TENANT}/Observation?patient={vitals}&_count={OBSERVATION_COUNT}",
        )),
    ]  # fmt: skip
    return kinds, ids, vitals


async def validate(gateway: Server, proxy: Server, kinds: list[Kind]) -> dict[str, dict[str, int]]:
    """Check that both servers answer each kind with the expected shape; return body sizes."""
    sizes: dict[str, dict[str, int]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def get(server: Server, path: str) -> tuple[Any, int]:
            async with session.get(server.url + path) as response:
                body = await response.read()
                if response.status != 200:
                    raise SetupError(f"{server.name} GET {path}: HTTP {response.status}: {body[:300]!r}")
                return json.loads(body), len(body)

        for kind in kinds:
            for path in kind.paths:
                g, g_size = await get(gateway, path)
                p, p_size = await get(proxy, path)
                if kind.key == "patient_read":
                    want = path.rsplit("/", 1)[1]
                    if g.get("resourceType") != "Patient" or g.get("id") != want:
                        raise SetupError(f"gateway {path}: not Patient/{want}")
                    if p.get("id") != want:
                        raise SetupError(f"proxy {path}: not the vendor record of {want}")
                else:
                    entries = g.get("entry") or []
                    if g.get("resourceType") != "Bundle" or len(entries) != OBSERVATION_COUNT:
                        raise SetupError(f"gateway {path}: a Bundle of {len(entries)} entries, not {OBSERVATION_COUNT}")
                    if any(e["resource"]["resourceType"] != "Observation" for e in entries):
                        raise SetupError(f"gateway {path}: a Bundle entry is not an Observation")
                    if len(p.get("items") or []) != OBSERVATION_COUNT:
                        raise SetupError(f"proxy {path}: not {OBSERVATION_COUNT} vendor readings")
                sizes.setdefault(kind.key, {"gateway": g_size, "proxy": p_size})
    return sizes
