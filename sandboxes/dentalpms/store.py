"""The Dental PMS's in-memory data: patients and their records, and every write to them.

The store renders its own copy of the clinic at start-up, so writes never touch the
cached ``Clinic``. Writes are stamped by the app's clock and bump the patient's
``version`` by one (``PATCH`` needs the current one as ``base_version``). Archiving is a
soft delete (``deleted_at`` set, ``status`` ``archived``); restoring clears it and sets
``status`` ``inactive``, as the API reference documents. New patients get deterministic
ids (uuid5 of a counter) and, without a ``chart_number``, the next free ``C#####``.

Sorted patient lists and query results are cached until the next write. With
``search_phones="as_stored"`` (``readings``) the clinic's phones are stored formatted,
``(555) 123-4567``, with ``"e164"`` in E.164, ``+15551234567``; phones written through the
API are stored as sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID, uuid5

from cachetools import LRUCache

from sandboxes.clinic import Clinic
from sandboxes.dentalpms.bodies import (
    REF_FIELDS,
    REF_INPUTS,
    BodyDates,
    BodyPhones,
    BodyVersions,
    CreatePatientIn,
    PatchChartNumbers,
    PatchNulls,
    PatientFields,
    VersionConflicts,
)
from sandboxes.dentalpms.body_enums import BodyEnums
from sandboxes.dentalpms.idempotency import CreateAnswers, Idempotency, IdempotencyKeys, IdempotencyLog
from sandboxes.dentalpms.lifecycle import DOCUMENTED_LIFECYCLE, Lifecycle
from sandboxes.dentalpms.list_readings import DOCUMENTED_LISTS, ListReading
from sandboxes.dentalpms.matching import PatientFilters
from sandboxes.dentalpms.paging import EmptyLists, PastEnd
from sandboxes.dentalpms.params import QueryBooleans
from sandboxes.dentalpms.query_enums import QueryEnums
from sandboxes.dentalpms.readings import DOCUMENTED, SearchReading
from sandboxes.dentalpms.render import (
    BLANK_PATIENT,
    AllergySeverities,
    Renderer,
    SnomedReactions,
    VitalTimes,
    reference,
)
from sandboxes.dentalpms.rows import PatientRow
from sandboxes.dentalpms.sorting import SortKey, sort_key
from sandboxes.dentalpms.write_keys import WriteKeyLog, WriteKeys
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.caches import bounded_cache, memoized
from sandboxes.toolkit.clock import Clock
from sandboxes.toolkit.errors import ApiError
from sandboxes.toolkit.folding import fold
from sandboxes.toolkit.phones import format_us_phone
from sandboxes.toolkit.switches import one_of
from sandboxes.toolkit.timestamps import iso_utc

__all__ = [
    "ArchiveVersions",
    "ChartNumbers",
    "CreateStatuses",
    "DeathDates",
    "EmptyPatches",
    "Ordered",
    "PatchVersions",
    "Store",
]

# The reference's "allowed status transitions" (``transition-status``); deceased is terminal.
STATUS_TRANSITIONS = frozenset(
    {("prospective", "active"), ("active", "inactive"), ("active", "deceased"), ("inactive", "active")}
)

#: Patients in sort order, with their sort keys alongside (for bisecting on a cursor).
Ordered = tuple[list[SortKey], list[PatientRow]]
# What a PATCH or transition-status answers: the patient as stored (``"flushed"``), or as a
# service maps its entity before the ORM flushes the write (``"before_flush"``: JPA bumps
# ``@Version`` and ``@UpdateTimestamp`` at flush, so the answer shows the previous ``version``
# and ``updated_at``; the changed fields are there), or only what the write saved
# (``"saved_fields"``: the ``id``, the fields it set, ``version`` and ``updated_at``, as TypeORM's
# ``repository.save({ id, ...dto })`` returns the partial entity it was given, the generated
# columns filled in, and a NestJS handler returns that: the reference's answer is ``PatientOut``).
WriteAnswers = Literal["flushed", "before_flush", "saved_fields"]
# What a ``transition-status`` to ``deceased`` asks of the patient: nothing more than the
# documented transitions (``"optional"``), or a date of death already recorded
# (``"required"``: a 422 otherwise, as a service validating the status against the
# ``date_time_deceased`` the patient record carries beside it would answer; the reference lists
# "422: Invalid status transition" and says nothing of the date either way).
DeathDates = Literal["optional", "required"]
# What a create does with the body's ``status``: the patient is created in it (``"stored"``), or
# every new patient is ``active`` whatever the body says (``"ignored"``: the status read as
# moved only by ``transition-status``, which emits the status's event, as a serializer whose
# ``status`` is read-only does; ``CreatePatientIn`` lists it, and "Defaults to 'active'").
CreateStatuses = Literal["stored", "ignored"]
# What a ``PATCH`` carrying ``base_version`` alone is answered: taken, the version bumped
# (``"taken"``), or 400 ``No fields to update`` (``"refused"``: the guard a FastAPI handler
# writes over ``body.model_dump(exclude_unset=True)``; the reference says only that "only
# provided fields are modified").
EmptyPatches = Literal["taken", "refused"]
# What a patient's ``archive`` takes: no body (``"none"``, as the reference documents it) or the
# ``{"base_version"}`` the alert, field and tag definitions' archive endpoints require
# (``"required"``: one model shared by every archive endpoint; 422 without it, 409 when stale).
ArchiveVersions = Literal["none", "required"]
# Who gives a patient its chart number: the body (``"taken"``: ``CreatePatientIn`` and the PATCH
# list ``chart_number``; a missing one gets the next free ``C#####``), or the practice alone
# (``"assigned"``: every new patient gets the next free one, and a ``chart_number`` in a create or
# PATCH body is dropped without a word, as a serializer whose field is read-only (Django REST
# Framework's ``read_only_fields``), a Laravel model without it in ``$fillable``, or Rails'
# strong parameters not permitting it drop one; the reference says nothing of who assigns it).
ChartNumbers = Literal["taken", "assigned"]
# What a ``PATCH`` does to ``version``: moves it on by one (``"bumped"``, as every other write
# does), or leaves it as it was (``"kept"``: the reference says a PATCH "Requires base_version for
# optimistic concurrency control", never that it moves it; a Django REST Framework
# ``partial_update`` saves only the fields sent, the ``version`` column moved by the service's
# lifecycle functions, transition and archive, which emit the events the reference names). The
# ``base_version`` is checked all the same.
PatchVersions = Literal["bumped", "kept"]


def _e164(digits: str | None) -> str | None:
    """A clinic phone (10 digits) as E.164, ``+15551234567``, as libphonenumber stores it."""
    return None if digits is None else f"+1{digits}"


class Store:
    """All patients by id, their vital signs by id, and the write operations."""

    def __init__(
        self,
        clinic: Clinic,
        clock: Clock,
        reading: SearchReading = DOCUMENTED,
        idempotency: Idempotency = "replay",
        past_end: PastEnd = "empty",
        lifecycle: Lifecycle = DOCUMENTED_LIFECYCLE,
        *,
        vital_times: VitalTimes = "local",
        patch_nulls: PatchNulls = "cleared",
        patch_chart_numbers: PatchChartNumbers = "others",
        body_dates: BodyDates = "lax",
        body_phones: BodyPhones = "any",
        body_versions: BodyVersions = "number",
        allergy_severities: AllergySeverities = "fhir",
        snomed_reactions: SnomedReactions = "code",
        write_answers: WriteAnswers = "flushed",
        query_booleans: QueryBooleans = "any",
        query_enums: QueryEnums = "documented",
        body_enums: BodyEnums = "documented",
        empty_lists: EmptyLists = "page",
        idempotency_keys: IdempotencyKeys = "any",
        create_answers: CreateAnswers = "sent",
        version_conflicts: VersionConflicts = 409,
        lists: ListReading = DOCUMENTED_LISTS,
        death_dates: DeathDates = "optional",
        create_statuses: CreateStatuses = "stored",
        empty_patches: EmptyPatches = "taken",
        archive_versions: ArchiveVersions = "none",
        chart_numbers: ChartNumbers = "taken",
        write_keys: WriteKeys = "creates",
        patch_versions: PatchVersions = "bumped",
    ) -> None:
        self.patch_versions = one_of("patch_versions", patch_versions, PatchVersions)
        self.write_keys = WriteKeyLog(write_keys)
        self.chart_numbers = one_of("chart_numbers", chart_numbers, ChartNumbers)
        self.archive_versions = one_of("archive_versions", archive_versions, ArchiveVersions)
        self.empty_patches = one_of("empty_patches", empty_patches, EmptyPatches)
        self.create_statuses = one_of("create_statuses", create_statuses, CreateStatuses)
        self.death_dates = one_of("death_dates", death_dates, DeathDates)
        self.patch_nulls = one_of("patch_nulls", patch_nulls, PatchNulls)
        self.write_answers = one_of("write_answers", write_answers, WriteAnswers)
        self.query_booleans = one_of("query_booleans", query_booleans, QueryBooleans)
        self.query_enums = one_of("query_enums", query_enums, QueryEnums)
        self.body_enums = one_of("body_enums", body_enums, BodyEnums)
        self.empty_lists = one_of("empty_lists", empty_lists, EmptyLists)
        self.version_conflicts = one_of("version_conflicts", version_conflicts, VersionConflicts)
        self.patch_chart_numbers = one_of("patch_chart_numbers", patch_chart_numbers, PatchChartNumbers)
        self.body_dates = one_of("body_dates", body_dates, BodyDates)
        self.body_phones = one_of("body_phones", body_phones, BodyPhones)
        self.body_versions = one_of("body_versions", body_versions, BodyVersions)
        self.lists = lists
        self.render = Renderer(clinic, vital_times, allergy_severities, snomed_reactions)
        self.clock = clock
        self.reading = reading
        self.past_end = past_end
        self.page_size_max = lifecycle.page_size_max
        self._lifecycle = lifecycle
        self.vitals_lookup = lifecycle.vitals_lookup
        self.rows: dict[str, PatientRow] = {}
        self.vitals: dict[str, tuple[str, JsonObject]] = {}  # vitals id -> (patient id, record)
        self.idempotency = IdempotencyLog(idempotency, idempotency_keys, create_answers)
        self.created = 0
        self._sorted: dict[str, Ordered] = {}  # one entry per sortable field
        self._queries: LRUCache[tuple[PatientFilters, str], Ordered] = bounded_cache()
        self.provider_refs = {ref["uuid"]: ref for ref in self.render.providers.values()}
        self.location_refs = {ref["uuid"]: ref for ref in self.render.locations.values()}
        render = self.render
        for patient in clinic.patients:
            doc = render.patient(patient)
            if reading.phones == "as_stored":
                doc["mobile_phone"] = format_us_phone(doc["mobile_phone"])
                doc["home_phone"] = format_us_phone(doc["home_phone"])
            elif reading.phones == "e164":
                doc["mobile_phone"] = _e164(doc["mobile_phone"])
                doc["home_phone"] = _e164(doc["home_phone"])
            pref = reference(patient.uuid, f"{patient.first_name} {patient.last_name}")
            row = PatientRow(doc=doc, ref=pref, reading=reading)
            row.allergies = _by_created([render.allergy(allergy, patient, pref) for allergy in patient.allergies])
            row.medications = _by_created(
                [render.medication(medication, patient, pref) for medication in patient.medications]
            )
            row.diseases = _by_created([render.disease(problem, patient, pref) for problem in patient.problems])
            row.vitals = sorted(
                (render.vitals(reading, patient, pref) for reading in patient.vitals),
                key=lambda record: (
                    record["date_taken"],
                    record["time_taken"] is None,
                    record["time_taken"] or "",
                    record["id"],
                ),
            )
            for vitals in row.vitals:
                self.vitals[vitals["id"]] = (doc["id"], vitals)
            row.refresh()
            self.rows[doc["id"]] = row

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    # ---- reading

    def row(self, patient_id: str) -> PatientRow:
        """The patient (archived ones too); 404 ``Patient not found``."""
        row = self.rows.get(patient_id)
        if row is None:
            raise ApiError(404, "Patient not found")
        return row

    def served(self, patient_id: str) -> PatientRow:
        """The patient as its own endpoints serve it: `row`, or 410 ``Patient has been archived``
        for an archived one when the reading says so (``archived_patients="gone"``), or 404
        (``"not_found"``: `found`)."""
        row = self.found(patient_id)
        if self._lifecycle.archived_patients == "gone" and row.doc["deleted_at"] is not None:
            raise ApiError(410, "Patient has been archived")
        return row

    def found(self, patient_id: str) -> PatientRow:
        """The patient as an endpoint other than ``restore`` finds it to change it: `row`, but 404
        ``Patient not found`` for an archived one when archived patients are not there at all
        (``archived_patients="not_found"``)."""
        row = self.row(patient_id)
        if self.archived_hidden and row.deleted:
            raise ApiError(404, "Patient not found")
        return row

    @property
    def archived_hidden(self) -> bool:
        """Whether archived patients are not there at all (``archived_patients="not_found"``)."""
        return self._lifecycle.archived_patients == "not_found"

    def shown(self, record: JsonObject) -> bool:
        """Whether a sub-record is listed: a live one always, a soft-deleted one when the
        reading lists them (``archived_records="listed"``)."""
        return record["deleted_at"] is None or self._lifecycle.archived_records == "listed"

    def ordered(self, sort_by: str) -> Ordered:
        """All patients ascending by `sort_by` (cached until the next write)."""

        def sort() -> Ordered:
            pairs = sorted(
                ((sort_key(sort_by, row.doc[sort_by], row.id), row) for row in self.rows.values()),
                key=lambda pair: pair[0],
            )
            return ([key for key, _ in pairs], [row for _, row in pairs])

        return memoized(self._sorted, sort_by, sort)

    def query(self, filters: PatientFilters, sort_by: str) -> Ordered:
        """Matching patients ascending by `sort_by` (cached until the next write)."""

        def run() -> Ordered:
            keys, rows = self.ordered(sort_by)
            picked = [index for index, row in enumerate(rows) if filters.match(row)]
            return ([keys[index] for index in picked], [rows[index] for index in picked])

        return memoized(self._queries, (filters, sort_by), run)

    def chart_number_taken(self, chart: str, *, other_than: PatientRow | None = None) -> bool:
        """Some patient (archived ones too), other than `other_than`, has chart number `chart`."""
        return any(row.doc["chart_number"] == chart for row in self.rows.values() if row is not other_than)

    def chart_number_sent(self, data: PatientFields) -> str | None:
        """The chart number a body gives the patient: none when the practice assigns them all
        (``chart_numbers="assigned"``: the body's is dropped)."""
        return data.chart_number if self.chart_numbers == "taken" else None

    @property
    def _dropped(self) -> set[str]:
        """The body fields a write drops without a word (``ChartNumbers``)."""
        return set() if self.chart_numbers == "taken" else {"chart_number"}

    def duplicates_of(self, row: PatientRow) -> list[JsonObject]:
        """Live patients sharing last name + birth date, email or mobile phone with `row`."""
        doc = row.doc
        last = fold(doc["last_name"])
        out: list[JsonObject] = []
        for other in self.rows.values():
            odoc = other.doc
            if other is row or other.deleted:
                continue
            same_person = doc["date_of_birth"] is not None and (
                odoc["date_of_birth"] == doc["date_of_birth"] and fold(odoc["last_name"]) == last
            )
            same_email = doc["email"] is not None and odoc["email"] == doc["email"]
            same_mobile = doc["mobile_phone"] is not None and odoc["mobile_phone"] == doc["mobile_phone"]
            if same_person or same_email or same_mobile:
                out.append(
                    {name: odoc[name] for name in ("id", "first_name", "last_name", "date_of_birth", "chart_number")}
                )
        return out

    def resolve_refs(self, data: PatientFields) -> dict[str, JsonObject | None]:
        """The references a body sets (PatientOut field -> reference or null); 404 when unknown."""
        out: dict[str, JsonObject | None] = {}
        for body_field, out_field, missing in REF_FIELDS:
            if body_field not in data.model_fields_set:
                continue
            value: UUID | None = getattr(data, body_field)
            if value is None:
                out[out_field] = None
                continue
            key = str(value)
            if body_field.endswith("provider_uuid"):
                ref = self.provider_refs.get(key)
            elif body_field == "location_uuid":
                ref = self.location_refs.get(key)
            elif body_field == "responsible_party_uuid":
                ref = self.rows[key].ref if key in self.rows else None
            else:  # fee schedules, billing types and employers do not exist in the sandbox
                ref = None
            if ref is None:
                raise ApiError(404, missing)
            out[out_field] = {"uuid": ref["uuid"], "name": ref["name"]}
        return out

    # ---- writing

    def changed(self, row: PatientRow) -> None:
        """`row` was written: re-derive it and drop every cached order and query."""
        row.refresh()
        self._sorted.clear()
        self._queries.clear()

    def create(self, data: CreatePatientIn, refs: dict[str, JsonObject | None]) -> PatientRow:
        """A new patient from a validated body and its resolved references."""
        now = self.now()
        self.created += 1
        new_id = str(uuid5(self.render.ns, f"patient:new:{self.created}"))
        doc = self.render.patient(BLANK_PATIENT)
        doc.update(
            id=new_id, created_at=iso_utc(now), updated_at=iso_utc(now),
            status=data.status if self.create_statuses == "stored" else "active",
            chart_number=self.chart_number_sent(data) or self._next_chart_number(),
        )  # fmt: skip
        _apply_fields(doc, data, data.model_fields_set - self._dropped, refs)
        if "receives_email" not in data.model_fields_set:
            doc["receives_email"] = doc["email"] is not None
        if "receives_sms" not in data.model_fields_set:
            doc["receives_sms"] = doc["mobile_phone"] is not None
        row = PatientRow(doc=doc, ref=reference(new_id, ""), reading=self.reading)
        self.rows[new_id] = row
        self.changed(row)
        return row

    def update(self, row: PatientRow, data: PatientFields, refs: dict[str, JsonObject | None]) -> None:
        """Set the fields a ``PATCH`` body carries (``base_version`` aside); bump the version."""
        _apply_fields(row.doc, data, data.model_fields_set - {"base_version", *self._dropped}, refs)
        self._bump(row, version=self.patch_versions == "bumped")  # PatchVersions

    def transition(self, row: PatientRow, new_status: str) -> None:
        """Move `row` to `new_status` along the documented transitions (prospective -> active,
        active -> inactive or deceased, inactive -> active); 422 for any other, or for the
        status it already has ("Invalid status transition or patient already in target
        status"), and for ``archived`` ("Archived status requires the archive endpoint")."""
        if new_status == "archived":
            raise ApiError(422, "Archived status requires the archive endpoint")
        current = row.doc["status"]
        if current == new_status:
            raise ApiError(422, f"Patient is already {new_status}")
        if (current, new_status) not in STATUS_TRANSITIONS:
            raise ApiError(422, f"Invalid status transition: {current} -> {new_status}")
        if new_status == "deceased" and self.death_dates == "required" and not row.doc.get("date_time_deceased"):
            raise ApiError(422, "Invalid status transition: date_time_deceased is required for a deceased patient")
        row.doc["status"] = new_status
        self._bump(row)

    def archive(self, row: PatientRow) -> None:
        """Soft-delete `row`; 422 when it is archived already."""
        if row.deleted:
            raise ApiError(422, "Patient is already archived")
        row.doc["status"] = "archived"
        self._bump(row, deleted=True)

    def restore(self, row: PatientRow) -> None:
        """Undo the soft delete, leaving the patient inactive; 422 when it is not archived."""
        if not row.deleted:
            raise ApiError(422, "Patient is not archived")
        row.doc["status"] = "inactive"
        self._bump(row, deleted=False)

    def _bump(self, row: PatientRow, *, deleted: bool | None = None, version: bool = True) -> None:
        now = iso_utc(self.now())
        row.doc["version"] += 1 if version else 0
        row.doc["updated_at"] = now
        if deleted is not None:
            row.doc["deleted_at"] = now if deleted else None
        self.changed(row)

    def _next_chart_number(self) -> str:
        taken = {row.doc["chart_number"] for row in self.rows.values()}
        number = len(self.rows) + 1
        while f"C{number:05d}" in taken:
            number += 1
        return f"C{number:05d}"


def _by_created(records: list[JsonObject]) -> list[JsonObject]:
    return sorted(records, key=lambda record: (record["created_at"], record["id"]))


def _apply_fields(doc: JsonObject, data: PatientFields, names: set[str], refs: dict[str, JsonObject | None]) -> None:
    """Copy body fields `names` into the document (references from `refs`; never ``status``)."""
    for name in names:
        if name in REF_INPUTS or name == "status":
            continue
        doc[name] = _document_value(getattr(data, name))
    doc.update(refs)


def _document_value(value: Any) -> Any:
    """A validated body value as the document holds it (dates and datetimes as text)."""
    if isinstance(value, datetime):
        return iso_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    return value
