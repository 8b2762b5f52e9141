"""Dental PMS diseases/problems → US Core Condition (problem list item) (pure).

The record names its problem only through the catalog definition's name (its
`snomed_problem_type` is the SNOMED *type* "Problem", not the problem's code), so `code` is
text. Its lifecycle (active → resolved → inactive) is the clinical status; start and stop
dates are onset and abatement.
"""

from __future__ import annotations

from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, fhir_date, instant, meta, reference
from mappings.ids import child_id
from mappings.terminology import US_CORE

PROFILE_CONDITION = f"{US_CORE}/us-core-condition-problems-health-concerns"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_STATUS = {"active": "active", "resolved": "resolved", "inactive": "inactive"}


def condition_to_fhir(d: dict[str, Any], patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    name = ((d.get("disease_definition") or {}).get("name") or "").strip()
    status = _STATUS.get(d.get("problem_status") or "")
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": child_id(patient_id, d["id"]),
        "meta": meta(PROFILE_CONDITION, d.get("version"), d.get("updated_at")),
        "clinicalStatus": {"coding": [coding(CLINICAL, status, status.capitalize())]} if status else None,
        "category": [{"coding": [coding(CATEGORY, "problem-list-item", "Problem List Item")]}],
        "code": {"text": name or "Unspecified problem"},
        "subject": reference("Patient", patient_id),
        "onsetDateTime": fhir_date(d.get("date_start")),
        "abatementDateTime": fhir_date(d.get("date_stop")),
        "recordedDate": instant(d.get("created_at")),
        "note": [{"text": d["patient_note"]}] if d.get("patient_note") else [],
    }
    return compact(resource)
