"""The `term`s sent to Nextech's `/search` for a FHIR name value: a superset under every reading (pure).

The docs say only that `term` "will attempt to match the patient's name or chart number".
Implementations differ on case and accents (an accent-sensitive SQL Server `_CI_AS`
collation: `nunez` does not find `Núñez`), on Unicode normalization (names stored decomposed:
a precomposed `Renée` finds nothing), on substring vs prefix (of a word or of the whole
field) and on how a term with spaces is tokenized. FHIR's string search finds every name that
starts with the value once both are case- and accent-folded, so any letter of a matching name
may be stored accented, the value's first letter included (`Ozturk` finds `Öztürk`).

What every reading finds is therefore only the stored name's first character: the first
folded letter of the value, sent upper case (names are mostly stored capitalised, so even a
case-sensitive vendor finds them; a decomposed name starts with that base letter), plus each
precomposed Latin letter (Latin-1 Supplement and Extended-A, upper case) that folds to it, for
a vendor that compares accents over precomposed names (`O`, `Ò`, `Ó`, `Ô`, `Õ`, `Ö`, `Ō`, `Ŏ`,
`Ő`), and the letter lower case, for a case-sensitive vendor holding a name that starts with
a particle (`de la Cruz`, `van der Berg`). One character has no spaces to tokenize and is a
prefix of the name under every reading. The gateway then applies FHIR's rules to what comes
back. At most `MAX_TERMS` terms.

A Nextech may refuse a term that short (a minimum length, which the docs neither state nor
rule out): then the value itself is sent (`written_terms`), as written and unaccented, with
its first letter upper case too. Every reading that finds a name by a prefix finds it so,
unless the stored name has accents the value lacks and the vendor compares accents.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

MAX_TERMS = 12
_FIRST_WORD = re.compile(r"\s*\S+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _accented() -> dict[str, tuple[str, ...]]:
    found: defaultdict[str, list[str]] = defaultdict(list)
    for code in range(0xC0, 0x180):
        letter = chr(code)
        base = _fold(letter)
        if letter.isupper() and len(base) == 1 and base != letter.casefold() and base.isascii():
            found[base].append(letter)
    return {base: tuple(letters) for base, letters in found.items()}


ACCENTED = _accented()  # folded base letter -> the precomposed upper-case letters folding to it
_ACCENTED_LETTERS = frozenset(letter for letters in ACCENTED.values() for letter in letters)


def name_terms(value: str, lower: bool = True, accented: bool = True) -> tuple[str, ...]:
    """The terms that together find every patient a FHIR name search for `value` finds (through a
    first or last name); () when the value has nothing to search by. `lower`: the letter lower
    case too, which only a vendor not yet seen to ignore case needs (`ignores_case`);
    `accented`: its accented forms too, which only a vendor not yet seen to ignore accents
    needs (`ignores_accents`)."""
    folded = _fold(value).lstrip()
    if not folded:
        return ()
    first = folded[0]
    # The lower-case letter too: a case-sensitive vendor holds surnames with particles as written
    # (`de la Cruz`, `van der Berg`), which the capital alone does not find.
    lowered = (first,) if lower and first != first.upper() else ()
    return (first.upper(), *(ACCENTED.get(first, ()) if accented else ()), *lowered)[:MAX_TERMS]


def ignores_case(term: str, fields: Iterable[str | None]) -> bool:
    """Whether a patient found by the lower-case letter `term` (its `fields`: names and chart
    number) holds that letter upper case only: the vendor matched it regardless of case, so
    the capital finds all that the lower-case letter does."""
    if len(term) != 1 or not term.islower():
        return False
    plain = ["".join(c for c in unicodedata.normalize("NFKD", f) if not unicodedata.combining(c)) for f in fields if f]
    return any(term.upper() in text for text in plain) and not any(term in text for text in plain)


def found_by_first_name(term: str, first: str | None, others: Iterable[str | None]) -> bool:
    """Whether a patient found by `term` holds it, folded, in its first name and in none of its
    `others` (last and middle name, chart number): the vendor matched the first name, so it
    searches first names (under a prefix, substring or whole-name reading alike)."""
    needle = _fold(term.strip())
    if not needle or not first or needle not in _fold(first):
        return False
    return not any(needle in _fold(other) for other in others if other)


def is_accented(letter: str) -> bool:
    """Whether `letter` is one of the precomposed accented letters `name_terms` sends (`Ç`)."""
    return len(letter) == 1 and letter in _ACCENTED_LETTERS


def ignores_accents(term: str, fields: Iterable[str | None]) -> bool:
    """Whether a patient found by the accented letter `term` (its `fields`: names and chart
    number) holds that letter nowhere, in any case or normalization: the vendor matched it to
    its unaccented letter, so the unaccented letter finds all that the accented one does (an
    accent- and case-insensitive collation such as SQL Server's `_CI_AI` finds the same
    patients by both; one unaccenting the term alone finds by the accented letter what the
    unaccented one finds)."""
    if not is_accented(term):
        return False
    forms = {unicodedata.normalize(form, term).casefold() for form in ("NFC", "NFD")}
    texts = [unicodedata.normalize("NFC", f).casefold() for f in fields if f]
    texts += [unicodedata.normalize("NFD", t) for t in texts]
    return bool(texts) and not any(form in text for form in forms for text in texts)


def chart_term(chart: str) -> str:
    """The term for a chart number: itself, up to the whitespace after its first word (a vendor
    splitting the term into words and ANDing them might not find a later word as a prefix of
    any field)."""
    found = _FIRST_WORD.match(chart)
    return found.group() if found else chart


def chart_terms(chart: str) -> tuple[str, ...]:
    """The terms for a chart number, sent side by side: its first word (`chart_term`) and, for
    a number with more words (`AB 1001`), the number whole, as a vendor comparing the chart
    number with `=` (the docs: "Will attempt to match the patient's ... chart number"; SQL
    Server's `=`, as Entity Framework sends an equality) finds it by nothing less."""
    return tuple(dict.fromkeys((chart_term(chart), chart.strip() or chart)))


def written_terms(value: str) -> tuple[str, ...]:
    """The value itself as terms: as written (NFC) and unaccented, each also with its first letter
    upper case (a case-sensitive vendor holds names capitalised); () when it is blank."""
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        return ()
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    forms = (text, text[:1].upper() + text[1:], plain, plain[:1].upper() + plain[1:])
    return tuple(dict.fromkeys(forms))
