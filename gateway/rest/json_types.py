"""JSON types of incoming primitives (R4 json.html#primitive): `boolean` is a JSON boolean,
`integer`, `positiveInt` and `unsignedInt` a JSON number without a fraction, `decimal` a JSON
number, and every other primitive a JSON string.

The fhir.resources models read in pydantic's lax mode, and their strict mode does not reach
the custom primitive types: `"active": "yes"`, `"multipleBirthInteger": true` and a decimal
sent as `"1.5"` all pass the model. The write path hands the JSON as sent to the vendor's
mapping, so a string where FHIR has a boolean would reach a vendor as that string.
"""

from __future__ import annotations

import datetime
import decimal
import typing
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from gateway.rest.model_walk import items, model_of, present_fields

JsonKind = Literal["boolean", "integer", "number", "string"]

# The Python type each fhir.resources primitive is read as, by the JSON type FHIR writes it in.
_KINDS: dict[Any, JsonKind] = {
    bool: "boolean",
    int: "integer",
    decimal.Decimal: "number",
    str: "string",
    bytes: "string",  # base64Binary
    datetime.date: "string",
    datetime.datetime: "string",
    datetime.time: "string",
    uuid.UUID: "string",
}

_SAID: dict[JsonKind, str] = {
    "boolean": "must be a JSON boolean (true or false)",
    "integer": "must be a JSON number without a fraction",
    "number": "must be a JSON number",
    "string": "must be a JSON string",
}


def json_type_problems(model: type[BaseModel], value: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """(message, FHIRPath) for each primitive in `value`, a resource or element of class
    `model` as sent, whose JSON type is not the one R4 writes it in."""
    for field, element, sent in present_fields(model, value, path):
        annotation: Any = field.annotation
        if isinstance(sent, list) != _repeats(annotation):
            continue  # a list where one value belongs, or the reverse: the model's structural error
        expected = _json_kind(annotation)
        for where, item in items(sent, element):
            if isinstance(item, dict):
                inner = model_of(field.annotation, item)
                if inner is not None:
                    yield from json_type_problems(inner, item, where)
            elif expected is not None and item is not None and not isinstance(item, list):
                found = _kind_of(item)
                if found != expected and not (expected == "number" and found == "integer"):
                    yield f"{where}: {_SAID[expected]}, not {_FOUND[found]} (R4 json.html#primitive)", where


def _kind_of(item: Any) -> str:
    if isinstance(item, bool):
        return "boolean"
    if isinstance(item, int):
        return "integer"
    return "number" if isinstance(item, float) else "string"  # orjson reads nothing else here


_FOUND = {"boolean": "true or false", "integer": "a number", "number": "a number with a fraction", "string": "a string"}


@cache
def _repeats(annotation: Any) -> bool:
    """Whether an element of this annotation repeats (a JSON array: Optional and Annotated
    unwrapped, a List found)."""
    if typing.get_origin(annotation) is list:
        return True
    return any(_repeats(arg) for arg in typing.get_args(annotation))


@cache
def _json_kind(annotation: Any) -> JsonKind | None:
    """The JSON type of a primitive element of this annotation (Optional, List and Annotated
    unwrapped), or None for a complex element."""
    kind = _KINDS.get(annotation)
    if kind is not None:
        return kind
    for arg in typing.get_args(annotation):
        found = _json_kind(arg)
        if found is not None:
            return found
    return None
