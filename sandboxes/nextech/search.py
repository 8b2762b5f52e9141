"""Nextech's patient search by ``term`` (vendor-docs/nextech-api.txt), as the ``app`` docstring details.

Documented reading: text is folded like an accent- and case-insensitive collation (NFKD,
marks dropped, case-folded; no transliteration). A name's "parts" are the whole name plus its
pieces split at whitespace and hyphens; "Q matches a name" means Q is a prefix of one of its
parts. A term matches a patient as a chart number prefix, as a first or last name, as "first
last" split at any space, or as "last, first". The other readings (``readings.SearchReading``)
compare accents, or match whole-field prefixes, substrings or whole fields only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandboxes.nextech.readings import DOCUMENTED, Match, SearchReading
from sandboxes.toolkit.folding import strip_marks

__all__ = ["SearchKeys", "fold", "folded_term", "name_parts"]

_NAME_SPLIT = re.compile(r"[\s\-]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Marks dropped, case-folded: ``García`` -> ``garcia``."""
    return strip_marks(text).casefold()


def folded_term(term: str, reading: SearchReading = DOCUMENTED) -> str:
    """The term trimmed, inner whitespace collapsed to one space, compared as `reading` says."""
    return reading.sent(_SPACES.sub(" ", term.strip()))


def name_parts(name: str, reading: SearchReading = DOCUMENTED) -> tuple[str, ...]:
    """The folded whole name, then its pieces (``O'Brien-Nguyễn`` -> whole, ``o'brien``, ``nguyen``);
    the whole name alone when `reading` matches whole fields."""
    whole = reading.stored(name.strip())
    if reading.match != "parts":
        return (whole,)
    pieces = [piece for piece in _NAME_SPLIT.split(whole) if piece]
    return (whole, *pieces)


def _prefix_of(query: str, parts: tuple[str, ...]) -> bool:
    return bool(query) and any(part.startswith(query) for part in parts)


@dataclass(frozen=True)
class SearchKeys:
    """What a term is matched against: first and last name parts (no first name's with
    ``search_fields="last"``), the folded chart number."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    chart: str
    match: Match = "parts"

    def matches(self, query: str) -> bool:
        """Whether a folded term finds this patient."""
        whole_first = self.first[:1]  # the whole first name, when it is searched
        full = tuple(f"{name} {self.last[0]}" for name in whole_first)
        if self.match == "exact":
            # A char(n) chart number's trailing blanks are ignored, as SQL Server's `=` ignores them.
            return query in (self.chart.rstrip(), *whole_first, self.last[0], *full)
        if self.match == "substring":
            return any(query in field for field in (self.chart, *whole_first, self.last[0], *full))
        if self.chart.startswith(query):
            return True
        if self.match == "prefix":
            return any(name.startswith(query) for name in (*whole_first, self.last[0]))
        if "," in query:
            last, _, first = query.partition(",")
            last, first = last.strip(), first.strip()
            return _prefix_of(last, self.last) and (not first or _prefix_of(first, self.first))
        if _prefix_of(query, self.first) or _prefix_of(query, self.last):
            return True
        space = query.find(" ")
        while space != -1:
            if _prefix_of(query[:space], self.first) and _prefix_of(query[space + 1 :], self.last):
                return True
            space = query.find(" ", space + 1)
        return False
