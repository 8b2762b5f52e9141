"""A Nextech API simulator serving the synthetic clinic (``sandboxes.clinic``).

``create_app(clinic, client_id=..., client_secret=..., practice_id=...)`` returns a
Starlette app that answers like the documented service (``vendor-docs/nextech-api.txt``,
plus what is known of Nextech beyond it: Azure AD behind its OAuth2, ``dob`` a datetime,
``encounterLocked`` a boolean or a string): an Azure-AD-style (v1 endpoint) OAuth2
authorization server under ``/oauth2`` and the EHR API under ``/api``: ``GET
/api/search?term=``, ``GET /api/{patientId}/encounters/search`` and ``GET
/api/encounters/categories``. Nothing else: in particular there is no "patient by id"
route (the docs have none).

``clock`` (epoch seconds, default ``time.time``) decides code, access-token and
refresh-token lifetimes, the rotation grace period, the default ``end`` of an encounter
search and the ``timestamp`` of OAuth errors. Test hooks and counters on ``app.state``:
``token_calls`` (``{grant_type: count}`` of every ``POST /oauth2/token``, failed ones
included; a request without ``grant_type`` counts under ``""``),
``issued_refresh_tokens`` (refresh tokens issued so far) and ``revoke_refresh_tokens()``
(revokes every refresh token issued so far, as when a user or admin revokes the grant;
later authorizations work again). Nothing is logged.

The pieces: ``auth`` (the authorization server's routes), ``grants`` (codes and tokens),
``oauth_errors`` (Azure's error bodies), ``redirects``, ``routes`` (the EHR API), ``store``
(the chart: search rows, encounter windows), ``search`` (term matching), ``render``
(clinic records -> Nextech JSON), ``ccd_html`` (the CCD document) and ``errors`` (Web API
style errors).

Rendering (ids are the clinic's, so tests can go from clinic truth to Nextech JSON):
- ``patientId`` = clinic patient id, ``encounterId`` = clinic encounter id, ``doctorId``
  = clinic provider id. Soft-deleted clinic patients do not exist here.
- Responses are JSON (``application/json; charset=utf-8``) whatever ``Accept`` says, as
  the docs say; lists are bare JSON arrays.

Assumptions where the docs are silent (the adapter must not rely on more):

OAuth2 (``/oauth2/authorize``, ``/oauth2/token``; Azure AD v1 shapes)
- ``GET /oauth2/authorize?client_id&response_type=code&redirect_uri&resource&state``
  approves at once (no login page, the sandbox user has always consented): 302 to
  ``redirect_uri`` with ``code``, ``state`` (when given) and ``session_state`` (a uuid)
  appended to its query. The docs' table says ``redirect_url``: taken as a typo, only
  ``redirect_uri`` is read. Errors before the redirect URI is trusted are 400 JSON
  (below): missing ``client_id`` or ``redirect_uri``, an unknown ``client_id``
  (AADSTS700016), a redirect URI that is not an absolute http(s) URI without fragment,
  or (when ``redirect_uris`` is non-empty) one not registered (AADSTS50011; exact string
  match). Loopback redirect URIs ``http://127.0.0.1:<any port>/<any path>``,
  ``http://localhost:...`` and ``http://[::1]:...`` are always allowed (RFC 8252 §7.3).
  With no ``redirect_uris`` configured any valid URI is allowed. After that, a missing
  or other ``response_type`` is reported to the redirect URI (``error=invalid_request``
  or ``unsupported_response_type``, with ``error_description`` and ``state``), per
  RFC 6749 §4.1.2.1. ``resource`` is optional and not validated (the real value is
  Nextech's app id URI, which we do not know); other parameters are ignored.
- Codes are opaque, single-use and live ``AUTH_CODE_TTL`` (600) seconds. A redemption
  that fails (wrong redirect URI...) does not consume the code. Redeeming a code twice
  does not revoke the tokens issued the first time (Azure does not).
- ``POST /oauth2/token`` reads an ``application/x-www-form-urlencoded`` body (any other
  body counts as empty; a repeated parameter: the first wins; ``GET`` is 400
  ``invalid_request`` AADSTS900561). Order of checks: ``grant_type`` missing (400
  ``invalid_request``) or not ``authorization_code``/``refresh_token`` (400
  ``unsupported_grant_type``, AADSTS70003); then the client; then the grant.
- Client authentication: ``client_id`` and ``client_secret`` form fields, or HTTP Basic
  (``client_id:client_secret``, each form-urlencoded first, RFC 6749 §2.3.1). Basic
  wins; a form ``client_id`` that disagrees with it is 400 ``invalid_request``
  (AADSTS9002313). Missing
  ``client_id``: 400 ``invalid_request``; unknown: 400 ``unauthorized_client``
  (AADSTS700016); missing secret: 401 ``invalid_client`` (AADSTS7000218); wrong
  secret: 401 ``invalid_client`` (AADSTS7000215), with ``WWW-Authenticate: Basic`` when
  Basic was used.
- ``authorization_code`` needs ``code`` and ``redirect_uri`` (the exact string given to
  the authorize step): missing -> 400 ``invalid_request`` (AADSTS900144); unknown code or
  a code of another client -> ``invalid_grant`` AADSTS70000; already redeemed ->
  ``invalid_grant`` AADSTS54005; expired -> ``invalid_grant`` AADSTS70008; another
  redirect URI -> ``invalid_grant`` AADSTS500112. ``resource`` in the token request
  overrides the authorize step's; neither -> ``DEFAULT_RESOURCE``.
- Success: 200 ``{"token_type": "Bearer", "scope": "user_impersonation", "expires_in",
  "ext_expires_in", "expires_on", "not_before", "resource", "access_token",
  "refresh_token"}``. ``expires_in``/``ext_expires_in`` are ``int(access_ttl)``,
  ``expires_on``/``not_before`` whole epoch seconds, all JSON integers (real Azure AD v1
  sends these four as strings, as ``token_numbers_as_strings=True`` does: an adapter should
  accept both). No ``id_token``. Tokens
  are opaque random strings (real Azure access tokens are JWTs: do not parse them).
  ``Cache-Control: no-store, no-cache`` and ``Pragma: no-cache``.
- ``refresh_token`` grant (``refresh_token`` required, AADSTS900144) ROTATES: every
  success returns a new access token AND a new refresh token. A refresh token stays
  usable while ``clock() < first_use + refresh_grace`` (each such reuse mints another
  new pair), so a client that crashed before saving the new token can retry;
  ``refresh_grace=0`` makes refresh tokens strictly single-use. Presenting a rotated
  token after its grace is treated as replay, as strict servers (Auth0, Okta, the OAuth
  security BCP) do: 400 ``invalid_grant`` AADSTS70008 and EVERY refresh token of that
  grant (all descendants of one authorization code, including the newest) is revoked,
  so the client must reconnect. Access tokens already issued stay valid until they
  expire, whatever happens to refresh tokens. Refresh tokens also die
  ``REFRESH_TOKEN_TTL`` (90 days) after issue (AADSTS70008). Unknown refresh token:
  AADSTS70008; revoked (by the hook or by replay detection): AADSTS50173. A refresh
  token belongs to its client: another client's is AADSTS70000.
- OAuth error bodies are Azure's: ``{"error", "error_description": "AADSTSnnnn: ...
  \\r\\nTrace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp: ...", "error_codes":
  [n], "timestamp": "YYYY-MM-DD hh:mm:ssZ", "trace_id", "correlation_id",
  "error_uri"}`` (an adapter should rely on ``error`` and at most ``error_codes``).

API protocol (ASP.NET Web API style)
- Base path ``/api`` (the docs show paths without a base). Unmatched paths: 404
  ``{"Message": "No HTTP resource was found that matches the request URI '<url>'."}``;
  wrong method: 405 ``{"Message": "The requested resource does not support http method
  'POST'."}`` (neither checks credentials: routing comes first).
- Then ``Authorization: Bearer <access token>`` (scheme case-insensitive): missing,
  unknown or expired (``clock() >= expires_on``) -> 401 ``{"Message": "Authorization has
  been denied for this request."}`` with ``WWW-Authenticate: Bearer``. Then
  ``x-nextech-practice-id`` (trimmed): missing or blank -> 400 ``{"Message": "The
  x-nextech-practice-id header is required."}``; another practice -> 403 ``{"Message":
  "Access to the requested practice is denied."}``. Then parameters (400 ``{"Message":
  "The request is invalid.", ...}``), then the record (404).
- Responses carry ``Cache-Control: no-cache``, ``Pragma: no-cache``, ``Expires: -1``.

Patients (``GET /api/search?term=``)
- ``term`` missing or blank: 400 ``{"Message": "The request is invalid.", "ModelState":
  {"term": ["The term field is required."]}}``. No paging and no cap: every match, ordered
  by last name, first name (folded as below), then ``patientId``.
- Matching: text is folded (Unicode NFKD, combining marks dropped, case-folded: an
  accent- and case-insensitive collation, so ``garcia`` finds García). The term is
  trimmed and inner whitespace collapsed to one space. A name's "parts" are the whole
  name plus its pieces split at whitespace and hyphens (``O'Brien-Nguyễn`` -> whole,
  ``o'brien``, ``nguyen``; ``Van der Berg`` -> whole, ``van``, ``der``, ``berg``). "Q
  matches a name" means Q is a prefix of one of its parts. A patient matches when ANY
  of these holds:
  (1) the term is a prefix of the chart number (``C0001`` finds C00010..C00019;
      ``C00012`` finds only C00012 because chart numbers are fixed-width; bare digits
      never match);
  (2) no comma: the whole term matches the first or the last name (``smi`` finds
      Smith, Smithson, Smithers; ``van der`` finds Van der Berg);
  (3) no comma, for some space in the term: the part before matches the first name and
      the part after matches the last name (``jo smi`` = "first last");
  (4) with a comma: the part before the first comma matches the last name and the part
      after it, when not empty, matches the first name (``smith, jo`` = "last, first";
      ``smith,`` = last name only).
  Middle and preferred names are never searched; "last first" without a comma is not a
  form.
- Shape, keys in this order: ``patientId`` (int), ``chartNumber``, ``firstName``,
  ``lastName``, ``middleName`` (null when none), ``dob`` (a DATETIME at UTC midnight,
  ``"1985-03-15T00:00:00.000Z"``; null when unknown), ``ssn``, ``homePhone``.
- ``ssn``: fake but well-formed ``9AA-GG-SSSS`` (area 900-999 is never issued as an
  SSN) from the patient id, unique; null for every patient whose id is a multiple of 4.
  ``homePhone``: the clinic's home phone as ``(312) 555-0142``, else null (the mobile
  phone is not shown).

Encounters (``GET /api/{patientId}/encounters/search?start=&end=&section=``)
- ``patientId`` not an integer: 400 ``{"Message": "The request is invalid.",
  "MessageDetail": ...}``. ``start``/``end``: ISO 8601 date or date-time
  (``datetime.fromisoformat``); naive values and bare dates are UTC (a bare date is
  its midnight: ``end=2026-03-01`` EXCLUDES that day's visits); empty means omitted;
  unparsable: 400 ``ModelState`` ``{"start": ["The value '<v>' is not valid for
  start."]}``. ``section``: one of ``CCD_SECTIONS`` (case-insensitive; the response's
  markup uses the canonical spelling); empty means omitted; otherwise 400 ``{"Message":
  "The section '<v>' is not a valid CCD section."}``. Then an unknown (or deleted)
  patient: 404 ``{"Message": "Patient not found"}``.
- Returned: the patient's chart encounters, i.e. the clinic's ``finished`` and
  ``arrived`` (in progress) visits; ``planned`` (future appointments) and ``cancelled``
  visits have no chart encounter and never appear. Those whose ``encounterDate`` (the
  clinic start) lies in ``[start, end]``, both inclusive; ``start`` defaults to the
  beginning of time, ``end`` to ``clock()``; ``start > end`` is an empty list. Ordered by
  ``encounterDate``, then id (``encounter_order="desc"``: the other way).
- ``summary`` keys in this order: ``encounterId``, ``doctorId``, ``doctorFirstName``,
  ``doctorLastName``, ``doctorProfessionalDesignation`` (DDS, DMD, RDH, MD, NP),
  ``department`` (``department_of``: CDT D4xxx ``Periodontics``, D7xxx ``Oral
  Surgery``, D8xxx ``Orthodontics``, other CDT codes ``General Dentistry``, no CDT code
  ``Primary Care``), ``location`` (the clinic location's name), ``encounterDate`` (UTC,
  ``2017-12-14T15:08:59.000Z``), ``type`` (the clinic's visit type text),
  ``encounterLocked`` (``locked_value``: by encounter id % 3, 0 -> JSON boolean, 1 ->
  string ``"true"``/``"false"``, 2 -> .NET's ``"True"``/``"False"``).
- ``ccd``: an HTML5 document (``<!DOCTYPE html>``, ``<title>Continuity of Care
  Document</title>``): an ``<h1>``, a ``<div class="header">`` with the patient (name
  "First Middle Last", date of birth ``MM/DD/YYYY`` or ``Unknown``, gender, chart
  number) and the encounter (type with CDT code, date in the clinic's time zone like
  ``03/15/2025 10:30 AM CDT``, provider "First Last, DDS", department, location,
  ``Locked``/``Unlocked``), then one ``<div class="section" data-section="<name>">``
  with an ``<h2>`` and a ``<table>`` per section in ``CCD_SECTIONS`` order (only the
  requested one with ``section``):
  ``Allergies`` (every non-deleted allergy, inactive ones too, with status; none: "No
  known drug allergies" when the review says NKDA, else "No allergy information
  recorded"), ``Medications`` (every non-deleted medication with strength, frequency
  plus "as needed" for PRN, route, status, start, stop), ``Problems`` (every
  non-deleted problem with ICD-10-CM, SNOMED CT, status, onset, resolution) - these
  three are the record as it stands now, not as of the encounter (no history is
  kept) -, ``VitalSigns`` (the non-deleted reading closest in time to the encounter
  start, a reading without a time counting at local noon, ties to the earlier; its local
  date/time in a caption and one row per measurement taken), ``Encounter`` (the
  encounter's details again, with end time and status) and ``PlanOfCare`` (the reason
  for visit, else "No plan of care recorded"). Every clinic string is HTML-escaped
  (``html.escape``, quotes too). The document is the same for every request (no
  generation timestamp).
- ``hostile_html=True`` adds markup a careless vendor might pass through, the snippets
  in ``HOSTILE_SNIPPETS``: a stylesheet ``<link>`` in the head and, right after the
  header (so every ``section`` variant carries them), a ``<script>``, an ``<img
  onerror>``, a ``javascript:`` link, an ``<iframe>`` and an inline ``style`` loading an
  external ``url()``.

Categories (``GET /api/encounters/categories``): the JSON array ``CCD_SECTIONS``.

Switches for points the docs leave open (``create_app`` keyword arguments; the defaults are the
behaviour above):
- ``section_names``: ``"compact"`` (default) names the sections ``CCD_SECTIONS``
  (``VitalSigns``, ``PlanOfCare``); ``"spaced"`` names them ``SPACED_SECTIONS``, with spaces
  (``Vital Signs``, ``Plan of Treatment``) and a ``Social History`` section ("No social
  history recorded"), in categories, ``section`` and the markup alike.
- ``far_future_visit``: ``True`` (or a datetime, for another moment) adds, to the first
  patient (by id) with a chart encounter, an open (unlocked, in progress) chart encounter at
  ``FAR_FUTURE_VISIT`` (2031-06-16 15:00 UTC), a copy of their latest one with the next free
  encounter id, as a practice that opens encounters ahead of time would have. Only a search
  whose ``end`` reaches it finds it (``end`` still defaults to now). ``app.state.far_visit``
  is ``(patientId, encounterId)`` (None without the switch).
- ``latest_end``: a datetime; an encounter search whose ``end`` is later is 400 ``ModelState``
  ``{"end": ["The value '<v>' is not valid for end."]}``, as a Nextech that refuses far dates
  would answer (default None: any ``end`` ``datetime.fromisoformat`` takes, up to 9999-12-31).
- ``search_accents`` / ``search_match`` / ``search_none_found`` / ``search_min_length`` /
  ``search_case`` / ``search_fields``: how ``term`` matches (accent-sensitive, names stored decomposed,
  whole-field prefixes or substrings, case-sensitive), what a search of no one answers (an
  empty list, 404 or 204) and the shortest term taken; ``envelope``, ``ids_as_strings``,
  ``timestamps``, ``absent_nulls``, ``error_bodies``, ``search_limit``, ``encounter_limit``,
  ``encounter_order``, ``encounters_none_found``, ``unknown_dates``, ``dob_midnight``,
  ``key_case``, ``ccd_encoding``, ``ccd_charset``, ``ccd_layout``, ``ccd_titles``, ``ccd_escaping``,
  ``single_as_object``, ``encounter_dates``, ``locked_values``,
  ``chart_numbers``, ``categories``,
  ``page_size`` (of the paged envelopes), ``unlocked_ccd``, ``empty_sections``,
  ``json_as_string``, ``abp_wrapper`` and ``jsonapi_resources``: how answers are written (``token_numbers_as_strings``:
  the token response's numbers, above). Each is described in ``sandboxes.nextech.readings``.
- ``oauth_wording``: ``"rfc"`` (default: RFC 6749's names, as Azure AD has them) or
  ``"docs"``, the docs' tables read literally: the authorize request's redirect URI is read
  from ``redirect_url`` only, and the token answer names the access token ``code``.
- ``oauth_paths``: ``"azure"`` (default: ``/oauth2/authorize`` and ``/oauth2/token``, Azure
  AD's, as Nextech's own are) or ``"django"`` (django-oauth-toolkit's ``/o/authorize/`` and
  ``/o/token/``): the docs give the two requests' parameters but not their addresses.
- ``oauth_client_auth``: how the token endpoint takes the client's secret: in the form or in
  HTTP Basic (``"any"``, default), or in HTTP Basic only (``"basic"``: a secret in the form
  is 401 ``invalid_client`` with ``WWW-Authenticate: Basic``, as Authlib answers for a client
  registered with its default ``client_secret_basic``). The docs' token request lists no
  secret at all; RFC 6749 section 2.3.1 makes Basic the method every server MUST take.
- ``oauth_pkce``: ``"ignored"`` (default: ``code_challenge`` and ``code_verifier`` are not
  read, as RFC 7636 section 5 says a server without PKCE ignores them; the docs name neither)
  or ``"required"`` (PKCE with S256 for every code, as OAuth 2.1, Duende IdentityServer's
  ``RequirePkce`` and Keycloak's "PKCE Method: S256" require it: an authorize request without
  a ``code_challenge``, or with a method other than ``S256``, is redirected back with
  ``invalid_request`` (RFC 7636 section 4.4.1); a token request without the ``code_verifier``
  is 400 ``invalid_request``, one whose verifier does not hash to the challenge 400
  ``invalid_grant`` (section 4.6)).
- ``oauth_state``: ``"echoed"`` (default: the redirect carries the request's ``state``, as
  RFC 6749 section 4.1.2 requires) or ``"dropped"`` (it carries none: the docs' authorize
  table lists no ``state``, and a server written from it alone would not send one back).
- ``oauth_errors``: how the token endpoint spells its refusals: as Azure AD (``"azure"``,
  default, above) or as another team's framework does (``sandboxes.nextech.token_errors``:
  ``"passport"``, a refused refresh token a 401 ``invalid_request``; ``"fastapi"``, the RFC body
  under ``detail``; ``"nestjs"``, the code as ``message``). The docs show no OAuth
  error; RFC 6749 section 5.2 says ``invalid_grant`` and 400.
- ``oauth_token_status``: the status of a token answer (a code exchanged, a token refreshed):
  ``200`` (default, RFC 6749 section 5.1) or ``201`` (what a NestJS ``@Post()`` handler
  answers unless it is told ``@HttpCode(200)``; the docs give no status for the token request,
  their "Response Codes" only "200 OK - Successful request" for the API).
- ``oauth_refused_grant_status``: the status of a grant refused as ``invalid_grant`` (a code or
  refresh token revoked, expired or unknown): ``400`` (default, RFC 6749 section 5.2) or
  ``403``, the docs' "The request is valid, but the server is refusing action" (their list of
  statuses has no 401, and its 400 is for a request "missing information or ... malformed").
- ``date_params``: ``start``/``end`` read as ISO 8601 with or without a zone (``"iso"``,
  default), or without one only (``"naive"``: UTC, as the docs' times are; a value with ``Z``
  or an offset is dropped as if absent, as Flask's ``request.args.get("end",
  type=lambda v: datetime.strptime(v, "%Y-%m-%dT%H:%M:%S"))`` drops what it cannot parse, or
  ``datetime.fromisoformat`` before Python 3.11 a ``Z``), or with one only (``"zoned"``:
  RFC 3339's ``date-time``, which OpenAPI's ``format: date-time`` names and the docs'
  examples all carry; a value without ``Z`` or an offset is 400 ``ModelState``, as
  marshmallow's ``AwareDateTime`` or an OpenAPI request validator refuses it), or as bare
  dates only (``"date"``: the docs call them "Earliest date" and "Latest date included",
  which a ``DateOnly`` (ASP.NET), ``LocalDate`` (Spring) or ``DateFilter`` (django-filter)
  parameter binds; a date-time is 400 ``ModelState``, and ``end`` includes all of its day).
- ``unknown_sections``: a ``section`` that is none of Nextech's is 400 (``"refused"``,
  default), answered with every encounter's ``"ccd": null`` (``"null"``: a template
  looked up by the name and not found renders nothing; the docs say only where the valid
  names are listed), or 404 ``{"Message": "The section '<v>' was not found."}``
  (``"not_found"``: the section's row looked up and missing, as Rails' ``find_by!``, Django's
  ``get_object_or_404`` or a Spring ``orElseThrow`` answers it; the docs' 404 is "The
  requested resource cannot be found"), checked before the patient.
- ``section_param``: ``section`` read as above (``"honoured"``, default) or never read
  (``"ignored"``): every encounter answered with its whole CCD, however it is asked, and no
  ``section`` refused, as a controller that binds only ``start`` and ``end`` answers (ASP.NET
  and Spring ignore a query parameter no action parameter names; a Flask view reading only
  those two) with a renderer that has no section filter. The docs: "Section of data to include
  in the CCD property".
- ``trailing_slashes``: the API's routes as the docs write them (default) or each with a
  trailing slash (``/api/search/``), as Django REST Framework's routers declare them by
  default and a FastAPI team may: a path without the slash is redirected to it (307, the query
  kept, before any check), as Starlette and FastAPI do (Django's ``APPEND_SLASH`` with a 301).
- ``refresh_rotation``: a refresh answers a new refresh token (``"rotate"``, default, as
  above), the one presented again (``"reuse"``: Spring Authorization Server's default
  ``reuseRefreshTokens(true)``) or none (``"none"``: Authlib's default
  ``INCLUDE_NEW_REFRESH_TOKEN = False``, as Google's token endpoint answers too); either way the
  one presented stays valid, as many times as it is used, until ``REFRESH_TOKEN_TTL`` after its
  issue. RFC 6749 §6 lets a server do either ("MAY issue a new refresh token"); the docs say
  only that "A access_token and refresh_token pair is issued".
- ``refused_token_status``: an API call with a missing, expired or revoked access token is
  401 with ``WWW-Authenticate: Bearer`` (default), or 403 with the same body: the docs' list
  of statuses (200/400/403/404/500) has no 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from sandboxes.clinic import Clinic
from sandboxes.nextech.auth import DEFAULT_RESOURCE, AuthorizationServer
from sandboxes.nextech.ccd_html import CCD_SECTIONS, HOSTILE_SNIPPETS, SECTION_TITLES, SPACED_SECTIONS
from sandboxes.nextech.ccd_html import section_names as _sections_of
from sandboxes.nextech.errors import routing_error
from sandboxes.nextech.grants import AUTH_CODE_TTL, REFRESH_TOKEN_TTL, SCOPE, Grants
from sandboxes.nextech.readings import (
    Accents,
    Case,
    Categories,
    CcdCharset,
    CcdEncoding,
    CcdEscaping,
    CcdLayout,
    CcdTitles,
    ChartNumbers,
    DobMidnight,
    EmptySections,
    EncounterOrder,
    Envelope,
    ErrorBodies,
    Fields,
    KeyCase,
    LockedValues,
    Match,
    NoneFound,
    SearchReading,
    Shapes,
    Timestamps,
    UnknownDates,
    UnlockedCcd,
)
from sandboxes.nextech.render import department_of, locked_value
from sandboxes.nextech.routes import ACCESS_DENIED, PRACTICE_HEADER, NextechApi
from sandboxes.nextech.store import Chart
from sandboxes.nextech.token_errors import TokenErrorSpelling

__all__ = [
    "ACCESS_DENIED",
    "AUTH_CODE_TTL",
    "CCD_SECTIONS",
    "DEFAULT_RESOURCE",
    "FAR_FUTURE_VISIT",
    "HOSTILE_SNIPPETS",
    "OAUTH_PATHS",
    "PRACTICE_HEADER",
    "REFRESH_TOKEN_TTL",
    "SCOPE",
    "SECTION_TITLES",
    "SPACED_SECTIONS",
    "create_app",
    "department_of",
    "locked_value",
]

#: The authorization server's (authorize, token) paths for each ``oauth_paths``.
OAUTH_PATHS: dict[str, tuple[str, str]] = {
    "azure": ("/oauth2/authorize", "/oauth2/token"),
    "django": ("/o/authorize/", "/o/token/"),
}

#: When ``far_future_visit=True`` puts its visit: beyond any "a few years ahead" horizon of today.
FAR_FUTURE_VISIT = datetime(2031, 6, 16, 15, 0, tzinfo=UTC)


def create_app(
    clinic: Clinic,
    *,
    client_id: str,
    client_secret: str,
    practice_id: str,
    redirect_uris: Sequence[str] = (),
    access_ttl: float = 3600.0,
    refresh_grace: float = 30.0,
    clock: Callable[[], float] | None = None,
    hostile_html: bool = False,
    section_names: Literal["compact", "spaced"] = "compact",
    far_future_visit: bool | datetime = False,
    latest_end: datetime | None = None,
    search_accents: Accents = "insensitive",
    search_match: Match = "parts",
    search_none_found: NoneFound = "empty",
    search_min_length: int = 1,
    search_case: Case = "insensitive",
    search_fields: Fields = "names",
    envelope: Envelope = "bare",
    ids_as_strings: bool = False,
    timestamps: Timestamps = "z",
    absent_nulls: bool = False,
    error_bodies: ErrorBodies = "webapi",
    search_limit: int | None = None,
    token_numbers_as_strings: bool = False,
    unknown_dates: UnknownDates = "null",
    locked_values: LockedValues = "mixed",
    chart_numbers: ChartNumbers = "all",
    categories: Categories = "names",
    page_size: int = 10,
    unlocked_ccd: UnlockedCcd = "html",
    empty_sections: EmptySections = "text",
    json_as_string: bool = False,
    abp_wrapper: bool = False,
    encounter_limit: int | None = None,
    dob_midnight: DobMidnight = "utc",
    key_case: KeyCase = "camel",
    ccd_encoding: CcdEncoding = "text",
    ccd_charset: CcdCharset = "utf-8",
    ccd_layout: CcdLayout = "divs",
    ccd_titles: CcdTitles = "names",
    jsonapi_resources: bool = False,
    ccd_escaping: CcdEscaping = "none",
    single_as_object: bool = False,
    encounter_dates: Literal["instant", "day"] = "instant",
    encounters_none_found: NoneFound = "empty",
    encounter_order: EncounterOrder = "asc",
    refused_token_status: Literal[401, 403] = 401,
    refresh_rotation: Literal["rotate", "reuse", "none"] = "rotate",
    oauth_wording: Literal["rfc", "docs"] = "rfc",
    oauth_paths: Literal["azure", "django"] = "azure",
    oauth_client_auth: Literal["any", "basic"] = "any",
    oauth_pkce: Literal["ignored", "required"] = "ignored",
    oauth_state: Literal["echoed", "dropped"] = "echoed",
    oauth_errors: TokenErrorSpelling = "azure",
    oauth_token_status: Literal[200, 201] = 200,
    oauth_refused_grant_status: Literal[400, 403] = 400,
    date_params: Literal["iso", "naive", "zoned", "date"] = "iso",
    unknown_sections: Literal["refused", "null", "not_found"] = "refused",
    section_param: Literal["honoured", "ignored"] = "honoured",
    trailing_slashes: bool = False,
    rate_per_second: int | None = None,
    rate_limited_status: Literal[503, 429] = 503,
    rate_limited_retry_after: bool = True,
) -> Starlette:
    """The Nextech API for `clinic` as practice `practice_id`, with its OAuth2 server.

    `client_id`/`client_secret` are the one registered app; `redirect_uris` its registered
    reply URLs (loopback ones are always allowed; none registered: any). `clock` returns
    epoch seconds (default ``time.time``). `rate_per_second`: API calls past that many in one
    second of `clock` are refused as ASP.NET Core's rate limiter does by default (503, empty
    body, no ``Retry-After``), or with `rate_limited_status` 429 as Django REST Framework's
    throttles (express-rate-limit alike) refuse them: a 429 with ``Retry-After: 1`` (the next
    window, in whole seconds) and ``{"detail": ...}``, or, with `rate_limited_retry_after`
    False, as rack-attack's default responder (Rails) does, Flask-Limiter's and ASP.NET
    Core's with ``RejectionStatusCode = 429`` alike: a 429 that says no wait (``Retry later``
    as text/plain, no ``Retry-After``); None: no limit.
    `hostile_html` adds ``HOSTILE_SNIPPETS`` to every CCD. `section_names`, `far_future_visit`
    and `latest_end` are the switches the module docstring describes (with every other
    behaviour); the others are ``readings``'.
    """
    now = clock or time.time
    literal = oauth_wording == "docs"
    grants = Grants(
        now,
        access_ttl,
        refresh_grace,
        numbers_as_strings=token_numbers_as_strings,
        access_token_field="code" if literal else "access_token",
        rotation=refresh_rotation,
    )
    oauth = AuthorizationServer(
        grants,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris,
        clock=now,
        redirect_param="redirect_url" if literal else "redirect_uri",
        paths=OAUTH_PATHS[oauth_paths],
        client_auth=oauth_client_auth,
        pkce=oauth_pkce,
        state=oauth_state,
        errors=oauth_errors,
        token_status=oauth_token_status,
        refused_grant_status=oauth_refused_grant_status,
    )
    sections = _sections_of(section_names)
    far_at = FAR_FUTURE_VISIT if far_future_visit is True else far_future_visit or None
    reading = SearchReading(
        search_accents, search_match, search_none_found, search_min_length, search_case, search_fields
    )
    shapes = Shapes(
        envelope,
        ids_as_strings,
        timestamps,
        absent_nulls,
        error_bodies,
        search_limit,
        unknown_dates,
        locked_values,
        chart_numbers,
        categories,
        page_size,
        unlocked_ccd,
        empty_sections,
        json_as_string,
        abp_wrapper,
        encounter_limit,
        dob_midnight,
        key_case,
        ccd_encoding,
        encounters_none_found,
        encounter_order,
        ccd_escaping,
        single_as_object,
        encounter_dates,
        ccd_charset,
        ccd_layout,
        ccd_titles,
        jsonapi_resources,
    )
    chart = Chart(clinic, hostile_html, sections, far_at, reading, shapes)
    api = NextechApi(
        chart,
        grants,
        practice_id=practice_id,
        clock=now,
        sections=sections,
        latest_end=latest_end,
        date_params=date_params,
        unknown_sections=unknown_sections,
        section_param=section_param,
        trailing_slashes=trailing_slashes,
        refused_token_status=refused_token_status,
        rate_per_second=rate_per_second,
        rate_limited_status=rate_limited_status,
        rate_limited_retry_after=rate_limited_retry_after,
    )
    app = Starlette(routes=oauth.routes() + api.routes(), exception_handlers={HTTPException: routing_error})
    app.state.token_calls = oauth.token_calls
    app.state.issued_refresh_tokens = 0
    app.state.revoke_refresh_tokens = grants.revoke_all
    app.state.far_visit = chart.far_visit
    return app
