"""What the Dental PMS tenant supports: the declarations routes and metadata are built from."""

from __future__ import annotations

from mappings.base import (
    ALL_PREFIXES,
    ID_PARAM,
    LAST_UPDATED_PARAM,
    PATIENT_PARAM,
    READ_SEARCH,
    STRING_MODIFIERS,
    SUBJECT_PARAM,
    Pushdown,
    ResourceSupport,
    SearchParamSupport,
)
from mappings.dentalpms.condition import PROFILE_CONDITION
from mappings.terminology import PROFILE_ALLERGY, PROFILE_PATIENT, VITAL_SIGNS

RESOURCES = {
    r.type: r
    for r in (
        ResourceSupport(
            "Patient",
            READ_SEARCH,
            (
                ID_PARAM,
                LAST_UPDATED_PARAM,
                SearchParamSupport(
                    "identifier", Pushdown.NARROWS, documentation="Patient id or chart number (system|value)"
                ),
                SearchParamSupport("name", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("family", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("given", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("birthdate", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
                SearchParamSupport("gender", Pushdown.GATEWAY),
                SearchParamSupport("phone", Pushdown.NARROWS, documentation="Compared by digits"),
                SearchParamSupport("email", Pushdown.NARROWS, documentation="Case-insensitive"),
                SearchParamSupport("active", Pushdown.GATEWAY),
            ),
            sorts=("family", "birthdate", "_lastUpdated"),
            profiles=(PROFILE_PATIENT,),
        ),
        ResourceSupport(
            "AllergyIntolerance",
            READ_SEARCH,
            (
                ID_PARAM,
                LAST_UPDATED_PARAM,
                PATIENT_PARAM,
                SearchParamSupport("clinical-status", Pushdown.NARROWS),
            ),
            required=(frozenset({"patient", "_id"}),),
            profiles=(PROFILE_ALLERGY,),
        ),
        ResourceSupport(
            "MedicationStatement",
            READ_SEARCH,
            (
                ID_PARAM,
                LAST_UPDATED_PARAM,
                PATIENT_PARAM,
                SUBJECT_PARAM,
                SearchParamSupport("status", Pushdown.NARROWS),
            ),
            required=(frozenset({"patient", "subject", "_id"}),),
        ),
        ResourceSupport(
            "Observation",
            READ_SEARCH,
            (
                ID_PARAM,
                LAST_UPDATED_PARAM,
                PATIENT_PARAM,
                SUBJECT_PARAM,
                SearchParamSupport("category", Pushdown.GATEWAY),
                SearchParamSupport("code", Pushdown.GATEWAY, documentation="LOINC code, with or without system"),
                SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
            ),
            required=(frozenset({"patient", "subject", "_id"}),),
            profiles=tuple(sorted({v.profile for v in VITAL_SIGNS.values()})),
            documentation="Vital signs only (category vital-signs), one Observation per measurement.",
        ),
        ResourceSupport(
            "Condition",
            READ_SEARCH,
            (
                ID_PARAM,
                LAST_UPDATED_PARAM,
                PATIENT_PARAM,
                SUBJECT_PARAM,
                SearchParamSupport("clinical-status", Pushdown.NARROWS),
                SearchParamSupport("category", Pushdown.GATEWAY),
                SearchParamSupport("onset-date", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
            ),
            required=(frozenset({"patient", "subject", "_id"}),),
            profiles=(PROFILE_CONDITION,),
            documentation="The patient's problem list (Dental PMS diseases/problems); codes as text.",
        ),
    )
}
