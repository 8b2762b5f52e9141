"""What the benchmark sends: the request kinds over real clinic patients, checked before measuring.

Every kind is answered by both servers: the proxy (bench.passthrough) makes the vendor calls a
raw proxy would make for it and returns the vendor's bytes; the gateway answers FHIR.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.control import SetupError
from bench.servers import NEXHEALTH, NEXHEALTH_TENANT, TENANT, Server

N_PATIENTS = 32
OBSERVATION_COUNT = 20
OBSERVATION_COUNT_LARGE = 100  # the many-vitals patient has more Observations than this
WIDE_CONNECTIONS = 128
XML = (("Accept", "application/xml"),)


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    paths: tuple[str, ...]  # cycled by the load generator
    connections: int | None = None  # for req/s; None: the run's --connections
    entries: int | None = None  # Bundle entries each gateway answer must hold (None: at least one)
    sandbox: str = "sandbox"  # the vendor simulator behind this kind (its CPU and call counts)
    headers: tuple[tuple[str, str], ...] = ()
    expect: str = "bundle"  # what validate() checks the gateway's answer is: patient|bundle|xml|html
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # facts for the report


@dataclass(frozen=True)
class Workload:
    kinds: list[Kind]
    patient_ids: list[str]
    many_vitals: str
    richest: str


def workload() -> Workload:
    """The request kinds over real clinic patients."""
    from sandboxes.clinic import build_clinic

    clinic = build_clinic()
    live = [p for p in clinic.patients if not p.deleted]
    ids = [str(p.uuid) for p in live][:N_PATIENTS]
    vitals = str(clinic.awkward_patient("many_vitals").uuid)
    richest = max(
        live, key=lambda p: len(p.allergies) + len(p.medications) + len(p.vitals) + len(p.problems) + len(p.encounters)
    )
    # NexHealth ORs its search parameters; FHIR ANDs them (mappings/nexhealth/adapter.py). A
    # family name several patients share, ANDed with one of them's phone or birth date.
    family = Counter(p.last_name for p in live).most_common(1)[0][0]
    chosen = next(p for p in live if p.last_name == family and p.birth_date and (p.mobile_phone or p.home_phone))
    phone = chosen.mobile_phone or chosen.home_phone
    assert chosen.birth_date is not None and phone is not None
    nex = f"/fhir/{NEXHEALTH_TENANT}/Patient"
    obs = f"/fhir/{TENANT}/Observation?patient={vitals}&_count="
    kinds = [
        Kind("patient_read", f"Patient/{{id}} (cycling over {len(ids)} patients)",
             tuple(f"/fhir/{TENANT}/Patient/{pid}" for pid in ids), expect="patient"),
        Kind("patient_read_wide", f"Patient/{{id}} at {WIDE_CONNECTIONS} connections",
             tuple(f"/fhir/{TENANT}/Patient/{pid}" for pid in ids), connections=WIDE_CONNECTIONS, expect="patient"),
        Kind("observation_search", f"Observation?patient=<many_vitals>&_count={OBSERVATION_COUNT}",
             (obs + str(OBSERVATION_COUNT),), entries=OBSERVATION_COUNT),
        Kind("observation_search_100", f"Observation?patient=<many_vitals>&_count={OBSERVATION_COUNT_LARGE}",
             (obs + str(OBSERVATION_COUNT_LARGE),), entries=OBSERVATION_COUNT_LARGE),
        Kind("nexhealth_search_walk", "NexHealth Patient?family=<f>&phone=<p> (no vendor term: the gateway walks)",
             (f"{nex}?family={quote(family)}&phone={phone}",), sandbox=NEXHEALTH),
        Kind("nexhealth_search_narrowed", "NexHealth Patient?family=<f>&birthdate=<d> (date_of_birth sent)",
             (f"{nex}?family={quote(family)}&birthdate={chosen.birth_date.isoformat()}",), sandbox=NEXHEALTH),
        Kind("everything", "Patient/<richest>/$everything", (f"/fhir/{TENANT}/Patient/{richest.uuid}/$everything",),
             expect="bundle"),
        Kind("ccd", "Binary/ccd-p.<richest> (C-CDA XML)", (f"/fhir/{TENANT}/Binary/ccd-p.{richest.uuid}",),
             headers=XML, expect="xml"),
        Kind("ccd_html", "Binary/ccd-p.<richest>?_format=html",
             (f"/fhir/{TENANT}/Binary/ccd-p.{richest.uuid}?_format=html",), expect="html"),
    ]  # fmt: skip
    return Workload(kinds, ids, vitals, str(richest.uuid))


def _check_gateway(kind: Kind, path: str, body: bytes) -> int:
    """Raise unless the gateway's answer is what `kind` expects; return its entries (0: no Bundle)."""
    if kind.expect == "xml":
        if not body.lstrip().startswith(b"<?xml") or b"<ClinicalDocument" not in body:
            raise SetupError(f"gateway {path}: not a CDA document")
        return 0
    if kind.expect == "html":
        if b"<html" not in body[:500].lower():
            raise SetupError(f"gateway {path}: not an HTML page")
        return 0
    answer = json.loads(body)
    if kind.expect == "patient":
        want = path.rsplit("/", 1)[1]
        if answer.get("resourceType") != "Patient" or answer.get("id") != want:
            raise SetupError(f"gateway {path}: not Patient/{want}")
        return 0
    entries = answer.get("entry") or []
    if answer.get("resourceType") != "Bundle":
        raise SetupError(f"gateway {path}: not a Bundle")
    if len(entries) != (kind.entries or len(entries) or 1):
        raise SetupError(f"gateway {path}: a Bundle of {len(entries)} entries, not {kind.entries or 'some'}")
    if any(e["resource"]["resourceType"] == "OperationOutcome" for e in entries):
        raise SetupError(f"gateway {path}: the answer says it is incomplete")
    return len(entries)


async def validate(gateway: Server, proxy: Server, kinds: list[Kind]) -> dict[str, dict[str, int]]:
    """Check that both servers answer each kind with the expected shape; return body sizes (and,
    for Bundles, `entries`: how many the gateway's answer holds)."""
    sizes: dict[str, dict[str, int]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def get(server: Server, kind: Kind, path: str) -> bytes:
            async with session.get(server.url + path, headers=dict(kind.headers)) as response:
                body = await response.read()
                if response.status != 200:
                    raise SetupError(f"{server.name} GET {path}: HTTP {response.status}: {body[:300]!r}")
                return body

        for kind in kinds:
            for path in kind.paths:
                g, p = await get(gateway, kind, path), await get(proxy, kind, path)
                entries = _check_gateway(kind, path, g)
                if kind.key == "patient_read" and json.loads(p).get("id") != path.rsplit("/", 1)[1]:
                    raise SetupError(f"proxy {path}: not the vendor record of the patient")
                if kind.key == "observation_search" and len(json.loads(p).get("items") or []) != OBSERVATION_COUNT:
                    raise SetupError(f"proxy {path}: not {OBSERVATION_COUNT} vendor readings")
                sizes.setdefault(kind.key, {"gateway": len(g), "proxy": len(p)})
                if entries:
                    sizes[kind.key]["entries"] = entries
    return sizes
