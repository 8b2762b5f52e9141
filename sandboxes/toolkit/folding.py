"""Case- and accent-insensitive text, as the vendors' databases compare it.

The vendors match names the way an accent- and case-insensitive collation does (MySQL's
``utf8mb4_unicode_ci`` for Nextvisit, a PostgreSQL ICU collation for the Dental PMS, the
NexHealth name search): ``garcia`` finds ``García``. Unicode NFKD decomposition splits an
accented letter into its base letter and combining marks; dropping the marks and
case-folding gives the comparable form.

Some letters carry no combining mark to drop (``ø``, ``æ``, ``ł``, ``đ``, dotless ``ı``):
``fold`` transliterates them first, as those collations treat them like their base
letters. ``ß`` needs no entry: ``str.casefold`` already turns it into ``ss``. A vendor
whose documented folding is NFKD + marks dropped + case-folded, with no transliteration
(Nextech's ``/api/search``), builds on ``strip_marks`` instead.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "folded_words", "strip_marks"]

_LETTERS_WITHOUT_MARKS = str.maketrans(
    {"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i"}
)
#: A word: a run of letters and digits (``\w`` without the underscore).
_WORD = re.compile(r"[^\W_]+")


def strip_marks(text: str) -> str:
    """`text` in NFKD form without its combining marks (``García`` -> ``Garcia``); case kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """The case- and accent-insensitive form of `text` (``Søren Łukasz`` -> ``soren lukasz``).

    Marks are dropped before case-folding, so ``İ`` becomes ``i`` (not ``i̇``).
    """
    return strip_marks(text.translate(_LETTERS_WITHOUT_MARKS)).casefold()


def folded_words(text: str | None) -> list[str]:
    """The words of `text`, folded, split on anything that is not a letter or digit.

    ``"O'Brien-Nguyễn 1985-03-15"`` -> ``["o", "brien", "nguyen", "1985", "03", "15"]``;
    None or ``""`` -> ``[]``. This is how the full-text indexes the vendors document
    (Meilisearch for Nextvisit, NexHealth's name search) tokenise.
    """
    return _WORD.findall(fold(text)) if text else []
