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
adapter derives from `date` (widened a day each side, honoured whatever its distance) or,
left open, walks in windows (below).

Where the docs are silent
- Single-patient answers (`GET /patients/{id}`, `POST /patients`): the docs show lists
  only. `data` is read as `{"patient": {...}}`, the patient itself, `{"patients": [one]}`
  or `[one]`; lists as `{"patients": [...]}`, a bare list, or `[{"patients": [...]}]` (how
  the patients page prints it). One pydantic declaration (`shapes.py`) reads them all; a
  patient needs only its id, and only what cannot be a patient is a 502.
- `cancelled` on `/appointments`: "include cancelled" or "only cancelled"? Every window is
  asked with `cancelled=true` AND `cancelled=false`, the answers merged, de-duplicated by
  appointment id and ordered by start time then id, which is right under both readings
  (and under "false means no filter"). Once a `cancelled=true` answer holds a
  non-cancelled appointment, the vendor has shown it reads "include": later windows of this
  tenant ask `cancelled=true` only (half the calls).
- `/appointments` needs `start` and `end`; how far apart they may be is not said, nor is
  there a "no more" signal beyond a window. Explicit `date` bounds are sent as they are,
  however far. Without a lower bound the window starts at `EARLIEST` (1900-01-01: no
  practice system holds visits before it). Without an upper bound there is no horizon:
  one window to the end of the calendar (`LATEST`, 9999-12-31) is asked first; only if
  NexHealth refuses that, the first window reaches `FIRST_AHEAD` past today (or past the
  lower bound), then windows of `STEP`, each `GROWTH` times longer than the last, cover the
  calendar to its end: five windows, asked concurrently (one round trip).
  Growing windows keep each request of a plausible length should NexHealth limit it. A
  window NexHealth refuses (400: a date it will not take) ends the walk there, and the
  searchset says so (a warning: it may be incomplete, and carries no total).
- Windows are inclusive at both ends (as `start`/`end` read); an appointment starting
  exactly on the boundary of two walked windows is kept by the later one only.
- Paging: `count` is the total of the query; a window is read to the end of its pages (a
  page past the end is empty), whatever `per_page` the vendor actually applied; a page
  with nothing new ends it too (a vendor ignoring `page` cannot loop us).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.concurrently import concurrently
from gateway.contract import AdapterConfig, Resource, ResourceProvider, SearchRequest, VendorPage, Written, by_type
from gateway.errors import InvalidRequest, NotFound, NotSupported
from gateway.search import planning as q
from gateway.search.model import SearchQuery, StringValue, TokenValue
from mappings.ids import is_int_id
from mappings.nexhealth.capabilities import ENCOUNTER, PATIENT
from mappings.nexhealth.client import Duplicate, NexHealthClient
from mappings.nexhealth.encounter import encounter_to_fhir
from mappings.nexhealth.options import NexHealthOptions
from mappings.nexhealth.patient import patient_from_fhir, patient_to_fhir
from mappings.nexhealth.shapes import one_patient, patient_list, record_list

log = logging.getLogger("mappings.nexhealth")
MAX_PAGE_SIZE = 100
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
FIRST_AHEAD = timedelta(days=2 * 366)  # the first window of an open search: to this far past today
STEP = timedelta(days=4 * 366)  # the window after the first: this long, each next GROWTH times longer
GROWTH = 16


class NexHealthAdapter:
    def __init__(self, config: AdapterConfig[NexHealthOptions]) -> None:
        self.client = NexHealthClient(config)
        self._ctx = config.context
        self._provider_id = config.options.provider_id
        # Whether NexHealth has shown `cancelled=true` to mean "include cancelled" (a
        # non-cancelled appointment in such an answer); until then both values are asked.
        self._cancelled_includes = False
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
        patient = one_patient(envelope.data)
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
        appointments = await self._window(parts[0], day - timedelta(days=1), day + timedelta(days=2))
        for encounter in self._encounters(parts[0], appointments):
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
        patients = patient_list(envelope.data)
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
        start = _midnight(q.shift(low, -1)) if low else EARLIEST
        if high:  # explicit bounds: one window, however long
            end = _midnight(q.shift(high, 2))
            if end <= start:
                return VendorPage([], None, total=0)
            return VendorPage(self._encounters(patient_id, await self._window(patient_id, start, end)), None)
        return await self._walk(patient_id, start)

    async def _walk(self, patient_id: str, start: datetime) -> VendorPage:
        """An open-ended search: one window to the end of the calendar; if NexHealth will not
        take that, windows growing towards it (see "Where the docs are silent")."""
        whole = await self._refusable(patient_id, start, LATEST, may_refuse=True)
        if whole is not None:
            return VendorPage(self._encounters(patient_id, whole), None)
        bounds = open_windows(start, datetime.now(UTC).replace(microsecond=0))
        answers = await concurrently(*(self._refusable(patient_id, low, high) for low, high in bounds))
        appointments: list[dict[str, Any]] = []
        for (low, high), found in zip(bounds, answers, strict=True):
            if found is None:  # NexHealth would not look there: say so, and stop
                warning = (
                    f"NexHealth refused to look for appointments after {low.date().isoformat()}; "
                    "give a date to search later"
                )
                return VendorPage(self._encounters(patient_id, appointments), None, warnings=(warning,))
            # Windows are inclusive at both ends: the next one keeps what starts at `high`.
            appointments += found if high >= LATEST else [a for a in found if _start_of(a) < high]
        return VendorPage(self._encounters(patient_id, appointments), None)

    async def _refusable(
        self, patient_id: str, start: datetime, end: datetime, *, may_refuse: bool = False
    ) -> list[dict[str, Any]] | None:
        """A window of an open search; None when NexHealth refuses it (a window reaching the
        far future, or one starting after today)."""
        try:
            return await self._window(patient_id, start, end)
        except InvalidRequest:
            if not may_refuse and start <= datetime.now(UTC):
                raise  # a window it must take: the request itself is wrong
            return None

    def _encounters(self, patient_id: str, appointments: list[dict[str, Any]]) -> list[Resource]:
        now = datetime.now(UTC)
        return [encounter_to_fhir(a, self._ctx, now) for a in appointments if str(a["patient_id"]) == patient_id]

    async def _window(self, patient_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every appointment of the patient starting in [start, end], cancelled or not, in the
        vendor's order (start time, then id), whichever way NexHealth reads `cancelled`."""
        if self._cancelled_includes:
            answers = [await self._appointments(patient_id, start, end, "true")]
        else:
            answers = list(
                await concurrently(
                    self._appointments(patient_id, start, end, "true"),
                    self._appointments(patient_id, start, end, "false"),
                )
            )
            if any(a.get("cancelled") is False for a in answers[0]):
                self._cancelled_includes = True
        merged: dict[str, dict[str, Any]] = {}
        for answer in answers:
            for appointment in answer:
                merged.setdefault(str(appointment["id"]), appointment)
        return sorted(merged.values(), key=lambda a: (_start_of(a), _id_key(a["id"])))

    async def _appointments(
        self, patient_id: str, start: datetime, end: datetime, cancelled: str
    ) -> list[dict[str, Any]]:
        """All pages of one `/appointments` question."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, str | int] = {
                "patient_id": patient_id,
                "start": _instant(start),
                "end": _instant(end),
                "cancelled": cancelled,
                "include[]": "appointment_type",
                "page": page,
                "per_page": MAX_PAGE_SIZE,
            }
            envelope = await self.client.request("GET", "/appointments", params=params)
            seen = {str(a["id"]) for a in found}
            fresh = [a for a in record_list(envelope.data, "appointments") if str(a["id"]) not in seen]
            found += fresh
            # An empty page ends it, and so does a page of nothing new (a vendor ignoring `page`).
            if not fresh or envelope.count is None or len(found) >= envelope.count:
                return found
            page += 1

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
        for patient in patient_list(charts.data):
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
        created = one_patient(envelope.data)
        return Written(patient_to_fhir(created, self._ctx), tuple(not_stored))

    async def _provider(self) -> int:
        if self._provider_id is None:
            envelope = await self.client.request("GET", "/providers", params={"per_page": 1})
            providers = record_list(envelope.data, "providers")
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
        for patient in patient_list(envelope.data):
            phone = (patient.get("bio") or {}).get("phone_number")
            if (patient.get("email") or "").lower() == sent["email"].lower() or phone == sent["bio"]["phone_number"]:
                return patient_to_fhir(patient, self._ctx)
        return None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def open_windows(start: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """The windows of an open search from `start`: to `FIRST_AHEAD` past `now` (or `start`),
    then ever longer ones to `LATEST`."""
    bounds = [(start, _later(max(start, now), FIRST_AHEAD))]
    span = STEP
    while bounds[-1][1] < LATEST:
        low = bounds[-1][1]
        bounds.append((low, _later(low, span)))
        span *= GROWTH
    return bounds


def _later(moment: datetime, delta: timedelta) -> datetime:
    """`moment` + `delta`, at most `LATEST`."""
    return LATEST if LATEST - moment <= delta else moment + delta


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _start_of(appointment: dict[str, Any]) -> datetime:
    moment = datetime.fromisoformat(appointment["start_time"])
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _id_key(value: Any) -> tuple[int, str]:
    text = str(value)
    return (int(text), "") if text.isdigit() else (0, text)


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
