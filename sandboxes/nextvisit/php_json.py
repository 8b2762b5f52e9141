"""JSON bytes as PHP's ``json_encode($value)`` writes them with Laravel's default flags.

Laravel's JSON responses escape ``/`` as ``\\/`` and every non-ASCII character as a
``\\uXXXX`` escape (astral characters as a surrogate pair), so the bytes differ from what a
Python encoder writes although the JSON values are the same. Clients that compare bytes,
or that only ever saw ASCII from the real API, see the same here.
"""

from __future__ import annotations

import codecs
from typing import Any

import orjson

__all__ = ["php_json"]


def _php_escape(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeEncodeError)
    out = []
    for ch in exc.object[exc.start : exc.end]:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), exc.end


codecs.register_error("nextvisit_php_json", _php_escape)


def php_json(value: Any) -> bytes:
    """JSON as PHP's ``json_encode($value)`` writes it: ``\\/`` and ``\\uXXXX`` escapes."""
    raw = orjson.dumps(value)
    if not raw.isascii():
        raw = raw.decode().encode("ascii", "nextvisit_php_json")
    return raw.replace(b"/", b"\\/")
