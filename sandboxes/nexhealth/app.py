"""A NexHealth Synchronizer API (v2) simulator serving the synthetic clinic.

``create_app(clinic, api_key=..., subdomain=...)`` returns a Starlette app that answers
like the documented service (``vendor-docs/nexhealth-getting-started.txt``,
``nexhealth-patients.txt``, and DESIGN §7): ``POST /authenticates``, ``GET/POST
/patients``, ``GET /patients/{id}``, ``GET /providers``, ``GET /appointments`` and
``GET /appointments/{id}``. The clinic is rendered as ONE institution (``subdomain``)
with TWO locations; the app holds its own mutable copy, so creates never touch the
cached ``Clinic``. ``clock`` (epoch seconds, default ``time.time``) decides token
``iat``/``exp``, the rate-limit windows and the timestamps of created patients.
``app.state.authentications`` counts successful ``POST /authenticates``,
``app.state.requests`` every HTTP request the app received (errors included).
Nothing is logged.

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
  per second"]`` (or ``per minute``), with NO ``Retry-After`` header (DESIGN §7).
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
  ``foreign_id_type`` ``msg-opendental-DataSource-35``, ``last_sync_time`` =
  ``updated_at``, ``guarantor_id`` = their own id (self-guaranteed; the clinic has no
  family links), ``unsubscribe_sms`` false. ``phone_number`` is the mobile phone, else
  the home phone; ``cell_phone_number``/``home_phone_number`` the clinic's two phones.
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

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import time
import unicodedata
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mappings.sandbox.clinic import Clinic, Encounter, Patient, Provider

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

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]

#: The Accept header every request must send.
ACCEPT = "application/vnd.Nexhealth+json;version=2"
INSTITUTION_ID = 1
MAIN_LOCATION_ID = 101  # clinic location 1
OTHER_LOCATION_ID = 102  # every other clinic location
PATIENT_ID_OFFSET = 1000
PROVIDER_ID_OFFSET = 200
APPOINTMENT_ID_OFFSET = 10000
APPOINTMENT_TYPE_ID_OFFSET = 400

_INSERTED = "msg-opendental-DataSource-35"
_NEX = "nex"
_PER_PAGE = 5
_PER_PAGE_MAX = 1000
_CACHE_SIZE = 512
_API_USER = "1"
_SCOPE = "api_user"
_CONTENT_TYPE = "application/json; charset=utf-8"

_VERSION_ERROR = "Missing or unsupported API version. Send Accept: application/vnd.Nexhealth+json;version=2"
_DUPLICATE = "A patient with that information already exists."
_GENDER = {"male": "Male", "female": "Female", "non_binary": "Other", "other": "Other"}
_GENDERS = ("Male", "Female", "Other")
_DOCTORS = frozenset({"DDS", "DMD", "MD"})
_BOOLS = {"true": True, "false": False, "1": True, "0": False}

_LIST_PARAMS = frozenset({"subdomain", "location_id", "page", "per_page"})
_PATIENT_PARAMS = _LIST_PARAMS | {"location_strict", "new_patient", "non_patient", "inactive",
                                  "include_upcoming_appts", "name", "email", "phone_number",
                                  "date_of_birth", "foreign_id"}  # fmt: skip
_ONE_PATIENT_PARAMS = frozenset({"subdomain", "location_id", "include_upcoming_appts"})
_CREATE_PARAMS = frozenset({"subdomain", "location_id"})
_APPT_PARAMS = _LIST_PARAMS | {"start", "end", "patient_id", "provider_id", "cancelled", "include[]"}
_ONE_APPT_PARAMS = frozenset({"subdomain", "location_id", "include[]"})
_INCLUDES = ("patient", "appointment_type")


def location_id_of(clinic_location_id: int | None) -> int | None:
    """The NexHealth location id of a clinic location (1 -> 101, any other -> 102)."""
    if clinic_location_id is None:
        return None
    return MAIN_LOCATION_ID if clinic_location_id == 1 else OTHER_LOCATION_ID


# --------------------------------------------------------------------------- encoding


def _ms(v: datetime | None) -> str | None:
    """``2020-06-05T20:16:57.007Z``."""
    if v is None:
        return None
    v = v.astimezone(UTC)
    return f"{v.strftime('%Y-%m-%dT%H:%M:%S')}.{v.microsecond // 1000:03d}Z"


def _d(v: date | None) -> str | None:
    return None if v is None else v.isoformat()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


_JWT_HEADER = _b64(b'{"alg":"HS256"}')


def _envelope(status: int, data: bytes, description: bytes, count: int | None = None) -> Response:
    tail = b"}" if count is None else b',"count":' + str(count).encode() + b"}"
    body = b'{"code":true,"description":' + description + b',"error":[],"data":' + data + tail
    return Response(body, status_code=status, media_type=_CONTENT_TYPE)


def _error(status: int, messages: list[str]) -> Response:
    body = orjson.dumps({"code": False, "description": None, "error": messages, "data": None})
    return Response(body, status_code=status, media_type=_CONTENT_TYPE)


class _ApiError(Exception):
    def __init__(self, status: int, *messages: str) -> None:
        self.status = status
        self.messages = list(messages)


# --------------------------------------------------------------------------- text

_FOLD_EXTRA = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
                             "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i", "ß": "ss"})  # fmt: skip
_WORD = re.compile(r"[^\W_]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _fold(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _words(s: str | None) -> list[str]:
    return _WORD.findall(_fold(s)) if s else []


def _name_words(*names: str | None) -> frozenset[str]:
    out: set[str] = set()
    for name in names:
        words = _words(name)
        out.update(words)
        if len(words) > 1:
            out.add("".join(words))
    return frozenset(out)


def _compact(name: str) -> str:
    return "".join(_words(name))


def _within_one_typo(q: str, w: str) -> bool:
    """Optimal string alignment distance of `q` and `w` is at most 1."""
    if abs(len(q) - len(w)) > 1:
        return False
    if len(q) == len(w):
        diff = [i for i in range(len(q)) if q[i] != w[i]]
        if len(diff) <= 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and q[i] == w[j] and q[j] == w[i]
    short, long_ = (q, w) if len(q) < len(w) else (w, q)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _word_matches(q: str, w: str) -> bool:
    if q == w:
        return True
    if len(q) >= 2 and w.startswith(q):
        return True
    return len(q) >= 4 and _within_one_typo(q, w)


def _phone_digits(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isascii() and ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


# --------------------------------------------------------------------------- auth


def _accepts_v2(accept: str | None) -> bool:
    if not accept:
        return False
    for entry in accept.split(","):
        media, *params = entry.split(";")
        if media.strip().lower() != "application/vnd.nexhealth+json":
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "version" and value.strip().strip('"') == "2":
                return True
    return False


class _Tokens:
    """HS256 JWTs signed with a per-app secret."""

    def __init__(self, ttl: float) -> None:
        self.secret = secrets.token_bytes(32)
        self.ttl = ttl

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self.secret, signing_input.encode(), hashlib.sha256).digest()

    def issue(self, now: float) -> str:
        iat = int(now)
        exp: float = iat + self.ttl
        claims = {
            "sub": _API_USER,
            "scp": _SCOPE,
            "iat": iat,
            "exp": int(exp) if float(exp).is_integer() else exp,
            "jti": str(uuid.uuid4()),
        }
        signing_input = f"{_JWT_HEADER}.{_b64(orjson.dumps(claims))}"
        return f"{signing_input}.{_b64(self._sign(signing_input))}"

    def check(self, authorization: str | None, now: float) -> str | None:
        """The error message for this ``Authorization`` header, or None when it is good."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        parts = token.strip().split(".")
        if scheme.lower() != "bearer" or len(parts) != 3:
            return "Unauthorized"
        try:
            header = orjson.loads(_unb64(parts[0]))
            signature = _unb64(parts[2])
            claims = orjson.loads(_unb64(parts[1]))
        except (ValueError, binascii.Error):
            return "Unauthorized"
        good = isinstance(header, dict) and header.get("alg") == "HS256"
        if not (good and hmac.compare_digest(signature, self._sign(f"{parts[0]}.{parts[1]}"))):
            return "Unauthorized"
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if not isinstance(exp, int | float) or isinstance(exp, bool) or claims.get("scp") != _SCOPE:
            return "Unauthorized"
        if now >= exp:
            return "Unauthorized: token has expired"
        return None


class _Limiter:
    """Fixed one-second and one-minute windows aligned on the epoch."""

    def __init__(self, per_second: int, per_minute: int) -> None:
        self.per_second = per_second
        self.per_minute = per_minute
        self.second = self.minute = -1
        self.in_second = self.in_minute = 0

    def admit(self, now: float) -> str | None:
        """None when admitted (and counted), else the 429 message."""
        second, minute = math.floor(now), math.floor(now / 60)
        if second != self.second:
            self.second, self.in_second = second, 0
        if minute != self.minute:
            self.minute, self.in_minute = minute, 0
        if self.in_second >= self.per_second:
            return f"Rate limit exceeded: {self.per_second} requests per second"
        if self.in_minute >= self.per_minute:
            return f"Rate limit exceeded: {self.per_minute} requests per minute"
        self.in_second += 1
        self.in_minute += 1
        return None


# --------------------------------------------------------------------------- parameters


class _Query:
    """Query parameters of one request: typed getters that raise ``_ApiError``."""

    def __init__(self, params: QueryParams, known: frozenset[str]) -> None:
        self.params = params
        seen = dict.fromkeys(params.keys())
        self.warnings = [f"Ignored unknown parameter: {k}" for k in seen if k not in known]

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None:
            return None
        return value.strip() or None

    def require(self, *names: str) -> None:
        missing = [n for n in names if self.get(n) is None]
        if missing:
            raise _ApiError(400, *(f"Missing required parameter: {n}" for n in missing))

    def integer(self, name: str) -> int | None:
        value = self.get(name)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()):
            raise _ApiError(400, f"{name} must be an integer")
        return int(value)

    def boolean(self, name: str) -> bool | None:
        value = self.get(name)
        if value is None:
            return None
        parsed = _BOOLS.get(value.lower())
        if parsed is None:
            raise _ApiError(400, f"{name} must be true or false")
        return parsed

    def instant(self, name: str) -> datetime:
        value = self.get(name) or ""
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _ApiError(400, f"{name} must be an ISO 8601 date-time") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed

    def paging(self) -> tuple[int, int]:
        def lenient(name: str, default: int) -> int:
            value = self.get(name)
            if value is None or not (value.isascii() and value.isdigit()) or int(value) < 1:
                return default
            return int(value)

        return lenient("page", 1), min(lenient("per_page", _PER_PAGE), _PER_PAGE_MAX)

    def includes(self) -> tuple[str, ...]:
        names = [v.strip() for v in self.params.getlist("include[]") if v.strip()]
        self.warnings += [f"Ignored unknown include: {n}" for n in dict.fromkeys(names) if n not in _INCLUDES]
        return tuple(n for n in _INCLUDES if n in names)

    def description(self) -> bytes:
        return orjson.dumps(self.warnings)


# --------------------------------------------------------------------------- the store


@dataclass(eq=False)
class _Row:
    """One patient as NexHealth holds it, with its search keys and rendered bytes."""

    doc: Json
    upcoming: list[Json]
    words: frozenset[str]
    email: str | None  # case-folded
    phones: frozenset[str]
    person: tuple[str, str, str] | None  # compact folded first, last, date of birth
    plain: bytes = b""
    with_upcoming: bytes = b""

    @property
    def id(self) -> int:
        return int(self.doc["id"])

    def render(self, upcoming: bool) -> bytes:
        if not self.plain:
            self.plain = orjson.dumps(self.doc)
            self.with_upcoming = orjson.dumps({**self.doc, "upcoming_appts": self.upcoming})
        return self.with_upcoming if upcoming else self.plain


@dataclass(eq=False)
class _Appointment:
    start: datetime
    doc: Json
    rendered: bytes


def _provider_display(p: Provider) -> str:
    name = f"{p.first_name} {p.last_name}"
    return f"Dr. {name}" if p.designation in _DOCTORS else name


class _Store:
    def __init__(self, clinic: Clinic, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.timezone = clinic.timezone
        self.start_of_today = datetime.combine(clinic.today, dtime(0, 0), tzinfo=UTC)
        live = [p for p in clinic.patients if not p.deleted]
        epoch = min((p.created_at for p in clinic.patients), default=datetime(2020, 1, 1, tzinfo=UTC))
        epoch -= timedelta(days=1)
        self.providers: dict[int, Json] = {}
        for prov in clinic.providers:
            pid = prov.id + PROVIDER_ID_OFFSET
            self.providers[pid] = {
                "id": pid,
                "email": None,
                "first_name": prov.first_name,
                "middle_name": None,
                "last_name": prov.last_name,
                "name": f"{prov.first_name} {prov.last_name}",
                "display_name": _provider_display(prov),
                "npi": None,
                "inactive": False,
                "institution_id": INSTITUTION_ID,
                "foreign_id": str(prov.id),
                "foreign_id_type": _INSERTED,
                "location_ids": [MAIN_LOCATION_ID, OTHER_LOCATION_ID],
                "created_at": _ms(epoch),
                "updated_at": _ms(epoch),
                "last_sync_time": _ms(epoch),
            }
        self.provider_bytes = {pid: orjson.dumps(doc) for pid, doc in self.providers.items()}
        visit_types = sorted({e.type_text for p in live for e in p.encounters})
        self.appointment_types = {name: i for i, name in enumerate(visit_types, APPOINTMENT_TYPE_ID_OFFSET + 1)}
        self.types_by_id: dict[int, Json] = {
            i: {"id": i, "name": name, "minutes": None} for name, i in self.appointment_types.items()
        }
        self.appointments: dict[int, _Appointment] = {}
        self.rows: dict[int, _Row] = {}
        for p in live:
            appts = [self._appointment(e, p) for e in p.encounters]
            for a in appts:
                self.appointments[a.doc["id"]] = a
            self._add(self._clinic_row(p, appts))
        by_location: dict[int, list[_Appointment]] = {MAIN_LOCATION_ID: [], OTHER_LOCATION_ID: []}
        for a in sorted(self.appointments.values(), key=lambda a: (a.start, a.doc["id"])):
            by_location[a.doc["location_id"]].append(a)
        self.schedule = {loc: ([a.start for a in appts], appts) for loc, appts in by_location.items()}
        self.locations = {MAIN_LOCATION_ID, OTHER_LOCATION_ID}
        self._queries: dict[tuple[Any, ...], list[_Row]] = {}
        self._word_hits: dict[str, frozenset[int]] = {}

    # ---- rendering

    def _appointment(self, e: Encounter, p: Patient) -> _Appointment:
        prov = self.providers[e.provider_id + PROVIDER_ID_OFFSET]
        created = max(p.created_at, min(e.start, self.start_of_today) - timedelta(days=14))
        if e.status == "finished":
            updated = e.end or e.start
        elif e.status == "arrived":
            updated = e.start
        elif e.status == "cancelled":
            updated = e.start - timedelta(days=1)
        else:
            updated = created
        confirmed = e.status in ("finished", "arrived") or (e.status == "planned" and e.id % 2 == 0)
        doc: Json = {
            "id": e.id + APPOINTMENT_ID_OFFSET,
            "patient_id": p.id + PATIENT_ID_OFFSET,
            "provider_id": prov["id"],
            "provider_name": prov["display_name"],
            "start_time": _ms(e.start),
            "end_time": _ms(e.end),
            "timezone": self.timezone,
            "location_id": location_id_of(e.location_id),
            "institution_id": INSTITUTION_ID,
            "appointment_type_id": self.appointment_types[e.type_text],
            "confirmed": confirmed,
            "cancelled": e.status == "cancelled",
            "patient_missing": False,
            "unavailable": False,
            "checkin_at": _ms(e.start) if e.status in ("finished", "arrived") else None,
            "note": e.reason,
            "foreign_id": str(e.id),
            "foreign_id_type": _INSERTED,
            "created_at": _ms(created),
            "updated_at": _ms(max(updated, created)),
        }
        return _Appointment(e.start, doc, orjson.dumps(doc))

    def _clinic_row(self, p: Patient, appts: list[_Appointment]) -> _Row:
        pid = p.id + PATIENT_ID_OFFSET
        home = location_id_of(p.location_id)
        seen = any(e.status in ("finished", "arrived") for e in p.encounters)
        planned = {e.id + APPOINTMENT_ID_OFFSET for e in p.encounters if e.status == "planned"}
        upcoming = [
            {k: a.doc[k] for k in ("id", "provider_id", "provider_name", "start_time", "end_time", "location_id",
                                   "confirmed")}
            for a in sorted(appts, key=lambda a: (a.start, a.doc["id"]))
            if a.doc["id"] in planned
        ]  # fmt: skip
        doc: Json = {
            "id": pid,
            "email": p.email,
            "first_name": p.first_name,
            "middle_name": p.middle_name,
            "last_name": p.last_name,
            "name": f"{p.first_name} {p.last_name}",
            "created_at": _ms(p.created_at),
            "updated_at": _ms(p.updated_at),
            "institution_id": INSTITUTION_ID,
            "foreign_id": p.chart_number,
            "foreign_id_type": _INSERTED,
            "bio": {
                "date_of_birth": _d(p.birth_date),
                "phone_number": p.mobile_phone or p.home_phone,
                "gender": _GENDER.get(p.gender or ""),
                "street_address": p.address_line1,
                "city": p.city,
                "state": p.state,
                "zip_code": p.postal_code,
                "cell_phone_number": p.mobile_phone,
                "home_phone_number": p.home_phone,
                "new_patient": not seen,
                "non_patient": False,
            },
            "inactive": p.status in ("inactive", "deceased"),
            "last_sync_time": _ms(p.updated_at),
            "guarantor_id": pid,
            "unsubscribe_sms": False,
            "location_ids": [] if home is None else [home],
        }
        return _Row(
            doc=doc,
            upcoming=upcoming,
            words=_name_words(p.first_name, p.last_name, p.preferred_name),
            email=p.email.casefold() if p.email else None,
            phones=frozenset(ph for ph in (p.mobile_phone, p.home_phone) if ph),
            person=_person(p.first_name, p.last_name, _d(p.birth_date)),
        )

    def _add(self, row: _Row) -> None:
        self.rows[row.id] = row

    # ---- patients

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _name_hits(self, query: str) -> frozenset[int]:
        found: frozenset[int] | None = None
        for word in _words(query):
            hits = self._word_hits.get(word)
            if hits is None:
                hits = frozenset(r.id for r in self.rows.values() if any(_word_matches(word, w) for w in r.words))
                if len(self._word_hits) >= _CACHE_SIZE:
                    self._word_hits.clear()
                self._word_hits[word] = hits
            found = hits if found is None else found & hits
        return found or frozenset()

    def search(
        self,
        location: int,
        strict: bool,
        flags: tuple[bool | None, bool | None, bool | None],
        terms: tuple[str | None, str | None, str | None, str | None, str | None],
    ) -> list[_Row]:
        """Filters AND-ed, then search terms (name, email, phone, date of birth, foreign id) OR-ed."""
        key = (location, strict, flags, terms)
        cached = self._queries.get(key)
        if cached is not None:
            return cached
        new_patient, non_patient, inactive = flags
        name, email, phone, dob, foreign_id = terms
        names = self._name_hits(name) if name is not None else frozenset()
        email_key = email.casefold() if email is not None else None
        phone_key = _phone_digits(phone) if phone is not None else None
        searching = any(t is not None for t in terms)

        def keep(r: _Row) -> bool:
            d = r.doc
            if strict and location not in d["location_ids"]:
                return False
            if new_patient is not None and d["bio"]["new_patient"] != new_patient:
                return False
            if non_patient is not None and d["bio"]["non_patient"] != non_patient:
                return False
            if inactive is not None and d["inactive"] != inactive:
                return False
            if not searching:
                return True
            return (
                r.id in names
                or (email_key is not None and r.email == email_key)
                or (bool(phone_key) and phone_key in r.phones)
                or (dob is not None and d["bio"]["date_of_birth"] == dob)
                or (foreign_id is not None and d["foreign_id"] == foreign_id)
            )

        found = [r for r in self.rows.values() if keep(r)]
        if len(self._queries) >= _CACHE_SIZE:
            self._queries.clear()
        self._queries[key] = found
        return found

    def duplicate(self, email: str, phone: str, person: tuple[str, str, str] | None) -> bool:
        email_key = email.casefold()
        return any(
            r.email == email_key or phone in r.phones or (person is not None and r.person == person)
            for r in self.rows.values()
        )

    def create(self, location: int, first: str, last: str, email: str, dob: str, phone: str, gender: str) -> _Row:
        pid = max(self.rows, default=PATIENT_ID_OFFSET) + 1
        now = _ms(self.now())
        doc: Json = {
            "id": pid,
            "email": email,
            "first_name": first,
            "middle_name": None,
            "last_name": last,
            "name": f"{first} {last}",
            "created_at": now,
            "updated_at": now,
            "institution_id": INSTITUTION_ID,
            "foreign_id": None,
            "foreign_id_type": _NEX,
            "bio": {
                "date_of_birth": dob,
                "phone_number": phone,
                "gender": gender,
                "street_address": None,
                "city": None,
                "state": None,
                "zip_code": None,
                "cell_phone_number": None,
                "home_phone_number": None,
                "new_patient": True,
                "non_patient": False,
            },
            "inactive": False,
            "last_sync_time": None,
            "guarantor_id": None,
            "unsubscribe_sms": False,
            "location_ids": [location],
        }
        row = _Row(doc=doc, upcoming=[], words=_name_words(first, last), email=email.casefold(),
                   phones=frozenset({phone}), person=_person(first, last, dob))  # fmt: skip
        self._add(row)
        self._queries.clear()
        self._word_hits.clear()
        return row

    # ---- appointments

    def window(self, location: int, start: datetime, end: datetime) -> list[_Appointment]:
        starts, appts = self.schedule[location]
        return appts[bisect_left(starts, start) : bisect_right(starts, end)]

    def render_appointment(self, a: _Appointment, includes: Iterable[str]) -> bytes:
        wanted = tuple(includes)
        if not wanted:
            return a.rendered
        doc = dict(a.doc)
        if "patient" in wanted:
            doc["patient"] = self.rows[doc["patient_id"]].doc
        if "appointment_type" in wanted:
            doc["appointment_type"] = self.types_by_id[doc["appointment_type_id"]]
        return orjson.dumps(doc)


def _person(first: str, last: str, dob: str | None) -> tuple[str, str, str] | None:
    return None if dob is None else (_compact(first), _compact(last), dob)


# --------------------------------------------------------------------------- the app


def _page(items: list[Any], page: int, per_page: int) -> list[Any]:
    return items[(page - 1) * per_page : page * per_page]


async def _not_found(request: Request, exc: Exception) -> Response:
    request.app.state.requests += 1
    return _error(404, ["Not Found"])


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error(500, ["Internal server error"])


def create_app(
    clinic: Clinic,
    *,
    api_key: str,
    subdomain: str,
    token_ttl: float = 3600.0,
    rate_per_second: int = 100,
    rate_per_minute: int = 1000,
    clock: Callable[[], float] | None = None,
) -> Starlette:
    """The NexHealth v2 API for `clinic` as institution `subdomain`; authenticate with `api_key`.

    `clock` returns epoch seconds (default ``time.time``): token expiry, rate windows and
    the timestamps of created patients follow it.
    """
    now = clock or time.time
    store = _Store(clinic, now)
    tokens = _Tokens(token_ttl)
    limiter = _Limiter(rate_per_second, rate_per_minute)
    key = api_key.encode()
    our_subdomain = subdomain.lower()

    def endpoint(fn: Callable[[Request], Awaitable[Response]]) -> Handler:
        async def wrapper(request: Request) -> Response:
            request.app.state.requests += 1
            if not _accepts_v2(request.headers.get("accept")):
                return _error(400, [_VERSION_ERROR])
            problem = tokens.check(request.headers.get("authorization"), now())
            if problem is not None:
                return _error(401, [problem])
            limited = limiter.admit(now())
            if limited is not None:
                return _error(429, [limited])
            try:
                return await fn(request)
            except _ApiError as exc:
                return _error(exc.status, exc.messages)

        return wrapper

    def scope(q: _Query, *required: str) -> int:
        q.require("subdomain", "location_id", *required)
        check_subdomain(q)
        return check_location(q)

    def check_location(q: _Query) -> int:
        location = q.integer("location_id")
        if location is None or location not in store.locations:
            raise _ApiError(404, "Location not found")
        return location

    def check_subdomain(q: _Query) -> None:
        if (q.get("subdomain") or "").lower() != our_subdomain:
            raise _ApiError(403, "You do not have access to this institution")

    # ---- authentication

    async def authenticate(request: Request) -> Response:
        request.app.state.requests += 1
        if not _accepts_v2(request.headers.get("accept")):
            return _error(400, [_VERSION_ERROR])
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, key):
            return _error(401, ["Invalid API key"])
        at = now()
        limited = limiter.admit(at)
        if limited is not None:
            return _error(429, [limited])
        request.app.state.authentications += 1
        return _envelope(201, orjson.dumps({"token": tokens.issue(at)}), b'"Authenticated"')

    # ---- patients

    async def list_patients(request: Request) -> Response:
        q = _Query(request.query_params, _PATIENT_PARAMS)
        location = scope(q)
        strict = bool(q.boolean("location_strict"))
        flags = (q.boolean("new_patient"), q.boolean("non_patient"), q.boolean("inactive"))
        upcoming = bool(q.boolean("include_upcoming_appts"))
        dob = q.get("date_of_birth")
        if dob is not None and not _is_date(dob):
            raise _ApiError(400, "date_of_birth must be a date (YYYY-MM-DD)")
        terms = (q.get("name"), q.get("email"), q.get("phone_number"), dob, q.get("foreign_id"))
        page, per_page = q.paging()
        rows = store.search(location, strict, flags, terms)
        items = b",".join(r.render(upcoming) for r in _page(rows, page, per_page))
        return _envelope(200, b'{"patients":[' + items + b"]}", q.description(), len(rows))

    async def get_patient(request: Request) -> Response:
        q = _Query(request.query_params, _ONE_PATIENT_PARAMS)
        scope(q)
        upcoming = bool(q.boolean("include_upcoming_appts"))
        raw: str = request.path_params["patient_id"]
        row = store.rows.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if row is None:
            raise _ApiError(404, "Patient not found")
        return _envelope(200, b'{"patient":' + row.render(upcoming) + b"}", q.description())

    async def create_patient(request: Request) -> Response:
        q = _Query(request.query_params, _CREATE_PARAMS)
        location = scope(q)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            raise _ApiError(400, "Request body must be a JSON object")
        provider = _obj(body.get("provider"))
        patient = _obj(body.get("patient"))
        bio = _obj(patient.get("bio"))
        fields = {
            "provider.provider_id": provider.get("provider_id"),
            "patient.first_name": patient.get("first_name"),
            "patient.last_name": patient.get("last_name"),
            "patient.email": patient.get("email"),
            "patient.bio.date_of_birth": bio.get("date_of_birth"),
            "patient.bio.phone_number": bio.get("phone_number"),
            "patient.bio.gender": bio.get("gender"),
        }
        values: dict[str, str] = {}
        for path, value in fields.items():
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if isinstance(value, str) and value.strip():
                values[path] = value.strip()
        missing = [f"{path} is required" for path in fields if path not in values]
        if missing:
            raise _ApiError(400, *missing)
        problems = []
        provider_id = values["provider.provider_id"]
        if not (provider_id.isascii() and provider_id.isdigit()):
            problems.append("provider.provider_id must be an integer")
        email = values["patient.email"]
        if not _EMAIL.fullmatch(email):
            problems.append("patient.email is invalid")
        phone = _phone_digits(values["patient.bio.phone_number"])
        if len(phone) != 10:
            problems.append("patient.bio.phone_number must be a 10-digit phone number")
        dob = values["patient.bio.date_of_birth"]
        if not _is_date(dob):
            problems.append("patient.bio.date_of_birth must be a date (YYYY-MM-DD)")
        gender = values["patient.bio.gender"]
        if gender not in _GENDERS:
            problems.append("patient.bio.gender must be one of Male, Female, Other")
        if problems:
            raise _ApiError(400, *problems)
        if int(provider_id) not in store.providers:
            raise _ApiError(400, "Provider not found")
        first, last = values["patient.first_name"], values["patient.last_name"]
        if store.duplicate(email, phone, _person(first, last, dob)):
            raise _ApiError(400, _DUPLICATE)
        row = store.create(location, first, last, email, dob, phone, gender)
        return _envelope(201, b'{"patient":' + row.render(False) + b"}", q.description())

    # ---- providers

    async def list_providers(request: Request) -> Response:
        q = _Query(request.query_params, _LIST_PARAMS)
        scope(q)
        page, per_page = q.paging()
        ids = sorted(store.providers)
        items = b",".join(store.provider_bytes[i] for i in _page(ids, page, per_page))
        return _envelope(200, b"[" + items + b"]", q.description(), len(ids))

    # ---- appointments

    async def list_appointments(request: Request) -> Response:
        q = _Query(request.query_params, _APPT_PARAMS)
        location = scope(q, "start", "end")
        start, end = q.instant("start"), q.instant("end")
        if end < start:
            raise _ApiError(400, "end must not be before start")
        patient_id = q.integer("patient_id")
        provider_id = q.integer("provider_id")
        cancelled = q.boolean("cancelled")
        includes = q.includes()
        page, per_page = q.paging()
        found = [
            a for a in store.window(location, start, end)
            if (patient_id is None or a.doc["patient_id"] == patient_id)
            and (provider_id is None or a.doc["provider_id"] == provider_id)
            and (cancelled or not a.doc["cancelled"])
        ]  # fmt: skip
        items = b",".join(store.render_appointment(a, includes) for a in _page(found, page, per_page))
        return _envelope(200, b"[" + items + b"]", q.description(), len(found))

    async def get_appointment(request: Request) -> Response:
        q = _Query(request.query_params, _ONE_APPT_PARAMS)
        q.require("subdomain")
        check_subdomain(q)
        if q.get("location_id") is not None:
            check_location(q)
        includes = q.includes()
        raw: str = request.path_params["appointment_id"]
        appt = store.appointments.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if appt is None:
            raise _ApiError(404, "Appointment not found")
        return _envelope(200, b'{"appointment":' + store.render_appointment(appt, includes) + b"}", q.description())

    routes = [
        Route("/authenticates", authenticate, methods=["POST"]),
        Route("/patients", endpoint(list_patients), methods=["GET"]),
        Route("/patients", endpoint(create_patient), methods=["POST"]),
        Route("/patients/{patient_id}", endpoint(get_patient), methods=["GET"]),
        Route("/providers", endpoint(list_providers), methods=["GET"]),
        Route("/appointments", endpoint(list_appointments), methods=["GET"]),
        Route("/appointments/{appointment_id}", endpoint(get_appointment), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found, 500: _server_error})
    app.state.requests = 0
    app.state.authentications = 0
    return app


def _obj(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
