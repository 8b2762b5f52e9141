"""What a Dental PMS create answered with a replayed first answer stands for: the patient it
made, unless that patient was renamed or deleted since (then a new create is sent), and never
a new create for a version bumped alone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson

from gateway.contract import Drift, TenantContext
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.reader import Reader, VendorRecord
from mappings.dentalpms.search_length import ShortestSearch
from mappings.dentalpms.writes import PatientWrites

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
GOLDEN = Path(__file__).parents[3] / "golden" / "dentalpms" / "patient" / "minimal.input.json"
RECORD: VendorRecord = json.loads(GOLDEN.read_text())["record"]
SENT = {"resourceType": "Patient", "name": [{"family": RECORD["last_name"], "given": [RECORD["first_name"]]}]}


class Vendor:
    """Every POST answers `answered`; a read finds the record as `now` says, by id."""

    def __init__(self, answered: VendorRecord, now: dict[str, VendorRecord]) -> None:
        self.answered, self.now = answered, now
        self.keys: list[str] = []

    async def record(self, resource_id: str) -> VendorRecord:
        return self.now[resource_id]

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        assert (method, path) == ("POST", "/patients")
        self.keys.append(headers["Idempotency-Key"])
        answer = self.answered if len(self.keys) == 1 else {**self.answered, "id": NEW["id"], "version": 1}
        return UpstreamResponse(201, {}, orjson.dumps(answer))


NEW: VendorRecord = {**RECORD, "id": "0b5b6f7e-2c1d-4e5f-8a9b-0c1d2e3f4a5b", "version": 1}


def _create(vendor: Vendor) -> Any:
    writes = PatientWrites(vendor, CTX, Reader(Drift()), vendor.record, ShortestSearch())  # type: ignore[arg-type]
    return asyncio.run(writes.create(SENT))


def test_a_version_bumped_alone_is_the_patient_made() -> None:
    # A vendor bumping the version on create (or a phone edited before a retry) is no rename.
    vendor = Vendor({**RECORD, "version": 1}, {RECORD["id"]: {**RECORD, "version": 2}})
    assert _create(vendor).resource["id"] == RECORD["id"] and len(vendor.keys) == 1


def test_a_replay_of_a_patient_renamed_since_is_a_new_create() -> None:
    renamed = {**RECORD, "first_name": "Adam", "version": 2}
    vendor = Vendor({**RECORD, "version": 1}, {RECORD["id"]: renamed, NEW["id"]: NEW})
    assert _create(vendor).resource["id"] == NEW["id"]
    assert len(vendor.keys) == 2 and vendor.keys[0] != vendor.keys[1]  # salted
