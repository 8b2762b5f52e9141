"""The NexHealth adapter: FHIR interactions planned onto the Synchronizer API.

NexHealth ORs its patient search parameters (`name`, `email`, `phone_number`,
`date_of_birth`, `foreign_id`): sending two returns patients matching either. FHIR ANDs them.
So the adapter sends at most ONE search parameter — the most selective the query offers
(chart number, email, phone, birth date, then name) — which makes the vendor's answer a
superset of the FHIR answer, and the gateway applies every condition exactly. `name` is
fuzzy at NexHealth (typos, prefixes), again a superset, but not of `:contains`, which is
therefore never sent. `active` maps onto the `inactive` filter, which NexHealth ANDs. A query
with nothing NexHealth can narrow by (gender alone, say) pages through the location's
patients: complete, never truncated. A `description` warning that a parameter was ignored
makes the result inexact (no total), never wrong: the gateway filters regardless.
Appointments become Encounters; their search needs a patient and a window, which the
adapter derives from `date` (widened a day each side) or sets wide.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.concurrently import concurrently
from gateway.contract import AdapterConfig, Resource, ResourceProvider, SearchRequest, VendorPage, Written, by_type
from gateway.errors import NotFound, NotSupported
from gateway.search import planning as q
from gateway.search.model import SearchQuery, StringValue, TokenValue
from mappings.ids import is_int_id
from mappings.nexhealth.capabilities import ENCOUNTER, PATIENT
from mappings.nexhealth.client import Duplicate, NexHealthClient
from mappings.nexhealth.encounter import encounter_to_fhir
from mappings.nexhealth.options import NexHealthOptions
from mappings.nexhealth.patient import patient_from_fhir, patient_to_fhir

log = logging.getLogger("mappings.nexhealth")
MAX_PAGE_SIZE = 100
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=3 * 366)


class NexHealthAdapter:
    def __init__(self, config: AdapterConfig[NexHealthOptions]) -> None:
        self.client = NexHealthClient(config)
        self._ctx = config.context
        self._provider_id = config.options.provider_id
        self._providers = by_type(
            ResourceProvider(
                PATIENT,
                self._read_patient,
                self._search_patients,
                create=self._create_patient,
                max_page_size=MAX_PAGE_SIZE,
            ),
            ResourceProvider(ENCOUNTER, self._read_encounter, self._search_encounters, max_page_size=MAX_PAGE_SIZE),
        )

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        return self._providers

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- read ---------------------------------------------------------------------------------

    async def _read_patient(self, resource_id: str) -> Resource:
        return patient_to_fhir(await self._patient(resource_id), self._ctx)

    async def _patient(self, patient_id: str) -> dict[str, Any]:
        if not is_int_id(patient_id):
            raise NotFound(f"Patient/{patient_id} does not exist")
        try:
            envelope = await self.client.request("GET", f"/patients/{patient_id}")
        except NotFound:
            raise NotFound(f"Patient/{patient_id} does not exist") from None
        patient: dict[str, Any] = envelope.data["patient"]
        if self.client.location_strict and int(self.client.location_id) not in (patient.get("location_ids") or []):
            raise NotFound(f"Patient/{patient_id} does not exist")  # not at this tenant's location
        return patient

    async def _read_encounter(self, resource_id: str) -> Resource:
        parts = resource_id.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 8:
            raise NotFound(f"Encounter/{resource_id} does not exist")
        try:
            day = datetime.strptime(parts[2], "%Y%m%d").replace(tzinfo=UTC)
        except ValueError:
            raise NotFound(f"Encounter/{resource_id} does not exist") from None
        page = await self._appointments(parts[0], day - timedelta(days=1), day + timedelta(days=2), 1, MAX_PAGE_SIZE)
        for encounter in page.resources:
            if encounter["id"] == resource_id:
                return encounter
        raise NotFound(f"Encounter/{resource_id} does not exist")

    # -- search -------------------------------------------------------------------------------

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        by_id = _our_ids(query, self._ctx.system("patient-id"))
        if by_id is not None:
            found = await q.read_each(lambda i: self._read_patient(i), by_id)
            single = q.only(query, "identifier") and len(query.named("identifier")) == 1
            return VendorPage(found, None, total=len(found) if single else None)
        bare = _bare_identifier(query)
        if bare is not None:
            return await self._either_identifier(bare)
        page = int(request.position or 1)
        params: dict[str, str | int] = {
            "page": page,
            "per_page": request.page_size,
            "location_strict": str(self.client.location_strict).lower(),
        }
        narrowing = _most_selective(query, self._ctx.system("chart-number"))
        if narrowing:
            params[narrowing[0]] = narrowing[1]
        active = q.single_token(query, "active")
        if active in ("true", "false"):
            params["inactive"] = "false" if active == "true" else "true"
        envelope = await self.client.request("GET", "/patients", params=params)
        if envelope.warnings:
            log.warning("NexHealth ignored a patient search parameter; the gateway filters the wider result")
        patients = envelope.data["patients"]
        total = envelope.count
        more = total is not None and page * request.page_size < total
        exact = q.only(query, "active") and not envelope.warnings
        return VendorPage(
            [patient_to_fhir(p, self._ctx) for p in patients],
            page + 1 if more else None,
            total=total if exact else None,
        )

    async def _search_encounters(self, request: SearchRequest) -> VendorPage:
        patient_id = q.single_patient(request.query)
        if not patient_id.isdigit():
            return VendorPage([], None, total=0)
        low, high = q.date_bounds_any(request.query, "date")
        start = datetime.combine(q.shift(low, -1), datetime.min.time(), UTC) if low else EARLIEST
        end = (
            datetime.combine(q.shift(high, 2), datetime.min.time(), UTC)
            if high
            else max(start, datetime.now(UTC)) + AHEAD
        )
        if end <= start:
            return VendorPage([], None, total=0)
        return await self._appointments(patient_id, start, end, int(request.position or 1), request.page_size)

    async def _appointments(self, patient_id: str, start: datetime, end: datetime, page: int, size: int) -> VendorPage:
        params: dict[str, str | int] = {
            "patient_id": patient_id,
            "start": start.isoformat().replace("+00:00", "Z"),
            "end": end.isoformat().replace("+00:00", "Z"),
            "cancelled": "true",  # include cancelled visits (they become cancelled Encounters)
            "include[]": "appointment_type",
            "page": page,
            "per_page": size,
        }
        envelope = await self.client.request("GET", "/appointments", params=params)
        appointments = envelope.data["appointments"] if isinstance(envelope.data, dict) else envelope.data
        now = datetime.now(UTC)
        encounters = [encounter_to_fhir(a, self._ctx, now) for a in appointments if str(a["patient_id"]) == patient_id]
        more = envelope.count is not None and page * size < envelope.count
        return VendorPage(encounters, page + 1 if more else None)

    async def _either_identifier(self, value: str) -> VendorPage:
        """An identifier without a system is a patient id or a chart number: ask for both."""
        params: dict[str, str | int] = {
            "foreign_id": value,
            "per_page": MAX_PAGE_SIZE,
            "location_strict": str(self.client.location_strict).lower(),
        }
        charts, by_id = await concurrently(
            self.client.request("GET", "/patients", params=params),
            q.read_each(lambda i: self._read_patient(i), [value] if is_int_id(value) else []),
        )
        found = {r["id"]: r for r in by_id}
        for patient in charts.data["patients"]:
            found.setdefault(str(patient["id"]), patient_to_fhir(patient, self._ctx))
        return VendorPage(list(found.values()), None)

    # -- write --------------------------------------------------------------------------------

    async def _create_patient(self, resource: Resource) -> Written:
        body, not_stored = patient_from_fhir(resource, await self._provider())
        try:
            envelope = await self.client.request("POST", "/patients", json=body)
        except Duplicate as exc:
            exc.existing = await self._existing(body["patient"])
            raise
        created = envelope.data.get("patient", envelope.data)
        return Written(patient_to_fhir(created, self._ctx), tuple(not_stored))

    async def _provider(self) -> int:
        if self._provider_id is None:
            envelope = await self.client.request("GET", "/providers", params={"per_page": 1})
            providers = envelope.data["providers"] if isinstance(envelope.data, dict) else envelope.data
            if not providers:
                raise NotSupported("The NexHealth location has no provider to create patients under")
            self._provider_id = providers[0]["id"]
        return int(self._provider_id)

    async def _existing(self, sent: dict[str, Any]) -> dict[str, Any] | None:
        """The patient NexHealth matched a refused create against: same email or phone (its OR helps)."""
        params: dict[str, str | int] = {
            "email": sent["email"],
            "phone_number": sent["bio"]["phone_number"],
            "per_page": 5,
        }
        envelope = await self.client.request("GET", "/patients", params=params)
        for patient in envelope.data["patients"]:
            phone = (patient.get("bio") or {}).get("phone_number")
            if (patient.get("email") or "").lower() == sent["email"].lower() or phone == sent["bio"]["phone_number"]:
                return patient_to_fhir(patient, self._ctx)
        return None


def _our_ids(query: SearchQuery, id_system: str) -> list[str] | None:
    """Patient ids to read directly: identifiers explicitly in our patient-id system (a bare
    value may as well be a chart number: see `_either_identifier`)."""
    for param in query.named("identifier"):
        tokens = [v for v in param.values if isinstance(v, TokenValue) and v.code]
        if tokens and all(t.system == id_system for t in tokens):
            return [t.code for t in tokens if t.code]
    return None


def _most_selective(query: SearchQuery, chart_system: str) -> tuple[str, str] | None:
    """The one NexHealth search parameter that narrows this query the most, if any."""
    for param in query.named("identifier"):
        value = param.values[0]
        if len(param.values) == 1 and isinstance(value, TokenValue) and value.code and value.system == chart_system:
            return "foreign_id", value.code
    for name, vendor in (("email", "email"), ("phone", "phone_number")):
        code = q.single_token(query, name)
        if code:
            return vendor, "".join(c for c in code if c.isdigit()) if name == "phone" else code
    low, high, exact = q.date_bounds(query, "birthdate")
    if low and low == high and exact:
        return "date_of_birth", low.isoformat()
    # NexHealth's fuzzy name search covers first and last names, not middle names, and matches
    # one-letter words exactly: only a family name whose words are all 2+ letters narrows
    # to a superset of FHIR's answer. given/name (middle names count in FHIR) are not sent.
    for param in query.named("family"):
        value = param.values[0]
        if len(param.values) == 1 and isinstance(value, StringValue) and param.modifier != "contains":
            words = value.text.replace("-", " ").split()
            if words and all(len(w) >= 2 for w in words):
                return "name", value.text
    return None


def _bare_identifier(query: SearchQuery) -> str | None:
    for param in query.named("identifier"):
        value = param.values[0]
        if len(param.values) == 1 and isinstance(value, TokenValue) and value.system is None and value.code:
            return value.code
    return None
