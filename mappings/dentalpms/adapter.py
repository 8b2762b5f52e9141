"""The Dental PMS adapter: FHIR interactions planned onto the Dental PMS API.

Search planning (what is pushed down, and why it is safe):
- `birthdate` with eq/ge/gt/le/lt → `dob_from`/`dob_to` (vendor DOBs are full dates); other
  prefixes or several values are left to the gateway. `dob_to` is documented "on or before",
  but the counts endpoint's `date_to` is "Exclusive", and a service may read both alike: it is
  sent a day after the last day wanted (the gateway drops the extra day an inclusive reading
  gives), and an exact total takes off the count of that day (`_patient_total`).
- `identifier` (chart number) → the free-text `search`, only with a term every reading below
  finds (see "Where the docs are silent"); the gateway then applies FHIR's exact rules. A term
  the vendor refuses (too short for it: the docs give no minimum) is dropped and learned.
  `name`/`family`/`given`/`phone`/`email` send no term (declared `GATEWAY`): no part of
  their values is found under every reading, so they are narrowed by `birthdate` when
  given, else the gateway pages through the patients and filters (the core bounds the
  vendor calls per page and says when it stopped).
- the lists' `status` is an optional filter, yet the counts endpoint's `status_set` "Defaults
  to active" and a list may default the same way: what a list answers without `status` is
  learned once (`_unasked_statuses`); when only active patients, every live status is asked on
  its own and the lists are merged (mappings.dentalpms.statuses): a FHIR search means them all.
- patients are listed through the keyset-paged cursor endpoint whatever the sort
  (`_sort=family|birthdate|_lastUpdated` → `sort_by`), so records created or deleted while a
  client pages cannot shift a page and lose or repeat a patient; when the vendor alone
  answers the query exactly, the first page also asks the page endpoint for its `total`.
- `clinical-status` / `status` → `is_active=true`, for the active records only (narrows; asked
  again without it when the vendor refuses the spelling `true`, as Laravel's `boolean` rule
  does, and from then on never sent to it). Never `is_active=false`: a NestJS service whose
  query is converted by class-transformer's `@Type(() => Boolean)` reads it as
  `Boolean("false")`, true, and answers the active records; the other statuses are asked
  unfiltered (a superset) and the gateway filters. Observation `date` → `date_from`/
  `date_to` widened by a day on each side (vendor dates are local days; the gateway finishes).
Sub-records (allergies, medications, vital signs) exist only under a patient, so their search
requires `patient` (or `_id`), and their ids carry the patient's (mappings.ids). One vital-signs
reading yields several Observations: when the search names only the patient, a vendor page is
mapped only as far as the FHIR page needs, and the next position may point inside it
(`[page, reading, served]`), so the cost follows the entries served, not the vendor page. A deleted
(archived) patient's records are not served: searches come back empty, reads are 410.
Patient create, update and delete are `writes.py`'s (its docstring says how the vendor's
idempotency, version conflicts and archive are read); `patient_write.py` maps the body.

Reading answers: every answer goes through the declared models of `vendor.py` (via
`reader.py`, which records drift), never bare dict access. A record of a list that cannot be
read is left out of the page, with an OperationOutcome warning naming its id and the
vendor's field (never a value), and the page claims no total; the read of that record is a
502 naming the field; an envelope (the list itself) that cannot be read is a 502.

Where the docs are silent (the list `search`: "free-text search across name, phone, email,
chart number, and DOB fields"), and how each point is read. Implementations differ on each,
so a term is sent only when every reading returns a superset of the FHIR answer
(`sandboxes.dentalpms.readings` simulates each; tests/e2e/test_dentalpms_readings.py checks):
- Case: either. Only the communication-log `q` is documented "case-insensitive substring
  match"; the patient `search` may be a plain `LIKE` (TypeORM's `Like`, Prisma's
  `contains`): a term is then found only in the case stored. FHIR matches an email
  case-insensitively (`grace@example.com` finds `GRACE@EXAMPLE.COM`), and the case the
  vendor stored is unknown, so no email term is safe: sent whole, a case-sensitive
  vendor answered nothing and the gateway claimed a total of 0. A chart number is matched
  exactly (FHIR identifiers are case-sensitive), so it is sent as the client wrote it.
- Accents: either. An accent-sensitive vendor (`NUÑEZ` stored, `nunez` sent: nothing), or one
  that stores names decomposed (NFD: a precomposed `Renée` sent finds nothing), misses
  whatever FHIR's accent-insensitive matching finds through a letter stored accented; and
  any letter of a name may be stored accented, whether or not the query accents it (`nunez`
  finds `Núñez` in FHIR). No part of a name value is therefore safe: names send no term.
- Substring or prefix: either. A term may have to start a field's whole value, so only a
  whole stored value is safe: the chart number (`identifier`, matched exactly), when ASCII.
  A name's FHIR prefix would be, if accents were not in the way.
- Phones: matched by digits, or only as text of the number as stored (`(555) 123-4567`).
  Stored as text, only a run of digits inside one group (at most the last four) is found;
  under a prefix reading, not even that. FHIR compares all digits, so no term is safe for
  every format and reading: phones send no term.
- Tokens: the value may be split on whitespace (tokens ANDed) or taken whole; a term without
  whitespace is read the same either way. Terms with a backslash are not sent (`ILIKE`'s
  escape character: the pattern would not match the value itself); `%` and `_` may act as
  wildcards, which only widens the answer.
- DOB: `dob_from` is an inclusive bound, `dob_to` inclusive or exclusive (above); a patient
  without a birth date matches neither (FHIR agrees: no birthDate, no match).

Where the docs are silent on the answers' shapes (`vendor.py` lists how each is read;
`sandboxes.dentalpms.shapes` simulates each): timestamps with `Z`, an offset or none (UTC);
dates sent as date-times (the midnight they hold, `vendor.py`); booleans as `"true"`/`"1"`, integers
(`version`, `total`, `page`) as text; null or absent optional fields; error bodies as
`{"detail": text | [..]}`, `{"error": text | {"message"}}` or `{"message"}` (client.py);
enum values as Java or .NET names (`ON_HOLD`, `OnHold`); an empty date as a type's zero value
(`0001-01-01T00:00:00Z`: a `deleted_at` of it is no deletion); fields at their documented
default left out (a patient without `status` is active).
- Page lists: `total` may be text; a page past the end may be empty or a 404 (read as the
  end of the list, not a missing patient), page 1 of an empty list included (the patient,
  read beside it, is there); any empty list, the cursor list's too, may be a 204 with no body
  (read as the empty list, `vendor.py`), or a 404 (`NotFound()` for a filter matching no one:
  the cursor list's is told from a misconfigured tenant's by the list of every patient, and
  that one's, in a practice without patients, by its counts by location or, from a vendor
  without them, its typeahead search, `_cursor_page`);
  without a readable `total` a full page may have a successor, so one more page is asked for.
  `page_size`/`first` have a documented default (50) and no documented bound: the vendor is
  never asked for more (VENDOR_PAGE_SIZE).
- Archived records: an archived patient may be served with `deleted_at` or answered 410;
  either way it is deleted (reads 410, searches empty, a delete succeeds). A vital-signs
  reading read on its own that names another patient is not found (the single GET may find
  a reading by its uuid alone, whoever's it is). Sub-record lists
  ("List all allergies recorded for a patient") may include soft-deleted records: they are
  never served (a read of one is 410), and the lists' `total` (which may count them) is not
  given as the FHIR total: a list that fits one vendor page is counted as served. The patient
  list's `total` may count archived patients too (a count without the soft-delete filter): it
  is given as it is once the list has a live patient at that position, else what the list
  holds is counted by its pages (`_count`).
- Cursor list: `has_next_page` (or the whole `page_info`) may be absent on the last page;
  absent, a full page with an `end_cursor` may have a successor. An archived patient in a
  list (the reference says they are "excluded from normal queries"; an implementation may
  not) is never served.
- `meta.versionId` is the vendor's `version` (an integer, possibly as text): it is what an
  update's `base_version` takes, so `If-Match` means the same thing at both ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
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
    VendorModel,
    VendorPage,
    by_type,
)
from gateway.errors import Gone, InvalidRequest, NotFound, UpstreamError, UpstreamUnusable
from gateway.search import planning as q
from gateway.search.model import SearchQuery, TokenValue
from gateway.search.planning import date_bounds, date_bounds_any
from gateway.upstream.coalesce import read_once
from mappings.dentalpms import statuses
from mappings.dentalpms.allergy import NKDA_SUFFIX, allergy_to_fhir, nkda_to_fhir
from mappings.dentalpms.capabilities import ALLERGY, CONDITION, MEDICATION, OBSERVATION, PATIENT
from mappings.dentalpms.client import DentalPmsClient
from mappings.dentalpms.condition import condition_to_fhir
from mappings.dentalpms.medication import medication_to_fhir
from mappings.dentalpms.observation import vitals_to_fhir
from mappings.dentalpms.options import DentalPmsOptions
from mappings.dentalpms.patient import patient_to_fhir
from mappings.dentalpms.reader import LazyRecords, Reader, Unreadable, VendorRecord, vendor_id_of
from mappings.dentalpms.search_length import ShortestSearch, whole_value_term
from mappings.dentalpms.vendor import (
    VendorAllergy,
    VendorCursorList,
    VendorDisease,
    VendorMedication,
    VendorPageList,
    VendorPatient,
    VendorVitals,
    canonical,
    is_deleted,
    owner_of,
)
from mappings.dentalpms.writes import PatientWrites
from mappings.ids import child_id, is_uuid, split_child_id, unpack_uuid

MAX_PAGE_SIZE = 100  # the largest FHIR page (`_count`) served
# The largest page asked of the vendor: the docs give `page_size`/`first` only a default, 50,
# which a service may also take as its bound (a 422 for more); a FHIR page of more is served
# in vendor pages of 50 (fewer entries than `_count` and a next link, as R4 search allows).
VENDOR_PAGE_SIZE = 50
UNDECIDED_FOR = 60.0  # seconds between checks of a clinic's lists while all its patients are active
_SORT_FIELDS = {"family": "last_name", "birthdate": "date_of_birth", "_lastUpdated": "updated_at"}
# A typeahead query no patient answers to (`_organization_answers`): long enough for any
# minimum length a service may give `q`, and one result at most.
_NO_ONE: dict[str, str | int] = {"q": "zz-no-such-patient-zz", "limit": 1}


@dataclass(frozen=True)
class _Listed:
    """A kind of record the API lists under a patient (`/patients/{id}/<path>`)."""

    fhir_type: str  # the FHIR type it becomes (for messages)
    path: str
    shape: str  # the drift monitor's name for it
    model: type[VendorModel]
    to_fhir: Callable[[VendorRecord, str, TenantContext], list[Resource]]
    # One vital-signs reading becomes several Observations, whose ids carry a suffix; it is also
    # the only sub-record the API serves one at a time.
    several: bool = False

    def label(self, patient_id: str, vendor_id: str | None, index: int) -> str:
        """How a client is told which record could not be read (ids only, no PHI)."""
        if vendor_id is None:
            return f"The {self.fhir_type} record at position {index} of a page of Patient/{patient_id}'s {self.path}"
        if self.several:
            return f"The {self.path} reading {vendor_id} of Patient/{patient_id}"
        return f"{self.fhir_type}/{child_id(patient_id, vendor_id)}"


def _one(mapper: Callable[[VendorRecord, str, TenantContext], Resource]) -> Callable[..., list[Resource]]:
    return lambda record, patient_id, ctx: [mapper(record, patient_id, ctx)]


ALLERGIES = _Listed("AllergyIntolerance", "allergies", "allergy", VendorAllergy, _one(allergy_to_fhir))
MEDICATIONS = _Listed("MedicationStatement", "medications", "medication", VendorMedication, _one(medication_to_fhir))
VITAL_SIGNS = _Listed("Observation", "vital-signs", "vital_signs", VendorVitals, vitals_to_fhir, several=True)
PROBLEMS = _Listed("Condition", "diseases", "disease", VendorDisease, _one(condition_to_fhir))


@dataclass(frozen=True)
class _SubPage:
    """One vendor page of a patient's sub-records, read."""

    patient_id: str
    patient: VendorRecord | None  # on the first page only
    listing: VendorPageList
    records: LazyRecords  # read as far as the search looks (vital signs: as the page needs)
    unreadable: list[Unreadable]  # found so far (`LazyRecords.unreadable`)
    archived: frozenset[str] = frozenset()  # ids of the soft-deleted records the vendor listed


class DentalPmsAdapter:
    def __init__(self, config: AdapterConfig[DentalPmsOptions]) -> None:
        self._client = DentalPmsClient(config)
        self._ctx = config.context
        self._reader = Reader(config.drift)
        # Whether the vendor refused `is_active=true|false` (then it always will: `_list`).
        self._is_active_refused = False
        # The shortest free-text `search` the vendor takes, as far as it has told: the Patient
        # search (`_search_patients`) and the write look-ups share it.
        self._shortest_search = ShortestSearch()
        # What the vendor's patient lists answer without `status` (`_unasked_statuses`).
        self._unasked: statuses.UnaskedStatuses | None = None
        self._undecided_at: float | None = None  # when the last check found no patient that is not active
        self._writes = PatientWrites(self._client, self._ctx, self._reader, self._patient_record, self._shortest_search)
        self._providers = by_type(
            ResourceProvider(
                PATIENT,
                self._read_patient,
                self._search_patients,
                create=self._writes.create,
                update=self._writes.update,
                delete=self._writes.delete,
                max_page_size=MAX_PAGE_SIZE,
            ),
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
        _alive(record, f"Patient/{resource_id}")
        return patient_to_fhir(record, self._ctx)

    async def _read_allergy(self, resource_id: str) -> Resource:
        if resource_id.endswith(f".{NKDA_SUFFIX}"):
            return await self._read_nkda(resource_id)
        return await self._read_listed(ALLERGIES, resource_id)

    async def _read_listed(self, kind: _Listed, resource_id: str) -> Resource:
        """A sub-record: its id carries its patient's (mappings.ids), so one listing finds it."""
        parts = split_child_id(resource_id)
        if parts is None or (parts[2] is not None) != kind.several:
            raise NotFound(f"{kind.fhir_type}/{resource_id} does not exist")
        patient_id, record_id, _ = parts
        patient, found = await concurrently(
            self._patient_or_none(patient_id), self._find_record(patient_id, kind, record_id)
        )
        if patient is None or found is None:
            raise NotFound(f"{kind.fhir_type}/{resource_id} does not exist")
        _alive(patient, f"Patient/{patient_id}", of=f"{kind.fhir_type}/{resource_id}")
        resources = kind.to_fhir(found, patient_id, self._ctx)
        if not kind.several:
            return resources[0]
        for resource in resources:
            if resource["id"] == resource_id:
                return resource
        raise NotFound(f"{kind.fhir_type}/{resource_id} does not exist")

    async def _patient_record(self, patient_id: str) -> VendorRecord:
        if not is_uuid(patient_id):
            raise NotFound(f"Patient/{patient_id} does not exist")
        # A CCD or $everything checks the patient once per type: the vendor's answer is shared
        # within the request (gateway.upstream.coalesce), and so is reading it.
        record = await read_once((self, "patient", patient_id), lambda: self._fetch_patient(patient_id))
        if record is None:  # raised here, each caller its own: a shared error would hold every frame
            raise NotFound(f"Patient/{patient_id} does not exist")
        return record

    async def _fetch_patient(self, patient_id: str) -> VendorRecord | None:
        try:
            raw = await self._client.get(f"/patients/{patient_id}")
        except NotFound as exc:
            # "404: Patient not found", or no such organization or path at all: a service may
            # answer both alike (Spring Boot's default error body names only the status and the
            # path). A 404 that names the patient is the documented one; otherwise the patient
            # list, there for every organization, tells them apart with one page of one (a 404
            # for it raises, naming org_id and base_url).
            if not _names_patient(exc.diagnostics):
                await self._cursor_page({"first": 1})
            return None
        except Gone:  # an archived patient answered 410 rather than served with `deleted_at`
            return {"id": patient_id, "deleted_at": "(archived: HTTP 410)"}
        return self._reader.patient(raw, f"Patient/{patient_id}")

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
        """The record of that id (None when there is none); a 502 naming the field when the
        vendor serves it but it cannot be read."""
        if kind.several:  # read on its own
            try:
                raw = await self._client.get(f"/patients/{patient_id}/{kind.path}/{record_id}")
            except NotFound:
                return None
            except Gone:
                raise _archived(kind, patient_id, record_id) from None
            who = kind.label(patient_id, record_id, 0)
            record = canonical(self._reader.one(kind.shape, kind.model, raw, who))
            # "Retrieve a single vital signs recording by UUID": a service may find it by that
            # uuid alone, whoever's it is; another patient's reading is not this patient's.
            if owner_of(record) not in (None, patient_id):
                return None
            if record.get("deleted_at"):
                raise _archived(kind, patient_id, record_id)
            return record
        page = 1
        while True:
            listed = await self._sub_page(patient_id, kind, page, VENDOR_PAGE_SIZE, {})
            if listed is None:
                return None
            if record_id in listed.archived:
                raise _archived(kind, patient_id, record_id)
            for record in listed.records:
                if record["id"] == record_id:
                    return record
            for problem in listed.unreadable:
                if problem.vendor_id in (record_id, None):
                    raise UpstreamUnusable(problem.message)
            if not listed.listing.has_more(page, VENDOR_PAGE_SIZE):
                return None
            page += 1

    # -- search -----------------------------------------------------------------------------

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        by_id = _patient_ids(query, self._ctx.system("patient-id"))
        if by_id is not None:
            found = await q.read_each(self._read_patient, by_id)
            return VendorPage(found, None, total=len(found) if q.only(query, "identifier") else None)
        term = _search_term(query, self._ctx.system("chart-number"))
        if term and not self._shortest_search.takes(term):
            term = None
        try:
            return await self._list_patients(request, term)
        except InvalidRequest:
            if not term:
                raise
            # The docs give `search` no minimum length, but a service may guard it with one
            # (`Query(min_length=3)`: a 422, or 400): asked again without the term (a superset:
            # the gateway matches the identifier itself), and no shorter term is sent again.
            # Refused again (raised), the refusal was not of the term.
            answer = await self._list_patients(request, None)
            self._shortest_search.refused(term)
            return answer

    async def _list_patients(self, request: SearchRequest, term: str | None) -> VendorPage:
        """A page of the patients `request` asks for, the free-text `search` being `term`."""
        query = request.query
        filters: dict[str, str | int] = {"search": term} if term else {}
        dob_from, dob_to, dob_exact = date_bounds(query, "birthdate")
        if dob_from:
            filters["dob_from"] = dob_from.isoformat()
        if dob_to:  # a day later: `dob_to` may be read as the first day not matched (docstring)
            filters["dob_to"] = q.shift(dob_to, 1).isoformat()
        exact = q.only(query, "birthdate") and dob_exact
        sort = query.sort[0] if query.sort else None
        params: dict[str, str | int] = {
            **filters,
            "first": _vendor_size(request),
            "sort_by": _SORT_FIELDS[sort.name] if sort else "last_name",
            "sort_dir": "desc" if sort and sort.descending else "asc",
        }
        streams = statuses.streams_at(request.position)
        if streams is not None or (request.position is None and await self._unasked_statuses() == "active"):
            return await self._patients_by_status(request, params, filters, exact, streams)
        if request.position:
            params["after"] = str(request.position)
        total: int | None = None
        if exact and request.position is None:
            raw, total = await concurrently(self._cursor_page(params), self._patient_total(filters, (None,)))
        else:
            raw = await self._cursor_page(params)
        listing = self._reader.one("patient_cursor_page", VendorCursorList, raw, "A Dental PMS patient list")
        return self._patients_page(listing.data, listing.following(_vendor_size(request)), total)

    def _patients_page(self, items: list[Any], following: Any, total: int | None) -> VendorPage:
        """A page of the patients `items` (a vendor list's); `total` given when none is unreadable."""
        records, unreadable = self._reader.records(
            "patient", VendorPatient, items, lambda vendor_id, index: _patient_label(vendor_id, index)
        )
        # A deleted patient is never served, whatever the vendor's list includes.
        live = [patient_to_fhir(p, self._ctx) for p in records if not p.get("deleted_at")]
        return VendorPage(live, following, total=None if unreadable else total, warnings=_messages(unreadable))

    async def _unasked_statuses(self) -> statuses.UnaskedStatuses | None:
        """What the vendor's patient lists answer without `status` (mappings.dentalpms.statuses),
        learned once from lists of one patient; None while no patient is not active.

        Until then it is asked again, but no more than once every `UNDECIDED_FOR` seconds: a
        clinic whose patients are all active would otherwise pay the check's calls at every
        Patient search. The price is that a patient who stops being active can be missing for
        that long under the active-only reading."""
        if self._unasked is not None:
            return self._unasked
        now = time.monotonic()
        if self._undecided_at is not None and now - self._undecided_at < UNDECIDED_FOR:
            return None
        not_active = await concurrently(
            *(self._cursor_page({"first": 1, "status": status}) for status in statuses.NOT_ACTIVE)
        )
        counted = [len(self._list_page(raw).data) for raw in not_active]
        if not any(counted):  # no patient to miss, whatever the reading: the sorts need not be asked
            self._undecided_at = now
            return None
        one: dict[str, str | int] = {"first": 1, "sort_by": "status"}
        answers = await concurrently(
            self._cursor_page({**one, "sort_dir": "asc"}), self._cursor_page({**one, "sort_dir": "desc"})
        )
        listed = [self._list_page(raw).data for raw in answers]
        firsts, _ = self._reader.records("patient", VendorPatient, [*listed[0][:1], *listed[1][:1]], _patient_label)
        self._unasked = statuses.unasked_statuses([str(p.get("status")) for p in firsts], counted)
        return self._unasked

    def _list_page(self, raw: Any) -> VendorCursorList:
        return self._reader.one("patient_cursor_page", VendorCursorList, raw, "A Dental PMS patient list")

    async def _patients_by_status(
        self,
        request: SearchRequest,
        params: Mapping[str, str | int],
        filters: Mapping[str, str | int],
        exact: bool,
        streams: list[statuses.Stream] | None,
    ) -> VendorPage:
        """A page of every patient from a vendor whose lists answer only active patients unless
        asked for a status: each live status's list, merged (mappings.dentalpms.statuses)."""
        size = _vendor_size(request)
        first = streams is None
        walking = statuses.first_streams() if streams is None else streams
        pages = await concurrently(*(self._status_page(stream, params, size) for stream in walking))
        total = await self._patient_total(filters, statuses.LIVE_STATUSES) if exact and first else None
        key = statuses.sort_key(str(params["sort_by"]))
        items, left = statuses.merge(list(pages), size, key, params["sort_dir"] == "desc")
        return self._patients_page(items, statuses.position_of(left), total)

    async def _status_page(
        self, stream: statuses.Stream, params: Mapping[str, str | int], size: int
    ) -> statuses.StreamPage:
        asked = {**params, "status": stream.status, **({"after": stream.after} if stream.after else {})}
        raw = await self._cursor_page(asked)
        listing = self._reader.one("patient_cursor_page", VendorCursorList, raw, "A Dental PMS patient list")
        return statuses.StreamPage(stream, listing.data, listing.following(size))

    async def _cursor_page(self, params: Mapping[str, str | int]) -> Any:
        """One page of the cursor list (None: an empty one). The list is there for every
        organization, so a 404 for it says the organization (`org_id`) or the API's path
        (`base_url`) is not the vendor's: a misconfigured tenant, never "no such patient".
        Unless it is a list matching no one: the reference gives the lists no status for that,
        and a controller may answer `NotFound()` for an empty result, under Spring Boot's or
        ASP.NET's error body the very 404 of a path it does not have. The two are told apart
        by what else the organization answers (`_list_answers`)."""
        try:
            raw = await self._client.get("/patients/cursor", params)
        except NotFound as exc:
            if await self._list_answers(params):
                return None  # read as the empty list (`VendorCursorList`)
            raise UpstreamUnusable(
                "Dental PMS answered 404 for the patient list itself, and neither its patient counts nor its "
                "patient search answer: check the tenant's org_id and base_url"
            ) from exc
        except InvalidRequest as exc:
            if "after" not in params:
                raise
            # The page before took these filters: what is refused now is the vendor's own cursor
            # (the reference's "422: Invalid or malformed cursor value"; a keyset cursor holding a
            # very long name can outgrow the request line its server takes). Not the client's.
            raise UpstreamUnusable(
                "Dental PMS refused the cursor it gave for the next page of patients: "
                "the search cannot be read past this point"
            ) from exc
        return raw

    async def _list_answers(self, refused: Mapping[str, str | int]) -> bool:
        """Whether the cursor list is there for this tenant, after a 404 for it asked with
        `refused`: its first page of every patient answers now (then the 404 was of a filter,
        or a page after the last, matching no one), or, when that is a 404 too (a practice
        without a single patient, under such a vendor), the organization answers otherwise
        (`_organization_answers`). Asked each time, not remembered: a tenant whose vendor has moved answers 404
        for everything, and a patient read as "no one matches" would then be a 404 to the
        client, where it is the configuration's 502."""
        if set(refused) - {"first", "sort_by", "sort_dir"}:  # not the list of every patient itself
            try:
                await self._client.get("/patients/cursor", {"first": 1})
            except NotFound:
                pass
            else:
                return True
        return await self._organization_answers()

    async def _organization_answers(self) -> bool:
        """Whether the organization is there at the tenant's `base_url`: its patient counts
        answer, or its typeahead search does. The reference's counts by location "Return
        location-level patient counts without exposing patient rows": a report, there (all
        zero) for a practice without a patient, whereas a list may be a 404 when empty; a wrong
        `org_id` or `base_url` is a 404 for it as for everything. A vendor may not have the
        counts (an implementation that skipped the report: a 404, or a stub's 501): the typeahead
        `/patients/search` ("Returns a compact result set suitable for dropdown selectors") is
        asked for a term no patient has, an empty result set for an organization that is there.
        A term, not the empty query ("Empty query returns no results"), which a service may
        answer before it looks the organization up. Only an answer counts: a vendor refusing or
        failing both requests tells nothing (and the 404 stays the configuration's). Neither
        answering (a vendor without the counts whose typeahead is a 404 when nothing matches,
        as its lists are), nothing else the reference documents tells a practice without a
        patient from a wrong `org_id`: every endpoint of either answers the same 404."""
        for path, params in (("/patients/counts/by-location", {}), ("/patients/search", _NO_ONE)):
            try:
                await self._client.get(path, params)
            except (NotFound, Gone, InvalidRequest, UpstreamError):
                continue
            return True
        return False

    async def _patient_total(self, filters: Mapping[str, str | int], asked: Sequence[str | None]) -> int | None:
        """The number of patients `filters` match in the statuses `asked` (None: what the list
        answers without one). `dob_to` is sent a day after the last day wanted (docstring): the
        patients born that day, which an inclusive reading counts, are counted apart and taken
        off (an exclusive reading counts none of them: `dob_from` = `dob_to` is an empty range)."""
        wanted = [{**filters, **({"status": status} if status else {})} for status in asked]
        edge = filters.get("dob_to")
        beyond = [{**f, "dob_from": edge} for f in wanted] if edge else []
        counts = await concurrently(*(self._count(f) for f in [*wanted, *beyond]))
        if None in counts:
            return None
        return sum(n or 0 for n in counts[: len(wanted)]) - sum(n or 0 for n in counts[len(wanted) :])

    async def _count(self, filters: Mapping[str, str | int]) -> int | None:
        """The page list's `total`, from its first page of one. A 404 is an empty list (page 1
        of an empty list is past its end for some implementations, `if not rows: 404`); the
        cursor list asked beside it says whether the organization is there."""
        try:
            raw = await self._client.get("/patients", {**filters, "page": 1, "page_size": 1})
        except NotFound:
            return 0
        total = self._reader.one("patient_page", VendorPageList, raw, "A Dental PMS patient count").total
        if not total:
            return total
        # The reference's `total` is "Total number of patients matching the query", and archived
        # patients are "excluded from normal queries"; yet a count written without the soft-delete
        # filter of the items counts them. The list's last position tells: a live patient there,
        # the total counts what is listed; past the end (empty, or a 404), it is too high, and
        # what the list holds is counted by its pages; an archived patient there (a list that
        # shows them), nothing cheap tells how many: no total.
        at_last, archived = await self._listed_page(filters, total, 1)
        if archived:
            return None
        return total if at_last else await self._listed_count(filters, total)

    async def _listed_count(self, filters: Mapping[str, str | int], above: int) -> int:
        """How many patients the page list filtered by `filters` lists, known to be fewer than
        `above`: the last of its pages (of VENDOR_PAGE_SIZE) with any, found by halving (a
        practice of 5,000 patients: 7 pages asked)."""
        counted, low, high = 0, 1, -(-above // VENDOR_PAGE_SIZE)
        while low <= high:
            page = (low + high) // 2
            listed, _ = await self._listed_page(filters, page, VENDOR_PAGE_SIZE)
            if listed:
                counted, low = (page - 1) * VENDOR_PAGE_SIZE + len(listed), page + 1
            else:
                high = page - 1
        return counted

    async def _listed_page(self, filters: Mapping[str, str | int], page: int, size: int) -> tuple[list[Any], bool]:
        """The items of page `page` (of `size`) of the page list filtered by `filters` (none past
        its end, a 404 included), and whether any is archived."""
        try:
            raw = await self._client.get("/patients", {**filters, "page": page, "page_size": size})
        except NotFound:
            return [], False
        listing = self._reader.one("patient_page", VendorPageList, raw, "A Dental PMS patient list")
        return listing.items, any(is_deleted(item) for item in listing.items)

    async def _sub_page(
        self, patient_id: str, kind: _Listed, page: int, size: int, extra: Mapping[str, str | int]
    ) -> _SubPage | None:
        """One page of a patient's `kind` records, read; None when the patient is not found (or
        archived, when the vendor answers 410 for it). Soft-deleted records are never served:
        the docs do not say whether the lists leave them out, as the patient list does."""
        params = {"page": page, "page_size": size, **extra}
        try:
            raw = await self._list(f"/patients/{patient_id}/{kind.path}", params)
        except (NotFound, Gone):
            return None
        listing = self._reader.one(f"{kind.shape}_page", VendorPageList, raw, f"A Dental PMS {kind.path} list")
        live: list[Any] = []
        archived: set[str] = set()
        for item in listing.items:
            if is_deleted(item):
                archived.add(vendor_id_of(item) or "")
            else:
                live.append(item)
        records = self._reader.lazy_records(kind.shape, kind.model, live, partial(kind.label, patient_id))
        return _SubPage(patient_id, None, listing, records, records.unreadable, frozenset(archived))

    async def _list(self, path: str, params: Mapping[str, str | int]) -> Any:
        """A sub-record list's page. The reference types `is_active` only "boolean", and
        services parse a query boolean differently: Laravel's `boolean` rule refuses the text
        `true` (only 1/0), .NET's binding the digits. Refused, the page is asked unfiltered (a
        superset, every page alike): `clinical-status`/`status` only narrow, the gateway
        finishes the filter. A refusal the unfiltered page then answers is remembered for the
        tenant, so later searches do not pay for it again."""
        unfiltered = {k: v for k, v in params.items() if k != "is_active"}
        if "is_active" not in params or self._is_active_refused:
            return await self._client.get(path, unfiltered)
        try:
            return await self._client.get(path, params)
        except InvalidRequest:
            # Refused again (raised): the refusal was not of is_active, nothing is learned.
            raw = await self._client.get(path, unfiltered)
        self._is_active_refused = True
        return raw

    async def _sub_records(
        self, request: SearchRequest, kind: _Listed, extra: Mapping[str, str | int], page: int | None = None
    ) -> _SubPage | None:
        """A page of the patient's records (with the patient record on the first page), or
        None when there is no such live patient (then the search is empty). `page`: the vendor
        page, when the position says more than that (the Observations' positions do)."""
        patient_id = q.single_patient(request.query)
        if not is_uuid(patient_id):
            return None
        page = page or int(request.position or 1)
        listing = self._sub_page(patient_id, kind, page, _vendor_size(request), extra)
        if page > 1:  # a 404 here is a page past the end (`past_end` in the simulator), not the patient
            return await listing or self._nothing(patient_id, kind, None)
        # The first page also checks that the patient is live (and reads its NKDA status).
        patient, first = await concurrently(self._patient_or_none(patient_id), listing)
        if patient is None or patient.get("deleted_at"):
            return None
        if first is None:  # the patient is there: a 404 for its list is an empty list (`if not rows: 404`)
            return self._nothing(patient_id, kind, patient)
        return _SubPage(patient_id, patient, first.listing, first.records, first.unreadable, first.archived)

    def _nothing(self, patient_id: str, kind: _Listed, patient: VendorRecord | None) -> _SubPage:
        nothing = self._reader.lazy_records(kind.shape, kind.model, [], partial(kind.label, patient_id))
        return _SubPage(patient_id, patient, VendorPageList(items=[], total=0), nothing, nothing.unreadable)

    @staticmethod
    def _total(request: SearchRequest, listed: _SubPage, served: list[Resource]) -> int | None:
        """The count of the patient's records: what is served, when this one vendor page is
        the whole list. Not the vendor's `total`: a vendor that lists soft-deleted records may
        count them, and only a walk of every page would tell."""
        whole = int(request.position or 1) == 1 and not listed.listing.has_more(1, _vendor_size(request))
        return len(served) if whole else None

    async def _search_allergies(self, request: SearchRequest) -> VendorPage:
        status = q.single_token(request.query, "clinical-status")
        # `true` only: `false` may be read as true (module docstring); inactive ones are filtered here.
        extra: dict[str, str | int] = {"is_active": "true"} if status == "active" else {}
        listed = await self._sub_records(request, ALLERGIES, extra)
        if listed is None:
            return VendorPage([], None, total=0)
        resources = [allergy_to_fhir(a, listed.patient_id, self._ctx) for a in listed.records]
        patient = listed.patient
        nkda = patient is not None and patient.get("allergy_review_status") == "nkda"
        if nkda and patient is not None:
            resources.insert(0, nkda_to_fhir(patient, self._ctx))
        exact = q.only(request.query, "patient", "subject") and patient is not None
        return self._paged(request, resources, listed, self._total(request, listed, resources) if exact else None)

    async def _search_medications(self, request: SearchRequest) -> VendorPage:
        statuses = {v.code for p in request.query.named("status") for v in p.values if isinstance(v, TokenValue)}
        # `true` only: `false` may be read as true (module docstring); the other statuses are filtered here.
        extra: dict[str, str | int] = {"is_active": "true"} if statuses == {"active"} else {}
        listed = await self._sub_records(request, MEDICATIONS, extra)
        if listed is None:
            return VendorPage([], None, total=0)
        resources = [medication_to_fhir(m, listed.patient_id, self._ctx) for m in listed.records]
        exact = q.only(request.query, "patient", "subject")
        return self._paged(request, resources, listed, self._total(request, listed, resources) if exact else None)

    async def _search_conditions(self, request: SearchRequest) -> VendorPage:
        status = q.single_token(request.query, "clinical-status")
        extra: dict[str, str | int] = {"problem_status": status} if status in ("active", "resolved", "inactive") else {}
        listed = await self._sub_records(request, PROBLEMS, extra)
        if listed is None:
            return VendorPage([], None, total=0)
        resources = [condition_to_fhir(d, listed.patient_id, self._ctx) for d in listed.records]
        exact = q.only(request.query, "patient", "subject")
        return self._paged(request, resources, listed, self._total(request, listed, resources) if exact else None)

    async def _search_observations(self, request: SearchRequest) -> VendorPage:
        low, high = date_bounds_any(request.query, "date")
        window: dict[str, str | int] = {}
        if low:  # vendor dates are the practice's local days: widen a day each side
            window["date_from"] = q.shift(low, -1).isoformat()
        if high:
            window["date_to"] = q.shift(high, 1).isoformat()
        page, reading, taken = _reading_at(request.position)
        listed = await self._sub_records(request, VITAL_SIGNS, window, page)
        if listed is None:
            return VendorPage([], None, total=0)
        # Only the patient asked for: the core serves every Observation in order, so the page
        # is mapped only as far as it needs (`page_size` of them); a filtered search gets all
        # of them, to filter. One reading yields several Observations: no total.
        need = request.page_size if q.only(request.query, "patient", "subject") else None
        resources, rest = _observations(listed, self._ctx, reading, taken, need)
        if rest is not None:
            return VendorPage(resources, [page, *rest], warnings=_messages(listed.unreadable))
        return self._paged(request, resources, listed, None, page)

    @staticmethod
    def _paged(
        request: SearchRequest, resources: list[Resource], listed: _SubPage, total: int | None, page: int | None = None
    ) -> VendorPage:
        page = page or int(request.position or 1)
        more = listed.listing.has_more(page, _vendor_size(request))
        return VendorPage(
            resources,
            page + 1 if more else None,
            total=None if listed.unreadable else total,
            warnings=_messages(listed.unreadable),
        )


def _reading_at(position: Any) -> tuple[int, int, int]:
    """(vendor page, reading of it, Observations of that reading already served) of a vital-signs
    position: a page number, or `[page, reading, taken]` inside a page (`_observations`)."""
    if isinstance(position, list) and len(position) == 3 and all(type(n) is int and n >= 0 for n in position):
        return max(1, position[0]), position[1], position[2]
    return int(position or 1), 0, 0


def _observations(
    listed: _SubPage, ctx: TenantContext, reading: int, taken: int, need: int | None
) -> tuple[list[Resource], tuple[int, int] | None]:
    """The Observations of a page's readings from `reading` on (less the `taken` first ones of
    it), at most `need` of them; and `(reading, taken)` where the next one is, None when this
    vendor page has no more."""
    out: list[Resource] = []
    records = listed.records
    index = reading
    while records.has(index):
        made = vitals_to_fhir(records[index], listed.patient_id, ctx)
        skip = taken if index == reading else 0
        room = len(made) - skip if need is None else need - len(out)
        if len(made) - skip > room:
            out += made[skip : skip + room]
            return out, (index, skip + room)
        out += made[skip:]
        if need is not None and len(out) >= need:
            return out, ((index + 1, 0) if records.has(index + 1) else None)
        index += 1
    return out, None


def _vendor_size(request: SearchRequest) -> int:
    return min(request.page_size, VENDOR_PAGE_SIZE)


def _archived(kind: _Listed, patient_id: str, record_id: str) -> Gone:
    return Gone(f"{kind.label(patient_id, record_id, 0)} has been deleted")


def _alive(record: VendorRecord, name: str, of: str | None = None) -> None:
    if record.get("deleted_at"):
        raise Gone(f"{of} belongs to a deleted patient" if of else f"{name} has been deleted")


def _names_patient(diagnostics: str) -> bool:
    """Whether a 404's message speaks of the patient ("Patient not found", Laravel's "No query
    results for model [App\\Models\\Patient]"), not only echoes the path asked for: Laravel's
    router answers a path it does not have (a `base_url` missing `/v1`) with "The route
    api/<org_id>/patients/<uuid> could not be found.", whose only "patient" is in the path."""
    return any("patient" in word for word in diagnostics.lower().split() if "/" not in word)


def _patient_label(vendor_id: str | None, index: int) -> str:
    return f"Patient/{vendor_id}" if vendor_id else f"The patient at position {index} of a vendor page"


def _messages(unreadable: list[Unreadable]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u.message for u in unreadable))


def _search_term(query: SearchQuery, chart_system: str) -> str | None:
    """A term for the vendor's free-text `search` that every reading of it finds in every
    patient the query matches (module docstring: "Where the docs are silent"): a chart number
    sent whole, or nothing. Never an email: FHIR finds it in any case, a vendor whose `search`
    is case-sensitive only in the case it stored."""
    candidates: list[str] = []
    for param in query.params:
        if len(param.values) != 1 or param.modifier is not None:
            continue
        value = param.values[0]
        if not isinstance(value, TokenValue) or not value.code:
            continue
        if param.name == "identifier" and value.system in (None, chart_system):
            candidates.append(value.code)
    safe = [term for term in candidates if whole_value_term(term)]
    return max(safe, key=len) if safe else None


def _patient_ids(query: SearchQuery, system: str) -> list[str] | None:
    """Patient ids to read directly: identifiers in our patient-id system, or bare UUIDs (the
    only identifiers this tenant has are the patient id and the chart number)."""
    for param in query.named("identifier"):
        tokens = [v for v in param.values if isinstance(v, TokenValue) and v.code]
        if tokens and all(t.system == system or (t.system is None and is_uuid(t.code or "")) for t in tokens):
            return [t.code for t in tokens if t.code]
    return None
