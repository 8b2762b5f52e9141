"""SMART on FHIR resource scopes, v1 and v2 (SMART App Launch 2.0.0, scopes-and-launch-context).

    scope      := context "/" type "." permissions [ "?" constraints ]
    context    := "patient" | "user" | "system"
    type       := a FHIR resource type | "*"
    permissions:= v1 "read" | "write" | "*"  or  v2 a non-empty subset of "cruds", in that order
    constraints:= v2 only: search parameters ("category=…|vital-signs"), ANDed

v1 forms map onto v2 permissions as the guide's compatibility table does: `read` is `rs`,
`write` is `cud`, `*` is `cruds`. Scopes that grant no resource access (`openid`, `fhirUser`,
`launch`, `launch/patient`, `offline_access`, ...) are kept aside as `other`; a scope that
looks like a resource scope but breaks the grammar is `invalid`, never silently widened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from urllib.parse import parse_qsl


class Context(StrEnum):
    PATIENT = "patient"
    USER = "user"
    SYSTEM = "system"


class Permission(StrEnum):
    """SMART v2 permissions, in the order the grammar requires."""

    CREATE = "c"
    READ = "r"
    UPDATE = "u"
    DELETE = "d"
    SEARCH = "s"


ORDER = "cruds"
V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_RESOURCE_SCOPE = re.compile(r"(patient|user|system)/([A-Za-z]+|\*)\.([A-Za-z*]+)(?:\?(.*))?")
_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}|\*")


@dataclass(frozen=True)
class ResourceScope:
    """One granted resource scope: what it lets a context do to a type, under constraints."""

    context: Context
    resource_type: str  # a FHIR type, or "*" for every type
    permissions: frozenset[Permission]
    constraints: tuple[tuple[str, str], ...] = ()  # v2 search-parameter constraints (ANDed)
    text: str = field(default="", compare=False)  # as granted

    def covers(self, resource_type: str, permission: Permission) -> bool:
        return permission in self.permissions and self.resource_type in ("*", resource_type)


@dataclass(frozen=True)
class Scopes:
    resource: tuple[ResourceScope, ...]
    other: tuple[str, ...]  # granted, but no resource access (openid, launch/patient, ...)
    invalid: tuple[str, ...]  # resource-scope syntax that does not parse: grants nothing


def parse_scopes(text: str) -> Scopes:
    """The scopes of a space-separated `scope` string (RFC 6749 §3.3)."""
    resource: list[ResourceScope] = []
    other: list[str] = []
    invalid: list[str] = []
    for word in text.split():
        parsed = parse_resource_scope(word)
        if parsed is not None:
            resource.append(parsed)
        elif _RESOURCE_SCOPE.fullmatch(word) or word.startswith(tuple(f"{c}/" for c in Context)):
            invalid.append(word)
        else:
            other.append(word)
    return Scopes(tuple(resource), tuple(other), tuple(invalid))


def parse_resource_scope(word: str) -> ResourceScope | None:
    """A resource scope, or None when `word` is not a well-formed one."""
    match = _RESOURCE_SCOPE.fullmatch(word)
    if match is None:
        return None
    context, resource_type, action, query = match.groups()
    if not _TYPE.fullmatch(resource_type):
        return None
    if action in V1:
        if query is not None:  # constraints are a v2 feature
            return None
        letters = V1[action]
    elif _ordered_subset(action):
        letters = action
    else:
        return None
    constraints: tuple[tuple[str, str], ...] = ()
    if query is not None:
        pairs = parse_qsl(query, keep_blank_values=True)
        if not pairs or any(not name or not value for name, value in pairs):
            return None
        constraints = tuple(pairs)
    return ResourceScope(Context(context), resource_type, frozenset(Permission(c) for c in letters), constraints, word)


def _ordered_subset(action: str) -> bool:
    """`action` is a non-empty subset of c, r, u, d, s written in that order, each once."""
    if not action:
        return False
    positions = [ORDER.find(c) for c in action]
    return all(p >= 0 for p in positions) and all(a < b for a, b in pairwise(positions))
