"""The free-text `search` of the Dental PMS patient lists: the terms every reading of it finds as
themselves, and the shortest term it takes, as far as the vendor has told (one memory per tenant).

The reference says only "Free-text search across name, phone, email, chart number, and DOB
fields". A service may match a term case- or accent-sensitively, only at the start of a field, or
token by token (mappings.dentalpms.adapter, "Where the docs are silent"): a whole stored value in
printable ASCII, without whitespace or `ILIKE`'s escape character, is found as itself under each
of them (`whole_value_term`). Nor does it give `search` a minimum length, but a service may guard
a free-text search with one (FastAPI's `Query(min_length=3)`: a 422; a 400 from Spring, ASP.NET
or Django REST Framework). A term the vendor refused is not sent again, nor any as short. The
Patient search and the write look-ups (who holds a chart number) share this one memory, so a
tenant pays the refused call once, whichever asks first.
"""

from __future__ import annotations

__all__ = ["ShortestSearch", "whole_value_term"]


def whole_value_term(term: str) -> bool:
    """`term`, a whole stored value, is found as itself under every reading: printable ASCII,
    no whitespace, no `ILIKE` escape character."""
    return term.isascii() and term.isprintable() and not any(c.isspace() or c == "\\" for c in term)


class ShortestSearch:
    """The shortest term the vendor's `search` may take (1 until it refuses one)."""

    def __init__(self) -> None:
        self._length = 1

    def takes(self, term: str) -> bool:
        """Whether `term` is worth sending: no shorter than every term the vendor took."""
        return len(term) >= self._length

    def refused(self, term: str) -> None:
        """The vendor refused `term` and answered the same list without it: the refusal was of
        its length, so no term as short is sent again."""
        self._length = max(self._length, len(term) + 1)
