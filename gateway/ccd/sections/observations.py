"""Observation sections: Vital Signs (8716-3), Results (30954-2), Social History (29762-2).

Every Observation lands in exactly one of them by its category: vital-signs, social-history,
and everything else (laboratory, imaging, uncategorised...) in Results, so none is lost.
Panels with components (blood pressure) contribute one CDA observation per component.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ccd.codes import GENDER_OID, LOINC_OID, RESULTS, SNOMED_OID, SOCIAL_HISTORY, VITAL_SIGNS
from gateway.ccd.datatypes import JSON, Element, cd, coded, concept_text, el, pq, stable_ii, template, ts
from gateway.ccd.narrative import Cell, CellValue, table
from gateway.ccd.sections.base import entry, section

LOINC = "http://loinc.org"
BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
_RESULT_STATUS = {"final": "completed", "amended": "completed", "corrected": "completed", "preliminary": "active"}


def category_of(observation: JSON) -> str:
    codes = {c.get("code") for cat in observation.get("category", []) for c in cat.get("coding", [])}
    for kind in ("vital-signs", "social-history"):
        if kind in codes:
            return kind
    return "results"


def _measured(observation: JSON) -> list[tuple[JSON, JSON]]:
    """(code, value holder) pairs: the observation itself, or each component of a panel."""
    components = [c for c in observation.get("component", []) if _has_value(c)]
    if components:
        return [(c.get("code") or {}, c) for c in components]
    return [(observation.get("code") or {}, observation)]


def _has_value(holder: JSON) -> bool:
    return any(k.startswith("value") for k in holder)


def _effective(observation: JSON) -> str | None:
    period = observation.get("effectivePeriod") or {}
    return observation.get("effectiveDateTime") or observation.get("effectiveInstant") or period.get("start")


def _value_text(holder: JSON) -> str:
    if "valueQuantity" in holder:
        q = holder["valueQuantity"]
        return f"{q.get('value', '')} {q.get('unit') or q.get('code') or ''}".strip()
    if "valueCodeableConcept" in holder:
        return concept_text(holder["valueCodeableConcept"])
    for key in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if key in holder:
            return str(holder[key])
    reason = concept_text(holder.get("dataAbsentReason"))
    return f"({reason})" if reason else ""


def _value(holder: JSON, ref: str) -> Element:
    if "valueQuantity" in holder:
        return pq(holder["valueQuantity"])
    if "valueCodeableConcept" in holder:
        return cd(holder["valueCodeableConcept"], "value", xsi_type="CD")
    if "valueString" in holder:
        return el("value", {"xsi:type": "ST"}, text=str(holder["valueString"]))
    return el("value", {"xsi:type": "ST"}, text=_value_text(holder) or None)


# --- vital signs ------------------------------------------------------------------------


def vital_signs_section(observations: Sequence[JSON]) -> Element:
    vitals = [o for o in observations if category_of(o) == "vital-signs"]
    if not vitals:
        return section(VITAL_SIGNS, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, observation in enumerate(vitals, 1):
        organizer = el("organizer", {"classCode": "CLUSTER", "moodCode": "EVN"})
        organizer.extend(template("2.16.840.1.113883.10.20.22.4.26", "2015-08-01"))
        organizer.append(stable_ii("Observation", observation.get("id", str(n)), "organizer"))
        code = coded("46680005", SNOMED_OID, "Vital signs")
        code.append(
            coded(
                "74728-7",
                LOINC_OID,
                "Vital signs, weight, height, head circumference, oximetry, BMI, and BSA panel - HL7.CCDAr1.1",
                tag="translation",
            )
        )
        organizer.append(code)
        organizer.append(el("statusCode", {"code": "completed"}))
        when = _effective(observation)
        organizer.append(ts(when))
        for m, (code_concept, holder) in enumerate(_measured(observation), 1):
            ref = f"vital-{n}-{m}"
            rows.append([Cell(concept_text(code_concept), f"{ref}-name"), Cell(_value_text(holder), ref), when or ""])
            organizer.append(el("component", None, _vital(observation, code_concept, holder, ref, when)))
        entries.append(entry(organizer))
    return section(VITAL_SIGNS, table(["Vital sign", "Value", "Date"], rows), entries)


def _vital(observation: JSON, code: JSON, holder: JSON, ref: str, when: str | None) -> Element:
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.27", "2014-06-09"))
    obs.append(stable_ii("Observation", observation.get("id", ref), concept_text(code)))
    obs.append(cd(code, prefer=(LOINC,), reference=f"{ref}-name"))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    obs.append(ts(when))
    obs.append(_value(holder, ref))
    return obs


# --- results ----------------------------------------------------------------------------


def results_section(observations: Sequence[JSON]) -> Element:
    results = [o for o in observations if category_of(o) == "results"]
    if not results:
        return section(RESULTS, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, observation in enumerate(results, 1):
        status = _RESULT_STATUS.get(str(observation.get("status")), "completed")
        when = _effective(observation)
        organizer = el("organizer", {"classCode": "CLUSTER", "moodCode": "EVN"})
        organizer.extend(template("2.16.840.1.113883.10.20.22.4.1", "2015-08-01"))
        organizer.append(stable_ii("Observation", observation.get("id", str(n)), "organizer"))
        organizer.append(cd(observation.get("code"), prefer=(LOINC,), reference=f"result-{n}-name"))
        organizer.append(el("statusCode", {"code": status}))
        organizer.append(el("effectiveTime", None, ts(when, "low"), ts(when, "high")))
        for m, (code, holder) in enumerate(_measured(observation), 1):
            ref = f"result-{n}-{m}"
            name_ref = f"result-{n}-name" if m == 1 else f"{ref}-name"
            rows.append([Cell(concept_text(code), name_ref), Cell(_value_text(holder), ref), when or ""])
            obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
            obs.extend(template("2.16.840.1.113883.10.20.22.4.2", "2015-08-01"))
            obs.append(stable_ii("Observation", observation.get("id", ref), concept_text(code)))
            obs.append(cd(code, prefer=(LOINC,), reference=name_ref))
            obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
            obs.append(el("statusCode", {"code": status}))
            obs.append(ts(when))
            obs.append(_value(holder, ref))
            organizer.append(el("component", None, obs))
        entries.append(entry(organizer))
    return section(RESULTS, table(["Test", "Result", "Date"], rows), entries)


# --- social history ---------------------------------------------------------------------


def social_history_section(patient: JSON, observations: Sequence[JSON]) -> Element:
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    birth_sex = next((e.get("valueCode") for e in patient.get("extension", []) if e.get("url") == BIRTH_SEX), None)
    if birth_sex:
        rows.append(["Sex assigned at birth", Cell(_BIRTH_SEX_TEXT.get(birth_sex, birth_sex), "social-birthsex"), ""])
        entries.append(entry(_birth_sex(birth_sex)))
    social = [o for o in observations if category_of(o) == "social-history"]
    for n, observation in enumerate(social, 1):
        ref = f"social-{n}"
        when = _effective(observation)
        rows.append(
            [
                Cell(concept_text(observation.get("code")), f"{ref}-name"),
                Cell(_value_text(observation), ref),
                when or "",
            ]
        )
        entries.append(entry(_social(observation, ref, when)))
    if not rows:
        return section(SOCIAL_HISTORY, None, [])
    return section(SOCIAL_HISTORY, table(["Social history", "Value", "Date"], rows), entries)


_BIRTH_SEX_TEXT = {"F": "Female", "M": "Male", "UNK": "Unknown", "OTH": "Other", "ASKU": "Asked but unknown"}


def _birth_sex(code: str) -> Element:
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.200", "2016-06-01"))
    obs.append(coded("76689-9", LOINC_OID, "Sex Assigned At Birth"))
    obs.append(el("text", None, el("reference", {"value": "#social-birthsex"})))
    obs.append(el("statusCode", {"code": "completed"}))
    if code in ("F", "M"):
        obs.append(coded(code, GENDER_OID, _BIRTH_SEX_TEXT[code], tag="value", xsi_type="CD"))
    else:
        obs.append(el("value", {"xsi:type": "CD", "nullFlavor": "UNK"}))
    return obs


def _social(observation: JSON, ref: str, when: str | None) -> Element:
    smoking = any(c.get("code") == "72166-2" for c in (observation.get("code") or {}).get("coding", []))
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    if smoking:
        obs.extend(template("2.16.840.1.113883.10.20.22.4.78", "2014-06-09"))
    else:
        obs.extend(template("2.16.840.1.113883.10.20.22.4.38", "2015-08-01"))
    obs.append(stable_ii("Observation", observation.get("id", ref)))
    obs.append(cd(observation.get("code"), prefer=(LOINC,), reference=f"{ref}-name"))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    obs.append(ts(when))
    obs.append(_value(observation, ref))
    return obs
