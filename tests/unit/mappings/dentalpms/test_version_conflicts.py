"""Updates racing another writer at the Dental PMS: a vendor 409 "Version conflict" on the
PATCH is retried once on the version read again, unless the client named a version."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.contract import Drift, TenantContext
from gateway.errors import Conflict, PreconditionFailed, Throttled, UnsupportedModifier
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.reader import Reader, VendorRecord
from mappings.dentalpms.search_length import ShortestSearch
from mappings.dentalpms.write_base import _own_version
from mappings.dentalpms.writes import PatientWrites

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
GOLDEN = Path(__file__).parents[3] / "golden" / "dentalpms" / "patient" / "minimal.input.json"
RECORD: VendorRecord = json.loads(GOLDEN.read_text())["record"]
PATIENT_ID = RECORD["id"]
CONFLICT = UpstreamResponse(409, {}, b'{"detail": "Version conflict"}')


def _answer(version: int) -> UpstreamResponse:
    return UpstreamResponse(200, {}, orjson.dumps({**RECORD, "last_name": "Lee", "version": version}))


class ScriptedVendor:
    """The record's version as another writer moves it, and the PATCH answers in order."""

    def __init__(self, versions: list[int], answers: list[UpstreamResponse]) -> None:
        self.versions = versions  # what each read of the record finds
        self.answers = answers
        self.patched: list[Any] = []  # the base_version of each PATCH sent

    async def record(self, resource_id: str) -> VendorRecord:
        return {**RECORD, "version": self.versions.pop(0)}

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        assert (method, path) == ("PATCH", f"/patients/{PATIENT_ID}")
        self.patched.append(body["base_version"])
        return self.answers.pop(0)


def _update(vendor: ScriptedVendor, if_match: str | None = None, chart: str | None = None) -> Any:
    writes = PatientWrites(vendor, CTX, Reader(Drift()), vendor.record, ShortestSearch())  # type: ignore[arg-type]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "name": [{"family": "Lee", "given": ["李"]}],
    }
    if chart is not None:
        patient["identifier"] = [{"system": CTX.system("chart-number"), "value": chart}]
    return asyncio.run(writes.update(PATIENT_ID, patient, if_match))


@pytest.mark.parametrize(
    "conflict", [CONFLICT, UpstreamResponse(412, {}, b'{"detail": "Precondition Failed"}')], ids=["409", "412"]
)
def test_a_version_conflict_is_retried_once_on_the_version_read_again(conflict: UpstreamResponse) -> None:
    # 412: a vendor reading its optimistic versions as HTTP preconditions (RFC 9110 15.5.13).
    vendor = ScriptedVendor(versions=[1, 2], answers=[conflict, _answer(3)])
    written = _update(vendor)
    assert vendor.patched == [1, 2]  # the second PATCH is based on the record as it is now
    assert written.resource["meta"]["versionId"] == "3" and written.resource["name"][0]["family"] == "Lee"


def test_a_record_that_keeps_changing_is_a_409_after_the_retry() -> None:
    vendor = ScriptedVendor(versions=[1, 2], answers=[CONFLICT, CONFLICT])
    with pytest.raises(Conflict, match="kept changing") as refused:
        _update(vendor)
    assert refused.value.status == 409 and vendor.patched == [1, 2]


def test_a_conflict_on_the_version_the_client_named_is_a_412_without_a_retry() -> None:
    # The client's If-Match held when read; the vendor saw another write land before the PATCH.
    vendor = ScriptedVendor(versions=[1], answers=[CONFLICT])
    with pytest.raises(PreconditionFailed):
        _update(vendor, if_match="1")
    assert vendor.patched == [1]


def test_a_chart_number_conflict_is_not_retried() -> None:
    taken = UpstreamResponse(409, {}, b'{"detail": "Duplicate chart number"}')
    vendor = ScriptedVendor(versions=[1], answers=[taken])
    with pytest.raises(Conflict, match=r"[Cc]hart number C9"):
        _update(vendor, chart="C9")
    assert vendor.patched == [1]


# Spring Boot's default error body: the reason phrase, never why (a version or a chart number).
SPRING_CONFLICT = UpstreamResponse(
    409, {}, b'{"timestamp": "2026-11-21T12:30:00.000+00:00", "status": 409, "error": "Conflict", "path": "/x"}'
)


def test_a_conflict_that_does_not_say_why_is_a_version_conflict_when_the_version_moved() -> None:
    # Before, who held the chart number sent was looked up first: with a chart number shorter
    # than the vendor's `search` takes, a walk of every patient list, status by status. The
    # scripted vendor answers no list: one read of the record tells.
    vendor = ScriptedVendor(versions=[1, 2], answers=[SPRING_CONFLICT, _answer(3)])
    written = _update(vendor, chart="7")
    assert vendor.patched == [1, 2] and written.resource["meta"]["versionId"] == "3"
    vendor = ScriptedVendor(versions=[1, 2], answers=[SPRING_CONFLICT])
    with pytest.raises(PreconditionFailed):
        _update(vendor, if_match="1", chart="7")


def test_a_conflict_that_does_not_say_why_is_the_chart_number_when_the_version_did_not_move() -> None:
    vendor = ScriptedVendor(versions=[1, 1], answers=[SPRING_CONFLICT])
    with pytest.raises(Conflict, match="Chart number 7") as refused:
        _update(vendor, chart="7")
    assert refused.value.expression == "Patient.identifier" and vendor.patched == [1]


class Lifecycle:
    """A vendor whose status moves only along the reference's transitions, refusing the ones
    in `refused` (422: as one that asks for more than the status, say), and every write once
    `frozen` writes have been taken (409: another writer got there first)."""

    MOVES = frozenset(
        {("prospective", "active"), ("inactive", "active"), ("active", "inactive"), ("active", "deceased")}
    )

    def __init__(self, status: str, refused: set[str], frozen: int | None = None) -> None:
        self.doc = {**RECORD, "status": status, "version": 1}
        self.refused = refused
        self.frozen = frozen
        self.moves: list[str] = []
        self.patches: list[dict[str, Any]] = []

    async def record(self, resource_id: str) -> VendorRecord:
        return dict(self.doc)

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        if self.frozen is not None and len(self.patches) + len(self.moves) >= self.frozen:
            return CONFLICT
        if method == "PATCH":
            assert body["base_version"] == self.doc["version"]
            self.patches.append(body)
            fields = {name: value for name, value in body.items() if name != "base_version"}
            self.doc = {**self.doc, **fields, "version": self.doc["version"] + 1}
            return UpstreamResponse(200, {}, orjson.dumps(self.doc))
        assert (method, path) == ("POST", f"/patients/{PATIENT_ID}/transition-status")
        new = body["new_status"]
        if new in self.refused or (self.doc["status"], new) not in self.MOVES:
            return UpstreamResponse(422, {}, b'{"detail": "Invalid status transition"}')
        self.moves.append(new)
        self.doc = {**self.doc, "status": new, "version": self.doc["version"] + 1}
        return UpstreamResponse(200, {}, orjson.dumps(self.doc))


def _died(vendor: Lifecycle) -> Any:
    writes = PatientWrites(vendor, CTX, Reader(Drift()), vendor.record, ShortestSearch())  # type: ignore[arg-type]
    name = [{"family": "Lee", "given": ["Al"]}]
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "name": name, "active": False, "deceasedBoolean": True}
    return asyncio.run(writes.update(PATIENT_ID, patient, None))


def test_a_transition_refused_midway_takes_the_whole_update_back() -> None:
    """An inactive patient reported dead goes through `active`: a refusal of the second step
    takes the first back, and the PATCH before it (its fields set back as they were, on the
    version the vendor answered). Before, the status stayed and the new name was kept, a 200."""
    vendor = Lifecycle("inactive", refused={"deceased"})
    before = dict(vendor.doc)
    with pytest.raises(UnsupportedModifier, match="nothing was written") as refused:
        _died(vendor)
    assert refused.value.expression == "Patient.deceased"
    assert vendor.moves == ["active", "inactive"] and len(vendor.patches) == 2
    assert {name: vendor.doc[name] for name in ("status", "first_name", "last_name")} == {
        name: before[name] for name in ("status", "first_name", "last_name")
    }


def test_an_update_another_writer_overtook_is_a_conflict_that_overwrites_nothing() -> None:
    """The PATCH is taken, the transition and the PATCH setting the fields back are refused (a
    version conflict: someone else wrote meanwhile). Nothing is overwritten, and the answer is
    a 409 saying part of the update may remain: not a 200 for an update whose `deceased`, a
    modifier, never reached the vendor."""
    vendor = Lifecycle("active", refused=set(), frozen=1)
    with pytest.raises(Conflict, match="part of it may remain: read it and try again"):
        _died(vendor)
    assert vendor.doc["last_name"] == "Lee" and vendor.doc["status"] == "active" and len(vendor.patches) == 1


class Throttling(Lifecycle):
    """Takes the PATCHes, and answers every transition 429 (its request limit reached)."""

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        if method == "POST":
            return UpstreamResponse(429, {"Retry-After": "7"}, b'{"detail": "Too many requests"}')
        return await super().send(method, path, body, headers)


def test_a_transition_the_vendor_throttles_is_a_429_once_the_update_is_taken_back() -> None:
    # Not the vendor refusing the status: a 422 "refused to move" would tell the client never
    # to send it again. The update, taken back whole, may be sent again after Retry-After.
    vendor = Throttling("active", refused=set())
    before = dict(vendor.doc)
    with pytest.raises(Throttled) as throttled:
        _died(vendor)
    assert throttled.value.headers == {"Retry-After": "7"} and len(vendor.patches) == 2
    assert (vendor.doc["last_name"], vendor.doc["status"]) == (before["last_name"], "active")


def test_an_answer_without_the_whole_patient_is_not_taken_for_it() -> None:
    # Only what the PATCH saved (TypeORM's `save({ id, ...dto })`): the patient is read instead.
    saved = UpstreamResponse(200, {}, orjson.dumps({"id": PATIENT_ID, "last_name": "Lee", "version": 2}))
    vendor = ScriptedVendor(versions=[1, 2], answers=[saved])
    written = _update(vendor)
    assert vendor.patched == [1] and not vendor.versions  # one PATCH, the record read after it
    assert written.resource["meta"]["versionId"] == "2"
    assert written.resource["name"][0]["given"] == [RECORD["first_name"]]  # as stored, not as answered


class TextVersions(ScriptedVendor):
    """Writes its versions as text (`"version": "1"`, read as 1 and said so by the reader)."""

    async def record(self, resource_id: str) -> VendorRecord:
        return {**await super().record(resource_id), "version_as_text": True}


@pytest.mark.parametrize("text", [True, False])
def test_a_base_version_is_sent_in_the_form_the_vendor_writes_versions(text: bool) -> None:
    # A Go service tagging its integers `,string` reads `base_version` only as text; one writing
    # numbers gets a number, as documented.
    vendor = (TextVersions if text else ScriptedVendor)(versions=[1, 2], answers=[CONFLICT, _answer(3)])
    _update(vendor)
    assert vendor.patched == (["1", "2"] if text else [1, 2])


@pytest.mark.parametrize(
    ("answered", "after", "own"),
    [(3, 3, 3), (2, 3, 3), (2, 2, 2), (2, 5, 3)],
    ids=["answered-newer", "before-flush", "patch-kept-the-version", "before-flush-then-another-writer"],
)
def test_the_version_a_write_made_is_the_one_the_patient_shows_after_it(answered: int, after: int, own: int) -> None:
    # Based on version 2: a vendor whose PATCH leaves `version` as it was shows 2 after it, and a
    # take-back based on 3 (the next one) would be refused as stale.
    assert _own_version(_answer(answered), 2, {**RECORD, "version": after}) == own
