"""Medications (10160-0): one Medication Activity per MedicationStatement (EVN: taken) or
MedicationRequest (INT: ordered), its product coded in RxNorm where we have it."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import MEDICATIONS
from gateway.ccd.datatypes import JSON, Element, cd, concept_text, el, ivl_ts, period_of, stable_ii, template
from gateway.ccd.narrative import Cell, CellValue, table
from gateway.ccd.sections.base import entry, section

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# FHIR medication status -> ActStatus. "unknown" and "intended" have no ActStatus: the
# narrative says what FHIR says, and the statusCode is left unknown rather than invented.
_STATUS = {
    "active": "active",
    "completed": "completed",
    "stopped": "aborted",
    "on-hold": "suspended",
    "cancelled": "cancelled",
    "entered-in-error": "nullified",
    "not-taken": "cancelled",
    "draft": "new",
}


def medications_section(medications: Sequence[JSON]) -> Element:
    if not medications:
        return section(MEDICATIONS, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, medication in enumerate(medications, 1):
        ref = f"medication-{n}"
        start, end = period_of(medication, "effectivePeriod", "effectiveDateTime", "authoredOn")
        rows.append(
            [
                Cell(_product_text(medication) or "Unspecified medication", ref),
                Cell(
                    "; ".join(
                        d.get("text", "")
                        for d in medication.get("dosage", medication.get("dosageInstruction", []))
                        if d.get("text")
                    ),
                    f"{ref}-sig",
                ),
                str(medication.get("status") or "").capitalize(),
                start or "",
                end or "",
            ]
        )
        entries.append(entry(_activity(medication, ref, start, end)))
    return section(MEDICATIONS, table(["Medication", "Directions", "Status", "Start", "End"], rows), entries)


def _product_text(medication: JSON) -> str:
    concept = medication.get("medicationCodeableConcept")
    if concept:
        return concept_text(concept)
    return str((medication.get("medicationReference") or {}).get("display") or "")


def _activity(medication: JSON, ref: str, start: str | None, end: str | None) -> Element:
    mood = "INT" if medication.get("resourceType") == "MedicationRequest" else "EVN"
    activity = el("substanceAdministration", {"classCode": "SBADM", "moodCode": mood})
    activity.extend(template("2.16.840.1.113883.10.20.22.4.16", "2014-06-09"))
    activity.append(stable_ii(str(medication.get("resourceType")), medication.get("id", ref)))
    activity.append(el("text", None, el("reference", {"value": f"#{ref}-sig"})))
    status = _STATUS.get(str(medication.get("status")))
    activity.append(el("statusCode", {"code": status} if status else {"nullFlavor": "UNK"}))
    activity.append(_with_type(ivl_ts(start, end), "IVL_TS"))
    activity.append(_dose(medication))
    product = el("manufacturedProduct", {"classCode": "MANU"})
    product.extend(template("2.16.840.1.113883.10.20.22.4.23", "2014-06-09"))
    concept = medication.get("medicationCodeableConcept") or {"text": _product_text(medication)}
    product.append(el("manufacturedMaterial", None, cd(concept, reference=ref, prefer=(RXNORM,))))
    activity.append(el("consumable", None, product))
    return activity


def _dose(medication: JSON) -> Element:
    """The dose per administration when the vendor gave it as a quantity; else unknown (the
    directions' text is in the narrative)."""
    for dosage in medication.get("dosage", medication.get("dosageInstruction", [])):
        for rate in dosage.get("doseAndRate", []):
            quantity = rate.get("doseQuantity")
            if quantity and quantity.get("value") is not None:
                unit = quantity.get("code") if quantity.get("system") == "http://unitsofmeasure.org" else None
                return el("doseQuantity", {"value": str(quantity["value"]), "unit": unit})
    return el("doseQuantity", {"nullFlavor": "UNK"})


def _with_type(node: Element, xsi_type: str) -> Element:
    node.set("{http://www.w3.org/2001/XMLSchema-instance}type", xsi_type)
    return node
