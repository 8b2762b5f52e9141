"""What may appear in logs: never query strings, never resource ids (they can carry identifiers)."""

from __future__ import annotations


def redact(path: str) -> str:
    """A request path with resource ids replaced (ids can carry identifiers, a chart number) and
    every character that is not printable escaped, so that no path (`%0d%0a` decodes to CR LF)
    can end a log line and forge another."""
    path = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in path)
    parts = path.split("/")
    # /fhir/{tenant}/{type}/{id}[/_history/{vid}]: keep the route, hide the ids
    for index in (4, 6):
        if len(parts) > index and parts[1] == "fhir" and not parts[index].startswith(("_", "$")):
            parts[index] = "{id}"
    return "/".join(parts)
