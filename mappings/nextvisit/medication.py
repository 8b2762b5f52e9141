"""Nextvisit `latest_medications` → MedicationStatement, one per entry (pure).

Entries are free text like "Sertraline 50mg" or "Lorazepam 0.5mg PRN". The medication stays
text (no code is guessed); a strength the text states becomes the dose, and PRN becomes
`asNeededBoolean`. The list is the latest one charted, not a statement that the patient takes
each drug today, so the status is `unknown` — claiming `active` would be more than Nextvisit
says; `dateAsserted` is when the list last changed.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import compact, content_version, instant, reference, text_key
from mappings.terminology import UCUM

_STRENGTH = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>mcg|mg|g|mL|ml|units?|IU|%)(?![A-Za-z])", re.IGNORECASE)
_PRN = re.compile(r"\b(prn|as needed)\b", re.IGNORECASE)
_UCUM_UNITS = {"mcg": "ug", "mg": "mg", "g": "g", "ml": "mL", "unit": "[U]", "units": "[U]", "iu": "[iU]", "%": "%"}


def medications_to_fhir(patient: dict[str, Any], ctx: TenantContext) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for entry in patient.get("latest_medications") or []:
        text = str(entry).strip()
        if not text:
            continue
        key = text_key(text)
        seen[key] = seen.get(key, 0) + 1
        resource_id = f"{patient['id']}.m.{key}" + (f"-{seen[key]}" if seen[key] > 1 else "")
        out.append(_statement(patient, resource_id, text))
    return out


def _statement(patient: dict[str, Any], resource_id: str, text: str) -> dict[str, Any]:
    strength = _STRENGTH.search(text)
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
            "status": "unknown",
            "medicationCodeableConcept": {"text": text},
            "subject": reference("Patient", str(patient["id"])),
            "dateAsserted": instant(patient.get("updated_at")),
            "dosage": [dosage],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": instant(patient.get("updated_at"))})
    return {"resourceType": "MedicationStatement", "id": resource_id, "meta": meta, **resource}
