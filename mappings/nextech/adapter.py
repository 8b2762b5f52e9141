"""The Nextech adapter: FHIR interactions planned onto Nextech's term search and encounter CCDs.

Nextech offers `GET /search?term=` (a name prefix or a chart number) and, per patient,
`GET /{patientId}/encounters/search?start&end&section` with each encounter's CCD as HTML.
- Patient read: the id carries the chart number (`<patientId>.<chart>`); the read searches
  that chart number and keeps the patient with that id.
- Patient search: one term — the chart number of an `identifier`, else the longest single
  name value — and the gateway applies FHIR's rules to what it returns: names sharing a
  prefix (Smith, Smithson) and chart numbers sharing one (C0001, C00010…) come back from the
  vendor together and are told apart by the gateway. A search with nothing to make a term of
  (birthdate or gender alone) cannot be answered by Nextech and is refused (the parameter is
  declared required). `:contains` is not offered: a prefix term cannot find inner text.
- Encounters, DocumentReferences and Binaries come from the patient's encounter search,
  its window from `date` (widened a day each side; the encounter read uses its id's day).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cachetools import TTLCache

from gateway.contract import AdapterConfig, Resource, ResourceProvider, SearchRequest, VendorPage, by_type
from gateway.errors import NotFound, NotSupported
from gateway.search import planning as q
from gateway.search.model import ReferenceValue, SearchQuery, StringValue, TokenValue
from mappings.nextech.capabilities import DOCUMENT, ENCOUNTER, PATIENT, binary
from mappings.nextech.client import NextechClient
from mappings.nextech.encounter import (
    binary_to_fhir,
    document_to_fhir,
    encounter_id,
    encounter_to_fhir,
    split_encounter_id,
)
from mappings.nextech.options import NextechOptions
from mappings.nextech.patient import patient_to_fhir, split_patient_id

Item = dict[str, Any]
CHART_ONLY = "Nextech looks identifiers up as chart numbers: a patient id is found with _id, not identifier"
MIDDLE_NAMES = (
    "Nextech searches first and last names only: patients whose middle name alone matches "
    "'given' or 'name' are not found"
)


KNOWN_PATIENTS = 4096  # patient ids remembered as real (each costs a vendor search to check)
KNOWN_FOR = 900.0  # seconds: a patient deleted at the vendor is noticed within this


class NextechAdapter:
    def __init__(self, config: AdapterConfig[NextechOptions]) -> None:
        self.client = NextechClient(config)
        self._ctx = config.context
        self._sections: list[str] = []
        self._known_patients: TTLCache[str, bool] = TTLCache(maxsize=KNOWN_PATIENTS, ttl=KNOWN_FOR)
        self._providers = self._table()

    def _table(self) -> dict[str, ResourceProvider]:
        return by_type(
            ResourceProvider(PATIENT, self._read_patient, self._search_patients),
            ResourceProvider(ENCOUNTER, self._read_encounter, self._search_encounters),
            ResourceProvider(DOCUMENT, self._read_document, self._search_documents),
            ResourceProvider(binary(self._sections), self._read_binary),
        )

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        return self._providers

    async def aclose(self) -> None:
        await self.client.aclose()

    async def sections(self) -> list[str]:
        """Nextech's CCD section names (fetched once; they also go into the CapabilityStatement)."""
        if not self._sections:
            found = await self.client.get("/encounters/categories")
            self._sections = [str(s) for s in found]
            self._providers = self._table()
        return self._sections

    # -- read ---------------------------------------------------------------------------------

    async def _read_patient(self, resource_id: str) -> Resource:
        parts = split_patient_id(resource_id)
        if parts is not None:
            for patient in await self.client.get("/search", {"term": parts[1]}):
                if str(patient.get("patientId")) == parts[0]:
                    found = patient_to_fhir(patient, self._ctx)
                    if found["id"] == resource_id:
                        return found
        raise NotFound(f"Patient/{resource_id} does not exist")

    async def _read_encounter(self, resource_id: str) -> Resource:
        found = await self._encounter_item(resource_id, None)
        if found is None:
            raise NotFound(f"Encounter/{resource_id} does not exist")
        item, patient_id = found
        return encounter_to_fhir(item, patient_id, self._ctx, datetime.now(UTC))

    async def _read_document(self, resource_id: str) -> Resource:
        """DocumentReference/<encounter>.ccd: the encounter's CCD with one attachment per section."""
        base, marker, rest = resource_id.rpartition(".ccd")
        found = await self._encounter_item(base, None) if marker and not rest else None
        if found is None:
            raise NotFound(f"DocumentReference/{resource_id} does not exist")
        item, patient_id = found
        return document_to_fhir(item, patient_id, await self.sections())

    async def _read_binary(self, resource_id: str) -> Resource:
        """Binary/<encounter>.ccd is the whole CCD; Binary/<encounter>.ccd.<section> one section."""
        base, marker, rest = resource_id.rpartition(".ccd")
        section = rest.removeprefix(".") or None
        known = marker and (not rest or (rest.startswith(".") and section in await self.sections()))
        found = await self._encounter_item(base, section) if known else None
        if found is None:
            raise NotFound(f"Binary/{resource_id} does not exist")
        return binary_to_fhir(found[0], resource_id, f"CCD {section or ''}".strip())

    async def _encounter_item(self, encounter: str, section: str | None) -> tuple[Item, str] | None:
        """(the vendor's encounter item, its patient id) for an Encounter id, searched on the
        day the id carries; None when there is no such encounter."""
        parts = split_encounter_id(encounter)
        if parts is None or split_patient_id(parts[0]) is None:
            return None
        patient_id, vendor_id, day = parts
        when = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
        items = await self._encounters(patient_id, when - timedelta(days=1), when + timedelta(days=2), section)
        for item in items:
            summary = item["summary"]
            if str(summary["encounterId"]) == vendor_id and encounter_id(patient_id, summary) == encounter:
                return item, patient_id
        return None

    async def _is_patient(self, patient_id: str) -> bool:
        """Whether this Patient id names a real patient (its chart number is part of the id,
        so Patient/180.ZZZ must not borrow patient 180's encounters). Checked once per id."""
        if patient_id not in self._known_patients:
            try:
                await self._read_patient(patient_id)
            except NotFound:
                return False
            self._known_patients[patient_id] = True
        return True

    async def _encounters(self, patient_id: str, start: datetime, end: datetime, section: str | None) -> list[Item]:
        split = split_patient_id(patient_id)
        if split is None or not await self._is_patient(patient_id):
            return []
        params = {"start": _stamp(start), "end": _stamp(end)}
        if section:
            params["section"] = section
        try:
            found: list[Item] = await self.client.get(f"/{split[0]}/encounters/search", params)
        except NotFound:
            return []
        return found

    # -- search -------------------------------------------------------------------------------

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        term = _term(query, self._ctx.system("chart-number"), self._ctx.system("patient-id"))
        if term is None:
            return VendorPage([], None, total=0)  # e.g. an identifier in a system this tenant has not
        found = await self.client.get("/search", {"term": term})
        warnings: tuple[str, ...] = ()
        if not query.named("family") and not query.named("identifier"):
            warnings = (MIDDLE_NAMES,)  # the term was a given name: middle names were not searched
        elif any(v.system is None for v in q.values(query, "identifier") if isinstance(v, TokenValue)):
            warnings = (CHART_ONLY,)
        return VendorPage([patient_to_fhir(p, self._ctx) for p in found], None, warnings=warnings)

    async def _search_encounters(self, request: SearchRequest) -> VendorPage:
        patient_id, items = await self._encounters_searched(request.query)
        now = datetime.now(UTC)
        return VendorPage([encounter_to_fhir(i, patient_id, self._ctx, now) for i in items], None)

    async def _search_documents(self, request: SearchRequest) -> VendorPage:
        patient_id, items = await self._encounters_searched(request.query)
        sections = await self.sections()
        return VendorPage([document_to_fhir(i, patient_id, sections) for i in items], None)

    async def _encounters_searched(self, query: SearchQuery) -> tuple[str, list[Item]]:
        """(patient id, the patient's encounter items in the window `date` allows), widened a day
        each side: Nextech's window is in UTC, the gateway finishes the filter."""
        patient_id = q.single_patient(query) or _patient_of_encounter(query)
        if not patient_id:
            return "", []
        low, high = q.date_bounds_any(query, "date")
        start = (
            datetime.combine(q.shift(low, -1), datetime.min.time(), UTC) if low else datetime(1900, 1, 1, tzinfo=UTC)
        )
        end = datetime.combine(q.shift(high, 1), datetime.min.time(), UTC) if high else _far_future()
        return patient_id, await self._encounters(patient_id, start, end, None)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _far_future() -> datetime:
    return datetime.combine(date.today() + timedelta(days=3 * 366), datetime.min.time(), UTC)


def _patient_of_encounter(query: SearchQuery) -> str:
    refs = {v.id for v in q.values(query, "encounter") if isinstance(v, ReferenceValue)}
    patients = {parts[0] for parts in (split_encounter_id(r) for r in refs) if parts}
    if len(patients) > 1:
        return ""
    return patients.pop() if patients else ""


def _term(query: SearchQuery, chart_system: str, id_system: str) -> str | None:
    """The one search term for Nextech: a chart number, else a family name (Nextech always
    searches last names), else a given name or name."""
    for param in query.named("identifier"):
        if len(param.values) != 1:
            raise NotSupported("Nextech searches one chart number at a time; send one identifier value")
        value = param.values[0]
        if isinstance(value, TokenValue) and value.code:
            if value.system == id_system:
                raise NotSupported("Nextech cannot search by its patient id: read Patient/<id> or search by _id")
            if value.system in (None, chart_system):
                return value.code
            return None  # a system this tenant has no identifiers in: nothing matches
    for names in (("family",), ("given", "name")):
        values = [
            p.values[0].text
            for p in query.params
            if p.name in names and len(p.values) == 1 and isinstance(p.values[0], StringValue)
        ]
        if values:
            return max(values, key=len)
    if any(p.name in ("name", "family", "given") for p in query.params):
        raise NotSupported("Nextech searches one name at a time; send one value per name parameter")
    return None
