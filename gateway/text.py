"""Unicode text as the gateway serves it: NFC.

Vendors store names however their input arrived; "Renée" may come back decomposed (e + a
combining acute). FHIR strings are Unicode, and two spellings that look the same must compare
the same (http://hl7.org/fhir/R4/search.html#string: exact means case- and accent-sensitive,
not normalization-sensitive), so everything a vendor's provider returns is put in NFC once,
where it enters the core.
"""

from __future__ import annotations

import codecs
import unicodedata
from email.message import Message
from typing import Any

import orjson


def nfc_text(text: str) -> str:
    # is_normalized is a fast check in C; most strings are ASCII or already NFC.
    return text if text.isascii() or unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def nfc(value: Any) -> Any:
    """`value` (JSON: dicts, lists, strings, numbers) with every string in NFC; the same object
    when nothing needed to change, so already-normal answers are not copied."""
    # Most answers are ASCII or NFC throughout: one check of their serialization (fast, in C)
    # instead of a walk. A string not in NFC makes the whole text not NFC (the quotes around it
    # are starters that compose with nothing), so this never skips one.
    try:
        serialized = orjson.dumps(value)
    except TypeError:  # a value JSON has no type for: walk it
        return _walk(value)
    if serialized.isascii() or unicodedata.is_normalized("NFC", serialized.decode()):
        return value
    return _walk(value)


def _walk(value: Any) -> Any:
    if isinstance(value, str):
        return nfc_text(value)
    if isinstance(value, dict):
        changed = {key: _walk(item) for key, item in value.items()}
        return value if all(changed[key] is value[key] for key in value) else changed
    if isinstance(value, list):
        items = [_walk(item) for item in value]
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    return value


def content_charset(content_type: str) -> str | None:
    """The charset a Content-Type names: the codec's own name when Python knows it (`UTF8` and
    `utf-8` are `utf-8`), else the label as given, lower-cased; None when it names none."""
    message = Message()
    message["content-type"] = content_type
    charset = message.get_content_charset()
    if not charset:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return charset
