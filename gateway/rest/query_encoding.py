"""Percent-encoded query text (a URL's query, or a form body) that says what it means.

A `%` not followed by two hex digits, or escapes (or raw bytes) that decode to bytes that are
not UTF-8 (RFC 3986 section 2.5: text is UTF-8, then percent-encoded), are a 400: a parser that let them
through would search for another value than the client wrote (`%C5berg`, Latin-1 for
`Åberg`, read as `\ufffdberg`; `%ZZ` as the three characters) and answer as if for it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from gateway.errors import InvalidRequest

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def check_query_encoding(text: bytes, where: str, expression: str | None = None) -> None:
    """400 unless every escape of `text` is well formed and they decode to UTF-8 (`expression`:
    the element or header the issue names)."""
    if b"%" not in text and text.isascii():
        return  # nothing escaped (an ASCII query, as nearly every one is)
    if _BAD_ESCAPE.search(text):
        raise InvalidRequest(
            f"The {where} has a '%' that is not a percent-encoded byte (write '%25')", expression=expression
        )
    try:
        unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(
            f"The {where} has percent-encoded bytes that are not UTF-8", expression=expression
        ) from None
