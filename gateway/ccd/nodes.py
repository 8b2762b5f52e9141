"""The elements a CDA document is built of, as plain objects, written out as XML in one pass.

An lxml element costs about 2.5 µs to make (a libxml2 node and its Python proxy): a CCD has a
thousand or more, and making them was most of what rendering one cost. A `Node` is a Python
object of four slots, and `to_xml` writes the document byte for byte as lxml's `tostring(...,
pretty_print=True)` wrote it from lxml elements (tests/unit/gateway/test_ccd_nodes.py holds the
two to it): namespaces declared once, on the root; attributes in the order they were set;
markup escaped, and what XML 1.0 cannot carry replaced. An element whose text is empty is
written `<x/>` (lxml wrote `<x></x>`: the same XML).

Tags and attribute names are written as the CDA schema names them: a v3 element by its local
name, an `sdtc:` element or an `xsi:` attribute with its prefix.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import cast

from gateway.ccd.codes import SDTC, V3, XSI

ROOT_TAG = "ClinicalDocument"  # the one element that declares the namespaces
_DECLARATIONS = f' xmlns="{V3}" xmlns:xsi="{XSI}" xmlns:sdtc="{SDTC}"'

# Characters XML 1.0 cannot carry (C0 controls but tab/newline/return, lone surrogates, U+FFFE/F):
# vendor free text may hold them, and one would otherwise fail the whole document (U+FFFD instead).
_NOT_XML_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML = re.compile(f"[{_NOT_XML_CHARACTERS}]")
_TEXT_ESCAPES = re.compile(r"[&<>\r]")
# In an attribute, whitespace other than a space is escaped too: a parser would read it as a
# space (attribute-value normalization, https://www.w3.org/TR/xml/#AVNormalize).
_ATTRIBUTE_ESCAPES = re.compile(r'[&<>"\r\n\t]')
_ATTRIBUTE_SPECIAL = re.compile(f'[&<>"\r\n\t{_NOT_XML_CHARACTERS}]')  # what either of the two changes
_DEEPEST_INDENT = 30  # libxml2 indents no deeper than 60 spaces (xmlsave.c: indent_nr)
_INDENTS = ["  " * depth for depth in range(_DEEPEST_INDENT + 1)]
_ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}


def xml_text(value: str) -> str:
    return value if _NOT_XML.search(value) is None else _NOT_XML.sub("\ufffd", value)


class Node:
    """An element being built: `append`, `extend`, `set`, `text` and `len()` as on an lxml element."""

    __slots__ = ("attrib", "children", "tag", "text")

    def __init__(self, tag: str, attrib: dict[str, str], children: list[Node], text: str | None) -> None:
        self.tag = tag
        self.attrib = attrib
        self.children = children
        self.text = text

    def append(self, child: Node) -> None:
        self.children.append(child)

    def extend(self, children: Iterable[Node]) -> None:
        self.children.extend(children)

    def set(self, name: str, value: str) -> None:
        self.attrib[name] = value

    def __len__(self) -> int:
        return len(self.children)


Element = Node


def el(
    tag: str, attrs: Mapping[str, str | None] | None = None, *children: Node | None, text: str | None = None
) -> Node:
    """An element; None attributes and children are left out."""
    # Made about a thousand times per document: copied whole unless there is a None to leave out.
    if not attrs:
        attrib: dict[str, str] = {}
    elif None in attrs.values():
        attrib = {name: value for name, value in attrs.items() if value is not None}
    else:
        attrib = dict(cast("Mapping[str, str]", attrs))
    kept = [child for child in children if child is not None] if None in children else cast("list[Node]", [*children])
    return Node(tag, attrib, kept, text)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a document is built (synchronously: nothing
    else runs meanwhile). Nodes never refer back to their parents, so they form no cycles and
    reference counting frees them; yet each of the collections their thousands of allocations
    set off would walk every node made so far (it tripled the collector's share of a CCD)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def to_xml(root: Node) -> bytes:
    """The document `root` (a `ClinicalDocument`) as XML, laid out as lxml's `pretty_print` lays it
    out (libxml2's xmlsave.c): each element on a line of its own, indented two spaces a level,
    except inside an element with text, which is written as it is."""
    parts = ["<?xml version='1.0' encoding='UTF-8'?>\n"]
    _write(root, parts, 0, _DECLARATIONS)
    return "".join(parts).encode()


def _write(node: Node, parts: list[str], depth: int, declarations: str = "") -> None:
    # Once per element: the hot loop of rendering (indents precomputed, attributes only if any).
    attributes = _attributes(node.attrib) if node.attrib else ""
    indent = _INDENTS[depth] if depth < _DEEPEST_INDENT else _INDENTS[_DEEPEST_INDENT]
    text, children = node.text, node.children
    if text is not None and (text or children):  # lxml: a text node, even empty
        parts.append(f"{indent}<{node.tag}{declarations}{attributes}>{_inline(node)}</{node.tag}>\n")
    elif not children:
        parts.append(f"{indent}<{node.tag}{declarations}{attributes}/>\n")
    else:
        parts.append(f"{indent}<{node.tag}{declarations}{attributes}>\n")
        deeper = depth + 1
        for child in children:
            _write(child, parts, deeper)
        parts.append(f"{indent}</{node.tag}>\n")


def _inline(node: Node) -> str:
    """The content of an element with text: no layout (whitespace there would be content)."""
    inner = _text(node.text) if node.text else ""
    for child in node.children:
        content = _inline(child)
        attributes = _attributes(child.attrib)
        inner += f"<{child.tag}{attributes}>{content}</{child.tag}>" if content else f"<{child.tag}{attributes}/>"
    return inner


def _attributes(attrib: dict[str, str]) -> str:
    if _ATTRIBUTE_SPECIAL.search("".join(attrib.values())) is None:  # nearly always: one scan in C
        return "".join([f' {name}="{value}"' for name, value in attrib.items()])
    return "".join([f' {name}="{_attribute(value)}"' for name, value in attrib.items()])


def _attribute(value: str) -> str:
    return _ATTRIBUTE_ESCAPES.sub(lambda found: _ESCAPED[found.group()], xml_text(value))


def _text(value: str) -> str:
    value = xml_text(value)
    return (
        value
        if _TEXT_ESCAPES.search(value) is None
        else _TEXT_ESCAPES.sub(lambda found: _ESCAPED[found.group()], value)
    )
