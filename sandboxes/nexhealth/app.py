"""A NexHealth Synchronizer API (v2) simulator serving the synthetic clinic.

``create_app(clinic, api_key=..., subdomain=...)`` returns a Starlette app that answers
like the documented service (``vendor-docs/nexhealth-getting-started.txt`` and
``nexhealth-patients.txt``, plus what is known of NexHealth beyond them: the error
statuses, the rate limits, the timestamp format): ``POST /authenticates``, ``GET/POST
/patients``, ``GET /patients/{id}``, ``GET /providers``, ``GET /appointments`` and
``GET /appointments/{id}``. The clinic is rendered as ONE institution (``subdomain``)
with TWO locations; the app holds its own mutable copy, so creates never touch the
cached ``Clinic``. ``clock`` (epoch seconds, default ``time.time``) decides token
``iat``/``exp``, the rate-limit windows and the timestamps of created patients.
``app.state.authentications`` counts successful ``POST /authenticates``,
``app.state.requests`` every HTTP request the app received (errors included).
Nothing is logged.

Switches for what the docs leave open (keyword arguments of ``create_app``; each default
is the reading described below; ``sandboxes.nexhealth.readings`` has the details):
- ``patient_envelope="nested"|"flat"``: single-patient ``data`` (``GET /patients/{id}``,
  ``POST /patients``) is ``{"patient": {...}}`` or the patient object itself.
- ``patient_list="object"|"array"|"wrapped"``: ``GET /patients`` ``data`` is
  ``{"patients": [...]}``, a bare list, or ``[{"patients": [...]}]``.
- ``cancelled_means="include"|"only"``: ``cancelled=true`` on ``GET /appointments``
  includes cancelled appointments, or answers only those.
- ``far_visit_years=None|N``: one more planned visit N years after the clinic's today
  (``readings.with_far_visit``), for searches with no end date.
- ``latest_year=None|Y``: ``GET /appointments`` takes any ``start``/``end``, or refuses
  (400 ``["start and end must not be after Y"]``) a window reaching past year Y.
- ``patch_body="nested"|"flat"|"flat_ignoring"|"fully_flat"|"fully_flat_ignoring"``:
  ``PATCH /patients/{id}`` takes ``{"patient": {...}}`` (the create body's shape), the
  patient fields at the top level, or those and ``bio``'s too (a ``bio`` object ignored); a
  body with none of them is 400 (``"..._ignoring"``: a 200 that changes nothing).
- ``name_accents="insensitive"|"sensitive"|"sensitive_nfd"``, ``name_match="fuzzy"|
  "prefix"|"substring"``, ``name_tokens="all"|"any"``: how ``name`` matches (folded or
  case-folded only, names stored and served NFC or NFD; word by word fuzzily, as a prefix or
  a substring; every query word or any).
- ``phones="digits"|"as_stored"|"e164"``: phones stored, served and matched as digits, or
  formatted (``(516) 304-2196``), ``phone_number`` then matching that text only, or served in
  E.164 (``+15163042196``) and matched as numbers.
- ``error_body="list"|"string"|"description"|"object"|"detail"|"fields"|"nestjs"|"pydantic"|"text"``:
  an error's messages in ``error`` as a list, as one string, only in ``description`` (``error``
  null), as ``{"base": [...]}``, or without the envelope as FastAPI and DRF answer, ``{"detail":
  "..."}``, or as DRF answers a validation error, by field (``{"date_of_birth": ["This field is
  required."]}``), or as NestJS does (``{"statusCode", "message", "error": "Bad Request"}``), or
  as FastAPI refuses a body its Pydantic model does not take (422 ``{"detail": [{"type",
  "loc", "msg", "input"}]}``; its other errors ``{"detail": "..."}``), or as the whole body,
  ``text/html`` without JSON (``"text"``: Express's ``res.status(400).send(message)``).
- ``unknown_gender="refused"|"failed"|"not_included"``: a spelling of gender not taken is a
  400 listing those taken, a 500 (a Rails enum's ArgumentError), or Rails 7.1's validated
  enum's 422 ``["patient.bio.gender is not included in the list"]``.
- ``unknown_keys="ignored"|"refused"``: a create or edit body's keys its shape does not declare
  are ignored, or refuse the whole body, named in ``error_body``'s framework's words (Rails'
  ``found unpermitted parameters: :bio``, NestJS's ``property bio should not exist``,
  FastAPI's ``extra_forbidden``).
- ``timestamps="millis"|"offset"|"seconds"``: ``...57.007Z``, ``...57.007+00:00`` or
  ``...57Z``.
- ``scalars="native"|"strings"``: numbers and booleans (ids, flags, ``count``) as JSON
  numbers and booleans, or as strings (``"id": "415"``, ``"inactive": "false"``).
- ``nulls="null"|"absent"|"empty"``: an optional field without a value is ``null`` or left
  out; or a text field without one is ``""`` (Go's zero string).
- ``count="number"|"absent"``: lists carry ``count``, or not.
- ``past_end="empty"|"last"``: a page past the end is empty, or the last page again.
- ``count="page"``: ``count`` is the number of records in the answer, not the total.
- ``page_base="one"|"zero"``: ``page`` numbers pages from 1, or from 0.
- ``create_body="nested"|"flat"|"fully_flat"``: ``POST /patients`` takes ``{"provider",
  "patient"}``, or the patient fields at the top level (``provider`` optional), or those and
  ``bio``'s fields too (no ``bio`` object).
- ``genders="capitalized"|"lower"|"letters"|"upper"``: ``bio.gender`` taken and served as
  ``Male``/``Female``/``Other``, ``male``/``female``/``other``, ``M``/``F``/``O`` or
  ``MALE``/``FEMALE``/``OTHER``.
- ``create_answer="patient"|"id"|"none"|"status_text"``: ``POST /patients`` answers with the patient,
  ``{"id": N}``, or ``data: null``, or ``Created`` as text/plain
  (Express's ``res.sendStatus(201)``).
- ``retry_after="absent"|"seconds"``: a 429 without ``Retry-After``, or with the seconds
  until its window ends.
- ``duplicate_status="400"|"409"``: a duplicate patient is the docs' 400, or 409
  ``["Duplicate patient"]``.
- ``framework_errors="envelope"|"html"``: an unmatched route (an absent ``/providers``
  too), a refused token and a crash answered with the error envelope, or with Express's
  default ``text/html`` pages (``Cannot GET /providers``, ``UnauthorizedError: ...``).
- ``emails="folded"|"exact"|"lowered"``: ``email`` search ignores case, or compares the stored
  text exactly, or compares exactly emails stored lower-cased.
- ``inactive="boolean"|"nullable"``: ``inactive`` always a boolean, or ``null`` for every
  fourth active patient, in neither ``inactive`` filter (as SQL compares a null).
- ``edit_answer="patient"|"no_content"|"before"|"sent"|"status_text"``: ``PATCH /patients/{id}``
  answers with the patient, or 204 without a body, or with the patient as it was before the
  edit, or with its id beside the fields the edit sent, as sent, or 200 ``OK`` as text/plain.
- ``gender_at="bio"|"top"``: a patient's gender served and taken in ``bio``, or at the
  patient's top level (``bio.gender`` then ignored).
- ``birth_dates="date"|"datetime"|"east_midnight"|"zoned"``: ``bio.date_of_birth`` served as
  ``1964-05-03``, or as a JavaScript ``Date``'s ``1964-05-03T00:00:00.000Z``, or as a Berlin
  server's midnight in UTC, ``1964-05-02T22:00:00.000Z``, or as the UTC midnight in Eastern
  Time, ``1964-05-02T20:00:00.000-04:00`` (``readings.Reading``).
- ``undocumented_params="taken"|"refused"``: ``GET /patients`` takes every parameter it
  knows, or refuses (400 ``"foreign_id" is not allowed``) those the docs do not name.
- ``create_location="query"|"body"``: ``POST /patients`` takes ``location_id`` from the
  query string, or from the JSON body's top level only (400 ``["location_id is required"]``
  without it there).
- ``phone_input="lenient"|"ten_digits"``: a create or edit takes ten digits however written
  (formatted, after a ``1``), or exactly ten digits only (``13125557311`` refused).
- ``edit_location="query"|"body"``: ``PATCH /patients/{id}`` takes ``location_id`` from the
  query string, or from the JSON body's top level only, as ``create_location`` for a create.
- ``appointments="listed"|"absent"``: ``GET /appointments`` and ``GET /appointments/{id}``
  answered, or unmatched routes (an implementation of the documented routes only).
- ``patient_show="listed"|"absent"|"location"``: ``GET /patients/{id}`` answered, or an unmatched
  route (the docs document search, create and PATCH only; ``PATCH /patients/{id}`` stays), or
  answered for the patients of its ``location_id`` only.
- ``edit_scope="institution"|"location"|"location_forbidden"``: ``PATCH /patients/{id}`` edits
  any patient of the institution, or only those of its ``location_id`` (404 for another's), or
  refuses another location's patient 403.
- ``edit_duplicates="others"|"self_included"``: an edit's duplicate check compares it with
  the other patients, or an edit's ``email`` and phone with every patient, itself included.
- ``edit_bio="merged"|"replaced"``: an edit's ``bio`` changes the fields it holds, or
  replaces the patient's ``bio`` whole (the fields it does not hold cleared).
- ``appointment_times="utc"|"local"``: an appointment's times as UTC instants, or as the
  wall time of its ``timezone`` without an offset.
- ``absent_flags="any"|"false"``: ``GET /patients`` without ``new_patient``, ``inactive`` or
  ``non_patient`` does not filter by it, or filters as if it were ``false``.
- ``flags_true="filter"|"include"``: ``GET /patients`` with ``new_patient``, ``inactive`` or
  ``non_patient`` ``true`` lists only the patients with that flag, or them beside the others.
- ``birth_date_unset="null"|"zero"``: a date of birth never recorded served ``null``, or as the
  zero date of a type without one (``0001-01-01``; Go's ``0001-01-01T00:00:00Z`` as date-times).
- ``written_bio="included"|"absent"``: the patient a create or edit answers holds ``bio``, or
  not (a relation the write's answer does not load).
- ``bio_nulls="taken"|"refused"``: an edit's ``bio`` may hold ``null``, or a null is refused
  (400 ``"patient.bio.city" must be a string``, Joi's words).
- ``edit_fields="partial"|"whole"``: ``PATCH /patients/{id}`` takes any of the create's fields,
  or every field a create requires (400 ``"<path> is required"`` for each missing one).

The pieces: ``routes`` (what each route checks and answers), ``store`` (the institution in
memory, search, creates), ``render`` (clinic records -> NexHealth JSON), ``ids``, ``auth``
(API key -> JWT), ``ratelimit``, ``protocol`` (the versioned ``Accept``), ``query`` and
``paging`` (parameters), ``names`` (fuzzy name search), ``new_patient`` (the body of
``POST /patients``), ``readings`` (the switches below), ``formats``, ``envelope`` and
``errors``.

Rendering (ids are derived, so tests can go from clinic truth to NexHealth ids):
- Institution id ``INSTITUTION_ID`` (1). Locations: clinic location 1 -> ``101``
  (its name), every other clinic location (2 and 3) -> ``102`` (named after clinic
  location 2). ``location_id_of(clinic_location_id)`` does this mapping.
- Patient id = clinic patient id + ``PATIENT_ID_OFFSET`` (1000); created patients get
  the next id after the highest in use. Provider id = clinic provider id +
  ``PROVIDER_ID_OFFSET`` (200). Appointment id = clinic encounter id +
  ``APPOINTMENT_ID_OFFSET`` (10000). Appointment type ids: the clinic's distinct
  visit types, sorted by name, numbered from ``APPOINTMENT_TYPE_ID_OFFSET`` + 1 (401).
- Timestamps are UTC with milliseconds and ``Z`` (``2020-06-05T20:16:57.007Z``), dates
  ``YYYY-MM-DD``, phone numbers digits only.
- Responses carry ``Content-Type: application/json`` (what Rails' ``render json:``
  sends), whatever the ``Accept`` header asked for.

Assumptions where the docs are silent (the adapter must not rely on more):

Protocol
- Every request must send ``Accept: application/vnd.Nexhealth+json;version=2`` (media
  type case-insensitive, spaces around ``;`` allowed, one entry of a comma list is
  enough); otherwise 400 ``Missing or unsupported API version. Send Accept:
  application/vnd.Nexhealth+json;version=2``. This is checked first, before auth.
- Envelope: success ``{"code": true, "description": ..., "error": [], "data": ...}``
  plus ``"count"`` (total matches before paging) on lists only. ``description`` is
  ``"Authenticated"`` for ``/authenticates`` and otherwise the list of warnings
  (usually ``[]``). Errors: ``{"code": false, "description": null, "error": [...],
  "data": null}`` with 400/401/403/404/429/500.
- Unknown query parameters are ignored with one warning each in ``description``
  (``"Ignored unknown parameter: gender"``, first-seen order) while ``code`` stays true;
  unknown ``include[]`` values likewise (``"Ignored unknown include: x"``). A parameter
  given twice: the last value wins. Empty values count as not given.
- Unmatched paths and wrong methods: 404 ``["Not Found"]`` (no auth check, not
  rate-limited). Unexpected failures: 500 ``["Internal server error"]``.
- Order of checks: version (400), credentials (401), rate limit (429), required
  parameters (400, all missing ones at once), ``subdomain`` (403), ``location_id``
  (400 not an integer, 404 unknown), other parameters (400), the record (404).

Authentication
- ``POST /authenticates`` takes the API key as the whole ``Authorization`` header (no
  scheme; ``Bearer <key>`` is a wrong key). Wrong or missing key: 401 ``["Invalid API
  key"]``. Success: 201 ``{"code": true, "data": {"token": <JWT>}, "description":
  "Authenticated", "error": []}``.
- The token is a JWT, header ``{"alg":"HS256"}``, HMAC-SHA256 with a random per-app
  secret; claims ``sub`` ("1", the API user), ``scp`` ("api_user"), ``iat`` (whole
  seconds of ``clock``), ``exp`` (``iat + token_ttl``), ``jti`` (uuid4). Tokens are
  stateless: re-authenticating does not revoke earlier ones.
- Other routes need ``Authorization: Bearer <JWT>`` (scheme case-insensitive). Missing,
  malformed, another algorithm, a bad signature or a wrong ``scp``: 401
  ``["Unauthorized"]``; expired (``clock() >= exp``): 401 ``["Unauthorized: token has
  expired"]``. No ``WWW-Authenticate`` header.

Rate limits
- There is one API key, hence one limiter: fixed windows aligned on the epoch
  (``floor(clock())`` seconds, ``floor(clock() / 60)`` minutes). A request is refused
  when ``rate_per_second`` requests were already admitted in the current second or
  ``rate_per_minute`` in the current minute: 429 ``["Rate limit exceeded: N requests
  per second"]`` (or ``per minute``), with NO ``Retry-After`` header (NexHealth sends none).
- Counted: authenticated requests (valid token) and successful ``/authenticates``.
  Not counted: refused (429) requests, and requests rejected before (version, 401).

Scoping
- ``subdomain`` and ``location_id`` are required on every patient, provider and
  appointment list route and on ``GET/POST /patients``; ``GET /appointments/{id}``
  needs ``subdomain`` only. Missing: 400 ``Missing required parameter: <name>`` (one
  message per missing parameter). A subdomain other than ours (compared
  case-insensitively): 403 ``["You do not have access to this institution"]``; a
  ``location_id`` that is not an integer: 400 ``["location_id must be an integer"]``;
  not 101 or 102: 404 ``["Location not found"]``.
- Paging (Kaminari-like, lenient): ``page`` default 1, ``per_page`` default 5, at most
  1000 (larger values are silently capped); a missing, non-integer or < 1 value means
  the default. A page past the end is an empty list with the true ``count``. Lists are
  ordered by id (appointments: by ``start_time``, then id).
- Booleans accept ``true``/``false``/``1``/``0`` (case-insensitive); anything else is 400
  ``["<name> must be true or false"]``.

Patients
- Shape: ``{id, email, first_name, middle_name, last_name, name ("First Last"),
  created_at, updated_at, institution_id, foreign_id, foreign_id_type, bio, inactive,
  last_sync_time, guarantor_id, unsubscribe_sms, location_ids}`` plus
  ``upcoming_appts`` when ``include_upcoming_appts=true``. ``bio`` is
  ``{date_of_birth, phone_number, gender, street_address, city, state, zip_code,
  cell_phone_number, home_phone_number, new_patient, non_patient}``.
- Clinic ("inserted") patients: ``foreign_id`` = chart number (``C00012``),
  ``foreign_id_type`` ``msg-opendental-DataSource-35`` (those ``create_app``'s
  ``not_inserted`` names are not yet inserted: ``foreign_id`` null, ``foreign_id_type``
  ``nex``), ``last_sync_time`` = ``updated_at``, ``guarantor_id`` = their own id
  (self-guaranteed; the clinic has no family links), ``unsubscribe_sms`` false.
  ``phone_number`` is the mobile phone, else the home phone;
  ``cell_phone_number``/``home_phone_number`` the clinic's two phones.
  ``gender``: male/female -> ``Male``/``Female``, non_binary/other -> ``Other``,
  unknown/prefer_not_to_say/none -> null. ``inactive`` is true for clinic status
  inactive or deceased. ``new_patient`` is true when the patient has no finished or
  arrived visit. ``non_patient`` is always false (the clinic has no non-patient
  records). ``location_ids`` is the patient's home location only (``[101]`` or
  ``[102]``; ``[]`` without one). Soft-deleted clinic patients do not exist here.
- ``upcoming_appts``: the patient's planned visits (all of them lie after the clinic's
  today; an arrived visit is in progress, not upcoming; cancelled ones never count), at
  any location, ordered by start, each ``{id, provider_id, provider_name, start_time,
  end_time, location_id, confirmed}`` with the same values as ``GET /appointments``.
- ``GET /patients`` filters (AND-ed, narrowing): ``location_strict`` (default false:
  the whole institution; true: only patients whose ``location_ids`` contain
  ``location_id``), ``new_patient``, ``non_patient``, ``inactive`` (each true/false
  keeps patients with that flag value). Search parameters (OR-ed, as documented: a
  patient matches if ANY given one matches; none given = no search, every patient the
  filters keep): ``email`` (case-insensitive exact), ``phone_number`` (digits-only
  equality with any of the patient's phones; a leading ``1`` of an 11-digit number is
  dropped; no digits matches nothing), ``date_of_birth`` (exact; not ``YYYY-MM-DD`` ->
  400 ``["date_of_birth must be a date (YYYY-MM-DD)"]``), ``foreign_id`` (exact) and
  ``name`` (fuzzy, below).
- ``name`` fuzzy match: names and query are folded (Unicode NFKD, accents stripped,
  ``ø``/``æ``/``ł``... transliterated, case-folded) and split into words on anything
  not a letter or digit. A patient's name words are the words of first, last and
  preferred name, plus each of those names with its separators removed
  (``O'Brien-Nguyễn`` -> ``o``, ``brien``, ``nguyen``, ``obriennguyen``; middle names
  are not searched). EVERY query word must match some name word, where a query word
  matches a name word when it is equal; or, from 2 characters, a prefix of it; or,
  from 4 characters, within one typo of the whole word (optimal string alignment
  distance 1: one insertion, deletion, substitution or swap of adjacent letters). So
  ``"Jose Garcia"``, ``"garcí"``, ``"Smtih"`` and ``"Bill"`` (a preferred name) all
  match. A name with no words (``"--"``) matches nobody.
- ``PATCH /patients/{id}?subdomain=&location_id=`` (``patient_edit``): the given fields of
  the create body change (each optional; checked as on create; a new phone replaces the
  cell and home phones); a clash with ANOTHER patient (as on create) is 400 ``["A patient
  with that information already exists."]``; ``updated_at`` is now. Inserted patients are
  edited too (the docs: such edits are overwritten at the next sync, not refused). 200,
  ``data`` as for ``GET /patients/{id}``; unknown id 404 ``["Patient not found"]``.
- ``GET /patients/{id}`` (same required parameters and ``include_upcoming_appts``):
  ``data`` is ``{"patient": {...}}``, looked up in the whole institution whatever the
  location; unknown or non-integer id: 404 ``["Patient not found"]``.
- ``POST /patients?subdomain=&location_id=`` with JSON ``{"provider": {"provider_id":
  N}, "patient": {"first_name", "last_name", "email", "bio": {"date_of_birth",
  "phone_number", "gender"}}}`` (other body fields are ignored). All of these are
  required: 400 with one ``"<path> is required"`` per missing or blank one (e.g.
  ``patient.bio.gender is required``); a body that is not a JSON object is 400 ``["Request
  body must be a JSON object"]``. Then formats, all at once: ``provider.provider_id must
  be an integer``, ``patient.email is invalid`` (one ``@``, a dotted domain, no spaces),
  ``patient.bio.phone_number must be a 10-digit phone number`` (non-digits are
  stripped, a leading 1 of 11 digits dropped), ``patient.bio.date_of_birth must be a date
  (YYYY-MM-DD)`` (no range check), ``patient.bio.gender must be one of Male, Female,
  Other`` (exact case). An unknown provider: 400 ``["Provider not found"]`` (every
  provider works at both locations). Duplicates, against every patient of the
  institution (inactive ones too): the same email (case-insensitive), OR a phone equal
  to any phone of an existing patient, OR the same first and last name (folded, as for
  search, separators removed) AND the same date of birth -> 400 ``["A patient with that
  information already exists."]``.
- A created patient: 201, ``data`` ``{"patient": {...}}``, ``foreign_id`` null,
  ``foreign_id_type`` ``nex`` (and it stays so: no appointment booking is simulated, so
  it is never inserted), ``created_at``/``updated_at`` from ``clock``,
  ``last_sync_time``/``guarantor_id``/``middle_name`` and the address null,
  ``phone_number`` the given digits (cell/home null), ``new_patient`` true,
  ``inactive`` false, ``location_ids`` ``[location_id]``. It is searchable at once.

Providers
- ``GET /providers`` (paged, ``data`` a list): ``{id, email: null, first_name,
  middle_name: null, last_name, name ("First Last"), display_name, npi: null, inactive:
  false, institution_id, foreign_id (clinic id as a string), foreign_id_type,
  location_ids: [101, 102], created_at, updated_at, last_sync_time}``. ``display_name``
  (also an appointment's ``provider_name``) is ``Dr. First Last`` for DDS/DMD/MD and
  ``First Last`` otherwise. Provider timestamps are the day before the clinic's first
  patient record.

Appointments
- ``GET /appointments`` requires ``subdomain``, ``location_id``, ``start`` and ``end``
  (ISO 8601 date-times: ``Z``, ``+00:00`` or ``+0000`` offsets; a naive value or bare
  date is UTC); unparsable: 400 ``["start must be an ISO 8601 date-time"]``; end before
  start: 400 ``["end must not be before start"]``. It returns the appointments AT
  ``location_id`` whose ``start_time`` lies in ``[start, end]`` (both inclusive),
  ``data`` a list. Optional: ``patient_id``, ``provider_id`` (integers, else 400),
  ``cancelled`` (true INCLUDES cancelled appointments; false or absent leaves them out.
  NB: NexHealth's v3 reference calls its ``cancelled`` a filter, which would make true
  mean "only cancelled"; the v2 behaviour is unverified), ``page``, ``per_page``,
  ``include[]`` of ``patient`` (embeds the patient object) and ``appointment_type``
  (embeds ``{id, name, minutes: null}``; ``name`` is the clinic's visit type).
- Shape: ``{id, patient_id, provider_id, provider_name, start_time, end_time,
  timezone, location_id, institution_id, appointment_type_id, confirmed, cancelled,
  patient_missing, unavailable, checkin_at, note, foreign_id, foreign_id_type,
  created_at, updated_at}``. ``end_time`` is null when the clinic visit has no end
  (cancelled and in-progress visits). ``confirmed``: finished and arrived visits true;
  planned ones true when the encounter id is even (half are confirmed); cancelled false.
  ``cancelled`` = clinic status cancelled. ``checkin_at`` = start for arrived and
  finished visits. ``note`` = the visit reason. ``patient_missing`` and ``unavailable``
  are false. ``timezone`` is ``Clinic.timezone``. ``foreign_id`` is the clinic encounter
  id as a string. ``created_at`` is 14 days before the start (or before the clinic's
  today for future visits), never before the patient record; ``updated_at`` is the end
  for finished visits, the start for arrived ones, the day before the start for
  cancelled ones (not before creation), the creation time for planned ones.
  Appointments of soft-deleted patients do not exist.
- ``GET /appointments/{id}?subdomain=``: ``data`` ``{"appointment": {...}}`` (takes
  ``include[]`` too; ``location_id`` is optional there, checked when given, and does not
  narrow); unknown: 404 ``["Appointment not found"]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from sandboxes.clinic import Clinic
from sandboxes.nexhealth.auth import TokenIssuer
from sandboxes.nexhealth.errors import ErrorAnswers
from sandboxes.nexhealth.ids import (
    APPOINTMENT_ID_OFFSET,
    APPOINTMENT_TYPE_ID_OFFSET,
    INSTITUTION_ID,
    MAIN_LOCATION_ID,
    OTHER_LOCATION_ID,
    PATIENT_ID_OFFSET,
    PROVIDER_ID_OFFSET,
    location_id_of,
)
from sandboxes.nexhealth.protocol import ACCEPT
from sandboxes.nexhealth.ratelimit import RateLimiter
from sandboxes.nexhealth.readings import CancelledMeans, PatientEnvelope, PatientList, Reading, with_far_visit
from sandboxes.nexhealth.routes import NexHealthApi
from sandboxes.nexhealth.store import Store

__all__ = [
    "ACCEPT",
    "APPOINTMENT_ID_OFFSET",
    "APPOINTMENT_TYPE_ID_OFFSET",
    "INSTITUTION_ID",
    "MAIN_LOCATION_ID",
    "OTHER_LOCATION_ID",
    "PATIENT_ID_OFFSET",
    "PROVIDER_ID_OFFSET",
    "create_app",
    "location_id_of",
]


def create_app(
    clinic: Clinic,
    *,
    api_key: str,
    subdomain: str,
    token_ttl: float = 3600.0,
    rate_per_second: int = 100,
    rate_per_minute: int = 1000,
    clock: Callable[[], float] | None = None,
    patient_envelope: PatientEnvelope = "nested",
    patient_list: PatientList = "object",
    cancelled_means: CancelledMeans = "include",
    far_visit_years: int | None = None,
    latest_year: int | None = None,
    not_inserted: Collection[int] = (),
    **reading: Any,
) -> Starlette:
    """The NexHealth v2 API for `clinic` as institution `subdomain`; authenticate with `api_key`.

    `clock` returns epoch seconds (default ``time.time``): token expiry, rate windows and
    the timestamps of created patients follow it. `patient_envelope`, `patient_list`,
    `cancelled_means`, `far_visit_years`, `latest_year` and the keywords of
    ``readings.Reading`` (`reading`) choose a reading where the docs are silent
    (``sandboxes.nexhealth.readings``); the defaults are the readings described above.
    `not_inserted`: the clinic patients (by clinic id) served as not yet inserted into the
    practice management system (``foreign_id`` null, ``foreign_id_type`` ``nex``), with the
    address, middle name and phones the clinic gives them, as a patient who registered
    through NexHealth before booking is: the only patients with those that an edit reaches
    (the docs allow edits "prior to being inserted"; a create sets none of them).
    """
    now = clock or time.time
    chosen = Reading(**reading)
    if far_visit_years is not None:
        clinic = with_far_visit(clinic, far_visit_years)
    api = NexHealthApi(
        Store(clinic, now, chosen, frozenset(not_inserted)),
        TokenIssuer(token_ttl),
        RateLimiter(rate_per_second, rate_per_minute),
        api_key=api_key,
        subdomain=subdomain,
        clock=now,
        patient_envelope=patient_envelope,
        patient_list=patient_list,
        cancelled_means=cancelled_means,
        latest_year=latest_year,
        reading=chosen,
    )
    errors = ErrorAnswers(chosen.error_body, chosen.framework_errors)
    app = Starlette(routes=api.routes(), exception_handlers={HTTPException: errors.not_found, 500: errors.server_error})
    app.state.requests = 0
    app.state.authentications = 0
    return app
