"""How far one provider call walks Nextech's pages, and where a walk stopped.

The docs describe no paging ("Searches for all ..."), but an implementation may page its lists
(adapter.py reads how). The gateway bounds what one FHIR page may cost the vendor in requests
(gateway.search.execute: 50, counted between provider calls), so a walk is bounded by requests,
not pages: a page count bounds nothing when pages hold 5 rows or 500, and side-by-side terms each
walking their own pages sent hundreds of requests for one FHIR page. Each provider call spends
an `Allowance` (`spending`), shared by every walk in it (the tasks of side-by-side terms copy the
context, and with it the allowance), and a walk stopped by it says where (`Walk`), so that the
next provider call, which the gateway makes for the same page or the client through the page's
`next` link, goes on from there.

What is spent is the pages a walk reads past the first of an answer (and each range of an
encounter search asked): what a position goes on with. The first page of each term, the
patient looked up, the ways a bare array's pages are asked that are not taken and the forms of
a date refused are asked once, or as the query says, and are not counted, so that a position
asked again (the gateway asks a provider page again for a later FHIR page that begins inside
it) is read as far as it was, whatever has been learnt since.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

# The pages one search call may walk: half the gateway's bound on a FHIR page's requests (50),
# so that the page a call begins under that bound ends near it (with the few a search asks once:
# its terms' first pages, a lookup); the next call goes on where this one stops.
SEARCH_REQUESTS = 25
# The pages a read may walk: a read has no `next` to go on with, so it is given the whole of
# what the gateway lets one FHIR page cost.
READ_REQUESTS = 50


@dataclass
class Allowance:
    """The vendor requests the work of one provider call may still send (below 1: none)."""

    left: int


_ALLOWANCE: ContextVar[Allowance | None] = ContextVar("nextech_requests_allowed", default=None)


@contextmanager
def spending(requests: int) -> Iterator[Allowance]:
    """Count the requests sent inside (`spend`) against `requests`; inside an enclosing
    allowance (a patient looked up for its encounters), against that one."""
    current = _ALLOWANCE.get()
    if current is not None:
        yield current
        return
    allowance = Allowance(requests)
    token = _ALLOWANCE.set(allowance)
    try:
        yield allowance
    finally:
        _ALLOWANCE.reset(token)


def spend() -> None:
    """One request sent."""
    allowance = _ALLOWANCE.get()
    if allowance is not None:
        allowance.left -= 1


def requests_left() -> int:
    """How many more requests the current allowance lets a walk send (0 when outside one: a walk
    then reads its first page only)."""
    allowance = _ALLOWANCE.get()
    return allowance.left if allowance is not None else 0


@dataclass(frozen=True)
class Walk:
    """Where a list answer's walk stopped, a next page known: the query of that page (laid over
    the first page's), the rows read before it (an ABP `skipCount` or OData `$skip` counts them),
    and for a bare array's hidden pages the way they are asked (an index of
    adapter.HIDDEN_PAGING), the page's zero-based index and the page size."""

    query: Mapping[str, str]
    read: int
    hidden: tuple[int, int, int] | None = None  # (way, index, size)

    def position(self) -> dict[str, Any]:
        """As a JSON-able provider position."""
        return {"q": dict(self.query), "n": self.read, "h": list(self.hidden) if self.hidden else None}

    @classmethod
    def of(cls, position: Any) -> Walk:
        """The walk a position (`position()`) holds; ValueError when it holds none."""
        if not isinstance(position, dict):
            raise ValueError("not a walk")
        query, read, hidden = position.get("q"), position.get("n"), position.get("h")
        if not isinstance(query, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in query.items()):
            raise ValueError("not a walk's query")
        if not isinstance(read, int) or read < 0:
            raise ValueError("not a walk's count")
        if hidden is None:
            return cls(query, read)
        if not (isinstance(hidden, list) and len(hidden) == 3 and all(isinstance(n, int) and n >= 0 for n in hidden)):
            raise ValueError("not a walk's hidden pages")
        way, index, size = hidden
        return cls(query, read, (way, index, size))
