"""Nextech patients → US Core Patient (pure).

Nextech can find patients only by a search term (name or chart number); it has no read by
id. So the FHIR id carries the chart number beside the patient id — `<patientId>.<chart>` —
and a read searches by that chart number and keeps the patient with that id: one call.
Both parts go through `mappings.ids.encode_part`: plain values (`[A-Za-z0-9-]`, not starting
with `x`) as they are, anything else escaped (`C 001` -> `xC-20001`); the whole id is kept
within PATIENT_ID_ROOM characters (so an Encounter, its CCD and a section still fit 64), a
longer chart number being cut to a prefix plus a hash: the read then searches that prefix
(Nextech's term matches chart-number prefixes) and keeps the patient whose id this is. `dob`
comes as a datetime (`1985-03-15T00:00:00.000Z`) or a date: the date as written is the birth
date (vendor.py reads it). The SSN is not exposed.
"""

from __future__ import annotations

from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version
from mappings.ids import decode_part, encode_part
from mappings.nextech.vendor import VendorPatient
from mappings.terminology import IDENTIFIER_TYPE, PROFILE_PATIENT

PATIENT_ID_ROOM = 26  # the longest Patient id (see encounter.py for the budget)
PATIENT_NUMBER_ROOM = 12  # the longest patientId part (an Int32 takes at most 10)


def patient_id(patient: VendorPatient) -> str:
    number = encode_part(patient.patientId, PATIENT_NUMBER_ROOM)
    chart = encode_part(patient.chartNumber or "", PATIENT_ID_ROOM - len(number) - 1)
    return f"{number}.{chart}"


def split_patient_id(resource_id: str) -> tuple[str, str] | None:
    """(Nextech patientId or its shortened prefix, the chart number or the prefix of it to
    search) from a FHIR Patient id, or None when it is no Patient id of ours."""
    number, _, chart = resource_id.partition(".")
    if len(resource_id) > PATIENT_ID_ROOM:
        return None
    number_part, chart_part = decode_part(number), decode_part(chart)
    if number_part is None or chart_part is None or number_part == ("", True) or not chart_part[0].strip():
        return None
    return number_part[0], chart_part[0]


def patient_to_fhir(p: VendorPatient, ctx: TenantContext) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [{"use": "usual", "system": ctx.system("patient-id"), "value": p.patientId}]
    if p.chartNumber:
        identifiers.append(
            {
                "use": "official",
                "type": {"coding": [coding(IDENTIFIER_TYPE, "MR", "Medical record number")], "text": "Chart number"},
                "system": ctx.system("chart-number"),
                "value": p.chartNumber,
            }
        )
    given = [g for g in (p.firstName, p.middleName) if g and g.strip()]
    resource = compact(
        {
            "resourceType": "Patient",
            "id": patient_id(p),
            "identifier": identifiers,
            "name": [compact({"use": "official", "family": p.lastName or None, "given": given})],
            "telecom": [{"system": "phone", "value": p.homePhone, "use": "home"}] if p.homePhone else [],
            "gender": "unknown",  # Nextech's patient model carries no gender
            "birthDate": p.dob.isoformat() if p.dob else None,
        }
    )
    meta = {"versionId": content_version(resource), "profile": [PROFILE_PATIENT]}
    return {"resourceType": "Patient", "id": resource["id"], "meta": meta, **resource}
