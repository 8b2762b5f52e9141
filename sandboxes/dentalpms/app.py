"""A Dental PMS API simulator serving the synthetic clinic (``sandboxes.clinic``).

``create_app(clinic, org_id=..., api_token=..., **switches)`` returns an ASGI app that answers
like the documented FastAPI service (``vendor-docs/dentalpms-api.txt``) under
``/api/v1/{org_id}``: patients (page list, cursor list, typeahead search, counts by
location, read, create, patch, archive, restore, transition-status) and their allergies, medications, vital
signs, diseases and medical summary. The app holds its own rendered copy of the clinic, so
writes never touch the cached ``Clinic``; writes are stamped by ``clock`` (wall clock by
default).
``record_uuid(clinic, kind, id)`` (from ``sandboxes.dentalpms.ids``, re-exported here) gives
the vendor uuid of any clinic record, so tests can go from clinic truth to the vendor's ids.

Modules: ``routes`` (the route table) over ``patient_lists``, ``patients`` and ``medical``
(the endpoints), behind ``auth``; ``params`` and ``bodies`` parse requests, ``errors`` and
``responses`` shape answers, ``paging`` and ``cursor`` the list envelopes; ``store`` holds
the data and every write (``idempotency`` the replayed creates), ``rows``, ``matching``
and ``sorting`` what lists derive from it (``readings``: how ``search`` is read);
``render``, ``vital_flags`` and ``ids`` turn clinic records into the vendor's JSON, and
``shapes`` re-spells every JSON answer when a spelling switch asks for it.

Rendering: patient ids are the clinic uuids; every other record id is
``uuid5(namespace(clinic), f"{kind}:{id}")``. Datetimes are ISO-8601 UTC with ``Z``
(pydantic style: fractional seconds only when non-zero), dates ``YYYY-MM-DD``, times
``HH:MM:SS``, decimals and money as strings, missing values as ``null``. References are
``{"uuid": ..., "name": ...}``.

Switches (keywords of ``create_app`` and ``create_sandbox``; each default is the reading
described below, and the adapter must work under every value):
- ``search_accents``, ``search_phones``, ``search_match``, ``search_case``: how the list
  ``search`` is read (``readings``).
- ``list_statuses`` (``"all"``, ``"active"``: without ``status`` the lists answer only active
  patients, as the counts endpoint defaults), ``dob_to`` (``"inclusive"``, ``"exclusive"``: a
  half-open birth-date range) and ``search_min_length`` (1; e.g. 3: a shorter ``search`` or
  ``q`` is a 422): how the patient lists read their filters (``list_readings``).
- ``list_totals``: the page list's ``total`` counts what it lists (``"listed"``) or, without
  ``status``, the archived patients matching too (``"with_archived"``: a count query without the
  soft-delete filter) (``list_readings``).
- ``counts_endpoint``: ``/patients/counts/by-location`` is ``"served"``, or missing, as from an
  implementation that skipped the report: ``"absent"`` (the router's 404 for a path it does not
  have) or ``"not_implemented"`` (a stub's 501) (``routes``).
- ``idempotency``: ``"replay"`` (a repeated ``Idempotency-Key`` with the same body gets the
  stored 201 again) or ``"conflict"`` (every repeated key is 409 ``Idempotency conflict``) or
  ``"ignored"`` (the key is not read: every create is a new one) or ``"replay_any"`` (the first
  answer to a key is replayed whatever its status, a 503 included, as Stripe's keys are) or
  ``"see_other"`` (a repeat is ``303 See Other`` to the patient the key made) or
  ``"see_other_internal"`` (the same, to an absolute URL on the service's own bind address).
- ``idempotency_keys``: any ``Idempotency-Key`` is taken (``"any"``) or only a UUID
  (``"uuid"``: another is a 422 naming the header) (``idempotency``).
- ``create_answers``: a create's answer reaches the client (``"sent"``) or is lost once
  (``"lost_once"``: a 503 after the patient is stored; a repeat with its key is answered as
  ``idempotency`` says), or is a 201 with no body, the patient's URL in ``Location``
  (``"location"``) (``idempotency``).
- ``past_end``: a page list asked for a page after the last answers ``"empty"`` (an empty
  page) or ``"not_found"`` (404 ``Page not found``), ``"not_found_from_first"`` page 1 of
  an empty list included (``paging``).
- ``empty_lists``: a page or cursor page with no records is the envelope, empty (``"page"``),
  or ``204 No Content`` with no body (``"no_content"``: Spring's ``ResponseEntity.noContent()``
  for an empty list; the reference gives no status code for any list), or 404 (``"not_found"``:
  ``ResponseEntity.notFound()`` or ASP.NET's ``NotFound()`` for a filter matching nothing)
  (``paging``).
- ``archived_patients`` (``"served"``, ``"gone"``: 410 for every endpoint of an archived
  patient, ``"not_found"``: 404 for them, ``restore`` excepted, and no list shows it, as a
  soft-delete global filter has it), ``archived_records`` (``"hidden"``, ``"listed"``: sub-record lists include
  soft-deleted records), ``page_size_max`` (200; e.g. 50, the documented default) and
  ``vitals_lookup`` (``"owned"``, ``"by_id"``: the single vital-signs ``GET`` finds a reading
  by its uuid whoever's it is): ``lifecycle``.
- ``timestamps`` (``"z"``, ``"offset"``, ``"naive"``), ``dates`` (``"date"``,
  ``"datetime"``: dates served as midnight date-times), ``scalars`` (``"json"``,
  ``"strings"``: booleans ``"true"``/``"false"`` and integers as text, ``"digits"``:
  booleans ``"1"``/``"0"``), ``nulls`` (``"null"`` or ``"absent"``), ``page_info``
  (``"full"`` or ``"sparse"``: ``has_next_page``/``end_cursor`` left out on the last cursor
  page) and ``error_bodies`` (``"fastapi"``, ``"detail_text"``: a 422's list as one text,
  ``"error_object"``: ``{"error": {"code", "message"}}``, ``"spring"``: Spring Boot's
  default error attributes, the reason phrase only, a 422's list as binding ``errors``),
  ``enums`` (``"lower"``, ``"upper"``: ``ON_HOLD``, ``"pascal"``: ``OnHold``),
  ``stand_in_dates`` (``"null"`` or ``"zero"``: an empty date or date-time is
  ``0001-01-01``/``0001-01-01T00:00:00Z``) and ``defaults`` (``"served"`` or ``"omitted"``:
  fields equal to their documented default left out) and ``decimals`` (``"text"`` or
  ``"scientific"``: ``"1.5E+2"``, as Java's ``BigDecimal.stripTrailingZeros().toString()``
  writes) and ``references`` (``"null"`` or ``"array"``: a reference with nothing behind it
  written ``[]``, as PHP's ``json_encode`` writes a Laravel resource over null) and
  ``stand_in_numbers`` (``"null"`` or ``"zero"``: a vital sign not taken is ``0`` or
  ``"0.00"``, a non-nullable type's zero value) and ``patient_deleted_at`` (``"served"`` or
  ``"hidden"``: a patient's ``deleted_at`` left out of every answer, an archived patient told
  only by its ``status``) and ``wrappers`` (``"none"``, ``"records"``: a single record's
  answer is ``{"data": record}``, as a Laravel ``JsonResource`` wraps itself, or ``"all"``: every
  successful answer is, lists too, as NestJS's documented response-mapping interceptor does) and
  ``error_bodies="laravel"`` (``{"message"}``, a 422's ``errors`` by field, an unknown path
  ``The route <path> could not be found.``) and ``error_bodies="problem_details"`` (ASP.NET
  Core's ``{"type", "title", "status", "detail"}``, a validation failure's ``errors`` by
  property, ``Email``, or JSON path, ``$.email``, and no ``detail``) and ``error_bodies="rails"``
  (a failed validation as a Rails scaffold renders it, ``{"email": ["is invalid"]}``, nothing
  else; other refusals ``{"error": "text"}``): how answers are spelled,
  applied to every JSON answer (``shapes``).
- ``version_conflicts``: a stale ``base_version`` answered 409 (the reference's "Version
  conflict") or 412 (Precondition Failed: optimistic versions read as HTTP preconditions)
- ``validation_status``: what the reference documents as a 422 is answered 422 or 400
  (Spring Boot's, ASP.NET Core's, DRF's and NestJS' status for a request refused as invalid)
  (``errors``).
- ``query_booleans``: a boolean query parameter (``is_active``) read as pydantic reads one
  (``"any"``: ``true``/``false``, ``1``/``0``, ``yes``/``no``, ...) or only as ``1``/``0``
  (``"digits"``: Laravel's ``boolean`` validation rule, which refuses the text ``"true"``
  with a 422) or as JavaScript's truthiness of the text (``"truthy"``: NestJS converting its
  query with class-transformer's ``@Type(() => Boolean)``, ``Boolean("false")`` being true, so
  ``is_active=false`` asks for the active records) (``params``).
- ``query_enums``: the enum-valued query parameters (``status``, ``problem_status``,
  ``sort_by``, ``sort_dir``) taken as documented (``"documented"``: ``active``) or only as an
  enum constant's name (``"names"``: ``ACTIVE``, ``LAST_NAME``, as Spring binds a
  ``@RequestParam`` enum; the documented spelling is a 400) (``query_enums``).
- ``body_enums``: the enum-valued fields of the patient write bodies (``gender``,
  ``marital_status``, ``status``, ``new_status``, ...) taken as documented (``"documented"``:
  ``female``) or only as an enum constant's name (``"names"``: ``FEMALE``, as Jackson decodes an
  enum by default; the documented spelling is a 400) (``body_enums``).
- ``vital_times``: a vital-signs reading's ``date_taken`` and ``time_taken`` are the
  clinic's day and wall clock (``"local"``, ``14:30:00``) or the UTC day and time with
  its ``Z`` (``"utc"``, ``19:30:00Z``: the reference types ``time_taken`` as ``string
  (time)``, RFC 3339's ``full-time``, which carries an offset) or the moment as a UTC
  date-time in ``date_taken`` and its time of day, zoneless, in ``time_taken`` (``"instant"``,
  ``2024-05-01T19:30:00Z`` and ``19:30:00``: a .NET ``DateTime`` holding the moment taken)
  (``render``).
- ``allergy_severities``: an allergy's ``severity`` (typed only ``string``) as the clinic's
  ``mild``/``moderate``/``severe`` (``"fhir"``), a pick list's ``Low``/``Medium``/``High``
  (``"scale"``) or a form's ``Mild``/``Moderate``/``Life-threatening`` (``"labels"``)
  (``render``).
- ``snomed_reactions``: an allergy's ``snomed_reaction`` (typed only ``string``) as the concept
  id (``"code"``, ``247472004``), its term (``"term"``, ``Hives``) or both in SNOMED CT
  compositional grammar (``"expression"``, ``247472004 |Hives|``) (``render``).
- ``write_answers``: a ``PATCH`` or ``transition-status`` answers the patient as stored
  (``"flushed"``) or with the ``version`` and ``updated_at`` from before that write
  (``"before_flush"``: a JPA service that maps its entity before the ORM flushes, when
  ``@Version`` is bumped) or only what it saved (``"saved_fields"``: the ``id``, the fields set,
  ``version`` and ``updated_at``, as TypeORM's ``repository.save({ id, ...dto })`` returns)
  (``store``).
- ``patch_nulls``: a ``PATCH`` field sent as null is set to null (``"cleared"``) or left as
  it was (``"ignored"``: null read as "not provided", as ``exclude_none`` does; the
  reference says only "only provided fields are modified") or refused (``"refused"``: a 422
  naming each field sent as null, as Django REST Framework's non-nullable fields and a Laravel
  rule without ``nullable`` answer) (``bodies``).
- ``patch_chart_numbers``: a ``PATCH`` carrying a chart number is checked against every other
  patient's (``"others"``) or every patient's (``"any"``: ``exists(chart_number=X)`` without
  ``id != self``, so the patient's own, unchanged chart number is 409 ``Duplicate chart
  number``) (``bodies``).
- ``death_dates``: a ``transition-status`` to ``deceased`` is taken along the documented
  transitions alone (``"optional"``) or only once the patient has a ``date_time_deceased``
  (``"required"``: 422 ``Invalid status transition`` otherwise) (``store``).
- ``create_statuses``: a create stores the body's ``status`` (``"stored"``) or makes every new
  patient ``active`` (``"ignored"``: status moved by ``transition-status`` alone) (``store``).
- ``empty_patches``: a ``PATCH`` of ``base_version`` alone is taken (``"taken"``) or refused, 400
  ``No fields to update`` (``"refused"``) (``store``).
- ``archive_versions``: a patient's ``archive`` takes no body (``"none"``) or requires
  ``{"base_version"}`` as the definitions' archive endpoints do (``"required"``: 422 without it,
  409 when stale) (``store``).
- ``body_dates``: the patient bodies' dates and date-times parsed as pydantic's lax mode does
  (``"lax"``: ``2020-03-15`` is a midnight ``date_time_deceased``) or strictly by the
  reference's types (``"strict"``: a ``string (date-time)`` must be RFC 3339's, date, time and
  offset, as Go's ``time.Time`` and Jackson's ``OffsetDateTime`` read one; a 422 naming the
  field otherwise) (``bodies``).
- ``patch_versions``: a ``PATCH`` moves ``version`` on by one (``"bumped"``) or leaves it as it
  was (``"kept"``: only the lifecycle's writes move it; ``base_version`` still checked) (``store``).
- ``write_keys``: only a create must carry an ``Idempotency-Key`` (``"creates"``), or every
  ``POST`` and ``PATCH`` (``"every_write"``: 400 without one; a key repeated with the same write
  replayed, with another 409) (``write_keys``).
- ``chart_numbers``: a body's ``chart_number`` is taken (``"taken"``) or dropped without a word,
  every new patient given the next free ``C#####`` (``"assigned"``: the field read-only in the
  service's serializer, left out of a Laravel model's ``$fillable`` or of Rails' permitted
  parameters) (``store``).
- ``body_versions``: a write body's ``base_version`` read as a number (``"number"``, pydantic's
  lax mode taking ``"3"`` too) or only as text (``"text"``: Go's ``,string`` field option, which
  writes ``version`` as text, ``scalars="strings"``, and refuses a JSON number, 400) (``bodies``).
- ``body_phones``: the patient bodies' phone numbers taken as any text (``"any"``) or only in
  international form (``"international"``: ``+1 555-123-4567``; a national ``(555) 123-4567``
  is a 422 naming the field, as pydantic-extra-types' ``PhoneNumber`` and class-validator's
  ``@IsPhoneNumber()`` without a region refuse it) (``bodies``).

Assumptions where the docs are silent or disagree (the adapter must not rely on more):

Protocol
- Order of checks: bearer token (401), then org (404 ``Organization not found``), then
  parameter validation (422, all errors at once, FastAPI/pydantic v2 wording), then
  referenced entities (404). Unmatched paths get FastAPI's ``{"detail": "Not Found"}``
  without an auth check; a wrong method gets ``{"detail": "Method Not Allowed"}`` (405).
- Both 401s carry ``WWW-Authenticate: Bearer``; a non-Bearer scheme counts as invalid
  credentials, no header (or an empty one) as "Not authenticated".
- ``page`` >= 1 and ``page_size``/``first`` in 1..200 on every list (the docs give
  defaults only); ``/patients/search`` ``limit`` in 1..100. Out of range is a 422.
- Query parameters the docs type as dates (``dob_from``, ``dob_to``, vital-signs
  ``date_from``/``date_to``) are validated as dates; ``status`` and ``problem_status``
  are plain strings (an unknown value matches nothing).
- ``primary_provider_uuid``/``location_uuid``/``tag_definition_uuid`` filters are
  strings: anything that is not a known provider/location is a 404 (``Provider not
  found``, ``Location not found``); no tags exist, so any tag filter is ``Tag
  definition not found``.

Patient lists
- Soft-deleted (archived) patients are left out unless ``status=archived``.
- Names sort case- and accent-insensitively (as a PostgreSQL ICU collation would), ties
  on the raw value, then on the patient id; nulls sort last ascending, first descending.
- ``search`` (list and cursor): the query is split on whitespace and every token must
  match (AND); a token matches a patient when, case- and accent-folded, it is a substring
  of the first, middle, last or preferred name, email, chart number or ``YYYY-MM-DD``
  birth date, or when it has at least 3 digits and those digits are a substring of the
  digits of the mobile or home phone. Patients without a birth date never match
  ``dob_from``/``dob_to``. Other implementations read ``search`` differently; switches
  (``readings``), each defaulting to the reading above, simulate them:
  ``search_accents="insensitive"|"sensitive"|"sensitive_nfd"`` (accent-sensitive like
  ``ILIKE``; ``_nfd``: over names stored decomposed), ``search_phones="digits"|"as_stored"|"e164"``
  (phones stored and served formatted, ``(555) 123-4567``, or in E.164, ``+15551234567``,
  matched only as text of that string), ``search_match="substring"|"prefix"`` (a token must start a field's value) and
  ``search_case="insensitive"|"sensitive"`` (``LIKE``: a token matches only in the case
  stored). The typeahead ``/patients/search`` follows the same switches.
- Cursor: base64url (unpadded) JSON ``[sort value as rendered, patient id]``; it is
  validated against the requested ``sort_by``. ``end_cursor`` is the cursor of the last
  row returned (null when the page is empty), whether or not a next page exists.
- ``/patients/search`` matches first, last, preferred name and chart number only, leaves
  archived patients out, orders like the list's default (last name) and reports the
  total before ``limit``.
- ``/patients/counts/by-location`` is a report, not a list: an organization with no patient
  matching (none at all included) is answered its counts, all zero, whatever
  ``empty_lists`` says; its item shape is open in the reference (``patient_lists``).

Patient record
- A soft-deleted patient is still served by ``GET /patients/{uuid}`` (200, ``status``
  ``archived``, ``deleted_at`` set), and so are its sub-resources.
- ``version`` is 1 for a record never changed; for clinic patients whose ``updated_at``
  differs from ``created_at`` it is 2..4 (derived from the id). Writes bump it by one.
- Balances, estimates and payment-plan dues are ``"0.00"``; ``country`` is ``"US"`` when
  the patient has any address part, else null; ``receives_email``/``receives_sms``
  follow the presence of an email/mobile phone; ``scheduling_restricted`` is true for
  inactive patients (balances are zero); ``date_first_visit`` is the first finished (or
  arrived) visit; ``latest_vitals_date`` the newest live vital-signs reading. Fields the clinic
  has no data for are null (``potential_duplicates`` is ``[]``: it is filled only in
  the response to a create, with patients sharing last name + birth date, email or
  mobile phone, each as ``{id, first_name, last_name, date_of_birth, chart_number}``).
- Provider references are named "First Last, DESIGNATION"; patient references
  "First Last".

Writes
- ``POST /patients``: unknown body fields are ignored; a missing ``chart_number`` gets
  the next free ``C#####``; a chart number in use (archived patients included) is 409
  ``Duplicate chart number``; ``status: archived`` is 422 ``Archived status requires the
  archive endpoint``; emails are checked for one ``@`` and a dotted domain. New patient
  ids are deterministic (uuid5 of a counter). ``Idempotency-Key`` replays only 201s:
  same key and same JSON body (key order ignored) return the stored response again;
  a different body is 409 ``Idempotency conflict``.
- ``PATCH /patients/{uuid}`` needs ``base_version``; a stale one is 409 ``Version
  conflict``; ``first_name``/``last_name`` cannot be set to null; archived patients can
  be patched. Unknown provider/location/guarantor uuids are 404 (``Provider not found``,
  ``Location not found``, ``Guarantor not found``; fee schedules, billing types and
  employers do not exist in the sandbox, so any such uuid is 404 as well).
- ``archive`` of an archived patient is 422 ``Patient is already archived``; ``restore``
  of a live one is 422 ``Patient is not archived``; restore sets ``status`` inactive, as
  documented. Both bump ``version`` and ``updated_at``.

Sub-resources
- Lists leave soft-deleted records out; a soft-deleted vital-signs record is 404
  ``Vital signs not found`` on the single GET. Allergies, medications and diseases are
  ordered by ``created_at`` then id; vital signs by ``date_taken``, ``time_taken``
  (nulls last), id.
- Sub-record timestamps are derived: ``created_at`` is 18:00Z on the day noted/started/
  onset (for vital signs: the reading's local time, or noon, in the clinic's time zone),
  never before the patient record; ``time_taken`` is the clinic's local wall-clock time;
  a soft-deleted record was deleted (and last updated) 7 days later, capped at the
  clinic's today; a stopped medication or resolved problem was last updated when it
  stopped. ``version`` is 1, or 2 when updated after creation.
- Allergy substance codes are not rendered (the record has no field for them): the
  substance is only the ``allergy_definition`` reference name. ``date_adverse_reaction``
  is the date the allergy was noted.
- Medications with an RxNorm code reference a ``medication_definition`` named by the
  RxNorm display name, with ``med_descript`` null; free-text medications have no
  definition and carry their text in ``med_descript``. ``dosage`` is the strength;
  ``frequency`` gets " as needed" appended for PRN medications ("as needed" alone when
  there is no interval). ``provider`` is the prescriber; ``is_cpoe`` is false.
- Diseases: ``snomed_problem_type`` is the SNOMED problem *type* (55607006 |Problem|,
  as in Open Dental, whose field names this API follows), not the problem's own code; the problem's
  SNOMED and ICD-10 codes live on the disease definition and are not exposed, so only
  the ``disease_definition`` name carries the problem. ``function_status`` is "problem".
- Vital signs: ``weight_code`` and ``note`` are null, ``has_followup_plan`` false.
  ``abnormal_flags`` items are ``{"vital", "message", "severity"}``: BP >180/>120 and
  SpO2 <94 are critical (and make ``is_procedure_blocking`` true); BP >=140/>=90,
  pulse >120 or <50 and temperature >=100.4 are warnings.
- Medical summary: ``allergies`` holds every live allergy (the field's description;
  the endpoint's prose says active only), ``past_medications`` every live medication
  whose status is not active (discontinued, completed and on hold), ``latest_vitals``
  the newest live reading or null; ``alerts`` and ``social_history`` are empty,
  ``medical_urgent_note`` null and ``premedication_required`` false.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp

from sandboxes.clinic import Clinic
from sandboxes.dentalpms.bodies import (
    BodyDates,
    BodyPhones,
    BodyVersions,
    PatchChartNumbers,
    PatchNulls,
    VersionConflicts,
)
from sandboxes.dentalpms.body_enums import BodyEnums
from sandboxes.dentalpms.errors import ValidationStatus, render_http_error
from sandboxes.dentalpms.idempotency import CreateAnswers, Idempotency, IdempotencyKeys
from sandboxes.dentalpms.ids import RecordKind, namespace, record_uuid
from sandboxes.dentalpms.lifecycle import ArchivedPatients, ArchivedRecords, Lifecycle, VitalsLookup
from sandboxes.dentalpms.list_readings import DobTo, ListReading, ListStatuses, ListTotals
from sandboxes.dentalpms.paging import EmptyLists, PastEnd
from sandboxes.dentalpms.params import QueryBooleans
from sandboxes.dentalpms.query_enums import QueryEnums
from sandboxes.dentalpms.readings import Accents, Case, Match, Phones, SearchReading
from sandboxes.dentalpms.render import AllergySeverities, SnomedReactions, VitalTimes
from sandboxes.dentalpms.routes import CountsEndpoint, api_routes
from sandboxes.dentalpms.shapes import (
    Dates,
    Decimals,
    Defaults,
    Enums,
    ErrorBodies,
    Nulls,
    PageInfo,
    PatientDeletedAt,
    References,
    Scalars,
    ShapedApp,
    Shapes,
    StandInDates,
    StandInNumbers,
    Timestamps,
    Wrappers,
)
from sandboxes.dentalpms.store import (
    ArchiveVersions,
    ChartNumbers,
    CreateStatuses,
    DeathDates,
    EmptyPatches,
    PatchVersions,
    Store,
    WriteAnswers,
)
from sandboxes.dentalpms.write_keys import WriteKeys
from sandboxes.toolkit.clock import Clock, wall_clock
from sandboxes.toolkit.errors import http_exception_handler

__all__ = ["RecordKind", "create_app", "namespace", "record_uuid"]


def create_app(
    clinic: Clinic,
    *,
    org_id: str,
    api_token: str,
    clock: Clock | None = None,
    search_accents: Accents = "insensitive",
    search_phones: Phones = "digits",
    search_match: Match = "substring",
    search_case: Case = "insensitive",
    idempotency: Idempotency = "replay",
    past_end: PastEnd = "empty",
    archived_patients: ArchivedPatients = "served",
    archived_records: ArchivedRecords = "hidden",
    page_size_max: int = 200,
    vitals_lookup: VitalsLookup = "owned",
    timestamps: Timestamps = "z",
    dates: Dates = "date",
    scalars: Scalars = "json",
    nulls: Nulls = "null",
    page_info: PageInfo = "full",
    error_bodies: ErrorBodies = "fastapi",
    enums: Enums = "lower",
    stand_in_dates: StandInDates = "null",
    defaults: Defaults = "served",
    decimals: Decimals = "text",
    vital_times: VitalTimes = "local",
    patch_nulls: PatchNulls = "cleared",
    patch_chart_numbers: PatchChartNumbers = "others",
    body_dates: BodyDates = "lax",
    body_phones: BodyPhones = "any",
    body_versions: BodyVersions = "number",
    allergy_severities: AllergySeverities = "fhir",
    snomed_reactions: SnomedReactions = "code",
    write_answers: WriteAnswers = "flushed",
    references: References = "null",
    stand_in_numbers: StandInNumbers = "null",
    patient_deleted_at: PatientDeletedAt = "served",
    wrappers: Wrappers = "none",
    query_booleans: QueryBooleans = "any",
    query_enums: QueryEnums = "documented",
    body_enums: BodyEnums = "documented",
    empty_lists: EmptyLists = "page",
    idempotency_keys: IdempotencyKeys = "any",
    create_answers: CreateAnswers = "sent",
    validation_status: ValidationStatus = 422,
    version_conflicts: VersionConflicts = 409,
    list_statuses: ListStatuses = "all",
    dob_to: DobTo = "inclusive",
    search_min_length: int = 1,
    list_totals: ListTotals = "listed",
    counts_endpoint: CountsEndpoint = "served",
    death_dates: DeathDates = "optional",
    create_statuses: CreateStatuses = "stored",
    empty_patches: EmptyPatches = "taken",
    archive_versions: ArchiveVersions = "none",
    chart_numbers: ChartNumbers = "taken",
    write_keys: WriteKeys = "creates",
    patch_versions: PatchVersions = "bumped",
) -> ASGIApp:
    """The Dental PMS API for `clinic`, under ``/api/v1/{org_id}``, behind `api_token`.

    `clock` (default: the wall clock) stamps writes; pass a fixed one for repeatable tests.
    `search_accents`, `search_phones`, `search_match` and `search_case` choose how the list
    ``search`` is read (``sandboxes.dentalpms.readings``); `idempotency` how a repeated key is
    answered, `idempotency_keys` which keys are taken and `create_answers` whether a create's
    answer is lost (``idempotency``), `past_end` a page
    past the last and `empty_lists` a list with no records (``paging``), `validation_status`
    the status of a 422 (``errors``), `archived_patients`,
    `archived_records` and `page_size_max` archived records and list bounds (``lifecycle``),
    `list_statuses`, `dob_to` and `search_min_length` the patient lists' filters
    (``list_readings``), `counts_endpoint` whether the counts are there (``routes``), and the
    others how answers are spelled (``shapes``). Every default is the documented simulator's.
    """
    reading = SearchReading(accents=search_accents, phones=search_phones, match=search_match, case=search_case)
    shapes = Shapes(
        timestamps, dates, scalars, nulls, page_info, error_bodies, enums, stand_in_dates, defaults, decimals,
        references, stand_in_numbers, patient_deleted_at, wrappers,
    )  # fmt: skip
    lifecycle = Lifecycle(archived_patients, archived_records, page_size_max, vitals_lookup)
    store = Store(
        clinic,
        clock or wall_clock,
        reading,
        idempotency,
        past_end,
        lifecycle,
        vital_times=vital_times,
        patch_nulls=patch_nulls,
        patch_chart_numbers=patch_chart_numbers,
        body_dates=body_dates,
        body_phones=body_phones,
        body_versions=body_versions,
        allergy_severities=allergy_severities,
        snomed_reactions=snomed_reactions,
        write_answers=write_answers,
        query_booleans=query_booleans,
        query_enums=query_enums,
        body_enums=body_enums,
        empty_lists=empty_lists,
        idempotency_keys=idempotency_keys,
        create_answers=create_answers,
        version_conflicts=version_conflicts,
        lists=ListReading(list_statuses, dob_to, search_min_length, list_totals),
        death_dates=death_dates,
        create_statuses=create_statuses,
        empty_patches=empty_patches,
        archive_versions=archive_versions,
        chart_numbers=chart_numbers,
        write_keys=write_keys,
        patch_versions=patch_versions,
    )
    app = Starlette(
        routes=api_routes(
            store,
            org_id=org_id,
            api_token=api_token,
            validation_status=validation_status,
            counts_endpoint=counts_endpoint,
        ),
        exception_handlers={HTTPException: http_exception_handler(render_http_error)},
    )
    return app if shapes.documented else ShapedApp(app, shapes)
