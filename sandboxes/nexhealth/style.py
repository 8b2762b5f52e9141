"""How an answer is written under a ``Reading``: timestamps, scalars, nulls, phones, names.

The store keeps each record in the documented simulator's form (``render``) and searches
that; ``styled`` rewrites a copy as the reading serves it, just before it is serialized:
- timestamps (``...T20:16:57.007Z``) as ``+00:00`` or without the fraction;
- numbers and booleans as strings (``"id": "415"``, ``"inactive": "false"``);
- optional fields without a value left out instead of ``null``, or, text fields, ``""``;
- phone numbers formatted (``(516) 304-2196``) when phones are stored as formatted text, or
  in E.164 (``+15163042196``);
- person names decomposed (NFD) when names are stored so;
- ``gender`` spelled as the ``genders`` reading spells it (``male``, ``M``);
- a timestamp never set as Go's zero time (``0001-01-01T00:00:00Z``) under ``unset_times``;
- a date of birth never recorded as a zero date (``0001-01-01``, or Go's zero time) under
  ``birth_date_unset="zero"``;
- a patient's ``gender`` out of ``bio``, at its top level, under ``gender_at="top"``;
- ``date_of_birth`` as a midnight UTC instant under ``birth_dates="datetime"``, a Berlin
  midnight in UTC under ``"east_midnight"``, the UTC midnight in Eastern Time under ``"zoned"``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time
from typing import Any

from sandboxes.nexhealth.new_patient import GENDERS, SPELLINGS
from sandboxes.nexhealth.readings import BIRTH_APP_ZONE, BIRTH_SERVER_ZONE, Reading
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.phones import format_us_phone

__all__ = ["count_bytes", "styled"]

_MILLIS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONES = frozenset({"phone_number", "cell_phone_number", "home_phone_number"})
_NAMES = frozenset({"first_name", "middle_name", "last_name", "name"})
_TIMES = ("_time", "_at")  # the keys of timestamps (`end_time`, `checkin_at`, `last_sync_time`)
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's time.Time{} (``unset_times="zero"``)
_ZERO_DATE = "0001-01-01"  # .NET's default(DateOnly) (``birth_date_unset="zero"``)
# The text fields of patients, appointments and providers, written ``""`` without a value under
# ``nulls="empty"`` (Go's zero string); ids, flags and times are no text.
_TEXTS = frozenset(
    {"email", "first_name", "middle_name", "last_name", "name", "display_name", "npi", "foreign_id",
     "foreign_id_type", "date_of_birth", "phone_number", "cell_phone_number", "home_phone_number",
     "gender", "street_address", "city", "state", "zip_code", "note", "provider_name", "timezone"}
)  # fmt: skip


def styled(doc: JsonObject, reading: Reading) -> JsonObject:
    """`doc` as `reading` writes it (a copy; `doc` itself is not changed)."""
    out: JsonObject = {}
    bio = doc.get("bio")
    if reading.gender_at == "top" and isinstance(bio, dict) and "gender" in bio:
        doc = {**doc, "gender": bio["gender"], "bio": {k: v for k, v in bio.items() if k != "gender"}}
    for key, value in doc.items():
        if key == "location_ids" and reading.location_ids == "absent":
            continue
        value = _value(key, value, reading)
        if value is None and reading.unset_times == "zero" and key.endswith(_TIMES):
            value = _ZERO_TIME
        if value is None and reading.birth_date_unset == "zero" and key == "date_of_birth":
            value = _ZERO_DATE if reading.birth_dates == "date" else _ZERO_TIME
        if value is None and reading.nulls == "absent":
            continue
        if value is None and reading.nulls == "empty" and key in _TEXTS:
            value = ""
        out[key] = value
    return out


def _value(key: str, value: Any, reading: Reading) -> Any:
    if isinstance(value, dict):
        return styled(value, reading)
    if isinstance(value, list):
        return [_value(key, item, reading) for item in value]
    if isinstance(value, bool):
        return ("true" if value else "false") if reading.scalars == "strings" else value
    if isinstance(value, int):
        return str(value) if reading.scalars == "strings" else value
    if not isinstance(value, str):
        return value
    if key == "date_of_birth" and reading.birth_dates != "date" and _DATE.fullmatch(value):
        value = _birth_instant(date.fromisoformat(value), reading)  # then written as the reading writes times
    if _MILLIS.fullmatch(value):
        if reading.timestamps == "offset":
            return value[:-1] + "+00:00"
        if reading.timestamps == "seconds":
            return value[:-5] + "Z"
    if key in _PHONES and reading.phones == "as_stored":
        return format_us_phone(value)
    if key in _PHONES and reading.phones == "e164":  # ten digits kept: the North American +1
        return "+1" + value
    if key == "gender" and value in GENDERS:
        return SPELLINGS[reading.genders][GENDERS.index(value)]
    if key in _NAMES and reading.name_accents == "sensitive_nfd":
        return unicodedata.normalize("NFD", value)
    return value


def _birth_instant(born: date, reading: Reading) -> str:
    """A date of birth as the date-time `reading.birth_dates` serves (see ``readings``)."""
    if reading.birth_dates == "east_midnight":  # JavaScript's Date.toJSON(): UTC, milliseconds
        return datetime.combine(born, time(), BIRTH_SERVER_ZONE).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if reading.birth_dates == "zoned":  # ActiveSupport::TimeWithZone#as_json: xmlschema(3)
        return datetime.combine(born, time(), UTC).astimezone(BIRTH_APP_ZONE).isoformat(timespec="milliseconds")
    return f"{born.isoformat()}T00:00:00.000Z"  # a JavaScript Date of the UTC midnight


def count_bytes(count: int, reading: Reading) -> bytes | None:
    """The envelope's ``count`` as `reading` writes it (None: left out)."""
    if reading.count == "absent":
        return None
    return f'"{count}"'.encode() if reading.scalars == "strings" else str(count).encode()
