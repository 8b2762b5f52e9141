"""Required bindings of incoming resources: coded elements whose value must come from a fixed
value set (http://hl7.org/fhir/R4/terminologies.html#required).

fhir.resources validates structure and datatypes, not bindings: `"gender": "banana"` passes
its model. The models record each required, enumerable binding as `enum_values` on the
field; this walks the resource as sent (its JSON, guided by the model classes) and reports
every coded value outside its set, so that a vendor never receives a code FHIR says cannot
exist. It reads the JSON rather than a validated model so that a body with structural errors
too gets its binding errors listed in the same answer (R4 operationoutcome.html: one issue
per problem): such a body has no model.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.types import FhirBase
from pydantic import BaseModel


def binding_problems(model: type[BaseModel], value: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """(message, FHIRPath) for each coded value in `value`, a resource or element of class
    `model` as sent, outside its required value set. What does not fit the model (an unknown
    element, an object where a string belongs) is a structural error, reported by the model's
    own validation, and passed over here."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in value or value[key] is None:
            continue
        element = f"{path}.{key}"
        allowed = field.json_schema_extra.get("enum_values") if isinstance(field.json_schema_extra, dict) else None
        for index, item in _items(value[key]):
            where = element if index is None else f"{element}[{index}]"
            if isinstance(allowed, list) and isinstance(item, str) and item not in allowed:
                codes = ", ".join(str(code) for code in allowed)
                yield f"{where}: '{item}' is not one of {codes} (required binding)", where
            elif isinstance(item, dict):
                inner = _model_of(field.annotation, item)
                if inner is not None:
                    yield from binding_problems(inner, item, where)


def _model_of(annotation: Any, item: dict[str, Any]) -> type[BaseModel] | None:
    """The model class an element of this annotation is read as: a contained or inline
    resource by its own `resourceType` (a field typed as any Resource)."""
    klass = _element_class(annotation)
    if klass is None:
        return None
    kind = item.get("resourceType")
    if isinstance(kind, str) and getattr(klass, "__resource_type__", None) in ("Resource", "DomainResource"):
        try:
            found: type[BaseModel] = get_fhir_model_class(kind)
        except (KeyError, ValueError):
            return None  # an unknown resourceType: a structural error
        return found
    return klass


@cache
def _element_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        klass: type[BaseModel] = annotation.get_model_klass()
        return klass
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _element_class(arg)
        if found is not None:
            return found
    return None


def _items(value: Any) -> Iterator[tuple[int | None, Any]]:
    if isinstance(value, list):
        yield from enumerate(value)
    else:
        yield None, value
