"""C-CDA vocabulary the renderer needs: template ids, section codes, code-system OIDs.

FHIR names code systems by URI, CDA by OID; `oid_of` bridges the two for the systems our
vendors use (and any `urn:oid:`), from the HL7 terminology registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

V3 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SDTC = "urn:hl7-org:sdtc"

LOINC_OID = "2.16.840.1.113883.6.1"
SNOMED_OID = "2.16.840.1.113883.6.96"
RXNORM_OID = "2.16.840.1.113883.6.88"
ACT_CODE_OID = "2.16.840.1.113883.5.4"
ACT_CLASS_OID = "2.16.840.1.113883.5.6"
ACT_STATUS_OID = "2.16.840.1.113883.5.14"
GENDER_OID = "2.16.840.1.113883.5.1"
MARITAL_OID = "2.16.840.1.113883.5.2"
CONFIDENTIALITY_OID = "2.16.840.1.113883.5.25"
RACE_ETHNICITY_OID = "2.16.840.1.113883.6.238"
ROUTE_OID = "2.16.840.1.113883.3.26.1.1"  # NCI Thesaurus (FDA route of administration)
CPT_OID = "2.16.840.1.113883.6.12"

_OIDS = {
    "http://loinc.org": LOINC_OID,
    "http://snomed.info/sct": SNOMED_OID,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM_OID,
    "http://hl7.org/fhir/sid/icd-10-cm": "2.16.840.1.113883.6.90",
    "http://hl7.org/fhir/sid/icd-9-cm": "2.16.840.1.113883.6.103",
    "http://unitsofmeasure.org": "2.16.840.1.113883.6.8",
    "http://hl7.org/fhir/sid/cvx": "2.16.840.1.113883.12.292",
    "http://hl7.org/fhir/sid/ndc": "2.16.840.1.113883.6.69",
    "http://www.ama-assn.org/go/cpt": CPT_OID,
    "http://ada.org/cdt": "2.16.840.1.113883.6.13",
    "http://nucc.org/provider-taxonomy": "2.16.840.1.113883.6.101",
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": ACT_CODE_OID,
    "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender": GENDER_OID,
    "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus": MARITAL_OID,
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType": "2.16.840.1.113883.5.90",
    "http://terminology.hl7.org/CodeSystem/v3-NullFlavor": "2.16.840.1.113883.5.1008",
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": "2.16.840.1.113883.5.83",
    "http://ncimeta.nci.nih.gov": ROUTE_OID,
    "http://ncithesaurus.nci.nih.gov": ROUTE_OID,
}


OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


def oid_of(system: str | None) -> str | None:
    if not system:
        return None
    if system.startswith("urn:oid:"):
        oid = system[len("urn:oid:") :]
        return oid if OID_RE.match(oid) else None
    return _OIDS.get(system)


@dataclass(frozen=True)
class SectionKind:
    """One CCD section: its key in `?section=`, LOINC code, title and template."""

    key: str
    loinc: str
    display: str
    title: str
    template: str  # the "entries required" template where C-CDA has one
    extension: str | None
    required: bool  # SHALL in a CCD: present even when there is nothing to say


ALLERGIES = SectionKind(
    "allergies",
    "48765-2",
    "Allergies and adverse reactions Document",
    "Allergies and Intolerances",
    "2.16.840.1.113883.10.20.22.2.6.1",
    "2015-08-01",
    True,
)
MEDICATIONS = SectionKind(
    "medications",
    "10160-0",
    "History of Medication use Narrative",
    "Medications",
    "2.16.840.1.113883.10.20.22.2.1.1",
    "2014-06-09",
    True,
)
PROBLEMS = SectionKind(
    "problems",
    "11450-4",
    "Problem list - Reported",
    "Problems",
    "2.16.840.1.113883.10.20.22.2.5.1",
    "2015-08-01",
    True,
)
RESULTS = SectionKind(
    "results",
    "30954-2",
    "Relevant diagnostic tests/laboratory data Narrative",
    "Results",
    "2.16.840.1.113883.10.20.22.2.3.1",
    "2015-08-01",
    True,
)
SOCIAL_HISTORY = SectionKind(
    "social-history",
    "29762-2",
    "Social history Narrative",
    "Social History",
    "2.16.840.1.113883.10.20.22.2.17",
    "2015-08-01",
    True,
)
VITAL_SIGNS = SectionKind(
    "vital-signs",
    "8716-3",
    "Vital signs",
    "Vital Signs",
    "2.16.840.1.113883.10.20.22.2.4.1",
    "2015-08-01",
    True,
)
PROCEDURES = SectionKind(
    "procedures",
    "47519-4",
    "History of Procedures Document",
    "Procedures",
    "2.16.840.1.113883.10.20.22.2.7.1",
    "2014-06-09",
    False,
)
PLAN_OF_TREATMENT = SectionKind(
    "plan-of-treatment",
    "18776-5",
    "Plan of care note",
    "Plan of Treatment",
    "2.16.840.1.113883.10.20.22.2.10",
    "2014-06-09",
    False,
)
ENCOUNTERS = SectionKind(
    "encounters",
    "46240-8",
    "History of Hospitalizations+Outpatient visits Narrative",
    "Encounters",
    "2.16.840.1.113883.10.20.22.2.22.1",
    "2015-08-01",
    False,
)

SECTIONS: tuple[SectionKind, ...] = (
    ALLERGIES,
    MEDICATIONS,
    PROBLEMS,
    RESULTS,
    SOCIAL_HISTORY,
    VITAL_SIGNS,
    PROCEDURES,
    PLAN_OF_TREATMENT,
    ENCOUNTERS,
)
SECTION_KEYS = tuple(s.key for s in SECTIONS)
