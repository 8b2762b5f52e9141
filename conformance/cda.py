"""C-CDA checks: a document against the CDA R2 schema and the C-CDA R2.1 schematron.

1. ``cda-xsd/infrastructure/cda/CDA_SDTC.xsd``: the CDA R2 schema with the SDTC extensions
   (structure, datatypes, vocabulary of structural attributes).
2. ``ccda-r2.1/CCDA_R2.1.sch``, phase ``errors`` (every SHALL of the C-CDA R2.1 templates a
   document claims), run by lxml's ISO schematron (XSLT 1). Its value-set checks read
   ``document('voc.xml')``, a path XSLT would resolve against the stylesheet's (string)
   base, so the reference is rewritten to the absolute URI of ``ccda-r2.1/voc.xml``.

The schematron compiles in about a second: it is compiled once per process (``cache``).
Warnings (SHOULD) are not checked.

lxml's ISO skeleton (``iso_svrl_for_xslt1``) writes, inside each pattern's
``svrl:active-pattern``, an ``<xsl:apply-templates/>`` in the default mode. The stylesheet's
only default-mode templates are the root's and an empty ``text()`` one, so each of those walks
the whole document through XSLT's built-in rules and outputs nothing: one walk for each of the
218 patterns, about two thirds of a validation. The compiled stylesheet is run without them
(``_without_idle_walks``); the assertions fired are the same (tests/conformance/test_cda.py
compares them with lxml's own run).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache

from lxml import etree, isoschematron  # type: ignore[attr-defined]  # lxml-stubs lacks isoschematron

from conformance.data import conformance_data_dir

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
XSL = "{http://www.w3.org/1999/XSL/Transform}"


@dataclass(frozen=True)
class CdaProblem:
    source: str  # "xsd" or "schematron"
    location: str
    message: str

    def __str__(self) -> str:
        return f"[{self.source}] {self.location}: {self.message}"


@cache
def cda_schema() -> etree.XMLSchema:
    path = conformance_data_dir() / "cda-xsd" / "infrastructure" / "cda" / "CDA_SDTC.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


@cache
def ccda_schematron() -> isoschematron.Schematron:
    """The C-CDA R2.1 schematron's errors phase as lxml compiles and runs it."""
    folder = conformance_data_dir() / "ccda-r2.1"
    voc = (folder / "voc.xml").resolve().as_uri()
    text = (folder / "CCDA_R2.1.sch").read_bytes().replace(b"document('voc.xml')", f"document('{voc}')".encode())
    return isoschematron.Schematron(
        etree.fromstring(text), phase="errors", store_report=True, validate_schema=False, store_xslt=True
    )


@cache
def ccda_validator() -> etree.XSLT:
    """`ccda_schematron`'s stylesheet without its idle walks: an SVRL report of the same
    failed assertions, in about a third of the time."""
    return etree.XSLT(_without_idle_walks(ccda_schematron().validator_xslt))


def _without_idle_walks(stylesheet: etree._ElementTree) -> etree._ElementTree:
    stylesheet = copy.deepcopy(stylesheet)
    root = stylesheet.getroot()
    # The walks are idle only while nothing in the default mode can output: a newer skeleton or
    # schematron breaking that would make the rewrite drop findings, so it refuses to run.
    default_mode = [t for t in root.iterchildren(f"{XSL}template") if t.get("mode") is None]
    idle = all(
        t.get("match") == "/" or (t.get("match") == "text()" and len(t) == 0 and not (t.text or "").strip())
        for t in default_mode
    )
    patterns = list(root.iter(f"{SVRL}active-pattern"))
    walks = [
        (pattern, walk)
        for pattern in patterns
        for walk in pattern.findall(f"{XSL}apply-templates")
        if walk.get("mode") is None and walk.get("select") is None
    ]
    if not idle or len(walks) != len(patterns):
        raise RuntimeError("the compiled C-CDA schematron is not shaped as conformance.cda expects")
    for pattern, walk in walks:
        pattern.remove(walk)
    return stylesheet


def cda_problems(document: bytes | etree._Element) -> list[CdaProblem]:
    """Every XSD error and every failed schematron assertion of the errors phase."""
    tree = etree.fromstring(document) if isinstance(document, bytes) else document
    problems: list[CdaProblem] = []
    schema = cda_schema()
    if not schema.validate(tree):
        problems += [CdaProblem("xsd", f"line {e.line}", e.message) for e in schema.error_log]  # type: ignore[attr-defined]
    report = ccda_validator()(tree)
    for failed in report.iter(f"{SVRL}failed-assert"):
        text = " ".join((failed.findtext(f"{SVRL}text") or "").split())
        problems.append(CdaProblem("schematron", _short(failed.get("location") or ""), text))
    return problems


def assert_valid_ccda(document: bytes | etree._Element) -> None:
    problems = cda_problems(document)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise AssertionError(f"C-CDA document fails validation ({len(problems)} problems):\n{listed}{more}")


def _short(location: str) -> str:
    """`/*[local-name()='section' and namespace-uri()='urn:hl7-org:v3'][2]` -> `/section[2]`."""
    parts = []
    for step in location.split("/*[local-name()='")[1:]:
        name, _, rest = step.partition("'")
        index = rest.rsplit("]", 2)[-2].rpartition("[")[2] if rest.count("]") > 1 else ""
        parts.append(f"{name}[{index}]" if index.isdigit() else name)
    return "/" + "/".join(parts) if parts else location
