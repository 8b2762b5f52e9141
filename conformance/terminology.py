"""Value set expansion from local data only: the US Core package and ``fhir-r4/valuesets.json``.

A value set expands when every include/exclude is a concept list, a whole local CodeSystem
of ``content: complete``, or another value set that expands. Value sets defined by filters
(``is-a`` over SNOMED CT, LOINC properties) or over external code systems (UCUM at large,
``urn:ietf:bcp:13`` mime types) do not expand, and bindings to them are not checked.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from conformance.data import r4_terminology, us_core

JSON = dict[str, Any]
Codes = frozenset[tuple[str, str]]  # (system, code)


def expand(url: str) -> Codes | None:
    """The (system, code) pairs of the value set at ``url``, or None if it cannot expand."""
    return _expand(url.split("|", 1)[0], frozenset())


def _lookup(url: str) -> JSON | None:
    return us_core().terminology.get(url) or r4_terminology().get(url)


@cache
def _expand(url: str, seen: frozenset[str]) -> Codes | None:
    value_set = _lookup(url)
    if value_set is None or value_set.get("resourceType") != "ValueSet" or url in seen:
        return None
    compose = value_set.get("compose")
    if not compose:
        return None
    codes: set[tuple[str, str]] = set()
    for include in compose.get("include", []):
        part = _component(include, seen | {url})
        if part is None:
            return None
        codes |= part
    for exclude in compose.get("exclude", []):
        part = _component(exclude, seen | {url})
        if part is None:
            return None
        codes -= part
    return frozenset(codes)


def _component(component: JSON, seen: frozenset[str]) -> Codes | None:
    if component.get("filter"):
        return None
    system = component.get("system")
    selected: Codes | None = None
    if system is not None:
        if component.get("concept"):
            selected = frozenset((system, concept["code"]) for concept in component["concept"])
        else:
            selected = _code_system(system)
        if selected is None:
            return None
    for value_set in component.get("valueSet", []):
        codes = _expand(value_set.split("|", 1)[0], seen)
        if codes is None:
            return None
        selected = codes if selected is None else selected & codes
    return selected


@cache
def _code_system(url: str) -> Codes | None:
    code_system = _lookup(url)
    if code_system is None or code_system.get("resourceType") != "CodeSystem":
        return None
    if code_system.get("content") != "complete":
        return None
    codes: set[tuple[str, str]] = set()
    pending = list(code_system.get("concept", []))
    while pending:
        concept = pending.pop()
        codes.add((url, concept["code"]))
        pending.extend(concept.get("concept", []))
    return frozenset(codes)
