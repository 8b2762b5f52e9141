"""`_summary` and `_elements`: which of a resource's root elements are served
(http://hl7.org/fhir/R4/search.html#summary and #elements).

A resource served in part is tagged SUBSETTED, so that it is not taken for the whole and
written back. The element names, their "summary" flags (Σ) and the choice elements
(`value[x]`) are read from the resource's model in fhir.resources, once per type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from gateway.errors import NotSupported

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
_ALWAYS_KEPT = frozenset({"resourceType", "id", "meta"})
# Elements with min cardinality 1 in base R4: kept whatever `_elements` names, as search.html
# asks ("Servers SHOULD always return mandatory elements whether they are requested or not"),
# and part of `_summary=text` ("the text, id, meta, and top-level mandatory elements").
# Not read from the models: they mark only required primitives (Observation.code is not).
MANDATORY = {
    "AllergyIntolerance": ("patient",),
    "MedicationStatement": ("status", "medicationCodeableConcept", "medicationReference", "subject"),
    "Observation": ("status", "code"),
    "Encounter": ("status", "class"),
    "Condition": ("subject",),
    "DocumentReference": ("status", "content"),
    "Binary": ("contentType",),
}


@dataclass(frozen=True)
class Shaping:
    """How each resource of an answer is cut: `keep` the root elements named (None: all of
    them), or all `without_text`; `notes` say what of the request was not applied as asked."""

    keep: frozenset[str] | None = None
    without_text: bool = False
    profiles_kept: bool = True
    notes: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()  # the `_elements` names applied, for the self link


WHOLE = Shaping()


@dataclass(frozen=True)
class _Elements:
    spellings: dict[str, frozenset[str]]  # a root element's name, or a choice's `value`/`value[x]`: its JSON names
    summary: frozenset[str]


@cache
def _elements_of(resource_type: str) -> _Elements:
    spellings: dict[str, set[str]] = {}
    summary: set[str] = set()
    spellings["resourceType"] = {"resourceType"}  # not an element, always served: no note for it
    for field in get_fhir_model_class(resource_type).model_fields.values():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        name = field.alias
        if not extra.get("element_property") or not isinstance(name, str):
            continue  # `fhir_comments`, and the `_name` siblings of primitives
        spellings.setdefault(name, set()).add(name)
        choice = extra.get("one_of_many")
        if isinstance(choice, str):
            spellings.setdefault(choice, set()).add(name)
            spellings.setdefault(f"{choice}[x]", set()).add(name)
        if extra.get("summary_element_property"):
            summary.add(name)
    return _Elements({k: frozenset(v) for k, v in spellings.items()}, frozenset(summary))


def shaping(resource_type: str, summary: str | None, elements: Sequence[str], *, strict: bool) -> Shaping:
    """What `_summary` (true, text, data or false; count is answered elsewhere) and `_elements`
    ask of `resource_type`. With both, `_elements` is applied (R4 defines no combination), and
    `_summary` is said not applied (a 400 under strict handling).

    `_elements` takes root element names. A path into one (`name.family`) serves its whole root
    element (search.html: "Servers are not obliged to return just the requested elements"),
    and a name the type does not have is ignored; both are a 400 under `Prefer:
    handling=strict` (search.html "Handling errors"), and are said in `notes` otherwise.
    `elements` holds the names applied (the self link's `_elements`); with none, `_elements`
    is ignored whole.
    """
    mandatory = MANDATORY.get(resource_type, ())
    notes: list[str] = []
    if elements:
        known = _elements_of(resource_type)
        keep: set[str] = {*_ALWAYS_KEPT, *mandatory}
        applied: dict[str, None] = {}
        for asked in elements:
            root = asked.split(".", 1)[0]
            found = known.spellings.get(root)
            if found is not None and root != asked:
                if strict:
                    raise NotSupported(
                        f"_elements takes element names at the root of {resource_type}; '{asked}' is a path",
                        expression="_elements",
                    )
                notes.append(f"_elements: '{asked}' is a path; its whole element '{root}' is served")
            elif found is None:
                if strict:
                    raise NotSupported(f"{resource_type} has no element '{asked}'", expression="_elements")
                notes.append(f"_elements: {resource_type} has no element '{asked}'; ignored")
                continue
            keep |= found
            applied[root] = None
        if applied:
            if summary in ("true", "text", "data"):  # R4 defines no combination: one is applied
                if strict:
                    raise NotSupported("_summary and _elements cannot be applied together", expression="_summary")
                notes.append(f"_summary={summary} is not applied with _elements; _elements is")
            return Shaping(keep=frozenset(keep), profiles_kept=False, notes=tuple(notes), elements=tuple(applied))
        # None of its names applies: `_elements` is ignored whole, as any unknown parameter is.
    if summary == "true":
        known = _elements_of(resource_type)
        summarized = frozenset({*_ALWAYS_KEPT, *mandatory, *known.summary})
        return Shaping(keep=summarized, profiles_kept=False, notes=tuple(notes))
    if summary == "text":
        return Shaping(keep=frozenset({*_ALWAYS_KEPT, *mandatory, "text"}), profiles_kept=False, notes=tuple(notes))
    if summary == "data":
        return Shaping(without_text=True, notes=tuple(notes))
    return Shaping(notes=tuple(notes)) if notes else WHOLE


def shape(resource: dict[str, Any], how: Shaping) -> dict[str, Any]:
    """One resource cut as `how` says, tagged SUBSETTED. Cut to some elements it no longer
    claims its profiles (a subset cannot promise a profile's required elements); without its
    narrative alone (`_summary=data`: "all parts except the text element") it still meets
    them, and says so. A primitive's `_name` sibling (its id and extensions, R4
    json.html#primitive) goes with it."""
    if how.keep is not None:
        keep = how.keep
        kept = {k: v for k, v in resource.items() if (k[1:] if k[:1] == "_" else k) in keep}
    elif how.without_text:
        kept = {k: v for k, v in resource.items() if k != "text"}
    else:
        return resource
    meta = {k: v for k, v in (kept.get("meta") or {}).items() if k != "profile" or how.profiles_kept}
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept
