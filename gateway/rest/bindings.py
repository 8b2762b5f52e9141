"""Required bindings of incoming resources: coded elements whose value must come from a fixed
value set (http://hl7.org/fhir/R4/terminologies.html#required).

fhir.resources validates structure and datatypes, not bindings: `"gender": "banana"` passes
its model. The models record each required, enumerable binding as `enum_values` on the
field; this walks a validated model and reports every coded value outside its set, so that a
vendor never receives a code FHIR says cannot exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel


def binding_problems(model: BaseModel, path: str) -> Iterator[tuple[str, str]]:
    """(message, FHIRPath) for each coded value in `model` outside its required value set."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        element = f"{path}.{field.alias or name}"
        allowed = field.json_schema_extra.get("enum_values") if isinstance(field.json_schema_extra, dict) else None
        for index, item in _items(value):
            where = element if index is None else f"{element}[{index}]"
            if isinstance(allowed, list) and isinstance(item, str) and item not in allowed:
                codes = ", ".join(str(code) for code in allowed)
                yield f"{where}: '{item}' is not one of {codes} (required binding)", where
            elif isinstance(item, BaseModel):
                yield from binding_problems(item, where)


def _items(value: Any) -> Iterator[tuple[int | None, Any]]:
    if isinstance(value, list):
        yield from enumerate(value)
    else:
        yield None, value
