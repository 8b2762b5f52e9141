"""Query string → typed search, checked against what the tenant declares it supports.

Handling follows http://hl7.org/fhir/R4/search.html#errors: by default (lenient) a parameter
the tenant does not support is ignored and left out of the `self` link; under
`Prefer: handling=strict` it is a 400. A supported parameter with a malformed value is a 400
either way: guessing would answer a different question than the client asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from gateway.contract import ResourceSupport
from gateway.errors import InvalidRequest, NotSupported
from gateway.search.dates import parse_fhir_date, zone_info
from gateway.search.definitions import ParamDefinition, definition
from gateway.search.model import (
    DatePrefix,
    DateValue,
    ParamType,
    ReferenceValue,
    SearchParam,
    SearchQuery,
    SortKey,
    StringValue,
    TokenValue,
    Value,
)
from gateway.text import nfc_text

# Result parameters the gateway itself implements for every type.
CONTROL = frozenset({"_count", "_sort", "_total", "_summary", "_elements", "_format", "_pretty", "_page"})
ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]")  # scheme://host (RFC 3986 section 3)
_ONCE = CONTROL - {"_sort", "_elements"}  # a control given twice is a 400 (parse_search)
_ONE_VALUE = re.compile(r"(?:[^\\,]|\\.|\\$)*", re.DOTALL)  # up to an unescaped comma
_ESCAPED = re.compile(r"\\([,$|\\])")
SUMMARY_MODES = frozenset({"count", "true", "text", "data", "false"})
TOTAL_MODES = frozenset({"none", "estimate", "accurate"})
# A search's conditions are tested on every candidate the gateway filters, so what one request
# may ask is bounded (tens of thousands of OR values took seconds of CPU, stalling every client).
MAX_SEARCH_PARAMETERS = 100  # parameters of one search, repeats and empty values included
MAX_SEARCH_VALUES = 100  # values of all its conditions together (each comma-separated one counts)
ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # http://hl7.org/fhir/R4/datatypes.html#id


def is_fhir_id(text: str) -> bool:
    """The whole of `text` is a FHIR id (`$` would let a trailing newline through)."""
    return ID_RE.fullmatch(text) is not None


class TotalMode(StrEnum):
    NONE = "none"
    ESTIMATE = "estimate"
    ACCURATE = "accurate"


@dataclass(frozen=True)
class ParsedSearch:
    query: SearchQuery
    count: int
    total: TotalMode
    summary: str | None
    elements: tuple[str, ...]
    page_token: str | None
    link_params: tuple[tuple[str, str], ...]  # what `self`/`next` links repeat
    notes: tuple[str, ...] = ()  # what was not applied (lenient handling), for the answer to say


def parse_search(
    support: ResourceSupport,
    items: Sequence[tuple[str, str]],
    *,
    strict: bool,
    default_count: int,
    max_count: int,
    zone: str = "UTC",
    require: bool = True,
) -> ParsedSearch:
    params: list[SearchParam] = []
    link: list[tuple[str, str]] = []
    controls: dict[str, str] = {}
    notes: list[str] = []

    def refuse(key: str, why: str) -> None:
        # R4 search.html "Handling errors": refused under strict handling; under lenient it is
        # ignored, left out of the self link, and said in the answer's outcome entry.
        if strict:
            raise NotSupported(why, expression=key)
        notes.append(f"{why}; ignored")

    for key, value in items:
        name, _, modifier = key.partition(":")
        if name in CONTROL:
            if name in controls and name not in {"_sort", "_elements"}:
                raise InvalidRequest(f"Parameter {name} given more than once", expression=name)
            if value == "":
                continue  # FHIR: an empty value is ignored, a control's too
            controls[name] = value if name not in controls else f"{controls[name]},{value}"
            continue
        declared = support.param(name)
        found = definition(support.type, name)
        if declared is None or found is None:
            refuse(key, f"Search parameter '{name}' is not supported for {support.type}")
            continue
        type_modifier = found.type is ParamType.REFERENCE and modifier == found.target
        if modifier and modifier not in declared.modifiers and not type_modifier:
            # Never ignored, even under lenient handling: without its modifier the condition
            # selects other records (identifier:of-type, email:exact, gender:not), and R4
            # search.html says a server SHALL reject a parameter with an unsupported modifier.
            raise NotSupported(f"Modifier ':{modifier}' is not supported on '{name}'", expression=key)
        param = _parse_param(found, modifier or None, value, key, declared.prefixes, zone)
        if param is None:
            continue  # FHIR: an empty value is ignored
        params.append(param)
        link.append((key, value))

    names = {p.name for p in params}
    for alternatives in support.required if require else ():
        if not names & alternatives:
            wanted = " or ".join(sorted(alternatives))
            raise InvalidRequest(f"Searching {support.type} requires the parameter {wanted}")

    count = parse_count(controls.get("_count"), default_count, max_count)
    sort = _parse_sort(controls.get("_sort"), support, refuse)
    total = TotalMode(_choice(controls.get("_total"), TOTAL_MODES, "_total") or "estimate")
    summary = _choice(controls.get("_summary"), SUMMARY_MODES, "_summary")
    elements = tuple(e for e in (controls.get("_elements") or "").split(",") if e)
    if sort:
        link.append(("_sort", ",".join(_sort_text(sort))))
    if summary is not None:
        link.append(("_summary", summary))
    if "_total" in controls:
        link.append(("_total", controls["_total"]))
    if elements:
        link.append(("_elements", ",".join(elements)))
    query = SearchQuery(support.type, tuple(params), sort, zone)
    return ParsedSearch(query, count, total, summary, elements, controls.get("_page"), tuple(link), tuple(notes))


def _sort_text(sort: tuple[SortKey, ...]) -> list[str]:
    return [("-" if k.descending else "") + k.name for k in sort]


def _choice(value: str | None, allowed: frozenset[str], name: str) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise InvalidRequest(f"{name} must be one of {', '.join(sorted(allowed))}; got '{value}'", expression=name)
    return value


def parse_count(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    # ASCII digits only: str.isdigit() alone admits '²' and '١', which int() cannot read or reads as a number.
    if not (value.isascii() and value.isdigit()):
        raise InvalidRequest(f"_count must be a non-negative integer; got '{value[:20]}'", expression="_count")
    digits = value.lstrip("0")
    # Past nine digits the cap applies anyway; int() refuses texts of more than 4300 digits.
    return maximum if len(digits) > 9 else min(int(digits or "0"), maximum)


def _parse_sort(value: str | None, support: ResourceSupport, refuse: Callable[[str, str], None]) -> tuple[SortKey, ...]:
    """The sort asked for, or none when it cannot be applied whole (`refuse` raises under
    strict handling): a half-applied sort would be a wrong answer."""
    if not value:
        return ()
    keys: list[SortKey] = []
    parts = [part for part in value.split(",") if part]  # an empty item is none, as in a value list
    if not parts:
        return ()
    if len(parts) > 1:  # vendors sort by one key
        refuse("_sort", f"_sort by more than one key is not supported for {support.type}")
        return ()
    for part in parts:
        name = part.removeprefix("-")
        if name not in support.sorts:
            supported = ", ".join(support.sorts) or "none"
            refuse("_sort", f"_sort by '{name}' is not supported for {support.type} (supported: {supported})")
            return ()
        keys.append(SortKey(name, part.startswith("-")))
    return tuple(keys)


def _split_values(value: str) -> list[str]:
    """Split on the commas that are not escaped, then unescape (search.html#escaping: `\\,` is a
    comma in a value, `\\\\` a backslash, so the comma after `\\\\` separates values)."""
    if "\\" not in value:  # nothing escaped (nearly always): every comma separates
        return value.split(",")
    parts: list[str] = []
    position = 0
    while True:
        one = _ONE_VALUE.match(value, position)
        assert one is not None  # the pattern matches the empty string
        parts.append(_ESCAPED.sub(r"\1", one.group()))
        position = one.end() + 1  # past the comma
        if position > len(value):
            return parts


def _parse_param(
    found: ParamDefinition,
    modifier: str | None,
    raw_value: str,
    key: str,
    prefixes: frozenset[DatePrefix],
    zone: str,
) -> SearchParam | None:
    """The parameter's condition, or None when it has no value. An empty alternative
    (`family=aberg,`) is left out, as an empty value is: as a string prefix it would match
    every record, widening the OR to everyone."""
    texts = _split_values(raw_value)
    if len(texts) > MAX_SEARCH_VALUES:  # before each is read
        raise _too_many_values(key)
    texts = [text for text in texts if text]
    if not texts:
        return None
    values: list[Value] = []
    for text in texts:
        if found.type is ParamType.STRING:
            values.append(StringValue(nfc_text(text)))
        elif found.type is ParamType.TOKEN:
            token = _parse_token(found.name, text)
            if found.codes is not None and (token.system or token.code not in found.codes):
                allowed = " or ".join(sorted(found.codes))
                raise InvalidRequest(f"'{text}' is not a value of '{found.name}' ({allowed})", expression=found.name)
            values.append(token)
        elif found.type is ParamType.DATE:
            values.append(_parse_date(found.name, text, prefixes, zone))
        else:
            values.append(_parse_reference(found, modifier, text))
    kept = None if found.type is ParamType.REFERENCE else modifier
    return SearchParam(found.name, found.type, kept, tuple(values), f"{key}={raw_value}")


def check_size(items: Sequence[tuple[str, str]]) -> None:
    """400 for a search that asks more than MAX_SEARCH_PARAMETERS parameters or MAX_SEARCH_VALUES
    values in all. Counted on what the client sent, before its access narrows it, and without
    the controls that may appear once each (`_count`, `_page`, ...: the links add them)."""
    counted = [(key, value) for key, value in items if key not in _ONCE]
    if len(counted) > MAX_SEARCH_PARAMETERS:
        raise InvalidRequest(f"A search takes at most {MAX_SEARCH_PARAMETERS} parameters (got {len(counted)})")
    values = 0
    for key, value in counted:
        if value and key.partition(":")[0] not in CONTROL:
            values += len(_split_values(value))
            if values > MAX_SEARCH_VALUES:
                raise _too_many_values(key)


def _too_many_values(key: str) -> InvalidRequest:
    return InvalidRequest(
        f"A search takes at most {MAX_SEARCH_VALUES} values in all its parameters (each comma-separated value counts)",
        expression=key,
    )


def _parse_token(name: str, text: str) -> TokenValue:
    if name == "_id" and not is_fhir_id(text):
        raise InvalidRequest(f"'{text}' is not a valid FHIR id", expression="_id")
    if "|" not in text:
        return TokenValue(None, text)
    system, _, code = text.partition("|")
    return TokenValue(system, code or None)


# "ap" (approximately) leaves how near is near to the server: it is not applied here.
_APPROXIMATELY = "ap"


def _parse_date(name: str, text: str, prefixes: frozenset[DatePrefix], zone: str) -> DateValue:
    prefix = DatePrefix.EQ
    if text[:2].isalpha():
        try:
            prefix = DatePrefix(text[:2])
        except ValueError:
            if text[:2] == _APPROXIMATELY:  # an R4 prefix (search.html#prefix) this server does not apply
                raise NotSupported(f"Prefix 'ap' is not supported on '{name}'", expression=name) from None
            raise InvalidRequest(f"Unknown date prefix '{text[:2]}' on '{name}'", expression=name) from None
        text = text[2:]
    if prefix not in prefixes:
        raise NotSupported(f"Prefix '{prefix}' is not supported on '{name}'", expression=name)
    try:
        return DateValue(prefix, parse_fhir_date(text, zone_info(zone)))
    except ValueError:
        raise InvalidRequest(
            f"'{text}' is not a valid date for '{name}' (use YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)",
            expression=name,
        ) from None


def readable_url(url: str) -> bool:
    """Whether a URL parser can read the URL's server (an unclosed IPv6 bracket or a port that
    is not a number cannot be)."""
    try:
        _port = urlsplit(url).port  # reading the port is what checks it
    except ValueError:
        return False
    return True


def _parse_reference(found: ParamDefinition, modifier: str | None, text: str) -> ReferenceValue:
    if text.endswith("/"):  # `Patient/` names no patient (it was read as one with the id "Patient")
        raise InvalidRequest(f"'{text}' names no id: a reference is [type]/[id] or its URL", expression=found.name)
    parts = text.split("/")
    absolute = ABSOLUTE_URL.match(text) is not None
    if len(parts) > 2 and not absolute:  # `//host/...` or `host/fhir/...`: a server, but which?
        raise InvalidRequest(
            f"'{text}' is neither [type]/[id] nor an absolute URL (scheme://host/...)", expression=found.name
        )
    rtype: str | None
    if len(parts) >= 2:
        rtype, rid = parts[-2], parts[-1]
    else:
        rtype, rid = modifier or found.target, parts[0]
    if modifier and rtype != modifier:
        raise InvalidRequest(f"Reference '{text}' does not match type modifier ':{modifier}'")
    if found.target and rtype != found.target:
        raise InvalidRequest(f"'{found.name}' must reference a {found.target}; got '{text}'", expression=found.name)
    if not is_fhir_id(rid):
        raise InvalidRequest(f"'{rid}' is not a valid FHIR id", expression=found.name)
    # An absolute URL names its server: the search compares it with its own base (rest.references).
    base = "/".join(parts[:-2]) if absolute else None
    if base is not None and not readable_url(base):
        raise InvalidRequest(f"'{text}' is not a URL this server can read", expression=found.name)
    return ReferenceValue(rtype, rid, base)
