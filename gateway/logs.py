"""What may appear in logs: never query strings, never resource ids (they can carry identifiers)."""

from __future__ import annotations


def printable(text: str) -> str:
    """`text` with every character that is not printable escaped (`\\x0d`, `\\u2028`), so that no
    input (`%0d%0a` in a path decodes to CR LF) can end a log line and forge another."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def redact(path: str) -> str:
    """A request path with resource ids replaced (ids can carry identifiers, a chart number) and
    every character that is not printable escaped (`printable`)."""
    path = printable(path)
    parts = path.split("/")
    # /fhir/{tenant}/{type}/{id}[/_history/{vid}]: keep the route, hide the ids
    for index in (4, 6):
        if len(parts) > index and parts[1] == "fhir" and not parts[index].startswith(("_", "$")):
            parts[index] = "{id}"
    return "/".join(parts)
