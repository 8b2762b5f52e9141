"""A patient's medical records: allergies, medications, diseases, vital signs, and summary.

Lists leave soft-deleted records out (with ``archived_records="listed"`` they list them, with
``deleted_at`` set, as "List all allergies recorded for a patient" can be read) and page like
the patient list. Allergies,
medications and diseases are ordered by ``created_at`` then id; vital signs by
``date_taken``, ``time_taken`` (nulls last), id. A soft-deleted vital-signs record is 404
``Vital signs not found`` on the single ``GET`` (served when listed), and so is another
patient's, unless ``vitals_lookup="by_id"`` (found by its uuid alone). With
``archived_patients="gone"`` every endpoint of an archived patient is 410. The medical summary's ``allergies`` holds
every live allergy (the field's description; the endpoint's prose says active only),
``past_medications`` every live medication that is not active.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.dentalpms.paging import EmptyLists, PastEnd, check_past_end, list_answer, page_body
from sandboxes.dentalpms.params import BOOL, BOOL_DIGITS, BOOL_TRUTHY, DATE, PAGE, STR, Params, page_size_upto
from sandboxes.dentalpms.responses import raw_json
from sandboxes.dentalpms.store import Store
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError
from sandboxes.toolkit.paging import page_slice
from sandboxes.toolkit.timestamps import iso_date

__all__ = ["MedicalRecords"]


def _page_of(records: list[JsonObject], page: int, size: int, past_end: PastEnd, empty_lists: EmptyLists) -> Response:
    check_past_end(past_end, page, size, len(records))
    chosen = page_slice(records, page, size)
    body = page_body([orjson.dumps(record) for record in chosen], page, size, len(records))
    return list_answer(body, len(chosen), empty_lists)


class MedicalRecords:
    """The sub-resource endpoints of a patient over `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._boolean = {"any": BOOL, "digits": BOOL_DIGITS, "truthy": BOOL_TRUTHY}[store.query_booleans]

    async def allergies(self, request: Request) -> Response:
        params, patient_id, page, size = self._list_params(request)
        active = params.query("is_active", self._boolean, None)
        params.done()
        records = [
            allergy for allergy in self.store.served(patient_id).allergies
            if self.store.shown(allergy) and (active is None or allergy["status_is_active"] == active)
        ]  # fmt: skip
        return _page_of(records, page, size, self.store.past_end, self.store.empty_lists)

    async def medications(self, request: Request) -> Response:
        params, patient_id, page, size = self._list_params(request)
        active = params.query("is_active", self._boolean, None)
        params.done()
        records = [
            medication for medication in self.store.served(patient_id).medications
            if self.store.shown(medication) and (active is None or (medication["status"] == "active") == active)
        ]  # fmt: skip
        return _page_of(records, page, size, self.store.past_end, self.store.empty_lists)

    async def diseases(self, request: Request) -> Response:
        params, patient_id, page, size = self._list_params(request)
        status = params.query("problem_status", STR, None)
        params.done()
        records = [
            disease for disease in self.store.served(patient_id).diseases
            if self.store.shown(disease) and (status is None or disease["problem_status"] == status)
        ]  # fmt: skip
        return _page_of(records, page, size, self.store.past_end, self.store.empty_lists)

    async def vital_signs(self, request: Request) -> Response:
        params, patient_id, page, size = self._list_params(request)
        date_from = iso_date(params.query("date_from", DATE, None))
        date_to = iso_date(params.query("date_to", DATE, None))
        params.done()
        records = [
            reading for reading in self.store.served(patient_id).vitals
            if self.store.shown(reading)
            and (date_from is None or reading["date_taken"] >= date_from)
            and (date_to is None or reading["date_taken"] <= date_to)
        ]  # fmt: skip
        return _page_of(records, page, size, self.store.past_end, self.store.empty_lists)

    async def one_vital_signs(self, request: Request) -> Response:
        params = Params(request)
        patient_id = params.path_uuid("patient_uuid")
        vitals_id = params.path_uuid("vitals_uuid")
        params.done()
        self.store.served(patient_id)
        owner, record = self.store.vitals.get(vitals_id, ("", {}))
        owned = owner == patient_id or (owner != "" and self.store.vitals_lookup == "by_id")
        if not owned or not self.store.shown(record):
            raise ApiError(404, "Vital signs not found")
        return raw_json(orjson.dumps(record))

    async def summary(self, request: Request) -> Response:
        params = Params(request)
        patient_id = params.path_uuid("patient_uuid")
        params.done()
        row = self.store.served(patient_id)
        medications = [medication for medication in row.medications if medication["deleted_at"] is None]
        vitals = [reading for reading in row.vitals if reading["deleted_at"] is None]
        summary = {
            "active_problems": [
                disease for disease in row.diseases
                if disease["deleted_at"] is None and disease["problem_status"] == "active"
            ],
            "alerts": [],
            "allergies": [allergy for allergy in row.allergies if allergy["deleted_at"] is None],
            "allergy_review_status": row.doc["allergy_review_status"],
            "current_medications": [medication for medication in medications if medication["status"] == "active"],
            "latest_vitals": vitals[-1] if vitals else None,
            "medical_urgent_note": row.doc["medical_urgent_note"],
            "past_medications": [medication for medication in medications if medication["status"] != "active"],
            "patient": row.ref,
            "premedication_required": bool(row.doc["premedication_required"]),
            "social_history": [],
        }  # fmt: skip
        return raw_json(orjson.dumps(summary))

    def _list_params(self, request: Request) -> tuple[Params, str, int, int]:
        params = Params(request, self.store.query_enums)
        patient_id = params.path_uuid("patient_uuid")
        page = params.query("page", PAGE, 1)
        size = params.query("page_size", page_size_upto(self.store.page_size_max), 50)
        return params, patient_id, page, size
