"""Required bindings of incoming resources: coded elements whose value must come from a fixed
value set (http://hl7.org/fhir/R4/terminologies.html#required).

fhir.resources validates structure and datatypes, not bindings: `"gender": "banana"` passes
its model. The models record each required, enumerable binding as `enum_values` on the
field; this walks the resource as sent (gateway.rest.model_walk) and reports every coded
value outside its set, so that a vendor never receives a code FHIR says cannot exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from gateway.rest.model_walk import items, model_of, present_fields


def binding_problems(model: type[BaseModel], value: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """(message, FHIRPath) for each coded value in `value`, a resource or element of class
    `model` as sent, outside its required value set. What does not fit the model (an unknown
    element, an object where a string belongs) is a structural error, reported by the model's
    own validation, and passed over here."""
    for field, element, sent in present_fields(model, value, path):
        allowed = field.json_schema_extra.get("enum_values") if isinstance(field.json_schema_extra, dict) else None
        for where, item in items(sent, element):
            if isinstance(allowed, list) and isinstance(item, str) and item not in allowed:
                codes = ", ".join(str(code) for code in allowed)
                yield f"{where}: '{item}' is not one of {codes} (required binding)", where
            elif isinstance(item, dict):
                inner = model_of(field.annotation, item)
                if inner is not None:
                    yield from binding_problems(inner, item, where)
