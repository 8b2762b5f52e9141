"""Every id-forming Nextech string (patientId, chart number, encounterId, CCD section name) under
hostile values: each id the adapter makes is a FHIR id (http://hl7.org/fhir/R4/datatypes.html#id)
and its read finds the record. The vendor is an in-memory fake behind the adapter's client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from gateway.contract import AdapterConfig, SearchRequest, TenantContext, VendorPage
from gateway.errors import InvalidRequest, NotFound, UpstreamError
from gateway.search.parse import parse_search
from mappings.ids import MIN_PART_ROOM, decode_part, encode_part
from mappings.nextech.adapter import HORIZON_WARNING, NextechAdapter
from mappings.nextech.encounter import document_to_fhir, encounter_to_fhir
from mappings.nextech.options import NextechOptions
from mappings.nextech.patient import patient_to_fhir
from mappings.nextech.vendor import VendorEncounter, VendorPatient

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
CTX = TenantContext("nx", "urn:nx")
HOSTILE = [
    "Social History",
    "Vital Signs",
    "Plan of Treatment",
    "a/b/c",
    "#1 / 2",
    "Résumé 病历 🦷",
    "x-leading-marker",
    "dots.in.it",
    "--",
    "%2F..%00",
    "A" * 200,
    "é" * 200,
    " padded ",
]
PLAIN = ["VitalSigns", "PlanOfCare", "C00012", "180", "2147483647"]


class FakeNextech:
    """Nextech's three routes over in-memory records; `term` matches chart-number prefixes."""

    def __init__(self, patients: list[dict[str, Any]], encounters: dict[str, list[dict[str, Any]]]) -> None:
        self.patients = patients
        self.encounters = encounters  # patientId -> summaries
        self.sections: list[str] = []
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def get_with_headers(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        return await self.get(path, params), {}

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        params = dict(params or {})
        self.calls.append((path, params))
        if path == "/encounters/categories":
            return self.sections
        if path == "/search":
            return [p for p in self.patients if str(p["chartNumber"]).startswith(params["term"])]
        patient = unquote(path.split("/")[1])
        if patient not in self.encounters:
            raise NotFound("Patient not found")
        start = params.get("start", "0001-01-01T00:00:00Z")
        end = params["end"]
        section = params.get("section")
        if section is not None and section not in self.sections:
            raise InvalidRequest("not a section")
        return [
            {"summary": s, "ccd": f"<p>{section or 'all'}</p>"}
            for s in self.encounters[patient]
            if start <= s["encounterDate"] <= end
        ]

    async def aclose(self) -> None:
        pass


def _patient(patient_id: Any, chart: str) -> dict[str, Any]:
    return {"patientId": patient_id, "chartNumber": chart, "firstName": "Ann", "lastName": "Lee", "dob": None}


def _summary(encounter_id: Any, when: str = "2025-03-15T15:00:00.000Z") -> dict[str, Any]:
    return {"encounterId": encounter_id, "encounterDate": when, "type": "Exam", "encounterLocked": True}


def _adapter(fake: FakeNextech, tmp_path: Path) -> NextechAdapter:
    options = NextechOptions(client_id="c", practice_id="p", oauth_base_url="http://127.0.0.1:9")
    adapter = NextechAdapter(AdapterConfig("http://127.0.0.1:9/api", CTX, options, {"client_secret": "s"}, tmp_path))
    real = adapter.client
    asyncio.run(real.aclose())
    adapter.client = fake  # type: ignore[assignment]
    return adapter


@pytest.mark.parametrize("text", HOSTILE + PLAIN + [""])
def test_the_part_codec_round_trips_within_its_room(text: str) -> None:
    for room in (MIN_PART_ROOM, 20, 64):
        part = encode_part(text, room)
        assert re.fullmatch(r"[A-Za-z0-9-]+", part) and len(part) <= room, part
        decoded = decode_part(part)
        assert decoded is not None
        assert decoded == (text, True) or (not decoded[1] and text.startswith(decoded[0]))
    if re.fullmatch(r"[A-Za-z0-9-]+", text) and not text.startswith("x") and len(text) <= 64:
        assert encode_part(text) == text  # valid strings keep today's ids


def test_no_part_decodes_as_another() -> None:
    parts = {encode_part(t, 20) for t in HOSTILE + PLAIN}
    assert len(parts) == len(HOSTILE + PLAIN)
    assert decode_part("x-2f") is None and decode_part("x-2") is None and decode_part("a.b") is None


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("role", ["patientId", "chartNumber", "encounterId", "section"])
def test_hostile_strings_make_fhir_ids_whose_reads_find_the_record(role: str, hostile: str, tmp_path: Path) -> None:
    patient_id: Any = hostile if role == "patientId" else 180
    chart = hostile if role == "chartNumber" else "C00180"
    encounter: Any = hostile if role == "encounterId" else 4711
    section = hostile if role == "section" else "VitalSigns"
    if role == "chartNumber" and not hostile.strip():
        pytest.skip("a blank chart number cannot be searched")
    patient = _patient(patient_id, chart)
    summary = _summary(encounter)
    # A neighbour the prefix search of a shortened chart number also returns, and a sibling encounter.
    others = [_patient(patient_id if role != "patientId" else 181, chart + "Z")]
    fake = FakeNextech([patient, *others], {str(patient_id): [summary, _summary(4712)]})
    fake.sections = ["Allergies", section, "PlanOfCare"]
    adapter = _adapter(fake, tmp_path)

    fhir_patient = patient_to_fhir(VendorPatient.model_validate(patient), CTX)
    item = VendorEncounter.model_validate({"summary": summary})
    encounter_resource = encounter_to_fhir(item, fhir_patient["id"], CTX, datetime.now(UTC))
    document = document_to_fhir(item, fhir_patient["id"], fake.sections)
    binaries = [c["attachment"]["url"].removeprefix("Binary/") for c in document["content"]]
    for resource_id in (fhir_patient["id"], encounter_resource["id"], document["id"], *binaries):
        assert FHIR_ID.fullmatch(resource_id), resource_id

    async def reads() -> None:
        providers = adapter.providers
        assert (await providers["Patient"].read(fhir_patient["id"]))["identifier"] == fhir_patient["identifier"]
        assert (await providers["Encounter"].read(encounter_resource["id"]))["identifier"][0]["value"] == str(encounter)
        assert (await providers["DocumentReference"].read(document["id"]))["content"] == document["content"]
        providers = adapter.providers  # rebuilt once the sections are known
        assert (await providers["Binary"].read(binaries[0]))["id"] == binaries[0]
        for binary_id, name in zip(binaries[1:], fake.sections, strict=True):
            fake.calls.clear()
            assert (await providers["Binary"].read(binary_id))["id"] == binary_id
            assert fake.calls[-1][1]["section"] == name  # the section the id stands for
        with pytest.raises(NotFound):
            await providers["Binary"].read(document["id"] + ".xNo-20such")

    asyncio.run(reads())


def _search(adapter: NextechAdapter, items: list[tuple[str, str]]) -> VendorPage:
    provider = adapter.providers["Encounter"]
    query = parse_search(provider.support, items, strict=True, default_count=20, max_count=100).query
    assert provider.search is not None
    return asyncio.run(provider.search(SearchRequest(query, None, 100)))


NEAR = str(date.today().year + 20)  # a calendar ending where a practice may still book visits


@pytest.mark.parametrize(
    ("far_end", "after"),
    [("answered", ""), ("refused", "2100"), ("failed", "2100"), ("refused", NEAR), ("failed", NEAR)],
)
def test_open_ended_searches_reach_far_visits_or_say_they_may_not(far_end: str, after: str, tmp_path: Path) -> None:
    # Refused: a 400 for an `end` after `after`. Failed: a 500 (an implementation whose `end`
    # plus a day overflows its calendar); a vendor that is merely down would fail the horizon
    # too. A calendar ending in 2100 holds nothing a practice could book past it: the search
    # is complete (its warning made every patient's CCD a 502); one ending 20 years ahead may
    # hide booked visits, and the searchset says so.
    far = _summary(1, "2031-06-16T15:00:00.000Z")
    fake = FakeNextech([_patient(180, "C00180")], {"180": [_summary(2), far]})
    if after:
        original = fake.get

        async def get(path: str, params: Mapping[str, str] | None = None) -> Any:
            if params and params.get("end", "") > after:
                if far_end == "failed":
                    raise UpstreamError("The vendor failed (HTTP 500)")
                raise InvalidRequest("The vendor rejected the request: The value is not valid for end.")
            return await original(path, params)

        fake.get = get  # type: ignore[method-assign]
    adapter = _adapter(fake, tmp_path)
    complete = after != NEAR
    for items in ([("patient", "180.C00180")], [("patient", "180.C00180"), ("date", "ge2031-01-01")]):
        page = _search(adapter, items)
        ids = [r["id"] for r in page.resources]
        if complete:
            assert "180.C00180.1.20310616" in ids and page.warnings == ()
        else:
            assert page.warnings == (HORIZON_WARNING,)
    searched = [params for path, params in fake.calls if path.endswith("/encounters/search")]
    assert "start" not in searched[0]  # no lower bound: from the patient's earliest encounter
    if after:
        assert all(params["end"] < after for params in searched[-2:])  # kept to what was answered
    else:
        assert searched[0]["end"] == "9999-12-31T00:00:00"  # UTC, without a zone designator
    # an explicit window reaches 2031 whatever Nextech thinks of far ends
    page = _search(adapter, [("patient", "180.C00180"), ("date", "ge2031-01-01"), ("date", "le2031-12-31")])
    assert [r["id"] for r in page.resources] == ["180.C00180.1.20310616"] and page.warnings == ()


def test_a_lower_bound_does_not_move_where_bookable_dates_end(tmp_path: Path) -> None:
    # A Nextech refusing an `end` in 52 years: nothing a practice could book lies past it. A
    # search from next year must not reach further than one from today does, be refused, and
    # leave the tenant's every later open search (and every patient's CCD) incomplete.
    after = str(date.today().year + 52)
    fake = FakeNextech([_patient(180, "C00180")], {"180": [_summary(2), _summary(1, "2031-06-16T15:00:00.000Z")]})
    original = fake.get

    async def get(path: str, params: Mapping[str, str] | None = None) -> Any:
        if params and params.get("end", "") > after:
            raise InvalidRequest("The vendor rejected the request: The value is not valid for end.")
        return await original(path, params)

    fake.get = get  # type: ignore[method-assign]
    adapter = _adapter(fake, tmp_path)
    next_year = date.today().replace(year=date.today().year + 1).isoformat()
    for items in ([("patient", "180.C00180"), ("date", f"ge{next_year}")], [("patient", "180.C00180")]):
        page = _search(adapter, items)
        assert "180.C00180.1.20310616" in [r["id"] for r in page.resources]
        assert page.warnings == (), items


@pytest.mark.parametrize("far_end", ["refused", "failed"])
def test_an_upper_bound_past_bookable_dates_is_searched_as_an_open_search(far_end: str, tmp_path: Path) -> None:
    # `date=le2200` over a calendar ending in 2100 was that vendor error (a 400, or a 502
    # counted against the tenant's breaker); nothing a practice could book lies past bookable
    # dates, and the gateway finishes the filter at 2200.
    fake = FakeNextech([_patient(180, "C00180")], {"180": [_summary(2), _summary(1, "2031-06-16T15:00:00.000Z")]})
    original = fake.get

    async def get(path: str, params: Mapping[str, str] | None = None) -> Any:
        if params and params.get("end", "") > "2100":
            if far_end == "failed":
                raise UpstreamError("The vendor failed (HTTP 500)")
            raise InvalidRequest("The vendor rejected the request: The value is not valid for end.")
        return await original(path, params)

    fake.get = get  # type: ignore[method-assign]
    page = _search(_adapter(fake, tmp_path), [("patient", "180.C00180"), ("date", "le2200")])
    assert "180.C00180.1.20310616" in [r["id"] for r in page.resources] and page.warnings == ()
