"""Nextvisit encounters (from `include=encounters`) → US Core Encounter (pure).

The encounter shape is not in Nextvisit's public docs; the sandbox module states the shape
assumed, and `mappings.nextvisit.vendor.VendorEncounter` every spelling read (the adapter's
"Where the docs are silent" lists them). Class is ambulatory, or virtual for telehealth; the
clinician is the primary performer (by display: Nextvisit exposes no practitioner resource
to reference). Each encounter of a patient is read on its own: one that cannot be read is
reported (`Unreadable`), the others are mapped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from pydantic import ValidationError

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, reference
from mappings.nextvisit.options import vendor_timezone
from mappings.nextvisit.pages import beyond_first_page
from mappings.nextvisit.vendor import (
    Mapped,
    Unreadable,
    UnreadablePayload,
    VendorEncounter,
    VendorPatient,
    first_problem,
    items_of,
    not_returned,
    zoned_instant,
)
from mappings.terminology import US_CORE

PROFILE_ENCOUNTER = f"{US_CORE}/us-core-encounter"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# The docs show no encounter status: the spellings a scheduling or charting app writes. A
# signed (or closed) note is of a visit that took place, and so is one amended after it was
# signed (an addendum or a correction: the visit still happened); a no-show "ended before it
# began" (R4 Encounter.status `cancelled`). A voided note (`void`, `voided`) is a record made in
# error, R4's `entered-in-error` ("should not have been part of this patient's medical record"),
# not a visit that took place: a charting app voids a note rather than deleting it. R4's own
# `triaged` and `onleave` are kept. Anything else (`draft`, `unsigned`) is `unknown`.
STATUS = {
    **dict.fromkeys(("scheduled", "planned", "booked", "pending", "upcoming", "confirmed"), "planned"),
    **dict.fromkeys(("in_progress", "inprogress", "started", "arrived", "checked_in"), "in-progress"),
    **dict.fromkeys(("triaged",), "triaged"),
    **dict.fromkeys(("onleave", "on_leave"), "onleave"),
    **dict.fromkeys(("completed", "complete", "finished", "done", "closed", "signed"), "finished"),
    **dict.fromkeys(("amended", "addended", "corrected"), "finished"),
    **dict.fromkeys(("cancelled", "canceled", "no_show", "noshow"), "cancelled"),
    **dict.fromkeys(("void", "voided", "entered_in_error", "in_error", "error"), "entered-in-error"),
}
# Words of a visit type that make the visit virtual (`telehealth`, `tele-health`, `video_visit`,
# `phone`): v3 ActCode VR.
VIRTUAL = frozenset({"telehealth", "telemedicine", "tele", "virtual", "video", "phone", "telephone", "telephonic"})
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORDS = re.compile(r"[^a-z]+")


def encounter_id(patient_id: str, vendor_id: Any) -> str:
    return f"{patient_id}.e.{vendor_id}"


def _key(value: str | None) -> str:
    """Case, `-`, spaces and camelCase alike: `In Progress`, `in-progress`, `InProgress`."""
    return _CAMEL.sub("_", (value or "").strip()).lower().replace("-", "_").replace(" ", "_")


def _virtual(visit_type: str | None) -> bool:
    return not VIRTUAL.isdisjoint(_WORDS.split(_key(visit_type).replace("tele_", "tele")))


def _when(value: str | None, zone: tzinfo) -> str | None:
    """A date stays a date (no invented midnight); a date-time becomes a UTC instant, one
    without an offset read as `zone`'s wall clock (the tenant's `vendor_timezone`)."""
    return value if value is not None and len(value) == 10 else zoned_instant(value, zone)


def encounter_to_fhir(raw: Mapping[str, Any] | VendorEncounter, patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    e = raw if isinstance(raw, VendorEncounter) else VendorEncounter.model_validate(raw)
    virtual = _virtual(e.visit_type)
    zone = vendor_timezone(ctx)
    provider = e.clinician_ref
    performer = ", ".join(x for x in (provider.label, provider.credentials) if x) if provider else ""
    location = e.location.label if e.location else None
    visit_type = (e.type.label if e.type else None) or e.title
    resource = compact(
        {
            "resourceType": "Encounter",
            "id": encounter_id(patient_id, e.id),
            "identifier": [{"system": ctx.system("encounter-id"), "value": e.id}],
            "status": STATUS.get(_key(e.status), "unknown"),
            "class": coding(ACT_CODE, "VR", "virtual") if virtual else coding(ACT_CODE, "AMB", "ambulatory"),
            "type": [{"text": visit_type or "Visit"}],
            "subject": reference("Patient", patient_id),
            "participant": [
                {
                    "type": [{"coding": [coding(PARTICIPATION, "PPRF", "primary performer")]}],
                    "individual": {"display": performer},
                }
            ]
            if performer
            else [],
            "period": compact({"start": _when(e.start, zone), "end": _when(e.end, zone)}),
            "reasonCode": [{"text": e.reason}] if e.reason else [],
            "location": [{"location": {"display": location}}] if location else [],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": zoned_instant(e.updated_at, zone)})
    meta["profile"] = [PROFILE_ENCOUNTER]
    return {"resourceType": "Encounter", "id": resource["id"], "meta": meta, **resource}


def encounters_to_fhir(patient: VendorPatient, ctx: TenantContext) -> Mapped:
    """Every encounter of the patient that can be read, and those that cannot (all of them when
    the answer has no `encounters`: not included is not "no visits", `vendor.not_returned`)."""
    missing = not_returned(patient, "encounters", "Encounter")
    if missing:
        return [], missing
    found: list[dict[str, Any]] = []
    unreadable: list[Unreadable] = beyond_first_page(patient, "encounters", "Encounter")
    try:
        items = list(items_of(patient.encounters, "encounters"))
    except UnreadablePayload as exc:
        return [], [Unreadable("Encounter", patient.id, None, exc.field, exc.problem)]
    for path, item in items:
        try:
            found.append(encounter_to_fhir(VendorEncounter.model_validate(item), patient.id, ctx))
        except ValidationError as exc:
            field, problem = first_problem(exc, path)
            vendor_id = item.get("id") if isinstance(item, dict) else None
            known = isinstance(vendor_id, int | str) and not isinstance(vendor_id, bool) and str(vendor_id).strip()
            record_id = encounter_id(patient.id, str(vendor_id).strip()) if known else None
            unreadable.append(Unreadable("Encounter", patient.id, record_id, field, problem))
    return found, unreadable
