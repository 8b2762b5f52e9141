"""Medications (10160-0): one Medication Activity per MedicationStatement (EVN: taken) or
MedicationRequest (INT: ordered), its product coded in RxNorm where we have it.

A statement that the medication was not taken is the activity negated; records entered in
error are left out. FHIR's "unknown" and "intended" have no ActStatus: the narrative says
what FHIR says and the statusCode is left unknown rather than invented.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import MEDICATIONS
from gateway.ccd.context import RenderContext
from gateway.ccd.datatypes import JSON, cd, concept_text, ivl_ts, period_of, template
from gateway.ccd.narrative import Cell, CellValue
from gateway.ccd.nodes import Element, el
from gateway.ccd.sections.base import Row, listed_section

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
_STATUS = {
    "active": "active",
    "completed": "completed",
    "stopped": "aborted",
    "on-hold": "suspended",
    "cancelled": "cancelled",
    "draft": "new",
    "not-taken": "completed",  # with negationInd: it is known not to have been taken
}


def kept_medications(medications: Sequence[JSON]) -> list[JSON]:
    return [m for m in medications if m.get("status") != "entered-in-error"]


def medications_section(medications: Sequence[JSON], ctx: RenderContext) -> Element:
    headers = ["Medication", "Directions", "Status", "Start", "End"]
    kept = kept_medications(medications)
    return listed_section(MEDICATIONS, headers, kept, "medication", lambda m, ref: _row(m, ref, ctx))


def _row(medication: JSON, ref: str, ctx: RenderContext) -> Row:
    start, end = _period(medication)
    directions = "; ".join(d["text"] for d in _dosages(medication) if d.get("text"))
    cells: list[CellValue] = [
        Cell(_product_text(medication) or "Unspecified medication", ref),
        Cell(directions or "No directions recorded", f"{ref}-sig"),
        _status_text(medication),
        ctx.when(start),
        ctx.when(end),
    ]
    return cells, _activity(medication, ref, start, end, ctx)


def _period(medication: JSON) -> tuple[str | None, str | None]:
    if medication.get("resourceType") == "MedicationRequest":
        bounds = ((medication.get("dispenseRequest") or {}).get("validityPeriod")) or {}
        return bounds.get("start") or medication.get("authoredOn"), bounds.get("end")
    return period_of(medication, "effectivePeriod", "effectiveDateTime")


def _dosages(medication: JSON) -> list[JSON]:
    return list(medication.get("dosage", medication.get("dosageInstruction", [])))


def _status_text(medication: JSON) -> str:
    status = str(medication.get("status") or "").replace("-", " ").capitalize()
    if medication.get("resourceType") == "MedicationRequest":
        return f"{status} ({medication.get('intent') or 'order'})"
    return status


def _product_text(medication: JSON) -> str:
    concept = medication.get("medicationCodeableConcept")
    if concept:
        return concept_text(concept)
    return str((medication.get("medicationReference") or {}).get("display") or "")


def _activity(medication: JSON, ref: str, start: str | None, end: str | None, ctx: RenderContext) -> Element:
    mood = "INT" if medication.get("resourceType") == "MedicationRequest" else "EVN"
    negated = medication.get("status") == "not-taken"
    activity = el(
        "substanceAdministration", {"classCode": "SBADM", "moodCode": mood, "negationInd": "true" if negated else None}
    )
    activity.extend(template("2.16.840.1.113883.10.20.22.4.16", "2014-06-09"))
    activity.append(ctx.entry_id(str(medication.get("resourceType")), medication.get("id", ref)))
    activity.append(el("text", None, el("reference", {"value": f"#{ref}-sig"})))
    status = _STATUS.get(str(medication.get("status")))
    activity.append(el("statusCode", {"code": status} if status else {"nullFlavor": "UNK"}))
    period = ivl_ts(start, end)
    period.set("xsi:type", "IVL_TS")
    activity.append(period)
    activity.append(_dose(medication))
    product = el("manufacturedProduct", {"classCode": "MANU"})
    product.extend(template("2.16.840.1.113883.10.20.22.4.23", "2014-06-09"))
    concept = medication.get("medicationCodeableConcept") or {"text": _product_text(medication)}
    product.append(el("manufacturedMaterial", None, cd(concept, reference=ref, prefer=(RXNORM,))))
    activity.append(el("consumable", None, product))
    return activity


def _dose(medication: JSON) -> Element:
    """The dose per administration when the vendor gave it as a UCUM quantity; else unknown
    (the directions' text is in the narrative)."""
    for dosage in _dosages(medication):
        for rate in dosage.get("doseAndRate", []):
            quantity = rate.get("doseQuantity") or {}
            if quantity.get("value") is not None and quantity.get("system") == UCUM and quantity.get("code"):
                return el("doseQuantity", {"value": str(quantity["value"]), "unit": quantity["code"]})
    return el("doseQuantity", {"nullFlavor": "UNK"})
