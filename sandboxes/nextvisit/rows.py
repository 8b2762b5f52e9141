"""``PatientRow``: one patient as Nextvisit holds it, plus its sort/search data and renderings.

The row keeps the patient's own fields (``doc``), the pieces the ``PatientFull`` resource
adds (owner, encounters, timeline, demographics), the folded name keys lists sort and
filter on, the folded words the search index holds, and the encoded resource per variant.
``refresh`` re-derives them after a write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.folding import fold, folded_words
from sandboxes.toolkit.rows import Row

__all__ = ["PatientRow", "Variant"]

#: Which optional parts a rendering has: team, encounters, demographics, deleted_at.
Variant = tuple[bool, bool, bool, bool]

_INDEXED = ("first_name", "middle_name", "last_name", "date_of_birth", "notes")


@dataclass(eq=False)
class PatientRow(Row):
    """One patient as the vendor holds it, plus derived sort/search data and rendered bytes."""

    user_id: int
    encounters: list[JsonObject]
    timeline: list[JsonObject]
    demographics: JsonObject | None
    rendered: dict[Variant, bytes] = field(default_factory=dict)
    first_key: str = ""
    last_key: str = ""
    words: frozenset[str] = frozenset()

    @property
    def id(self) -> int:
        return int(self.doc["id"])

    def refresh(self) -> None:
        """Re-derive the keys and words from ``doc`` and forget the renderings."""
        doc = self.doc
        self.rendered.clear()
        self.first_key = fold(doc["first_name"])
        self.last_key = fold(doc["last_name"])
        self.words = frozenset(word for name in _INDEXED for word in folded_words(doc[name]))
