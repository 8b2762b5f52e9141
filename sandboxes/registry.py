"""Vendor name → its simulator. Adding a vendor's sandbox is one line here.

`FHIR_GATEWAY_SANDBOX_READINGS` (JSON, vendor → switches) makes every simulator the demo
starts play another reading of its docs, e.g.
`{"nexhealth": {"patient_envelope": "flat"}, "dentalpms": {"search_accents": "sensitive"}}`:
the whole suite can then run against implementations that read the docs otherwise
(`.ci/variants` does, for every combined reading the readings tests name).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from functools import partial
from typing import Any

from gateway.contract import SandboxFactory
from sandboxes import dentalpms, nexhealth, nextech, nextvisit

READINGS_ENV = "FHIR_GATEWAY_SANDBOX_READINGS"


def _readings() -> dict[str, dict[str, Any]]:
    text = os.environ.get(READINGS_ENV, "")
    if not text:
        return {}
    chosen = json.loads(text, object_hook=_datetimes)
    if not isinstance(chosen, dict) or not all(isinstance(v, dict) for v in chosen.values()):
        raise ValueError(f"{READINGS_ENV} must be a JSON object: vendor name → object of switches")
    return chosen


def playing(vendor: str) -> dict[str, Any]:
    """The switches `vendor`'s simulator plays (none: its documented reading), for a test whose
    expectation depends on one."""
    return dict(_readings().get(vendor, {}))


def _datetimes(value: dict[str, Any]) -> Any:
    """`{"$datetime": "2100-01-01T00:00:00+00:00"}` is a switch's datetime (JSON has none)."""
    return datetime.fromisoformat(value["$datetime"]) if set(value) == {"$datetime"} else value


def _playing(vendor: str, create: SandboxFactory) -> SandboxFactory:
    switches = _readings().get(vendor)
    return partial(create, **switches) if switches else create


SANDBOXES: dict[str, SandboxFactory] = {
    "dentalpms": _playing("dentalpms", dentalpms.create_sandbox),
    "nextvisit": _playing("nextvisit", nextvisit.create_sandbox),
    "nexhealth": _playing("nexhealth", nexhealth.create_sandbox),
    "nextech": _playing("nextech", nextech.create_sandbox),
}
