"""Layer 3b: what medplum does not check against a US Core snapshot, checked in Python.

Walks the profile's snapshot (as a tree of element ids) alongside the resource and reports:

* inside every slice an instance belongs to: min/max cardinality and ``fixed[x]`` /
  ``pattern[x]`` values of the slice's elements, nested ones and choice types included
  (``Observation.value[x]:valueQuantity.code`` = ``/min``, ``component:systolic`` units);
* everywhere: required-strength bindings whose value set expands from local data
  (``conformance.terminology``), for ``code``, ``Coding``, ``CodeableConcept`` and
  ``Quantity`` values;
* slice counts where the discriminator resolves through a required binding (medplum counts
  any value as a member there, e.g. ``Condition.category:us-core``);
* US Core extension profiles named by a slice's type (``us-core-race``, ``us-core-birthsex``
  in ``Patient.extension``), checked in full against their own snapshot.

Elements outside slices are left to medplum (cardinality, fixed/pattern, invariants), so a
fault is reported once. Slices are assigned by ``value``/``pattern``/``type`` discriminators
(``profile``/``exists`` ones assign nothing); bindings to value sets that do not expand
locally (LOINC/SNOMED filters, mime types) are not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from conformance.data import us_core_profile
from conformance.terminology import expand

JSON = dict[str, Any]
Value = tuple[Any, str, str | None]  # value, its JSON path, its FHIR type where known


@dataclass
class Element:
    """One snapshot ElementDefinition, with its children and slices by name."""

    id: str
    name: str
    min: int
    max: float
    types: tuple[str, ...]
    type_profiles: tuple[str, ...]
    fixed: tuple[str, Any] | None
    pattern: tuple[str, Any] | None
    binding: str | None
    discriminators: tuple[tuple[str, str], ...] = ()
    children: dict[str, Element] = field(default_factory=dict)
    slices: dict[str, Element] = field(default_factory=dict)


def snapshot_problems(resource: JSON, profile_url: str, path: str | None = None) -> list[str]:
    """Problems in ``resource`` against the parts of ``profile_url`` medplum leaves out."""
    root = profile_tree(profile_url)
    if root is None:
        return []
    label = f"profile {profile_url.rsplit('/', 1)[-1]}"
    problems: list[str] = []
    _walk(root, resource, path or str(resource.get("resourceType")), False, label, problems)
    return problems


@cache
def profile_tree(profile_url: str) -> Element | None:
    """The snapshot of a US Core StructureDefinition as a tree, or None if unknown."""
    sd = us_core_profile(profile_url)
    if sd is None:
        return None
    by_id: dict[str, Element] = {}
    root: Element | None = None
    for definition in sd["snapshot"]["element"]:
        element = _element(definition)
        by_id[element.id] = element
        *parents, last = element.id.split(".")
        if root is None:
            root = element
        elif ":" in last:
            name, slice_name = last.split(":", 1)
            by_id[".".join([*parents, name])].slices[slice_name] = element
        else:
            by_id[".".join(parents)].children[last] = element
    return root


def _element(definition: JSON) -> Element:
    types = definition.get("type", [])
    binding = definition.get("binding", {})
    slicing = definition.get("slicing", {})
    maximum = definition.get("max", "*")
    return Element(
        id=definition["id"],
        name=definition["id"].rsplit(".", 1)[-1].split(":", 1)[0],
        min=int(definition.get("min", 0)),
        max=math.inf if maximum == "*" else int(maximum),
        types=tuple(t["code"] for t in types),
        type_profiles=tuple(p for t in types for p in t.get("profile", [])),
        fixed=_prefixed(definition, "fixed"),
        pattern=_prefixed(definition, "pattern"),
        binding=binding.get("valueSet") if binding.get("strength") == "required" else None,
        discriminators=tuple((d["type"], d["path"]) for d in slicing.get("discriminator", [])),
    )


def _prefixed(definition: JSON, prefix: str) -> tuple[str, Any] | None:
    for key, value in definition.items():
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
            return key, value
    return None


def _walk(node: Element, obj: Any, path: str, in_slice: bool, label: str, problems: list[str]) -> None:
    if not isinstance(obj, dict):
        return
    for child in node.children.values():
        values = _values(obj, child, path)
        if in_slice:
            _check_cardinality(child, values, path, label, problems)
        for value, value_path, _ in values:
            if value is None:
                continue
            if in_slice:
                _check_value(child, value, value_path, label, problems)
            _check_binding(child, value, value_path, label, problems)
            if child.children:
                _walk(child, value, value_path, in_slice, label, problems)
        if child.slices:
            _check_slices(child, values, path, label, problems)


def _values(obj: JSON, element: Element, path: str) -> list[Value]:
    """The values of ``element`` in ``obj``: list items flattened, choice types resolved."""
    found: list[tuple[str, Any, str | None]] = []
    if element.name.endswith("[x]"):
        stem = element.name[:-3]
        for key, value in obj.items():
            suffix = key[len(stem) :]
            if key.startswith(stem) and suffix[:1].isupper():
                found.append((key, value, suffix))
    elif element.name in obj or f"_{element.name}" in obj:
        # A primitive present only as `_name` (extensions, no value) still counts as present.
        single = _capitalized(element.types[0]) if len(element.types) == 1 else None
        found.append((element.name, obj.get(element.name), single))
    values: list[Value] = []
    for key, value, fhir_type in found:
        if isinstance(value, list):
            values += [(item, f"{path}.{key}[{i}]", fhir_type) for i, item in enumerate(value)]
        else:
            values.append((value, f"{path}.{key}", fhir_type))
    return values


def _capitalized(type_code: str) -> str:
    """A type code as it ends a choice element's JSON key: ``dateTime`` -> ``DateTime``."""
    return type_code[:1].upper() + type_code[1:]


def _check_cardinality(element: Element, values: list[Value], path: str, label: str, problems: list[str]) -> None:
    if not element.min <= len(values) <= element.max:
        top = "*" if math.isinf(element.max) else str(int(element.max))
        problems.append(
            f"{label} {path}.{element.name}: {len(values)} values, {element.id} allows {element.min}..{top}"
        )


def _check_value(element: Element, value: Any, path: str, label: str, problems: list[str]) -> None:
    if element.fixed is not None and value != element.fixed[1]:
        key, fixed = element.fixed
        problems.append(f"{label} {path}: {value!r} is not {key} {fixed!r} ({element.id})")
    if element.pattern is not None and not _matches_pattern(value, element.pattern[1]):
        key, pattern = element.pattern
        problems.append(f"{label} {path}: {value!r} does not match {key} {pattern!r} ({element.id})")


def _matches_pattern(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_matches_pattern(value.get(key), part) for key, part in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_matches_pattern(item, part) for item in value) for part in pattern)
    return bool(value == pattern)


def _check_binding(element: Element, value: Any, path: str, label: str, problems: list[str]) -> None:
    if element.binding is None or _in_value_set(value, element.binding) is not False:
        return
    problems.append(f"{label} {path}: {_codes(value)} not in required value set {element.binding} ({element.id})")


def _in_value_set(value: Any, value_set: str) -> bool | None:
    """Whether ``value`` has a code from ``value_set``; None when that cannot be known."""
    codes = expand(value_set)
    if codes is None:
        return None
    if isinstance(value, str):
        return any(code == value for _, code in codes)
    if not isinstance(value, dict):
        return None
    codings = value.get("coding") if "coding" in value or "text" in value else [value]
    if not isinstance(codings, list):
        return None
    return any(isinstance(coding, dict) and (coding.get("system"), coding.get("code")) in codes for coding in codings)


def _codes(value: Any) -> str:
    if isinstance(value, dict):
        codings = value.get("coding", [value])
        if isinstance(codings, list):
            pairs = [c for c in codings if isinstance(c, dict) and "code" in c]
            if pairs:
                return ", ".join(f"{c.get('system')}|{c.get('code')}" for c in pairs)
        return "no coding"
    return repr(value)


def _check_slices(element: Element, values: list[Value], path: str, label: str, problems: list[str]) -> None:
    members: dict[str, list[Value]] = {name: [] for name in element.slices}
    for value in values:
        for name, slice_ in element.slices.items():
            if _in_slice(value, slice_, element.discriminators):
                members[name].append(value)
                break
    for name, slice_ in element.slices.items():
        if _binding_discriminated(slice_, element.discriminators):
            _check_cardinality(slice_, members[name], path, label, problems)
        for value, value_path, _ in members[name]:
            if value is None:
                continue
            _check_value(slice_, value, value_path, label, problems)
            _check_binding(slice_, value, value_path, label, problems)
            _walk(slice_, value, value_path, True, label, problems)
            for profile in slice_.type_profiles:
                extension = profile_tree(profile)
                if extension is not None:
                    _walk(extension, value, value_path, True, label, problems)


def _in_slice(value: Value, slice_: Element, discriminators: tuple[tuple[str, str], ...]) -> bool:
    item, _, fhir_type = value
    if not discriminators:
        return False
    for kind, path in discriminators:
        if kind == "type":
            if path != "$this" or fhir_type not in {_capitalized(t) for t in slice_.types}:
                return False
        elif kind in ("value", "pattern"):
            if not _discriminator_matches(item, slice_, path):
                return False
        else:
            return False
    return True


def _discriminator_matches(item: Any, slice_: Element, path: str) -> bool:
    target = _descend(slice_, path)
    candidates = _at_path(item, path)
    if target is None:
        # An extension slice's url lives in the extension's own profile.
        if path == "url" and slice_.type_profiles:
            return any(c in slice_.type_profiles for c in candidates)
        return False
    if target.fixed is not None:
        return any(c == target.fixed[1] for c in candidates)
    if target.pattern is not None:
        return any(_matches_pattern(c, target.pattern[1]) for c in candidates)
    if target.binding is not None:
        return any(_in_value_set(c, target.binding) for c in candidates)
    return False


def _binding_discriminated(slice_: Element, discriminators: tuple[tuple[str, str], ...]) -> bool:
    for kind, path in discriminators:
        target = _descend(slice_, path) if kind in ("value", "pattern") else None
        if target is not None and target.fixed is None and target.pattern is None:
            return target.binding is not None and expand(target.binding) is not None
    return False


def _descend(slice_: Element, path: str) -> Element | None:
    node: Element | None = slice_
    if path == "$this":
        return node
    for part in path.split("."):
        node = node.children.get(part) if node is not None else None
    return node


def _at_path(item: Any, path: str) -> list[Any]:
    current = [item]
    if path == "$this":
        return current
    for part in path.split("."):
        following: list[Any] = []
        for value in current:
            if isinstance(value, dict) and part in value:
                found = value[part]
                following += found if isinstance(found, list) else [found]
        current = following
    return current
