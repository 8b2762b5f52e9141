"""gateway.ccd.nodes: the XML written from nodes is, byte for byte, what lxml writes for the same
tree (`etree.tostring(..., pretty_print=True)`, the CCD's former serializer), for any tags,
attributes, text and nesting a CCD can hold; and entry ids are the standard library's uuid5."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.ccd.codes import SDTC, V3, XSI
from gateway.ccd.datatypes import url_uuid
from gateway.ccd.nodes import ROOT_TAG, Node, el, to_xml

NAMESPACES = {"": V3, "sdtc": SDTC, "xsi": XSI}
NSMAP: Any = {None: V3, "xsi": XSI, "sdtc": SDTC}

# Text as vendors send it: markup characters, every kind of whitespace, controls XML cannot carry,
# non-ASCII, and plain words.
texts = st.text(alphabet=st.sampled_from(list("ab &<>\"'\r\n\t\x00\x1f\x85\ufffe\ud800é漢😀 ")), max_size=8)
# What XML 1.0 cannot carry (https://www.w3.org/TR/xml/#charsets), as the old builder replaced it.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
tags = st.sampled_from(["td", "content", "value", "sdtc:raceCode", "observation", "br"])
attribute_names = st.sampled_from(["code", "value", "ID", "xsi:type", "displayName"])


@st.composite
def nodes(draw: st.DrawFn, depth: int = 0) -> Node:
    attrs = draw(st.dictionaries(attribute_names, texts | st.none(), max_size=3))
    text = draw(texts | st.none())
    children = draw(st.lists(nodes(depth + 1), max_size=3)) if depth < 3 else []
    return el(draw(tags), attrs, *children, text=text)


def lxml_document(root: Node) -> bytes:
    """The same tree made of lxml elements, written as the CCD was before nodes."""

    def qualified(name: str) -> str:  # v3 when unprefixed: for tags, not attributes
        prefix, _, local = name.rpartition(":")
        return f"{{{NAMESPACES[prefix]}}}{local}"

    def build(node: Node, parent: etree._Element | None) -> etree._Element:
        tag = qualified(node.tag)
        made = etree.Element(tag, nsmap=NSMAP) if parent is None else etree.SubElement(parent, tag)
        for name, value in node.attrib.items():
            made.set(qualified(name) if ":" in name else name, NOT_XML.sub("\ufffd", value))
        # An empty text is an empty text node where it matters (beside children); alone it is
        # none, the one difference nodes make on purpose (`<x/>` for lxml's `<x></x>`).
        made.text = NOT_XML.sub("\ufffd", node.text) if node.text is not None and (node.text or node.children) else None
        for child in node.children:
            build(child, made)
        return made

    return etree.tostring(build(root, None), xml_declaration=True, encoding="UTF-8", pretty_print=True)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(nodes(), max_size=4))
def test_nodes_are_written_as_lxml_writes_the_same_tree(children: list[Node]) -> None:
    root = el(ROOT_TAG, {"classCode": "DOCCLIN"}, *children)
    assert to_xml(root) == lxml_document(root)


def test_deep_nesting_is_indented_as_libxml2_indents_it() -> None:
    innermost = el("value", {"code": "x"})
    for _ in range(40):  # libxml2 stops indenting deeper at 30 levels
        innermost = el("component", None, innermost)
    root = el(ROOT_TAG, None, innermost)
    assert to_xml(root) == lxml_document(root)


def test_what_xml_cannot_carry_is_replaced_and_markup_is_escaped() -> None:
    root = el(ROOT_TAG, None, el("td", {"value": 'a"b\n&\x01'}, text="<b>\x02 & \r"))
    written = to_xml(root).decode()
    assert '<td value="a&quot;b&#10;&amp;\ufffd">&lt;b&gt;\ufffd &amp; &#13;</td>' in written
    parsed = etree.fromstring(written.encode())
    assert parsed[0].get("value") == 'a"b\n&\ufffd' and parsed[0].text == "<b>\ufffd & \r"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_entry_ids_are_the_standard_library_uuid5_names(name: str) -> None:
    assert url_uuid(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name)).upper()


def test_none_attributes_and_children_are_left_out() -> None:
    node = el("code", {"code": "8480-6", "displayName": None}, None, el("translation"), None)
    assert node.attrib == {"code": "8480-6"}
    assert [child.tag for child in node.children] == ["translation"]


def test_an_element_owns_its_attributes() -> None:
    # Builders pass shared constants (a template id, a code system): setting an attribute on
    # one element must change neither the constant nor the other elements made from it.
    shared = {"root": "2.16.840.1.113883.10.20.22.4.27"}
    first, second = el("templateId", shared), el("templateId", shared)
    first.set("extension", "2015-08-01")
    assert shared == {"root": "2.16.840.1.113883.10.20.22.4.27"}
    assert second.attrib == shared
