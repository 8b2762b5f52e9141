"""The Idempotency-Key of a Dental PMS create: one per client request, the same for every
attempt the gateway makes of it, never shared by two requests; and what a 409 to that request
stands for (the vendor refusing its own retry, or a chart number in use)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest

from gateway.contract import Drift, TenantContext, Written
from gateway.errors import AlreadyExists, FHIRError
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.reader import Reader, VendorRecord
from mappings.dentalpms.search_length import ShortestSearch
from mappings.dentalpms.writes import PatientWrites

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
GOLDEN = Path(__file__).parents[3] / "golden" / "dentalpms" / "patient" / "minimal.input.json"
RECORD: VendorRecord = {**json.loads(GOLDEN.read_text())["record"], "chart_number": "C-77", "deleted_at": None}
SENT = {
    "resourceType": "Patient",
    "name": [{"family": RECORD["last_name"], "given": [RECORD["first_name"]]}],
    "identifier": [{"system": CTX.system("chart-number"), "value": "C-77"}],
}


class Vendor:
    """Stores a patient for each create (a new id each) and answers it 201, or answers every
    create `refusal`, with `RECORD` holding the chart number."""

    def __init__(self, refusal: bytes | None = None, attempt: int = 1) -> None:
        self.refusal, self.attempt = refusal, attempt  # the attempt the refusal answers
        self.keys: list[str] = []
        self.stored: dict[str, VendorRecord] = {}

    async def record(self, resource_id: str) -> VendorRecord:
        return self.stored[resource_id]

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        assert (method, path) == ("POST", "/patients")
        self.keys.append(headers["Idempotency-Key"])
        if self.refusal is not None:
            return UpstreamResponse(409, {}, self.refusal, attempt=self.attempt)
        made = {**RECORD, "id": str(UUID(int=len(self.keys), version=4))}
        self.stored[made["id"]] = made
        return UpstreamResponse(201, {}, orjson.dumps(made))

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        if path == "/patients/cursor":  # the newest patients, for one without a chart number
            return {"data": [RECORD], "page_info": {"has_next_page": False, "end_cursor": None}}
        assert path == "/patients" and params.get("search") == "C-77"
        return {"items": [RECORD], "page": params["page"], "page_size": params["page_size"], "total": 1}


def _create(vendor: Vendor, sent: dict[str, Any] = SENT) -> Written:
    writes = PatientWrites(vendor, CTX, Reader(Drift()), vendor.record, ShortestSearch())  # type: ignore[arg-type]
    return asyncio.run(writes.create(sent))


def test_two_requests_of_one_body_carry_two_keys_each_a_uuid4() -> None:
    # Before, the key was a hash of the body: the vendor replayed the first request's patient
    # to the second. A service may take only a UUID (or only a version 4 one, pydantic's UUID4).
    vendor = Vendor()
    made = [_create(vendor).resource["id"] for _ in range(2)]
    assert made[0] != made[1] and vendor.keys[0] != vendor.keys[1]
    assert all(str(UUID(key)) == key and UUID(key).version == 4 for key in vendor.keys)


def test_a_refusal_of_this_requests_own_key_is_the_patient_it_made() -> None:
    # Only this request carries its key: the vendor refusing it (a retry of a create whose answer
    # was lost) says the patient was made, the one holding the chart number sent.
    written = _create(Vendor(b'{"detail": "Idempotency conflict"}', attempt=2))
    assert written.resource["id"] == RECORD["id"]


@pytest.mark.parametrize("refusal", [b'{"detail": "Idempotency conflict"}', b'{"detail": "Potential duplicate"}'])
def test_a_first_attempt_refused_made_nothing(refusal: bytes) -> None:
    # No earlier attempt holds this request's key: a 409 to the first is the vendor refusing the
    # patient (a demographic duplicate guard, say), never a patient this request made, answered
    # 201 with an older patient's record.
    no_chart = {k: v for k, v in SENT.items() if k != "identifier"}
    with pytest.raises(AlreadyExists):  # RECORD is the patient described: the existing one
        _create(Vendor(refusal), no_chart)


@pytest.mark.parametrize("refusal", [b'{"detail": "Duplicate chart number"}', b'{"status": 409, "error": "Conflict"}'])
def test_a_chart_number_held_by_the_same_patient_is_that_patient_existing(refusal: bytes) -> None:
    # Not this request's key (or not said): an earlier request's patient holds the chart number.
    with pytest.raises(AlreadyExists) as caught:
        _create(Vendor(refusal))
    assert caught.value.existing is not None and caught.value.existing["id"] == RECORD["id"]


class Bodiless(Vendor):
    """Answers each create 201 with no body and, when `located`, the patient's URL in
    `Location` (Spring's `ResponseEntity.created(uri).build()`); lists the newest first."""

    def __init__(self, located: bool) -> None:
        super().__init__()
        self.located = located

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        await super().send(method, path, body, headers)
        made = list(self.stored)[-1]
        where = {"Location": f"/api/v1/org/patients/{made.upper()}"} if self.located else {}
        return UpstreamResponse(201, where, b"")

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        assert path == "/patients/cursor" and params["sort_by"] == "created_at" and params["sort_dir"] == "desc"
        older = {**RECORD, "id": "00000000-0000-4000-8000-00000000000f"}  # the same patient, made before
        return {"data": [*reversed(self.stored.values()), older], "page_info": {"has_next_page": False}}


@pytest.mark.parametrize("located", [True, False])
def test_a_create_answered_without_the_patient_is_the_patient_it_made(located: bool) -> None:
    # Before, the body that was not a patient made the create a 502 once the patient was stored.
    # Without a `Location`, the newest patient the request describes (its chart number too).
    vendor = Bodiless(located)
    written = _create(vendor)
    assert written.resource["id"] == list(vendor.stored)[-1]


class Dated(Vendor):
    """Refuses a retry (attempt 2) with "Duplicate chart number", its clock in `Date`; the
    holder of the chart number made `age` seconds before that answer."""

    def __init__(self, age: float) -> None:
        super().__init__(b'{"detail": "Duplicate chart number"}', attempt=2)
        now = datetime.now(UTC)
        self.date = format_datetime(now, usegmt=True)
        self.holder = {**RECORD, "created_at": (now - timedelta(seconds=age)).isoformat()}

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        refused = await super().send(method, path, body, headers)
        return UpstreamResponse(refused.status, {"Date": self.date}, refused.body, attempt=refused.attempt)

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        listing = await super().get(path, params)
        return {**listing, "items": [self.holder]} if "items" in listing else {**listing, "data": [self.holder]}


def test_a_retry_refused_for_a_chart_number_its_first_attempt_took_is_that_patient() -> None:
    # A service that does not read the Idempotency-Key refuses the retry of a create whose answer
    # was lost for the chart number the first attempt stored: by the vendor's clock that patient
    # was made during this request (the test takes no time: within the second `Date` allows).
    assert _create(Dated(age=0.5)).resource["id"] == RECORD["id"]


def test_a_retry_refused_for_a_chart_number_held_since_before_is_an_existing_patient() -> None:
    with pytest.raises(AlreadyExists):
        _create(Dated(age=120))


class FailedAfter(Vendor):
    """Stores the patient of each create, yet answers it 503 (a failure after the commit, which
    a key replaying any answer repeats), its clock in `Date` (or none); the patients like it
    listed are `made`, each `(id, seconds before that answer)`."""

    def __init__(self, made: list[tuple[str, float]], dated: bool = True) -> None:
        super().__init__()
        now = datetime.now(UTC)
        self.headers = {"Date": format_datetime(now, usegmt=True)} if dated else {}
        self.listed = [
            {**RECORD, "id": made_id, "created_at": (now - timedelta(seconds=age)).isoformat()} for made_id, age in made
        ]
        self.stored = {record["id"]: record for record in self.listed}
        self.lists = 0

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        self.keys.append(headers["Idempotency-Key"])
        return UpstreamResponse(503, self.headers, b'{"detail": "Service unavailable"}', attempt=3)

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        self.lists += 1
        assert path == "/patients/cursor" and params["sort_by"] == "created_at"
        return {"data": self.listed if "status" not in params else [], "page_info": {"has_next_page": False}}


MADE = "00000000-0000-4000-8000-0000000000a1"
OTHER = "00000000-0000-4000-8000-0000000000a2"


def test_a_create_failing_after_its_patient_was_stored_is_that_patient() -> None:
    # Before, the 503 was the answer, the patient made: the client's resend made it twice.
    written = _create(FailedAfter([(MADE, 0.5)]))
    assert written.resource["id"] == MADE
    assert any("HTTP 503" in warning and MADE in warning for warning in written.warnings)


@pytest.mark.parametrize(
    ("made", "dated", "sent"),
    [
        ([(MADE, 120)], True, SENT),  # made before this request: another request's
        ([(MADE, 0.5)], False, SENT),  # no vendor clock: nothing tells when it was made
        ([(MADE, 0.5), (OTHER, 1)], True, {**SENT, "identifier": []}),  # two alike, no chart number
    ],
    ids=["made-before", "undated", "two-alike"],
)
def test_a_create_failing_is_the_vendors_failure_unless_its_patient_is_told(
    made: list[tuple[str, float]], dated: bool, sent: dict[str, Any]
) -> None:
    vendor = FailedAfter(made, dated)
    with pytest.raises(FHIRError) as failed:
        _create(vendor, sent)
    assert "503" in str(failed.value)
    if not dated:
        assert vendor.lists == 0  # no look-up that cannot tell
    named = " ".join(text for text, _ in failed.value.issues)
    assert (MADE in named and OTHER in named) is (len(made) == 2)
