"""Nextvisit `latest_medications` → MedicationStatement, one per entry (pure).

Entries are free text like "Sertraline 50mg" or "Lorazepam 0.5mg PRN" (documented only as a
list, `[]`; one text instead is a list of its lines, or of the items its `;` or `,` separate,
or the JSON array stored as its text). An entry that records no drug (`None`, `N/A`, `No
medications`) is no statement. The medication stays
text (no code is guessed); a strength the text states becomes the dose (an object's own dose
field first: its name may state a concentration, `0.12% oral rinse`, that is no dose), and PRN
becomes `asNeededBoolean`. The list is the latest one charted, not a statement that the patient takes
each drug today, so the status is `unknown` — claiming `active` would be more than Nextvisit
says; `dateAsserted` is when the list last changed. An entry given as an object may say its
status (a list that keeps what was stopped): that status is served (`discontinued` is
`stopped`, `on_hold` `on-hold`; R4 medication-statement-status), never `unknown` for a drug the
vendor says was stopped; a status no reading knows stays `unknown`. An object that says no
status but when the drug was stopped (`discontinued_at`, a Rails model's timestamp column in
place of an enum) is `stopped` (R4 medication-statement-status: "the medication was stopped
being taken"); a stop still to come (a course planned to end on a day ahead) is not, yet. When
an object dates the drug (`started_on`, `ended_on`, a stop time), the dates are its
`effectivePeriod` (a date stays a date; a time without an offset is the vendor's wall clock).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from pydantic import ValidationError

from gateway.contract import TenantContext
from mappings.fhirjson import compact, content_version, reference, text_key
from mappings.nextvisit.allergy import NOTHING_RECORDED, listed_text, split_list
from mappings.nextvisit.options import vendor_timezone
from mappings.nextvisit.pages import beyond_first_page
from mappings.nextvisit.vendor import (
    Mapped,
    Unreadable,
    UnreadablePayload,
    VendorMedication,
    VendorPatient,
    first_problem,
    items_of,
    not_returned,
    read_patient,
    zoned_instant,
)
from mappings.terminology import UCUM

_STRENGTH = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>mcg|mg|g|mL|ml|units?|IU|%)(?![A-Za-z])", re.IGNORECASE)
_PRN = re.compile(r"\b(prn|as needed)\b", re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*[\n;,]\s*")
_NO_DRUG = NOTHING_RECORDED | {"none", "no medications", "no current medications", "no meds", "nil"}
# The words a medication list writes for a drug's status → R4 MedicationStatement.status.
_STATUS = {
    **dict.fromkeys(("active", "current", "taking"), "active"),
    **dict.fromkeys(("discontinued", "stopped", "inactive", "ceased", "cancelled", "canceled"), "stopped"),
    **dict.fromkeys(("completed", "complete", "finished"), "completed"),
    **dict.fromkeys(("on_hold", "onhold", "held", "paused", "suspended"), "on-hold"),
    **dict.fromkeys(("entered_in_error", "error"), "entered-in-error"),
}
_UCUM_UNITS = {"mcg": "ug", "mg": "mg", "g": "g", "ml": "mL", "unit": "[U]", "units": "[U]", "iu": "[iU]", "%": "%"}


def medications_to_fhir(raw: Mapping[str, Any] | VendorPatient, ctx: TenantContext) -> list[dict[str, Any]]:
    """The patient's medications; UnreadablePayload for the first entry that cannot be read."""
    found, unreadable = medications_read(read_patient(raw), ctx)
    if unreadable:
        raise UnreadablePayload(unreadable[0].field, unreadable[0].problem)
    return found


def medications_read(patient: VendorPatient, ctx: TenantContext) -> Mapped:
    """Every entry that can be read, and those that cannot. An entry is text (documented by
    example) or an object naming the drug (a shape the docs leave open). An answer without
    `latest_medications` says nothing (reported, `vendor.not_returned`)."""
    missing = not_returned(patient, "latest_medications", "MedicationStatement")
    if missing:
        return [], missing
    zone = vendor_timezone(ctx)
    out: list[dict[str, Any]] = []
    unreadable: list[Unreadable] = beyond_first_page(patient, "latest_medications", "MedicationStatement")
    seen: dict[str, int] = {}
    value = patient.latest_medications
    if isinstance(value, str):  # one text instead of a list (a shape the docs leave open)
        listed = listed_text(value.strip())
        value = split_list(value, _SEPARATORS) if listed is None else listed
    try:
        entries = list(items_of(value, "latest_medications"))
    except UnreadablePayload as exc:
        return [], [Unreadable("MedicationStatement", patient.id, None, exc.field, exc.problem)]
    for path, entry in entries:
        try:
            text, status, period, dose = _entry(entry, path, zone)
        except UnreadablePayload as exc:
            unreadable.append(Unreadable("MedicationStatement", patient.id, None, exc.field, exc.problem))
            continue
        if not text or " ".join(text.lower().replace(".", "").split()) in _NO_DRUG:
            continue
        key = text_key(text)
        seen[key] = seen.get(key, 0) + 1
        resource_id = f"{patient.id}.m.{key}" + (f"-{seen[key]}" if seen[key] > 1 else "")
        out.append(_statement(patient, resource_id, (text, dose), status, zone, period))
    return out, unreadable


def _entry(entry: Any, path: str, zone: tzinfo) -> tuple[str, str, dict[str, str], str]:
    """An entry's text, its R4 status (`unknown` unless the entry says it; a stop time without
    an offset is `zone`'s wall clock), its `effectivePeriod` (empty unless the entry dates it) and
    the dose an object states in a field of its own (empty for text)."""
    if entry is None:
        return "", "unknown", {}, ""
    if isinstance(entry, str):
        return entry.strip(), "unknown", {}, ""
    if isinstance(entry, dict):
        try:
            medication = VendorMedication.model_validate(entry)
        except ValidationError as exc:
            raise UnreadablePayload(*first_problem(exc, path)) from None
        if not medication.text:
            raise UnreadablePayload(f"{path}.name", "is missing")
        period = compact({"start": _when(medication.start, zone), "end": _when(medication.end, zone)})
        status = (medication.status or "").strip().lower().replace("-", "_").replace(" ", "_")
        said = "stopped" if not status and medication.stopped(zone) else _STATUS.get(status, "unknown")
        return medication.text, said, period, medication.dose_text
    raise UnreadablePayload(path, "is neither text nor an object")


def _when(value: str | None, zone: tzinfo) -> str | None:
    """A date stays a date (R4 Period takes one; no midnight is invented); a date-time becomes a
    UTC instant, one without an offset read as `zone`'s wall clock."""
    return value if value is not None and len(value) == 10 else zoned_instant(value, zone)


def _statement(
    patient: VendorPatient,
    resource_id: str,
    written: tuple[str, str],
    status: str,
    zone: tzinfo,
    period: dict[str, str],
) -> dict[str, Any]:
    """The statement of an entry `written` as its text and the dose it states apart (empty: none).
    The dose quantity is that dose's, else the first amount the text states: a drug's name may
    state a concentration (`Chlorhexidine gluconate 0.12% oral rinse`) that is no dose (15 mL)."""
    text, dose_text = written
    strength = _STRENGTH.search(dose_text) or _STRENGTH.search(text)
    dosage: dict[str, Any] = {"text": text}
    if _PRN.search(text):
        dosage["asNeededBoolean"] = True
    if strength:
        unit = strength["unit"]
        value = float(strength["value"]) if "." in strength["value"] else int(strength["value"])
        dose = {"value": value, "unit": unit, "system": UCUM, "code": _UCUM_UNITS[unit.lower()]}
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    resource = compact(
        {
            "resourceType": "MedicationStatement",
            "id": resource_id,
            "status": status,
            "medicationCodeableConcept": {"text": text},
            "subject": reference("Patient", patient.id),
            "effectivePeriod": period,
            "dateAsserted": zoned_instant(patient.updated_at, zone),
            "dosage": [dosage],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": zoned_instant(patient.updated_at, zone)})
    return {"resourceType": "MedicationStatement", "id": resource_id, "meta": meta, **resource}
