"""Patients sharing the value the list is sorted by, kept whole across its pages (pure).

The list's `sort` takes one field (`last_name`, `date_of_birth`), and the docs do not say how
patients sharing its value are ordered. Without a tiebreaker that order is the database's, and
PostgreSQL warns that "the query optimizer may return rows in different orders for different
LIMIT/OFFSET" (docs, queries-limit): two pages of one sorted walk can then both list one Johnson
and neither list another. So a run of one value that reaches the end of a page is read whole
(the list filtered by that value, in id order; `runs`) and served with that page, and the pages
after it leave out the patients of that value already served (`without_served`). Every run is
served in id order, so a page asked for twice (the gateway resumes inside a vendor page) lists
alike.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, Literal, TypedDict

from gateway.search.match import normalize
from mappings.nextvisit.vendor import UnreadablePayload, read_patient

__all__ = [
    "SortField",
    "Tie",
    "in_order",
    "merged_run",
    "row_id",
    "runs_by_id",
    "same_value",
    "sort_value",
    "tail_run",
    "without_served",
]

SortField = Literal["last_name", "date_of_birth"]


class Tie(TypedDict):
    """The run a page ended in: its value, and the ids of its patients served so far."""

    value: str
    ids: list[str]


def sort_value(row: Any, field: SortField) -> str | None:
    """The value `row` is sorted by, as the gateway reads it (trimmed name, ISO birth date);
    None when there is none or the row cannot be read."""
    if not isinstance(row, dict):
        return None
    try:
        patient = read_patient(row)
    except UnreadablePayload:
        return None
    value = patient.last_name if field == "last_name" else patient.date_of_birth
    return value or None


def same_value(row: Any, field: SortField, value: str) -> bool:
    """Whether `row` sorts as `value` does: names compared case- and accent-folded (a collation
    may hold `Garcia` and `García` equal and list them in any order), dates as dates."""
    own = sort_value(row, field)
    return own is not None and _key(own, field) == _key(value, field)


def _key(value: str, field: SortField) -> str:
    return normalize(value) if field == "last_name" else value


# Letters an accent-insensitive collation sorts as their base letters though Unicode gives them no
# mark to drop (MySQL's `utf8mb4_unicode_ci` sorts `Sørensen` among the `So`s).
_BASE_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "þ": "th"})


def _collated(name: str) -> str:
    """A name as an accent- and case-insensitive collation orders it (MySQL's `_ci`)."""
    return normalize(name).translate(_BASE_LETTERS)


def _letters(name: str) -> str:
    """The same, spaces and punctuation ignored (a glibc or ICU locale's first level)."""
    return "".join(ch for ch in _collated(name) if ch.isalnum())


# The orders a list sorted by name may keep: a `_ci` collation's, a locale's, by case alone, or by
# code point (a `C` collation).
_NAME_ORDERS = (_collated, _letters, str.casefold, str)


def in_order(rows: list[Any], field: SortField, descending: bool, before: str | None = None) -> bool:
    """Whether `rows` (after `before`, the value the page before ended in) are sorted by `field`
    as asked, under some order a database keeps for it: a list that does not read `sort` (Django
    REST Framework without an ordering filter, an Express handler) answers its own order. Rows
    without a value are not judged (databases place nulls first or last)."""
    values = [value for value in (sort_value(row, field) for row in rows) if value is not None]
    if before is not None:
        values.insert(0, before)
    orders = _NAME_ORDERS if field == "last_name" else (str,)
    for order in orders:
        keys = [order(value) for value in values]
        if all(b <= a if descending else a <= b for a, b in pairwise(keys)):
            return True
    return False


def row_id(row: Any) -> str | None:
    """A listed patient's id as text (a number or a string of one), None without one."""
    value = row.get("id") if isinstance(row, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        return None
    return str(value).strip()


def _by_id(row: Any) -> tuple[int, int, str]:
    text = row_id(row) or ""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def runs_by_id(rows: list[Any], field: SortField) -> list[Any]:
    """`rows` (in the vendor's order) with each run of consecutive equal values in id order."""
    out: list[Any] = []
    start = 0
    for index in range(1, len(rows) + 1):
        value = sort_value(rows[start], field)
        if index == len(rows) or value is None or not same_value(rows[index], field, value):
            out += sorted(rows[start:index], key=_by_id) if value is not None else rows[start:index]
            start = index
    return out


def tail_run(rows: list[Any], field: SortField) -> tuple[int, str | None]:
    """Where the run of values the page ends in starts, and its value (None: no value)."""
    if not rows:
        return 0, None
    value = sort_value(rows[-1], field)
    if value is None:
        return len(rows), None
    start = len(rows) - 1
    while start > 0 and same_value(rows[start - 1], field, value):
        start -= 1
    return start, value


def without_served(rows: list[Any], field: SortField, tie: Tie | None) -> list[Any]:
    """`rows` less the patients of the run the page before ended in, already served."""
    if not tie:
        return rows
    served = set(tie["ids"])
    return [row for row in rows if not (row_id(row) in served and same_value(row, field, tie["value"]))]


def merged_run(listed: list[Any], whole: list[Any], field: SortField, value: str, served: set[str]) -> list[Any]:
    """The run of `value`: the rows the page listed and those the filtered list found (its
    filter may match more, or, reading stored names otherwise, fewer), once each, in id order,
    less those `served` already."""
    found: dict[str, Any] = {}
    for row in [*listed, *whole]:
        key = row_id(row)
        if key is not None and key not in served and key not in found and same_value(row, field, value):
            found[key] = row
    return sorted(found.values(), key=_by_id)
