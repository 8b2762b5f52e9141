"""Generated CCDs, for every demo tenant: `$docref`, DocumentReference search, Binary in XML,
HTML and FHIR JSON, `Encounter/$ccd` with sections; every CCD is validated against the CDA
schema and the C-CDA R2.1 schematron, and its entries are checked against the FHIR the
gateway serves for the same patient (nothing lost, nothing invented)."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from conformance.cda import assert_valid_ccda
from conformance.data import require_conformance_data
from sandboxes.clinic import Clinic, Patient
from tests.conftest import DEMO_TENANTS, RunningGateway
from tests.support.fhir_http import (
    FhirHttp,
    assert_refused_as_incomplete,
    outcome_of,
    playing_other_readings,
    record_is_complete,
)

V3 = "urn:hl7-org:v3"
NS = {"v3": V3}
XML = {"Accept": "application/xml"}
SECTION_CODES = {
    "allergies": "48765-2",
    "medications": "10160-0",
    "problems": "11450-4",
    "results": "30954-2",
    "social-history": "29762-2",
    "vital-signs": "8716-3",
    "procedures": "47519-4",
    "plan-of-treatment": "18776-5",
    "encounters": "46240-8",
}
REQUIRED = ("allergies", "medications", "problems", "results", "social-history", "vital-signs")


@pytest.fixture(scope="module", params=DEMO_TENANTS)
def tenant(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def patient_ids(gateway: RunningGateway, tenant: str, clinic: Clinic) -> dict[str, str]:
    """Awkward case -> the tenant's Patient id, found by searching the family name and
    matching the clinic's uuid or chart number (every vendor can search by family)."""
    client = FhirHttp(gateway.url)
    found: dict[str, str] = {}
    try:
        for case, _ in clinic.awkward:
            truth = clinic.awkward_patient(case)
            if truth.deleted:
                continue
            for resource in client.search_all(f"/fhir/{tenant}/Patient", family=truth.last_name, _count=100):
                if _is(resource, truth):
                    found[case] = str(resource["id"])
    finally:
        client.close()
    return found


def _is(resource: dict[str, Any], truth: Patient) -> bool:
    keys = {str(resource["id"]), *(str(i.get("value")) for i in resource.get("identifier", []))}
    return bool(keys & {str(truth.uuid), truth.chart_number}) or str(resource["id"]).startswith(f"{truth.id}.")


def _ccd(fhir: FhirHttp, tenant: str, patient_id: str, **params: str) -> tuple[dict[str, Any], bytes]:
    found = _ccd_or_refused(fhir, tenant, patient_id, **params)
    assert found is not None, f"{tenant}: the record of {patient_id} cannot be had whole"
    return found


def _ccd_or_refused(fhir: FhirHttp, tenant: str, patient_id: str, **params: str) -> tuple[dict[str, Any], bytes] | None:
    """The patient's CCD (its DocumentReference and XML); or None, having checked that it is
    refused as incomplete, when the tenant's vendor reading cannot give the whole record (it
    refuses far-future searches): a CCD is all or nothing."""
    bundle = fhir.get_ok(f"/fhir/{tenant}/DocumentReference/$docref", params={"patient": patient_id, **params})
    matched = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    generated = [r for r in matched if r["id"].startswith("ccd-")]
    assert len(generated) == 1, bundle
    reference = generated[0]
    response = fhir.get(f"/fhir/{tenant}/{reference['content'][0]['attachment']['url']}", headers=XML)
    if not record_is_complete(fhir, tenant, patient_id, **params):
        assert_refused_as_incomplete(response)
        return None
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/xml")
    return reference, response.content


def _sections(document: etree._Element) -> dict[str, etree._Element]:
    by_code = {code: key for key, code in SECTION_CODES.items()}
    found = {}
    for section in document.iterfind(".//v3:structuredBody/v3:component/v3:section", NS):
        found[by_code[section.find("v3:code", NS).get("code")]] = section
    return found


@pytest.mark.slow  # every awkward patient's CCD through the C-CDA schematron: ~25 s on one tenant
def test_every_awkward_patient_gets_a_valid_ccd(
    fhir: FhirHttp, tenant: str, patient_ids: dict[str, str], clinic: Clinic
) -> None:
    require_conformance_data()
    live_cases = [case for case, _ in clinic.awkward if not clinic.awkward_patient(case).deleted]
    assert set(patient_ids) == set(live_cases), f"not found: {sorted(set(live_cases) - set(patient_ids))}"
    for case, patient_id in patient_ids.items():
        found = _ccd_or_refused(fhir, tenant, patient_id)
        if found is None:
            continue
        _, xml = found
        try:
            assert_valid_ccda(xml)
        except AssertionError as exc:
            raise AssertionError(f"{tenant} {case}: {exc}") from None
        sections = _sections(etree.fromstring(xml))
        assert set(REQUIRED) <= set(sections), f"{case}: a CCD has all six required sections"


def _everything(fhir: FhirHttp, tenant: str, patient_id: str) -> dict[str, list[dict[str, Any]]]:
    resources: dict[str, list[dict[str, Any]]] = {}
    for page in fhir.pages(f"/fhir/{tenant}/Patient/{patient_id}/$everything"):
        assert "total" in page, "the record came back incomplete"
        for entry in page.get("entry", []):
            resource = entry["resource"]
            resources.setdefault(resource["resourceType"], []).append(resource)
    return resources


def _codes(node: etree._Element) -> Counter[str]:
    return Counter(
        c.get("code")
        for c in node.iter(f"{{{V3}}}code", f"{{{V3}}}value", f"{{{V3}}}translation")
        if c.get("code") is not None
    )


def test_ccd_entries_match_the_fhir_record(fhir: FhirHttp, tenant: str, patient_ids: dict[str, str]) -> None:
    """Every FHIR resource of the record has its entry, with its codes and values; and no
    entry is there that the FHIR does not have."""
    for case in ("many_vitals", "nkda", "free_text_allergy", "prn_medication", "child", "in_progress_encounter"):
        if case not in patient_ids:
            continue
        found = _ccd_or_refused(fhir, tenant, patient_ids[case])
        if found is None:
            continue
        record = _everything(fhir, tenant, patient_ids[case])
        _, xml = found
        sections = _sections(etree.fromstring(xml))

        allergies = record.get("AllergyIntolerance", [])
        acts = sections["allergies"].findall("v3:entry/v3:act", NS)
        assert len(acts) == len(allergies), f"{tenant}/{case}: one concern per AllergyIntolerance"
        narrative = _text(sections["allergies"])
        for allergy in allergies:
            assert _concept_text(allergy["code"]) in narrative

        medications = record.get("MedicationStatement", [])
        administrations = sections["medications"].findall("v3:entry/v3:substanceAdministration", NS)
        assert len(administrations) == len(medications)
        coded = _codes(sections["medications"])
        for medication in medications:
            concept = medication["medicationCodeableConcept"]
            assert _concept_text(concept) in _text(sections["medications"])
            for coding in concept.get("coding", []):
                assert coded[coding["code"]] >= 1, f"RxNorm {coding['code']} is in the CCD"

        problems = record.get("Condition", [])
        assert len(sections["problems"].findall("v3:entry/v3:act", NS)) == len(problems)

        vitals = [
            (c["code"]["coding"][0]["code"], float(c["valueQuantity"]["value"]), c["valueQuantity"]["code"])
            for o in record.get("Observation", [])
            for c in (o.get("component") or [o])
            if "valueQuantity" in c
        ]
        rendered = [
            (o.find("v3:code", NS).get("code"), float(v.get("value")), v.get("unit"))
            for o in sections["vital-signs"].iterfind(".//v3:component/v3:observation", NS)
            if (v := o.find("v3:value", NS)).get("value") is not None
        ]
        assert sorted(rendered) == sorted(vitals), f"{tenant}/{case}: codes, values and UCUM units"

        encounters = record.get("Encounter", [])
        happened = [e for e in encounters if e["status"] not in ("planned", "cancelled", "entered-in-error")]
        planned = [e for e in encounters if e["status"] == "planned"]
        for key, expected, mood in (("encounters", happened, "EVN"), ("plan-of-treatment", planned, "INT")):
            if not expected:
                assert key not in sections, f"{key} appears only with data"
                continue
            visits = sections[key].findall("v3:entry/v3:encounter", NS)
            assert [v.get("moodCode") for v in visits] == [mood] * len(expected), f"{tenant}/{case}: {key}"
        for key in REQUIRED:
            empty = sections[key].get("nullFlavor") == "NI"
            assert empty == (not sections[key].findall("v3:entry", NS)), f"{key}: NI exactly when nothing to say"


def _undated(reference: dict[str, Any]) -> dict[str, Any]:
    """A generated DocumentReference without its `date` (the moment it was listed)."""
    return {k: v for k, v in reference.items() if k != "date"}


def _text(section: etree._Element) -> str:
    return " ".join("".join(section.find("v3:text", NS).itertext()).split())


def _concept_text(concept: dict[str, Any]) -> str:
    return str(concept.get("text") or concept["coding"][0].get("display"))


def test_patient_identity_and_header(fhir: FhirHttp, tenant: str, patient_ids: dict[str, str]) -> None:
    patient_id = patient_ids["accented_name"]
    patient = fhir.get_ok(f"/fhir/{tenant}/Patient/{patient_id}")
    found = _ccd_or_refused(fhir, tenant, patient_id)
    if found is None:
        return
    reference, xml = found
    document = etree.fromstring(xml)
    role = document.find("v3:recordTarget/v3:patientRole", NS)
    family = role.findtext("v3:patient/v3:name/v3:family", namespaces=NS)
    assert family == patient["name"][0]["family"]
    assert document.find("v3:custodian//v3:name", NS).text  # the practice, from the tenant's settings
    assert document.find("v3:documentationOf/v3:serviceEvent/v3:effectiveTime", NS) is not None
    # A fresh document id on every rendering: two reads are two documents of one set.
    again = etree.fromstring(fhir.get(f"/fhir/{tenant}/Binary/{reference['id']}", headers=XML).content)
    assert again.find("v3:id", NS).get("root") != document.find("v3:id", NS).get("root")


def test_binary_as_fhir_and_as_html(fhir: FhirHttp, tenant: str, patient_ids: dict[str, str]) -> None:
    found = _ccd_or_refused(fhir, tenant, patient_ids["markup_name"])
    if found is None:
        return
    reference, _xml = found
    url = f"/fhir/{tenant}/Binary/{reference['id']}"
    resource = fhir.get_ok(url, headers={"Accept": "application/fhir+json"})
    assert resource["resourceType"] == "Binary" and resource["contentType"] == "application/xml"
    assert etree.fromstring(base64.b64decode(resource["data"])).tag == f"{{{V3}}}ClinicalDocument"
    for response in (fhir.get(url, params={"_format": "html"}), fhir.get(url, headers={"Accept": "text/html"})):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert "<script" not in response.text.lower() and "&lt;script&gt;" in response.text
        assert "Allergies and Intolerances" in response.text
    for refused in (
        fhir.get(url, params={"_format": "foo"}),
        fhir.get(url, headers={"Accept": "application/fhir+xml"}),
    ):
        assert refused.status_code == 406 and refused.json()["resourceType"] == "OperationOutcome"
    html_link = reference["content"][1]["attachment"]
    assert html_link["contentType"] == "text/html"
    assert fhir.get(f"/fhir/{tenant}/{html_link['url']}").headers["content-type"].startswith("text/html")


def test_docref_parameters(fhir: FhirHttp, tenant: str, patient_ids: dict[str, str]) -> None:
    patient_id = patient_ids["many_vitals"]
    reference, _ = _ccd(fhir, tenant, patient_id, start="2020-01-01", end="2030-12-31")
    assert reference["context"]["period"] == {"start": "2020-01-01", "end": "2030-12-31"}
    assert _undated(fhir.get_ok(f"/fhir/{tenant}/DocumentReference/{reference['id']}")) == _undated(reference)
    posted = fhir.request(
        "POST",
        f"/fhir/{tenant}/DocumentReference/$docref",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "valueId": patient_id},
                {"name": "start", "valueDateTime": "2020-01-01"},
                {"name": "end", "valueDateTime": "2030-12-31"},
                {"name": "type", "valueCoding": {"system": "http://loinc.org", "code": "34133-9"}},
                {"name": "on-demand", "valueBoolean": True},
            ],
        },
        headers={"Content-Type": "application/fhir+json"},
    )
    assert posted.status_code == 200
    assert (
        next(e["resource"]["id"] for e in posted.json()["entry"] if e["search"]["mode"] == "match") == reference["id"]
    )

    stored_only = fhir.get_ok(
        f"/fhir/{tenant}/DocumentReference/$docref", params={"patient": patient_id, "on-demand": "false"}
    )
    stored = [e["resource"] for e in stored_only.get("entry", []) if e["search"]["mode"] == "match"]
    assert not any(r["id"].startswith("ccd-") for r in stored)
    other_type = fhir.get_ok(
        f"/fhir/{tenant}/DocumentReference/$docref", params={"patient": patient_id, "type": "http://loinc.org|11506-3"}
    )
    assert not [e for e in other_type.get("entry", []) if e["search"]["mode"] == "match"]
    assert other_type.get("total", 0) == 0 or playing_other_readings()
    twice = fhir.get(f"/fhir/{tenant}/DocumentReference/$docref?patient={patient_id}&patient=other")
    assert twice.status_code == 400
    unknown = fhir.get_ok(f"/fhir/{tenant}/DocumentReference/$docref", params={"patient": "no-such-patient"})
    assert unknown["total"] == 0 and not unknown.get("entry")

    for params, expression in (
        ({}, "patient"),
        ({"patient": patient_id, "start": "yesterday"}, "start"),
        ({"patient": patient_id, "start": "2024-02-01", "end": "2024-01-01"}, "start"),
        ({"patient": patient_id, "on-demand": "maybe"}, "on-demand"),
        ({"patient": "a/b"}, "patient"),
    ):
        response = fhir.get(f"/fhir/{tenant}/DocumentReference/$docref", params=params)
        assert response.status_code == 400, params
        assert outcome_of(response)["issue"][0]["expression"] == [expression]


def test_document_reference_search(fhir: FhirHttp, tenant: str, patient_ids: dict[str, str]) -> None:
    patient_id = patient_ids["in_progress_encounter"]
    found = fhir.search_all(f"/fhir/{tenant}/DocumentReference", patient=patient_id)
    generated = [d for d in found if d["id"].startswith("ccd-")]
    capability = fhir.get_ok(f"/fhir/{tenant}/metadata")
    serves_encounters = any(r["type"] == "Encounter" for r in capability["rest"][0]["resource"])
    encounters = fhir.search_all(f"/fhir/{tenant}/Encounter", patient=patient_id) if serves_encounters else []
    took_place = [e for e in encounters if e["status"] not in ("planned", "cancelled", "entered-in-error")]
    assert [d["id"] for d in generated] == [f"ccd-p.{patient_id}"] + [f"ccd-e.{e['id']}" for e in took_place]
    # A visit still under way is documented so far, not finally (R4 composition-status).
    statuses = {d["id"]: d["docStatus"] for d in generated}
    assert [statuses[f"ccd-e.{e['id']}"] for e in took_place] == [
        "preliminary" if e["status"] in ("arrived", "triaged", "in-progress", "onleave") else "final"
        for e in took_place
    ]
    typed = fhir.search_all(f"/fhir/{tenant}/DocumentReference", patient=patient_id, type="http://loinc.org|34133-9")
    assert [_undated(d) for d in typed] == [_undated(d) for d in found]
    notes = fhir.search_all(
        f"/fhir/{tenant}/DocumentReference",
        patient=patient_id,
        category="http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category|clinical-note",
    )
    assert [d["id"] for d in notes] == [d["id"] for d in found]  # US Core patient+category
    if took_place:
        first = took_place[0]["period"]["start"][:10]
        in_visit = fhir.search_all(f"/fhir/{tenant}/DocumentReference", patient=patient_id, period=f"ge{first}")
        assert f"ccd-e.{took_place[0]['id']}" in {d["id"] for d in in_visit}
    if took_place:
        by_encounter = fhir.search_all(
            f"/fhir/{tenant}/DocumentReference", encounter=f"Encounter/{took_place[0]['id']}"
        )
        assert by_encounter[0]["id"] == f"ccd-e.{took_place[0]['id']}"
    missing = fhir.get(f"/fhir/{tenant}/DocumentReference/ccd-p.no-such-patient")
    assert missing.status_code == 404
    assert fhir.get(f"/fhir/{tenant}/Binary/ccd-nonsense").status_code == 404


@pytest.fixture
def an_encounter(fhir: FhirHttp, tenant: str, patient_ids: dict[str, str]) -> Iterator[dict[str, Any]]:
    capability = fhir.get_ok(f"/fhir/{tenant}/metadata")
    if not any(r["type"] == "Encounter" for r in capability["rest"][0]["resource"]):
        pytest.skip(f"tenant {tenant} has no encounters")
    for patient_id in patient_ids.values():  # NexHealth shows upcoming visits only
        encounters = fhir.search_all(f"/fhir/{tenant}/Encounter", patient=patient_id)
        happened = [e for e in encounters if e["status"] in ("finished", "in-progress", "arrived")]
        if happened:
            yield happened[-1]
            return
    pytest.skip(f"no awkward patient of {tenant} has had a visit")


def test_encounter_ccd_with_sections(fhir: FhirHttp, tenant: str, an_encounter: dict[str, Any]) -> None:
    require_conformance_data()
    url = f"/fhir/{tenant}/Encounter/{an_encounter['id']}/$ccd"
    whole = fhir.get(url, headers=XML)
    patient_id = an_encounter["subject"]["reference"].removeprefix("Patient/")
    if not record_is_complete(fhir, tenant, patient_id):  # a vendor reading that refuses far dates
        assert_refused_as_incomplete(whole)
        return
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("application/xml")
    assert_valid_ccda(whole.content)
    document = etree.fromstring(whole.content)
    encompassing = document.find("v3:componentOf/v3:encompassingEncounter", NS)
    assert encompassing is not None
    assert set(REQUIRED) <= set(_sections(document))
    rendered = _sections(document)["encounters"].findall("v3:entry/v3:encounter", NS)
    assert len(rendered) == 1, "an encounter's CCD lists that encounter only"

    some = fhir.get(url, params={"section": "allergies,encounters"}, headers=XML)
    assert some.status_code == 200
    assert_valid_ccda(some.content)
    assert set(_sections(etree.fromstring(some.content))) == {"allergies", "encounters"}
    html = fhir.get(url, params={"section": "allergies", "_format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "Medications" not in html.text

    parameters = {"resourceType": "Parameters", "parameter": [{"name": "section", "valueString": "allergies"}]}
    posted = fhir.request("POST", url, json=parameters, headers={**XML, "Content-Type": "application/fhir+json"})
    assert posted.status_code == 200, posted.text  # R4 operations.html#request: GET or POST
    assert set(_sections(etree.fromstring(posted.content))) == {"allergies"}

    bad = fhir.get(url, params={"section": "allergies,nonsense"})
    assert bad.status_code == 400 and "nonsense" in outcome_of(bad)["issue"][0]["diagnostics"]
    assert fhir.get(f"/fhir/{tenant}/Encounter/no-such-encounter/$ccd").status_code == 404
    assert fhir.get(f"/fhir/{tenant}/Patient/{an_encounter['id']}/$ccd").status_code == 404
    assert fhir.get(url, params={"_format": "xml"}).status_code == 406  # FHIR XML: not produced
    # A parameter the operation does not take: refused under strict handling (R4 search.html#errors,
    # as for $everything), disregarded under lenient.
    strict = fhir.get(url, params={"foo": "bar"}, headers={**XML, "Prefer": "handling=strict"})
    assert strict.status_code == 400 and outcome_of(strict)["issue"][0]["expression"] == ["foo"]
    assert fhir.get(url, params={"foo": "bar"}, headers=XML).status_code == 200

    nextech_names = fhir.get(url, params={"section": "VitalSigns,Encounter"}, headers=XML)
    assert set(_sections(etree.fromstring(nextech_names.content))) == {"vital-signs", "encounters"}
    as_fhir = fhir.get_ok(url, params={"section": "allergies"}, headers={"Accept": "application/fhir+json"})
    assert as_fhir["resourceType"] == "Binary" and "id" not in as_fhir  # not the document Binary/ccd-e. serves


def test_no_ccd_for_a_visit_not_yet_made(fhir: FhirHttp, tenant: str, patient_ids: dict[str, str]) -> None:
    capability = fhir.get_ok(f"/fhir/{tenant}/metadata")
    if not any(r["type"] == "Encounter" for r in capability["rest"][0]["resource"]):
        pytest.skip(f"tenant {tenant} has no encounters")
    for patient_id in patient_ids.values():
        every = fhir.search_all(f"/fhir/{tenant}/Encounter", patient=patient_id)
        encounters = [e for e in every if e["status"] == "planned"]
        if encounters:
            response = fhir.get(f"/fhir/{tenant}/Encounter/{encounters[0]['id']}/$ccd")
            assert response.status_code == 422 and "planned" in outcome_of(response)["issue"][0]["diagnostics"]
            reference = fhir.get(f"/fhir/{tenant}/DocumentReference/ccd-e.{encounters[0]['id']}")
            assert reference.status_code == 404
            return
    pytest.skip(f"no awkward patient of {tenant} has a planned visit")
