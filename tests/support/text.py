"""Text helpers for tests: an independent oracle for the simulators' name matching.

``fold`` is deliberately not ``sandboxes.toolkit.folding.fold``: tests check the
simulators against a second, plain implementation of "case- and accent-insensitive".
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold"]


def fold(text: str) -> str:
    """`text` without accents (NFKD, combining marks dropped; ``ø`` read as ``o``), case-folded."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
