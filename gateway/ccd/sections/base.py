"""What every section shares: its header, and the C-CDA way to say there is nothing to say."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gateway.ccd.codes import LOINC_OID, SectionKind
from gateway.ccd.datatypes import JSON, coded, template
from gateway.ccd.narrative import CellValue, no_information, table
from gateway.ccd.nodes import Element, el

# One record's narrative row and the entry's act, given the narrative ID the row carries.
Row = tuple[list[CellValue], Element]


def section(kind: SectionKind, text: Element | None, entries: Sequence[Element]) -> Element:
    """A section with narrative and entries; with neither, nullFlavor NI and "No information"
    (C-CDA R2.1: a required section without information is present, flagged, not absent)."""
    empty = text is None and not entries
    node = el("section", {"nullFlavor": "NI"} if empty else None)
    for t in template(kind.template, kind.extension):
        node.append(t)
    node.append(coded(kind.loinc, LOINC_OID, kind.display))
    node.append(el("title", text=kind.title))
    node.append(no_information() if text is None else text)
    for entry in entries:
        node.append(entry)
    return node


def entry(child: Element, type_code: str | None = "DRIV") -> Element:
    return el("entry", {"typeCode": type_code}, child)


def listed_section(
    kind: SectionKind, headers: Sequence[str], records: Sequence[JSON], prefix: str, row: Callable[[JSON, str], Row]
) -> Element:
    """One table row and one entry per record (`<prefix>-1`, `-2`, ... tie them); NI when none."""
    if not records:
        return section(kind, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, record in enumerate(records, 1):
        cells, act = row(record, f"{prefix}-{n}")
        rows.append(cells)
        entries.append(entry(act))
    return section(kind, table(headers, rows), entries)
