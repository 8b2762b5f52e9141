"""Nextvisit encounters (from `include=encounters`) → US Core Encounter (pure).

The encounter shape is not in Nextvisit's public docs; the sandbox module states the shape
assumed. Class is ambulatory, or virtual for telehealth; the clinician is the primary
performer (by display: Nextvisit exposes no practitioner resource to reference).
"""

from __future__ import annotations

from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, instant, reference
from mappings.terminology import US_CORE

PROFILE_ENCOUNTER = f"{US_CORE}/us-core-encounter"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
STATUS = {"scheduled": "planned", "in_progress": "in-progress", "completed": "finished", "cancelled": "cancelled"}


def encounter_id(patient_id: str, vendor_id: Any) -> str:
    return f"{patient_id}.e.{vendor_id}"


def encounter_to_fhir(e: dict[str, Any], patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    virtual = e.get("visit_type") == "telehealth"
    provider = e.get("provider") or {}
    performer = ", ".join(x for x in (provider.get("name"), provider.get("credentials")) if x)
    location = e.get("location") or {}
    resource = compact(
        {
            "resourceType": "Encounter",
            "id": encounter_id(patient_id, e["id"]),
            "identifier": [{"system": ctx.system("encounter-id"), "value": str(e["id"])}],
            "status": STATUS.get(e.get("status") or "", "unknown"),
            "class": coding(ACT_CODE, "VR", "virtual") if virtual else coding(ACT_CODE, "AMB", "ambulatory"),
            "type": [{"text": e.get("type") or "Visit"}],
            "subject": reference("Patient", patient_id),
            "participant": [
                {
                    "type": [{"coding": [coding(PARTICIPATION, "PPRF", "primary performer")]}],
                    "individual": {"display": performer},
                }
            ]
            if performer
            else [],
            "period": compact({"start": instant(e.get("start_time")), "end": instant(e.get("end_time"))}),
            "reasonCode": [{"text": e["reason"]}] if e.get("reason") else [],
            "location": [{"location": {"display": location["name"]}}] if location.get("name") else [],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": instant(e.get("updated_at"))})
    meta["profile"] = [PROFILE_ENCOUNTER]
    return {"resourceType": "Encounter", "id": resource["id"], "meta": meta, **resource}
