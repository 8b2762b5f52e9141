"""Nextech encounters (summary + CCD) → US Core Encounter and DocumentReference, and the CCD
as a Binary (pure).

Ids: an Encounter is `<patient fhir id>.<encounterId>.<yyyymmdd>` (the patient's id carries its
chart number, see patient.py; the day bounds the search window), so a read is one encounter
search. Its CCD is DocumentReference/Binary `<encounter id>.ccd`, and each CCD section a Binary
`<encounter id>.ccd.<section>`, listed as further attachments of the DocumentReference. The
encounterId and the section name are id parts (`mappings.ids.encode_part`): `VitalSigns` stays
as it is, `Social History` becomes `xSocial-20History`. The budget of 64: a Patient id takes at
most 26, an Encounter id at most 48 (its encounterId part gets what is left, at least 12; an
Int32 takes 10), `.ccd` 4, so a section part gets at least 11 (more with shorter ids); a
section name too long for its room is cut to a prefix plus a stable hash
(`xPlan-20of-20Tr--k3j9x0a`), which the Binary read recognises among Nextech's sections.
Status: locked encounters are finished; open ones are planned before their date and
in-progress after it (the chart is still open). `encounterLocked` may be a boolean or a string
(vendor.py reads it). The day in an id is the UTC day of `encounterDate` (the docs: "UTC date
/ time"), whatever offset the vendor writes it with. An encounter whose `ccd` is null or blank
has no DocumentReference or Binary (`has_ccd`): a blank page would pass for its CCD.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, reference
from mappings.ids import decode_part, encode_part
from mappings.nextech.sanitize import page, sanitize
from mappings.nextech.vendor import VendorEncounter, VendorSummary
from mappings.terminology import LOINC, US_CORE

PROFILE_ENCOUNTER = f"{US_CORE}/us-core-encounter"
PROFILE_DOCUMENT = f"{US_CORE}/us-core-documentreference"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
CCD_TYPE = {
    "coding": [coding(LOINC, "34133-9", "Summarization of episode note")],
    "text": "Continuity of Care Document",
}


def _instant(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _when(summary: VendorSummary) -> str | None:
    """When the encounter occurred: its instant, or, when Nextech gave the day alone
    (`dayOnly`), that day (R4 dateTime's date precision): midnight UTC would show the evening
    before in every zone west of UTC."""
    if summary.dayOnly and summary.encounterDate is not None:
        return summary.encounterDate.date().isoformat()
    return _instant(summary.encounterDate)


ENCOUNTER_ID_ROOM = 48
DOCUMENT_SUFFIX = ".ccd"


def encounter_id(patient_id: str, summary: VendorSummary) -> str:
    when = summary.encounterDate
    day = when.astimezone(UTC).strftime("%Y%m%d") if when else ""
    room = ENCOUNTER_ID_ROOM - len(patient_id) - 2 - len(day)
    return f"{patient_id}.{encode_part(summary.encounterId, room)}.{day}"


def split_encounter_id(resource_id: str) -> tuple[str, str, str] | None:
    """(patient fhir id, encounterId (or the prefix of a shortened one), yyyymmdd) from an
    Encounter id, or None."""
    parts = resource_id.rsplit(".", 2)
    if len(resource_id) > ENCOUNTER_ID_ROOM or len(parts) != 3 or len(parts[2]) != 8 or not parts[2].isdigit():
        return None
    vendor = decode_part(parts[1])
    if vendor is None:
        return None
    try:
        datetime.strptime(parts[2], "%Y%m%d")
    except ValueError:
        return None
    return parts[0], vendor[0], parts[2]


def document_id(encounter: str) -> str:
    return encounter + DOCUMENT_SUFFIX


def section_part(doc_id: str, section: str) -> str:
    """The id part of a CCD section in Binary `<doc_id>.<part>`: what fits in 64."""
    return encode_part(section, 64 - len(doc_id) - 1)


def section_binary_id(doc_id: str, section: str) -> str:
    return f"{doc_id}.{section_part(doc_id, section)}"


def split_binary_id(resource_id: str) -> tuple[str, str | None] | None:
    """(encounter id, the section's id part or None for the whole CCD) from a Binary id (or,
    with no section, a DocumentReference id), or None."""
    if resource_id.endswith(DOCUMENT_SUFFIX):
        return resource_id.removesuffix(DOCUMENT_SUFFIX), None
    doc, _, part = resource_id.rpartition(".")
    if not doc.endswith(DOCUMENT_SUFFIX) or decode_part(part) is None:
        return None
    return doc.removesuffix(DOCUMENT_SUFFIX), part


def _doctor(summary: VendorSummary) -> str | None:
    name = " ".join(p.strip() for p in (summary.doctorFirstName, summary.doctorLastName) if p and p.strip())
    if not name:
        return None
    designation = (summary.doctorProfessionalDesignation or "").strip()
    return f"{name}, {designation}" if designation else name


def _period(start: str | None, status: str) -> dict[str, str] | None:
    """Nextech gives one instant per encounter, the "date when this encounter occurred"
    (nextech-api.txt): one that has occurred is that instant, signed or not (a note left
    unsigned for months is no visit still going on, and read as open-ended, R4 Period.end:
    "missing ... means that the period is ongoing", it would match every later date); one
    still planned has not ended, so it has no end."""
    if not start:
        return None
    return {"start": start} if status == "planned" else {"start": start, "end": start}


def encounter_to_fhir(item: VendorEncounter, patient_id: str, ctx: TenantContext, now: datetime) -> dict[str, Any]:
    summary = item.summary
    start = _when(summary)
    if summary.encounterLocked:
        status = "finished"
    elif summary.encounterDate and summary.encounterDate > now:
        status = "planned"
    else:
        status = "in-progress"
    doctor = _doctor(summary)
    resource = compact(
        {
            "resourceType": "Encounter",
            "id": encounter_id(patient_id, summary),
            "identifier": [{"system": ctx.system("encounter-id"), "value": summary.encounterId}],
            "status": status,
            "class": coding(ACT_CODE, "AMB", "ambulatory"),
            "type": [{"text": (summary.type or "").strip() or "Encounter"}],
            "serviceType": {"text": summary.department} if summary.department and summary.department.strip() else None,
            "subject": reference("Patient", patient_id),
            "participant": [
                {
                    "type": [{"coding": [coding(PARTICIPATION, "PPRF", "primary performer")]}],
                    "individual": {"display": doctor},
                }
            ]
            if doctor
            else [],
            "period": _period(start, status),
            "location": [{"location": {"display": summary.location}}]
            if summary.location and summary.location.strip()
            else [],
        }
    )
    meta = {"versionId": content_version(resource), "profile": [PROFILE_ENCOUNTER]}
    return {"resourceType": "Encounter", "id": resource["id"], "meta": meta, **resource}


def document_to_fhir(item: VendorEncounter, patient_id: str, sections: list[str]) -> dict[str, Any]:
    summary = item.summary
    encounter = encounter_id(patient_id, summary)
    doc_id = document_id(encounter)
    doctor = _doctor(summary)
    start = _when(summary)
    attachments = [{"attachment": {"contentType": "text/html", "url": f"Binary/{doc_id}", "title": "CCD"}}]
    attachments += [
        {
            "attachment": {
                "contentType": "text/html",
                "url": f"Binary/{section_binary_id(doc_id, s)}",
                "title": f"CCD section: {s}",
            }
        }
        for s in sections
    ]
    resource = compact(
        {
            "resourceType": "DocumentReference",
            "id": doc_id,
            "status": "current",
            "docStatus": "final" if summary.encounterLocked else "preliminary",
            "type": CCD_TYPE,
            "category": [{"coding": [coding(DOC_CATEGORY, "clinical-note", "Clinical Note")]}],
            "subject": reference("Patient", patient_id),
            "date": _instant(summary.encounterDate) if not summary.dayOnly else None,  # an instant, or none
            "author": [{"display": doctor}] if doctor else [],
            "description": f"CCD of the encounter of {(start or '')[:10]}".strip(),
            "content": attachments,
            "context": compact(
                {
                    "encounter": [reference("Encounter", encounter)],
                    "period": {"start": start, "end": start} if start else None,
                }
            ),
        }
    )
    meta = {"versionId": content_version(resource), "profile": [PROFILE_DOCUMENT]}
    return {"resourceType": "DocumentReference", "id": doc_id, "meta": meta, **resource}


def has_ccd(item: VendorEncounter) -> bool:
    """Whether the encounter comes with a CCD. The docs promise one ("Encounter data includes ...
    the CCD in HTML format") but do not say it is never null: an implementation may have none
    for a note not yet locked. Null or blank is no CCD, never an empty document."""
    return bool(item.ccd and item.ccd.strip())


def binary_to_fhir(item: VendorEncounter, binary_id: str, doc_id: str, title: str) -> dict[str, Any]:
    """The CCD HTML (sanitized, as a standalone page) as a Binary, guarded by its
    DocumentReference `doc_id` (R4 Binary.securityContext: "use as proxy when enforcing access
    control"): whoever may read that document may read it, a section as the whole."""
    html = page(title, sanitize(item.ccd or ""))
    return {
        "resourceType": "Binary",
        "id": binary_id,
        "contentType": "text/html",
        "securityContext": reference("DocumentReference", doc_id),
        "data": base64.b64encode(html.encode()).decode(),
    }
