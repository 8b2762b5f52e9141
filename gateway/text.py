"""Unicode text as the gateway serves it: NFC.

Vendors store names however their input arrived; "Renée" may come back decomposed (e + a
combining acute). FHIR strings are Unicode, and two spellings that look the same must compare
the same (http://hl7.org/fhir/R4/search.html#string: exact means case- and accent-sensitive,
not normalization-sensitive), so everything a vendor's provider returns is put in NFC once,
where it enters the core.

JSON can also name what is not text: an escape for half a surrogate pair (`"\\ud800"`), which
no UTF-8 can carry (RFC 8259 section 8.2: such strings behave unpredictably; I-JSON, RFC 7493
section 2.1, forbids them). `is_text` tells a value that holds one, so it can be refused where
it arrives; `escaped` spells one out (`\\ud800`), for what must be written whatever it holds.
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


def is_text(value: Any) -> bool:
    """Whether every string of `value` (JSON: dicts, lists, strings, numbers), keys included,
    is Unicode text UTF-8 can carry. Walked without recursion: a claim may nest as deep as its
    parser allowed."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii() and not _encodes(item):
                return False
        elif isinstance(item, dict):
            pending += item.keys()
            pending += item.values()
        elif isinstance(item, list):
            pending += item
    return True


def escaped(value: Any) -> Any:
    """`value` with each lone surrogate written out as its escape (`\\ud800`), so that it can be
    serialized as UTF-8; everything else as it was."""
    if isinstance(value, str):
        return value if value.isascii() or _encodes(value) else value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, dict):
        return {escaped(key): escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escaped(item) for item in value]
    return value


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
