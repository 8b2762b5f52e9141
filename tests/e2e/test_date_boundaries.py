"""Date searches at their boundaries on every demo tenant: a record whose date reaches the
search value's own second is found by `ge`/`le` (search.html#prefix, "or equal"), whether the
gateway or the vendor applies the condition."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import DEMO_TENANTS, RunningGateway
from tests.e2e.test_everything import _statement
from tests.support.fhir_http import FhirHttp

# search parameter `date` and the element it reads (US Core: Encounter.period, Observation.effective)
_DATED = {"Encounter": "period", "Observation": "effectiveDateTime"}


def _patients(fhir: FhirHttp, tenant: str) -> list[str]:
    needs_name = "requires one of" in _statement(fhir, tenant)["Patient"].get("documentation", "")
    params = {"family": "s", "_count": "30"} if needs_name else {"_count": "30"}
    return [e["resource"]["id"] for e in fhir.get_ok(f"/fhir/{tenant}/Patient", params=params)["entry"]]


def _bounds(resource: dict[str, Any]) -> tuple[str | None, str | None]:
    if "period" in resource:
        return resource["period"].get("start"), resource["period"].get("end")
    value = resource.get("effectiveDateTime")
    return value, value


@pytest.mark.parametrize("tenant", DEMO_TENANTS)
def test_ge_and_le_at_a_records_own_instants_find_it(fhir: FhirHttp, tenant: str) -> None:
    resources = _statement(fhir, tenant)
    checked = 0
    for patient, rtype in ((p, t) for p in _patients(fhir, tenant) for t in _DATED if t in resources):
        if checked >= 6:
            break
        for resource in fhir.search_all(f"/fhir/{tenant}/{rtype}", patient=patient)[:3]:
            start, end = _bounds(resource)
            for prefix, value in (("le", start), ("ge", end)):
                if value is None or "T" not in value:
                    continue
                found = fhir.search_all(f"/fhir/{tenant}/{rtype}", patient=patient, date=f"{prefix}{value}")
                assert resource["id"] in {r["id"] for r in found}, (rtype, prefix, value)
                checked += 1
    assert checked > 0


def test_a_day_long_value_is_found_by_le_its_first_second_and_ge_its_last(
    fhir: FhirHttp, gateway: RunningGateway
) -> None:
    # Dental PMS vital signs dated by the day: the day runs in the practice's zone.
    tenant = "dentalpms"
    zone = ZoneInfo(gateway.settings.tenants[tenant].timezone)
    patient, observation = next(
        (p, o)
        for p in _patients(fhir, tenant)
        for o in fhir.search_all(f"/fhir/{tenant}/Observation", patient=p)
        if "T" not in o.get("effectiveDateTime", "T")
    )
    day = date.fromisoformat(observation["effectiveDateTime"])
    first = datetime.combine(day, time(0, 0), zone).isoformat()
    last = datetime.combine(day, time(23, 59, 59), zone).isoformat()
    for condition in (f"le{first}", f"ge{last}"):
        found = fhir.search_all(f"/fhir/{tenant}/Observation", patient=patient, date=condition)
        assert observation["id"] in {o["id"] for o in found}, condition
