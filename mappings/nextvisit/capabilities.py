"""What the Nextvisit API can do per resource type: the declarations its providers carry."""

from __future__ import annotations

from gateway.contract import ALL_PREFIXES, STRING_MODIFIERS, Pushdown, ResourceDeclaration, SearchParamSupport
from mappings.nextvisit.encounter import PROFILE_ENCOUNTER
from mappings.terminology import PROFILE_ALLERGY, PROFILE_PATIENT

PATIENT = ResourceDeclaration(
    "Patient",
    (
        SearchParamSupport(
            "identifier", Pushdown.NARROWS, documentation="Numeric patient id or patient uuid (system|value)"
        ),
        # No name term is safe under every reading of Nextvisit's name searches (the adapter's
        # "Where the docs are silent"): the gateway filters names over the patient list.
        SearchParamSupport("name", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("family", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("given", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("birthdate", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
        SearchParamSupport("gender", Pushdown.GATEWAY),
    ),
    sorts=("family", "birthdate"),
    last_updated=True,
    profiles=(PROFILE_PATIENT,),
    documentation=(
        "Create requires name.given, name.family and a full birthDate before today. Elements "
        "Nextvisit has no field for are kept in the vendor record's free-form meta. Delete is soft: "
        "a deleted patient reads as 410 Gone."
    ),
    versioned=True,
)
ALLERGY = ResourceDeclaration(
    "AllergyIntolerance",
    (SearchParamSupport("clinical-status", Pushdown.GATEWAY),),
    per_patient=True,
    profiles=(PROFILE_ALLERGY,),
    documentation="One per item of the patient's free-text allergy list.",
    dated=True,
    versioned=True,
)
MEDICATION = ResourceDeclaration(
    "MedicationStatement",
    (SearchParamSupport("status", Pushdown.GATEWAY),),
    per_patient=True,
    documentation="One per entry of the patient's latest medications (text; status unknown).",
    dated=True,
    versioned=True,
)
ENCOUNTER = ResourceDeclaration(
    "Encounter",
    (
        SearchParamSupport("date", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
        SearchParamSupport("status", Pushdown.GATEWAY),
    ),
    per_patient=True,
    profiles=(PROFILE_ENCOUNTER,),
    dated=True,
    versioned=True,
)
