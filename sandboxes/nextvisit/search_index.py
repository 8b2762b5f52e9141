"""Search over live patients the way Laravel Scout + Meilisearch answers it.

Indexed: first, middle and last name, ``date_of_birth`` and ``notes`` of patients that are
not soft-deleted, as folded words. Meilisearch's default ``last`` matching strategy:
patients matching every query word come first, then those matching all but the last
word, and so on down to the first word alone. Within each group the order is
``updated_at`` (ascending or descending), then id. Typo, proximity, attribute and
exactness ranking are not modelled. No query words at all is a placeholder search: every
live patient.
"""

from __future__ import annotations

from cachetools import LRUCache

from sandboxes.nextvisit.rows import PatientRow
from sandboxes.nextvisit.typos import word_matches
from sandboxes.toolkit.caches import bounded_cache, memoized

__all__ = ["SearchIndex"]


class SearchIndex:
    """Word -> patients, built lazily from `rows` (the store's own dict) and cleared on writes."""

    def __init__(self, rows: dict[int, PatientRow]) -> None:
        self._rows = rows
        self._vocabulary: dict[str, list[PatientRow]] | None = None
        self._word_hits: LRUCache[tuple[str, bool], frozenset[int]] = bounded_cache()

    def clear(self) -> None:
        """Forget everything derived from the rows (after a write)."""
        self._vocabulary = None
        self._word_hits.clear()

    def search(self, words: tuple[str, ...], desc: bool) -> list[PatientRow]:
        """Live patients matching folded query `words`, best groups first (see the module)."""
        live = [row for row in sorted(self._rows.values(), key=lambda row: row.id) if not row.deleted]
        live.sort(key=lambda row: row.doc["updated_at"], reverse=desc)
        if not words:
            return live
        depth: dict[int, int] = {}  # patient id -> how many leading query words it matches
        alive: frozenset[int] | None = None
        for position, word in enumerate(words):
            hits = self._hits(word, prefix=position == len(words) - 1)
            alive = hits if alive is None else alive & hits
            for row_id in alive:
                depth[row_id] = position + 1
        found = [row for row in live if row.id in depth]
        found.sort(key=lambda row: -depth[row.id])
        return found

    def _hits(self, word: str, prefix: bool) -> frozenset[int]:
        """Ids of live patients with an indexed word that `word` matches."""

        def match() -> frozenset[int]:
            vocabulary = self._vocabulary_now()
            return frozenset(
                row.id for indexed, rows in vocabulary.items() if word_matches(word, indexed, prefix) for row in rows
            )

        return memoized(self._word_hits, (word, prefix), match)

    def _vocabulary_now(self) -> dict[str, list[PatientRow]]:
        if self._vocabulary is None:
            vocabulary: dict[str, list[PatientRow]] = {}
            for row in self._rows.values():
                if not row.deleted:
                    for indexed in row.words:
                        vocabulary.setdefault(indexed, []).append(row)
            self._vocabulary = vocabulary
        return self._vocabulary
