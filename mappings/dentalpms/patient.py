"""Dental PMS `PatientOut` → US Core Patient (pure)."""

from __future__ import annotations

import re
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, compact, fhir_date, instant, meta
from mappings.terminology import (
    BCP47,
    GENDER,
    IDENTIFIER_TYPE,
    MARITAL,
    MARITAL_STATUS,
    PROFILE_PATIENT,
)

# A preferred language of this form reads back as a BCP-47 coding, any other as text only.
BCP47_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def chart_number_type() -> dict[str, Any]:
    """The type a chart number reads back with (patient_write.py reports a type sent otherwise);
    a new one each time, since resources served are the caller's to change."""
    return {"coding": [coding(IDENTIFIER_TYPE, "MR", "Medical record number")], "text": "Chart number"}


# `active` is whether the record is in use: prospective patients are; inactive, deceased and
# archived ones are not.
_ACTIVE_STATUSES = frozenset({"active", "prospective"})


def patient_to_fhir(p: dict[str, Any], ctx: TenantContext) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p["id"],
        "meta": meta(PROFILE_PATIENT, p.get("version"), p.get("updated_at")),
        "identifier": _identifiers(p, ctx),
        "active": p.get("status") in _ACTIVE_STATUSES,
        "name": _names(p),
        "telecom": _telecom(p),
        "gender": GENDER.get((p.get("gender") or "").lower(), "unknown"),
        "birthDate": fhir_date(p.get("date_of_birth")),
    }
    if p.get("status") == "deceased" or p.get("date_time_deceased"):
        when = instant(p.get("date_time_deceased"))
        resource["deceasedDateTime" if when else "deceasedBoolean"] = when or True
    resource["address"] = _address(p)
    if p.get("marital_status") in MARITAL:
        code, display = MARITAL[p["marital_status"]]
        resource["maritalStatus"] = {"coding": [coding(MARITAL_STATUS, code, display)], "text": display}
    language = p.get("preferred_language")
    if language:
        concept: dict[str, Any] = {"text": language}
        if BCP47_TAG.match(language):
            concept["coding"] = [coding(BCP47, language)]
        resource["communication"] = [{"language": concept, "preferred": True}]
    return compact(resource)


def _identifiers(p: dict[str, Any], ctx: TenantContext) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"use": "usual", "system": ctx.system("patient-id"), "value": p["id"]}]
    if p.get("chart_number"):
        out.append(
            {
                "use": "official",
                "type": chart_number_type(),
                "system": ctx.system("chart-number"),
                "value": p["chart_number"],
            }
        )
    return out


def _names(p: dict[str, Any]) -> list[dict[str, Any]]:
    given = [g for g in (p.get("first_name"), p.get("middle_name")) if g]
    official = compact(
        {
            "use": "official",
            "family": p.get("last_name") or None,
            "given": given,
        }
    )
    names = [official]
    preferred = p.get("preferred_name")
    if preferred and preferred != p.get("first_name"):
        names.append(compact({"use": "usual", "family": p.get("last_name") or None, "given": [preferred]}))
    return names


def _telecom(p: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for field, use in (("mobile_phone", "mobile"), ("home_phone", "home"), ("work_phone", "work")):
        if p.get(field):
            out.append({"system": "phone", "value": p[field], "use": use})
    if p.get("email"):
        out.append({"system": "email", "value": p["email"]})
    return out


def _address(p: dict[str, Any]) -> list[dict[str, Any]]:
    # No `use`: the reference documents the patient's address fields without saying what kind
    # of address they hold (home, mailing or billing), and R4's `Address.use` is "The purpose of
    # this address", which the vendor does not know; US Core requires none.
    lines = [line for line in (p.get("address_line1"), p.get("address_line2")) if line]
    address = compact(
        {
            "line": lines,
            "city": p.get("city") or None,
            "state": p.get("state") or None,
            "postalCode": p.get("postal_code") or None,
            "country": p.get("country") or None,
        }
    )
    return [address] if address else []
