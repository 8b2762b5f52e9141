"""A patient's lists an implementation leaves out when empty, told from lists not sent.

PatientFull's documented answers show `"encounters": []` and `"latest_medications": []`; an
answer without such a key says nothing by itself (`vendor.not_returned`): a relation not loaded
(Laravel's `whenLoaded`, Spatie's include) looks the same as one left out because it is empty
(Go's encoding/json on a slice tagged `json:"encounters,omitempty"`, a Laravel resource's
`$this->when($this->encounters->isNotEmpty(), ...)`). One list answer tells them apart: a relation
it was asked for (`include=encounters`) is loaded for every patient of the query (Eloquent's eager
loading, Spatie's include), and a column (`latest_medications`) is selected for every row, so a
page on which some patients carry the key and others do not leaves it out by its value: empty.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

__all__ = ["LEFT_OUT_WHEN_EMPTY", "included", "left_out_when_empty"]

#: The lists a patient answer may leave out when empty: the relation, then the column.
LEFT_OUT_WHEN_EMPTY = ("encounters", "latest_medications")
_RELATIONS = frozenset({"encounters"})  # loaded only when asked for (`include`)


def included(params: dict[str, str | int]) -> frozenset[str]:
    """The relations a list request asks for (its comma-separated `include`)."""
    return frozenset(name.strip() for name in str(params.get("include") or "").split(",") if name.strip())


def left_out_when_empty(rows: Sequence[Any], asked: Collection[str]) -> frozenset[str]:
    """The lists of `LEFT_OUT_WHEN_EMPTY` that `rows` (the patients of one list answer, asked for
    the relations `asked`) show their implementation leaving out when empty: carried by one
    patient and absent from another. A relation only where it was asked for (not loaded, it is
    absent from every row: nothing is shown)."""
    patients = [row for row in rows if isinstance(row, dict)]
    shown: set[str] = set()
    for field in LEFT_OUT_WHEN_EMPTY:
        if field in _RELATIONS and field not in asked:
            continue
        carried = {field in patient for patient in patients}
        if carried == {True, False}:
            shown.add(field)
    return frozenset(shown)
