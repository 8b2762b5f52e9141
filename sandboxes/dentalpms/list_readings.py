"""Readings of what the docs leave open about the patient lists' filters.

The reference documents ``GET /patients`` and ``/patients/cursor`` with "optional filters":
``status`` ("Filter by patient lifecycle status (e.g. 'active', 'inactive')"), ``search``
("Free-text search across name, phone, email, chart number, and DOB fields") and ``dob_from``
/ ``dob_to`` ("born on or after" / "on or before this date"). Independent implementations read
them differently; ``create_app`` takes one keyword per point (the default is the documented
simulator's reading):

- ``list_statuses``: without ``status``, the lists answer every patient but the archived ones
  (``"all"``), or only the active ones (``"active"``: the counts endpoint's ``status_set``
  "Defaults to active", and a service may give its lists the same default, as a practice
  management screen hides inactive patients unless asked). ``status`` asked names one status,
  whatever the reading.
- ``dob_to``: ``"inclusive"`` (a patient born on ``dob_to`` is listed, as documented) or
  ``"exclusive"`` (a half-open range ``[dob_from, dob_to)``, as a service reusing the bound of
  the counts endpoint's ``date_to``, "Exclusive first-visit end date", or a generic date-range
  filter, ``born < dob_to``, writes it).
- ``totals``: the page list's ``total`` counts the patients it lists (``"listed"``) or, without
  ``status``, the archived patients matching the other filters too (``"with_archived"``: a count
  query written without the soft-delete filter its items query has; the reference's ``total``
  is "Total number of patients matching the query", and archived patients are "excluded from
  normal queries").
- ``search_min_length``: the shortest ``search`` (and typeahead ``q``) taken (1: any); a
  shorter one is a 422 (pydantic's ``string_too_short``, as ``Query(min_length=3)`` answers;
  400 with ``validation_status=400``), as services guard a free-text search against scanning
  every row for one letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sandboxes.toolkit.errors import ApiError

__all__ = ["DOCUMENTED_LISTS", "DobTo", "ListReading", "ListStatuses", "ListTotals"]

ListStatuses = Literal["all", "active"]
DobTo = Literal["inclusive", "exclusive"]
ListTotals = Literal["listed", "with_archived"]


@dataclass(frozen=True)
class ListReading:
    """One reading of the patient lists' filters (hashable: part of a query cache key)."""

    statuses: ListStatuses = "all"
    dob_to: DobTo = "inclusive"
    search_min_length: int = 1
    totals: ListTotals = "listed"

    def __post_init__(self) -> None:
        if self.statuses not in ("all", "active"):
            raise ValueError(f"list_statuses must be 'all' or 'active', not {self.statuses!r}")
        if self.dob_to not in ("inclusive", "exclusive"):
            raise ValueError(f"dob_to must be 'inclusive' or 'exclusive', not {self.dob_to!r}")
        if self.totals not in ("listed", "with_archived"):
            raise ValueError(f"list_totals must be 'listed' or 'with_archived', not {self.totals!r}")
        if not 1 <= self.search_min_length <= 10:
            raise ValueError(f"search_min_length must be in 1..10, not {self.search_min_length!r}")

    def check_search(self, name: str, value: str | None) -> None:
        """422 for a search term (query parameter `name`) shorter than this reading takes."""
        if value is None or len(value) >= self.search_min_length:
            return
        shortest = self.search_min_length
        raise ApiError(
            422,
            [{"type": "string_too_short", "loc": ["query", name],
              "msg": f"String should have at least {shortest} characters", "input": value,
              "ctx": {"min_length": shortest}}],
        )  # fmt: skip


DOCUMENTED_LISTS = ListReading()
