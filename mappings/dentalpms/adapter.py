"""The Dental PMS adapter: FHIR interactions planned onto the Dental PMS API.

Search planning (what is pushed down, and why it is safe):
- `birthdate` with eq/ge/gt/le/lt → `dob_from`/`dob_to` (exact: vendor DOBs are full dates);
  other prefixes or several values are left to the gateway.
- `identifier` (chart number) or `email` → the free-text `search`, only with a term every
  reading below finds (see "Where the docs are silent"); the gateway then applies FHIR's
  exact rules. `name`/`family`/`given`/`phone` send no term (declared `GATEWAY`): no part
  of their values is found under every reading, so they are narrowed by `birthdate` when
  given, else the gateway pages through the patients and filters (the core bounds the
  vendor calls per page and says when it stopped).
- patients are listed through the keyset-paged cursor endpoint whatever the sort
  (`_sort=family|birthdate|_lastUpdated` → `sort_by`), so records created or deleted while a
  client pages cannot shift a page and lose or repeat a patient; when the vendor alone
  answers the query exactly, the first page also asks the page endpoint for its `total`.
- `clinical-status` / `status` → `is_active` (narrows); Observation `date` → `date_from`/
  `date_to` widened by a day on each side (vendor dates are local days; the gateway finishes).
Sub-records (allergies, medications, vital signs) exist only under a patient, so their search
requires `patient` (or `_id`), and their ids carry the patient's (mappings.ids). A deleted
(archived) patient's records are not served: searches come back empty, reads are 410.

Where the docs are silent (the list `search`: "free-text search across name, phone, email,
chart number, and DOB fields"), and how each point is read. Implementations differ on each,
so a term is sent only when every reading returns a superset of the FHIR answer
(`sandboxes.dentalpms.readings` simulates each; tests/e2e/test_dentalpms_readings.py checks):
- Case: read as case-insensitive (`ILIKE`-like), as the API's other free-text searches are
  documented ("case-insensitive substring match"). Terms are ASCII, where lower-casing is
  unambiguous (`ß`/`ss`, dotted `İ` and ligatures never arise).
- Accents: either. An accent-sensitive vendor (`NUÑEZ` stored, `nunez` sent: nothing), or one
  that stores names decomposed (NFD: a precomposed `Renée` sent finds nothing), misses
  whatever FHIR's accent-insensitive matching finds through a letter stored accented; and
  any letter of a name may be stored accented, whether or not the query accents it (`nunez`
  finds `Núñez` in FHIR). No part of a name value is therefore safe: names send no term.
- Substring or prefix: either. A term may have to start a field's whole value, so only a
  whole stored value is safe: the chart number (`identifier`, matched exactly) and the email
  (matched whole, case-insensitively), when ASCII. A name's FHIR prefix would be, if accents
  were not in the way.
- Phones: matched by digits, or only as text of the number as stored (`(555) 123-4567`).
  Stored as text, only a run of digits inside one group (at most the last four) is found;
  under a prefix reading, not even that. FHIR compares all digits, so no term is safe for
  every format and reading: phones send no term.
- Tokens: the value may be split on whitespace (tokens ANDed) or taken whole; a term without
  whitespace is read the same either way. Terms with a backslash are not sent (`ILIKE`'s
  escape character: the pattern would not match the value itself); `%` and `_` may act as
  wildcards, which only widens the answer.
- DOB: `dob_from`/`dob_to` are exact date bounds; a patient without a birth date matches
  neither (FHIR agrees: no birthDate, no match).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from gateway.concurrently import concurrently
from gateway.contract import (
    AdapterConfig,
    Resource,
    ResourceProvider,
    SearchRequest,
    TenantContext,
    VendorPage,
    by_type,
)
from gateway.errors import Gone, NotFound
from gateway.search import planning as q
from gateway.search.model import SearchQuery, TokenValue
from gateway.search.planning import date_bounds, date_bounds_any
from mappings.dentalpms.allergy import NKDA_SUFFIX, allergy_to_fhir, nkda_to_fhir
from mappings.dentalpms.capabilities import ALLERGY, CONDITION, MEDICATION, OBSERVATION, PATIENT
from mappings.dentalpms.client import DentalPmsClient
from mappings.dentalpms.condition import condition_to_fhir
from mappings.dentalpms.medication import medication_to_fhir
from mappings.dentalpms.observation import vitals_to_fhir
from mappings.dentalpms.options import DentalPmsOptions
from mappings.dentalpms.patient import patient_to_fhir
from mappings.ids import is_uuid, split_child_id, unpack_uuid

MAX_PAGE_SIZE = 100
_SORT_FIELDS = {"family": "last_name", "birthdate": "date_of_birth", "_lastUpdated": "updated_at"}
VendorRecord = dict[str, Any]


@dataclass(frozen=True)
class _Listed:
    """A kind of record the API lists under a patient (`/patients/{id}/<path>`)."""

    type: str  # the FHIR type it becomes (for messages)
    path: str
    to_fhir: Callable[[VendorRecord, str, TenantContext], list[Resource]]
    # One vital-signs reading becomes several Observations, whose ids carry a suffix; it is also
    # the only sub-record the API serves one at a time.
    several: bool = False


def _one(mapper: Callable[[VendorRecord, str, TenantContext], Resource]) -> Callable[..., list[Resource]]:
    return lambda record, patient_id, ctx: [mapper(record, patient_id, ctx)]


ALLERGIES = _Listed("AllergyIntolerance", "allergies", _one(allergy_to_fhir))
MEDICATIONS = _Listed("MedicationStatement", "medications", _one(medication_to_fhir))
VITAL_SIGNS = _Listed("Observation", "vital-signs", vitals_to_fhir, several=True)
PROBLEMS = _Listed("Condition", "diseases", _one(condition_to_fhir))


class DentalPmsAdapter:
    def __init__(self, config: AdapterConfig[DentalPmsOptions]) -> None:
        self._client = DentalPmsClient(config)
        self._ctx = config.context
        self._providers = by_type(
            ResourceProvider(PATIENT, self._read_patient, self._search_patients, max_page_size=MAX_PAGE_SIZE),
            ResourceProvider(ALLERGY, self._read_allergy, self._search_allergies, max_page_size=MAX_PAGE_SIZE),
            ResourceProvider(
                MEDICATION,
                partial(self._read_listed, MEDICATIONS),
                self._search_medications,
                max_page_size=MAX_PAGE_SIZE,
            ),
            ResourceProvider(
                OBSERVATION,
                partial(self._read_listed, VITAL_SIGNS),
                self._search_observations,
                max_page_size=MAX_PAGE_SIZE,
            ),
            ResourceProvider(
                CONDITION, partial(self._read_listed, PROBLEMS), self._search_conditions, max_page_size=MAX_PAGE_SIZE
            ),
        )

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        return self._providers

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- read -------------------------------------------------------------------------------

    async def _read_patient(self, resource_id: str) -> Resource:
        record = await self._patient_record(resource_id)
        _alive(record, resource_id)
        return patient_to_fhir(record, self._ctx)

    async def _read_allergy(self, resource_id: str) -> Resource:
        if resource_id.endswith(f".{NKDA_SUFFIX}"):
            return await self._read_nkda(resource_id)
        return await self._read_listed(ALLERGIES, resource_id)

    async def _read_listed(self, kind: _Listed, resource_id: str) -> Resource:
        """A sub-record: its id carries its patient's (mappings.ids), so one listing finds it."""
        parts = split_child_id(resource_id)
        if parts is None or (parts[2] is not None) != kind.several:
            raise NotFound(f"{kind.type}/{resource_id} does not exist")
        patient_id, record_id, _ = parts
        patient, found = await concurrently(
            self._patient_or_none(patient_id), self._find_record(patient_id, kind, record_id)
        )
        if patient is None or found is None:
            raise NotFound(f"{kind.type}/{resource_id} does not exist")
        _alive(patient, f"Patient/{patient_id}", of=f"{kind.type}/{resource_id}")
        resources = kind.to_fhir(found, patient_id, self._ctx)
        if not kind.several:
            return resources[0]
        for resource in resources:
            if resource["id"] == resource_id:
                return resource
        raise NotFound(f"{kind.type}/{resource_id} does not exist")

    async def _patient_record(self, patient_id: str) -> VendorRecord:
        if not is_uuid(patient_id):
            raise NotFound(f"Patient/{patient_id} does not exist")
        try:
            record: VendorRecord = await self._client.get(f"/patients/{patient_id}")
        except NotFound:
            raise NotFound(f"Patient/{patient_id} does not exist") from None
        return record

    async def _patient_or_none(self, patient_id: str) -> VendorRecord | None:
        try:
            return await self._patient_record(patient_id)
        except NotFound:
            return None

    async def _read_nkda(self, resource_id: str) -> Resource:
        patient_id = unpack_uuid(resource_id.split(".")[0])
        if patient_id is not None:
            record = await self._patient_record(patient_id)
            _alive(record, f"Patient/{patient_id}", of=f"AllergyIntolerance/{resource_id}")
            if record.get("allergy_review_status") == "nkda":
                return nkda_to_fhir(record, self._ctx)
        raise NotFound(f"AllergyIntolerance/{resource_id} does not exist")

    async def _find_record(self, patient_id: str, kind: _Listed, record_id: str) -> VendorRecord | None:
        path = kind.path
        if kind.several:  # read on its own
            try:
                record: VendorRecord = await self._client.get(f"/patients/{patient_id}/{path}/{record_id}")
            except NotFound:
                return None
            return record
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
                    found: VendorRecord = item
                    return found
            if page * data["page_size"] >= data["total"]:
                return None
            page += 1

    # -- search -----------------------------------------------------------------------------

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        by_id = _patient_ids(query, self._ctx.system("patient-id"))
        if by_id is not None:
            found = await q.read_each(self._read_patient, by_id)
            return VendorPage(found, None, total=len(found) if q.only(query, "identifier") else None)
        filters: dict[str, str | int] = {}
        term = _search_term(query, self._ctx.system("chart-number"))
        if term:
            filters["search"] = term
        dob_from, dob_to, dob_exact = date_bounds(query, "birthdate")
        if dob_from:
            filters["dob_from"] = dob_from.isoformat()
        if dob_to:
            filters["dob_to"] = dob_to.isoformat()
        exact = q.only(query, "birthdate") and dob_exact
        sort = query.sort[0] if query.sort else None
        params: dict[str, str | int] = {
            **filters,
            "first": request.page_size,
            "sort_by": _SORT_FIELDS[sort.name] if sort else "last_name",
            "sort_dir": "desc" if sort and sort.descending else "asc",
        }
        if request.position:
            params["after"] = str(request.position)
        total: int | None = None
        if exact and request.position is None:
            data, counted = await concurrently(
                self._client.get("/patients/cursor", params),
                self._client.get("/patients", {**filters, "page": 1, "page_size": 1}),
            )
            total = int(counted["total"])
        else:
            data = await self._client.get("/patients/cursor", params)
        info = data.get("page_info") or {}
        following = info.get("end_cursor") if info.get("has_next_page") else None
        return VendorPage([patient_to_fhir(p, self._ctx) for p in data["data"]], following, total=total)

    async def _sub_records(
        self, request: SearchRequest, path: str, extra: Mapping[str, str | int]
    ) -> tuple[str, VendorRecord | None, VendorRecord] | None:
        """(patient id, patient record on the first page, vendor page), or None when there is
        no such live patient (then the search is empty)."""
        patient_id = q.single_patient(request.query)
        if not is_uuid(patient_id):
            return None
        page = int(request.position or 1)
        params = {"page": page, "page_size": request.page_size, **extra}
        listing = self._listing(f"/patients/{patient_id}/{path}", params)
        if page > 1:
            data = await listing
            return (patient_id, None, data) if data is not None else None
        # The first page also checks that the patient is live (and reads its NKDA status).
        patient, first = await concurrently(self._patient_or_none(patient_id), listing)
        if patient is None or first is None or patient.get("deleted_at"):
            return None
        return patient_id, patient, first

    async def _listing(self, path: str, params: Mapping[str, str | int]) -> VendorRecord | None:
        try:
            data: VendorRecord = await self._client.get(path, params)
        except NotFound:
            return None
        return data

    async def _search_allergies(self, request: SearchRequest) -> VendorPage:
        status = q.single_token(request.query, "clinical-status")
        extra: dict[str, str | int] = (
            {"is_active": str(status == "active").lower()} if status in ("active", "inactive") else {}
        )
        listed = await self._sub_records(request, ALLERGIES.path, extra)
        if listed is None:
            return VendorPage([], None, total=0)
        patient_id, patient, data = listed
        resources = [allergy_to_fhir(a, patient_id, self._ctx) for a in data["items"]]
        nkda = patient is not None and patient.get("allergy_review_status") == "nkda"
        if nkda and patient is not None:
            resources.insert(0, nkda_to_fhir(patient, self._ctx))
        exact = q.only(request.query, "patient", "subject") and patient is not None
        return _paged(request, resources, data, int(data["total"]) + nkda if exact else None)

    async def _search_medications(self, request: SearchRequest) -> VendorPage:
        statuses = {v.code for p in request.query.named("status") for v in p.values if isinstance(v, TokenValue)}
        extra: dict[str, str | int] = {}
        if statuses == {"active"}:
            extra["is_active"] = "true"
        elif statuses and "active" not in statuses and len(request.query.named("status")) == 1:
            extra["is_active"] = "false"
        listed = await self._sub_records(request, MEDICATIONS.path, extra)
        if listed is None:
            return VendorPage([], None, total=0)
        patient_id, _, data = listed
        resources = [medication_to_fhir(m, patient_id, self._ctx) for m in data["items"]]
        exact = q.only(request.query, "patient", "subject")
        return _paged(request, resources, data, int(data["total"]) if exact else None)

    async def _search_conditions(self, request: SearchRequest) -> VendorPage:
        status = q.single_token(request.query, "clinical-status")
        extra: dict[str, str | int] = {"problem_status": status} if status in ("active", "resolved", "inactive") else {}
        listed = await self._sub_records(request, PROBLEMS.path, extra)
        if listed is None:
            return VendorPage([], None, total=0)
        patient_id, _, data = listed
        resources = [condition_to_fhir(d, patient_id, self._ctx) for d in data["items"]]
        exact = q.only(request.query, "patient", "subject")
        return _paged(request, resources, data, int(data["total"]) if exact else None)

    async def _search_observations(self, request: SearchRequest) -> VendorPage:
        low, high = date_bounds_any(request.query, "date")
        window: dict[str, str | int] = {}
        if low:  # vendor dates are the practice's local days: widen a day each side
            window["date_from"] = q.shift(low, -1).isoformat()
        if high:
            window["date_to"] = q.shift(high, 1).isoformat()
        listed = await self._sub_records(request, VITAL_SIGNS.path, window)
        if listed is None:
            return VendorPage([], None, total=0)
        patient_id, _, data = listed
        resources = [o for v in data["items"] for o in vitals_to_fhir(v, patient_id, self._ctx)]
        return _paged(request, resources, data, None)  # one reading yields several Observations


def _alive(record: VendorRecord, name: str, of: str | None = None) -> None:
    if record.get("deleted_at"):
        raise Gone(f"{of} belongs to a deleted patient" if of else f"{name} has been deleted")


def _paged(request: SearchRequest, resources: list[Resource], data: VendorRecord, total: int | None) -> VendorPage:
    page = int(request.position or 1)
    more = page * int(data["page_size"]) < int(data["total"])
    return VendorPage(resources, page + 1 if more else None, total=total)


def _search_term(query: SearchQuery, chart_system: str) -> str | None:
    """A term for the vendor's free-text `search` that every reading of it finds in every
    patient the query matches (module docstring: "Where the docs are silent"): a chart number
    or email sent whole, or nothing."""
    candidates: list[str] = []
    for param in query.params:
        if len(param.values) != 1 or param.modifier is not None:
            continue
        value = param.values[0]
        if not isinstance(value, TokenValue) or not value.code:
            continue
        chart = param.name == "identifier" and value.system in (None, chart_system)
        if chart or param.name == "email":
            candidates.append(value.code)
    safe = [term for term in candidates if _whole_value_term(term)]
    return max(safe, key=len) if safe else None


def _whole_value_term(term: str) -> bool:
    """`term`, a whole stored value, is found as itself under every reading: printable ASCII,
    no whitespace, no `ILIKE` escape character."""
    return term.isascii() and term.isprintable() and not any(c.isspace() or c == "\\" for c in term)


def _patient_ids(query: SearchQuery, system: str) -> list[str] | None:
    """Patient ids to read directly: identifiers in our patient-id system, or bare UUIDs (the
    only identifiers this tenant has are the patient id and the chart number)."""
    for param in query.named("identifier"):
        tokens = [v for v in param.values if isinstance(v, TokenValue) and v.code]
        if tokens and all(t.system == system or (t.system is None and is_uuid(t.code or "")) for t in tokens):
            return [t.code for t in tokens if t.code]
    return None
