"""Dental PMS vital-signs readings → US Core vital-signs Observations (pure).

One reading holds many measurements; each becomes its own Observation (blood pressure as a
panel with systolic/diastolic components), with the id `<patient>.<reading>.<sign>` so a read
is one vendor call. A blood pressure with one side missing keeps the other, and the missing
component says why (`dataAbsentReason`), as the vital-signs profile requires.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.contract import TenantContext
from mappings.fhirjson import coding, instant, local_datetime, meta, reference
from mappings.ids import child_id
from mappings.terminology import (
    BLOOD_PRESSURE,
    DATA_ABSENT_REASON,
    DIASTOLIC,
    LOINC,
    SYSTOLIC,
    UCUM,
    VITAL_SIGNS,
    VITAL_SIGNS_CATEGORY,
    VitalSign,
)

# Vendor field of each single-value vital sign (blood pressure is built from two fields).
FIELDS = {
    "hr": "pulse",
    "rr": "respiration_rate",
    "spo2": "oxygen_saturation",
    "temp": "temperature_f",
    "height": "height_inches",
    "weight": "weight_lbs",
    "bmi": "bmi",
    "bmip": "bmi_percentile",
}
_UNKNOWN = {"coding": [coding(DATA_ABSENT_REASON, "unknown", "Unknown")], "text": "Not recorded"}


_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")  # what vendor.py's Decimal lets through


def _number(value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        # The same answer as the Decimal route below, without it: int and float read plain
        # decimal text exactly (float rounds correctly, as float(Decimal(text)) does).
        return float(value) if "." in value else int(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() and "." not in str(value) else float(number)


def _quantity(value: int | float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _code(sign: VitalSign) -> dict[str, Any]:
    codings = [coding(LOINC, sign.loinc, sign.display)]
    codings += [coding(LOINC, code, display) for code, display in sign.extra_loinc]
    return {"coding": codings, "text": sign.display}


# Built once: the parts every Observation of a sign has in common (shared, never mutated).
_CODES = {key: _code(sign) for key, sign in VITAL_SIGNS.items()}
_PROFILES = {key: [sign.profile] for key, sign in VITAL_SIGNS.items()}
_CATEGORY = [VITAL_SIGNS_CATEGORY]
_SINGLE = tuple((field, VITAL_SIGNS[key]) for key, field in FIELDS.items())


def _tail(v: dict[str, Any], patient_id: str, ctx: TenantContext) -> dict[str, Any]:
    """The elements after `code` that every Observation of one reading has, computed once per reading."""
    tail: dict[str, Any] = {
        "subject": reference("Patient", patient_id),
        # `time_taken` keeps the offset it was written with (vendor.py): that instant, else the clinic's clock.
        "effectiveDateTime": local_datetime(v["date_taken"], v.get("time_taken"), ctx.timezone),
    }
    issued = instant(v.get("created_at"))
    if issued:
        tail["issued"] = issued
    return tail


def _observation(id_prefix: str, sign: VitalSign, meta_base: dict[str, Any], tail: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id_prefix + sign.key,
        "meta": {**meta_base, "profile": _PROFILES[sign.key]},
        "status": "final",
        "category": _CATEGORY,
        "code": _CODES[sign.key],
        **tail,
    }


def vitals_to_fhir(v: dict[str, Any], patient_id: str, ctx: TenantContext) -> list[dict[str, Any]]:
    """Every Observation one reading yields, in a fixed order (blood pressure first)."""
    out: list[dict[str, Any]] = []
    meta_base = meta(None, v.get("version"), v.get("updated_at"))
    tail = _tail(v, patient_id, ctx)
    id_prefix = child_id(patient_id, v["id"]) + "."  # + the sign's key: child_id(patient, reading, key)
    systolic, diastolic = _number(v.get("bp_systolic")), _number(v.get("bp_diastolic"))
    if systolic is not None or diastolic is not None:
        bp = _observation(id_prefix, BLOOD_PRESSURE, meta_base, tail)
        bp["component"] = [
            _component(code, display, value)
            for (code, display), value in ((SYSTOLIC, systolic), (DIASTOLIC, diastolic))
        ]
        out.append(bp)
    for field, sign in _SINGLE:
        value = _number(v.get(field))
        if value is None:
            continue
        observation = _observation(id_prefix, sign, meta_base, tail)
        observation["valueQuantity"] = _quantity(value, sign.unit)
        out.append(observation)
    return out


def _component(code: str, display: str, value: int | float | None) -> dict[str, Any]:
    component: dict[str, Any] = {"code": {"coding": [coding(LOINC, code, display)], "text": display}}
    if value is None:
        component["dataAbsentReason"] = _UNKNOWN
    else:
        component["valueQuantity"] = _quantity(value, "mm[Hg]")
    return component
