"""Procedures (47519-4): one Procedure Activity Procedure per FHIR Procedure that was done
(or is being done); procedures not done or entered in error are left out."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import PROCEDURES
from gateway.ccd.context import RenderContext
from gateway.ccd.datatypes import JSON, cd, concept_text, ivl_ts, period_of, template
from gateway.ccd.narrative import Cell, CellValue
from gateway.ccd.nodes import Element, el
from gateway.ccd.sections.base import Row, listed_section

_STATUS = {"completed": "completed", "in-progress": "active", "on-hold": "active", "stopped": "aborted"}


def kept_procedures(procedures: Sequence[JSON]) -> list[JSON]:
    return [p for p in procedures if p.get("status") in _STATUS]


def procedures_section(procedures: Sequence[JSON], ctx: RenderContext) -> Element:
    headers = ["Procedure", "Site", "Status", "Date"]
    kept = kept_procedures(procedures)
    return listed_section(PROCEDURES, headers, kept, "procedure", lambda p, ref: _row(p, ref, ctx))


def _row(procedure: JSON, ref: str, ctx: RenderContext) -> Row:
    start, end = period_of(procedure, "performedPeriod", "performedDateTime")
    cells: list[CellValue] = [
        Cell(concept_text(procedure.get("code")) or "Unspecified procedure", ref),
        ", ".join(concept_text(s) for s in procedure.get("bodySite", [])),
        str(procedure.get("status") or "").replace("-", " ").capitalize(),
        ctx.when(start),
    ]
    activity = el("procedure", {"classCode": "PROC", "moodCode": "EVN"})
    activity.extend(template("2.16.840.1.113883.10.20.22.4.14", "2014-06-09"))
    activity.append(ctx.entry_id("Procedure", procedure.get("id", ref)))
    activity.append(cd(procedure.get("code"), reference=ref))
    activity.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    activity.append(el("statusCode", {"code": _STATUS[str(procedure["status"])]}))
    activity.append(ivl_ts(start, end))
    activity.extend(cd(site, "targetSiteCode") for site in procedure.get("bodySite", []))
    return cells, activity
