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

Where the docs are silent (and how each point is read here):
- Characters of the strings that become ids: chart numbers, patientIds (documented as
  integers, handled as any string), encounterIds and CCD section names (`/encounters/categories`
  may say `Vital Signs` or `Plan of Treatment` as well as `VitalSigns`). Each is an id part
  through `mappings.ids.encode_part`: kept as it is when already `[A-Za-z0-9-]` (today's ids),
  else escaped reversibly (`xSocial-20History`), and cut to a prefix plus a stable hash when
  its share of the 64 characters is too small (budget in encounter.py). The reads resolve the
  gateway's own ids: a section part is matched against Nextech's listed sections, a shortened
  chart number is searched by its prefix, a shortened encounterId by the encounters of its day.
- How `term` matches a chart number (exact or prefix): read as either; a read always keeps
  only the patient whose id it is, a search lets the gateway apply FHIR's rules. Only a chart
  number too long for its id (over 13-22 characters, by the patientId's length) relies on
  prefix matching: its read searches the prefix the id carries.
- The range of `start`/`end`: "if omitted, search ends with the current date", so an
  open-ended search cannot omit `end` without losing future (scheduled, open) encounters.
  The docs give `end` as a date-time with no maximum: an open-ended search sends
  `FAR_END` (9999-12-31T00:00:00Z, within .NET's DateTime and SQL Server's datetime). If
  Nextech rejects that (400), the search is repeated up to `HORIZON_DAYS` ahead and its
  searchset carries a warning (`HORIZON_WARNING`) that later encounters may be missing. With
  no lower bound `start` is omitted ("search begins with the patient's earliest encounter").
- Whether `end` is inclusive and in which zone: read as UTC, inclusive; the window is widened
  a day each side and the gateway finishes the filter.
- `encounterLocked` documented as a string with a boolean example: both accepted (encounter.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from cachetools import TTLCache

from gateway.contract import AdapterConfig, Resource, ResourceProvider, SearchRequest, VendorPage, by_type
from gateway.errors import InvalidRequest, NotFound, NotSupported
from gateway.search import planning as q
from gateway.search.model import ReferenceValue, SearchQuery, StringValue, TokenValue
from mappings.nextech.capabilities import DOCUMENT, ENCOUNTER, PATIENT, binary
from mappings.nextech.client import NextechClient
from mappings.nextech.encounter import (
    binary_to_fhir,
    document_id,
    document_to_fhir,
    encounter_id,
    encounter_to_fhir,
    section_part,
    split_binary_id,
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


FAR_END = datetime(9999, 12, 31, tzinfo=UTC)  # the end of an open-ended encounter search
HORIZON_DAYS = 3 * 366  # how far ahead a search reaches when Nextech refuses FAR_END
HORIZON_WARNING = (
    "Nextech refused an open-ended encounter search: encounters more than three years ahead "
    "may be missing; search with an explicit date range to see them"
)
KNOWN_PATIENTS = 4096  # patient ids remembered as real (each costs a vendor search to check)
KNOWN_FOR = 900.0  # seconds: a patient deleted at the vendor is noticed within this


class NextechAdapter:
    def __init__(self, config: AdapterConfig[NextechOptions]) -> None:
        self.client = NextechClient(config)
        self._ctx = config.context
        self._sections: list[str] = []
        # FHIR Patient id -> Nextech patientId, for ids of real patients
        self._known_patients: TTLCache[str, str] = TTLCache(maxsize=KNOWN_PATIENTS, ttl=KNOWN_FOR)
        self._far_end_refused = False  # Nextech answered FAR_END with a 400 once: cap instead
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
        return (await self._patient_record(resource_id))[1]

    async def _patient_record(self, resource_id: str) -> tuple[str, Resource]:
        """(Nextech patientId, the Patient) for a Patient id: a search by the chart number (or
        the prefix of it) the id carries, keeping the patient whose id it is."""
        parts = split_patient_id(resource_id)
        if parts is not None:
            for patient in await self.client.get("/search", {"term": parts[1]}):
                if str(patient.get("patientId")).startswith(parts[0]):
                    found = patient_to_fhir(patient, self._ctx)
                    if found["id"] == resource_id:
                        self._known_patients[resource_id] = str(patient["patientId"])
                        return str(patient["patientId"]), found
        raise NotFound(f"Patient/{resource_id} does not exist")

    async def _read_encounter(self, resource_id: str) -> Resource:
        found = await self._encounter_item(resource_id, None)
        if found is None:
            raise NotFound(f"Encounter/{resource_id} does not exist")
        item, patient_id = found
        return encounter_to_fhir(item, patient_id, self._ctx, datetime.now(UTC))

    async def _read_document(self, resource_id: str) -> Resource:
        """DocumentReference/<encounter>.ccd: the encounter's CCD with one attachment per section."""
        split = split_binary_id(resource_id)
        found = await self._encounter_item(split[0], None) if split and split[1] is None else None
        if found is None:
            raise NotFound(f"DocumentReference/{resource_id} does not exist")
        item, patient_id = found
        return document_to_fhir(item, patient_id, await self.sections())

    async def _read_binary(self, resource_id: str) -> Resource:
        """Binary/<encounter>.ccd is the whole CCD; Binary/<encounter>.ccd.<section part> one
        section, the one of Nextech's sections whose id part it is."""
        split = split_binary_id(resource_id)
        found = None
        section: str | None = None
        if split is not None:
            encounter, part = split
            if part is not None:
                doc_id = document_id(encounter)
                section = next((s for s in await self.sections() if section_part(doc_id, s) == part), None)
            if part is None or section is not None:
                found = await self._encounter_item(encounter, section)
        if found is None:
            raise NotFound(f"Binary/{resource_id} does not exist")
        return binary_to_fhir(found[0], resource_id, f"CCD {section or ''}".strip())

    async def _encounter_item(self, encounter: str, section: str | None) -> tuple[Item, str] | None:
        """(the vendor's encounter item, its patient id) for an Encounter id, searched on the
        day the id carries; None when there is no such encounter."""
        parts = split_encounter_id(encounter)
        if parts is None or split_patient_id(parts[0]) is None:
            return None
        patient_id, _, day = parts
        when = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
        items = await self._encounters(patient_id, when - timedelta(days=1), when + timedelta(days=2), section)
        for item in items:
            if encounter_id(patient_id, item["summary"]) == encounter:
                return item, patient_id
        return None

    async def _vendor_patient(self, patient_id: str) -> str | None:
        """The Nextech patientId of a real patient's Patient id, else None (its chart number is
        part of the id, so Patient/180.ZZZ must not borrow patient 180's encounters). Checked
        once per id."""
        known = self._known_patients.get(patient_id)
        if known is None:
            try:
                known = (await self._patient_record(patient_id))[0]
            except NotFound:
                return None
        return known

    async def _encounters(
        self, patient_id: str, start: datetime | None, end: datetime, section: str | None
    ) -> list[Item]:
        vendor_id = await self._vendor_patient(patient_id) if split_patient_id(patient_id) else None
        if vendor_id is None:
            return []
        params = {"end": _stamp(end)}
        if start is not None:
            params["start"] = _stamp(start)
        if section:
            params["section"] = section
        try:
            found: list[Item] = await self.client.get(f"/{quote(vendor_id, safe='')}/encounters/search", params)
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
        patient_id, items, warnings = await self._encounters_searched(request.query)
        now = datetime.now(UTC)
        return VendorPage([encounter_to_fhir(i, patient_id, self._ctx, now) for i in items], None, warnings=warnings)

    async def _search_documents(self, request: SearchRequest) -> VendorPage:
        patient_id, items, warnings = await self._encounters_searched(request.query)
        sections = await self.sections()
        return VendorPage([document_to_fhir(i, patient_id, sections) for i in items], None, warnings=warnings)

    async def _encounters_searched(self, query: SearchQuery) -> tuple[str, list[Item], tuple[str, ...]]:
        """(patient id, the patient's encounter items in the window `date` allows, warnings),
        widened a day each side: Nextech's window is in UTC, the gateway finishes the filter.
        With no upper bound the window ends at FAR_END (see "Where the docs are silent")."""
        patient_id = q.single_patient(query) or _patient_of_encounter(query)
        if not patient_id:
            return "", [], ()
        low, high = q.date_bounds_any(query, "date")
        start = datetime.combine(q.shift(low, -1), datetime.min.time(), UTC) if low else None
        if high is not None:
            end = min(datetime.combine(q.shift(high, 1), datetime.min.time(), UTC), FAR_END)
            return patient_id, await self._encounters(patient_id, start, end, None), ()
        if not self._far_end_refused:
            try:
                return patient_id, await self._encounters(patient_id, start, FAR_END, None), ()
            except InvalidRequest:
                pass  # perhaps FAR_END: try the horizon, and keep to it if that is answered
        horizon = _horizon()
        items: list[Item] = []
        if start is None or start <= horizon:
            items = await self._encounters(patient_id, start, horizon, None)
            self._far_end_refused = True
        return patient_id, items, (HORIZON_WARNING,)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _horizon() -> datetime:
    """The end of an open-ended search when Nextech refuses FAR_END."""
    return datetime.combine(date.today() + timedelta(days=HORIZON_DAYS), datetime.min.time(), UTC)


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
