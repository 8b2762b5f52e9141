"""One section of a Nextech CCD, when Nextech answered the whole document for it (pure).

The docs: `section` is the "Section of data to include in the CCD property. If omitted, all
sections are returned." An implementation whose controller never binds `section` (ASP.NET and
Spring ignore a query parameter no action parameter names; a Flask view that reads only
`start` and `end`) answers the whole CCD however it is asked. Served as the section, that
document passed for one section (its Binary holding every other section besides).

The docs say nothing of the CCD's markup, so a section is known by its title: an
`<h1>`-`<h6>` whose text is one of the section's names (`/encounters/categories`: its name,
the other names its category object gives it), compared without case, spaces or punctuation
(`VitalSigns` is the heading "Vital Signs", `PlanOfCare` "Plan of Care"); where no heading
names a section, a table's `<caption>` (HTML's title of a table: a template looping over the
sections) or a title row, a `<tr>` whose one cell is a `<th>` (a report writer's export, one
table for the document, a `<th colspan>` across it opening each section). Before, a document
titling its sections so was served whole as each section. An answer with the titles of other
sections is the whole document. Where no title is a section's name, a title that begins with
one, word for word, is that section's (`Medications (2)`, `Allergies and Intolerances`, as a
chart summary heads its lists); before, such a document was served whole as each section.
The asked section is then its title's block: the largest
element around the title that holds no other section's title (a `<div class="section">`, a
`<section>`, a captioned `<table>`), or, when the titles are siblings, the title and what
follows it up to the next section's (a title row's rows); served with what precedes the first
section (the document's title and header, the table's start tag) and follows the last, as a
section answer is. When its title is not there exactly once, the section cannot be told from
the rest: `SectionNotFound`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["SectionNotFound", "one_section"]

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CELLS = frozenset({"th", "td"})
# Elements whose text is kept: what may title a section (a title row's by its one cell).
_TEXT_HELD = _HEADINGS | _CELLS | {"caption"}
# Elements that hold no content and have no end tag (HTML Living Standard, "void elements").
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
# End tags HTML lets a document leave out (HTML Living Standard, "optional tags"): an open
# element of the key's tags is closed by a start tag of its value's. A `<p>` left open before
# a heading would otherwise hold the heading, and every section after it.
_CLOSED_BY = {
    "p": frozenset(
        {"address", "article", "aside", "blockquote", "div", "dl", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
         "header", "hr", "menu", "nav", "ol", "p", "pre", "section", "table", "ul"}
    ),
    "li": frozenset({"li"}),
    "dt": frozenset({"dt", "dd"}),
    "dd": frozenset({"dt", "dd"}),
    "td": frozenset({"td", "th", "tr"}),
    "th": frozenset({"td", "th", "tr"}),
    "tr": frozenset({"tr"}),
}  # fmt: skip


class SectionNotFound(ValueError):
    """The whole CCD answered for a section, in which that section cannot be found."""


def _key(name: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", name).casefold()


def _leading_keys(title: str) -> list[str]:
    """The keys of a title's leading words, longest first (`Vital Signs (3)`: `vitalsigns3`,
    `vitalsigns`, `vital`), a section's name matching a title that begins with it."""
    words = [word.casefold() for word in _NOT_ALPHANUMERIC.split(title) if word]
    return ["".join(words[:count]) for count in range(len(words), 0, -1)]


@dataclass(eq=False)
class _Element:
    tag: str
    start: int  # offset of its start tag
    parent: _Element | None
    end: int = -1  # offset after its end tag (the document's end when it has none)
    inner_end: int = -1  # offset of its end tag (the same when it has none)
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # a heading's, caption's or cell's text


class _Outline(HTMLParser):
    """The document's elements, with their offsets, as a tree; what may title a section in
    order: its headings, and its captions and rows (`titles`)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.line_starts = [0] + [found.end() for found in re.finditer("\n", html)]
        self.root = _Element("#document", 0, None)
        self.open: list[_Element] = [self.root]
        self.headings: list[_Element] = []
        self.tables: list[_Element] = []  # captions and rows, for the titles they may hold
        self.feed(html)
        self.close()
        for element in self.open:  # never closed: they end with the document
            element.end = element.inner_end = len(html)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._offset()
        while tag in _CLOSED_BY.get(self.open[-1].tag, ()):  # its end tag left out
            closed = self.open.pop()
            closed.inner_end = closed.end = at
        element = _Element(tag, at, self.open[-1])
        self.open[-1].children.append(element)
        if tag in _VOID:
            element.end = element.inner_end = element.start + len(self.get_starttag_text() or "")
            return
        self.open.append(element)
        if tag in _HEADINGS:
            self.headings.append(element)
        elif tag in ("caption", "tr"):
            self.tables.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:  # `<div/>`: closed at once
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(element.tag == tag for element in self.open[1:]):
            return  # a stray end tag closes nothing
        at = self._offset()
        after = self.html.find(">", at)
        after = len(self.html) if after < 0 else after + 1
        while True:
            element = self.open.pop()
            element.inner_end, element.end = at, after
            if element.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        for element in reversed(self.open):
            if element.tag in _TEXT_HELD:
                element.text.append(data)
                return

    def titles(self, titled: Callable[[str], bool]) -> list[tuple[_Element, str]]:
        """(element, its text) of what titles a section (`titled` by its text): the headings;
        where none does, the captions and title rows (a row whose one cell is a `<th>`),
        which a document with headings uses for its own tables' titles."""
        headings = [(heading, "".join(heading.text)) for heading in self.headings]
        if any(titled(text) for _, text in headings):
            return headings
        found = []
        for element in self.tables:
            if element.tag == "caption":
                found.append((element, "".join(element.text)))
                continue
            cells = [child for child in element.children if child.tag in _CELLS]
            if len(cells) == 1 and cells[0].tag == "th":
                found.append((element, "".join(cells[0].text)))
        return found


def _within(element: _Element, title: _Element) -> bool:
    node: _Element | None = title
    while node is not None:
        if node is element:
            return True
        node = node.parent
    return False


def _span(title: _Element, others: list[_Element]) -> tuple[int, int]:
    """Where the section a title opens lies: the largest element around it holding none of
    the `others` (the other sections' titles), or the title and its following siblings up
    to the first that is or holds one of them (else to its parent's end tag)."""
    unit = title
    while unit.parent is not None and unit.parent.parent is not None:
        if any(_within(unit.parent, other) for other in others):
            break
        unit = unit.parent
    if unit is not title:
        return unit.start, unit.end
    parent = title.parent
    assert parent is not None  # a title is in the document
    following = parent.children[parent.children.index(title) + 1 :]
    stops = (sibling.start for sibling in following if any(_within(sibling, other) for other in others))
    return title.start, next(stops, parent.inner_end)


def one_section(html: str, asked: Iterable[str], sections: Sequence[Iterable[str]]) -> str:
    """`html`, answered for the section named `asked` (its names), as that section: as it is
    when it holds no title of another of `sections` (each one's names); else the asked
    section's block, with what precedes the first section and follows the last.
    `SectionNotFound` when the whole document holds the asked section's title not exactly once."""
    wanted = {_key(name) for name in asked} - {""}
    section_of: dict[str, int] = {}
    for index, names in enumerate(sections):
        for name in names:
            section_of.setdefault(_key(name), index)
    known = wanted | set(section_of)

    def whole(text: str) -> str | None:  # the section name a title is
        key = _key(text)
        return key if key in known else None

    def leading(text: str) -> str | None:  # the section name a title begins with, the longest
        return next((key for key in _leading_keys(text) if key in known), None)

    outline = _Outline(html)

    def titled(named: Callable[[str], str | None]) -> list[tuple[_Element, int | None]]:
        """(section title, its section; None: the asked one) of the titles `named` names."""
        found = []
        for title, text in outline.titles(lambda text: named(text) is not None):
            key = named(text)
            if key is not None:
                found.append((title, None if key in wanted else section_of[key]))
        return found

    found = titled(whole)
    if {section is None for _, section in found} != {True, False}:  # not both told by names alone
        beginning = titled(leading)
        tags = {title.tag for title, section in beginning if section is None}
        if len(tags) == 1:
            # Of titles that only begin with a name, those of the asked one's kind (its `<h2>`s,
            # not an `<h3>` "Allergies reviewed" inside Medications, which would cut it short).
            beginning = [(title, section) for title, section in beginning if title.tag in tags]
        found = beginning or found
    if all(section is None for _, section in found):
        return html  # one section (or nothing to tell it by): the section answer it was asked for
    mine = [title for title, section in found if section is None]
    if len(mine) != 1:
        raise SectionNotFound("the section's title is not in it" if not mine else "the section's title is in it twice")
    titles = [title for title, _ in found]
    spans = {id(h): _span(h, [o for o in titles if o is not h]) for h in titles}
    start, end = spans[id(mine[0])]
    first = min(span[0] for span in spans.values())
    last = max(span[1] for span in spans.values())
    return html[:first] + html[start:end] + html[last:]
