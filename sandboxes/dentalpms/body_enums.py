"""A reading of the enum-valued fields of the write bodies.

The reference lists a patient body's ``gender`` ("One of: male, female, non_binary, ..."),
``marital_status``, ``pronoun``, the contact methods, the create's ``status`` and the
transition's ``new_status`` in lower case, and types them only ``enum``. A service decodes them
into its enums, and ``create_app`` takes one keyword for how (the default is the documented
simulator's reading):

- ``body_enums``: ``"documented"`` (the values as the reference spells them: ``female``) or
  ``"names"`` (each value is an enum constant's name, ``FEMALE``, ``NON_BINARY``: Jackson, which
  Spring Boot reads request bodies with, decodes an enum by ``Enum.valueOf`` unless told
  otherwise, case-sensitively, and answers anything else 400, Spring's
  ``HttpMessageNotReadableException``. It is the spelling such a service's answers are written
  in too, ``enums="upper"``, and the one its queries are bound by, ``query_enums="names"``).
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from sandboxes.toolkit.errors import ApiError

__all__ = ["BodyEnums", "read_names"]

BodyEnums = Literal["documented", "names"]


def read_names(data: Any, model: type[BaseModel]) -> Any:
    """`data` with each enum field of `model` written as a constant's name (``FEMALE``) taken in
    its documented spelling (``female``); any other spelling of one is a 400, as Jackson's."""
    if not isinstance(data, dict):
        return data  # the model's own validation says what is wrong with it
    read = dict(data)
    for name, values in _enum_fields(model).items():
        value = data.get(name)
        if not isinstance(value, str):
            continue  # a null or a wrong type: the model's validation answers it
        if value != value.upper() or value.lower() not in values:
            # Jackson's message names the type and the accepted constants, never the value sent.
            accepted = ", ".join(v.upper() for v in values)
            raise ApiError(
                400,
                f"JSON parse error: Cannot deserialize value of type `{_type_name(name)}` from String: "
                f"not one of the values accepted for Enum class: [{accepted}]",
            )
        read[name] = value.lower()
    return read


def _enum_fields(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """The fields of `model` typed as a closed set of strings (a `Literal`), with their values."""
    fields: dict[str, tuple[str, ...]] = {}
    for name, info in model.model_fields.items():
        values = _literal_strings(info.annotation)
        if values:
            fields[name] = values
    return fields


def _literal_strings(annotation: Any) -> tuple[str, ...]:
    origin = get_origin(annotation)
    if origin is Literal:
        return tuple(v for v in get_args(annotation) if isinstance(v, str))
    if origin in (Union, types.UnionType):  # `Literal[...] | None`
        return tuple(v for arg in get_args(annotation) for v in _literal_strings(arg))
    return ()


def _type_name(field: str) -> str:
    return "".join(part.title() for part in field.split("_"))
