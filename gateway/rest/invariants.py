"""The R4 invariants a resource sent to be written must meet that its model does not check.

fhir.resources reads types, cardinalities and required elements; the constraints R4 states as
invariants it leaves alone, so a body could pass that no other FHIR server would take, and a
vendor that keeps what it is sent (Nextvisit keeps a patient's other elements as they came)
would serve it back to every client, whose strict parser then refuses the record. Checked here,
from the JSON as sent, each problem named by its FHIRPath:

- ele-1 (R4 element.html): every element has a value or children: no `{}`; and R4 json.html
  writes no empty array and no `null` but in a primitive array lined up with its `_` twin;
- ext-1 (extension.html): an extension has nested extensions or a value, not both;
- dom-2, dom-3, dom-4, dom-5 (domainresource.html): a contained resource holds no contained
  ones, is referenced from the rest of the resource (or references it, `#`), has no
  `meta.versionId` or `meta.lastUpdated`, and no `meta.security`;
- ref-1 (references.html): a local reference `#id` names a contained resource;
- pat-1 (patient.html): a patient's contact has a name, telecom, address or organization.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Problem = tuple[str, str]


def invariant_problems(resource: dict[str, Any]) -> list[Problem]:
    """The invariants `resource` breaks, each as (message, FHIRPath), in document order."""
    kind = str(resource.get("resourceType"))
    problems = list(_elements(resource, kind, root=True))
    problems += _contained(resource, kind)
    if kind == "Patient":
        problems += _patient_contacts(resource)
    return problems


def _elements(value: Any, where: str, *, root: bool = False, extension: bool = False) -> Iterator[Problem]:
    if isinstance(value, dict):
        if not value and not root:
            yield f"{where}: an element must have a value or children (ele-1)", where
        if extension and value.get("extension") and any(key.startswith("value") for key in value):
            yield f"{where}: an extension has nested extensions or a value, not both (ext-1)", where
        for key, item in value.items():
            inner = f"{where}.{key}"
            if item is None:
                yield f"{inner}: null is not a FHIR JSON value; leave the element out (json.html)", inner
            elif isinstance(item, list):
                if not item:
                    yield f"{inner}: an array must hold an item at least; leave the element out (json.html)", inner
                lined_up = key.startswith("_") or f"_{key}" in value  # json.html#primitive
                for index, entry in enumerate(item):
                    at = f"{inner}[{index}]"
                    if entry is None and not lined_up:
                        yield f"{at}: null is not a FHIR JSON value (json.html)", at
                    elif entry is not None:
                        is_extension = key in ("extension", "modifierExtension")
                        yield from _elements(entry, at, root=key == "contained", extension=is_extension)
            else:
                yield from _elements(item, inner)


def _contained(resource: dict[str, Any], kind: str) -> Iterator[Problem]:
    found = resource.get("contained")
    contained = found if isinstance(found, list) else []
    # dom-3 reads references, canonicals and URIs anywhere in the resource (other contained
    # resources included) as `#id`; ref-1 holds for every Reference.reference.
    pointed = set(_pointers(resource))
    references = set(_local_references(resource))
    ids = set()
    for index, inner in enumerate(contained):
        where = f"{kind}.contained[{index}]"
        if not isinstance(inner, dict):
            continue
        if inner.get("contained"):
            yield f"{where}: a contained resource holds no contained resources (dom-2)", f"{where}.contained"
        found = inner.get("meta")
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        for name in ("versionId", "lastUpdated"):
            if name in meta:
                yield f"{where}: a contained resource has no meta.{name} (dom-4)", f"{where}.meta.{name}"
        if "security" in meta:
            yield f"{where}: a contained resource has no meta.security (dom-5)", f"{where}.meta.security"
        identifier = inner.get("id")
        if isinstance(identifier, str):
            ids.add(identifier)
        refers_back = "#" in set(_local_references(inner))
        if not refers_back and (not isinstance(identifier, str) or f"#{identifier}" not in pointed):
            yield (
                f"{where}: a contained resource is referenced from the rest of the resource, or refers to it (dom-3)",
                where,
            )
    for reference in sorted(references - {f"#{i}" for i in ids} - {"#"}):
        yield f"{kind}: the local reference '{reference}' names no contained resource (ref-1)", kind


def _pointers(value: Any) -> Iterator[str]:
    """Every text in `value` that points inside the resource (`#...`)."""
    if isinstance(value, str):
        if value.startswith("#"):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _pointers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _pointers(item)


def _local_references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str) and reference.startswith("#"):
            yield reference
        for item in value.values():
            yield from _local_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _local_references(item)


def _patient_contacts(resource: dict[str, Any]) -> Iterator[Problem]:
    contacts = resource.get("contact")
    if not isinstance(contacts, list):
        return
    for index, contact in enumerate(contacts):
        if isinstance(contact, dict) and not any(
            contact.get(name) for name in ("name", "telecom", "address", "organization")
        ):
            where = f"Patient.contact[{index}]"
            yield f"{where}: a contact has a name, telecom, address or organization (pat-1)", where
