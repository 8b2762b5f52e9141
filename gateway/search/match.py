"""Gateway-side evaluation of a search over FHIR JSON, with FHIR's semantics.

Across parameters (and repeated occurrences of one) the conditions are ANDed; the
comma-separated values of one occurrence are ORed. String matching is case- and
accent-insensitive starts-with by default, as http://hl7.org/fhir/R4/search.html#string says;
`:exact` compares exactly and `:contains` matches anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import tzinfo
from functools import lru_cache
from typing import Any

from gateway.search.dates import range_matches, zone_info
from gateway.search.definitions import Token, date_range, definition
from gateway.search.model import (
    DateRange,
    DateValue,
    ParamType,
    ReferenceValue,
    SearchParam,
    SearchQuery,
    StringValue,
    TokenValue,
)
from gateway.text import nfc_text

_NON_DIGIT = re.compile(r"\D")


def _phone_digits(text: str) -> str:
    """A phone number's digits, without the North American country code when the text writes
    one: `+1 555 010 2030` (E.164, as libphonenumber formats a stored number) and
    `1-555-010-2030` are the number `(555) 010-2030` is. Every country code beginning with 1
    is the NANP's +1 followed by ten digits; an eleven-digit text with neither the `+` nor a
    separator after its 1 may be another country's national number (China's mobiles), so it
    stays as written."""
    digits = _NON_DIGIT.sub("", text)
    head = text.lstrip()
    if len(digits) == 11 and (head.startswith("+1") or (head[:1] == "1" and not head[1:2].isdigit())):
        return digits[1:]
    return digits


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Case- and accent-folded form used by default and `:contains` string matching."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def sorted_by(resources: list[dict[str, Any]], query: SearchQuery) -> list[dict[str, Any]]:
    """`resources` in the query's `_sort` order (http://hl7.org/fhir/R4/search.html#sort): by the
    first value of each key, string keys folded as matching folds them; a resource without a
    value for a key sorts after those with one, whichever the direction."""
    ordered = list(resources)
    zone = zone_info(query.zone)
    for key in reversed(query.sort):
        found = definition(query.resource_type, key.name)
        if found is None:
            continue

        def first(resource: dict[str, Any], extract: Any = found.extract, kind: ParamType = found.type) -> Any:
            values = extract(resource)
            if not values:
                return None
            if kind is ParamType.DATE:
                span = _safe_range(values[0], zone)
                return span.start if span is not None else None
            return normalize(values[0]) if isinstance(values[0], str) else values[0]

        present = [r for r in ordered if first(r) is not None]
        missing = [r for r in ordered if first(r) is None]
        ordered = sorted(present, key=first, reverse=key.descending) + missing
    return ordered


def matches(resource: Mapping[str, Any], query: SearchQuery) -> bool:
    return all(_param_matches(resource, query, p) for p in query.params)


Test = Callable[[Mapping[str, Any]], bool]


def matcher(query: SearchQuery) -> Test:
    """`matches(resource, query)` as one function, for testing a page of results: each
    parameter's definition is looked up once, not once per resource."""
    tests = [_param_test(query, p) for p in query.params]
    if not tests:
        return lambda resource: True
    if len(tests) == 1:
        return tests[0]
    return lambda resource: all(test(resource) for test in tests)


def _param_test(query: SearchQuery, param: SearchParam) -> Test:
    found = definition(query.resource_type, param.name)
    if found is None:  # parse() never lets an undefined parameter through
        raise AssertionError(param.name)
    if param.type is ParamType.REFERENCE:  # `patient=`, on every compartment search: kept short
        return _reference_test(found.extract, [v for v in param.values if isinstance(v, ReferenceValue)])
    return lambda resource: _param_matches(resource, query, param)


def _reference_test(extract: Callable[[Mapping[str, Any]], list[Any]], values: list[ReferenceValue]) -> Test:
    """`_reference_matches` over the values, as set lookups: a target `…/[type]/[id]` matches a
    value naming its id (and, if the value has one, its type)."""
    any_type = {v.id for v in values if v.type is None}
    typed = {(v.type, v.id) for v in values if v.type is not None}

    def test(resource: Mapping[str, Any]) -> bool:
        for target in extract(resource):
            head, slash, identifier = target.rpartition("/")
            if slash and (identifier in any_type or (head.rpartition("/")[2], identifier) in typed):
                return True
        return False

    return test


def _param_matches(resource: Mapping[str, Any], query: SearchQuery, param: SearchParam) -> bool:
    found = definition(query.resource_type, param.name)
    if found is None:  # parse() never lets an undefined parameter through
        raise AssertionError(param.name)
    targets = found.extract(resource)
    if param.type is ParamType.DATE:
        zone = zone_info(query.zone)
        targets = [r for r in (_safe_range(t, zone) for t in targets) if r is not None]
    return any(_value_matches(param, v, targets) for v in param.values)


def _safe_range(target: Any, zone: tzinfo) -> DateRange | None:
    try:
        return date_range(target, zone)
    except ValueError:  # a value we emitted that cannot be compared matches nothing
        return None


def _value_matches(param: SearchParam, value: Any, targets: list[Any]) -> bool:
    if param.type is ParamType.STRING:
        assert isinstance(value, StringValue)
        return any(_string_matches(param.modifier, value.text, t) for t in targets)
    if param.type is ParamType.TOKEN:
        assert isinstance(value, TokenValue)
        return any(_token_matches(param.name, value, t) for t in targets)
    if param.type is ParamType.DATE:
        assert isinstance(value, DateValue)
        return any(range_matches(value.prefix, value.range, t) for t in targets)
    assert isinstance(value, ReferenceValue)
    return any(_reference_matches(value, t) for t in targets)


def _string_matches(modifier: str | None, wanted: str, actual: str) -> bool:
    if modifier == "exact":  # case- and accent-sensitive; not normalization-sensitive
        return nfc_text(actual) == wanted
    if modifier == "contains":
        return normalize(wanted) in normalize(actual)
    return normalize(actual).startswith(normalize(wanted))


def _token_matches(name: str, value: TokenValue, actual: Token) -> bool:
    system, code = actual
    if value.system is not None:
        if value.system == "" and system is not None:
            return False
        if value.system and system != value.system:
            return False
    if value.code is None:
        return True
    if name == "phone":
        # The same digits are the same number however written (`15550102030` stored, `+1 555
        # 010 2030` asked); the country code read off only adds the national form's matches.
        digits = _NON_DIGIT.sub("", code)
        return digits != "" and (
            digits == _NON_DIGIT.sub("", value.code) or _phone_digits(code) == _phone_digits(value.code)
        )
    if name == "email":
        return code.casefold() == value.code.casefold()
    return code == value.code


def _reference_matches(value: ReferenceValue, actual: str) -> bool:
    parts = actual.split("/")
    return len(parts) >= 2 and parts[-1] == value.id and (value.type is None or parts[-2] == value.type)
