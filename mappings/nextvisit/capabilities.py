"""What the Nextvisit tenant supports: the declarations routes and metadata are built from."""

from __future__ import annotations

from mappings.base import (
    ALL_PREFIXES,
    ID_PARAM,
    LAST_UPDATED_PARAM,
    PATIENT_PARAM,
    READ_SEARCH,
    STRING_MODIFIERS,
    SUBJECT_PARAM,
    Interaction,
    Pushdown,
    ResourceSupport,
    SearchParamSupport,
)
from mappings.nextvisit.encounter import PROFILE_ENCOUNTER
from mappings.terminology import PROFILE_ALLERGY, PROFILE_PATIENT

_ONE_PATIENT = (frozenset({"patient", "_id"}),)

RESOURCES = {
    r.type: r
    for r in (
        ResourceSupport(
            "Patient",
            frozenset(Interaction),
            (
                ID_PARAM,
                LAST_UPDATED_PARAM,
                SearchParamSupport(
                    "identifier", Pushdown.NARROWS, documentation="Numeric patient id or patient uuid (system|value)"
                ),
                SearchParamSupport("name", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("family", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("given", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("birthdate", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
                SearchParamSupport("gender", Pushdown.GATEWAY),
            ),
            sorts=("family", "birthdate"),
            profiles=(PROFILE_PATIENT,),
            documentation=(
                "Create requires name.given, name.family and a full birthDate before today. Elements "
                "Nextvisit has no field for are kept in the vendor record's free-form meta. Delete is soft: "
                "a deleted patient reads as 410 Gone."
            ),
        ),
        ResourceSupport(
            "AllergyIntolerance",
            READ_SEARCH,
            (ID_PARAM, PATIENT_PARAM, SearchParamSupport("clinical-status", Pushdown.GATEWAY)),
            required=_ONE_PATIENT,
            profiles=(PROFILE_ALLERGY,),
            documentation="One per item of the patient's free-text allergy list.",
        ),
        ResourceSupport(
            "MedicationStatement",
            READ_SEARCH,
            (ID_PARAM, PATIENT_PARAM, SUBJECT_PARAM, SearchParamSupport("status", Pushdown.GATEWAY)),
            required=(frozenset({"patient", "subject", "_id"}),),
            documentation="One per entry of the patient's latest medications (text; status unknown).",
        ),
        ResourceSupport(
            "Encounter",
            READ_SEARCH,
            (
                ID_PARAM,
                PATIENT_PARAM,
                SUBJECT_PARAM,
                SearchParamSupport("date", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
                SearchParamSupport("status", Pushdown.GATEWAY),
            ),
            required=(frozenset({"patient", "subject", "_id"}),),
            profiles=(PROFILE_ENCOUNTER,),
        ),
    )
}
