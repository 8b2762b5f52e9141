"""Dental PMS allergy records → US Core AllergyIntolerance (pure).

The record names its substance only through the catalog definition's name, so `code` is
text unless the name is a "no known allergy" spelling. A patient whose allergy review status
is `nkda` gets one AllergyIntolerance saying so, with the SNOMED situation concept (a code,
not an allergy to something called NKDA), so that "reviewed, none" is told apart from "never
asked".

`snomed_reaction` is typed only `string` too: a service may keep the concept id (`247472004`),
the term picked from a SNOMED list (`Hives`) or both as SNOMED CT's compositional grammar
writes a concept (`247472004 |Hives|`). Only a concept id is a SNOMED code (an SCTID: 6 to 18
digits); the term, given or in the expression, is the coding's display, and the
manifestation's text when the record has no `reaction` of its own.

`severity` is typed only `string`: a service may store FHIR's words or its own form's (a
Low/Medium/High pick list, a "Life-threatening" top grade, in any case or enum spelling).
Each word that names a FHIR grade is read as that grade; one that names none, or a severity
recorded without a reaction to carry it (a reaction needs a manifestation), is kept as a note
in the vendor's words rather than dropped.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, fhir_date, instant, meta, reference
from mappings.ids import child_id, pack_uuid
from mappings.terminology import (
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    NO_KNOWN_DRUG_ALLERGY,
    PROFILE_ALLERGY,
    SNOMED,
    no_known_allergy,
)

# The vendor's severity word, letters only and lower-cased (`Life-threatening`, `LIFE_THREATENING`
# -> `lifethreatening`), to the FHIR grade it names. "High" on a three-step scale is the top
# grade, "severe"; "life-threatening" is at least that (R4 has no higher grade).
_SEVERITIES = {
    "mild": "mild",
    "low": "mild",
    "moderate": "moderate",
    "medium": "moderate",
    "severe": "severe",
    "high": "severe",
    "lifethreatening": "severe",
}
NKDA_SUFFIX = "nkda"
# An SCTID (SNOMED CT's concept id: 6 to 18 digits), alone or with its term as SNOMED CT's
# compositional grammar writes a concept: `247472004 |Hives|`.
_SCTID = re.compile(r"\d{6,18}")
_EXPRESSION = re.compile(r"(\d{6,18})\s*\|\s*([^|]*?)\s*\|")


def nkda_id(patient_id: str) -> str:
    return f"{pack_uuid(patient_id)}.{NKDA_SUFFIX}"


def _clinical(active: bool) -> dict[str, Any]:
    code = "active" if active else "inactive"
    return {"coding": [coding(ALLERGY_CLINICAL, code, code.capitalize())]}


def allergy_to_fhir(a: dict[str, Any], patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    name = ((a.get("allergy_definition") or {}).get("name") or "").strip()
    negated = no_known_allergy(name) if name else None
    code: dict[str, Any] = {"text": name or "Unspecified allergy"}
    if negated:
        code["coding"] = [coding(*negated)]
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": child_id(patient_id, a["id"]),
        "meta": meta(PROFILE_ALLERGY, a.get("version"), a.get("updated_at")),
        "clinicalStatus": _clinical(bool(a.get("status_is_active", True))),
        "code": code,
        "patient": reference("Patient", patient_id),
        "recordedDate": instant(a.get("created_at")),
        "reaction": _reaction(a),
        "note": _severity_note(a),
    }
    return compact(resource)


def _severity(a: dict[str, Any]) -> tuple[str, str | None]:
    """The vendor's severity as written (stripped) and the FHIR grade it names, if any."""
    word = (a.get("severity") or "").strip()
    return word, _SEVERITIES.get("".join(c for c in word.lower() if c.isalpha()))


def _snomed(text: str) -> tuple[str | None, str | None]:
    """(concept id, term) of a `snomed_reaction` (module docstring): an id, an expression, or a term."""
    if _SCTID.fullmatch(text):
        return text, None
    expression = _EXPRESSION.fullmatch(text)
    if expression:
        return expression.group(1), expression.group(2) or None
    return None, text


def _has_manifestation(a: dict[str, Any]) -> bool:
    return bool((a.get("reaction") or "").strip() or (a.get("snomed_reaction") or "").strip())


def _severity_note(a: dict[str, Any]) -> list[dict[str, Any]]:
    """The severity in the vendor's words when `reaction.severity` cannot say it: a word that
    names no FHIR grade, or a severity with no reaction to hang on."""
    word, grade = _severity(a)
    if not word or (grade and _has_manifestation(a)):
        return []
    return [{"text": f"Reaction severity (as recorded): {word}"}]


def _reaction(a: dict[str, Any]) -> list[dict[str, Any]]:
    text = (a.get("reaction") or "").strip()
    snomed = (a.get("snomed_reaction") or "").strip()
    if not text and not snomed:
        return []  # a reaction needs a manifestation; severity alone cannot stand (a note keeps it)
    code, term = _snomed(snomed) if snomed else (None, None)
    manifestation: dict[str, Any] = {"text": text or term} if text or term else {}
    if code:
        manifestation["coding"] = [coding(SNOMED, code, term)]
    reaction = {
        "manifestation": [manifestation],
        "severity": _severity(a)[1],
        "onset": fhir_date(a.get("date_adverse_reaction")),
    }
    return [compact(reaction)]


def nkda_to_fhir(patient: dict[str, Any], ctx: TenantContext) -> dict[str, Any]:
    """The patient's reviewed "no known drug allergies" status as an AllergyIntolerance."""
    return compact(
        {
            "resourceType": "AllergyIntolerance",
            "id": nkda_id(patient["id"]),
            "meta": meta(PROFILE_ALLERGY, patient.get("version"), patient.get("updated_at")),
            "clinicalStatus": _clinical(True),
            "verificationStatus": {"coding": [coding(ALLERGY_VERIFICATION, "confirmed", "Confirmed")]},
            "code": {"coding": [coding(*NO_KNOWN_DRUG_ALLERGY)], "text": "No known drug allergies"},
            "patient": reference("Patient", patient["id"]),
        }
    )
