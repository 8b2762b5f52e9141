"""The shortest free-text `search` a Dental PMS takes, as far as it has told: one per tenant.

The reference gives the patient lists' `search` no minimum length ("Free-text search across
name, phone, email, chart number, and DOB fields"), but a service may guard a free-text search
with one (FastAPI's `Query(min_length=3)`: a 422; a 400 from Spring, ASP.NET or Django REST
Framework). A term the vendor refused is not sent again, nor any as short. The Patient search and
the write look-ups (who holds a chart number) share this one memory, so a tenant pays the refused
call once, whichever asks first.
"""

from __future__ import annotations

__all__ = ["ShortestSearch"]


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
