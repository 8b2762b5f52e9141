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

Reading answers: every payload goes through the declared models of `vendor.py` (pydantic),
never through bare dict access. A patient payload that cannot be read is a 502 naming the
field (in a list: left out, with a warning entry naming its id and the field). The records
inside a patient are read one by one: one that cannot be read is left out of searches with
an OperationOutcome warning naming its FHIR id (when its vendor id is readable) and the
vendor's field path, never a value; the search then gives no total; the read of that very
record is a 502 with the same message (so is the read of an id that is not found while
records whose id cannot be known were unreadable: "does not exist" would be a guess).

Where the docs are silent (each point, and how it is read here):
- The encounter shape (only `encounters: []` is shown). Read: `id` (number or digit
  string; required — without it a record has no identity and is reported); `status`
  (case, `-`/space/`_` and US/UK `canceled` alike: scheduled/planned → planned,
  in_progress → in-progress, completed/finished → finished, cancelled → cancelled, anything
  else → unknown); `visit_type` (telehealth, telemedicine, virtual, video → class VR, else
  AMB); `type` and `reason` (text; `type` may be an object with a `name`).
- The encounter's time: `start_time`, else `date_of_service`, else `started_at`; the end
  `end_time`, else `ended_at`. A null alternative falls through to the next. Values are
  ISO 8601: a date-time with `Z`/offset, or none (UTC: Laravel's default app timezone, as
  everywhere in this adapter), or a date alone (kept as a date, no midnight invented). A
  value that is no date (e.g. Feb 30) or not a string makes the encounter unreadable.
- References (`provider`, `location`, also `type`): an object (`name`, `display_name`, or
  `first_name` + `last_name`; a provider's `credentials`), or a plain string (its name), or a
  number / digit string (an id alone: nothing to display, so no performer or location is
  shown). Anything else (a list, a boolean) makes the encounter unreadable.
- Numbers as strings: ids (patient, encounter, reference) may be numbers or digit strings;
  text fields given as numbers (a phone, a postal code) are their decimal text.
- The demographics shape (not in the docs at all): `email`, `phone` or `phone_number`,
  `address_line1` or `address`, `city`, `state`, `postal_code` or `zip`; missing fields are
  absent; `demographics` null means none recorded.
- `include=demographics` on `GET /v1/patients/{id}`: the docs list includes for the list
  only. A read whose answer has no `demographics` key (an implementation ignoring the
  include there; null is an answer, "none recorded") looks the patient up in the list, which
  takes that include: filtered by its last name and birth date (substring and exact
  filters, so the patient is among the hits) and picked by id. Search and read then map the
  same payload, so telecom, address and the content-hash versionId agree. (Computing the
  versionId from the fields both answers carry would hide the difference, not remove it:
  the telecom would still differ.) When the list leaves the demographics out too, neither
  answer has them and they still agree. One extra call, only for such implementations.
- `meta`: an object, or `[]` (PHP's encoding of an empty array) or null, both read as `{}`.
- `allergies`: documented as text; a list of text items is read as that list, item by
  item (a non-text item is reported, the others served); anything else is reported.
- `latest_medications` items (shown only as `[]`): text as written, or an object naming the
  drug (`name` or `medication`, with `strength` or `dosage` appended); an object with no name
  or an item that is neither is reported; null items are skipped. One text instead of a
  list is one entry. A list may come as an object (PHP's encoding of a non-sequential
  array): its values are the items, in order (same for `encounters` and `allergies`).
- Fields the mappers do not use are not declared, so no oddity there can make a record
  unreadable; missing optional fields are simply absent from the FHIR resource.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from gateway.contract import AdapterConfig, Resource, ResourceProvider, SearchRequest, VendorPage, Written, by_type
from gateway.errors import Gone, NotFound, PreconditionFailed, UpstreamError
from gateway.search import planning as q
from gateway.search.match import matches
from gateway.search.model import SearchQuery, StringValue, TokenValue
from mappings.fhirjson import fhir_date
from mappings.ids import is_int_id
from mappings.nextvisit.allergy import allergies_read
from mappings.nextvisit.capabilities import ALLERGY, ENCOUNTER, MEDICATION, PATIENT
from mappings.nextvisit.client import NextvisitClient
from mappings.nextvisit.encounter import encounters_to_fhir
from mappings.nextvisit.medication import medications_read
from mappings.nextvisit.options import NextvisitOptions
from mappings.nextvisit.patient import patient_from_fhir, patient_to_fhir
from mappings.nextvisit.vendor import Mapped, Unreadable, UnreadablePayload, VendorPatient, read_patient

MAX_PAGE_SIZE = 100
FREE_TEXT_PAGE_SIZE = 25  # its hits are re-read one by one: smaller pages
MAX_TRASH_PAGES = 20
MAX_DEMOGRAPHICS_PAGES = 5  # pages of namesakes walked to find one patient's demographics
_SORT_FIELDS = {"family": "last_name", "birthdate": "date_of_birth"}
Children = Callable[[VendorPatient], Mapped]


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

    def _allergies(self, patient: VendorPatient) -> Mapped:
        return allergies_read(patient, self._ctx)

    def _medications(self, patient: VendorPatient) -> Mapped:
        return medications_read(patient, self._ctx)

    def _encounters(self, patient: VendorPatient) -> Mapped:
        return encounters_to_fhir(patient, self._ctx)

    # -- read ---------------------------------------------------------------------------------

    async def _read_patient(self, resource_id: str) -> Resource:
        return patient_to_fhir(await self._patient(resource_id), self._ctx)

    async def _read_child(self, resource_type: str, children: Children, resource_id: str) -> Resource:
        patient_id = resource_id.split(".")[0]
        found, unreadable = children(await self._patient(patient_id))
        for child in found:
            if child["id"] == resource_id:
                return child
        for record in unreadable:
            # This very record, or one whose id cannot be known: "does not exist" would be a guess.
            if record.record_id in (resource_id, None):
                raise UpstreamError(record.message)
        raise NotFound(f"{resource_type}/{resource_id} does not exist")

    async def _patient(self, patient_id: str) -> VendorPatient:
        if not is_int_id(patient_id):
            raise NotFound(f"Patient/{patient_id} does not exist")
        try:
            data = await self.client.request("GET", f"/v1/patients/{patient_id}", params={"include": "demographics"})
        except NotFound:
            if await self._trashed(patient_id):
                raise Gone(f"Patient/{patient_id} has been deleted") from None
            raise NotFound(f"Patient/{patient_id} does not exist") from None
        raw: dict[str, Any] = data["data"]
        patient = _readable(raw, patient_id)
        if "demographics" not in raw:
            patient = await self._with_demographics(patient)
        return patient

    async def _with_demographics(self, patient: VendorPatient) -> VendorPatient:
        """The patient with the demographics its read left out (an implementation that ignores
        `include` there): from the list, which takes the same include and has no id filter, so
        the patient is looked up among those of its last name and birth date (the filters are
        substring and exact matches: the patient is among them). Search and read then give
        the same resource; when the list leaves them out too, neither has them."""
        params: dict[str, str | int] = {"include": "demographics", "per_page": MAX_PAGE_SIZE, "sort": "id"}
        if patient.last_name:
            params["filter[last_name]"] = patient.last_name
        if patient.date_of_birth and fhir_date(patient.date_of_birth):
            params["filter[date_of_birth]"] = patient.date_of_birth[:10]
        for page in range(1, MAX_DEMOGRAPHICS_PAGES + 1):
            data = await self.client.request("GET", "/v1/patients", params={**params, "page": page})
            for row in data["data"]:
                if isinstance(row, dict) and str(row.get("id")) == patient.id:
                    if "demographics" not in row:
                        return patient
                    listed = _readable(row, patient.id)
                    return patient.model_copy(update={"demographics": listed.demographics})
            if data["meta"]["current_page"] >= data["meta"]["last_page"]:
                break
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
        found, unreadable = children(patient)
        exact = q.only(request.query, "patient", "subject") and not unreadable
        return VendorPage(found, None, total=len(found) if exact else None, warnings=_messages(unreadable))

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
        found, warnings = self._patients(data["data"])
        return VendorPage(
            found,
            page + 1 if meta["current_page"] < meta["last_page"] else None,
            total=int(meta["total"]) if exact and not warnings else None,
            warnings=warnings,
        )

    def _patients(self, rows: list[Any]) -> tuple[list[Resource], tuple[str, ...]]:
        """The patients of a list that can be read, and a warning for each that cannot."""
        found: list[Resource] = []
        warnings: list[str] = []
        for index, row in enumerate(rows):
            try:
                found.append(patient_to_fhir(row, self._ctx))
            except UnreadablePayload as exc:
                vendor_id = row.get("id") if isinstance(row, dict) else None
                known = isinstance(vendor_id, int | str)
                who = f"Patient/{vendor_id}" if known else f"The patient at position {index} of a vendor page"
                warnings.append(f"{who} could not be read: {exc}")
        return found, tuple(warnings)

    async def _search_free_text(self, request: SearchRequest, text: str) -> VendorPage:
        """Names through the full-text endpoint, which returns patients without demographics:
        hits are filtered first (every Nextvisit search parameter can be judged on them), and
        only the survivors are read in full, so search and read give the same resource."""
        page = int(request.position or 1)
        params: dict[str, str | int] = {"query": text, "per_page": FREE_TEXT_PAGE_SIZE, "page": page}
        data = await self.client.request("GET", "/v1/patients/search", params=params)
        hits, warnings = self._patients(data["data"])
        survivors = [h["id"] for h in hits if matches(h, request.query)]
        found = await q.read_each(lambda i: self._read_patient(i), survivors)
        meta = data["meta"]
        return VendorPage(found, page + 1 if meta["current_page"] < meta["last_page"] else None, warnings=warnings)

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
        body = patient_from_fhir(resource, self._ctx, _today(), record.meta)
        await self.client.request("PUT", f"/v1/patients/{resource_id}", json=body)
        return Written(await self._read_patient(resource_id))

    async def _delete_patient(self, resource_id: str) -> None:
        try:
            await self._patient(resource_id)
        except (NotFound, Gone):
            return  # FHIR: deleting what is not there (any more) is a success, not an error
        await self.client.request("DELETE", f"/v1/patients/{resource_id}")


def _readable(raw: Any, patient_id: str) -> VendorPatient:
    try:
        return read_patient(raw)
    except UnreadablePayload as exc:
        raise UpstreamError(f"Patient/{patient_id} could not be read: {exc}") from None


def _messages(unreadable: list[Unreadable]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u.message for u in unreadable))


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
