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


def shape(resource: dict[str, Any], summary: str | None, elements: Sequence[str]) -> dict[str, Any]:
    """Apply `_summary=data` / `_elements` to one resource (marking it SUBSETTED)."""
    if elements:
        kept = {k: v for k, v in resource.items() if k in _ALWAYS_KEPT or k in elements}
    elif summary == "data":
        kept = {k: v for k, v in resource.items() if k != "text"}
    else:
        return resource
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def searchset(
    *,
    base: str,
    resources: Sequence[dict[str, Any]],
    links: Sequence[tuple[str, str]],
    total: int | None,
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
    if resources:
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ]
    return bundle
