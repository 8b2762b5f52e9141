"""The Nextech adapter: FHIR interactions planned onto Nextech's term search and encounter CCDs.

Nextech offers `GET /search?term=` (a name or a chart number) and, per patient,
`GET /{patientId}/encounters/search?start&end&section` with each encounter's CCD as HTML.
- Patient read: the id carries the chart number (`<patientId>.<chart>`); the read searches
  that chart number and keeps the patient with that id. A patient with no chart number (the
  docs do not make it required) is `<patientId>.x.<initial of its name>`: the read searches
  that initial's terms, as a name search would (patient.py). A patient a search or read has
  found is remembered as real for `KNOWN_FOR` seconds, so its encounters need no lookup (for a
  Nextech refusing one-letter terms, the only way to a chartless patient's encounters); a
  read whose term Nextech refuses is a 502 saying so, not the client's 400.
- Patient search: the chart number of an `identifier` as the term; else the terms of one
  name value (`family` first, as Nextech always searches last names; else `given` or
  `name`): its first letter and that letter's accented forms (terms.py), sent side by side,
  their answers merged by patientId (at most 12 calls, side by side, for one vendor page: a
  vowel has ten accented forms in Latin-1 and Latin Extended-A, and its lower case is sent
  too), until the answers show that this Nextech ignores case (a lower-case letter finding a
  name holding it upper case only) or accents (an accented letter finding a name without it):
  the capital then finds all they do, and they are no longer sent, nor walked past their
  first page in the search that showed it. Several values of one
  parameter (ORed) send the terms of each, up to `MAX_NAME_TERMS`; of several parameters
  (ANDed) the one needing the fewest terms is sent. A Nextech refusing those one-letter terms
  (400: a minimum length) is sent the values as written and unaccented instead, for the next
  `INITIALS_REFUSED_SECONDS` too, and the searchset says names with other accents may be
  missing (`WRITTEN_TERMS`). So is a Nextech whose letters find no one where the names as
  written find someone (it matches whole names only: `WHOLE_NAMES`, kept to the same way),
  and a Nextech whose answer to a letter was cut (more patients under it than one call's
  allowance of requests reads), alongside the letters, the searchset then saying nothing when
  this Nextech is known to ignore accents. A single letter has no narrower name: its one walk
  left (the others whole) goes on in the next provider call (`_going_on`). The gateway
  applies FHIR's rules to what comes back: names sharing a prefix (Smith, Smithson) and
  chart numbers sharing one (C0001, C00010…) come back together and are told apart by the
  gateway. A search with nothing to make a term
  of (birthdate or gender alone) cannot be answered by Nextech and is refused (the parameter
  is declared required): listing every patient would take a term per letter and accent,
  beyond the vendor calls one request may make. `:contains` is not offered: under a prefix
  reading no term finds inner text.
- Every answer is read through vendor.py's models and shown to the drift monitor. A patient
  or encounter record that cannot be read is left out of its page, which then carries a
  warning naming its id and the field (no value); a read of it is a 502 naming the field. A
  CCD is served whole or not at all.
- Encounters, DocumentReferences and Binaries come from the patient's encounter search,
  its window from `date` (widened a day each side; the encounter read uses its id's day). A
  section Nextech answers null for, or leaves the encounter out of its answer for, is served
  empty when the encounter's whole CCD exists (a section with nothing recorded), and is no
  Binary when it does not.

Where the docs are silent (and how each point is read here):
- How `term` matches a name: case- and accent-insensitive or not, over names stored NFC or
  NFD, as a prefix of the field or of a word in it or as a substring, a term with spaces
  taken whole or split into words (ANDed or ORed). Only the first character of a stored name
  is known to every reading (terms.py), so that and its accented forms are what is sent.
  Case: read as case-insensitive, as "will attempt to match" suggests and SQL Server's
  default collation is; the letters are sent upper case so that capitalised names are found
  even by a case-sensitive implementation, and the base letter lower case too, for names
  written with a lower-case particle (`de la Cruz`), until a lower-case letter is seen to
  find a name holding it upper case only (the implementation ignores case). Which names:
  first and last (the docs: "name"), not middle: a `given`/`name` search says middle names were not searched.
  "The patient's name" may be read as the last name alone (a chart filed under it): a search
  by a given name that has not shown first names matched asks one patient's first name once
  (`_probe_first_names`); where that finds no one, `given`/`name` searches say that patients
  found by their given name alone are missing (`LAST_NAMES_ONLY`).
- Shapes: ids as numbers or strings, camelCase, PascalCase (`PatientID`, `DOB`, `CCD`) or
  snake_case keys, `dob` as a date-time (`Z`, offset or none), a date or `MM/DD/YYYY`,
  `encounterDate` with `Z`, an offset or no zone (read as UTC, "UTC date / time"), null or
  absent optional fields, lists bare or in an envelope (`value`, `data`...), an encounter flat
  or as `{summary, ccd}`, any answer perhaps inside ASP.NET Boilerplate's default wrapper
  (`{"result": ..., "success": true}`): see vendor.py.
- Error bodies: Web API's `{"Message"}`, `{"message"}`, RFC 7807 problems (`title`,
  `detail`), OAuth's `error_description`, or text; only their status decides what they mean.
- Characters of the strings that become ids: chart numbers, patientIds (documented as
  integers, handled as any string), encounterIds and CCD section names (`/encounters/categories`
  may say `Vital Signs` or `Plan of Treatment` as well as `VitalSigns`). Each is an id part
  through `mappings.ids.encode_part`: kept as it is when already `[A-Za-z0-9-]` (today's ids),
  else escaped reversibly (`xSocial-20History`), and cut to a prefix plus a stable hash when
  its share of the 64 characters is too small (budget in encounter.py). The reads resolve the
  gateway's own ids: a section part is matched against Nextech's listed sections (asked by
  that name, or by another its category object gives it, or an enum member's name for it,
  `VitalSigns` for a listed title `Vital Signs`, when Nextech refuses that one), a shortened
  chart number is searched by its prefix, a shortened encounterId by the encounters of its day.
- How `term` matches a chart number (exact or prefix): read as either; a read always keeps
  only the patient whose id it is, a search lets the gateway apply FHIR's rules. Only a chart
  number too long for its id (over 13-22 characters, by the patientId's length) relies on
  prefix matching: its read searches the prefix the id carries.
- The range of `start`/`end`: "if omitted, search ends with the current date", so an
  open-ended search cannot omit `end` without losing future (scheduled, open) encounters.
  The docs give `end` as a date-time with no maximum: an open-ended search sends
  `FAR_END` (9999-12-31T00:00:00, within .NET's DateTime and SQL Server's datetime; every
  bound is sent as UTC without a zone designator, as some parsers drop a `Z` silently, or,
  once that is refused with a 400 and `Z` is not, with `Z`, as RFC 3339 readers ask, or, when
  both are refused, as the bare UTC date, as readers of "Earliest date"/"Latest date" ask). If
  Nextech rejects that (400), the search is repeated to where bookable dates end
  (`mappings.bookable`: 50 years ahead; no warning, as nothing a practice could book lies
  past it), and if that is rejected too, up to `HORIZON_DAYS` ahead, and its searchset then
  carries a warning (`HORIZON_WARNING`) that later encounters may be missing; the tenant
  keeps to the end that was answered from then on. An implementation may fail on a far date
  instead (a 500 or a timeout: `end` plus a day overflows its calendar): the nearer end is
  then tried too, and the failure kept to for `FAILED_FAR_END_SECONDS` (a vendor that is
  merely down fails the horizon as well, and nothing is remembered). An explicit upper
  bound past where bookable dates end is searched the same way (the gateway finishes the
  filter), so that a calendar ending between them is no error. With
  no lower bound `start` is omitted ("search begins with the patient's earliest encounter").
- Whether `end` is inclusive and in which zone: read as UTC, inclusive; the window is widened
  a day each side and the gateway finishes the filter.
- `encounterLocked` documented as a string with a boolean example: both accepted (vendor.py).
- `section` ("Section of data to include in the CCD property") may not be read at all: an
  answer for a section holding other sections' headings is the whole CCD, and the section's
  Binary is cut to that section's block, or is a 502 when it cannot be told (ccd.py).
- A chart number with spaces: a vendor splitting the term into words might AND them, each
  against the fields separately, so its first word is sent (terms.chart_term); one comparing
  the chart number whole (`=`) finds it by nothing less, so the whole number is sent beside it.
- Paging: the docs describe none ("Searches for all ..."), but an implementation may page its
  lists as its framework does. A next link in the envelope (Django REST Framework's `next`,
  OData's `@odata.nextLink`, JSON:API's `links.next`, HAL's) naming the same endpoint is
  followed, its query asked of the tenant's `base_url`, while the call's allowance of vendor
  requests lasts (walks.py: a bound in requests, within what the gateway lets one FHIR page
  cost, not in pages, whatever they hold), the walk going on from where it stopped in the
  next provider call (on the same FHIR page, or through its `next` link); so are pages
  a bare array's headers describe (flask-smorest's `X-Pagination` with its `next_page`, a
  `Link` rel="next"), whose count (`total`, `X-Total-Count`) is read as an envelope's, and
  pages an envelope numbers without a link (Flask-SQLAlchemy's `next_num`), asked as `?page=N`,
  and those an envelope or header says there are more of, giving only its own number (ASP.NET's
  `PaginatedList`: `pageNumber`, `hasNextPage`; an `X-Pagination` of `CurrentPage`,
  `TotalPages`), asked as `?pageNumber=N` (`?page=N` for a `page`), or its zero-based index
  (Spring Data's `Page`: `number`, at the top or in a nested `page`), the next asked as
  `?page=number+1`, and pages counted by offset, the envelope echoing `offset` and `limit`
  (fastapi-pagination's `LimitOffsetPage`) or `skip` and `take`, the next asked from the item
  after the last read, to the total or to a page not full, and ASP.NET Boilerplate's
  `PagedResultDto` (`{"totalCount", "items"}`, nothing more), asked as `?skipCount=` of the
  items read until the total is, and an OData envelope counting more than it holds
  (`@odata.count`) with no `@odata.nextLink`, asked as `?$skip=` of the items read.
  A page asked by number that says it is another, or holds the rows of the one before (the
  number not taken), ends the walk. A bare array of a customary page size (`PAGE_SIZES` and
  `SMALL_CAPS`, until ruled out) that says nothing of other pages may be one page all the same
  (Kaminari's 25, Spring's `getContent()` of 20, an Express team's Prisma `take: 10`): its
  second page is asked as `?page=`, counted from 0 or from 1, then by `?offset=`, then by
  `?skip=`, then by OData's `?$skip=` (an ASP.NET `[EnableQuery(PageSize = n)]` outside OData
  routing) (`HIDDEN_PAGING`), the first way answered with other rows walked until a page is
  short; an endpoint taking none of them is not asked again (`_bare_paging`). An answer
  whose last page counts more items than were read, points to a further page (a token, a
  link elsewhere, a page refused), says it has more or more pages (at its top or
  in a nested `meta`, `links`, `pagination`...), or a one-page answer of exactly a page size
  (a cap, as Nextech's own FHIR API has at 50, not lifted by `?page=`), makes the searchset
  say that matches may be missing (`CUT_SHORT`), and a read that does not find its patient
  or encounter in such an answer a 502, not a 404. So does one of exactly 10 or 15
  (`SMALL_CAPS`). A one-page answer that may be cut is resolved where it can be: a name's
  letters are narrowed to the name as written, a chart number widened by a character once
  (`_settled`), a patient's encounters asked over narrower date ranges, split at their rows'
  dates until each is answered whole (`_encounters`). An answer of more rows in one body
  than a size rules that size out for its endpoint from then on (`_most_rows`): answers of it
  are then neither probed for pages nor suspected of a cap, so an uncapped Nextech pays no
  extra call for them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from cachetools import TTLCache
from pydantic import ValidationError

from gateway.concurrently import concurrently
from gateway.contract import AdapterConfig, Resource, ResourceProvider, SearchRequest, VendorPage, by_type
from gateway.errors import (
    InvalidRequest,
    NotFound,
    NotSupported,
    UpstreamError,
    UpstreamSecurity,
    UpstreamTimeout,
    UpstreamUnusable,
)
from gateway.search import planning as q
from gateway.search.model import ReferenceValue, SearchQuery, StringValue, TokenValue
from gateway.upstream.tentative import tentative
from mappings.bookable import bookable_end
from mappings.nextech.capabilities import DOCUMENT, ENCOUNTER, PATIENT, binary
from mappings.nextech.ccd import SectionNotFound, one_section
from mappings.nextech.client import NextechClient
from mappings.nextech.encounter import (
    binary_to_fhir,
    document_id,
    document_to_fhir,
    encounter_id,
    encounter_to_fhir,
    has_ccd,
    section_part,
    split_binary_id,
    split_encounter_id,
)
from mappings.nextech.options import NextechOptions
from mappings.nextech.patient import patient_id, patient_to_fhir, split_patient_id
from mappings.nextech.terms import (
    chart_terms,
    found_by_first_name,
    ignores_accents,
    ignores_case,
    is_accented,
    name_terms,
    written_terms,
)
from mappings.nextech.vendor import (
    PAGE_PARAM_NAMES,
    UnreadablePayload,
    VendorEncounter,
    VendorPatient,
    encounter_date,
    has_next_page,
    items_of,
    listed_count,
    member_names,
    next_page_query,
    odata_skip_next,
    page_number,
    problem_of,
    raw_id,
    section_names,
    section_spellings,
    skip_count_next,
    split_point,
    with_header_paging,
    without_ccds,
)
from mappings.nextech.walks import READ_REQUESTS, SEARCH_REQUESTS, Walk, requests_left, spend, spending

T = TypeVar("T")
_POSITION = re.compile(r"\[\d+\]")
CHART_ONLY = "Nextech looks identifiers up as chart numbers: a patient id is found with _id, not identifier"
MIDDLE_NAMES = (
    "Nextech searches first and last names only: patients whose middle name alone matches "
    "'given' or 'name' are not found"
)
LAST_NAMES_ONLY = (
    "Nextech searches last names (and chart numbers) only: patients whose given name alone matches "
    "'given' or 'name' are not found; search by family to find them"
)


FAR_END = datetime(9999, 12, 31, tzinfo=UTC)  # the end of an open-ended encounter search
BoundForm = Literal["naive", "zoned", "date"]
BOUND_FORMS: tuple[BoundForm, ...] = (
    "naive",
    "zoned",
    "date",
)  # how start/end are written (_stamp), in the order tried
HORIZON_DAYS = 3 * 366  # how far ahead a search reaches when Nextech refuses FAR_END
FAILED_FAR_END_SECONDS = 600.0  # how long a FAR_END that failed (not refused) is not asked again
HORIZON_WARNING = (
    "Nextech refused an open-ended encounter search: encounters more than three years ahead "
    "may be missing; search with an explicit date range to see them"
)


class SectionsUnreadable(UpstreamUnusable):
    """`/encounters/categories` answered a list of sections that cannot be read (a 502)."""


NOT_AT_BASE_URL = (
    "Nextech answered 404 for its documented routes (/search and /encounters/categories): the tenant's "
    "base_url does not point at its API; the operator must check the tenant configuration"
)
# Answers of exactly this many items in a bare array may be one page of more, or capped: the
# default page sizes of Spring Data, pagy and Flask-SQLAlchemy (20), Kaminari (25),
# will_paginate (30), Nextech's own FHIR API (50) and other customary ones. Their next pages are
# asked (NextechAdapter._hidden_pages); a patient answer whose pages are not, may be cut (_list);
# both until an answer of more rows in one body has ruled the size out (NextechAdapter._most_rows).
PAGE_SIZES = frozenset({20, 25, 30, 50, 100, 200, 250, 500, 1000})
# Smaller caps and page sizes an answer may have all the same, silently: 10 (the default `_count`
# of Nextech's own FHIR API, the `PAGE_SIZE` of Django REST Framework's quickstart, a `take: 10`)
# and 15 (Laravel's default `per_page`). Ordinary answers hold that many as often (chart numbers
# are fixed-width: the term `C0001` finds C00010..C00019), so one is suspected only until an
# answer of more rows has shown there is no such cap (NextechAdapter._most_rows), as a page
# size is. Until then its next pages are asked as a page size's are (`_hidden_pages`), and a
# patient answer whose pages are not is narrowed for a name (`_narrowed`), widened for a chart
# number (`_settled`).
SMALL_CAPS = frozenset({10, 15})
CUSTOMARY_SIZES = PAGE_SIZES | SMALL_CAPS
# The ways the second page of a bare array that says nothing of its pages is asked, in the order
# tried (`_hidden_pages`), each for the page at a zero-based index of pages as long as the first:
# Spring's `Pageable` counts `?page=` from 0 (`page=1` is the second page, where a `page` counted
# from 1 answers the first again: both are told apart by it), Kaminari, Flask-SQLAlchemy and
# Laravel's `forPage` from 1; SQLAlchemy's `.offset()`, Prisma's `skip` and OData's `$skip` start
# at an item. The page size is not sent: the first page was answered at the endpoint's own default.
HIDDEN_PAGING: tuple[Callable[[int, int], dict[str, str]], ...] = (
    lambda index, size: {"page": str(index)},
    lambda index, size: {"page": str(index + 1)},
    lambda index, size: {"offset": str(index * size)},
    lambda index, size: {"skip": str(index * size)},
    # ASP.NET's `[EnableQuery(PageSize = n)]` on a controller outside OData routing: a bare array
    # of n, the rest asked with OData's `$skip` (Web API OData 7 reads the `$` spelling only).
    lambda index, size: {"$skip": str(index * size)},
)
CUT_SHORT = (
    "Nextech's answer ({count} {shape}) may have been cut at a page size the docs do not mention: "
    "some matches may be missing"
)
# A Nextech refusing the one-letter terms (a 400: a minimum term length, which the docs neither
# state nor rule out) is asked for the names as written instead, for this long before the
# letters are tried again.
INITIALS_REFUSED_SECONDS = 600.0
WRITTEN_TERMS = (
    "Nextech refused one-letter search terms, so the name was searched as written (and unaccented): "
    "names spelled with accents the search value does not have may be missing"
)
LETTERS_CUT = (
    "Nextech's answer to the name's first letters was cut short, so the name was searched as written "
    "(and unaccented): names spelled with accents the search value does not have may be missing"
)
WHOLE_NAMES = (
    "Nextech matches whole names only (its first letters found no one, the name as written did), so the "
    "name was searched as written (and unaccented): names that only start with it, or are spelled with "
    "accents it does not have, may be missing"
)
MAX_NAME_TERMS = 24  # side-by-side vendor calls one patient search may make (two vowels' worth)
KNOWN_PATIENTS = 4096  # patient ids remembered as real (each costs a vendor search to check)
# Patients (or encounters) served already that a search going on in the next call leaves out: it
# goes on only when it has no more of them to carry (they travel in the page's `next` link).
MAX_SEEN = 100
KNOWN_FOR = 900.0  # seconds: a patient deleted at the vendor is noticed within this


@dataclass(frozen=True)
class Unreadable:
    """A record of a list answer that could not be read: what to tell the client (no PHI)."""

    what: str  # "Patient/<id>", "Encounter/<id>" or a description when no id can be read
    vendor_id: str | None  # the vendor's id of the record, when it can be read alone
    error: UnreadablePayload

    @property
    def message(self) -> str:
        return f"{self.what} could not be read: {self.error}"


@dataclass(frozen=True)
class Window:
    """A range of an encounter search still to read (no `start`: from the patient's earliest
    encounter), and where its walk stopped when it was read partway."""

    start: datetime | None
    end: datetime
    walk: Walk | None = None

    def stamps(self, form: BoundForm) -> tuple[str | None, str]:
        """The range as sent (`_stamp`): two windows sent alike are one question."""
        return (_stamp(self.start, form) if self.start is not None else None, _stamp(self.end, form))

    def near(self, moment: datetime) -> bool:
        """Whether `moment` lies in the range, or within the day either side of it that any one
        zone's reading of its bounds may shift it by."""
        day = timedelta(days=1)
        return (self.start is None or moment + day >= self.start) and moment - day <= self.end

    def position(self) -> list[Any]:
        return [
            self.start.isoformat() if self.start else None,
            self.end.isoformat(),
            self.walk.position() if self.walk else None,
        ]

    @classmethod
    def of(cls, position: Any) -> Window:
        """The window a position (`position()`) holds; ValueError when it holds none."""
        if not isinstance(position, list) or len(position) != 3:
            raise ValueError("not a window")
        start, end, walk = position
        if not isinstance(end, str) or not (start is None or isinstance(start, str)):
            raise ValueError("not a window's range")
        return cls(
            _aware(start) if start is not None else None,
            _aware(end),
            Walk.of(walk) if walk is not None else None,
        )


@dataclass(frozen=True)
class Onward:
    """Where an encounter search goes on in the next provider call: the windows still to read (a
    stack, the next one last), the rows already served that one of them may answer again
    (`_row_key`: the instant two halves of a split window share), and whether its end was
    FAR_END or where bookable dates end (`far`), or the horizon (`horizon`: said each page)."""

    windows: tuple[Window, ...]
    seen: frozenset[str]
    far: bool = False
    horizon: bool = False

    def position(self) -> dict[str, Any]:
        return {
            "windows": [w.position() for w in self.windows],
            "seen": sorted(self.seen),
            "far": self.far,
            "horizon": self.horizon,
        }

    @classmethod
    def of(cls, position: Any) -> Onward:
        """The continuation a position (`position()`) holds; ValueError when it holds none."""
        if not isinstance(position, dict) or not isinstance(position.get("windows"), list):
            raise ValueError("not an encounter search's position")
        seen = position.get("seen")
        if not isinstance(seen, list) or not all(isinstance(k, str) for k in seen):
            raise ValueError("not the rows served")
        windows = tuple(Window.of(w) for w in position["windows"])
        return cls(windows, frozenset(seen), position.get("far") is True, position.get("horizon") is True)


@dataclass(frozen=True)
class Pages:
    """The bodies of a list answer read by one call, and how its walk ended."""

    bodies: list[Any]
    read: int = 0  # rows of the answer read before these, by an earlier call
    stopped: Walk | None = None  # where the walk stopped for the allowance, a next page known
    size: int | None = None  # a bare array's page size, when the pages it says nothing of were walked
    dropped: bool = False  # not walked past its first page: another term's walk finds all it would
    unfinished: bool = False  # a walk gone on with that could go no further (its page refused)


@dataclass(frozen=True)
class Read(Generic[T]):
    """The records of a list answer that could be read, and those that could not."""

    records: list[T]
    unreadable: list[Unreadable]
    cut: tuple[str, ...] = ()  # what says the answer may have been cut short
    suspected: bool = False  # only because it is one page of a page size, nothing saying more
    term: str = ""  # a patient search's term
    walk: Walk | None = None  # a patient search's: where its walk stopped for the allowance
    onward: Onward | None = None  # an encounter search's: where it goes on

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(u.message for u in self.unreadable) + self.cut

    @property
    def rows(self) -> int:
        """How many records the answer held, readable or not."""
        return len(self.records) + len(self.unreadable)


class NextechAdapter:
    def __init__(self, config: AdapterConfig[NextechOptions]) -> None:
        self.client = NextechClient(config)
        self._ctx = config.context
        self._drift = config.drift
        self._sections: list[str] = []
        # A section's other names (from its category object), and the one Nextech took as `section`
        self._spellings: dict[str, tuple[str, ...]] = {}
        self._taken: dict[str, str] = {}
        # FHIR Patient id -> Nextech patientId, for ids of real patients
        self._known_patients: TTLCache[str, str] = TTLCache(maxsize=KNOWN_PATIENTS, ttl=KNOWN_FOR)
        self._far_end_refused_until = 0.0  # monotonic: until then, open searches end where bookable dates do
        self._bookable_refused_until = 0.0  # monotonic: until then, open searches stop at the horizon
        self._initials_refused_until = 0.0  # monotonic: until then, names are searched as written
        self._written_reason = WRITTEN_TERMS  # why they are: the letters refused, or finding no one
        self._ignores_case = False  # a lower-case letter found a name holding it upper case only
        self._ignores_accents = False  # an accented letter found a name without it
        # Whether `term` matches first names: True once a patient is seen found by its first name
        # alone, False once a probe of one's whole first name did not find it; None: not known.
        self._first_names: bool | None = None
        self._bound_form: BoundForm | None = None  # how start/end are written (_stamp); None: not yet known
        self._api_confirmed = False  # /encounters/categories has answered at base_url (_api_found)
        # Per endpoint (`_endpoint`), the most rows one body answered alone: no cap or page size below it
        self._most_rows: dict[str, int] = {}
        # Per endpoint (`_endpoint`), how a bare array's pages are asked (an index of HIDDEN_PAGING),
        # or None when they are not asked at all (none of the ways is taken): learnt once (_hidden_pages).
        self._bare_paging: dict[str, int | None] = {}
        self._providers = self._table()

    def _table(self) -> dict[str, ResourceProvider]:
        """Each provider call within its allowance of vendor requests (walks.py)."""
        read, search = partial(_within, READ_REQUESTS), partial(_within, SEARCH_REQUESTS)
        return by_type(
            ResourceProvider(PATIENT, read(self._read_patient), search(self._search_patients)),
            ResourceProvider(ENCOUNTER, read(self._read_encounter), search(self._search_encounters)),
            ResourceProvider(DOCUMENT, read(self._read_document), search(self._search_documents)),
            ResourceProvider(binary(self._sections), read(self._read_binary)),
        )

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        return self._providers

    async def aclose(self) -> None:
        await self.client.aclose()

    async def sections(self) -> list[str]:
        """Nextech's CCD section names (fetched once; they also go into the CapabilityStatement)."""
        if not self._sections:
            bodies = (await self._pages("/encounters/categories", {})).bodies
            try:
                self._sections = list(dict.fromkeys(name for body in bodies for name in section_names(body)))
                self._spellings = {k: v for body in bodies for k, v in section_spellings(body).items()}
            except UnreadablePayload as exc:
                self._drift.unreadable("categories", [exc.field])
                raise SectionsUnreadable(f"Nextech's CCD sections could not be read: {exc}") from None
            self._providers = self._table()
        return self._sections

    async def _api_found(self) -> None:
        """Raise unless Nextech's documented routes answer at the tenant's `base_url`. A 404 of
        `/search` may say that a search found no one (the docs' "The requested resource cannot
        be found"), but a web framework answers 404 (ASP.NET Core: with an empty body) for any
        path it has no route for too: with a `base_url` missing a path segment (`/api` for
        `/api/v1`), every search read as "no matches" and every patient as not found. The
        categories route takes no parameters and answers wherever the API is: asked once,
        until it has answered. Any answer but a 404 says the API is there, so the search's 404
        was "no match": a 403 (the user the grant is for may not read clinical data), a 400 or
        a list of sections that cannot be read is the categories route's problem, not the
        search's. Only a failure that says nothing (5xx, timeout) is raised."""
        if self._api_confirmed or self._sections:
            return
        try:
            await self.sections()
        except NotFound:
            raise UpstreamUnusable(NOT_AT_BASE_URL) from None
        except (UpstreamSecurity, InvalidRequest, SectionsUnreadable):
            pass  # answered, if not as hoped
        self._api_confirmed = True

    # -- read ---------------------------------------------------------------------------------

    async def _read_patient(self, resource_id: str) -> Resource:
        return (await self._patient_record(resource_id))[1]

    async def _patient_record(self, resource_id: str) -> tuple[str, Resource]:
        """(Nextech patientId, the Patient) for a Patient id: a search by the chart number (or
        the prefix of it) the id carries, or with no chart number by the terms of its name's
        initial (patient.py), keeping the patient whose id it is."""
        key = split_patient_id(resource_id)
        if key is not None:
            terms = (
                chart_terms(key.chart)
                if key.chart
                else name_terms(key.initial, not self._ignores_case, not self._ignores_accents)
            )
            try:
                answers = await concurrently(*(self._search_term(t) for t in terms))
            except InvalidRequest:  # a term too short for a minimum length: the client's read was fine
                raise UpstreamUnusable(
                    f"Patient/{resource_id} could not be looked up: Nextech refused the search its id is "
                    "found by (a chart number or initial shorter than the terms it takes)"
                ) from None
            for patient in (p for answer in answers for p in answer.records):
                if patient.patientId.startswith(key.number) and patient_id(patient) == resource_id:
                    self._known_patients[resource_id] = patient.patientId
                    return patient.patientId, patient_to_fhir(patient, self._ctx)
            for bad in (u for answer in answers for u in answer.unreadable):
                # This patient, or perhaps it: a record whose patientId cannot be read, or whose
                # patientId is this one (or begins a shortened one) but whose chart number cannot
                # be read. Before, those were a 404, which a client takes as deleted.
                if (
                    bad.what == f"Patient/{resource_id}"
                    or bad.vendor_id is None
                    or bad.vendor_id.startswith(key.number)
                ):
                    raise UpstreamUnusable(f"Patient/{resource_id} could not be looked up: {bad.message}")
            answers = await self._settled(answers, terms[0]) if key.chart else self._unsuspected(answers)
            for answer in answers:
                if answer.cut:  # not in what Nextech said, but it may not have said everything
                    raise UpstreamError(f"Patient/{resource_id} could not be looked up: {answer.cut[0]}")
        raise NotFound(f"Patient/{resource_id} does not exist")

    # -- reading the vendor's answers (each one goes past the drift monitor) ---------------------

    async def _search_term(self, term: str, resume: Walk | None = None) -> Read[VendorPatient]:
        """`/search?term=`: the patients that can be read, and those that cannot; with `resume`,
        those of the pages from where an earlier call's walk stopped. A letter another term sent
        beside it finds all of (`_redundant`) is not walked past its first page."""
        try:
            pages = await self._pages("/search", {"term": term}, resume, partial(self._walks_on, term))
        except NotFound:  # "the requested resource cannot be found": a search that found no one
            if resume is not None:  # a page gone since (the list shrank): what came after it unread
                return Read([], [], (CUT_SHORT.format(shape="patients", count=resume.read),), term=term)
            await self._api_found()
            return Read([], [], term=term)
        rows, cut, suspected = self._list(pages, "patients", "/search")
        records: list[VendorPatient] = []
        unreadable: list[Unreadable] = []
        for index, row in enumerate(rows):
            try:
                records.append(VendorPatient.model_validate(row))
            except ValidationError as exc:
                error = problem_of(exc, f"[{pages.read + index}]")
                self._drift.unreadable("patient", [_POSITION.sub("[]", error.field)])
                unreadable.append(_unreadable_patient(row, pages.read + index, error))
        self._drift.fields("patient", records)
        self._learn_folding(term, records)
        return Read(records, unreadable, cut, suspected, term=term, walk=pages.stopped)

    def _walks_on(self, term: str, first: Any) -> bool:
        """Whether to walk on from `first`, the first page of the answer to `term`: not when it
        shows that another term sent beside it finds all `term` does (`_redundant`)."""
        try:
            rows = items_of(first)
        except UnreadablePayload:
            return True
        patients = []
        for row in rows:
            try:
                patients.append(VendorPatient.model_validate(row))
            except ValidationError:
                continue
        self._learn_folding(term, patients)
        return not self._redundant(term)

    def _learn_folding(self, term: str, patients: list[VendorPatient]) -> None:
        """What the patients `term` found show of how this Nextech compares: a lower-case letter
        finding a name holding it upper case only, it ignores case (`_ignores_case`); an
        accented letter finding a name without it, it ignores accents (`_ignores_accents`)."""
        fields = [(p.firstName, p.lastName, p.middleName, p.chartNumber) for p in patients]
        if not self._ignores_case and any(ignores_case(term, f) for f in fields):
            self._ignores_case = True  # the lower-case letters (terms.name_terms) find nothing more here
        if not self._ignores_accents and any(ignores_accents(term, f) for f in fields):
            self._ignores_accents = True  # nor the accented ones
        if not self._first_names and any(found_by_first_name(term, f[0], f[1:]) for f in fields):
            self._first_names = True

    async def _probe_first_names(self, answers: tuple[Read[VendorPatient], ...]) -> None:
        """Whether this Nextech matches first names, asked when a search by a given name or name
        has not shown it (`_learn_folding`): the docs' "the patient's name" may be read as the
        last name alone, a chart filed under it (`WHERE LastName LIKE @term + '%'`), and then a
        given name finds no one by itself. A patient of `answers` whose first name (plain
        letters, as every reading stores them alike) is in no other of its fields is searched by
        that first name: found, first names are matched; not found in an answer read whole,
        they are not. Before, such a Nextech answered `given=Renée` with no one, and the
        searchset passed for "no Renée". A refused or failed probe, or no patient to probe
        with, leaves it unknown."""
        for patient in (p for answer in answers for p in answer.records):
            first = (patient.firstName or "").strip()
            others = (patient.lastName, patient.middleName, patient.chartNumber)
            if not (first.isascii() and first.isalpha()) or not found_by_first_name(first, first, others):
                continue
            try:
                probe = await self._search_term(first)
            except (InvalidRequest, UpstreamError, UpstreamTimeout):
                return
            if self._first_names is None and not probe.cut and probe.walk is None:
                self._first_names = any(p.patientId == patient.patientId for p in probe.records)
            return

    def _redundant(self, term: str) -> bool:
        """Whether `term` is a letter (terms.name_terms) whose answer that letter's capital,
        unaccented, finds all of here: a lower-case one where case is ignored, an accented one
        where accents are. It is always sent beside it, so its pages need not be walked."""
        if len(term) != 1:
            return False
        if is_accented(term):
            return self._ignores_accents
        return term.islower() and self._ignores_case

    async def _ask(self, path: str, params: Mapping[str, str]) -> Any:
        """One request: the body, with what its headers say of its pages put where an envelope
        says it (flask-smorest's `X-Pagination`, a `Link` rel="next")."""
        return with_header_paging(*await self.client.get_with_headers(path, params))

    async def _pages(
        self,
        path: str,
        params: Mapping[str, str],
        resume: Walk | None = None,
        onward: Callable[[Any], bool] | None = None,
    ) -> Pages:
        """The bodies of a list answer: the first, then each page its envelope links to as next
        (vendor.next_page_query), while the call's allowance lasts (walks.py); or, with
        `resume`, the pages from where an earlier call's walk stopped. The docs describe no
        paging, but an implementation may page every list as its framework does (Django REST
        Framework: `{"count", "next", "previous", "results"}`, 10 a page; flask-smorest: a bare
        array of 10); reading the first page alone left every patient and encounter past it
        out. The walk stops where the allowance does, saying where (`Pages.stopped`): before, it
        stopped after 20 pages, whatever they held (200 patients at 10 a page, a letter
        matching more cut) and whatever the side-by-side walks of a search sent together. A
        link asked before (a loop), a page gone by the time it is asked (DRF answers 404
        "Invalid page." when the list shrank) or refused (a 400: not the client's request at
        fault) also stop it; the last body then still points further, and `_list` says the
        answer was cut. `onward`, given the first body, says whether to walk on at all. A
        link's query is laid over the first page's: a link of the query alone (`?page=2`)
        keeps the term, window and section asked. A 404 or 400 of the first page is the caller's."""
        with spending(READ_REQUESTS):
            if resume is not None and resume.hidden is not None:
                way, index, size = resume.hidden
                found, stopped = await self._hidden_walk(path, params, way, index, size, resume.read, [])
                if not found:  # refused, or rows read before: no further than the earlier call went
                    return Pages([[]], resume.read, unfinished=True)
                return Pages(found, resume.read, stopped, size)
            asked_first = {**params, **(resume.query if resume else {})}
            read = resume.read if resume else 0
            bodies = [await self._ask(path, asked_first)]
            if onward is not None and not onward(bodies[0]):
                return Pages(bodies, read, dropped=True)
            asked = {tuple(sorted(asked_first.items()))}
            stopped = None
            while (link := _next_page(bodies, path, read)) is not None:
                following = {**params, **link}
                key = tuple(sorted(following.items()))
                if key in asked:
                    break
                if requests_left() <= 0:
                    stopped = Walk(link, read + _rows_in(bodies))
                    break
                asked.add(key)
                spend()
                try:
                    body = await self._ask(path, following)
                except (NotFound, InvalidRequest):
                    break
                number = next((link[k] for k in PAGE_PARAM_NAMES if k in link), None)
                if _not_the_page_asked(body, bodies[-1], number):
                    break  # a vendor ignoring `page` answers the same page again: never twice the same rows
                bodies.append(body)
            first = bodies[0]
            if resume is None and len(bodies) == 1 and isinstance(first, list) and self._may_be_cut(path, len(first)):
                return await self._hidden_pages(path, params, first)
            if resume is None and len(bodies) == 1:  # a whole answer in one body: the endpoint caps and pages no fewer
                self._learn(path, first)
            return Pages(bodies, read, stopped)

    def _learn(self, path: str, body: Any) -> None:
        """Remember how many rows `body`, one answer of `path` in one body, held (`_most_rows`)."""
        try:
            rows = len(items_of(body))
        except UnreadablePayload:
            return
        endpoint = _endpoint(path)
        self._most_rows[endpoint] = max(self._most_rows.get(endpoint, 0), rows)

    def _may_be_cut(self, path: str, rows: int) -> bool:
        """Whether an answer of `path` holding `rows` in one body may be one page of more, or
        capped: a customary size (`CUSTOMARY_SIZES`) that no answer of its endpoint holding more
        in one body has ruled out."""
        return rows in CUSTOMARY_SIZES and rows >= self._most_rows.get(_endpoint(path), 0)

    async def _hidden_page(self, path: str, params: Mapping[str, str], way: int, index: int, size: int) -> Any:
        """Page `index` (from 0) of a bare array asked `way` (`HIDDEN_PAGING`): its rows, [] when
        there is no such page (a 404), None when it is refused or is no bare array."""
        try:
            body = await self.client.get(path, {**params, **HIDDEN_PAGING[way](index, size)})
        except NotFound:
            return []
        except InvalidRequest:
            return None
        return body if isinstance(body, list) else None

    async def _hidden_pages(self, path: str, params: Mapping[str, str], first: list[Any]) -> Pages:
        """`first`, a bare array of a customary page size that says nothing of any other, and the
        pages after it: Rails' `render json: patients.page(params[:page])` (Kaminari, 25 a page)
        and Flask-SQLAlchemy's `paginate().items` count `?page=` from 1, a Spring controller
        answering `Page.getContent()` from 0, an Express team's `prisma.patient.findMany({skip,
        take: 10})` starts at `?skip=`. The second page is asked each way in turn
        (`HIDDEN_PAGING`) until one answers rows not read before; that way is then kept to for
        this endpoint, and when none does (the same rows again, or a 400), no way is asked
        again. The pages are read until one is short or empty (a 404 counts as empty: no such
        page), while the allowance lasts (`_hidden_walk`); `first` alone when no way is taken,
        an empty page after it when it was all there was. `_list` says an answer may be cut
        when its last page is still a full one."""
        endpoint = _endpoint(path)
        size = len(first)
        if endpoint in self._bare_paging:
            way = self._bare_paging[endpoint]
            if way is None:
                return Pages([first])
            following = await self._hidden_page(path, params, way, 1, size)
        else:  # the ways not taken are not counted against the allowance: they are asked once
            for way in range(len(HIDDEN_PAGING)):
                following = await self._hidden_page(path, params, way, 1, size)
                if following is not None and not _repeats(following, first):
                    self._bare_paging[endpoint] = way
                    break
            else:
                self._bare_paging[endpoint] = None  # takes no way: its bare arrays are whole or capped
                return Pages([first])
        spend()
        if following is None or _repeats(following, first):
            return Pages([first])
        if len(following) < size:
            return Pages([first, following], size=size)
        found, stopped = await self._hidden_walk(path, params, way, 2, size, 2 * size, [*first, *following])
        return Pages([first, following, *found], stopped=stopped, size=size)

    async def _hidden_walk(
        self, path: str, params: Mapping[str, str], way: int, index: int, size: int, read: int, before: list[Any]
    ) -> tuple[list[Any], Walk | None]:
        """The pages of a bare array asked `way` from page `index` (`read` rows before it; `before`
        those of them this call read), until one is short, refused or holds rows read before (a
        way read no further), or the allowance ends: then where to go on."""
        found: list[Any] = []
        while True:
            if found and requests_left() <= 0:
                return found, Walk(HIDDEN_PAGING[way](index, size), read, (way, index, size))
            spend()
            following = await self._hidden_page(path, params, way, index, size)
            if following is None or _repeats(following, [*before, *(row for rows in found for row in rows)]):
                return found, None  # the last page read stays full: `_list` says the answer may be cut
            found.append(following)
            if len(following) < size:
                return found, None
            index, read = index + 1, read + len(following)

    def _list(self, pages: Pages, shape: str, path: str) -> tuple[list[Any], tuple[str, ...], bool]:
        """The items of a list answer's pages (of `path`), a warning when it may have been cut
        short, and whether that is only suspected: the docs promise every match ("Searches for
        all ..."), but a last page whose envelope counts more than were read, or points to a
        page not read, says otherwise; an answer of exactly a page size's or a small cap's worth
        in one page (`CUSTOMARY_SIZES`: Nextech's own FHIR API pages at 50), no way to its next
        pages taken, may be capped, until an answer of more has ruled that size out for its
        endpoint: a patient search's, and a patient's encounters' (before, an encounter list
        capped at 10, 20, 25 or 50 passed for all of them, the rest silently missing). A walk
        stopped for the allowance is cut too, unless the caller goes on with it. A first page
        not walked on from (`Pages.dropped`) is not: another term's walk holds it all."""
        try:
            rows = [row for body in pages.bodies for row in items_of(body, shape)]
        except UnreadablePayload as exc:
            self._drift.unreadable(shape, [exc.field])
            raise UpstreamUnusable(f"Nextech's {shape} could not be read: {exc}") from None
        if pages.dropped:
            return rows, (), False
        last = pages.bodies[-1]
        counted = listed_count(last)
        said = (counted is not None and counted > pages.read + len(rows)) or has_next_page(last) or pages.unfinished
        walked_full = pages.size is not None and isinstance(last, list) and len(last) == pages.size  # hidden pages
        capped = len(pages.bodies) == 1 and not pages.read and pages.size is None and self._may_be_cut(path, len(rows))
        if said or walked_full or capped:
            self._drift.unreadable(shape, ["(cut short)"])
            return rows, (CUT_SHORT.format(shape=shape, count=pages.read + len(rows)),), not (said or walked_full)
        return rows, (), False

    def _unsuspected(self, answers: tuple[Read[VendorPatient], ...]) -> tuple[Read[VendorPatient], ...]:
        """The answers, each suspected of a cap that a larger answer has since ruled out (one
        sent beside it, or a wider term's) without its warning."""
        return tuple(
            replace(a, cut=(), suspected=False) if a.suspected and not self._may_be_cut("/search", a.rows) else a
            for a in answers
        )

    async def _settled(self, answers: tuple[Read[VendorPatient], ...], term: str) -> tuple[Read[VendorPatient], ...]:
        """The answers to a chart number `term`, one of them holding just a cap's worth
        (`CUSTOMARY_SIZES`): a chart number has no narrower term, but a fixed-width one's prefix
        answers exactly 10 or 100 where there is no cap (`C0001`: C00010..C00019). The term one
        character shorter is asked once, which every reading finding by prefix or substring
        answers with at least as many patients: more rows than the cap rule it out, and then
        for every later answer (`_most_rows`). When it does not (a cap, or a Nextech matching
        whole chart numbers), the suspicion, and the warning, stay."""
        if len(term) < 2 or not any(a.suspected and self._may_be_cut("/search", a.rows) for a in answers):
            return answers
        try:
            await self._search_term(term[:-1])
        except InvalidRequest:  # a minimum term length: nothing learnt
            return answers
        return self._unsuspected(answers)

    def _read_encounters(self, rows: list[Any], patient: str, cut: tuple[str, ...]) -> Read[VendorEncounter]:
        records: list[VendorEncounter] = []
        unreadable: list[Unreadable] = []
        for index, row in enumerate(rows):
            try:
                records.append(VendorEncounter.model_validate(row))
            except ValidationError as exc:
                error = problem_of(exc, f"[{index}]")
                self._drift.unreadable("encounter", [_POSITION.sub("[]", error.field)])
                vendor_id = raw_id(row, "summary", "encounterId") or raw_id(row, "encounterId")
                what = (
                    f"Encounter {vendor_id} of Patient/{patient}"
                    if vendor_id
                    else f"An encounter of Patient/{patient} (position {index})"
                )
                unreadable.append(Unreadable(what, vendor_id, error))
        self._drift.fields("encounter", records)
        return Read(records, unreadable, cut)

    async def _read_encounter(self, resource_id: str) -> Resource:
        found = await self._encounter_item(resource_id, None)
        if found is None:
            raise NotFound(f"Encounter/{resource_id} does not exist")
        item, patient = found
        return encounter_to_fhir(item, patient, self._ctx, datetime.now(UTC))

    async def _read_document(self, resource_id: str) -> Resource:
        """DocumentReference/<encounter>.ccd: the encounter's CCD with one attachment per section."""
        split = split_binary_id(resource_id)
        found = await self._encounter_item(split[0], None) if split and split[1] is None else None
        if found is None or not has_ccd(found[0]):  # no CCD (yet): no document to refer to
            raise NotFound(f"DocumentReference/{resource_id} does not exist")
        item, patient = found
        return document_to_fhir(item, patient, await self.sections())

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
                try:
                    found = await self._encounter_item(encounter, section)
                except InvalidRequest as refused:
                    # The id is the gateway's (its DocumentReference links it): a request made
                    # for it that Nextech refuses, under every spelling of the section it lists,
                    # is Nextech's failure, not a bad request of the client's (a 400 before).
                    raise UpstreamUnusable(
                        f"Nextech refused the request for Binary/{resource_id}: {refused.diagnostics}"
                    ) from None
            if section is not None and (found is None or found[0].ccd is None):
                # A null section may be a section with nothing in it (a template rendering nothing
                # for it, dumped as null) or a CCD that does not exist (a note not yet locked); so
                # may an encounter a section search leaves out (sections stored as rows and
                # joined: one with nothing recorded joins nothing), or one that does not exist.
                # The whole CCD tells which. The DocumentReference listed this section's
                # attachment: before, a section left out was a 404 for it.
                whole = await self._encounter_item(encounter, None)
                if whole is None or not has_ccd(whole[0]):
                    found = None
                elif found is None:
                    found = (whole[0].model_copy(update={"ccd": None}), whole[1])
            elif section is not None and found is not None and found[0].ccd:
                found = (found[0].model_copy(update={"ccd": await self._one_section(found[0].ccd, section)}), found[1])
        # No CCD (null, or a blank whole CCD) is no Binary; a blank section is that section, empty.
        if found is None or (section is None and not has_ccd(found[0])):
            raise NotFound(f"Binary/{resource_id} does not exist")
        assert split is not None  # found only for an id that splits
        return binary_to_fhir(found[0], resource_id, document_id(split[0]), f"CCD {section or ''}".strip())

    async def _one_section(self, ccd: str, section: str) -> str:
        """The CCD Nextech answered for `section`, as that section: the whole document, when
        Nextech did not read `section` (its other sections' headings in it), cut to that
        section's block (ccd.py); a 502 when the section cannot be told from the rest. Before,
        the whole document was served as the section."""
        sections = await self.sections()
        names = [(name, *self._spellings.get(name, ())) for name in sections]
        asked = next((spelled for spelled in names if spelled[0] == section), (section,))
        try:
            return one_section(ccd, asked, [spelled for spelled in names if spelled[0] != section])
        except SectionNotFound as exc:
            raise UpstreamUnusable(
                f"Nextech answered the whole CCD where its section {section} was asked, and {exc}"
            ) from None

    async def _encounter_item(self, encounter: str, section: str | None) -> tuple[VendorEncounter, str] | None:
        """(the vendor's encounter item, its patient id) for an Encounter id, searched on the
        day the id carries; None when there is no such encounter. An item of that encounterId
        that cannot be read is a 502 naming the field (a CCD is served whole or not at all), and
        so is an answer without it that may have been cut (a 404 would say it does not exist)."""
        parts = split_encounter_id(encounter)
        if parts is None or split_patient_id(parts[0]) is None:
            return None
        patient, vendor_id, day = parts
        when = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
        read = await self._encounters(patient, when - timedelta(days=1), when + timedelta(days=2), section)
        for item in read.records:
            if encounter_id(patient, item.summary) == encounter:
                return item, patient
        for bad in read.unreadable:
            if bad.vendor_id is not None and bad.vendor_id.startswith(vendor_id):
                raise UpstreamUnusable(f"Encounter/{encounter} could not be read: {bad.error}")
        if read.cut or read.onward is not None:  # not in what Nextech said, but it may not have said everything
            why = read.cut[0] if read.cut else "Nextech's answer takes more requests than one read may send"
            raise UpstreamError(f"Encounter/{encounter} could not be looked up: {why}")
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
        self,
        patient_id: str,
        start: datetime | None,
        end: datetime,
        section: str | None,
        *,
        far: bool = False,
        resume: Onward | None = None,
    ) -> Read[VendorEncounter]:
        """The patient's encounters in the window, or in the windows an earlier call left to read
        (`resume`); `far`: its end is FAR_END or where bookable dates end, which a vendor may fail
        on, so those calls are tentative (gateway.upstream.tentative).

        The windows are read one after another (a stack, the earliest range on top) while the
        call's allowance lasts (walks.py). One answered whole is served. One whose walk the
        allowance stopped is served as far as it was read, and gone on with from there. One
        answered in one body that may have been cut (just a cap's worth, `_list`, or fewer rows
        than its envelope counts, with no way to more) is split in two at a date of its rows
        (`split_point`), both halves sharing that instant, so that every reading of the bounds
        (inclusive or not, in any one zone) leaves no gap: the docs promise "all of a one
        patient's encounters within a date range", and a narrower range is the one narrower
        question an encounter search has. Before, an encounter list capped at 10 or 25 passed
        for all of them. Windows left when the allowance ends are where the search goes on
        (`Read.onward`), with the rows served that one of them may answer again (those near the
        instant two halves share). What cannot be split further (more rows at one instant than
        the cap) or was cut otherwise (a page refused, a link elsewhere) is said to be cut."""
        vendor_id = await self._vendor_patient(patient_id) if split_patient_id(patient_id) else None
        if vendor_id is None:
            return Read([], [])
        path = f"/{quote(vendor_id, safe='')}/encounters/search"
        far = resume.far if resume is not None else far

        async def ask(span: Window, form: BoundForm) -> Pages:
            params = {"end": _stamp(span.end, form)}
            if span.start is not None:
                params["start"] = _stamp(span.start, form)
            with tentative() if far else nullcontext():
                if section:
                    return await self._section_pages(path, params, section, span.walk)
                return await self._pages(path, params, span.walk)

        pending = list(resume.windows) if resume is not None else [Window(start, end)]
        seen = set(resume.seen) if resume is not None else set()
        served: dict[str, tuple[Any, Window]] = {}  # by `_row_key`: the row, and the window it came from
        cut: dict[str, None] = {}
        asked = False
        try:
            while pending and (not asked or requests_left() > 0):
                span = pending.pop()
                spend()  # each range asked: what its splits cost is bounded too
                try:
                    if self._bound_form is None:
                        pages = await self._in_bound_form(partial(ask, span))
                    else:
                        pages = await ask(span, self._bound_form)
                except NotFound:
                    if span.walk is None:
                        raise  # "Patient not found"
                    # A page gone since an earlier call read up to it (the list shrank): what came after it unread
                    cut[CUT_SHORT.format(shape="encounters", count=span.walk.read)] = None
                    continue
                asked = True
                rows, said, _ = self._list(pages, "encounters", path)
                one_body = bool(said) and pages.stopped is None and len(pages.bodies) == 1 and not pages.read
                halves = self._halves(span, rows) if one_body else None
                if halves is not None:
                    pending += [halves[1], halves[0]]  # the earlier range read first
                    continue
                served.update((key, (row, span)) for row in rows if (key := _row_key(row)) not in seen)
                if pages.stopped is not None:
                    pending.append(replace(span, walk=pages.stopped))
                    break
                cut.update(dict.fromkeys(said))
        except NotFound:
            return Read([], [])
        onward = None
        if pending:  # where to go on, with the rows served near a window left that it may answer again
            again = set()
            for key, (row, origin) in served.items():
                others = [w for w in pending if (w.start, w.end) != (origin.start, origin.end)]
                if others and _near_any(row, others):
                    again.add(key)
            keep = frozenset(seen | again)
            if len(keep) <= MAX_SEEN:
                onward = Onward(tuple(pending), keep, far)
            else:
                cut[CUT_SHORT.format(shape="encounters", count=len(served))] = None
        read = self._read_encounters([row for row, _ in served.values()], patient_id, tuple(cut))
        return replace(read, onward=onward)

    def _halves(self, span: Window, rows: list[Any]) -> tuple[Window, Window] | None:
        """`span` split in two at a date of its rows (`split_point`), both halves sharing it;
        None when its rows give no date to split at, or a half would be asked as `span` is
        (its bounds as sent: to the day, when this Nextech takes dates only)."""
        point = split_point(rows)
        if point is None:
            return None
        halves = (Window(span.start, point), Window(point, span.end))
        form = self._bound_form or BOUND_FORMS[0]
        if any(half.stamps(form) == span.stamps(form) for half in halves):
            return None
        return halves

    async def _in_bound_form(self, window: Callable[[BoundForm], Awaitable[Pages]]) -> Pages:
        """`window` asked with its bounds in the form this Nextech takes (`_stamp`): once known,
        that form alone; before, each form in `BOUND_FORMS` until one is not refused (400), the
        last refusal raised when every form is. The first answered is kept to."""
        if self._bound_form is not None:
            return await window(self._bound_form)
        *others, last = BOUND_FORMS
        for form in others:
            try:
                bodies = await window(form)
            except InvalidRequest:
                continue  # perhaps the form: the next is asked
            self._bound_form = form
            return bodies
        bodies = await window(last)
        self._bound_form = last
        return bodies

    async def _section_pages(
        self, path: str, params: Mapping[str, str], section: str, resume: Walk | None = None
    ) -> Pages:
        """One section's encounter pages. A category object may name a section twice (`name`
        "Vital Signs", `code` "VitalSigns") and the docs do not say which `section` takes: the
        name the section's ids carry is tried first, then its others, and the one taken is
        used from then on. A 400 for every spelling is the vendor's refusal, as before. An
        answer whose every encounter has no CCD may be a spelling not taken, answered as a
        template not found rather than a 400: the others are asked too, until one is answered
        with a CCD (then taken), before it is read as a section with nothing recorded. A walk
        gone on with (`resume`) asks by the spelling it began with. A spelling not taken may be
        a 404 as well as a 400: a section looked up as a row and not found (Rails' `find_by!`,
        Django's `get_object_or_404`) is the docs' "cannot be found"; before, it read as no
        encounters at all, and the section attachment its DocumentReference lists as not found.
        When every spelling is refused, the first refusal is the answer (a 404 of a patient
        not found, among them). After the names the categories give, the names of an enum
        member so titled are asked (`member_names`: `VitalSigns` for "Vital Signs"): a list of
        the sections' titles (an enum's `[Display(Name)]`) with `section` bound to the enum by
        its members' names; before, each such section's attachment was the vendor's 400 passed
        on, or, where a name not known is a 404, served as a section with nothing in it."""
        if resume is not None:
            return await self._pages(path, {**params, "section": self._taken.get(section, section)}, resume)
        spellings = (self._taken.get(section, section), section, *self._spellings.get(section, ()))
        first, *others = dict.fromkeys((*spellings, *member_names(section)))
        try:
            pages = await self._pages(path, {**params, "section": first})
        except (InvalidRequest, NotFound) as refused:
            for spelling in others:
                try:
                    pages = await self._pages(path, {**params, "section": spelling})
                except (InvalidRequest, NotFound):
                    continue
                self._taken[section] = spelling
                return pages
            raise refused from None
        if section in self._taken or not others:
            return pages
        if not without_ccds(pages.bodies):
            self._taken[section] = first
            return pages
        for spelling in others:
            try:
                answered = await self._pages(path, {**params, "section": spelling})
            except (InvalidRequest, NotFound):
                continue
            if not without_ccds(answered.bodies):
                self._taken[section] = spelling
                return answered
        return pages

    # -- search -------------------------------------------------------------------------------

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        if request.position is not None:
            return await self._more_patients(query, request.position)
        lower, accented = not self._ignores_case, not self._ignores_accents
        terms = _terms(query, self._ctx.system("chart-number"), self._ctx.system("patient-id"), lower, accented)
        if not terms:
            return VendorPage([], None, total=0)  # e.g. an identifier in a system this tenant has not
        written = () if query.named("identifier") else _written_terms(query)
        typed: tuple[str, ...] = ()
        if written and time.monotonic() < self._initials_refused_until:
            answers, typed = await self._search_written(written), (self._written_reason,)
        else:
            try:
                answers = self._unsuspected(await concurrently(*(self._search_term(t) for t in terms)))
                if query.named("identifier"):
                    answers = await self._settled(answers, terms[0])
            except InvalidRequest:
                if not written:
                    raise
                # Perhaps a minimum term length: search the names as written, and keep to that.
                answers, typed = await self._search_written(written), (WRITTEN_TERMS,)
                self._initials_refused_until = time.monotonic() + INITIALS_REFUSED_SECONDS
                self._written_reason = WRITTEN_TERMS
            # The names as written narrow the letters' answers, unless they are letters themselves.
            narrower = tuple(t for t in written if len(t.strip()) > 1 and t not in terms)
            if narrower and not typed and any(a.cut for a in answers):  # letters read, one cut
                answers, typed = await self._narrowed(answers, narrower)
            elif written and not typed and not any(a.records or a.unreadable for a in answers):
                answers, typed = await self._whole_names(answers, written)
        if written and self._first_names is None and not query.named("family"):
            await self._probe_first_names(answers)
        answers, onward = self._going_on(answers)
        patients: dict[str, VendorPatient] = {}
        unreadable: dict[str, None] = {}
        for answer in answers:
            for patient in answer.records:
                patients.setdefault(patient.patientId, patient)
            unreadable.update(dict.fromkeys(answer.warnings))
        for patient in patients.values():  # real, as a read would find: their encounters need no lookup
            self._known_patients[patient_id(patient)] = patient.patientId
        warnings = tuple(unreadable) + typed + _searched_how(query, self._first_names)
        return VendorPage([patient_to_fhir(p, self._ctx) for p in patients.values()], onward, warnings=warnings)

    def _going_on(
        self, answers: tuple[Read[VendorPatient], ...]
    ) -> tuple[tuple[Read[VendorPatient], ...], dict[str, Any] | None]:
        """The answers, and where the search goes on in the next provider call when one term's
        walk stopped for the allowance (walks.py) and every other answer is whole (but for the
        letters that term finds all of, `_redundant`, which are then left out): its term, its
        walk, and the patients served already that its later pages may hold again (found by
        another term: `seen`, at most `MAX_SEEN`). That answer is then not cut: the gateway asks
        for the rest, on this FHIR page or through its `next` link. Before, a walk stopped after
        20 pages, and every match past them was missing (the letter `C`, which every chart
        number starts with, matched the whole practice). Else None: what is cut stays said."""
        kept = [a for a in answers if not self._redundant(a.term)]
        walking = [a for a in kept if a.walk is not None]
        if len(walking) != 1 or any(a.cut for a in kept if a is not walking[0]):
            return answers, None
        [going] = walking
        assert going.walk is not None
        own = {p.patientId for p in going.records}
        seen = {p.patientId for a in kept if a is not going for p in a.records} - own
        if len(seen) > MAX_SEEN:
            return answers, None
        position = {"term": going.term, "walk": going.walk.position(), "seen": sorted(seen)}
        # A letter whose capital finds all it does is left to the capital's walk: served now, its
        # first page would be served again there, and an answer to this same position asked again
        # (the gateway re-asks it for a later FHIR page) would no longer send it.
        return tuple(replace(a, cut=()) if a is going else a for a in kept), position

    async def _more_patients(self, query: SearchQuery, position: Any) -> VendorPage:
        """The patients of the pages after those an earlier call read of one term (`_going_on`),
        those served already left out, and where to go on again."""
        try:
            term, walk, seen = position["term"], Walk.of(position["walk"]), position["seen"]
            if not isinstance(term, str) or not isinstance(seen, list) or not all(isinstance(k, str) for k in seen):
                raise ValueError("not a patient search's position")
        except (KeyError, TypeError, ValueError):
            raise InvalidRequest("The page asked for is not one this search gave") from None
        answer = await self._search_term(term, walk)
        served = set(seen)
        patients = {p.patientId: p for p in answer.records if p.patientId not in served}
        for patient in patients.values():
            self._known_patients[patient_id(patient)] = patient.patientId
        onward = {**position, "walk": answer.walk.position()} if answer.walk is not None else None
        warnings = (
            tuple(u.message for u in answer.unreadable)
            + (() if onward else answer.cut)
            + _searched_how(query, self._first_names)
        )
        return VendorPage([patient_to_fhir(p, self._ctx) for p in patients.values()], onward, warnings=warnings)

    async def _narrowed(
        self, answers: tuple[Read[VendorPatient], ...], written: tuple[str, ...]
    ) -> tuple[tuple[Read[VendorPatient], ...], tuple[str, ...]]:
        """The first letters' answers, one of them cut (more patients under a letter than one
        call's allowance reads, or a page size): the names as written added, which narrow the
        vendor's answer to pages that can all be read. When they are read whole, the letters'
        answers stand without their cut, and what may still be missing is a name with accents
        the value lacks (`LETTERS_CUT`), unless the cut was only suspected (one page of a
        page size, which as often is all there is: then nothing is said) or this Nextech is
        known to ignore accents (its unaccented name as written finds them all); else every
        warning stays."""
        try:
            more = await concurrently(*(self._search_term(t) for t in written))
        except InvalidRequest:
            return answers, ()
        more = self._unsuspected(more)
        if any(a.cut for a in more):
            return answers + more, ()
        said = any(a.cut and not a.suspected for a in answers) and not self._ignores_accents
        return tuple(Read(a.records, a.unreadable) for a in answers) + more, (LETTERS_CUT,) if said else ()

    async def _whole_names(
        self, answers: tuple[Read[VendorPatient], ...], written: tuple[str, ...]
    ) -> tuple[tuple[Read[VendorPatient], ...], tuple[str, ...]]:
        """The first letters found no one: perhaps there is no one, perhaps this Nextech matches
        whole names only (the docs' examples: "a patient with a specific name"), which no letter
        is. The names as written are asked; when they find someone, that is the reading: names
        are searched as written for the next `INITIALS_REFUSED_SECONDS` too, and the searchset
        says which names may be missing (`WHOLE_NAMES`). Else the letters' answer stands."""
        try:
            more = await concurrently(*(self._search_term(t) for t in written))
        except InvalidRequest:
            return answers, ()
        if not any(a.records for a in more):
            return answers, ()
        self._initials_refused_until = time.monotonic() + INITIALS_REFUSED_SECONDS
        self._written_reason = WHOLE_NAMES
        return more, (WHOLE_NAMES,)

    async def _search_written(self, terms: tuple[str, ...]) -> tuple[Read[VendorPatient], ...]:
        """The answers to the names as written; a refusal of them too is the client's to fix."""
        try:
            return self._unsuspected(await concurrently(*(self._search_term(t) for t in terms)))
        except InvalidRequest:
            raise InvalidRequest(
                "Nextech refused the name as a search term (it may ask for a minimum length): send more of the name"
            ) from None

    async def _search_encounters(self, request: SearchRequest) -> VendorPage:
        patient, read, warnings = await self._encounters_searched(request.query, request.position)
        now = datetime.now(UTC)
        found = [encounter_to_fhir(i, patient, self._ctx, now) for i in read.records]
        onward = read.onward.position() if read.onward is not None else None
        return VendorPage(found, onward, warnings=read.warnings + warnings)

    async def _search_documents(self, request: SearchRequest) -> VendorPage:
        patient, read, warnings = await self._encounters_searched(request.query, request.position)
        sections = await self.sections()
        found = [document_to_fhir(i, patient, sections) for i in read.records if has_ccd(i)]
        onward = read.onward.position() if read.onward is not None else None
        return VendorPage(found, onward, warnings=read.warnings + warnings)

    async def _encounters_searched(
        self, query: SearchQuery, position: Any = None
    ) -> tuple[str, Read[VendorEncounter], tuple[str, ...]]:
        """(patient id, the patient's encounter items in the window `date` allows, warnings),
        widened a day each side: Nextech's window is in UTC, the gateway finishes the filter.
        With no upper bound the window ends at FAR_END (see "Where the docs are silent"). With
        `position`, the windows an earlier call left to read (`Onward`)."""
        patient_id = q.single_patient(query) or _patient_of_encounter(query)
        if not patient_id:
            return "", Read([], []), ()
        if position is not None:
            try:
                resume = Onward.of(position)
            except ValueError:
                raise InvalidRequest("The page asked for is not one this search gave") from None
            read = await self._encounters(patient_id, None, FAR_END, None, resume=resume)
            if read.onward is not None:
                read = replace(read, onward=replace(read.onward, horizon=resume.horizon))
            return patient_id, read, (HORIZON_WARNING,) if resume.horizon else ()
        low, high = q.date_bounds_any(query, "date")
        start = datetime.combine(q.shift(low, -1), datetime.min.time(), UTC) if low else None
        # Bookable dates end that far from today whatever the lower bound: a refusal of that end
        # is remembered for every later search, which must then ask the same end.
        bookable = bookable_end(datetime.combine(_today(), datetime.min.time(), UTC), FAR_END)
        if high is not None:
            end = min(datetime.combine(q.shift(high, 1), datetime.min.time(), UTC), FAR_END)
            if end <= bookable:  # else searched as open (a calendar ending between them is no error)
                return patient_id, await self._encounters(patient_id, start, end, None), ()
        far_end_kept = bookable_kept = math.inf  # how long a refused end is not asked again
        if time.monotonic() >= self._far_end_refused_until:
            try:  # a vendor failing on the far date is not down: that call is tentative
                return patient_id, await self._encounters(patient_id, start, FAR_END, None, far=True), ()
            except InvalidRequest:
                pass  # perhaps FAR_END: try a nearer end, and keep to it if that is answered
            except (UpstreamError, UpstreamTimeout):
                far_end_kept = FAILED_FAR_END_SECONDS  # failed on the far date, or just failed
        if (start is None or start < bookable) and time.monotonic() >= self._bookable_refused_until:
            try:
                booked = await self._encounters(patient_id, start, bookable, None, far=True)
            except InvalidRequest:
                pass
            except (UpstreamError, UpstreamTimeout):
                bookable_kept = FAILED_FAR_END_SECONDS
            else:  # complete: nothing a practice could book lies past it
                self._far_end_refused_until = _later_of(self._far_end_refused_until, far_end_kept)
                return patient_id, booked, ()
        horizon = _horizon()
        items: Read[VendorEncounter] = Read([], [])
        if start is None or start <= horizon:
            items = await self._encounters(patient_id, start, horizon, None)
            self._far_end_refused_until = _later_of(self._far_end_refused_until, far_end_kept)
            self._bookable_refused_until = _later_of(self._bookable_refused_until, bookable_kept)
        if items.onward is not None:  # said on every page
            items = replace(items, onward=replace(items.onward, horizon=True))
        return patient_id, items, (HORIZON_WARNING,)


def _stamp(moment: datetime, form: BoundForm = "naive") -> str:
    """A `start`/`end` bound: the UTC date-time without a zone designator (`2025-03-15T00:00:00`),
    with `Z` (`"zoned"`), or its UTC date alone (`"date"`: `2025-03-15`). The docs type the
    bounds only "date-time" and the encounter times "UTC". Some parsers drop a `Z` or an offset
    as unparseable, silently (Flask's `type=` over `strptime`, `datetime.fromisoformat` before
    Python 3.11): an `end` dropped falls back to now, so the zone-less form is sent first.
    Others refuse it (RFC 3339's `date-time`, which OpenAPI's `format: date-time` names,
    requires an offset), which is seen as a 400: the `Z` form is then asked. Others again bind
    a date only, as the docs word the bounds ("Earliest date", "Latest date included": ASP.NET's
    `DateOnly`, Spring's `LocalDate`, django-filter's `DateFilter`) and refuse both: the date is
    then asked. Every bound is a UTC midnight (the window is widened a day each side), so the
    date says the same; a reader taking the zone-less form as its local time instead of UTC,
    or an `end` date as excluded, is within the day the window is widened by. A window split at
    an encounter's date (`NextechAdapter._encounters`) is bounded there, to the second (or the
    day), the two halves sharing that bound."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    if form == "date":
        return utc.date().isoformat()
    text = utc.isoformat(timespec="seconds")
    return f"{text}Z" if form == "zoned" else text


def _later_of(until: float, kept: float) -> float:
    """A refusal remembered from now for `kept` seconds, unless it already was (a monotonic time)."""
    now = time.monotonic()
    return until if now < until else now + kept


def _today() -> date:
    """Today in UTC, the zone of Nextech's window: the host's own date may be a day off it."""
    return datetime.now(UTC).date()


def _horizon() -> datetime:
    """The end of an open-ended search when Nextech refuses FAR_END."""
    return datetime.combine(_today() + timedelta(days=HORIZON_DAYS), datetime.min.time(), UTC)


A = TypeVar("A")
R = TypeVar("R")


def _within(requests: int, call: Callable[[A], Awaitable[R]]) -> Callable[[A], Awaitable[R]]:
    """`call`, the requests it sends counted against an allowance of `requests` (walks.py)."""

    async def bounded(argument: A) -> R:
        with spending(requests):
            return await call(argument)

    return bounded


def _next_page(bodies: list[Any], path: str, before: int = 0) -> dict[str, str] | None:
    """The query of the page after `bodies`, the pages of one list answer read so far (`before`
    items read before them, by an earlier call): the one the last links to or numbers
    (vendor.next_page_query), else the items after those read of an envelope that only counts
    them (ABP's `skipCount`, OData's `$skip`: vendor.skip_count_next, vendor.odata_skip_next);
    None when there is none."""
    return next_page_query(bodies[-1], path) or skip_count_next(bodies, before) or odata_skip_next(bodies, before)


def _rows_in(bodies: list[Any]) -> int:
    """How many items the bodies of a list answer hold (those it can be read to hold)."""
    try:
        return sum(len(items_of(body)) for body in bodies)
    except UnreadablePayload:
        return 0


def _aware(text: str) -> datetime:
    """A date-time of a provider position (ValueError when it is none), in UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _near_any(row: Any, windows: list[Window]) -> bool:
    """Whether an encounter row's date lies in, or within a day of, any of `windows` (a row with
    no date that can be read: as if it did)."""
    moment = encounter_date(row)
    return moment is None or any(w.near(moment) for w in windows)


def _row_key(row: Any) -> str:
    """What tells an encounter row from another: its encounterId when it can be read alone, else
    a digest of the whole row (the same row of two overlapping windows is one encounter). Short
    either way: the keys of rows served travel in a position (`Onward.seen`)."""
    vendor_id = raw_id(row, "summary", "encounterId") or raw_id(row, "encounterId")
    if vendor_id is not None:
        return f"id:{vendor_id}"
    whole = json.dumps(row, sort_keys=True, default=str).encode()
    return "row:" + hashlib.sha256(whole).hexdigest()[:24]


def _endpoint(path: str) -> str:
    """The route a path is of: a patient's encounter search is the same route for every patient."""
    return "/{patientId}/encounters/search" if path.endswith("/encounters/search") else path


def _patient_of_encounter(query: SearchQuery) -> str:
    refs = {v.id for v in q.values(query, "encounter") if isinstance(v, ReferenceValue)}
    patients = {parts[0] for parts in (split_encounter_id(r) for r in refs) if parts}
    if len(patients) > 1:
        return ""
    return patients.pop() if patients else ""


def _not_the_page_asked(body: Any, before: Any, asked: str | None) -> bool:
    """Whether a page asked by number is another: one saying it is a different page, or holding
    the rows of the page before it (the number, which Nextech's docs do not name, not taken)."""
    said = page_number(body)
    if asked is not None and asked.isascii() and asked.isdigit() and said is not None and said != int(asked):
        return True
    try:
        rows, previous = items_of(body), items_of(before)
    except UnreadablePayload:
        return False
    return bool(rows) and rows == previous


def _repeats(rows: list[Any], read: list[Any]) -> bool:
    """Whether a page holds only rows read before (and some): `page` not read, or read no further."""
    return bool(rows) and all(row in read for row in rows)


def _unreadable_patient(row: Any, index: int, error: UnreadablePayload) -> Unreadable:
    """How to name a patient that cannot be read: its FHIR id when its patientId and chart
    number can be read alone, else its patientId, else its place in the answer."""
    number, chart = raw_id(row, "patientId"), raw_id(row, "chartNumber")
    if number is not None and chart is not None:
        fhir_id = patient_id(VendorPatient(patientId=number, chartNumber=chart))
        return Unreadable(f"Patient/{fhir_id}", number, error)
    if number is not None:
        return Unreadable(f"The Nextech patient {number}", number, error)
    return Unreadable(f"The patient at position {index} of a Nextech answer", None, error)


def _searched_how(query: SearchQuery, first_names: bool | None = None) -> tuple[str, ...]:
    """What the client should know of how Nextech searched for `query`'s patients
    (`first_names`: False when this Nextech is known to match last names only)."""
    if not query.named("family") and not query.named("identifier"):
        # the term was a given name: middle names were not searched, nor perhaps first names
        return (LAST_NAMES_ONLY,) if first_names is False else (MIDDLE_NAMES,)
    if any(v.system is None for v in q.values(query, "identifier") if isinstance(v, TokenValue)):
        return (CHART_ONLY,)
    return ()


def _terms(query: SearchQuery, chart_system: str, id_system: str, lower: bool, accented: bool) -> tuple[str, ...]:
    """The terms to send: a chart number's, else those of a family name (Nextech always
    searches last names), else of a given name or name (terms.py; `lower`: with the lower-case
    letter, `accented`: with its accented forms). Of several parameters (ANDed, each alone a
    superset) the one needing the fewest terms; of several values of one (ORed) the terms of each."""
    if query.named("identifier"):
        chart = _chart_number(query, chart_system, id_system)
        return chart_terms(chart) if chart is not None else ()
    options = _name_options(query, partial(name_terms, lower=lower, accented=accented))
    if options:
        fewest = min(options, key=len)
        if len(fewest) > MAX_NAME_TERMS:
            raise NotSupported(
                f"Nextech is asked for each first letter and its accented forms: at most {MAX_NAME_TERMS} "
                "terms per search; send fewer name values"
            )
        return fewest
    if any(p.name in ("name", "family", "given") for p in query.params):
        raise NotSupported("Nextech cannot search by a blank name")
    return ()


def _written_terms(query: SearchQuery) -> tuple[str, ...]:
    """The terms for a Nextech that refuses one letter: the values of the name parameter
    `_terms` chose, each as written and unaccented (terms.written_terms); () when there is none."""
    options = _name_options(query, written_terms)
    return min(options, key=len)[:MAX_NAME_TERMS] if options else ()


def _name_options(query: SearchQuery, terms_of: Callable[[str], tuple[str, ...]]) -> list[tuple[str, ...]]:
    """For each name parameter of the first kind the query has (`family`, else `given` or
    `name`) whose values all have something to search by, the terms `terms_of` makes of its
    values (ORed), in order and without repeats; [] when there is none."""
    for names in (("family",), ("given", "name")):
        options = [
            tuple(dict.fromkeys(t for v in p.values if isinstance(v, StringValue) for t in terms_of(v.text)))
            for p in query.params
            if p.name in names and all(isinstance(v, StringValue) and name_terms(v.text) for v in p.values)
        ]
        if options:
            return options
    return []


def _chart_number(query: SearchQuery, chart_system: str, id_system: str) -> str | None:
    """The chart number of an `identifier` search; None when it names a system this tenant has no
    identifiers in (nothing matches)."""
    for param in query.named("identifier"):
        if len(param.values) != 1:
            raise NotSupported("Nextech searches one chart number at a time; send one identifier value")
        value = param.values[0]
        if isinstance(value, TokenValue) and value.code:
            if value.system == id_system:
                raise NotSupported("Nextech cannot search by its patient id: read Patient/<id> or search by _id")
            if value.system in (None, chart_system):
                return value.code
    return None
