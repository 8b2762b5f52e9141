"""What the NexHealth API can do per resource type: the declarations its providers carry."""

from __future__ import annotations

from gateway.contract import ALL_PREFIXES, STRING_MODIFIERS, Pushdown, ResourceDeclaration, SearchParamSupport
from mappings.nexhealth.encounter import PROFILE_ENCOUNTER
from mappings.terminology import PROFILE_PATIENT

PATIENT = ResourceDeclaration(
    "Patient",
    (
        SearchParamSupport("identifier", Pushdown.NARROWS, documentation="Patient id or chart number"),
        # NexHealth's `name` and `phone_number` may miss what FHIR finds (accents, NFD, fuzzy
        # matching, formatted phones): the gateway matches them itself (adapter docstring).
        SearchParamSupport("name", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("family", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("given", Pushdown.GATEWAY, STRING_MODIFIERS),
        SearchParamSupport("birthdate", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
        SearchParamSupport("email", Pushdown.NARROWS, documentation="Case-insensitive"),
        SearchParamSupport("phone", Pushdown.GATEWAY, documentation="Compared by digits"),
        SearchParamSupport("gender", Pushdown.GATEWAY),
        SearchParamSupport("active", Pushdown.EXACT),
    ),
    profiles=(PROFILE_PATIENT,),
    documentation=(
        "NexHealth ORs its search parameters: the gateway sends the most selective one that is safe "
        "(chart number, email, exact birth date) and applies FHIR's AND and string rules itself; names "
        "and phones are matched by the gateway, and a search with nothing NexHealth can narrow pages "
        "through the location's patients. Update (PUT) works only before NexHealth inserts the patient "
        "into the practice system (409 after: NexHealth would overwrite the edit); If-Match is honoured. "
        "Create requires given and family name, an email, a phone, a full "
        "birthDate and a gender of male, female or other; NexHealth keeps only those (send "
        "'Prefer: return=OperationOutcome' to have what it did not keep listed). A duplicate is a 409, "
        "or the existing patient (200) under If-None-Exist; an If-None-Exist the patient as stored would "
        "not meet (an identifier: NexHealth keeps none sent) is a 422, nothing written."
    ),
    dated=True,  # updated_at, though NexHealth cannot filter by it
    versioned=True,
)
ENCOUNTER = ResourceDeclaration(
    "Encounter",
    (
        SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
        SearchParamSupport("status", Pushdown.GATEWAY),
    ),
    per_patient=True,
    profiles=(PROFILE_ENCOUNTER,),
    documentation="Appointments: planned when upcoming, finished when past and confirmed, cancelled.",
    dated=True,
    versioned=True,
)
