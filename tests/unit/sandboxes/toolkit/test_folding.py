"""sandboxes.toolkit.folding: accent/case folding and word splitting."""

from __future__ import annotations

import pytest

from sandboxes.toolkit.folding import fold, folded_words, strip_marks


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("García", "garcia"),
        ("NGUYỄN", "nguyen"),
        ("Søren", "soren"),
        ("ØSTERGÅRD", "ostergard"),
        ("Æsir Œuvre", "aesir oeuvre"),
        ("Łukasz Đorđe", "lukasz dorde"),
        ("Straße", "strasse"),
        ("STRAẞE", "strasse"),
        ("İstanbul", "istanbul"),
        ("ı", "i"),
        ("ﬁle", "file"),  # NFKD splits the ligature
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_is_idempotent() -> None:
    text = "Ødegård-O'Brien Łódź ß"
    assert fold(fold(text)) == fold(text)


def test_strip_marks_keeps_case_and_unmarked_letters() -> None:
    assert strip_marks("García Søren") == "Garcia Søren"
    assert strip_marks("Ł") == "Ł"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("O'Brien-Nguyễn 1985-03-15", ["o", "brien", "nguyen", "1985", "03", "15"]),
        ("snake_case  words", ["snake", "case", "words"]),
        ("--", []),
        ("", []),
        (None, []),
    ],
)
def test_folded_words(text: str | None, words: list[str]) -> None:
    assert folded_words(text) == words
