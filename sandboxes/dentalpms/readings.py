"""How this simulator reads the list ``search``: the switches for what the docs leave open.

The API reference says only "free-text search across name, phone, email, chart number,
and DOB fields". Independent implementations read that differently, and ``create_app``
takes one keyword per point (the default is the documented simulator's reading):

- ``search_accents``: ``"insensitive"`` (case- and accent-folded, as a PostgreSQL ICU
  collation compares), ``"sensitive"`` (case-insensitive only, as ``ILIKE`` over the
  stored text: ``nunez`` does not find ``NUÑEZ``), or ``"sensitive_nfd"`` (the same over
  an index that stores names decomposed (NFD): a precomposed ``Renée`` sent finds nothing,
  while its unaccented parts still do).
- ``search_phones``: ``"digits"`` (a token with at least 3 digits matches when those digits
  are in the digits of the mobile or home phone) or ``"as_stored"`` (phones are stored and
  served formatted, ``(555) 123-4567``, and a token matches only as text of that string) or
  ``"e164"`` (stored and served in E.164, ``+15551234567``, as libphonenumber normalises a
  number on save, and matched only as text of that string).
- ``search_match``: ``"substring"`` (a token anywhere in a field) or ``"prefix"`` (a token
  at the start of a field's whole value).
- ``search_case``: ``"insensitive"`` (as above) or ``"sensitive"`` (``LIKE`` rather than
  ``ILIKE``, as an ORM's plain "contains" compiles on PostgreSQL: TypeORM's ``Like``,
  Prisma's ``contains`` without ``mode: 'insensitive'``): a token matches only as typed, so
  ``grace@example.com`` does not find ``GRACE@EXAMPLE.COM``. The reference says "free-text
  search" and no more; only the communication-log ``q`` is documented case-insensitive.

Whatever the reading, the value is split on whitespace and every token must match (AND).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from sandboxes.toolkit.folding import fold, strip_marks

__all__ = ["DOCUMENTED", "Accents", "Case", "Match", "Phones", "SearchReading"]

Accents = Literal["insensitive", "sensitive", "sensitive_nfd"]
Phones = Literal["digits", "as_stored", "e164"]
Match = Literal["substring", "prefix"]
Case = Literal["insensitive", "sensitive"]


@dataclass(frozen=True)
class SearchReading:
    """One reading of the list ``search`` (hashable: part of a query cache key)."""

    accents: Accents = "insensitive"
    phones: Phones = "digits"
    match: Match = "substring"
    case: Case = "insensitive"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("accents", ("insensitive", "sensitive", "sensitive_nfd")),
            ("phones", ("digits", "as_stored", "e164")),
            ("match", ("substring", "prefix")),
            ("case", ("insensitive", "sensitive")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"search_{name} must be one of {allowed}, not {getattr(self, name)!r}")

    def stored(self, value: str) -> str:
        """A stored field as this reading compares it."""
        if self.case == "sensitive":  # LIKE: the text as stored (marks dropped by an ICU collation)
            if self.accents == "insensitive":
                return strip_marks(value)
            return unicodedata.normalize("NFD", value) if self.accents == "sensitive_nfd" else value
        if self.accents == "insensitive":
            return fold(value)
        if self.accents == "sensitive_nfd":
            return unicodedata.normalize("NFD", value).casefold()
        return value.casefold()

    def sent(self, token: str) -> str:
        """A search token as this reading compares it (as sent, bar case, unless folded)."""
        if self.case == "sensitive":
            return strip_marks(token) if self.accents == "insensitive" else token
        return fold(token) if self.accents == "insensitive" else token.casefold()

    def hit(self, token: str, field: str) -> bool:
        return field.startswith(token) if self.match == "prefix" else token in field


DOCUMENTED = SearchReading()
