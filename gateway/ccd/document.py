"""Assemble a C-CDA R2.1 Continuity of Care Document from FHIR resources.

Sections come in the order of the C-CDA R2.1 CCD template (2.16.840.1.113883.10.20.22.1.2):
Allergies, Medications, Problems, Results, Social History, Vital Signs, then Procedures, Plan of
Treatment and Encounters. The six a CCD SHALL have are always present (with
nullFlavor NI when there is nothing to say); Procedures, Plan of Treatment and Encounters
appear when there is data for them. `CcdRequest.sections` keeps only the named sections, each
present even when empty (the client asked for it); a CCD so restricted is still a valid
C-CDA document of what it holds, under the US Realm Header only.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.ccd.codes import SECTIONS
from gateway.ccd.context import RenderContext
from gateway.ccd.datatypes import JSON
from gateway.ccd.header import header
from gateway.ccd.model import CcdRequest
from gateway.ccd.nodes import ROOT_TAG, Element, collector_paused, el, to_xml
from gateway.ccd.sections.allergies import allergies_section
from gateway.ccd.sections.encounters import encounters_section, plan_of_treatment_section, planned, took_place
from gateway.ccd.sections.medications import medications_section
from gateway.ccd.sections.observations import results_section, social_history_section, vital_signs_section
from gateway.ccd.sections.problems import problems_section
from gateway.ccd.sections.procedures import kept_procedures, procedures_section
from gateway.search.dates import zone_info

Builder = Callable[[CcdRequest, RenderContext], Element]


def _of(request: CcdRequest, *resource_types: str) -> list[JSON]:
    return [r for r in request.resources if r.get("resourceType") in resource_types]


_BUILDERS: dict[str, Builder] = {
    "allergies": lambda r, c: allergies_section(_of(r, "AllergyIntolerance"), c),
    "medications": lambda r, c: medications_section(_of(r, "MedicationStatement", "MedicationRequest"), c),
    "problems": lambda r, c: problems_section(_of(r, "Condition"), c),
    "results": lambda r, c: results_section(_of(r, "Observation"), c),
    "social-history": lambda r, c: social_history_section(r.patient, _of(r, "Observation"), c),
    "vital-signs": lambda r, c: vital_signs_section(_of(r, "Observation"), c),
    "procedures": lambda r, c: procedures_section(_of(r, "Procedure"), c),
    "plan-of-treatment": lambda r, c: plan_of_treatment_section(_of(r, "Encounter"), c),
    "encounters": lambda r, c: encounters_section(_of(r, "Encounter"), c),
}
# Optional sections: whether the record has anything for them.
_HAS_DATA: dict[str, Callable[[CcdRequest], bool]] = {
    "procedures": lambda r: bool(kept_procedures(_of(r, "Procedure"))),
    "plan-of-treatment": lambda r: bool(planned(_of(r, "Encounter"))),
    "encounters": lambda r: bool(took_place(_of(r, "Encounter"))),
}


def render_ccd(request: CcdRequest) -> bytes:
    """The document, as XML."""
    with collector_paused():
        return to_xml(_document(request))


def _document(request: CcdRequest) -> Element:
    context = RenderContext(request.custodian.identifier_system, zone_info(request.zone))
    document = el(ROOT_TAG)
    document.extend(header(request))
    body = el("structuredBody")
    for kind in SECTIONS:
        if request.sections is not None:
            wanted = kind.key in request.sections
        else:
            wanted = kind.required or _HAS_DATA[kind.key](request)
        if wanted:
            body.append(el("component", None, _BUILDERS[kind.key](request, context)))
    document.append(el("component", None, body))
    return document
