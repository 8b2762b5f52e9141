"""Layer 2: parse with the ``fhir.resources`` models, as strict Python FHIR clients do.

``fhir.resources`` 8.x ships R5 at the top level; its ``fhir.resources.R4B`` models (4.3.0)
are used. R4B differs from R4 in few places, none in the resource types the gateway emits
(Patient, AllergyIntolerance, MedicationStatement, Observation, Encounter, Condition,
DocumentReference, Binary, Bundle, OperationOutcome, CapabilityStatement). A Bundle is
parsed without its entries' resources: ``conformance.check`` checks each of those on its own.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from conformance.paths import format_path

JSON = dict[str, Any]


def parse_problems(resource: JSON, path: str | None = None) -> list[str]:
    """Problems ``fhir.resources`` (R4B) reports when it parses ``resource``."""
    resource_type = resource.get("resourceType")
    root = path or str(resource_type)
    try:
        model = get_fhir_model_class(str(resource_type))
    except ValueError:
        return [f"fhir.resources {root}: unknown resourceType {resource_type!r}"]
    try:
        model.model_validate(_without_entry_resources(resource))
    except ValidationError as exc:
        return [f"fhir.resources {format_path(root, error['loc'])}: {error['msg']}" for error in exc.errors()]
    except Exception as exc:  # the models raise KeyError and the like on some malformed input
        return [f"fhir.resources {root}: cannot parse: {type(exc).__name__}: {exc}"]
    return []


def _without_entry_resources(resource: JSON) -> JSON:
    entries = resource.get("entry")
    if resource.get("resourceType") != "Bundle" or not isinstance(entries, list):
        return resource
    stripped = [
        {key: value for key, value in entry.items() if key != "resource"} if isinstance(entry, dict) else entry
        for entry in entries
    ]
    return {**resource, "entry": stripped}
