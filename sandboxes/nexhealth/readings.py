"""Switches for the points NexHealth's docs leave open, each defaulting to the simulator's
first reading, so tests can run the adapter against every plausible implementation.

- ``patient_envelope``: the ``data`` of ``GET /patients/{id}`` and of ``POST /patients``.
  ``"nested"`` (default) ``{"patient": {...}}``; ``"flat"`` the patient object itself.
- ``patient_list``: the ``data`` of ``GET /patients``. ``"object"`` (default)
  ``{"patients": [...]}`` (getting-started page); ``"array"`` a bare list of patients;
  ``"wrapped"`` ``[{"patients": [...]}]`` (how the patients page prints it).
- ``cancelled_means``: ``GET /appointments?cancelled=true``. ``"include"`` (default) adds
  cancelled appointments to the others; ``"only"`` answers cancelled ones only (v3's
  "filter" reading). ``cancelled=false`` or absent leaves cancelled ones out under both.
- ``far_visit_years``: ``None`` (default) serves the clinic as it is; ``N`` adds one planned
  visit N years after the clinic's today (``with_far_visit``), for open-ended searches.
- ``latest_year``: ``None`` (default) ``GET /appointments`` takes any ``start``/``end``;
  ``Y`` refuses (400 ``["start and end must not be after Y"]``) a window reaching past
  year Y, as a vendor with a limited calendar would.

The later switches (PATCH bodies, name and phone matching, error bodies, timestamps, scalars,
nulls, paging edge cases) are held together by ``Reading`` (below), one keyword each.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sandboxes.clinic import Clinic, Patient

__all__ = [
    "BIRTH_APP_ZONE",
    "BIRTH_SERVER_ZONE",
    "DOCUMENTED",
    "CancelledMeans",
    "PatientEnvelope",
    "PatientList",
    "Reading",
    "far_visit_patient",
    "with_far_visit",
]

PatientEnvelope = Literal["nested", "flat"]
PatientList = Literal["object", "array", "wrapped"]
CancelledMeans = Literal["include", "only"]
# The zones of `birth_dates="east_midnight"` (the Node server's, east of UTC) and `"zoned"`
# (a Rails app's `config.time_zone`, west of it).
BIRTH_SERVER_ZONE = ZoneInfo("Europe/Berlin")
BIRTH_APP_ZONE = ZoneInfo("America/New_York")


def far_visit_patient(clinic: Clinic) -> Patient:
    """The patient who gets the far visit: the first live one with a visit at clinic location 1."""
    return next(p for p in clinic.patients if not p.deleted and any(e.location_id == 1 for e in p.encounters))


def with_far_visit(clinic: Clinic, years: int) -> Clinic:
    """`clinic` with one more planned visit, `years` after its today, for `far_visit_patient`."""
    patient = far_visit_patient(clinic)
    template = next(e for e in patient.encounters if e.location_id == 1)
    day = date(clinic.today.year + years, clinic.today.month, min(clinic.today.day, 28))
    start = datetime.combine(day, time(15, 0), tzinfo=UTC)
    next_id = 1 + max(e.id for p in clinic.patients for e in p.encounters)
    visit = dataclasses.replace(
        template, id=next_id, start=start, end=start + timedelta(minutes=30), status="planned", locked=False
    )
    changed = dataclasses.replace(patient, encounters=(*patient.encounters, visit))
    return dataclasses.replace(clinic, patients=tuple(changed if p.id == patient.id else p for p in clinic.patients))


# -- the later switches, held together: what the answers look like and how search matches --

PatchBody = Literal["nested", "flat", "flat_ignoring", "fully_flat", "fully_flat_ignoring"]
NameAccents = Literal["insensitive", "sensitive", "sensitive_nfd"]
NameMatch = Literal["fuzzy", "prefix", "substring"]
NameTokens = Literal["all", "any"]
Phones = Literal["digits", "as_stored", "e164"]
# "text": an error's words as the whole body, no JSON (Express's `res.status(400).send(message)`,
# text/html; ASP.NET Core's `BadRequest("...")` and Spring's `ResponseEntity.badRequest().body("...")`,
# text/plain): the docs show no error body, only that a duplicate is "a 400 Bad Request error with
# the message A patient with that information already exists".
ErrorBody = Literal["list", "string", "description", "object", "detail", "fields", "nestjs", "pydantic", "text"]
Timestamps = Literal["millis", "offset", "seconds"]
Scalars = Literal["native", "strings"]
Nulls = Literal["null", "absent", "empty"]
Count = Literal["number", "absent", "page"]
PastEnd = Literal["empty", "last"]
# "refused_50_humanized": above 50 refused as "refused_50" is, in the words of a framework that
# names the field as people read it (Rails' `errors.full_messages` of a `validates :per_page,
# numericality: {less_than_or_equal_to: 50}`: "Per page must be ...", as Laravel's "The per page
# field must not be greater than 50."): the docs give `per_page` no bound, nor a refusal's words.
PerPage = Literal["max_1000", "max_50", "ignored", "refused_50", "refused_50_humanized"]
PastLatest = Literal["refused", "failed"]
# "omitted": a list of no records as Go's `encoding/json` writes a struct whose fields are all
# tagged `omitempty` (an empty slice and a zero `count` left out): `"data": {}` for `{"patients":
# []}`, `[{}]` where the list is wrapped. The docs show lists of patients only, never an empty one.
# "no_body": a 404 without a body, the one a Spring controller's `ResponseEntity.notFound().build()`
# (an ASP.NET Core `NotFound()` outside `[ApiController]`, a Go `w.WriteHeader(404)`) sends for a
# list or a record of no one: the docs show no error body at all.
EmptyLists = Literal["listed", "not_found", "omitted", "no_body"]
Providers = Literal["listed", "absent"]
LocationIds = Literal["shown", "absent"]
PageBase = Literal["one", "zero"]
CreateBody = Literal["nested", "flat", "fully_flat"]
Genders = Literal["capitalized", "lower", "letters", "upper"]
# "status_text": 201 with the status's words as a text body, `Created` (Express's
# `res.sendStatus(201)`, text/plain), no JSON at all: the docs show no create answer.
CreateAnswer = Literal["patient", "id", "none", "status_text"]
RetryAfter = Literal["absent", "seconds"]
DuplicateStatus = Literal["400", "409"]
FrameworkErrors = Literal["envelope", "html"]
# "lowered": emails stored (and served) lower-cased, the `email` search comparing the stored text
# exactly with the term as given (a Rails `before_save { self.email = email.downcase }`, the Rails
# Tutorial's, beside a `where(email: params[:email])`): `Ada@Example.org` finds no one.
Emails = Literal["folded", "exact", "lowered"]
Inactive = Literal["boolean", "nullable"]
# "sent": 200 with the id beside the fields the edit sent, as sent, not the patient (Sequelize's
# `Model.update` and Knex's `update` resolve a count of rows alone, which the handler answers
# as `{id, ...req.body.patient}` rather than reading the row back): the docs show no edit answer.
# "status_text": 200 with `OK` as a text body (Express's `res.sendStatus(200)`), no JSON.
EditAnswer = Literal["patient", "no_content", "before", "sent", "status_text"]
UnknownSubdomain = Literal["forbidden", "not_found"]
ForeignIdSearch = Literal["exact", "ignored"]
UnsetTimes = Literal["null", "zero"]
UnknownLocation = Literal["not_found", "empty"]
UnknownGender = Literal["refused", "failed", "not_included"]
PatientOrder = Literal["oldest_first", "newest_first"]
GenderAt = Literal["bio", "top"]
BirthDates = Literal["date", "datetime", "east_midnight", "zoned"]
UndocumentedParams = Literal["taken", "refused"]
CreateLocation = Literal["query", "body"]
Appointments = Literal["listed", "absent"]
PhoneInput = Literal["lenient", "ten_digits"]
EditLocation = Literal["query", "body"]
UnknownKeys = Literal["ignored", "refused"]
# "location": `GET /patients/{id}` finds only the patients of its `location_id` (a Rails nested
# `current_location.patients.find(id)`), where a list not `location_strict` holds the institution's.
# "location_forbidden": the same read refuses such a patient as not the location's to show, 403
# (a Pundit policy or CanCanCan ability checking the patient's locations, whose `NotAuthorizedError`
# and `AccessDenied` are answered 403 Forbidden): the patient is there, only not at that location.
PatientShow = Literal["listed", "absent", "location", "location_forbidden"]
# Which patients `PATCH /patients/{id}` finds: any of the institution's ("institution"), or only
# those of its `location_id` ("location": the Rails scaffold's `before_action :set_patient` shared
# by `show` and `update`, a `current_location.patients.find(params[:id])`, answering 404), or such
# an edit refused 403 ("location_forbidden": a Pundit `authorize @patient, :update?` checking the
# patient's locations). The docs say a search "is always performed in the context of a location"
# and say of an edit only that it is made "via PATCH": nothing says which location's patients it reaches.
EditScope = Literal["institution", "location", "location_forbidden"]
EditDuplicates = Literal["others", "self_included"]
EditBio = Literal["merged", "replaced"]
AppointmentTimes = Literal["utc", "local"]
AbsentFlags = Literal["any", "false"]
# Whether a PATCH takes the fields it changes alone ("partial"), or, as a create does, every
# required field ("whole"): the one DTO or schema of the create's required fields validating the
# edit too (a Spring `@Valid @RequestBody` or ASP.NET `[Required]` DTO shared by POST and PATCH,
# a Joi schema or class-validator class reused without `.optional()`/`PartialType`). The docs
# list a create's required fields and say only that a patient is edited "via PATCH".
EditFields = Literal["partial", "whole"]
# What `true` of a list flag (`new_patient`, `inactive`, `non_patient`) asks: only the patients
# with it ("filter"), or those too, beside the others ("include": the patients page's advice to
# set `inactive` and `non_patient` to false "to filter out patients that cannot be booked for"
# read as a switch that filters them out when false, as a FastAPI `inactive: bool = False` with
# `if not inactive: query = query.filter(Patient.inactive == False)` does).
FlagsTrue = Literal["filter", "include"]
# A date of birth never recorded: `null`, or the zero value of a date type that has no null (Go's
# `time.Time`, .NET's `DateTime` and `DateOnly` as non-nullable fields): the docs type it a
# date (`"date_of_birth": "1964-05-03"`) and never say a patient may lack one.
BirthDateUnset = Literal["null", "zero"]
# Whether the patient a create or an edit answers holds `bio` ("included"), or not ("absent":
# `bio` a relation of its own table that the write's answer does not load, as Prisma's
# `create`/`update` without `include: {bio: true}` answers): the docs show neither answer.
WrittenBio = Literal["included", "absent"]
# Whether an edit's `bio` may hold a null ("taken") or not ("refused": a Joi `Joi.string()` or a
# Zod `z.string().optional()` refuses null unless told `.allow(null)`/`.nullable()`).
BioNulls = Literal["taken", "refused"]
# How `date_of_birth` search compares where dates of birth are kept as instants (`birth_dates`):
# by the day each stands for ("day"), or ("instant") the term cast as the framework casts a
# date-only text (Rails' time-zone-aware cast of "1964-05-03" to that midnight in
# `config.time_zone`, JavaScript's `new Date("1964-05-03")` to the UTC midnight) against the
# instants stored: the docs never name `date_of_birth` among the search parameters, nor how it
# compares (`birth_search.py`).
BirthSearch = Literal["day", "instant"]
# A read of no record (`GET /patients/{id}`, `GET /appointments/{id}`): a 404 ("not_found"), or
# ("null") a 200 whose record is null, as an implementation answers that sends what its lookup
# resolved without checking it (Mongoose's `findById` and Sequelize's `findByPk` resolve `null`,
# Rails' `find_by` returns `nil`): `{"code": true, "data": {"patient": null}}`, or `"data": null`
# where the record is served bare. The docs show no single-record answer at all.
MissingRead = Literal["not_found", "null"]
# Whether an appointment names its provider (`provider_name`, "shown") or carries `provider_id`
# alone ("absent": a serializer of the appointment's own columns, the name a join it leaves to
# `/providers`): the docs show `provider_name` only in a patient's `upcoming_appts`, and no
# appointment route at all.
ProviderNames = Literal["shown", "absent"]
# How a boolean query parameter (`location_strict`, `new_patient`, `inactive`, `non_patient`,
# `include_upcoming_appts`, `cancelled`) is read: parsed, `false` and `0` false ("parsed"), or
# ("truthy") any value given is true, as Express's `if (req.query.location_strict)` and Flask's
# `if request.args.get("location_strict")` read the text "false": the docs type none of them
# and only show them sent (`location_strict=false` in the getting-started request).
QueryBooleans = Literal["parsed", "truthy"]

_ALLOWED: dict[str, tuple[str, ...]] = {
    "patch_body": ("nested", "flat", "flat_ignoring", "fully_flat", "fully_flat_ignoring"),
    "name_accents": ("insensitive", "sensitive", "sensitive_nfd"),
    "name_match": ("fuzzy", "prefix", "substring"),
    "name_tokens": ("all", "any"),
    "phones": ("digits", "as_stored", "e164"),
    "error_body": ("list", "string", "description", "object", "detail", "fields", "nestjs", "pydantic", "text"),
    "timestamps": ("millis", "offset", "seconds"),
    "scalars": ("native", "strings"),
    "nulls": ("null", "absent", "empty"),
    "count": ("number", "absent", "page"),
    "past_end": ("empty", "last"),
    "per_page": ("max_1000", "max_50", "ignored", "refused_50", "refused_50_humanized"),
    "past_latest": ("refused", "failed"),
    "empty_lists": ("listed", "not_found", "omitted", "no_body"),
    "providers": ("listed", "absent"),
    "location_ids": ("shown", "absent"),
    "page_base": ("one", "zero"),
    "create_body": ("nested", "flat", "fully_flat"),
    "genders": ("capitalized", "lower", "letters", "upper"),
    "create_answer": ("patient", "id", "none", "status_text"),
    "retry_after": ("absent", "seconds"),
    "duplicate_status": ("400", "409"),
    "framework_errors": ("envelope", "html"),
    "emails": ("folded", "exact", "lowered"),
    "inactive": ("boolean", "nullable"),
    "edit_answer": ("patient", "no_content", "before", "sent", "status_text"),
    "unknown_subdomain": ("forbidden", "not_found"),
    "foreign_id_search": ("exact", "ignored"),
    "unset_times": ("null", "zero"),
    "unknown_location": ("not_found", "empty"),
    "unknown_gender": ("refused", "failed", "not_included"),
    "patient_order": ("oldest_first", "newest_first"),
    "gender_at": ("bio", "top"),
    "birth_dates": ("date", "datetime", "east_midnight", "zoned"),
    "undocumented_params": ("taken", "refused"),
    "create_location": ("query", "body"),
    "appointments": ("listed", "absent"),
    "phone_input": ("lenient", "ten_digits"),
    "edit_location": ("query", "body"),
    "unknown_keys": ("ignored", "refused"),
    "patient_show": ("listed", "absent", "location", "location_forbidden"),
    "edit_scope": ("institution", "location", "location_forbidden"),
    "edit_duplicates": ("others", "self_included"),
    "edit_bio": ("merged", "replaced"),
    "appointment_times": ("utc", "local"),
    "absent_flags": ("any", "false"),
    "edit_fields": ("partial", "whole"),
    "flags_true": ("filter", "include"),
    "birth_date_unset": ("null", "zero"),
    "written_bio": ("included", "absent"),
    "bio_nulls": ("taken", "refused"),
    "birth_search": ("day", "instant"),
    "missing_read": ("not_found", "null"),
    "provider_names": ("shown", "absent"),
    "query_booleans": ("parsed", "truthy"),
}


@dataclass(frozen=True)
class Reading:
    """One reading of the doc-silent points below (each default is the documented simulator's).

    - ``patch_body``: ``PATCH /patients/{id}`` takes the create body's ``{"patient": {...}}``
      (``"nested"``) or the patient fields at the top level (``"flat"``); the other shape is
      400, as a body with nothing to change. ``"flat_ignoring"`` takes the flat shape and
      ignores what it does not know: the nested body is a 200 that changes nothing.
      ``"fully_flat"``: ``bio``'s fields at the top level too (``date_of_birth``,
      ``phone_number``, ``gender`` beside ``first_name``), as the ``create_body="fully_flat"``
      create takes them; a ``bio`` object is an unknown key, ignored (a DRF serializer or a
      Pydantic model ignores what it does not declare): a flat body changes the names and
      drops ``bio``'s fields, a 200. ``"fully_flat_ignoring"``: the same, and a body with
      none of its fields (the nested one) is a 200 that changes nothing.
    - ``name_accents``: ``name`` search folds case and accents (``"insensitive"``), folds case
      only (``"sensitive"``: ``nunez`` does not find ``NUÑEZ``), or compares case-folded text
      over names stored and served decomposed (``"sensitive_nfd"``: ``Renée`` sent in NFC
      finds nothing; its unaccented parts still do).
    - ``name_match``: a query word matches a name word ``"fuzzy"`` (equal, a prefix from 2
      letters, one typo from 4), as a ``"prefix"`` only, or as a ``"substring"``.
    - ``name_tokens``: ``"all"`` query words must match, or ``"any"`` of them.
    - ``phones``: ``"digits"`` (stored and served as digits, ``phone_number`` compared by
      digits) or ``"as_stored"`` (stored and served formatted, ``(516) 304-2196``;
      ``phone_number`` matches only that exact text), or ``"e164"``: served in E.164,
      ``+15163042196`` (what Django's ``PhoneNumberField`` or libphonenumber's ``format_number``
      store; the docs' example shows ten digits but names no format), and compared as
      numbers: a create or edit and ``phone_number`` take ten digits, formatted or E.164.
    - ``error_body``: an error's messages as ``"error": [...]`` (``"list"``), as one string
      ``"error": "..."`` (``"string"``), or only in ``"description"`` with ``"error"`` null,
      or as an object (``"object"``: Rails' ``{"base": [...]}``), or without the envelope
      at all: ``{"detail": "..."}`` (``"detail"``: what FastAPI's ``HTTPException`` and Django
      REST Framework's ``APIException`` answer; the docs show no error body, only success
      envelopes, so an implementation may keep the envelope for successes and raise its
      framework's exceptions for errors). Or ``"fields"``: Django REST Framework's own
      bodies, a serializer's ``ValidationError`` (400) by field without the envelope,
      ``{"date_of_birth": ["This field is required."]}`` (nested as the body is,
      ``{"patient": {"email": [...]}}``; messages about no field under
      ``non_field_errors``), and ``{"detail": "..."}`` for the others. Or ``"nestjs"``:
      NestJS's ``HttpException`` body, ``{"statusCode": 400, "message": [...], "error": "Bad
      Request"}`` (``message`` a list for ValidationPipe's 400, one string otherwise; ``error``
      only the status's reason phrase), whose refusal of a gender's spelling is class-validator's
      ``@IsEnum`` words, ``patient.bio.gender must be one of the following values: male,
      female, other`` (a nested field's after its parent's path, as ValidationPipe writes it).
      Or ``"pydantic"``: FastAPI with Pydantic body models, whose framework refuses a create or
      edit body itself, before the route's code runs: 422 ``{"detail": [{"type", "loc",
      "msg", "input"}]}`` (``RequestValidationError``'s default answer: ``"loc": ["body",
      "patient", "bio", "gender"]``, ``"msg": "Input should be 'M', 'F' or 'O'"``, ``"Field
      required"``, ``"Extra inputs are not permitted"``); its other errors ``{"detail":
      "..."}`` as under ``"detail"``. Or ``"text"``: no JSON at all, the messages (joined by
      ``; ``) as the whole body, ``text/html`` as Express's ``res.status(400).send(message)``
      writes a string (ASP.NET Core's ``BadRequest("...")`` and Spring's ``ResponseEntity``
      of a string send the same as ``text/plain``): the docs' duplicate is "a 400 Bad Request
      error with the message A patient with that information already exists", and they show
      no error body to wrap it in.
    - ``timestamps``: ``2020-06-05T20:16:57.007Z`` (``"millis"``),
      ``2020-06-05T20:16:57.007+00:00`` (``"offset"``) or ``2020-06-05T20:16:57Z``
      (``"seconds"``).
    - ``scalars``: numbers and booleans ``"native"``, or as ``"strings"`` (``"id": "415"``,
      ``"inactive": "false"``, ``"count": "12"``).
    - ``nulls``: an optional field without a value is ``null`` or ``"absent"``; or, under
      ``"empty"``, a text field without one is ``""`` (Go's zero ``string`` where the struct
      field is no pointer, or a ``NOT NULL DEFAULT ''`` column; the docs' example shows
      ``null``, but never says an unknown city, middle name or email is not an empty text),
      other fields staying ``null``.
    - ``count``: lists carry ``count``, the total of the query (``"number"``), or not
      (``"absent"``), or as the number of records in this answer (``"page"``: the docs' own
      example reads as a total, but the patients page shows ``"count": 2`` under its list).
    - ``past_end``: a page past the end is an ``"empty"`` list, or the ``"last"`` page again
      (a clamping paginator).
    - ``past_latest``: with ``latest_year``, a window reaching past it is ``"refused"`` (400)
      or ``"failed"`` (500: an implementation whose calendar overflows there).
    - ``empty_lists``: a list of no records (patients, appointments, providers) is an empty
      list (``"listed"``) or 404 ``["Not found"]`` (``"not_found"``), or, under ``"omitted"``,
      written as Go's ``omitempty`` writes an empty slice and a zero count: left out, so that
      ``{"patients": []}`` is ``{}`` (``[{}]`` wrapped) and ``count`` is absent (a bare list,
      an interface holding an empty slice, stays ``[]``). Or ``"no_body"``: 404 with no body
      at all, and so is a patient or appointment read of no one (``GET /patients/{id}``,
      ``GET /appointments/{id}``), where the routes are there.
    - ``providers``: ``GET /providers`` (not in the docs) is ``"listed"``, or ``"absent"`` (404).
    - ``location_ids``: records carry them (``"shown"``) or not (``"absent"``: neither of the
      docs' patient shapes has them); ``location_strict`` filters by them all the same.
    - ``per_page``: taken up to 1000 (``"max_1000"``), up to 50 (``"max_50"``), or
      ``"ignored"`` (every list pages by the default 5); ``count`` stays the true total. Or
      ``"refused_50"``: above 50 is a 400 ``["per_page must be less than or equal to 50"]``
      (a validator's maximum, as Joi or express-validator state it, not a silent cap); or
      ``"refused_50_humanized"``: the same 400 naming the field as Rails' ``full_messages``
      does, ``["Per page must be less than or equal to 50"]``.
    - ``page_base``: ``page`` numbers pages from 1 (``"one"``) or from 0 (``"zero"``, as
      Spring's ``Pageable`` does); without ``page``, the first page either way.
    - ``create_body``: ``POST /patients`` takes ``{"provider": {...}, "patient": {...}}``
      (``"nested"``) or the patient fields at the top level (``"flat"``: the docs list the
      required fields, not the body; a ``provider`` is then optional, as the docs do not
      name one), or ``"fully_flat"``: ``bio``'s fields too (``date_of_birth``,
      ``phone_number``, ``gender`` beside ``first_name``; a ``bio`` object is ignored, and a
      refusal names the missing fields without ``bio.``), as a Django REST Framework or
      Pydantic model written from the docs' bare list of required fields would take.
    - ``genders``: the values of ``bio.gender`` taken and served (the docs make gender
      required and never list its values): ``Male``/``Female``/``Other``
      (``"capitalized"``), ``male``/``female``/``other`` (``"lower"``), ``M``/``F``/``O``
      (``"letters"``) or ``MALE``/``FEMALE``/``OTHER`` (``"upper"``: a Go or Java enum's
      constant names), exact case.
    - ``create_answer``: ``POST /patients`` answers ``data`` with the patient
      (``"patient"``), with its id only (``"id"``: ``{"id": 1234}``), or ``null``
      (``"none"``: the docs do not show the answer), or with no JSON at all, the status's
      words as a ``text/plain`` body, ``Created`` (``"status_text"``: Express's
      ``res.sendStatus(201)``).
    - ``retry_after``: a 429 carries no ``Retry-After`` (``"absent"``) or the whole seconds
      until its window ends (``"seconds"``: the docs say nothing of limits).
    - ``duplicate_status``: a create or edit clashing with another patient is the docs' 400
      (``"400"``), or 409 Conflict (``"409"``) with the words ``Duplicate patient``.
    - ``framework_errors``: what the web framework itself answers rather than the API code:
      an unmatched path or method (an absent ``/providers`` too) and a refused token. The
      error ``"envelope"``, or ``"html"``: Express's default pages, ``text/html`` with
      ``Cannot GET /providers`` (404) and express-jwt's ``UnauthorizedError: jwt expired``
      (401), while the API's own refusals keep the envelope (the docs show no error body).
    - ``emails``: ``email`` search ignores case (``"folded"``), or compares the stored text
      exactly (``"exact"``, a SQL ``=``: ``WANG@EXAMPLE.COM`` misses ``wang@example.com``), or
      stores every email lower-cased (a create's, an edit's) and compares that exactly with the
      term as given (``"lowered"``: ``Ada@Example.org`` misses the ``ada@example.org`` it made).
    - ``inactive``: a patient's ``inactive`` is always a boolean (``"boolean"``), or, for
      active patients the practice system never marked (every fourth), ``null``
      (``"nullable"``: a nullable column), which the ``inactive`` filter compares as SQL
      does: such a patient is in neither ``inactive=false`` nor ``inactive=true``.
    - ``edit_answer``: ``PATCH /patients/{id}`` answers 200 with the patient (``"patient"``),
      or 204 No Content and no body (``"no_content"``: Express's ``res.sendStatus(204)``;
      the docs do not show the answer), or 200 with the patient as it was before the edit
      (``"before"``: Mongoose's ``findByIdAndUpdate`` answers the old document unless told
      ``{new: true}``), the edit made all the same; or (``"sent"``) 200 with the id beside the
      patient fields the edit sent, as it sent them (``bio`` as the body's, the rest left out);
      or (``"status_text"``) 200 with ``OK`` as a ``text/plain`` body (``res.sendStatus(200)``).
    - ``unknown_subdomain``: a ``subdomain`` NexHealth does not know is 403 ``["You do not
      have access to this institution"]`` (``"forbidden"``), or 404 ``["record not found"]``
      (``"not_found"``: a Go/GORM implementation's ``db.First`` of the institution, the same
      404 as for an unknown patient, and for a list as much as for a read).
    - ``foreign_id_search``: ``GET /patients?foreign_id=`` finds the patients with that chart
      number (``"exact"``), or the parameter, which the docs never name among the search
      parameters, is ignored as unknown parameters are (``"ignored"``): the location's every
      patient is listed, a page at a time.
    - ``unset_times``: a time NexHealth holds none of (an appointment's ``end_time`` or
      ``checkin_at``, a patient's ``last_sync_time``) is ``null`` (``"null"``, or left out
      under ``nulls="absent"``), or ``"zero"``: ``0001-01-01T00:00:00Z``, Go's zero
      ``time.Time`` as a MySQL zero ``DATETIME`` (a NOT NULL column) scans into one.
    - ``unknown_location``: a ``location_id`` NexHealth does not have is 404 ``["Location not
      found"]`` (``"not_found"``), or is not looked up (``"empty"``: lists filtered by it hold
      no one; a patient is read whatever the location, as ever).
    - ``unknown_gender``: a create or edit whose ``bio.gender`` is not a spelling the
      ``genders`` reading takes is ``"refused"`` (400 naming ``bio.gender`` and listing the
      spellings taken, in the words of ``error_body``'s framework), or ``"failed"``
      (500: a Rails ``enum gender: {male: 0, ...}`` raises ``ArgumentError`` on a value it
      does not know, which Rails answers with its 500 page rather than a validation error),
      or ``"not_included"``: Rails 7.1's ``enum :gender, {...}, validate: true``, whose
      inclusion validation refuses it as any validation error, 422 ``["patient.bio.gender is
      not included in the list"]``, without the list.
    - ``patient_order``: ``GET /patients`` lists by id (``"oldest_first"``), or newest first
      (``"newest_first"``: a Rails ``order(created_at: :desc)``; the docs give no order), so
      that a patient created between two pages pushes the next page's records down by one.
    - ``gender_at``: where a patient's gender is, served and taken: in ``bio`` beside the date
      of birth and phone (``"bio"``), or at the patient's top level (``"top"``): the docs make
      gender required on create but show it in neither of their patient shapes, so where it
      goes is the implementer's choice. A gender sent where this reading does not take it is
      ignored, as other unknown fields are: a create then lacks its required gender (400
      ``["patient.gender is required"]``), an edit leaves it as it was.
    - ``birth_dates``: ``bio.date_of_birth`` served as the docs show it, ``1964-05-03``
      (``"date"``), or as the midnight UTC instant a JavaScript ``Date`` serializes to,
      ``1964-05-03T00:00:00.000Z`` (``"datetime"``: Prisma's ``@db.Date``, a Mongoose
      ``Date``; Node has no date-only type), or as another zone's midnight: a Node server
      whose zone is east of UTC (``BIRTH_SERVER_ZONE``, Europe/Berlin) making the ``Date`` at
      its own midnight (``new Date(1964, 4, 3)``, dayjs/moment parsing ``1964-05-03`` as local
      time), which ``toJSON()`` writes in UTC the evening before,
      ``1964-05-02T22:00:00.000Z`` (``"east_midnight"``); or Rails serving a ``datetime``
      column holding the UTC midnight as an ``ActiveSupport::TimeWithZone`` in the app's
      ``config.time_zone`` (``BIRTH_APP_ZONE``, Eastern Time), ``as_json`` writing it with
      that offset, ``1964-05-02T20:00:00.000-04:00`` (``"zoned"``). The docs type it a date
      (``"date_of_birth": "1964-05-03"``). Search and writes still take ``YYYY-MM-DD``.
    - ``undocumented_params``: ``GET /patients`` takes the parameters the simulator knows
      (``"taken"``; unknown ones ignored with a warning), or, under ``"refused"``, only those
      the docs name (``subdomain``, ``location_id``, ``page``, ``per_page``, ``new_patient``,
      ``include_upcoming_appts``, ``location_strict``, ``name``, ``email``, ``phone_number``,
      ``inactive``, ``non_patient``): any other, ``foreign_id`` and ``date_of_birth`` among
      them, is a 400 ``["\"foreign_id\" is not allowed"]``, as a Joi query schema written
      from the docs answers (Joi refuses unknown keys unless told otherwise).
    - ``create_location``: ``POST /patients`` takes ``location_id`` from the query string, as
      every ``GET`` does (``"query"``), or from the JSON body's top level only (``"body"``:
      an Express ``req.body.location_id`` or a DRF ``request.data``; the docs name the
      required parameters of a search only, and show no create request). Under ``"body"`` a
      ``location_id`` in the query is ignored as an unknown parameter; one missing from the
      body is a 400 ``["location_id is required"]``; ``subdomain`` stays in the query.
    - ``appointments``: ``GET /appointments`` and ``GET /appointments/{id}`` (not in the docs,
      which show appointments only as a patient's ``upcoming_appts``) are ``"listed"``, or
      ``"absent"``: unmatched routes, answered as ``framework_errors`` says (under
      ``"envelope"`` the same 404 ``["Not Found"]`` envelope as an unknown path), as an
      implementation of the documented routes alone would.
    - ``phone_input``: the ``bio.phone_number`` a create or edit takes: ten digits however
      written, formatted or after the North American ``1`` (``"lenient"``: ``+1 (312)
      555-7311`` is ``3125557311``), or exactly ten ASCII digits and nothing else
      (``"ten_digits"``: a validator's ``^\\d{10}$``, written from the docs' only example,
      ``"phone_number": "5163042196"``): ``13125557311`` is a 400 ``["patient.bio.phone_number
      must be a 10-digit phone number"]``.
    - ``edit_location``: ``PATCH /patients/{id}`` takes ``location_id`` from the query string
      (``"query"``), or, as ``create_location="body"`` has a create take it, from the JSON
      body's top level only (``"body"``: an implementation reading every write's scope from
      its body); the same 400 ``["location_id is required"]`` without it there.
    - ``unknown_keys``: a create or edit body's keys its shape does not declare (the
      ``create_body``, ``patch_body``, ``gender_at`` and ``*_location`` readings say which it
      does) are ``"ignored"``, or ``"refused"``: the whole body is refused, naming each, in
      the words of ``error_body``'s framework: NestJS's ``forbidNonWhitelisted`` (400
      ``property bio should not exist``, ``patient.property bio should not exist`` in a nested
      object), FastAPI's ``extra="forbid"`` (422 ``extra_forbidden`` at its ``loc``, beside the
      body's other faults), else Rails' ``action_on_unpermitted_parameters = :raise`` (400
      ``found unpermitted parameters: :bio, :date_of_birth``, raised before any validation;
      strong parameters name keys, not paths). The docs show no write body, so nothing says
      an implementation takes more than its own.
    - ``patient_show``: ``GET /patients/{id}`` answers one patient (``"listed"``), or is
      ``"absent"``: the patients page documents only ``GET /patients`` (search), ``POST
      /patients`` and editing "via PATCH", so an implementation of the documented routes
      alone has no single-patient read: it is an unmatched route, answered as
      ``framework_errors`` says (under ``"envelope"`` the same 404 ``["Not Found"]`` envelope
      as an unknown path), while ``PATCH /patients/{id}`` stays. Or ``"location"``: the read
      finds only a patient of its ``location_id`` (404 ``["Patient not found"]`` for one of
      another location of the institution: a Rails ``current_location.patients.find(id)``;
      the docs say a search "is always performed in the context of a location"), while a
      list not ``location_strict`` holds the whole institution's and an edit finds any. Or
      ``"location_forbidden"``: such a read is 403 ``["You are not authorized to view this
      patient at this location"]`` (Pundit's ``NotAuthorizedError`` answered 403).
    - ``edit_scope``: ``PATCH /patients/{id}`` edits any patient of the institution
      (``"institution"``), or only one of its ``location_id`` (``"location"``: 404 ``["Patient
      not found"]`` for a patient of another location, as ``patient_show="location"`` reads; a
      Rails scaffold's ``set_patient`` serves both routes), or refuses such an edit 403
      (``"location_forbidden"``: ``["You are not authorized to edit this patient at this
      location"]``, a Pundit policy). The patient is there, at its own location, where the same
      edit sent with that ``location_id`` is made.
    - ``edit_duplicates``: an edit clashing with ``"others"`` is a duplicate (its email, a
      phone, or its name and birth date another patient's), or, under ``"self_included"``,
      an edit whose ``email`` or ``bio.phone_number`` any patient has, the one edited
      included: the create's duplicate guard (the docs' "A patient with that information
      already exists") reused for an edit without leaving out the record itself (a Mongoose
      ``findOne({$or: [{email}, {phone_number}]})`` without ``_id: {$ne: id}``). A PATCH
      sending the patient's own unchanged email is then refused as a duplicate.
    - ``edit_bio``: an edit's ``bio`` object changes the fields it holds (``"merged"``), or
      replaces the patient's ``bio`` whole (``"replaced"``: ``bio`` kept as one JSON column,
      or a Mongo ``$set: {bio: ...}``; the docs say only that records are edited "via PATCH"),
      every field it does not hold cleared (address, cell and home phones, the flags, and
      the phone and gender where only the birth date was sent). A body without a ``bio``
      object (the fully flat shapes) leaves it as it was.
    - ``appointment_times``: an appointment's ``start_time``, ``end_time`` and ``checkin_at``
      are UTC instants (``"utc"``: ``2021-12-06T09:45:00.000Z``, as the patients page shows
      ``upcoming_appts``), or ``"local"``: the wall time of the appointment's ``timezone``
      without an offset, ``2021-12-06T03:45:00.000`` (a Django ``USE_TZ = False`` or a MySQL
      ``DATETIME`` kept in the office's time; the docs document no appointment route, and the
      appointment names its zone). ``start`` and ``end`` with an offset are read as instants
      either way.
    - ``absent_flags``: ``GET /patients`` without ``new_patient``, ``inactive`` or
      ``non_patient`` does not filter by it (``"any"``), or filters as if it were ``false``
      (``"false"``: a FastAPI ``new_patient: bool = False`` or a Rails ``params.fetch(:inactive,
      false)``, the defaults written from the getting-started request, which sends
      ``new_patient=false``, and the patients page's advice to set ``inactive`` and
      ``non_patient`` to ``false``). Patients created through the API (``new_patient`` true
      until they book), inactive ones and non-patients are then listed only when asked for.
    - ``edit_fields``: ``PATCH /patients/{id}`` takes any of the create's fields, each optional
      (``"partial"``), or every one the create requires (``"whole"``: names, email, date of
      birth, phone and gender, where ``patch_body`` and ``gender_at`` put them), the missing
      ones refused all at once as a create's are (400 ``["patient.bio.gender is required"]``):
      the create's validation reused for the edit (a DTO with ``@NotNull``/``[Required]``
      fields bound by both routes, a Joi schema without ``.optional()``). The docs list the
      required fields of a create only, and say a patient is edited "via PATCH".
    - ``flags_true``: ``GET /patients`` with ``new_patient``, ``inactive`` or ``non_patient``
      ``true`` lists only the patients with that flag (``"filter"``), or ``"include"``s them
      beside the others (``false`` still leaves them out): the patients page says only that
      setting ``inactive`` and ``non_patient`` to ``false`` "will help to filter out patients
      that cannot be booked for", which reads as a switch that filters when false and not
      when true, as a ``cancelled=true`` may include cancelled appointments. With
      ``absent_flags="false"`` this is a FastAPI ``inactive: bool = False`` filtering by it
      only when false: inactive patients are then listed only under ``inactive=true``, beside
      everyone else.
    - ``birth_date_unset``: a patient whose date of birth NexHealth holds none of is served
      ``null`` (``"null"``, or left out under ``nulls="absent"``), or, under ``"zero"``, as the
      zero value of a date type without a null, written as ``birth_dates`` writes dates: .NET's
      ``DateOnly`` ``0001-01-01`` under ``"date"``, Go's ``time.Time``
      ``0001-01-01T00:00:00Z`` under the date-time readings (a non-nullable field, or MySQL's
      zero ``DATE`` scanned into one). The docs type it a date and never show it missing.
    - ``written_bio``: the patient a ``POST /patients`` or ``PATCH /patients/{id}`` answers
      holds its ``bio`` (``"included"``), or not (``"absent"``: ``bio`` kept as a relation of
      its own table, which the write's answer does not load, as Prisma's ``create`` and
      ``update`` answer without ``include: {bio: true}``; reads and lists load it). The docs
      show neither answer; the write is made whole all the same.
    - ``bio_nulls``: an edit's ``bio`` may hold ``null`` for a field (``"taken"``: merged, the
      null ignored; replaced whole, the field cleared), or not (``"refused"``: 400
      ``["\"patient.bio.city\" must be a string"]``, Joi's words for a ``Joi.string()`` that
      was not told ``.allow(null)``, as a Zod ``z.string().optional()`` refuses it too). The
      docs show no edit body, nor how a field is cleared.
    - ``birth_search``: ``date_of_birth`` search finds the patients born on the day asked
      (``"day"``), or, where ``birth_dates`` keeps instants, those whose stored instant is the
      term cast as the serving framework casts a date-only text (``"instant"``): under
      ``"zoned"`` Rails casts ``1964-05-03`` to Eastern midnight against stored UTC midnights,
      under ``"east_midnight"`` ``new Date("1964-05-03")`` is the UTC midnight against stored
      Berlin midnights: no one is found by birth date (``birth_search.py``).
    - ``missing_read``: ``GET /patients/{id}`` and ``GET /appointments/{id}`` of no record
      (unknown, or, under ``patient_show="location"``, of another location) are a 404
      (``"not_found"``), or ``"null"``: 200 with the record null, ``{"patient": null}``
      (``{"appointment": null}``), or ``data`` null where ``patient_envelope="flat"``.
    - ``provider_names``: an appointment (and an entry of ``upcoming_appts``) names its
      provider in ``provider_name`` (``"shown"``), or carries ``provider_id`` alone
      (``"absent"``); the name is then only in ``GET /providers``.
    - ``query_booleans``: a boolean query parameter is ``true``/``false``/``1``/``0``
      (``"parsed"``), or true whatever its value once given (``"truthy"``: ``false`` too),
      false only when absent or empty.
    """

    patch_body: PatchBody = "nested"
    name_accents: NameAccents = "insensitive"
    name_match: NameMatch = "fuzzy"
    name_tokens: NameTokens = "all"
    phones: Phones = "digits"
    error_body: ErrorBody = "list"
    timestamps: Timestamps = "millis"
    scalars: Scalars = "native"
    nulls: Nulls = "null"
    count: Count = "number"
    past_end: PastEnd = "empty"
    per_page: PerPage = "max_1000"
    past_latest: PastLatest = "refused"
    empty_lists: EmptyLists = "listed"
    providers: Providers = "listed"
    location_ids: LocationIds = "shown"
    page_base: PageBase = "one"
    create_body: CreateBody = "nested"
    genders: Genders = "capitalized"
    create_answer: CreateAnswer = "patient"
    retry_after: RetryAfter = "absent"
    duplicate_status: DuplicateStatus = "400"
    framework_errors: FrameworkErrors = "envelope"
    emails: Emails = "folded"
    inactive: Inactive = "boolean"
    edit_answer: EditAnswer = "patient"
    unknown_subdomain: UnknownSubdomain = "forbidden"
    foreign_id_search: ForeignIdSearch = "exact"
    unset_times: UnsetTimes = "null"
    unknown_location: UnknownLocation = "not_found"
    unknown_gender: UnknownGender = "refused"
    patient_order: PatientOrder = "oldest_first"
    gender_at: GenderAt = "bio"
    birth_dates: BirthDates = "date"
    undocumented_params: UndocumentedParams = "taken"
    create_location: CreateLocation = "query"
    appointments: Appointments = "listed"
    phone_input: PhoneInput = "lenient"
    edit_location: EditLocation = "query"
    unknown_keys: UnknownKeys = "ignored"
    patient_show: PatientShow = "listed"
    edit_scope: EditScope = "institution"
    edit_duplicates: EditDuplicates = "others"
    edit_bio: EditBio = "merged"
    appointment_times: AppointmentTimes = "utc"
    absent_flags: AbsentFlags = "any"
    edit_fields: EditFields = "partial"
    flags_true: FlagsTrue = "filter"
    birth_date_unset: BirthDateUnset = "null"
    written_bio: WrittenBio = "included"
    bio_nulls: BioNulls = "taken"
    birth_search: BirthSearch = "day"
    missing_read: MissingRead = "not_found"
    provider_names: ProviderNames = "shown"
    query_booleans: QueryBooleans = "parsed"

    def __post_init__(self) -> None:
        for name, allowed in _ALLOWED.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")


DOCUMENTED = Reading()
