"""Dental PMS allergy records → US Core AllergyIntolerance (pure).

The record names its substance only through the catalog definition's name, so `code` is
text unless the name is a "no known allergy" spelling. A patient whose allergy review status
is `nkda` gets one AllergyIntolerance saying so, with the SNOMED situation concept (a code,
not an allergy to something called NKDA), so that "reviewed, none" is told apart from "never
asked".
"""

from __future__ import annotations

from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, fhir_date, instant, meta, reference
from mappings.ids import child_id, pack_uuid
from mappings.terminology import (
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    NO_KNOWN_DRUG_ALLERGY,
    PROFILE_ALLERGY,
    SNOMED,
    no_known_allergy,
)

_SEVERITIES = frozenset({"mild", "moderate", "severe"})
NKDA_SUFFIX = "nkda"


def nkda_id(patient_id: str) -> str:
    return f"{pack_uuid(patient_id)}.{NKDA_SUFFIX}"


def _clinical(active: bool) -> dict[str, Any]:
    code = "active" if active else "inactive"
    return {"coding": [coding(ALLERGY_CLINICAL, code, code.capitalize())]}


def allergy_to_fhir(a: dict[str, Any], patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    name = ((a.get("allergy_definition") or {}).get("name") or "").strip()
    negated = no_known_allergy(name) if name else None
    code: dict[str, Any] = {"text": name or "Unspecified allergy"}
    if negated:
        code["coding"] = [coding(*negated)]
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": child_id(patient_id, a["id"]),
        "meta": meta(PROFILE_ALLERGY, a.get("version"), a.get("updated_at")),
        "clinicalStatus": _clinical(bool(a.get("status_is_active", True))),
        "code": code,
        "patient": reference("Patient", patient_id),
        "recordedDate": instant(a.get("created_at")),
        "reaction": _reaction(a),
    }
    return compact(resource)


def _reaction(a: dict[str, Any]) -> list[dict[str, Any]]:
    text = (a.get("reaction") or "").strip()
    snomed = (a.get("snomed_reaction") or "").strip()
    if not text and not snomed:
        return []  # a reaction needs a manifestation; severity alone cannot stand
    manifestation: dict[str, Any] = {"text": text} if text else {}
    if snomed:
        manifestation["coding"] = [coding(SNOMED, snomed)]
    severity = (a.get("severity") or "").lower()
    reaction = {
        "manifestation": [manifestation],
        "severity": severity if severity in _SEVERITIES else None,
        "onset": fhir_date(a.get("date_adverse_reaction")),
    }
    return [compact(reaction)]


def nkda_to_fhir(patient: dict[str, Any], ctx: TenantContext) -> dict[str, Any]:
    """The patient's reviewed "no known drug allergies" status as an AllergyIntolerance."""
    return compact(
        {
            "resourceType": "AllergyIntolerance",
            "id": nkda_id(patient["id"]),
            "meta": meta(PROFILE_ALLERGY, patient.get("version"), patient.get("updated_at")),
            "clinicalStatus": _clinical(True),
            "verificationStatus": {"coding": [coding(ALLERGY_VERIFICATION, "confirmed", "Confirmed")]},
            "code": {"coding": [coding(*NO_KNOWN_DRUG_ALLERGY)], "text": "No known drug allergies"},
            "patient": reference("Patient", patient["id"]),
        }
    )
