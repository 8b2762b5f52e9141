"""What every section shares: its header, and the C-CDA way to say there is nothing to say."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import LOINC_OID, SectionKind
from gateway.ccd.datatypes import Element, coded, el, template
from gateway.ccd.narrative import no_information


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
