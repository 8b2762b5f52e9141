"""What the Dental PMS write path does when a write goes wrong half way (mappings/dentalpms/writes.py):
an update taken back never overwrites another writer; a retried create never archives a patient
and never answers another request's; a create is never a 404, nor a patient active beside its death.

A small stateful vendor (versions, transitions, archive, the newest-first cursor list) stands in
for the Dental PMS."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from uuid import UUID

import orjson
import pytest

from gateway.contract import Drift, TenantContext
from gateway.errors import AlreadyExists, Conflict, FHIRError, NotFound, UnsupportedModifier, UpstreamUnusable
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms import patient_create
from mappings.dentalpms.reader import Reader, VendorRecord
from mappings.dentalpms.search_length import ShortestSearch
from mappings.dentalpms.writes import PatientWrites

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
ANN = {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "1980-01-01"}


def _pid(n: int) -> str:
    return str(UUID(int=n, version=4))


def _patient(n: int, made_ago: float, **fields: Any) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(seconds=made_ago)).isoformat()  # by the clock `_date` reads
    return {
        "id": _pid(n), **ANN, "status": "active", "deleted_at": None, "chart_number": None,
        "email": None, "created_at": at, "updated_at": at, "version": 1, **fields,
    }  # fmt: skip


def _json(status: int, body: Any, headers: dict[str, str] | None = None, attempt: int = 1) -> UpstreamResponse:
    return UpstreamResponse(status, headers or {}, orjson.dumps(body) if body is not None else b"", attempt=attempt)


class Vendor:
    """Patients with versions; PATCH and transition-status check `base_version` (409 when
    stale); archive sets `deleted_at`; the cursor list answers live (or archived) patients newest
    first. `on_transition` runs before a transition is answered (another writer, say);
    `refuse_transitions` answers every transition 422. `create` answers a POST /patients."""

    def __init__(self, *patients: dict[str, Any]) -> None:
        self.patients = {p["id"]: dict(p) for p in patients}
        self.on_transition: Callable[[], object] | None = None
        self.refuse_transitions = False
        self.create: Callable[[dict[str, Any], dict[str, str]], UpstreamResponse] | None = None
        self.yields = False  # await between calls, as a real network does (concurrent requests interleave)

    async def record(self, resource_id: str) -> VendorRecord:
        if self.yields:
            await asyncio.sleep(0)
        if resource_id not in self.patients:
            raise NotFound(f"Patient/{resource_id} does not exist")
        return dict(self.patients[resource_id])

    def write(self, resource_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        p = self.patients[resource_id]
        p.update(fields)
        p["version"] += 1
        return p

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        if self.yields:
            await asyncio.sleep(0)
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["patients"]:
            assert self.create is not None
            return self.create(body, headers)
        patient = self.patients.get(parts[1])
        if patient is None:
            return _json(404, {"detail": "Patient not found"})
        if body.get("base_version") is not None and body["base_version"] != patient["version"]:
            return _json(409, {"detail": "Version conflict"})
        if method == "PATCH":
            return _json(200, self.write(parts[1], {k: v for k, v in body.items() if k != "base_version"}))
        if parts[2] == "transition-status":
            hook, self.on_transition = self.on_transition, None
            if self.refuse_transitions:  # refused; another writer lands before the next read
                if hook is not None:
                    hook()
                return _json(422, {"detail": "Patient has future appointments"})
            if hook is not None:  # another writer lands first: this transition is stale
                hook()
                if body["base_version"] != patient["version"]:
                    return _json(409, {"detail": "Version conflict"})
            return _json(200, self.write(parts[1], {"status": body["new_status"]}))
        if parts[2] == "archive":
            return _json(200, self.write(parts[1], {"deleted_at": datetime.now(UTC).isoformat()}))
        raise AssertionError(path)

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        assert path == "/patients/cursor", path
        archived = params.get("status") == "archived"
        listed = [dict(p) for p in self.patients.values() if bool(p["deleted_at"]) == archived]
        listed.sort(key=lambda p: p["created_at"], reverse=True)
        if self.yields:
            await asyncio.sleep(0)  # the list as it was when asked, answered a moment later
        return {"data": listed, "page_info": {"has_next_page": False, "end_cursor": None}}

    def live(self) -> list[str]:
        return [i for i, p in self.patients.items() if not p["deleted_at"]]


def _writes(vendor: Vendor, pauses: tuple[float, ...] | None = None) -> PatientWrites:
    if pauses is not None:
        patient_create.READ_BACK_PAUSES = pauses  # type: ignore[misc]  # restored by the fixture below
    record = lambda resource_id: vendor.record(resource_id)  # noqa: E731  # late bound: a test may replace it
    return PatientWrites(vendor, CTX, Reader(Drift()), record, ShortestSearch())  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _read_back_pauses() -> Iterator[None]:
    kept = patient_create.READ_BACK_PAUSES
    yield
    patient_create.READ_BACK_PAUSES = kept  # type: ignore[misc]


def _resource(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": ANN["last_name"], "given": [ANN["first_name"]]}],
        "birthDate": ANN["date_of_birth"],
        **extra,
    }


def _date() -> dict[str, str]:
    return {"Date": format_datetime(datetime.now(UTC), usegmt=True)}


# -- update: the take-back overwrites another writer -------------------------------------------


@pytest.mark.parametrize("transition", ["stale", "refused"])
def test_the_take_back_never_overwrites_another_writers_change(transition: str) -> None:
    # U1: PUT email b + active false. Its PATCH lands (v2). Another client's PUT (read at v2)
    # sets the email to c (v3) before U1's transition is answered. The transition is refused
    # (409 stale; or 422, the other PUT landing just after it). The module docstring promises
    # the take-back is "based on the version the vendor answered this update's last write
    # with (so another writer's change since is never overwritten: that PATCH is then
    # refused)". `_transition` reads the record again
    # (v3) and `_take_back` bases its PATCH on that: the other client's c, already answered 200,
    # becomes a again.
    vendor = Vendor(_patient(1, 3600, email="a@example.org"))
    vendor.refuse_transitions = transition == "refused"
    vendor.on_transition = lambda: vendor.write(_pid(1), {"email": "c@example.org"})
    resource = _resource(id=_pid(1), active=False, telecom=[{"system": "email", "value": "b@example.org"}])
    with contextlib.suppress(FHIRError):
        asyncio.run(_writes(vendor).update(_pid(1), resource, None))
    assert vendor.patients[_pid(1)]["email"] == "c@example.org"


# -- create retried: the "duplicate" archived is not always one this request made ---------------


def test_a_retried_create_at_a_vendor_replaying_its_key_keeps_its_own_patient() -> None:
    # The vendor reads the key: attempt 1 stored P1 (answer lost), attempt 2 replays 201 P1.
    # Meanwhile another request (another front desk, a client's own resend) made P2 of the same
    # names and birth date, no chart number. `_first_made` runs on every retried 2xx, finds P2
    # "made since sent", archives P1 and answers P2: this request's only patient is archived
    # and its client holds the other request's patient.
    mine, other = _patient(1, 1.0), _patient(2, 0.5, email="other@example.org")
    vendor = Vendor(mine, other)
    vendor.create = lambda body, headers: _json(201, vendor.patients[_pid(1)], _date(), attempt=2)
    written = asyncio.run(_writes(vendor).create(_resource()))
    assert written.resource["id"] == _pid(1)
    assert set(vendor.live()) == {_pid(1), _pid(2)}
    assert written.warnings == ()  # P2, made after this request's patient, is no earlier attempt's


def test_two_retried_creates_of_one_name_leave_a_live_patient() -> None:
    # Two requests of the same names and birth date (a client resending a slow create, two
    # workers) at a vendor not reading the key, both answered on their second attempt (the
    # first a 503 that stored nothing). Each request's `_first_made` sees the other's patient
    # "made since sent" before the other archives: each archives its own and answers the
    # other's. Both clients get 201 for a patient that is archived; the clinic has none.
    vendor = Vendor()
    vendor.yields = True
    count = iter(range(1, 100))

    def create(body: dict[str, Any], headers: dict[str, str]) -> UpstreamResponse:
        n = next(count)
        made = _patient(n, -n * 0.01)  # made now, in order
        vendor.patients[made["id"]] = made
        return _json(201, made, _date(), attempt=2)

    vendor.create = create

    async def both() -> tuple[Any, ...]:
        return await asyncio.gather(_writes(vendor).create(_resource()), _writes(vendor).create(_resource()))

    written = asyncio.run(both())
    answered = {w.resource["id"] for w in written}
    assert answered == set(vendor.live()) and len(answered) == 2, f"live {vendor.live()}, answered {answered}"


def test_a_bodiless_retried_create_archives_none_but_its_own() -> None:
    # Vendor not reading the key, answering 201 without body or Location. Attempt 1 stored P1
    # (answer lost), attempt 2 stored P2 and answered 201 with nothing; another request's P3 (same
    # names, its client already answered 201) is newer still. `_created` takes the newest
    # namesake, P3, for this request's; `_first_made` then finds P2 "made earlier" and archives
    # P3, the other request's patient. P1 and P2 (this request's duplicates) both stay live.
    # Two namesakes made while the request was sent cannot be told apart: a 502 that says the
    # patient may have been made, and nothing archived.
    vendor = Vendor(_patient(1, 2.0), _patient(2, 1.0), _patient(3, 0.5))
    vendor.create = lambda body, headers: UpstreamResponse(201, _date(), b"", attempt=2)
    with pytest.raises(UpstreamUnusable, match="search for them before sending it again"):
        asyncio.run(_writes(vendor).create(_resource()))
    assert set(vendor.live()) == {_pid(1), _pid(2), _pid(3)}


def test_a_bodiless_create_is_the_one_namesake_made_meanwhile() -> None:
    # One namesake made while the request was sent (by the vendor's Date), another long before.
    vendor = Vendor(_patient(1, 3600.0), _patient(2, 0.5))
    vendor.create = lambda body, headers: UpstreamResponse(201, _date(), b"")
    assert asyncio.run(_writes(vendor).create(_resource())).resource["id"] == _pid(2)


def test_a_retried_create_without_a_date_header_names_the_duplicate() -> None:
    # Vendor not reading the key, sending no `Date` (or one a proxy rewrote unreadably): P1 from
    # attempt 1, P2 from attempt 2. `_made_since_sent` says False without a Date, so `_first_made`
    # returns P2 with no warning: two patients, the commit's "(the duplicate archived, or named)"
    # is neither.
    vendor = Vendor(_patient(1, 1.0))

    def create(body: dict[str, Any], headers: dict[str, str]) -> UpstreamResponse:
        made = _patient(2, 0.1)
        vendor.patients[made["id"]] = made
        return _json(201, made, {}, attempt=2)

    vendor.create = create
    written = asyncio.run(_writes(vendor).create(_resource()))
    assert written.resource["id"] == _pid(2) and len(vendor.live()) == 2
    assert written.warnings and "may have made this patient twice" in written.warnings[0]
    assert f"Patient/{_pid(1)} is the same patient" in written.warnings[0]


def test_a_retried_create_names_the_patient_its_first_attempt_made() -> None:
    # A vendor not reading the key, its clock in `Date`: attempt 1 made P1 (answer lost), attempt
    # 2 made P2. P2 is answered, P1 named; neither archived (nothing but names and time ties P1
    # to this request).
    vendor = Vendor(_patient(1, 0.5), _patient(7, 3600.0))

    def create(body: dict[str, Any], headers: dict[str, str]) -> UpstreamResponse:
        made = _patient(2, 0.0)
        vendor.patients[made["id"]] = made
        return _json(201, made, _date(), attempt=2)

    vendor.create = create
    written = asyncio.run(_writes(vendor).create(_resource()))
    assert written.resource["id"] == _pid(2) and len(vendor.live()) == 3
    assert written.warnings == (
        f"The Dental PMS made this patient twice (an answer lost, the create sent again): Patient/{_pid(1)} is "
        "the same patient, made during this request; merge them at the practice",
    )


# -- create retried, refused 409 ------------------------------------------------------------------


def test_a_retry_refused_as_a_demographic_duplicate_is_not_answered_with_an_old_patient() -> None:
    # Attempt 1: a 503 that stored nothing; attempt 2: the vendor's duplicate guard, 409
    # "Potential duplicate patient" (test_create_replays calls this a real vendor behaviour). No
    # chart number sent, so `_refused_create` takes it for this request's key refused and answers
    # the newest namesake, made a year ago, as this request's creation: 201 Created for a
    # patient that existed already (the same 409 on a first attempt is AlreadyExists). No
    # `_made_since_sent` check guards this path.
    old = _patient(1, 365 * 86400.0)
    vendor = Vendor(old)
    vendor.create = lambda body, headers: _json(409, {"detail": "Potential duplicate patient"}, _date(), attempt=2)
    with pytest.raises(AlreadyExists):
        asyncio.run(_writes(vendor).create(_resource()))


def test_a_retry_refused_for_its_own_key_never_says_nothing_was_created() -> None:
    # Attempt 2 answered 409 "Idempotency conflict": only this request holds the key, so its
    # first attempt made the patient. The newest-first list does not show it yet (a list served
    # from a search index a moment behind). The answer is a 409 "... shows no patient it made;
    # nothing was created": the client, told so, sends the create again and makes a second one.
    vendor = Vendor()
    vendor.create = lambda body, headers: _json(409, {"detail": "Idempotency conflict"}, _date(), attempt=2)
    with pytest.raises(UpstreamUnusable, match="search for it before sending the create again"):
        asyncio.run(_writes(vendor).create(_resource()))


# -- create answered with Location alone --------------------------------------------------------


def test_a_create_whose_location_cannot_be_read_yet_is_not_a_404() -> None:
    # 201 with `Location` alone, the GET of it 404 (a read replica behind the primary). Read
    # again a few times; still not found, a 502 naming the patient made: never a 404 to a POST
    # (the client would send it again), nor a 201 without its version, status or stored fields.
    vendor = Vendor()
    vendor.create = lambda body, headers: UpstreamResponse(201, {"Location": f"/api/v1/org/patients/{_pid(9)}"}, b"")
    with pytest.raises(UpstreamUnusable, match=f"made Patient/{_pid(9)} but does not serve it yet"):
        asyncio.run(_writes(vendor, pauses=(0.0,)).create(_resource()))


def test_a_created_patient_served_a_moment_later_is_the_answer() -> None:
    vendor = Vendor()
    reads = 0
    plain_record = vendor.record

    async def lagging(resource_id: str) -> VendorRecord:
        nonlocal reads
        reads += 1
        if reads == 1:
            raise NotFound(f"Patient/{resource_id} does not exist")
        return await plain_record(resource_id)

    def create(body: dict[str, Any], headers: dict[str, str]) -> UpstreamResponse:
        made = _patient(9, 0.0)
        vendor.patients[made["id"]] = made
        return UpstreamResponse(201, {"Location": f"/api/v1/org/patients/{_pid(9)}"}, b"")

    vendor.create = create
    vendor.record = lagging  # type: ignore[method-assign]
    written = asyncio.run(_writes(vendor, pauses=(0.0,)).create(_resource()))
    assert written.resource["id"] == _pid(9) and written.resource["meta"]["versionId"] == "1" and reads == 2


# -- create: the lifecycle a transition cannot reach ---------------------------------------------


def _stored_active(vendor: Vendor) -> Callable[[dict[str, Any], dict[str, str]], UpstreamResponse]:
    """A create that stores the body as patient 5, active whatever its `status` (a service whose
    `status` is read-only in its create body: create_statuses=ignored)."""

    def create(body: dict[str, Any], headers: dict[str, str]) -> UpstreamResponse:
        made = _patient(5, 0.0, **{name: value for name, value in body.items() if name != "status"})
        vendor.patients[made["id"]] = made
        return _json(201, made)

    return create


def test_a_create_whose_death_the_vendor_will_not_record_is_not_answered_active_and_deceased() -> None:
    # A service ignoring `status` in its create body (create_statuses=ignored) that refuses the
    # transition to deceased (422). The create stores `date_time_deceased` with status active and
    # answers 201 with `active: true` beside `deceasedDateTime`: the "half a death" the update
    # path refuses (refuse_unheld_status: "`active: true` cannot stand beside a death") or takes
    # back whole, here only a warning the client sees with Prefer: return=OperationOutcome alone.
    vendor = Vendor()
    vendor.refuse_transitions = True

    vendor.create = _stored_active(vendor)
    with pytest.raises(UnsupportedModifier, match=rf"Patient/{_pid(5)}, made without it, was archived$"):
        asyncio.run(_writes(vendor).create(_resource(deceasedDateTime="2026-12-01")))
    assert vendor.live() == []


def test_a_create_refused_for_its_lifecycle_frees_its_chart_number_before_it_is_archived() -> None:
    # A service counting an archived patient's chart number as in use would refuse the
    # client's create sent again without the death, for ever.
    vendor = Vendor()
    vendor.refuse_transitions = True

    vendor.create = _stored_active(vendor)
    chart = [{"system": CTX.system("chart-number"), "value": "RC-26"}]
    with pytest.raises(UnsupportedModifier, match=r"was archived$"):
        asyncio.run(_writes(vendor).create(_resource(identifier=chart, deceasedBoolean=True)))
    assert vendor.patients[_pid(5)]["chart_number"] is None and vendor.live() == []


def test_a_create_whose_lifecycle_move_fails_says_the_patient_made_was_archived() -> None:
    # A 503 to the transition is the vendor failing, not refusing: its status, and a second
    # issue saying what became of the patient made.
    vendor = Vendor()
    plain_send = vendor.send

    async def failing(method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        if path.endswith("/transition-status"):
            return _json(503, {"detail": "Service unavailable"})
        return await plain_send(method, path, body, headers)

    vendor.create = _stored_active(vendor)
    vendor.send = failing  # type: ignore[method-assign]
    with pytest.raises(FHIRError) as failed:
        asyncio.run(_writes(vendor).create(_resource(active=False)))
    assert failed.value.status == 502
    assert failed.value.issues == [(f"Patient/{_pid(5)}, made without it, was archived: send it again", None)]
    assert vendor.live() == []


def test_a_retry_refused_for_its_key_is_never_an_older_namesake_already_existing() -> None:
    # Attempt 1 made this request's patient (answer lost); attempt 2 is 409 "Idempotency
    # conflict". The newest-first list does not show it yet (the commit's own "index a moment
    # behind"), but an older namesake exists. `_find_described` finds the old one, `during` is
    # False, and AlreadyExists is raised before the `key_refused` 502: the client is told
    # "exists already as Patient/old" (a conditional create: 200 "nothing created") while its
    # own patient was made.
    vendor = Vendor(_patient(1, 365 * 86400.0))
    vendor.create = lambda body, headers: _json(409, {"detail": "Idempotency conflict"}, _date(), attempt=2)
    with pytest.raises(UpstreamUnusable, match="search for it before sending the create again"):
        asyncio.run(_writes(vendor).create(_resource()))


def _second_date(at: datetime) -> dict[str, str]:
    return {"Date": format_datetime(at.replace(microsecond=0), usegmt=True)}


def test_a_bodiless_create_is_found_when_the_vendor_clock_is_a_little_ahead_of_its_date() -> None:
    # Answer generated at x.95 s by the Date's clock (Date says x), the database clock 0.2 s
    # ahead of it: the patient's `created_at` is x+1.15 s (sub-second, as pydantic writes it).
    # `made <= vendor_now + 1 s` is False: the only patient just made is not "made during",
    # and the create (which succeeded) is a 502 "may have been created".
    answered = datetime.now(UTC).replace(microsecond=950_000)
    made = {**_patient(2, 0.0), "created_at": (answered + timedelta(seconds=0.2)).isoformat()}
    vendor = Vendor(_patient(1, 3600.0), made)
    vendor.create = lambda body, headers: UpstreamResponse(201, _second_date(answered), b"")
    assert asyncio.run(_writes(vendor).create(_resource())).resource["id"] == _pid(2)


def test_a_bodiless_create_without_a_date_is_never_a_year_old_namesake() -> None:
    # 201 with neither body nor Location nor Date; the list does not show the new patient yet.
    # `during` is "not False" for every patient without a Date: the commit's fix ("must be made
    # while the request was sent") does not apply, and a patient made a year ago is answered
    # 201 as this request's creation.
    vendor = Vendor(_patient(1, 365 * 86400.0))
    vendor.create = lambda body, headers: UpstreamResponse(201, {}, b"")
    with pytest.raises(UpstreamUnusable):
        asyncio.run(_writes(vendor).create(_resource()))


def test_a_retry_refused_as_a_duplicate_never_archives_another_requests_patient() -> None:
    # Attempt 1 a 503 that stored nothing; meanwhile another request (a second front desk)
    # made P2, same names and birth date, active, its client answered 201. Attempt 2 is the
    # vendor's duplicate guard, 409. P2 was "made during" this request: it is taken for this
    # request's, this request's `active: false` is moved onto it, the move is refused, and P2
    # is archived: the other client's patient is lost ("made without it, was archived").
    vendor = Vendor(_patient(2, 0.5))
    vendor.refuse_transitions = True
    vendor.create = lambda body, headers: _json(409, {"detail": "Potential duplicate patient"}, _date(), attempt=2)
    with pytest.raises(AlreadyExists):
        asyncio.run(_writes(vendor).create(_resource(active=False)))
    assert vendor.live() == [_pid(2)]


def test_a_retry_refused_as_a_duplicate_never_changes_another_requests_patient() -> None:
    # As above, the vendor taking the transition: P2, another client's active patient, is made
    # inactive by this request, answered 201 as its own.
    vendor = Vendor(_patient(2, 0.5))
    vendor.create = lambda body, headers: _json(409, {"detail": "Potential duplicate patient"}, _date(), attempt=2)
    with pytest.raises(AlreadyExists, match="perhaps by its first attempt"):
        asyncio.run(_writes(vendor).create(_resource(active=False)))
    assert vendor.patients[_pid(2)]["status"] == "active"


class BeforeFlush(Vendor):
    """PATCH answered with the version from before the write (JPA before flush); another writer
    lands between that answer and the gateway's read of the record."""

    def __init__(self, *patients: dict[str, Any]) -> None:
        super().__init__(*patients)
        self.after_patch: Any = None

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        response = await super().send(method, path, body, headers)
        if method == "PATCH" and response.status == 200 and self.after_patch is not None:
            hook, self.after_patch = self.after_patch, None
            answered = dict(self.patients[path.strip("/").split("/")[1]])
            answered["version"] = body["base_version"]  # as mapped before the flush
            hook()
            return _json(200, answered)
        return response

    async def record(self, resource_id: str) -> VendorRecord:
        return await super().record(resource_id)


def test_the_take_back_after_a_before_flush_answer_never_overwrites_another_writer() -> None:
    # U1: email b + active false. Its PATCH lands (v2) but is answered with v1 (before flush),
    # so `_record_of` reads the record again; another client's email c (v3) landed first. The
    # transition is refused 422. The take-back is based on `written`, the re-read v3: it is
    # taken, and the other client's c (answered 200) becomes a.
    vendor = BeforeFlush(_patient(1, 3600, email="a@example.org"))
    vendor.refuse_transitions = True
    vendor.after_patch = lambda: vendor.write(_pid(1), {"email": "c@example.org"})
    resource = _resource(id=_pid(1), active=False, telecom=[{"system": "email", "value": "b@example.org"}])
    with pytest.raises(Conflict):
        asyncio.run(_writes(vendor).update(_pid(1), resource, None))
    assert vendor.patients[_pid(1)]["email"] == "c@example.org"


def test_an_update_whose_status_move_and_take_back_are_both_stale_is_a_409() -> None:
    # The scenario test_the_take_back_never_overwrites_another_writers_change[stale] passes on:
    # the transition is 409 (another writer, email c, v3), the take-back based on v2 is 409
    # too. Nothing of U1 stands (its b is overwritten, its `active: false` never moved), yet
    # `len(taken_back) != len(sent)` makes the answer a 200 showing `active: true`, the
    # modifier named only in an OperationOutcome the client sees with Prefer:
    # return=OperationOutcome. The module's own rule for a version conflict is a 409.
    vendor = Vendor(_patient(1, 3600, email="a@example.org"))
    vendor.on_transition = lambda: vendor.write(_pid(1), {"email": "c@example.org"})
    resource = _resource(id=_pid(1), active=False, telecom=[{"system": "email", "value": "b@example.org"}])
    with pytest.raises(Conflict):
        asyncio.run(_writes(vendor).update(_pid(1), resource, None))
