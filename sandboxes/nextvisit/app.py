"""A Nextvisit API simulator serving the synthetic clinic (``mappings.sandbox.clinic``).

``create_app(clinic, email=..., password=...)`` returns a Starlette app that answers like
the documented Laravel service (``vendor-docs/nextvisit-api.txt``; Sanctum tokens, Spatie
query builder, API resources, Scout + Meilisearch) under ``/v1``: token login/logout and
the patient endpoints (list, search, read, create, update, soft delete). The app holds
its own rendered copy of the clinic, so writes never touch the cached ``Clinic``; writes
and tokens are stamped by ``clock`` (wall clock by default). ``app.state.revoke_all_tokens()``
deletes every issued token (a test hook, so a test can force a 401 and see a re-login).

Rendering: a patient's ``id`` is the clinic patient id, ``uuid`` the clinic uuid; an
encounter's ``id`` is the clinic encounter id. Datetimes are ISO-8601 UTC to the second
with ``Z`` (as in the docs' examples, not Laravel's default ``.000000Z``), dates
``YYYY-MM-DD``. JSON is encoded as PHP's ``json_encode`` with Laravel's default flags:
``/`` comes escaped as ``\\/`` and non-ASCII characters as ``\\uXXXX`` escapes (the same
JSON values, but not the same bytes as a Python encoder would write). No local times
appear anywhere, so ``Clinic.timezone`` is not used.

Assumptions where the docs are silent (the adapter must not rely on more):

Protocol
- Every route except ``POST /v1/auth/tokens`` needs ``Authorization: Bearer <token>``
  (scheme case-insensitive); none, an unknown or a revoked token is 401
  ``{"message": "Unauthenticated."}`` without ``WWW-Authenticate``. Errors are always
  JSON, whatever the ``Accept`` header says. No rate limiting is simulated.
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
  ``<id>|`` is accepted too, as Sanctum does. Tokens never expire.
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

import codecs
import hashlib
import hmac
import math
import re
import secrets
import string
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, unquote_plus
from uuid import uuid5

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mappings.sandbox.clinic import CLINIC_NAMESPACE, Clinic, Encounter, Medication, Patient, Provider

__all__ = ["create_app"]

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]

_TEAM_ID = 1
_TEAM_NAME = "Sandbox Dental Group"
_API_USER_NAME = "Sandbox API User"
_LIST_PER_PAGE = 50
_SEARCH_PER_PAGE = 20
_PER_PAGE_MAX = 100
_CACHE_SIZE = 512
_SEARCH_MAX_WORDS = 10
_ON_EACH_SIDE = 3  # Laravel's paginator link window
_SORTS = ("id", "first_name", "last_name", "date_of_birth", "created_at")
_FILTERS = ("first_name", "last_name", "date_of_birth", "trashed")
_INCLUDES = ("user", "team", "encounters", "demographics")
_NKA_TEXTS = ("NKDA", "NKA", "No known allergies", "none", "No Known Drug Allergies")
_ENCOUNTER_STATUS = {"planned": "scheduled", "arrived": "in_progress", "finished": "completed",
                     "cancelled": "cancelled"}  # fmt: skip
_GENDER = {"male": "male", "female": "female", "non_binary": "other", "other": "other",
           "unknown": "unknown", "prefer_not_to_say": "unknown"}  # fmt: skip
_NOT_TRIMMED = frozenset({"password", "password_confirmation", "current_password"})
_TOKEN_ALPHABET = string.ascii_letters + string.digits


# --------------------------------------------------------------------------- encoding


def _php_escape(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeEncodeError)
    out = []
    for ch in exc.object[exc.start : exc.end]:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), exc.end


codecs.register_error("nextvisit_php_json", _php_escape)


def _php_json(value: Any) -> bytes:
    """JSON as PHP's ``json_encode($value)`` writes it: ``\\/`` and ``\\uXXXX`` escapes."""
    raw = orjson.dumps(value)
    if not raw.isascii():
        raw = raw.decode().encode("ascii", "nextvisit_php_json")
    return raw.replace(b"/", b"\\/")


def _dt(v: datetime | None) -> str | None:
    if v is None:
        return None
    return v.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _d(v: date | None) -> str | None:
    return None if v is None else v.isoformat()


# --------------------------------------------------------------------------- text

_FOLD_EXTRA = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
                             "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i", "ß": "ss"})  # fmt: skip
_WORD = re.compile(r"[^\W_]+")


def _fold(s: str) -> str:
    """Case- and accent-insensitive form of `s` (as utf8mb4_unicode_ci compares)."""
    decomposed = unicodedata.normalize("NFKD", s.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _words(s: str | None) -> list[str]:
    return _WORD.findall(_fold(s)) if s else []


def _typo_distance(q: str, w: str, limit: int, prefix: bool) -> int:
    """Damerau (optimal string alignment) distance from `q` to `w` (to its closest prefix
    when `prefix`), or ``limit + 1`` once it is certainly above `limit`."""
    if prefix:
        w = w[: len(q) + limit]
    elif abs(len(q) - len(w)) > limit:
        return limit + 1
    m = len(w)
    before: list[int] = []
    prev = list(range(m + 1))
    for i in range(1, len(q) + 1):
        cur = [i] + [0] * m
        for j in range(1, m + 1):
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (q[i - 1] != w[j - 1]))
            if i > 1 and j > 1 and q[i - 1] == w[j - 2] and q[i - 2] == w[j - 1]:
                v = min(v, before[j - 2] + 1)
            cur[j] = v
        if min(cur) > limit:
            return limit + 1
        before, prev = prev, cur
    return min(prev) if prefix else prev[m]


def _word_matches(q: str, w: str, prefix: bool) -> bool:
    """Meilisearch's word match: exact/prefix, 1 typo from 5 chars, 2 from 9; a typo on the
    first letter counts as two."""
    if q == w or (prefix and w.startswith(q)):
        return True
    allowed = 0 if len(q) < 5 else 1 if len(q) < 9 else 2
    extra = int(q[0] != w[0])
    if allowed - extra <= 0:
        return False
    return _typo_distance(q, w, allowed, prefix) + extra <= allowed


# --------------------------------------------------------------------------- PHP query strings

_SEGMENT = re.compile(r"\[([^\]]*)\]")


def _php_parse(qs: str) -> Json:
    """``parse_str``: ``a[b]=1&a[]=2`` -> ``{"a": {"b": "1", "0": "2"}}``; later values win."""
    out: Json = {}
    for pair in qs.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key, value = unquote_plus(raw_key).lstrip(" "), unquote_plus(raw_value)
        bracket = key.find("[")
        segments: list[str] = []
        if bracket > 0 and "]" in key[bracket:]:
            base, rest = key[:bracket], key[bracket:]
            pos = 0
            while (m := _SEGMENT.match(rest, pos)) is not None:
                segments.append(m.group(1))
                pos = m.end()
        else:
            base = key
        base = base.replace(".", "_").replace(" ", "_").replace("[", "_")
        if not base:
            continue
        node = out
        path = [base, *segments]
        for depth, seg in enumerate(path):
            if seg == "" and depth > 0:
                seg = str(max((int(k) + 1 for k in node if k.isascii() and k.isdigit()), default=0))
            if depth == len(path) - 1:
                node[seg] = value
            else:
                child = node.get(seg)
                if not isinstance(child, dict):
                    child = node[seg] = {}
                node = child
    return out


def _php_build(data: Json, prefix: str | None = None) -> list[str]:
    """``http_build_query(..., PHP_QUERY_RFC3986)`` as ``key=value`` parts; nulls dropped."""
    parts: list[str] = []
    for k, v in data.items():
        key = k if prefix is None else f"{prefix}[{k}]"
        if isinstance(v, dict):
            parts += _php_build(v, key)
        elif isinstance(v, list):
            parts += _php_build({str(i): x for i, x in enumerate(v)}, key)
        elif v is not None:
            text = ("1" if v else "0") if isinstance(v, bool) else str(v)
            parts.append(f"{quote(key, safe='-_.~')}={quote(text, safe='-_.~')}")
    return parts


def _clean(value: Any, key: str = "") -> Any:
    """Laravel's TrimStrings + ConvertEmptyStringsToNull, recursively."""
    if isinstance(value, str):
        if key not in _NOT_TRIMMED:
            value = value.strip()
        return value or None
    if isinstance(value, dict):
        return {k: _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# --------------------------------------------------------------------------- errors and validation


class _ApiError(Exception):
    def __init__(self, status: int, body: Json) -> None:
        self.status = status
        self.body = body


def _not_found(raw_id: str) -> _ApiError:
    return _ApiError(404, {"message": f"No query results for model [App\\Models\\Patient] {raw_id}"})


def _spatie(kind: str, unknown: list[str], allowed: tuple[str, ...]) -> _ApiError:
    return _ApiError(
        400,
        {"message": f"Requested {kind}(s) `{', '.join(unknown)}` are not allowed. "
                    f"Allowed {kind}(s) are `{', '.join(allowed)}`."},
    )  # fmt: skip


_INT = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _parse_date(value: Any) -> date | None:
    """The date in `value` (ISO 8601 date or date-time), or None."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


class _Rules:
    """A Laravel validator: rules checked in call order, messages collected per field."""

    def __init__(self, data: Json) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {}

    @staticmethod
    def label(name: str) -> str:
        return name.replace("_", " ")

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message.replace(":attribute", self.label(name)))

    def get(self, name: str) -> tuple[bool, Any]:
        node: Any = self.data
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
        return True, node

    def field(self, name: str, *, required: bool = False, sometimes: bool = False) -> tuple[bool, Any]:
        """(validate further?, value): handles presence, ``required`` and ``nullable``."""
        present, value = self.get(name)
        if sometimes and not present:
            return False, None
        if required:
            if value is None or value == [] or value == {}:
                self.fail(name, "The :attribute field is required.")
                return False, None
            return True, value
        return value is not None, value  # nullable

    def string(self, name: str, value: Any, max_len: int | None = None) -> bool:
        if not isinstance(value, str):
            self.fail(name, "The :attribute field must be a string.")
            return False
        if max_len is not None and len(value) > max_len:
            self.fail(name, f"The :attribute field must not be greater than {max_len} characters.")
        return True

    def integer(self, name: str, value: Any, lo: int, hi: int) -> int | None:
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
        ok = text is not None and _INT.fullmatch(text) is not None
        if not ok:
            self.fail(name, "The :attribute field must be an integer.")
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            size: float = float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            size = value
        elif isinstance(value, list | dict):
            size = len(value)
        else:
            size = len(str(value)) if value is not None else 0
        if size < lo:
            self.fail(name, f"The :attribute field must be at least {lo}.")
        if size > hi:
            self.fail(name, f"The :attribute field must not be greater than {hi}.")
        return int(text) if ok and text is not None else None

    def one_of(self, name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        self.fail(name, "The selected :attribute is invalid.")
        return None

    def date(self, name: str, value: Any) -> date | None:
        parsed = _parse_date(value)
        if parsed is None:
            self.fail(name, "The :attribute field must be a valid date.")
        return parsed

    def check(self) -> None:
        if not self.errors:
            return
        messages = [m for ms in self.errors.values() for m in ms]
        summary = messages[0]
        if len(messages) > 1:
            more = len(messages) - 1
            summary += f" (and {more} more {'error' if more == 1 else 'errors'})"
        raise _ApiError(422, {"message": summary, "errors": self.errors})


# --------------------------------------------------------------------------- rendering


def _user(p: Provider) -> Json:
    name = f"{p.first_name} {p.last_name}"
    return {"id": p.id, "name": name, "email": f"{p.first_name}.{p.last_name}@example.com".lower()}


def _phone(digits: str | None) -> str | None:
    if digits is None:
        return None
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits


def _allergies_text(p: Patient) -> str | None:
    live = [a for a in p.allergies if not a.deleted]
    if not live:
        if p.allergy_review == "nkda":
            return _NKA_TEXTS[p.id % len(_NKA_TEXTS)]
        return None if p.id % 2 else ""
    style = (p.id // 2) % 5
    with_reaction = style in (1, 3)
    items = [f"{a.substance} ({a.reaction.lower()})" if with_reaction and a.reaction else a.substance for a in live]
    if style in (2, 3):
        return "; ".join(items)
    if style == 4 and len(items) > 1:
        return f"{', '.join(items[:-1])} and {items[-1]}"
    return ", ".join(items)


_DOSE_START = re.compile(r"\s+\d")


def _medication_text(m: Medication) -> str:
    if m.rxnorm is not None:
        base = _DOSE_START.split(m.name, maxsplit=1)[0]
        text = f"{base} {m.strength.replace(' ', '')}" if m.strength else base
    else:
        text = m.name
    return f"{text} PRN" if m.prn else text


def _latest_medications(p: Patient) -> list[str]:
    current = [m for m in p.medications if not m.deleted and m.status in ("active", "on_hold")]
    current.sort(key=lambda m: m.id)
    current.sort(key=lambda m: m.start or date.min, reverse=True)
    return [_medication_text(m) for m in current]


def _notes(p: Patient) -> str | None:
    parts = []
    if p.preferred_name:
        parts.append(f"Prefers to be called {p.preferred_name}.")
    if p.status == "inactive":
        parts.append("Inactive patient.")
    elif p.status == "deceased" and p.deceased_at is not None:
        parts.append(f"Deceased {p.deceased_at.date().isoformat()}.")
    elif p.status == "prospective":
        parts.append("New patient referral.")
    return " ".join(parts) or None


class _Renderer:
    """Clinic records -> Nextvisit JSON (plain dicts)."""

    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic
        self.seed = clinic.seed
        self.start_of_today = datetime.combine(clinic.today, time(0, 0), tzinfo=UTC)
        self.providers = {p.id: p for p in clinic.providers}
        self.locations = {loc.id: {"id": loc.id, "name": loc.name} for loc in clinic.locations}

    def uuid(self, kind: str, key: int) -> str:
        return str(uuid5(CLINIC_NAMESPACE, f"nextvisit:{self.seed}:{kind}:{key}"))

    def encounter(self, e: Encounter, p: Patient) -> Json:
        prov = self.providers[e.provider_id]
        telehealth = e.type_code is None and e.id % 2 == 0
        created = max(p.created_at, min(e.start, self.start_of_today) - timedelta(days=14))
        if e.status == "finished":
            updated = e.end or e.start
        elif e.status == "arrived":
            updated = e.start
        elif e.status == "cancelled":
            updated = max(created, e.start - timedelta(days=1))
        else:
            updated = created
        return {
            "id": e.id,
            "uuid": self.uuid("encounter", e.id),
            "patient_id": p.id,
            "status": _ENCOUNTER_STATUS[e.status],
            "visit_type": "telehealth" if telehealth else "in_person",
            "type": e.type_text,
            "reason": e.reason,
            "start_time": _dt(e.start),
            "end_time": _dt(e.end),
            "provider": {
                "id": prov.id,
                "name": f"{prov.first_name} {prov.last_name}",
                "credentials": prov.designation,
            },
            "location": None if telehealth else dict(self.locations[e.location_id]),
            "signed": e.locked,
            "created_at": _dt(created),
            "updated_at": _dt(max(updated, created)),
        }

    @staticmethod
    def timeline(p: Patient) -> list[Json]:
        events: list[tuple[datetime, str, Json]] = []
        for e in p.encounters:
            if e.status == "planned":
                continue
            title = e.type_text if e.status != "cancelled" else f"Cancelled: {e.type_text}"
            key = f"encounter-{e.id}"
            events.append((e.start, key, {"id": key, "type": "encounter", "occurred_at": _dt(e.start),
                                          "title": title}))  # fmt: skip
            if e.locked:
                at = e.end or e.start
                key = f"note-{e.id}"
                events.append((at, key, {"id": key, "type": "note", "occurred_at": _dt(at),
                                         "title": f"Progress note signed: {e.type_text}"}))  # fmt: skip
        events.sort(key=lambda ev: ev[1])
        events.sort(key=lambda ev: ev[0], reverse=True)
        return [ev[2] for ev in events]

    def patient(self, p: Patient) -> _Row:
        deleted_at = _dt(p.updated_at) if p.deleted else None
        meta: Json = {"chart_number": p.chart_number}
        if p.preferred_name:
            meta["preferred_name"] = p.preferred_name
        doc: Json = {
            "id": p.id,
            "uuid": str(p.uuid),
            "first_name": p.first_name,
            "middle_name": p.middle_name,
            "last_name": p.last_name,
            "gender": None if p.gender is None else _GENDER[p.gender],
            "date_of_birth": _d(p.birth_date),
            "notes": _notes(p),
            "allergies": _allergies_text(p),
            "insurance": None,
            "latest_medications": _latest_medications(p),
            "meta": meta,
            "created_at": _dt(p.created_at),
            "updated_at": _dt(p.updated_at),
            "deleted_at": deleted_at,
        }
        encounters = sorted((self.encounter(e, p) for e in p.encounters), key=lambda e: e["id"])
        encounters.sort(key=lambda e: e["start_time"], reverse=True)
        demographics = {
            "email": p.email,
            "phone": _phone(p.mobile_phone or p.home_phone),
            "address_line1": p.address_line1,
            "city": p.city,
            "state": p.state,
            "postal_code": p.postal_code,
        }
        owner = p.primary_provider_id if p.primary_provider_id is not None else 1
        row = _Row(doc=doc, user_id=owner, encounters=encounters, timeline=self.timeline(p),
                   demographics=demographics)  # fmt: skip
        row.refresh()
        return row


# --------------------------------------------------------------------------- state

_HEAD = ("id", "uuid", "first_name", "middle_name", "last_name", "gender", "date_of_birth", "notes",
         "allergies", "insurance", "latest_medications")  # fmt: skip
_Variant = tuple[bool, bool, bool, bool]  # team, encounters, demographics, deleted_at
_SINGLE: _Variant = (False, True, False, False)
_PLAIN: _Variant = (False, False, False, False)


@dataclass(eq=False)
class _Row:
    """One patient as the vendor holds it, plus derived sort/search data and rendered bytes."""

    doc: Json
    user_id: int
    encounters: list[Json]
    timeline: list[Json]
    demographics: Json | None
    rendered: dict[_Variant, bytes] = field(default_factory=dict)
    first_key: str = ""
    last_key: str = ""
    words: frozenset[str] = frozenset()

    @property
    def id(self) -> int:
        return int(self.doc["id"])

    @property
    def deleted(self) -> bool:
        return self.doc["deleted_at"] is not None

    def refresh(self) -> None:
        d = self.doc
        self.rendered.clear()
        self.first_key = _fold(d["first_name"])
        self.last_key = _fold(d["last_name"])
        self.words = frozenset(
            w for k in ("first_name", "middle_name", "last_name", "date_of_birth", "notes") for w in _words(d[k])
        )


class _Store:
    def __init__(self, clinic: Clinic, email: str, password: str, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.render = _Renderer(clinic)
        self.rows: dict[int, _Row] = {}
        for p in clinic.patients:
            row = self.render.patient(p)
            self.rows[row.id] = row
        self.next_patient_id = max(self.rows, default=0) + 1
        self.users: dict[int, Json] = {p.id: _user(p) for p in clinic.providers}
        epoch = min((p.created_at for p in clinic.patients), default=datetime(2020, 1, 1, tzinfo=UTC))
        epoch = epoch - timedelta(days=1)
        self.api_user_id = max(self.users, default=0) + 1
        self.users[self.api_user_id] = {"id": self.api_user_id, "name": _API_USER_NAME, "email": email}
        self.login_user: Json = {
            **self.users[self.api_user_id],
            "email_verified_at": _dt(epoch),
            "current_team_id": _TEAM_ID,
            "created_at": _dt(epoch),
            "updated_at": _dt(epoch),
        }
        self.team: Json = {"id": _TEAM_ID, "name": _TEAM_NAME}
        self.email = email
        self.password = password.encode()
        self.tokens: dict[int, bytes] = {}  # token id -> sha256(secret)
        self.token_ids: dict[bytes, int] = {}
        self.next_token_id = 1
        self._orders: dict[tuple[str, bool], list[_Row]] = {}
        self._queries: dict[tuple[Any, ...], list[_Row]] = {}
        self._vocab: dict[str, list[_Row]] | None = None
        self._word_hits: dict[tuple[str, bool], frozenset[int]] = {}

    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def changed(self, row: _Row) -> None:
        row.refresh()
        self._orders.clear()
        self._queries.clear()
        self._vocab = None
        self._word_hits.clear()

    def _remember(self, key: tuple[Any, ...], rows: list[_Row]) -> list[_Row]:
        if len(self._queries) >= _CACHE_SIZE:
            self._queries.clear()
        self._queries[key] = rows
        return rows

    # ---- tokens

    def issue_token(self) -> str:
        secret = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(40))
        token_id = self.next_token_id
        self.next_token_id += 1
        digest = hashlib.sha256(secret.encode()).digest()
        self.tokens[token_id] = digest
        self.token_ids[digest] = token_id
        return f"{token_id}|{secret}"

    def token_of(self, plain: str) -> int | None:
        """The id of the live token `plain` (Sanctum's ``PersonalAccessToken::findToken``)."""
        if "|" in plain:
            raw_id, _, secret = plain.partition("|")
            if not (raw_id.isascii() and raw_id.isdigit()):
                return None
            token_id = int(raw_id)
            digest = self.tokens.get(token_id)
            candidate = hashlib.sha256(secret.encode()).digest()
            return token_id if digest is not None and hmac.compare_digest(digest, candidate) else None
        return self.token_ids.get(hashlib.sha256(plain.encode()).digest())

    def revoke(self, token_id: int) -> None:
        digest = self.tokens.pop(token_id, None)
        if digest is not None:
            self.token_ids.pop(digest, None)

    def revoke_all(self) -> None:
        self.tokens.clear()
        self.token_ids.clear()

    # ---- rendering

    def render_row(self, row: _Row, variant: _Variant) -> bytes:
        cached = row.rendered.get(variant)
        if cached is None:
            team, encounters, demographics, deleted_at = variant
            d = row.doc
            out: Json = {k: d[k] for k in _HEAD}
            out["user"] = self.users[row.user_id]
            if team:
                out["team"] = self.team
            out["timeline"] = row.timeline
            if encounters:
                out["encounters"] = row.encounters
            if demographics:
                out["demographics"] = row.demographics
            out["meta"] = d["meta"] or {}
            out["created_at"] = d["created_at"]
            out["updated_at"] = d["updated_at"]
            if deleted_at:
                out["deleted_at"] = d["deleted_at"]
            cached = row.rendered[variant] = _php_json(out)
        return cached

    # ---- lists

    def ordered(self, sort: str) -> list[_Row]:
        """All patients (trashed too) in `sort` order, ties by id (cached until a write)."""
        desc = sort.startswith("-")
        name = sort.lstrip("-")
        cached = self._orders.get((name, desc))
        if cached is None:
            rows = sorted(self.rows.values(), key=lambda r: r.id)
            if name == "first_name":
                rows.sort(key=lambda r: r.first_key, reverse=desc)
            elif name == "last_name":
                rows.sort(key=lambda r: r.last_key, reverse=desc)
            elif name == "date_of_birth":
                rows.sort(key=lambda r: (r.doc["date_of_birth"] is not None, r.doc["date_of_birth"] or ""),
                          reverse=desc)  # fmt: skip
            elif name == "created_at":
                rows.sort(key=lambda r: r.doc["created_at"], reverse=desc)
            elif desc:
                rows.reverse()
            cached = self._orders[(name, desc)] = rows
        return cached

    def listing(
        self,
        sort: str,
        first: tuple[str, ...],
        last: tuple[str, ...],
        dob: str | None,
        trashed: str | None,
    ) -> list[_Row]:
        key = ("list", sort, first, last, dob, trashed)
        cached = self._queries.get(key)
        if cached is not None:
            return cached

        def keep(r: _Row) -> bool:
            if trashed == "only" and not r.deleted:
                return False
            if trashed is None and r.deleted:
                return False
            if first and not any(v in r.first_key for v in first):
                return False
            if last and not any(v in r.last_key for v in last):
                return False
            return dob is None or r.doc["date_of_birth"] == dob

        return self._remember(key, [r for r in self.ordered(sort) if keep(r)])

    # ---- search

    def _hits(self, word: str, prefix: bool) -> frozenset[int]:
        hits = self._word_hits.get((word, prefix))
        if hits is None:
            if self._vocab is None:
                vocab: dict[str, list[_Row]] = {}
                for r in self.rows.values():
                    if not r.deleted:
                        for w in r.words:
                            vocab.setdefault(w, []).append(r)
                self._vocab = vocab
            hits = frozenset(r.id for w, rows in self._vocab.items() if _word_matches(word, w, prefix) for r in rows)
            if len(self._word_hits) >= _CACHE_SIZE:
                self._word_hits.clear()
            self._word_hits[(word, prefix)] = hits
        return hits

    def search(self, query: str, desc: bool) -> list[_Row]:
        words = tuple(_words(query)[:_SEARCH_MAX_WORDS])
        key = ("search", words, desc)
        cached = self._queries.get(key)
        if cached is not None:
            return cached
        live = [r for r in sorted(self.rows.values(), key=lambda r: r.id) if not r.deleted]
        live.sort(key=lambda r: r.doc["updated_at"], reverse=desc)
        if not words:
            return self._remember(key, live)
        depth: dict[int, int] = {}
        alive: frozenset[int] | None = None
        for k, word in enumerate(words):
            hits = self._hits(word, prefix=k == len(words) - 1)
            alive = hits if alive is None else alive & hits
            for rid in alive:
                depth[rid] = k + 1
        found = [r for r in live if r.id in depth]
        found.sort(key=lambda r: -depth[r.id])
        return self._remember(key, found)


# --------------------------------------------------------------------------- pagination


def _page_number(value: Any) -> int:
    """Laravel's ``Paginator::resolveCurrentPage``: a valid integer >= 1, else 1."""
    if isinstance(value, str) and _INT.fullmatch(value) and int(value) >= 1:
        return int(value)
    return 1


def _request_path(request: Request) -> str:
    return str(request.url.replace(query="", fragment="")).rstrip("/")


def _paginate(request: Request, items: list[bytes], total: int, page: int, per_page: int, query: Json) -> bytes:
    """The body of a paginated resource collection (``data``, ``links``, ``meta``)."""
    path = _request_path(request)
    last_page = max(math.ceil(total / per_page), 1)
    kept = {k: v for k, v in query.items() if k != "page"}

    def url(n: int) -> str:
        return path + "?" + "&".join(_php_build({**kept, "page": n}))

    count = len(items)
    first_item = (page - 1) * per_page + 1 if count else None
    last_item = first_item + count - 1 if first_item is not None else None
    prev_url = url(page - 1) if page > 1 else None
    next_url = url(page + 1) if page < last_page else None

    def pages(lo: int, hi: int) -> list[Json]:
        return [{"url": url(n), "label": str(n), "active": n == page} for n in range(lo, hi + 1)]

    gap: Json = {"url": None, "label": "...", "active": False}
    window = _ON_EACH_SIDE + 4
    elements: list[Json]
    if last_page < _ON_EACH_SIDE * 2 + 8:
        elements = pages(1, last_page)
    elif page <= window:
        elements = [*pages(1, window + _ON_EACH_SIDE), gap, *pages(last_page - 1, last_page)]
    elif page > last_page - window:
        elements = [*pages(1, 2), gap, *pages(last_page - (window + _ON_EACH_SIDE - 1), last_page)]
    else:
        elements = [*pages(1, 2), gap, *pages(page - _ON_EACH_SIDE, page + _ON_EACH_SIDE), gap,
                    *pages(last_page - 1, last_page)]  # fmt: skip
    tail = {
        "links": {"first": url(1), "last": url(last_page), "prev": prev_url, "next": next_url},
        "meta": {
            "current_page": page,
            "from": first_item,
            "last_page": last_page,
            "links": [
                {"url": prev_url, "label": "&laquo; Previous", "active": False},
                *elements,
                {"url": next_url, "label": "Next &raquo;", "active": False},
            ],
            "path": path,
            "per_page": per_page,
            "to": last_item,
            "total": total,
        },
    }
    return b'{"data":[' + b",".join(items) + b"]," + _php_json(tail)[1:]


# --------------------------------------------------------------------------- the app


def _respond(status: int, body: bytes) -> Response:
    return Response(body, status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-cache, private"})  # fmt: skip


async def _input(request: Request) -> Json:
    """``$request->all()``: the query string merged under the body, cleaned."""
    data = _php_parse(request.url.query)
    ctype = request.headers.get("content-type", "").lower()
    body = await request.body()
    if "/json" in ctype or "+json" in ctype:
        try:
            parsed = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            parsed = {}
        if isinstance(parsed, dict):
            data.update(parsed)
    elif "application/x-www-form-urlencoded" in ctype:
        data.update(_php_parse(body.decode("utf-8", "replace")))
    cleaned: Json = _clean(data)
    return cleaned


def _query(request: Request) -> Json:
    cleaned: Json = _clean(_php_parse(request.url.query))
    return cleaned


def _includes(query: Json) -> set[str]:
    """Spatie's ``include`` (comma list or array), checked against the allowed includes."""
    raw = query.get("include")
    if isinstance(raw, dict):
        names = [str(v) for v in raw.values() if v]
    elif isinstance(raw, str):
        names = [v for v in raw.split(",") if v]
    else:
        names = []
    unknown = [i for i in names if i not in _INCLUDES]
    if unknown:
        raise _spatie("include", unknown, _INCLUDES)
    return set(names)


def _route_path(request: Request) -> str:
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.strip("/")


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()}
        methods = ", ".join(m for m in _METHOD_ORDER if m in allowed)
        message = (f"The {request.method} method is not supported for route {_route_path(request)}. "
                   f"Supported methods: {methods}.")  # fmt: skip
        headers = {"Allow": methods, "Cache-Control": "no-cache, private"}
        return Response(_php_json({"message": message}), 405, headers, "application/json")
    message = f"The route {_route_path(request)} could not be found." if exc.status_code == 404 else exc.detail
    return _respond(exc.status_code, _php_json({"message": message}))


def create_app(
    clinic: Clinic,
    *,
    email: str,
    password: str,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The Nextvisit API for `clinic` under ``/v1``; log in with `email` and `password`.

    `clock` (default: the wall clock) stamps writes and decides "today" for date-of-birth
    validation; pass a fixed one for repeatable tests.
    """
    store = _Store(clinic, email, password, clock or (lambda: datetime.now(UTC)))
    unauthenticated = _php_json({"message": "Unauthenticated."})

    def authenticated(fn: Callable[[Request, int], Awaitable[Response]]) -> Handler:
        async def wrapper(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, credentials = header.partition(" ")
            token_id = store.token_of(credentials.strip()) if scheme.lower() == "bearer" else None
            if token_id is None:
                return _respond(401, unauthenticated)
            try:
                return await fn(request, token_id)
            except _ApiError as exc:
                return _respond(exc.status, _php_json(exc.body))

        return wrapper

    def row_of(request: Request) -> _Row:
        raw_id: str = request.path_params["patient_id"]
        row = store.rows.get(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
        if row is None or row.deleted:
            raise _not_found(raw_id)
        return row

    def single(row: _Row, status: int = 200) -> Response:
        return _respond(status, b'{"data":' + store.render_row(row, _SINGLE) + b"}")

    # ---- tokens

    async def login(request: Request) -> Response:
        try:
            data = await _input(request)
            rules = _Rules(data)
            ok, value = rules.field("email", required=True)
            if ok and not (isinstance(value, str) and _EMAIL.fullmatch(value)):
                rules.fail("email", "The :attribute field must be a valid email address.")
            rules.field("password", required=True)
            rules.field("device_name", required=True)
            rules.check()
            given = data["password"]
            good_email = isinstance(value, str) and value.casefold() == store.email.casefold()
            good_password = isinstance(given, str) and hmac.compare_digest(given.encode(), store.password)
            if not (good_email and good_password):
                message = "The provided credentials are incorrect."
                raise _ApiError(422, {"message": message, "errors": {"email": [message]}})
        except _ApiError as exc:
            return _respond(exc.status, _php_json(exc.body))
        token = store.issue_token()
        return _respond(200, _php_json({"status": "success", "token": token, "user": store.login_user}))

    async def logout(request: Request, token_id: int) -> Response:
        store.revoke(token_id)
        return _respond(200, _php_json({"message": "Token revoked successfully"}))

    # ---- lists

    async def list_patients(request: Request, token_id: int) -> Response:
        query = _query(request)
        rules = _Rules(query)
        per_page: int | None = _LIST_PER_PAGE
        ok, value = rules.field("per_page")
        if ok:
            per_page = rules.integer("per_page", value, 1, _PER_PAGE_MAX)
        sort: str | None = "-created_at"
        ok, value = rules.field("sort")
        if ok:
            sort = rules.one_of("sort", value, tuple(s for name in _SORTS for s in (name, f"-{name}")))
        names: dict[str, tuple[str, ...]] = {}
        for name in ("first_name", "last_name"):
            ok, value = rules.field(f"filter.{name}")
            if ok and rules.string(f"filter.{name}", value):
                names[name] = tuple(_fold(v) for v in value.split(",") if v)
        dob: date | None = None
        ok, value = rules.field("filter.date_of_birth")
        if ok:
            dob = rules.date("filter.date_of_birth", value)
        trashed: str | None = None
        ok, value = rules.field("filter.trashed")
        if ok:
            trashed = rules.one_of("filter.trashed", value, ("with", "only"))
        rules.check()
        assert per_page is not None and sort is not None
        filters = query.get("filter")
        if isinstance(filters, dict):
            unknown = [k for k in filters if k not in _FILTERS]
            if unknown:
                raise _spatie("filter", unknown, _FILTERS)
        includes = _includes(query)
        rows = store.listing(sort, names.get("first_name", ()), names.get("last_name", ()), _d(dob), trashed)
        page = _page_number(query.get("page"))
        chosen = rows[(page - 1) * per_page : page * per_page]
        variant = ("team" in includes, "encounters" in includes, "demographics" in includes, trashed is not None)
        items = [store.render_row(r, variant) for r in chosen]
        return _respond(200, _paginate(request, items, len(rows), page, per_page, query))

    async def search_patients(request: Request, token_id: int) -> Response:
        query = _query(request)
        rules = _Rules(query)
        ok, text = rules.field("query", required=True)
        if ok:
            rules.string("query", text)
        per_page: int | None = _SEARCH_PER_PAGE
        ok, value = rules.field("per_page")
        if ok:
            per_page = rules.integer("per_page", value, 1, _PER_PAGE_MAX)
        sort_by: str | None = "desc"
        ok, value = rules.field("sort_by")
        if ok:
            sort_by = rules.one_of("sort_by", value, ("asc", "desc"))
        rules.check()
        assert per_page is not None and isinstance(text, str)
        rows = store.search(text, desc=sort_by == "desc")
        page = _page_number(query.get("page"))
        chosen = rows[(page - 1) * per_page : page * per_page]
        items = [store.render_row(r, _PLAIN) for r in chosen]
        return _respond(200, _paginate(request, items, len(rows), page, per_page, {"query": text}))

    # ---- one patient

    def validate_patient(data: Json, *, update: bool) -> Json:
        """The validated fields of a create (all) or update (those present) body."""
        rules = _Rules(data)
        out: Json = {}
        for name in ("first_name", "middle_name", "last_name", "date_of_birth", "notes", "allergies",
                     "insurance", "meta"):  # fmt: skip
            if update and name == "insurance":
                continue
            required = name in ("first_name", "last_name", "date_of_birth")
            present, _ = rules.get(name)
            ok, value = rules.field(name, required=required, sometimes=update)
            if update and not present:
                continue
            out[name] = value if ok else None
            if not ok:
                continue
            if name == "date_of_birth":
                born = rules.date(name, value)
                if born is not None and born >= store.now().date():
                    rules.fail(name, "The :attribute field must be a date before today.")
                out[name] = _d(born)
            elif name == "meta":
                if not isinstance(value, dict | list):
                    rules.fail(name, "The :attribute field must be an array.")
            else:
                rules.string(name, value, 255 if name.endswith("_name") else None)
        rules.check()
        return out

    async def create_patient(request: Request, token_id: int) -> Response:
        fields = validate_patient(await _input(request), update=False)
        now = _dt(store.now())
        pid = store.next_patient_id
        store.next_patient_id += 1
        doc: Json = {
            "id": pid,
            "uuid": store.render.uuid("patient", pid),
            "first_name": fields["first_name"],
            "middle_name": fields["middle_name"],
            "last_name": fields["last_name"],
            "gender": None,
            "date_of_birth": fields["date_of_birth"],
            "notes": fields["notes"],
            "allergies": fields["allergies"],
            "insurance": fields["insurance"],
            "latest_medications": [],
            "meta": fields["meta"],
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        row = _Row(doc=doc, user_id=store.api_user_id, encounters=[], timeline=[], demographics=None)
        store.rows[pid] = row
        store.changed(row)
        return single(row, 201)

    async def show_patient(request: Request, token_id: int) -> Response:
        row = row_of(request)
        includes = _includes(_query(request))
        variant = ("team" in includes, True, "demographics" in includes, False)
        return _respond(200, b'{"data":' + store.render_row(row, variant) + b"}")

    async def update_patient(request: Request, token_id: int) -> Response:
        row = row_of(request)
        fields = validate_patient(await _input(request), update=True)
        dirty = {k: v for k, v in fields.items() if row.doc[k] != v}
        if dirty:
            row.doc.update(dirty)
            row.doc["updated_at"] = _dt(store.now())
            store.changed(row)
        return single(row)

    async def delete_patient(request: Request, token_id: int) -> Response:
        row = row_of(request)
        now = _dt(store.now())
        row.doc["deleted_at"] = now
        row.doc["updated_at"] = now
        store.changed(row)
        return _respond(200, _php_json({"message": "Patient deleted successfully"}))

    # ---- routing

    def by_method(handlers: dict[str, Handler]) -> Handler:
        async def dispatch(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await handlers[method](request)

        return dispatch

    def methods(handlers: dict[str, Handler]) -> list[str]:
        return list(handlers)

    patients = {"GET": authenticated(list_patients), "POST": authenticated(create_patient)}
    one = {
        "GET": authenticated(show_patient),
        "PUT": authenticated(update_patient),
        "PATCH": authenticated(update_patient),
        "DELETE": authenticated(delete_patient),
    }
    routes = [
        Route("/v1/auth/tokens", login, methods=["POST"]),
        Route("/v1/auth/tokens/current", authenticated(logout), methods=["DELETE"]),
        Route("/v1/patients", by_method(patients), methods=methods(patients)),
        Route("/v1/patients/search", authenticated(search_patients), methods=["GET"]),
        Route("/v1/patients/{patient_id}", by_method(one), methods=methods(one)),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.revoke_all_tokens = store.revoke_all
    return app
