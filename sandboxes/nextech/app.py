"""A Nextech API simulator serving the synthetic clinic (``mappings.sandbox.clinic``).

``create_app(clinic, client_id=..., client_secret=..., practice_id=...)`` returns a
Starlette app that answers like the documented service (``vendor-docs/nextech-api.txt``
and DESIGN §7): an Azure-AD-style (v1 endpoint) OAuth2 authorization server under
``/oauth2`` and the EHR API under ``/api``: ``GET /api/search?term=``,
``GET /api/{patientId}/encounters/search`` and ``GET /api/encounters/categories``. Nothing
else: in particular there is no "patient by id" route (the docs have none).

``clock`` (epoch seconds, default ``time.time``) decides code, access-token and
refresh-token lifetimes, the rotation grace period, the default ``end`` of an encounter
search and the ``timestamp`` of OAuth errors. Test hooks and counters on ``app.state``:
``token_calls`` (``{grant_type: count}`` of every ``POST /oauth2/token``, failed ones
included; a request without ``grant_type`` counts under ``""``),
``issued_refresh_tokens`` (refresh tokens issued so far) and ``revoke_refresh_tokens()``
(revokes every refresh token issued so far, as when a user or admin revokes the grant;
later authorizations work again). Nothing is logged.

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
  sends these four as strings: an adapter should accept both). No ``id_token``. Tokens
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
  ``encounterDate``, then id.
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
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import time
import unicodedata
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from html import escape
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mappings.sandbox.clinic import Clinic, Encounter, Location, Patient, Provider, VitalSigns

__all__ = [
    "ACCESS_DENIED",
    "AUTH_CODE_TTL",
    "CCD_SECTIONS",
    "DEFAULT_RESOURCE",
    "HOSTILE_SNIPPETS",
    "PRACTICE_HEADER",
    "REFRESH_TOKEN_TTL",
    "SCOPE",
    "SECTION_TITLES",
    "create_app",
    "department_of",
    "locked_value",
]

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]

PRACTICE_HEADER = "x-nextech-practice-id"
#: Lifetime of an authorization code, seconds.
AUTH_CODE_TTL = 600.0
#: Lifetime of a refresh token from its issue, seconds (Azure's 90-day inactivity limit).
REFRESH_TOKEN_TTL = 90 * 24 * 3600.0
#: What the token response says in ``resource`` when no ``resource`` was ever given.
DEFAULT_RESOURCE = "https://select.nextech-api.com/api"
#: The token response's ``scope`` (Azure v1's delegated default).
SCOPE = "user_impersonation"
#: The 401 message of every API route.
ACCESS_DENIED = "Authorization has been denied for this request."
#: The CCD section names, as ``/encounters/categories`` lists them and ``section`` takes them.
CCD_SECTIONS: tuple[str, ...] = ("Allergies", "Medications", "Problems", "VitalSigns", "Encounter", "PlanOfCare")
#: Section name -> the ``<h2>`` title of its block.
SECTION_TITLES: dict[str, str] = {
    "Allergies": "Allergies",
    "Medications": "Medications",
    "Problems": "Problems",
    "VitalSigns": "Vital Signs",
    "Encounter": "Encounter",
    "PlanOfCare": "Plan of Care",
}
_HOSTILE_HEAD = '<link rel=stylesheet href="https://evil.example/x.css">'
_HOSTILE_BODY = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">Open full chart</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background-image:url(https://evil.example)">Practice letterhead</div>',
)
#: Markup ``hostile_html=True`` puts into every CCD, verbatim.
HOSTILE_SNIPPETS: tuple[str, ...] = (_HOSTILE_HEAD, *_HOSTILE_BODY)

_JSON = "application/json; charset=utf-8"
_API_HEADERS = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1"}
_TOKEN_HEADERS = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
_INVALID = "The request is invalid."
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_SECTION_BY_FOLD = {s.casefold(): s for s in CCD_SECTIONS}
_CHART_STATUSES = frozenset({"finished", "arrived"})
_GENDER_TEXT = {
    "male": "Male",
    "female": "Female",
    "non_binary": "Non-binary",
    "other": "Other",
    "unknown": "Unknown",
    "prefer_not_to_say": "Declined to specify",
}
_NAME_SPLIT = re.compile(r"[\s\-]+")
_SPACES = re.compile(r"\s+")

# Azure AD errors: name -> (AADSTS code, message without the trace suffix).
_AADSTS: dict[str, tuple[int, str]] = {
    "bad_code": (70000, "AADSTS70000: The provided value for the 'code' parameter is not valid."),
    "other_client": (70000, "AADSTS70000: The provided refresh token was issued to another client."),
    "grant_type": (70003, "AADSTS70003: The app requested an unsupported grant type '{}'."),
    "expired": (
        70008,
        "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. "
        "Send a new interactive authorization request for this user and resource.",
    ),
    "redirect_uri": (
        50011,
        "AADSTS50011: The redirect URI '{}' specified in the request does not match the redirect URIs "
        "configured for the application '{}'.",
    ),
    "revoked": (
        50173,
        "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. "
        "The user might have changed or reset their password.",
    ),
    "redeemed": (
        54005,
        "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
        "use an existing refresh token.",
    ),
    "response_type": (70005, "AADSTS70005: The provided value for the input parameter 'response_type' is not allowed."),
    "reply_address": (
        500112,
        "AADSTS500112: The reply address does not match the reply address provided when requesting the "
        "authorization code.",
    ),
    "unknown_client": (
        700016,
        "AADSTS700016: Application with identifier '{}' was not found in the directory 'Nextech Sandbox'.",
    ),
    "bad_secret": (
        7000215,
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app '{}'.",
    ),
    "no_secret": (
        7000218,
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
    "missing": (900144, "AADSTS900144: The request body must contain the following parameter: '{}'."),
    "malformed": (9002313, "AADSTS9002313: Invalid request. Request is malformed or invalid."),
    "post_only": (900561, "AADSTS900561: The endpoint only accepts POST requests."),
}


# --------------------------------------------------------------------------- small helpers


def _fold(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _parts(name: str) -> tuple[str, ...]:
    whole = _fold(name.strip())
    pieces = [p for p in _NAME_SPLIT.split(whole) if p]
    return (whole, *pieces)


def _prefix_of(query: str, parts: tuple[str, ...]) -> bool:
    return bool(query) and any(p.startswith(query) for p in parts)


def _ms(dt: datetime) -> str:
    """UTC with milliseconds and Z: ``2017-12-14T15:08:59.934Z``."""
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _us_date(d: date | None, none: str = "") -> str:
    return d.strftime("%m/%d/%Y") if d is not None else none


def _phone(digits: str | None) -> str | None:
    if digits is None or len(digits) != 10:
        return digits
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def _ssn(patient_id: int) -> str | None:
    if patient_id % 4 == 0:
        return None
    return f"{900 + patient_id % 100}-{10 + (patient_id * 7) % 90:02d}-{patient_id % 10000:04d}"


def department_of(type_code: str | None) -> str:
    """The ``department`` of an encounter with this CDT code (None: a medical visit)."""
    if type_code is None:
        return "Primary Care"
    return {"D4": "Periodontics", "D7": "Oral Surgery", "D8": "Orthodontics"}.get(type_code[:2], "General Dentistry")


def locked_value(encounter_id: int, locked: bool) -> bool | str:
    """``encounterLocked`` as the sandbox sends it: a boolean or one of two string spellings."""
    kind = encounter_id % 3
    if kind == 0:
        return locked
    if kind == 1:
        return "true" if locked else "false"
    return "True" if locked else "False"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, {**_API_HEADERS, **(headers or {})}, _JSON)


class _ApiError(Exception):
    def __init__(self, status: int, body: Json) -> None:
        self.status = status
        self.body = body


def _instant(name: str, raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())  # a bare date is its midnight
    except ValueError:
        raise _ApiError(
            400, {"Message": _INVALID, "ModelState": {name: [f"The value '{raw}' is not valid for {name}."]}}
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- OAuth2


class _OAuthError(Exception):
    """An OAuth error: `status`, the RFC 6749 `error`, and the Azure error named `kind` (see ``_AADSTS``)."""

    def __init__(self, status: int, error: str, kind: str, *args: str, headers: dict[str, str] | None = None):
        self.status = status
        self.error = error
        self.code, template = _AADSTS[kind]
        self.message = template.format(*args)
        self.headers = headers or {}


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    resource: str | None
    issued: float
    used: bool = False


@dataclass
class _Refresh:
    client_id: str
    family: int
    resource: str
    issued: float
    first_used: float | None = None
    revoked: bool = False


@dataclass
class _Grants:
    """Codes, access tokens and refresh tokens, all in memory, timed by ``clock``."""

    clock: Callable[[], float]
    access_ttl: float
    refresh_grace: float
    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)  # token -> expires at
    refresh: dict[str, _Refresh] = field(default_factory=dict)
    families: dict[int, list[str]] = field(default_factory=dict)
    issued_refresh: int = 0

    def new_code(self, client_id: str, redirect_uri: str, resource: str | None) -> str:
        code = secrets.token_urlsafe(48)
        self.codes[code] = _Code(client_id, redirect_uri, resource, self.clock())
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str) -> _Code:
        found = self.codes.get(code)
        if found is None or found.client_id != client_id:
            raise _OAuthError(400, "invalid_grant", "bad_code")
        if found.used:
            raise _OAuthError(400, "invalid_grant", "redeemed")
        if self.clock() >= found.issued + AUTH_CODE_TTL:
            raise _OAuthError(400, "invalid_grant", "expired")
        if redirect_uri != found.redirect_uri:
            raise _OAuthError(400, "invalid_grant", "reply_address")
        found.used = True
        return found

    def issue(self, client_id: str, family: int | None, resource: str) -> Json:
        now = self.clock()
        if family is None:
            family = len(self.families) + 1
            self.families[family] = []
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(64)
        self.access[access] = now + self.access_ttl
        self.refresh[refresh] = _Refresh(client_id, family, resource, now)
        self.families[family].append(refresh)
        self.issued_refresh += 1
        ttl = int(self.access_ttl)
        return {
            "token_type": "Bearer",
            "scope": SCOPE,
            "expires_in": ttl,
            "ext_expires_in": ttl,
            "expires_on": int(now + self.access_ttl),
            "not_before": int(now),
            "resource": resource,
            "access_token": access,
            "refresh_token": refresh,
        }

    def rotate(self, token: str, client_id: str) -> _Refresh:
        """The refresh token's record if it may be used now (marking its first use), else raise."""
        now = self.clock()
        found = self.refresh.get(token)
        if found is None:
            raise _OAuthError(400, "invalid_grant", "expired")
        if found.client_id != client_id:
            raise _OAuthError(400, "invalid_grant", "other_client")
        if found.revoked:
            raise _OAuthError(400, "invalid_grant", "revoked")
        if now >= found.issued + REFRESH_TOKEN_TTL:
            raise _OAuthError(400, "invalid_grant", "expired")
        if found.first_used is None:
            found.first_used = now
        elif now >= found.first_used + self.refresh_grace:
            for sibling in self.families[found.family]:  # replay: the whole grant goes
                self.refresh[sibling].revoked = True
            raise _OAuthError(400, "invalid_grant", "expired")
        return found

    def access_ok(self, token: str) -> bool:
        expires = self.access.get(token)
        return expires is not None and self.clock() < expires

    def revoke_all(self) -> None:
        for record in self.refresh.values():
            record.revoked = True


def _oauth_error(exc: _OAuthError, now: float) -> Response:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": exc.error,
        "error_description": f"{exc.message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
        f"\r\nTimestamp: {stamp}",
        "error_codes": [exc.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={exc.code}",
    }
    return Response(orjson.dumps(body), exc.status, {**_TOKEN_HEADERS, **exc.headers}, _JSON)


def _valid_redirect(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment and "#" not in uri


def _loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in _LOOPBACK


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    user, _, password = decoded.partition(":")
    return unquote_plus(user), unquote_plus(password)


# --------------------------------------------------------------------------- the chart


@dataclass
class _Row:
    patient: Patient
    doc: bytes
    first: tuple[str, ...]
    last: tuple[str, ...]
    chart: str
    encounters: list[Encounter]
    starts: list[datetime]


class _Chart:
    """The clinic as Nextech renders it: search rows, encounter windows, cached CCD items."""

    def __init__(self, clinic: Clinic, hostile: bool) -> None:
        self.clinic = clinic
        self.hostile = hostile
        self.zone = ZoneInfo(clinic.timezone)
        self.providers: dict[int, Provider] = {p.id: p for p in clinic.providers}
        self.locations: dict[int, Location] = {loc.id: loc for loc in clinic.locations}
        self.rows: dict[int, _Row] = {}
        for p in clinic.patients:
            if p.deleted:
                continue
            chart = sorted((e for e in p.encounters if e.status in _CHART_STATUSES), key=lambda e: (e.start, e.id))
            doc = {
                "patientId": p.id,
                "chartNumber": p.chart_number,
                "firstName": p.first_name,
                "lastName": p.last_name,
                "middleName": p.middle_name,
                "dob": f"{p.birth_date.isoformat()}T00:00:00.000Z" if p.birth_date else None,
                "ssn": _ssn(p.id),
                "homePhone": _phone(p.home_phone),
            }
            self.rows[p.id] = _Row(
                p,
                orjson.dumps(doc),
                _parts(p.first_name),
                _parts(p.last_name),
                _fold(p.chart_number),
                chart,
                [e.start for e in chart],
            )
        self.ordered = sorted(self.rows.values(), key=lambda r: (r.last[0], r.first[0], r.patient.id))
        self.items: dict[tuple[int, str | None], bytes] = {}
        self.blocks: dict[tuple[bool, int, str], str] = {}

    # ---- patients

    def search(self, term: str) -> list[_Row]:
        query = _fold(_SPACES.sub(" ", term.strip()))
        if not query:
            return []
        return [r for r in self.ordered if self._matches(r, query)]

    @staticmethod
    def _matches(row: _Row, q: str) -> bool:
        if row.chart.startswith(q):
            return True
        if "," in q:
            last, _, first = q.partition(",")
            last, first = last.strip(), first.strip()
            return _prefix_of(last, row.last) and (not first or _prefix_of(first, row.first))
        if _prefix_of(q, row.first) or _prefix_of(q, row.last):
            return True
        at = q.find(" ")
        while at != -1:
            if _prefix_of(q[:at], row.first) and _prefix_of(q[at + 1 :], row.last):
                return True
            at = q.find(" ", at + 1)
        return False

    # ---- encounters

    def window(self, row: _Row, start: datetime | None, end: datetime) -> list[Encounter]:
        lo = 0 if start is None else bisect_left(row.starts, start)
        hi = bisect_right(row.starts, end)
        return row.encounters[lo:hi] if lo < hi else []

    def item(self, row: _Row, enc: Encounter, section: str | None) -> bytes:
        key = (enc.id, section)
        cached = self.items.get(key)
        if cached is None:
            doctor = self.providers[enc.provider_id]
            summary = {
                "encounterId": enc.id,
                "doctorId": doctor.id,
                "doctorFirstName": doctor.first_name,
                "doctorLastName": doctor.last_name,
                "doctorProfessionalDesignation": doctor.designation,
                "department": department_of(enc.type_code),
                "location": self.locations[enc.location_id].name,
                "encounterDate": _ms(enc.start),
                "type": enc.type_text,
                "encounterLocked": locked_value(enc.id, enc.locked),
            }
            cached = orjson.dumps({"summary": summary, "ccd": self.ccd(row.patient, enc, section)})
            self.items[key] = cached
        return cached

    # ---- the CCD

    def ccd(self, p: Patient, enc: Encounter, section: str | None) -> str:
        names = CCD_SECTIONS if section is None else (section,)
        head_extra = _HOSTILE_HEAD if self.hostile else ""
        hostile = "\n".join(_HOSTILE_BODY) + "\n" if self.hostile else ""
        sections = "".join(self.block(p, enc, name) for name in names)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>Continuity of Care Document</title>\n"
            f"{head_extra}"
            "<style>body{font-family:Arial,sans-serif}table{border-collapse:collapse;margin-bottom:1em}"
            "th,td{border:1px solid #999;padding:2px 6px;text-align:left}</style>\n"
            "</head>\n<body>\n<h1>Continuity of Care Document</h1>\n"
            f"{self.header(p, enc)}{hostile}{sections}</body>\n</html>\n"
        )

    def when(self, dt: datetime) -> str:
        return dt.astimezone(self.zone).strftime("%m/%d/%Y %I:%M %p %Z")

    def doctor(self, provider_id: int) -> str:
        d = self.providers[provider_id]
        return f"{d.first_name} {d.last_name}, {d.designation}"

    def visit_type(self, enc: Encounter) -> str:
        return f"{enc.type_text} ({enc.type_code})" if enc.type_code else enc.type_text

    def header(self, p: Patient, enc: Encounter) -> str:
        name = " ".join(n for n in (p.first_name, p.middle_name, p.last_name) if n)
        patient = _pairs(
            "patient",
            [
                ("Patient", name),
                ("Date of Birth", _us_date(p.birth_date, "Unknown")),
                ("Gender", _GENDER_TEXT.get(p.gender or "", "Unknown")),
                ("Chart Number", p.chart_number),
            ],
        )
        encounter = _pairs(
            "encounter",
            [
                ("Encounter", self.visit_type(enc)),
                ("Date", self.when(enc.start)),
                ("Provider", self.doctor(enc.provider_id)),
                ("Department", department_of(enc.type_code)),
                ("Location", self.locations[enc.location_id].name),
                ("Note", "Locked" if enc.locked else "Unlocked"),
            ],
        )
        return f'<div class="header">\n{patient}{encounter}</div>\n'

    def block(self, p: Patient, enc: Encounter, name: str) -> str:
        per_patient = name in ("Allergies", "Medications", "Problems")
        key = (per_patient, p.id if per_patient else enc.id, name)
        cached = self.blocks.get(key)
        if cached is None:
            render = {
                "Allergies": self._allergies,
                "Medications": self._medications,
                "Problems": self._problems,
                "VitalSigns": self._vitalsigns,
                "Encounter": self._encounter,
                "PlanOfCare": self._planofcare,
            }[name]
            table = render(p, enc)
            cached = f'<div class="section" data-section="{name}">\n<h2>{SECTION_TITLES[name]}</h2>\n{table}</div>\n'
            self.blocks[key] = cached
        return cached

    def _allergies(self, p: Patient, enc: Encounter) -> str:
        rows = [
            [
                a.substance,
                a.reaction or "",
                (a.severity or "").capitalize(),
                "Active" if a.active else "Inactive",
                _us_date(a.noted_on),
            ]
            for a in p.allergies
            if not a.deleted
        ]
        empty = "No known drug allergies" if p.allergy_review == "nkda" else "No allergy information recorded"
        return _table(["Substance", "Reaction", "Severity", "Status", "Noted"], rows, empty)

    def _medications(self, p: Patient, enc: Encounter) -> str:
        rows = []
        for m in p.medications:
            if m.deleted:
                continue
            frequency = ", ".join(x for x in (m.frequency, "as needed" if m.prn else None) if x)
            status = m.status.replace("_", " ").capitalize()
            rows.append(
                [m.name, m.strength or "", frequency, m.route or "", status, _us_date(m.start), _us_date(m.stop)]
            )
        return _table(
            ["Medication", "Strength", "Frequency", "Route", "Status", "Start", "Stop"], rows, "No medications recorded"
        )

    def _problems(self, p: Patient, enc: Encounter) -> str:
        rows = [
            [
                pr.name,
                pr.icd10 or "",
                pr.snomed or "",
                pr.status.capitalize(),
                _us_date(pr.onset),
                _us_date(pr.resolved_on),
            ]
            for pr in p.problems
            if not pr.deleted
        ]
        return _table(
            ["Problem", "ICD-10-CM", "SNOMED CT", "Status", "Onset", "Resolved"], rows, "No problems recorded"
        )

    def closest_vitals(self, p: Patient, enc: Encounter) -> VitalSigns | None:
        best: tuple[float, VitalSigns] | None = None
        for v in p.vitals:
            if v.deleted:
                continue
            local = datetime.combine(v.taken_on, v.taken_at or dtime(12), tzinfo=self.zone)
            distance = abs((local - enc.start).total_seconds())
            if best is None or distance < best[0]:
                best = (distance, v)
        return best[1] if best else None

    def _vitalsigns(self, p: Patient, enc: Encounter) -> str:
        v = self.closest_vitals(p, enc)
        if v is None:
            return _table(["Measurement", "Value", "Unit"], [], "No vital signs recorded")
        taken = _us_date(v.taken_on) + (" " + v.taken_at.strftime("%I:%M %p") if v.taken_at else "")
        measured = [
            ("Systolic blood pressure", v.systolic, "mmHg"),
            ("Diastolic blood pressure", v.diastolic, "mmHg"),
            ("Heart rate", v.pulse, "/min"),
            ("Respiratory rate", v.respiration_rate, "/min"),
            ("Oxygen saturation (SpO2)", v.spo2, "%"),
            ("Body temperature", v.temperature_f, "°F"),
            ("Body height", v.height_in, "in"),
            ("Body weight", v.weight_lb, "lb"),
            ("Body mass index (BMI)", v.bmi, "kg/m2"),
            ("BMI percentile", v.bmi_percentile, "%"),
        ]
        rows = [[label, str(value), unit] for label, value, unit in measured if value is not None]
        return _table(["Measurement", "Value", "Unit"], rows, "No measurements", caption=f"Taken {taken}")

    def _encounter(self, p: Patient, enc: Encounter) -> str:
        status = {"finished": "Completed", "arrived": "In progress"}.get(enc.status, enc.status.capitalize())
        rows = [
            [
                self.visit_type(enc),
                self.when(enc.start),
                self.when(enc.end) if enc.end else "",
                self.doctor(enc.provider_id),
                department_of(enc.type_code),
                self.locations[enc.location_id].name,
                status,
            ]
        ]
        return _table(["Type", "Start", "End", "Provider", "Department", "Location", "Status"], rows, "")

    def _planofcare(self, p: Patient, enc: Encounter) -> str:
        rows = [["Reason for visit", enc.reason]] if enc.reason else []
        return _table(["Item", "Details"], rows, "No plan of care recorded")


def _pairs(css: str, pairs: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>\n" for k, v in pairs)
    return f'<table class="{css}">\n{body}</table>\n'


def _table(columns: list[str], rows: list[list[str]], empty: str, caption: str | None = None) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    if rows:
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>\n" for row in rows)
    else:
        body = f'<tr><td colspan="{len(columns)}">{escape(empty)}</td></tr>\n'
    cap = f"<caption>{escape(caption)}</caption>\n" if caption else ""
    return f"<table>\n{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"


# --------------------------------------------------------------------------- the app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        message = f"The requested resource does not support http method '{request.method}'."
        return _json(405, {"Message": message}, {"Allow": (exc.headers or {}).get("Allow", "")})
    if exc.status_code == 404:
        return _json(404, {"Message": f"No HTTP resource was found that matches the request URI '{request.url}'."})
    return _json(exc.status_code, {"Message": str(exc.detail)})


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
) -> Starlette:
    """The Nextech API for `clinic` as practice `practice_id`, with its OAuth2 server.

    `client_id`/`client_secret` are the one registered app; `redirect_uris` its registered
    reply URLs (loopback ones are always allowed; none registered: any). `clock` returns
    epoch seconds (default ``time.time``). `hostile_html` adds ``HOSTILE_SNIPPETS`` to
    every CCD. See the module docstring for every behaviour.
    """
    now = clock or time.time
    grants = _Grants(now, access_ttl, refresh_grace)
    chart = _Chart(clinic, hostile_html)
    registered = tuple(redirect_uris)
    secret = client_secret.encode()
    practice = practice_id.strip()
    denied = orjson.dumps({"Message": ACCESS_DENIED})
    token_calls: dict[str, int] = {}

    # ---- OAuth2

    def authorize_error(kind: str, *args: str) -> Response:
        return _oauth_error(_OAuthError(400, "invalid_request", kind, *args), now())

    async def authorize(request: Request) -> Response:
        q = request.query_params
        client = q.get("client_id", "")
        if not client:
            return authorize_error("missing", "client_id")
        if client != client_id:
            return authorize_error("unknown_client", client)
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri:
            return authorize_error("missing", "redirect_uri")
        allowed = _valid_redirect(redirect_uri) and (
            not registered or redirect_uri in registered or _loopback(redirect_uri)
        )
        if not allowed:
            return authorize_error("redirect_uri", redirect_uri, client)
        state = {"state": q["state"]} if "state" in q else {}
        response_type = q.get("response_type", "")
        if response_type != "code":
            if response_type:
                problem = _OAuthError(400, "unsupported_response_type", "response_type")
            else:
                problem = _OAuthError(400, "invalid_request", "missing", "response_type")
            params = {"error": problem.error, "error_description": problem.message, **state}
            return RedirectResponse(_with_query(redirect_uri, params), 302)
        code = grants.new_code(client, redirect_uri, q.get("resource") or None)
        params = {"code": code, **state, "session_state": str(uuid.uuid4())}
        return RedirectResponse(_with_query(redirect_uri, params), 302, headers=_TOKEN_HEADERS)

    def authenticate_client(request: Request, form: dict[str, str]) -> str:
        basic = _basic(request.headers.get("authorization", ""))
        form_client = form.get("client_id", "")
        if basic is not None:
            client, given = basic
            if form_client and form_client != client:
                raise _OAuthError(400, "invalid_request", "malformed")
        else:
            client, given = form_client, form.get("client_secret", "")
        if not client:
            raise _OAuthError(400, "invalid_request", "missing", "client_id")
        if client != client_id:
            raise _OAuthError(400, "unauthorized_client", "unknown_client", client)
        challenge = {"WWW-Authenticate": 'Basic realm="login.microsoftonline.com"'} if basic is not None else {}
        if not given:
            raise _OAuthError(401, "invalid_client", "no_secret", headers=challenge)
        if not hmac.compare_digest(given.encode(), secret):
            raise _OAuthError(401, "invalid_client", "bad_secret", client, headers=challenge)
        return client

    def required(form: dict[str, str], name: str) -> str:
        value = form.get(name, "")
        if not value:
            raise _OAuthError(400, "invalid_request", "missing", name)
        return value

    async def token(request: Request) -> Response:
        form: dict[str, str] = {}
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", "").lower():
            body = (await request.body()).decode("utf-8", "replace")
            for k, v in parse_qsl(body, keep_blank_values=True):
                form.setdefault(k, v)
        grant_type = form.get("grant_type", "")
        token_calls[grant_type] = token_calls.get(grant_type, 0) + 1
        try:
            required(form, "grant_type")
            if grant_type not in ("authorization_code", "refresh_token"):
                raise _OAuthError(400, "unsupported_grant_type", "grant_type", grant_type)
            client = authenticate_client(request, form)
            if grant_type == "authorization_code":
                code, redirect_uri = required(form, "code"), required(form, "redirect_uri")
                redeemed = grants.redeem(code, client, redirect_uri)
                resource = form.get("resource") or redeemed.resource or DEFAULT_RESOURCE
                body_out = grants.issue(client, None, resource)
            else:
                record = grants.rotate(required(form, "refresh_token"), client)
                body_out = grants.issue(client, record.family, form.get("resource") or record.resource)
        except _OAuthError as exc:
            return _oauth_error(exc, now())
        app.state.issued_refresh_tokens = grants.issued_refresh
        return Response(orjson.dumps(body_out), 200, _TOKEN_HEADERS, _JSON)

    async def token_get(request: Request) -> Response:
        return _oauth_error(_OAuthError(400, "invalid_request", "post_only"), now())

    # ---- API

    def api(fn: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not grants.access_ok(credentials.strip()):
                return Response(denied, 401, {**_API_HEADERS, "WWW-Authenticate": "Bearer"}, _JSON)
            given = request.headers.get(PRACTICE_HEADER, "").strip()
            if not given:
                return _json(400, {"Message": f"The {PRACTICE_HEADER} header is required."})
            if given != practice:
                return _json(403, {"Message": "Access to the requested practice is denied."})
            try:
                return await fn(request)
            except _ApiError as exc:
                return _json(exc.status, exc.body)

        return wrapper

    async def search(request: Request) -> Response:
        term = request.query_params.get("term", "")
        if not term.strip():
            raise _ApiError(400, {"Message": _INVALID, "ModelState": {"term": ["The term field is required."]}})
        rows = chart.search(term)
        return Response(b"[" + b",".join(r.doc for r in rows) + b"]", 200, _API_HEADERS, _JSON)

    async def encounters(request: Request) -> Response:
        raw_id: str = request.path_params["patient_id"]
        if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10 and int(raw_id) <= 2**31 - 1):
            detail = (
                "The parameters dictionary contains a null entry for parameter 'patientId' of non-nullable type "
                "'System.Int32' for method 'System.Net.Http.HttpResponseMessage SearchEncounters(Int32, "
                "System.Nullable`1[System.DateTime], System.Nullable`1[System.DateTime], System.String)'."
            )
            raise _ApiError(400, {"Message": _INVALID, "MessageDetail": detail})
        q = request.query_params
        start = _instant("start", q.get("start"))
        end = _instant("end", q.get("end")) or datetime.fromtimestamp(now(), UTC)
        raw_section = q.get("section", "").strip()
        section: str | None = None
        if raw_section:
            section = _SECTION_BY_FOLD.get(raw_section.casefold())
            if section is None:
                raise _ApiError(400, {"Message": f"The section '{raw_section}' is not a valid CCD section."})
        row = chart.rows.get(int(raw_id))
        if row is None:
            raise _ApiError(404, {"Message": "Patient not found"})
        items = [chart.item(row, e, section) for e in chart.window(row, start, end)]
        return Response(b"[" + b",".join(items) + b"]", 200, _API_HEADERS, _JSON)

    categories_body = orjson.dumps(list(CCD_SECTIONS))

    async def categories(request: Request) -> Response:
        return Response(categories_body, 200, _API_HEADERS, _JSON)

    routes = [
        Route("/oauth2/authorize", authorize, methods=["GET"]),
        Route("/oauth2/token", token, methods=["POST"]),
        Route("/oauth2/token", token_get, methods=["GET"]),
        Route("/api/search", api(search), methods=["GET"]),
        Route("/api/encounters/categories", api(categories), methods=["GET"]),
        Route("/api/{patient_id}/encounters/search", api(encounters), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.token_calls = token_calls
    app.state.issued_refresh_tokens = 0
    app.state.revoke_refresh_tokens = grants.revoke_all
    return app
