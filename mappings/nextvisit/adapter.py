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

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from gateway.contract import AdapterConfig, Resource, ResourceProvider, SearchRequest, VendorPage, Written, by_type
from gateway.errors import Gone, NotFound, PreconditionFailed
from gateway.search import planning as q
from gateway.search.match import matches
from gateway.search.model import SearchQuery, StringValue, TokenValue
from mappings.ids import is_int_id
from mappings.nextvisit.allergy import allergies_to_fhir
from mappings.nextvisit.capabilities import ALLERGY, ENCOUNTER, MEDICATION, PATIENT
from mappings.nextvisit.client import NextvisitClient
from mappings.nextvisit.encounter import encounter_to_fhir
from mappings.nextvisit.medication import medications_to_fhir
from mappings.nextvisit.options import NextvisitOptions
from mappings.nextvisit.patient import patient_from_fhir, patient_to_fhir

MAX_PAGE_SIZE = 100
FREE_TEXT_PAGE_SIZE = 25  # its hits are re-read one by one: smaller pages
MAX_TRASH_PAGES = 20
_SORT_FIELDS = {"family": "last_name", "birthdate": "date_of_birth"}
Children = Callable[[dict[str, Any]], list[Resource]]


class NextvisitAdapter:
    def __init__(self, config: AdapterConfig[NextvisitOptions]) -> None:
        self.client = NextvisitClient(config)
        self._ctx = config.context
        self._providers = by_type(
            ResourceProvider(
                PATIENT,
                self._read_patient,
                self._search_patients,
                create=self._create_patient,
                update=self._update_patient,
                delete=self._delete_patient,
                max_page_size=MAX_PAGE_SIZE,
            ),
            *(
                ResourceProvider(
                    declaration,
                    partial(self._read_child, declaration.type, children),
                    partial(self._search_children, children),
                    max_page_size=MAX_PAGE_SIZE,
                )
                for declaration, children in (
                    (ALLERGY, self._allergies),
                    (MEDICATION, self._medications),
                    (ENCOUNTER, self._encounters),
                )
            ),
        )

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        return self._providers

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- records inside the patient payload ---------------------------------------------------

    def _allergies(self, patient: dict[str, Any]) -> list[Resource]:
        return allergies_to_fhir(patient, self._ctx)

    def _medications(self, patient: dict[str, Any]) -> list[Resource]:
        return medications_to_fhir(patient, self._ctx)

    def _encounters(self, patient: dict[str, Any]) -> list[Resource]:
        return [encounter_to_fhir(e, str(patient["id"]), self._ctx) for e in patient.get("encounters") or []]

    # -- read ---------------------------------------------------------------------------------

    async def _read_patient(self, resource_id: str) -> Resource:
        return patient_to_fhir(await self._patient(resource_id), self._ctx)

    async def _read_child(self, resource_type: str, children: Children, resource_id: str) -> Resource:
        patient_id = resource_id.split(".")[0]
        for child in children(await self._patient(patient_id)):
            if child["id"] == resource_id:
                return child
        raise NotFound(f"{resource_type}/{resource_id} does not exist")

    async def _patient(self, patient_id: str) -> dict[str, Any]:
        if not is_int_id(patient_id):
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

    async def _search_children(self, children: Children, request: SearchRequest) -> VendorPage:
        patient_id = q.single_patient(request.query)
        try:
            patient = await self._patient(patient_id)
        except (NotFound, Gone):
            return VendorPage([], None, total=0)
        found = children(patient)
        exact = q.only(request.query, "patient", "subject")
        return VendorPage(found, None, total=len(found) if exact else None)

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        by_id = _our_ids(query, self._ctx.system("patient-id"))
        if by_id is not None:
            found = await q.read_each(lambda i: self._read_patient(i), by_id)
            return VendorPage(found, None, total=len(found) if q.only(query, "identifier") else None)
        family = _single_string(query, ("family",), modifiers=(None, "exact", "contains"))
        free_text = _single_string(query, ("name", "given", "family"), modifiers=(None, "exact"))
        sort = query.sort[0] if query.sort else None
        if free_text and not sort and not family:
            return await self._search_free_text(request, free_text)
        page = int(request.position or 1)
        # Ascending id by default: new patients land on the last page, so paging cannot skip or
        # repeat anyone while records are created (the vendor's default, newest first, would).
        params: dict[str, str | int] = {
            "per_page": request.page_size,
            "page": page,
            "include": "demographics",
            "sort": ("-" if sort and sort.descending else "") + (_SORT_FIELDS[sort.name] if sort else "id"),
        }
        if family:
            params["filter[last_name]"] = family
        low, high, exact = q.date_bounds(query, "birthdate")
        if low and low == high:
            params["filter[date_of_birth]"] = low.isoformat()
        data = await self.client.request("GET", "/v1/patients", params=params)
        meta = data["meta"]
        exact = exact and q.only(query, "birthdate") and (not query.named("birthdate") or low == high)
        return VendorPage(
            [patient_to_fhir(p, self._ctx) for p in data["data"]],
            page + 1 if meta["current_page"] < meta["last_page"] else None,
            total=int(meta["total"]) if exact else None,
        )

    async def _search_free_text(self, request: SearchRequest, text: str) -> VendorPage:
        """Names through the full-text endpoint, which returns patients without demographics:
        hits are filtered first (every Nextvisit search parameter can be judged on them), and
        only the survivors are read in full, so search and read give the same resource."""
        page = int(request.position or 1)
        params: dict[str, str | int] = {"query": text, "per_page": FREE_TEXT_PAGE_SIZE, "page": page}
        data = await self.client.request("GET", "/v1/patients/search", params=params)
        hits = [patient_to_fhir(p, self._ctx) for p in data["data"]]
        survivors = [h["id"] for h in hits if matches(h, request.query)]
        found = await q.read_each(lambda i: self._read_patient(i), survivors)
        meta = data["meta"]
        return VendorPage(found, page + 1 if meta["current_page"] < meta["last_page"] else None)

    # -- write --------------------------------------------------------------------------------

    async def _create_patient(self, resource: Resource) -> Written:
        body = patient_from_fhir(resource, self._ctx, _today())
        data = await self.client.request("POST", "/v1/patients", json=body)
        return Written(await self._read_patient(str(data["data"]["id"])))

    async def _update_patient(self, resource_id: str, resource: Resource, if_match: str | None) -> Written:
        record = await self._patient(resource_id)
        current = patient_to_fhir(record, self._ctx)
        if if_match is not None and current["meta"]["versionId"] != if_match:
            raise PreconditionFailed(
                f"Patient/{resource_id} has changed since version {if_match}; read it again before updating"
            )
        body = patient_from_fhir(resource, self._ctx, _today(), record.get("meta"))
        await self.client.request("PUT", f"/v1/patients/{resource_id}", json=body)
        return Written(await self._read_patient(resource_id))

    async def _delete_patient(self, resource_id: str) -> None:
        try:
            await self._patient(resource_id)
        except (NotFound, Gone):
            return  # FHIR: deleting what is not there (any more) is a success, not an error
        await self.client.request("DELETE", f"/v1/patients/{resource_id}")


def _today() -> date:
    return datetime.now(UTC).date()


def _single_string(query: SearchQuery, names: tuple[str, ...], modifiers: tuple[str | None, ...]) -> str | None:
    for name in names:
        params = query.named(name)
        if (
            len(params) == 1
            and len(params[0].values) == 1
            and isinstance(params[0].values[0], StringValue)
            and params[0].modifier in modifiers
        ):
            return params[0].values[0].text
    return None


def _our_ids(query: SearchQuery, id_system: str) -> list[str] | None:
    """Patient ids to read directly: identifiers explicitly in our patient-id system. Without a
    system an identifier may be any (a stored MRN "7" is not Patient/7): those are searched."""
    for param in query.named("identifier"):
        tokens = [v for v in param.values if isinstance(v, TokenValue) and v.code]
        if tokens and all(t.system == id_system for t in tokens):
            return [t.code for t in tokens if t.code]
    return None
