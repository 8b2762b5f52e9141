"""Every patient, whatever the vendor's patient lists answer without `status` (pure).

A FHIR Patient search without `active` means every patient. The reference documents the lists'
`status` as an optional filter ("Filter by patient lifecycle status (e.g. 'active',
'inactive')"), so without it they should answer every status but archived; but the one endpoint
that says what it does without a status, the counts (`status_set`: "Defaults to active"), counts
only active patients, and a service may give its lists the same default. The docs name no way
to ask a list for every status at once (`status` takes one value; no `all`), so under that
reading every live status is asked on its own: one list per status, merged in the sort asked for
(`merge`). Which reading a vendor has is learned once from its answers (`unasked_statuses`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# "Patient lifecycle status. One of: active, inactive, prospective, deceased, archived":
# archived patients are deleted ones, which a search never serves.
LIVE_STATUSES = ("active", "inactive", "prospective", "deceased")
NOT_ACTIVE = LIVE_STATUSES[1:]

UnaskedStatuses = Literal["every", "active"]
"""What a patient list answers without `status`: every status (as documented) or active only."""


def unasked_statuses(unfiltered: Sequence[str], not_active: Sequence[int]) -> UnaskedStatuses | None:
    """The vendor's reading, from the statuses of the first patient of its unfiltered list sorted
    by status both ways (`unfiltered`: a status sort puts a patient that is not active first one
    way or the other, whatever order the vendor gives the statuses) and the number of patients
    each not-active status lists (`not_active`); None when there is no patient that is not
    active, and so nothing to tell (nor to miss)."""
    if any(status != "active" for status in unfiltered):
        return "every"
    if any(not_active):
        return "active"
    return None


@dataclass(frozen=True)
class Stream:
    """Where one status's list stands: the cursor its current page was asked `after` (None: the
    first page) and how many of that page's patients were served already (`skip`)."""

    status: str
    after: str | None = None
    skip: int = 0

    def to_json(self) -> list[Any]:
        return [self.status, self.after, self.skip]

    @classmethod
    def from_json(cls, value: Any) -> Stream | None:
        if (
            isinstance(value, list)
            and len(value) == 3
            and value[0] in LIVE_STATUSES
            and (value[1] is None or isinstance(value[1], str))
            and type(value[2]) is int
            and value[2] >= 0
        ):
            return cls(value[0], value[1], value[2])
        return None


@dataclass(frozen=True)
class StreamPage:
    """One page of a status's list: its patients (as the vendor sent them) and the cursor of the
    page after it (None on the last)."""

    stream: Stream
    items: list[Any]
    following: str | None


def first_streams() -> list[Stream]:
    return [Stream(status) for status in LIVE_STATUSES]


def streams_at(position: Any) -> list[Stream] | None:
    """The streams a position of the merged walk names (None when it is not one)."""
    if not isinstance(position, dict) or not isinstance(position.get("statuses"), list):
        return None
    streams = [Stream.from_json(value) for value in position["statuses"]]
    return None if any(stream is None for stream in streams) else [s for s in streams if s is not None]


def position_of(streams: list[Stream]) -> dict[str, Any] | None:
    return {"statuses": [stream.to_json() for stream in streams]} if streams else None


SortKey = tuple[int, str, str]


def sort_key(field: str) -> Callable[[Any], SortKey]:
    """How the merge orders patients by the vendor field `field`: folded text (case and accents,
    as the vendor's collation may compare names), missing values last, then the id. Only the
    order across statuses depends on it: each status's patients come in the vendor's order."""

    def key(raw: Any) -> SortKey:
        value = raw.get(field) if isinstance(raw, dict) else None
        text = _folded(value) if isinstance(value, str) and value else ""
        record_id = raw.get("id") if isinstance(raw, dict) else None
        return (0 if text else 1, text, str(record_id or ""))

    return key


def _folded(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def merge(
    pages: list[StreamPage], wanted: int, key: Callable[[Any], SortKey], descending: bool
) -> tuple[list[Any], list[Stream]]:
    """Up to `wanted` patients of `pages` in sort order, each status's in the vendor's order, and
    the streams left to walk. A status whose page is used up while it has more pages stops the
    merge there (its next patients are not seen yet, and may come first): the page is shorter,
    never out of order, and each page serves at least one patient (no page is asked at its end)."""
    queues = [page.items[page.stream.skip :] for page in pages]
    taken = [0] * len(pages)
    out: list[Any] = []
    while len(out) < wanted:
        heads = [i for i, queue in enumerate(queues) if taken[i] < len(queue)]
        if not heads or any(taken[i] == len(queues[i]) and pages[i].following for i in range(len(pages))):
            break
        pick = (max if descending else min)(heads, key=lambda i: key(queues[i][taken[i]]))
        out.append(queues[pick][taken[pick]])
        taken[pick] += 1
    left: list[Stream] = []
    for page, queue, count in zip(pages, queues, taken, strict=True):
        stream = page.stream
        if count < len(queue):
            left.append(Stream(stream.status, stream.after, stream.skip + count))
        elif page.following:
            left.append(Stream(stream.status, page.following, 0))
    return out, left
