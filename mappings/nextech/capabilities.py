"""What the Nextech tenant supports: the declarations routes and metadata are built from."""

from __future__ import annotations

from mappings.base import (
    ALL_PREFIXES,
    ID_PARAM,
    PATIENT_PARAM,
    READ_SEARCH,
    SUBJECT_PARAM,
    Interaction,
    Pushdown,
    ResourceSupport,
    SearchParamSupport,
)
from mappings.nextech.encounter import PROFILE_DOCUMENT, PROFILE_ENCOUNTER
from mappings.terminology import PROFILE_PATIENT

EXACT_ONLY = frozenset({"exact"})
_ONE_PATIENT = (frozenset({"patient", "subject", "_id"}),)


def resources(sections: list[str]) -> dict[str, ResourceSupport]:
    listed = ", ".join(sections) if sections else "as Nextech's /encounters/categories lists them"
    return {
        r.type: r
        for r in (
            ResourceSupport(
                "Patient",
                READ_SEARCH,
                (
                    ID_PARAM,
                    SearchParamSupport("identifier", Pushdown.NARROWS, documentation="Chart number (or patient id)"),
                    SearchParamSupport("name", Pushdown.NARROWS, EXACT_ONLY),
                    SearchParamSupport("family", Pushdown.NARROWS, EXACT_ONLY),
                    SearchParamSupport("given", Pushdown.NARROWS, EXACT_ONLY),
                    SearchParamSupport("birthdate", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
                ),
                required=(frozenset({"_id", "identifier", "name", "family", "given"}),),
                profiles=(PROFILE_PATIENT,),
                documentation=(
                    "Nextech finds patients only by a term (name prefix or chart number), so a search needs a "
                    "name, family, given or identifier; the gateway applies FHIR's rules to what the term returns. "
                    "Patient ids carry the chart number: <patientId>.<chart>."
                ),
            ),
            ResourceSupport(
                "Encounter",
                READ_SEARCH,
                (
                    ID_PARAM,
                    PATIENT_PARAM,
                    SUBJECT_PARAM,
                    SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
                ),
                required=_ONE_PATIENT,
                profiles=(PROFILE_ENCOUNTER,),
            ),
            ResourceSupport(
                "DocumentReference",
                READ_SEARCH,
                (
                    ID_PARAM,
                    PATIENT_PARAM,
                    SUBJECT_PARAM,
                    SearchParamSupport("encounter", Pushdown.EXACT),
                    SearchParamSupport("date", Pushdown.NARROWS, prefixes=ALL_PREFIXES),
                    SearchParamSupport("type", Pushdown.GATEWAY, documentation="LOINC 34133-9 (CCD)"),
                ),
                required=(frozenset({"patient", "subject", "encounter", "_id"}),),
                profiles=(PROFILE_DOCUMENT,),
                documentation="One per encounter: Nextech's own CCD of that encounter (HTML, sanitized).",
            ),
            ResourceSupport(
                "Binary",
                frozenset({Interaction.READ}),
                documentation=(
                    "Binary/<encounter>.ccd is an encounter's CCD as text/html (or, with Accept: "
                    "application/fhir+json, a Binary resource); Binary/<encounter>.ccd.<section> is one section. "
                    f"Sections: {listed}. Vendor HTML is sanitized: no script, handlers or external loads."
                ),
            ),
        )
    }
