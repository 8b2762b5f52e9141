"""One patient: ``GET``/``PATCH /patients/{uuid}``, ``POST /patients``, archive, restore and
``transition-status``.

An archived patient is still served by ``GET`` (``status`` ``archived``, ``deleted_at``
set) and can be patched. ``POST`` answers 201 with the new patient and its
``potential_duplicates`` (the only response where that list is filled); ``status:
archived`` there is 422, a chart number in use 409. ``PATCH`` needs ``base_version``
(stale: 409 ``Version conflict``) and cannot set ``first_name``/``last_name`` to null;
with ``patch_nulls="ignored"`` a null leaves its field as it was, with ``"refused"`` it is a
422 naming the field; a chart number another patient holds is 409 ``Duplicate chart number``
(with ``patch_chart_numbers="any"``, the patient's own too). With ``body_dates="strict"`` a date
or date-time of either body not in its RFC 3339 form is a 422 naming the field; with
``body_phones="international"`` so is a phone number without its ``+`` and country code; with
``body_versions="text"`` a ``base_version`` that is not text is a 400 (Go's ``,string``). ``status`` is not a
``PATCH`` field: ``transition-status`` moves it (``base_version``; stale: 409 ``Version
conflict``) along the documented transitions (``Store.transition``), answering the patient.
With ``write_answers="before_flush"`` (``store.WriteAnswers``) a PATCH or transition answers
the patient with the ``version`` and ``updated_at`` it had before that write; with
``"saved_fields"`` only what the write saved: the ``id``, the fields it set, ``version`` and
``updated_at``. With
``empty_patches="refused"`` a ``PATCH`` of ``base_version`` alone is 400 ``No fields to update``.
With ``chart_numbers="assigned"`` a body's ``chart_number`` is dropped without a word (and never
checked): the practice assigns every one.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.dentalpms.bodies import (
    REF_INPUTS,
    ArchiveIn,
    CreatePatientIn,
    TransitionStatusIn,
    UpdatePatientIn,
    check_body_dates,
    check_body_phones,
    check_body_versions,
    parse_body,
)
from sandboxes.dentalpms.idempotency import INTERNAL_ORIGIN, fingerprint
from sandboxes.dentalpms.params import Params
from sandboxes.dentalpms.responses import raw_json
from sandboxes.dentalpms.rows import PatientRow
from sandboxes.dentalpms.store import Store
from sandboxes.toolkit.errors import ApiError

__all__ = ["PatientRecords"]


class PatientRecords:
    """The single-patient endpoints over `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def read(self, request: Request) -> Response:
        params = Params(request)
        patient_id = params.path_uuid("patient_uuid")
        params.done()
        return raw_json(self.store.served(patient_id).raw)

    async def create(self, request: Request) -> Response:
        store = self.store
        body = await request.body()
        key = request.headers.get("idempotency-key")
        store.idempotency.check(key)
        body_fingerprint = fingerprint(body)
        replayed = store.idempotency.replay(key, body_fingerprint)
        if replayed is not None and store.idempotency.reading in ("see_other", "see_other_internal"):
            # idempotency.Idempotency: the replay points at the patient the key made
            origin = INTERNAL_ORIGIN if store.idempotency.reading == "see_other_internal" else ""
            location = f"{origin}{request.url.path.rstrip('/')}/{orjson.loads(replayed)['id']}"
            return Response(status_code=303, headers={"Location": location})
        if replayed is not None:
            return self._created(request, replayed)
        check_body_dates(body, store.body_dates)
        check_body_phones(body, store.body_phones)
        data = parse_body(body, CreatePatientIn, store.body_enums)
        if data.status == "archived":
            raise ApiError(422, "Archived status requires the archive endpoint")
        chart = store.chart_number_sent(data)
        if chart is not None and store.chart_number_taken(chart):
            raise ApiError(409, "Duplicate chart number")
        refs = store.resolve_refs(data)
        row = store.create(data, refs)
        response = orjson.dumps({**row.doc, "potential_duplicates": store.duplicates_of(row)})
        store.idempotency.remember(key, body_fingerprint, response)
        return self._created(request, response)

    def _created(self, request: Request, response: bytes) -> Response:
        """A create's 201: the patient, or with ``create_answers="location"`` no body and the
        patient's URL in ``Location``."""
        if self.store.idempotency.answers != "location":
            return raw_json(response, 201)
        location = f"{request.url.path.rstrip('/')}/{orjson.loads(response)['id']}"
        return Response(status_code=201, headers={"Location": location})

    async def update(self, request: Request) -> Response:
        store = self.store
        params = Params(request)
        patient_id = params.path_uuid("patient_uuid")
        params.done()
        body = await request.body()
        check_body_dates(body, store.body_dates)
        check_body_phones(body, store.body_phones)
        check_body_versions(body, store.body_versions)
        data = parse_body(body, UpdatePatientIn, store.body_enums)
        if store.empty_patches == "refused" and not data.model_fields_set - {"base_version"}:
            raise ApiError(400, "No fields to update")  # store.EmptyPatches
        if store.patch_nulls == "ignored":  # a null is "not provided" (bodies.PatchNulls)
            data = UpdatePatientIn.model_validate(data.model_dump(exclude_none=True))
        nulls = sorted(name for name in data.model_fields_set if getattr(data, name) is None)
        if store.patch_nulls == "refused" and nulls:  # no field takes a null (bodies.PatchNulls)
            raise ApiError(
                422,
                [{"type": "null_refused", "loc": ["body", name], "msg": "Field may not be null", "input": None}
                 for name in nulls],
            )  # fmt: skip
        for name in ("first_name", "last_name"):
            if name in data.model_fields_set and getattr(data, name) is None:
                raise ApiError(
                    422,
                    [{"type": "string_type", "loc": ["body", name], "msg": "Input should be a valid string",
                      "input": None}],
                )  # fmt: skip
        row = store.found(patient_id)
        if data.base_version != row.doc["version"]:
            raise ApiError(self.store.version_conflicts, "Version conflict")
        chart = store.chart_number_sent(data)
        itself = row if store.patch_chart_numbers == "others" else None  # bodies.PatchChartNumbers
        if chart is not None and store.chart_number_taken(chart, other_than=itself):
            raise ApiError(409, "Duplicate chart number")
        before = self._stamp(row)
        refs = store.resolve_refs(data)
        store.update(row, data, refs)
        saved = {name for name in data.model_fields_set - {"base_version"} - REF_INPUTS if name in row.doc}
        return self._written(row, before, saved | set(refs))

    async def archive(self, request: Request) -> Response:
        row = self._row(request, found=True)
        if self.store.archive_versions == "required":  # store.ArchiveVersions
            body = await request.body()
            check_body_versions(body, self.store.body_versions)
            data = parse_body(body, ArchiveIn)
            if data.base_version != row.doc["version"]:
                raise ApiError(self.store.version_conflicts, "Version conflict")
        self.store.archive(row)
        return raw_json(row.raw)

    async def restore(self, request: Request) -> Response:
        row = self._row(request)
        self.store.restore(row)
        return raw_json(row.raw)

    async def transition_status(self, request: Request) -> Response:
        row = self._row(request, found=True)
        body = await request.body()
        check_body_versions(body, self.store.body_versions)
        data = parse_body(body, TransitionStatusIn, self.store.body_enums)
        if row.deleted:
            raise ApiError(422, "Archived patients are restored, not transitioned")
        if data.base_version != row.doc["version"]:
            raise ApiError(self.store.version_conflicts, "Version conflict")
        before = self._stamp(row)
        self.store.transition(row, data.new_status)
        return self._written(row, before, {"status"})

    @staticmethod
    def _stamp(row: PatientRow) -> dict[str, Any]:
        return {"version": row.doc["version"], "updated_at": row.doc["updated_at"]}

    def _written(self, row: PatientRow, before: dict[str, Any], saved: set[str]) -> Response:
        """The answer of a write to `row` setting the fields `saved`: as stored, or with `before`'s
        version and timestamp, or only what it saved (``store.WriteAnswers``)."""
        if self.store.write_answers == "flushed":
            return raw_json(row.raw)
        if self.store.write_answers == "saved_fields":
            kept = ("id", *sorted(saved), "version", "updated_at")
            return raw_json(orjson.dumps({name: row.doc[name] for name in kept}))
        return raw_json(orjson.dumps({**row.doc, **before}))

    def _row(self, request: Request, *, found: bool = False) -> PatientRow:
        """The patient the path names (422 for a malformed uuid, then 404); `found`: as a write
        other than ``restore`` finds it (``Store.found``)."""
        params = Params(request)
        patient_id = params.path_uuid("patient_uuid")
        params.done()
        return self.store.found(patient_id) if found else self.store.row(patient_id)
