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

from gateway.ccd.html_elements import (
    NS,
    SDTC,
    V3,
    Element,
    add,
    append_text,
    coded,
    find,
    findall,
    lines,
    section_title,
    text,
)
from gateway.ccd.html_narrative import Narrative

__all__ = ["SDTC", "V3", "format_cda_time", "render_html"]

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
    title = text(document.find("v3:title", NS)) or "Clinical Document"

    page = etree.Element("html", lang=_language(document))
    head = add(page, "head")
    etree.SubElement(head, "meta", charset="utf-8")
    etree.SubElement(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    add(head, "title", title)
    add(head, "style", _STYLE)
    body = add(page, "body")
    header = add(body, "header")
    add(header, "h1", title)
    cards = add(header, "div", cls="cards")
    for patient_role in document.findall("v3:recordTarget/v3:patientRole", NS):
        _patient_card(patient_role, cards)
    _document_card(document, cards)

    sections = document.findall("v3:component/v3:structuredBody/v3:component/v3:section", NS)
    if sections:
        toc = add(body, "nav", cls="toc")
        toc.set("aria-label", "Contents")
        add(toc, "h2", "Contents")
        entries = add(toc, "ol")
        for number, section in enumerate(sections, 1):
            add(add(entries, "li"), "a", section_title(section), href=f"#section-{number}")
        lines(entries, toc)
    main = add(body, "main")
    narrative = Narrative()
    for number, section in enumerate(sections, 1):
        narrative.section(section, main, str(number), level=2)
    if document.find("v3:component/v3:nonXMLBody", NS) is not None:
        add(add(main, "p"), "em", "[non-XML document body omitted]", cls="omitted")
    lines(page, head, body, header, cards, main)
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
    shown = f"{_MONTHS[moment.month - 1]} {moment.day}, {year}"
    if hour is None:
        return shown  # a zone on a bare date says nothing a reader needs
    shown += f" {moment.hour:02d}:{moment.minute:02d}"
    if moment.second:
        shown += f":{moment.second:02d}"
    if zone is not None:
        shown += f" {zone[:3]}:{zone[3:]}"
    return shown


# --- header blocks ---------------------------------------------------------------------


def _patient_card(patient_role: Element, parent: Element) -> None:
    card = add(parent, "div", cls="card patient")
    add(card, "h2", "Patient")
    patient = patient_role.find("v3:patient", NS)
    names = [_person_name(name) for name in findall(patient, "v3:name")]
    names = [name for name in names if name]
    add(card, "p", names[0] if names else "Name not recorded", cls="patient-name")
    facts = add(card, "dl")
    _fact(facts, "Other names", names[1:])
    _fact(facts, "Birth date", [_time_of(find(patient, "v3:birthTime"))])
    _fact(facts, "Gender", [_gender(find(patient, "v3:administrativeGenderCode"))])
    _fact(facts, "Identifiers", [_identifier(id_) for id_ in patient_role.findall("v3:id", NS)])
    _fact(facts, "Address", [_address(addr) for addr in patient_role.findall("v3:addr", NS)])
    _fact(facts, "Contact", [_telecom(telecom) for telecom in patient_role.findall("v3:telecom", NS)])
    _fact(facts, "Race", [coded(code) for code in findall(patient, "v3:raceCode", "sdtc:raceCode")])
    ethnicities = findall(patient, "v3:ethnicGroupCode", "sdtc:ethnicGroupCode")
    _fact(facts, "Ethnicity", [coded(code) for code in ethnicities])
    _fact(facts, "Language", [_language_ability(item) for item in findall(patient, "v3:languageCommunication")])
    _finish_card(card, facts)


def _document_card(document: Element, parent: Element) -> None:
    card = add(parent, "div", cls="card document")
    add(card, "h2", "Document")
    facts = add(card, "dl")
    _fact(facts, "Created", [_time_of(document.find("v3:effectiveTime", NS))])
    _fact(facts, "Author", [_author(author) for author in document.findall("v3:author", NS)])
    custodian = "v3:custodian/v3:assignedCustodian/v3:representedCustodianOrganization/v3:name"
    _fact(facts, "Custodian", [text(name) for name in document.findall(custodian, NS)])
    periods = document.findall("v3:documentationOf/v3:serviceEvent/v3:effectiveTime", NS)
    _fact(facts, "Period covered", [_period(period) for period in periods])
    encounter = document.find("v3:componentOf/v3:encompassingEncounter", NS)
    if encounter is not None:
        _fact(facts, "Encounter", [_encounter(encounter)])
    _fact(facts, "Confidentiality", [_confidentiality(document.find("v3:confidentialityCode", NS))])
    _finish_card(card, facts)


def _finish_card(card: Element, facts: Element) -> None:
    if not len(facts):
        card.remove(facts)
    lines(card, facts)


def _fact(facts: Element, label: str, values: Iterable[str | list[str]]) -> None:
    """A `dt`/`dd` pair, one entry per value (a list is one entry of several lines); none if all are empty."""
    entries = [[line for line in (value if isinstance(value, list) else [value]) if line] for value in values]
    entries = [entry for entry in entries if entry]
    if not entries:
        return
    add(facts, "dt", label)
    dd = add(facts, "dd")
    for entry in entries:
        block = dd if len(entries) == 1 else add(dd, "div")
        for line_number, line in enumerate(entry):
            if line_number:
                etree.SubElement(block, "br")
            append_text(block, line)


def _person_name(name: Element) -> str:
    def parts(tag: str) -> list[str]:
        found = [(part.get("qualifier") or "", text(part)) for part in name.findall(f"v3:{tag}", NS)]
        # CL ("call me") is a nickname, shown the way people write one.
        return [f"“{text}”" if "CL" in qualifier.split() else text for qualifier, text in found if text]

    words = parts("prefix") + parts("given") + parts("family")
    suffixes = parts("suffix")
    if not words and not suffixes:
        return text(name)
    return ", ".join([" ".join(words), *suffixes]) if words else " ".join(suffixes)


def _author(author: Element) -> str:
    assigned = author.find("v3:assignedAuthor", NS)
    if assigned is None:
        return ""
    person = assigned.find("v3:assignedPerson/v3:name", NS)
    device = assigned.find("v3:assignedAuthoringDevice", NS)
    who = _person_name(person) if person is not None else ""
    if not who and device is not None:
        names = (text(device.find(f"v3:{tag}", NS)) for tag in ("manufacturerModelName", "softwareName"))
        who = ", ".join(name for name in names if name)
    organization = text(assigned.find("v3:representedOrganization/v3:name", NS))
    return f"{who} ({organization})" if who and organization else who or organization


def _encounter(encounter: Element) -> list[str]:
    facility = "v3:location/v3:healthCareFacility"
    place = text(encounter.find(f"{facility}/v3:location/v3:name", NS)) or text(
        encounter.find(f"{facility}/v3:serviceProviderOrganization/v3:name", NS)
    )
    return [
        coded(encounter.find("v3:code", NS)),
        _period(encounter.find("v3:effectiveTime", NS)),
        f"at {place}" if place else "",
    ]


def _identifier(id_: Element) -> str:
    extension, root = id_.get("extension", "").strip(), id_.get("root", "").strip()
    if extension and root:
        return f"{extension} ({root})"
    return extension or root


def _address(addr: Element) -> list[str]:
    streets = [text(line) for line in addr.findall("v3:streetAddressLine", NS)]
    city, state, postal = (text(addr.find(f"v3:{tag}", NS)) for tag in ("city", "state", "postalCode"))
    locality = ", ".join(part for part in (city, " ".join(p for p in (state, postal) if p)) if part)
    rows = [*streets, locality, text(addr.find("v3:country", NS))]
    rows = [row for row in rows if row] or [text(addr)]
    use = _use(addr)
    return [f"{use}: {rows[0]}", *rows[1:]] if use and rows[0] else rows


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
    language = find(communication, "v3:languageCode")
    code = language.get("code", "").strip() if language is not None else ""
    preferred = find(communication, "v3:preferenceInd")
    if code and preferred is not None and preferred.get("value") == "true":
        return f"{code} (preferred)"
    return code


def _language(document: Element) -> str:
    code = find(document, "v3:languageCode")
    value = code.get("code", "").strip() if code is not None else ""
    return value if re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", value, re.ASCII) else "en"


def _time_of(element: Element | None) -> str:
    value = element.get("value", "").strip() if element is not None else ""
    return format_cda_time(value) if value else ""


def _period(interval: Element | None) -> str:
    """An IVL_TS as `low – high` (or a single time, or an open-ended `from`/`until`)."""
    if interval is None:
        return ""
    if interval.get("value"):
        return _time_of(interval)
    low, high = _time_of(interval.find("v3:low", NS)), _time_of(interval.find("v3:high", NS))
    if low and high:
        return low if low == high else f"{low} – {high}"
    return f"from {low}" if low else f"until {high}" if high else ""
