"""The order of patient lists: a total sort key per ``sort_by`` field.

Names sort case- and accent-insensitively (as a PostgreSQL ICU collation would), ties on
the raw value, then on the patient id; datetimes as instants; other fields as their
rendered text. Nulls sort last ascending (so first descending). The same key orders the
page list, the cursor list, and the keyset a cursor points at.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sandboxes.toolkit.folding import fold

__all__ = ["SortKey", "sort_key"]

SortKey = tuple[Any, ...]
_NAME_FIELDS = ("first_name", "last_name")
_TIME_FIELDS = ("created_at", "updated_at")


def sort_key(sort_by: str, value: str | None, row_id: str) -> SortKey:
    """Total order of patients for `sort_by`; ValueError when `value` cannot be of it."""
    if value is None:
        return (1, "", "", row_id)
    if sort_by in _NAME_FIELDS:
        return (0, fold(value), value, row_id)
    if sort_by in _TIME_FIELDS:
        return (0, datetime.fromisoformat(value).astimezone(UTC), "", row_id)
    if sort_by == "date_of_birth":
        date.fromisoformat(value)
    return (0, value, "", row_id)
