"""searchset Bundles, and the result-shaping parameters `_elements` and `_summary`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
_ALWAYS_KEPT = ("resourceType", "id", "meta")
# Elements with min cardinality 1 in base R4: kept even when `_elements` leaves them out, as
# http://hl7.org/fhir/R4/search.html#elements asks ("SHOULD always return mandatory elements").
MANDATORY = {
    "AllergyIntolerance": ("patient",),
    "MedicationStatement": ("status", "medicationCodeableConcept", "medicationReference", "subject"),
    "Observation": ("status", "code"),
    "Encounter": ("status", "class"),
    "Condition": ("subject",),
    "DocumentReference": ("status", "content"),
    "Binary": ("contentType",),
}


def shape(resource: dict[str, Any], summary: str | None, elements: Sequence[str]) -> dict[str, Any]:
    """Apply `_summary=data` / `_elements` to one resource.

    The result is tagged SUBSETTED. Cut to `_elements` it no longer claims its profiles (a
    subset cannot promise a profile's required elements); without its narrative alone
    (`_summary=data`: "all parts except the text element") it still meets them, and says so.
    """
    if elements:
        keep = {*_ALWAYS_KEPT, *MANDATORY.get(resource["resourceType"], ()), *elements}
        kept = {k: v for k, v in resource.items() if k in keep}
    elif summary == "data":
        kept = {k: v for k, v in resource.items() if k != "text"}
    else:
        return resource
    meta = {k: v for k, v in (kept.get("meta") or {}).items() if k != "profile" or not elements}
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def searchset(
    *,
    base: str,
    resources: Sequence[dict[str, Any]],
    links: Sequence[tuple[str, str]],
    total: int | None,
    warnings: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")},
        "type": "searchset",
    }
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": rel, "url": url} for rel, url in links]
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    if warnings or notes:
        issues = [{"severity": "warning", "code": "incomplete", "diagnostics": w} for w in warnings]
        issues += [{"severity": "information", "code": "informational", "diagnostics": n} for n in notes]
        outcome = {"resourceType": "OperationOutcome", "issue": issues}
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": outcome, "search": {"mode": "outcome"}})
    if entries:
        bundle["entry"] = entries
    return bundle
