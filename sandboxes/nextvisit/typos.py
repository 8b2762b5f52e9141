"""Meilisearch's word matching: exact, prefix (last query word), and typo tolerance.

Meilisearch's defaults: a query word of 5+ characters may have 1 typo, of 9+ characters 2
(a typo is an insertion, deletion, substitution or swap of adjacent letters: the
Damerau / optimal-string-alignment distance); a typo on the first letter counts as two.
The last word of a query also matches as a prefix.
"""

from __future__ import annotations

__all__ = ["word_matches"]


def _typo_distance(query: str, word: str, limit: int, prefix: bool) -> int:
    """Damerau (optimal string alignment) distance from `query` to `word` (to its closest
    prefix when `prefix`), or ``limit + 1`` once it is certainly above `limit`."""
    if prefix:
        word = word[: len(query) + limit]
    elif abs(len(query) - len(word)) > limit:
        return limit + 1
    width = len(word)
    before: list[int] = []  # the row two query letters back (for swaps)
    prev = list(range(width + 1))
    for row in range(1, len(query) + 1):
        cur = [row] + [0] * width
        for col in range(1, width + 1):
            cost = min(prev[col] + 1, cur[col - 1] + 1, prev[col - 1] + (query[row - 1] != word[col - 1]))
            if row > 1 and col > 1 and query[row - 1] == word[col - 2] and query[row - 2] == word[col - 1]:
                cost = min(cost, before[col - 2] + 1)
            cur[col] = cost
        if min(cur) > limit:
            return limit + 1
        before, prev = prev, cur
    return min(prev) if prefix else prev[width]


def word_matches(query_word: str, word: str, prefix: bool) -> bool:
    """Meilisearch's word match: exact/prefix, 1 typo from 5 chars, 2 from 9; a typo on the
    first letter counts as two."""
    if query_word == word or (prefix and word.startswith(query_word)):
        return True
    allowed = 0 if len(query_word) < 5 else 1 if len(query_word) < 9 else 2
    extra = int(query_word[0] != word[0])
    if allowed - extra <= 0:
        return False
    return _typo_distance(query_word, word, allowed, prefix) + extra <= allowed
