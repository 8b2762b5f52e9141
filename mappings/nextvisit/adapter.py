"""The Nextvisit adapter: FHIR interactions planned onto the Nextvisit API.

Search planning (what is pushed down, and why it is safe):
- `_id`, and `identifier` with a numeric patient id → `GET /v1/patients/{id}`.
- `birthdate=YYYY-MM-DD` (eq, day precision) → `filter[date_of_birth]`, exact; other date
  conditions are the gateway's. The vendor's `total` is passed on only when every row it listed
  was born that day: a list that does not read the filter (the docs do not say it is honoured
  strictly) counts every patient, and the gateway's own narrowing leaves it wrong.
- `name`, `family` and `given` send no term (declared `GATEWAY`): no name term is a superset
  of FHIR's answer under every reading of the two name searches the docs offer (see "Where
  the docs are silent"). They are narrowed by `birthdate` when given; otherwise the gateway
  pages through the patient list (50 a page, ascending id) and filters, within the core's
  vendor-call budget per FHIR page (past it the page is shorter and links onwards).
  `gender`, `_lastUpdated` and patient uuids have no Nextvisit filter either.
- `_sort=family|birthdate` → `sort=[-]last_name|date_of_birth`; `_count` → `per_page`. The
  patients sharing the value a page ends in are read whole (the list filtered by it) and served
  with that page, each run in id order: the docs do not say how ties are ordered, and one
  ordered otherwise on each page would repeat some patients and leave others out (`ties`).
  A list may not read `sort` at all (Django REST Framework without an ordering filter, an
  Express handler): a page out of the order asked for (under every collation a database
  keeps names in, `ties.in_order`) says so, and from then on the list's pages are taken in its
  own order: sorted here when the first page is all the list has, else served as they come
  with an outcome entry saying they are not sorted. So is a walk without `_sort` (asked for
  `sort=id`) whose page is not in id order, without a word (no order was asked for); the next
  position of such a walk carries the ids of the page it follows, which are left out there (a
  list newest first shifts them onto the next page when a patient is created in between, where
  id order puts the new one last). Look-ups by id (which ask for `sort=id`) bisect or stop
  early only while the pages are in ascending id order, else walk on.
- Pages by number are offsets (Laravel's `paginate()`), so a patient deleted before a walk's
  position moves the patient that would have opened the next page onto the page before, and
  one created before it (sorted by a field) moves the last one served onto the next page. The
  position of each numbered page remembers the ids the page before served, the vendor's total
  then, and that page's number: the ids are left out if listed again, and a total gone down
  is a delete in between: the page before is read again (one more call, only then) and the
  patients it now lists after the last one it served are served first; when it lists none of
  those any more, the page says patients may have been left out. A list giving no total (a
  simple paginator) tells no delete without a call on every page: nothing is said there.
  Cursor and keyset pages (a position of the vendor's own) do not move. A search page holds
  the patients asked for: filled from the vendor's next page when short, and when a vendor
  page gives more (the run it ends in, read whole; patients recovered), the rest is served
  from the same position later, told apart by the ids already served (`"cut"`), never by a
  count of them that a delete in between would move onto another patient.
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

Where the docs are silent (each point, and how it is read here; `sandboxes.nextvisit`
plays each reading, tests/e2e/test_nextvisit_readings.py runs the clinic walk under them):
- Name search. `filter[last_name]`/`filter[first_name]` ("Filter by last name") may be a
  substring (Spatie's partial filter), prefix or exact match, accent-insensitive (MySQL
  `_ci`) or not (PostgreSQL `ILIKE`), over names stored composed or decomposed (NFD: a
  precomposed `Renée` sent finds nothing); a comma may split the value into alternatives.
  `/v1/patients/search` is Meilisearch (typo-tolerant, folded), but an implementation may
  match otherwise. FHIR's `family=nunez` finds `Núñez`, and any letter of a name may be
  stored accented, so under an accent-sensitive reading no part of a name is safe; under an
  exact reading, only whole values; and a Patient written through the gateway may carry
  further names (kept in `meta`) that neither search sees. So no name term is ever sent.
- Response envelopes: a single patient as `{"data": {...}}` (documented) or the object
  itself (`JsonResource::withoutWrapping()`). A page of patients as Laravel's resource
  collection (`data`, `links`, `meta`), its bare paginator (`current_page`, `last_page`,
  `total`, `next_page_url` at the top level), or a simple paginator (no `last_page` or
  `total`: only `links.next` says more follows), or a cursor paginator (`cursorPaginate()`:
  `meta.next_cursor`, or a `cursor` parameter in the next link; `page` is not read), whose
  next page is asked for with `cursor=` instead of `page`; or keyset pages (an Express or
  Stripe-style API: a next link naming a position of its own, `?after=<last id>` or an
  `offset`, and no page numbers), whose next page is asked for with the parameters the link
  names beyond those a request sends itself (a `page` echoed beside them is not read); with
  no paging data at all (`links` and `meta` empty, as the docs' example shows them, or `[]`,
  PHP's encoding of an empty array), a page with
  patients means "ask for the next", and a next page that lists the same patients again after
  one of more or fewer than `per_page` patients is the end: the list ignores `page` and
  `per_page` and answered all it has at once (Django REST Framework without a pagination class),
  or it honoured `per_page` and had no more; no warning then. After exactly `per_page` patients
  the same ones again are a list that ignores `page` only (below). The first page is asked for
  without `page` (the docs name no page parameter, and a list may count its pages from 0, as
  Spring Data's `Pageable` does, where `page=1` is the second page): each page after it by the
  number its predecessor's next link names (when it moves on), else the one after the number
  it states. A 404 to a numbered page is a page past the end (Django REST Framework's
  "Invalid page."): empty. An empty page ends the walk whatever the numbers say (a page past
  the end). A page after the first that is not the one
  asked for (it states another number; or it states none and lists the patients of the page
  before, told by a digest of their ids the paging position carries; or it states none and
  there is nothing to compare it with) ends the walk with an outcome entry instead of being
  served again. A page's `data` may be null: nobody listed (Go's nil slice), or, beside the paging fields,
  left out (a field tagged `omitempty`): nobody listed either. `total` is
  used only when given (and only for an exact query). `data` may be an object of records
  (PHP's encoding of a non-sequential array): its values, in order.
- Error bodies (none shown): Laravel's `{"message", "errors"}`, `{"error": ...}` or text;
  the status decides what the error means (see the client).
- Dates and times: ISO 8601 with `T` or a space (SQL's `2024-01-05 10:00:00`), fractions
  (Laravel's `.000000Z`), `Z`, an offset or no zone (a wall-clock time in the tenant's
  `options.vendor_timezone`, default UTC, Laravel's default app timezone: the docs write every
  time with `Z`, but an implementation keeping local times, Spring's `LocalDateTime` or Django
  with `USE_TZ = False`, writes its app zone's clock without one; a time a DST change repeats is
  its first occurrence);
  US `01/05/2024` (month first: a US product; a day-first reading cannot be told apart); an
  HTTP-date (`Fri, 05 Jan 2024 10:00:00 GMT`: Flask's `jsonify` writes every `datetime` and `date`
  so, a date at its midnight) or a zone named after the time (Ruby's `Time#to_s`, `... UTC`);
  a number as seconds since the epoch, or milliseconds when it is too large to be seconds
  (10^11 and up: a JavaScript `Date` as knex stores it in SQLite). `date_of_birth` may come
  as a date-time (Laravel's `date` cast, midnight UTC): its date as written is the birth
  date. A birth date that is no date makes the patient unreadable (a 502 naming the field;
  left out of lists with a warning), never a patient silently without one.
- No date: a stand-in a column that cannot be null writes (MySQL's `0000-00-00`, Carbon's
  `-0001-11-30`, Go's zero `0001-01-01T00:00:00Z`) is no date, in `deleted_at` too (a Go
  struct writes it, zero, for every live patient). A birth date written as a date-time at
  another hour than midnight is a midnight serialised in another zone (Carbon's `toJSON()`
  writes an app timezone east of UTC the evening before): the nearest UTC midnight's day.
- Words (`vendor`, `allergy`, `medication`, `encounter`, `patient` say each): gender in any
  case, one-letter (`F`, `X`, `U`) or `nonbinary`; encounter statuses a scheduler or chart
  writes (`booked`, `checked_in`, `complete`, `signed`, `canceled`, `no_show`, camelCase);
  a visit type naming tele-, video, virtual or phone is virtual; allergy texts that record
  nothing (`N/A`, `-`, `Unknown`) are no allergy, `No allergies`/`Denies`/`NKA/NKDA` no known
  allergy, also as one item beside allergies to other things (`NKDA; Latex`);
  a list stored as its JSON text, or one item a line behind `-`/`1.`, is that list;
  `latest_medications` as one text is split into its lines (or `;`/`,` items), `None` and
  `N/A` entries are no drug, and an object names its drug as `name`, `medication` (text or
  an object), `medication_name`, `drug` or `drug_name`, with `strength`/`dosage`/`dose` and
  `frequency`/`sig`, and may say its `status` (`active`, `on_hold`, `discontinued`,
  `completed`...: served as R4's; a text entry's status is `unknown`).
- Booleans (`signed`: `true`, `1` or `"1"`) and other documented fields no FHIR element
  needs (`notes`, `insurance`, `user`, `team`, `timeline`, `created_at`, `deleted_at`; an
  encounter's `uuid`, `patient_id`, `created_at`) are declared but never read: no value
  there can make a record unreadable.
- Null and absent optional fields are the same: nothing recorded. Not so for the records a
  patient holds (`allergies`, `latest_medications`, `encounters`): null or empty is "none
  recorded", but an answer without the key says nothing. The documented PatientFull answers
  never show `allergies`, and an implementation that drops null fields (a reading the
  simulator plays) looks like one that does not send the field, unless the same answer shows
  how it writes nulls: a documented nullable attribute (`middle_name`, `gender`,
  `date_of_birth`, `notes`) given as null says nulls are written (absent is not sent); one of
  them missing, none null, says nulls are dropped (an absent `allergies` or
  `latest_medications` was null: none recorded; `vendor.leaves_nulls_out`). Otherwise absent is
  unknown: the search leaves it to an outcome entry naming the field and gives no total, a
  read of such a record is a 502, and a CCD (all or nothing) is refused, never rendered as
  "no known allergies" or as an empty section. An absent relation (`encounters`, `[]` when
  empty) is always unknown.
- The list's `per_page` has no documented maximum (the search endpoint's is 100): lists ask
  for the documented default, 50, which every implementation takes.
- `PUT /v1/patients/{id}`: whether the fields a body leaves out keep their values or become
  null (a PUT that replaces the record) is not said. An update sends back the `notes` and
  `allergies` text it has just read (the Patient carries neither), so both survive either
  reading. Allergies answered as a list of texts or of rows (a vendor keeping them as one; a row
  as "Penicillin (hives)") are sent back as the text the body takes, joined as the docs' example
  writes them ("Penicillin, Sulfa drugs"). What cannot be sent back (a row naming no substance;
  a field the answer left out) a replacing PUT would wipe: no request can prevent that.
- A field an update sends as null (`middle_name`, "string or null", no more said): an app
  updating "the fields given" skips it (Spring, ASP.NET: a bound DTO cannot tell null from
  absent), so a middle name the update leaves out that the read-back still shows is sent again
  as empty text; one that stays even so (Laravel's `array_filter`) is named as not stored.
- `meta` ("Additional metadata", no more said) in a write: the copy of the Patient kept there is
  sent with null for what it no longer holds, as an app may merge the `meta` sent into the
  stored one, by key (Stripe's `metadata`, `array_merge`) or at every depth (RFC 7396), where a
  key left out would stay (`patient._replacing`). An app may not take `meta` at all (Rails'
  strong parameters permitting `:meta` as a scalar drop an object, unsaid): each create and
  update names what the patient read back does not hold of the one sent
  (`patient.unkept_elements`), never losing it unsaid.
- The create answer: documented as `{"data": PatientFull}` (201); the record itself, or
  `{"message", "patient": {...}}`, or only its `id` are read for the new id; an answer that
  names none (`{"message": "Patient created successfully"}` like the delete's, that message
  as text, or no body at all) is followed by a look-up of the newest patient with the names
  and birth date sent (the list filtered by that date, newest id first), never a 502 for a
  patient that exists. An update or delete answered with a message as text is done too.
- Request limits: none documented; a Laravel 10 app's `api` routes carry `throttle:api` (60 a
  minute, 429 with `Retry-After`). Calls are paced under the limit the tenant configures, and a
  read waits out a 429 whose window ends soon enough (the client). A create is read back once
  done; a read-back that is
  throttled (or fails for now: a 5xx, a timeout) answers the create as done (201 with its id)
  with the record the create answered, else the body sent with its new id, never a 429 the
  client would retry into a second patient. A look-up of the new id that fails so is a 502
  saying the patient was created. Nor do the docs say when a write can be read: reads served by
  a replica behind the writes (Laravel's `read` connection without `sticky`; Rails' automatic
  role switching, whose time on the primary after a write follows a session cookie a token
  client never sends) do not find a patient just created. A read-back that does not find the
  patient the create named is answered the same way, saying so: never a 404 for a patient made.
- A show of no patient: documented by example only for a patient found; a handler that answers
  what its look-up found answers 200 with `{"data": null}` (Express), `null` (Go, a nil pointer)
  or `{}` where Laravel's `findOrFail` answers 404. An answer naming no patient (no `id`, nothing
  but empty values or a message) is read as the 404 (then, as for it, a deleted patient is 410),
  never as a patient that cannot be read.
- Soft-deleted patients: documented as gone from reads ("Soft deletes"); a read or list
  answer that still carries one (a non-null `deleted_at`: `withTrashed()`) is read as
  deleted: the read is 410 Gone, the list leaves it out. A list that ignores
  `filter[trashed]=only` (it lists live patients: a row with a `deleted_at` that is no date, or
  the same patients as without the filter) lists no deleted one: a 404 read is then a 404 (the
  vendor gives no way to tell a deleted patient), after two list calls, not a walk of the whole
  list. A delete answered with 204 and no
  body is a success like the documented 200.
- Drift: fields no model declares are kept and reported to the tenant's drift monitor by
  path (`patient`, `encounter`, `patient-list` shapes), as are the paths of records that
  could not be read; never a value.
- The encounter shape (only `encounters: []` is shown). Read: `id` (number or digit
  string; required — without it a record has no identity and is reported); `status`
  (case, `-`/space/`_` and US/UK `canceled` alike: scheduled/planned → planned,
  in_progress → in-progress, completed/finished → finished, cancelled → cancelled, anything
  else → unknown); `visit_type` (telehealth, telemedicine, virtual, video → class VR, else
  AMB); `type` (else `title`) and `reason` (text; `type` may be an object with a `name`).
- The encounter's time: `start_time`, else `date_of_service`, `started_at`, `encounter_date`,
  `visit_date`, `starts_at` or `date` (the names a team on another stack gives the column), or
  a Rails `*_at` column (`start_at`, `scheduled_at`, `occurred_at`, `visited_at`, `seen_at`); the
  end `end_time`, else `ended_at`, `ends_at` or `end_at`. A null alternative falls through to
  the next. A start or end that is a time of day alone (`10:00:00`: a TIME column, as Django REST
  Framework writes a `TimeField`; or a time on Rails' dummy day, `2000-01-01T10:00:00.000Z`, as
  Rails writes a `time` column) is on the day a date alone under another spelling gives (`date`:
  a DATE column), an end earlier than the start on the day after (`vendor.on_its_day`). A time
  under none of them leaves the encounter without a period: the field is
  reported to the drift monitor (`encounter` shape), and a date search names each such
  encounter in an outcome entry (it cannot tell whether it matches), never leaving it out
  silently. Values are
  ISO 8601: a date-time with `Z`/offset, or none (`options.vendor_timezone`'s wall clock, as
  everywhere in this adapter), or a date alone (kept as a date, no midnight invented). A
  value that is no date (e.g. Feb 30) or not a string makes the encounter unreadable.
- The clinician: `provider`, else `user` (Nextvisit's clinicians are its users: an encounter that
  `belongsTo` one is written as PatientFull writes its `user`, `{id, name, email}`), `clinician` or
  `practitioner`; the first that names someone is the primary performer.
- References (`provider`, `user`, `location`, also `type`): an object (`name`, `display_name`,
  `display`, `description` (a code table's row, `{code, description}`), or `first_name` +
  `last_name`, else `label`, `title` or `text`; a provider's `credentials`), or a plain string
  (its name), or a number / digit string (an id alone: nothing to display, so no performer or location is
  shown). Anything else (a list, a boolean) makes the encounter unreadable.
- Keys of the records the docs never show (an encounter and its references, demographics,
  medication rows): snake_case like PatientFull's, or camelCase (`startTime`, `visitType`,
  `postalCode`, `discontinuedAt`), as a framework keys what no document named (ASP.NET's
  System.Text.Json web defaults, a TypeScript team's properties); a snake_case key wins over its
  camelCase twin (`vendor.snake_keys`).
- Numbers as strings: ids (patient, encounter, reference) may be numbers or digit strings;
  text fields given as numbers (a phone, a postal code) are their decimal text.
- The demographics shape (not in the docs at all): `email` (`email_address`), `phone`
  (`phone_number`, `mobile_phone`, `cell_phone`, `mobile`, `home_phone`), `address_line1`
  (`address_line_1`, `address1`, `address` as text), a second line, `city`, `state`,
  `postal_code` (`zip`, `zip_code`, `zipcode`); `address` may be an object of those parts
  (`line1`, `street`, `zip`...); a list of such objects (a `hasMany` relation) is read as
  one, later rows over earlier; missing fields are absent; `demographics` null or `[]` (PHP's
  encoding of an empty array, as for `meta`) means none recorded.
- `include=demographics,encounters` on `GET /v1/patients/{id}`: the docs list includes for
  the list only, and show the show's answer with `encounters` unasked; an implementation on
  Spatie's query builder serves a relation only when it is included (`whenLoaded`), so both
  are asked for, and an answer still without `encounters` is unknown, not "no visits" (see
  "Null and absent" above). A show whose include allow-list lacks one of them (Spatie's 400
  for the include) is asked for fewer, in turn: `demographics` alone, `encounters` alone (the
  relations its documented answer carries), none; the first it takes is kept. A read whose
  answer has no `demographics` key (an implementation ignoring the include there, or refusing
  it; null is an answer, "none recorded") looks the patient up in the list, which
  takes that include: filtered by its birth date (an exact filter; no name filter, whose
  matching is open, see above), walked in id order and picked by id. Search and read then map the
  same payload, so telecom, address and the content-hash versionId agree. (Computing the
  versionId from the fields both answers carry would hide the difference, not remove it:
  the telecom would still differ.) When the list leaves the demographics out too, neither
  answer has them and they still agree. One extra call, only for such implementations.
- `meta`: an object, or `[]` (PHP's encoding of an empty array) or null, both read as `{}`;
  its JSON text (a JSON column without an `array` cast) is decoded; anything else is `{}`.
- `allergies`: documented as text; a list of text items is read as that list, item by item, and
  so is a list of rows (a `hasMany` rendered as a relation; the PatientFull examples never show
  the field) naming a substance (`name`, `substance`, `allergen`...) with its `reaction`(s),
  read as "Penicillin (hives)" is written (an item naming none is reported, the others
  served); anything else is reported.
- `latest_medications` items (shown only as `[]`): text as written, or an object naming the
  drug (`name` or `medication`, with `strength` or `dosage` appended; a dose written as a bare
  number with its unit apart, `"dose": "10.00", "dose_unit": "mg"`, as `10 mg`), dated when it says when
  it was started and ended (`started_on`/`ended_on`, `start_date`/`end_date`, `*_at`, a stop
  time: the statement's `effectivePeriod`); an object with no name, a date that is no date or
  an item that is neither is reported; null items are skipped. One text instead of a
  list is one entry. A list may come as an object (PHP's encoding of a non-sequential
  array): its values are the items, in order (same for `encounters` and `allergies`). Any of the
  three may come as a paginated relation (`{"data", "links", "meta"}`, a resource collection
  of `->paginate(n)`): its page is read, and when its paging data says more follow, the rest
  are reported as records that could not be read (`pages.beyond_first_page`), never dropped.
- Missing optional fields are simply absent from the FHIR resource.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from functools import partial
from typing import Any, NamedTuple

from gateway.contract import (
    AdapterConfig,
    Resource,
    ResourceProvider,
    SearchRequest,
    TenantContext,
    VendorPage,
    Written,
    by_type,
    create_condition,
)
from gateway.errors import (
    FHIRError,
    Gone,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    Throttled,
    UpstreamError,
    UpstreamSecurity,
    UpstreamTimeout,
    UpstreamUnusable,
    VendorUnavailable,
)
from gateway.search import planning as q
from gateway.search.match import sorted_by
from gateway.search.model import SearchQuery, TokenValue
from gateway.text import nfc_text
from mappings.fhirjson import unversioned
from mappings.ids import is_int_id
from mappings.nextvisit import ties
from mappings.nextvisit.allergy import allergies_read
from mappings.nextvisit.capabilities import ALLERGY, ENCOUNTER, MEDICATION, PATIENT
from mappings.nextvisit.client import NextvisitClient, Refused
from mappings.nextvisit.conditions import (
    MADE_AND_DELETED,
    NOTHING_WRITTEN,
    unconfirmed_create,
    unmet_terms,
    unselectable_condition,
)
from mappings.nextvisit.encounter import encounters_to_fhir
from mappings.nextvisit.left_out import LEFT_OUT_WHEN_EMPTY, included, left_out_when_empty
from mappings.nextvisit.medication import medications_read
from mappings.nextvisit.options import NextvisitOptions, vendor_timezone, with_vendor_timezone
from mappings.nextvisit.pages import JSON_API_PAGE, VendorList, read_list
from mappings.nextvisit.patient import copy_dropped, patient_from_fhir, patient_to_fhir, unkept_elements
from mappings.nextvisit.vendor import (
    Mapped,
    Unreadable,
    UnreadablePayload,
    VendorEncounter,
    VendorPatient,
    drift_path,
    not_returned,
    read_encounters,
    read_patient,
    without_offset,
)

log = logging.getLogger("mappings.nextvisit")

MAX_PAGE_SIZE = 100  # records inside one patient payload: no vendor paging at all
# The list's documented default `per_page`: every implementation takes it, while the docs give
# the list no maximum (the search endpoint's is 100; a list may refuse more than 50).
LIST_PAGE_SIZE = 50
MAX_TRASH_PAGES = 40
MAX_CREATED_PAGES = 4  # list pages read to find a patient the create answer did not name
MAX_DEMOGRAPHICS_PAGES = 16  # list pages read to find one patient's demographics (bisected)
# Seconds before a list page that showed no list left out when empty (`left_out`) is asked again.
LEFT_OUT_PROBE_SECONDS = 300.0
# Vendor pages one search page is filled from: a page asked for holds as many patients as asked
# for (`_search_patients`), so the gateway never resumes inside one by a count of patients (a
# delete in between would move that count onto another patient).
MAX_FILL_PAGES = 3
# The ids a numbered page's position keeps of the page before (`_remembered`): its last ones
# place the walk; every id would make each link of a long walk, with its way back, kilobytes long.
SERVED_KEPT = 8
MAX_RUN_PAGES = 5  # list pages read for the patients sharing the sort value a page ends in
# What a read may meet that says nothing of the record read: the vendor throttling (a 429: the
# docs name no limit, and a Laravel 10 app's `api` routes carry `throttle:api`, 60 requests a
# minute), failing, or slow. After a create the vendor has answered with a 2xx, such a failure of
# the read-back is no failure of the create: answered as one, the client (FHIR's create is not
# idempotent) would send it again and make a second patient.
_NOT_READ_NOW = (Throttled, UpstreamError, UpstreamTimeout, VendorUnavailable)
_NOT_READ_BACK = (
    "The patient was {done}, but reading it back from Nextvisit failed for now (HTTP {status}): "
    "the resource answered is what the vendor answered or was sent, and may differ from a later read"
)
_NOT_FOUND_YET = (
    "The patient was created, but Nextvisit's read of it has not found it yet (its reads may lag its writes, "
    "as a replica does): the resource answered is what the vendor answered or was sent, and may differ from "
    "a later read"
)
_PERHAPS_SKIPPED = (
    "Patients were deleted from Nextvisit's list since the page before, which no longer lists any patient "
    "it listed then: where the list resumes cannot be told, and patients may have been left out of this "
    "walk here. Search again to list every patient"
)
_SORT_FIELDS: dict[str, ties.SortField] = {"family": "last_name", "birthdate": "date_of_birth"}
_UNSORTED = (
    "Nextvisit did not sort the patient list by {field} as asked: these patients are in the vendor's "
    "own order, not by {sort}"
)
# The relations a read asks for: the docs list `include=user,team,encounters,demographics` (on the
# list), and a show built on the same Spatie query builder loads only what is included. Then,
# while the show refuses them (an allow-list of its own), fewer: the last asks for none.
_SHOW_INCLUDES: tuple[str | None, ...] = ("demographics,encounters", "demographics", "encounters", None)
Children = Callable[[VendorPatient], Mapped]
Position = int | dict[str, Any] | None
"""Where a walk of the patient list is: None (its first page, asked for without a number); page
n (the vendor's number, which may count from 0) of a list that numbers its pages;
`{"page": n, "seen": <VendorList.fingerprint of page n - 1>}` of one that does not;
`{"cursor": c, "seen": <the fingerprint of the page that gave c>}` of a list paged by cursor;
`{"link": {"after": "42"}, "seen": ...}` of one whose next link names a position of its own.
A sorted walk's position also says which patients of the run of one value the page before
ended in were served (`"tie"`: mappings.nextvisit.ties); a numbered page's position also the ids
the page before served (`"served"`), the vendor's total then (`"total"`) and that page's number
(`"back"`, None for the first page, asked for unnumbered): `_remembered`. A search position
may name one of these with the ids of its patients already served: `{"at": <position>, "cut":
[ids]}` (`_cut_from`)."""


class NextvisitAdapter:
    def __init__(self, config: AdapterConfig[NextvisitOptions]) -> None:
        self.client = NextvisitClient(config)
        self._ctx = with_vendor_timezone(config.context, config.options)
        # Whether the operator has yet to hear that the vendor writes times without an offset,
        # read in a zone nobody chose (UTC by default): only the operator knows the app's zone.
        self._zone_untold = "vendor_timezone" not in config.options.model_fields_set
        self._show_includes = 0  # the first of _SHOW_INCLUDES the show has not refused
        self._sort_ignored = False  # whether the list was seen to answer in its own order
        # The lists the vendor's list answers were seen to leave out when empty (`left_out`), and
        # when a read missing one may next ask a list page whether it does.
        self._page_by_json_api = False  # whether list pages are asked for as `page[number]`
        self._left_out: frozenset[str] = frozenset()
        self._meta_dropped = False  # whether a create was seen not to keep the copy in `meta`
        self._left_out_probe_after = 0.0
        self._drift = config.drift
        self._providers = by_type(
            ResourceProvider(
                PATIENT,
                self._read_patient,
                self._search_patients,
                create=self._create_patient,
                update=self._update_patient,
                delete=self._delete_patient,
                max_page_size=LIST_PAGE_SIZE,
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

    # -- reading the vendor's answers (every one goes past the drift monitor) ------------------

    def _read(self, raw: Any) -> VendorPatient:
        """A patient payload read; UnreadablePayload (naming the field) when it cannot be."""
        try:
            patient = read_patient(raw)
        except UnreadablePayload as exc:
            self._drift.unreadable("patient", [drift_path(exc.field)])
            raise
        encounters = read_encounters(patient)
        self._drift.fields("patient", patient)
        self._drift.fields("encounter", encounters)
        if self._zone_untold:
            self._tell_of_local_times(patient, encounters)
        return patient

    def _tell_of_local_times(self, patient: VendorPatient, encounters: list[VendorEncounter]) -> None:
        """Once, a warning when the vendor writes times without an offset while the tenant names
        no `vendor_timezone`: they are read as UTC, hours off unless the app's zone is UTC, and
        nothing in an answer says which zone it is. Field names only, never a value."""
        fields = [
            *(["updated_at"] if without_offset(patient.updated_at) else []),
            *(["encounters[].start"] if any(without_offset(e.start) for e in encounters) else []),
        ]
        if fields:
            self._zone_untold = False
            log.warning(
                "Nextvisit tenant %s: the vendor writes times without an offset (%s), read as UTC; if its "
                "app keeps another zone's clock, set options.vendor_timezone to it (an IANA name)",
                self._ctx.tenant,
                ", ".join(fields),
            )

    def _readable(self, raw: Any, patient_id: str) -> VendorPatient:
        try:
            return self._read(raw)
        except UnreadablePayload as exc:
            raise UpstreamUnusable(f"Patient/{patient_id} could not be read: {exc}") from None

    def _children_of(self, children: Children, patient: VendorPatient) -> Mapped:
        found, unreadable = children(patient)
        for record in unreadable:
            self._drift.unreadable("patient", [drift_path(record.field)])
        return found, unreadable

    async def _list(self, params: dict[str, str | int]) -> VendorList:
        """One page of `GET /v1/patients`, whatever paginator shape the vendor answers with. A
        numbered page past the last is empty: Laravel answers it so, Django REST Framework's
        `PageNumberPagination` with 404 "Invalid page." (a page a next link named, say, before
        patients were deleted), which says nothing of any patient. The docs name no page
        parameter: a page is asked for as `page`, or, once the vendor answered `page` with
        another page and links by JSON:API's `page[number]` (Spatie's `jsonPaginate()`), by that
        (asked again so at once)."""
        number = params.get("page")
        sent = params
        if number is not None and self._page_by_json_api:
            sent = {**{k: v for k, v in params.items() if k != "page"}, JSON_API_PAGE: number}
        try:
            body = await self.client.request("GET", "/v1/patients", params=sent)
        except NotFound:
            if number is None:
                raise  # the first page: the list itself is not there
            return VendorList(data=[])
        try:
            page = read_list(body)
        except UnreadablePayload as exc:
            self._drift.unreadable("patient-list", [exc.field])
            raise UpstreamUnusable(f"The vendor's patient list could not be read: {exc}") from None
        self._drift.fields("patient-list", page)
        self._left_out |= left_out_when_empty(page.data, included(params))
        if number is not None and not self._page_by_json_api and _answered_another_page(page, int(number)):
            log.info("Nextvisit pages its patient list by page[number]: asked so from now on")
            self._page_by_json_api = True
            return await self._list(params)
        return page

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
        patient_id, dot, _ = resource_id.partition(".")
        if not dot:  # no record of a patient has an id without its patient's: not one of ours
            raise NotFound(f"{resource_type}/{resource_id} does not exist")
        try:
            patient = await self._patient(patient_id)
        except NotFound:  # said of the record asked for, not of a patient the client never named
            raise NotFound(f"{resource_type}/{resource_id} does not exist") from None
        except Gone:
            raise Gone(f"{resource_type}/{resource_id} belongs to a deleted patient") from None
        found, unreadable = self._children_of(children, patient)
        for child in found:
            if child["id"] == resource_id:
                return child
        for record in unreadable:
            # This very record, or one whose id cannot be known: "does not exist" would be a guess.
            if record.record_id in (resource_id, None):
                raise UpstreamUnusable(record.message)
        raise NotFound(f"{resource_type}/{resource_id} does not exist")

    async def _show(self, patient_id: str) -> Any:
        """`GET /v1/patients/{id}` with the relations a read maps. The docs document `include` on
        the list only: a show with an allow-list of its own answers Spatie's 400 for an include
        it lacks (its answers then carry that relation or not: an absent key is unknown,
        `vendor.not_returned`; absent demographics are read from the list), so it is asked for
        fewer, in turn (`_SHOW_INCLUDES`), and the first it answers is asked for from then on.
        Refused without any include, the refusal is of the read itself: the first one stands."""
        path = f"/v1/patients/{patient_id}"
        refusal: InvalidRequest | None = None
        for index in range(self._show_includes, len(_SHOW_INCLUDES)):
            include = _SHOW_INCLUDES[index]
            try:
                body = await self.client.request("GET", path, params={"include": include} if include else None)
            except InvalidRequest as exc:
                refusal = refusal or exc
                continue
            self._show_includes = index
            return body
        assert refusal is not None  # `_show_includes` is never past the last entry: the loop ran
        raise refusal

    async def _patient(self, patient_id: str) -> VendorPatient:
        if not is_int_id(patient_id):
            raise NotFound(f"Patient/{patient_id} does not exist")
        try:
            body = await self._show(patient_id)
        except NotFound:
            body = None
        except Refused:
            if not await self._shows_its_own(patient_id):
                raise  # the gateway's access is refused: the operator's to check
            # Another team's patient, refused by an authorization policy: not one of this
            # tenant's patients, as one a team-scoped look-up does not find.
            raise NotFound(f"Patient/{patient_id} does not exist") from None
        raw = _single(body)
        if _names_nobody(raw):
            # The documented 404, or a 200 that names no patient (`{"data": null}`, `null`, `{}`:
            # an Express or Go handler answering what its look-up found, nothing).
            if await self._trashed(patient_id):
                raise Gone(f"Patient/{patient_id} has been deleted")
            raise NotFound(f"Patient/{patient_id} does not exist")
        patient = self._readable(raw, patient_id)
        if patient.deleted:
            # An implementation whose show finds soft-deleted patients too (`withTrashed()`).
            raise Gone(f"Patient/{patient_id} has been deleted")
        if "demographics" not in raw:
            patient = await self._with_demographics(patient)
        missing = [field for field in LEFT_OUT_WHEN_EMPTY if not_returned(patient, field, "Patient")]
        if missing:
            patient = await self._with_left_out(patient, missing)
        return patient

    async def _shows_its_own(self, refused_id: str) -> bool:
        """Whether the vendor shows this tenant's own patients while it refused `refused_id`
        with a 403, and `refused_id` is not one of them: then the refusal is of another team's
        patient (a policy's "This action is unauthorized."), not of the gateway's access. Told
        by a patient the list gives read as usual, and the refused one absent from the list
        ("patients for the current team", the docs): one listed there yet refused is this
        tenant's patient that the gateway's account may not read, the operator's to check,
        never "does not exist" (its allergy search would then answer "none")."""
        try:
            listed = await self._list({"per_page": 2, "sort": "id"})
            ids = [str(i) for i in _row_ids([r for r in listed.data if isinstance(r, dict)])]
            if not ids or refused_id in ids:
                return False
            await self._show(ids[0])
            team: dict[str, str | int] = {"per_page": LIST_PAGE_SIZE, "sort": "id"}
            return await self._listed_row(int(refused_id), team) is None
        except (UpstreamSecurity, NotFound):
            return False

    async def _with_demographics(self, patient: VendorPatient) -> VendorPatient:
        """The patient with the demographics its read left out (an implementation that ignores
        `include` there): from the list, which takes the same include and has no id filter, so
        the patient is looked up among those born the same day (an exact date filter; no name
        filter, whose matching the docs leave open), in ascending id order. Search and read
        then give the same resource; when the list leaves them out too, neither has them."""
        params: dict[str, str | int] = {"include": "demographics", "per_page": LIST_PAGE_SIZE, "sort": "id"}
        if patient.date_of_birth:
            params["filter[date_of_birth]"] = patient.date_of_birth
        row = await self._listed_row(int(patient.id), params)
        if row is None or "demographics" not in row:
            return patient
        found = self._readable(row, patient.id)
        return patient.model_copy(update={"demographics": found.demographics})

    async def _with_left_out(self, patient: VendorPatient, missing: list[str]) -> VendorPatient:
        """The patient with the lists its read left out (`missing`: `encounters`,
        `latest_medications`) as its row of the list gives them, where the list leaves such a
        list out when it is empty (`left_out`): the row's, or none where the row leaves it out
        too. Not where the list was never seen to (a page asked for visits, at most once in
        `LEFT_OUT_PROBE_SECONDS`, tells): then a missing list stays unknown. The row, not the
        read alone: a read that never loads the relation would otherwise say "no visits" of a
        patient with some."""
        params: dict[str, str | int] = {"include": "encounters", "per_page": LIST_PAGE_SIZE, "sort": "id"}
        try:
            if not self._left_out.issuperset(missing) and time.monotonic() >= self._left_out_probe_after:
                self._left_out_probe_after = time.monotonic() + LEFT_OUT_PROBE_SECONDS
                await self._list(params)
            known = [field for field in missing if field in self._left_out]
            if not known:
                return patient
            if patient.date_of_birth:
                params["filter[date_of_birth]"] = patient.date_of_birth
            row = await self._listed_row(int(patient.id), params)
        except (InvalidRequest, *_NOT_READ_NOW):
            return patient  # a list refusing the include, or failing now: the lists stay unknown
        if row is None:
            return patient
        found = self._readable(row, patient.id)
        return patient.model_copy(update={field: getattr(found, field) if field in row else [] for field in known})

    async def _listed_row(self, patient_id: int, params: dict[str, str | int]) -> dict[str, Any] | None:
        """The row of `patient_id` in a list sorted by ascending id: pages are bisected (between
        the first and the last page, or, when the vendor does not say which page is last,
        doubling the page number until one lies past the patient), so a patient among
        thousands (one without a birth date to filter by) costs a dozen calls, not a walk.
        Pages are counted from 1 here (`nth`) and asked for by the vendor's numbers, which
        start where its first page (asked for unnumbered) says: at 0 for some lists."""
        low, high, nth = 1, None, 1  # its page lies within [low, high]; high None: not known yet
        first = 1  # the number of the vendor's first page, as its answer gives it
        for _ in range(MAX_DEMOGRAPHICS_PAGES):
            number = nth - 1 + first
            listed = await self._list({**params, **({} if nth == 1 else {"page": number})})
            if listed.by_cursor:  # no page numbers to bisect: walked in id order instead
                return await self._walked_row(patient_id, params)
            if nth == 1:
                first = number = _first_number(listed)
            rows = [row for row in listed.data if isinstance(row, dict)]
            for row in rows:
                if _same_id(row.get("id"), str(patient_id)):
                    return row
            ids = _row_ids(rows)
            if ids != sorted(ids):  # a list that does not read `sort`: no order to bisect
                return await self._walked_row(patient_id, params)
            if not ids or patient_id < min(ids):
                high = nth - 1  # this page is past the patient (or past the end)
            elif patient_id > max(ids):
                if not listed.has_more(number):
                    return None
                low = nth + 1
                if high is None and listed.last_page_number is not None:
                    # The last page's number, or (some count from 0) how many there are: one
                    # page too far at worst, which is empty and so past the end.
                    high = listed.last_page_number - first + 1
                elif high is None and listed.page_count is not None:
                    high = listed.page_count  # how many pages there are (`total_pages`)
            else:
                return None  # its place in the order is on this page, and it is not there
            if high is not None and low > high:
                return None
            nth = nth * 2 if high is None else (low + high) // 2
        return None

    async def _walked_row(self, patient_id: int, params: dict[str, str | int]) -> dict[str, Any] | None:
        """The row of `patient_id` in a list asked for in ascending id order, page after page;
        past its place in that order, the end, while the list keeps it (one that does not read
        `sort` answers its own order, and is walked on)."""
        seen: list[int] = []
        async for listed in self._walk(params, MAX_DEMOGRAPHICS_PAGES):
            rows = [row for row in listed.data if isinstance(row, dict)]
            for row in rows:
                if _same_id(row.get("id"), str(patient_id)):
                    return row
            seen += _row_ids(rows)
            if seen == sorted(seen) and any(i > patient_id for i in seen):
                return None  # past its place in the order
        return None

    async def _trashed(self, patient_id: str) -> bool:
        """Whether `patient_id` is among the soft-deleted patients (`filter[trashed]=only`). An
        implementation that refuses that filter has no such list: the id then just does not
        exist (a 404 rather than a 410, never a failed read)."""
        trashed: dict[str, str | int] = {"filter[trashed]": "only", "per_page": LIST_PAGE_SIZE}
        try:
            first = True
            async for listed in self._walk(trashed, MAX_TRASH_PAGES):
                if first and await self._lists_the_living(listed, trashed):
                    return False
                first = False
                if any(isinstance(row, dict) and _same_id(row.get("id"), patient_id) for row in listed.data):
                    return True
        except InvalidRequest:
            return False
        return False

    async def _lists_the_living(self, listed: VendorList, params: dict[str, str | int]) -> bool:
        """Whether `listed`, the first page of the list asked for soft-deleted patients only
        (`params`), lists live ones: an implementation that ignores `filter[trashed]` (Express,
        Django REST Framework and Rails ignore a query parameter they do not know). Nothing it
        lists is then a deleted patient, and the walk would read the whole list for nothing (a
        404 read costing dozens of calls). Told by a row saying it is live (a `deleted_at` given,
        and no date), else by the same patients as the list without the filter gives; a row
        without `deleted_at` says nothing (an implementation may not write it). A page that also
        lists a deleted patient is a list showing them unasked (`withTrashed()`): walked on."""
        states = [_deleted_state(row) for row in listed.data]
        if not states or True in states:
            return False
        if False in states:
            return True
        unfiltered = {name: value for name, value in params.items() if name != "filter[trashed]"}
        return (await self._list(unfiltered)).fingerprint == listed.fingerprint

    async def _walk(self, params: dict[str, str | int], limit: int) -> AsyncIterator[VendorList]:
        """Up to `limit` pages of the patient list in order, by page number or by the vendor's
        cursor; the walk ends after the last page, or at an answer that is not the page asked for."""
        position: Position = None
        for _ in range(limit):
            listed = await self._list({**params, **_paging(position)})
            if _repeated_whole(listed, position) or _not_as_asked(listed, position):
                return
            yield listed
            position = _following(listed, position, int(params["per_page"]))
            if position is None:
                return

    # -- search -------------------------------------------------------------------------------

    async def _search_children(self, children: Children, request: SearchRequest) -> VendorPage:
        patient_id = q.single_patient(request.query)
        try:
            patient = await self._patient(patient_id)
        except (NotFound, Gone):
            return VendorPage([], None, total=0)
        found, unreadable = self._children_of(children, patient)
        exact = q.only(request.query, "patient", "subject") and not unreadable
        warnings = _messages(unreadable)
        if request.query.named("date"):
            warnings += _undated(found)
        return VendorPage(found, None, total=len(found) if exact else None, warnings=warnings)

    async def _search_patients(self, request: SearchRequest) -> VendorPage:
        query = request.query
        by_id = _our_ids(query, self._ctx.system("patient-id"))
        if by_id is not None:
            found = await q.read_each(lambda i: self._read_patient(i), by_id)
            return VendorPage(found, None, total=len(found) if q.only(query, "identifier") else None)
        size = request.page_size
        at, cut = _cut_from(request.position)
        page = await self._patient_page(query, size, at)
        total, warnings = page.total, page.warnings
        served: list[Resource] = []
        for _ in range(MAX_FILL_PAGES):
            done = frozenset(cut)
            fresh = [r for r in page.resources if str(r.get("id")) not in done]
            room = size - len(served)
            if len(fresh) > room and page.next is not None:
                # More than asked for (the run the page ends in, read whole; patients a delete
                # moved back): the rest is served from this same position, told apart by id.
                taken = fresh[:room]
                onward = {"at": at, "cut": [*map(_compact_id, cut), *(_compact_id(str(r.get("id"))) for r in taken)]}
                return VendorPage([*served, *taken], onward, total=total, warnings=warnings)
            served += fresh
            if len(served) >= size or page.next is None:
                break
            at, cut = page.next, []
            page = await self._patient_page(query, size, at)
            warnings = tuple(dict.fromkeys((*warnings, *page.warnings)))
        return VendorPage(served, page.next, total=total, warnings=warnings)

    async def _patient_page(self, query: SearchQuery, page_size: int, position: Position) -> VendorPage:
        """The patients of the vendor page at `position` (with those a delete moved back onto the
        page before, and the whole run of the sort value it ends in), and the position after it."""
        sort = query.sort[0] if query.sort else None
        # Ascending id by default: new patients land on the last page (the vendor's default, newest
        # first, would move everyone on at each create). Pages are numbered, an offset: a patient
        # deleted (or, sorted, created) before the position still moves the rest one place; what
        # the walk then served or would skip is told from what its position remembers
        # (`_remembered`, `_shifted_back`). No name term is sent (see "Where the docs are
        # silent"): the gateway filters names.
        unpaged: dict[str, str | int] = {
            "per_page": page_size,
            "include": "demographics",
            "sort": ("-" if sort and sort.descending else "") + (_SORT_FIELDS[sort.name] if sort else "id"),
        }
        low, high, exact = q.date_bounds(query, "birthdate")
        if low and low == high:
            unpaged["filter[date_of_birth]"] = low.isoformat()
        params = {**unpaged, **_paging(position)}
        listed = await self._list(params)
        if _repeated_whole(listed, position):
            return VendorPage([], None)  # the page before listed all there is: the end
        refused = _not_as_asked(listed, position)
        if refused:
            return VendorPage([], None, warnings=(refused,))
        exact = exact and q.only(query, "birthdate") and (not query.named("birthdate") or low == high)
        following = _following(listed, position, page_size)
        recovered, lost = await self._shifted_back(unpaged, position, listed)
        # Patients the page before listed, moved onto this one (one created before them: sorted
        # by a name, or a list newest first, takes it in ahead of them): served once.
        served_before = _served_before(position)
        listed_after = _past_served(listed.data, served_before)
        rows = [row for row in _once([*recovered, *listed_after]) if ties.row_id(row) not in served_before]
        tied: tuple[str, ...] = ()
        own_order = False  # the list answered in an order of its own, not the one asked for
        if sort:
            field = _SORT_FIELDS[sort.name]
            before: ties.Tie | None = position.get("tie") if isinstance(position, dict) else None
            if not self._sort_ignored and ties.in_order(
                rows, field, sort.descending, before["value"] if before else None
            ):
                rows, following, tied = await self._whole_runs(field, params, position, rows, following)
            else:
                # A list that does not read `sort` (its rows are out of the order asked for): its
                # runs of one value are not together, so none is read whole (it would be served
                # again where the list reaches it). Sorted here when the page is all it has; else
                # served in its order, saying so (R4 search.html#_sort: the sort applied is the
                # server's to report; an order not given is never implied).
                self._sort_ignored = own_order = True
                rows = ties.without_served(rows, field, before)
        else:
            ids = _row_ids([row for row in rows if isinstance(row, dict)])
            own_order = ids != sorted(ids)  # asked for `sort=id`
        whole = own_order and position is None and (following is None or _lists_all(following))
        if own_order and not whole:
            if sort:
                tied = (_UNSORTED.format(field=_SORT_FIELDS[sort.name], sort=sort.name),)
            if listed.by_cursor:
                following = _with_served(following, listed.data)
        # A list in an order of its own (newest first) is dropped by every id the page served: its
        # position is no order to be past; in the order asked for, the last few tell where it was.
        following = _remembered(following, position, listed, recovered, None if own_order else SERVED_KEPT)
        found, warnings = self._patients(rows)
        if whole:  # every patient the list has: in the order asked for (ties, and no `_sort`, by id)
            found = sorted_by(sorted(found, key=_by_id), query)
        warnings += lost + tied
        # The vendor's count is of what its filter matched: the FHIR total only when the rows show
        # that filter applied as sent (a list may not read `filter[date_of_birth]` at all, as Django
        # REST Framework without a filter backend or an Express handler does not, and count all).
        applied = _born_on(listed.data, str(params.get("filter[date_of_birth]", "")))
        total = listed.total_count if exact and applied and not warnings else None
        return VendorPage(found, following, total=total, warnings=warnings)

    async def _shifted_back(
        self, unpaged: dict[str, str | int], position: Position, listed: VendorList
    ) -> tuple[list[Any], tuple[str, ...]]:
        """The patients a walk by page number would skip, `listed` being the page at `position`:
        an offset page, it starts one place further into the list for each patient deleted before
        it since the page before was listed (Laravel's `paginate()`: `LIMIT per_page OFFSET
        (page - 1) * per_page`), and as many of the patients that followed the page before now
        end it. Told, without a call, by the vendor's total having gone down since that page
        (`meta.total`, or the bare paginator's `total`); then the page before is read again, and
        the patients it now lists after the last one it listed before are these. When it lists
        none of those any more (all deleted, or moved a page or more), where it resumes cannot
        be told: a warning says patients may have been left out (R4 search.html#paging leaves
        the effect of changes between pages to the server; a patient is never left out unsaid).
        A list that gives no total says nothing."""
        before = position.get("total") if isinstance(position, dict) else None
        now = listed.total_count
        if not isinstance(position, dict) or not isinstance(before, int) or now is None or now >= before:
            return [], ()
        served = _served_before(position)
        back = position.get("back")
        at: Position = back if isinstance(back, int) else None
        again = await self._list({**unpaged, **_paging(at)})
        if not _not_as_asked(again, at):
            last = max((i for i, row in enumerate(again.data) if ties.row_id(row) in served), default=None)
            if last is not None:
                return again.data[last + 1 :], ()
        return [], (_PERHAPS_SKIPPED,)

    async def _whole_runs(
        self,
        field: ties.SortField,
        params: dict[str, str | int],
        position: Position,
        rows: list[Any],
        following: Position,
    ) -> tuple[list[Any], Position, tuple[str, ...]]:
        """A page of a sorted walk with its runs of equal values whole (mappings.nextvisit.ties):
        the patients of the run the page before ended in that were served left out, each run in
        id order, and the run this page ends in read whole when a page follows; the position of
        that page says which of its patients were served."""
        before: ties.Tie | None = position.get("tie") if isinstance(position, dict) else None
        rows = ties.runs_by_id(ties.without_served(rows, field, before), field)
        start, value = ties.tail_run(rows, field)
        if following is None:
            return rows, None, ()
        if value is None:  # nothing left (all of it served already), or a row without a value
            return rows, _tied(following, before) if before and not rows else following, ()
        served = set(before["ids"]) if before and before["value"] == value else set()
        # A run the page before ended in was read whole then: nothing more of it to find.
        whole, complete = ([], True) if served else await self._run_of(field, value, params)
        # Once each: a list that does not keep equal values together (its own order, whatever
        # `sort` says) may have listed some of the run earlier on the page.
        earlier = {i for i in map(ties.row_id, rows[:start]) if i}
        run = ties.merged_run(rows[start:], whole, field, value, served | earlier)
        listed_before = {ties.row_id(row) for row in rows[:start] if ties.same_value(row, field, value)}
        tie: ties.Tie = {
            "value": value,
            "ids": sorted(i for i in served | listed_before | set(map(ties.row_id, run)) if i),
        }
        onward = _tied(following, tie)
        said = (
            ()
            if complete
            else (
                "The patients sharing the sort value a vendor page ended with could not all be read (the "
                f"vendor's filter for it gave more than {MAX_RUN_PAGES * LIST_PAGE_SIZE}): the walk may list "
                "some of them twice and leave others out",
            )
        )
        return rows[:start] + run, onward, said

    async def _run_of(self, field: ties.SortField, value: str, params: dict[str, str | int]) -> tuple[list[Any], bool]:
        """The listed patients whose sort value is `value` (the list filtered by it, by id; the
        other filters kept), and whether that list was read to its end."""
        wanted: dict[str, str | int] = {
            **{k: v for k, v in params.items() if k.startswith("filter[") or k == "include"},
            f"filter[{field}]": value,
            "sort": "id",
            "per_page": LIST_PAGE_SIZE,
        }
        found: list[Any] = []
        position: Position = None
        for _ in range(MAX_RUN_PAGES):
            listed = await self._list({**wanted, **_paging(position)})
            if _repeated_whole(listed, position):
                return found, True  # the page before was all the vendor has
            if _not_as_asked(listed, position):
                return found, False  # not the page asked for: the rest of the run is unread
            found += [row for row in listed.data if ties.same_value(row, field, value)]
            position = _following(listed, position, LIST_PAGE_SIZE)
            if position is None:
                return found, True  # its last page read
        return found, False

    def _patients(self, rows: list[Any]) -> tuple[list[Resource], tuple[str, ...]]:
        """The patients of a list that can be read, and a warning for each that cannot."""
        found: list[Resource] = []
        warnings: list[str] = []
        for index, row in enumerate(rows):
            try:
                patient = self._read(row)
                if not patient.deleted:  # a list that shows soft-deleted patients unasked
                    found.append(patient_to_fhir(patient, self._ctx))
            except UnreadablePayload as exc:
                vendor_id = row.get("id") if isinstance(row, dict) else None
                known = isinstance(vendor_id, int | str) and not isinstance(vendor_id, bool)
                who = f"Patient/{vendor_id}" if known else f"The patient at position {index} of a vendor page"
                warnings.append(f"{who} could not be read: {exc}")
        return found, tuple(warnings)

    # -- write --------------------------------------------------------------------------------

    def _today(self) -> date:
        """Today where the vendor is: its rule that a date of birth "must be before today" (the
        docs) reads the app's clock, whose zone is `vendor_timezone` (Laravel's `before:today`)."""
        return datetime.now(vendor_timezone(self._ctx)).date()

    async def _create_patient(self, resource: Resource) -> Written:
        body = patient_from_fhir(resource, self._ctx, self._today(), meta_kept=not self._meta_dropped)
        condition = create_condition()
        unmet = unmet_terms(condition, self._as_stored(body))
        if unmet:  # found by its condition never, each repeat would make another (conditions.py)
            raise unselectable_condition(unmet, NOTHING_WRITTEN)
        written, answered, dropped = await self._made(resource, body)
        # Learnt from the direct signal only: the patient the create answer named read back
        # without the copy its body sent in `meta`. Not from any element stored otherwise (a
        # string trimmed, a native field served over the copy), nor from a record looked up,
        # which may be another patient.
        self._meta_dropped = self._meta_dropped or (answered and dropped)
        unmet = unmet_terms(condition, written.resource)
        if unmet:
            made = str(written.resource["id"])
            if not answered:
                # The id was looked up (`_created_id`), not answered: a list behind the writes
                # may have given an older namesake, whose record says nothing of the one made.
                # Deleting it could delete a real chart and leave the new patient behind.
                raise unconfirmed_create(unmet, made)
            # Made before the vendor was seen to drop what the condition selects by: deleted
            # again (Nextvisit's delete is soft), and the create refused; should the delete
            # fail, the 201 stands and the gateway says the condition does not select it.
            try:
                await self._delete_patient(made)
            except FHIRError:
                return written
            raise unselectable_condition(unmet, MADE_AND_DELETED.format(id=made))
        return written

    def _as_stored(self, body: dict[str, Any]) -> Resource:
        """The Patient a create of `body` would read as: without the copy in `meta` once this
        Nextvisit was seen not to keep it (`_meta_dropped`)."""
        if self._meta_dropped:
            body = {**body, "meta": {k: v for k, v in (body.get("meta") or {}).items() if k != "fhir"}}
        return unversioned(patient_to_fhir({**body, "id": "0"}, self._ctx))

    async def _made(self, resource: Resource, body: dict[str, Any]) -> _Made:
        """The patient `body` (of `resource`) created, as stored, whether the vendor's answer named
        it (else its id was looked up by name and birth date, `_created_id`), and whether the record
        read back lacks the copy in `meta` the body sent (`patient.copy_dropped`)."""
        answer = _single(await self.client.request("POST", "/v1/patients", json=body))
        if isinstance(answer, dict) and isinstance(answer.get("patient"), dict):
            answer = answer["patient"]  # `{"message": ..., "patient": {...}}`
        answered = _answered_id(answer)
        new_id = answered or await self._created_id(body)
        try:
            record = await self._patient(new_id)
        except _NOT_READ_NOW as exc:
            written = _kept(resource, self._as_created(answer, body, new_id), self._ctx)
            said = _NOT_READ_BACK.format(done="created", status=exc.status)
            return _Made(replace(written, warnings=(said,)), answered is not None, copy_dropped=False)
        except NotFound:
            # Made (the vendor answered a 2xx naming it), but not readable yet: a read served by a
            # replica behind the writes. A 404 would have the client create it again.
            written = _kept(resource, self._as_created(answer, body, new_id), self._ctx)
            return _Made(replace(written, warnings=(_NOT_FOUND_YET,)), answered is not None, copy_dropped=False)
        stored = patient_to_fhir(record, self._ctx)
        return _Made(_kept(resource, stored, self._ctx), answered is not None, copy_dropped(body, record))

    def _as_created(self, answer: Any, body: dict[str, Any], new_id: str) -> Resource:
        """The patient just created when reading it back failed for now: the record the create
        answered with (documented: `{"data": PatientFull}`, what the read gives but for the
        relations it includes, none of them yet for a new patient), else the body sent with its
        new id (every element of the Patient comes from that body, but the vendor's uuid and
        its stamps)."""
        if isinstance(answer, dict) and _answered_id(answer) == new_id:
            try:
                return patient_to_fhir(self._read(answer), self._ctx)
            except UnreadablePayload:
                pass  # reported to the drift monitor; the body sent still says what was created
        return unversioned(patient_to_fhir({**body, "id": new_id}, self._ctx))

    async def _created_id(self, body: dict[str, Any]) -> str:
        """The id of the patient a create answer did not name (`{"message": "Patient created
        successfully"}`, as the delete answers, or no body): the newest patient with the names
        and birth date just sent (the exact date filter; names compared here, as stored)."""
        params: dict[str, str | int] = {
            "filter[date_of_birth]": body["date_of_birth"],
            "sort": "-id",
            "per_page": LIST_PAGE_SIZE,
        }
        wanted = (_folded(body["first_name"]), _folded(body["last_name"]))
        found: list[int] = []
        try:
            async for listed in self._walk(params, MAX_CREATED_PAGES):
                rows = [row for row in listed.data if isinstance(row, dict)]
                found += _row_ids(
                    [r for r in rows if (_folded(r.get("first_name")), _folded(r.get("last_name"))) == wanted]
                )
        except _NOT_READ_NOW as exc:
            # Not the vendor's 429 or 503 to the client: "retry later" would create it twice.
            raise UpstreamError(
                f"Nextvisit created the patient but its answer did not say which, and looking it up failed "
                f"(HTTP {exc.status} from the vendor): search for it before creating it again"
            ) from None
        if not found:
            raise UpstreamError("Nextvisit created the patient but its answer did not say which, nor could it be found")
        return str(max(found))

    async def _update_patient(self, resource_id: str, resource: Resource, if_match: str | None) -> Written:
        record = await self._patient(resource_id)
        current = patient_to_fhir(record, self._ctx)
        if if_match is not None and current["meta"]["versionId"] != if_match:
            raise PreconditionFailed(
                f"Patient/{resource_id} has changed since version {if_match}; read it again before updating"
            )
        body = patient_from_fhir(resource, self._ctx, self._today(), record, meta_kept=not self._meta_dropped)
        path = f"/v1/patients/{resource_id}"
        await self.client.request("PUT", path, json=body)
        try:
            read_back = await self._patient(resource_id)
            unkept: tuple[str, ...] = ()
            if body["middle_name"] is None and _has_text(read_back.middle_name):
                read_back, unkept = await self._middle_name_cleared(path, body, resource_id)
            stored = patient_to_fhir(read_back, self._ctx)
        except _NOT_READ_NOW as exc:
            # Done at the vendor: an error now would have the client send it again, and its
            # If-Match then fail against its own update (a 412). The record as sent over the one
            # read before it, without a version (its ETag would match no later read).
            as_sent = {**record.model_dump(by_alias=True), **body}
            written = _kept(resource, unversioned(patient_to_fhir(as_sent, self._ctx)), self._ctx)
            return replace(written, warnings=(_NOT_READ_BACK.format(done="updated", status=exc.status),))
        written = _kept(resource, stored, self._ctx)
        return replace(written, not_stored=(*written.not_stored, *unkept))

    async def _middle_name_cleared(
        self, path: str, body: dict[str, Any], resource_id: str
    ) -> tuple[VendorPatient, tuple[str, ...]]:
        """The patient after its middle name, sent as null and kept by the vendor, is sent again as
        empty text; and what of the update it still did not take. The docs' update body says
        `middle_name` is "string or null" and no more: an app updating "the fields given" skips a
        null (Spring's MapStruct `NullValuePropertyMappingStrategy.IGNORE`, ASP.NET's `if (dto.X !=
        null)`: a bound DTO cannot tell null from absent), while empty text is a value there and
        Laravel's ConvertEmptyStringsToNull makes it the null asked for. An app that skips every
        empty value (Laravel's `array_filter($request->validated())`) or refuses the empty text
        cannot clear it: said, never a failed update (the rest of it is done)."""
        try:
            await self.client.request("PUT", path, json={**body, "middle_name": ""})
        except (InvalidRequest, *_NOT_READ_NOW):
            pass  # the first update stands; what it did not clear is said below
        patient = await self._patient(resource_id)
        if not _has_text(patient.middle_name):
            return patient, ()
        return patient, (_MIDDLE_NAME_KEPT,)

    async def _delete_patient(self, resource_id: str) -> None:
        try:
            await self._patient(resource_id)
        except (NotFound, Gone):
            return  # FHIR: deleting what is not there (any more) is a success, not an error
        await self.client.request("DELETE", f"/v1/patients/{resource_id}")


_MIDDLE_NAME_KEPT = (
    "Patient.name.given (Nextvisit kept the middle name the update left out: it does not clear a field sent "
    "null or empty)"
)


def _has_text(value: str | None) -> bool:
    return bool(value and value.strip())


class _Made(NamedTuple):
    """A patient created: as stored, whether the create answer named it, whether its read-back
    lacks the copy in `meta` the body sent."""

    written: Written
    answered: bool
    copy_dropped: bool


def _kept(sent: Resource, stored: Resource, ctx: TenantContext) -> Written:
    """The stored patient, naming what of the one sent it does not hold as sent
    (`patient.unkept_elements`)."""
    return Written(stored, unkept_elements(sent, stored, ctx))


def _answered_id(answer: Any) -> str | None:
    """The patient id a create answer names, if it names one (a number or a string of one)."""
    value = answer.get("id") if isinstance(answer, dict) else None
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return text if text.isdigit() else None


def _folded(name: Any) -> str:
    return nfc_text(name).strip().casefold() if isinstance(name, str) else ""


def _single(body: Any) -> Any:
    """The patient of a single-patient answer: documented as `{"data": {...}}`; Laravel's
    `JsonResource::withoutWrapping()` serves the object itself."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    return body


# Keys an answer naming nobody may still carry: a message, or a status flag (`{"success": false}`).
_NO_RECORD_KEYS = frozenset({"data", "message", "error", "status", "success"})


def _names_nobody(answer: Any) -> bool:
    """Whether a show's answer (its `data` unwrapped, `_single`) names no patient at all: nothing
    (a 404, or `null`), or an object without an `id` whose only keys are empty or say no more than
    a message would (`{}`, `{"data": null}`, `{"data": {}}`, `{"data": null, "message": ...}`). An
    answer with any patient field but no `id` is no such thing: a record that cannot be read."""
    if answer is None:
        return True
    if not isinstance(answer, dict) or "id" in answer:
        return False
    data = answer.get("data")
    return set(answer) <= _NO_RECORD_KEYS and data in (None, {}, [])


def _paging(position: Position) -> dict[str, str | int]:
    """What a list request sends to be at `position`: its `cursor`, or the parameters its
    vendor's next link named, else its `page`; nothing for the first page, which is the one a
    list answers unasked whatever number it gives it (the docs name no page parameter: Laravel
    counts from 1, Spring Data's `Pageable` from 0, where `page=1` is the second page)."""
    if isinstance(position, dict) and isinstance(position.get("cursor"), str):
        return {"cursor": position["cursor"]}
    if isinstance(position, dict) and isinstance(position.get("link"), dict):
        return {str(name): str(value) for name, value in position["link"].items()}
    if position is None:
        return {}
    return {"page": _page_number(position)}


def _page_number(position: Position) -> int:
    """The page number `position` asks for (1 for the first page, which is asked for unnumbered)."""
    value = position.get("page") if isinstance(position, dict) else position
    return 1 if value is None else int(value)


def _following(listed: VendorList, position: Position, per_page: int | None = None) -> Position:
    """The position of the page after `listed` (asked for at `position`, `per_page` patients a
    page); None after the last. A numbered page's successor is the page its next link names,
    else the one after the number it states, else after the one asked for: a list may count its
    pages from 0. A page that says nothing of paging and lists more or fewer patients than asked
    for (`per_page`, when known) is marked `whole`: if the page after it is the same again, the list ignores `page` and
    answered all it has (`_repeated_whole`)."""
    page = _page_number(position)
    if not listed.has_more(page):
        return None
    if listed.by_cursor:
        if listed.cursor is None:
            return {"link": listed.link_position, "seen": listed.fingerprint}
        return {"cursor": listed.cursor, "seen": listed.fingerprint}
    served = listed.served_page
    current = served if served is not None else _first_number(listed) if position is None else page
    number = listed.next_page_number
    if number is None or number <= current:
        number = current + 1  # a link that does not move on is not followed: the walk would go round
    if served is not None:
        return number
    # Not `per_page` patients: a list that honours it had no more, or one that ignores it (Django
    # REST Framework without a pagination class, a handler answering every row) gave all it has.
    whole = per_page is not None and listed.unpaged and len(listed.data) != per_page
    return {"page": number, "seen": listed.fingerprint, **({"whole": True} if whole else {})}


def _answered_another_page(listed: VendorList, number: int) -> bool:
    """Whether `listed`, asked for as `page=number`, is another page of a list its links number
    by JSON:API's `page[number]`: the one `page` was not read by."""
    other = listed.served_page != number or listed.next_page_number == number
    return listed.numbers_by_json_api and other


def _repeated_whole(listed: VendorList, position: Position) -> bool:
    """Whether `listed` is the page before again, that page having listed all the vendor has
    (`_following`: no paging data, not `per_page` patients): the end of the list, not a page
    the vendor refused to give."""
    return isinstance(position, dict) and bool(position.get("whole")) and position.get("seen") == listed.fingerprint


def _first_number(listed: VendorList) -> int:
    """The number of the list's first page, `listed` (asked for unnumbered): the one it states,
    else one before the page its next link names, else 1 (Laravel's)."""
    if listed.served_page is not None:
        return listed.served_page
    following = listed.next_page_number
    return 1 if following is None else following - 1


def _tied(following: Position, tie: ties.Tie) -> Position:
    """The position `following` saying which patients of the run `tie` were served."""
    return {**following, "tie": tie} if isinstance(following, dict) else {"page": following, "tie": tie}


def _not_as_asked(listed: VendorList, position: Position) -> str | None:
    """Why `listed` is not the page `position` asked for (said, never served as it), or None.

    The docs name no paging parameter at all. A list paged by cursor (`cursorPaginate()`) is
    followed by its cursor (a page its cursor leads to that lists the patients of the page
    before again is a cursor not honoured); one that ignores `page` answers its first page
    whatever page is asked: the page number it states then differs from the one asked for,
    or, when it states none, its patients are those of the page before. A page after the
    first that states no number and cannot be compared with the one before cannot be told
    from a repeat either."""
    if not listed.data:
        return None  # an empty page lists no patient twice: the end, whatever it numbers
    seen = position.get("seen") if isinstance(position, dict) else None
    if isinstance(position, dict) and ("cursor" in position or "link" in position):
        if seen != listed.fingerprint:
            return None
        by = "its cursor" if "cursor" in position else "its next link"
        return (
            "Nextvisit answered the patients of the page before again when asked for the page after "
            f"it (by {by}): the patient list cannot be read further"
        )
    if position is None:
        return None  # the first page, whatever number the vendor gives it
    page = _page_number(position)
    served = listed.served_page
    if served is not None:
        if served == page:
            return None
        said = f"answered page {served}"
    elif listed.by_cursor or seen is None:
        said = "did not say which page it answered"
    elif seen == listed.fingerprint:
        said = f"answered the patients of page {page - 1} again"
    else:
        return None  # a page the vendor does not number, but not the one before again
    return f"Nextvisit {said} when asked for page {page}: the patient list cannot be read past page {page - 1}"


def _by_id(patient: Resource) -> tuple[int, int, str]:
    text = str(patient.get("id", ""))
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _served_before(position: Position) -> set[str]:
    """The ids the page before listed, when the walk carries them (`_with_served`)."""
    ids = position.get("served") if isinstance(position, dict) else None
    return {str(i) for i in ids} if isinstance(ids, list) else set()


def _with_served(following: Position, rows: list[Any]) -> Position:
    """The position `following` carrying the ids of `rows`, the page just listed: a list in an
    order of its own (newest first) lists some of them again on the next page once a patient is
    created in between, and they are left out there."""
    if following is None:
        return None
    served = [i for i in map(ties.row_id, rows) if i]
    return {**following, "served": served} if isinstance(following, dict) else {"page": following, "served": served}


def _once(rows: list[Any]) -> list[Any]:
    """`rows` with each listed id once, the first kept (a patient recovered from the page before
    that a change made between the two calls lists on this page too)."""
    seen: set[str] = set()
    out: list[Any] = []
    for row in rows:
        key = ties.row_id(row)
        if key is None or key not in seen:
            out.append(row)
        if key is not None:
            seen.add(key)
    return out


def _cut_from(position: Any) -> tuple[Position, list[str]]:
    """The vendor position a search position names, and the ids of its patients already served
    (`{"at": position, "cut": [ids]}`: a page that held more patients than asked for)."""
    if isinstance(position, dict) and isinstance(position.get("cut"), list):
        at = position.get("at")
        return (at if at is None or isinstance(at, int | dict) else None), [str(i) for i in position["cut"]]
    return (position if position is None or isinstance(position, int | dict) else None), []


def _past_served(rows: list[Any], served: set[str]) -> list[Any]:
    """`rows`, a vendor page, from after the last of them the page before served: those before it
    sort before it, so were served too (a create ahead of the position moved them on) or were
    created ahead of where the walk is."""
    last = max((i for i, row in enumerate(rows) if ties.row_id(row) in served), default=-1)
    return rows[last + 1 :]


def _compact_id(value: str) -> int | str:
    """An id as a position carries it: a number as one (shorter in a link than its text)."""
    return int(value) if value.isdigit() and str(int(value)) == value else value


def _remembered(
    following: Position, position: Position, listed: VendorList, recovered: list[Any], kept: int | None
) -> Position:
    """The position `following` of a list paged by number (an offset) remembering what the page
    after it needs to tell a patient moved by a create or a delete in between (`_shifted_back`):
    the ids this page served, in the vendor's order (`listed`, after the patients `recovered`
    from the page before it), the vendor's total, and where this page was asked for (`back`:
    its page number, None for the first page, asked for unnumbered); of the ids, the last
    `kept` (None: all): past the last of them that a page lists again, it lists no patient
    served, and a delete must take all of them for the recovery to lose its place (then said).
    A walk by the vendor's cursor or its next link's own position is keyset paging: nothing
    moves."""
    if following is None or listed.by_cursor:
        return following
    served = [_compact_id(i) for i in map(ties.row_id, [*recovered, *listed.data]) if i]
    served = served if kept is None else served[-kept:]
    at = following if isinstance(following, dict) else {"page": following}
    total = {} if listed.total_count is None else {"total": listed.total_count}
    return {**at, "served": served, "back": None if position is None else _page_number(position), **total}


def _lists_all(following: Position) -> bool:
    """Whether the position after a first page says that page may be all the list has (no paging
    data, and not `per_page` patients: `_following`): then it is, either way."""
    return isinstance(following, dict) and bool(following.get("whole"))


def _born_on(rows: list[Any], day: str) -> bool:
    """Whether every listed patient was born on `day` (an ISO date; "" asks nothing): whether a
    list sent `filter[date_of_birth]=day` shows it applied that filter, as sent."""
    return not day or all(ties.sort_value(row, "date_of_birth") == day for row in rows)


def _deleted_state(row: Any) -> bool | None:
    """Whether a listed patient says it is soft-deleted: None when it does not say (no
    `deleted_at`, or a row that cannot be read)."""
    if not isinstance(row, dict) or "deleted_at" not in row:
        return None
    try:
        return read_patient(row).deleted
    except UnreadablePayload:
        return None


def _row_ids(rows: list[dict[str, Any]]) -> list[int]:
    """The listed patients' ids that are numbers (or strings of one)."""
    return [int(i) for i in (str(row.get("id")).strip() for row in rows) if i.isdigit()]


def _same_id(value: Any, patient_id: str) -> bool:
    """A listed patient's id (a number or a string of one) is `patient_id`."""
    return not isinstance(value, bool) and isinstance(value, int | str) and str(value).strip() == patient_id


def _undated(found: list[Resource]) -> tuple[str, ...]:
    """What a date search must say of the encounters it found without a time: the docs do not
    show the encounter, an implementation may name its time otherwise than any spelling read
    here (the drift monitor reports the field), and such a visit cannot be told to match or not."""
    return tuple(
        f"{r['resourceType']}/{r['id']} has no time the gateway could read: this date search cannot "
        "tell whether it matches"
        for r in found
        if r.get("resourceType") == "Encounter" and not (r.get("period") or {}).get("start")
    )


def _messages(unreadable: list[Unreadable]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u.message for u in unreadable))


def _our_ids(query: SearchQuery, id_system: str) -> list[str] | None:
    """Patient ids to read directly: identifiers explicitly in our patient-id system. Without a
    system an identifier may be any (a stored MRN "7" is not Patient/7): those are searched."""
    for param in query.named("identifier"):
        tokens = [v for v in param.values if isinstance(v, TokenValue) and v.code]
        if tokens and all(t.system == id_system for t in tokens):
            return [t.code for t in tokens if t.code]
    return None
