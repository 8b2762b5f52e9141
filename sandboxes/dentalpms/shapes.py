"""How this simulator spells its answers: the switches for the shapes the docs leave open.

The API reference types fields (``string (date-time)``, ``boolean``, ``integer``) and shows
FastAPI error bodies, but not their spelling on the wire. Independent implementations
differ; ``create_app`` takes one keyword per point (the first value is the documented
simulator's), applied to every JSON answer by ``ShapedApp``:

- ``timestamps``: ``"z"`` (``2024-05-01T14:00:00Z``), ``"offset"`` (``+00:00``) or
  ``"naive"`` (no zone at all: a UTC wall-clock time).
- ``dates``: ``"date"`` (``YYYY-MM-DD``) or ``"datetime"`` (fields documented as dates
  served as midnight date-times, ``1980-05-02T00:00:00`` plus the ``timestamps`` zone) or a
  date held as a date-time at one zone's midnight and written in another's:
  ``"utc_midnight_local"`` (a UTC midnight written at the server's offset, ``-05:00``:
  ``1980-05-01T19:00:00-05:00``, as Jackson writes a ``java.util.Date`` with the JVM's zone, or
  .NET a UTC ``DateTime`` through a local ``DateTimeOffset``) or ``"local_midnight_utc"`` (the
  server's midnight, at ``+02:00``, written in UTC: ``1980-05-01T22:00:00Z``, as JDBC reads a
  ``DATE`` column at the JVM's midnight and Jackson writes the ``Date`` in UTC, its default);
  either way the day stored is the 2nd.
- ``scalars``: ``"json"``, ``"strings"`` (booleans ``"true"``/``"false"``, integers as
  decimal text: ``"version": "3"``, ``"total": "12"``) or ``"digits"`` (booleans
  ``"1"``/``"0"``, integers as text).
- ``nulls``: ``"null"`` (every field present, null when empty) or ``"absent"`` (null
  fields left out, in records and envelopes alike).
- ``page_info``: ``"full"`` (``end_cursor`` and ``has_next_page`` always) or ``"sparse"``
  (``has_next_page`` only when true, ``end_cursor`` only when there is a next page).
- ``error_bodies``: ``"fastapi"`` (``{"detail": "text"}``, 422 ``{"detail": [...]}``),
  ``"detail_text"`` (422 too as one text, ``"first_name: Field required"``),
  ``"error_object"`` (``{"error": {"code": <status>, "message": "text"}}``) or ``"spring"``
  (Spring Boot's default error attributes, ``{"timestamp", "status", "error": "Conflict",
  "path"}``: no message, the reason phrase only, so a 409 or 404 does not say why; a 422's
  list as Spring's binding errors, ``"errors": [{"field", "defaultMessage", "rejectedValue",
  "code"}]``, the value sent echoed) or ``"laravel"`` (Laravel's exception handler:
  ``{"message": "text"}``, a 422 ``{"message": <first error> (and N more errors),
  "errors": {field: [text, ...]}}``, and an unknown path ``The route api/... could not be
  found.``, which echoes the path asked for, patient uuid and all) or ``"problem_details"``
  (ASP.NET Core's RFC 9457 problem details: ``{"type", "title": "Conflict", "status",
  "detail": "text", "traceId"}``, no ``detail`` where the framework answers (an unknown path,
  a wrong method); a validation failure ``ValidationProblemDetails``: ``"title": "One or more
  validation errors occurred."``, no ``detail``, ``"errors": {key: [text, ...]}`` keyed by the
  property (``Email``, as DataAnnotations name it) or, for a value the JSON reader could not
  take (a null, a wrong type), by its JSON path (``$.email``, as System.Text.Json names it))
  or ``"nestjs"`` (NestJS's ``HttpException``: ``{"statusCode", "message": "text", "error":
  "Conflict"}``, a validation failure's ``message`` a list of messages starting with the
  property, ``"first_name should not be empty"``) or ``"rails"`` (a Rails API controller's: a
  failed validation as the scaffold renders it, ``render json: @patient.errors``, the messages by
  attribute and nothing else, ``{"email": ["is invalid"]}``; any other refusal ``{"error":
  "text"}``; an unknown route ``{"status": 404, "error": "Not Found"}``).
- ``enums``: ``"lower"`` (the values as the reference lists them, ``male``, ``on_hold``),
  ``"upper"`` (as constant names, ``MALE``, ``ON_HOLD``, ``NKDA``: what a service whose enums
  serialize by name writes, as Java's Jackson does by default) or ``"pascal"`` (``Male``,
  ``OnHold``, ``NotReviewed``: .NET enum members written by name, ``StringEnumConverter``).
- ``stand_in_dates``: ``"null"`` (a date or date-time the record has no value for is null)
  or ``"zero"`` (the zero value of a non-nullable date type: ``0001-01-01`` and
  ``0001-01-01T00:00:00Z``, as Go's ``time.Time`` and .NET's ``DateTime.MinValue`` write;
  ``deleted_at`` included, on every record that was never deleted).
- ``defaults``: ``"served"`` or ``"omitted"`` (a field equal to the default the reference
  documents for it is left out, as FastAPI's ``response_model_exclude_defaults`` does: a
  patient's ``status`` ``active`` ("Defaults to 'active'") and ``allergy_review_status``
  ``not_reviewed``, an allergy's ``status_is_active`` true ("Defaults to true"), a
  disease's ``problem_status`` ``active`` and ``function_status`` ``problem``).
- ``decimals``: ``"text"`` (the decimal as stored, ``"150.0"``, ``"0.00"``) or ``"scientific"``
  (what Java's ``BigDecimal.stripTrailingZeros().toString()`` writes: ``"1.5E+2"``, ``"6E+1"``,
  ``"98.6"``, ``"0"``; the reference types these fields only ``string``).
- ``references``: a lightweight reference with no entity behind it (a free-text medication's
  ``medication_definition``) is ``"null"`` or ``"array"``: ``[]``, what PHP's
  ``json_encode`` writes for the empty array a Laravel ``JsonResource`` over null resolves
  to (the reference types the field only ``object``).
- ``patient_deleted_at``: a patient's ``deleted_at`` is ``"served"`` or ``"hidden"``: left out
  of every answer, as a Laravel ``SoftDeletes`` model listing ``deleted_at`` in ``$hidden`` (or
  any serializer excluding the soft-delete column) writes it; an archived patient is then told
  only by its ``status``, ``archived``.
- ``stand_in_numbers``: a vital sign the reading has no value for is ``"null"`` or ``"zero"``:
  ``0`` for the ``integer`` ones (``bp_systolic``, ``pulse``, ``bmi_percentile``, ...) and
  ``"0.00"`` for the decimals (``weight_lbs``, ``temperature_f``, ...), the zero value of a
  non-nullable type (Go's ``int``, C#'s ``int`` and ``decimal``, a ``NOT NULL DEFAULT 0``
  column, as Open Dental's ``vitalsign`` table, whose field names this API follows, stores a
  height or weight not taken). The reference marks none of these fields required, nor says how
  an unmeasured one is written.
- ``wrappers``: a successful answer is the JSON the reference lists (``"none"``), or wrapped in
  ``{"data": ...}``: a single record's (``"records"``: a patient, a vital-signs reading, each
  answer carrying an ``id``; a Laravel API resource, ``JsonResource``, wraps itself so unless
  ``withoutWrapping()`` is called, while the list envelopes, which the reference spells out, are
  written by hand) or every one, the list envelopes too (``"all"``: the response-mapping
  interceptor of NestJS's documentation, ``map(data => ({ data }))``, bound globally). Error
  answers are never wrapped (the interceptor maps only what a handler returns). The reference
  gives each answer's fields at the top level and names no envelope.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from http import HTTPStatus
from typing import Any, Literal

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DOCUMENTED_SHAPES", "ShapedApp", "Shapes"]

Timestamps = Literal["z", "offset", "naive"]
Dates = Literal["date", "datetime", "utc_midnight_local", "local_midnight_utc"]
Scalars = Literal["json", "strings", "digits"]
Nulls = Literal["null", "absent"]
PageInfo = Literal["full", "sparse"]
ErrorBodies = Literal[
    "fastapi", "detail_text", "error_object", "spring", "laravel", "problem_details", "nestjs", "rails"
]
Enums = Literal["lower", "upper", "pascal"]
StandInDates = Literal["null", "zero"]
Defaults = Literal["served", "omitted"]
Decimals = Literal["text", "scientific"]
References = Literal["null", "array"]
StandInNumbers = Literal["null", "zero"]
PatientDeletedAt = Literal["served", "hidden"]
Wrappers = Literal["none", "records", "all"]

# The servers' zones of the shifted `dates`: a UTC midnight written at -05:00, and a +02:00
# midnight written in UTC.
_SERVER_WEST = timezone(timedelta(hours=-5))
_SERVER_EAST = timedelta(hours=2)
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
# The fields the reference lists as enums or as strings "One of" a list of values.
_ENUM_FIELDS = frozenset(
    {"gender", "marital_status", "status", "allergy_review_status", "preferred_confirmation_method"}
    | {"preferred_contact_method", "pronoun", "problem_status", "function_status", "relationship_type"}
    | {"attribution_role", "alert_scope", "communication_source"}
)
# Optional dates and date-times of the records served (`string (date)` / `string (date-time)`).
_OPTIONAL_DATES = frozenset(
    {"date_of_birth", "date_first_visit", "latest_vitals_date", "date_adverse_reaction", "date_start", "date_stop"}
    | {"disable_on"}
)
# `time_taken` too: a `time.Time` holding only a time still writes a date-time.
_OPTIONAL_TIMESTAMPS = frozenset({"deleted_at", "date_time_deceased", "date_disabled", "time_taken"})
# The fields the reference types `string` that hold a decimal (vital signs, balances).
_DECIMAL_FIELDS = frozenset(
    {"bmi", "height_inches", "temperature_f", "weight_lbs", "estimated_balance", "insurance_estimate"}
    | {"balance_0_30", "balance_31_60", "balance_61_90", "balance_over_90", "balance_total", "payment_plan_due"}
)
# The fields the reference types as a "Lightweight reference to a related entity".
_REFERENCE_FIELDS = frozenset(
    {"billing_type", "employer", "fee_schedule", "location", "primary_provider", "secondary_provider"}
    | {"responsible_party", "patient", "provider", "allergy_definition", "medication_definition"}
    | {"disease_definition", "alert_definition"}
)
# The vital signs of a reading, and the zero a non-nullable type of each writes for "not taken"
# (`stand_in_numbers`): the reference types these `integer`, and those `string` (decimals).
_MEASUREMENT_ZEROS: dict[str, int | str] = {
    **dict.fromkeys(
        ("bp_systolic", "bp_diastolic", "pulse", "respiration_rate", "oxygen_saturation", "bmi_percentile"), 0
    ),
    **dict.fromkeys(("bmi", "height_inches", "temperature_f", "weight_lbs"), "0.00"),
}
# Documented defaults, by a field that tells the record's kind: {marker: {field: default}}.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "first_name": {"status": "active", "allergy_review_status": "not_reviewed"},
    "status_is_active": {"status_is_active": True},
    "problem_status": {"problem_status": "active", "function_status": "problem"},
}


@dataclass(frozen=True)
class Shapes:
    timestamps: Timestamps = "z"
    dates: Dates = "date"
    scalars: Scalars = "json"
    nulls: Nulls = "null"
    page_info: PageInfo = "full"
    error_bodies: ErrorBodies = "fastapi"
    enums: Enums = "lower"
    stand_in_dates: StandInDates = "null"
    defaults: Defaults = "served"
    decimals: Decimals = "text"
    references: References = "null"
    stand_in_numbers: StandInNumbers = "null"
    patient_deleted_at: PatientDeletedAt = "served"
    wrappers: Wrappers = "none"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("timestamps", ("z", "offset", "naive")),
            ("dates", ("date", "datetime", "utc_midnight_local", "local_midnight_utc")),
            ("scalars", ("json", "strings", "digits")),
            ("nulls", ("null", "absent")),
            ("page_info", ("full", "sparse")),
            (
                "error_bodies",
                ("fastapi", "detail_text", "error_object", "spring", "laravel", "problem_details", "nestjs", "rails"),
            ),
            ("enums", ("lower", "upper", "pascal")),
            ("stand_in_dates", ("null", "zero")),
            ("defaults", ("served", "omitted")),
            ("decimals", ("text", "scientific")),
            ("references", ("null", "array")),
            ("stand_in_numbers", ("null", "zero")),
            ("patient_deleted_at", ("served", "hidden")),
            ("wrappers", ("none", "records", "all")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")

    @property
    def documented(self) -> bool:
        return self == DOCUMENTED_SHAPES

    def reshape(self, body: Any, status: int, path: str = "") -> Any:
        """`body`, a JSON answer of `status` to a request for `path`, spelled as these switches say."""
        if status >= 400:
            return self._error(body, status, path)
        shaped = self._value(body)
        if self.wrappers == "all" or (self.wrappers == "records" and isinstance(shaped, dict) and "id" in shaped):
            return {"data": shaped}
        return shaped

    def _error(self, body: Any, status: int, path: str) -> Any:
        detail = body.get("detail") if isinstance(body, dict) else None
        if self.error_bodies == "fastapi" or detail is None:
            return body
        if self.error_bodies == "spring":
            return _spring_error(detail, status)
        if self.error_bodies == "laravel":
            return _laravel_error(detail, status, path)
        if self.error_bodies == "problem_details":
            return _problem_details(detail, status)
        if self.error_bodies == "nestjs":
            return _nestjs_error(detail, status)
        if self.error_bodies == "rails":
            return _rails_error(detail, status)
        if isinstance(detail, list):
            text = "; ".join(
                ".".join(str(part) for part in item.get("loc", []) if part not in ("body", "query", "path"))
                + f": {item.get('msg')}"
                for item in detail
                if isinstance(item, dict)
            )
        else:
            text = str(detail)
        if self.error_bodies == "detail_text":
            return {"detail": text}
        return {"error": {"code": status, "message": text}}

    def _value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self._object(value)
        if isinstance(value, list):
            return [self._value(item) for item in value]
        if isinstance(value, bool):
            if self.scalars == "json":
                return value
            return ("true" if value else "false") if self.scalars == "strings" else ("1" if value else "0")
        if isinstance(value, int) and self.scalars != "json":
            return str(value)
        if isinstance(value, str):
            return self._text(value)
        return value

    def _text(self, text: str) -> str:
        if _TIMESTAMP.fullmatch(text):
            return self._zone(text)
        if self.dates != "date" and _DATE.fullmatch(text):
            return self._day(text)
        return text

    def _day(self, day: str) -> str:
        """A date as the `dates` switch writes it: a midnight somewhere, as a date-time."""
        if self.dates == "datetime" or day < "0002":  # a zero date is no date to shift
            return self._zone(f"{day}T00:00:00Z")
        midnight = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
        if self.dates == "utc_midnight_local":
            return midnight.astimezone(_SERVER_WEST).isoformat()
        return self._zone((midnight - _SERVER_EAST).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def _zone(self, stamp: str) -> str:
        if self.timestamps == "offset":
            return stamp[:-1] + "+00:00"
        if self.timestamps == "naive":
            return stamp[:-1]
        return stamp

    def _object(self, value: dict[str, Any]) -> dict[str, Any]:
        sparse = self.page_info == "sparse" and "end_cursor" in value
        if sparse and "has_next_page" in value and not value["has_next_page"]:
            value = {k: v for k, v in value.items() if k not in ("has_next_page", "end_cursor")}
        defaults = self._defaults(value)
        unsaid = "deleted_at" if self.patient_deleted_at == "hidden" and "first_name" in value else None
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == unsaid:
                continue
            if key in defaults and item == defaults[key] and type(item) is type(defaults[key]):
                continue
            if item is None and self.stand_in_dates == "zero":
                item = "0001-01-01" if key in _OPTIONAL_DATES else item
                item = "0001-01-01T00:00:00Z" if key in _OPTIONAL_TIMESTAMPS else item
            if item is None and self.stand_in_numbers == "zero":
                item = _MEASUREMENT_ZEROS.get(key)
            if isinstance(item, str) and key in _ENUM_FIELDS:
                item = self._enum(item)
            if isinstance(item, str) and key in _DECIMAL_FIELDS and self.decimals == "scientific":
                # Python's Decimal writes what BigDecimal.toString does: an exponent once the
                # stripped scale is negative.
                item = str(Decimal(item).normalize())
            if item is None and key in _REFERENCE_FIELDS and self.references == "array":
                item = []
            if item is None and self.nulls == "absent":
                continue
            out[key] = self._value(item)
        return out

    def _enum(self, value: str) -> str:
        if self.enums == "upper":
            return value.upper()
        if self.enums == "pascal":
            return "".join(part.capitalize() for part in value.split("_"))
        return value

    def _defaults(self, value: dict[str, Any]) -> dict[str, Any]:
        """The documented defaults of the record `value` (none unless they are omitted)."""
        if self.defaults == "served":
            return {}
        return {
            field: default
            for marker, fields in _DEFAULTS.items()
            if marker in value
            for field, default in fields.items()
        }


def _spring_error(detail: Any, status: int) -> dict[str, Any]:
    """Spring Boot's `DefaultErrorAttributes` (`include-message: never`), with the binding
    errors of a validation failure."""
    body: dict[str, Any] = {
        "timestamp": "2024-06-01T12:00:00.000+00:00",
        "status": status,
        "error": HTTPStatus(status).phrase,
        "path": "",
    }
    if isinstance(detail, list):
        body["errors"] = [
            {
                "field": ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")),
                "defaultMessage": item.get("msg"),
                "rejectedValue": item.get("input"),
                "code": item.get("type"),
            }
            for item in detail
            if isinstance(item, dict)
        ]
    return body


def _laravel_error(detail: Any, status: int, path: str) -> dict[str, Any]:
    """Laravel's JSON error rendering: the exception's message; a `ValidationException`'s
    errors by field; a `NotFoundHttpException` from the router naming the path."""
    if isinstance(detail, list):
        errors: dict[str, list[str]] = {}
        for item in detail:
            if isinstance(item, dict):
                field = ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query", "path"))
                errors.setdefault(field, []).append(str(item.get("msg")))
        texts = [text for listed in errors.values() for text in listed]
        more = len(texts) - 1
        message = (texts or ["The given data was invalid."])[0]
        if more:
            message += f" (and {more} more error{'s' if more > 1 else ''})"
        return {"message": message, "errors": errors}
    if status == 404 and detail == "Not Found":  # the router's, not a record's
        return {"message": f"The route {path.lstrip('/')} could not be found."}
    return {"message": str(detail)}


def _rails_error(detail: Any, status: int) -> dict[str, Any]:
    """A Rails API controller's: a failed validation as its scaffold renders it, `render json:
    @patient.errors, status: :unprocessable_entity`, the messages by attribute with no envelope
    (`{"email": ["is invalid"]}`); any other refusal as the controller renders it, `{"error":
    "text"}`; an unknown route as ActionDispatch's exceptions app answers in production."""
    if isinstance(detail, list):
        errors: dict[str, list[str]] = {}
        for item in detail:
            if isinstance(item, dict):
                field = ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query", "path", "header"))
                errors.setdefault(field or "base", []).append(str(item.get("msg")))
        return errors
    if status == 404 and detail == "Not Found":  # the router's, not a record's
        return {"status": 404, "error": "Not Found"}
    return {"error": str(detail)}


# The `type` ASP.NET Core gives each status (`ProblemDetailsDefaults`): RFC 9110's section.
_PROBLEM_SECTIONS = {400: "15.5.1", 401: "15.5.2", 403: "15.5.4", 404: "15.5.5", 405: "15.5.6", 409: "15.5.10",
                     410: "15.5.11", 412: "15.5.13", 422: "15.5.21", 500: "15.6.1"}  # fmt: skip
# Errors of the JSON reader (a value it cannot put in the property), keyed by JSON path.
_READER_ERRORS = ("null_refused", "string_type", "int_parsing", "bool_parsing", "date_from_datetime_parsing")


def _problem_details(detail: Any, status: int) -> dict[str, Any]:
    """ASP.NET Core's problem details (`ProblemDetails`, `ValidationProblemDetails`)."""
    section = _PROBLEM_SECTIONS.get(status, "15.5.1" if status < 500 else "15.6.1")
    body: dict[str, Any] = {
        "type": f"https://tools.ietf.org/html/rfc9110#section-{section}",
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if isinstance(detail, list):
        body["title"] = "One or more validation errors occurred."
        errors: dict[str, list[str]] = {}
        for item in detail:
            if isinstance(item, dict):
                where, *names = [str(p) for p in item.get("loc", [])] or ["body"]
                name = ".".join(names)
                if where != "body":
                    key = name
                elif item.get("type") in _READER_ERRORS:
                    key = f"$.{name}"
                else:
                    key = "".join(part.capitalize() for part in name.split("_"))
                errors.setdefault(key, []).append(str(item.get("msg")))
        body["errors"] = errors
    elif detail not in ("Not Found", "Method Not Allowed"):  # the router's carry no detail
        body["detail"] = str(detail)
    body["traceId"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    return body


def _nestjs_error(detail: Any, status: int) -> dict[str, Any]:
    """NestJS's `HttpException` body: `error` the status's reason phrase, the words in `message`;
    ValidationPipe's a list of class-validator's messages, each starting with the property
    (`first_name should not be empty`)."""
    message: Any = str(detail)
    if isinstance(detail, list):
        message = [
            f"{'.'.join(str(p) for p in item.get('loc', []) if p not in ('body', 'query', 'path'))} {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        ]
    return {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}


DOCUMENTED_SHAPES = Shapes()


class ShapedApp:
    """ASGI wrapper: every JSON answer of `app` re-spelled by `shapes` (nothing when documented)."""

    def __init__(self, app: ASGIApp, shapes: Shapes) -> None:
        self.app = app
        self.shapes = shapes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.shapes.documented:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def reshaped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if not body:  # no body to spell (a 204): its headers as they are
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            with contextlib.suppress(orjson.JSONDecodeError):  # not JSON: sent as it is
                body = orjson.dumps(self.shapes.reshape(orjson.loads(body), start["status"], scope.get("path", "")))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reshaped)
