"""The Dental PMS adapter: FHIR interactions planned onto the Dental PMS API.

Search planning (what is pushed down, and why it is safe):
- `birthdate` with eq/ge/gt/le/lt → `dob_from`/`dob_to` (exact: vendor DOBs are full dates);
  other prefixes or several values are left to the gateway.
- one of `name`/`family`/`given`/`identifier`/`email`/`phone` → the free-text `search`, which
  matches a superset (assumed case- and accent-insensitive substring over name parts, chart
  number, email, phone digits, DOB); the gateway then applies FHIR's exact string rules.
- `_sort=family|birthdate` → the page endpoint's `sort_by`; `_sort=_lastUpdated` → the cursor
  endpoint (`sort_by=updated_at`), whose keyset paging stays stable while records change.
- `clinical-status` / `status` → `is_active` (narrows); Observation `date` → `date_from`/
  `date_to` widened by a day on each side (vendor dates are local days; the gateway finishes).
Sub-records (allergies, medications, vital signs) exist only under a patient, so their search
requires `patient` (or `_id`), and their ids carry the patient's (mappings.ids).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from gateway.errors import Gone, NotFound
from gateway.search.model import (
    DatePrefix,
    DateValue,
    SearchQuery,
    StringValue,
    TokenValue,
)
from gateway.upstream.errors import vendor_answer
from mappings import query as q
from mappings.base import AdapterConfig, Resource, ResourceSupport, SearchRequest, VendorPage
from mappings.dentalpms.allergy import NKDA_SUFFIX, allergy_to_fhir, nkda_to_fhir
from mappings.dentalpms.capabilities import RESOURCES
from mappings.dentalpms.client import DentalPmsClient
from mappings.dentalpms.medication import medication_to_fhir
from mappings.dentalpms.observation import vitals_to_fhir
from mappings.dentalpms.patient import patient_to_fhir
from mappings.ids import is_uuid, split_child_id, unpack_uuid
from mappings.query import date_bounds

MAX_PAGE_SIZE = 100
_SORT_FIELDS = {"family": "last_name", "birthdate": "date_of_birth"}


class DentalPmsAdapter:
    def __init__(self, config: AdapterConfig) -> None:
        self._client = DentalPmsClient(config)
        self._ctx = config.context
        self._searches: dict[str, Callable[[SearchRequest], Awaitable[VendorPage]]] = {
            "Patient": self._search_patients,
            "AllergyIntolerance": self._search_allergies,
            "MedicationStatement": self._search_medications,
            "Observation": self._search_observations,
        }

    @property
    def resources(self) -> Mapping[str, ResourceSupport]:
        return RESOURCES

    @property
    def max_page_size(self) -> int:
        return MAX_PAGE_SIZE

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- read -------------------------------------------------------------------------------

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        with vendor_answer("Dental PMS"):
            return await self._read(resource_type, resource_id)

    async def _read(self, resource_type: str, resource_id: str) -> Resource:
        if resource_type == "Patient":
            return await self._read_patient(resource_id)
        if resource_type == "AllergyIntolerance" and resource_id.endswith(f".{NKDA_SUFFIX}"):
            return await self._read_nkda(resource_id)
        parts = split_child_id(resource_id)
        if parts is None:
            raise NotFound(f"{resource_type}/{resource_id} does not exist")
        patient_id, record_id, suffix = parts
        if resource_type == "Observation":
            return await self._read_observation(resource_id, patient_id, record_id, suffix)
        if suffix is not None:
            raise NotFound(f"{resource_type}/{resource_id} does not exist")
        path, mapper = {
            "AllergyIntolerance": ("allergies", allergy_to_fhir),
            "MedicationStatement": ("medications", medication_to_fhir),
        }[resource_type]
        record = await self._find_record(patient_id, path, record_id)
        if record is None:
            raise NotFound(f"{resource_type}/{resource_id} does not exist")
        return mapper(record, patient_id, self._ctx)

    async def _patient_record(self, patient_id: str) -> dict[str, Any]:
        if not is_uuid(patient_id):
            raise NotFound(f"Patient/{patient_id} does not exist")
        record: dict[str, Any] = await self._client.get(f"/patients/{patient_id}")
        return record

    async def _read_patient(self, patient_id: str) -> Resource:
        record = await self._patient_record(patient_id)
        if record.get("deleted_at"):
            raise Gone(f"Patient/{patient_id} has been deleted")
        return patient_to_fhir(record, self._ctx)

    async def _read_nkda(self, resource_id: str) -> Resource:
        patient_id = unpack_uuid(resource_id.split(".")[0])
        if patient_id is not None:
            record = await self._patient_record(patient_id)
            if record.get("allergy_review_status") == "nkda" and not record.get("deleted_at"):
                return nkda_to_fhir(record, self._ctx)
        raise NotFound(f"AllergyIntolerance/{resource_id} does not exist")

    async def _read_observation(self, resource_id: str, patient_id: str, record_id: str, key: str | None) -> Resource:
        try:
            record = await self._client.get(f"/patients/{patient_id}/vital-signs/{record_id}")
        except NotFound:
            raise NotFound(f"Observation/{resource_id} does not exist") from None
        for observation in vitals_to_fhir(record, patient_id, self._ctx):
            if observation["id"] == resource_id:
                return observation
        raise NotFound(f"Observation/{resource_id} does not exist")

    async def _find_record(self, patient_id: str, path: str, record_id: str) -> dict[str, Any] | None:
        page = 1
        while True:
            try:
                data = await self._client.get(
                    f"/patients/{patient_id}/{path}", {"page": page, "page_size": MAX_PAGE_SIZE}
                )
            except NotFound:
                return None
            for item in data["items"]:
                if item["id"] == record_id:
                    found: dict[str, Any] = item
                    return found
            if page * data["page_size"] >= data["total"]:
                return None
            page += 1

    # -- search -----------------------------------------------------------------------------

    async def search(self, resource_type: str, request: SearchRequest) -> VendorPage:
        with vendor_answer("Dental PMS"):
            return await self._search(resource_type, request)

    async def _search(self, resource_type: str, request: SearchRequest) -> VendorPage:
        ids = q.values(request.query, "_id")
        if ids:
            return await self._by_ids(resource_type, [v.code for v in ids if isinstance(v, TokenValue) and v.code])
        return await self._searches[resource_type](request)

    async def _by_ids(self, resource_type: str, ids: Sequence[str]) -> VendorPage:
        async def one(resource_id: str) -> Resource | None:
            try:
                return await self.read(resource_type, resource_id)
            except (NotFound, Gone):
                return None

        found = [r for r in await asyncio.gather(*(one(i) for i in dict.fromkeys(ids))) if r is not None]
        return VendorPage(found, None, total=len(found))

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        by_id = _patient_ids_from_identifier(query, self._ctx.system("patient-id"))
        if by_id:
            return await self._by_ids("Patient", by_id)
        params: dict[str, str | int] = {}
        exact = True
        term = _search_term(query)
        if term:
            params["search"] = term
        dob_from, dob_to, dob_exact = date_bounds(query, "birthdate")
        if dob_from:
            params["dob_from"] = dob_from.isoformat()
        if dob_to:
            params["dob_to"] = dob_to.isoformat()
        exact = all(p.name == "birthdate" for p in query.params) and dob_exact
        sort = query.sort[0] if query.sort else None
        if sort and sort.name == "_lastUpdated":
            params.update(
                {"first": request.page_size, "sort_by": "updated_at", "sort_dir": "desc" if sort.descending else "asc"}
            )
            if request.position:
                params["after"] = str(request.position)
            data = await self._client.get("/patients/cursor", params)
            info = data.get("page_info") or {}
            following = info.get("end_cursor") if info.get("has_next_page") else None
            return VendorPage([patient_to_fhir(p, self._ctx) for p in data["data"]], following)
        page = int(request.position or 1)
        params.update({"page": page, "page_size": request.page_size})
        if sort:
            params.update({"sort_by": _SORT_FIELDS[sort.name], "sort_dir": "desc" if sort.descending else "asc"})
        data = await self._client.get("/patients", params)
        total = int(data["total"])
        return VendorPage(
            [patient_to_fhir(p, self._ctx) for p in data["items"]],
            page + 1 if page * request.page_size < total else None,
            total=total if exact else None,
            previous=page - 1 if page > 1 else None,
        )

    async def _sub_records(
        self, request: SearchRequest, path: str, extra: Mapping[str, str | int]
    ) -> tuple[str, dict[str, Any]] | None:
        """(patient id, vendor page) for a patient's sub-record list; None if no such patient."""
        patient_id = q.single_patient(request.query)
        if not is_uuid(patient_id):
            return None
        page = int(request.position or 1)
        params = {"page": page, "page_size": request.page_size, **extra}
        try:
            data: dict[str, Any] = await self._client.get(f"/patients/{patient_id}/{path}", params)
        except NotFound:
            return None
        return patient_id, data

    async def _search_allergies(self, request: SearchRequest) -> VendorPage:
        status = q.single_token(request.query, "clinical-status")
        extra: dict[str, str | int] = (
            {"is_active": str(status == "active").lower()} if status in ("active", "inactive") else {}
        )
        first = request.position is None
        patient_task = (
            asyncio.ensure_future(self._patient_record(q.single_patient(request.query)))
            if first and is_uuid(q.single_patient(request.query))
            else None
        )
        listed = await self._sub_records(request, "allergies", extra)
        patient = await _settle(patient_task)
        if listed is None:
            return VendorPage([], None, total=0)
        patient_id, data = listed
        resources = [allergy_to_fhir(a, patient_id, self._ctx) for a in data["items"]]
        total = int(data["total"])
        if patient is not None and patient.get("allergy_review_status") == "nkda":
            resources.insert(0, nkda_to_fhir(patient, self._ctx))
        if patient_task is None or patient is None:
            total_out = None
        else:
            total_out = total + (patient.get("allergy_review_status") == "nkda")
        return _paged(request, resources, data, total_out if q.only(request.query, "patient", "subject") else None)

    async def _search_medications(self, request: SearchRequest) -> VendorPage:
        statuses = {v.code for p in request.query.named("status") for v in p.values if isinstance(v, TokenValue)}
        extra: dict[str, str | int] = {}
        if statuses == {"active"}:
            extra["is_active"] = "true"
        elif statuses and "active" not in statuses and len(request.query.named("status")) == 1:
            extra["is_active"] = "false"
        listed = await self._sub_records(request, "medications", extra)
        if listed is None:
            return VendorPage([], None, total=0)
        patient_id, data = listed
        resources = [medication_to_fhir(m, patient_id, self._ctx) for m in data["items"]]
        return _paged(
            request, resources, data, int(data["total"]) if q.only(request.query, "patient", "subject") else None
        )

    async def _search_observations(self, request: SearchRequest) -> VendorPage:
        listed = await self._sub_records(request, "vital-signs", _vitals_dates(request.query))
        if listed is None:
            return VendorPage([], None, total=0)
        patient_id, data = listed
        resources = [o for v in data["items"] for o in vitals_to_fhir(v, patient_id, self._ctx)]
        return _paged(request, resources, data, None)  # one reading yields several Observations


async def _settle(task: asyncio.Future[dict[str, Any]] | None) -> dict[str, Any] | None:
    if task is None:
        return None
    try:
        return await task
    except NotFound:
        return None


def _paged(request: SearchRequest, resources: list[Resource], data: dict[str, Any], total: int | None) -> VendorPage:
    page = int(request.position or 1)
    more = page * int(data["page_size"]) < int(data["total"])
    return VendorPage(resources, page + 1 if more else None, total=total, previous=page - 1 if page > 1 else None)


def _search_term(query: SearchQuery) -> str | None:
    """The most selective value the vendor's free-text `search` can narrow by."""
    candidates: list[str] = []
    for param in query.params:
        if len(param.values) != 1:
            continue
        value = param.values[0]
        if param.name in ("name", "family", "given") and isinstance(value, StringValue):
            candidates.append(value.text)
        elif param.name in ("identifier", "email") and isinstance(value, TokenValue) and value.code:
            candidates.append(value.code)
        elif param.name == "phone" and isinstance(value, TokenValue) and value.code:
            digits = "".join(c for c in value.code if c.isdigit())
            if len(digits) >= 3:
                candidates.append(digits)
    return max(candidates, key=len) if candidates else None


def _patient_ids_from_identifier(query: SearchQuery, system: str) -> list[str]:
    for param in query.named("identifier"):
        if all(isinstance(v, TokenValue) and v.system == system and v.code for v in param.values):
            return [v.code for v in param.values if isinstance(v, TokenValue) and v.code]
    return []


def _vitals_dates(query: SearchQuery) -> dict[str, str | int]:
    low: date | None = None
    high: date | None = None
    for param in query.named("date"):
        value = param.values[0]
        if len(param.values) != 1 or not isinstance(value, DateValue):
            continue
        start, end = value.range.start.date() - timedelta(days=1), value.range.end.date() + timedelta(days=1)
        if value.prefix in (DatePrefix.EQ, DatePrefix.GE, DatePrefix.GT, DatePrefix.SA):
            low = max(low, start) if low else start
        if value.prefix in (DatePrefix.EQ, DatePrefix.LE, DatePrefix.LT, DatePrefix.EB):
            high = min(high, end) if high else end
    out: dict[str, str | int] = {}
    if low:
        out["date_from"] = low.isoformat()
    if high:
        out["date_to"] = high.isoformat()
    return out
