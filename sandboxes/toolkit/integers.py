"""Integers written with ASCII digits only (path ids, token ids).

``str.isdigit`` alone accepts ``²`` (which ``int`` rejects) and Arabic-Indic digits (which
``int`` reads); a path id like ``/patients/٣`` must be unknown, not patient 3. Leading
zeros are kept as a number (``007`` is 7), as MySQL compares a digit string with an
integer column.
"""

from __future__ import annotations

__all__ = ["ascii_int"]


def ascii_int(text: str) -> int | None:
    """The non-negative integer `text` spells in ASCII digits, or None (sign, space, empty...)."""
    return int(text) if text.isascii() and text.isdigit() else None
