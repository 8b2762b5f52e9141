"""A Nextvisit API simulator serving the synthetic clinic (``sandboxes.clinic``).

``create_app(clinic, email=..., password=...)`` returns a Starlette app that answers like
the documented Laravel service (``vendor-docs/nextvisit-api.txt``; Sanctum tokens, Spatie
query builder, API resources, Scout + Meilisearch) under ``/v1``: token login/logout and
the patient endpoints (list, search, read, create, update, soft delete). The app holds
its own rendered copy of the clinic, so writes never touch the cached ``Clinic``; writes
and tokens are stamped by ``clock`` (wall clock by default). ``app.state.revoke_all_tokens()``
deletes every issued token (a test hook, so a test can force a 401 and see a re-login).

Modules: ``routes`` (the route table) over ``sessions``, ``patient_lists`` and
``patients`` (the endpoints), behind ``auth`` (with ``tokens``) and ``throttle``; ``request_input``,
``php_query``, ``validation`` and ``spatie`` read requests the Laravel way, ``errors``,
``php_json``, ``paging``, ``cursor_paging``, ``resource`` and ``wire`` shape answers;
``store`` holds the data and every write, ``rows`` and ``search_index`` (with ``typos``)
what lists and search derive from it; ``render`` turns clinic records into the vendor's
JSON; ``readings`` holds the switches below.

Rendering: a patient's ``id`` is the clinic patient id, ``uuid`` the clinic uuid; an
encounter's ``id`` is the clinic encounter id. Datetimes are ISO-8601 UTC to the second
with ``Z`` (as in the docs' examples, not Laravel's default ``.000000Z``), dates
``YYYY-MM-DD``. JSON is encoded as PHP's ``json_encode`` with Laravel's default flags:
``/`` comes escaped as ``\\/`` and non-ASCII characters as ``\\uXXXX`` escapes (the same
JSON values, but not the same bytes as a Python encoder would write). No local times
appear anywhere, so ``Clinic.timezone`` is not used.

Switches (keyword arguments of ``create_app``, the fields of ``readings.Readings``; each
default is the reading described in the rest of this docstring). Each is a point the docs
leave open that independent implementations read differently:

- ``encounter_shape="object"`` (default) | ``"flat"`` | ``"titled"`` | ``"scheduled"``: ``flat`` renders an encounter's
  ``provider`` and ``location`` as plain strings (``"Maria Alvarez, MD"``, ``"Main
  Clinic"``, null when there is none), its time as ``date_of_service`` instead of
  ``start_time``, and its ``id``/``patient_id`` as digit strings. ``titled`` is how a team on
  another stack (Express and knex, say) names a visit's columns: its type as ``title``, its
  time as ``encounter_date`` (written like every other time; the end stays ``end_time``).
  ``scheduled`` is ``titled`` with the times as a Rails team names datetime columns (``*_at``):
  ``scheduled_at`` and ``end_at``. ``day_and_times`` keeps the documented names but writes the
  visit's day as ``date`` (``2024-01-05``) and ``start_time``/``end_time`` as times of day
  (``10:00:00``): DATE and TIME columns (Django REST Framework's ``DateField``/``TimeField``,
  node-postgres), on the app's wall clock (UTC; ``LOCAL_ZONE``'s under ``datetimes="local"``).
  ``day_and_rails_times`` writes those times as Rails does a ``time`` column, on its dummy day in
  UTC: ``"start_time": "2000-01-01T10:00:00Z"`` beside ``"date": "2024-01-05"``.
- ``visit_types="text"`` (default: an encounter's ``type`` its name) | ``"coded"``: ``type`` as a
  row of a code table, ``{code, description}`` (the CDT code of a dental visit, ``D0120``, else
  null; the name as ``description``).
- ``encounter_clinician="provider"`` (default: ``provider`` ``{id, name, credentials}``) | ``"user"``
  (the clinician as the Nextvisit user who documented the visit, ``user_id`` and ``user`` ``{id,
  name, email}`` as PatientFull's ``user`` is written, no ``provider``: Nextvisit's clinicians are
  its users, and an ``Encounter`` that ``belongsTo(User::class)`` is rendered by the same resource).
- ``medication_shape="text"`` (default: ``latest_medications`` as the texts described below) |
  ``"objects"``: every non-deleted medication as ``{id, name, dosage, frequency, status,
  started_on, ended_on}``, ``status`` the clinic's (``active``, ``on_hold``, ``discontinued``,
  ``completed``), newest start first: a medication list that keeps what was stopped, and says so |
  ``"stop_dates"``: the same objects without ``status`` and ``ended_on``, a stopped one (discontinued
  or completed) with a ``discontinued_at`` time (a Rails model's timestamp column for an enum) |
  ``"measured"``: the ``objects`` rows with the strength as a decimal written as text and its unit
  apart, ``"dose": "10.00", "dose_unit": "mg"`` (a ``DecimalField`` as Django REST Framework writes
  it, and a unit column).
- ``trim_strings=True`` (default: Laravel's ``TrimStrings`` middleware trimmed every name as it
  was entered) | ``False`` (an app without it, as an Express one is: every fifth patient's
  names as typed at the desk, ``" Jane"`` and ``"Doe "``).
- ``include_demographics=True`` (default) | ``False``: ``False`` makes
  ``GET /v1/patients/{id}`` ignore ``include=demographics`` (no ``demographics`` key);
  lists still honour it.
- ``unreadable_encounter=None`` (default) | an encounter id: that encounter's start time
  is rendered as a day that does not exist (``YYYY-02-30T…``), a record no reading can use.
- ``name_match="substring"`` (default, Spatie's partial filter) | ``"prefix"`` |
  ``"exact"`` (Spatie's exact filter): how ``filter[first_name]``/``filter[last_name]``
  match ("Filter by last name" says no more). Always case-insensitive.
- ``name_accents="insensitive"`` (default, MySQL ``utf8mb4_unicode_ci``) | ``"sensitive"``
  (PostgreSQL ``ILIKE``: ``nunez`` does not find ``Núñez``) | ``"sensitive_nfd"`` (the same,
  with names stored, and so served, decomposed (NFD): a precomposed ``Renée`` sent finds
  nothing). Applies to the list's name filters; the Meilisearch endpoint stays folded.
- ``datetimes="iso"`` (default, ``2024-01-05T10:00:00Z``) | ``"micro"`` (Laravel's default
  ``2024-01-05T10:00:00.000000Z``) | ``"offset"`` (the same instant in America/Chicago,
  ``2024-01-05T04:00:00-06:00``) | ``"sql"`` (``2024-01-05 10:00:00``, UTC, no zone) |
  ``"epoch_ms"`` (milliseconds since the epoch as a JSON number, ``1704448800000``: a JavaScript
  ``Date`` stored by knex in SQLite, or ``getTime()``) | ``"local"`` (the wall clock of the app's
  zone, America/New_York, without an offset, ``2024-01-05T05:00:00``: Spring's ``LocalDateTime``,
  EF Core's ``DateTime`` of kind Unspecified, Django with ``USE_TZ = False``; the sandbox then
  gives its tenant ``vendor_timezone`` as an operator would) | ``"http"`` (an HTTP-date in GMT,
  ``Fri, 05 Jan 2024 10:00:00 GMT``: Flask's ``jsonify``, whose JSON provider writes every
  ``datetime`` with Werkzeug's ``http_date``): every ``*_at``, ``start_time``,
  ``end_time``, ``date_of_service``, ``encounter_date`` and ``occurred_at``.
- ``dates="iso"`` (default, ``1985-03-15``) | ``"us"`` (``03/15/1985``) | ``"datetime"``
  (Laravel's ``date`` cast: ``1985-03-15T00:00:00.000000Z``) | ``"east"`` (the same cast in
  an app whose timezone is Europe/Berlin: Carbon's ``toJSON()`` writes local midnight in UTC,
  ``1985-03-14T23:00:00.000000Z``) | ``"http"`` (Flask's ``jsonify`` writes a ``date`` as the
  HTTP-date of its midnight, ``Fri, 15 Mar 1985 00:00:00 GMT``): ``date_of_birth``. Filters still
  take ISO dates, as documented.
- ``no_dates="null"`` (default) | ``"zero"`` (MySQL's zero date ``0000-00-00`` and datetime
  ``0000-00-00 00:00:00``) | ``"min"`` (Go's zero ``time.Time``, ``0001-01-01T00:00:00Z``,
  and every patient carries ``deleted_at``, zero when live, as a struct writes every field):
  what a date or time without a value is written as (``date_of_birth``, ``end_time``,
  ``*_at``), in place of null.
- ``encounter_statuses="visit"`` (default: a visit's own state) | ``"note"`` (a visit that took
  place as its progress note's state: ``signed`` once locked, ``amended`` for a signed note
  corrected since, a locked one of an even id); ``voided_encounter=None`` | an encounter id: that
  visit written ``"status": "void"``, its note voided as made in error.
- ``empty_lists="array"`` (default) | ``"null"``: an empty list is written ``null`` (Go's
  ``encoding/json`` writes a nil slice so): the ``data`` of a page listing nobody, and a
  patient's ``latest_medications``, ``timeline`` and ``encounters`` when it has none.
  ``"omitted"``: a patient's empty ``latest_medications``, ``timeline`` and ``encounters``
  are left out of its answer (Go's ``omitempty`` on a slice field), included or not; a page
  listing nobody keeps its ``data`` (``empty_pages`` says otherwise).
- ``empty_envelope="object"`` (default) | ``"array"``: the unpaged list (``paging="none"``) writes
  its empty ``links`` and ``meta`` as ``[]``, PHP's ``json_encode`` of a hand-built
  ``['links' => [], 'meta' => []]``, where the docs' example shows ``{}``.
- ``empty_pages="listed"`` (default) | ``"omitted"``: a page listing nobody leaves ``data`` out,
  ``{"links": ..., "meta": ...}`` (Go's encoding/json, the page's field tagged ``omitempty``),
  whatever ``empty_lists`` says; a patient's empty lists stay as ``empty_lists`` writes them.
- ``meta_encoding="object"`` (default) | ``"string"``: ``meta`` served as its JSON text (a
  JSON column without an ``array`` cast).
- ``spellings="documented"`` (default: the words described below) | ``"other"``: gender
  ``Male``/``Female``/``Nonbinary``/``Other``/``U``; encounter status ``booked``,
  ``checked_in``, ``complete``, ``canceled``; visit type ``video_visit`` for telehealth;
  allergies ``N/A`` where the default writes ``""``, and no known allergies as ``No
  allergies``, ``Denies``, ``No known drug allergies (NKDA)``, ``NKA/NKDA`` or ``No Known
  Allergies``; ``latest_medications`` as one text, a drug a line (``None`` when empty).
- ``demographics_shape="object"`` (default) | ``"list"`` (a ``hasMany`` relation: a list of
  one object) | ``"nested"`` (``{email, mobile_phone, address: {line1, city, state,
  zip_code}}``).
- ``ids="numbers"`` (default) | ``"strings"``: every ``id``, ``patient_id`` and ``user_id``
  holding a number is written as a string of digits (``"42"``).
- ``booleans="json"`` (default) | ``"digits"``: an encounter's ``signed`` as ``"1"``/``"0"``
  (MySQL ``TINYINT`` without a cast).
- ``nulls="null"`` (default) | ``"absent"``: optional fields without a value are left out
  instead of null (``demographics`` included: an absent key then looks like an ignored
  include).
- ``paging="resource"`` (default: ``data``, ``links``, ``meta``) | ``"paginator"``
  (Laravel's bare ``LengthAwarePaginator``: ``current_page``, ``last_page``, ``total``,
  ``next_page_url``... at the top level and ``links`` a list) | ``"simple"``
  (``simplePaginate()``: ``meta`` without ``last_page``/``total``, ``links.last`` null; only
  ``links.next`` says more follows) | ``"cursor"`` (``cursorPaginate()``: ``meta`` is
  ``{path, per_page, next_cursor, prev_cursor}``, ``links.first``/``links.last`` null,
  ``links.next`` carries ``?cursor=...``; ``page`` is ignored, so asking for page 2 serves the
  first page again; see ``cursor_paging``) | ``"keyset"`` (``?after=<the last id of the page
  before>``, as an Express or Stripe-style API pages: ``links`` is ``{next}`` alone, ``meta``
  ``{per_page, has_more}``; ``page`` is ignored) | ``"none"`` (no paging at all: ``page`` and
  ``per_page`` are ignored and every patient the filters select is listed at once, ``links`` and
  ``meta`` empty objects as the docs' example answer shows them: Django REST Framework without a
  pagination class, or an Express handler answering every row) | ``"spring"`` (Spring Data's ``Page``
  in the docs' envelope: ``meta`` is ``{page, size, total_elements, total_pages}``, ``page`` the
  number of the page served, ``links`` ``{}``: nothing but those numbers says what follows) |
  ``"json_api"`` (JSON:API's ``page[number]`` and ``page[size]``, Spatie's ``jsonPaginate()``:
  ``page`` alone is not read, and the links name ``page[number]``; ``per_page`` is the default
  size; otherwise the ``resource`` shape). A page
  past the end is empty in every shape; the search endpoint (Scout) pages by number whatever this says.
- ``first_page=1`` (default, Laravel's) | ``0``: the number of the first page (the docs name no
  page parameter; Spring Data's ``Pageable`` counts from 0 unless one-indexed). A missing or
  invalid ``page`` is the first page; ``current_page``, ``last_page`` (the last page's number)
  and every link count from it, ``from``/``to`` stay positions counted from 1. Numbered shapes
  (``resource``, ``paginator``, ``simple``, ``spring``) and the search endpoint.
- ``past_the_end="empty"`` (default) | ``"404"``: a page past the last one is 404 ``{"message":
  "Invalid page."}`` (Django REST Framework's ``PageNumberPagination``; the first page of an
  empty list is still an empty page). Numbered shapes and the search endpoint.
- ``errors="laravel"`` (default) | ``"error"`` (``{"error": "<message>"}``) | ``"plain"``
  (the message as ``text/plain``) | ``"rails"`` (a 422's field errors as the whole body, as a
  Rails scaffold's ``render json: @patient.errors``; ``{"status", "error"}`` otherwise, the
  exceptions app's) | ``"fastapi"`` (FastAPI's: a 422's field errors as pydantic's list,
  ``{"detail": [{"type", "loc": ["body", field], "msg", "input"}]}``, ``{"detail": "<message>"}``
  otherwise) | ``"nestjs"`` (``{"statusCode", "message", "error": "<reason phrase>"}``, a 422's
  ``message`` the list of its field messages): every error body, statuses unchanged.
- ``single_envelope="data"`` (default, ``{"data": {...}}``) | ``"bare"`` (Laravel's
  ``JsonResource::withoutWrapping()``: the patient object itself) for show, create and update.
- ``extra_field=False`` (default) | ``True``: every patient carries an undocumented field
  (``preferred_pharmacy``), as a vendor's newer release would (``wire.EXTRA_FIELD``).
- ``list_per_page_max=100`` (default; the search endpoint's documented maximum) | a smaller
  number: the list's ``per_page`` rule is ``max:<n>`` (a 422 above it; the docs give the
  list no maximum).
- ``show_trashed=False`` (default) | ``True``: ``GET /v1/patients/{id}`` finds soft-deleted
  patients too (``withTrashed()``), with their ``deleted_at`` set; updates and deletes
  still 404 them.
- ``delete_status=200`` (default, ``{"message": ...}``) | ``204`` (no body).
- ``write_answers="json"`` (default: as documented) | ``"text"``: a create (201), update or
  delete (200, unless ``delete_status=204``) answers its message as ``text/plain``, ``Patient
  created successfully`` and the like: a Spring controller returning
  ``ResponseEntity.ok("...")`` of a ``String``, or Express's ``res.send("...")``.
- ``login_shape="token"`` (default, ``{"status", "token", "user"}``) | ``"data"``
  (``{"data": {"token", "user"}}``) | ``"plain"`` (the token itself as the body, ``text/html``:
  Sanctum's documented route for exactly this request body returns
  ``$user->createToken($request->device_name)->plainTextToken``) | ``"new_token"`` (201
  ``{"token": {"accessToken": {...}, "plainTextToken": "<id>|<secret>"}}``: Sanctum's
  ``NewAccessToken`` encoded as it is) | ``"header"`` (200 ``{"data": user, "message"}``, the
  token only in an ``Authorization: Bearer <token>`` response header: devise-jwt's answer, a
  Rails team's reading of a login the docs do not show) | ``"jwt"`` (201 ``{"jwt", "user"}``) |
  ``"user_token"`` (``{"user": {..., "auth_token"}}``): Rails token logins written by hand |
  ``"prefixed"`` (``{"success": true, "token": "Bearer <token>"}``: the token with the scheme the
  header takes, as the passport-jwt tutorials an Express team follows answer
  ``res.json({success: true, token: 'Bearer ' + token})``; the header is still one ``Bearer``).
- ``login_path="/v1/auth/tokens"`` (default: the route the vendor's integrators report) | any
  other route (``"/v1/auth/login"``, ``"/v1/sanctum/token"``: the docs list a Tokens section
  without its paths); the logout stays at ``/v1/auth/tokens/current``.
- ``sort_ties="id"`` (default: patients sharing a sort value in id order) | ``"unstable"``: the
  list's pages (by page number) order each run of patients sharing a sort value differently per
  page and page size asked for, as ``ORDER BY last_name`` with ``LIMIT``/``OFFSET`` and no
  tiebreaker does on PostgreSQL (the docs' ``sort`` takes one field).
- ``foreign_patients="404"`` (default: a patient of another team, ids 9001 and 9002, is not
  found within this one) | ``"403"``: its read, update or delete is refused by an authorization
  policy, 403 ``This action is unauthorized.`` (a Laravel policy or Pundit), while the token is good.
- ``login_body="flat"`` (default: ``{email, password, device_name}`` at the top) | ``"user"``: the
  login reads ``{"user": {"email", "password"}}`` as Devise's sign-in does (``params[:user]``; a
  Rails team's reading of a login the docs do not show), 401 ``{"error": ...}`` otherwise |
  ``"form"``: FastAPI's ``OAuth2PasswordRequestForm``, form-encoded ``username`` and
  ``password`` only (a JSON body is a 422 ``{"detail": [{"type": "missing", ...}]}``), answered
  ``{"access_token", "token_type": "bearer"}`` (a Python team's reading of the same silence) |
  ``"username"``: the same answers, the credentials read from a JSON body ``{"username",
  "password"}`` (a pydantic model named after OAuth's fields; a form body fills nothing).
- ``unauthenticated_status=401`` (default) | ``419`` | ``403``: the status of an unknown or
  revoked token (Laravel's "Page Expired", which some implementations answer for an expired
  token; or Forbidden, as an Express app's ``jwt.verify`` callback answers ``res.sendStatus(403)``
  and Django REST Framework answers when its first authentication class names no
  ``WWW-Authenticate`` scheme).
- ``token_lifetime=None`` (default: tokens never expire) | seconds: a token is refused (with
  ``unauthenticated_status``) once that long has passed on ``clock`` since its login, as
  Sanctum's ``expiration`` setting does (``config/sanctum.php``) and a JWT's ``exp`` (the docs
  say nothing of how long a token lives).
- ``trashed_filter="honoured"`` (default) | ``"ignored"``: the list does not read
  ``filter[trashed]`` (an implementation without it: Express, Django REST Framework and Rails
  ignore a query parameter they do not know), so it lists live patients whatever it says, without
  ``deleted_at``; nothing lists a soft-deleted patient.
- ``missing_show="404"`` (default: Eloquent's ``findOrFail``, as documented) | ``"null_data"`` |
  ``"null"`` | ``"empty"``: ``GET /v1/patients/{id}`` of an unknown or soft-deleted patient is
  200 with ``{"data": null}`` (an Express handler's ``res.json({data: await
  Patient.findByPk(id)})``), ``null`` (a Go handler encoding a nil pointer) or ``{}`` (``res.json(
  patient || {})``). Another team's patient answers so too under ``foreign_patients="404"``.
  ``PUT``, ``PATCH`` and ``DELETE`` still answer 404.
- ``list_filters="honoured"`` (default) | ``"ignored"``: the list does not read
  ``filter[first_name]``, ``filter[last_name]`` or ``filter[date_of_birth]`` (Django REST
  Framework without a filter backend, an Express handler: a query parameter nobody reads), so
  it lists every patient whatever they say, its ``total`` counting them all. Nor does it
  validate them.
- ``sort_param="honoured"`` (default) | ``"ignored"``: the list does not read ``sort`` (Django
  REST Framework without an ordering filter, an Express handler): always the documented
  default order, ``-created_at`` (then id), whatever it says. Nor does it validate it.
- ``rate_limit=None`` (default: no limit) | requests a minute: Laravel's ``throttle:api`` (a
  Laravel 10 app's ``api`` group, ``Limit::perMinute(60)``; the docs name no limit): past it,
  every request is 429 ``{"message": "Too Many Attempts."}`` with ``Retry-After`` until the
  minute that began with the window's first request ends, and every answer let through says
  ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining`` (``throttle``). The sandbox gives its
  tenant the limit (``rate_per_minute``) as an operator told it would.
  ``app.state.use_up_requests(leaving)`` is a test hook: the window's count then leaves
  `leaving` requests.
- ``rate_window="minute"`` (default) | ``"second"``: ``rate_limit`` counts requests a second
  (Laravel 11's ``Limit::perSecond``), and the tenant is given ``rate_per_second``.
- ``create_answer="record"`` (default: 201 with the patient, as documented) | ``"message"``
  (201 ``{"message": "Patient created successfully"}``, the delete answer's style).
- ``duplicates="allowed"`` (default) | ``"409"``: a create naming a live patient's first and
  last name (case aside) and date of birth is 409 ``{"message": "A patient with this name
  and date of birth already exists."}``.
- ``single_relations="always"`` (default: single-patient answers carry ``encounters``, as
  the docs' examples show) | ``"included"`` (Spatie's query builder and ``whenLoaded``:
  ``GET /v1/patients/{id}`` carries ``encounters`` only when ``include`` names it, like the
  list; create and update answers, which take no ``include``, never do).
- ``empty_demographics="null"`` (default) | ``"array"``: a patient without demographics (one
  created over the API) is served ``"demographics": []``, PHP's ``json_encode`` of an empty
  ``array`` cast, wherever its demographics are included.
- ``put_semantics="merge"`` (default: an update changes the fields it sends) | ``"replace"``
  (``PUT``/``PATCH`` replace the record: every field of the documented update body the request
  leaves out is null, then validated as sent, so a missing ``first_name`` is a 422; the
  ``notes`` and ``allergies`` left out are wiped).
- ``update_nulls="set"`` (default: a field an update sends as null is stored null) |
  ``"skipped"`` (null is "not given": the field is left as it is, and an empty string is stored
  as sent, served ``""``, as a Spring or ASP.NET app whose bound DTO cannot tell null from absent
  updates "the fields given") | ``"filtered"`` (every empty value, null, ``""`` (null by then) and
  ``[]``/``{}``, leaves its field as it is: Laravel's ``$patient->update(array_filter(
  $request->validated()))``; no field can be cleared).
- ``meta_updates="replaced"`` (default: an update's ``meta`` is the record's new ``meta``) |
  ``"merged"`` (its keys over the stored ones, a key left out kept: Stripe's ``metadata``,
  ``{...patient.meta, ...req.body.meta}``, ``array_merge``, ``Hash#merge``) | ``"merge_patch"``
  (RFC 7396 JSON Merge Patch: merged key by key at every depth, a key sent null removed, lists
  replaced).
- ``allergies_shape="text"`` (default: ``allergies`` kept and served as the text written) |
  ``"list"`` (kept as a list of items and served as one: EF Core 8's ``List<string>``, a
  PostgreSQL ``text[]``, Rails' ``serialize :allergies, type: Array``; the docs show the field in
  request bodies only, as text): the clinic's items with their reactions as the text writes
  them, a text recording no allergy as one item, an empty text as ``[]``; the text a create or
  update sends is split into items at commas, semicolons and line ends | ``"objects"`` (each item
  a row ``{name, reaction}``, a ``hasMany`` rendered as a relation: the clinic's substance and
  reaction, lower-cased, or null; a text recording no allergy one row named so; written items
  stored as names).
- ``allergy_charting="listed"`` (default: the allergies alone) | ``"drug_review_first"``: a patient
  whose allergies are none of them to a drug (latex, food, adhesives, insects, animals) has the
  drug review charted first, ``NKDA; Latex (hives)`` (an item, or a row, named ``NKDA`` first in
  the list shapes): no known drug allergies beside the others, as a chart's allergy line reads.
- ``nested_keys="snake"`` (default) | ``"camel"``: the records the docs never show (encounters
  with their provider and location, demographics, medication and allergy rows, timeline events)
  keyed in camelCase, ``startTime``, ``visitType``, ``postalCode``, ``discontinuedAt`` (ASP.NET's
  System.Text.Json web defaults, a TypeScript team's properties); PatientFull's documented fields
  stay as the docs name them.
- ``meta_input="taken"`` (default) | ``"ignored"``: a create or update does not take the ``meta``
  object it is sent, and says nothing (Rails' strong parameters permitting ``:meta`` as a scalar,
  as the docs' field list reads, drop an object; a Django REST Framework serializer's
  ``read_only_fields``): a new patient's ``meta`` is ``{}``, an updated one's stays as it was.
- ``encounters_per_page=None`` (default: every visit) | n: a patient's ``encounters`` answered as
  Laravel's paginated resource collection of the relation (``EncounterResource::collection(
  $this->encounters()->paginate(n))``): ``{"data": [the first n], "links", "meta": {current_page,
  last_page, per_page, total, ...}}``.
- ``replica_lag=None`` (default: a write is read at once) | seconds: ``GET /v1/patients/{id}``
  reads a replica that lags the writes (``replica``: Laravel's ``read``/``write`` connections
  without ``sticky``, Rails' automatic role switching, whose two seconds on the primary after a
  write follow the session cookie a token client never sends): a patient written within that
  many seconds (on ``clock``) is served as it was before the write, one just created is not
  found (404, or ``missing_show``'s answer). A patient deleted is not found at once; lists read
  the primary, unless ``replica_lists=True``: the list reads the replica too, a patient created
  within the lag not listed yet (a router sending every read to the replica).
- ``show_includes="list"`` (default: ``GET /v1/patients/{id}`` allows the list's includes) |
  ``"demographics"`` (its allow-list is ``demographics`` alone: any other include is Spatie's
  400, the docs documenting ``include`` on the list only) | ``"encounters"`` (its allow-list is
  ``user, encounters``, the relations its documented answer carries: ``include=demographics``
  is Spatie's 400 there, and its demographics are read from the list alone).

Assumptions where the docs are silent (the adapter must not rely on more):

Protocol
- Every route except ``POST /v1/auth/tokens`` needs ``Authorization: Bearer <token>``
  (scheme case-insensitive); none, an unknown or a revoked token is 401
  ``{"message": "Unauthenticated."}`` without ``WWW-Authenticate``. Errors are always
  JSON, whatever the ``Accept`` header says. No rate limiting unless ``rate_limit`` says.
- Order of checks: unknown route (404 ``The route v1/... could not be found.``) or wrong
  method (405 ``The PUT method is not supported for route v1/... Supported methods:
  GET, HEAD.``), then the token (401), then the patient id (404), then validation (422),
  then Spatie's query checks (400).
- Input is read the Laravel way: the query string merged under the JSON body (only when
  ``Content-Type`` contains ``/json`` or ``+json``; a form-urlencoded body is read as a
  form; anything else as no body), parsed with PHP's ``parse_str`` rules
  (``a[b]=1`` nests); strings are trimmed and empty strings become null (the
  ``TrimStrings`` and ``ConvertEmptyStringsToNull`` middleware; passwords are not
  trimmed). Malformed JSON is an empty body (so: "field is required" errors).
- 422 bodies: ``{"message": "<first message> (and N more error[s])", "errors":
  {field: [messages]}}`` in Laravel 10+ wording; fields appear in rule order; a field
  that fails ``required`` gets no further messages.
- Every success body and error carries ``Content-Type: application/json`` and
  ``Cache-Control: no-cache, private``.

Tokens
- ``POST /v1/auth/tokens`` validates ``email`` (``required|email``), ``password``
  (``required``) and ``device_name`` (``required``), then compares the email
  case-insensitively (a MySQL ``_ci`` collation) and the password exactly. The token is
  Sanctum's plain-text form ``<id>|<40 random alphanumerics>`` (ids count up from 1;
  Sanctum 4's optional prefix and CRC32 suffix are not used); a bare secret without
  ``<id>|`` is accepted too, as Sanctum does. Tokens never expire (unless
  ``token_lifetime`` says otherwise).
- The API user is its own user (id = number of clinic providers + 1, name "Sandbox API
  User", the configured email, ``current_team_id`` 1); the login response's ``user`` is
  ``{id, name, email, email_verified_at, current_team_id, created_at, updated_at}``.
- ``DELETE /v1/auth/tokens/current`` revokes the bearer token: 200 ``{"message": "Token
  revoked successfully"}``.

Patient lists (``GET /v1/patients``; Spatie query builder behind a form request)
- Form-request rules (all nullable, so an empty parameter means "not given"):
  ``per_page`` ``integer|min:1|max:100`` (default 50); ``sort`` ``in:`` the documented
  enum (so an unknown sort, or several comma-separated sorts, is a 422 ``The selected
  sort is invalid.``, not Spatie's 400); ``filter.first_name``/``filter.last_name``
  ``string``; ``filter.date_of_birth`` ``date``; ``filter.trashed`` ``in:with,only``.
  Error keys are the dotted names (``filter.date_of_birth``), messages say e.g. "The
  filter.date of birth field must be a valid date."
- Then Spatie: an unknown ``filter[x]`` is 400 ``Requested filter(s) `x` are not
  allowed. Allowed filter(s) are `first_name, last_name, date_of_birth, trashed`.``; an
  unknown include is 400 ``Requested include(s) `x` are not allowed. Allowed include(s)
  are `user, team, encounters, demographics`.`` (filters are checked first). The
  ``*Count``/``*Exists`` include variants Spatie would also allow are not offered.
- Name filters are Spatie's partial filter: case- and accent-insensitive substring
  (``LIKE %v%`` under MySQL's ``utf8mb4_unicode_ci``, which ignores case and accents;
  LIKE wildcards in the value are literal); a comma splits the value into alternatives
  (OR). ``filter[date_of_birth]`` matches the date exactly (an ISO date-time matches its
  date part); patients without a birth date never match. ``filter[trashed]=with``
  lists soft-deleted patients too, ``only`` only them; otherwise they are left out.
- Sorting: one field, ``-`` for descending, default ``-created_at``. Names sort case-
  and accent-insensitively; a null ``date_of_birth`` sorts first ascending and last
  descending (MySQL); ties always fall back to ``id`` ascending.
- Pagination is Laravel's ``LengthAwarePaginator`` with ``withQueryString()``: absolute
  links from the request's scheme, host and path; every other query parameter is kept
  in the links (re-encoded like PHP's ``http_build_query`` with RFC 3986 escaping, so
  ``filter[first_name]`` becomes ``filter%5Bfirst_name%5D``; empty ones are dropped) and
  ``page`` goes last. An invalid or missing ``page`` means page 1; a page past the end
  is empty (``from``/``to`` null, ``prev`` still set). ``meta.links`` is Laravel's
  window (3 on each side) with ``&laquo; Previous``/``Next &raquo;`` labels and ``...``
  separators.

Search (``GET /v1/patients/search``; Laravel Scout over Meilisearch)
- Rules: ``query`` ``required|string``, ``per_page`` ``nullable|integer|min:1|max:100``
  (default 20), ``sort_by`` ``nullable|in:asc,desc`` (default ``desc``). ``include``
  and filters are not supported there (ignored).
- Indexed fields: first, middle and last name, ``date_of_birth`` and ``notes`` of live
  (not soft-deleted) patients. Text is case- and accent-folded and split into words on
  anything not a letter or digit (so ``1985-03-15`` is three words); at most the first
  10 query words count. A query word matches a document word exactly or, for the last
  query word, as a prefix; words of 5+ characters allow 1 typo, 9+ allow 2 (Damerau:
  insert, delete, substitute or swap), and a typo on the first letter counts as two.
- Meilisearch's default ``last`` matching strategy: documents matching all query words
  come first, then those matching all but the last word, and so on down to the first
  word alone (so the result is a fuzzy superset). Within each such group the order is
  ``updated_at`` per ``sort_by``, then id. Typo, proximity, attribute and exactness
  ranking are not modelled. A query with no words at all (``"--"``) matches every
  patient (a placeholder search).
- Scout's paginator appends only ``query`` to its links: ``per_page`` and ``sort_by``
  are NOT carried into ``links``/``meta.links`` (follow them and you get the defaults).

One patient
- ``GET/PUT/PATCH/DELETE /v1/patients/{id}``: the id is matched as MySQL would compare
  it with an integer column when it is all digits (``007`` is patient 7); anything else,
  an unknown id or a soft-deleted patient is 404 ``No query results for model
  [App\\Models\\Patient] <id as given>``. PATCH is the same as PUT (``apiResource``).
- Create rules: ``first_name``/``last_name`` ``required|string|max:255``,
  ``middle_name`` ``nullable|string|max:255``, ``date_of_birth``
  ``required|date|before:today`` (today in UTC by ``clock``; dates are ISO 8601),
  ``notes``/``allergies``/``insurance`` ``nullable|string``, ``meta``
  ``nullable|array`` (a JSON object or list). Other body fields (``gender``, ``id``...)
  are ignored. Update: the same rules for the fields present (``sometimes``), minus
  ``insurance``, which the documented update body lacks and so is ignored. An update
  that changes nothing leaves ``updated_at`` alone (Eloquent saves only dirty models).
- New patients get the next id (after the highest ever used), a uuid5, the API user as
  ``user``, null ``gender`` and ``demographics``, empty ``latest_medications``,
  ``timeline`` and ``encounters``. ``meta`` is rendered ``{}`` when null or empty.
- ``DELETE`` soft-deletes (``deleted_at`` and ``updated_at`` set to now): 200
  ``{"message": "Patient deleted successfully"}``. The clinic's deleted patient was
  deleted at its ``updated_at``.

The PatientFull resource
- Keys in this order: ``id, uuid, first_name, middle_name, last_name, gender,
  date_of_birth, notes, allergies, insurance, latest_medications, user, [team],
  timeline, [encounters], [demographics], meta, created_at, updated_at, [deleted_at]``.
  ``user`` is always there; ``team``, ``encounters`` and ``demographics`` only when
  included; single-patient responses (show, create, update) always carry ``encounters``.
  ``GET /v1/patients/{id}`` takes ``include`` like the list (same allow-list and 400,
  checked after the 404); create and update responses take none.
  ``deleted_at`` appears only in lists with ``filter[trashed]=with|only`` (null for
  live patients there).
- ``gender``: ``male``, ``female``, ``other`` (clinic non_binary/other), ``unknown``
  (clinic unknown/prefer_not_to_say); null when the clinic has none.
- ``notes``: built from the clinic, else null: "Prefers to be called <preferred>." for a
  preferred name, "Inactive patient." / "Deceased <date>." / "New patient referral."
  by status. ``insurance``: null (the clinic has none). ``meta`` of a clinic patient:
  ``{"chart_number": "C00012"}``, plus ``"preferred_name"`` when the clinic has one.
- ``allergies`` (free text) lists every non-deleted clinic allergy (inactive ones too:
  the text has no status), in clinic order, in one of five styles picked by
  ``(id // 2) % 5``: ``"A, B"``, ``"A (hives), B"`` (reaction lower-cased, when known),
  ``"A; B"``, ``"A (hives); B"``, ``"A, B and C"``. With no allergies: a patient whose
  review says no known allergies gets one of ``NKDA``, ``NKA``, ``No known allergies``,
  ``none``, ``No Known Drug Allergies`` (``id % 5``); any other gets null (odd id) or
  ``""`` (even id).
- ``latest_medications``: non-deleted clinic medications with status active or on
  hold, newest start first (no start last), then id: RxNorm-coded ones as the name up
  to the strength plus the strength without its space (``Sertraline 50mg``,
  ``Metformin hydrochloride 500mg``), free-text ones as their name (``Fish oil 1000
  mg``); `` PRN`` appended for as-needed medications (``Lorazepam 0.5mg PRN``,
  ``Albuterol inhaler PRN``).
- ``user`` ``{id, name, email}``: the patient's primary provider as a user (same id,
  "First Last", ``first.last@example.com``), or user 1 (the team owner) when the clinic
  has no primary provider; API-created patients belong to the API user. ``team``:
  ``{"id": 1, "name": "Sandbox Dental Group"}``.
- ``demographics`` ``{email, phone, address_line1, city, state, postal_code}``: the
  mobile phone, else the home phone, formatted ``(312) 555-0142``; null for API-created
  patients.
- ``encounters`` (newest ``start_time`` first): ``{id, uuid, patient_id, status,
  visit_type, type, reason, start_time, end_time, provider: {id, name, credentials},
  location: {id, name} | null, signed, created_at, updated_at}``; status planned ->
  ``scheduled``, arrived -> ``in_progress``, finished -> ``completed``, cancelled ->
  ``cancelled``; ``visit_type`` is ``telehealth`` for non-dental visits (no CDT code)
  with an even id, with a null location, else ``in_person``; ``signed`` is the clinic's
  locked flag. ``created_at`` is 14 days before the start (or before the clinic's today,
  for future visits), never before the patient record; ``updated_at`` is the end for
  completed visits, the start for in-progress ones, the day before the start (not
  before creation) for cancelled ones, the creation time for scheduled ones.
- ``timeline`` (newest first, then id): per encounter that is not scheduled (future
  visits have not occurred) ``{"id": "encounter-<id>", "type": "encounter",
  "occurred_at": start, "title": <visit type>}`` (prefixed "Cancelled: " when
  cancelled), and per signed encounter ``{"id": "note-<id>", "type": "note",
  "occurred_at": end or start, "title": "Progress note signed: <visit type>"}``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from sandboxes.clinic import Clinic
from sandboxes.nextvisit.errors import render_http_error
from sandboxes.nextvisit.readings import Readings
from sandboxes.nextvisit.routes import api_routes
from sandboxes.nextvisit.store import Store
from sandboxes.nextvisit.throttle import Throttle, ThrottleMiddleware
from sandboxes.nextvisit.wire import ErrorBodyMiddleware
from sandboxes.toolkit.clock import Clock, wall_clock
from sandboxes.toolkit.errors import http_exception_handler

__all__ = ["create_app"]


def create_app(
    clinic: Clinic,
    *,
    email: str,
    password: str,
    clock: Clock | None = None,
    **switches: Any,
) -> Starlette:
    """The Nextvisit API for `clinic` under ``/v1``; log in with `email` and `password`.

    `clock` (default: the wall clock) stamps writes and decides "today" for date-of-birth
    validation; pass a fixed one for repeatable tests. `switches` pick readings of what the
    docs leave open (the fields of ``readings.Readings``; the module docstring's
    "Switches"); the defaults are the readings described here.
    """
    readings = Readings(**switches)
    store = Store(clinic, email, password, clock or wall_clock, readings)
    throttle = (
        Throttle(readings.rate_limit, readings.rate_window, store.clock) if readings.rate_limit is not None else None
    )
    app = Starlette(
        routes=api_routes(store),
        exception_handlers={HTTPException: http_exception_handler(render_http_error)},
        # The throttle inside: its 429 body is written as the reading writes every error body.
        middleware=[
            Middleware(ErrorBodyMiddleware, readings=readings),
            Middleware(ThrottleMiddleware, throttle=throttle),
        ],
    )
    app.state.revoke_all_tokens = store.tokens.revoke_all
    if throttle is not None:
        app.state.use_up_requests = throttle.use_up
    return app
