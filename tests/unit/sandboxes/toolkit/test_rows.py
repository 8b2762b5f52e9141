"""sandboxes.toolkit.rows: the Row base."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.toolkit.rows import Row


@dataclass(eq=False)
class _PatientRow(Row):
    words: tuple[str, ...] = ()


def test_deleted_follows_deleted_at() -> None:
    assert not Row({"id": 1, "deleted_at": None}).deleted
    assert Row({"id": 1, "deleted_at": "2024-01-01T00:00:00Z"}).deleted
    assert not Row({"id": 1}).deleted


def test_rows_compare_by_identity() -> None:
    doc = {"id": 1, "deleted_at": None}
    first, second = _PatientRow(doc), _PatientRow(doc)
    assert first != second
    assert first == first
    assert len({first, second}) == 2


def test_subclass_adds_fields_after_doc() -> None:
    row = _PatientRow(doc={"id": 3}, words=("ann",))
    assert (row.doc, row.words, row.deleted) == ({"id": 3}, ("ann",), False)
