"""Stable FHIR ids for vendor records (http://hl7.org/fhir/R4/datatypes.html#id; docs/architecture.md#the-seams).

FHIR ids are at most 64 of `[A-Za-z0-9-.]`. A record the vendor only serves under its parent
gets an id carrying both vendor ids, so a read costs one vendor call; two UUIDs only fit when
written compactly, so UUIDs are packed in base 36 (25 characters each).
"""

from __future__ import annotations

import hashlib
import re
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


# Exactly the texts `str(uuid.UUID(text)) == text` accepts, without building a UUID (every read
# and search checks its ids).
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_uuid(text: str) -> bool:
    """A UUID in its canonical form (lower case, hyphenated): the only spelling of an id we serve."""
    return CANONICAL_UUID.fullmatch(text) is not None


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


# -- vendor strings as id parts -------------------------------------------------------------------
#
# A vendor string that forms part of an id (a chart number, a section name...) is kept as it is
# when it is already a plain part (`[A-Za-z0-9-]+`, not starting with the marker "x"), so
# existing ids stay the same. Anything else is escaped: "x", then each ASCII letter or digit as
# itself and every other UTF-8 byte as "-HH" (upper-case hex): "Social History" ->
# "xSocial-20History". An escaped part never holds "--" nor ".", so parts still join with ".".
# A part longer than the room it is given is shortened: "x", the longest escaped prefix that
# fits, "--" and a hash of the whole string (7 base-36 characters): it cannot be decoded, only
# recognised by encoding candidates (`decode_part` gives the prefix, marked incomplete).

_PLAIN_PART = re.compile(r"[A-Za-z0-9-]+")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_HEX_UPPER = frozenset("0123456789ABCDEF")
PART_MARKER = "x"
HASH_WIDTH = 7
MIN_PART_ROOM = len(PART_MARKER) + 2 + HASH_WIDTH  # the shortest shortened part: no prefix


def _escape_pieces(text: str) -> list[str]:
    pieces: list[str] = []
    for char in text:
        if char in _ALNUM:
            pieces.append(char)
        else:
            pieces.append("".join(f"-{byte:02X}" for byte in char.encode()))  # a character is never cut
    return pieces


def part_hash(text: str) -> str:
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    out = []
    for _ in range(HASH_WIDTH):
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(out)


def encode_part(text: str, room: int = 64) -> str:
    """`text` as an id part of at most `room` (>= MIN_PART_ROOM) characters of `[A-Za-z0-9-]`."""
    if room < MIN_PART_ROOM:
        raise ValueError(f"an id part needs room for at least {MIN_PART_ROOM} characters")
    if _PLAIN_PART.fullmatch(text) and not text.startswith(PART_MARKER) and len(text) <= room:
        return text
    pieces = _escape_pieces(text)
    escaped = PART_MARKER + "".join(pieces)
    if len(escaped) <= room:
        return escaped
    prefix, budget = [PART_MARKER], room - MIN_PART_ROOM
    for piece in pieces:
        if len(piece) > budget:
            break
        prefix.append(piece)
        budget -= len(piece)
    return "".join(prefix) + "--" + part_hash(text)


def decode_part(part: str) -> tuple[str, bool] | None:
    """(the string, True) an `encode_part` result stands for; (its prefix, False) for a
    shortened one; None when `part` is no `encode_part` result."""
    if not part or not _PLAIN_PART.fullmatch(part):
        return None
    if not part.startswith(PART_MARKER):
        return part, True
    body, shortened, digest = part[len(PART_MARKER) :].partition("--")
    if shortened and (len(digest) != HASH_WIDTH or any(c not in _DIGITS for c in digest)):
        return None
    raw, i = bytearray(), 0
    while i < len(body):
        if body[i] == "-":
            pair = body[i + 1 : i + 3]
            if len(pair) != 2 or any(c not in _HEX_UPPER for c in pair):
                return None
            raw.append(int(pair, 16))
            i += 3
        else:
            raw.append(ord(body[i]))
            i += 1
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    if shortened:
        return text, False
    return (text, True) if encode_part(text, max(len(part), MIN_PART_ROOM)) == part else None
