"""Observation sections: Vital Signs (8716-3), Results (30954-2), Social History (29762-2).

Every Observation lands in exactly one of them by its category: vital-signs, social-history,
and everything else (laboratory, imaging, uncategorised...) in Results, so none is lost.
Panels with components (blood pressure) contribute one CDA observation per component, a
component the vendor could not measure included with its reason. Observations cancelled or
entered in error were never made and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gateway.ccd.codes import GENDER_OID, LOINC_OID, RESULTS, SNOMED_OID, SOCIAL_HISTORY, VITAL_SIGNS
from gateway.ccd.context import RenderContext
from gateway.ccd.datatypes import JSON, cd, coded, concept_text, pq, template, ts, ucum_unit
from gateway.ccd.narrative import Cell, CellValue, table
from gateway.ccd.nodes import Element, el
from gateway.ccd.sections.base import entry, section
from gateway.search.dates import parse_fhir_date

LOINC = "http://loinc.org"
BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
_NOT_MADE = {"cancelled", "entered-in-error"}
# FHIR observation status -> Result Status (ActStatus); "unknown" has none and stays unknown.
_RESULT_STATUS = {
    "final": "completed",
    "amended": "completed",
    "corrected": "completed",
    "preliminary": "active",
    "registered": "active",
}


def category_of(observation: JSON) -> str:
    codes = {c.get("code") for cat in observation.get("category", []) for c in cat.get("coding", [])}
    for kind in ("vital-signs", "social-history"):
        if kind in codes:
            return kind
    return "results"


def kept_observations(observations: Sequence[JSON], kind: str) -> list[JSON]:
    return [o for o in observations if o.get("status") not in _NOT_MADE and category_of(o) == kind]


def _measured(observation: JSON) -> list[tuple[JSON, JSON]]:
    """(code, value holder) pairs: the observation itself, or each component of a panel."""
    components = [c for c in observation.get("component", []) if _has_value(c) or c.get("dataAbsentReason")]
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
    if "valueRange" in holder:
        low, high = (holder["valueRange"].get(k) or {} for k in ("low", "high"))
        return f"{_value_text({'valueQuantity': low})}–{_value_text({'valueQuantity': high})}"
    for key in ("valueString", "valueBoolean", "valueInteger", "valueDateTime", "valueTime"):
        if key in holder:
            return str(holder[key]).lower() if key == "valueBoolean" else str(holder[key])
    reason = concept_text(holder.get("dataAbsentReason"))
    return f"No value ({reason.lower()})" if reason else ""


def _value(holder: JSON) -> Element:
    if "valueQuantity" in holder:
        return pq(holder["valueQuantity"])
    if "valueCodeableConcept" in holder:
        return cd(holder["valueCodeableConcept"], "value", xsi_type="CD")
    if "valueInteger" in holder:
        return el("value", {"xsi:type": "INT", "value": str(holder["valueInteger"])})
    if "valueBoolean" in holder:
        return el("value", {"xsi:type": "BL", "value": str(bool(holder["valueBoolean"])).lower()})
    if not _has_value(holder):
        return pq({})  # not measured: the dataAbsentReason is in the narrative
    return el("value", {"xsi:type": "ST"}, text=_value_text(holder) or None)


def _interpretation(holder: JSON) -> list[Element]:
    return [cd(i, "interpretationCode") for i in holder.get("interpretation", [])]


def _range_text(holder: JSON) -> str:
    texts = []
    for bounds in holder.get("referenceRange", []):
        if bounds.get("text"):
            texts.append(str(bounds["text"]))
        else:
            low, high = (_value_text({"valueQuantity": bounds[k]}) if bounds.get(k) else "" for k in ("low", "high"))
            texts.append(f"{low}–{high}" if low and high else f"≥ {low}" if low else f"≤ {high}" if high else "")
    return "; ".join(t for t in texts if t)


def _range_value(bounds: JSON) -> Element:
    """IVL_PQ of a reference range's UCUM bounds; a range given only as text is OTH."""
    value = el("value", {"xsi:type": "IVL_PQ"})
    for key in ("low", "high"):
        quantity = bounds.get(key) or {}
        unit = ucum_unit(quantity)
        if quantity.get("value") is None or unit is None:
            continue
        value.append(el(key, {"value": str(quantity["value"]), "unit": unit}))
    if not len(value):
        value.set("nullFlavor", "OTH")
    return value


# --- vital signs ------------------------------------------------------------------------


def vital_signs_section(observations: Sequence[JSON], ctx: RenderContext) -> Element:
    vitals = kept_observations(observations, "vital-signs")
    if not vitals:
        return section(VITAL_SIGNS, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    n = 0
    for when, taken in _taken_together(vitals, ctx):
        # One Vital Signs Organizer for the signs taken at one time (C-CDA R2.1: it "groups vital
        # signs observations"), named after the least of their ids (whatever order they come in).
        ids = [str(o["id"]) for o in taken if o.get("id")]
        organizer = el("organizer", {"classCode": "CLUSTER", "moodCode": "EVN"})
        organizer.extend(template("2.16.840.1.113883.10.20.22.4.26", "2015-08-01"))
        organizer.append(ctx.entry_id("Observation", min(ids) if ids else str(n + 1), "organizer"))
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
        organizer.append(ts(when))
        for observation in taken:
            n += 1
            for m, (code_concept, holder) in enumerate(_measured(observation), 1):
                ref = f"vital-{n}-{m}"
                rows.append(
                    [Cell(concept_text(code_concept), f"{ref}-name"), Cell(_value_text(holder), ref), ctx.when(when)]
                )
                organizer.append(el("component", None, _vital(observation, code_concept, holder, ref, when, ctx)))
        entries.append(entry(organizer))
    return section(VITAL_SIGNS, table(["Vital sign", "Value", "Date"], rows), entries)


def _taken_together(vitals: list[JSON], ctx: RenderContext) -> list[tuple[str | None, list[JSON]]]:
    """The vital signs grouped by the instant they were taken, in the order each first comes.
    Only a time to the second says two were taken together (the same instant however its zone is
    written); one with a day alone, or no time, is a group of its own."""
    groups: dict[datetime, list[JSON]] = {}
    ordered: list[tuple[str | None, list[JSON]]] = []
    for observation in vitals:
        when = _effective(observation)
        instant = _instant(when, ctx)
        if instant is None:
            ordered.append((when, [observation]))
        elif instant in groups:
            groups[instant].append(observation)
        else:
            groups[instant] = [observation]
            ordered.append((when, groups[instant]))
    return ordered


def _instant(when: str | None, ctx: RenderContext) -> datetime | None:
    if not when or "T" not in when:
        return None
    try:
        taken = parse_fhir_date(when, ctx.zone)
    except ValueError:
        return None
    return taken.start if taken.precision == "second" else None


def _vital(observation: JSON, code: JSON, holder: JSON, ref: str, when: str | None, ctx: RenderContext) -> Element:
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.27", "2014-06-09"))
    obs.append(ctx.entry_id("Observation", observation.get("id", ref), concept_text(code)))
    obs.append(cd(code, prefer=(LOINC,), reference=f"{ref}-name"))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))  # C-CDA fixes it: a vital sign was measured
    obs.append(ts(when))
    obs.append(_value(holder))
    obs.extend(_interpretation(holder))
    return obs


# --- results ----------------------------------------------------------------------------


def results_section(observations: Sequence[JSON], ctx: RenderContext) -> Element:
    results = kept_observations(observations, "results")
    if not results:
        return section(RESULTS, None, [])
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    for n, observation in enumerate(results, 1):
        status = _RESULT_STATUS.get(str(observation.get("status")))
        status_attrs: dict[str, str | None] = {"code": status} if status else {"nullFlavor": "UNK"}
        when = _effective(observation)
        organizer = el("organizer", {"classCode": "CLUSTER", "moodCode": "EVN"})
        organizer.extend(template("2.16.840.1.113883.10.20.22.4.1", "2015-08-01"))
        organizer.append(ctx.entry_id("Observation", observation.get("id", str(n)), "organizer"))
        organizer.append(cd(observation.get("code"), prefer=(LOINC,), reference=f"result-{n}-name"))
        organizer.append(el("statusCode", status_attrs))
        organizer.append(el("effectiveTime", None, ts(when, "low"), ts(when, "high")))
        for m, (code, holder) in enumerate(_measured(observation), 1):
            ref = f"result-{n}-{m}"
            name_ref = f"result-{n}-name" if m == 1 else f"{ref}-name"
            interpretation = ", ".join(concept_text(i) for i in holder.get("interpretation", []))
            rows.append(
                [
                    Cell(concept_text(code), name_ref),
                    Cell(_value_text(holder), ref),
                    interpretation,
                    _range_text(holder) or _range_text(observation),
                    str(observation.get("status") or ""),
                    ctx.when(when),
                ]
            )
            obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
            obs.extend(template("2.16.840.1.113883.10.20.22.4.2", "2015-08-01"))
            obs.append(ctx.entry_id("Observation", observation.get("id", ref), concept_text(code)))
            obs.append(cd(code, prefer=(LOINC,), reference=name_ref))
            obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
            obs.append(el("statusCode", status_attrs))
            obs.append(ts(when))
            obs.append(_value(holder))
            obs.extend(_interpretation(holder))
            ranged = holder if holder.get("referenceRange") else observation
            if ranged.get("referenceRange"):
                observed_range = el("observationRange", None, el("text", text=_range_text(ranged)))
                observed_range.append(_range_value(ranged["referenceRange"][0]))
                obs.append(el("referenceRange", None, observed_range))
            organizer.append(el("component", None, obs))
        entries.append(entry(organizer))
    headers = ["Test", "Result", "Interpretation", "Reference range", "Status", "Date"]
    return section(RESULTS, table(headers, rows), entries)


# --- social history ---------------------------------------------------------------------


def social_history_section(patient: JSON, observations: Sequence[JSON], ctx: RenderContext) -> Element:
    rows: list[list[CellValue]] = []
    entries: list[Element] = []
    birth_sex = next((e.get("valueCode") for e in patient.get("extension", []) if e.get("url") == BIRTH_SEX), None)
    if birth_sex:
        rows.append(["Sex assigned at birth", Cell(_BIRTH_SEX_TEXT.get(birth_sex, birth_sex), "social-birthsex"), ""])
        entries.append(entry(_birth_sex(birth_sex, patient, ctx)))
    for n, observation in enumerate(kept_observations(observations, "social-history"), 1):
        ref = f"social-{n}"
        when = _effective(observation)
        rows.append(
            [
                Cell(concept_text(observation.get("code")), f"{ref}-name"),
                Cell(_value_text(observation), ref),
                ctx.when(when),
            ]
        )
        entries.append(entry(_social(observation, ref, when, ctx)))
    if not rows:
        return section(SOCIAL_HISTORY, None, [])
    return section(SOCIAL_HISTORY, table(["Social history", "Value", "Date"], rows), entries)


_BIRTH_SEX_TEXT = {"F": "Female", "M": "Male", "UNK": "Unknown", "OTH": "Other", "ASKU": "Asked but unknown"}


def _birth_sex(code: str, patient: JSON, ctx: RenderContext) -> Element:
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    obs.extend(template("2.16.840.1.113883.10.20.22.4.200", "2016-06-01"))
    obs.append(ctx.entry_id("Patient", str(patient.get("id")), "birthsex"))
    obs.append(coded("76689-9", LOINC_OID, "Sex Assigned At Birth"))
    obs.append(el("text", None, el("reference", {"value": "#social-birthsex"})))
    obs.append(el("statusCode", {"code": "completed"}))
    if code in ("F", "M"):
        obs.append(coded(code, GENDER_OID, _BIRTH_SEX_TEXT[code], tag="value", xsi_type="CD"))
    else:
        obs.append(el("value", {"xsi:type": "CD", "nullFlavor": "UNK"}))
    return obs


def _social(observation: JSON, ref: str, when: str | None, ctx: RenderContext) -> Element:
    smoking = any(c.get("code") == "72166-2" for c in (observation.get("code") or {}).get("coding", []))
    obs = el("observation", {"classCode": "OBS", "moodCode": "EVN"})
    if smoking:
        obs.extend(template("2.16.840.1.113883.10.20.22.4.78", "2014-06-09"))
    else:
        obs.extend(template("2.16.840.1.113883.10.20.22.4.38", "2015-08-01"))
    obs.append(ctx.entry_id("Observation", observation.get("id", ref)))
    obs.append(cd(observation.get("code"), prefer=(LOINC,), reference=f"{ref}-name"))
    obs.append(el("text", None, el("reference", {"value": f"#{ref}"})))
    obs.append(el("statusCode", {"code": "completed"}))
    obs.append(ts(when))
    obs.append(_value(observation))
    return obs
