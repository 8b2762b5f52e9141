"""Assemble a C-CDA R2.1 Continuity of Care Document from FHIR resources.

Sections come in the order of DESIGN §9. The six a CCD SHALL have are always present (with
nullFlavor NI when there is nothing to say); Procedures and Encounters appear only with
data. `CcdRequest.sections` keeps only the named ones (the per-encounter `?section=`
filter); a CCD so restricted is still a valid document of what it holds.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from gateway.ccd.codes import SECTIONS, SectionKind
from gateway.ccd.datatypes import JSON, Element, el
from gateway.ccd.header import header
from gateway.ccd.model import CcdRequest
from gateway.ccd.sections.allergies import allergies_section
from gateway.ccd.sections.encounters import encounters_section
from gateway.ccd.sections.medications import medications_section
from gateway.ccd.sections.observations import results_section, social_history_section, vital_signs_section
from gateway.ccd.sections.problems import problems_section
from gateway.ccd.sections.procedures import procedures_section

Builder = Callable[[CcdRequest], Element | None]


def _of_type(request: CcdRequest, resource_type: str) -> list[JSON]:
    return [r for r in request.resources if r.get("resourceType") == resource_type]


_BUILDERS: dict[str, Builder] = {
    "allergies": lambda r: allergies_section(_of_type(r, "AllergyIntolerance")),
    "medications": lambda r: medications_section(_of_type(r, "MedicationStatement") + _of_type(r, "MedicationRequest")),
    "problems": lambda r: problems_section(_of_type(r, "Condition")),
    "results": lambda r: results_section(_of_type(r, "Observation")),
    "social-history": lambda r: social_history_section(r.patient, _of_type(r, "Observation")),
    "vital-signs": lambda r: vital_signs_section(_of_type(r, "Observation")),
    "procedures": lambda r: procedures_section(_of_type(r, "Procedure")) if _of_type(r, "Procedure") else None,
    "encounters": lambda r: encounters_section(_of_type(r, "Encounter")) if _of_type(r, "Encounter") else None,
}


def render_ccd(request: CcdRequest) -> Element:
    document = el("ClinicalDocument")
    document.extend(header(request))
    body = el("structuredBody")
    for kind in _wanted(request):
        built = _BUILDERS[kind.key](request)
        if built is not None:
            body.append(el("component", None, built))
    document.append(el("component", None, body))
    return document


def _wanted(request: CcdRequest) -> list[SectionKind]:
    return [s for s in SECTIONS if request.sections is None or s.key in request.sections]


def to_xml(document: Element) -> bytes:
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
