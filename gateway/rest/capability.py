"""The per-tenant CapabilityStatement, generated from the providers' declarations.

Nothing here is hand-written per vendor: routes and this statement read the same
declarations, so the statement lists exactly what works.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.ccd.codes import SECTION_KEYS
from gateway.contract import Interaction, ResourceSupport, SearchParamSupport
from gateway.search.definitions import definition
from gateway.version import SOFTWARE_VERSION

_STARTED = datetime.now(UTC).replace(microsecond=0).isoformat()


def capability_statement(
    tenant: str, base_url: str, resources: dict[str, ResourceSupport], default_count: int, max_count: int
) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "id": f"{tenant}-capabilities",
        "status": "active",
        "date": _STARTED,
        "publisher": "fhir-gateway",
        "kind": "instance",
        "software": {"name": "fhir-gateway", "version": SOFTWARE_VERSION},
        "implementation": {"description": f"FHIR facade for tenant '{tenant}'", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Searches return searchset Bundles of {default_count} entries by default; "
                    f"_count is capped at {max_count}. Result parameters: _count, _sort (per type), "
                    "_total (none|estimate|accurate), _summary (true|text|data|count|false), _elements (root "
                    "element names), _format (json), _pretty. Unsupported parameters are ignored, left out of "
                    "the self link and named in an informational OperationOutcome entry, or refused with 400 "
                    "under 'Prefer: handling=strict'. Paging links carry "
                    "a signed token bound to the search; altered tokens are refused."
                ),
                "resource": [
                    _resource(r, base_url, _has_per_patient_types(resources), _renders_encounter_ccd(resources))
                    for r in resources.values()
                ],
            }
        ],
    }


EVERYTHING = {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
DOCREF = {"name": "docref", "definition": "http://hl7.org/fhir/us/core/OperationDefinition/docref"}
# `$ccd` is the gateway's own operation: no published OperationDefinition defines it, so its
# canonical is minted under the server's base (R4 capabilitystatement.html: "definition:
# canonical(OperationDefinition)"; a canonical need not resolve), and what it takes is said in
# the operation's documentation.
CCD_OPERATION = "ccd"
CCD_DOCUMENTATION = (
    "Renders the encounter's Continuity of Care Document (C-CDA R2.1): application/xml, the HTML page "
    "(Accept: text/html or _format=html) or a Binary resource (Accept: application/fhir+json or _format=json). "
    "Parameter section (0..*, comma-separated): restrict the document to the named sections, of "
    + ", ".join(SECTION_KEYS)
    + ". A visit that has not taken place has no CCD (422)."
)


def ccd_operation(base_url: str) -> dict[str, str]:
    return {
        "name": CCD_OPERATION,
        "definition": f"{base_url}/OperationDefinition/Encounter-ccd",
        "documentation": CCD_DOCUMENTATION,
    }


def _interactions(support: ResourceSupport) -> list[str]:
    codes = [str(i) for i in Interaction if i in support.interactions]
    if support.versioned and Interaction.READ in support.interactions:
        codes.insert(codes.index(str(Interaction.READ)) + 1, "vread")  # of the current version only
    return codes


def _versioning(support: ResourceSupport) -> str:
    """R4 ResourceVersionPolicy: updates honour If-Match against the vendor's version (or a
    content hash); a type whose resources carry meta.versionId is `versioned`."""
    if Interaction.UPDATE in support.interactions:
        return "versioned-update"
    return "versioned" if support.versioned else "no-version"


def _conditional_read(support: ResourceSupport) -> str:
    """R4 ConditionalReadStatus: a read answers 304 to If-None-Match against its ETag (the
    versionId) and to If-Modified-Since against its Last-Modified (meta.lastUpdated) (RFC 9110
    sections 13.1.2-3), each where the type's resources carry it. Documents rendered on demand
    carry neither: nothing for a condition to compare."""
    if Interaction.READ not in support.interactions:
        return "not-supported"
    return {
        (True, True): "full-support",
        (True, False): "not-match",
        (False, True): "modified-since",
        (False, False): "not-supported",
    }[(support.versioned, support.dated)]


def _resource(
    support: ResourceSupport, base_url: str, per_patient: bool = False, encounter_ccd: bool = False
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": support.type,
        "interaction": [{"code": code} for code in _interactions(support)],
        "versioning": _versioning(support),
        "readHistory": False,
        "updateCreate": False,
        "conditionalRead": _conditional_read(support),
        # Conditional create (If-None-Exist) is the gateway's, over the type's own search.
        "conditionalCreate": Interaction.CREATE in support.interactions,
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
    }
    if support.profiles:
        entry["profile"] = f"http://hl7.org/fhir/StructureDefinition/{support.type}"
        entry["supportedProfile"] = list(support.profiles)
    docs = [support.documentation] if support.documentation else []
    if support.sorts:
        docs.append("_sort: " + ", ".join(f"{s} / -{s}" for s in support.sorts) + ".")
    for required in support.required:
        docs.append("Search requires one of: " + ", ".join(sorted(required)) + ".")
    if docs:
        entry["documentation"] = " ".join(docs)
    if Interaction.SEARCH in support.interactions:
        entry["searchParam"] = [_search_param(support.type, p) for p in support.search_params]
    if support.type == "Patient" and per_patient:
        entry["operation"] = [EVERYTHING]
    if support.type == "DocumentReference" and Interaction.SEARCH in support.interactions:
        entry["operation"] = [DOCREF]
    if support.type == "Encounter" and encounter_ccd:
        entry["operation"] = [ccd_operation(base_url)]
    return entry


def _search_param(resource_type: str, param: SearchParamSupport) -> dict[str, Any]:
    found = definition(resource_type, param.name)
    assert found is not None, f"{resource_type}.{param.name} has no definition"
    notes = [param.documentation or found.documentation]
    if param.modifiers:
        notes.append("modifiers: " + ", ".join(f":{m}" for m in sorted(param.modifiers)))
    if param.prefixes:
        notes.append("prefixes: " + ", ".join(sorted(str(p) for p in param.prefixes)))
    notes.append(
        {
            "exact": "evaluated by the vendor",
            "narrows": "narrowed by the vendor, finished by the gateway",
            "gateway": "evaluated by the gateway",
        }[param.pushdown]
    )
    return {"name": param.name, "type": str(found.type), "documentation": "; ".join(notes)}


def _renders_encounter_ccd(resources: dict[str, ResourceSupport]) -> bool:
    """Whether `Encounter/[id]/$ccd` works: it reads the encounter and its patient."""
    return all(
        name in resources and Interaction.READ in resources[name].interactions for name in ("Encounter", "Patient")
    )


def _has_per_patient_types(resources: dict[str, ResourceSupport]) -> bool:
    """Whether Patient/$everything has anything to gather besides the patient."""
    return any(
        r.type != "Patient" and Interaction.SEARCH in r.interactions and r.param("patient") for r in resources.values()
    )
