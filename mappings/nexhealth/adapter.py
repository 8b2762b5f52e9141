"""The NexHealth adapter: FHIR interactions planned onto the Synchronizer API.

NexHealth ORs its patient search parameters (`name`, `email`, `phone_number`,
`date_of_birth`, `foreign_id`): sending two returns patients matching either. FHIR ANDs them.
So the adapter sends at most ONE search parameter — the most selective the query offers among
those that return a superset of the FHIR answer under every reading of the docs (chart number,
email, exact birth date; never a name or a phone: below) — and the gateway applies every
condition exactly. `active=false` maps onto the `inactive` filter, which NexHealth ANDs. A query with
nothing NexHealth can safely narrow by (a name or a phone alone, gender) pages through the
location's patients with the gateway filtering, within the core's vendor-call budget per page
(the core says when it stopped). A `description` warning that a parameter was ignored makes
the result inexact (no total), never wrong: the gateway filters regardless. Appointments become
Encounters; their search needs a patient and a window, which the adapter derives from `date`
(widened a day each side, honoured whatever its distance) or, left open, walks in windows
(below). Patients are updated (PUT) by `PATCH /patients/{id}` before NexHealth inserts them
into the practice system only (below).

Where the docs are silent
- Single-record answers (`GET /patients/{id}`, `POST` and `PATCH /patients`): the docs show
  lists only. `data` is read as `{"patient": {...}}`, the patient itself, `{"patients":
  [one]}` or `[one]`; lists as `{"patients": [...]}`, a bare list, `[{"patients": [...]}]`
  (how the patients page prints it), or `null` (none). A read answered 200 with no patient
  (`data` null, `{"patient": null}`: a lookup's null sent as it is) is "no such patient"
  (`_show`). `shapes.py` declares every documented
  field (`VendorModel`: the others are drift, logged by path and counted, never by value).
- `GET /patients/{id}` is not documented either (the patients page names search, create and
  editing "via PATCH"): an implementation of those routes alone answers a read as an unknown
  path, its web server's page or its own 404 envelope, which reads as "no such patient". A 404
  from the read, until it has once answered, is told apart by reading a patient the list has
  just shown (a 404 too: no route). Then, for the tenant, a patient is read from the list of
  the institution (no documented parameter names an id), page by page within the core's bound
  on vendor requests; one not found within it is said to be too costly to read, not missing.
  Nor is it said whether that read finds any patient of the institution or only those of the
  `location_id` sent (as a search is "performed in the context of a location"): one answering
  404 for a patient of another location, which the tenant's lists (not `location_strict`)
  hold, is learned by reading a listed patient of another location (`_show_scoped`); then a
  404 read is looked for in the institution's list too.
- Field types: ids, flags and `count` may be numbers and booleans or strings of them
  (`"id": "415"`, `"inactive": "false"`, `"count": "12"`); text fields may be numbers;
  optional fields `null`, absent or empty texts; timestamps `.007Z`, `+00:00` or without a
  fraction; a date of birth `1964-05-03` or the midnight instant of one (a JavaScript Date,
  `1964-05-03T00:00:00.000Z`: compared, and sent, as the date); gender in `bio` or beside it.
  A record that still cannot be read (no usable id, a flag that is no boolean, an
  appointment without a readable `start_time`) is left out of its page, which carries a
  warning (OperationOutcome entry) naming its vendor id and field, and no total; reading
  that record is a 502 naming the field.
- Errors: the messages are read from `error` as a list or a string, else from
  `description`, else, without the envelope, where the framework puts them (`detail`,
  `message`, Django REST Framework's by field); `code` may be `false` or `"false"`.
- `name` search: "fuzzy", and nothing more is said. Implementations differ: accent-sensitive
  (`nunez` misses `NUÑEZ`), names stored decomposed (NFD: `Renée` sent in NFC misses),
  fuzzy by similarity (a FHIR prefix like `Jo` may be too short to be similar), prefix or
  substring, tokens ANDed or ORed. Any letter of a stored name may carry an accent the query
  does not, so no part of a name value is found under every reading: names send no term
  (declared GATEWAY); NexHealth's answers are served in NFC by the core.
- `phone_number` search: by digits, or as stored (formatted, `(516) 304-2196`) and matched
  only as that whole text. No term is found under both; phones send no term (GATEWAY).
- `email` and `foreign_id` are sent as given (whole values) and `date_of_birth` for an exact
  birth date only. The docs name neither `foreign_id` nor `date_of_birth` among the search's
  parameters: NexHealth may ignore them (the gateway filters regardless) or refuse them (the
  client leaves a refused one out and says so, as for one ignored: no total). Email is
  compared case-insensitively by FHIR, but a vendor matching it exactly (a SQL `=`) would
  miss a stored `Ada@Example.org` asked as `ada@example.org`. Which one this NexHealth is, is
  tried once (a listed patient's email asked in swapped case); one comparing exactly is not
  asked by email, and an email search pages through the location with the gateway filtering.
  So with a birth date served as an instant: the day asked may be cast to another zone's
  midnight than those stored (Rails' `Time.zone`, JavaScript's UTC) and find no one; tried once
  (a listed patient's day asked), one that misses it is not asked by birth date
  (`_birth_search_finds`).
- Patient update: the docs allow PATCH "prior to being inserted into the practice
  management system" (`foreign_id_type` is `nex` until then) and say later edits "will be
  overwritten" at the next sync. So the patient is read first; anything but `nex` is a 409
  and no PATCH is sent (the edit would be silently lost). If-Match is compared with the
  current versionId (a hash of the mapped resource: NexHealth keeps no version): 412. The
  body is not shown: the shape an edit took before is sent first, else the shape creates
  took, else the create body's `{"patient": {...}}`; if NexHealth refuses it (400/422) or
  answers without applying all of it, the next is sent: the patient fields at the top level,
  then those and `bio`'s too (an implementation ignoring unknown keys takes a flat body's
  names and drops its `bio`: the edit is compared field by field with what NexHealth then
  holds). The shape that worked is remembered for the tenant; an edit none applied whole is
  a 422 saying which elements were left as they were. Sent one after the other, those shapes
  left the patient half-edited in between (the new name with the old birth date), for any
  reader to see: so an edit changing a field of `bio` is never sent in a flat or fully flat
  body NexHealth has not yet applied such a change in, but first in the flat body with `bio`'s
  fields beside the names too, which an implementation of either flat shape ignoring unknown
  keys applies whole. One refusing unknown keys (Rails raising on unpermitted parameters,
  NestJS's forbidNonWhitelisted, FastAPI's extra="forbid": `refusals.py` reads each one's
  words) refuses it whole, and any other body it does not take: once a PATCH is refused naming
  a key, the doubled body is not sent to the tenant again; the keys named rule shapes out (a
  `patient`, a `bio`, `bio`'s fields beside the names) and the plain shapes go next, the one the
  doubled body is without what was named first: one call more than a vendor ignoring such keys
  needs, at most. The edited patient
  is read from the answer when it holds one, else read again. A duplicate ("already
  exists") is a 409. What NexHealth cannot store is listed (`Prefer`). Nor is it said what
  a PATCH does with what it is sent: a PATCH carries only what changes the patient as read (a
  duplicate check not leaving out the patient itself refused every edit re-sending its own
  email), but `bio` whole once any of its fields changes (it may be stored as one object that
  a PATCH's `bio` replaces); keys of it NexHealth refuses are left out from then on, and its
  unchanged phone once that was a duplicate of the patient itself (`_edit_body`). A PUT
  replaces the patient (R4 http.html#update): `bio`'s fields holding what it leaves out (an
  address, a cell or home phone) go as null in that `bio`, which clears them where NexHealth
  replaces `bio` or takes a null; one NexHealth still holds after the edit (it merged `bio`
  ignoring the null, refused the key, or took a body without `bio`) is named as kept, and so
  is a middle name left out, which no write body holds, and an inactive patient's status where
  the PUT has no `active` (R4 reads that as active; no write body holds `inactive`). An `active`
  sent other than the patient's, or a death, is a 422 before any PATCH (modifier elements no
  write holds: `mappings.nexhealth.patient`), on create too (a new patient is active). The phones
  sent are compared with the patient as edited too: an implementation may take a phone number
  set as replacing the patient's cell and home numbers, even those sent back. So an edit that
  would only clear is not sent where the PUT sends back a cell or home number other than the
  phone number (what it leaves out is named as kept): nothing sent is lost to clear something
  else. Nor to change something else: an edit changing the birth date or gender sends `bio`
  with the cell and home numbers but without an unchanged phone number one of them holds too
  (`bio` merged, the phone number stays; replaced whole, it is emptied but its number is still
  the patient's), and a phone number the patient holds only as its cell or home number is no
  change to send. Where NexHealth refused those keys and replaced `bio` whole, the phone number
  left out is gone with them: it is sent again. A clear NexHealth refuses as a null (Joi's
  `"patient.bio.city" must be a string`) is not sent so again, and named as kept. An edit
  refused for a field a create requires that it left out (the create's validation reused) is
  sent whole from then on (`_edit_whole`). A write's answer without `bio` (a relation the
  answer does not load) is no patient to serve: it is read again. Nor is it said which
  location's patients an edit reaches: one may find only those of its `location_id`, as a read
  may, while a tenant not `location_strict` reads the institution's. An edit of a patient whose
  `location_ids` do not hold the tenant's is sent at the patient's own location; where
  NexHealth names none and refuses the edit (404, 403), the client is told why (409).
- A write NexHealth answered with a 2xx is made, whatever reading it back then meets (a 429:
  its limits are per key, and whatever else uses the key may take the rest of the minute; a
  5xx, a timeout). A create is then answered 201 with what was sent under its new id, without a
  version and saying so, not "retry later" (FHIR's create is not idempotent: sent again, it met
  the duplicate guard); one whose answer named no id, which cannot be looked up now, is a 502
  saying it was made. So is an edit sent in a shape this tenant's edits were seen applied in;
  in another (a 200 may have ignored it all) the client is told to read the patient first.
- Patient create: "Creating a New Patient" lists the required fields (names, email, phone,
  date of birth, gender), not the body. `{"provider": ..., "patient": {..., "bio": {...}}}` is
  sent first, then the patient fields at the top level, then those and `bio`'s too (no `bio`
  object; tried next at once when a refusal names `date_of_birth` or `phone_number` without
  `bio.`). A refused create made no patient, so sending another shape is safe; the shape taken
  is remembered for the tenant. `subdomain` and `location_id` go in the query, as for a
  search; a refusal naming one (an implementation reading a create's `location_id` from its
  body alone) sends the write again with them in the body too, as later writes then are.
  Nor are gender's values given: a write is sent in the spelling NexHealth serves, then the
  others (`mappings.nexhealth.patient`); where it serves none yet (a new office), a spelling
  it fails on with a 500 (a Rails enum) is tried in the next too (`_write`). A refusal listing
  the values taken ("must be one of M, F, O", "Input should be 'M', 'F' or 'O'") is read: the
  spelling listed is sent next, and where none of the gateway's is listed no other is sent (the
  client is told NexHealth's list). Nor is a `provider` named among a create's fields: one
  refused as a key NexHealth does not take is left out of that create and the tenant's later ones.
- The list's flags: getting-started's request sends `new_patient=false` (and the patients page
  advises `inactive` and `non_patient` false): an implementation may filter by those values when
  a search sends none. Tried once for the tenant (`_flags_filtering`); each flag it filters by so
  is asked both ways, one list after the other (no total then), and so is the list a patient is
  read from where there is no single-patient read. Nor is `true` said to keep only those: one
  whose `true` answer holds patients without it includes them (`_learn_true_includes`), and is
  asked `true` alone, a list of everyone; `active=false` then has no total.
- `cancelled` on `/appointments`: "include cancelled" or "only cancelled"? Every window is
  asked with `cancelled=true` AND `cancelled=false`, the answers merged, de-duplicated by
  appointment id and ordered by start time then id, which is right under both readings
  (and under "false means no filter"). Once a `cancelled=true` answer holds a
  non-cancelled appointment, the vendor has shown it reads "include": later windows of this
  tenant ask `cancelled=true` only (half the calls).
- `/appointments` itself is not in the docs (appointments show only as a patient's
  `upcoming_appts`): an implementation may lack it and answer its 404 envelope, which reads as
  "no appointments", or its web server's page (Express's "Cannot GET /appointments"), while
  the patient routes answer. Until `/appointments` has once answered as there, an Encounter search or
  read finding nothing asks the location's appointments of every patient and date; a 404 there
  too makes the searchset say NexHealth may not offer appointments (no total), and a read's 404
  say so.
- `/appointments` needs `start` and `end`; how far apart they may be is not said, nor is
  there a "no more" signal beyond a window. Explicit `date` bounds are sent as they are,
  however far, but an upper bound past bookable dates (below) is searched as an open search
  (the gateway finishes the filter): a calendar ending between them is no error. Without a
  lower bound the window starts at `EARLIEST` (1900-01-01: no practice system holds visits
  before it). Without an upper bound there is no horizon:
  one window to the end of the calendar (`LATEST`, 9999-12-31) is asked first; only if
  NexHealth refuses that (remembered for the tenant's later walks), or fails on it (a 5xx or
  a timeout, as from an implementation whose calendar overflows past that date: remembered
  for `FAILED_CALENDAR_SECONDS`; either only once a window is answered, as a vendor that is
  merely down fails those too), the first window reaches `FIRST_AHEAD` past today (or past
  the lower bound), then windows of `STEP`, each
  `GROWTH` times longer than the last, cover the calendar to its end: five windows, asked
  concurrently (one round trip). Growing windows keep each request of a plausible length
  should NexHealth limit it. A window NexHealth refuses (400: a date it will not take) or
  fails on ends the walk there, and the searchset says so (a warning: it may be incomplete,
  no total), unless the window starts `mappings.bookable.BOOKABLE` (50 years) or more past
  today, whatever the lower bound, and an earlier window of the walk was answered (a vendor
  answering nothing may be down): no practice books a visit that far ahead, so a calendar
  ending there (a vendor refusing dates past 2100, or failing on them) is its end, not a
  gap. The walk's
  windows meet at that point, so that a calendar ending after it costs no warning. (Taken
  for a gap, it would refuse every patient's CCD: a document is never served incomplete.)
- An appointment's `provider_name` shows in the docs only in a patient's `upcoming_appts`: one
  carrying `provider_id` alone is named from `/providers` (`provider_names.py`), so that its
  Encounter keeps its performer.
- Windows are inclusive at both ends (as `start`/`end` read); an appointment starting
  exactly on the boundary of two walked windows is kept by the later one only.
- Paging: `count` is the total of the query (getting-started: 35 over one patient) or, as
  the patients page may be read (`"count": 2` under its list), the records of the answer.
  The two agree only when the whole result is in one answer, so a `count` equal to the
  answer's records is no total until NexHealth has once sent one that differed (`_total`).
  Nor is it said whether `page` counts from 1 or from 0: a first page is asked without
  `page`; the second as `page=1`, which is it when pages count from 0 (none of the first
  page's records), or the first again (then `page=2` is asked); the numbering is remembered
  once an answer shows it (`_second_page`). A window is read to the end of its pages
  whatever `per_page` the vendor actually applied: to the total, to an empty page, or to
  a page of nothing new (a vendor ignoring `page`, or answering a page past the end with the
  last page again, cannot loop us). Patient pages without a total go on while a page holds
  records; a page whose first patient is the previous page's first is the last page again,
  and ends the search. `per_page` has no documented bound or default: a first patient page
  shorter than asked while the total says there are more shows the size NexHealth pages by
  (a cap, or `per_page` ignored), and the walk counts its pages by that size. Nor is an order
  given: a list newest first is pushed down by each patient created while a client pages, and
  a page beginning with the end of the page before serves only what that one did not.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from gateway.concurrently import concurrently
from gateway.contract import (
    AdapterConfig,
    Resource,
    ResourceProvider,
    SearchRequest,
    VendorPage,
    Written,
    by_type,
    create_condition,
)
from gateway.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    NotSupported,
    PreconditionFailed,
    Throttled,
    TooCostly,
    Unprocessable,
    UpstreamError,
    UpstreamSecurity,
    UpstreamTimeout,
    UpstreamUnusable,
    VendorUnavailable,
    WriteUnconfirmed,
)
from gateway.search import planning as q
from gateway.search.model import SearchQuery, TokenValue
from gateway.upstream.tentative import tentative
from mappings.bookable import bookable_end
from mappings.fhirjson import ZERO_YEAR, fhir_date, unversioned
from mappings.ids import is_int_id
from mappings.nexhealth.capabilities import ENCOUNTER, PATIENT
from mappings.nexhealth.client import Duplicate, Envelope, NexHealthClient, NoRoute, VendorFailed
from mappings.nexhealth.conditions import unmet_terms, unselectable_condition
from mappings.nexhealth.encounter import appointment_moment, appointment_zone, encounter_to_fhir
from mappings.nexhealth.options import NexHealthOptions
from mappings.nexhealth.patient import (
    GENDER_FROM_VENDOR,
    GENDER_SPELLINGS,
    OTHER_PHONE_FIELDS,
    GenderAt,
    as_created,
    as_edited,
    birth_date,
    gender_at,
    gender_of,
    kept_left_out,
    left_out,
    listed_spelling,
    national_phone,
    patient_from_fhir,
    patient_to_fhir,
    served_spelling,
    unkept_elements,
    with_gender_at,
    with_gender_spelling,
)
from mappings.nexhealth.provider_names import ProviderNames
from mappings.nexhealth.query_flags import flag as flag_param
from mappings.nexhealth.query_flags import strictness
from mappings.nexhealth.refusals import listed_values, names_unknown_key, parts, unknown_keys
from mappings.nexhealth.shapes import (
    Unreadable,
    UnreadableRecord,
    UnreadableShape,
    VendorAppointment,
    VendorPatient,
    VendorProvider,
    holds_no_record,
    listed,
    read_many,
    read_one,
    single,
)
from mappings.plain import plain

log = logging.getLogger("mappings.nexhealth")
MAX_PAGE_SIZE = 100
# Where NexHealth has no `GET /patients/{id}`, a read lists the institution: pages asked at most,
# within the core's 50 vendor requests per FHIR request (a page's second request and the probe
# telling the missing route from a missing patient, and the probe of unsent flags, included),
# and the size asked for each.
MAX_LOOKUP_PAGES = 36
LOOKUP_PAGE_SIZE = 1000
MAX_MEMBERSHIP_PAGES = 5  # pages of one term read to find a patient at the location (500 patients)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
FAILED_CALENDAR_SECONDS = 600.0  # how long a whole-calendar window that failed (not refused) is not asked
FIRST_AHEAD = timedelta(days=2 * 366)  # the first window of an open search: to this far past today
STEP = timedelta(days=4 * 366)  # the window after the first: this long, each next GROWTH times longer
GROWTH = 16
EMAIL_PROBE_SECONDS = 600.0  # how long an email search is not preceded by a probe that found no one to try
# What a read may meet that says nothing of the record read: NexHealth throttling (its limits are
# per API key, getting-started: whatever else uses the key may take the rest of the minute
# between a write and its read-back), failing, slow, or its breaker open. After a write NexHealth
# answered with a 2xx, such a failure of the read-back is no failure of the write: answered as
# one ("retry later"), the client would send a create again (FHIR's create is not idempotent).
_NOT_READ_NOW = (Throttled, UpstreamError, UpstreamTimeout, VendorUnavailable)
_NOT_READ_BACK = (
    "The patient was {done}, but reading it back from NexHealth failed for now (HTTP {status}): the "
    "resource answered is what was sent, and may differ from a later read"
)
NOT_INSERTED = "nex"  # `foreign_id_type` of a patient not yet in the practice system (nexhealth-patients.txt)

# A list answered with a 404 that is not the API's (no envelope): read as "no one", every search
# would be an empty searchset with a total of 0 while the records are there.
_NO_LIST_ROUTE = (
    "NexHealth answered its {what} list with a 404 page that is not its API's answer (no envelope): "
    "the tenant's address may be wrong, or something in front of NexHealth answered"
)

# The docs show appointments only as a patient's `upcoming_appts`, never an `/appointments`
# route: an implementation of the documented routes alone answers it as any unknown path, which
# may be the API's own 404 envelope, the answer it gives a list of no one. Read as "no one",
# every Encounter search was an empty searchset with a total of 0 while the patient had visits.
_NO_APPOINTMENTS = (
    "NexHealth answered 'not found' for the location's appointments of every patient and date: it may "
    "not offer appointments (no /appointments route), so the patient's encounters could not be listed"
)

# A subdomain or location NexHealth does not know is answered with its own (enveloped) 404:
# "Location not found", or a generic "record not found" (an implementation looking the
# institution up as it looks a patient up); or, for a location, lists of no one (one filtering
# by `location_id` without looking it up). Read as "no one", every search of the tenant was an
# empty searchset and every read a "does not exist" while the practice's records were there.
_UNKNOWN_SCOPE = (
    "NexHealth lists no patient at the tenant's subdomain and location_id: it does not know them "
    "(check the tenant's subdomain and location_id options), or the location has no patients"
)
# A location whose whole list is an answer of no one (not a 404) may be one NexHealth does not
# look up, or a practice with no patient yet (a new office): the docs have no way to tell them
# apart (no location lookup). The empty answer is served, saying so: a 502 would leave such a
# practice unable to search, or to create its first patient under If-None-Exist.
_NO_ONE_AT_SCOPE = (
    "NexHealth lists no patient at all at the tenant's subdomain and location_id: if the practice "
    "has patients, check the tenant's subdomain and location_id options"
)

# A patient write's body: the create body's `{"patient": {...}}`, the patient fields at the top
# level, or those and `bio`'s too (the docs list a create's required fields without nesting any).
# An edit may also be sent as "flat_and_fully_flat": the flat body with `bio`'s fields beside
# the names as well, which an implementation of either flat shape that ignores unknown keys
# applies whole, and one refusing unknown keys refuses whole (see `_edit_shapes`).
BodyShape = Literal["nested", "flat", "fully_flat", "flat_and_fully_flat"]
_BODY_SHAPES: tuple[BodyShape, ...] = ("nested", "flat", "fully_flat")  # in the order first tried
# The shapes an implementation of the other flat shape ignoring unknown keys applies in part:
# a flat body's names without its `bio`, a fully flat body's names without `bio`'s fields.
_PARTLY_APPLIED: tuple[BodyShape, ...] = ("flat", "fully_flat")
Found = tuple[list[dict[str, Any]], list[Unreadable]]
"""Appointments that could be read, and those that could not."""


class NexHealthAdapter:
    def __init__(self, config: AdapterConfig[NexHealthOptions]) -> None:
        self.client = NexHealthClient(config)
        self._ctx = config.context
        self._drift = config.drift
        self._provider_id = config.options.provider_id
        self._no_provider_list = False  # NexHealth answered /providers with a 404: not asked again
        # Whether NexHealth has shown `cancelled=true` to mean "include cancelled" (a
        # non-cancelled appointment in such an answer); until then both values are asked.
        self._cancelled_includes = False
        # Whether NexHealth refused a window to the end of the calendar (then it always will).
        self._whole_calendar_refused_until = 0.0  # monotonic: until then, open walks go by windows
        self._calendar_end_said = False  # logged once: every open walk meets it again
        # The PATCH and POST body shapes this vendor has taken (None: not learned yet; nested is
        # tried first), and the spelling of a gender it took (an index of GENDER_SPELLINGS).
        self._patch_shape: BodyShape | None = None
        self._create_shape: BodyShape | None = None
        # The methods (POST, PATCH) whose bodies NexHealth has refused for a key it does not take
        # (see `_after_unknown_keys`), and whether it refused a create's `provider` so.
        self._refuses_unknown_keys: set[str] = set()
        self._provider_refused = False
        # The PATCH shape NexHealth has applied a change of `bio`'s fields in (None: none yet).
        # A shape learned from an edit of the names alone may drop them: see `_edit_shapes`.
        self._bio_patch_shape: BodyShape | None = None
        # The scope parameters a write of each method (POST, PATCH) carries in its body too,
        # as NexHealth wanted them there (absent: not wanted yet; see `_send_write`).
        self._scope_in_body: dict[str, dict[str, str | int]] = {}
        self._gender_spelling: int | None = None
        # Where a write's gender goes, `bio` or beside it, as NexHealth took it (None: not yet).
        self._gender_at: GenderAt | None = None
        # The spelling of gender NexHealth has been seen serving (an index of GENDER_SPELLINGS),
        # tried first by writes; whether NexHealth has answered the page a write listed to see
        # it; and the lock that makes concurrent first writes wait for that one page.
        self._served_spelling: int | None = None
        self._served_gender_at: GenderAt | None = None  # where that gender was: tried first too
        self._spelling_looked_up = False
        self._spelling_lock = asyncio.Lock()
        # Whether NexHealth's `count` has shown itself a total (it once differed from the records
        # of its answer), and what its first page is numbered (None: not seen yet).
        self._count_is_total = False
        self._page_base: int | None = None
        # Whether NexHealth's `email` search ignores case (None: not tried yet; see "Where the
        # docs are silent"): a vendor comparing emails exactly is not asked by email.
        self._email_folds: bool | None = None
        self._email_probe_after = 0.0  # monotonic: no patient to try it with, not tried again until then
        # Whether NexHealth's `date_of_birth` search finds a patient by the day its birth date is
        # (None: not tried yet; see `_birth_search_finds`): one that does not is not asked by it.
        self._birth_day_found: bool | None = None
        self._birth_probe_after = 0.0  # monotonic: as `_email_probe_after`
        # Whether NexHealth has listed a patient of the tenant's subdomain and location (then a
        # 404 or an empty list is the API's "no one" or "no such patient", not a scope it does
        # not know). A read does not tell: it may be served whatever the location.
        self._scope_known = False
        self._scope_answers = False  # whether the provider list answered at the scope (`_scope_answered`)
        # Whether `/appointments` has answered as a route that is there (a list, or a refusal of
        # what was asked), and until when (monotonic) one taken as absent is not asked again.
        self._appointments_seen = False
        self._appointments_absent_until = 0.0
        # Whether NexHealth has `GET /patients/{id}` (None: not known yet; False: patients are
        # read from the list, see `_listed_patient`).
        self._show_route: bool | None = None
        # Whether that read finds only its `location_id`'s patients (None: not known yet; see
        # `_show_scoped`), and until when (monotonic) a probe that found no one elsewhere is not sent again.
        self._show_scoped_to_location: bool | None = None
        self._show_scope_probe_after = 0.0
        # The flags NexHealth filters by as `false` when a search does not send them (None: not
        # tried yet; see `_flags_filtering`).
        self._unsent_flags: tuple[str, ...] | None = None
        # The flags whose `true` NexHealth has shown to list the patients without them too
        # ("include", as `cancelled=true` may): see `_learn_true_includes`.
        self._true_includes: set[str] = set()
        # `bio`'s keys (beyond those a write sets) NexHealth refused in an edit sent with `bio`
        # whole, and whether an edit re-sending the patient's unchanged phone was a duplicate
        # of the patient itself (see `_edit_body`).
        self._bio_keys_refused: set[str] = set()
        self._edit_meets_itself = False
        # `bio`'s keys NexHealth refused a null for (a Joi `Joi.string()` without `.allow(null)`):
        # what an update leaves out of them is not cleared by a null, but named as kept.
        self._bio_nulls_refused: set[str] = set()
        # Whether NexHealth wants every field a create requires in an edit too (its create's
        # validation reused for PATCH): then an edit is sent whole, not only what changes it.
        self._edit_whole = False
        self._provider_names = ProviderNames(self._provider_pages, config.drift)
        self._providers = by_type(
            ResourceProvider(
                PATIENT,
                self._read_patient,
                self._search_patients,
                create=self._create_patient,
                update=self._update_patient,
                max_page_size=MAX_PAGE_SIZE,
            ),
            ResourceProvider(ENCOUNTER, self._read_encounter, self._search_encounters, max_page_size=MAX_PAGE_SIZE),
        )

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        return self._providers

    @property
    def _strictness(self) -> dict[str, str]:
        """The tenant's `location_strict`, as its lists send it (`query_flags`)."""
        return strictness(self.client.location_strict)

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- reading NexHealth's answers ----------------------------------------------------------

    def _one_patient(self, data: Any, patient_id: str) -> dict[str, Any]:
        """The patient of a single-patient answer; 502 naming the field when it cannot be read."""
        try:
            patient = plain(read_one(VendorPatient, single(data, "patient", "patients"), "patient", self._drift))
        except (UnreadableShape, UnreadableRecord) as exc:
            raise UpstreamUnusable(f"Patient/{patient_id} could not be read: {exc}") from None
        self._see_genders([patient])
        return patient

    def _patients(self, data: Any) -> tuple[list[dict[str, Any]], tuple[str, ...], int]:
        """The patients of a list answer that can be read, a warning for each that cannot, and
        how many records the page held."""
        try:
            raw = listed(data, "patients")
        except UnreadableShape as exc:
            raise UpstreamUnusable(f"NexHealth's patient list could not be read: {exc}") from None
        found, problems = read_many(VendorPatient, raw, "patient", self._drift)
        if raw:
            self._scope_known = True
        patients = [plain(p) for p in found]
        self._see_genders(patients)
        return patients, tuple(u.describe("Patient") for u in problems), len(raw)

    def _see_genders(self, patients: Sequence[dict[str, Any]]) -> None:
        """Remember the spelling of the gender NexHealth serves, and where it serves it (`bio`, or
        beside it), once a patient shows them: what its writes are most likely to take (see
        `_spellings`, `_placements`)."""
        if self._served_spelling is not None:
            return
        for patient in patients:
            spelling = served_spelling(gender_of(patient))
            if spelling is not None:
                self._served_spelling = spelling
                self._served_gender_at = gender_at(patient)
                return

    async def _check_scope(self) -> str | None:
        """After an answer of no one (a 404 from the API itself, an empty list): raise when it is
        NexHealth not knowing the tenant's subdomain or location (see `_UNKNOWN_SCOPE`). Until a
        patient of the scope has been listed, the location's whole list is asked for one
        patient: a 404 there too is the scope. An empty list there is what the answer of no one
        must say (`_NO_ONE_AT_SCOPE`, returned): an unknown location or a practice with no
        patient yet. Once one is listed, never asked again."""
        if self._scope_known:
            return None
        try:
            envelope = await self.client.request("GET", "/patients", params={"per_page": 1, **self._strictness})
        except NoRoute:
            if await self._scope_answered():
                return _NO_ONE_AT_SCOPE  # the API's bodiless 404 of no one, at a practice with none yet
            raise UpstreamUnusable(_NO_LIST_ROUTE.format(what="patient")) from None
        except NotFound:
            raise UpstreamUnusable(_UNKNOWN_SCOPE) from None
        if not _raw_ids(envelope, "patients"):
            return _NO_ONE_AT_SCOPE
        self._scope_known = True
        return None

    async def _scope_answered(self) -> bool:
        """Whether NexHealth's API answers at the tenant's subdomain and location, its patient
        list never having answered but with a 404 without its envelope: a list of no one written
        so (Spring's `ResponseEntity.notFound().build()`, Go's `w.WriteHeader(404)`) at a practice
        with no patient yet, or a web server's page for a path with nothing behind it. The
        provider list of the same subdomain and location answered with the envelope tells: the
        API is there and takes them, so the patient list's 404 is its "no one". Not where it
        does not answer so (no `/providers`, none listed, refused): a 404 page stays one.
        Remembered once it answers."""
        if self._scope_answers:
            return True
        try:
            await self.client.request("GET", "/providers", params={"per_page": 1})
        except (NotFound, InvalidRequest, UpstreamError, UpstreamTimeout, UpstreamSecurity):
            return False
        self._scope_answers = True
        log.info("NexHealth answers its provider list where the patient list is a bare 404: no patient yet")
        return True

    def _appointment_list(self, data: Any) -> Found:
        try:
            raw = listed(data, "appointments")
        except UnreadableShape as exc:
            raise UpstreamUnusable(f"NexHealth's appointment list could not be read: {exc}") from None
        found, problems = read_many(VendorAppointment, raw, "appointment", self._drift)
        return [plain(a) for a in found], problems

    def _total(self, envelope: Envelope, held: int) -> int | None:
        """`count` as the total of the query, when it can be one. The getting-started example
        reads as a total (35 over one patient); the patients page prints `"count": 2` under its
        list, as the number of records in the answer. Those agree only when the whole result is
        in this answer, so a `count` equal to `held` is no total until NexHealth has once sent a
        `count` that differed from its answer's records (then it always means the total)."""
        count = envelope.count
        if count is not None and count != held:
            self._count_is_total = True
        return count if self._count_is_total or count != held else None

    async def _second_page(
        self,
        ask: Callable[[dict[str, str | int]], Awaitable[Envelope | None]],
        params: dict[str, str | int],
        plural: str,
        first_page: Sequence[str],
    ) -> tuple[Envelope | None, int]:
        """The second page of a list whose first page (asked without `page`) held the records
        `first_page` (its ids in order, or a sample of them beginning with the first), and the
        `page` it was asked as. The docs never say whether pages are numbered from 1 or 0:
        `page=1` is the second page (numbered from 0), or the first again (numbered from 1:
        then `page=2` is asked). Records added or removed between the two calls shift what
        `page=1` holds, so the numbering is learned for the tenant only from an answer no shift
        explains, and a learned 0 that an answer contradicts is forgotten."""
        known = [i for i in first_page if i]
        if not known or self._page_base == 1:  # (no id to tell the pages apart: from 1)
            second = 2 if self._page_base is None else self._page_base + 1
            return await ask({**params, "page": second}), second
        answer = await ask({**params, "page": 1})
        ids = set(_raw_ids(answer, plural))
        if not ids:
            return answer, 1  # nothing: there is no second page either way
        repeated = ids.intersection(known)
        # The first page again, perhaps without a record removed since: its first record, or
        # (one removed) most of those known. A record or two of the first page seen again on
        # the second is a shift (records added before them), not the first page again.
        again = known[0] in ids or (len(known) >= 3 and 2 * len(repeated) >= len(known))
        if not again:
            if not repeated and len(known) >= 2 and self._page_base is None:
                self._page_base = 0  # none of the first page's records: numbered from 0
            return answer, 1
        if self._page_base == 0:
            self._page_base = None  # contradicted: not known after all
        answer = await ask({**params, "page": 2})
        ids = set(_raw_ids(answer, plural))
        if known[0] in repeated and ids and known[0] not in ids and self._page_base is None:
            self._page_base = 1  # the first page again at `page=1`, new records at `page=2`
        return answer, 2

    async def _pages(
        self,
        ask: Callable[[dict[str, str | int]], Awaitable[Envelope | None]],
        params: dict[str, str | int],
        plural: str,
    ) -> AsyncIterator[Envelope | None]:
        """The pages of one list in order, however NexHealth numbers them: the first without
        `page`, the second by `_second_page`, then on. The caller stops at the end (a `None`,
        NexHealth's 404 for no records, is always the last)."""
        answer = await ask(params)
        yield answer
        ids = _raw_ids(answer, plural)
        if not ids:
            return
        answer, page = await self._second_page(ask, params, plural, ids)
        while True:
            yield answer
            if answer is None:
                return
            page += 1
            answer = await ask({**params, "page": page})

    # -- read ---------------------------------------------------------------------------------

    async def _read_patient(self, resource_id: str) -> Resource:
        return patient_to_fhir(await self._patient(resource_id), self._ctx)

    async def _patient(self, patient_id: str) -> dict[str, Any]:
        if not is_int_id(patient_id):
            raise NotFound(f"Patient/{patient_id} does not exist")
        if self._show_route is False:
            patient = await self._listed_patient(patient_id)
        else:
            try:
                envelope = await self._show(patient_id)
            except NotFound:
                # A web server's page (`NoRoute`) for a read that has never answered is its route
                # missing, but once it has answered, a bare 404 is the API's "no one" (Spring's
                # `ResponseEntity.notFound().build()` has no body): told apart as the API's 404 is.
                if self._show_route is None and await self._show_route_absent(patient_id):
                    patient = await self._listed_patient(patient_id)
                elif not self.client.location_strict and await self._show_scoped():
                    patient = await self._listed_patient(patient_id)  # perhaps of another location
                else:
                    raise NotFound(_said(f"Patient/{patient_id} does not exist", await self._check_scope())) from None
            except UpstreamSecurity:
                # A 403 refused to a fresh token too (gateway.upstream.tokens): the credentials', or
                # the read's own, as a read scoped to its location refuses a patient of another (a
                # Pundit policy's 403). The institution's list tells them apart: refused as well
                # where the credentials are, it holds the patient where only the read was refused.
                self._show_route = True
                patient = await self._listed_patient(patient_id)
            else:
                self._show_route = True
                patient = self._one_patient(envelope.data, patient_id)
        if self.client.location_strict and not await self._at_this_location(patient):
            raise NotFound(f"Patient/{patient_id} does not exist")  # not at this tenant's location
        return patient

    async def _show(self, patient_id: str) -> Envelope:
        """`GET /patients/{id}`; `NotFound` where NexHealth answers it with no patient: `data`
        null or `{"patient": null}`, as an implementation sends what its lookup resolved for no
        record (Mongoose's `findById`, Sequelize's `findByPk`, Rails' `find_by`). The docs show
        no single-record answer: read as a patient, every read of no one was a 502."""
        envelope = await self.client.request("GET", f"/patients/{patient_id}")
        if holds_no_record(envelope.data, "patient", "patients"):
            raise NotFound(f"Patient/{patient_id} does not exist")
        return envelope

    async def _show_route_absent(self, patient_id: str) -> bool:
        """Whether NexHealth's 404 for `patient_id`'s read was its answer for a route it lacks
        (the docs document `GET /patients` but no `GET /patients/{id}`), not "no such patient":
        the read of a patient its list has just shown is a 404 too. Learned for the tenant."""
        envelope = await self._patient_list({"per_page": 1, **self._strictness})
        ids = _raw_ids(envelope, "patients")
        if not ids:
            return False  # no one listed: nothing to tell them apart with (`_check_scope` says more)
        if ids[0] == patient_id:
            self._show_route = False  # listed, yet "not found" when read
            return True
        try:
            await self._show(ids[0])
        except UpstreamSecurity:  # refused (another location's?): the route is there
            self._show_route = True
            return False
        except NotFound:
            self._show_route = False
            log.info("NexHealth has no single-patient read (GET /patients/{id}): patients are read from its list")
            return True
        self._show_route = True
        return False

    async def _show_scoped(self) -> bool:
        """Whether NexHealth's `GET /patients/{id}` finds only the patients of the `location_id`
        it is sent, while the tenant's lists (not `location_strict`) hold the institution's: the
        docs say a search "is always performed in the context of a location" and document no
        single-patient read, which may be scoped so (Rails' `current_location.patients.find`).
        Then a patient of another location, listed by every search, was a 404 to read, update or
        `$everything`. Learned by reading a listed patient of another location: a 404 says so.
        A probe finding no such patient among the institution's first page is not sent again
        for `EMAIL_PROBE_SECONDS`."""
        if self._show_scoped_to_location is not None:
            return self._show_scoped_to_location
        if time.monotonic() < self._show_scope_probe_after:
            return False
        other = await self._listed_elsewhere()
        if other is None:
            self._show_scope_probe_after = time.monotonic() + EMAIL_PROBE_SECONDS
            return False
        try:
            await self._show(other)
        except (NotFound, UpstreamSecurity):  # "no one", or 403: not this location's to show
            self._show_scoped_to_location = True
            log.info("NexHealth reads one patient only at its location_id: others are read from the list")
        else:
            self._show_scoped_to_location = False
        return self._show_scoped_to_location

    async def _listed_elsewhere(self) -> str | None:
        """The id of a patient the institution's list holds at another location than the
        tenant's, if its first page has one: by its `location_ids`, or, where NexHealth shows
        none, one the location's own strict list does not hold (`_at_this_location`)."""
        here = int(self.client.location_id)
        listed = await self._patient_list({"per_page": MAX_PAGE_SIZE, **strictness(False)})
        patients = self._patients(listed.data)[0] if listed is not None else []
        shown = [p for p in patients if p.get("location_ids") is not None]
        if shown:
            return next((str(p["id"]) for p in shown if here not in p["location_ids"]), None)
        strict = await self._patient_list({"per_page": MAX_PAGE_SIZE, **strictness(True)})
        at_here = set(_raw_ids(strict, "patients"))
        for patient in [p for p in patients if str(p["id"]) not in at_here][:1]:  # (a probe: few calls)
            if not await self._at_this_location(patient):
                return str(patient["id"])
        return None

    async def _listed_patient(self, patient_id: str) -> dict[str, Any]:
        """`patient_id`'s patient read from the list of the whole institution (as a read is served
        whatever the location), where NexHealth has no `GET /patients/{id}`. The documented
        search parameters (name, email, phone) cannot name a patient by id, so the list is read
        page by page, at most `MAX_LOOKUP_PAGES`: a patient not found within them is said so
        (too costly), not "does not exist", unless the list ended first."""
        page, seen = 0, 0
        # Each list NexHealth's unsent flags leave apart (`_flags_filtering`), in turn.
        for flags in _flag_lists(await self._flags_filtering(), self._true_includes):
            params: dict[str, str | int] = {"per_page": LOOKUP_PAGE_SIZE, **strictness(False), **flags}
            first, listed_here = None, 0
            async for envelope in self._pages(self._patient_list, params, "patients"):
                page += 1
                if envelope is None:
                    break
                ids = _raw_ids(envelope, "patients")
                if patient_id in ids:
                    return self._one_patient([_record(envelope.data, patient_id)], patient_id)
                if not ids or ids[0] == first:  # the end, or a page past it answered with the last again
                    break
                first = ids[0]
                seen += len(ids)
                listed_here += len(ids)
                total = self._total(envelope, len(ids))
                if total is not None and listed_here >= total:
                    break
                if page >= MAX_LOOKUP_PAGES:
                    raise TooCostly(
                        f"NexHealth offers no read of one patient (no GET /patients/{{id}}), and Patient/{patient_id} "
                        f"was not among the first {seen} patients of its list: reading further would take more "
                        "vendor requests than one request may send. Search for the patient by name, email or phone."
                    )
        raise NotFound(_said(f"Patient/{patient_id} does not exist", await self._check_scope()))

    async def _at_this_location(self, patient: dict[str, Any]) -> bool:
        """Whether `patient` is at this tenant's location: its `location_ids` say so, or, where
        NexHealth gives none (neither of the docs' patient shapes has them), the location's own
        strict list finds it under a value every reading matches whole (its chart number, email
        or birth date); a patient none of them finds is taken as elsewhere."""
        if patient.get("location_ids") is not None:
            return int(self.client.location_id) in patient["location_ids"]
        bio = patient.get("bio") or {}
        terms = [("foreign_id", patient.get("foreign_id")), ("email", patient.get("email"))]
        # As a date, as the docs show it, whatever NexHealth serves (a JavaScript Date's
        # `1964-05-03T00:00:00.000Z`): the list may take only `YYYY-MM-DD`; not where that finds no one.
        if await self._birth_search_finds():
            terms.append(("date_of_birth", birth_date(bio.get("date_of_birth"))))
        wanted = str(patient["id"])
        for name, value in terms:
            if not value:
                continue
            params: dict[str, str | int] = {name: value, **strictness(True), "per_page": MAX_PAGE_SIZE}
            page, seen = 0, 0
            async for envelope in self._pages(self._patient_list, params, "patients"):
                page += 1
                if envelope is None:
                    break
                found, _, held = self._patients(envelope.data)
                if any(str(p["id"]) == wanted for p in found):
                    return True
                seen += held
                total = self._total(envelope, held)
                if held == 0 or page >= MAX_MEMBERSHIP_PAGES or (total is not None and seen >= total):
                    break
        return False

    async def _read_encounter(self, resource_id: str) -> Resource:
        parts = resource_id.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 8:
            raise NotFound(f"Encounter/{resource_id} does not exist")
        try:
            day = datetime.strptime(parts[2], "%Y%m%d").replace(tzinfo=UTC)
        except ValueError:
            raise NotFound(f"Encounter/{resource_id} does not exist") from None
        appointments, problems = await self._window(parts[0], day - timedelta(days=1), day + timedelta(days=2))
        for encounter in self._encounters(parts[0], appointments):
            if encounter["id"] == resource_id:
                return encounter
        for problem in problems:
            if problem.record_id == str(int(parts[1])):
                raise UpstreamUnusable(f"Encounter/{resource_id}: {problem.describe('NexHealth appointment')}")
        said = await self._check_scope() or await self._appointments_missing()
        raise NotFound(_said(f"Encounter/{resource_id} does not exist", said))

    # -- search -------------------------------------------------------------------------------

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        by_id = _our_ids(query, self._ctx.system("patient-id"))
        if by_id is not None:
            found = await q.read_each(lambda i: self._read_patient(i), by_id)
            single_id = q.only(query, "identifier") and len(query.named("identifier")) == 1
            return VendorPage(found, None, total=len(found) if single_id else None)
        asked = {"inactive"} if q.single_token(query, "active") == "false" else set()
        unsent = [flag for flag in await self._flags_filtering() if flag not in asked]
        lists = _flag_lists(unsent, self._true_includes)
        if len(lists) == 1:  # (a flag whose `true` includes everyone is one list: that one)
            return await self._search_patients_with(request, lists[0], first_list=True)
        # One list for each value of each flag NexHealth filters by when it is not sent (see
        # `_flags_filtering`), walked one after the other: the position names the list.
        index_text, _, inner = str(request.position or "0~").partition("~")
        index = int(index_text) if index_text.isdigit() and int(index_text) < len(lists) else 0
        page = await self._search_patients_with(
            replace(request, position=inner or None), lists[index], first_list=index == 0
        )
        if page.next is not None:
            following: str | None = f"{index}~{page.next}"
        else:
            following = f"{index + 1}~" if index + 1 < len(lists) else None
        return replace(page, next=following, total=None)

    async def _flags_filtering(self) -> tuple[str, ...]:
        """The flags (`new_patient`, `inactive`, `non_patient`) NexHealth filters by as `false`
        when a search does not send them. The getting-started request sends `new_patient=false`
        and the patients page advises `inactive` and `non_patient` false: an implementation may
        take those as the defaults (a FastAPI `new_patient: bool = False`), and a search sending
        none of them silently missed every patient created through the API (new until booked),
        If-None-Exist creating them again. Tried once for the tenant: a flag true of a patient the
        list shows unasked is not filtered by; else a patient listed with it true is looked for
        by its email without it. A flag whose `true` lists patients without it too (the patients
        page's "set ... to false ... to filter out" read as a switch filtering when false only:
        `_learn_true_includes`) is returned as well: its `true` alone lists everyone, whatever
        its absence filters (`_flag_lists`)."""
        if self._unsent_flags is not None:
            return self._unsent_flags
        strict = self._strictness
        unfiltered = await self._patient_list({"per_page": MAX_PAGE_SIZE, **strict})
        shown = self._patients(unfiltered.data)[0] if unfiltered is not None else []
        filtering: list[str] = []
        for flag in _FLAGS:
            if any(_flag_of(patient, flag) is True for patient in shown):
                continue  # listed without being asked for: not filtered by
            flagged = await self._patient_list({flag: "true", "per_page": MAX_PAGE_SIZE, **strict})
            listed_true = self._patients(flagged.data)[0] if flagged is not None else []
            if self._learn_true_includes(flag, listed_true):
                filtering.append(flag)  # asked `true`, it lists everyone: the one list to walk
                continue
            sample = [patient for patient in listed_true if _flag_of(patient, flag) is not False][:1]
            if not sample:
                continue  # no such patient to miss (or the flag is refused, and so not filtered by)
            email = sample[0].get("email")
            found: list[dict[str, Any]] = []
            if isinstance(email, str) and email:
                by_email: dict[str, str | int] = {"email": email, "per_page": MAX_PAGE_SIZE, **strict}
                answer = await self._patient_list(by_email)
                found = self._patients(answer.data)[0] if answer is not None else []
            if not any(str(p["id"]) == str(sample[0]["id"]) for p in found):
                filtering.append(flag)
        if filtering:
            log.info("NexHealth filters patient lists by %s when not sent: searches ask each value", filtering)
        self._unsent_flags = tuple(filtering)
        return self._unsent_flags

    def _learn_true_includes(self, flag: str, listed_true: Sequence[dict[str, Any]]) -> bool:
        """Whether NexHealth's `flag=true` lists patients without the flag too, as `listed_true`
        (an answer to it) shows or NexHealth showed before: remembered for the tenant. The
        patients page advises `inactive` and `non_patient` false "to filter out patients that
        cannot be booked for", which an implementation may read as a switch that filters when
        false and not when true (a FastAPI `inactive: bool = False` and `if not inactive:`).
        Then `active=false`, sent as `inactive=true`, has no total of its own."""
        if flag not in self._true_includes and any(_flag_of(patient, flag) is False for patient in listed_true):
            log.info("NexHealth lists patients without %s under %s=true: it includes, not filters", flag, flag)
            self._true_includes.add(flag)
        return flag in self._true_includes

    async def _search_patients_with(
        self, request: SearchRequest, flags: Mapping[str, str], *, first_list: bool
    ) -> VendorPage:
        """One page of a patient search, sending `flags` too; `first_list`: the first (or only)
        list of the search, whose first page also reads a bare identifier as a patient id."""
        query = request.query
        bare = _bare_identifier(query)
        if bare is not None and request.position is None:
            return await self._either_identifier(bare, flags, read_id=first_list)
        page, seen, served_size, base = _position(request.position)
        seen_first = seen[0] if seen else None
        page_size = request.page_size if bare is None else MAX_PAGE_SIZE  # as `_either_identifier` asked
        params: dict[str, str | int] = {
            "per_page": page_size,
            **self._strictness,
        }
        narrowing = _most_selective(query, self._ctx.system("chart-number"))
        if narrowing and narrowing[0] == "email" and not await self._email_search_folds():
            narrowing = None  # it would miss `Ada@Example.org` asked as `ada@example.org`: page through
        if narrowing and narrowing[0] == "date_of_birth" and not await self._birth_search_finds():
            narrowing = None  # it would miss every patient born that day: page through
        if bare is not None:  # the later pages of a chart number NexHealth listed more patients for
            narrowing = ("foreign_id", bare)
        if narrowing:
            params[narrowing[0]] = narrowing[1]
        params.update(flags)
        active = q.single_token(query, "active")
        # `active=true` is not sent as `inactive=false`: a patient whose `inactive` is null (never
        # set; served as active) is in neither of NexHealth's `inactive` filters where they
        # compare as SQL does, so `inactive=false` would leave out patients served as active.
        if active == "false" and bare is None:
            params["inactive"] = "true"
        if page == 1:  # without `page`: the first page, however NexHealth numbers its pages
            envelope = await self._patient_list(params)
            base = self._page_base
        elif base is None:  # the second page of a NexHealth whose numbering is not known yet
            envelope, sent = await self._second_page(self._patient_list, params, "patients", seen)
            base = sent - 1
        else:
            envelope = await self._patient_list({**params, "page": page - 1 + base})
        if envelope is None:  # a search of no one answered "not found": nothing matched
            return VendorPage([], None, total=0 if q.only(query, "active") and page == 1 else None)
        if envelope.warnings:
            log.warning("NexHealth ignored a patient search parameter; the gateway filters the wider result")
        patients, unreadable, held = self._patients(envelope.data)
        for flag in (flag for flag in _FLAGS if params.get(flag) == "true"):
            self._learn_true_includes(flag, patients)
        if held == 0 and page == 1:  # no one at all may be a location NexHealth does not know
            unreadable = (*unreadable, *filter(None, [await self._check_scope()]))
        if bare is not None:  # the patient whose id it is was read on the first page
            patients = [p for p in patients if str(p["id"]) != bare]
        ids = _raw_ids(envelope, "patients")
        first = ids[0] if ids else None
        if seen_first is not None and first == seen_first:
            return VendorPage([], None)  # a page past the end answered with the last page again
        patients = _after_served(patients, ids, seen)
        total = self._total(envelope, held)
        # The docs give `per_page` no bound: a first page shorter than asked while `count` says
        # there are more is NexHealth's own page size (a cap, or `per_page` ignored), by which
        # its later pages are numbered too.
        size = served_size or (held if page == 1 and 0 < held < page_size else page_size)
        # Without a total, a page that held records may have a successor; an empty one ends it.
        more = held > 0 and (total is None or page * size < total)
        exact = q.only(query, "active") and active != "true" and not envelope.warnings and not unreadable
        # `active=false` asked as `inactive=true` counts the active patients too where that includes them.
        exact = exact and not (active == "false" and "inactive" in self._true_includes)
        return VendorPage(
            [patient_to_fhir(p, self._ctx) for p in patients],
            f"{page + 1}:{first or ''}:{size}:{'' if base is None else base}:{_sample(ids)}" if more else None,
            total=total if exact else None,
            warnings=unreadable,
        )

    async def _search_encounters(self, request: SearchRequest) -> VendorPage:
        patient_id = q.single_patient(request.query)
        if not patient_id.isdigit():
            return VendorPage([], None, total=0)
        page = await self._encounters_of(request, patient_id)
        if not page.resources:  # no appointment at all may be a location NexHealth does not know
            said = await self._check_scope() or await self._appointments_missing()
            if said is not None:
                return replace(page, total=None, warnings=(*page.warnings, said))
        return page

    async def _appointments_missing(self) -> str | None:
        """After appointment answers of no one: what to say when they may be an `/appointments`
        NexHealth does not have (see `_NO_APPOINTMENTS`). Until `/appointments` has answered as
        there, the location's appointments of every patient and date are asked for one: a 404
        there too is taken as no such route, for `FAILED_CALENDAR_SECONDS`. Its caller has
        checked the patient list first (`_check_scope`), which fails on a web server's 404 page
        there too (a wrong address): with the patients answered, the same page for
        `/appointments` alone is a route NexHealth lacks, and is said as the API's 404 is."""
        if self._appointments_seen:
            return None
        if time.monotonic() < self._appointments_absent_until:
            return _NO_APPOINTMENTS
        now = datetime.now(UTC)
        params: dict[str, str | int] = {
            "start": _instant(EARLIEST),
            "end": _instant(bookable_until(now)),  # a date every calendar takes
            "cancelled": "true",
            "per_page": 1,
        }
        try:
            await self.client.request("GET", "/appointments", params=params)
        except NotFound:  # the API's 404, or the web server's page (Express's "Cannot GET /appointments")
            self._appointments_absent_until = time.monotonic() + FAILED_CALENDAR_SECONDS
            return _NO_APPOINTMENTS
        except InvalidRequest:
            pass  # a refusal of what was asked: the route is there
        self._appointments_seen = True
        return None

    async def _encounters_of(self, request: SearchRequest, patient_id: str) -> VendorPage:
        low, high = q.date_bounds_any(request.query, "date")
        start = _midnight(q.shift(low, -1)) if low else EARLIEST
        if high:  # explicit bounds: one window, however long
            end = _midnight(q.shift(high, 2))
            if end <= start:
                return VendorPage([], None, total=0)
            if end > bookable_until(datetime.now(UTC)):  # as open: the gateway finishes the filter
                return await self._walk(patient_id, start)
            appointments, problems = await self._window(patient_id, start, end)
            return self._encounter_page(patient_id, appointments, problems)
        return await self._walk(patient_id, start)

    def _encounter_page(
        self, patient_id: str, appointments: list[dict[str, Any]], problems: list[Unreadable], *more: str
    ) -> VendorPage:
        warnings = (*dict.fromkeys(p.describe("NexHealth appointment") for p in problems), *more)
        return VendorPage(self._encounters(patient_id, appointments), None, warnings=warnings)

    async def _walk(self, patient_id: str, start: datetime) -> VendorPage:
        """An open-ended search: one window to the end of the calendar; if NexHealth will not
        take that, windows growing towards it (see "Where the docs are silent")."""
        keep_to_windows = 0.0  # how long later walks go straight to windows
        if time.monotonic() >= self._whole_calendar_refused_until:
            try:  # a vendor failing on the far date is not down: those calls are tentative
                whole = await self._window(patient_id, start, LATEST, far=True)
            except InvalidRequest:
                keep_to_windows = math.inf  # refused: it will be again
            except (UpstreamError, UpstreamTimeout):
                keep_to_windows = FAILED_CALENDAR_SECONDS  # failed on the far date, or merely failed
            else:
                return self._encounter_page(patient_id, *whole)
        now = datetime.now(UTC).replace(microsecond=0)
        bounds = open_windows(start, now)
        answers = await concurrently(*(self._refusable(patient_id, low, high) for low, high in bounds))
        if keep_to_windows and any(answer is not None for answer in answers):  # up, so not merely down
            self._whole_calendar_refused_until = time.monotonic() + keep_to_windows
        appointments: list[dict[str, Any]] = []
        problems: list[Unreadable] = []
        for (low, high), answer in zip(bounds, answers, strict=True):
            # The calendar ends past any booking, as the windows answered before this one show
            # (a vendor answering nothing at all may be down: that is no calendar's end).
            if answer is None and low >= bookable_until(now) and low > start:
                if not self._calendar_end_said:
                    self._calendar_end_said = True
                    log.info("NexHealth would not look at appointments after %s: taken as its calendar's end", low.year)
                break
            if answer is None:  # NexHealth would not look there: say so, and stop
                warning = (
                    f"NexHealth refused or failed to look for appointments after {low.date().isoformat()}; "
                    "give a date to search later"
                )
                return self._encounter_page(patient_id, appointments, problems, warning)
            found, unread = answer
            # Windows are inclusive at both ends: the next one keeps what starts at `high`.
            appointments += found if high >= LATEST else [a for a in found if _start_of(a, self._ctx.timezone) < high]
            problems += unread
        return self._encounter_page(patient_id, appointments, problems)

    async def _refusable(self, patient_id: str, start: datetime, end: datetime) -> Found | None:
        """A window of an open search; None when NexHealth refuses it or fails on it, if it
        starts after today (a far window); a window up to today it must answer."""
        if start <= datetime.now(UTC):
            return await self._window(patient_id, start, end)  # a window it must take
        try:
            return await self._window(patient_id, start, end, far=True)
        except (InvalidRequest, UpstreamError, UpstreamTimeout):
            return None

    def _encounters(self, patient_id: str, appointments: list[dict[str, Any]]) -> list[Resource]:
        now = datetime.now(UTC)
        return [encounter_to_fhir(a, self._ctx, now) for a in appointments if str(a["patient_id"]) == patient_id]

    async def _window(self, patient_id: str, start: datetime, end: datetime, *, far: bool = False) -> Found:
        """Every appointment of the patient starting in [start, end], cancelled or not, in the
        vendor's order (start time, then id), whichever way NexHealth reads `cancelled`. `far`:
        a window past today or to the calendar's end, which a vendor may fail on: its calls are
        tentative (gateway.upstream.tentative)."""
        if self._cancelled_includes:
            answers = [await self._appointments(patient_id, start, end, True, far)]
        else:
            answers = list(
                await concurrently(
                    self._appointments(patient_id, start, end, True, far),
                    self._appointments(patient_id, start, end, False, far),
                )
            )
            if any(a.get("cancelled") is False for a in answers[0][0]):
                self._cancelled_includes = True
        merged: dict[str, dict[str, Any]] = {}
        problems: dict[tuple[str | None, str], Unreadable] = {}
        for found, unread in answers:
            for appointment in found:
                merged.setdefault(str(appointment["id"]), appointment)
            for problem in unread:
                problems.setdefault((problem.record_id, problem.field), problem)
        ordered = sorted(merged.values(), key=lambda a: (_start_of(a, self._ctx.timezone), _id_key(a["id"])))
        # An appointment may carry `provider_id` alone: its performer named from the provider list.
        named = await self._provider_names.named(ordered)
        return named, [p for p in problems.values() if p.record_id not in merged]

    async def _provider_pages(self) -> AsyncIterator[Envelope | None]:
        """The pages of `/providers` (`provider_names.Pages`): none where NexHealth has no such
        list (a 404 of its first page; the docs describe no `/providers`)."""

        async def ask(params: dict[str, str | int]) -> Envelope | None:
            try:
                return await self.client.request("GET", "/providers", params=params)
            except NotFound:
                return None

        async for envelope in self._pages(ask, {"per_page": MAX_PAGE_SIZE}, "providers"):
            yield envelope

    async def _appointments(
        self, patient_id: str, start: datetime, end: datetime, cancelled: bool, far: bool = False
    ) -> Found:
        """All pages of one `/appointments` question."""
        found: list[dict[str, Any]] = []
        problems: list[Unreadable] = []
        seen: set[str] = set()
        params: dict[str, str | int] = {
            "patient_id": patient_id,
            "start": _instant(start),
            "end": _instant(end),
            **flag_param("cancelled", cancelled),
            "include[]": "appointment_type",
            "per_page": MAX_PAGE_SIZE,
        }

        async def ask(asked: dict[str, str | int]) -> Envelope | None:
            try:
                with tentative() if far else nullcontext():
                    answer = await self.client.request("GET", "/appointments", params=asked)
            except NoRoute:  # the web server's page: said after the search (`_appointments_missing`)
                self._appointments_seen = False
                return None
            except NotFound:  # "not found" for a window of no appointments (or a page past them)
                return None
            except InvalidRequest:
                self._appointments_seen = True  # a refusal of what was asked: the route is there
                raise
            self._appointments_seen = True
            return answer

        async for envelope in self._pages(ask, params, "appointments"):
            if envelope is None:
                break
            records, unread = self._appointment_list(envelope.data)
            fresh = [a for a in records if str(a["id"]) not in seen]
            fresh_problems = [p for p in unread if p.record_id is None or p.record_id not in seen]
            seen.update(str(a["id"]) for a in fresh)
            seen.update(p.record_id for p in fresh_problems if p.record_id)
            found += fresh
            problems += fresh_problems
            progressed = bool(fresh) or any(p.record_id for p in fresh_problems)
            total = self._total(envelope, len(records) + len(unread))
            # An empty page ends it, and so does a page of nothing new (a vendor ignoring `page`,
            # or answering a page past the end with the last one); without a total, only those do.
            if not progressed or (total is not None and len(seen) >= total):
                break
        return found, problems

    async def _either_identifier(self, value: str, flags: Mapping[str, str], *, read_id: bool) -> VendorPage:
        """An identifier without a system is a patient id or a chart number: ask for both. The
        docs name no `foreign_id` search parameter: an implementation may ignore it and list the
        whole location, a page at a time. A first page of fewer patients than its `count` goes on,
        and so does one without a total that lists other chart numbers (`_search_patients`
        walks the later pages, the gateway keeping the chart number's patients): the clean-room
        round found no one for the chart number of a patient past NexHealth's first page, with a
        warning that it had listed 20 of 45 (and, without a total, no warning at all)."""
        params: dict[str, str | int] = {
            "foreign_id": value,
            "per_page": MAX_PAGE_SIZE,
            **self._strictness,
            **flags,
        }
        charts, by_id = await concurrently(
            self._patient_list(params),
            q.read_each(lambda i: self._read_patient(i), [value] if is_int_id(value) and read_id else []),
        )
        found = {r["id"]: r for r in by_id}
        patients, unreadable, held = self._patients(charts.data) if charts is not None else ([], (), 0)
        if not found and held == 0:
            unreadable = (*unreadable, *filter(None, [await self._check_scope()]))
        for patient in patients:
            found.setdefault(str(patient["id"]), patient_to_fhir(patient, self._ctx))
        listed_of = self._total(charts, held) if charts is not None else None
        # Listed patients of other chart numbers (or NexHealth's warning of an ignored parameter):
        # the whole location, whose later pages hold the chart number as much as this one.
        unfiltered = charts is not None and (
            bool(charts.warnings) or any(str(p.get("foreign_id")).lower() != value.lower() for p in patients)
        )
        # Without a total (`count` absent, or the records of the answer), such a page or a full
        # one may have a successor.
        more = listed_of > held if listed_of is not None else unfiltered or held >= MAX_PAGE_SIZE
        following = None
        if held > 0 and more:
            ids = _raw_ids(charts, "patients")
            base = "" if self._page_base is None else self._page_base
            following = f"2:{ids[0] if ids else ''}:{min(held, MAX_PAGE_SIZE)}:{base}:{_sample(ids)}"
        return VendorPage(list(found.values()), following, warnings=unreadable)

    async def _email_search_folds(self) -> bool:
        """Whether NexHealth's `email` search ignores case, tried once: a listed patient's email
        asked in swapped case finds that patient or not. Until a patient with a cased email is
        listed, it is assumed to (as FHIR compares emails), and it is not tried again for
        `EMAIL_PROBE_SECONDS`: not before every email search."""
        if self._email_folds is None and time.monotonic() >= self._email_probe_after:
            envelope = await self._patient_list({"per_page": MAX_PAGE_SIZE, **self._strictness})
            listed_patients, _, _ = self._patients(envelope.data) if envelope is not None else ([], (), 0)
            sample = next(
                (p for p in listed_patients if isinstance(p.get("email"), str) and p["email"].swapcase() != p["email"]),
                None,
            )
            if sample is None:
                self._email_probe_after = time.monotonic() + EMAIL_PROBE_SECONDS
                return True
            params: dict[str, str | int] = {"email": sample["email"].swapcase(), "per_page": MAX_PAGE_SIZE}
            answer = await self._patient_list(params)
            found, _, _ = self._patients(answer.data) if answer is not None else ([], (), 0)
            self._email_folds = any(str(p["id"]) == str(sample["id"]) for p in found)
            if not self._email_folds:
                log.info("NexHealth compares emails exactly: email searches page through the location")
        return self._email_folds is not False

    async def _birth_search_finds(self) -> bool:
        """Whether NexHealth's `date_of_birth` search finds a patient by the day its birth date is,
        tried once where birth dates are served as instants (a date served as the docs show it,
        `1964-05-03`, is compared as one): a listed patient's day asked finds that patient or
        not. The docs name no `date_of_birth` search, nor how it compares: an implementation
        keeping instants may cast the day asked as its framework casts a date-only text (Rails
        to that midnight in `config.time_zone`, `new Date("1964-05-03")` to the UTC midnight)
        against midnights of another zone, and find no one. Until a patient with a birth date is
        listed, it is assumed to, and not tried again for `EMAIL_PROBE_SECONDS`."""
        if self._birth_day_found is None and time.monotonic() >= self._birth_probe_after:
            envelope = await self._patient_list({"per_page": MAX_PAGE_SIZE, **self._strictness})
            listed_patients, _, _ = self._patients(envelope.data) if envelope is not None else ([], (), 0)
            served = [(p, str((p.get("bio") or {}).get("date_of_birth") or "")) for p in listed_patients]
            sample = next(((p, value) for p, value in served if birth_date(value)), None)
            if sample is None:
                self._birth_probe_after = time.monotonic() + EMAIL_PROBE_SECONDS
                return True
            patient, value = sample
            day = birth_date(value)
            if day is None or value == day:  # served as a date: compared as one
                self._birth_day_found = True
                return True
            params: dict[str, str | int] = {"date_of_birth": day, "per_page": MAX_PAGE_SIZE, **self._strictness}
            answer = await self._patient_list(params)
            found, _, _ = self._patients(answer.data) if answer is not None else ([], (), 0)
            self._birth_day_found = any(str(p["id"]) == str(patient["id"]) for p in found)
            if not self._birth_day_found:
                log.info("NexHealth's date_of_birth search misses the day it serves: birth date searches page through")
        return self._birth_day_found is not False

    async def _patient_list(self, params: dict[str, str | int]) -> Envelope | None:
        """One page of `GET /patients`; None where NexHealth answers a list of no one with 404."""
        try:
            return await self.client.request("GET", "/patients", params=params)
        except NotFound:
            # A 404 at the whole list too is the scope, or, without the API's envelope (`NoRoute`),
            # its address being wrong or a page in front of it; no one there, none here. A 404
            # without a body where the whole list answers is the API's "no one" (Spring's
            # `ResponseEntity.notFound().build()`): the docs show no error body.
            await self._check_scope()
            return None

    # -- write --------------------------------------------------------------------------------

    async def _create_patient(self, resource: Resource) -> Written:
        """POST in the body shape and gender spelling this vendor takes (see "Where the docs
        are silent"); the created patient is read from the answer, or read again."""
        provider_id = await self._provider()
        body, not_stored = patient_from_fhir(resource, provider_id or 0)
        fields = body["patient"]
        unmet = unmet_terms(create_condition(), as_created(fields))
        if unmet:  # found by its condition never, each repeat would make another (conditions.py)
            raise unselectable_condition(unmet)
        provider = {"provider": body["provider"]} if provider_id is not None and not self._provider_refused else {}
        shapes: list[BodyShape] = [self._create_shape] if self._create_shape else list(_BODY_SHAPES)

        async def made(envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any]:
            return await self._created(envelope, sent)

        try:
            created, self._create_shape = await self._write("POST", "/patients", fields, shapes, provider, made)
        except _NotReadBack as unread:  # made: served as sent, said so
            self._create_shape = unread.shape
            served = unversioned(patient_to_fhir(unread.patient, self._ctx))
            warning = _NOT_READ_BACK.format(done="created", status=unread.status)
            return Written(served, tuple(not_stored), (warning,))
        except Duplicate as exc:
            exc.existing = await self._existing(fields)
            raise
        except _Refused as refused:
            said = "; ".join(e.diagnostics for e in refused.errors)
            if provider_id is None:  # it may want the provider it has no list of: the operator can name one
                raise NotSupported(
                    "NexHealth refused the new patient, sent without a provider since it has no provider list; "
                    f"set the tenant's provider_id option if it needs one ({said})"
                ) from None
            only = refused.errors[0] if len(refused.errors) == 1 else None
            raise only or InvalidRequest("NexHealth refused the new patient: " + said) from None
        return Written(patient_to_fhir(created, self._ctx), tuple(not_stored))

    async def _write(
        self,
        method: str,
        path: str,
        fields: dict[str, Any],
        shapes: list[BodyShape],
        extra: dict[str, Any],
        accept: Callable[[Envelope, dict[str, Any]], Awaitable[dict[str, Any]]],
        before: dict[str, Any] | None = None,
        location: str | None = None,
    ) -> tuple[dict[str, Any], BodyShape]:
        """Send a patient's `fields` (with `extra` beside them) in each body shape of `shapes`
        and each gender spelling not yet ruled out, until NexHealth takes one that `accept`
        reads a patient from (`_NotApplied` from it: the next shape is sent): that patient and
        the shape. A refusal (400/422) objecting to the gender's value tries its next
        spelling; one wanting only the gender (or refusing it where it was sent) sends it on
        the other side of `bio`; any other tries the next shape, the fully flat one first
        when the refusal named a field of `bio` without `bio.` (`date_of_birth is
        required`). `_Refused` when none is taken.

        Where the spelling is a guess (NexHealth has taken none yet, and the page of patients
        listed to see it showed none: a practice with no patient yet), a failure (5xx) tries
        the next spelling too: a Rails enum fails on a spelling it does not know rather than
        refusing it (its ArgumentError is a 500), and a new office's first patient could never
        be created where it wanted `M` or `male`. Such writes are tentative (a failure of one is
        not held against NexHealth's health, gateway.upstream.tentative); every spelling failing
        is NexHealth failing (a 502 saying so). A write that failed made no patient (the enum
        raises before saving); one that did is met as a duplicate by the next, and said so.

        An edit (`before`: the patient as read) sends only what changes it (`_edit_body`), at
        `location` where that is not the tenant's (`_patch`)."""
        spellings = await self._spellings(fields)
        gender = str((fields.get("bio") or {}).get("gender") or "")  # `Male`, `Female` or `Other`
        has_gender = bool(gender) and (before is None or "bio.gender" in _differing(before, fields))
        guessing = has_gender and self._gender_spelling is None and self._served_spelling is None
        guessing = guessing and self._spelling_looked_up  # NexHealth answered that page: it is up
        refusals: list[InvalidRequest] = []
        untried = list(shapes)
        whole_on_trial = False  # whether this edit found NexHealth wanting it whole (`_edit_whole`)
        while untried:
            shape = untried.pop(0)
            # A fully flat body has no `bio` to hold the gender or not, and the doubled one holds
            # it in both places (`bio`'s fields beside it too): one place each.
            places: list[GenderAt] = self._placements(has_gender) if shape in ("nested", "flat") else ["bio"]
            for place in places:
                refused: _GenderRefusal | None = None
                failed: list[VendorFailed] = []  # the spellings NexHealth failed on (when guessing)
                queued = list(spellings)
                tried = 0
                while queued:
                    spelling = queued.pop(0)
                    tried += 1
                    sent = with_gender_at(with_gender_spelling(fields, spelling), place)
                    written = sent if before is None else self._edit_body(before, sent)
                    body = _write_body(shape, written, extra)
                    try:
                        with tentative() if guessing else nullcontext():
                            envelope = await self._send_write(method, path, body, location)
                    except VendorFailed as exc:
                        if not guessing:
                            raise
                        failed.append(exc)
                        continue
                    except NoRoute:  # not the API's "no such patient": the route is not there
                        raise UpstreamUnusable(
                            f"NexHealth answered the patient {method} with a 404 page that is not its API's "
                            "answer (no envelope): it may not take this write"
                        ) from None
                    except InvalidRequest as exc:
                        unknown = unknown_keys(exc.diagnostics)
                        kept_bio = set(written.get("bio") or ()) - _BIO_WRITTEN  # `bio`'s keys kept as read
                        named = {key.rsplit(".", 1)[-1] for key in unknown}
                        if named & kept_bio:  # this NexHealth does not take them: left out from now on
                            self._bio_keys_refused |= named & kept_bio
                            if named <= kept_bio:  # nothing else refused: the same shape again
                                untried.insert(0, shape)
                                break
                        nulls = _nulls_refused(exc.diagnostics, written) if not unknown else set()
                        if nulls and not nulls <= self._bio_nulls_refused:  # a clear it will not take as null
                            self._bio_nulls_refused |= nulls  # not sent so again: named as kept
                            untried.insert(0, shape)
                            break
                        wants_whole = before is not None and not self._edit_whole and not unknown
                        if wants_whole and _wants_fields_left_out(exc.diagnostics, written):
                            # The create's validation reused for the edit: the same shape again,
                            # whole; kept for the tenant once one is so applied.
                            self._edit_whole = whole_on_trial = True
                            untried.insert(0, shape)
                            break
                        refusals.append(exc)
                        if "provider" in unknown and "provider" in extra:  # the docs name none on create
                            self._provider_refused = True
                            extra = {k: v for k, v in extra.items() if k != "provider"}
                            untried.insert(0, shape)
                            break
                        if unknown:
                            untried = self._after_unknown_keys(method, shape, unknown, untried)
                        if "fully_flat" in untried and _names_bio_fields_at_top(exc.diagnostics):
                            untried.sort(key=lambda other: other != "fully_flat")
                        # Another spelling or place only changes a body that holds a gender (the
                        # review: a PATCH without one was sent again unchanged, three times).
                        refused = _gender_refusal(exc.diagnostics) if has_gender else None
                        if refused == "value":
                            listed = listed_values(exc.diagnostics, "gender")
                            if listed is not None:  # NexHealth said which it takes: that one next, or none
                                chosen = listed_spelling(listed, gender)
                                spellings = [chosen] if chosen is not None and chosen != spelling else []
                                queued = list(spellings)
                            continue
                        break
                    try:
                        result = await accept(envelope, sent)
                    except _NotReadBack as unread:  # taken, not read back: the caller weighs it
                        unread.shape = shape
                        raise
                    except _NotApplied as exc:  # taken, not applied (whole): the next shape may be
                        refusals.append(exc)
                        # A gender left as it was may have been sent where NexHealth ignores it.
                        refused = "place" if _GENDER_ELEMENT in exc.lost else None
                        break
                    if has_gender:
                        self._gender_spelling = spelling
                        if shape in ("nested", "flat"):  # where it went says nothing of the others
                            self._gender_at = place
                    if whole_on_trial:
                        log.info("NexHealth wants every field a create requires in an edit: edits are sent whole")
                    return result, shape
                if failed and len(failed) == tried:
                    spelled = ", ".join(GENDER_SPELLINGS[i]["Male"] for i in spellings)
                    raise UpstreamError(
                        f"NexHealth failed on the patient {method} in every spelling of gender tried ({spelled}): "
                        "it may be failing, or take none of them"
                    ) from failed[-1]
                if refused != "place":  # the other place changes nothing this refusal objects to
                    break
        if whole_on_trial:  # no whole body was taken either: it was not what NexHealth wanted
            self._edit_whole = False
        raise _Refused(refusals)

    def _after_unknown_keys(
        self, method: str, shape: BodyShape, unknown: Sequence[str], untried: Sequence[BodyShape]
    ) -> list[BodyShape]:
        """The body shapes left to try after NexHealth refused `shape` for naming `unknown` keys:
        without those the keys show it not to take (`_ruled_out`), and without the doubled edit
        body, which such an implementation refuses whole whichever flat shape it takes. It
        refuses a body of the other flat shape whole too, never applying part of it: the plain
        shapes are sent instead, the one creates took first. Remembered for the tenant's later
        writes of `method` (`_edit_shapes`)."""
        self._refuses_unknown_keys.add(method)
        preferred: list[BodyShape] = [self._create_shape] if self._create_shape in _PARTLY_APPLIED else []
        plain = [*preferred, *_PARTLY_APPLIED]
        expanded = [one for other in untried for one in (plain if other == "flat_and_fully_flat" else [other])]
        ruled_out = _ruled_out(shape, unknown)
        left = [other for other in dict.fromkeys(expanded) if other not in ruled_out]
        # The doubled body without what it named is the shape NexHealth takes: that one next.
        return sorted(left, key=lambda other: other != _doubled_without(shape, unknown))

    async def _send_write(self, method: str, path: str, body: dict[str, Any], location: str | None = None) -> Envelope:
        """Send a patient write; with the tenant's scope (`location_id`, `subdomain`) in its body
        too where NexHealth has wanted it there. The docs require them of a search, in its query
        (where the client always sends them), and show no write request: an implementation may
        read a write's from its body alone (Express's `req.body.location_id`). A refusal naming
        one of them sends the write again once with them at the body's top level; that taken (or
        refused for something else), this method's writes carry them from then on. They are not
        sent in every body: a schema refusing unknown keys (Joi's) would refuse them there.
        `location`, where given, is sent instead of the tenant's (an edit of a patient of
        another location, `_patch`)."""
        in_body = self._scope_in_body.get(method)
        if in_body is not None:
            scope = {**in_body, **self._scope_at(in_body, location)}
            return await self._sent_at(method, path, {**scope, **body}, location)
        try:
            return await self._sent_at(method, path, body, location)
        except InvalidRequest as exc:
            named = self._scope_named(exc.diagnostics)
            if not named:
                raise
        try:
            scope = {**named, **self._scope_at(named, location)}
            envelope = await self._sent_at(method, path, {**scope, **body}, location)
        except InvalidRequest as exc:
            if not self._scope_named(exc.diagnostics):  # what it wanted was given: another refusal
                self._scope_in_body[method] = named
            raise
        self._scope_in_body[method] = named
        return envelope

    async def _sent_at(self, method: str, path: str, body: dict[str, Any], location: str | None) -> Envelope:
        """`body` sent, with `location` as the query's `location_id` where given."""
        if location is None:
            return await self.client.request(method, path, json=body)
        return await self.client.request(method, path, params={"location_id": location}, json=body)

    @staticmethod
    def _scope_at(scope: Mapping[str, str | int], location: str | None) -> dict[str, str | int]:
        """`scope`'s `location_id` as `location`, where `scope` holds one and `location` is given."""
        if location is None or "location_id" not in scope:
            return {}
        return {"location_id": int(location) if location.isdigit() else location}

    def _scope_named(self, diagnostics: str) -> dict[str, str | int]:
        """The tenant's scope parameters a refusal names as wanted, as a write's body would carry
        them (not where it names them as keys it does not take: "property location_id should
        not exist")."""
        said = " ".join(part for part in parts(diagnostics) if not names_unknown_key(part)).lower()
        named = [name for name in ("location_id", "subdomain") if re.search(rf"\b{name}\b", said)]
        if not named:
            return {}
        location = self.client.location_id
        scope: dict[str, str | int] = {
            "location_id": int(location) if location.isdigit() else location,
            "subdomain": self.client.subdomain,
        }
        return {name: scope[name] for name in named}

    def _placements(self, has_gender: bool) -> list[GenderAt]:
        """Where a write's gender is tried, in order: where NexHealth took it before, else where
        it serves it, else in `bio` (the docs show `bio` holding the other demographics) and
        then beside it. The docs show gender in neither of their patient shapes."""
        if not has_gender:
            return ["bio"]
        if self._gender_at is not None:
            return [self._gender_at]
        first: GenderAt = self._served_gender_at or "bio"
        return [first, "top" if first == "bio" else "bio"]

    async def _spellings(self, fields: dict[str, Any]) -> list[int]:
        """The gender spellings (indexes of GENDER_SPELLINGS) a write of `fields` tries, in order:
        the one NexHealth took before, else the one it serves first. The docs never list
        gender's values, and a spelling an implementation does not take may fail rather than be
        refused: a Rails `enum gender: {male: 0, ...}` raises ArgumentError on `Male`, a 500
        that is no refusal to try the next spelling after (the clean-room round's every create
        and edit was a 502). Before the first such write, one page of patients is listed to see
        the spelling, unless one was seen already."""
        if self._gender_spelling is not None:
            return [self._gender_spelling]
        every = list(range(len(GENDER_SPELLINGS)))
        if not (fields.get("bio") or {}).get("gender"):
            return every
        if self._served_spelling is None and not self._spelling_looked_up:
            async with self._spelling_lock:  # a write arriving meanwhile waits for the same page
                if self._served_spelling is None and not self._spelling_looked_up:
                    await self._look_up_spelling()
        first = self._served_spelling
        return every if first is None else [first, *(i for i in every if i != first)]

    async def _look_up_spelling(self) -> None:
        """List one page of patients to see the gender spelling NexHealth serves (a hint only).
        A location listing no one is an answer, not asked again; a list failing or timing out
        leaves every spelling to try, and the next write asks again."""
        try:
            envelope = await self.client.request("GET", "/patients", params={"per_page": 20, **self._strictness})
            self._patients(envelope.data)
        except NotFound:
            pass  # no one here (or a location NexHealth does not know, which the write will meet)
        except (UpstreamError, UpstreamTimeout):
            return
        self._spelling_looked_up = True

    async def _created(self, envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any]:
        """The patient a create made. The docs do not show the answer: the patient when it holds
        one whole (an id, a name and `bio`: `_answered_whole`), else read by the id it gives,
        else found by its email."""
        try:
            raw = read_one(VendorPatient, single(envelope.data, "patient", "patients"), "patient", self._drift)
        except (UnreadableShape, UnreadableRecord):
            raw = None
        patient = raw.model_dump() if raw is not None else None
        if patient is not None and _answered_whole(patient):
            return patient
        if patient is not None:
            try:
                return await self._patient(str(patient["id"]))
            except _NOT_READ_NOW as exc:  # made all the same: what was sent, and what it answered
                answered = {key: value for key, value in patient.items() if value is not None}
                raise _NotReadBack({**sent, **answered}, exc.status) from None
        try:
            found = await self._newest_described(sent)
        except _NOT_READ_NOW as exc:
            # Not a 429 or a 503 "retry later" to the client: the patient is made, and would be again.
            raise WriteUnconfirmed(
                "NexHealth created the patient but its answer did not say which, and looking it up failed for "
                f"now (HTTP {exc.status}): search for it before creating it again"
            ) from None
        if found is None:  # made: not `transient`, which has the client send it again (WriteUnconfirmed)
            raise WriteUnconfirmed(
                "NexHealth created the patient but did not say which it is, nor could it be found: search for it "
                "before creating it again"
            )
        return found

    async def _newest_described(self, sent: dict[str, Any]) -> dict[str, Any] | None:
        """The newest patient with the email, names and birth date of the create body `sent`: a
        household may share an email, and its other members are not the patient just made.
        Asked by the email as sent, then, where that finds no such patient, lower-cased: the
        docs say nothing of how an email is stored, and one stored lower-cased (a Rails
        `before_save { self.email = email.downcase }`) beside a search comparing exactly
        missed the patient just made as `Ada@Example.org` (a 502 for a patient made)."""
        for email in dict.fromkeys([sent["email"], sent["email"].lower()]):
            found = await self._newest_described_as(sent, email)
            if found is not None:
                return found
        return None

    async def _newest_described_as(self, sent: dict[str, Any], email: str) -> dict[str, Any] | None:
        """`_newest_described`, asked by `email`."""
        params: dict[str, str | int] = {"email": email, "per_page": MAX_PAGE_SIZE}
        # A patient just created is new (nexhealth-patients.txt: not inserted until it books),
        # active and a patient: where unsent flags filter, those are asked.
        # (Sent `true` or left out, never `false`: `query_flags`.)
        for name in await self._flags_filtering():
            params.update(flag_param(name, name == "new_patient"))
        envelope = await self._patient_list(params)
        patients, _, _ = self._patients(envelope.data) if envelope is not None else ([], (), 0)
        # The birth date compared as a date: NexHealth may serve the midnight instant of one
        # (`1964-05-03T00:00:00.000Z`, a JavaScript Date).
        wanted = (
            _folded(sent.get("first_name")),
            _folded(sent.get("last_name")),
            fhir_date((sent.get("bio") or {}).get("date_of_birth")),
        )
        described = [
            p
            for p in patients
            if (p.get("email") or "").lower() == sent["email"].lower()
            and (
                _folded(p.get("first_name")),
                _folded(p.get("last_name")),
                birth_date((p.get("bio") or {}).get("date_of_birth")),
            )
            == wanted
        ]
        return max(described, key=lambda p: int(p["id"]) if str(p["id"]).isdigit() else 0, default=None)

    async def _update_patient(self, resource_id: str, resource: Resource, if_match: str | None) -> Written:
        """PATCH before insertion only (see "Where the docs are silent")."""
        current = await self._patient(resource_id)
        if str(current.get("foreign_id_type") or "").strip().lower() != NOT_INSERTED:
            raise Conflict(
                f"Patient/{resource_id} is in the practice management system: NexHealth would overwrite "
                "an edit made through it at its next sync, so the edit was not sent. Edit the patient in "
                "the practice management system."
            )
        served = patient_to_fhir(current, self._ctx)
        if if_match is not None and served["meta"].get("versionId") != if_match:
            raise PreconditionFailed(
                f"Patient/{resource_id} has changed since version {if_match}; read it again before updating"
            )
        # An `active` other than the patient's, or a death, is refused here, before any PATCH: no
        # write holds either (`refuse_unheld_modifiers`), and both are modifier elements.
        body, _ = patient_from_fhir(resource, 0, inactive=served.get("active") is False)
        # An update replaces the resource (R4 http.html#update): what NexHealth holds that the
        # PUT leaves out (an address, a cell or home phone) is sent as null in `bio` to clear
        # it, but for keys NexHealth refused (it would refuse the edit again).
        left = left_out(resource, current)
        clears = {key: None for key in left if key not in self._bio_keys_refused | self._bio_nulls_refused}
        if clears and _other_phones_sent(current, left, body["patient"]) and not _changes_bio(current, body["patient"]):
            # `bio` sent to clear alone carries the phone number as well, which an implementation
            # may take as replacing the cell and home numbers (the docs say nothing of them): a
            # PUT sending another of those back would lose it to clear something else. Kept, and
            # said so.
            clears = {}
        fields = {**body["patient"], "bio": {**body["patient"]["bio"], **clears}}
        try:
            edited = await self._patch(resource_id, fields, current)
            gone = "bio.phone_number" in _differing(edited, fields)
            if gone and "bio.phone_number" not in _differing(current, fields) and not self._edit_meets_itself:
                # The phone number was left out as one the cell or home number holds too
                # (`_edit_body`), and is gone with them: NexHealth refused those keys and replaced
                # `bio` with what it took. Sent again (a change now), unless it would meet the
                # patient itself as a duplicate (`_edit_meets_itself`): then it is named as not
                # stored (`served`).
                edited = await self._patch(resource_id, fields, edited)
        except _NotReadBack as unread:
            # Made (a shape seen applied before took it): an error now would have the client send
            # it again, its If-Match then a 412 against its own update. The patient as sent over
            # the one read before, without a version (its ETag would match no later read).
            served = unversioned(patient_to_fhir(unread.patient, self._ctx))
            not_stored = [*unkept_elements(resource, served), *kept_left_out(resource, left, unread.patient)]
            warning = _NOT_READ_BACK.format(done="updated", status=unread.status)
            return Written(served, tuple(dict.fromkeys(not_stored)), (warning,))
        # Compared with what the patient reads as once the edit is applied: an element sent back
        # as NexHealth already holds it (the identifiers, `active`, a mobile phone's use) is
        # kept, and each other one NexHealth cannot hold is reported. The phones are compared
        # with what NexHealth holds once edited too: an implementation may take a phone number
        # set as the patient's phone, dropping its cell and home numbers that were sent back.
        # Each element left out that NexHealth still holds (a null kept, no field to clear) is named.
        will_read = patient_to_fhir(as_edited(current, fields), self._ctx)
        served = patient_to_fhir(edited, self._ctx)
        phones_sent = {"resourceType": "Patient", "telecom": resource.get("telecom") or []}
        not_stored = [
            *unkept_elements(resource, will_read),
            *unkept_elements(phones_sent, served),
            *kept_left_out(resource, left, edited),
        ]
        return Written(served, tuple(dict.fromkeys(not_stored)))

    async def _patch(self, patient_id: str, fields: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
        """Send the edit in the shape this vendor takes (see "Where the docs are silent"): the
        one an edit took before, else the one its creates take, then the others; each answer is
        compared with what was sent, and an edit NexHealth did not apply whole is sent again in
        the next shape. An implementation ignoring unknown keys answers 200 to a body whose
        fields it does not look for (the nested one, where it takes them at the top level), and
        to a flat body whose `bio` it does not know applies the names alone: half an edit lost
        unseen, were the answer not compared."""
        if not _differing(before, fields):
            return before  # nothing NexHealth stores changes: no PATCH to send
        clearing = _clearing(before, fields)
        changes_bio = bool(clearing) or any(path.startswith("bio.") for path in _changed(before, fields))
        shapes = _edit_shapes(
            [self._bio_patch_shape, self._patch_shape, self._create_shape],
            self._bio_patch_shape,
            changes_bio and "PATCH" not in self._refuses_unknown_keys,  # such a vendor applies none of a body in part
        )

        async def applied(envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any]:
            try:
                edited = await self._edited(envelope, patient_id, before)
                lost = _not_applied(before, sent, edited)
                still = any(_field(edited, path) not in (None, "") for path in clearing)
                if (lost or still) and envelope.data is not None:
                    # The answer may be the patient as it was before the edit (Mongoose's
                    # `findByIdAndUpdate` without `{new: true}`): what NexHealth now holds decides.
                    edited = await self._patient(patient_id)
                    lost = _not_applied(before, sent, edited)
            except _NOT_READ_NOW as exc:
                raise _NotReadBack(as_edited(before, sent), exc.status) from None
            if lost:
                raise _NotApplied(lost)
            return edited

        # Shapes this tenant's edits of such fields were seen applied in: a 2xx to one of them is
        # the edit made, where it cannot be read back now. (Another may be a 200 that ignored it all.)
        trusted = {self._bio_patch_shape} if changes_bio else {self._patch_shape, self._bio_patch_shape}
        path = f"/patients/{patient_id}"
        # The patient's own location where the tenant's is not among its `location_ids`: an edit
        # may reach only the patients of its `location_id` (below), as a search is "performed in
        # the context of a location" (nexhealth-patients.txt). Every reading takes it there.
        location = _home_location(before, self.client.location_id)
        try:
            try:
                edited, self._patch_shape = await self._write(
                    "PATCH", path, fields, shapes, {}, applied, before, location
                )
            except Duplicate:
                # `bio` sent whole re-sent its unchanged phone: a duplicate check that does not
                # leave out the patient edited finds the patient itself. Sent again without it.
                if self._edit_meets_itself or "bio.phone_number" in _differing(before, fields) or not changes_bio:
                    raise
                self._edit_meets_itself = True
                edited, self._patch_shape = await self._write(
                    "PATCH", path, fields, shapes, {}, applied, before, location
                )
            if changes_bio:
                self._bio_patch_shape = self._patch_shape
        except Duplicate:
            raise Conflict(
                "NexHealth already has another patient with that information (email, phone, or name and birth date)"
            ) from None
        except _NotReadBack as unread:
            if unread.shape is not None and unread.shape in trusted:
                raise  # answered done (`_update_patient`)
            raise WriteUnconfirmed(
                f"NexHealth answered the update of Patient/{patient_id}, but reading it back to see it applied "
                f"failed for now (HTTP {unread.status}): read the patient before updating it again"
            ) from None
        except (NotFound, UpstreamSecurity):
            # A 404 (or a 403 a fresh token met too) of a patient just read: an edit scoped to its
            # `location_id` (a Rails `set_patient` shared with the read, a Pundit policy) and a
            # patient of another location that NexHealth does not name (no `location_ids`). Read
            # as "does not exist" the client was told to create it; as the credentials, a 502.
            if location is not None or await self._at_this_location(before):
                raise
            raise Conflict(
                f"NexHealth edits Patient/{patient_id} only at its own location, which it does not name, and "
                f"not at this tenant's (location {self.client.location_id}): the edit was not made. Edit the "
                "patient through a tenant of its location."
            ) from None
        except _Refused as refused:
            partly = any(isinstance(e, _NotApplied) for e in refused.errors)
            raise Unprocessable(
                f"NexHealth did not take the update of Patient/{patient_id}"
                + (" whole (part of it may have been applied: read the patient again)" if partly else "")
                + ": "
                + "; ".join(e.diagnostics for e in refused.errors)
            ) from None
        return edited

    def _edit_body(self, before: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
        """The fields of `sent` (an edit's, placed and spelled) that change the patient `before`.
        The docs do not say what a PATCH does with what it is sent: an implementation checking
        an edit for duplicates as a create is checked may not leave out the patient itself, and
        every edit re-sending its unchanged email or phone was a 409 "another patient". But
        `bio` is sent whole (the rest of it as read), once any of its fields changes: it may be
        stored as one object (a JSON column, a Mongo `$set` of `bio`), which a `bio` of the
        changed fields alone replaces, clearing the others. Left out of it: keys NexHealth
        refused as unknown, and the unchanged phone where the cell or home number the edit
        keeps holds it too (`_phone_kept_beside`), or (`_edit_meets_itself`) at all. Where
        NexHealth wants every field a create requires in an edit too (`_edit_whole`), they are
        all sent, an unchanged gender where and as the patient holds it."""
        differs = _differing(before, sent)
        whole = self._edit_whole
        body = {
            key: value
            for key, value in sent.items()
            if key != "bio" and (("bio.gender" if key == "gender" else key) in differs or (whole and key != "gender"))
        }
        if whole and "bio.gender" not in differs and gender_at(before) == "top":
            body["gender"] = before["gender"]
        sent_bio: dict[str, Any] = sent.get("bio") or {}
        if not whole and not any(f"bio.{key}" in differs for key in sent_bio):
            return body
        # As read, but the birth date and phone in the form writes take (the date a JavaScript
        # Date's instant may be served as; the phone formatted), and a gender as NexHealth
        # serves it in `bio` where it does and the edit leaves it as it is.
        read = before.get("bio") or {}
        bio = {
            key: value
            for key, value in read.items()
            if key not in ("date_of_birth", "phone_number") and value is not None and key not in self._bio_keys_refused
        }
        bio.update(
            {
                key: value
                for key, value in sent_bio.items()
                if (key != "gender" or "bio.gender" in differs)
                and key not in self._bio_keys_refused
                and (value is not None or key not in self._bio_nulls_refused)
            }
        )
        unchanged_phone = "bio.phone_number" not in differs and not whole  # (whole: the phone is required)
        if unchanged_phone and (self._edit_meets_itself or _phone_kept_beside(read, sent_bio)):
            bio.pop("phone_number", None)
        return {**body, "bio": bio}

    async def _edited(self, envelope: Envelope, patient_id: str, before: dict[str, Any]) -> dict[str, Any]:
        """The patient as a PATCH left it: from its answer when that holds the patient whole
        (`_answered_whole`) and every field the patient was read with (`_holds_what_was_read`),
        else read."""
        try:
            raw = single(envelope.data, "patient", "patients")
            patient = read_one(VendorPatient, raw, "patient", self._drift)
        except (UnreadableShape, UnreadableRecord):
            return await self._patient(patient_id)  # the answer's shape is not documented
        edited = patient.model_dump()
        if _answered_whole(edited) and _holds_what_was_read(raw, before):
            return edited
        return await self._patient(patient_id)

    async def _provider(self) -> int | None:
        """The provider a new patient is created under: the tenant's option, else the first
        listed; None where NexHealth has no provider list (the docs describe no /providers, and
        name no provider among what a create requires, so such an implementation is asked
        without one rather than refused a create it may well take)."""
        if self._provider_id is None:
            if self._no_provider_list:
                return None
            try:
                envelope = await self.client.request("GET", "/providers", params={"per_page": 1})
            except NotFound:
                self._no_provider_list = True  # a route it lacks: it will not have it next time either
                return None
            try:
                raw = listed(envelope.data, "providers")
            except UnreadableShape as exc:
                raise UpstreamUnusable(f"NexHealth's provider list could not be read: {exc}") from None
            providers, _ = read_many(VendorProvider, raw, "provider", self._drift)
            if not providers:
                raise NotSupported("The NexHealth location has no provider to create patients under")
            self._provider_id = providers[0].id
        return int(self._provider_id)

    async def _existing(self, sent: dict[str, Any]) -> dict[str, Any] | None:
        """The patient NexHealth matched a refused create against: same email or phone (its OR helps)."""
        found = await self._by_contact(sent)
        return patient_to_fhir(found, self._ctx) if found is not None else None

    async def _by_contact(self, sent: dict[str, Any], *, email_only: bool = False) -> dict[str, Any] | None:
        """A patient with the email (or, unless `email_only`, the phone) of the create body `sent`."""
        params: dict[str, str | int] = {"email": sent["email"], "per_page": 5}
        if not email_only:
            params["phone_number"] = sent["bio"]["phone_number"]
        envelope = await self._patient_list(params)
        patients, _, _ = self._patients(envelope.data) if envelope is not None else ([], (), 0)
        wanted = national_phone(sent["bio"]["phone_number"])
        for patient in patients:
            bio = patient.get("bio") or {}
            phones = {national_phone(bio.get(k)) for k in ("phone_number", "cell_phone_number", "home_phone_number")}
            same_phone = not email_only and bool(wanted) and wanted in phones
            if (patient.get("email") or "").lower() == sent["email"].lower() or same_phone:
                return patient
        return None


# The patient list's boolean filters (getting-started's request, the patients page).
_FLAGS = ("new_patient", "inactive", "non_patient")


def _answered_whole(patient: dict[str, Any]) -> bool:
    """Whether the patient a write answered with is the patient whole, to serve as it is: it has
    a name, and `bio` (its birth date, phone, gender). The docs show neither a create's nor an
    edit's answer: one may hold an id alone, or the patient without `bio`, a relation of its own
    table the write's answer does not load (Prisma's `create` without `include`). Served as it
    was, the patient had no birth date or phone and gender `unknown`, and an edit named the
    phone it stored as not stored."""
    return bool(patient.get("first_name") or patient.get("last_name")) and patient.get("bio") is not None


def _home_location(patient: dict[str, Any], tenant_location: str) -> str | None:
    """The location an edit of `patient` is sent at instead of the tenant's: its first one,
    where its `location_ids` are given and do not hold the tenant's; else None (the tenant's)."""
    held = patient.get("location_ids")
    if not held or not tenant_location.isdigit() or int(tenant_location) in held:
        return None
    return str(held[0])


def _holds_what_was_read(answered: Any, before: dict[str, Any]) -> bool:
    """Whether the raw patient an edit `answered` with has every field the patient `before` it
    was read with a value in: not an answer of the fields the edit sent alone, beside the id (an
    implementation whose update resolves a count of rows, Sequelize's `Model.update`, answering
    `{id, ...req.body.patient}`: the docs show no edit answer). Served so, an edit of the name
    and birth date answered the patient without its email or given name, and a version that no
    read gives (a PUT with it as If-Match was a 412)."""
    if not isinstance(answered, dict):
        return False
    return all(key in answered for key, value in before.items() if value not in (None, "", [], {}))


def _flag_of(patient: dict[str, Any], flag: str) -> Any:
    """A patient's `inactive` (beside `bio`), `new_patient` or `non_patient` (in it)."""
    return patient.get(flag) if flag == "inactive" else (patient.get("bio") or {}).get(flag)


def _flag_lists(flags: Sequence[str], including: Collection[str] = ()) -> list[dict[str, str]]:
    """The lists a search walks where NexHealth filters by each of `flags` when not sent: one
    for each combination of their values (all false first, the patients most lists hold); a
    flag of `including` (its `true` lists the patients without it too) asked `true` alone."""
    lists: list[dict[str, str]] = [{}]
    for name in flags:
        values = (True,) if name in including else (False, True)
        # (false left out: NexHealth filters by the flag as false when unsent, `query_flags`)
        lists = [{**chosen, **flag_param(name, value)} for chosen in lists for value in values]
    return lists


def _record(data: Any, record_id: str) -> Any:
    """The record of a list answer whose id is `record_id` (as sent)."""
    return next(r for r in listed(data, "patients") if isinstance(r, dict) and str(r.get("id")) == record_id)


def _said(message: str, also: str | None) -> str:
    return message if also is None else f"{message}; {also}"


def _folded(text: Any) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip() if isinstance(text, str) else ""


def _raw_ids(envelope: Envelope | None, plural: str) -> list[str]:
    """The ids of a list answer's records as sent (unreadable records too)."""
    try:
        raw = listed(envelope.data, plural) if envelope is not None else []
    except UnreadableShape:
        return []
    return [str(r.get("id")) for r in raw if isinstance(r, dict) and r.get("id") is not None]


class _Refused(Exception):
    """NexHealth refused every shape of a patient write; `errors` are its refusals, in order."""

    def __init__(self, errors: list[InvalidRequest]) -> None:
        super().__init__("NexHealth refused the write")
        self.errors = errors


class _NotReadBack(Exception):
    """NexHealth answered a patient write with a 2xx, and reading the patient back failed for now
    (`_NOT_READ_NOW`): `patient` is it as written (what was sent, over what was known of it), in
    the body `shape` NexHealth took (`_write` names it)."""

    def __init__(self, patient: dict[str, Any], status: int) -> None:
        super().__init__("NexHealth took the write; reading it back failed for now")
        self.patient = patient
        self.status = status
        self.shape: BodyShape | None = None


class _NotApplied(InvalidRequest):
    """NexHealth answered a PATCH without applying all of it: `lost` names what it left as it was."""

    def __init__(self, lost: list[str]) -> None:
        super().__init__("NexHealth answered the edit without applying " + ", ".join(lost))
        self.lost = lost


def _write_body(shape: BodyShape, sent: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A write's body in `shape`: the patient fields `sent` (gender placed and spelled), with
    `extra` (the provider) beside them."""
    if shape == "nested":
        return {**extra, "patient": sent}
    if shape == "flat":
        return {**extra, **sent}
    # Beside the names, `bio`'s fields a write sets only: an edit's `bio` sent whole holds the
    # rest of it as read (`_edit_body`), which only a `bio` object replaces.
    bio = {key: value for key, value in (sent.get("bio") or {}).items() if key in _BIO_WRITTEN}
    if shape == "flat_and_fully_flat":
        return {**extra, **sent, **bio}
    return {**extra, **{k: v for k, v in sent.items() if k != "bio"}, **bio}


def _edit_shapes(known: Sequence[BodyShape | None], takes_bio: BodyShape | None, changes_bio: bool) -> list[BodyShape]:
    """The PATCH body shapes an edit is sent in, in order: those NexHealth has taken (`known`:
    an edit's, a create's), then the others. An implementation of the flat shape that ignores
    unknown keys drops a fully flat body's `bio` fields, and one of the fully flat shape a flat
    body's `bio`: either applies the names alone. Sent one after the other, a reader saw the
    new name with the old birth date between the two PATCHes (and, the second refused, the
    patient stayed so). So an edit changing a field of `bio` sends no flat or fully flat body
    NexHealth has not applied such a change in (`takes_bio`): the doubled body first, which
    both such implementations apply whole; the plain ones after it, for an implementation
    refusing unknown keys, which refuses the one it does not take whole too."""
    shapes = list(dict.fromkeys(shape for shape in (*known, *_BODY_SHAPES) if shape is not None))
    if not changes_bio:
        return shapes
    guarded: list[BodyShape] = [
        "flat_and_fully_flat" if shape in _PARTLY_APPLIED and shape != takes_bio else shape for shape in shapes
    ]
    return list(dict.fromkeys([*guarded, *_PARTLY_APPLIED]))


# A field the docs' answers show in `bio`, named in a refusal without `bio.` before it (nor any
# other path): `date_of_birth is required`, Rails' `{"date_of_birth": ["can't be blank"]}` as read.
_BIO_FIELD_AT_TOP = re.compile(r"(?<![\w.])(?:date_of_birth|phone_number)\b")


def _names_bio_fields_at_top(diagnostics: str) -> bool:
    """Whether a refusal wants a field of `bio` at the body's top level (a fully flat body); not
    where it names one there as a key it does not take ("property date_of_birth should not exist")."""
    wanted = (part for part in parts(diagnostics) if not names_unknown_key(part))
    return any(_BIO_FIELD_AT_TOP.search(part.lower()) is not None for part in wanted)


def _nulls_refused(diagnostics: str, written: dict[str, Any]) -> set[str]:
    """`bio`'s keys an edit `written` sent as null (to clear them) that a refusal names, as an
    implementation refusing a null where it takes a text does (Joi's `"patient.bio.city" must be
    a string`, Pydantic's "Input should be a valid string", Zod's "Expected string, received
    null"): the docs show no edit body, nor how a field is cleared."""
    sent_null = {key for key, value in (written.get("bio") or {}).items() if value is None}
    said = [part.lower() for part in parts(diagnostics) if not names_unknown_key(part)]
    return {key for key in sent_null if any(re.search(rf"\b{key}\b", part) for part in said)}


# What a refusal says of a field it wants and was not sent: "is required" (Joi, the docs' own
# create), Rails' "can't be blank", Pydantic's "Field required", class-validator's "should not be
# empty", a "missing" field.
_WANTED_WORDS = ("required", "blank", "missing", "should not be empty", "must be provided")
# The fields a create requires (nexhealth-patients.txt, "Creating a New Patient"), by the key a
# write body has them under, with how a refusal may name them (Rails humanizes `first_name`).
_REQUIRED_KEYS = {
    "first_name": r"first[_ ]name",
    "last_name": r"last[_ ]name",
    "email": r"email",
    "date_of_birth": r"date[_ ]of[_ ]birth",
    "phone_number": r"phone[_ ]number",
    "gender": r"gender",
}


def _wants_fields_left_out(diagnostics: str, written: dict[str, Any]) -> bool:
    """Whether a refusal of an edit's body wants a field a create requires that the edit left
    out (`written`: its fields, `bio` nested), as an implementation validating an edit with its
    create's rules does: "patient.email is required", "Email can't be blank"."""
    held = {*written, *(written.get("bio") or {})}
    for part in parts(diagnostics):
        said = part.lower()
        if names_unknown_key(part) or not any(words in said for words in _WANTED_WORDS):
            continue
        if any(key not in held and re.search(rf"\b{name}\b", said) for key, name in _REQUIRED_KEYS.items()):
            return True
    return False


def _doubled_without(shape: BodyShape, unknown: Sequence[str]) -> BodyShape | None:
    """The shape that the doubled edit body `shape` (the flat one with `bio`'s fields beside the
    names too) is without the `unknown` keys NexHealth named in refusing it: without `bio` the
    fully flat one, without `bio`'s fields beside the names the flat one (None: neither)."""
    if shape != "flat_and_fully_flat":
        return None
    if "bio" in {key.rsplit(".", 1)[-1] for key in unknown}:
        return "fully_flat"
    at_top = {key for key in unknown if "." not in key}
    return "flat" if at_top & {"date_of_birth", "phone_number"} else None


def _ruled_out(shape: BodyShape, unknown: Sequence[str]) -> set[BodyShape]:
    """The body shapes NexHealth's refusal of `shape` for the `unknown` keys it names (paths, or
    bare keys as Rails gives them) shows it not to take: a `patient` object, the nested shape;
    a `bio` object, every shape holding one; `bio`'s fields beside the names where `shape` put
    them there, the shapes putting them there."""
    keys = {key.rsplit(".", 1)[-1] for key in unknown}
    out: set[BodyShape] = set()
    if "patient" in keys:
        out.add("nested")
    if "bio" in keys:
        out |= {"nested", "flat", "flat_and_fully_flat"}
    at_top = {key for key in unknown if "." not in key}  # beside the names (Rails gives no paths)
    if shape in ("fully_flat", "flat_and_fully_flat") and at_top & {"date_of_birth", "phone_number"}:
        out |= {"fully_flat", "flat_and_fully_flat"}
    return out


_GenderRefusal = Literal["value", "place"]
# Words of a refusal of where a field is (absent where it is wanted), not of its value: Rails'
# "can't be blank", Joi's "is required"; and a field named as a key NexHealth does not take
# (`refusals.names_unknown_key`: NestJS's "property gender should not exist" was read as a
# refusal of the gender's spelling, and every spelling sent in turn where gender was unknown).
_PLACE_WORDS = ("required", "missing", "blank", "not allowed", "unpermitted", "not permitted")


def _gender_refusal(diagnostics: str) -> _GenderRefusal | None:
    """What a refusal objects to about the gender: its value (`"value"`: "bio.gender must be one
    of ..."); or only where it is (`"place"`: "patient.gender is required", and nothing else
    wanted, which a refusal of the whole body shape also wants); or nothing (None)."""
    said = [part.lower() for part in parts(diagnostics)]
    about = [part for part in said if "gender" in part]
    if any(not any(w in part for w in _PLACE_WORDS) and not names_unknown_key(part) for part in about):
        return "value"
    if about and len(about) == len(said):
        return "place"
    return None


_GENDER_ELEMENT = "Patient.gender"
# What an edit can change, by its path in the create body, with the FHIR element it holds.
_EDITED = {
    "first_name": "Patient.name.given",
    "last_name": "Patient.name.family",
    "email": "Patient.telecom (email)",
    "bio.date_of_birth": "Patient.birthDate",
    "bio.phone_number": "Patient.telecom (phone)",
    "bio.gender": _GENDER_ELEMENT,
}


def _field(record: dict[str, Any], path: str) -> Any:
    if path == "bio.gender":  # in `bio`, or beside it
        return gender_of(record)
    head, _, tail = path.partition(".")
    value = record.get(head)
    return (value or {}).get(tail) if tail else value


def _changed(before: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """The fields (paths of `_EDITED`) an edit sending `sent` changes of the patient `before`."""
    return [path for path in _EDITED if not _same(path, before, sent, _comparable)]


def _same(path: str, before: dict[str, Any], sent: dict[str, Any], compare: Callable[[str, Any], str]) -> bool:
    """Whether the field `path` of an edit's `sent` is what the patient `before` holds, by
    `compare`. A phone number is, too, where the patient has none but holds the number as its
    cell or home number: it reads as the patient's already, and setting the phone number may
    replace those (`_phone_kept_beside`)."""
    if path == "bio.phone_number" and _field(before, path) in (None, ""):
        bio = before.get("bio") or {}
        held = {national_phone(bio.get(key)) for key in OTHER_PHONE_FIELDS if bio.get(key) not in (None, "")}
        if national_phone(_field(sent, path)) in held:
            return True
    return compare(path, _field(before, path)) == compare(path, _field(sent, path))


def _not_applied(before: dict[str, Any], sent: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The FHIR elements a PATCH changes that NexHealth left as they were: each field the edit
    changes that still holds its old value. (Compared old with new: NexHealth may normalize
    what it keeps, so what was sent is only used to find what changes.)"""
    return [
        _EDITED[path]
        for path in _changed(before, sent)
        if _comparable(path, _field(after, path)) == _comparable(path, _field(before, path))
    ]


# `bio`'s fields a write sets (the create's, nexhealth-patients.txt); the rest of `bio` is as read.
_BIO_WRITTEN = frozenset({"date_of_birth", "phone_number", "gender"})


def _differing(before: dict[str, Any], sent: dict[str, Any]) -> set[str]:
    """The fields (paths of `_EDITED`) `sent` changes of the patient `before`, case and all (a
    name's case corrected is a change to send; `_changed` compares as NexHealth may store),
    and those of `bio` it clears (`_clearing`)."""
    changed = {path for path in _EDITED if not _same(path, before, sent, _exact)}
    return changed | set(_clearing(before, sent))


def _changes_bio(before: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Whether an edit's `sent` changes a field of `bio` a write sets (the birth date, phone or
    gender) of the patient `before`."""
    return any(path.startswith("bio.") for path in _differing(before, sent))


def _other_phones_sent(patient: dict[str, Any], left: Mapping[str, str], sent: dict[str, Any]) -> bool:
    """Whether the NexHealth `patient` holds a cell or home number that an update sends back
    (one not among the fields `left` out, `patient.left_out`) other than the phone number its
    edit `sent` sets."""
    bio = patient.get("bio") or {}
    written = national_phone((sent.get("bio") or {}).get("phone_number"))
    return any(
        bio.get(key) not in (None, "") and key not in left and national_phone(bio.get(key)) != written
        for key in OTHER_PHONE_FIELDS
    )


def _phone_kept_beside(read: dict[str, Any], sent_bio: dict[str, Any]) -> bool:
    """Whether the phone number of an edit's `bio` (`sent_bio`, its clears as nulls) is a cell or
    home number the patient's `bio` as `read` holds and the edit does not clear. An edit changing
    `bio` that sends the phone number may lose those (an implementation taking a phone number
    set as replacing the cell and home numbers: the docs say nothing of them), so such a phone
    number is left out: `bio` merged keeps it, and `bio` replaced whole keeps the number in the
    cell or home field sent with it."""
    number = national_phone(sent_bio.get("phone_number"))
    return bool(number) and any(
        national_phone(read.get(key)) == number and sent_bio.get(key, read.get(key)) not in (None, "")
        for key in OTHER_PHONE_FIELDS
    )


def _clearing(before: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """The fields of `bio` (as `bio.<key>`) an edit's `sent` clears (null) that the patient
    `before` holds: what an update left out (`patient.left_out`)."""
    held = before.get("bio") or {}
    return [
        f"bio.{key}"
        for key, value in (sent.get("bio") or {}).items()
        if value is None and key not in _BIO_WRITTEN and held.get(key) not in (None, "")
    ]


def _exact(path: str, value: Any) -> str:
    if path in ("bio.phone_number", "bio.gender", "bio.date_of_birth"):
        return _comparable(path, value)
    return unicodedata.normalize("NFC", str(value or "").strip())


def _comparable(path: str, value: Any) -> str:
    if path == "bio.phone_number":
        return national_phone(value)
    if path == "bio.date_of_birth":  # a date (the docs' `1964-05-03`) however it is served
        written = str(value or "").strip()  # a zero date is none (`birth_date`)
        return birth_date(written) or ("" if written.startswith(ZERO_YEAR) else written)
    text = unicodedata.normalize("NFC", str(value or "").strip()).casefold()
    if path == "bio.gender":  # `M`, `male`, `MALE`: the same gender in another spelling
        return GENDER_FROM_VENDOR.get(text, text)
    return text


def _position(position: Any) -> tuple[int, tuple[str, ...], int | None, int | None]:
    """A patient search position: the page (counted from 1), the ids of the page before (its
    first, to notice a page past the end answered with the last one again, and a sample of the
    others, to tell a second page from the first again: `_second_page`), NexHealth's page size
    as its first page showed it, and the number of its first page (None: not known yet). A
    position written before the size, the numbering or the sample was kept lacks them (pages
    from 1)."""
    if position is None:
        return 1, (), None, None
    page, _, rest = str(position).partition(":")
    first, _, rest = rest.partition(":")
    size, numbered, rest = rest.partition(":")
    base, _, sample = rest.partition(":")
    served = int(size) if size.isdigit() and int(size) > 0 else None
    seen = (first, *(i for i in sample.split(",") if i)) if first else ()
    return int(page), seen, served, (int(base) if base.isdigit() else None) if numbered else 1


def _after_served(patients: list[dict[str, Any]], ids: Sequence[str], seen: Sequence[str]) -> list[dict[str, Any]]:
    """The `patients` of a page (its records' ids in order: `ids`) that the page before, whose
    last id ends `seen`, did not already serve. The docs give the list no order: one listing the
    newest first (a Rails `order(created_at: :desc)`) pushes every later page down by one for
    each patient created while a client pages, so the next page begins with the end of the one
    before. Those records, up to that page's last, were served there; a patient created in the
    meantime among them is one the search did not find when it began."""
    if not seen or seen[-1] not in ids:
        return patients
    served = set(ids[: ids.index(seen[-1]) + 1])
    return [p for p in patients if str(p["id"]) not in served]


def _sample(ids: Sequence[str]) -> str:
    """A page's middle and last ids, beside its first (the position's)."""
    return ",".join(ids[i] for i in sorted({len(ids) // 2, len(ids) - 1}) if 0 < i < len(ids))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def open_windows(start: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """The windows of an open search from `start`: to `FIRST_AHEAD` past `now` (or `start`),
    then ever longer ones to `LATEST`, one of them ending where bookable dates end."""
    bookable = bookable_until(now)
    bounds = [(start, _later(max(start, now), FIRST_AHEAD, bookable if max(start, now) < bookable else LATEST))]
    span = STEP
    while bounds[-1][1] < LATEST:
        low = bounds[-1][1]
        bounds.append((low, _later(low, span, bookable if low < bookable else LATEST)))
        span *= GROWTH
    return bounds


def bookable_until(now: datetime) -> datetime:
    """Where the dates a practice may book end, whatever the search's lower bound."""
    return bookable_end(now, LATEST)


def _later(moment: datetime, delta: timedelta, limit: datetime) -> datetime:
    """`moment` + `delta`, at most `limit`."""
    return limit if limit - moment <= delta else moment + delta


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _start_of(appointment: dict[str, Any], zone: str) -> datetime:
    """When an appointment starts; a time without an offset in its office's zone (`encounter`)."""
    moment = appointment_moment(appointment["start_time"], appointment_zone(appointment, zone))
    if moment is None:  # records are read only with a readable `start_time` (shapes.py)
        raise UpstreamUnusable(f"NexHealth appointment {appointment.get('id')} has no readable start_time")
    return moment


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
    """The one NexHealth search parameter that narrows this query to a superset of its FHIR
    answer under every reading of the docs, if any (see "Where the docs are silent": names and
    phones have none)."""
    for param in query.named("identifier"):
        value = param.values[0]
        if len(param.values) == 1 and isinstance(value, TokenValue) and value.code and value.system == chart_system:
            return "foreign_id", value.code
    code = q.single_token(query, "email")
    if code:
        return "email", code
    low, high, exact = q.date_bounds(query, "birthdate")
    if low and low == high and exact:
        return "date_of_birth", low.isoformat()
    return None


def _bare_identifier(query: SearchQuery) -> str | None:
    for param in query.named("identifier"):
        value = param.values[0]
        if len(param.values) == 1 and isinstance(value, TokenValue) and value.system is None and value.code:
            return value.code
    return None
