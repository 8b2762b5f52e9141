"""Patient create on the Dental PMS (`POST /patients`) and its recovery (writes.py): one
`Idempotency-Key` per client request; an answer lost, replayed, refused, failed after the patient
was stored or given only as a `Location` read as the patient it made; the lifecycle reached by
transitions; a condition on a chart number the vendor drops, or on anything else the patient as
stored could not meet (create_conditions.py), refused."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import uuid4

from gateway.contract import Resource, TenantContext, Written, create_condition
from gateway.errors import (
    AlreadyExists,
    Conflict,
    FHIRError,
    Gone,
    NotFound,
    Unprocessable,
    UpstreamUnusable,
)
from gateway.search.model import SearchQuery, TokenValue
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.client import message_of
from mappings.dentalpms.create_conditions import unselecting_condition
from mappings.dentalpms.patient import patient_to_fhir
from mappings.dentalpms.patient_lookup import PatientLookup, same_patient
from mappings.dentalpms.patient_write import (
    chart_number_path,
    patient_for_create,
    status_path,
)
from mappings.dentalpms.phones import international_phones, rewritable
from mappings.dentalpms.reader import VendorRecord
from mappings.dentalpms.statuses import NOT_ACTIVE
from mappings.dentalpms.write_base import NOTHING_WRITTEN, _chart_in_use, _chart_not_kept, _json, _status_refused
from mappings.ids import is_uuid

# How far the vendor's `Date` and its `created_at` may disagree (`_made_during`): the second
# `Date` is cut to, and two clocks a few seconds apart.
CLOCK_SLACK = timedelta(seconds=5)

READ_BACK_PAUSES = (0.25, 0.5, 1.0)  # seconds between reads of a created patient not found yet


def idempotency_key() -> str:
    """A key of its own for one client request (module docstring): a random version 4 UUID."""
    return str(uuid4())


# A replayed create answered `303 See Other` to the patient its key made (`_created`): one on the
# vendor's own origin gateway.upstream follows (a GET: the 200 patient), one elsewhere it does not.
SEE_OTHER = 303


class PatientCreate(PatientLookup):
    """Patient create and its recovery (module docstring)."""

    async def create(self, resource: Resource) -> Written:
        body = patient_for_create(resource, self._ctx)
        fields = self._phones(body.fields)
        conditioned = _condition_on_chart(create_condition(), fields.get("chart_number"), self._ctx)
        if conditioned and self._charts_dropped:
            raise _unkept_condition(fields["chart_number"], resource, self._ctx, NOTHING_WRITTEN)
        # A condition the patient as stored could not meet finds nothing when the request comes
        # again: each repeat would make another (create_conditions.py, R4 http.html#ccreate).
        unselecting = unselecting_condition(create_condition(), fields, self._ctx)
        if unselecting is not None:
            raise unselecting
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
