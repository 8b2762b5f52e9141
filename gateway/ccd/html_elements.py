"""Small builders and readers the HTML page and its narrative share.

Every value lands in an lxml text node or a checked attribute, never pasted into markup.
"""

from __future__ import annotations

from lxml import etree

V3 = "urn:hl7-org:v3"
SDTC = "urn:hl7-org:sdtc"
NS = {"v3": V3, "sdtc": SDTC}

Element = etree._Element


def add(parent: Element, tag: str, text: str | None = None, cls: str = "", **attrs: str) -> Element:
    child = etree.SubElement(parent, tag, attrs)
    if cls:
        child.set("class", cls)
    if text:
        child.text = text
    return child


def append_text(element: Element, text: str | None) -> None:
    """Text after whatever element currently ends `element` (lxml keeps it in that child's tail)."""
    if not text:
        return
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def lines(*containers: Element) -> None:
    """Newlines between the page's own block elements, so the source reads (and diffs) line by line."""
    for container in containers:
        if len(container) and not container.text:
            container.text = "\n"
        for child in container:
            if not child.tail:
                child.tail = "\n"


def text(element: Element | None) -> str:
    """The element's words, whitespace collapsed."""
    return " ".join(all_text(element).split()) if element is not None else ""


def all_text(element: Element) -> str:
    """All text inside the element, as written (comments and processing instructions left out)."""
    return "".join(part for part in element.itertext() if isinstance(part, str))


def find(element: Element | None, path: str) -> Element | None:
    return element.find(path, NS) if element is not None else None


def findall(element: Element | None, *paths: str) -> list[Element]:
    return [found for path in paths for found in element.findall(path, NS)] if element is not None else []


def coded(code: Element | None) -> str:
    """displayName, else originalText, else the code itself."""
    if code is None:
        return ""
    return code.get("displayName", "").strip() or text(code.find("v3:originalText", NS)) or code.get("code", "")


def section_title(section: Element) -> str:
    return text(section.find("v3:title", NS)) or coded(section.find("v3:code", NS)) or "Untitled section"
