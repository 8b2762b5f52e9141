"""The Nextvisit adapter: FHIR interactions planned onto the Nextvisit API.

Search planning (what is pushed down, and why it is safe):
- `_id`, and `identifier` with a numeric patient id → `GET /v1/patients/{id}`.
- `family` (one value) → `filter[last_name]`, a case/accent-insensitive substring filter (a
  superset of FHIR's prefix, exact and contains rules; the gateway finishes).
- `name` / `given` (one value) → `/v1/patients/search?query=`, Meilisearch full text over the
  name parts with prefix matching and typo tolerance: a superset again. It cannot sort, so a
  query that also asks for `_sort` walks the sorted list instead.
- `birthdate=YYYY-MM-DD` (eq, day precision) → `filter[date_of_birth]`, exact; other date
  conditions are the gateway's. `gender`, `_lastUpdated` and patient uuids have no Nextvisit
  filter: the gateway filters the list.
- `_sort=family|birthdate` → `sort=[-]last_name|date_of_birth`; `_count` → `per_page`.
Allergies, medications and encounters live inside the patient payload, so their searches
need `patient` and cost one vendor call; their ids carry the patient id (`<pid>.a.…`,
`<pid>.m.…`, `<pid>.e.<encounter id>`), so a read is one call too.
Deletes are soft at Nextvisit; a deleted patient's id is found among trashed patients and
read as 410 Gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from gateway.errors import Gone, NotFound, PreconditionFailed
from gateway.search.model import SearchQuery, StringValue, TokenValue
from gateway.upstream.errors import vendor_answer
from mappings import query as q
from mappings.base import AdapterConfig, Resource, ResourceSupport, SearchRequest, VendorPage, Written
from mappings.nextvisit.allergy import allergies_to_fhir
from mappings.nextvisit.capabilities import RESOURCES
from mappings.nextvisit.client import NextvisitClient
from mappings.nextvisit.encounter import encounter_to_fhir
from mappings.nextvisit.medication import medications_to_fhir
from mappings.nextvisit.patient import patient_from_fhir, patient_to_fhir

MAX_PAGE_SIZE = 100
MAX_TRASH_PAGES = 20
_SORT_FIELDS = {"family": "last_name", "birthdate": "date_of_birth"}
Children = Callable[[dict[str, Any]], list[Resource]]


class NextvisitAdapter:
    def __init__(self, config: AdapterConfig) -> None:
        self.client = NextvisitClient(config)
        self._ctx = config.context
        self._children: dict[str, Children] = {
            "AllergyIntolerance": lambda p: allergies_to_fhir(p, self._ctx),
            "MedicationStatement": lambda p: medications_to_fhir(p, self._ctx),
            "Encounter": lambda p: [encounter_to_fhir(e, str(p["id"]), self._ctx) for e in p.get("encounters") or []],
        }

    @property
    def resources(self) -> Mapping[str, ResourceSupport]:
        return RESOURCES

    @property
    def max_page_size(self) -> int:
        return MAX_PAGE_SIZE

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- read ---------------------------------------------------------------------------------

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        with vendor_answer("Nextvisit"):
            if resource_type == "Patient":
                return patient_to_fhir(await self._patient(resource_id), self._ctx)
            patient_id = resource_id.split(".")[0]
            for child in self._children[resource_type](await self._patient(patient_id)):
                if child["id"] == resource_id:
                    return child
            raise NotFound(f"{resource_type}/{resource_id} does not exist")

    async def _patient(self, patient_id: str) -> dict[str, Any]:
        if not patient_id.isdigit():
            raise NotFound(f"Patient/{patient_id} does not exist")
        try:
            data = await self.client.request("GET", f"/v1/patients/{patient_id}", params={"include": "demographics"})
        except NotFound:
            if await self._trashed(patient_id):
                raise Gone(f"Patient/{patient_id} has been deleted") from None
            raise NotFound(f"Patient/{patient_id} does not exist") from None
        patient: dict[str, Any] = data["data"]
        return patient

    async def _trashed(self, patient_id: str) -> bool:
        for page in range(1, MAX_TRASH_PAGES + 1):
            data = await self.client.request(
                "GET", "/v1/patients", params={"filter[trashed]": "only", "per_page": MAX_PAGE_SIZE, "page": page}
            )
            if any(str(p["id"]) == patient_id for p in data["data"]):
                return True
            if data["meta"]["current_page"] >= data["meta"]["last_page"]:
                return False
        return False

    # -- search -------------------------------------------------------------------------------

    async def search(self, resource_type: str, request: SearchRequest) -> VendorPage:
        with vendor_answer("Nextvisit"):
            ids = q.ids(request.query)
            if ids:
                return await self._by_ids(resource_type, ids)
            if resource_type == "Patient":
                return await self._search_patients(request)
            patient_id = q.single_patient(request.query)
            try:
                patient = await self._patient(patient_id)
            except (NotFound, Gone):
                return VendorPage([], None, total=0)
            children = self._children[resource_type](patient)
            return VendorPage(
                children, None, total=len(children) if q.only(request.query, "patient", "subject") else None
            )

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
        numeric = _numeric_identifiers(query, self._ctx.system("patient-id"), self._ctx.system("patient-uuid"))
        if numeric is not None:
            return await self._by_ids("Patient", numeric)
        page = int(request.position or 1)
        params: dict[str, str | int] = {"per_page": request.page_size, "page": page}
        path = "/v1/patients"
        free_text = _single_string(query, "name", "given")
        family = _single_string(query, "family")
        sort = query.sort[0] if query.sort else None
        if free_text and not sort:
            path = "/v1/patients/search"
            params["query"] = free_text
        if family:
            params["filter[last_name]"] = family
        low, high, exact = q.date_bounds(query, "birthdate")
        if low and low == high:
            params["filter[date_of_birth]"] = low.isoformat()
        if sort:
            params["sort"] = ("-" if sort.descending else "") + _SORT_FIELDS[sort.name]
        if path == "/v1/patients":
            params["include"] = "demographics"
        data = await self.client.request("GET", path, params=params)
        meta = data["meta"]
        exact = exact and q.only(query, "birthdate") and (not query.named("birthdate") or low == high)
        return VendorPage(
            [patient_to_fhir(p, self._ctx) for p in data["data"]],
            page + 1 if meta["current_page"] < meta["last_page"] else None,
            total=int(meta["total"]) if exact and path == "/v1/patients" else None,
            previous=page - 1 if page > 1 else None,
        )

    # -- write --------------------------------------------------------------------------------

    async def create(self, resource_type: str, resource: Resource) -> Written:
        body = patient_from_fhir(resource, self._ctx, _today())
        with vendor_answer("Nextvisit"):
            data = await self.client.request("POST", "/v1/patients", json=body)
            return Written(await self.read("Patient", str(data["data"]["id"])))

    async def update(self, resource_type: str, resource_id: str, resource: Resource, if_match: str | None) -> Written:
        current = await self.read("Patient", resource_id)
        if if_match is not None and current["meta"]["versionId"] != if_match:
            raise PreconditionFailed(
                f"Patient/{resource_id} has changed since version {if_match}; read it again before updating"
            )
        body = patient_from_fhir(resource, self._ctx, _today())
        with vendor_answer("Nextvisit"):
            await self.client.request("PUT", f"/v1/patients/{resource_id}", json=body)
            return Written(await self.read("Patient", resource_id))

    async def delete(self, resource_type: str, resource_id: str) -> None:
        await self._patient(resource_id)  # 404 / 410 before anything is sent
        await self.client.request("DELETE", f"/v1/patients/{resource_id}")


def _today() -> date:
    return datetime.now(UTC).date()


def _single_string(query: SearchQuery, *names: str) -> str | None:
    for name in names:
        params = query.named(name)
        if len(params) == 1 and len(params[0].values) == 1 and isinstance(params[0].values[0], StringValue):
            return params[0].values[0].text
    return None


def _numeric_identifiers(query: SearchQuery, id_system: str, uuid_system: str) -> list[str] | None:
    """Patient ids to read directly when an identifier search names numeric ids only."""
    for param in query.named("identifier"):
        tokens = [v for v in param.values if isinstance(v, TokenValue) and v.code]
        if tokens and all(t.system in (None, id_system) and t.code and t.code.isdigit() for t in tokens):
            return [t.code for t in tokens if t.code]
    return None
