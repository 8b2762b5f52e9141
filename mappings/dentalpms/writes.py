"""Patient create, update and delete on the Dental PMS (`POST /patients`, `PATCH
/patients/{id}`, `POST /patients/{id}/archive`).

Create sends an `Idempotency-Key` made for the client's request, a new one each time, and
every attempt the gateway makes of that request carries the same one (gateway.upstream retries
a write with a key on a connection error, a timeout or a 5xx): a create whose answer was lost
after the patient was stored is not made twice. The key is not derived from the resource: FHIR
create (http.html#create) makes a new resource for each request, so two requests of one body
(twins, say, whom nothing the client sends tells apart) are two patients, and a client that
wants its own repeat to find the first uses `If-None-Exist`. A hash of the body, as before,
answered the second request 201 with the first request's patient. The key is a version 4
UUID: the reference does not say what form a key takes, and a service may take only a UUID (a
FastAPI header declared `UUID`/`UUID4`, Spring's `@RequestHeader UUID`, Laravel's `uuid` rule).

The reference's 409 is "Idempotency conflict (duplicate Idempotency-Key) or duplicate chart
number", and implementations differ on a repeated key: one replays the first answer (201, the
same patient, which is then this request's), another refuses it (409). As no other request
carries this request's key, a 409 to a later attempt (gateway.upstream says which attempt an
answer is to) that says it is about the key is a retry of this request refused: the patient it
made (the newest live one with the same names and birth date, compared exactly after NFC, and
the chart number sent: found among the newest patients, never by a `search` the vendor may
refuse as too short, so that a patient this request made is never answered as a chart number in
use; unless the vendor's clock says it was made before the request) is the created one, and
when the newest patients do not show it yet the answer is a 502 that says it was made (never
"nothing was created": the client would send it again). A 409 to a first attempt is the vendor
refusing the patient, never one it made. Any other 409 (a duplicate guard's, without a chart
number) is about the chart number or the patient: its holder is looked up — by chart number (one too short for the
vendor's `search` among the patients born that day, or named as the request names them) — and
when it is the patient the request describes the create is `AlreadyExists` with it (a
conditional create answers 200 with it), unless the 409 answers a retry and the vendor's own
clock (its `Date`) says the patient was made once this request's first attempt had reached it:
then it is the patient this request made, whose answer was lost (a service that does not read
the key, or checks the chart number first; `_made_during`), when it is a deleted patient
the 409 names it, otherwise it is a `Conflict` naming the chart number (without its holder when
nothing narrows the lists to it: a walk of every list, as long as the practice, is no price for
one create).

A retry answered 2xx may have made a second patient: a service that does not read the key makes
one of each attempt. The same patient made before the retry's during this request (by the
vendor's clock) is named in the answer as made twice (`_made_twice`), never archived: nothing
but names and time ties it to this request, and another request's patient archived would be a
record lost, where a duplicate named is one the practice merges.

A create answered without the patient (201 with its URL in `Location` alone, though the
reference says "Returns 201 with the created patient", or a repeated key's `303 See Other` to
an origin not followed) is the patient the `Location` names
(shown as sent, with a warning, when the vendor does not serve it yet: never a 404 to a
create), else the newest one the request describes made while it was sent (`_created`: two
such are a 502 saying the patient may have been made); before, it was a 502 once the patient
was stored, and the client's retry made a second one.

A create still answered 5xx once its retries are spent (a service failing after its patient is
stored, whose key replays that failure to every retry, as Stripe's keys replay any first answer)
is the patient the request describes made while it was sent, by the vendor's clock, when there is
exactly one (`_made_despite`), a warning saying the vendor failed; else the failure. Before, it
was the failure, and the client's resend made the patient twice.

A write refused (422, or 400) naming a phone field whose number is national (`(555) 123-4567`)
is sent once more with its phones in international form (`+15551234567`, phones.py: a service
may validate a phone without a default region and take no other), under a key of its own for a
create; taken so, every write's phones are written so from then on, and an update compares them
with the patient's in that form. Before, every create or update carrying one was a 422.

A create's lifecycle (`active: false`, a death) is the body's `status`; a service that makes
every new patient active (`status` read-only in its create body, moved by `transition-status`
alone) has it moved after the create by the transitions an update takes. `active` and
`deceased[x]` are modifiers: one the vendor refuses to reach has the patient just made archived
and the create refused, as an update is (below); should the archive fail, the answer is the
patient as kept, the element named as not stored.

Every `base_version` is sent in the form the vendor writes its versions (`_based`): a number as
documented, or text (`"3"`) to a service that writes them so and reads them back only so (Go's
`,string` field option: a number is a 400 naming no field); before, every update, status move
and versioned archive at such a vendor was refused.

Update is a PATCH with `base_version`: the version the client's `If-Match` names, else the
current record's `version` (read first), carrying only the fields the record read does not hold
as the resource sets them (patient_write.changes: a patient's own chart number sent again may be
refused as another's), none at all when every field is held already (a PATCH of `base_version`
alone may be refused: `_patch`), then, when the resource's `active` or deceased
differs from the vendor's `status`, one `POST /patients/{id}/transition-status` per step
(patient_write.status_path), each with the version the previous answer showed. An `active`
or `deceased[x]` sent that no documented transition of the patient's status reaches (a
deceased patient's death taken back, `active: true` beside a death) is a 422 before the PATCH
(patient_write.refuse_unheld_status): nothing is written. An answer
that shows no version newer than the one its write was based on is the entity as a JPA
service maps it before the ORM flushes the write (`@Version` is bumped at flush): the
patient is read again for its real version. So is one without a field `PatientOut` requires
(only what the write saved, as TypeORM's `repository.save({ id, ...dto })` returns it): before,
its absent status read as active and moved an inactive patient "to inactive", refused.
The PATCH goes first: it may carry what a transition needs (a service may take a patient to
deceased only once its `date_time_deceased` is recorded), and unlike a status the reference lets
a PATCH set every field back, which makes it the write to undo. A transition the reference
allows that the vendor refuses (422, a 409
of another writer, or a vendor without the endpoint) leaves the status as it was (a step
already taken on the way, inactive -> active before deceased, is taken back when the reference
allows it), and the PATCH is taken back: its fields PATCHed to what the record read before
held, based on the version the vendor answered this update's last write with, not the version
read after the refusal (so another writer's change since is never overwritten: that PATCH is
then refused). All set back, the
update is refused whole and says so: a 422 naming the element (`not-supported`: the modifier
cannot be stored), a 409 for a version conflict; nothing was written. Where the record cannot
be set back whole (the status step not undone, the PATCH back refused, a null the vendor
ignores), the answer is the patient as it is, the status element and each element set back
named as not stored. Before, the fields stayed new, the status old, and the answer a 200.
A vendor 409
"Version conflict" (or 412) on the PATCH is a 412 when the client sent `If-Match`; without it the
record is read again and the PATCH retried once, then it is a 409. A 409 that does not say why
is told apart by that one read: a record still at the version the PATCH was based on had no
version conflict, so the refusal was of the chart number the PATCH changes (the reference's
other 409, "duplicate chart number"), a 409 naming `Patient.identifier`, with no look-up of its
holder (a walk of every list, when the chart number is too short for the vendor's `search`). A
field sent as null to clear it (patient_write.py) that the patient still holds after the PATCH
was kept by the vendor (it read the null as "not provided", or refused it: the PATCH is then
sent again without the fields whose null a 422 or 400 names): its element is reported as not
stored (`Written.not_stored`), and the answer shows the value kept. So is a chart number a
create or PATCH sent that the patient after it does not hold (`_chart_not_kept`: a vendor whose
chart numbers the practice assigns drops one sent without a word). A create whose
`If-None-Exist` selects by that chart number (gateway.contract.conditions) is refused 422 instead
(`_unkept_condition`): its patient archived, or, once the vendor has shown it drops chart
numbers, before anything is written; before, each repeat of the request made another patient.
Delete archives the patient (the reference documents no body for it, yet a service may ask for `base_version` as its
definitions' archive endpoints do: it is sent); a patient that is absent or archived already is a
success (FHIR: deleting what is not there is not an error), as is the vendor's 404 or 422
"already archived" of a concurrent delete. A vendor 422 names the fields it refused (`loc`),
never their values; a 400 is read as that 422 (the status most frameworks give a failed
validation).
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import uuid4

from gateway.contract import Resource, TenantContext, Written, create_condition
from gateway.errors import (
    AlreadyExists,
    Conflict,
    FHIRError,
    Gone,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    UnsupportedModifier,
    UpstreamError,
    UpstreamUnusable,
)
from gateway.search.model import SearchQuery, TokenValue
from gateway.upstream.errors import error_from_response
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.client import REFUSED, DentalPmsClient, fields_of, message_of
from mappings.dentalpms.patient import patient_to_fhir
from mappings.dentalpms.patient_write import (
    changes,
    chart_number_path,
    kept_for_status,
    patient_for_create,
    patient_for_update,
    refuse_unheld_status,
    status_path,
    step_back,
)
from mappings.dentalpms.phones import PHONE_FIELDS, international_phones, rewritable
from mappings.dentalpms.reader import Reader, VendorRecord
from mappings.dentalpms.search_length import ShortestSearch, whole_value_term
from mappings.dentalpms.statuses import NOT_ACTIVE
from mappings.dentalpms.vendor import VendorCursorList, VendorPageList, VendorPatient
from mappings.ids import is_uuid

# The FHIR element each vendor field comes from (patient_write.py), to name what a 422 refused.
_FHIR_PATHS = {
    "first_name": "Patient.name.given",
    "middle_name": "Patient.name.given",
    "last_name": "Patient.name.family",
    "preferred_name": "Patient.name",
    "date_of_birth": "Patient.birthDate",
    "gender": "Patient.gender",
    "email": "Patient.telecom",
    "mobile_phone": "Patient.telecom",
    "home_phone": "Patient.telecom",
    "work_phone": "Patient.telecom",
    "address_line1": "Patient.address.line",
    "address_line2": "Patient.address.line",
    "city": "Patient.address.city",
    "state": "Patient.address.state",
    "postal_code": "Patient.address.postalCode",
    "country": "Patient.address.country",
    "chart_number": "Patient.identifier",
    "marital_status": "Patient.maritalStatus",
    "preferred_language": "Patient.communication",
    "date_time_deceased": "Patient.deceasedDateTime",
}
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
LOOKUP_PAGES = 5  # pages of the newest patients walked to find the one a refused create describes
LOOKUP_PAGE_SIZE = 50  # the documented default page size, which a service may take as its bound
PatientRecord = Callable[[str], Awaitable[VendorRecord]]
# How far the vendor's `Date` and its `created_at` may disagree (`_made_during`): the second
# `Date` is cut to, and two clocks a few seconds apart.
CLOCK_SLACK = timedelta(seconds=5)
READ_BACK_PAUSES = (0.25, 0.5, 1.0)  # seconds between reads of a created patient not found yet
NOTHING_WRITTEN = "nothing was written"
# The fields the reference marks required in `PatientOut`, the answer of every patient write: an
# answer without one of them is not the whole patient (`_record_of`).
PATIENT_OUT_REQUIRED = ("first_name", "last_name", "created_at", "updated_at", "version")


def idempotency_key() -> str:
    """A key of its own for one client request (module docstring): a random version 4 UUID."""
    return str(uuid4())


# A replayed create answered `303 See Other` to the patient its key made (`_created`): one on the
# vendor's own origin gateway.upstream follows (a GET: the 200 patient), one elsewhere it does not.
SEE_OTHER = 303
# How the vendor refuses a stale `base_version`: the reference's 409 "Version conflict", or the
# 412 Precondition Failed of a team that reads optimistic versions as HTTP preconditions.
CONFLICTS = (409, 412)


def same_patient(body: dict[str, Any], record: VendorRecord) -> bool:
    """`record` is the patient `body` describes: the same names and birth date, exactly."""
    return all(_nfc(record.get(name)) == _nfc(body.get(name)) for name in ("first_name", "last_name", "date_of_birth"))


def alike(body: dict[str, Any], record: VendorRecord) -> bool:
    """`record` may be the patient `body` describes, as a vendor may have stored its names: the
    same birth date and names but for case, accents and spacing. A refused create whose body
    only such a patient is like is not taken for a new create (`_refused_duplicate`)."""
    return record.get("date_of_birth") == body.get("date_of_birth") and all(
        _loose(record.get(name)) == _loose(body.get(name)) for name in ("first_name", "last_name")
    )


def _loose(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    marks = unicodedata.normalize("NFKD", value)
    return " ".join("".join(c for c in marks if not unicodedata.combining(c)).casefold().split())


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


class PatientWrites:
    def __init__(
        self,
        client: DentalPmsClient,
        ctx: TenantContext,
        reader: Reader,
        record: PatientRecord,
        shortest_search: ShortestSearch,
    ) -> None:
        self._client = client
        self._ctx = ctx
        self._reader = reader
        self._record = record
        # The shortest free-text `search` the vendor takes, as far as it has told: the tenant's
        # one memory of it, which the Patient search shares (`_chart_holder`).
        self._shortest_search = shortest_search
        # Whether the vendor writes its versions as text (`"version": "3"`): a write's `base_version`
        # is then sent so (`_based`), learned from each patient a write reads.
        self._text_versions = False
        # Whether the vendor drops a chart number it is sent (`_chart_not_kept`): learned from a
        # write whose patient holds another, so that a create conditional on one is refused
        # before anything is written (`_refuse_unkept_condition`).
        self._charts_dropped = False
        # Whether the vendor takes phone numbers only in international form (phones.py): learned
        # from a write refused for a national one and taken once rewritten.
        self._international_phones = False

    # -- versions -----------------------------------------------------------------------------

    def _seen(self, record: VendorRecord) -> VendorRecord:
        """`record`, a patient a write read, whose version's form (vendor.py `version_as_text`)
        says how this vendor's `base_version` is written (`_based`)."""
        self._text_versions = bool(record.get("version_as_text"))
        return record

    def _based(self, body: dict[str, Any], version: Any) -> dict[str, Any]:
        """A write `body` with its `base_version`: `version` as the vendor writes its versions. The
        reference types it `integer`, yet a service writing its integers as text (Go's
        `encoding/json` with the `,string` field option, so that no client's double rounds them)
        reads them back only as text, and refuses a JSON number, 400, naming no field; one that
        writes numbers takes numbers."""
        return {**body, "base_version": str(version) if self._text_versions and isinstance(version, int) else version}

    # -- phone numbers ------------------------------------------------------------------------

    def _phones(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A write body's `fields`, its phones in international form once the vendor has shown
        it takes no other (phones.py): so an update compares them with the form the patient
        holds (patient_write.changes), and no write is refused for them again."""
        return international_phones(fields) if self._international_phones else fields

    @staticmethod
    def _phones_named(response: UpstreamResponse) -> set[str]:
        """The phone fields a refusal (422, or 400) names; none for any other answer."""
        if response.status not in REFUSED:
            return set()
        body = _json(response)
        named = {_snake(field.split(".")[0]) for field in fields_of(body) or _fields_named(message_of(body))}
        return named & PHONE_FIELDS

    def _learn_phones(self, response: UpstreamResponse | None) -> None:
        """After a write sent again with its phones in international form: learned when the
        vendor took them (the answer names no phone field; None: nothing was left to PATCH)."""
        if response is None or not self._phones_named(response):
            self._international_phones = True

    # -- create -------------------------------------------------------------------------------

    async def create(self, resource: Resource) -> Written:
        body = patient_for_create(resource, self._ctx)
        fields = self._phones(body.fields)
        conditioned = _condition_on_chart(create_condition(), fields.get("chart_number"), self._ctx)
        if conditioned and self._charts_dropped:
            raise _unkept_condition(fields["chart_number"], resource, self._ctx, NOTHING_WRITTEN)
        warnings: tuple[str, ...] = ()
        sent_at = time.monotonic()
        response = await self._client.send("POST", "/patients", fields, {"Idempotency-Key": idempotency_key()})
        if rewritable(fields, self._phones_named(response)):
            # Refused for a national phone number (phones.py): sent again with its phones in
            # international form, under a key of its own (the refused request made nothing).
            fields = international_phones(fields)
            response = await self._client.send("POST", "/patients", fields, {"Idempotency-Key": idempotency_key()})
            self._learn_phones(response)
        took = time.monotonic() - sent_at
        if response.status == 409:
            record = await self._refused_create(fields, response, took)
        else:
            if response.status >= 500:
                # Failed, yet perhaps after the patient was stored: a vendor replaying a key's first
                # answer whatever it was gave every retry that failure again (`_made_despite`).
                made = await self._made_despite(fields, response, took)
                warnings = (
                    f"The Dental PMS answered the create HTTP {response.status}, but had made the patient "
                    f"(Patient/{made['id']}, made while it was sent)",
                )
                created = {"id": made["id"]}
            elif not 200 <= response.status < 300 and response.status != SEE_OTHER:
                raise self._error(response)
            else:
                created = await self._created(response, fields, took)
            try:
                # As stored: the answer may be the entity as mapped before the ORM flushed it.
                record = await self._served(created["id"])
            except Gone:  # deleted already by someone else: what was created is the answer
                if len(created) == 1:  # only its id: nothing to answer with
                    raise
                return Written(patient_to_fhir(created, self._ctx), body.not_stored)
            if response.attempt > 1:
                warnings += await self._made_twice(fields, record, response, took)
        self._seen(record)
        dropped = _chart_not_kept(resource, fields, record, self._ctx)
        self._charts_dropped = self._charts_dropped or bool(dropped)
        if dropped and conditioned:
            # The patient does not hold the chart number its If-None-Exist selects by: found by
            # it never, it would be made again by each repeat of this request. Archived, and the
            # create refused (should the archive fail, the 201 stands, the identifier named).
            undone = await self._undo_create(record, None)
            if undone is not None:
                raise _unkept_condition(fields["chart_number"], resource, self._ctx, undone)
        # A service may create every patient active, its status moved by transition-status
        # alone (`status` read-only in its create body): the lifecycle asked for (out of use,
        # deceased) is reached by the same transitions as an update's.
        record, refusal, _ = await self._transition(record["id"], resource, record, record.get("version"))
        unmoved = status_path(resource, record.get("status")).unmet
        if refusal is not None and unmoved:
            # `active` and `deceased[x]` are modifiers (R4 patient.html): a patient kept active
            # beside its death, or in use when asked out of use, means something else. As an
            # update refused whole, the patient just made is archived and the create refused.
            undone = await self._undo_create(record, fields.get("chart_number"))
            if undone is not None:
                raise _status_refused(record["id"], resource, record.get("status"), refusal, undone)
        lost = body.not_stored + unmoved + dropped
        return Written(patient_to_fhir(record, self._ctx), tuple(dict.fromkeys(lost)), warnings)

    async def _served(self, resource_id: str) -> VendorRecord:
        """The patient a create made, as the vendor serves it: read again a few times over about
        two seconds while it is not found (a read replica a moment behind the primary). Still
        not found, a 502 naming it: never a 404 to a create, nor a 201 without its version,
        status or stored fields, and the client told not to send it again."""
        for pause in READ_BACK_PAUSES:
            try:
                return await self._record(resource_id)
            except NotFound:
                await asyncio.sleep(pause)
        try:
            return await self._record(resource_id)
        except NotFound:
            raise UpstreamUnusable(
                f"The Dental PMS made Patient/{resource_id} but does not serve it yet: read it before sending "
                "the create again"
            ) from None

    async def _undo_create(self, record: VendorRecord, chart: str | None) -> str | None:
        """What is left once the patient a refused create made is archived (None, and the patient
        kept, when the vendor will not archive it). Its chart number is cleared first, so that
        the client's create sent again is not refused for it: a service may count an archived
        patient's chart number as in use (a unique column without a soft-delete filter)."""
        if chart:
            cleared = await self._client.send(
                "PATCH", f"/patients/{record['id']}", self._based({"chart_number": None}, record.get("version"))
            )
            if 200 <= cleared.status < 300:
                record = await self._record_of(cleared, record["id"], record.get("version"))
        archived = await self._archive(record["id"], record)
        if not 200 <= archived.status < 300:
            return None
        freed = "" if not chart or record.get("chart_number") is None else f" (still holding chart number {chart})"
        return f"Patient/{record['id']}, made without it, was archived{freed}"

    async def _created(self, response: UpstreamResponse, body: dict[str, Any], took: float) -> VendorRecord:
        """The patient a create's 2xx answer is: its body, or, when it has none (a 201 with the
        patient's URL in `Location` alone, as Spring's `ResponseEntity.created(uri).build()`
        answers, though the reference says "Returns 201 with the created patient"), `{"id"}` of
        the patient the `Location` names, else of the newest one `body` describes (the chart
        number sent too) made while this request was sent, by the vendor's clock
        (`_made_during`): the one just made. Two such made meanwhile (another request's of the
        same patient, or this request's earlier attempt) cannot be told apart: a 502 that says
        the patient may have been made.

        A `303 See Other` is read the same way: a service may answer a create's repeated key so,
        "the original response" being the patient it made (RFC 9110 section 15.4.4: the result
        of the POST is at `Location`). gateway.upstream follows one on the vendor's origin; one
        to an absolute URL elsewhere (the address the service listens on behind its proxy, which
        built the URL without the forwarded headers) it does not, and its id is read here, the
        patient then read from the vendor's own origin. Before, that was a 502 for a patient
        made, and the client's resend made a second one."""
        answer = _json(response)
        if isinstance(answer, dict) and answer:
            return self._reader.patient(answer, "The created patient")
        location = next((value for name, value in response.headers.items() if name.lower() == "location"), "")
        made = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].lower()
        if is_uuid(made):
            return {"id": made}
        chart = body.get("chart_number")

        def during(record: VendorRecord) -> bool:
            return _made_during(record, response, took) is True

        # The chart number sent, which the vendor took, is this patient's alone among the live
        # ones; without one, only a patient the vendor's clock says was made meanwhile.
        found = await self._newest_holding(body, chart, None if chart else during)
        if found is None:
            raise UpstreamUnusable(
                f"The Dental PMS took the create (HTTP {response.status}) without naming the patient, and no "
                "patient like it is found made meanwhile: it may have been created; search for it before "
                "sending it again"
            )
        if not chart:  # is it the only one made meanwhile?
            other = await self._newest_holding(body, None, lambda r: during(r) and r["id"] != found["id"])
            if other is not None:
                raise UpstreamUnusable(
                    f"The Dental PMS took the create (HTTP {response.status}) without naming the patient, and "
                    f"Patient/{found['id']} and Patient/{other['id']}, both like it, were made meanwhile: "
                    "search for them before sending it again"
                )
        return {"id": found["id"]}

    async def _made_despite(self, body: dict[str, Any], response: UpstreamResponse, took: float) -> VendorRecord:
        """The patient a create answered with a 5xx (`response`, its retries with the same key
        spent) had made all the same, else the vendor's failure raised. A service may fail after
        its patient is stored (an event it publishes, a hook), and one whose keys replay the
        first answer whatever it was (Stripe's "regardless of whether it succeeded or failed ...
        including 500 errors") answers every retry that failure again: told only the failure,
        the client sends the create again and the patient is made twice. The patient made is the
        one `body` describes (the chart number sent too, when one was) made while this request
        was sent, by the vendor's clock (`_made_during`: never a patient made before), and the
        only such one (two cannot be told apart: the failure stands, saying the patient may have
        been made). Without the vendor's `Date`, or when the look-up fails too, nothing tells:
        the failure stands."""
        if not any(name.lower() == "date" for name in response.headers):
            raise self._error(response)
        chart = body.get("chart_number")

        def during(record: VendorRecord) -> bool:
            return _made_during(record, response, took) is True

        try:
            found = await self._newest_holding(body, chart, during)
            # A chart number sent is one live patient's alone; without one, another made meanwhile
            # (another request's of the same person) cannot be told from this request's.
            other = (
                None
                if found is None or chart
                else await self._newest_holding(body, None, lambda r: during(r) and r["id"] != found["id"])
            )
        except FHIRError:
            raise self._error(response) from None
        if found is not None and other is None:
            return found
        error = self._error(response)
        if found is not None and other is not None and isinstance(error, FHIRError):
            error.issues.append(
                (
                    f"Patient/{found['id']} and Patient/{other['id']}, both like it, were made while it was sent: "
                    "one may be this request's; search for them before sending it again",
                    None,
                )
            )
        raise error

    async def _made_twice(
        self, body: dict[str, Any], record: VendorRecord, response: UpstreamResponse, took: float
    ) -> tuple[str, ...]:
        """What the client should know of a retried create answered 2xx with `record`: a service
        that does not read the `Idempotency-Key` (the reference names it only in the error list)
        makes a patient of each attempt. The same patient (same names, birth date and chart
        number), made before `record` while this request was sent (by the vendor's clock:
        `_made_during`), is named as the one an earlier attempt may have made; without a `Date`
        to tell when, the newest such patient made before `record` is named as possibly so.

        Neither is archived: nothing ties that patient to this request but its names and time,
        and another request's patient (a second front desk, the client's own resend) archived
        would be a record lost, where a duplicate named is one the practice merges."""

        def earlier(candidate: VendorRecord) -> bool:
            return (
                candidate["id"] != record["id"]
                and same_patient(body, candidate)
                and body.get("chart_number") in (None, candidate.get("chart_number"))
                and _made_during(candidate, response, took) is not False
                and not _made_after(candidate, record)
            )

        for status in (None, *NOT_ACTIVE):
            first = await self._newest_like(body, status, earlier)
            if first is not None:
                dated = _made_during(first, response, took) is not None
                return (
                    f"The Dental PMS {'made' if dated else 'may have made'} this patient twice (an answer lost, the "
                    f"create sent again): Patient/{first['id']} is the same patient, made "
                    f"{'during this request' if dated else 'before it'}; merge them at the practice",
                )
        return ()

    async def _refused_create(self, body: dict[str, Any], response: UpstreamResponse, took: float) -> VendorRecord:
        """The patient a create refused with 409 made after all (the vendor refused a retry of
        this request: module docstring); else `AlreadyExists` with the live patient `body`
        describes, or a `Conflict` naming the chart number (and its holder when deleted)."""
        message = message_of(_json(response))
        chart = body.get("chart_number")
        # About this request's own key only when the gateway sent it more than once (the
        # answer to an earlier attempt lost): on a first attempt no other request holds the key,
        # and a 409 is the vendor's own refusal (a duplicate it guards against), never a patient
        # this request made.
        key_refused = response.attempt > 1 and "idempotency" in message.lower()
        if key_refused and chart:
            # The patient this request made holds the chart number sent, among the newest
            # patients: found without the chart number as a `search` (a vendor may take none
            # that short) and without a birth date or a name to narrow a list by.
            made = await self._newest_holding(body, chart)
            if made is not None:
                return made
        existing = await self._find_described(body)
        if existing is not None and same_patient(body, existing) and not existing.get("deleted_at"):
            # This request's own patient only on evidence beyond names and a birth date, which
            # another request's patient made meanwhile shares (taken for this one's, it would
            # be moved to this request's lifecycle, or archived): the key refused (only this
            # request holds it) unless the vendor's clock says the patient is older, or the
            # chart number sent held by a patient made while the request was sent.
            during = _made_during(existing, response, took) if response.attempt > 1 else False
            if key_refused and during is not False:
                return existing
            if chart and existing.get("chart_number") == chart and during:
                return existing
            if not key_refused:
                lately = " (made while this create was sent: perhaps by its first attempt, whose answer was lost)"
                raise AlreadyExists(
                    f"This patient exists already as Patient/{existing['id']}{lately if during else ''}",
                    existing=patient_to_fhir(existing, self._ctx),
                )
        if key_refused:
            # The key is this request's alone: its first attempt made the patient, which the
            # newest patients do not show yet (a list served from an index a moment behind).
            raise UpstreamUnusable(
                "The Dental PMS refused the create sent again as a repeat of its first attempt, which made the "
                "patient, but does not list that patient yet: search for it before sending the create again"
            )
        if chart:
            if existing is not None and existing.get("deleted_at") and existing.get("chart_number") == chart:
                raise Conflict(
                    f"Chart number {chart} belongs to the deleted Patient/{existing['id']}",
                    expression="Patient.identifier",
                )
            raise _chart_in_use(chart)
        raise Conflict(
            f"The Dental PMS refused the create ({message or 'conflict'}) and shows no patient it made; "
            "nothing was created"
        )

    async def _find_described(self, body: dict[str, Any]) -> VendorRecord | None:
        """The patient `body` describes: a live one first (in any status: a vendor's list may
        answer only active patients unless asked for another, mappings.dentalpms.statuses),
        else an archived one."""
        chart = body.get("chart_number")
        if chart:
            return await self._by_chart_number(chart, body)
        for status in (None, *NOT_ACTIVE, "archived"):
            found = await self._newest_like(body, status)
            if found is not None:
                return found
        return None

    async def _by_chart_number(self, chart: str, body: dict[str, Any]) -> VendorRecord | None:
        """The patient (archived ones too) holding `chart`, when it is the one `body` describes
        or turns up in a list narrowed to it. Each status is asked for in turn once the list
        without one has not got it (it may answer only active patients:
        mappings.dentalpms.statuses). `ChartHolderUnknown` when a list could not be read far
        enough to tell (`_chart_holder`)."""
        unseen = False  # some list had more patients than were read
        narrowing = self._narrowing(body)
        for status in (None, *NOT_ACTIVE, "archived"):
            found, whole = await self._chart_holder(chart, {"status": status} if status else {}, narrowing)
            if found is not None:
                return found
            unseen = unseen or not whole
        if unseen:
            raise ChartHolderUnknown(chart)
        return None

    def _narrowing(self, body: dict[str, Any]) -> dict[str, str] | None:
        """How a list is narrowed to the patient `body` describes without the chart number as
        the `search` (`_chart_holder`): by its birth date (`dob_to` a day later: it may be read
        as exclusive, adapter.py), else by a name the vendor's `search` finds as itself under
        every reading (search_length.whole_value_term), the longer of its last and first name,
        the newest patients first (a retried create's patient is among them); None when neither
        can (no birth date, names with accents)."""
        born = body.get("date_of_birth")
        if born:
            return {"dob_from": born, "dob_to": (date.fromisoformat(born) + timedelta(days=1)).isoformat()}
        names = (body.get("last_name"), body.get("first_name"))
        found = [n for n in names if isinstance(n, str) and whole_value_term(n) and self._shortest_search.takes(n)]
        if not found:
            return None
        return {"search": max(found, key=len), "sort_by": "created_at", "sort_dir": "desc"}

    async def _chart_holder(
        self, chart: str, status: dict[str, str], narrowing: dict[str, str] | None
    ) -> tuple[VendorRecord | None, bool]:
        """The patient of the list filtered by `status` holding `chart`, and whether the list
        was read to its end. The list's free text finds a whole chart number under every reading
        of it (search_length.whole_value_term); the match is exact here. The docs give `search`
        no minimum length, but a service may refuse a shorter term than it takes and a chart
        number may be shorter (`7`): the list is then read `narrowing` (no term as short is sent
        again). By a birth date, every patient born that day; by a name, only the patients so
        named, which is enough: another holder is a chart number in use, whoever it is
        (`_refused_duplicate`). Without either, only a walk of every patient of every status
        would find the holder, as many requests as the practice has pages: `ChartHolderUnknown`
        instead. Refused again (raised), the refusal was not of the term; a name refused too,
        the holder is unknown."""
        refused = False
        if whole_value_term(chart) and self._shortest_search.takes(chart):
            try:
                return await self._chart_in_pages(chart, {**status, "search": chart}, 1)
            except InvalidRequest:
                refused = True
        if narrowing is None:
            raise ChartHolderUnknown(chart)
        named = "search" in narrowing
        try:
            # A name is read a page deep, newest first; the patients of a birth date to the end.
            found = await self._chart_in_pages(chart, {**status, **narrowing}, 1 if named else None)
        except InvalidRequest:
            if not named:
                raise
            raise ChartHolderUnknown(chart) from None
        if refused:  # the same list, narrowed otherwise, answered: the term was too short for it
            self._shortest_search.refused(chart)
        return found

    async def _chart_in_pages(
        self, chart: str, filters: dict[str, str], pages: int | None
    ) -> tuple[VendorRecord | None, bool]:
        """The patient holding `chart` in the first `pages` pages (None: all) of the page list
        filtered by `filters`, and whether those pages were the whole list."""
        page = 1
        while True:
            params: dict[str, str | int] = {**filters, "page": page, "page_size": LOOKUP_PAGE_SIZE}
            try:
                raw = await self._client.get("/patients", params)
            except NotFound:  # past the end; page 1 of an empty list for some implementations
                return None, True
            listing = self._reader.one("patient_page", VendorPageList, raw, "A Dental PMS patient list")
            records, _ = self._reader.records("patient", VendorPatient, listing.items, lambda *_: "A patient")
            for record in records:
                if record.get("chart_number") == chart:
                    return record, True
            if not listing.has_more(page, LOOKUP_PAGE_SIZE):
                return None, True
            if page == pages:
                return None, False
            page += 1

    async def _newest_holding(
        self, body: dict[str, Any], chart: str | None, wanted: Callable[[VendorRecord], bool] | None = None
    ) -> VendorRecord | None:
        """The newest live patient, of any status, that is the one `body` describes and holds
        `chart` (when given), and is `wanted`: one this request made (`_refused_create`,
        `_created`)."""

        def holding(record: VendorRecord) -> bool:
            return (
                same_patient(body, record)
                and (chart is None or record.get("chart_number") == chart)
                and (wanted is None or wanted(record))
            )

        for status in (None, *NOT_ACTIVE):
            found = await self._newest_like(body, status, holding)
            if found is not None:
                return found
        return None

    async def _newest_like(
        self, body: dict[str, Any], status: str | None = None, wanted: Callable[[VendorRecord], bool] | None = None
    ) -> VendorRecord | None:
        """The newest patient in `status` (None: as the list answers without one; `archived`:
        deleted ones) with the body's names and birth date (and `wanted`, when given): a refused
        retry's first create is among the newest (sorted by `created_at`, newest first; birth
        date filtered)."""
        archived = status == "archived"
        params: dict[str, str | int] = {"first": LOOKUP_PAGE_SIZE, "sort_by": "created_at", "sort_dir": "desc"}
        if body.get("date_of_birth"):  # `dob_to` a day later: it may be read as exclusive (adapter.py)
            params["dob_from"] = body["date_of_birth"]
            params["dob_to"] = (date.fromisoformat(body["date_of_birth"]) + timedelta(days=1)).isoformat()
        if status:
            params["status"] = status
        for _ in range(LOOKUP_PAGES):
            try:
                raw = await self._client.get("/patients/cursor", params)
            except NotFound:  # a list matching no one, answered `NotFound()` (adapter.py `_cursor_page`)
                return None
            listing = self._reader.one("patient_cursor_page", VendorCursorList, raw, "A Dental PMS patient list")
            records, _ = self._reader.records("patient", VendorPatient, listing.data, lambda *_: "A patient")
            for record in records:
                if (
                    alike(body, record)
                    and bool(record.get("deleted_at")) == archived
                    and (wanted is None or wanted(record))
                ):
                    return record
            following = listing.following(LOOKUP_PAGE_SIZE)
            if following is None:
                return None
            params["after"] = following
        return None

    # -- update -------------------------------------------------------------------------------

    async def update(self, resource_id: str, resource: Resource, if_match: str | None) -> Written:
        body = patient_for_update(resource, self._ctx)
        owned = self._phones(body.fields)
        current = self._seen(await self._record(resource_id))
        if current.get("deleted_at"):
            raise Gone(f"Patient/{resource_id} has been deleted")
        if if_match is not None and if_match != str(current.get("version")):
            raise _stale(resource_id, if_match)
        base = current.get("version")
        unsendable: set[str] = set()  # fields whose null the vendor refused (`_refused_nulls`)
        fields = owned
        response: UpstreamResponse | None = None  # None: nothing to PATCH
        for attempt in range(2):
            # An `active` or `deceased[x]` no status transition of this patient reaches is refused
            # before the PATCH (a modifier dropped would store a record meaning something else):
            # checked again against the record a retry is based on, whose status may have moved.
            refuse_unheld_status(resource, current.get("status"))
            # A deceased patient's date stays while its status cannot go (kept_for_status). Only
            # what the record read does not hold already (patient_write.changes): its own chart
            # number sent again may be refused as another patient's.
            fields = kept_for_status(owned, resource, current.get("status"))
            sent = {name: value for name, value in changes(fields, current).items() if name not in unsendable}
            response = await self._patch(resource_id, sent, base)
            if response is not None and rewritable(sent, self._phones_named(response)):
                # Refused for a national phone number (phones.py): its phones in international
                # form, measured against the record again (it may hold them so already).
                owned = international_phones(owned)
                fields = kept_for_status(owned, resource, current.get("status"))
                sent = {name: value for name, value in changes(fields, current).items() if name not in unsendable}
                response = await self._patch(resource_id, sent, base)
                self._learn_phones(response)
            while response is not None and response.status in REFUSED and (refused := _refused_nulls(sent, response)):
                # The vendor takes no null for these fields: they are sent no more, and what the
                # patient still holds of them is reported not stored (`_not_cleared`).
                unsendable |= refused
                sent = {name: value for name, value in sent.items() if name not in refused}
                response = await self._patch(resource_id, sent, base)
            if response is None or response.status not in CONFLICTS:
                break
            message = message_of(_json(response)).lower()
            chart = sent.get("chart_number")
            if chart and "chart" in message:
                raise _chart_in_use(chart)
            # A 409 that does not say why (Spring Boot's default error body gives the reason
            # phrase only) may be the chart number, which no retry resolves, as well as the
            # version. The record read again tells them apart in one call (the one a retry
            # needs anyway): a version conflict has moved its version past `base`; still at
            # `base`, the refusal was of something else, the reference's other 409 "duplicate
            # chart number" when the PATCH changes it. A 412 is only ever the version.
            said = "version" in message or response.status == 412
            retrying = if_match is None and attempt == 0  # on the version read again
            now = await self._record(resource_id) if retrying or not said else None
            if not said and now is not None and str(now.get("version")) == str(base):
                if isinstance(chart, str) and chart and chart != now.get("chart_number"):
                    raise _chart_in_use(chart)
                raise Conflict(f"The Dental PMS refused the update of Patient/{resource_id}: {message or 'conflict'}")
            if if_match is not None:
                raise _stale(resource_id, if_match)
            if not retrying or now is None:
                raise Conflict(f"Patient/{resource_id} kept changing at the vendor; try the update again")
            base, current = now.get("version"), now  # what the retry sends is measured against it
        if response is not None and response.status == 404:
            raise NotFound(f"Patient/{resource_id} does not exist")
        updated = current if response is None else await self._record_of(response, resource_id, base)
        own = current.get("version") if response is None else _own_version(response, base, updated)
        updated, refusal, own = await self._transition(resource_id, resource, updated, own)
        taken_back: tuple[str, ...] = ()
        if refusal is not None and updated.get("status") == current.get("status"):
            # The status stays as it was (any step on the way taken back): the PATCH is taken
            # back too, so that a refused update changes nothing (module docstring), based on
            # this update's own last write: never over another writer's change since.
            if sent:
                updated = await self._take_back(resource_id, sent, current, own, refusal)
            taken_back = _taken_back(sent, current, updated)
            if len(taken_back) == len(sent):
                raise _status_refused(resource_id, resource, current.get("status"), refusal)
        not_stored = (
            body.not_stored + _not_cleared(fields, updated) + status_path(resource, updated.get("status")).unmet
        )
        not_stored += tuple(dict.fromkeys(_element(name) for name in taken_back))
        if "chart_number" not in taken_back:
            dropped = _chart_not_kept(resource, sent, updated, self._ctx)
            self._charts_dropped = self._charts_dropped or bool(dropped)
            not_stored += dropped
        return Written(patient_to_fhir(updated, self._ctx), tuple(dict.fromkeys(not_stored)))

    async def _patch(self, resource_id: str, sent: dict[str, Any], base: Any) -> UpstreamResponse | None:
        """The PATCH of the fields `sent` based on version `base`; None, and nothing sent, when
        there are none. A PATCH of `base_version` alone would change nothing, and a service may
        refuse it (a FastAPI handler's `if not update_data: raise HTTPException(400, "No fields to
        update")`): an update changing only the lifecycle, or nothing, would be a 422."""
        if not sent:
            return None
        return await self._client.send("PATCH", f"/patients/{resource_id}", self._based(sent, base))

    async def _take_back(
        self, resource_id: str, sent: dict[str, Any], before: VendorRecord, own: Any, refusal: Refusal
    ) -> VendorRecord:
        """The patient once the fields a PATCH `sent` are set back to their values `before` it,
        by a PATCH based on `own`, the version this update's last write made (None: unknown,
        the version read now): a record another writer has changed since is refused, and left
        as it is, and the update is a 409 (what it wrote may remain under the other change:
        neither a 200 for an update whose status never moved nor "nothing was written" is
        true). Otherwise the patient as it then is."""
        if own is None:
            own = (await self._record(resource_id)).get("version")
        previous = {name: before.get(name) for name in sent}
        response = await self._client.send("PATCH", f"/patients/{resource_id}", self._based(previous, own))
        if response.status in CONFLICTS:
            raise Conflict(
                f"Patient/{resource_id} changed at the Dental PMS while this update was applied: the move to "
                f"status {refusal.status} was refused, and what the update wrote is not set back over the other "
                "change, so part of it may remain: read it and try again"
            )
        if not 200 <= response.status < 300:
            return await self._record(resource_id)
        return await self._record_of(response, resource_id, own)

    async def _record_of(self, response: UpstreamResponse, resource_id: str, based_on: Any = None) -> VendorRecord:
        """The patient a successful PATCH or transition based on version `based_on` answered
        (read when the answer has none, or shows no newer version: module docstring)."""
        if 200 <= response.status < 300 and not isinstance(_json(response), dict):
            return await self._record(resource_id)  # an answer without the record (e.g. 204): read it
        record = self._answer(response, f"Patient/{resource_id}")
        if any(record.get(name) is None for name in PATIENT_OUT_REQUIRED):
            # Not the whole patient: only what the write saved (TypeORM's `save({ id, ...dto })`
            # returns the partial entity it was given). Its other fields are not the patient's
            # (its status, absent, reads as the default), so the patient is read.
            return await self._record(resource_id)
        version = record.get("version")
        if isinstance(version, int) and isinstance(based_on, int) and version <= based_on:
            # The write landed (a 2xx) but its answer is the entity as mapped before the ORM
            # flushed it: JPA bumps `@Version` (and `@UpdateTimestamp`) at flush. That version
            # is stale: the next transition-status based on it is a 409, and a client's
            # If-Match of the versionId served a 412. The record as stored has the real one.
            return await self._record(resource_id)
        return record

    async def _transition(
        self, resource_id: str, resource: Resource, record: VendorRecord, own: Any
    ) -> tuple[VendorRecord, Refusal | None, Any]:
        """`record` (whose version this update's last write made `own`) moved to the status
        `resource` describes (module docstring), the transition the vendor refused on the way
        (None when none was), and the version this update's last write made then (what a
        take-back is based on: `_take_back`). After a refusal the patient is read again: it
        may hold another writer's change."""
        original = record.get("status")
        path = status_path(resource, original)
        for taken, step in enumerate(path.steps):
            response = await self._move(resource_id, record, step)
            if not 200 <= response.status < 300:
                # Refused (422), changed meanwhile (409) or not offered (404). A step already
                # taken (inactive -> active on the way to deceased) is taken back when the
                # reference allows it, with the version of this update's last write: the
                # client asked for neither.
                back = step_back(path.steps[taken - 1], original) if taken else None
                undone = await self._move(resource_id, record, back) if back is not None else None
                if undone is not None and 200 <= undone.status < 300:
                    based_on = record.get("version")
                    record = await self._record_of(undone, resource_id, based_on)
                    own = _own_version(undone, based_on, record)
                    return record, Refusal(step, response), own
                return await self._record(resource_id), Refusal(step, response), own
            based_on = record.get("version")
            record = await self._record_of(response, resource_id, based_on)
            own = _own_version(response, based_on, record)
        return record, None, own

    async def _move(self, resource_id: str, record: VendorRecord, status: str) -> UpstreamResponse:
        """One `transition-status` of `record` to `status`."""
        return await self._client.send(
            "POST",
            f"/patients/{resource_id}/transition-status",
            self._based({"new_status": status}, record.get("version")),
        )

    # -- delete -------------------------------------------------------------------------------

    async def delete(self, resource_id: str) -> None:
        try:
            current = self._seen(await self._record(resource_id))
        except (NotFound, Gone):
            return
        if current.get("deleted_at"):
            return
        # The version read, which the reference does not ask of a patient's archive but does of
        # its definitions' (`base_version` required): a service may share one model among them,
        # and one that takes no body does not read it. Stale (another write landed since), the
        # patient is read again and the archive sent once more.
        response = await self._archive(resource_id, current)
        if response.status in CONFLICTS:
            current = await self._record(resource_id)
            if current.get("deleted_at"):
                return
            response = await self._archive(resource_id, current)
        if 200 <= response.status < 300:
            return
        if response.status in (404, 410, *REFUSED) and await self._archived(resource_id):
            return  # a concurrent delete got there first
        if response.status in REFUSED:  # e.g. "Patient is guarantor for active dependents"
            raise Conflict(f"The Dental PMS refused to archive Patient/{resource_id}: {message_of(_json(response))}")
        raise self._error(response)

    async def _archive(self, resource_id: str, record: VendorRecord) -> UpstreamResponse:
        return await self._client.send(
            "POST", f"/patients/{resource_id}/archive", self._based({}, record.get("version"))
        )

    async def _archived(self, resource_id: str) -> bool:
        try:
            return bool((await self._record(resource_id)).get("deleted_at"))
        except NotFound:
            return True

    # -- answers ------------------------------------------------------------------------------

    def _answer(self, response: UpstreamResponse, who: str) -> VendorRecord:
        if not 200 <= response.status < 300:
            raise self._error(response)
        return self._reader.patient(_json(response), who)

    @staticmethod
    def _error(response: UpstreamResponse) -> Exception:
        body = _json(response)
        if response.status in REFUSED:
            fields = fields_of(body) or _fields_named(message_of(body))
            paths = [_FHIR_PATHS.get(_snake(field.split(".")[0]), "Patient") for field in fields]
            # Each field as the reference names it (a service may name its own property, `Email`).
            named = [_snake(field) for field in fields]
            what = ", ".join(f"{f} ({p})" for f, p in zip(named, paths, strict=True)) if fields else message_of(body)
            return Unprocessable(
                f"The Dental PMS refused the patient: {what or 'invalid'}", expression=paths[0] if paths else None
            )
        return error_from_response(response, message_of)


@dataclass(frozen=True)
class Refusal:
    """A `transition-status` the vendor did not take: the status asked for, and its answer."""

    status: str
    response: UpstreamResponse


def _element(field: str) -> str:
    """The FHIR element a vendor field holds, as an update reports it not stored."""
    return ".".join(_FHIR_PATHS.get(field, "Patient").split(".")[:2])


def _taken_back(sent: dict[str, Any], before: VendorRecord, record: VendorRecord) -> tuple[str, ...]:
    """The fields a PATCH `sent` that `record` holds as they were `before` it (a null as an
    empty text: the vendor may write either)."""
    return tuple(name for name in sent if _same(record.get(name), before.get(name)))


def _own_version(response: UpstreamResponse, based_on: Any, record: VendorRecord) -> Any:
    """The version a successful write based on version `based_on` made, `record` the patient
    after it (`_record_of`): as answered when newer; else, for integer versions, `based_on`
    itself when `record` is still at it (the write did not move the version: versions only
    ever grow, so no other writer's change is in between), else the next one (optimistic
    versioning: one write, one version; an answer showing none newer is the entity as mapped
    before the ORM flushed it, and the record read again may already hold another writer's
    change); else None (unknown).

    A service may leave `version` as it was on a PATCH: the reference says a PATCH "Requires
    base_version for optimistic concurrency control", not that it moves it (a Django REST
    Framework `partial_update` saving only the fields sent, its `version` moved by the
    lifecycle's own service functions; a version column bumped by a status trigger alone). The
    next one assumed there, a take-back was based on a version the patient never had: refused
    409, and the update's PATCH stayed written under a refused status."""
    answer = _json(response)
    version = answer.get("version") if isinstance(answer, dict) else None
    if isinstance(based_on, int):
        if isinstance(version, int) and version > based_on:
            return version
        return based_on if record.get("version") == based_on else based_on + 1
    return version if version is not None and version != based_on else None


def _same(value: Any, other: Any) -> bool:
    return value == other or (value in (None, "") and other in (None, ""))


def _status_refused(
    resource_id: str, resource: Resource, status: Any, refusal: Refusal, outcome: str = NOTHING_WRITTEN
) -> FHIRError:
    """The error for an update taken back whole (a create undone) after the vendor refused the
    transition to `refusal.status` (the patient was in `status`); `outcome` says what is left."""
    if refusal.response.status == 429 or refusal.response.status >= 500:
        # Not a refusal of the status: the vendor's limit or failure, as any other call's (a 429
        # keeps its Retry-After); the write, taken back, may be sent again as it is.
        error = error_from_response(refusal.response, message_of)
        if outcome != NOTHING_WRITTEN:
            error.issues.append((f"{outcome}: send it again", None))
        return error
    message = message_of(_json(refusal.response)) or f"HTTP {refusal.response.status}"
    if refusal.response.status in CONFLICTS:
        return Conflict(
            f"Patient/{resource_id} changed at the Dental PMS while its status was moved ({message}); "
            f"{outcome}: read it and try again"
            if outcome == NOTHING_WRITTEN
            else f"{outcome}: try again"
        )
    element = status_path(resource, status).element or "Patient.active"
    return UnsupportedModifier(
        f"{element}: the Dental PMS refused to move Patient/{resource_id} from status {status} to "
        f"{refusal.status} ({message}); stored without it the record would mean something else: {outcome}",
        expression=element,
    )


def _not_cleared(sent: dict[str, Any], record: VendorRecord) -> tuple[str, ...]:
    """The elements of the fields the PATCH sent as null (to clear them) that `record`, the
    patient after it, still holds. The reference's PATCH modifies "only provided fields", and a
    service may read a null as not provided (FastAPI's `exclude_none`); it documents no other
    way to clear a patient field (only the custom field values' upsert says "Send a null value
    to clear a field"; an empty string is not said to clear anything), so none is tried."""
    kept = (name for name, value in sent.items() if value is None and record.get(name) not in (None, ""))
    return tuple(dict.fromkeys(_element(name) for name in kept))


def _chart_not_kept(
    resource: Resource, sent: dict[str, Any], record: VendorRecord, ctx: TenantContext
) -> tuple[str, ...]:
    """The identifier of `resource` that the chart number a write `sent` came from, when `record`,
    the patient after that write, holds another: a service whose chart numbers the practice
    assigns drops one sent without a word (the field read-only in its serializer, left out of a
    Laravel model's `$fillable` or of Rails' permitted parameters; the reference lists
    `chart_number` in both bodies and says nothing of who assigns it). FHIR identifiers match
    exactly (search.html#token), so a chart number stored in another spelling is not the one sent."""
    chart = sent.get("chart_number")
    if not chart or record.get("chart_number") == chart:
        return ()
    return (chart_number_path(resource, ctx),)


def _condition_on_chart(condition: SearchQuery | None, chart: Any, ctx: TenantContext) -> bool:
    """Whether a create's `If-None-Exist` (`condition`) selects by the chart number `chart` it
    sends: an `identifier` of that value, of the tenant's chart-number system or of any."""
    if condition is None or not chart:
        return False
    system = ctx.system("chart-number")
    return any(
        isinstance(value, TokenValue) and value.code == chart and value.system in (None, system)
        for param in condition.named("identifier")
        if param.modifier is None
        for value in param.values
    )


def _unkept_condition(chart: str, resource: Resource, ctx: TenantContext, outcome: str) -> Unprocessable:
    """The refusal of a create whose `If-None-Exist` selects by a chart number the vendor drops
    (`_chart_not_kept`): R4 http.html#ccreate makes the condition what finds the record when the
    request is sent again, and the patient made would never hold that chart number, so each
    repeat would make another. Matching the repeat by the patient's other fields instead (names,
    birth date) is not the condition the client sent and would take one person for another
    (twins, namesakes born the same day); so the create is refused, saying what is left."""
    return Unprocessable(
        f"If-None-Exist selects by chart number {chart}, which this Dental PMS does not store as sent (it "
        "gives every patient a chart number of its own): the patient made would never be found by it, and "
        f"the same request sent again would make another; {outcome}. Send the create without that condition, "
        "or search for the patient by other fields first",
        expression=chart_number_path(resource, ctx),
    )


def _refused_nulls(sent: dict[str, Any], response: UpstreamResponse) -> set[str]:
    """The fields `sent` as null (to clear them) that the vendor's refusal names: a service may
    take no null for a field (Django REST Framework's `allow_null=False`, the default where the
    column is not nullable, as Django's text columns are not; a Laravel rule without
    `nullable`), and the reference documents no other way to clear one (`_not_cleared`)."""
    body = _json(response)
    named = {_snake(field.split(".")[0]) for field in fields_of(body) or _fields_named(message_of(body))}
    return {name for name in named if name in sent and sent[name] is None}


def _made_during(record: VendorRecord, response: UpstreamResponse, took: float) -> bool | None:
    """Whether `record` was made while this create was being sent, by the vendor's own clock:
    its `created_at` no earlier than the vendor's `Date` (RFC 9110 section 6.6.1) less `took`,
    the seconds the attempts took, and no later than that `Date`; `CLOCK_SLACK` more each way
    for `Date`'s resolution, a `created_at` kept to the second, and the database's clock running
    apart from the one that wrote `Date` (a proxy's: nginx writes its own). A patient made
    before is another request's; one dated after the answer is no patient of it either. None
    when nothing tells (no `Date`, no readable `created_at`). Never the only evidence that a
    patient is this request's (`_refused_create`)."""
    stamp = next((value for name, value in response.headers.items() if name.lower() == "date"), "")
    made = _created_at(record)
    if not stamp or made is None:
        return None
    try:
        vendor_now = parsedate_to_datetime(stamp)
    except (TypeError, ValueError):
        return None
    if vendor_now.tzinfo is None:
        vendor_now = vendor_now.replace(tzinfo=UTC)
    return vendor_now - timedelta(seconds=took) - CLOCK_SLACK <= made <= vendor_now + CLOCK_SLACK


def _made_after(record: VendorRecord, other: VendorRecord) -> bool:
    """`record` was made after `other` by their `created_at` (False when either is unreadable)."""
    mine, theirs = _created_at(record), _created_at(other)
    return mine is not None and theirs is not None and mine > theirs


def _created_at(record: VendorRecord) -> datetime | None:
    created = record.get("created_at")
    if not isinstance(created, str):
        return None
    try:
        made = datetime.fromisoformat(created.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return made if made.tzinfo is not None else made.replace(tzinfo=UTC)  # naive: UTC (vendor.py)


def _chart_in_use(chart: Any) -> Conflict:
    return Conflict(f"Chart number {chart} belongs to another patient", expression="Patient.identifier")


class ChartHolderUnknown(Conflict):
    """A create refused for a chart number whose holder the lists cannot tell in a few requests
    (`PatientWrites._chart_holder`): still the 409 naming the identifier, without the holder."""

    def __init__(self, chart: str) -> None:
        super().__init__(
            f"Chart number {chart} is in use at the Dental PMS; nothing was created. The vendor does not "
            "say which patient holds it (this one, created before, or another), and finding it would take "
            "a walk of every patient list",
            expression="Patient.identifier",
        )


def _snake(field: str) -> str:
    """A field as the reference names it: a validation error may name the service's own
    property instead (`dateOfBirth`, `addressLine1`: Spring's FieldError, Bean Validation)."""
    return _CAMEL_HUMP.sub("_", field).lower()


def _fields_named(text: str) -> list[str]:
    """Body fields a validation message given as text names (`"email: ...; city: ..."`)."""
    return [part.split(":", 1)[0].strip() for part in text.split(";") if part.split(":", 1)[0].strip() in _FHIR_PATHS]


def _stale(resource_id: str, version: str) -> PreconditionFailed:
    return PreconditionFailed(f"Patient/{resource_id} has changed since version {version}; read it again first")


def _json(response: UpstreamResponse) -> Any:
    try:
        return response.json()
    except UpstreamError:
        return None
