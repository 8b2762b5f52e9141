"""Typed search queries: what a FHIR search URL means once parsed.

The parser (`gateway.search.parse`) produces these from query strings; providers read them to
decide what to push down to the vendor; the matcher (`gateway.search.match`) evaluates them
over the FHIR the provider produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ParamType(StrEnum):
    STRING = "string"
    TOKEN = "token"
    DATE = "date"
    REFERENCE = "reference"


class DatePrefix(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    LT = "lt"
    GE = "ge"
    LE = "le"
    SA = "sa"
    EB = "eb"


@dataclass(frozen=True)
class DateRange:
    """A half-open instant range [start, end) in UTC, from a value of some precision."""

    start: datetime
    end: datetime
    precision: str  # "year" | "month" | "day" | "second"
    text: str  # the value as written, for vendor pushdown of partial dates


@dataclass(frozen=True)
class StringValue:
    text: str


@dataclass(frozen=True)
class TokenValue:
    system: str | None  # None: any system; "": explicitly no system
    code: str | None  # None: any code of that system


@dataclass(frozen=True)
class DateValue:
    prefix: DatePrefix
    range: DateRange


@dataclass(frozen=True)
class ReferenceValue:
    type: str | None
    id: str
    base: str | None = None  # the server base of an absolute URL (`https://x/fhir` of `https://x/fhir/Patient/1`)


Value = StringValue | TokenValue | DateValue | ReferenceValue


@dataclass(frozen=True)
class SearchParam:
    """One occurrence of a parameter: its values are ORed; occurrences are ANDed."""

    name: str
    type: ParamType
    modifier: str | None
    values: tuple[Value, ...]
    raw: str  # "name[:modifier]=value" as it goes back into links


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool


@dataclass(frozen=True)
class SearchQuery:
    resource_type: str
    params: tuple[SearchParam, ...] = ()
    sort: tuple[SortKey, ...] = ()
    zone: str = "UTC"  # where date-only values (in the query and in resources) are days

    def named(self, name: str) -> tuple[SearchParam, ...]:
        return tuple(p for p in self.params if p.name == name)

    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)
