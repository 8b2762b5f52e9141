"""Allergies and Intolerances (48765-2): one Allergy Concern Act per AllergyIntolerance.

"No known allergy" records (the SNOMED situations our mappers emit) become the C-CDA
negated Allergy - Intolerance Observation, not an allergy to a substance called "NKA".
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import ACT_CLASS_OID, ACT_CODE_OID, ALLERGIES, SNOMED_OID
from gateway.ccd.datatypes import (
    JSON,
    Element,
    cd,
    coded,
    concept_text,
    el,
    ivl_ts,
    period_of,
    stable_ii,
    template,
    ts,
)
from gateway.ccd.narrative import Cell, CellValue, table
from gateway.ccd.sections.base import entry, section

SNOMED = "http://snomed.info/sct"
# No-known-allergy situations -> the propensity the negated observation denies.
_NONE_KNOWN = {
    "716186003": ("419199007", "Allergy to substance (disorder)"),
    "409137002": ("416098002", "Allergy to drug (disorder)"),
    "429625007": ("414285001", "Allergy to food (disorder)"),
    "428607008": ("426232007", "Environmental allergy (disorder)"),
}
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


def allergies_section(allergies: Sequence[JSON]) -> Element:
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, allergy in enumerate(allergies, 1):
        ref = f"allergy-{n}"
        reactions = allergy.get("reaction", [])
        manifestations = [
            (m, f"{ref}-reaction-{i}-{j}")
            for i, reaction in enumerate(reactions, 1)
            for j, m in enumerate(reaction.get("manifestation", []), 1)
        ]
        severities = sorted({r["severity"] for r in reactions if r.get("severity")})
        rows.append(
            [
                Cell(concept_text(allergy.get("code")) or "Unspecified substance", ref),
                _kind_text(allergy),
                [Cell(concept_text(m) or "Unspecified reaction", mref) for m, mref in manifestations],
                ", ".join(severities),
                _status(allergy).capitalize(),
                _onset_text(allergy),
            ]
        )
        entries.append(entry(_concern(allergy, ref, manifestations)))
    if not allergies:
        return section(ALLERGIES, None, [])
    return section(ALLERGIES, table(["Substance", "Type", "Reaction", "Severity", "Status", "Onset"], rows), entries)


def _status(allergy: JSON) -> str:
    codes = [c.get("code") for c in (allergy.get("clinicalStatus") or {}).get("coding", [])]
    return str(codes[0]) if codes and codes[0] else "active"


def _kind_text(allergy: JSON) -> str:
    parts = [*allergy.get("category", []), allergy.get("type") or ""]
    return " ".join(p for p in parts if p).capitalize()


def _onset_text(allergy: JSON) -> str:
    start, _ = period_of(allergy, "onsetPeriod", "onsetDateTime")
    return start or str(allergy.get("onsetString") or "")


def _none_known(allergy: JSON) -> tuple[str, str] | None:
    for coding in (allergy.get("code") or {}).get("coding", []):
        if coding.get("system") == SNOMED and coding.get("code") in _NONE_KNOWN:
            return _NONE_KNOWN[coding["code"]]
    return None


def _concern(allergy: JSON, ref: str, manifestations: list[tuple[JSON, str]]) -> Element:
    active = _status(allergy) == "active"
    start, end = period_of(allergy, "onsetPeriod", "onsetDateTime")
    act = el("act", {"classCode": "ACT", "moodCode": "EVN"})
    act.extend(template("2.16.840.1.113883.10.20.22.4.30", "2015-08-01"))
    act.append(stable_ii("AllergyIntolerance", allergy.get("id", ref), "concern"))
    act.append(coded("CONC", ACT_CLASS_OID, "Concern"))
    act.append(el("statusCode", {"code": "active" if active else "completed"}))
    concern_time = el("effectiveTime", None, ts(allergy.get("recordedDate") or start, "low"))
    if not active:
        concern_time.append(el("high", {"nullFlavor": "UNK"}))
    act.append(concern_time)
    act.append(el("entryRelationship", {"typeCode": "SUBJ"}, _observation(allergy, ref, manifestations, start, end)))
    return act


def _observation(
    allergy: JSON, ref: str, manifestations: list[tuple[JSON, str]], start: str | None, end: str | None
) -> Element:
    none_known = _none_known(allergy)
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN", "negationInd": "true" if none_known else None})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.7", "2014-06-09"))
    obs.append(stable_ii("AllergyIntolerance", allergy.get("id", ref)))
    obs.append(coded("ASSERTION", ACT_CODE_OID))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    obs.append(ivl_ts(start, end))
    if none_known:
        obs.append(coded(*none_known[:1], SNOMED_OID, none_known[1], tag="value", xsi_type="CD"))
        substance = el("code", {"nullFlavor": "NA"})
    else:
        category = (allergy.get("category") or [""])[0]
        kind = (
            _PROPENSITY.get((allergy.get("type") or "allergy", category))
            or _PROPENSITY.get((allergy.get("type") or "allergy", ""))
            or _UNSPECIFIED
        )
        obs.append(coded(kind[0], SNOMED_OID, kind[1], tag="value", xsi_type="CD"))
        substance = cd(allergy.get("code"), reference=ref, prefer=("http://www.nlm.nih.gov/research/umls/rxnorm",))
    obs.append(
        el(
            "participant",
            {"typeCode": "CSM"},
            el("participantRole", {"classCode": "MANU"}, el("playingEntity", {"classCode": "MMAT"}, substance)),
        )
    )
    for manifestation, mref in manifestations:
        reaction = _reaction_of(allergy, manifestation)
        obs.append(
            el(
                "entryRelationship",
                {"typeCode": "MFST", "inversionInd": "true"},
                _reaction(manifestation, mref, reaction),
            )
        )
    return obs


def _reaction_of(allergy: JSON, manifestation: JSON) -> JSON:
    return next(r for r in allergy.get("reaction", []) if any(m is manifestation for m in r.get("manifestation", [])))


def _reaction(manifestation: JSON, ref: str, reaction: JSON) -> Element:
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.9", "2014-06-09"))
    obs.append(stable_ii("reaction", ref, concept_text(manifestation)))
    obs.append(coded("ASSERTION", ACT_CODE_OID))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    if reaction.get("onset"):
        obs.append(ivl_ts(reaction["onset"], None))
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
