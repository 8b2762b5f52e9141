"""Nextech patients → US Core Patient (pure).

Nextech can find patients only by a search term (name or chart number); it has no read by
id. So the FHIR id carries the chart number beside the patient id — `<patientId>.<chart>` —
and a read searches by that chart number and keeps the patient with that id: one call.
Both parts go through `mappings.ids.encode_part`: plain values (`[A-Za-z0-9-]`, not starting
with `x`) as they are, anything else escaped (`C 001` -> `xC-20001`); the whole id is kept
within PATIENT_ID_ROOM characters (so an Encounter, its CCD and a section still fit 64), a
longer chart number being cut to a prefix plus a hash: the read then searches that prefix
(Nextech's term matches chart-number prefixes) and keeps the patient whose id this is.
A patient with no chart number (null, absent or blank: the docs do not say it is required)
is `<patientId>.x.<initial>`, `x` being the empty chart number and the initial the first
letter of the last name (else of the first name) as an id part: its read searches that
letter's terms (terms.name_terms, found under every reading of `term`) and keeps the patient
with that patientId. With no name either, nothing can search for the patient: its id
(`<patientId>.x`) reads as not found. `dob`
comes as a datetime (`1985-03-15T00:00:00.000Z`) or a date: the date as written is the birth
date (vendor.py reads it). The SSN is not exposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version
from mappings.ids import decode_part, encode_part
from mappings.nextech.vendor import VendorPatient
from mappings.terminology import IDENTIFIER_TYPE, PROFILE_PATIENT

PATIENT_ID_ROOM = 26  # the longest Patient id (see encounter.py for the budget)
PATIENT_NUMBER_ROOM = 12  # the longest patientId part (an Int32 takes at most 10)


NO_CHART = encode_part("")  # the chart part of a patient without a chart number


@dataclass(frozen=True)
class PatientKey:
    """What a Patient id says: the patientId (or its shortened prefix), and how to search for
    the patient: its chart number (or the prefix of it), or with none the initial of its name."""

    number: str
    chart: str
    initial: str = ""


def _chart(patient: VendorPatient) -> str:
    return patient.chartNumber if patient.chartNumber and patient.chartNumber.strip() else ""


def _initial(patient: VendorPatient) -> str:
    name = next((n.strip() for n in (patient.lastName, patient.firstName) if n and n.strip()), "")
    return name[:1]


def patient_id(patient: VendorPatient) -> str:
    number = encode_part(patient.patientId, PATIENT_NUMBER_ROOM)
    chart = _chart(patient)
    if chart or not _initial(patient):
        return f"{number}.{encode_part(chart, PATIENT_ID_ROOM - len(number) - 1)}"
    room = PATIENT_ID_ROOM - len(number) - len(NO_CHART) - 2
    return f"{number}.{NO_CHART}.{encode_part(_initial(patient), room)}"


def split_patient_id(resource_id: str) -> PatientKey | None:
    """What a FHIR Patient id says, or None when it is no Patient id of ours (or one that
    nothing can search for)."""
    if len(resource_id) > PATIENT_ID_ROOM:
        return None
    number, _, chart = resource_id.partition(".")
    number_part = decode_part(number)
    if number_part is None or number_part == ("", True):
        return None
    if chart.startswith(NO_CHART + "."):
        initial = decode_part(chart.removeprefix(NO_CHART + "."))
        if initial is None or not initial[1] or len(initial[0]) != 1 or not initial[0].strip():
            return None
        return PatientKey(number_part[0], "", initial[0])
    chart_part = decode_part(chart)
    if chart_part is None or not chart_part[0].strip():
        return None
    return PatientKey(number_part[0], chart_part[0])


def patient_to_fhir(p: VendorPatient, ctx: TenantContext) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [{"use": "usual", "system": ctx.system("patient-id"), "value": p.patientId}]
    if _chart(p):
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
