"""NexHealth writes under the readings of how an implementation refuses a body: keys it does not
declare refused whole (Rails' `action_on_unpermitted_parameters = :raise`, NestJS's
`forbidNonWhitelisted`, FastAPI's `extra="forbid"`), the spellings of gender it takes listed in
its refusal (or, as Rails 7.1's validated enum answers, not listed). The docs show no write
body and never list gender's values (vendor-docs/nexhealth-patients.txt): each create and edit
must still be made whole, in few calls, and the client must get the patient it sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import pytest

from gateway.contract import Sandbox
from sandboxes.clinic import build_clinic
from sandboxes.nexhealth import LOCATION, create_sandbox
from sandboxes.nexhealth.app import PATIENT_ID_OFFSET, location_id_of
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp
from tests.support.variants import gateway_over

TENANT = "nex"
BASE = f"/fhir/{TENANT}"
JSON = {"Content-Type": "application/fhir+json"}
RATE = 10_000  # calls a minute, vendor and gateway
OPTIONS: dict[str, Any] = {"rate_per_minute": RATE, "provider_id": 201}  # no /providers call to count


@dataclass
class Writes:
    """The patient writes (`POST /patients`, `PATCH /patients/{id}`) a simulator was sent."""

    sent: list[tuple[str, int]] = field(default_factory=list)  # (method, status)

    def since(self, mark: int) -> list[tuple[str, int]]:
        return self.sent[mark:]


def _recorded(make: Callable[[], Sandbox], writes: Writes) -> Callable[[], Sandbox]:
    """`make`'s simulator, its patient writes recorded with the status each was answered."""

    def recording() -> Sandbox:
        sandbox = make()
        api = sandbox.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            method = scope.get("method")
            if scope["type"] != "http" or method not in ("POST", "PATCH") or scope["path"] == "/authenticates":
                await api(scope, receive, send)
                return

            async def answered(message: Any) -> None:
                if message["type"] == "http.response.start":
                    writes.sent.append((method, message["status"]))
                await send(message)

            await api(scope, receive, answered)

        return replace(sandbox, app=app)

    return recording


@contextmanager
def _gateway(make: Callable[[], Sandbox]) -> Iterator[tuple[FhirHttp, Writes]]:
    writes = Writes()
    with gateway_over("nexhealth", _recorded(make, writes), tenant=TENANT, options=OPTIONS) as running:
        yield running.fhir, writes


def _patient(family: str, number: int, gender: str = "female") -> dict[str, Any]:
    """A new patient; `number` makes its email, phone and birth date its own (NexHealth takes a
    patient with another's, or with another's names and birth date, for a duplicate)."""
    return {
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Ada"]}],
        "telecom": [
            {"system": "email", "value": f"{family.lower()}{number}@example.org"},
            {"system": "phone", "value": f"31255507{number:02d}"},
        ],
        "birthDate": f"1990-02-{3 + number:02d}",
        "gender": gender,
    }


# -- keys an implementation does not declare, refused whole --------------------------------------


def _create_and_edit_twice(fhir: FhirHttp, writes: Writes) -> list[int]:
    """Create a patient, edit its name and birth date (`bio`), then its name and phone: each
    answered and read back whole. The writes each of the three sent."""
    counts = []
    mark = len(writes.sent)
    created = fhir.request("POST", f"{BASE}/Patient", json=_patient("Strictkeys", 0), headers=JSON)
    assert created.status_code == 201, created.text
    counts.append(len(writes.since(mark)))
    pid = created.json()["id"]
    current = fhir.get_ok(f"{BASE}/Patient/{pid}")
    for given, changed in (("Adele", {"birthDate": "1990-02-04"}), ("Adela", {"telecom": [
        {"system": "email", "value": "strictkeys0@example.org"}, {"system": "phone", "value": "3125550799"},
    ]})):  # fmt: skip
        mark = len(writes.sent)
        edit = {**current, "name": [{**current["name"][0], "given": [given]}], **changed}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=edit, headers=JSON)
        assert updated.status_code == 200, updated.text
        counts.append(len(writes.since(mark)))
        current = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert current["name"][0]["given"] == [given], current  # the names and `bio` alike: whole
        assert current["birthDate"] == changed.get("birthDate", "1990-02-04"), current
        phones = {"".join(c for c in t["value"] if c.isdigit())[-10:] for t in current["telecom"]}
        assert ("3125550799" in phones) is ("telecom" in changed), current
    assert current["gender"] == "female" and current["birthDate"] == "1990-02-04"
    return counts


@pytest.mark.parametrize(
    "reading",
    [
        {"patch_body": "flat"},  # Rails' `found unpermitted parameters: ...` in the envelope
        {"patch_body": "flat", "gender_at": "top", "error_body": "nestjs"},
        {"patch_body": "fully_flat", "create_body": "fully_flat", "error_body": "nestjs"},
        {"patch_body": "fully_flat", "error_body": "pydantic", "genders": "letters"},
        {"gender_at": "top", "error_body": "pydantic"},
        {"create_body": "flat", "patch_body": "flat", "error_body": "fields"},
        {"patch_body": "fully_flat", "gender_at": "top"},
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_a_nexhealth_refusing_unknown_keys_takes_every_create_and_edit_whole_at_one_extra_call_at_most(
    reading: dict[str, str],
) -> None:
    # An implementation refusing a body with a key it does not declare (Rails raising on
    # unpermitted parameters, NestJS's forbidNonWhitelisted, FastAPI's extra="forbid") refused
    # the first edit of a `bio` field, sent with `bio`'s fields both in `bio` and beside it
    # until the shape is known, and read its refusal naming `date_of_birth` as a want of the
    # fully flat body: four PATCHes where one that ignores such keys takes two. NestJS's
    # "property gender should not exist" was read as a refusal of the gender's spelling: every
    # spelling was sent in turn, and a create wanting gender beside `bio` never got it there.
    counts = {}
    for unknown_keys in ("ignored", "refused"):
        make = partial(create_sandbox, rate_per_minute=RATE, unknown_keys=unknown_keys, **reading)
        with _gateway(make) as (fhir, writes):
            counts[unknown_keys] = _create_and_edit_twice(fhir, writes)
    lenient, strict = counts["ignored"], counts["refused"]
    assert all(s <= n + 1 for s, n in zip(strict, lenient, strict=True)), (strict, lenient)
    assert strict[2] == 1, strict  # the shape the first edit found is remembered


# -- the spellings of gender a refusal lists, or does not --------------------------------------------


@pytest.mark.parametrize("error_body", ["list", "nestjs", "pydantic"])
@pytest.mark.parametrize("genders", ["letters", "upper"])
def test_the_gender_spellings_a_refusal_lists_are_read_and_the_one_listed_sent_next(
    genders: str, error_body: str
) -> None:
    # A practice with no patient yet shows no gender to learn its spelling from: the first
    # create goes out as `Female`. A refusal listing the spellings taken (the simulator's
    # "must be one of F, M, O", NestJS's "must be one of the following values: ...",
    # Pydantic's "Input should be 'M', 'F' or 'O'") was not read: every spelling of the
    # adapter's own list was sent in turn, four creates where NexHealth said which one in the first.
    empty = replace(build_clinic(), patients=())
    make = partial(create_sandbox, empty, rate_per_minute=RATE, genders=genders, error_body=error_body)
    with _gateway(make) as (fhir, writes):
        made = []
        for number, gender in enumerate(("female", "male", "other")):
            mark = len(writes.sent)
            created = fhir.request("POST", f"{BASE}/Patient", json=_patient("Listed", number, gender), headers=JSON)
            assert created.status_code == 201, created.text
            assert created.json()["gender"] == gender
            statuses = [status for _, status in writes.since(mark)]
            assert statuses == ([422 if error_body == "pydantic" else 400, 201] if number == 0 else [201]), statuses
            made.append((created.json()["id"], gender))
        for pid, gender in made:
            assert fhir.get_ok(f"{BASE}/Patient/{pid}")["gender"] == gender


def test_a_refusal_listing_no_spelling_the_gateway_writes_is_told_to_the_client_at_once() -> None:
    # An implementation taking gender as codes the adapter has no spelling of refuses each of
    # them alike: NexHealth's list says so in the first refusal, which the client is told.
    empty = replace(build_clinic(), patients=())
    make = partial(create_sandbox, empty, rate_per_minute=RATE, genders="upper", error_body="nestjs")

    def coded(make: Callable[[], Sandbox]) -> Callable[[], Sandbox]:
        async def refuse(scope: Any, receive: Any, send: Any) -> None:
            body = b'{"statusCode":400,"message":["patient.bio.gender must be one of the following values: 1, 2, 9"],'
            body += b'"error":"Bad Request"}'
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})

        def made() -> Sandbox:
            sandbox = make()
            api = sandbox.app

            async def app(scope: Any, receive: Any, send: Any) -> None:
                writing = scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/patients"
                await (refuse if writing else api)(scope, receive, send)

            return replace(sandbox, app=app)

        return made

    with _gateway(coded(make)) as (fhir, writes):
        refused = fhir.request("POST", f"{BASE}/Patient", json=_patient("Coded", 1), headers=JSON)
        assert refused.status_code == 400, refused.text
        assert "1, 2, 9" in refused.json()["issue"][0]["diagnostics"], refused.text
        assert len(writes.sent) == 1, writes.sent


@pytest.mark.parametrize("patients", ["none yet", "the clinic's"])
@pytest.mark.parametrize("genders", ["capitalized", "lower", "letters", "upper"])
def test_rails_validating_its_gender_enum_gets_its_patients_made_and_edited(genders: str, patients: str) -> None:
    # Rails 7.1's `enum :gender, {...}, validate: true` refuses a spelling it lacks as any
    # validation error, a 422 "is not included in the list" that lists nothing: the adapter's
    # own spellings are tried in turn where the practice shows none to learn from, and the one
    # it serves is sent at once where it does.
    clinic = build_clinic() if patients == "the clinic's" else replace(build_clinic(), patients=())
    make = partial(
        create_sandbox,
        clinic,
        rate_per_minute=RATE,
        genders=genders,
        unknown_gender="not_included",
        error_body="object",
    )
    order = ["capitalized", "lower", "letters", "upper"]
    with _gateway(make) as (fhir, writes):
        for number, gender in enumerate(("female", "male")):
            mark = len(writes.sent)
            created = fhir.request("POST", f"{BASE}/Patient", json=_patient("Validated", number, gender), headers=JSON)
            assert created.status_code == 201, created.text
            assert created.json()["gender"] == gender
            first = number == 0 and patients == "none yet"
            assert [s for _, s in writes.since(mark)] == [422] * order.index(genders) * first + [201]
        pid = created.json()["id"]
        mark = len(writes.sent)
        current = fhir.get_ok(f"{BASE}/Patient/{pid}")
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json={**current, "gender": "other"}, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert fhir.get_ok(f"{BASE}/Patient/{pid}")["gender"] == "other"
        assert [s for _, s in writes.since(mark)] == [200]


# -- an edit validated as a create: every field a create requires -----------------------------------


@pytest.mark.parametrize(
    "reading",
    [
        {},  # the envelope's `["patient.email is required", ...]`
        {"error_body": "pydantic"},  # FastAPI's 422 `{"loc": ["body", "patient", "email"], "msg": "Field required"}`
        {"error_body": "fields", "patch_body": "flat"},  # DRF's `{"email": ["This field is required."]}`
        {"error_body": "nestjs", "gender_at": "top", "genders": "letters"},
        {"patch_body": "fully_flat", "create_body": "fully_flat", "edit_bio": "replaced"},
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()) or "documented",
)
def test_an_edit_validated_as_a_create_is_sent_whole_and_applied(reading: dict[str, str]) -> None:
    # The docs list a create's required fields and say only that a patient is edited "via
    # PATCH": an implementation validating the edit with the create's DTO or schema (Spring's
    # `@Valid` over `@NotNull` fields, ASP.NET's `[Required]`, a Joi schema reused) refuses a
    # PATCH lacking any of them. The adapter sends only what changes: every update of a patient
    # was a 422 "NexHealth did not take the update", whatever it changed.
    make = partial(create_sandbox, rate_per_minute=RATE, edit_fields="whole", **reading)
    with _gateway(make) as (fhir, writes):
        created = fhir.request("POST", f"{BASE}/Patient", json=_patient("Wholeedit", 1), headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        edits: list[dict[str, Any]] = [
            {"birthDate": "1990-03-09"},
            {"name": [{"family": "Wholeedited", "given": ["Ada"]}]},
            {"gender": "other"},
        ]
        sent = []
        for change in edits:
            current = fhir.get_ok(f"{BASE}/Patient/{pid}")
            mark = len(writes.sent)
            updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json={**current, **change}, headers=JSON)
            assert updated.status_code == 200, updated.text
            sent.append([status for _, status in writes.since(mark)])
        read = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert (read["birthDate"], read["name"][0]["family"], read["gender"]) == ("1990-03-09", "Wholeedited", "other")
        assert read["name"][0]["given"] == ["Ada"]
        phones = {
            "".join(c for c in t["value"] if c.isdigit())[-10:] for t in read["telecom"] if t["system"] == "phone"
        }
        emails = {t["value"] for t in read["telecom"] if t["system"] == "email"}
        assert (phones, emails) == ({"3125550701"}, {"wholeedit1@example.org"}), read
        # Found once, in the first edit (a refusal, then the whole body), and remembered.
        assert all(statuses[-1] == 200 for statuses in sent) and sent[1:] == [[200], [200]], sent


# -- an edit reaching only the patients of its location ------------------------------------------

_ELSEWHERE = next(
    p for p in live_patients(build_clinic()) if p.location_id is not None and location_id_of(p.location_id) != LOCATION
)


@pytest.mark.parametrize(
    ("edit_scope", "location_ids"),
    [("location", "shown"), ("location_forbidden", "shown"), ("location", "absent")],
)
def test_a_patient_of_another_location_is_edited_where_an_edit_reaches_its_location_only(
    edit_scope: str, location_ids: str
) -> None:
    # The docs say a search "is always performed in the context of a location", and of an edit
    # only that it is made "via PATCH": one may find only the patients of its `location_id` (a
    # Rails `set_patient` shared with the read; a Pundit policy refusing 403), while a tenant not
    # `location_strict` reads the institution's. Such a patient, just read, was a 405 "does not
    # exist, POST it to create it" to update (404), or a 502 naming the gateway's credentials
    # (403). Sent at the patient's own location (its `location_ids`) the edit is made; where
    # NexHealth does not name it, the client is told why it was not (409), nothing else.
    simulator = partial(
        create_sandbox,
        rate_per_minute=RATE,
        not_inserted={_ELSEWHERE.id},
        edit_scope=edit_scope,
        patient_show="location_forbidden" if edit_scope == "location_forbidden" else "location",
        location_ids=location_ids,
    )
    pid = str(PATIENT_ID_OFFSET + _ELSEWHERE.id)
    with _gateway(simulator) as (fhir, _):
        current = fhir.get_ok(f"{BASE}/Patient/{pid}")
        given = ["Renamed", *current["name"][0]["given"][1:]]  # the middle name kept
        edit = {**current, "name": [{**current["name"][0], "given": given}]}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=edit, headers=JSON)
        after = fhir.get_ok(f"{BASE}/Patient/{pid}")
    if location_ids == "shown":
        assert updated.status_code == 200, updated.text
        assert updated.json()["name"][0]["given"] == given
        assert after["name"][0]["given"] == given, after
    else:
        assert updated.status_code == 409, updated.text
        assert "only at its own location" in updated.json()["issue"][0]["diagnostics"]
        assert after["name"][0]["given"] == current["name"][0]["given"], after


# -- an edit answered with what it sent ----------------------------------------------------------


@pytest.mark.parametrize(
    "reading",
    [
        {"edit_answer": "patient"},
        # Sequelize's `Model.update` resolves a count of rows: the handler answers the id beside
        # what it was sent, `{id, ...req.body.patient}` (the docs show no edit answer).
        {"edit_answer": "sent"},
        {"edit_answer": "sent", "patch_body": "flat", "gender_at": "top"},
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_an_update_answers_the_patient_as_read_whatever_the_edit_was_answered_with(reading: dict[str, str]) -> None:
    # Served as it was, such an answer of the name and birth date changed was the patient
    # without its email, its given name or its gender, under a version no read gives: the
    # client's next update with that ETag as If-Match was refused 412 though nothing had changed.
    simulator = partial(create_sandbox, rate_per_minute=RATE, **reading)
    with _gateway(simulator) as (fhir, _):
        created = fhir.request("POST", f"{BASE}/Patient", json=_patient("Echoed", 7), headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        edit = {**created.json(), "name": [{"family": "Echoes", "given": ["Ada"]}], "birthDate": "1990-03-04"}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=edit, headers=JSON)
        assert updated.status_code == 200, updated.text
        read = fhir.request("GET", f"{BASE}/Patient/{pid}")
        assert updated.json() == read.json()  # the patient whole: names, email, phone, gender
        assert updated.headers["ETag"] == read.headers["ETag"]
        again = {**updated.json(), "birthDate": "1990-03-05"}
        checked = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json=again, headers={**JSON, "If-Match": updated.headers["ETag"]}
        )
        assert checked.status_code == 200, checked.text


# -- a write whose read-back is throttled --------------------------------------------------------


@dataclass
class Throttle:
    """Whether the simulator answers every read 429 once a patient write has been answered 2xx:
    its limits are per API key (getting-started), whatever else uses the key may take the rest
    of the minute between a write and the read that follows it."""

    armed: bool = False
    engaged: bool = False


def _throttling_reads_after_writes(make: Callable[[], Sandbox], throttle: Throttle) -> Callable[[], Sandbox]:
    def throttling() -> Sandbox:
        sandbox = make()
        api = sandbox.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and throttle.engaged and scope["method"] == "GET":
                body = b'{"code":false,"description":null,"data":null,"error":["Rate limit exceeded"]}'
                await send({"type": "http.response.start", "status": 429,
                            "headers": [(b"content-type", b"application/json")]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
            written = scope["type"] == "http" and scope["method"] in ("POST", "PATCH")
            written = written and scope["path"] != "/authenticates"

            async def answered(message: Any) -> None:
                if message["type"] == "http.response.start" and written and message["status"] < 300:
                    throttle.engaged = throttle.armed
                await send(message)

            await api(scope, receive, answered)

        return replace(sandbox, app=app)

    return throttling


@contextmanager
def _throttled_gateway(throttle: Throttle, **reading: str) -> Iterator[FhirHttp]:
    simulator = _throttling_reads_after_writes(partial(create_sandbox, rate_per_minute=RATE, **reading), throttle)
    options = {**OPTIONS, "max_queue_seconds": 0.5}  # how long a throttled read is tried again
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=options) as running:
        yield running.fhir


def _said(answer: Any) -> list[str]:
    return [issue.get("diagnostics", "") for issue in answer.json().get("issue", [])]


@pytest.mark.parametrize(
    "reading",
    [{"create_answer": "id"}, {"written_bio": "absent"}, {"create_answer": "id", "patient_envelope": "flat"}],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_a_create_whose_read_back_is_throttled_is_answered_made_not_retry_later(reading: dict[str, str]) -> None:
    # The create answered with the new id alone (or without `bio`) is read back: that read met
    # NexHealth's 429 and the client was told 429 "retry later" for a patient made; sent again
    # (FHIR's create is not idempotent), it met NexHealth's duplicate guard, a 409.
    throttle = Throttle()
    with _throttled_gateway(throttle, **reading) as fhir:
        fhir.get_ok(f"{BASE}/Patient", params={"_count": 1})  # (the gender spelling seen before)
        throttle.armed = True
        sent = _patient("Throttled", 8)
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        answered = created.json()
        name = answered["name"][0]
        assert (name["family"], name["given"], answered["birthDate"], answered["gender"]) == (
            "Throttled", ["Ada"], sent["birthDate"], "female"
        )  # fmt: skip
        assert "ETag" not in created.headers  # made from what was sent: no version a read gives
        assert f"/Patient/{answered['id']}" in created.headers["Location"]
        told = fhir.request(
            "POST",
            f"{BASE}/Patient",
            json=_patient("Throttled", 9),
            headers={**JSON, "Prefer": "return=OperationOutcome"},
        )
        assert told.status_code == 201, told.text
        assert any("reading it back from NexHealth failed for now" in text for text in _said(told)), told.text
        throttle.armed = throttle.engaged = False
        read = fhir.get_ok(f"{BASE}/Patient/{answered['id']}")
        assert (read["name"], read["birthDate"]) == (answered["name"], answered["birthDate"])
        found = fhir.get_ok(f"{BASE}/Patient", params={"email": "throttled8@example.org"})
        assert [e["resource"]["id"] for e in found.get("entry", [])] == [answered["id"]]  # made once


def test_a_create_whose_unnamed_patient_cannot_be_looked_up_now_says_it_was_made() -> None:
    # Answered without an id (`data: null`), the patient is looked up by its email: throttled,
    # it cannot be named, but it was made: not a 429 "retry later", which would make it twice.
    throttle = Throttle()
    with _throttled_gateway(throttle, create_answer="none") as fhir:
        fhir.get_ok(f"{BASE}/Patient", params={"_count": 1})
        throttle.armed = True
        created = fhir.request("POST", f"{BASE}/Patient", json=_patient("Unnamed", 10), headers=JSON)
        assert created.status_code == 502, created.text
        issue = created.json()["issue"][0]
        assert issue["code"] == "processing" and "created the patient" in issue["diagnostics"], issue


def test_an_update_whose_read_back_is_throttled_is_answered_as_done() -> None:
    # Answered 204 without the patient, the edit is read back to be seen applied: throttled,
    # the client was told 429 for an edit made, and its If-Match sent again was a 412 against
    # its own update. Where this tenant's edits have been seen applied in that shape before, it
    # is answered done, without a version (made from what was sent, no read would match it);
    # where not, the client is told to read the patient before sending it again.
    throttle = Throttle()
    with _throttled_gateway(throttle, edit_answer="no_content") as fhir:
        created = fhir.request("POST", f"{BASE}/Patient", json=_patient("Edited", 11), headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        # The tenant's first edit: a 2xx to a shape never seen applied may be a 200 that ignored
        # it all (`patch_body="flat_ignoring"`), so it is not said done, nor "retry later".
        throttle.armed = True
        first = {**created.json(), "birthDate": "1990-02-28"}
        unseen = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=first, headers=JSON)
        assert unseen.status_code == 502, unseen.text
        assert unseen.json()["issue"][0]["code"] == "processing", unseen.text
        throttle.armed = throttle.engaged = False
        assert fhir.get_ok(f"{BASE}/Patient/{pid}")["birthDate"] == "1990-02-28"
        first = {**fhir.get_ok(f"{BASE}/Patient/{pid}"), "birthDate": "1990-03-01"}
        assert fhir.request("PUT", f"{BASE}/Patient/{pid}", json=first, headers=JSON).status_code == 200
        current = fhir.get_ok(f"{BASE}/Patient/{pid}")
        throttle.armed = True
        second = {**current, "birthDate": "1990-03-02", "name": [{"family": "Edited", "given": ["Adele"]}]}
        headers = {**JSON, "Prefer": "return=OperationOutcome"}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=second, headers=headers)
        assert updated.status_code == 200, updated.text
        assert "ETag" not in updated.headers
        assert any("updated, but reading it back from NexHealth failed for now" in t for t in _said(updated)), (
            updated.text
        )
        throttle.armed = throttle.engaged = False
        read = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert (read["birthDate"], read["name"][0]["given"]) == ("1990-03-02", ["Adele"]), read


# -- a write answered in words, not JSON ---------------------------------------------------------


def test_a_write_answered_with_its_status_words_is_made_once_and_served_as_read() -> None:
    # Express's `res.sendStatus(201)` answers a create `Created` as text/plain, and
    # `res.sendStatus(200)` an edit `OK` (the docs show neither answer). Read as an unusable
    # answer, each was a 502 for a write made: the create sent again met the duplicate guard
    # (409), the update sent again with its If-Match a 412 against itself.
    simulator = partial(create_sandbox, rate_per_minute=RATE, create_answer="status_text", edit_answer="status_text")
    with _gateway(simulator) as (fhir, writes):
        sent = _patient("Worded", 12)
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        assert [method for method, _ in writes.sent] == ["POST"]  # made once
        pid = created.json()["id"]
        read = fhir.request("GET", f"{BASE}/Patient/{pid}")
        assert created.json() == read.json() and created.headers["ETag"] == read.headers["ETag"]
        edit = {**read.json(), "birthDate": "1990-04-01"}
        updated = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json=edit, headers={**JSON, "If-Match": read.headers["ETag"]}
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["birthDate"] == "1990-04-01"
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()


# -- a create's email stored lower-cased ---------------------------------------------------------


@pytest.mark.parametrize("create_answer", ["none", "status_text"])
def test_a_patient_made_without_its_id_is_found_where_emails_are_stored_lower_cased(create_answer: str) -> None:
    # Answered without the patient's id, the patient made is found by its email: NexHealth may
    # store emails lower-cased and compare a search's term exactly (a Rails `before_save`
    # downcasing beside `where(email: ...)`). Asked as sent (`Ada.Cased@...`) it was found by no
    # one: a 502 "transient" for a patient made, which the client sent again (a 409).
    simulator = partial(create_sandbox, rate_per_minute=RATE, emails="lowered", create_answer=create_answer)
    with _gateway(simulator) as (fhir, writes):
        sent = _patient("Cased", 13)
        sent["telecom"][0]["value"] = "Ada.Cased13@Example.org"
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        assert [method for method, _ in writes.sent] == ["POST"]
        read = fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}")
        assert created.json() == read and read["name"][0]["family"] == "Cased"
        emails = [t["value"] for t in read["telecom"] if t["system"] == "email"]
        assert emails == ["ada.cased13@example.org"]  # as NexHealth stored it
