"""Walking a resource's JSON as sent, guided by the fhir.resources model classes.

The checks that read the JSON rather than a validated model (required bindings, JSON types)
do so in order that a body with structural errors gets all its problems listed in one answer
(R4 operationoutcome.html: one issue per problem): such a body has no model.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.types import FhirBase
from pydantic import BaseModel
from pydantic.fields import FieldInfo


def present_fields(model: type[BaseModel], value: dict[str, Any], path: str) -> Iterator[tuple[FieldInfo, str, Any]]:
    """(field, FHIRPath, JSON value) for each element of `model` that `value` holds."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in value and value[key] is not None:
            yield field, f"{path}.{key}", value[key]


def items(value: Any, element: str) -> Iterator[tuple[str, Any]]:
    """(FHIRPath, item) for each item of a repeating element, or the element itself."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{element}[{index}]", item
    else:
        yield element, value


def model_of(annotation: Any, item: dict[str, Any]) -> type[BaseModel] | None:
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
