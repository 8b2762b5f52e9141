"""How far ahead a practice may book a visit: where an open-ended encounter search may end.

Two vendors' appointment searches need an upper bound and do not say how far it may reach.
A vendor that refuses (or fails on) dates past some point cannot list anything there, and
when that point is this far ahead it holds nothing a practice could have booked: a search
that reaches it is complete. A calendar ending before it may hide booked visits, and a
searchset that stops there must say it may be incomplete (FHIR R4 search §3.1.1.5.8: an
OperationOutcome entry with mode "outcome"); a document is then not made at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BOOKABLE = timedelta(days=50 * 366)


def bookable_end(moment: datetime, latest: datetime) -> datetime:
    """Where bookable dates end, seen from `moment` (today: a later lower bound does not move
    it), at most `latest`."""
    return latest if latest - moment <= BOOKABLE else moment + BOOKABLE
