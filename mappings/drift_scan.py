"""Which read models hold a field no model declares: the cheap question before `Drift.fields`.

`Drift.fields` (gateway/contract/drift.py) builds the path of every unexpected field by walking
every field of every model read. Nearly every vendor answer holds none, and that walk cost
more than mapping the records (a quarter of reading a NexHealth page of 100 patients). Only
`model_extra` and the fields declared as models (alone, optional, or in lists and dicts) can
hold one, so this looks at those alone and hands `Drift` only the models that do.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar, get_args

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def unexpected_only(read: M | Iterable[M]) -> list[M]:
    """The models of `read` (one, or several) that hold an unexpected field somewhere."""
    models = [read] if isinstance(read, BaseModel) else list(read)
    return [model for model in models if _holds(model)]


def _holds(value: Any) -> bool:
    if isinstance(value, BaseModel):
        return bool(value.model_extra) or any(_holds(getattr(value, name)) for name in nesting_fields(type(value)))
    if isinstance(value, list | tuple):
        return any(_holds(item) for item in value)
    if isinstance(value, dict):
        return any(_holds(item) for item in value.values())
    return False


@cache
def nesting_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` whose declared type has a model in it."""
    return tuple(name for name, field in model.model_fields.items() if _has_model(field.annotation))


def _has_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_has_model(arg) for arg in get_args(annotation))
