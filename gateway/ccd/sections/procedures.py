"""Procedures (47519-4): one Procedure Activity Procedure per FHIR Procedure."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import PROCEDURES
from gateway.ccd.datatypes import JSON, Element, cd, concept_text, el, ivl_ts, period_of, stable_ii, template
from gateway.ccd.narrative import Cell, CellValue, table
from gateway.ccd.sections.base import entry, section

_STATUS = {
    "completed": "completed",
    "in-progress": "active",
    "stopped": "aborted",
    "not-done": "cancelled",
    "on-hold": "active",
    "preparation": "active",
}


def procedures_section(procedures: Sequence[JSON]) -> Element:
    if not procedures:
        return section(PROCEDURES, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, procedure in enumerate(procedures, 1):
        ref = f"procedure-{n}"
        start, end = period_of(procedure, "performedPeriod", "performedDateTime")
        rows.append(
            [
                Cell(concept_text(procedure.get("code")) or "Unspecified procedure", ref),
                str(procedure.get("status") or "").capitalize(),
                start or "",
            ]
        )
        activity = el("procedure", {"classCode": "PROC", "moodCode": "EVN"})
        activity.extend(template("2.16.840.1.113883.10.20.22.4.14", "2014-06-09"))
        activity.append(stable_ii("Procedure", procedure.get("id", ref)))
        activity.append(cd(procedure.get("code"), reference=ref))
        activity.append(el("text", None, el("reference", {"value": f"#{ref}"})))
        activity.append(el("statusCode", {"code": _STATUS.get(str(procedure.get("status")), "completed")}))
        activity.append(ivl_ts(start, end))
        entries.append(entry(activity))
    return section(PROCEDURES, table(["Procedure", "Status", "Date"], rows), entries)
