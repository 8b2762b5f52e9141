"""Problems (11450-4): one Problem Concern Act per Condition, the problem coded in SNOMED CT
(or ICD-10-CM as given) and always readable from the narrative."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import ACT_CLASS_OID, LOINC_OID, PROBLEMS, SNOMED_OID
from gateway.ccd.datatypes import JSON, Element, cd, coded, concept_text, el, ivl_ts, period_of, stable_ii, template, ts
from gateway.ccd.narrative import Cell, CellValue, table
from gateway.ccd.sections.base import entry, section

_ACTIVE = {"active", "recurrence", "relapse"}
_CATEGORY = {
    # FHIR condition category -> Problem Type (SNOMED) with its LOINC translation
    "encounter-diagnosis": ("282291009", "Diagnosis", "29308-4", "Diagnosis"),
    "problem-list-item": ("55607006", "Problem", "75326-9", "Problem"),
    "health-concern": ("55607006", "Problem", "75326-9", "Problem"),
}


def problems_section(conditions: Sequence[JSON]) -> Element:
    if not conditions:
        return section(PROBLEMS, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, condition in enumerate(conditions, 1):
        ref = f"problem-{n}"
        onset, _ = period_of(condition, "onsetPeriod", "onsetDateTime")
        abated, _ = period_of(condition, "abatementPeriod", "abatementDateTime")
        rows.append(
            [
                Cell(concept_text(condition.get("code")) or "Unspecified problem", ref),
                _status(condition).capitalize(),
                onset or str(condition.get("onsetString") or ""),
                abated or "",
                "; ".join(note.get("text", "") for note in condition.get("note", [])),
            ]
        )
        entries.append(entry(_concern(condition, ref, onset, abated)))
    return section(PROBLEMS, table(["Problem", "Status", "Onset", "Resolved", "Notes"], rows), entries)


def _status(condition: JSON) -> str:
    codes = [c.get("code") for c in (condition.get("clinicalStatus") or {}).get("coding", [])]
    return str(codes[0]) if codes and codes[0] else "unknown"


def _concern(condition: JSON, ref: str, onset: str | None, abated: str | None) -> Element:
    active = _status(condition) in _ACTIVE
    act = el("act", {"classCode": "ACT", "moodCode": "EVN"})
    act.extend(template("2.16.840.1.113883.10.20.22.4.3", "2015-08-01"))
    act.append(stable_ii("Condition", condition.get("id", ref), "concern"))
    act.append(coded("CONC", ACT_CLASS_OID, "Concern"))
    act.append(el("statusCode", {"code": "active" if active else "completed"}))
    concern_time = el("effectiveTime", None, ts(condition.get("recordedDate") or onset, "low"))
    if not active:
        concern_time.append(el("high", {"nullFlavor": "UNK"}))
    act.append(concern_time)
    act.append(el("entryRelationship", {"typeCode": "SUBJ"}, _observation(condition, ref, onset, abated)))
    return act


def _observation(condition: JSON, ref: str, onset: str | None, abated: str | None) -> Element:
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
    obs.append(stable_ii("Condition", condition.get("id", ref)))
    kind = coded(snomed, SNOMED_OID, snomed_display)
    kind.append(coded(loinc, LOINC_OID, loinc_display, tag="translation"))
    obs.append(kind)
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    obs.append(ivl_ts(onset, abated))
    obs.append(cd(condition.get("code"), "value", xsi_type="CD", reference=ref, prefer=("http://snomed.info/sct",)))
    return obs
