"""Allergies and Intolerances (48765-2): one Allergy Concern Act per AllergyIntolerance.

"No known allergy" records (the SNOMED situations our mappers emit) become the C-CDA
negated Allergy - Intolerance Observation, not an allergy to a substance called "NKA".
Records entered in error or refuted are not allergies and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import ACT_CLASS_OID, ACT_CODE_OID, ALLERGIES, SNOMED_OID
from gateway.ccd.context import RenderContext
from gateway.ccd.datatypes import JSON, cd, coded, concept_text, first_code, period_of, template, ts
from gateway.ccd.narrative import Cell, CellValue
from gateway.ccd.nodes import Element, el
from gateway.ccd.sections.base import Row, listed_section

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# No-known-allergy situations -> the propensity the negated observation denies.
_NONE_KNOWN = {
    "716186003": ("419199007", "Allergy to substance (disorder)"),
    "409137002": ("416098002", "Allergy to drug (disorder)"),
    "429625007": ("414285001", "Allergy to food (disorder)"),
    "428607008": ("426232007", "Environmental allergy (disorder)"),
}
# (type, category) -> propensity; a record without a type says neither allergy nor intolerance.
_PROPENSITY = {
    ("allergy", "medication"): ("416098002", "Allergy to drug (disorder)"),
    ("intolerance", "medication"): ("59037007", "Drug intolerance (disorder)"),
    ("allergy", "food"): ("414285001", "Allergy to food (disorder)"),
    ("intolerance", "food"): ("235719002", "Food intolerance (disorder)"),
    ("allergy", "environment"): ("426232007", "Environmental allergy (disorder)"),
    ("allergy", ""): ("419199007", "Allergy to substance (disorder)"),
    ("intolerance", ""): ("418038007", "Propensity to adverse reactions to substance (disorder)"),
}
_UNSPECIFIED = ("420134006", "Propensity to adverse reactions (disorder)")
_SEVERITY = {
    "mild": ("255604002", "Mild (qualifier value)"),
    "moderate": ("6736007", "Moderate (severity modifier) (qualifier value)"),
    "severe": ("24484000", "Severe (severity modifier) (qualifier value)"),
}
_NOT_ALLERGIES = {"entered-in-error", "refuted"}


def kept_allergies(allergies: Sequence[JSON]) -> list[JSON]:
    return [a for a in allergies if first_code(a.get("verificationStatus")) not in _NOT_ALLERGIES]


def allergies_section(allergies: Sequence[JSON], ctx: RenderContext) -> Element:
    headers = ["Substance", "Type", "Reaction", "Severity", "Status", "Onset"]
    return listed_section(ALLERGIES, headers, kept_allergies(allergies), "allergy", lambda a, ref: _row(a, ref, ctx))


def _row(allergy: JSON, ref: str, ctx: RenderContext) -> Row:
    manifestations = [
        (m, f"{ref}-reaction-{i}-{j}", reaction)
        for i, reaction in enumerate(allergy.get("reaction", []), 1)
        for j, m in enumerate(reaction.get("manifestation", []), 1)
    ]
    severities = sorted({r["severity"] for r in allergy.get("reaction", []) if r.get("severity")})
    onset, _ = period_of(allergy, "onsetPeriod", "onsetDateTime")
    cells: list[CellValue] = [
        Cell(concept_text(allergy.get("code")) or "Unspecified substance", ref),
        _kind_text(allergy),
        [Cell(concept_text(m) or "Unspecified reaction", mref) for m, mref, _ in manifestations],
        ", ".join(severities),
        _status(allergy).capitalize(),
        ctx.when(onset) or str(allergy.get("onsetString") or ""),
    ]
    return cells, _concern(allergy, ref, manifestations, ctx)


def _status(allergy: JSON) -> str:
    return first_code(allergy.get("clinicalStatus")) or "unknown"


def _kind_text(allergy: JSON) -> str:
    parts = [*allergy.get("category", []), allergy.get("type") or ""]
    return " ".join(p for p in parts if p).capitalize()


def _none_known(allergy: JSON) -> tuple[str, str] | None:
    for coding in (allergy.get("code") or {}).get("coding", []):
        if coding.get("system") == SNOMED and coding.get("code") in _NONE_KNOWN:
            return _NONE_KNOWN[coding["code"]]
    return None


def _concern(allergy: JSON, ref: str, manifestations: list[tuple[JSON, str, JSON]], ctx: RenderContext) -> Element:
    # A concern is closed only when the allergy is known to be over; "unknown" stays open.
    closed = _status(allergy) in ("inactive", "resolved")
    onset, _ = period_of(allergy, "onsetPeriod", "onsetDateTime")
    act = el("act", {"classCode": "ACT", "moodCode": "EVN"})
    act.extend(template("2.16.840.1.113883.10.20.22.4.30", "2015-08-01"))
    act.append(ctx.entry_id("AllergyIntolerance", allergy.get("id", ref), "concern"))
    act.append(coded("CONC", ACT_CLASS_OID, "Concern"))
    act.append(el("statusCode", {"code": "completed" if closed else "active"}))
    concern_time = el("effectiveTime", None, ts(allergy.get("recordedDate") or onset, "low"))
    if closed:
        concern_time.append(el("high", {"nullFlavor": "UNK"}))
    act.append(concern_time)
    act.append(el("entryRelationship", {"typeCode": "SUBJ"}, _observation(allergy, ref, manifestations, closed, ctx)))
    return act


def _observation(
    allergy: JSON, ref: str, manifestations: list[tuple[JSON, str, JSON]], closed: bool, ctx: RenderContext
) -> Element:
    none_known = _none_known(allergy)
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN", "negationInd": "true" if none_known else None})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.7", "2014-06-09"))
    obs.append(ctx.entry_id("AllergyIntolerance", allergy.get("id", ref)))
    obs.append(coded("ASSERTION", ACT_CODE_OID))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    # When the allergy began; FHIR records no end, so a resolved one ends at an unknown time.
    onset, _ = period_of(allergy, "onsetPeriod", "onsetDateTime")
    time = el("effectiveTime", None, ts(onset, "low"))
    if closed:
        time.append(el("high", {"nullFlavor": "UNK"}))
    obs.append(time)
    if none_known:
        obs.append(coded(none_known[0], SNOMED_OID, none_known[1], tag="value", xsi_type="CD"))
        substance = el("code", {"nullFlavor": "NA"})
    else:
        kind = allergy.get("type")
        category = (allergy.get("category") or [""])[0]
        propensity = (
            (_PROPENSITY.get((kind, category)) or _PROPENSITY[(kind, "")])
            if kind in ("allergy", "intolerance")
            else _UNSPECIFIED
        )
        obs.append(coded(propensity[0], SNOMED_OID, propensity[1], tag="value", xsi_type="CD"))
        substance = cd(allergy.get("code"), reference=ref, prefer=(RXNORM, SNOMED))
    obs.append(
        el(
            "participant",
            {"typeCode": "CSM"},
            el("participantRole", {"classCode": "MANU"}, el("playingEntity", {"classCode": "MMAT"}, substance)),
        )
    )
    for manifestation, mref, reaction in manifestations:
        observed = _reaction(allergy, manifestation, mref, reaction, ctx)
        obs.append(el("entryRelationship", {"typeCode": "MFST", "inversionInd": "true"}, observed))
    return obs


def _reaction(allergy: JSON, manifestation: JSON, ref: str, reaction: JSON, ctx: RenderContext) -> Element:
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.9", "2014-06-09"))
    obs.append(ctx.entry_id("AllergyIntolerance", allergy.get("id", ""), ref))
    obs.append(coded("ASSERTION", ACT_CODE_OID))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    if reaction.get("onset"):
        obs.append(el("effectiveTime", None, ts(reaction["onset"], "low")))
    obs.append(cd(manifestation, "value", xsi_type="CD", reference=ref, prefer=(SNOMED,)))
    severity = _SEVERITY.get(reaction.get("severity") or "")
    if severity:
        sev = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
        sev.extend(template("2.16.840.1.113883.10.20.22.4.8", "2014-06-09"))
        sev.append(coded("SEV", ACT_CODE_OID, "Severity Observation"))
        sev.append(el("text", None, el("reference", {"value": f"#{ref}"})))
        sev.append(el("statusCode", {"code": "completed"}))
        sev.append(coded(severity[0], SNOMED_OID, severity[1], tag="value", xsi_type="CD"))
        obs.append(el("entryRelationship", {"typeCode": "SUBJ", "inversionInd": "true"}, sev))
    return obs
