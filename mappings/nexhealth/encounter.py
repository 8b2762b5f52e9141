"""NexHealth appointments → US Core Encounter (pure).

Status from what the appointment says and when it is: cancelled → cancelled; not yet started
→ planned; past and confirmed → finished; past and never confirmed → unknown (NexHealth does
not say whether the patient came). The provider is the primary performer; the location is the
tenant's NexHealth location. The id carries patient, appointment and day
(`<patient>.<appointment>.<yyyymmdd>`), so a read is one appointments call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, instant, reference
from mappings.terminology import US_CORE

PROFILE_ENCOUNTER = f"{US_CORE}/us-core-encounter"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def appointment_id(a: dict[str, Any]) -> str:
    day = (a.get("start_time") or "")[:10].replace("-", "")
    return f"{a['patient_id']}.{a['id']}.{day}"


def encounter_status(a: dict[str, Any], now: datetime) -> str:
    if a.get("cancelled"):
        return "cancelled"
    start = instant(a.get("start_time"))
    if start is None or datetime.fromisoformat(start.replace("Z", "+00:00")) > now:
        return "planned"
    return "finished" if a.get("confirmed") else "unknown"


def _period(a: dict[str, Any]) -> dict[str, str]:
    """The appointment's start to its end. Without an end (cancelled visits), the appointment is
    its start: an open period would read as "still going on" to date searches. An end before the
    start is no end either: a Go implementation over MySQL serves a time it never recorded as
    Go's zero time, `0001-01-01T00:00:00Z`, and FHIR's Period forbids an end before its start
    (invariant per-1)."""
    start = instant(a.get("start_time"))
    end = instant(a.get("end_time"))
    if end is None or (start is not None and _moment(end) < _moment(start)):
        end = start
    return compact({"start": start, "end": end})


def _moment(fhir_instant: str) -> datetime:
    return datetime.fromisoformat(fhir_instant.replace("Z", "+00:00"))


def _type_name(a: dict[str, Any]) -> str:
    kind = a.get("appointment_type")  # an object with `include[]=appointment_type`
    name = kind.get("name") if isinstance(kind, dict) else kind
    return str(name) if name else "Appointment"


def encounter_to_fhir(a: dict[str, Any], ctx: TenantContext, now: datetime) -> dict[str, Any]:
    location = ctx.extra.get("location_name") or f"NexHealth location {a.get('location_id')}"
    resource = compact(
        {
            "resourceType": "Encounter",
            "id": appointment_id(a),
            "identifier": [{"system": ctx.system("appointment-id"), "value": str(a["id"])}],
            "status": encounter_status(a, now),
            "class": coding(ACT_CODE, "AMB", "ambulatory"),
            "type": [{"text": _type_name(a)}],
            "subject": reference("Patient", str(a["patient_id"])),
            "participant": [
                {
                    "type": [{"coding": [coding(PARTICIPATION, "PPRF", "primary performer")]}],
                    "individual": {"display": a["provider_name"]},
                }
            ]
            if a.get("provider_name")
            else [],
            "period": _period(a),
            "location": [{"location": {"display": location}}],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": instant(a.get("updated_at"))})
    meta["profile"] = [PROFILE_ENCOUNTER]
    return {"resourceType": "Encounter", "id": resource["id"], "meta": meta, **resource}
