"""``abnormal_flags`` of a vital-signs reading (which also decide ``is_procedure_blocking``).

``VitalSignsOut`` in ``vendor-docs/dentalpms-api.txt`` names the critical ranges that block
dental procedures ("BP >180/120, SpO2 <94%"): systolic >180, diastolic >120 and SpO2 <94
are critical. The warning thresholds are the sandbox's own (the docs give none): BP
>=140/>=90, pulse >120 or <50, temperature >=100.4 °F. Each flag is ``{"vital",
"message", "severity"}``.
"""

from __future__ import annotations

from decimal import Decimal

from sandboxes.clinic import VitalSigns
from sandboxes.toolkit.aliases import JsonObject

__all__ = ["abnormal_flags"]

_FEVER_F = Decimal("100.4")


def abnormal_flags(vitals: VitalSigns) -> list[JsonObject]:
    """The reading's out-of-range values, in a fixed order (BP, SpO2, pulse, temperature)."""
    flags: list[JsonObject] = []

    def flag(vital: str, message: str, severity: str) -> None:
        flags.append({"vital": vital, "message": message, "severity": severity})

    systolic, diastolic = vitals.systolic, vitals.diastolic
    if systolic is not None and systolic > 180:
        flag("bp_systolic", "Systolic blood pressure above 180 mmHg", "critical")
    elif systolic is not None and systolic >= 140:
        flag("bp_systolic", "Systolic blood pressure 140 mmHg or higher", "warning")
    if diastolic is not None and diastolic > 120:
        flag("bp_diastolic", "Diastolic blood pressure above 120 mmHg", "critical")
    elif diastolic is not None and diastolic >= 90:
        flag("bp_diastolic", "Diastolic blood pressure 90 mmHg or higher", "warning")
    if vitals.spo2 is not None and vitals.spo2 < 94:
        flag("oxygen_saturation", "Oxygen saturation below 94%", "critical")
    if vitals.pulse is not None and (vitals.pulse > 120 or vitals.pulse < 50):
        flag("pulse", "Pulse outside 50-120 bpm", "warning")
    if vitals.temperature_f is not None and vitals.temperature_f >= _FEVER_F:
        flag("temperature_f", "Temperature 100.4 °F or higher", "warning")
    return flags
