"""Nextech under readings of its docs the default simulator does not take: the gateway over the
Nextech simulator with each switch (`sandboxes/nextech/app.py`): section names with spaces,
a visit years ahead, and a Nextech that refuses far `end` dates.

Every resource received goes through `conformance.check_resource` (`FhirHttp`); every id and
attachment URL must be a FHIR id that the gateway itself serves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from starlette.applications import Starlette

from mappings.nextech.adapter import HORIZON_WARNING
from sandboxes.clinic import Clinic, Patient, build_clinic
from sandboxes.nextech import create_sandbox
from sandboxes.nextech.app import FAR_FUTURE_VISIT, SPACED_SECTIONS
from tests.support.fhir_http import FhirHttp
from tests.support.variants import gateway_over

TENANT = "nextech"
BASE = f"/fhir/{TENANT}"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
JSON = {"Accept": "application/fhir+json"}
SWITCHES: dict[str, dict[str, Any]] = {
    "spaced": {"section_names": "spaced"},
    "far": {"far_future_visit": True},
    "refusing": {"far_future_visit": True, "latest_end": datetime(2100, 1, 1, tzinfo=UTC)},
}


@dataclass
class Variant:
    fhir: FhirHttp
    clinic: Clinic
    simulator: Starlette
    switches: dict[str, Any]


@pytest.fixture(scope="module", params=sorted(SWITCHES))
def variant(request: pytest.FixtureRequest) -> Iterator[Variant]:
    clinic = build_clinic()
    with gateway_over("nextech", partial(create_sandbox, clinic, **SWITCHES[request.param]), tenant=TENANT) as running:
        yield Variant(running.fhir, clinic, running.sandbox.app, SWITCHES[request.param])


def _patient_id(p: Patient) -> str:
    return f"{p.id}.{p.chart_number}"


def _with_visits(clinic: Clinic, count: int) -> list[Patient]:
    chart = [
        p for p in clinic.patients if not p.deleted and any(e.status in ("finished", "arrived") for e in p.encounters)
    ]
    return chart[:count]


def _far_patient(v: Variant) -> tuple[str, int]:
    far = v.simulator.state.far_visit
    if far is None:
        pytest.skip("no far-future visit in this variant")
    patient = next(p for p in v.clinic.patients if p.id == far[0])
    return _patient_id(patient), far[1]


def _far_ids(resources: list[dict[str, Any]], encounter: int) -> list[str]:
    day = FAR_FUTURE_VISIT.strftime("%Y%m%d")
    return [r["id"] for r in resources if f".{encounter}.{day}" in r["id"]]


def _nextech_documents(fhir: FhirHttp, patient_id: str, **params: Any) -> list[dict[str, Any]]:
    """The patient's DocumentReferences from Nextech's CCDs (not the gateway's generated ones)."""
    found = fhir.search_all(f"{BASE}/DocumentReference", patient=patient_id, **params)
    return [d for d in found if d["id"].endswith(".ccd")]


def _outcome_texts(bundle: dict[str, Any]) -> list[str]:
    return [
        issue.get("diagnostics", "")
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == "outcome"
        for issue in entry["resource"]["issue"]
    ]


def test_every_document_and_attachment_is_a_served_fhir_id(variant: Variant) -> None:
    fhir = variant.fhir
    sections, urls = set(), set()
    for patient in _with_visits(variant.clinic, 3):
        documents = _nextech_documents(fhir, _patient_id(patient))
        assert documents
        for document in documents:
            assert FHIR_ID.fullmatch(document["id"]), document["id"]
            assert fhir.get_ok(f"{BASE}/DocumentReference/{document['id']}")["id"] == document["id"]
            for content in document["content"]:
                url = content["attachment"]["url"]
                kind, _, binary_id = url.partition("/")
                assert kind == "Binary" and FHIR_ID.fullmatch(binary_id), url
                assert fhir.get_ok(f"{BASE}/{url}", headers=JSON)["id"] == binary_id
                assert fhir.get(f"{BASE}/{url}").status_code == 200  # the HTML itself
                sections.add(content["attachment"]["title"])
                urls.add(url)
    if "section_names" in variant.switches:
        assert {f"CCD section: {s}" for s in SPACED_SECTIONS} <= sections
        assert any(url.endswith(".ccd.xSocial-20History") for url in urls)  # escaped, not a raw space
    assert not fhir.checks or fhir.checked


def test_a_section_binary_holds_that_section(variant: Variant) -> None:
    patient = _with_visits(variant.clinic, 1)[0]
    document = _nextech_documents(variant.fhir, _patient_id(patient))[0]
    for content in document["content"][1:]:
        name = content["attachment"]["title"].removeprefix("CCD section: ")
        html = variant.fhir.get(f"{BASE}/{content['attachment']['url']}").text
        assert f'data-section="{name}"' in html or f"<h2>{name}" in html, name


def test_an_explicit_far_date_finds_the_far_visit(variant: Variant) -> None:
    patient_id, encounter = _far_patient(variant)
    found = variant.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=["ge2031-01-01", "le2031-12-31"])
    [far_id] = _far_ids(found, encounter)
    assert variant.fhir.get_ok(f"{BASE}/Encounter/{far_id}")["status"] == "planned"
    documents = _nextech_documents(variant.fhir, patient_id, date="ge2031-01-01")
    if "latest_end" not in variant.switches:
        assert _far_ids(documents, encounter)
        found = variant.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date="ge2031-01-01")
        assert _far_ids(found, encounter)


def test_an_open_ended_search_finds_it_or_says_it_may_not(variant: Variant) -> None:
    patient_id, encounter = _far_patient(variant)
    bundle = variant.fhir.get_ok(f"{BASE}/Encounter", params={"patient": patient_id, "_count": "1000"})
    matches = [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
    assert matches  # the past visits at least
    if "latest_end" in variant.switches:
        assert not _far_ids(matches, encounter)
        assert HORIZON_WARNING in _outcome_texts(bundle)
    else:
        assert _far_ids(matches, encounter)
        assert HORIZON_WARNING not in _outcome_texts(bundle)
