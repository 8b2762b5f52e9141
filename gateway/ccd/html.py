"""A CDA R2 ClinicalDocument as a standalone, human-readable HTML5 page.

This does what the HL7 CDA stylesheet (CDA.xsl) does, in Python, because the page is built
from document content we do not control: every value goes into an lxml text node or a
checked attribute, so the serializer escapes it and nothing is ever pasted into markup.
The page carries no scripts, links or external resources, only one inline `<style>`, so it
works under `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from lxml import etree

V3 = "urn:hl7-org:v3"
SDTC = "urn:hl7-org:sdtc"
_NS = {"v3": V3, "sdtc": SDTC}

Element = etree._Element

# Spelled out rather than strftime("%B") so the page does not depend on the process locale.
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# CDA TS: YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]; each part needs the one before it.
_TS = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?",
    re.ASCII,
)

_GENDERS = {"M": "Male", "F": "Female", "UN": "Unknown"}
_CONFIDENTIALITY = {"N": "Normal", "R": "Restricted", "V": "Very restricted"}
_USES = {
    "H": "Home", "HP": "Home", "HV": "Vacation home", "WP": "Work", "DIR": "Direct",
    "PUB": "Public", "TMP": "Temporary", "MC": "Mobile", "PG": "Pager", "EC": "Emergency",
    "AS": "Answering service", "BAD": "Old/incorrect", "PHYS": "Physical", "PST": "Postal",
}  # fmt: skip
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

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
line-height:1.45;color:#1b1f24;background:#fff;max-width:62rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 1rem;padding-bottom:.4rem;border-bottom:2px solid #2f4f7f}
h2{font-size:1.2rem;color:#2f4f7f;margin:1.8rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid #cdd6e4}
h3,h4,h5,h6{font-size:1.05rem;margin:1.2rem 0 .4rem}
.cards{display:flex;flex-wrap:wrap;gap:1rem}
.card{flex:1 1 22rem;border:1px solid #cdd6e4;border-radius:4px;padding:0 1rem .8rem;background:#f7f9fc}
.card h2{border:0;margin-top:.8rem}
.patient-name{font-size:1.25rem;font-weight:600;margin:0 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dt{font-weight:600;color:#4a5563}
dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.95rem}
th,td{border:1px solid #9aa6b6;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#e6ecf4}
caption,.caption{font-weight:600;text-align:left;padding:.3rem 0}
.cda-bold{font-weight:700}
.cda-italics,.cda-emphasis{font-style:italic}
.cda-underline{text-decoration:underline}
.cda-lrule{border-left:1px solid #1b1f24}
.cda-rrule{border-right:1px solid #1b1f24}
.cda-toprule{border-top:1px solid #1b1f24}
.cda-botrule{border-bottom:1px solid #1b1f24}
.footnote{font-size:.85em;color:#4a5563}
.omitted,.empty{color:#6b7480}
@media print{
body{max-width:none;padding:0;font-size:11pt;color:#000}
.card{background:none}
.toc{display:none}
h2,h3,h4{break-after:avoid}
thead{display:table-header-group}
tr{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
"""


def render_html(document: Element) -> str:
    """The page for a parsed CDA `ClinicalDocument`; the same document always gives the same string.

    Raises ValueError when `document` is not a CDA R2 ClinicalDocument element.
    """
    if document.tag != f"{{{V3}}}ClinicalDocument":
        raise ValueError(f"expected a {{{V3}}}ClinicalDocument element, got {document.tag!r}")
    title = _text(document.find("v3:title", _NS)) or "Clinical Document"

    page = etree.Element("html", lang=_language(document))
    head = _add(page, "head")
    etree.SubElement(head, "meta", charset="utf-8")
    etree.SubElement(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    _add(head, "title", title)
    _add(head, "style", _STYLE)
    body = _add(page, "body")
    header = _add(body, "header")
    _add(header, "h1", title)
    cards = _add(header, "div", cls="cards")
    for patient_role in document.findall("v3:recordTarget/v3:patientRole", _NS):
        _patient_card(patient_role, cards)
    _document_card(document, cards)

    sections = document.findall("v3:component/v3:structuredBody/v3:component/v3:section", _NS)
    if sections:
        toc = _add(body, "nav", cls="toc")
        toc.set("aria-label", "Contents")
        _add(toc, "h2", "Contents")
        entries = _add(toc, "ol")
        for number, section in enumerate(sections, 1):
            _add(_add(entries, "li"), "a", _section_title(section), href=f"#section-{number}")
        _lines(entries, toc)
    main = _add(body, "main")
    narrative = _Narrative()
    for number, section in enumerate(sections, 1):
        narrative.section(section, main, str(number), level=2)
    if document.find("v3:component/v3:nonXMLBody", _NS) is not None:
        _add(_add(main, "p"), "em", "[non-XML document body omitted]", cls="omitted")
    _lines(page, head, body, header, cards, main)
    return etree.tostring(page, method="html", encoding="unicode", doctype="<!DOCTYPE html>") + "\n"


def format_cda_time(value: str) -> str:
    """A CDA TS value for people: `20240304103000-0500` is `March 4, 2024 10:30 -05:00`.

    Partial values keep their precision (`2024`, `March 2024`); seconds show only when
    they are not zero, fractions never. Anything that is not a valid TS comes back as it is.
    """
    match = _TS.fullmatch(value.strip())
    if match is None:
        return value
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:  # month 13, February 30, hour 25, year 0000 ...
        return value
    if zone is not None and (int(zone[1:3]) > 14 or int(zone[3:]) > 59):
        return value
    if month is None:
        return year
    if day is None:
        return f"{_MONTHS[moment.month - 1]} {year}"
    text = f"{_MONTHS[moment.month - 1]} {moment.day}, {year}"
    if hour is None:
        return text  # a zone on a bare date says nothing a reader needs
    text += f" {moment.hour:02d}:{moment.minute:02d}"
    if moment.second:
        text += f":{moment.second:02d}"
    if zone is not None:
        text += f" {zone[:3]}:{zone[3:]}"
    return text


# --- header blocks ---------------------------------------------------------------------


def _patient_card(patient_role: Element, parent: Element) -> None:
    card = _add(parent, "div", cls="card patient")
    _add(card, "h2", "Patient")
    patient = patient_role.find("v3:patient", _NS)
    names = [_person_name(name) for name in _findall(patient, "v3:name")]
    names = [name for name in names if name]
    _add(card, "p", names[0] if names else "Name not recorded", cls="patient-name")
    facts = _add(card, "dl")
    _fact(facts, "Other names", names[1:])
    _fact(facts, "Birth date", [_time_of(_find(patient, "v3:birthTime"))])
    _fact(facts, "Gender", [_gender(_find(patient, "v3:administrativeGenderCode"))])
    _fact(facts, "Identifiers", [_identifier(id_) for id_ in patient_role.findall("v3:id", _NS)])
    _fact(facts, "Address", [_address(addr) for addr in patient_role.findall("v3:addr", _NS)])
    _fact(facts, "Contact", [_telecom(telecom) for telecom in patient_role.findall("v3:telecom", _NS)])
    _fact(facts, "Race", [_coded(code) for code in _findall(patient, "v3:raceCode", "sdtc:raceCode")])
    ethnicities = _findall(patient, "v3:ethnicGroupCode", "sdtc:ethnicGroupCode")
    _fact(facts, "Ethnicity", [_coded(code) for code in ethnicities])
    _fact(facts, "Language", [_language_ability(item) for item in _findall(patient, "v3:languageCommunication")])
    _finish_card(card, facts)


def _document_card(document: Element, parent: Element) -> None:
    card = _add(parent, "div", cls="card document")
    _add(card, "h2", "Document")
    facts = _add(card, "dl")
    _fact(facts, "Created", [_time_of(document.find("v3:effectiveTime", _NS))])
    _fact(facts, "Author", [_author(author) for author in document.findall("v3:author", _NS)])
    custodian = "v3:custodian/v3:assignedCustodian/v3:representedCustodianOrganization/v3:name"
    _fact(facts, "Custodian", [_text(name) for name in document.findall(custodian, _NS)])
    periods = document.findall("v3:documentationOf/v3:serviceEvent/v3:effectiveTime", _NS)
    _fact(facts, "Period covered", [_period(period) for period in periods])
    encounter = document.find("v3:componentOf/v3:encompassingEncounter", _NS)
    if encounter is not None:
        _fact(facts, "Encounter", [_encounter(encounter)])
    _fact(facts, "Confidentiality", [_confidentiality(document.find("v3:confidentialityCode", _NS))])
    _finish_card(card, facts)


def _finish_card(card: Element, facts: Element) -> None:
    if not len(facts):
        card.remove(facts)
    _lines(card, facts)


def _fact(facts: Element, label: str, values: Iterable[str | list[str]]) -> None:
    """A `dt`/`dd` pair, one entry per value (a list is one entry of several lines); none if all are empty."""
    entries = [[line for line in (value if isinstance(value, list) else [value]) if line] for value in values]
    entries = [entry for entry in entries if entry]
    if not entries:
        return
    _add(facts, "dt", label)
    dd = _add(facts, "dd")
    for entry in entries:
        block = dd if len(entries) == 1 else _add(dd, "div")
        for line_number, line in enumerate(entry):
            if line_number:
                etree.SubElement(block, "br")
            _append_text(block, line)


def _person_name(name: Element) -> str:
    def parts(tag: str) -> list[str]:
        found = [(part.get("qualifier") or "", _text(part)) for part in name.findall(f"v3:{tag}", _NS)]
        # CL ("call me") is a nickname, shown the way people write one.
        return [f"“{text}”" if "CL" in qualifier.split() else text for qualifier, text in found if text]

    words = parts("prefix") + parts("given") + parts("family")
    suffixes = parts("suffix")
    if not words and not suffixes:
        return _text(name)
    return ", ".join([" ".join(words), *suffixes]) if words else " ".join(suffixes)


def _author(author: Element) -> str:
    assigned = author.find("v3:assignedAuthor", _NS)
    if assigned is None:
        return ""
    person = assigned.find("v3:assignedPerson/v3:name", _NS)
    device = assigned.find("v3:assignedAuthoringDevice", _NS)
    who = _person_name(person) if person is not None else ""
    if not who and device is not None:
        names = (_text(device.find(f"v3:{tag}", _NS)) for tag in ("manufacturerModelName", "softwareName"))
        who = ", ".join(name for name in names if name)
    organization = _text(assigned.find("v3:representedOrganization/v3:name", _NS))
    return f"{who} ({organization})" if who and organization else who or organization


def _encounter(encounter: Element) -> list[str]:
    facility = "v3:location/v3:healthCareFacility"
    place = _text(encounter.find(f"{facility}/v3:location/v3:name", _NS)) or _text(
        encounter.find(f"{facility}/v3:serviceProviderOrganization/v3:name", _NS)
    )
    return [
        _coded(encounter.find("v3:code", _NS)),
        _period(encounter.find("v3:effectiveTime", _NS)),
        f"at {place}" if place else "",
    ]


def _identifier(id_: Element) -> str:
    extension, root = id_.get("extension", "").strip(), id_.get("root", "").strip()
    if extension and root:
        return f"{extension} ({root})"
    return extension or root


def _address(addr: Element) -> list[str]:
    streets = [_text(line) for line in addr.findall("v3:streetAddressLine", _NS)]
    city, state, postal = (_text(addr.find(f"v3:{tag}", _NS)) for tag in ("city", "state", "postalCode"))
    locality = ", ".join(part for part in (city, " ".join(p for p in (state, postal) if p)) if part)
    lines = [*streets, locality, _text(addr.find("v3:country", _NS))]
    lines = [line for line in lines if line] or [_text(addr)]
    use = _use(addr)
    return [f"{use}: {lines[0]}", *lines[1:]] if use and lines[0] else lines


def _telecom(telecom: Element) -> str:
    value = telecom.get("value", "").strip()
    for scheme in ("tel:", "mailto:"):
        if value.lower().startswith(scheme):
            value = value[len(scheme) :].strip()
    use = _use(telecom)
    return f"{use}: {value}" if use and value else value


def _use(element: Element) -> str:
    return ", ".join(_USES.get(code, code) for code in element.get("use", "").split())


def _gender(code: Element | None) -> str:
    if code is None:
        return ""
    return code.get("displayName", "").strip() or _GENDERS.get(code.get("code", ""), code.get("code", "")) or "Unknown"


def _confidentiality(code: Element | None) -> str:
    if code is None:
        return ""
    return code.get("displayName", "").strip() or _CONFIDENTIALITY.get(code.get("code", ""), code.get("code", ""))


def _language_ability(communication: Element) -> str:
    language = _find(communication, "v3:languageCode")
    code = language.get("code", "").strip() if language is not None else ""
    preferred = _find(communication, "v3:preferenceInd")
    if code and preferred is not None and preferred.get("value") == "true":
        return f"{code} (preferred)"
    return code


def _language(document: Element) -> str:
    code = _find(document, "v3:languageCode")
    value = code.get("code", "").strip() if code is not None else ""
    return value if re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", value, re.ASCII) else "en"


def _coded(code: Element | None) -> str:
    """displayName, else originalText, else the code itself."""
    if code is None:
        return ""
    return code.get("displayName", "").strip() or _text(code.find("v3:originalText", _NS)) or code.get("code", "")


def _time_of(element: Element | None) -> str:
    value = element.get("value", "").strip() if element is not None else ""
    return format_cda_time(value) if value else ""


def _period(interval: Element | None) -> str:
    """An IVL_TS as `low – high` (or a single time, or an open-ended `from`/`until`)."""
    if interval is None:
        return ""
    if interval.get("value"):
        return _time_of(interval)
    low, high = _time_of(interval.find("v3:low", _NS)), _time_of(interval.find("v3:high", _NS))
    if low and high:
        return low if low == high else f"{low} – {high}"
    return f"from {low}" if low else f"until {high}" if high else ""


def _section_title(section: Element) -> str:
    return _text(section.find("v3:title", _NS)) or _coded(section.find("v3:code", _NS)) or "Untitled section"


# --- narrative -------------------------------------------------------------------------


class _Narrative:
    """Converts section narrative (CDA StrucDocText) to HTML, keeping its IDs unique on the page."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def section(self, section: Element, parent: Element, number: str, level: int) -> None:
        block = _add(parent, "section", id=f"section-{number}")
        _add(block, f"h{level}", _section_title(section))
        text = section.find("v3:text", _NS)
        if text is not None and (len(text) or (text.text or "").strip()):
            self.children(text, _add(block, "div", cls="narrative"))
        else:
            _add(block, "p", "No narrative text.", cls="empty")
        for index, nested in enumerate(section.findall("v3:component/v3:section", _NS), 1):
            self.section(nested, block, f"{number}-{index}", min(level + 1, 6))
        _lines(block)

    def children(self, source: Element, target: Element, skip: str = "") -> None:
        """Converts what is inside source into target; `skip` names a child element already handled."""
        _append_text(target, source.text)
        for child in source:
            # comments and processing instructions are dropped, but the text after them is not
            if isinstance(child.tag, str) and child.tag != skip:
                self.element(child, target)
            _append_text(target, child.tail)

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
            _add(target, "em", "[multimedia omitted]", cls="omitted")
        elif name == "footnote":
            self.children(source, self.copy(source, target, "span", "footnote"))
        else:  # footnoteRef, and anything not in the narrative schema: its words, not its markup
            _append_text(target, _all_text(source))

    def list(self, source: Element, target: Element) -> None:
        # HTML lists hold only items, so a list caption goes in a paragraph just before the list.
        for caption in source.findall("v3:caption", _NS):
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


# --- small helpers ---------------------------------------------------------------------


def _add(parent: Element, tag: str, text: str | None = None, cls: str = "", **attrs: str) -> Element:
    child = etree.SubElement(parent, tag, attrs)
    if cls:
        child.set("class", cls)
    if text:
        child.text = text
    return child


def _append_text(element: Element, text: str | None) -> None:
    """Text after whatever element currently ends `element` (lxml keeps it in that child's tail)."""
    if not text:
        return
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def _lines(*containers: Element) -> None:
    """Newlines between the page's own block elements, so the source reads (and diffs) line by line."""
    for container in containers:
        if len(container) and not container.text:
            container.text = "\n"
        for child in container:
            if not child.tail:
                child.tail = "\n"


def _text(element: Element | None) -> str:
    """The element's words, whitespace collapsed."""
    return " ".join(_all_text(element).split()) if element is not None else ""


def _all_text(element: Element) -> str:
    """All text inside the element, as written (comments and processing instructions left out)."""
    return "".join(text for text in element.itertext() if isinstance(text, str))


def _find(element: Element | None, path: str) -> Element | None:
    return element.find(path, _NS) if element is not None else None


def _findall(element: Element | None, *paths: str) -> list[Element]:
    return [found for path in paths for found in element.findall(path, _NS)] if element is not None else []
