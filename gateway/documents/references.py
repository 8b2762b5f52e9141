"""The FHIR face of a generated CCD: a US Core DocumentReference and its Binary."""

from __future__ import annotations

import base64
from typing import Any

CCD_TYPE = {"system": "http://loinc.org", "code": "34133-9", "display": "Summarization of episode note"}
CLINICAL_NOTE = {
    "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
    "code": "clinical-note",
    "display": "Clinical Note",
}
CCDA_FORMAT = {
    "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
    "code": "urn:hl7-org:sdwg:ccda-structuredBody:2.1",
    "display": "Documents following C-CDA constraints using a structured body",
}
PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"
CDA_MEDIA_TYPE = "application/xml"
HTML_MEDIA_TYPE = "text/html"


def document_reference(
    document_id: str,
    patient_id: str,
    created: str,
    *,
    title: str,
    custodian: str,
    encounter_id: str | None = None,
    period: tuple[str | None, str | None] = (None, None),
    final: bool = True,
) -> dict[str, Any]:
    """A DocumentReference for a CCD the gateway renders on demand, at `Binary/<document_id>`
    (C-CDA XML, or HTML when asked); not `final` while what it documents may still change (a
    visit in progress), `preliminary` (R4 composition-status)."""
    context: dict[str, Any] = {}
    if encounter_id is not None:
        context["encounter"] = [{"reference": f"Encounter/{encounter_id}"}]
    start, end = period
    if start or end:
        context["period"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    reference: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": document_id,
        "meta": {"profile": [PROFILE]},
        "status": "current",
        "docStatus": "final" if final else "preliminary",
        "type": {"coding": [CCD_TYPE], "text": "Continuity of Care Document"},
        "category": [{"coding": [CLINICAL_NOTE]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": created,
        "author": [{"display": f"fhir-gateway, on behalf of {custodian}"}],
        "custodian": {"display": custodian},
        "description": title,
        "content": [
            {
                "attachment": {"contentType": CDA_MEDIA_TYPE, "url": f"Binary/{document_id}", "title": title},
                "format": CCDA_FORMAT,
            },
            {
                "attachment": {
                    "contentType": HTML_MEDIA_TYPE,
                    "url": f"Binary/{document_id}?_format=html",
                    "title": f"{title} (HTML)",
                },
            },
        ],
    }
    if context:
        reference["context"] = context
    return reference


def binary(document_id: str | None, content: bytes, content_type: str = CDA_MEDIA_TYPE) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Binary"}
    if document_id is not None:
        resource["id"] = document_id
    return resource | {"contentType": content_type, "data": base64.b64encode(content).decode("ascii")}
