"""The combined readings of the vendors' docs that the readings tests name, for `.ci/variants`.

`python -m tests.support.readings count|json I|names I`: how many runs, and run I's
FHIR_GATEWAY_SANDBOX_READINGS (each vendor's I-th reading, sorted by name, starting over when a
vendor has fewer).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from tests.e2e import test_dentalpms_readings, test_nexhealth_readings, test_nextech_readings, test_nextvisit_readings

READINGS: dict[str, dict[str, dict[str, Any]]] = {
    "dentalpms": test_dentalpms_readings.VARIANTS,
    "nexhealth": test_nexhealth_readings.VARIANTS,
    "nextech": test_nextech_readings.SWITCHES,
    "nextvisit": test_nextvisit_readings.READINGS,
}


# Switches that change the clinic a simulator serves rather than how it reads its docs (a visit
# added years ahead, a record spoiled on purpose, patients without a chart number, stopped
# medications listed too): the readings tests that use them know the changed truth; the rest
# of the suite compares with the clinic as built.
DATA_SWITCHES = frozenset(
    {"far_future_visit", "far_visit_years", "unreadable_encounter", "chart_numbers", "medication_shape"}
)


def run(index: int) -> dict[str, tuple[str, dict[str, Any]]]:
    chosen = {}
    for vendor, readings in READINGS.items():
        name = sorted(readings)[index % len(readings)]
        switches = {k: v for k, v in readings[name].items() if k not in DATA_SWITCHES}
        chosen[vendor] = (name, switches)
    return chosen


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "count":
        print(max(len(r) for r in READINGS.values()))
    elif command == "json":
        chosen = {vendor: switches for vendor, (_, switches) in run(int(argv[1])).items()}
        print(json.dumps(chosen, default=lambda v: {"$datetime": v.isoformat()} if isinstance(v, datetime) else v))
    elif command == "names":
        print(", ".join(f"{vendor}={name}" for vendor, (name, _) in run(int(argv[1])).items()))


if __name__ == "__main__":
    main(sys.argv[1:])
