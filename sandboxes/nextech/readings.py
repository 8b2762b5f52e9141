"""How this simulator reads what Nextech's docs leave open: one switch per point.

The docs say of ``GET /search?term=`` only "String to search patients for. Will attempt to
match the patient's name or chart number", give every field of the patient and encounter
models by example (``"patientId": 0``, ``"dob": "2017-12-14T15:08:59.934Z"``), show no error
body and no envelope. Independent implementations choose differently, and ``create_app`` takes
one keyword per point (the defaults are the documented simulator's choices):

Patient search (``SearchReading``)
- ``search_accents``: ``"insensitive"`` (NFKD, marks dropped, case-folded: SQL Server's
  ``_CI_AI`` collations), ``"sensitive"`` (case-insensitive only, over names stored
  precomposed: SQL Server's default ``_CI_AS``; ``nunez`` does not find ``Núñez``) or
  ``"sensitive_nfd"`` (the same over names stored, and served, decomposed (NFD): a
  precomposed ``Renée`` sent finds nothing, ``Ren`` does).
- ``search_match``: ``"parts"`` (the term is a prefix of the first or last name, of a word
  of either, or "first last" / "last, first" as the app module describes), ``"prefix"`` (a
  prefix of the whole first name, last name or chart number only: no words, no forms),
  ``"substring"`` (anywhere in the first name, last name or chart number, or in "first
  last"; the term taken whole) or ``"exact"`` (the whole first name, last name, "first last"
  or chart number, as the docs' examples word it: "a patient with a specific chart number",
  "all patients with a specific name"; ``WHERE LastName = @term OR ...``).
- ``search_fields``: the names a term is matched against: first and last (``"names"``,
  default) or the last name alone (``"last"``, with the chart number as ``search_match``
  says): "the patient's name" read as the name a chart is filed under, as a practice's
  patient lookup by surname works (``WHERE LastName LIKE @term + '%' OR ChartNumber LIKE
  ...``); a first name finds no one by itself.
- ``search_case``: ``"insensitive"`` (default) or ``"sensitive"`` (PostgreSQL's ``LIKE``, as
  SQLAlchemy's ``.like()`` sends it: ``D`` does not find ``de la Cruz``).
- ``search_none_found``: a search that matches no one answers an empty list (``"empty"``),
  404 (``"not_found"``: the docs' "The requested resource cannot be found") or 204 with no
  body (``"no_content"``: a Spring controller's ``ResponseEntity.noContent().build()`` for an
  empty list, ASP.NET's ``NoContent()``).
- ``search_min_length``: a term shorter than this (stripped) is a 400 ``ModelState``
  ``{"term": ["The term must be at least N characters long."]}``, as an implementation
  guarding against scanning every patient would answer (default 1: any term).

Answers (``Shapes``)
- ``envelope``: ``"bare"`` (JSON arrays, as ASP.NET Web API serializes a list), ``"value"``
  (OData's ``{"value": [...], "@odata.count": n}``), ``"data"`` (``{"data": [...],
  "count": n}``) or ``"meta"`` (JSON:API's ``{"data": [...], "meta": {"total": n}}``)
  around every list: search results, encounters, CCD categories; or ``"pages"`` (Django REST
  Framework's ``PageNumberPagination``: ``{"count": n, "next": url, "previous": url,
  "results": [...]}``, ``page_size`` items a page, the page asked with ``?page=N``, ``next``
  an absolute URL of the same endpoint and null on the last page; a page past the last is a
  404 ``{"detail": "Invalid page."}``), as a team whose framework pages every list by
  default would serve them although the docs describe no paging; or ``"header_pages"``
  (flask-smorest's pagination: the bare array of one page, ``?page=N`` of ``page_size``,
  and what it says of the pages only in an ``X-Pagination`` header, ``{"total": n,
  "total_pages": p, "first_page": 1, "last_page": p, "page": N, "next_page": N + 1}``;
  a page past the last is an empty array); or ``"numbered"`` (Flask-SQLAlchemy's
  ``paginate()``: ``{"items": [...], "page": N, "pages": p, "per_page": n, "total": t,
  "has_next": bool, "has_prev": bool, "next_num": N + 1 or null, "prev_num": ...}``, the
  page asked with ``?page=N`` and no link to it; a page past the last is a 404); or
  ``"aspnet_pages"`` (an ASP.NET team's ``PaginatedList<T>``: ``{"items": [...],
  "pageNumber": N, "totalPages": p, "totalCount": t, "hasPreviousPage": bool, "hasNextPage":
  bool}``, the page asked with ``?pageNumber=N``, bound ignoring case, ``page`` not read; a
  page past the last is empty) or ``"aspnet_header_pages"`` (the bare array of page
  ``?pageNumber=N`` and an ``X-Pagination`` header written by ``JsonSerializer.Serialize``
  without the web defaults, so PascalCase: ``{"TotalCount", "PageSize", "CurrentPage",
  "TotalPages", "HasNext", "HasPrevious"}``); or a Spring team's ``Page<T>`` of ``?page=N``,
  ZERO-based (``Pageable``'s default: absent is page 0, the second page is ``page=1``), a
  page past the last being empty: ``"spring"`` (``PageImpl`` as Spring Boot serializes it by
  default: ``{"content": [...], "pageable": {...}, "totalElements", "totalPages", "number",
  "size", "first", "last", ...}``), ``"spring_dto"`` (Spring Boot 3.3's ``VIA_DTO`` mode:
  ``{"content": [...], "page": {"size", "number", "totalElements", "totalPages"}}``, the
  paging facts only in the nested ``page``) or ``"spring_hal"`` (Spring HATEOAS's
  ``PagedModel``: ``{"_embedded": {"patientList": [...]}, "_links": {"self", "next", ...},
  "page": {...}}``, with no ``_embedded`` at all when nothing matched); or one page as a bare
  array that says nothing of the others, the page asked with ``?page=N``: from 1
  (``"bare_pages"``: Rails' ``render json: patients.page(params[:page])`` with Kaminari, 25 a
  page, or Flask-SQLAlchemy's ``paginate().items``) or from 0 (``"bare_pages_zero"``: a Spring
  controller answering ``repository.findAll(spec, pageable).getContent()``, 20 a page); a page
  past the last is an empty array, a ``page`` that is no number the first page; or pages
  counted by offset, the envelope echoing where it starts and how many it holds but linking
  no next page: ``"offset"`` (fastapi-pagination's ``LimitOffsetPage``: ``{"items": [...],
  "total": n, "limit": size, "offset": start}``, asked with ``?offset=&limit=``, a refused
  value a 422) or ``"skip_take"`` (an Express team's Prisma ``findMany({skip, take})``:
  ``{"data": [...], "meta": {"total": n, "skip": start, "take": size}}``, asked with
  ``?skip=&take=``, a refused value a 400); ``page_size`` items unless ``limit``/``take``
  asks fewer or more (at most ``MAX_TAKE``), past the last an empty list; or the same pages
  as a bare array that says nothing of the others: ``"bare_offset"`` (a Flask or FastAPI
  team's ``query.offset(offset).limit(limit).all()`` returned as it is) or
  ``"bare_skip_take"`` (an Express team's ``res.json(await prisma.patient.findMany({skip,
  take}))``), ``page_size`` items unless asked otherwise; or ``"abp"`` (ASP.NET
  Boilerplate's ``PagedResultDto<T>``, ABP Framework's alike: ``{"totalCount": n, "items":
  [...]}``, saying neither where it starts nor how to go on, asked with a
  ``PagedResultRequestDto``'s ``?skipCount=&maxResultCount=``, bound ignoring case,
  ``page_size`` items unless ``maxResultCount`` asks fewer or more (at most
  ``ABP_MAX_RESULT_COUNT``), past the last an empty ``items``, a refused value ABP's 400
  ``{"error": {"message": "Your request is not valid!", "validationErrors": [...]}}``); or an
  ASP.NET OData team's ``[EnableQuery(PageSize = page_size)]``, the items from ``?$skip=``
  (at most ``?$top=``), the ``$`` spelling only: on an OData route (``"odata"``) as
  ``{"@odata.context", "value": [...], "@odata.nextLink"}``, the next link (the URL asked,
  ``$skip`` past the page) given while more remain, ``"@odata.count"`` only when
  ``$count=true`` is asked; or on a plain controller (``"odata_bare"``: ``EnableQuery`` on an
  action returning ``IQueryable<T>`` outside OData routing) the page alone as a bare array,
  its cut not said; a bad option OData's 400 ``{"error": {"code", "message"}}``.
- ``jsonapi_resources``: every item of a list (a patient, an encounter, a CCD category) written
  as a JSON:API resource object (``{"type": "patients", "id": "42", "attributes": {...}}``:
  the record's id the object's ``id``, its other fields the ``attributes``), as a Rails team's
  jsonapi-serializer, Laravel JSON:API or a NestJS JSON:API module serves it; with ``envelope=
  "meta"`` the answer is JSON:API's whole (``{"data": [...], "meta": {"total": n}}``). The
  docs' models are plain objects, which such a team reads as the attributes.
- ``ids_as_strings``: ``patientId``, ``encounterId`` and ``doctorId`` as JSON strings
  (``"42"``), as an API serializing Int64s for JavaScript does.
- ``timestamps``: ``"z"`` (``2017-12-14T15:08:59.000Z``, the docs' example), ``"offset"``
  (the same instant in the clinic's zone with its offset, ``2017-12-14T09:08:59-06:00``;
  ``dob`` as local midnight with that offset) or ``"naive"`` (no zone: ``encounterDate`` is
  UTC as the docs say, ``2017-12-14T15:08:59``; ``dob`` a bare date, ``1985-03-15``, as the
  docs' type column says) or ``"local"`` (every DateTime, kept in UTC, served converted to
  the clinic's zone with its offset: ``dob``, a UTC midnight, becomes the evening before,
  ``1985-03-14T19:00:00-05:00``) or ``"http"`` (RFC 822 dates, ``Fri, 15 Mar 1985 00:00:00
  GMT``: what Flask's ``jsonify`` writes for every date and datetime no schema formats) or
  ``"microsoft"`` (the Microsoft JSON date, ``"\\/Date(1513264139934)\\/"``: milliseconds
  since 1970 UTC, as ASP.NET MVC's ``Controller.Json()`` (``JavaScriptSerializer``), WCF's
  ``DataContractJsonSerializer`` and Json.NET with ``DateFormatHandling.MicrosoftDateFormat``
  write a ``DateTime``; ``dob`` its UTC midnight, a ``DateTime.MinValue`` stand-in
  ``/Date(-62135596800000)/``) or epoch numbers, which the docs' examples show no more than
  they rule out: ``"epoch_millis"`` (a JSON number of milliseconds since 1970 UTC,
  ``1513264139934``: what Jackson writes for a ``java.util.Date`` while
  ``WRITE_DATES_AS_TIMESTAMPS`` is on, its default outside Spring Boot; ``dob`` its UTC
  midnight, ``479692800000``) or ``"epoch_seconds"`` (whole seconds as a JSON string,
  ``"1513264139"``: a PHP team's INT unix-time columns, which PDO's MySQL driver hands back as
  strings; ``dob`` ``"479692800"``) or as Java libraries write them by default:
  ``"jackson_arrays"`` (Jackson's JavaTimeModule with ``WRITE_DATES_AS_TIMESTAMPS`` on, as a
  plain ``ObjectMapper`` and Dropwizard's leave it: a ``LocalDateTime`` holding UTC as
  ``[2017, 12, 14, 15, 8, 59, 934000000]``, seconds and nanoseconds left out when zero, a
  ``LocalDate`` ``dob`` as ``[1985, 3, 15]``) or ``"gson"`` (Gson without ``setDateFormat``:
  a ``java.util.Date`` in the US locale's default style, ``"Dec 14, 2017, 3:08:59 PM"`` as
  JDK 9 to 19 write it, in the server's zone, UTC; ``dob`` ``"Mar 15, 1985, 12:00:00 AM"``),
  or as Ruby's ``json`` gem writes a ``Time`` without ActiveSupport (``"ruby"``: its
  ``to_s``, ``"2017-12-14 15:08:59 UTC"``, as a Sinatra or Grape app serving Sequel rows
  does; ``dob`` a ``Date``'s ``"1985-03-15"``).
- ``encounter_dates``: ``encounterDate`` as an instant, written as ``timestamps`` says
  (``"instant"``, default), or as the day alone (``"day"``: ``"2017-12-14"``, the visit's
  day in the clinic's zone, from a ``date`` column): the docs' description says "Date when this
  encounter occurred", their type column "UTC date / time".
- ``dob_midnight``: ``"utc"`` (default: ``dob`` a UTC midnight, written as ``timestamps``
  says) or the midnight of the server's own zone (``DOB_SERVER_ZONE``, Europe/Berlin, east of
  UTC), as a .NET ``DateTime`` of kind Local made from the date holds it: written in UTC by
  Json.NET's ``DateTimeZoneHandling.Utc``, the evening before, ``1985-03-14T23:00:00Z``
  (``"server_in_utc"``), or that UTC wall time without a zone, as EF Core reads a
  ``datetime2`` column holding it back as kind Unspecified, ``1985-03-14T23:00:00``
  (``"server_naive"``). The docs type ``dob`` a date; their example is a date-time.
- ``unknown_dates``: a ``dob`` the clinic does not know is ``null`` (``"null"``), .NET's
  ``DateTime.MinValue`` (``"min_value"``: ``0001-01-01T00:00:00``, what a non-nullable
  ``DateTime`` column serializes) or MySQL's zero date (``"zero"``: ``0000-00-00``).
- ``key_case``: the patient's and the encounter's keys as documented (``"camel"``:
  ``patientId``, ``dob``, ``summary.encounterId``, ``ccd``), or as a team's own classes name
  them when its serializer writes them as declared: ``"pascal"`` (ASP.NET Web API 2's
  Json.NET ``DefaultContractResolver``, or MVC's ``JavaScriptSerializer``, over C# properties
  named as .NET code commonly names them, acronyms upper case: ``PatientID``, ``DOB``,
  ``SSN``, ``HomePhone``, ``Summary.EncounterID``, ``DoctorID``, ``CCD``) or ``"snake"``
  (Rails' ``render json:`` of a model, Django's ``ModelSerializer``, FastAPI's pydantic
  models: the columns' names, ``patient_id``, ``chart_number``, ``home_phone``,
  ``summary.encounter_date``, ``encounter_locked``). The docs' tables give the names only in
  their example's camelCase.
- ``ccd_encoding``: the CCD as the HTML text (``"text"``) or as its UTF-8 bytes
  (``"base64"``): a ``byte[]`` property (a ``varbinary`` column, a renderer's
  ``MemoryStream.ToArray()``) that Json.NET, System.Text.Json and Jackson write as base64,
  and Swagger documents as ``type: string``, ``format: byte``: the docs' type column says
  "string" for it.
- ``ccd_charset``: with ``ccd_encoding="base64"``, the charset of those bytes: UTF-8
  (``"utf-8"``, default, as the document's ``<meta charset="utf-8">`` says); Windows-1252
  (``"windows-1252"``: the page rendered with ``<meta charset="windows-1252">`` and encoded as
  it declares, characters outside it as numeric character references, as a .NET Framework
  team's ``Encoding.Default`` on a US Windows server or a Java team's ``String.getBytes()``
  under the JVM's default ``Cp1252`` there (JDK 17 and before) writes it, and as libxml2
  serializes to a declared non-Unicode charset); or UTF-16LE with no byte order mark
  (``"utf-16le"``: .NET's ``Encoding.Unicode.GetBytes(html)``, which writes no preamble;
  the ``<meta>`` left saying ``utf-8``, as the template wrote it). The docs say only
  "string" and "CCD in HTML format", no charset.
- ``ccd_layout``: how the CCD's markup marks its sections: each a ``<div class="section">``
  under an ``<h2>`` title (``"divs"``, default), each a ``<table>`` titled by its
  ``<caption>`` and no heading (``"captions"``: HTML's own way to title a table, as a Razor
  or Jinja template looping over the sections writes it), or every section in the one
  ``<table>``, each opened by a title row, one ``<th colspan>`` across the columns, then its
  row of column headings (``"title_rows"``: a report writer's HTML export, SSRS's or Crystal
  Reports', as a printed chart lays it out). Either way the note a section's table had as its
  caption (when the vital signs were taken) is a row of its own. The docs say only "CCD in
  HTML format"; with ``section_param="ignored"`` only the markup tells a section from the rest.
- ``ccd_titles``: each section's title its name (``"names"``, default: ``Vital Signs``) or its
  name and how many rows it lists (``"counted"``: ``Medications (2)``, ``Allergies (0)``), as
  a chart summary heads each list; whatever ``ccd_layout`` titles it with. The docs say
  nothing of the CCD's markup.
- ``ccd_escaping``: the CCD's markup as markup (``"none"``), or escaped on its way out as a
  team's output encoding escapes every string: all of it entity-escaped (``"entities"``:
  ``&lt;!DOCTYPE html&gt;...``, Spring's ``HtmlUtils.htmlEscape``, ASP.NET's
  ``HttpUtility.HtmlEncode`` or an OWASP encoder applied to each field against XSS), its
  header's and each section block's markup escaped inside the real page (``"template"``:
  ``<div class="section" data-section="Allergies">&lt;h2&gt;Allergies&lt;/h2&gt;...</div>``,
  a Rails view's ``<%= block %>`` or a Razor ``@block`` of a rendered string not marked safe,
  which auto-escaping escapes), or JSON-encoded once more (``"json"``: ``"ccd":
  "\"<!DOCTYPE html>\\n...\""``, the rendered page kept in its column as
  ``json.dumps(html)`` writes it, served as a string). The docs say "CCD in HTML format".
- ``categories``: ``/encounters/categories`` as a list of names (``"names"``), of objects
  naming them (``"objects"``: ``{"code": "VitalSigns", "displayName": "Vital Signs"}``, the
  code being what ``section`` takes), as one object mapping each name to its title
  (``"map"``: ``{"VitalSigns": "Vital Signs", ...}``, never enveloped), or as rows naming
  each section twice (``"named"``: ``{"id": 5, "name": "Vital Signs", "code": "VitalSigns"}``,
  again the code being what ``section`` takes), or as numbers (``"numbers"``: ``[0, 1, ...]``,
  a C# enum ASP.NET writes as its value when no ``JsonStringEnumConverter`` is added;
  ``section`` takes the number as well as the name), or as the sections' titles alone
  (``"titles"``: ``["Allergies", ..., "Vital Signs", "Plan of Care"]``, each enum member's
  ``[Display(Name)]`` as a .NET team lists them for a picker, or a Java enum's
  ``@JsonValue`` label), while ``section`` binds the enum by its member's name
  (``VitalSigns``), as ASP.NET's model binding and Spring's ``StringToEnumConverterFactory``
  do: a title with a space is refused like any name not a section's; or as rows of a
  ``Category`` entity, the route's own noun, its columns prefixed with the table's name
  (``"rows"``: ``{"categoryId": 1, "categoryName": "VitalSigns"}``, as a database-first team's
  EF Core scaffold (``CategoryId``, ``CategoryName``) serialized camelCase by ASP.NET Core, or
  a Rails or Django model over such a table, writes them), ``section`` taking the name.
- ``chart_numbers``: ``"all"`` (every patient has one) or ``"some_missing"`` (the docs do
  not make ``chartNumber`` required: every patient whose id is a multiple of
  ``CHARTLESS_EVERY`` has none, served null (absent with ``absent_nulls``) and found by name
  only) or ``"padded"`` (a SQL Server ``char(CHART_WIDTH)`` column: served right-padded with
  blanks, ``"C00042    "``, and matched as SQL Server's ``=`` does, trailing blanks ignored).
- ``locked_values``: ``encounterLocked`` (typed "string", with a boolean example) as
  ``"mixed"`` (booleans and both string spellings, ``locked_value``), ``"letters"`` (a
  one-letter flag column: ``"T"``/``"F"``) or ``"stamps"`` (when the note was locked, a
  date-time as ``timestamps`` writes them: the visit's end, else its start; null when not
  locked) or ``"states"`` (the chart note's state as a word, ``"Locked"`` or ``"Open"``: the
  string the docs type the field as, filled with the note's status as an EHR's screens show
  it; the docs' description, "Whether this encounter's data has been locked", says what it
  tells, not how).
- ``absent_nulls``: optional fields with no value are left out instead of sent as ``null``.
- ``single_as_object``: a bare list of one (a search finding one patient, a window holding
  one encounter, never the categories) answered as that one object, no array: what a list
  converted from XML becomes (Json.NET's ``SerializeXmlNode``, PHP's
  ``json_encode(simplexml_load_string(...))`` make one repeated element an object), and what
  a controller answering ``SingleOrDefault`` for the docs' "Get a patient with a specific
  chart number" serves.
- ``json_as_string``: every successful answer's JSON serialized once more, as one JSON string
  (``"[{\"patientId\":42,...}]"``): what ASP.NET Core writes for ``return
  Ok(JsonConvert.SerializeObject(patients))`` to a request accepting ``application/json``
  (the string goes to the JSON formatter, the text/plain one not being acceptable).
- ``abp_wrapper``: every answer of the API's own wrapped as ASP.NET Boilerplate's
  ``AjaxResponse`` (its default ``WrapResult``, on unless a controller says
  ``[DontWrapResult]``): a success as ``{"result": <the answer>, "targetUrl": null,
  "success": true, "error": null, "unAuthorizedRequest": false, "__abp": true}`` (a
  ``PagedResultDto`` as ``"result": {"totalCount", "items"}``, a list as ``"result": [...]``),
  its refusals (400, 401, 403, 404) as ``{"result": null, "success": false, "error": {"code":
  0, "message", "details", "validationErrors": [{"message", "members"}] or null},
  "unAuthorizedRequest": <a 401 or 403>, ...}`` with the status unchanged (``AbpExceptionFilter``),
  whatever ``error_bodies`` says; routing errors, the rate limiter's and the OAuth server's stay.
- ``unlocked_ccd``: an encounter whose note is not locked comes with its CCD (``"html"``) or
  with ``"ccd": null`` (``"null"``: no CCD until the note is signed, which the docs' "includes
  ... the CCD" does not rule out).
- ``empty_sections``: a ``section=`` search for a section with nothing recorded answers that
  section's block saying so (``"text"``, default) or ``"ccd": null`` (``"null"``: a template
  rendering nothing for it, dumped as null by a schema, while the whole CCD is there), or
  leaves that encounter out of its answer (``"omitted"``: sections stored as rows and joined,
  ``JOIN CcdSections s ON ... WHERE s.Name = @section``, an encounter with no row for it
  joining nothing; the docs say only that ``section`` is "Section of data to include in the
  CCD property").
- ``encounters_none_found``: an encounter search whose window holds no encounter answers as
  ``search_none_found`` says a search of no one does (404 ``{"Message": "No encounters
  found."}``), checked after the patient; default ``"empty"``.
- ``error_bodies``: ``"webapi"`` (``{"Message": ...}``), ``"problem"`` (RFC 7807
  ``application/problem+json``: ``type``, ``title`` (the message), ``status``, ``detail``,
  ``errors``) or ``"text"`` (the message as ``text/plain``) for the API's own refusals
  (401, 400, 403, 404 of a patient); routing errors and the OAuth server's (Azure's) stay.
- ``search_limit``: at most this many search results (the first, in the answer's order),
  with no sign in a bare answer that more matched (an envelope still counts them all), as an
  implementation that caps its queries (at 50, like Nextech's own FHIR API) would; default
  None: every match, as the docs' "Searches for all" says.
- ``encounter_limit``: the same for an encounter search: at most this many of the patient's
  encounters in the window (the first, by ``encounterDate``), a bare answer saying nothing of
  the others, as an implementation capping its queries (``.Take(n)``, a ``LIMIT``) would;
  default None: every one, as "Searches for all of a one patient's encounters" says.
- ``encounter_order``: an encounter search's answer by ``encounterDate`` (then id) ascending
  (``"asc"``, default) or descending (``"desc"``: the latest first, as a chart lists visits
  and ``ORDER BY EncounterDate DESC`` returns them; with ``encounter_limit`` the latest are
  the ones kept). The docs say no order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sandboxes.toolkit.folding import strip_marks

__all__ = [
    "ABP_MAX_RESULT_COUNT",
    "CHARTLESS_EVERY",
    "CHART_WIDTH",
    "DOB_SERVER_ZONE",
    "DOCUMENTED",
    "DOCUMENTED_SHAPES",
    "MAX_TAKE",
    "Accents",
    "Case",
    "Categories",
    "CcdCharset",
    "CcdEncoding",
    "CcdEscaping",
    "CcdLayout",
    "CcdTitles",
    "ChartNumbers",
    "DobMidnight",
    "EmptySections",
    "EncounterOrder",
    "Envelope",
    "ErrorBodies",
    "Fields",
    "KeyCase",
    "LockedValues",
    "Match",
    "NoneFound",
    "SearchReading",
    "Shapes",
    "UnknownDates",
    "UnlockedCcd",
]

Accents = Literal["insensitive", "sensitive", "sensitive_nfd"]
Match = Literal["parts", "prefix", "substring", "exact"]
Case = Literal["insensitive", "sensitive"]
# Which names a term is matched against: first and last, or the last alone (a chart filed under
# the surname, as a practice's patient lookup works; the docs say only "the patient's name").
Fields = Literal["names", "last"]
NoneFound = Literal["empty", "not_found", "no_content"]
Envelope = Literal[
    "bare",
    "value",
    "data",
    "meta",
    "pages",
    "header_pages",
    "numbered",
    "aspnet_pages",
    "aspnet_header_pages",
    "spring",
    "spring_dto",
    "spring_hal",
    "bare_pages",
    "bare_pages_zero",
    "offset",
    "skip_take",
    "bare_offset",
    "bare_skip_take",
    "abp",
    "odata",
    "odata_bare",
]
ENVELOPES: tuple[str, ...] = get_args(Envelope)
Timestamps = Literal[
    "z",
    "offset",
    "naive",
    "local",
    "http",
    "microsoft",
    "epoch_millis",
    "epoch_seconds",
    "jackson_arrays",
    "gson",
    "ruby",
]
TIMESTAMPS: tuple[str, ...] = get_args(Timestamps)
KeyCase = Literal["camel", "pascal", "snake"]
CcdEncoding = Literal["text", "base64"]
# How the CCD's markup marks its sections (the docs: "CCD in HTML format", nothing more): a
# <div> under an <h2>; a <table> titled by its <caption> (a template looping over sections); or
# one <table>, each section opened by a title row of one <th colspan> (a report writer's export).
CcdLayout = Literal["divs", "captions", "title_rows"]
# A section's title: its name, or its name and the count of what it lists (a chart summary's
# "Medications (2)"); the docs say nothing of the CCD's markup.
CcdTitles = Literal["names", "counted"]
# With ccd_encoding="base64": the charset of the CCD's bytes. A .NET Framework team's
# `Encoding.Default` (Windows-1252 on a US server) or a Java team's `getBytes()` under Cp1252,
# the page declaring it in its <meta>; or .NET's `Encoding.Unicode.GetBytes`, UTF-16LE with no
# byte order mark. The docs type the CCD "string" and name no charset.
CcdCharset = Literal["utf-8", "windows-1252", "utf-16le"]
CcdEscaping = Literal["none", "entities", "template", "json"]
DobMidnight = Literal["utc", "server_in_utc", "server_naive"]
#: The server's zone of ``dob_midnight="server_in_utc"`` and ``"server_naive"``.
DOB_SERVER_ZONE = "Europe/Berlin"
UnknownDates = Literal["null", "min_value", "zero"]
UnlockedCcd = Literal["html", "null"]
EmptySections = Literal["text", "null", "omitted"]
EncounterOrder = Literal["asc", "desc"]
# "states": the note's state as a word, `Locked` or `Open` (a team filling the string column the
# docs type `encounterLocked` with the chart note's status, as the EHR's own screens name it).
LockedValues = Literal["mixed", "letters", "stamps", "states"]
ChartNumbers = Literal["all", "some_missing", "padded"]
CHART_WIDTH = 10  # with chart_numbers="padded": the char(n) column's width
MAX_TAKE = 100  # with an offset envelope: the most `limit`/`take` gets (fastapi-pagination's `le=100`)
ABP_MAX_RESULT_COUNT = 1000  # with envelope="abp": the most `maxResultCount` may ask (PagedResultRequestDto's)
# "titles": the sections' display titles listed (an enum's [Display(Name)] for a picker) while
# `section` binds the enum by its members' names, which the titles are not when they have spaces.
# "rows": a `Category` entity's rows, its columns named after the table (`categoryId`,
# `categoryName`), the route's own noun: a database-first team's scaffold.
Categories = Literal["names", "objects", "map", "named", "numbers", "titles", "rows"]
CHARTLESS_EVERY = 5  # with chart_numbers="some_missing": patients whose id is a multiple of this
ErrorBodies = Literal["webapi", "problem", "text"]


# With key_case="pascal": the keys a .NET team's properties spell with an acronym upper case.
_PASCAL_ACRONYMS = {
    "patientId": "PatientID",
    "dob": "DOB",
    "ssn": "SSN",
    "encounterId": "EncounterID",
    "doctorId": "DoctorID",
    "ccd": "CCD",
}
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}")


@dataclass(frozen=True)
class SearchReading:
    """One reading of ``/search?term=``."""

    accents: Accents = "insensitive"
    match: Match = "parts"
    none_found: NoneFound = "empty"
    min_length: int = 1
    case: Case = "insensitive"
    fields: Fields = "names"

    def __post_init__(self) -> None:
        if self.min_length < 1:
            raise ValueError("search_min_length must be at least 1")
        _check("search_accents", self.accents, ("insensitive", "sensitive", "sensitive_nfd"))
        _check("search_match", self.match, ("parts", "prefix", "substring", "exact"))
        _check("search_none_found", self.none_found, ("empty", "not_found", "no_content"))
        _check("search_case", self.case, ("insensitive", "sensitive"))
        _check("search_fields", self.fields, get_args(Fields))

    def _cased(self, value: str) -> str:
        return value if self.case == "sensitive" else value.casefold()

    def stored(self, value: str) -> str:
        """A stored field as this reading compares it."""
        if self.accents == "insensitive":
            return self._cased(strip_marks(value))
        if self.accents == "sensitive_nfd":
            return self._cased(unicodedata.normalize("NFD", value))
        return self._cased(unicodedata.normalize("NFC", value))

    def sent(self, term: str) -> str:
        """A term as this reading compares it: folded, or as sent bar case."""
        return self._cased(strip_marks(term) if self.accents == "insensitive" else term)

    def served(self, value: str | None) -> str | None:
        """A name as the API serves it: as stored."""
        if value is None or self.accents != "sensitive_nfd":
            return value
        return unicodedata.normalize("NFD", value)


@dataclass(frozen=True)
class Shapes:
    """How answers are written."""

    envelope: Envelope = "bare"
    ids_as_strings: bool = False
    timestamps: Timestamps = "z"
    absent_nulls: bool = False
    error_bodies: ErrorBodies = "webapi"
    search_limit: int | None = None
    unknown_dates: UnknownDates = "null"
    locked_values: LockedValues = "mixed"
    chart_numbers: ChartNumbers = "all"
    categories: Categories = "names"
    page_size: int = 10  # with a paged envelope (every one but "bare", "value", "data" and "meta")
    unlocked_ccd: UnlockedCcd = "html"
    empty_sections: EmptySections = "text"
    json_as_string: bool = False
    abp_wrapper: bool = False
    encounter_limit: int | None = None
    dob_midnight: DobMidnight = "utc"
    key_case: KeyCase = "camel"
    ccd_encoding: CcdEncoding = "text"
    encounters_none_found: NoneFound = "empty"
    encounter_order: EncounterOrder = "asc"
    ccd_escaping: CcdEscaping = "none"
    single_as_object: bool = False
    encounter_dates: Literal["instant", "day"] = "instant"
    ccd_charset: CcdCharset = "utf-8"
    ccd_layout: CcdLayout = "divs"
    ccd_titles: CcdTitles = "names"
    jsonapi_resources: bool = False

    def __post_init__(self) -> None:
        if self.search_limit is not None and self.search_limit < 1:
            raise ValueError("search_limit must be at least 1")
        if self.encounter_limit is not None and self.encounter_limit < 1:
            raise ValueError("encounter_limit must be at least 1")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        _check("envelope", self.envelope, ENVELOPES)
        _check("error_bodies", self.error_bodies, ("webapi", "problem", "text"))
        _check("unlocked_ccd", self.unlocked_ccd, ("html", "null"))
        _check("empty_sections", self.empty_sections, ("text", "null", "omitted"))
        _check("timestamps", self.timestamps, TIMESTAMPS)
        _check("key_case", self.key_case, ("camel", "pascal", "snake"))
        _check("encounters_none_found", self.encounters_none_found, ("empty", "not_found", "no_content"))
        _check("encounter_order", self.encounter_order, ("asc", "desc"))
        _check("ccd_encoding", self.ccd_encoding, ("text", "base64"))
        _check("ccd_charset", self.ccd_charset, get_args(CcdCharset))
        _check("ccd_layout", self.ccd_layout, get_args(CcdLayout))
        _check("ccd_titles", self.ccd_titles, get_args(CcdTitles))
        _check("ccd_escaping", self.ccd_escaping, ("none", "entities", "template", "json"))
        _check("encounter_dates", self.encounter_dates, ("instant", "day"))
        _check("unknown_dates", self.unknown_dates, ("null", "min_value", "zero"))
        _check("dob_midnight", self.dob_midnight, ("utc", "server_in_utc", "server_naive"))
        _check("locked_values", self.locked_values, get_args(LockedValues))
        _check("chart_numbers", self.chart_numbers, ("all", "some_missing", "padded"))
        _check("categories", self.categories, get_args(Categories))

    def key(self, name: str) -> str:
        """A documented key (``patientId``) as ``key_case`` writes it."""
        if self.key_case == "pascal":
            return _PASCAL_ACRONYMS.get(name, name[:1].upper() + name[1:])
        if self.key_case == "snake":
            return _CAMEL_HUMP.sub("_", name).lower()
        return name

    def keyed(self, doc: dict[str, Any]) -> dict[str, Any]:
        """`doc`, written with documented keys, with its keys as ``key_case`` writes them."""
        if self.key_case == "camel":
            return doc
        return {self.key(name): value for name, value in doc.items()}

    def chart_number(self, patient_id: int, chart_number: str) -> str | None:
        """A patient's chart number as served: None for a patient with none."""
        if self.chart_numbers == "some_missing" and patient_id % CHARTLESS_EVERY == 0:
            return None
        if self.chart_numbers == "padded":
            return chart_number.ljust(CHART_WIDTH)
        return chart_number


DOCUMENTED = SearchReading()
DOCUMENTED_SHAPES = Shapes()
