"""Modifier elements in a resource sent to be written: refused, since no vendor keeps them.

A modifier extension changes the meaning of the element that holds it (a medication NOT
taken, a condition of a relative), and `implicitRules` names rules the content must be read
by. R4 extensibility.html#modifierExtension: an application that does not understand a
modifier extension SHALL NOT process the element as if it were absent; resource.html#implicitRules
says the same of implicit rules. None of the vendors behind the gateway can store either, so
writing the rest of the resource would store a record that means something else: the write
is refused (422) before any vendor call, naming each place.

So are the modifier elements of a resource that no vendor keeps (`UNHELD_MODIFIERS`): a
`Patient.link` marks a record that "might not be the main Patient resource" (R4
patient.html#Patient.link, isModifier); stored without it, a replaced or merged-away patient
would read as a primary one. (A resource's other modifiers, `active` and `deceased[x]`, are
the adapters' to hold or refuse: each vendor keeps them its own way.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway.errors import UnsupportedModifier

# Modifier elements, by resource type, that no vendor behind the gateway keeps.
UNHELD_MODIFIERS: dict[str, tuple[str, ...]] = {"Patient": ("link",)}


def refuse_modifiers(resource: dict[str, Any]) -> None:
    """Raise UnsupportedModifier naming every modifier element of `resource` (contained ones too)."""
    kind = resource["resourceType"]
    found = [f"{kind}.{name}" for name in UNHELD_MODIFIERS.get(kind, ()) if resource.get(name) not in (None, [], {})]
    found += _modifiers(resource, kind)
    if not found:
        return
    error = UnsupportedModifier(_message(found[0]), expression=found[0])
    error.issues = [(_message(where), where) for where in found[1:]]
    raise error


def _message(where: str) -> str:
    if where.endswith(".implicitRules"):
        what = "implicit rules"
    elif where.endswith(".modifierExtension"):
        what = "a modifier extension"
    else:
        what = f"{where.rsplit('.', 1)[-1]} (a modifier element)"
    return (
        f"{where}: this server cannot store {what}, and storing the rest would change what the "
        "record means; nothing was written"
    )


def _modifiers(value: Any, where: str, *, resource: bool = True) -> Iterator[str]:
    if isinstance(value, dict):
        if resource and value.get("implicitRules") is not None:
            yield f"{where}.implicitRules"
        if value.get("modifierExtension"):
            yield f"{where}.modifierExtension"
        for key, item in value.items():
            if key in ("modifierExtension", "implicitRules"):
                continue
            if key == "contained" and resource and isinstance(item, list):
                for index, inner in enumerate(item):
                    yield from _modifiers(inner, f"{where}.contained[{index}]")
                continue
            yield from _modifiers(item, f"{where}.{key}", resource=False)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _modifiers(item, f"{where}[{index}]", resource=False)
