"""Section narrative (CDA StrucDocText) as HTML: the narrative elements that have an HTML
meaning become it; IDs stay unique on the page; only same-page links stay live; anything
else contributes its words, not its markup."""

from __future__ import annotations

import re

from lxml import etree

from gateway.ccd.html_elements import NS, V3, Element, add, all_text, append_text, lines, section_title

# styleCode values become fixed class names; anything else in styleCode is dropped.
_STYLE_CLASSES = {
    "Bold": "cda-bold", "Italics": "cda-italics", "Underline": "cda-underline",
    "Emphasis": "cda-emphasis", "Lrule": "cda-lrule", "Rrule": "cda-rrule",
    "Toprule": "cda-toprule", "Botrule": "cda-botrule",
}  # fmt: skip
# Narrative elements that have an HTML element of the same name and meaning.
_SAME_NAME = {"table", "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col", "sub", "sup", "br"}
_VOID = {"br", "col"}
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")


class Narrative:
    """Converts section narrative (CDA StrucDocText) to HTML, keeping its IDs unique on the page."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def section(self, section: Element, parent: Element, number: str, level: int) -> None:
        block = add(parent, "section", id=f"section-{number}")
        add(block, f"h{level}", section_title(section))
        text = section.find("v3:text", NS)
        if text is not None and (len(text) or (text.text or "").strip()):
            self.children(text, add(block, "div", cls="narrative"))
        else:
            add(block, "p", "No narrative text.", cls="empty")
        for index, nested in enumerate(section.findall("v3:component/v3:section", NS), 1):
            self.section(nested, block, f"{number}-{index}", min(level + 1, 6))
        lines(block)

    def children(self, source: Element, target: Element, skip: str = "") -> None:
        """Converts what is inside source into target; `skip` names a child element already handled."""
        append_text(target, source.text)
        for child in source:
            # comments and processing instructions are dropped, but the text after them is not
            if isinstance(child.tag, str) and child.tag != skip:
                self.element(child, target)
            append_text(target, child.tail)

    def element(self, source: Element, target: Element) -> None:
        qname = etree.QName(source)
        name = qname.localname if qname.namespace == V3 else ""
        if name in _SAME_NAME:
            out = self.copy(source, target, name)
            if name in ("td", "th"):
                for span in ("colspan", "rowspan"):
                    value = source.get(span, "")
                    if value.isascii() and value.isdigit() and 0 < int(value) <= 1000:
                        out.set(span, str(int(value)))
            if name not in _VOID:
                self.children(source, out)
        elif name == "paragraph":
            self.children(source, self.copy(source, target, "p"))
        elif name == "list":
            self.list(source, target)
        elif name == "item":
            self.children(source, self.copy(source, target, "li"))
        elif name == "content":
            tag = "del" if source.get("revised") == "delete" else "span"
            self.children(source, self.copy(source, target, tag))
        elif name == "caption":
            parent = source.getparent()
            parent_name = etree.QName(parent).localname if parent is not None else ""
            if parent_name == "table":
                self.children(source, self.copy(source, target, "caption"))
            else:
                tag = "span" if parent_name == "paragraph" else "p"
                self.children(source, self.copy(source, target, tag, "caption"))
        elif name == "linkHtml":
            self.link(source, target)
        elif name == "renderMultiMedia":
            add(target, "em", "[multimedia omitted]", cls="omitted")
        elif name == "footnote":
            self.children(source, self.copy(source, target, "span", "footnote"))
        else:  # footnoteRef, and anything not in the narrative schema: its words, not its markup
            append_text(target, all_text(source))

    def list(self, source: Element, target: Element) -> None:
        # HTML lists hold only items, so a list caption goes in a paragraph just before the list.
        for caption in source.findall("v3:caption", NS):
            self.children(caption, self.copy(caption, target, "p", "caption"))
        out = self.copy(source, target, "ol" if source.get("listType") == "ordered" else "ul")
        self.children(source, out, skip=f"{{{V3}}}caption")

    def link(self, source: Element, target: Element) -> None:
        # Only links within this page stay live; the narrative IDs they point at are renamed.
        href = source.get("href", "").strip()
        anchor = self.narrative_id(href[1:], register=False) if href.startswith("#") else None
        out = self.copy(source, target, "a" if anchor else "span")
        if anchor:
            out.set("href", f"#{anchor}")
        self.children(source, out)

    def copy(self, source: Element, target: Element, tag: str, cls: str = "") -> Element:
        """A new `tag` under target with the source's ID and styleCode, and no other attribute of it."""
        out = etree.SubElement(target, tag)
        narrative_id = self.narrative_id(source.get("ID", ""), register=True)
        if narrative_id:
            out.set("id", narrative_id)
        styles = [_STYLE_CLASSES[code] for code in source.get("styleCode", "").split() if code in _STYLE_CLASSES]
        classes = " ".join(dict.fromkeys(name for name in (cls, *styles) if name))
        if classes:
            out.set("class", classes)
        return out

    def narrative_id(self, value: str, register: bool) -> str | None:
        """`n-<ID>` with unsafe characters replaced; None for an empty or (when registering) repeated ID."""
        value = value.strip()
        if not value:
            return None
        html_id = "n-" + _UNSAFE_ID_CHARS.sub("_", value)
        if register:
            if html_id in self.ids:
                return None
            self.ids.add(html_id)
        return html_id
