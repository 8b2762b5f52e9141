"""Who holds the chart number a Dental PMS create was refused for (409): looked for in lists
narrowed to the patient the request describes, never in a walk of every patient, and said to
be unknown when no list can be narrowed so."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.contract import Drift, TenantContext
from gateway.errors import AlreadyExists, Conflict, InvalidRequest
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.patient_lookup import ChartHolderUnknown
from mappings.dentalpms.reader import Reader, VendorRecord
from mappings.dentalpms.search_length import ShortestSearch
from mappings.dentalpms.writes import PatientWrites

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
GOLDEN = Path(__file__).parents[3] / "golden" / "dentalpms" / "patient" / "minimal.input.json"
RECORD: VendorRecord = json.loads(GOLDEN.read_text())["record"]
# Spring Boot's default error body: the reason phrase only, not which 409 it is.
REFUSED = UpstreamResponse(409, {}, b'{"status": 409, "error": "Conflict", "path": ""}')


class Vendor:
    """Refuses every create (409); a `search` shorter than `shortest` is a 422; the page list
    holds those of `patients` its filters match, `total` long (default: as many)."""

    def __init__(self, patients: list[VendorRecord], shortest: int = 7, total: int | None = None) -> None:
        self.patients, self.shortest, self.total = patients, shortest, total
        self.asked: list[dict[str, Any]] = []

    async def record(self, resource_id: str) -> VendorRecord:
        raise AssertionError("no patient is read")

    async def send(self, method: str, path: str, body: Any = None, headers: Any = None) -> UpstreamResponse:
        assert (method, path) == ("POST", "/patients")
        return REFUSED

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        assert path == "/patients"
        self.asked.append(dict(params))
        if len(str(params.get("search", "x" * self.shortest))) < self.shortest:
            raise InvalidRequest("search: String should have at least 7 characters")
        items = [p for p in self.patients if _matches(p, params)]
        total = self.total if self.total is not None else len(items)
        return {"items": items, "page": params["page"], "page_size": params["page_size"], "total": total}


def _matches(patient: VendorRecord, params: dict[str, Any]) -> bool:
    term, born = params.get("search"), patient.get("date_of_birth") or ""
    searched = (patient["first_name"], patient["last_name"], patient["chart_number"])
    return (
        params.get("status") in (None, patient["status"])
        and (term is None or any(term in field for field in searched))
        and ("dob_from" not in params or params["dob_from"] <= born <= params["dob_to"])
    )


def _refusal(
    vendor: Vendor, family: str, given: str, chart: str, born: str | None = None
) -> tuple[Conflict, ShortestSearch]:
    """How the create is refused, and the shortest `search` the tenant has learned by then."""
    shortest = ShortestSearch()
    writes = PatientWrites(vendor, CTX, Reader(Drift()), vendor.record, shortest)  # type: ignore[arg-type]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"family": family, "given": [given]}],
        "identifier": [{"system": CTX.system("chart-number"), "value": chart}],
    }
    if born:
        patient["birthDate"] = born
    with pytest.raises(Conflict) as refused:
        asyncio.run(writes.create(patient))
    return refused.value, shortest


def _patient(family: str, given: str, chart: str, born: str | None = None) -> VendorRecord:
    names = {"first_name": given, "last_name": family, "date_of_birth": born, "chart_number": chart}
    return {**RECORD, **names, "status": "active", "deleted_at": None}


def test_the_same_patient_is_found_by_its_name_newest_first() -> None:
    mine = _patient("Shortchart", "Ida", "Q1")
    vendor = Vendor([mine])
    found, _ = _refusal(vendor, "Shortchart", "Ida", "Q1")
    assert isinstance(found, AlreadyExists) and found.existing is not None and found.existing["id"] == mine["id"]
    refused, named = vendor.asked
    assert refused["search"] == "Q1"  # too short: refused, then the name
    assert (named["search"], named["sort_by"], named["sort_dir"]) == ("Shortchart", "created_at", "desc")


def test_another_holder_is_a_chart_number_in_use_after_a_list_of_each_status() -> None:
    vendor = Vendor([_patient("Holder", "Ann", "Q1")])
    refused, _ = _refusal(vendor, "Chartclash", "Ida", "Q1")
    assert "belongs to another patient" in refused.diagnostics and refused.expression == "Patient.identifier"
    statuses = [None, None, "inactive", "prospective", "deceased", "archived"]  # the refused term, then the name
    assert [asked.get("status") for asked in vendor.asked] == statuses


def test_names_no_term_finds_leave_the_holder_unknown_without_a_walk() -> None:
    vendor = Vendor([_patient("Núñez", "Zoë", "Q2")])
    refused, _ = _refusal(vendor, "Núñez", "Zoë", "Q2")
    assert isinstance(refused, ChartHolderUnknown) and "Chart number Q2 is in use" in refused.diagnostics
    assert refused.status == 409 and refused.expression == "Patient.identifier"
    assert [asked.get("search") for asked in vendor.asked] == ["Q2"]  # the refused term alone


def test_more_patients_so_named_than_a_page_leave_the_holder_unknown() -> None:
    # Not "another patient": the patient the request describes may be on a page not read.
    vendor = Vendor([_patient("Chartclash", "Ann", "Q9")], total=500)
    refused, _ = _refusal(vendor, "Chartclash", "Ida", "Q1")
    assert isinstance(refused, ChartHolderUnknown)
    assert all(asked["page"] == 1 for asked in vendor.asked)


def test_a_chart_number_no_term_finds_is_looked_for_by_birth_date_and_teaches_nothing() -> None:
    # "A 1" is no whole value (split on whitespace, a token may have to start a field): it is not
    # sent, and nothing is learned of the shortest term the vendor takes.
    vendor = Vendor([_patient("Holder", "Ann", "A 1", "1990-02-03")], shortest=1)
    refused, learned = _refusal(vendor, "Chartclash", "Ida", "A 1", "1990-02-03")
    assert "belongs to another patient" in refused.diagnostics
    assert [(asked.get("search"), asked["dob_from"], asked["dob_to"]) for asked in vendor.asked] == [
        (None, "1990-02-03", "1990-02-04")
    ]
    assert learned.takes("C12")


def test_a_refused_chart_number_is_learned_once_a_narrowed_list_answers() -> None:
    vendor = Vendor([_patient("Holder", "Ann", "Q1", "1990-02-03")])
    refused, learned = _refusal(vendor, "Chartclash", "Ida", "Q1", "1990-02-03")
    assert "belongs to another patient" in refused.diagnostics
    assert [asked.get("search") for asked in vendor.asked] == ["Q1", None]  # found in the first list narrowed
    assert not learned.takes("Q1") and learned.takes("Q12")
