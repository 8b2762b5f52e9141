"""Problems (11450-4): one Problem Concern Act per Condition, the problem coded in SNOMED CT
(or ICD-10-CM as given) and always readable from the narrative.

A concern is closed only when the problem is known to be over (inactive, resolved,
remission); one of unknown status stays open. Conditions entered in error or refuted are
not problems and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import ACT_CLASS_OID, LOINC_OID, PROBLEMS, SNOMED_OID
from gateway.ccd.context import RenderContext
from gateway.ccd.datatypes import JSON, cd, coded, concept_text, first_code, period_of, template, ts
from gateway.ccd.narrative import Cell, CellValue
from gateway.ccd.nodes import Element, el
from gateway.ccd.sections.base import Row, listed_section

_OVER = {"inactive", "resolved", "remission"}
_NOT_PROBLEMS = {"entered-in-error", "refuted"}
_CATEGORY = {
    # FHIR condition category -> Problem Type (SNOMED) with its LOINC translation
    "encounter-diagnosis": ("282291009", "Diagnosis", "29308-4", "Diagnosis"),
    "problem-list-item": ("55607006", "Problem", "75326-9", "Problem"),
    "health-concern": ("55607006", "Problem", "75326-9", "Problem"),
}


def kept_conditions(conditions: Sequence[JSON]) -> list[JSON]:
    return [c for c in conditions if first_code(c.get("verificationStatus")) not in _NOT_PROBLEMS]


def problems_section(conditions: Sequence[JSON], ctx: RenderContext) -> Element:
    headers = ["Problem", "Status", "Onset", "Resolved", "Notes"]
    return listed_section(PROBLEMS, headers, kept_conditions(conditions), "problem", lambda c, ref: _row(c, ref, ctx))


def _row(condition: JSON, ref: str, ctx: RenderContext) -> Row:
    onset, _ = period_of(condition, "onsetPeriod", "onsetDateTime")
    abated, _ = period_of(condition, "abatementPeriod", "abatementDateTime")
    cells: list[CellValue] = [
        Cell(concept_text(condition.get("code")) or "Unspecified problem", ref),
        (first_code(condition.get("clinicalStatus")) or "unknown").capitalize(),
        ctx.when(onset) or str(condition.get("onsetString") or ""),
        ctx.when(abated) or str(condition.get("abatementString") or ""),
        "; ".join(note.get("text", "") for note in condition.get("note", [])),
    ]
    return cells, _concern(condition, ref, onset, abated, ctx)


def _concern(condition: JSON, ref: str, onset: str | None, abated: str | None, ctx: RenderContext) -> Element:
    over = first_code(condition.get("clinicalStatus")) in _OVER
    act = el("act", {"classCode": "ACT", "moodCode": "EVN"})
    act.extend(template("2.16.840.1.113883.10.20.22.4.3", "2015-08-01"))
    act.append(ctx.entry_id("Condition", condition.get("id", ref), "concern"))
    act.append(coded("CONC", ACT_CLASS_OID, "Concern"))
    act.append(el("statusCode", {"code": "completed" if over else "active"}))
    concern_time = el("effectiveTime", None, ts(condition.get("recordedDate") or onset, "low"))
    if over:
        concern_time.append(el("high", {"nullFlavor": "UNK"}))
    act.append(concern_time)
    act.append(el("entryRelationship", {"typeCode": "SUBJ"}, _observation(condition, ref, onset, abated, over, ctx)))
    return act


def _observation(
    condition: JSON, ref: str, onset: str | None, abated: str | None, over: bool, ctx: RenderContext
) -> Element:
    category = next(
        (
            c.get("code")
            for cat in condition.get("category", [])
            for c in cat.get("coding", [])
            if c.get("code") in _CATEGORY
        ),
        "problem-list-item",
    )
    snomed, snomed_display, loinc, loinc_display = _CATEGORY[category]
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.4", "2015-08-01"))
    obs.append(ctx.entry_id("Condition", condition.get("id", ref)))
    kind = coded(snomed, SNOMED_OID, snomed_display)
    kind.append(coded(loinc, LOINC_OID, loinc_display, tag="translation"))
    obs.append(kind)
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    # Resolved without a date: it ended at an unknown time, not "still going".
    time = el("effectiveTime", None, ts(onset, "low"))
    if abated or over:
        time.append(ts(abated, "high"))
    obs.append(time)
    obs.append(cd(condition.get("code"), "value", xsi_type="CD", reference=ref, prefer=("http://snomed.info/sct",)))
    return obs
