"""Nextvisit's free-text `allergies` → US Core AllergyIntolerance, one per allergy (pure).

The text is a clinician's list ("Penicillin, Sulfa drugs", "Latex (hives); codeine").
Each item becomes one AllergyIntolerance whose `code.text` is the item as written; a
parenthesised note becomes the reaction's manifestation text. "No known allergies" spellings
become the SNOMED situation concept instead of an allergy to something called "NKDA". Empty
text or null means nothing was recorded: no resources, not a claim of no allergies; an answer
without the field says nothing at all (reported as unreadable, `vendor.not_returned`). Ids derive from
the patient and the item's text, so they are stable across requests and restarts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, instant, reference, text_key
from mappings.nextvisit.vendor import (
    Mapped,
    Unreadable,
    UnreadablePayload,
    VendorPatient,
    items_of,
    not_returned,
    read_patient,
)
from mappings.terminology import ALLERGY_CLINICAL, PROFILE_ALLERGY, no_known_allergy

_SPLIT = re.compile(r"\s*(?:[,;\n]|\band\b|&)\s*", re.IGNORECASE)
_REACTION = re.compile(r"^(?P<substance>[^(]+?)\s*\((?P<reaction>[^)]*)\)\s*$")


def split_allergies(text: str) -> list[str]:
    """The items of a free-text allergy list, as written (parentheses kept together)."""
    items: list[str] = []
    depth, current = 0, ""
    for piece in re.split(r"(\(|\))", text):
        if piece == "(":
            depth += 1
        elif piece == ")":
            depth = max(0, depth - 1)
        if depth:
            current += piece
            continue
        parts = _SPLIT.split(piece)
        current += parts[0]
        for part in parts[1:]:
            items.append(current)
            current = part
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def allergies_to_fhir(raw: Mapping[str, Any] | VendorPatient, ctx: TenantContext) -> list[dict[str, Any]]:
    """The patient's allergies; UnreadablePayload for the first item that cannot be read."""
    found, unreadable = allergies_read(read_patient(raw), ctx)
    if unreadable:
        raise UnreadablePayload(unreadable[0].field, unreadable[0].problem)
    return found


def allergies_read(patient: VendorPatient, ctx: TenantContext) -> Mapped:
    """Every allergy that can be read, and the items that cannot (all of them, when the answer
    has no `allergies` at all: unknown, not "no allergies")."""
    missing = not_returned(patient, "allergies", "AllergyIntolerance")
    if missing:
        return [], missing
    text, unreadable = _allergy_text(patient)
    if not text:
        return [], unreadable
    patient_id = patient.id
    negated = no_known_allergy(text)
    if negated:
        nka = _resource(patient, f"{patient_id}.a.nka", {"coding": [coding(*negated)], "text": text}, None)
        return [nka], unreadable
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for item in split_allergies(text):
        key = text_key(item)
        seen[key] = seen.get(key, 0) + 1
        resource_id = f"{patient_id}.a.{key}" + (f"-{seen[key]}" if seen[key] > 1 else "")
        match = _REACTION.match(item)
        reaction = match["reaction"].strip() if match and match["reaction"].strip() else None
        out.append(_resource(patient, resource_id, {"text": item}, reaction))
    return out, unreadable


def _allergy_text(patient: VendorPatient) -> tuple[str, list[Unreadable]]:
    """The documented free text; a list of text items (a shape the docs leave open) is read as
    that list, item by item."""
    value = patient.allergies
    if value is None or isinstance(value, str):
        return (value or "").strip(), []
    items: list[str] = []
    unreadable: list[Unreadable] = []
    try:
        entries = list(items_of(value, "allergies"))
    except UnreadablePayload as exc:
        return "", [Unreadable("AllergyIntolerance", patient.id, None, exc.field, exc.problem)]
    for path, item in entries:
        if isinstance(item, str):
            items.append(item)
        elif item is not None:
            unreadable.append(Unreadable("AllergyIntolerance", patient.id, None, path, "is not text"))
    return ", ".join(i.strip() for i in items if i.strip()), unreadable


def _resource(patient: VendorPatient, resource_id: str, code: dict[str, Any], reaction: str | None) -> dict[str, Any]:
    resource = compact(
        {
            "resourceType": "AllergyIntolerance",
            "id": resource_id,
            # Listed on the chart now: active. Nothing says who verified it, so no verificationStatus.
            "clinicalStatus": {"coding": [coding(ALLERGY_CLINICAL, "active", "Active")]},
            "code": code,
            "patient": reference("Patient", patient.id),
            "reaction": [{"manifestation": [{"text": reaction}]}] if reaction else [],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": instant(patient.updated_at)})
    meta["profile"] = [PROFILE_ALLERGY]
    return {"resourceType": "AllergyIntolerance", "id": resource_id, "meta": meta, **resource}
