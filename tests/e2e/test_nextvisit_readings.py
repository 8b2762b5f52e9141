"""The Nextvisit tenant under each reading of its docs the simulator can take (its `create_app`
switches): nothing the clinic holds is lost, nothing is a 502 but the read of the one record
that cannot be read, and a search that leaves a record out says so in an outcome entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import Encounter, Patient, build_clinic
from sandboxes.nextvisit import create_sandbox
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.variants import gateway_over

BASE = "/fhir/nextvisit"
STATUS = {"planned": "planned", "arrived": "in-progress", "finished": "finished", "cancelled": "cancelled"}
CLINIC = build_clinic()
LIVE = [p for p in CLINIC.patients if not p.deleted]
#: The patient with the most encounters; its second-newest encounter is the unreadable one.
BUSY = max(LIVE, key=lambda p: len(p.encounters))
BROKEN: Encounter = sorted(BUSY.encounters, key=lambda e: (e.start, -e.id), reverse=True)[1]

READINGS: dict[str, dict[str, Any]] = {
    "as-documented": {},
    "flat-encounters": {"encounter_shape": "flat"},
    "read-without-demographics": {"include_demographics": False},
    "one-unreadable-encounter": {"unreadable_encounter": BROKEN.id},
    "all-at-once": {"encounter_shape": "flat", "include_demographics": False, "unreadable_encounter": BROKEN.id},
}


@dataclass(frozen=True)
class Reading:
    name: str
    switches: dict[str, Any]
    fhir: FhirHttp

    @property
    def start_field(self) -> str:
        return "date_of_service" if self.switches.get("encounter_shape") == "flat" else "start_time"

    @property
    def broken(self) -> int | None:
        value: int | None = self.switches.get("unreadable_encounter")
        return value


@pytest.fixture(scope="module", params=list(READINGS))
def reading(request: pytest.FixtureRequest) -> Iterator[Reading]:
    switches = READINGS[request.param]
    with gateway_over("nextvisit", partial(create_sandbox, CLINIC, **switches), organization="Readings") as running:
        yield Reading(request.param, switches, running.fhir)


def _start(encounter: Encounter) -> str:
    return encounter.start.isoformat().replace("+00:00", "Z")


def _outcomes(bundle: dict[str, Any]) -> list[str]:
    return [
        issue["diagnostics"]
        for entry in bundle.get("entry", [])
        if entry.get("search", {}).get("mode") == "outcome"
        for issue in entry["resource"]["issue"]
    ]


def _private(patient: Patient) -> list[str]:
    """Values of the patient that must never appear in a message."""
    return [v for v in (patient.first_name, patient.last_name, patient.email, _start(BROKEN)) if v]


def test_every_encounter_is_served(reading: Reading) -> None:
    for truth in [*LIVE[::4], BUSY]:
        bundle = reading.fhir.get_ok(f"{BASE}/Encounter", params={"patient": str(truth.id), "_count": "100"})
        got = [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        expected = [e for e in truth.encounters if e.id != reading.broken]
        assert Counter((e["period"]["start"], e["status"]) for e in got) == Counter(
            (_start(e), STATUS[e.status]) for e in expected
        ), truth.id
        locations = {loc.id: loc.name for loc in CLINIC.locations}
        by_id = {e["identifier"][0]["value"]: e for e in got}
        for encounter in expected:
            resource = by_id[str(encounter.id)]
            assert resource["participant"][0]["individual"]["display"].startswith(
                next(f"{p.first_name} {p.last_name}" for p in CLINIC.providers if p.id == encounter.provider_id)
            )
            shown = [loc["location"]["display"] for loc in resource.get("location", [])]
            assert shown in ([], [locations[encounter.location_id]])
            assert shown or resource["class"]["code"] == "VR"
        if truth is BUSY and reading.broken:
            assert bundle.get("total") is None  # a count would claim the list is complete
            (message,) = _outcomes(bundle)
            assert f"Encounter/{BUSY.id}.e.{BROKEN.id}" in message and f"[1].{reading.start_field}" in message
            assert not any(value in message for value in _private(truth)), message
        else:
            assert _outcomes(bundle) == []


def test_each_encounter_reads_as_found_and_only_the_unreadable_one_is_a_502(reading: Reading) -> None:
    found = reading.fhir.search_all(f"{BASE}/Encounter", patient=str(BUSY.id))
    for encounter in found[:4]:
        assert reading.fhir.get_ok(f"{BASE}/Encounter/{encounter['id']}") == encounter
    response = reading.fhir.get(f"{BASE}/Encounter/{BUSY.id}.e.{BROKEN.id}")
    if reading.broken is None:
        assert response.status_code == 200
        return
    assert response.status_code == 502
    diagnostics = outcome_of(response)["issue"][0]["diagnostics"]
    assert reading.start_field in diagnostics and f"{BUSY.id}.e.{BROKEN.id}" in diagnostics
    assert not any(value in diagnostics for value in _private(BUSY)), diagnostics


def test_everything_keeps_the_rest_and_says_what_is_missing_a_ccd_is_all_or_nothing(reading: Reading) -> None:
    pages = list(reading.fhir.pages(f"{BASE}/Patient/{BUSY.id}/$everything"))
    records = [e["resource"] for page in pages for e in page.get("entry", []) if e["search"]["mode"] == "match"]
    kinds = Counter(r["resourceType"] for r in records)
    assert kinds["Encounter"] == len(BUSY.encounters) - (1 if reading.broken else 0)
    assert kinds["Patient"] == 1
    said = [d for page in pages for d in _outcomes(page)]
    bundle = reading.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": str(BUSY.id)})
    (ccd,) = [e["resource"] for e in bundle["entry"] if e["resource"]["id"].startswith("ccd-")]
    url = ccd["content"][0]["attachment"]["url"]
    response = reading.fhir.get(f"{BASE}/{url}", headers={"Accept": "application/xml"})
    if reading.broken is None:
        assert said == [] and all("total" in page for page in pages)
        assert response.status_code == 200, response.text[:300]
        return
    broken = f"Encounter/{BUSY.id}.e.{BROKEN.id}"
    assert any(broken in d for d in said) and not any("total" in page for page in pages)
    # A CCD whose Encounters section would silently lack a visit is refused, naming the record.
    assert response.status_code == 502 and broken in outcome_of(response)["issue"][0]["diagnostics"]


def test_read_and_search_give_the_same_patient(reading: Reading) -> None:
    found = {p["id"]: p for p in reading.fhir.search_all(f"{BASE}/Patient", _count=100)}
    assert set(found) == {str(p.id) for p in LIVE}
    for truth in LIVE[::6]:
        read = reading.fhir.get_ok(f"{BASE}/Patient/{truth.id}")
        assert read == found[str(truth.id)]
        values = {t["value"] for t in read.get("telecom", [])}
        if truth.email:
            assert truth.email in values, truth.id
        if truth.mobile_phone or truth.home_phone:
            assert any(t["system"] == "phone" for t in read["telecom"]), truth.id
