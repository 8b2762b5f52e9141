"""Encounters (46240-8): one Encounter Activity per Encounter, with its reason as an
Indication where the encounter gives one."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import ENCOUNTERS, SNOMED_OID
from gateway.ccd.datatypes import JSON, Element, cd, coded, concept_text, el, ivl_ts, stable_ii, template
from gateway.ccd.narrative import Cell, CellValue, table
from gateway.ccd.sections.base import entry, section

CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"


def encounters_section(encounters: Sequence[JSON]) -> Element:
    if not encounters:
        return section(ENCOUNTERS, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, encounter in enumerate(encounters, 1):
        ref = f"encounter-{n}"
        period = encounter.get("period") or {}
        reasons = [(r, f"{ref}-reason-{i}") for i, r in enumerate(encounter.get("reasonCode", []), 1)]
        rows.append(
            [
                Cell(_type_text(encounter), ref),
                str(encounter.get("status") or "").capitalize(),
                period.get("start") or "",
                period.get("end") or "",
                ", ".join(p.get("individual", {}).get("display", "") for p in encounter.get("participant", [])),
                ", ".join(loc.get("location", {}).get("display", "") for loc in encounter.get("location", [])),
                [Cell(concept_text(r), rref) for r, rref in reasons],
            ]
        )
        entries.append(entry(_activity(encounter, ref, reasons)))
    headers = ["Encounter", "Status", "Start", "End", "Performer", "Location", "Reason"]
    return section(ENCOUNTERS, table(headers, rows), entries)


def _type_text(encounter: JSON) -> str:
    types = [concept_text(t) for t in encounter.get("type", [])]
    klass = (encounter.get("class") or {}).get("display") or (encounter.get("class") or {}).get("code") or ""
    return ", ".join(t for t in types if t) or str(klass) or "Encounter"


def _activity(encounter: JSON, ref: str, reasons: list[tuple[JSON, str]]) -> Element:
    period = encounter.get("period") or {}
    activity = el("encounter", {"classCode": "ENC", "moodCode": "EVN"})
    activity.extend(template("2.16.840.1.113883.10.20.22.4.49", "2015-08-01"))
    activity.append(stable_ii("Encounter", encounter.get("id", ref)))
    concept = (encounter.get("type") or [None])[0] or {"text": _type_text(encounter)}
    activity.append(cd(concept, reference=ref, prefer=(CPT, SNOMED)))
    activity.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    activity.append(ivl_ts(period.get("start"), period.get("end")))
    for reason, rref in reasons:
        indication = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
        indication.extend(template("2.16.840.1.113883.10.20.22.4.19", "2014-06-09"))
        indication.append(stable_ii("Encounter", encounter.get("id", ref), "reason", rref))
        indication.append(coded("404684003", SNOMED_OID, "Clinical finding (finding)"))
        indication.append(el("text", None, el("reference", {"value": f"#{rref}"})))
        indication.append(el("statusCode", {"code": "completed"}))
        indication.append(cd(reason, "value", xsi_type="CD", reference=rref, prefer=(SNOMED,)))
        activity.append(el("entryRelationship", {"typeCode": "RSON"}, indication))
    return activity
