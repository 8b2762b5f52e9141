"""Section narrative (`text`): tables whose cells carry the IDs coded entries point to.

C-CDA asks every entry to reference its human-readable text (`text/reference/@value =
"#ID"`); a `Cell` with an `ref` becomes `<content ID=...>` so the entry and the row it came
from stay tied together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.ccd.nodes import Element, el

NO_INFORMATION = "No information"


@dataclass(frozen=True)
class Cell:
    text: str
    ref: str | None = None  # ID an entry's text/originalText points to


# A table cell: plain text, one referenced text, or several (one line each).
CellValue = str | Cell | Sequence[Cell]


def table(headers: Sequence[str], rows: Sequence[Sequence[CellValue]]) -> Element:
    body = el("tbody")
    for row in rows:
        tr = el("tr")
        for cell in row:
            tr.append(_td(cell))
        body.append(tr)
    head = el("tr", None, *(el("th", text=h) for h in headers))
    return el("text", None, el("table", None, el("thead", None, head), body))


def _td(value: CellValue) -> Element:
    if isinstance(value, str):
        return el("td", text=value)
    cells = [value] if isinstance(value, Cell) else list(value)
    td = el("td")
    for n, cell in enumerate(cells):
        if n:
            td.append(el("br"))
        if cell.ref:
            td.append(el("content", {"ID": cell.ref}, text=cell.text))
        elif len(cells) == 1:
            td.text = cell.text
        else:
            td.append(el("content", text=cell.text))
    return td


def no_information() -> Element:
    return el("text", None, el("paragraph", text=NO_INFORMATION))
