"""searchset Bundles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


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
