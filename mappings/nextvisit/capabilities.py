"""What the Nextvisit tenant supports: the declarations routes and metadata are built from."""

from __future__ import annotations

from mappings.base import (
    ALL_PREFIXES,
    READ_SEARCH,
    STRING_MODIFIERS,
    Interaction,
    Pushdown,
    ResourceSupport,
    SearchParamSupport,
)
from mappings.nextvisit.encounter import PROFILE_ENCOUNTER
from mappings.terminology import PROFILE_ALLERGY, PROFILE_PATIENT

_ID = SearchParamSupport("_id", Pushdown.EXACT)
_LAST_UPDATED = SearchParamSupport("_lastUpdated", Pushdown.GATEWAY, prefixes=ALL_PREFIXES)
_PATIENT = SearchParamSupport("patient", Pushdown.EXACT)
_SUBJECT = SearchParamSupport("subject", Pushdown.EXACT)
_ONE_PATIENT = (frozenset({"patient", "_id"}),)

RESOURCES = {
    r.type: r
    for r in (
        ResourceSupport(
            "Patient",
            frozenset(Interaction),
            (
                _ID,
                _LAST_UPDATED,
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
            (_ID, _PATIENT, SearchParamSupport("clinical-status", Pushdown.GATEWAY)),
            required=_ONE_PATIENT,
            profiles=(PROFILE_ALLERGY,),
            documentation="One per item of the patient's free-text allergy list.",
        ),
        ResourceSupport(
            "MedicationStatement",
            READ_SEARCH,
            (_ID, _PATIENT, _SUBJECT, SearchParamSupport("status", Pushdown.GATEWAY)),
            required=(frozenset({"patient", "subject", "_id"}),),
            documentation="One per entry of the patient's latest medications (text; status unknown).",
        ),
        ResourceSupport(
            "Encounter",
            READ_SEARCH,
            (
                _ID,
                _PATIENT,
                _SUBJECT,
                SearchParamSupport("date", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
                SearchParamSupport("status", Pushdown.GATEWAY),
            ),
            required=(frozenset({"patient", "subject", "_id"}),),
            profiles=(PROFILE_ENCOUNTER,),
        ),
    )
}
