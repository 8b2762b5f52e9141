"""Repeating primitives sent as two arrays that do not line up (R4 json.html#primitive).

A repeating primitive with an id or extensions is written as two arrays, `given` and
`_given`, "JSON null values are used to fill out both arrays so that the id and/or extension
are aligned with the matching value in the first array": item n of one belongs to item n of
the other. The model reads each array on its own and takes `"given": ["A"], "_given": [null,
{"id": "g1"}]`; a vendor storing the two as sent would serve invalid FHIR JSON back, and which
value the second item's extension qualifies is anyone's guess. So the write is a 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["misaligned_primitive_arrays"]


def misaligned_primitive_arrays(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """The `_name` arrays of `value` (a resource as sent, at FHIRPath `where`) that do not line
    up with their `name` array, being of another length. A `_name`
    array with no `name` at all is every item without a value, and lines up."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from misaligned_primitive_arrays(item, f"{where}[{index}]")
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        yield from misaligned_primitive_arrays(item, f"{where}.{key}")
        if not key.startswith("_") or key[1:] not in value:
            continue
        values = value[key[1:]]
        # One an array and the other not is the model's to refuse (it names `_given`).
        if isinstance(item, list) and isinstance(values, list) and len(item) != len(values):
            yield (
                f"{where}.{key[1:]}: {key} has {len(item)} items and {key[1:]} {len(values)}; the two arrays line up "
                "item by item, null filling the places one of them has nothing for (R4 json.html#primitive)",
                f"{where}.{key[1:]}",
            )
