"""NexHealth's fuzzy name search (vendor-docs/nexhealth-patients.txt: ``name`` is matched fuzzily).

Names and queries are folded (accents stripped, ``ø``/``æ``/``ł``... transliterated,
case-folded) and split into words on anything not a letter or digit. A patient's name words
are the words of first, last and preferred name, plus each of those names with its separators
removed. A query word matches a name word when it is equal; or, from 2 characters, a prefix of
it; or, from 4 characters, within one typo of it (optimal string alignment distance 1).
Under other readings (``readings.Reading``: ``name_accents``, ``name_match``) names are
compared case-folded only (NFC, or NFD as stored: a combining mark then splits a word, as a
naive tokenizer over decomposed text does), and words match as a prefix or a substring.
"""

from __future__ import annotations

import re
import unicodedata

from sandboxes.nexhealth.readings import Reading
from sandboxes.toolkit.folding import folded_words

__all__ = ["compact", "name_words", "person_key", "query_words", "read_word_matches", "word_matches"]

_WORD = re.compile(r"[^\W_]+")


def _words(text: str | None, reading: Reading, *, stored: bool) -> list[str]:
    if reading.name_accents == "insensitive":
        return folded_words(text)
    if not text:
        return []
    if stored and reading.name_accents == "sensitive_nfd":
        text = unicodedata.normalize("NFD", text)
    return _WORD.findall(text.casefold())


def query_words(query: str, reading: Reading) -> list[str]:
    """The words of a ``name`` query as `reading` compares them (as sent, bar case, unless folded)."""
    return _words(query, reading, stored=False)


def name_words(*names: str | None, reading: Reading | None = None) -> frozenset[str]:
    """Every word of these names, plus each multi-word name with its separators removed."""
    found: set[str] = set()
    for name in names:
        name_parts = folded_words(name) if reading is None else _words(name, reading, stored=True)
        found.update(name_parts)
        if len(name_parts) > 1:
            found.add("".join(name_parts))
    return frozenset(found)


def compact(name: str) -> str:
    """The name folded, separators removed (``O'Brien-Nguyễn`` -> ``obriennguyen``)."""
    return "".join(folded_words(name))


def person_key(first: str, last: str, birth_date: str | None) -> tuple[str, str, str] | None:
    """What makes two patients the same person for the duplicate check: compact names and date of birth."""
    return None if birth_date is None else (compact(first), compact(last), birth_date)


def _within_one_typo(query: str, word: str) -> bool:
    """Optimal string alignment distance of `query` and `word` is at most 1."""
    if abs(len(query) - len(word)) > 1:
        return False
    if len(query) == len(word):
        diff = [at for at in range(len(query)) if query[at] != word[at]]
        if len(diff) <= 1:
            return True
        first, last = diff[0], diff[-1]
        return len(diff) == 2 and last == first + 1 and query[first] == word[last] and query[last] == word[first]
    short, long_ = (query, word) if len(query) < len(word) else (word, query)
    at = 0
    while at < len(short) and short[at] == long_[at]:
        at += 1
    return short[at:] == long_[at + 1 :]


def word_matches(query: str, word: str) -> bool:
    """Whether one folded query word matches one name word: equal, a prefix from 2, one typo from 4."""
    if query == word:
        return True
    if len(query) >= 2 and word.startswith(query):
        return True
    return len(query) >= 4 and _within_one_typo(query, word)


def read_word_matches(query: str, word: str, reading: Reading) -> bool:
    """Whether one query word matches one name word under `reading`'s ``name_match``."""
    if reading.name_match == "prefix":
        return word.startswith(query)
    if reading.name_match == "substring":
        return query in word
    return word_matches(query, word)
