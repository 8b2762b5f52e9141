"""What every Dental PMS patient write shares (writes.py says how each write reads the vendor):
the tenant's lessons of the vendor (its versions' form, its phones' form, whether it drops chart
numbers), a write's `base_version`, the version a write made, the patient an answer is, the
`transition-status` steps, the archive, and the refusals as FHIR errors."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.contract import Resource, TenantContext
from gateway.errors import (
    Conflict,
    FHIRError,
    Unprocessable,
    UnsupportedModifier,
    UpstreamError,
)
from gateway.upstream.errors import error_from_response
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.client import REFUSED, DentalPmsClient, fields_of, message_of
from mappings.dentalpms.patient_write import (
    chart_number_path,
    status_path,
    step_back,
)
from mappings.dentalpms.phones import PHONE_FIELDS, international_phones
from mappings.dentalpms.reader import Reader, VendorRecord
from mappings.dentalpms.search_length import ShortestSearch

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

PatientRecord = Callable[[str], Awaitable[VendorRecord]]

NOTHING_WRITTEN = "nothing was written"

# The fields the reference marks required in `PatientOut`, the answer of every patient write: an
# answer without one of them is not the whole patient (`_record_of`).
PATIENT_OUT_REQUIRED = ("first_name", "last_name", "created_at", "updated_at", "version")

# How the vendor refuses a stale `base_version`: the reference's 409 "Version conflict", or the
# 412 Precondition Failed of a team that reads optimistic versions as HTTP preconditions.
CONFLICTS = (409, 412)


class PatientWriteBase:
    """The state and steps the patient writes share (module docstring)."""

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

    async def _archive(self, resource_id: str, record: VendorRecord) -> UpstreamResponse:
        return await self._client.send(
            "POST", f"/patients/{resource_id}/archive", self._based({}, record.get("version"))
        )

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


def _chart_in_use(chart: Any) -> Conflict:
    return Conflict(f"Chart number {chart} belongs to another patient", expression="Patient.identifier")


def _snake(field: str) -> str:
    """A field as the reference names it: a validation error may name the service's own
    property instead (`dateOfBirth`, `addressLine1`: Spring's FieldError, Bean Validation)."""
    return _CAMEL_HUMP.sub("_", field).lower()


def _fields_named(text: str) -> list[str]:
    """Body fields a validation message given as text names (`"email: ...; city: ..."`)."""
    return [part.split(":", 1)[0].strip() for part in text.split(";") if part.split(":", 1)[0].strip() in _FHIR_PATHS]


def _json(response: UpstreamResponse) -> Any:
    try:
        return response.json()
    except UpstreamError:
        return None
