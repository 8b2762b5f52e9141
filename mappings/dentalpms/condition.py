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
# The record's `function_status` (Meaningful Use's classes) as US Core 6.1's screening and
# assessment categories (us-core-category, allowed beside problem-list-item by the Condition
# Problems and Health Concerns profile): a cognitive or functional problem or result says so.
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
_ASSESSED = {
    "cognitive_result": ("cognitive-status", "Cognitive Status"),
    "cognitive_problem": ("cognitive-status", "Cognitive Status"),
    "functional_result": ("functional-status", "Functional Status"),
    "functional_problem": ("functional-status", "Functional Status"),
}


def _assessed(d: dict[str, Any]) -> list[dict[str, Any]]:
    found = _ASSESSED.get(d.get("function_status") or "")
    return [{"coding": [coding(US_CORE_CATEGORY, *found)]}] if found else []


def condition_to_fhir(d: dict[str, Any], patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    name = ((d.get("disease_definition") or {}).get("name") or "").strip()
    status = _STATUS.get(d.get("problem_status") or "")
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": child_id(patient_id, d["id"]),
        "meta": meta(PROFILE_CONDITION, d.get("version"), d.get("updated_at")),
        "clinicalStatus": {"coding": [coding(CLINICAL, status, status.capitalize())]} if status else None,
        "category": [{"coding": [coding(CATEGORY, "problem-list-item", "Problem List Item")]}, *_assessed(d)],
        "code": {"text": name or "Unspecified problem"},
        "subject": reference("Patient", patient_id),
        "onsetDateTime": fhir_date(d.get("date_start")),
        "abatementDateTime": fhir_date(d.get("date_stop")),
        "recordedDate": instant(d.get("created_at")),
        "note": [{"text": d["patient_note"]}] if d.get("patient_note") else [],
    }
    return compact(resource)
