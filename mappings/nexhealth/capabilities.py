"""What the NexHealth tenant supports: the declarations routes and metadata are built from."""

from __future__ import annotations

from mappings.base import (
    ALL_PREFIXES,
    ID_PARAM,
    PATIENT_PARAM,
    STRING_MODIFIERS,
    SUBJECT_PARAM,
    Interaction,
    Pushdown,
    ResourceSupport,
    SearchParamSupport,
)
from mappings.nexhealth.encounter import PROFILE_ENCOUNTER
from mappings.terminology import PROFILE_PATIENT

RESOURCES = {
    r.type: r
    for r in (
        ResourceSupport(
            "Patient",
            frozenset({Interaction.READ, Interaction.SEARCH, Interaction.CREATE}),
            (
                ID_PARAM,
                SearchParamSupport("identifier", Pushdown.NARROWS, documentation="Patient id or chart number"),
                SearchParamSupport("name", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("family", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("given", Pushdown.NARROWS, STRING_MODIFIERS),
                SearchParamSupport("birthdate", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
                SearchParamSupport("email", Pushdown.NARROWS, documentation="Case-insensitive"),
                SearchParamSupport("phone", Pushdown.NARROWS, documentation="Compared by digits"),
                SearchParamSupport("gender", Pushdown.GATEWAY),
                SearchParamSupport("active", Pushdown.EXACT),
            ),
            profiles=(PROFILE_PATIENT,),
            documentation=(
                "NexHealth ORs its search parameters: the gateway sends the most selective one and applies "
                "FHIR's AND and string rules itself; a search with nothing NexHealth can narrow pages through "
                "the location's patients. Create requires given and family name, an email, a phone, a full "
                "birthDate and a gender of male, female or other; NexHealth keeps only those (send "
                "'Prefer: return=OperationOutcome' to have what it did not keep listed). A duplicate is a 409, "
                "or the existing patient (200) under If-None-Exist."
            ),
        ),
        ResourceSupport(
            "Encounter",
            frozenset({Interaction.READ, Interaction.SEARCH}),
            (
                ID_PARAM,
                PATIENT_PARAM,
                SUBJECT_PARAM,
                SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
                SearchParamSupport("status", Pushdown.GATEWAY),
            ),
            required=(frozenset({"patient", "subject", "_id"}),),
            profiles=(PROFILE_ENCOUNTER,),
            documentation="Appointments: planned when upcoming, finished when past and confirmed, cancelled.",
        ),
    )
}
