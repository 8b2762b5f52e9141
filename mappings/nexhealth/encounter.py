"""NexHealth appointments → US Core Encounter (pure).

Status from what the appointment says and when it is: cancelled → cancelled; not yet started
→ planned; past and confirmed → finished; past and never confirmed → unknown (NexHealth does
not say whether the patient came). The provider is the primary performer; the location is the
tenant's NexHealth location. The id carries patient, appointment and day
(`<patient>.<appointment>.<yyyymmdd>`), so a read is one appointments call.

Times: the patients page shows an appointment's as UTC instants (`2021-12-06T09:45:00.000Z`),
but documents no appointment route; an implementation keeping the office's wall time (Django
with `USE_TZ = False`, a MySQL `DATETIME`) serves them without an offset. Such a time is read in
the appointment's own `timezone`, else in the tenant's zone: never as UTC, hours off.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, instant, reference
from mappings.terminology import US_CORE

PROFILE_ENCOUNTER = f"{US_CORE}/us-core-encounter"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def appointment_id(a: dict[str, Any]) -> str:
    day = (a.get("start_time") or "")[:10].replace("-", "")
    return f"{a['patient_id']}.{a['id']}.{day}"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def appointment_zone(a: dict[str, Any], fallback: str) -> str:
    """The zone of an appointment's times without an offset: its own `timezone` when that is an
    IANA name, else `fallback` (the tenant's)."""
    named = a.get("timezone")
    return named if isinstance(named, str) and named and _zone(named) is not None else fallback


def appointment_moment(value: Any, zone: str) -> datetime | None:
    """An appointment's time as an aware datetime: as its offset says, or, without one, the wall
    time of `zone`; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(zone) or UTC)
    return moment


def _appointment_instant(value: Any, zone: str) -> str | None:
    moment = appointment_moment(value, zone)
    return instant(moment.astimezone(UTC).isoformat()) if moment is not None else None


def encounter_status(a: dict[str, Any], now: datetime, zone: str = "UTC") -> str:
    if a.get("cancelled"):
        return "cancelled"
    start = appointment_moment(a.get("start_time"), zone)
    if start is None or start > now:
        return "planned"
    return "finished" if a.get("confirmed") else "unknown"


def _period(a: dict[str, Any], zone: str) -> dict[str, str]:
    """The appointment's start to its end. Without an end (cancelled visits), the appointment is
    its start: an open period would read as "still going on" to date searches. An end before the
    start is no end either: a Go implementation over MySQL serves a time it never recorded as
    Go's zero time, `0001-01-01T00:00:00Z`, and FHIR's Period forbids an end before its start
    (invariant per-1)."""
    start = _appointment_instant(a.get("start_time"), zone)
    end = _appointment_instant(a.get("end_time"), zone)
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
    zone = appointment_zone(a, ctx.timezone)
    resource = compact(
        {
            "resourceType": "Encounter",
            "id": appointment_id(a),
            "identifier": [{"system": ctx.system("appointment-id"), "value": str(a["id"])}],
            "status": encounter_status(a, now, zone),
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
            "period": _period(a, zone),
            "location": [{"location": {"display": location}}],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": instant(a.get("updated_at"))})
    meta["profile"] = [PROFILE_ENCOUNTER]
    return {"resourceType": "Encounter", "id": resource["id"], "meta": meta, **resource}
