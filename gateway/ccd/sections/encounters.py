"""Encounters (46240-8) and Plan of Treatment (18776-5), from Encounter resources.

Encounters lists visits that took place or are taking place, as Encounter Activities with
their reason as an Indication. A planned visit has not happened: it is a Planned Encounter
(moodCode INT) in the Plan of Treatment. Cancelled visits and records entered in error
describe no care and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import ENCOUNTERS, PLAN_OF_TREATMENT, SNOMED_OID
from gateway.ccd.context import RenderContext
from gateway.ccd.datatypes import JSON, cd, coded, concept_text, ivl_ts, template
from gateway.ccd.narrative import Cell, CellValue
from gateway.ccd.nodes import Element, el
from gateway.ccd.sections.base import Row, listed_section

CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"
HAPPENED = frozenset({"finished", "in-progress", "arrived", "triaged", "onleave", "unknown"})
UNDER_WAY = frozenset({"arrived", "triaged", "in-progress", "onleave"})  # still going on: its record may change
PLANNED = frozenset({"planned"})


def took_place(encounters: Sequence[JSON]) -> list[JSON]:
    return [e for e in encounters if e.get("status") in HAPPENED]


def planned(encounters: Sequence[JSON]) -> list[JSON]:
    return [e for e in encounters if e.get("status") in PLANNED]


def encounters_section(encounters: Sequence[JSON], ctx: RenderContext) -> Element:
    headers = ["Encounter", "Status", "Start", "End", "Performer", "Location", "Reason"]
    kept = took_place(encounters)
    return listed_section(ENCOUNTERS, headers, kept, "encounter", lambda e, ref: _visit_row(e, ref, ctx))


def _visit_row(encounter: JSON, ref: str, ctx: RenderContext) -> Row:
    period = encounter.get("period") or {}
    reasons = [(r, f"{ref}-reason-{i}") for i, r in enumerate(encounter.get("reasonCode", []), 1)]
    cells: list[CellValue] = [
        Cell(_type_text(encounter), ref),
        str(encounter.get("status") or "").replace("-", " ").capitalize(),
        ctx.when(period.get("start")),
        ctx.when(period.get("end")),
        _performers(encounter),
        _locations(encounter),
        [Cell(concept_text(r), rref) for r, rref in reasons],
    ]
    return cells, _activity(encounter, ref, reasons, ctx)


def plan_of_treatment_section(encounters: Sequence[JSON], ctx: RenderContext) -> Element:
    headers = ["Planned", "Kind", "When", "Performer", "Location"]
    kept = planned(encounters)
    return listed_section(PLAN_OF_TREATMENT, headers, kept, "planned-encounter", lambda e, ref: _plan_row(e, ref, ctx))


def _plan_row(encounter: JSON, ref: str, ctx: RenderContext) -> Row:
    period = encounter.get("period") or {}
    cells: list[CellValue] = [
        Cell(_type_text(encounter), ref),
        "Planned visit",
        ctx.when(period.get("start")),
        _performers(encounter),
        _locations(encounter),
    ]
    visit = el("encounter", {"classCode": "ENC", "moodCode": "INT"})
    visit.extend(template("2.16.840.1.113883.10.20.22.4.40", "2014-06-09"))
    visit.append(ctx.entry_id("Encounter", encounter.get("id", ref)))
    visit.append(cd(_concept(encounter), reference=ref, prefer=(CPT, SNOMED)))
    visit.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    visit.append(el("statusCode", {"code": "active"}))
    visit.append(ivl_ts(period.get("start"), period.get("end")))
    return cells, visit


def _performers(encounter: JSON) -> str:
    return ", ".join(p.get("individual", {}).get("display", "") for p in encounter.get("participant", []))


def _locations(encounter: JSON) -> str:
    return ", ".join(loc.get("location", {}).get("display", "") for loc in encounter.get("location", []))


def _type_text(encounter: JSON) -> str:
    types = [concept_text(t) for t in encounter.get("type", [])]
    klass = (encounter.get("class") or {}).get("display") or (encounter.get("class") or {}).get("code") or ""
    return ", ".join(t for t in types if t) or str(klass) or "Encounter"


def _concept(encounter: JSON) -> JSON:
    first: JSON | None = (encounter.get("type") or [None])[0]
    return first or {"text": _type_text(encounter)}


def _activity(encounter: JSON, ref: str, reasons: list[tuple[JSON, str]], ctx: RenderContext) -> Element:
    period = encounter.get("period") or {}
    activity = el("encounter", {"classCode": "ENC", "moodCode": "EVN"})
    activity.extend(template("2.16.840.1.113883.10.20.22.4.49", "2015-08-01"))
    activity.append(ctx.entry_id("Encounter", encounter.get("id", ref)))
    activity.append(cd(_concept(encounter), reference=ref, prefer=(CPT, SNOMED)))
    activity.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    activity.append(ivl_ts(period.get("start"), period.get("end")))
    for reason, rref in reasons:
        indication = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
        indication.extend(template("2.16.840.1.113883.10.20.22.4.19", "2014-06-09"))
        indication.append(ctx.entry_id("Encounter", encounter.get("id", ref), rref))
        indication.append(coded("404684003", SNOMED_OID, "Clinical finding (finding)"))
        indication.append(el("text", None, el("reference", {"value": f"#{rref}"})))
        indication.append(el("statusCode", {"code": "completed"}))
        indication.append(cd(reason, "value", xsi_type="CD", reference=rref, prefer=(SNOMED,)))
        activity.append(el("entryRelationship", {"typeCode": "RSON"}, indication))
    return activity
