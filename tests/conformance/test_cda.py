"""The C-CDA validator (`conformance.cda`) fires what the C-CDA R2.1 schematron fires.

It runs lxml's compiled ISO schematron without the idle walks (see its module docstring), so
its findings are compared with lxml's own run on HL7's sample CCD and on broken copies of it.
"""

from __future__ import annotations

import copy

from lxml import etree

from conformance.cda import SVRL, ccda_schematron, cda_problems
from conformance.data import conformance_data_dir, require_conformance_data

V3 = "{urn:hl7-org:v3}"


def _sample() -> etree._Element:
    return etree.parse(str(conformance_data_dir() / "ccda-r2.1" / "C-CDA_R2-1_CCD.xml")).getroot()


def _drop_section_codes(document: etree._Element) -> None:
    for section in document.iter(f"{V3}section"):
        for code in section.findall(f"{V3}code"):
            section.remove(code)


def _drop_document_time(document: etree._Element) -> None:
    document.remove(document.find(f"{V3}effectiveTime"))


def _unknown_entry_statuses(document: etree._Element) -> None:
    for entry in document.iter(f"{V3}entry"):
        for status in entry.iter(f"{V3}statusCode"):
            status.set("code", "not-a-status")


def _lxml_findings(document: etree._Element) -> list[str]:
    schematron = ccda_schematron()
    schematron.validate(document)
    return sorted(
        " ".join((failed.findtext(f"{SVRL}text") or "").split())
        for failed in schematron.validation_report.iter(f"{SVRL}failed-assert")
    )


def _our_findings(document: etree._Element) -> list[str]:
    return sorted(p.message for p in cda_problems(document) if p.source == "schematron")


def test_a_broken_ccd_fires_what_lxmls_schematron_fires() -> None:
    """One copy of the sample broken three ways (one lxml run: about 3 s)."""
    require_conformance_data()
    sample = _sample()
    broken = copy.deepcopy(sample)
    for breaking in (_drop_section_codes, _drop_document_time, _unknown_entry_statuses):
        breaking(broken)
    ours = _our_findings(broken)
    found_in_sample = set(_our_findings(sample))
    assert len([f for f in ours if f not in found_in_sample]) >= 3, "each break is found"
    assert ours == _lxml_findings(broken)
