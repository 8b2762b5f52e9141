"""Dental PMS medication records → MedicationStatement (pure; base R4, no US Core profile)."""

from __future__ import annotations

from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, fhir_date, instant, meta, reference
from mappings.ids import child_id
from mappings.terminology import MEDICATION_STATUS, RXNORM

_AS_NEEDED = ("prn", "as needed", "as-needed")


def medication_to_fhir(m: dict[str, Any], patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    name = ((m.get("medication_definition") or {}).get("name") or m.get("med_descript") or "").strip()
    concept: dict[str, Any] = {"text": name or "Unspecified medication"}
    if m.get("rx_cui"):
        concept["coding"] = [coding(RXNORM, str(m["rx_cui"]), name or None)]
    period = compact({"start": fhir_date(m.get("date_start")), "end": fhir_date(m.get("date_stop"))})
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": child_id(patient_id, m["id"]),
        "meta": meta(None, m.get("version"), m.get("updated_at")),
        # A status the vendor did not give stays `unknown`: claiming `active` would be a guess.
        "status": MEDICATION_STATUS.get(m.get("status") or "", "unknown"),
        "statusReason": [{"text": m["discontinuation_reason"]}] if m.get("discontinuation_reason") else [],
        "medicationCodeableConcept": concept,
        "subject": reference("Patient", patient_id),
        "effectivePeriod": period,
        "dateAsserted": instant(m.get("created_at")),
        "dosage": _dosage(m),
        "note": [{"text": m["patient_note"]}] if m.get("patient_note") else [],
    }
    return compact(resource)


def _dosage(m: dict[str, Any]) -> list[dict[str, Any]]:
    strength, frequency, route = (m.get(k) or "" for k in ("dosage", "frequency", "route"))
    text = " ".join(part for part in (strength, route, frequency) if part)
    if not text:
        return []
    as_needed = any(flag in frequency.lower() for flag in _AS_NEEDED)
    dosage = {
        "text": text,
        "asNeededBoolean": True if as_needed else None,
        "route": {"text": route} if route else None,
        "timing": {"code": {"text": frequency}} if frequency else None,
    }
    return [compact(dosage)]
