"""What may appear in logs: never query strings, never resource ids (they can carry identifiers)."""

from __future__ import annotations


def redact(path: str) -> str:
    """A request path with resource ids replaced: ids can carry identifiers (a chart number)."""
    parts = path.split("/")
    # /fhir/{tenant}/{type}/{id}[/_history/{vid}]: keep the route, hide the ids
    for index in (4, 6):
        if len(parts) > index and parts[1] == "fhir" and not parts[index].startswith(("_", "$")):
            parts[index] = "{id}"
    return "/".join(parts)
