"""Nextech's answers as declared models: every shape its docs allow or leave open (pure).

vendor-docs/nextech-api.txt gives the patient and encounter models by example only
(`"patientId": 0`, `"dob": "2017-12-14T15:08:59.934Z"`, `encounterLocked` typed "string" with
a boolean example) and no envelope, so each model reads:
- ids (`patientId`, `encounterId`, `doctorId`) as JSON numbers or strings;
- keys in camelCase, as documented, or PascalCase (ASP.NET Web API's default serializer),
  acronyms upper case or not (`PatientID`, `DOB`, `CCD`), or snake_case (`patient_id`: Rails'
  `render json:`, Django's `ModelSerializer`);
- `dob` (typed "date") as a date or a date-time (`Z`, an offset or none: the day the midnight
  it is holds, `mappings.fhirjson.midnight_day`: UTC midnight shown in a zone west or east of
  it, `1985-03-14T19:00:00-05:00`, is 1985-03-15, and so is a server's midnight written in UTC,
  `1985-03-14T23:00:00Z` from a +01:00 host), or `MM/DD/YYYY`; `encounterDate` as a date-time
  with `Z` or an offset, or without a zone (UTC, as the docs' type column says "UTC date /
  time"), or `MM/DD/YYYY hh:mm[:ss] [AM|PM]`;
- either date also as an RFC 822/1123 date (`Sun, 02 Apr 1961 00:00:00 GMT`: what Flask's JSON
  provider writes for a date or datetime no schema formats), or a Microsoft JSON date
  (`/Date(1513264139934)/`: ASP.NET MVC's JavaScriptSerializer, WCF, Json.NET's
  MicrosoftDateFormat), or an epoch number, seconds or milliseconds, a JSON number or a
  numeric string (Jackson's `java.util.Date`, a PHP team's unix-time column: `_epoch`), or as
  Java's and PHP's libraries write them by default: Jackson's JavaTimeModule arrays
  (`[1985, 3, 15]`), Gson's `Dec 14, 2017, 3:08:59 PM`, `ZonedDateTime`'s `...-06:00[America/
  Chicago]`, PHP's `{"date", "timezone_type", "timezone"}`, Ruby's `2017-12-14 15:08:59 UTC`;
- no date: null, absent, empty, or a stand-in a non-nullable column writes for it: .NET's
  `DateTime.MinValue` (`0001-01-01T00:00:00`) or MySQL's zero date (`0000-00-00`);
- `encounterLocked` ("Whether ... has been locked", typed string): a boolean,
  `"true"`/`"True"`/`"1"`/`1`/`"Y"`/`"T"` (a one-letter flag column) and their opposites,
  the note's state as a word (`"Locked"`/`"Open"`), absent (not locked), or a date-time: when
  it was locked (null or no date: not locked);
- optional fields null or absent; strings served decomposed (NFD) are read in NFC; a chart
  number padded with blanks (a `char(n)` column) and names with blanks around them as without;
- the CCD as HTML text, or as the base64 of its bytes (a `byte[]`, which the docs' "string"
  also describes: UTF-8, UTF-16 with or without its byte order mark, or the charset its
  `<meta>` declares, windows-1252 by default, as the HTML standard sniffs it), or escaped
  on its way out: entity-escaped whole or block by block inside its page, or JSON-encoded
  once more (markup still escaped after that is unreadable, never served as text);
- lists bare (their pages perhaps described in headers: `X-Pagination`, `Link`) or inside an
  envelope (`value`, `data`, `results`, `items`, or the one list an object holds, or HAL's
  `_embedded`, which is left out when nothing matched), pages counted from 1 or, as Spring
  Data's `Page` counts them, from 0, or by offset (`offset`/`limit`, `skip`/`take`, ABP's
  `skipCount` of a `{"totalCount", "items"}` that says nothing more, OData's `$skip`); and an
  encounter as `{"summary": {...}, "ccd": ...}` or flat; any answer perhaps inside ASP.NET
  Boilerplate's default wrapper (`{"result": ..., "success": true, "__abp": true}`).
Only what cannot mean anything (an id that is no id, a date that is no date) makes a record
unreadable: `Unreadable` carries the field path, never a value.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, ValidationError, model_validator
from pydantic_core import ErrorDetails

from gateway.contract import VendorModel
from gateway.contract.lenient import Text
from gateway.text import nfc
from mappings.fhirjson import midnight_day

ENVELOPE_KEYS = ("value", "data", "results", "items", "patients", "encounters", "categories", "sections")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?")
_TRUE = frozenset({"true", "1", "yes", "y", "t", "locked"})
# "open": the chart note's state said as a word (`Locked` / `Open`) in the string the docs type
# `encounterLocked` as; before, every encounter whose note was open was unreadable.
_FALSE = frozenset({"false", "0", "no", "n", "f", "unlocked", "open", ""})
# Stand-ins for "no date" in columns that cannot be null: MySQL's zero date, .NET's DateTime.MinValue.
_ZERO_DATE = re.compile(r"0000-00-00\b|00/00/0000\b")
_NO_YEAR = 1


# -- scalar readers ---------------------------------------------------------------------------


def _vendor_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value  # kept as written: an id is matched as the vendor spells it
    raise ValueError("is not an id")


def _optional_id(value: Any) -> Any:
    return None if value is None or value == "" else _vendor_id(value)


def _us_date(value: str) -> datetime | None:
    found = _US_DATE.fullmatch(value.strip())
    if found is None:
        return None
    month, day, year, hour, minute, second, half = found.groups()
    hours = int(hour or 0)
    if half:
        hours = hours % 12 + (12 if half.lower() == "pm" else 0)
    return datetime(int(year), int(month), int(day), hours, int(minute or 0), int(second or 0))


# RFC 822/1123 dates, as Flask's JSON provider writes every date and datetime it is given
# (`Sun, 02 Apr 1961 00:00:00 GMT`) when no schema formats them.
_HTTP_DATE = re.compile(
    r"[A-Za-z]{3},\s*\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s+(?:GMT|UTC|[+-]\d{4})"
)


def _http_date(value: str) -> datetime | None:
    """An aware datetime for an RFC 822/1123 date (`Sun, 12 Oct 2025 02:45:00 GMT`); else None."""
    text = value.strip()
    if _HTTP_DATE.fullmatch(text) is None:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


# The Microsoft JSON date: `/Date(<milliseconds since 1970 UTC>[+-hhmm])/`, as ASP.NET MVC's
# `Controller.Json()` (JavaScriptSerializer), WCF's DataContractJsonSerializer and Json.NET with
# `DateFormatHandling.MicrosoftDateFormat` write a DateTime (the JSON text escapes the slashes,
# `\/Date(...)\/`, which decodes the same). The milliseconds are the instant; the offset a
# local DateTime is written with only says where it was local.
_MICROSOFT_DATE = re.compile(r"/?Date\((-?\d{1,15})([+-]\d{4})?\)/?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _microsoft_date(value: str) -> datetime | None:
    """An aware UTC datetime for a Microsoft JSON date (`/Date(1513264139934)/`); else None."""
    found = _MICROSOFT_DATE.fullmatch(value.strip())
    if found is None:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=int(found.group(1)))
    except OverflowError:  # past the years Python takes (DateTime.MinValue is not)
        return None


# Epoch numbers. The docs show both dates only by example (`"2017-12-14T15:08:59.934Z"`) and
# type them "date" and "UTC date / time", naming no format: a Java team's Jackson writes a
# `java.util.Date` as milliseconds since 1970 (`WRITE_DATES_AS_TIMESTAMPS`, on unless Spring
# Boot turns it off), JavaTimeModule an `Instant` as decimal seconds (`1513264139.934000000`),
# and a PHP team's INT unix-time column comes out of PDO's MySQL driver as a string
# (`"1513264139"`). Seconds or milliseconds: a number read as seconds is taken as seconds when
# it falls in `_SECONDS_YEARS` (births of the living, visits of a chart), else as milliseconds
# (a birth of 1966-1973 in milliseconds: as seconds, a year before or after them; any later
# date in milliseconds: as seconds, past the year 5000). What stays ambiguous is milliseconds
# within some 36 days of 1970-01-01 (1969-12-25 to 1970-02-06), read as seconds.
_EPOCH_NUMBER = re.compile(r"-?\d{1,16}(?:\.\d{1,9})?")
_SECONDS_YEARS = range(1870, 2070)


def _epoch(value: Any) -> datetime | None:
    """An aware UTC datetime for an epoch number (a JSON number or a numeric string, seconds or
    milliseconds); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str):
        if _EPOCH_NUMBER.fullmatch(value.strip()) is None:
            return None
        value = float(value) if "." in value else int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        moment = _EPOCH + timedelta(seconds=value)
    except OverflowError:  # out of the years Python takes: no number of seconds
        pass
    else:
        if moment.year in _SECONDS_YEARS:
            return moment
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except OverflowError:  # past the years Python takes
        return None


# Java's defaults. Jackson's JavaTimeModule with `WRITE_DATES_AS_TIMESTAMPS` on (a plain
# `ObjectMapper`'s and Dropwizard's default; Spring Boot turns it off) writes a `LocalDate` as
# `[1985, 3, 15]` and a `LocalDateTime` as `[2017, 12, 14, 15, 8, 59, 934000000]` (seconds and
# nanoseconds left out when zero). Gson without `setDateFormat` writes a `java.util.Date` in
# the US locale's default style, `Dec 14, 2017 3:08:59 PM` (JDK 8), `Dec 14, 2017, 3:08:59 PM`
# (JDK 9-19) or with a narrow no-break space before `PM` (JDK 20 on), in the server's zone.
_GSON_DATE = re.compile(
    r"([A-Za-z]{3})\.? (\d{1,2}), (\d{4})(?:,? (\d{1,2}):(\d{2})(?::(\d{2}))?[\s\u202f\u00a0]*([AaPp][Mm]))?"
)
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip
# PHP's `json_encode` of a `DateTime`: `{"date": "2017-12-14 15:08:59.934000", "timezone_type":
# 3, "timezone": "UTC"}`; the zone an identifier (type 3), an offset (1) or an abbreviation (2).
_UTC_NAMES = frozenset({"utc", "gmt", "z", "zulu", "universal"})
# Java's `ZonedDateTime.toString()` (and Jackson's `WRITE_DATES_WITH_ZONE_ID`) names the zone
# after the offset: `2017-12-14T09:08:59.934-06:00[America/Chicago]`; the offset says the instant.
_ZONE_ID = re.compile(r"\[[A-Za-z0-9/_+\-]+\]$")
# A zone written as a word after the time: Ruby's `Time#to_s` (`2017-12-14 15:08:59 UTC`, what
# the json gem writes for a Time without ActiveSupport), Go's `Time.String()` (`... +0000 UTC`).
_UTC_WORD = re.compile(r"(\d)\s*(?:UTC|GMT|Z)$", re.IGNORECASE)
_ZONE_WORD = re.compile(r"\s+([+-]\d{2}:?\d{2})(?:\s+[A-Za-z]{2,5})?$")


def _gson_date(text: str) -> datetime | None:
    """A naive datetime for a date as Gson writes it by default; else None."""
    found = _GSON_DATE.fullmatch(text.strip())
    month = _MONTHS.get(found.group(1).casefold()) if found else None
    if found is None or month is None:
        return None
    _, day, year, hour, minute, second, half = found.groups()
    hours = int(hour or 0) % 12 + (12 if half and half.lower() == "pm" else 0)
    try:
        return datetime(int(year), month, int(day), hours, int(minute or 0), int(second or 0))
    except ValueError:
        return None


def _java_fields(value: list[Any]) -> datetime | None:
    """A naive datetime for Jackson's array of a `LocalDate` or `LocalDateTime`; else None."""
    if not 3 <= len(value) <= 7 or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        return None
    year, month, day, hour, minute, second, nanos = [*value, 0, 0, 0, 0][:7]
    try:
        return datetime(year, month, day, hour, minute, second, nanos // 1000)
    except ValueError:
        return None


def _php_datetime(value: dict[str, Any]) -> datetime | None:
    """An aware datetime for PHP's `json_encode` of a `DateTime`; else None (a zone it does not
    name as an identifier, an offset or UTC's abbreviation is no zone known)."""
    written, zone = value.get("date"), value.get("timezone")
    if not isinstance(written, str) or not isinstance(zone, str):
        return None
    try:
        moment = datetime.fromisoformat(written.strip())
        if zone.strip().casefold() in _UTC_NAMES:
            return moment.replace(tzinfo=UTC)
        if zone.strip()[:1] in ("+", "-"):
            return datetime.fromisoformat(f"{written.strip()}{zone.strip()}")
        return moment.replace(tzinfo=ZoneInfo(zone.strip()))
    except (ValueError, ZoneInfoNotFoundError):
        return None


def _structured(value: Any) -> tuple[datetime, bool] | None:
    """(the moment, whether it is a date alone) of a date written as a JSON array or object
    (Jackson's, PHP's); None for anything else."""
    if isinstance(value, list):
        moment = _java_fields(value)
        return (moment, len(value) == 3) if moment is not None else None
    if isinstance(value, dict):
        moment = _php_datetime(value)
        return (moment, False) if moment is not None else None
    return None


def _no_date(text: str) -> bool:
    return not text or _ZERO_DATE.match(text) is not None


def _birth_date(value: Any) -> Any:
    """The day of a `dob` (typed "date", vendor-docs/nextech-api.txt, though its example is a
    date-time): as written, or, for a date-time, the day of the midnight it holds
    (`midnight_day`: a UTC-midnight DateTime served in the practice's zone,
    `1985-03-14T19:00:00-05:00`, or a server's midnight written in UTC, `1985-03-14T23:00:00Z`,
    is 1985-03-15). None for no date."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and (moment := _epoch(value)) is not None:
        return midnight_day(moment.isoformat(), moment.date())
    if (structured := _structured(value)) is not None:
        moment, date_alone = structured
        return moment.date() if date_alone else midnight_day(moment.isoformat(), moment.date())
    if isinstance(value, str):
        text = value.strip()
        if _no_date(text):
            return None
        try:
            written = date.fromisoformat(text[:10])
        except ValueError:
            us = _us_date(text) or _http_date(text) or _microsoft_date(text) or _gson_date(text) or _epoch(text)
            if us is not None:
                return None if us.year == _NO_YEAR else midnight_day(us.isoformat(), us.date())
        else:
            if written.year == _NO_YEAR:
                return None
            return written if len(text) == len("YYYY-MM-DD") else midnight_day(text, written)
    raise ValueError("is not a date")


def _instant(value: Any) -> Any:
    """An aware UTC datetime; a value without a zone is UTC (the docs: "UTC date / time");
    None for no date."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and (moment := _epoch(value)) is not None:
        return moment
    if (structured := _structured(value)) is not None:
        moment = structured[0]
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if isinstance(value, str):
        text = _ZONE_ID.sub("", value.strip()) if "T" in value else value.strip()
        text = _UTC_WORD.sub(r"\1+00:00", _ZONE_WORD.sub(r"\1", text)) if text[:4].isdigit() else text
        if _no_date(text):
            return None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            us = _us_date(text) or _http_date(text) or _microsoft_date(text) or _gson_date(text) or _epoch(text)
            if us is None:
                raise ValueError("is not a date-time") from None
            parsed = us
        if parsed.year == _NO_YEAR:  # DateTime.MinValue (any zone shift of it stays in year 1)
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ValueError("is not a date-time")


def _flag(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, (int, float, list, dict)):  # when it was locked: an epoch number, Jackson's, PHP's
        try:
            return _instant(value) is not None
        except ValueError:
            pass
    if isinstance(value, str):
        text = value.strip()
        if text.casefold() in _TRUE | _FALSE:
            return text.casefold() in _TRUE
        try:
            return _instant(text) is not None  # when it was locked; a zero date: never
        except ValueError:
            pass
    raise ValueError("is not a boolean")


def _unpadded(value: str | None) -> str | None:
    """A value without the blanks after it: a SQL Server `char(n)` column serves its value
    padded to its width (`"C20101    "`). SQL Server's `=` ignores trailing blanks, so the value
    without them is the one Nextech matches a term with, and the one a FHIR id or identifier
    can carry (an id cannot hold a blank at all)."""
    return value.rstrip() if value is not None else None


def _trimmed(value: str | None) -> str | None:
    """A name or phone number without blanks around it: legacy rows keep a blank typed after a
    name (`"Ngozi "`), which is no part of it (a `given:exact=Ngozi` would miss it). A chart
    number keeps its leading blanks, which `=` does not ignore (`_unpadded`)."""
    return value.strip() if value is not None else None


_WHITESPACE = re.compile(r"\s+")


def _from_base64(value: str) -> str:
    """The docs type the CCD "string", which is also how Swagger documents a `byte[]` (`type:
    string`, `format: byte`): a CCD held as bytes (a `varbinary` column, a renderer's
    `MemoryStream.ToArray()`) is written by Json.NET, System.Text.Json and Jackson as base64,
    line-broken by a MIME encoder. Before, that base64 was served as the CCD's HTML (a page of
    letters). Text holding no `<` that decodes as base64 to text starting with markup is that
    markup (UTF-8, or UTF-16 with its byte order mark); anything else is as written."""
    if "<" in value:
        return value
    compact = _WHITESPACE.sub("", value)
    if not compact:
        return value
    try:
        raw = base64.b64decode(compact, altchars=b"-_" if "-" in compact or "_" in compact else None, validate=True)
    except (binascii.Error, ValueError):
        return value
    text = _decoded(raw)
    # Text that came as bytes did not pass the gateway's NFC with the rest of the answer.
    return nfc(text) if text is not None and text.lstrip().startswith("<") else value


# A `<meta charset="...">` or `<meta http-equiv="Content-Type" content="...; charset=...">`.
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
# Labels the WHATWG Encoding Standard reads as windows-1252 (its "Legacy single-byte
# encodings"): a page declaring Latin-1 or ASCII is decoded as windows-1252 by every browser.
_WINDOWS_1252_LABELS = frozenset(
    {"windows-1252", "cp1252", "latin1", "iso-8859-1", "iso8859-1", "l1", "us-ascii", "ascii", "cp819"}
)


def _decoded(raw: bytes) -> str | None:
    """A document's bytes as text, its encoding sniffed as the HTML standard's "encoding
    sniffing algorithm" does: a byte order mark, then a `<meta>` charset in the first 1024
    bytes, else windows-1252 (also when the declared charset does not decode them). Two steps
    come before the `<meta>`: UTF-16 with no mark is known by its zero bytes (markup starts
    with ASCII, which UTF-16 writes with a zero byte, and no other text holds one), and bytes
    that are valid UTF-8 are UTF-8 (a template's `<meta>` may say otherwise; text in a legacy
    charset is almost never valid UTF-8). .NET's `Encoding.Unicode.GetBytes` writes no mark; a
    .NET Framework team's `Encoding.Default`, or a Java team's `getBytes()` under Cp1252,
    writes windows-1252 under its `<meta>`. Before, each was served as its base64 (a page of
    letters). None when it cannot be decoded."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif len(raw) >= 2 and raw[0] != 0 and raw[1] == 0:
        encodings = ["utf-16-le"]
    elif len(raw) >= 2 and raw[0] == 0 and raw[1] != 0:
        encodings = ["utf-16-be"]
    else:  # a UTF-8 byte order mark is no part of the text
        declared = _META_CHARSET.search(raw[:1024])
        label = declared[1].decode("ascii").casefold() if declared else "windows-1252"
        # windows-1252 last: a `<meta>` saying UTF-8 that the encoder did not follow.
        encodings = ["utf-8-sig", "cp1252" if label in _WINDOWS_1252_LABELS else label, "cp1252"]
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):  # not that, or a charset Python does not know
            continue
    return None


# Markup: an element of a document's structure, opened and closed (`<table ...>...</table>`).
# Found in text that holds no real tag, or between real tags, it is markup escaped on its way
# out: no clinic value holds a table, a heading or a division with its closing tag.
_ELEMENT = re.compile(
    r"<(html|body|div|section|table|caption|thead|tbody|tr|th|td|h[1-6]|p|ul|ol|li)\b[^<>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_MARKUP_START = re.compile(r"\s*<(?:!doctype\b|[a-z][a-z0-9]*\b)", re.IGNORECASE)
_JSON_ESCAPED_MARKUP = re.compile(r"\\u003c", re.IGNORECASE)
_REAL_TAG = re.compile(r"<[^<>]*>")
# At most this many layers of escaping are taken off (`&amp;lt;` is two); markup found under
# more of them (looked for under `_LAYERS_LOOKED_AT`) is refused rather than shown as text.
_ESCAPING_LAYERS = 3
_LAYERS_LOOKED_AT = 8


def _revealed(text: str) -> str | None:
    """`text` with the layers of entity escaping taken off that make it markup
    (`&lt;table&gt;...&lt;/table&gt;`, or `&amp;lt;...` escaped twice); None when none does.
    Markup under more than `_ESCAPING_LAYERS` is unreadable (ValueError)."""
    for layer in range(1, _LAYERS_LOOKED_AT + 1):
        if "&" not in text:
            return None
        text = html.unescape(text)
        if _ELEMENT.search(text):
            if layer > _ESCAPING_LAYERS:
                raise ValueError("is markup escaped more times than can be read")
            return text
    return None


def _json_string(text: str) -> str | None:
    """The markup a JSON string literal (`"<!DOCTYPE html>\\n..."` with its quotes) or its
    escaped content (`\\u003c!DOCTYPE html\\u003e`) holds; None when it holds none."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        candidate = stripped
    elif "<" not in text and _JSON_ESCAPED_MARKUP.search(text):
        candidate = f'"{stripped}"'
    else:
        return None
    try:
        inner = json.loads(candidate)
    except ValueError:
        return None
    if not isinstance(inner, str):
        return None
    # Markup, or markup under more escaping (JSON-encoded twice, entity-escaped then encoded).
    held = _MARKUP_START.match(inner) or _json_string(inner) is not None or ("<" not in inner and _revealed(inner))
    return inner if held else None


def _unescaped(text: str) -> str:
    """The CCD's markup however its answer escaped it (the docs: "CCD in HTML format"): whole,
    entity-escaped by an output encoder (`&lt;!DOCTYPE html&gt;...`: Spring's
    `HtmlUtils.htmlEscape`, ASP.NET's `HtmlEncode`); the blocks of a page escaped inside it (a
    Rails `<%= block %>` or Razor `@block` of a string not marked safe, auto-escaped:
    `<div class="section">&lt;h2&gt;...</div>`); or JSON-encoded once more (`"\\"<!DOCTYPE
    html>\\\\n...\\""`, a page kept as `json.dumps` wrote it). Before, each was served as text
    showing its tags. Markup still escaped after `_ESCAPING_LAYERS` is unreadable (ValueError):
    escaped markup is never served as the CCD's text."""
    for _ in range(_ESCAPING_LAYERS):
        layer = _escaping_taken_off(text)
        if layer is None:
            return text
        text = layer
    if _escaping_taken_off(text) is not None:
        raise ValueError("is markup escaped more times than can be read")
    return text


def _escaping_taken_off(text: str) -> str | None:
    """`text` with one layer of escaping taken off (`_unescaped`); None when it has none."""
    inner = _json_string(text)
    if inner is not None:
        return inner
    if "<" not in text:
        return _revealed(text)
    pieces = _REAL_TAG.split(text)
    revealed = [_revealed(piece) for piece in pieces]
    if all(found is None for found in revealed):
        return None
    kept = [piece if found is None else found for piece, found in zip(pieces, revealed, strict=True)]
    return "".join(piece + tag for piece, tag in zip(kept, [*_REAL_TAG.findall(text), ""], strict=True))


def _ccd_html(value: str | None) -> str | None:
    """The CCD as HTML text: as written, from the base64 of its bytes (`_from_base64`), or with
    the escaping its answer added taken off (`_unescaped`)."""
    if value is None:
        return None
    return _unescaped(_from_base64(value))


VendorId = Annotated[str, BeforeValidator(_vendor_id)]
CcdHtml = Annotated[Text, AfterValidator(_ccd_html)]
Unpadded = Annotated[Text, AfterValidator(_unpadded)]
Trimmed = Annotated[Text, AfterValidator(_trimmed)]
OptionalId = Annotated[str | None, BeforeValidator(_optional_id)]
BirthDate = Annotated[date | None, BeforeValidator(_birth_date)]
Instant = Annotated[datetime | None, BeforeValidator(_instant)]
Flag = Annotated[bool, BeforeValidator(_flag)]


# The patient's and the encounter's documented keys, by their spelling with case and underscores
# ignored. The docs give the names only in their example's camelCase; a team's serializer may
# write them as its own classes name them: C# properties as declared, acronyms upper case as .NET
# code commonly has them (Web API 2's Json.NET: `PatientID`, `DOB`, `Summary.EncounterID`,
# `CCD`), or its columns' snake_case (Rails' `render json:`, Django's `ModelSerializer`:
# `patient_id`, `encounter_date`). Before, only `PatientId` was read: `PatientID` made every
# patient unreadable, and `DOB` and `CCD` were silently no birth date and no CCD.
_DOCUMENTED_KEYS = {
    name.casefold(): name
    for name in (
        "patientId",
        "chartNumber",
        "firstName",
        "lastName",
        "middleName",
        "dob",
        "ssn",
        "homePhone",
        "summary",
        "ccd",
        "encounterId",
        "doctorId",
        "doctorFirstName",
        "doctorLastName",
        "doctorProfessionalDesignation",
        "department",
        "location",
        "encounterDate",
        "type",
        "encounterLocked",
    )
}


def _documented_key(key: str) -> str:
    """A record's key as documented (`PatientID`, `patient_id` -> `patientId`); any other key
    with its first letter lower case, as camelCase has it (`TotalCount` -> `totalCount`)."""
    known = _DOCUMENTED_KEYS.get(key.replace("_", "").casefold())
    return known if known is not None else key[:1].lower() + key[1:]


def _camel_keys(data: Any) -> Any:
    """Keys spelled otherwise (`PatientID`, `patient_id`, `TotalCount`) as the documented
    camelCase (`patientId`, `totalCount`)."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.setdefault(_documented_key(key) if isinstance(key, str) else key, value)
    return out


class _Read(VendorModel):
    @model_validator(mode="before")
    @classmethod
    def _documented_keys(cls, data: Any) -> Any:
        return _camel_keys(data)


# -- records ----------------------------------------------------------------------------------


class VendorPatient(_Read):
    """A `/search` result ("Basic information about a patient")."""

    patientId: VendorId  # the vendor's field names
    chartNumber: Unpadded = None
    firstName: Trimmed = None
    lastName: Trimmed = None
    middleName: Trimmed = None
    dob: BirthDate = None
    ssn: Any = None  # documented; never read (not exposed)
    homePhone: Trimmed = None


# A day with no time: an ISO date, `MM/DD/YYYY`, Gson's `Dec 14, 2017`.
_DAY_ALONE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|[A-Za-z]{3}\.? \d{1,2}, \d{4}")


def _day_alone(value: Any) -> bool:
    """Whether a date is written as a day with no time (Jackson's `LocalDate` array too)."""
    if isinstance(value, list):
        return len(value) == 3
    return isinstance(value, str) and _DAY_ALONE.fullmatch(value.strip()) is not None


class VendorSummary(_Read):
    """An encounter's `summary`. `dayOnly`: its `encounterDate` gave the day alone (a `date`
    column: "Date when this encounter occurred"), which holds no time, not midnight UTC."""

    dayOnly: bool = False
    encounterId: VendorId
    doctorId: OptionalId = None
    doctorFirstName: Text = None
    doctorLastName: Text = None
    doctorProfessionalDesignation: Text = None
    department: Text = None
    location: Text = None
    encounterDate: Instant = None
    type: Text = None
    encounterLocked: Flag = False

    @model_validator(mode="before")
    @classmethod
    def _day(cls, data: Any) -> Any:
        data = _camel_keys(data)
        if isinstance(data, dict):
            return {**data, "dayOnly": _day_alone(data.get("encounterDate"))}
        return data


class VendorEncounter(_Read):
    """An encounter search result: its summary and its CCD (HTML)."""

    summary: VendorSummary
    ccd: CcdHtml = None

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        """A summary given flat beside `ccd` (no `summary` object) is read as the summary."""
        data = _camel_keys(data)
        if isinstance(data, dict) and "summary" not in data and "encounterId" in data:
            rest = {k: v for k, v in data.items() if k != "ccd"}
            return {"summary": rest, "ccd": data.get("ccd")}
        return data


# The keys `VendorSection` reads, as they compare ignoring case and underscores.
_SECTION_KEYS = frozenset(
    {"name", "sectionname", "section", "code", "key", "category", "value", "title", "displayname", "description"}
)
# What the key of a section's name ends with in a row that names it otherwise (`categoryName`,
# `CategoryCode`, `section_label`), the likeliest first.
_LABEL_KEY_ENDINGS = ("name", "code", "key", "title", "label", "text")


def _label_of_row(row: dict[Any, Any]) -> str | None:
    """The section name a row gives under a key `VendorSection` does not know: one ending as a
    name's key does (`_LABEL_KEY_ENDINGS`, in that order), else the row's only text. None when
    the row has a key it knows, or nothing that reads as a name."""
    keys = {key: key.casefold().replace("_", "") for key in row if isinstance(key, str)}
    if any(folded in _SECTION_KEYS for folded in keys.values()):
        return None
    texts = {key: value for key, value in row.items() if key in keys and isinstance(value, str) and value.strip()}
    for ending in _LABEL_KEY_ENDINGS:
        found = next((value for key, value in texts.items() if keys[key].endswith(ending)), None)
        if found is not None:
            return found
    return next(iter(texts.values())) if len(texts) == 1 else None


class VendorSection(_Read):
    """A CCD section as `/encounters/categories` lists it: its name or number, or an object naming it (the
    docs: "List all of the valid section names"). Of an object's names, the one most likely to
    be what `section` takes (a name or code before a title or display text)."""

    name: Text = None
    sectionName: Text = None
    section: Text = None
    code: Text = None
    key: Text = None
    category: Text = None
    value: Text = None
    title: Text = None
    displayName: Text = None
    description: Text = None

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        # A number is an enum's value: ASP.NET writes a C# enum as its number unless a
        # JsonStringEnumConverter is added (`[0, 1, 2, ...]`), and binds `section` from that
        # number as from the member's name. Before, such a list gave no section at all.
        if isinstance(data, int) and not isinstance(data, bool):
            return {"name": str(data)}
        if isinstance(data, dict):
            # A row naming the section under a key of its own: a `Category` entity's columns
            # named after its table (`categoryName`), the route's own noun. Before, such rows
            # gave no section at all, and no document offered one.
            label = _label_of_row(data)
            return {**data, "name": label} if label is not None else data
        return {"name": data} if isinstance(data, str) else data

    @property
    def labels(self) -> tuple[str, ...]:
        """Every name the object gives the section, the likeliest `section` value first."""
        names = (self.name, self.sectionName, self.section, self.code, self.key, self.category, self.value)
        return tuple(dict.fromkeys(n for n in (*names, self.title, self.displayName) if n and n.strip()))

    @property
    def label(self) -> str | None:
        return next(iter(self.labels), None)


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbpAnswer:
    """An answer in ASP.NET Boilerplate's `AjaxResponse`: what it holds and whether it says it failed."""

    success: bool
    result: Any  # the answer itself (a list, a `PagedResultDto`, an object); null when it failed
    unauthorized: bool  # `unAuthorizedRequest`: the request's credentials were refused


def abp_answer(body: Any) -> AbpAnswer | None:
    """The `AjaxResponse` ASP.NET Boilerplate wraps every answer in by default (`WrapResult`):
    `{"result", "targetUrl", "success", "error", "unAuthorizedRequest", "__abp": true}`, a
    refusal's `error` being `{"code", "message", "details", "validationErrors"}`. None for
    any other answer. Nothing the docs describe has these keys: `__abp` alone says it (ABP
    writes it on every wrapper), else `success`, `result` and `unAuthorizedRequest` together."""
    if not isinstance(body, dict):
        return None
    top = _camel_keys(body)
    success = top.get("success")
    marked = top.get("__abp") is True
    if not isinstance(success, bool) or not (marked or ("result" in top and "unAuthorizedRequest" in top)):
        return None
    return AbpAnswer(success, top.get("result"), top.get("unAuthorizedRequest") is True)


class UnreadablePayload(ValueError):
    """An answer that cannot be read: the field path and the problem, no values."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"the vendor's field {field} {problem}")
        self.field = field
        self.problem = problem


# The keys only a patient or an encounter has (documented spelling, `_camel_keys`). A list of
# one converted from XML (Json.NET's `SerializeXmlNode`, PHP's `json_encode` of SimpleXML)
# becomes that one object, and so does a controller's `SingleOrDefault` for the docs' "Get a
# patient with a specific chart number": before, such an answer was a 502 ("is not a list").
_RECORD_KEYS = frozenset({"patientId", "encounterId", "summary"})


def _is_record(body: dict[str, Any]) -> bool:
    return not _RECORD_KEYS.isdisjoint(_camel_keys(body))


def _resource_attributes(item: Any) -> Any:
    """A JSON:API resource object (`{"type": "patients", "id": "42", "attributes": {...}}`:
    jsonapi.org's "Resource Objects", as a Rails team's jsonapi-serializer or Laravel JSON:API
    writes each record) as the record it stands for: its attributes, with its `id` as the
    record's own (`patientId`, a summary's `encounterId`) where they do not give that; any other
    item as it is. Before, no such record was read: no `patientId`, no `summary` at its top."""
    if not (
        isinstance(item, dict)
        and isinstance(item.get("attributes"), dict)
        and isinstance(item.get("type"), str)
        and "id" in item
    ):
        return item
    record: dict[str, Any] = _camel_keys(item["attributes"])
    kind, ident = item["type"].casefold(), item["id"]
    summary = _camel_keys(record.get("summary"))
    if "encounter" in kind and isinstance(summary, dict):
        record = {**record, "summary": {"encounterId": ident, **summary}}
    elif "encounter" in kind:
        record = {"encounterId": ident, **record}
    elif "patient" in kind:
        record = {"patientId": ident, **record}
    else:  # a CCD category: its name may be its id alone
        record = {**record, "id": ident}
    return record


def items_of(body: Any, field: str = "(answer)") -> list[Any]:
    """A list answer's items: a bare array, or the list inside an envelope; JSON:API resource
    objects as the records they stand for (`_resource_attributes`)."""
    return [_resource_attributes(item) for item in _listed_items(body, field)]


def _listed_items(body: Any, field: str) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ENVELOPE_KEYS:
            for spelled in (key, key[:1].upper() + key[1:]):
                if isinstance(body.get(spelled), list):
                    return list(body[spelled])
        embedded = body.get("_embedded")
        if isinstance(embedded, dict):  # HAL (Spring HATEOAS): `{"_embedded": {"patientList": [...]}}`
            return _listed_items(embedded, field)
        lists = [value for value in body.values() if isinstance(value, list)]
        if len(lists) == 1:
            return list(lists[0])
        if listed_count(body) == 0:  # HAL leaves `_embedded` out when nothing matched
            return []
        if _is_record(body):  # a list of one as that one: converted from XML, or `SingleOrDefault`
            return [body]
    if body is None:
        return []
    raise UnreadablePayload(field, "is not a list")


# A total before `count`, which may count the items of this answer alone (`{"count": 50,
# "total": 120}`): read first, it would hide the cut.
COUNT_KEYS = (
    "@odata.count",
    "odata.count",
    "total",
    "totalCount",
    "totalRecords",
    "totalRecordCount",
    "totalItems",
    "totalResults",
    "totalElements",
    "total_count",
    "total_items",
    "count",
)
NEXT_KEYS = (
    "@odata.nextLink",
    "odata.nextLink",
    "nextLink",
    "next",
    "nextPage",
    "next_page",
    "nextPageToken",
    "continuationToken",
    "hasMore",
    "has_more",
    "hasNextPage",
    "has_next_page",
    "hasNext",
    "has_next",
    "next_num",
    "moreResults",
)
PAGES_KEYS = ("totalPages", "total_pages", "pageCount", "page_count", "lastPage", "last_page", "pages")
PAGE_KEYS = ("page", "pageNumber", "page_number", "currentPage", "current_page")
# Spring Data's `Page` numbers its pages from 0 (`number`, and `?page=` asks by that number):
# `PageImpl` at the envelope's top, Spring Boot 3.3's `VIA_DTO` and Spring HATEOAS's
# `PagedModel` in a nested `page` object (`{"size", "number", "totalElements", "totalPages"}`).
ZERO_BASED_PAGE_KEYS = ("number",)
# Where paging envelopes nest what they say of the pages: JSON:API and Laravel (`meta`,
# `links`), HAL (`_links`), and the spellings of many others.
PAGING_KEYS = ("meta", "pagination", "paging", "pageInfo", "page_info", "links", "_links", "page")


def _paging_parts(body: Any) -> list[dict[str, Any]]:
    """The envelope and the objects it nests paging facts in, keys as the documented camelCase."""
    if not isinstance(body, dict):
        return []
    top = _camel_keys(body)
    return [top, *(_camel_keys(top[k]) for k in PAGING_KEYS if isinstance(top.get(k), dict))]


def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():  # `²` is a digit `int` refuses
        return int(value)
    return None


def listed_count(body: Any) -> int | None:
    """How many items an envelope says there are, when it says."""
    return _first_number(body, COUNT_KEYS)


def _first_number(body: Any, keys: tuple[str, ...]) -> int | None:
    """The first of `keys` an envelope's paging parts give as a number."""
    for part in _paging_parts(body):
        for key in keys:
            found = _number(part.get(key))
            if found is not None:
                return found
    return None


def has_next_page(body: Any) -> bool:
    """Whether an envelope points to a further page: a next link or token, a "has more" flag,
    more pages than the one it is, or items past those it holds (`offset_next`)."""
    if offset_next(body) is not None:
        return True
    for part in _paging_parts(body):
        if any(_says_more(part.get(key)) for key in NEXT_KEYS):
            return True
        pages = next((n for n in (_number(part.get(k)) for k in PAGES_KEYS) if n is not None), None)
        if pages is not None and pages > max(_position(part), 1):
            return True
    return False


def _position(part: dict[str, Any]) -> int:
    """Which page (counted from 1) an envelope part says it is: 1 when it does not say."""
    page = next((n for n in (_number(part.get(k)) for k in PAGE_KEYS) if n is not None), None)
    if page is not None:
        return page
    index = next((n for n in (_number(part.get(k)) for k in ZERO_BASED_PAGE_KEYS) if n is not None), None)
    return index + 1 if index is not None else 1


# Keys whose value may be a link to the next page (DRF's `next`, OData's `@odata.nextLink`,
# JSON:API's `links.next`, HAL's `_links.next.href`).
NEXT_LINK_KEYS = ("@odata.nextLink", "odata.nextLink", "nextLink", "next", "nextPage", "next_page", "nextPageUrl")


def next_page_query(body: Any, path: str) -> dict[str, str] | None:
    """The query parameters of the next page an envelope links to, when the link is a URL of
    the endpoint that answered (`path`): absolute (Django REST Framework's `"next":
    "https://host/api/search?page=2&term=S"`), rooted, or a query alone; or `page` of the
    next page's number (Flask-SQLAlchemy's `next_num`), or the offset and size of the page
    after one counted by offset (`offset_next`), when there is no link. None when there is no
    link, or when it is a token or a URL of another endpoint, whose use the docs do not say.
    Only the query is taken: the page is asked of the tenant's own `base_url`, so the bearer
    token never goes to a host a vendor's answer names."""
    for part in _paging_parts(body):
        for key in NEXT_LINK_KEYS:
            value = part.get(key)
            if isinstance(value, dict):  # HAL: {"href": ...}
                value = value.get("href")
            if not isinstance(value, str) or "?" not in value:
                continue
            link = urlsplit(value.strip())
            if link.path and not link.path.rstrip("/").endswith(path.rstrip("/")):
                return None
            query = dict(parse_qsl(link.query, keep_blank_values=True))
            return query or None
    for part in _paging_parts(body):
        for key in NEXT_NUMBER_KEYS:
            number = _number(part.get(key))
            if number is not None and number > 1:
                return {"page": str(number)}
    following = offset_next(body)
    if following is not None:
        return following
    if has_next_page(body):
        for part in _paging_parts(body):
            for key, param in PAGE_PARAMS.items():
                number = _number(part.get(key))
                if number is not None:
                    return {param: str(max(number, 0) + 1)}
    return None


# Pages counted by offset, the envelope echoing the query's two parameters and linking no next
# page: fastapi-pagination's `LimitOffsetPage` (`{"items", "total", "limit", "offset"}`, asked
# with `?offset=&limit=`) and the `skip`/`take` of Prisma's `findMany`, .NET's LINQ and
# TypeORM, which the teams using them echo as such (`{"data", "meta": {"total", "skip",
# "take"}}`). (Django REST Framework's `LimitOffsetPagination` links its next page: read as a link.)
OFFSET_PARAMS = (("offset", "limit"), ("skip", "take"))


def offset_next(body: Any) -> dict[str, str] | None:
    """The query of the page after one counted by offset (`OFFSET_PARAMS`): the items after
    those it holds, as many as it asked; None when it says it is the last (the total reached,
    or, with no total, a page not full) or is not counted by offset."""
    try:
        rows = len(items_of(body))
    except UnreadablePayload:
        return None
    total = listed_count(body)
    for part in _paging_parts(body):
        for start_key, size_key in OFFSET_PARAMS:
            start, size = _number(part.get(start_key)), _number(part.get(size_key))
            if start is None or size is None or not rows:
                continue
            following = start + rows
            more = following < total if total is not None else rows >= size
            return {start_key: str(following), size_key: str(size)} if more else None
    return None


# ASP.NET Boilerplate pages a list as a `PagedResultDto<T>` (ABP Framework's alike): `{"totalCount":
# n, "items": [...]}`, asked with a `PagedResultRequestDto`'s `?skipCount=&maxResultCount=`
# (bound ignoring case; MaxResultCount 10 by default), the envelope saying neither where it
# starts nor how to go on: only the total tells that more remain.
SKIP_COUNT_PARAM = "skipCount"


def skip_count_next(bodies: list[Any], before: int = 0) -> dict[str, str] | None:
    """The query of the page after `bodies`, the pages of an ABP `PagedResultDto` read so far
    (`before` items read before them), when its `totalCount` is more than they hold:
    `?skipCount=` of the items read (the page size left to the default the first page was
    answered at). None for any other answer (one saying its page number, its offset or a next
    page is paged another way), or when the total is read."""
    last = bodies[-1] if bodies else None
    if not isinstance(last, dict):
        return None
    top = _camel_keys(last)
    total = _number(top.get("totalCount"))
    if total is None or not isinstance(top.get("items"), list):
        return None
    if page_number(last) is not None or offset_next(last) is not None or has_next_page(last):
        return None
    try:
        read = before + sum(len(items_of(body)) for body in bodies)
    except UnreadablePayload:
        return None
    return {SKIP_COUNT_PARAM: str(read)} if total > read else None


# ASP.NET OData pages a list as `{"@odata.context", "value": [...], "@odata.count"?,
# "@odata.nextLink"?}`, asked with the `$skip` system query option. The next link is given
# when `[EnableQuery(PageSize = n)]` pages the answer (followed as any link is); a controller
# applying its query options by hand may cut the answer without one, its count alone saying so.
ODATA_SKIP_PARAM = "$skip"


def odata_skip_next(bodies: list[Any], before: int = 0) -> dict[str, str] | None:
    """The query of the page after `bodies`, the pages of an OData answer read so far (`before`
    items read before them), when the last counts more items (`@odata.count`) than they hold
    and links no next page: `?$skip=` of the items read. None for any other answer, or when
    the count is read."""
    last = bodies[-1] if bodies else None
    if not isinstance(last, dict) or not isinstance(last.get("value"), list):
        return None
    if not any(isinstance(key, str) and key.startswith(("@odata.", "odata.")) for key in last):
        return None
    total = listed_count(last)
    if total is None or has_next_page(last):
        return None
    try:
        read = before + sum(len(items_of(body)) for body in bodies)
    except UnreadablePayload:
        return None
    return {ODATA_SKIP_PARAM: str(read)} if total > read else None


# The query parameter a page is asked by, for the key an envelope (or header) numbers its page
# with, when it says there are more pages but neither links to the next nor numbers it. ASP.NET
# teams page as `{"items", "pageNumber", "totalPages", "totalCount", "hasNextPage"}` (the
# PaginatedList<T> of Microsoft's and Jason Taylor's templates) or a bare array with an
# `X-Pagination` header `{"TotalCount", "PageSize", "CurrentPage", "TotalPages", "HasNext"}`,
# both bound from `?pageNumber=` (model binding ignores its case); others answer `?page=`.
PAGE_PARAMS = {
    "pageNumber": "pageNumber",
    "currentPage": "pageNumber",
    "page": "page",
    "page_number": "page_number",
    "current_page": "page",
    "number": "page",  # Spring's zero-based index: `page` + 1 is the next one's
}
PAGE_PARAM_NAMES = frozenset(PAGE_PARAMS.values())


# Keys whose value may be the number of the next page, asked as `?page=N`: Flask-SQLAlchemy's
# `paginate()` (`{"items", "page", "pages", "per_page", "total", "has_next", "next_num"}`,
# which reads `page` from the query string) and the spellings of others.
NEXT_NUMBER_KEYS = ("next_num", "nextNum", "next_page", "nextPage", "nextPageNumber", "next_page_number")


def page_number(body: Any) -> int | None:
    """The number of the page an envelope says it is, as `?page=` would ask it, when it says."""
    return _first_number(body, PAGE_KEYS + ZERO_BASED_PAGE_KEYS)


def encounter_date(row: Any) -> datetime | None:
    """An encounter row's `encounterDate` (in its `summary`, or flat), when it can be read alone."""
    flat = _camel_keys(row)
    summary = _camel_keys(flat.get("summary")) if isinstance(flat, dict) else None
    where = summary if isinstance(summary, dict) else flat
    try:
        when = _instant(where.get("encounterDate")) if isinstance(where, dict) else None
    except ValueError:
        return None
    return when if isinstance(when, datetime) else None


def split_point(rows: list[Any]) -> datetime | None:
    """Where to split an encounter search's window whose answer (`rows`, in the vendor's order)
    may have been capped, so that both halves hold fewer. Rows in order of date (either way)
    were the first of the window in that order, what was cut lying past the last: the window
    splits at the next-to-last row's date, one half then holding all but the last row, the
    other the last two and what was cut. Rows in no order of dates split at their middle
    date. Any point is right (both halves share it); these ask fewest. None with fewer than
    two dates."""
    dates = [when for when in map(encounter_date, rows) if when is not None]
    if len(dates) < 2:
        return None
    if dates in (sorted(dates), sorted(dates, reverse=True)):
        return dates[-2]
    return sorted(dates)[len(dates) // 2]


def without_ccds(bodies: list[Any]) -> bool:
    """Whether an encounter search's pages hold encounters, none of them with a CCD (`ccd` null
    or absent); False when they cannot be read as a list."""
    try:
        rows = [row for body in bodies for row in items_of(body)]
    except UnreadablePayload:
        return False
    return bool(rows) and all(isinstance(row, dict) and _camel_keys(row).get("ccd") is None for row in rows)


# Headers in which a bare array's pages are described: flask-smorest's `X-Pagination` (a JSON
# object: `total`, `total_pages`, `page`, `next_page`) or an ASP.NET team's (`TotalCount`,
# `TotalPages`, `CurrentPage`, `HasNext`), RFC 8288's `Link` (rel="next") and the
# `X-Total-Count` many frameworks send.
_LINK = re.compile(r"<([^>]*)>([^,<]*)")
_REL_NEXT = re.compile(r';\s*rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def header_paging(headers: Mapping[str, str]) -> dict[str, Any]:
    """What a list answer's headers say of its pages, as envelope keys (`total`, `total_pages`,
    `page`, `next`: a link, or the query of the next page; ASP.NET's `totalCount`,
    `totalPages`, `currentPage`, `hasNext`); {} when they say nothing. A bare
    array can only say there is more this way: read as the whole answer, its first page hid
    every match past it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    facts: dict[str, Any] = {}
    described = lowered.get("x-pagination")
    if described:
        try:
            meta = json.loads(described)
        except ValueError:
            meta = None
        if isinstance(meta, dict):
            for key in ("total", "total_pages", "page"):
                if _number(meta.get(key)) is not None:
                    facts[key] = _number(meta[key])
            following = _number(meta.get("next_page"))
            if following is not None:
                facts["next"] = f"?page={following}"
            # ASP.NET's (`{"TotalCount", "TotalPages", "CurrentPage", "HasNext"}`, PascalCase as
            # `JsonSerializer.Serialize` writes it without the web defaults): before, none of it
            # was read, and the first page of a bare array passed for the whole answer.
            dotnet = _camel_keys(meta)
            for key in ("totalCount", "totalPages", "currentPage"):
                if key not in facts and _number(dotnet.get(key)) is not None:
                    facts[key] = _number(dotnet[key])
            if isinstance(dotnet.get("hasNext"), bool):
                facts["hasNext"] = dotnet["hasNext"]
    for link, attributes in _LINK.findall(lowered.get("link", "")):
        rel = _REL_NEXT.search(attributes)
        if rel and "next" in rel.group(1).lower().split():
            facts["next"] = link
    total = _number((lowered.get("x-total-count") or "").strip())
    if total is not None:
        facts.setdefault("total", total)
    return facts


def with_header_paging(body: Any, headers: Mapping[str, str]) -> Any:
    """A list answer with what its headers say of its pages put where an envelope says it (a
    `pagination` object): a bare array becomes `{"items": [...], "pagination": {...}}`. An
    object holding no list (sections as a map of names) is no page of anything: left as is."""
    facts = header_paging(headers)
    if not facts:
        return body
    if isinstance(body, list):
        return {"items": body, "pagination": facts}
    if isinstance(body, dict) and "pagination" not in body and any(isinstance(v, list) for v in body.values()):
        return {**body, "pagination": facts}
    return body


def _says_more(value: Any) -> bool:
    """A next link, token or a true "has more" flag; not null, empty, or false in any case or
    spelling (`false`, `"False"`, `0`, `"no"`)."""
    if value is None or value == {} or isinstance(value, bool):
        return value is True
    text = str(value).strip()
    return bool(text) and text.casefold() not in _FALSE


def problem_of(exc: ValidationError, prefix: str = "") -> UnreadablePayload:
    """The first error as an `UnreadablePayload` (its field path under `prefix`; never the value)."""
    error = exc.errors(include_input=False, include_url=False)[0]
    path = prefix
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return UnreadablePayload(path or "(record)", _problem(error))


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is missing"
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", "has an unexpected value"))
    if kind.startswith(("string", "dict", "model")):
        return "has an unexpected type"
    return "has an unexpected shape"


def raw_id(item: Any, *path: str) -> str | None:
    """An id inside a record that could not be read, when it can be read on its own."""
    value = item
    for key in path:
        value = _camel_keys(value)
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    try:
        found: str | None = _optional_id(value)
    except ValueError:
        return None
    return found


def section_spellings(body: Any) -> dict[str, tuple[str, ...]]:
    """For each section name `section_names` lists, the other names its object gives it
    (`{"name": "Vital Signs", "code": "VitalSigns"}`: which of them `section` takes, the docs
    do not say); () for a name alone."""
    if not isinstance(body, (dict, list)) or (
        isinstance(body, dict) and all(isinstance(v, str) for v in body.values())
    ):
        return {}
    found: dict[str, tuple[str, ...]] = {}
    for item in items_of(body, "categories"):
        try:
            labels = VendorSection.model_validate(item).labels
        except ValidationError:
            continue
        if labels:
            found.setdefault(labels[0], labels[1:])
    return found


_NAME_WORDS = re.compile(r"[^\W_]+")


def member_names(title: str) -> tuple[str, ...]:
    """The names an enum member titled `title` may have, for a `section` refused by that title:
    `/encounters/categories` may list the sections' titles (`Vital Signs`: each member's
    `[Display(Name)]`, a Java enum's `@JsonValue` label) while `section` binds the enum by its
    members' names, as ASP.NET's model binding and Spring's `StringToEnumConverterFactory` do:
    C#'s PascalCase (`VitalSigns`, `PlanOfCare`), Java's UPPER_SNAKE (`VITAL_SIGNS`), and
    snake_case (`vital_signs`: a Python or Rails enum's). The title's own spelling is left out."""
    words = _NAME_WORDS.findall(title)
    forms = (
        "".join(word[:1].upper() + word[1:] for word in words),
        "_".join(word.upper() for word in words),
        "_".join(word.lower() for word in words),
    )
    return tuple(form for form in dict.fromkeys(forms) if form and form != title)


def section_names(body: Any) -> Iterator[str]:
    """The section names `/encounters/categories` lists: a list (bare or in an envelope) of names
    or objects naming them, or an object mapping each name to its title."""
    if isinstance(body, dict) and body and all(isinstance(v, str) for v in body.values()):
        # An envelope's annotations (`@odata.context`) are no section names.
        yield from (name for name in body if name.strip() and not name.startswith("@") and "odata." not in name)
        return
    for item in items_of(body, "categories"):
        try:
            label = VendorSection.model_validate(item).label
        except ValidationError:
            continue
        if label and label.strip():
            yield label
