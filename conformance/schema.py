"""Layer 1: the official FHIR R4 JSON schema (``fhir-r4/fhir.schema.json``, draft-06).

One validator per resourceType, whose root is ``{"$ref": "#/definitions/<Type>"}``: much
faster than the schema's own ``oneOf`` over every resource type, and its errors name the
element at fault. Nested resources (``ResourceList``) are not validated through the
``oneOf`` either: contained resources are validated here with their own type's validator,
and Bundle entries are checked whole by ``conformance.check``.

Known defects of the published schema: its FHIRVersion enum lacks ``4.0.1`` (added here),
and ``QuestionnaireResponse`` lacks ``_questionnaire`` (not emitted by the gateway).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from jsonschema import Draft6Validator

from conformance.data import fhir_schema
from conformance.paths import format_path

JSON = dict[str, Any]


def schema_problems(resource: JSON, path: str | None = None) -> list[str]:
    """Problems the R4 JSON schema finds in ``resource`` (and its contained resources).

    Also reports empty objects, arrays and strings, which FHIR JSON forbids but the schema
    lets through (and medplum skips, with ele-1).
    """
    root = path or str(resource.get("resourceType"))
    problems = _schema_problems(resource, root)
    _empty_problems(resource, root, resource.get("resourceType") == "Bundle", problems)
    return problems


def _schema_problems(resource: JSON, root: str) -> list[str]:
    resource_type = resource.get("resourceType")
    if not is_resource_type(resource_type):
        return [f"schema {root}: unknown resourceType {resource_type!r}"]
    problems = [
        f"schema {format_path(root, error.absolute_path)}: {error.message}"
        for error in _sorted(_validator(str(resource_type)).iter_errors(resource))
    ]
    contained = resource.get("contained")
    if isinstance(contained, list):
        for index, inner in enumerate(contained):
            if isinstance(inner, dict):
                problems += _schema_problems(inner, f"{root}.contained[{index}]")
    return problems


def _empty_problems(value: Any, path: str, bundle: bool, problems: list[str]) -> None:
    if value == {} or value == [] or value == "":
        kind = "object" if isinstance(value, dict) else "array" if value == [] else "string"
        problems.append(f"schema {path}: empty {kind}; FHIR JSON has no empty elements")
    elif isinstance(value, dict):
        for key, item in value.items():
            if bundle and key == "entry" and isinstance(item, list):
                for index, entry in enumerate(item):  # entry resources are checked on their own
                    if isinstance(entry, dict):
                        rest = {k: v for k, v in entry.items() if k != "resource"}
                        _empty_problems(rest, f"{path}.entry[{index}]", False, problems)
            else:
                _empty_problems(item, f"{path}.{key}", False, problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _empty_problems(item, f"{path}[{index}]", False, problems)


def is_resource_type(resource_type: object) -> bool:
    """Whether ``resource_type`` names an R4 resource type."""
    return isinstance(resource_type, str) and resource_type in _resource_types()


def _sorted(errors: Iterable[Any]) -> list[Any]:
    return sorted(errors, key=lambda error: [str(part) for part in error.absolute_path])


@cache
def _resource_types() -> frozenset[str]:
    mapping: dict[str, str] = fhir_schema()["discriminator"]["mapping"]
    return frozenset(mapping)


@cache
def _definitions() -> dict[str, Any]:
    definitions = dict(fhir_schema()["definitions"])
    # Nested resources are checked one type at a time (see the module docstring).
    definitions["ResourceList"] = {"type": "object", "required": ["resourceType"]}
    # The published 4.0 schema's FHIRVersion enum stops at 4.0.0 (it predates the 4.0.1
    # technical correction), so R4's own version would fail: add it, in copies.
    for name in ("CapabilityStatement", "StructureDefinition"):
        definitions[name] = _with_fhir_version(definitions[name], "fhirVersion", items=False)
    for name in ("ImplementationGuide", "ImplementationGuide_Resource"):
        definitions[name] = _with_fhir_version(definitions[name], "fhirVersion", items=True)
    return definitions


def _with_fhir_version(definition: dict[str, Any], prop: str, *, items: bool) -> dict[str, Any]:
    schema = dict(definition["properties"][prop])
    if items:
        schema["items"] = {**schema["items"], "enum": [*schema["items"]["enum"], "4.0.1"]}
    else:
        schema["enum"] = [*schema["enum"], "4.0.1"]
    return {**definition, "properties": {**definition["properties"], prop: schema}}


@cache
def _validator(resource_type: str) -> Draft6Validator:
    schema = {
        "$schema": "http://json-schema.org/draft-06/schema#",
        "$ref": f"#/definitions/{resource_type}",
        "definitions": _definitions(),
    }
    return Draft6Validator(schema)
