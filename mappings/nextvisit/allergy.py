"""Nextvisit's free-text `allergies` → US Core AllergyIntolerance, one per allergy (pure).

The text is a clinician's list ("Penicillin, Sulfa drugs", "Latex (hives); codeine", one
item a line, with or without "- " or "1. " before it, or a JSON array stored as its text), or
a list of its items, as text or as rows naming a substance and its reaction.
Each item becomes one AllergyIntolerance whose `code.text` is the item as written; a
parenthesised note becomes the reaction's manifestation text. "No known allergies" spellings
(`NKDA`, `No allergies`, `Denies`, `No known drug allergies (NKDA)`) become the SNOMED
situation concept instead of an allergy to something called "NKDA", also when charted as one
item beside allergies to other things (`NKDA; Latex (hives)`: no known drug allergy, and latex). Empty text, null or a
text recording nothing (`N/A`, `-`, `Unknown`) means nothing was recorded: no resources, not
a claim of no allergies; an answer without the field says nothing at all (reported as
unreadable, `vendor.not_returned`). Ids derive from the patient and the item's text, so they
are stable across requests and restarts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, content_version, reference, text_key
from mappings.nextvisit.options import vendor_timezone
from mappings.nextvisit.pages import beyond_first_page
from mappings.nextvisit.vendor import (
    Mapped,
    Unreadable,
    UnreadablePayload,
    VendorPatient,
    items_of,
    not_returned,
    read_patient,
    zoned_instant,
)
from mappings.terminology import ALLERGY_CLINICAL, NO_KNOWN_ALLERGY, PROFILE_ALLERGY, no_known_allergy

_SPLIT = re.compile(r"\s*(?:[,;\n]|\band\b|&)\s*", re.IGNORECASE)
_REACTION = re.compile(r"^(?P<substance>[^(]+?)\s*\((?P<reaction>[^)]*)\)\s*$")
# A list marker typed before an item on its own line: "- ", "* ", "• ", "1. ", "2) ".
_MARKER = re.compile(r"^(?:[-*\u2022]|\d{1,2}[.)])\s+")
# Texts that record nothing (not a claim of no allergies): "N/A", "-", "unknown".
NOTHING_RECORDED = frozenset({"n/a", "na", "-", "--", "unknown", "not applicable", "not recorded", "not assessed"})
# Further ways of writing "no known allergies" (the terminology module has the common ones).
_MORE_NO_KNOWN = frozenset({"no allergies", "no known allergies", "denies", "denies allergies", "nka/nkda"})
_PARTS = re.compile(r"[()/,;]")


def split_list(text: str, separators: re.Pattern[str]) -> list[str]:
    """The items of a free-text list, as written (parentheses kept together, list markers off)."""
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
        parts = separators.split(piece)
        current += parts[0]
        for part in parts[1:]:
            items.append(current)
            current = part
    items.append(current)
    return [_MARKER.sub("", item.strip()).strip() for item in items if _MARKER.sub("", item.strip()).strip()]


def split_allergies(text: str) -> list[str]:
    """The items of a free-text allergy list, as written (parentheses kept together)."""
    return split_list(text, _SPLIT)


def listed_text(text: str) -> list[str] | None:
    """The items of a text that is a JSON array of strings (a list stored as its JSON text)."""
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else None


def _key(text: str) -> str:
    return " ".join(text.lower().replace(".", "").split())


def negation(text: str) -> tuple[str, str, str] | None:
    """The "no known allergy" concept a text states, if it states one: a spelling of it
    (`NKDA`, `No allergies`, `Denies`), or parts that each are one (`No known drug allergies
    (NKDA)`, `NKA/NKDA`): the drug-only concept when every part says drug, else the general one."""
    found = no_known_allergy(text) or (NO_KNOWN_ALLERGY if _key(text) in _MORE_NO_KNOWN else None)
    if found:
        return found
    parts = [part for part in _PARTS.split(text) if part.strip()]
    said = [no_known_allergy(part) or (NO_KNOWN_ALLERGY if _key(part) in _MORE_NO_KNOWN else None) for part in parts]
    if len(parts) < 2 or not all(said):
        return None
    return NO_KNOWN_ALLERGY if NO_KNOWN_ALLERGY in said else said[0]


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
    if not text or _key(text) in NOTHING_RECORDED:
        return [], unreadable
    patient_id, zone = patient.id, vendor_timezone(ctx)
    negated = negation(text)
    if negated:
        nka = _resource(patient, f"{patient_id}.a.nka", {"coding": [coding(*negated)], "text": text}, None, zone)
        return [nka], unreadable
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for item in split_allergies(text):
        stated = negation(item)
        # "NKDA; Latex (hives)": no known *drug* allergy charted beside others is that concept,
        # never an allergy to a substance called "NKDA" (the text says the two apart).
        key = "nka" if stated else text_key(item)
        seen[key] = seen.get(key, 0) + 1
        resource_id = f"{patient_id}.a.{key}" + (f"-{seen[key]}" if seen[key] > 1 else "")
        if stated:
            out.append(_resource(patient, resource_id, {"coding": [coding(*stated)], "text": item}, None, zone))
            continue
        match = _REACTION.match(item)
        reaction = match["reaction"].strip() if match and match["reaction"].strip() else None
        out.append(_resource(patient, resource_id, {"text": item}, reaction, zone))
    return out, unreadable


def _allergy_text(patient: VendorPatient) -> tuple[str, list[Unreadable]]:
    """The documented free text; a list of text items or of rows naming a substance (shapes the
    docs leave open) is read as that list, item by item."""
    value = patient.allergies
    if isinstance(value, str):
        listed = listed_text(value.strip())
        value = value if listed is None else listed
    if value is None or isinstance(value, str):
        return (value or "").strip(), []
    items: list[str] = []
    unreadable: list[Unreadable] = beyond_first_page(patient, "allergies", "AllergyIntolerance")
    try:
        entries = list(items_of(value, "allergies"))
    except UnreadablePayload as exc:
        return "", [Unreadable("AllergyIntolerance", patient.id, None, exc.field, exc.problem)]
    for path, item in entries:
        written = item_text(item)
        if written is not None:
            items.append(written)
        elif item is not None:
            unreadable.append(Unreadable("AllergyIntolerance", patient.id, None, path, "names no substance"))
    return ", ".join(i.strip() for i in items if i.strip()), unreadable


# Where a row of allergies (a `hasMany` rendered as a relation; the PatientFull examples never show
# the field) names its substance, and its reaction.
_SUBSTANCE_NAMES = ("name", "substance", "allergen", "allergy", "description")
_REACTION_NAMES = ("reaction", "reactions")


def item_text(item: Any) -> str | None:
    """An allergy item as the text would write it: text as it is; a row as its substance, with
    its reaction (text, or a list of texts) in parentheses, as "Penicillin (hives)" is written;
    None when it names no substance."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return None
    name = next((v.strip() for k in _SUBSTANCE_NAMES if isinstance(v := item.get(k), str) and v.strip()), None)
    if name is None:
        return None
    said = next((item[k] for k in _REACTION_NAMES if item.get(k)), None)
    reactions = [said] if isinstance(said, str) else said if isinstance(said, list) else []
    reaction = "; ".join(r.strip() for r in reactions if isinstance(r, str) and r.strip())
    return f"{name} ({reaction})" if reaction else name


def _resource(
    patient: VendorPatient, resource_id: str, code: dict[str, Any], reaction: str | None, zone: tzinfo
) -> dict[str, Any]:
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
    meta = compact({"versionId": content_version(resource), "lastUpdated": zoned_instant(patient.updated_at, zone)})
    meta["profile"] = [PROFILE_ALLERGY]
    return {"resourceType": "AllergyIntolerance", "id": resource_id, "meta": meta, **resource}
