"""What the Nextech API can do per resource type: the declarations its providers carry.

The Binary documentation names Nextech's CCD sections, which the adapter learns from the
vendor at run time, so the declarations are made from that list.
"""

from __future__ import annotations

from gateway.contract import ALL_PREFIXES, Pushdown, ResourceDeclaration, SearchParamSupport
from mappings.nextech.encounter import PROFILE_DOCUMENT, PROFILE_ENCOUNTER
from mappings.terminology import PROFILE_PATIENT

EXACT_ONLY = frozenset({"exact"})
FIRST_LETTER = "Nextech is asked for the value's first letter (and its accented forms); the gateway finishes"

PATIENT = ResourceDeclaration(
    "Patient",
    (
        SearchParamSupport("identifier", Pushdown.NARROWS, documentation="Chart number (or patient id)"),
        # Nextech's term is read differently by each implementation (accents, normalization,
        # prefix or substring): only a name's first letter, and its accented forms, are sent
        # (mappings/nextech/terms.py), a superset under every reading; the gateway finishes.
        SearchParamSupport("name", Pushdown.NARROWS, EXACT_ONLY, documentation=FIRST_LETTER),
        SearchParamSupport("family", Pushdown.NARROWS, EXACT_ONLY, documentation=FIRST_LETTER),
        SearchParamSupport("given", Pushdown.NARROWS, EXACT_ONLY, documentation=FIRST_LETTER),
        SearchParamSupport("birthdate", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
    ),
    required=(frozenset({"identifier", "name", "family", "given"}),),
    profiles=(PROFILE_PATIENT,),
    documentation=(
        "Nextech finds patients only by a term (a name or a chart number), so a search needs a "
        "name, family, given or identifier; the gateway applies FHIR's rules to what the terms return. "
        "Nextech does not search middle names: a given or name search says so. "
        "Patient ids carry the chart number: <patientId>.<chart>."
    ),
    versioned=True,
)
ENCOUNTER = ResourceDeclaration(
    "Encounter",
    (SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),),
    per_patient=True,
    profiles=(PROFILE_ENCOUNTER,),
    versioned=True,
)
DOCUMENT = ResourceDeclaration(
    "DocumentReference",
    (
        SearchParamSupport("encounter", Pushdown.EXACT),
        SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
        SearchParamSupport("type", Pushdown.GATEWAY, documentation="LOINC 34133-9 (CCD)"),
    ),
    per_patient=True,
    required=(frozenset({"patient", "subject", "encounter"}),),
    profiles=(PROFILE_DOCUMENT,),
    documentation="One per encounter: Nextech's own CCD of that encounter (HTML, sanitized).",
    versioned=True,
)


def binary(sections: list[str]) -> ResourceDeclaration:
    listed = ", ".join(sections) if sections else "as Nextech's /encounters/categories lists them"
    return ResourceDeclaration(
        "Binary",
        documentation=(
            "Binary/<encounter>.ccd is an encounter's CCD as text/html (or, with Accept: "
            "application/fhir+json, a Binary resource); Binary/<encounter>.ccd.<section> is one section "
            "(its name as an id part: escaped when it holds more than letters, digits and '-'). "
            f"Sections: {listed}. Vendor HTML is sanitized: no script, handlers or external loads."
        ),
    )
