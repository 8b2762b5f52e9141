"""What the Dental PMS API can do per resource type: the declarations its providers carry."""

from __future__ import annotations

from gateway.contract import ALL_PREFIXES, STRING_MODIFIERS, Pushdown, ResourceDeclaration, SearchParamSupport
from mappings.dentalpms.condition import PROFILE_CONDITION
from mappings.terminology import PROFILE_ALLERGY, PROFILE_PATIENT, VITAL_SIGNS

PATIENT = ResourceDeclaration(
    "Patient",
    (
        SearchParamSupport("identifier", Pushdown.NARROWS, documentation="Patient id or chart number (system|value)"),
        # Names, phones and emails: no term every reading of the vendor's `search` finds
        # (adapter.py, "Where the docs are silent"), so the gateway alone filters them.
        SearchParamSupport("name", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("family", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("given", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("birthdate", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
        SearchParamSupport("gender", Pushdown.GATEWAY),
        SearchParamSupport("phone", Pushdown.GATEWAY, documentation="Compared by digits"),
        SearchParamSupport("email", Pushdown.GATEWAY, documentation="Case-insensitive"),
        SearchParamSupport("active", Pushdown.GATEWAY),
    ),
    sorts=("family", "birthdate", "_lastUpdated"),
    last_updated=True,
    profiles=(PROFILE_PATIENT,),
    versioned=True,
)
ALLERGY = ResourceDeclaration(
    "AllergyIntolerance",
    (SearchParamSupport("clinical-status", Pushdown.NARROWS),),
    per_patient=True,
    last_updated=True,
    profiles=(PROFILE_ALLERGY,),
    versioned=True,
)
MEDICATION = ResourceDeclaration(
    "MedicationStatement",
    (SearchParamSupport("status", Pushdown.NARROWS),),
    per_patient=True,
    last_updated=True,
    versioned=True,
)
OBSERVATION = ResourceDeclaration(
    "Observation",
    (
        SearchParamSupport("category", Pushdown.GATEWAY),
        SearchParamSupport("code", Pushdown.GATEWAY, documentation="LOINC code, with or without system"),
        SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
    ),
    per_patient=True,
    last_updated=True,
    profiles=tuple(sorted({v.profile for v in VITAL_SIGNS.values()})),
    documentation="Vital signs only (category vital-signs), one Observation per measurement.",
    versioned=True,
)
CONDITION = ResourceDeclaration(
    "Condition",
    (
        SearchParamSupport("clinical-status", Pushdown.NARROWS),
        SearchParamSupport("category", Pushdown.GATEWAY),
        SearchParamSupport("onset-date", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
    ),
    per_patient=True,
    last_updated=True,
    profiles=(PROFILE_CONDITION,),
    documentation="The patient's problem list (Dental PMS diseases/problems); codes as text.",
    versioned=True,
)
