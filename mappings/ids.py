"""Stable FHIR ids for vendor records (http://hl7.org/fhir/R4/datatypes.html#id; docs/architecture.md#the-seams).

FHIR ids are at most 64 of `[A-Za-z0-9-.]`. A record the vendor only serves under its parent
gets an id carrying both vendor ids, so a read costs one vendor call; two UUIDs only fit when
written compactly, so UUIDs are packed in base 36 (25 characters each).
"""

from __future__ import annotations

import uuid
from functools import lru_cache

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_WIDTH = 25  # 36**25 > 2**128


@lru_cache(maxsize=65536)  # the same patient uuid is packed into every child id
def pack_uuid(value: str) -> str:
    number = uuid.UUID(value).int
    out = []
    for _ in range(_WIDTH):
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def unpack_uuid(text: str) -> str | None:
    """The UUID a packed id part stands for, or None if it is not one."""
    if len(text) != _WIDTH or any(c not in _DIGITS for c in text):
        return None
    number = int(text, 36)
    if number >= 1 << 128:
        return None
    return str(uuid.UUID(int=number))


def is_uuid(text: str) -> bool:
    """A UUID in its canonical form (lower case, hyphenated): the only spelling of an id we serve."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def is_int_id(text: str) -> bool:
    """A vendor integer id in its canonical spelling ("7", not "007")."""
    return text.isascii() and text.isdigit() and str(int(text)) == text


def child_id(parent_uuid: str, child_uuid: str, suffix: str | None = None) -> str:
    parts = [pack_uuid(parent_uuid), pack_uuid(child_uuid)]
    if suffix:
        parts.append(suffix)
    return ".".join(parts)


def split_child_id(resource_id: str) -> tuple[str, str, str | None] | None:
    """(parent uuid, child uuid, suffix) from a `child_id`, or None if it is not one."""
    parts = resource_id.split(".")
    if len(parts) not in (2, 3):
        return None
    parent, child = unpack_uuid(parts[0]), unpack_uuid(parts[1])
    if parent is None or child is None:
        return None
    return parent, child, parts[2] if len(parts) == 3 else None
