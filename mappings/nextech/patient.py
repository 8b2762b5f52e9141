"""Nextech patients → US Core Patient (pure).

Nextech can find patients only by a search term (name or chart number); it has no read by
id. So the FHIR id carries the chart number beside the patient id — `<patientId>.<chart>` —
and a read searches by that chart number and keeps the patient with that id: one call.
Chart numbers outside `[A-Za-z0-9-]` are hex-encoded behind an `x`. `dob` comes as a
datetime (`1985-03-15T00:00:00.000Z`): the date part is the birth date. The SSN is not exposed.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, fhir_date
from mappings.terminology import IDENTIFIER_TYPE, PROFILE_PATIENT

_PLAIN_CHART = re.compile(r"^[A-Za-z0-9-]{1,40}$")


def patient_id(patient: dict[str, Any]) -> str:
    chart = str(patient.get("chartNumber") or "")
    if _PLAIN_CHART.match(chart) and not chart.startswith("x"):  # "x…" marks the hex form
        return f"{patient['patientId']}.{chart}"
    return f"{patient['patientId']}.x{chart.encode().hex()}"


def split_patient_id(resource_id: str) -> tuple[str, str] | None:
    """(Nextech patientId, chart number) from a FHIR Patient id, or None."""
    number, _, chart = resource_id.partition(".")
    if not number.isdigit() or not chart:
        return None
    if chart.startswith("x"):
        try:
            decoded = bytes.fromhex(chart[1:]).decode()
        except ValueError:
            return None
        return (number, decoded) if decoded else None
    return (number, chart) if _PLAIN_CHART.match(chart) else None


def patient_to_fhir(p: dict[str, Any], ctx: TenantContext) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [
        {"use": "usual", "system": ctx.system("patient-id"), "value": str(p["patientId"])}
    ]
    if p.get("chartNumber"):
        identifiers.append(
            {
                "use": "official",
                "type": {"coding": [coding(IDENTIFIER_TYPE, "MR", "Medical record number")], "text": "Chart number"},
                "system": ctx.system("chart-number"),
                "value": str(p["chartNumber"]),
            }
        )
    given = [g for g in (p.get("firstName"), p.get("middleName")) if g]
    resource = compact(
        {
            "resourceType": "Patient",
            "id": patient_id(p),
            "identifier": identifiers,
            "name": [compact({"use": "official", "family": p.get("lastName") or None, "given": given})],
            "telecom": [{"system": "phone", "value": p["homePhone"], "use": "home"}] if p.get("homePhone") else [],
            "gender": "unknown",  # Nextech's patient model carries no gender
            "birthDate": fhir_date(p.get("dob")),
        }
    )
    meta = {"versionId": content_version(resource), "profile": [PROFILE_PATIENT]}
    return {"resourceType": "Patient", "id": resource["id"], "meta": meta, **resource}
