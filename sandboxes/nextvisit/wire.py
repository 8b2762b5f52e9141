"""How a reading (``readings``) writes values on the wire: dates, ids, booleans, nulls, error bodies.

The store renders every record the documented way (ISO ``Z`` times, ISO dates, numeric ids,
JSON booleans, nulls present, Laravel error bodies); ``on_the_wire`` rewrites a rendered
patient for the other readings, and ``ErrorBodyMiddleware`` rewrites error responses. Only
the spelling changes, never the value: a time is the same instant, a date the same day, an
empty array (``with_empty_arrays``) no demographics.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.readings import Readings
from sandboxes.toolkit.aliases import JsonObject

__all__ = ["EXTRA_FIELD", "LOCAL_ZONE", "NO_DATE", "ErrorBodyMiddleware", "nil_if_empty", "on_the_wire",
           "with_empty_arrays", "with_extra_field", "with_shapes"]  # fmt: skip

#: The zone an ``offset`` reading writes its times in (same instants, local offsets).
OFFSET_ZONE = ZoneInfo("America/Chicago")
#: The app timezone of the ``datetimes="local"`` reading: its times are this zone's wall clock,
#: written without an offset (a hosted app's zone, not the practice's: the clinic is in Chicago).
LOCAL_ZONE = ZoneInfo("America/New_York")
#: The app timezone of the ``dates="east"`` reading.
EAST_ZONE = ZoneInfo("Europe/Berlin")
_TIMES = frozenset({"start_time", "end_time", "date_of_service", "encounter_date", "occurred_at"})
_IDS = frozenset({"id", "patient_id", "user_id"})
#: A patient's records the docs never show: keyed in camelCase under ``nested_keys="camel"``.
_UNDOCUMENTED = frozenset({"encounters", "demographics", "latest_medications", "allergies", "timeline"})
#: A patient's lists that the ``empty_lists="null"`` reading writes null when empty (and
#: ``empty_lists="omitted"`` leaves out).
_NIL_SLICES = frozenset({"latest_medications", "timeline", "encounters"})
#: An undocumented field the ``extra_field`` reading adds to each patient (a value that must
#: never reach a log: the drift monitor records names only).
EXTRA_FIELD = ("preferred_pharmacy", "Walgreens #4417, 12 Elm St")


#: What a column that cannot be null writes for no date (``no_dates``): MySQL's zero date and
#: datetime, or Go's zero ``time.Time`` (for a date too), by reading.
NO_DATE = {"zero": ("0000-00-00", "0000-00-00 00:00:00"), "min": ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z")}


def _dated(key: str) -> bool:
    return key in _TIMES or key.endswith("_at") or key == "date_of_birth"


def on_the_wire(value: Any, readings: Readings, key: str = "") -> Any:
    """`value` (a rendered record, or part of one under `key`) as `readings` writes it."""
    if isinstance(value, dict):
        out: JsonObject = {}
        for k, v in value.items():
            if v is None and readings.no_dates != "null" and _dated(k):
                out[k] = NO_DATE[readings.no_dates][k != "date_of_birth"]
            elif v is None and readings.nulls == "absent":
                continue
            elif v == [] and readings.empty_lists == "null" and k in _NIL_SLICES:
                out[k] = None  # Go's encoding/json writes a nil slice as null
            elif v == [] and readings.empty_lists == "omitted" and k in _NIL_SLICES:
                continue  # ...and leaves an empty one tagged `omitempty` out
            elif k == "meta":
                # The client's own free-form object (a FHIR copy among others): left as sent, or
                # its JSON text (a JSON column without an `array` cast).
                out[k] = orjson.dumps(v).decode() if readings.meta_encoding == "string" else v
            else:
                out[k] = on_the_wire(v, readings, k)
            if readings.nested_keys == "camel" and k in _UNDOCUMENTED:
                out[k] = _camel_keys(out[k])
        return out
    if isinstance(value, list):
        return [on_the_wire(item, readings, key) for item in value]
    if isinstance(value, bool):
        return ("1" if value else "0") if readings.booleans == "digits" and key == "signed" else value
    if isinstance(value, int) and key in _IDS and readings.ids == "strings":
        return str(value)
    if isinstance(value, str) and (key in _TIMES or key.endswith("_at")):
        return _datetime(value, readings)
    if isinstance(value, str) and key == "date_of_birth":
        return _date(value, readings)
    return value


def _camel_keys(value: Any) -> Any:
    """`value` with the keys of every object in it camelCased (``start_time`` -> ``startTime``,
    ``address_line1`` -> ``addressLine1``): the ``nested_keys="camel"`` reading."""
    if isinstance(value, dict):
        return {_camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def nil_if_empty(page: bytes, readings: Readings) -> bytes:
    """The body of a page, its ``data`` written null when it lists nobody under
    ``empty_lists="null"`` (a nil slice, as Go's encoding/json writes it), or left out under
    ``empty_pages="omitted"`` (a field tagged ``omitempty``)."""
    if readings.empty_pages == "omitted":
        return page.replace(b'"data":[],', b"", 1)
    if readings.empty_lists != "null":
        return page
    return page.replace(b'"data":[],', b'"data":null,', 1)


def with_shapes(patient: JsonObject, readings: Readings) -> JsonObject:
    """`patient` with the shapes of ``demographics_shape`` and ``no_dates="min"`` (a Go struct
    writes every field: ``deleted_at`` too, zero for a live patient)."""
    out = dict(patient)
    if readings.no_dates == "min":
        out.setdefault("deleted_at", None)
    if readings.encounters_per_page is not None and isinstance(out.get("encounters"), list):
        out["encounters"] = _first_page_of(out["encounters"], readings.encounters_per_page, out["id"])
    demographics = out.get("demographics")
    if isinstance(demographics, dict) and readings.demographics_shape == "list":  # a hasMany of one
        out["demographics"] = [demographics]
    elif isinstance(demographics, dict) and readings.demographics_shape == "nested":
        address = {"line1": demographics["address_line1"], "city": demographics["city"],
                   "state": demographics["state"], "zip_code": demographics["postal_code"]}  # fmt: skip
        phone = demographics["phone"]
        out["demographics"] = {"email": demographics["email"], "mobile_phone": phone, "address": address}
    return out


def _first_page_of(encounters: list[Any], per_page: int, patient_id: Any) -> JsonObject:
    """`encounters` as Laravel's paginated resource collection of the relation, its first page
    (``encounters_per_page``): links to the show's own route with ``page``."""
    last = max(math.ceil(len(encounters) / per_page), 1)
    path = f"/v1/patients/{patient_id}"
    shown = encounters[:per_page]
    return {
        "data": shown,
        "links": {
            "first": f"{path}?page=1",
            "last": f"{path}?page={last}",
            "prev": None,
            "next": f"{path}?page=2" if last > 1 else None,
        },
        "meta": {
            "current_page": 1,
            "from": 1 if shown else None,
            "last_page": last,
            "path": path,
            "per_page": per_page,
            "to": len(shown) or None,
            "total": len(encounters),
        },
    }


def with_extra_field(patient: JsonObject, readings: Readings) -> JsonObject:
    """`patient` with the undocumented field of the ``extra_field`` reading, when it is on."""
    if not readings.extra_field:
        return patient
    return {**patient, EXTRA_FIELD[0]: EXTRA_FIELD[1]}


def with_empty_arrays(patient: JsonObject, readings: Readings) -> JsonObject:
    """`patient` with no demographics written ``[]`` under ``empty_demographics="array"`` (PHP
    encodes an empty array so); as it is otherwise, or when its demographics are not included."""
    if readings.empty_demographics != "array" or "demographics" not in patient or patient["demographics"] is not None:
        return patient
    return {**patient, "demographics": []}


_TIME_OF_DAY = re.compile(r"\d{2}:\d{2}:\d{2}")


def _datetime(text: str, readings: Readings) -> str | int:
    """``2024-01-05T10:00:00Z`` as the reading writes it (an impossible day stays impossible,
    as text: no number is one). A time of day alone (a TIME column: the ``day_and_times``
    encounter) is no instant: written as it is."""
    if _TIME_OF_DAY.fullmatch(text):
        return text
    if readings.datetimes == "epoch_ms":
        try:
            return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return text
    if readings.datetimes == "micro":
        return text.removesuffix("Z") + ".000000Z"
    if readings.datetimes == "http":  # Werkzeug's `http_date`, as Flask's `jsonify` writes a datetime
        try:
            return format_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC), usegmt=True)
        except ValueError:
            return text
    if readings.datetimes == "sql":
        return text[:10] + " " + text[11:19]
    if readings.datetimes == "local":
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(LOCAL_ZONE)
        except ValueError:
            return text.removesuffix("Z")
        return moment.replace(tzinfo=None).isoformat()
    if readings.datetimes == "offset":
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(OFFSET_ZONE).isoformat()
        except ValueError:
            return text.removesuffix("Z") + "-06:00"
    return text


def _date(text: str, readings: Readings) -> str:
    if readings.dates == "us" and len(text) == 10:
        return f"{text[5:7]}/{text[8:10]}/{text[:4]}"
    if readings.dates == "http" and len(text) == 10:  # Flask's `jsonify`: the date's midnight, in GMT
        return format_datetime(datetime.combine(date.fromisoformat(text), time(0, 0), tzinfo=UTC), usegmt=True)
    if readings.dates == "datetime" and len(text) == 10:
        return text + "T00:00:00.000000Z"  # Laravel's `date` cast, serialised at UTC midnight
    if readings.dates == "east" and len(text) == 10:
        # The same cast in an app whose timezone is Europe/Berlin: Carbon's toJSON() writes
        # that local midnight in UTC, the evening before.
        midnight = datetime.combine(date.fromisoformat(text), time(0, 0), tzinfo=EAST_ZONE)
        return midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    return text


class ErrorBodyMiddleware:
    """Rewrites the JSON body of every error response (status 400 and up) the way the
    ``errors`` reading says: ``{"error": "<message>"}``, or the message as plain text, or as
    Rails answers (a 422's field errors as the body itself, ``{"status", "error"}`` otherwise),
    or as FastAPI does (``{"detail": [pydantic's errors]}`` for a 422, ``{"detail": "<message>"}``),
    or as NestJS does (``{"statusCode", "message", "error": "<reason phrase>"}``, ``message`` the
    list of validation messages for a 422)."""

    def __init__(self, app: ASGIApp, readings: Readings) -> None:
        self.app = app
        self.readings = readings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.readings.errors == "laravel":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] < 400:
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._send_error(start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _send_error(self, start: Message, body: bytes, send: Send) -> None:
        fields: object = None
        try:
            parsed = orjson.loads(body)
            message = str(parsed.get("message", ""))
            fields = parsed.get("errors")
        except (orjson.JSONDecodeError, AttributeError):
            message = body.decode(errors="replace")
        if self.readings.errors == "rails":  # `render json: @patient.errors`, else the exceptions app's
            rails = fields if isinstance(fields, dict) and fields else {"status": start["status"], "error": message}
            out, media = php_json(rails), b"application/json"
        elif self.readings.errors == "fastapi":  # RequestValidationError's list, else HTTPException's detail
            detail: object = message
            if isinstance(fields, dict) and fields:
                detail = [{"type": "value_error", "loc": ["body", field], "msg": f"Value error, {text}", "input": None}
                          for field, texts in fields.items() for text in texts]  # fmt: skip
            out, media = php_json({"detail": detail}), b"application/json"
        elif self.readings.errors == "nestjs":  # HttpException; ValidationPipe's messages as a list
            status = start["status"]
            # class-validator's messages start with the property: `last_name should not be empty`.
            said: object = (
                [f"{field} {text[:1].lower()}{text[1:]}" for field, texts in fields.items() for text in texts]
                if isinstance(fields, dict) and fields
                else message
            )
            nest = {"statusCode": status, "message": said, "error": HTTPStatus(status).phrase}
            out, media = php_json(nest), b"application/json"
        elif self.readings.errors == "error":
            out, media = php_json({"error": message}), b"application/json"
        else:
            out, media = message.encode(), b"text/plain; charset=UTF-8"
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")]
        headers += [(b"content-type", media), (b"content-length", str(len(out)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": out})
