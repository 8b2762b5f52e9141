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
from bench.servers import CACHED_TENANT, NEXHEALTH, NEXHEALTH_TENANT, TENANT, WORKERS, Server

N_PATIENTS = 32
OBSERVATION_COUNT = 20
OBSERVATION_COUNT_LARGE = 100  # the many-vitals patient has more Observations than this
WIDE_CONNECTIONS = 128
XML = (("Accept", "application/xml"),)
PROXY_AND_GATEWAY = (("proxy", "proxy"), ("gateway", "gateway"))
MEMORY_REQUESTS = 100_000  # per step of the memory kind: RSS read after 100k and after 200k


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
    # (label in results, server name): the baseline first, then the measured side, which is
    # always labelled "gateway"; the ratios are measured / baseline
    sides: tuple[tuple[str, str], ...] = PROXY_AND_GATEWAY
    mode: str = "compare"  # compare: rounds of req/s and latency; memory: bench.measure.memory
    # After the rounds, one more run of the gateway at N connections through bench.loadgen,
    # which waits for the answer to every request it sent (wrk drops those in flight when it
    # stops): the goal of no failed request at 128 connections counts its failures too.
    every_answer: bool = False
    default: bool = True  # measured when --kinds does not name any (memory: only when named, it is slow)

    @property
    def baseline(self) -> str:
        return self.sides[0][0]


@dataclass(frozen=True)
class Workload:
    kinds: list[Kind]
    patient_ids: list[str]
    many_vitals: str
    richest: str


def _records(patient: Any) -> int:
    """How much a patient's chart holds: its records of every kind a CCD renders."""
    return (
        len(patient.allergies)
        + len(patient.medications)
        + len(patient.vitals)
        + len(patient.problems)
        + len(patient.encounters)
    )


def workload() -> Workload:
    """The request kinds over real clinic patients."""
    from sandboxes.clinic import build_clinic

    clinic = build_clinic()
    live = [p for p in clinic.patients if not p.deleted]
    ids = [str(p.uuid) for p in live][:N_PATIENTS]
    vitals = str(clinic.awkward_patient("many_vitals").uuid)
    richest = max(live, key=_records)  # an awkward case: many times the vital-signs readings of anyone else
    awkward = {patient_id for _, patient_id in clinic.awkward}
    typical = max((p for p in live if p.id not in awkward), key=_records)  # the richest ordinary chart
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
             tuple(f"/fhir/{TENANT}/Patient/{pid}" for pid in ids), connections=WIDE_CONNECTIONS, expect="patient",
             every_answer=True),
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
        Kind("ccd_typical", "Binary/ccd-p.<richest ordinary patient> (C-CDA XML)",
             (f"/fhir/{TENANT}/Binary/ccd-p.{typical.uuid}",), headers=XML, expect="xml"),
        Kind("patient_read_cached", f"Patient/{{id}} on tenant {CACHED_TENANT}, response cache on (all hits)",
             tuple(f"/fhir/{CACHED_TENANT}/Patient/{pid}" for pid in ids), expect="patient"),
        Kind("patient_read_2w", f"Patient/{{id}}: `serve --workers {WORKERS}` vs `--workers 1` (both on Redis)",
             tuple(f"/fhir/{TENANT}/Patient/{pid}" for pid in ids), expect="patient",
             sides=(("one_worker", "gateway_1w"), ("gateway", "gateway_2w"))),
    ]  # fmt: skip
    kinds.append(
        Kind("memory", "RSS of the gateway after N and 2N mixed requests",
             mixed(kinds), sides=(("gateway", "gateway"),), mode="memory", default=False)
    )  # fmt: skip
    return Workload(kinds, ids, vitals, str(richest.uuid))


# The memory kind's mix, per 200 requests: mostly reads, as a clinic's traffic is, and a few
# of every heavier kind (light enough that 200k requests take minutes, not a quarter of an hour).
MIX = {
    "patient_read": 160,
    "patient_read_cached": 16,
    "observation_search": 14,
    "observation_search_100": 2,
    "nexhealth_search_narrowed": 3,
    "nexhealth_search_walk": 1,
    "everything": 2,
    "ccd_html": 2,
}


def mixed(kinds: list[Kind]) -> tuple[str, ...]:
    """Gateway paths in the proportions of MIX, interleaved, each kind cycling over its own."""
    by_key = {k.key: k for k in kinds}
    slots: list[tuple[float, str]] = []
    for key, share in MIX.items():
        paths = by_key[key].paths
        slots += [((i + 0.5) / share, paths[i % len(paths)]) for i in range(share)]
    return tuple(path for _, path in sorted(slots))


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


async def validate(servers: dict[str, Server], kinds: list[Kind]) -> dict[str, dict[str, int]]:
    """Check that both sides of each kind answer with the expected shape; return body sizes (and,
    for Bundles, `entries`: how many the gateway's answer holds). The memory kind's paths are
    other kinds' (checked with those)."""
    sizes: dict[str, dict[str, int]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def get(server: Server, kind: Kind, path: str) -> bytes:
            async with session.get(server.url + path, headers=dict(kind.headers)) as response:
                body = await response.read()
                if response.status != 200:
                    raise SetupError(f"{server.name} GET {path}: HTTP {response.status}: {body[:300]!r}")
                return body

        for kind in kinds:
            if kind.mode != "compare":
                continue
            (base_label, base_name), (_, name) = kind.sides
            for path in kind.paths:
                g, p = await get(servers[name], kind, path), await get(servers[base_name], kind, path)
                entries = _check_gateway(kind, path, g)
                if base_label != "proxy":  # another gateway: the same checks
                    _check_gateway(kind, path, p)
                elif kind.expect == "patient" and json.loads(p).get("id") != path.rsplit("/", 1)[1]:
                    raise SetupError(f"proxy {path}: not the vendor record of the patient")
                if kind.key == "observation_search" and len(json.loads(p).get("items") or []) != OBSERVATION_COUNT:
                    raise SetupError(f"proxy {path}: not {OBSERVATION_COUNT} vendor readings")
                sizes.setdefault(kind.key, {"gateway": len(g), base_label: len(p)})
                if entries:
                    sizes[kind.key]["entries"] = entries
    return sizes
