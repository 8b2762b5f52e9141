"""Which patients a list query matches: ``search`` tokens and the list filters.

``search`` is split on whitespace and every token must match (AND). A token matches when,
compared as the app's reading (``readings``) says (by default folded, as a substring), it
is in one of the row's searched fields, or when it has at least 3 digits and those digits
are in the digits of a phone number (phones matched by digits only). The filters
(``status``, ``dob_from``/``dob_to``, provider, location) are exact; without ``status``,
archived patients are left out (and, with ``list_statuses="active"``, every patient not
active), and patients without a birth date never match a birth-date range (``dob_to``
excluded from it with ``dob_to="exclusive"``: ``list_readings``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sandboxes.dentalpms.readings import DOCUMENTED, SearchReading
from sandboxes.dentalpms.rows import PatientRow, digits_in

__all__ = ["PatientFilters", "SearchToken", "search_tokens", "token_matches"]

SearchToken = tuple[str, str]  # (token as the reading compares it, its digits)


def search_tokens(search: str | None, reading: SearchReading = DOCUMENTED) -> tuple[SearchToken, ...]:
    """The tokens of a ``search``/``q`` value (none for None or blank)."""
    if not search:
        return ()
    return tuple((reading.sent(token), digits_in(token)) for token in search.split())


def token_matches(
    token: SearchToken, hay: Iterable[str], phones: Iterable[str], reading: SearchReading = DOCUMENTED
) -> bool:
    """`token` is in one of the `hay` fields, or (3+ digits) in one of the `phones`."""
    text, digits = token
    if any(reading.hit(text, field) for field in hay):
        return True
    return len(digits) >= 3 and any(reading.hit(digits, phone) for phone in phones)


@dataclass(frozen=True)
class PatientFilters:
    """The filters of a patient list request (hashable: a query cache key)."""

    status: str | None
    tokens: tuple[SearchToken, ...]
    dob_from: str | None
    dob_to: str | None
    provider: str | None
    location: str | None
    reading: SearchReading = DOCUMENTED
    archived_listed: bool = True  # False: archived patients match no filter, `status` included
    active_unless_asked: bool = False  # without `status`, only active patients (list_readings)
    dob_to_exclusive: bool = False  # `dob_to` is the first day not matched (list_readings)

    def match(self, row: PatientRow) -> bool:
        doc = row.doc
        if row.deleted and not self.archived_listed:
            return False
        if self.status is None:
            if row.deleted or (self.active_unless_asked and doc["status"] != "active"):
                return False
        elif doc["status"] != self.status:
            return False
        if self.dob_from is not None or self.dob_to is not None:
            dob = doc["date_of_birth"]
            if dob is None:
                return False
            if self.dob_from is not None and dob < self.dob_from:
                return False
            if self.dob_to is not None and (dob >= self.dob_to if self.dob_to_exclusive else dob > self.dob_to):
                return False
        if self.provider is not None and (doc["primary_provider"] or {}).get("uuid") != self.provider:
            return False
        if self.location is not None and (doc["location"] or {}).get("uuid") != self.location:
            return False
        return all(token_matches(token, row.hay, row.phones, self.reading) for token in self.tokens)
