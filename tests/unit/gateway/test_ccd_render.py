"""gateway.ccd: golden CCDs (XML and HTML) from FHIR inputs, each valid C-CDA R2.1, and the
rules a receiving HIE relies on (narrative references resolve, empty sections say so, a
restricted document does not claim to be a whole CCD, markup stays text).

Inputs: tests/golden/ccd/<case>.input.json ({patient, resources, encounter?, sections?,
service_period}); expectations beside them (.expected.xml, .expected.html).
UPDATE_GOLDEN=1 rewrites the expectations (then review the diff).
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from lxml import etree

from conformance.cda import assert_valid_ccda
from conformance.data import require_conformance_data
from gateway.ccd.document import render_ccd
from gateway.ccd.html import render_html
from gateway.ccd.model import CcdRequest, Custodian
from gateway.documents.generate import Rendered

GOLDEN = Path(__file__).parents[2] / "golden" / "ccd"
CASES = sorted(GOLDEN.glob("*.input.json"))
NS = {"v3": "urn:hl7-org:v3"}
CCD_TEMPLATE = "2.16.840.1.113883.10.20.22.1.2"


def request_of(case: Path) -> CcdRequest:
    data: dict[str, Any] = json.loads(case.read_text())
    return CcdRequest(
        patient=data["patient"],
        resources=data["resources"],
        custodian=Custodian("Lakeside Family Dental", "urn:fhir-gateway:demo"),
        created=datetime(2026, 11, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago")),
        service_period=tuple(data["service_period"]),  # type: ignore[arg-type]
        encounter=data.get("encounter"),
        sections=frozenset(data["sections"]) if "sections" in data else None,
        zone="America/Chicago",
        document_id="8F0C1B2A-0000-4000-8000-000000000001",
        set_id="8F0C1B2A-0000-4000-8000-000000000002",
    )


def rendered(case: Path) -> tuple[bytes, str]:
    rendered = Rendered(render_ccd(request_of(case)), request_of(case))
    return rendered.xml, render_html(rendered.document)


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".input.json") for c in CASES])
def test_golden(case: Path) -> None:
    xml, html = rendered(case)
    stem = case.name.removesuffix(".input.json")
    for produced, suffix in ((xml.decode(), ".expected.xml"), (html, ".expected.html")):
        expected = GOLDEN / f"{stem}{suffix}"
        if os.environ.get("UPDATE_GOLDEN") == "1":
            expected.write_text(produced)
        assert produced == expected.read_text(), f"{expected.name} differs (UPDATE_GOLDEN=1 to accept)"


@pytest.mark.conformance  # validated against the standards: the conformance tier
@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".input.json") for c in CASES])
def test_valid_c_cda(case: Path) -> None:
    require_conformance_data()
    assert_valid_ccda(rendered(case)[0])


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".input.json") for c in CASES])
def test_every_narrative_reference_resolves(case: Path) -> None:
    document = etree.fromstring(rendered(case)[0])
    targets = {node.get("ID") for node in document.iter() if node.get("ID")}
    references = [r.get("value") for r in document.iterfind(".//v3:reference", NS)]
    assert references, "entries point to their narrative"
    for value in references:
        assert value.startswith("#") and value[1:] in targets, value
    assert len(targets) == len([n for n in document.iter() if n.get("ID")]), "IDs are unique"


def test_every_entry_is_referenced_from_its_section_text() -> None:
    document = etree.fromstring(rendered(GOLDEN / "dental_record.input.json")[0])
    for section in document.iterfind(".//v3:section", NS):
        ids_in_text = {n.get("ID") for n in section.find("v3:text", NS).iter() if n.get("ID")}
        for entry in section.iterfind("v3:entry", NS):
            own = {r.get("value")[1:] for r in entry.iterfind(".//v3:reference", NS)}
            assert own and own <= ids_in_text


def test_empty_sections_say_no_information() -> None:
    document = etree.fromstring(rendered(GOLDEN / "markup_and_empty_sections.input.json")[0])
    sections = {s.findtext("v3:title", namespaces=NS): s for s in document.iterfind(".//v3:section", NS)}
    assert set(sections) == {
        "Allergies and Intolerances",
        "Medications",
        "Problems",
        "Results",
        "Social History",
        "Vital Signs",
    }, "the six required sections, always; Procedures and Encounters only with data"
    for title, section in sections.items():
        if title == "Allergies and Intolerances":
            assert section.get("nullFlavor") is None and section.findall("v3:entry", NS)
        else:
            assert section.get("nullFlavor") == "NI" and not section.findall("v3:entry", NS)
            assert "".join(section.find("v3:text", NS).itertext()).strip() == "No information"


def test_no_known_allergy_is_a_negated_observation() -> None:
    case = GOLDEN / "dental_record.input.json"
    none_known = [
        r
        for r in json.loads(case.read_text())["resources"]
        if r["resourceType"] == "AllergyIntolerance"
        and any(c.get("code") == "409137002" for c in r["code"].get("coding", []))
    ]
    document = etree.fromstring(rendered(case)[0])
    negated = document.findall(".//v3:observation[@negationInd='true']", NS)
    assert len(negated) == len(none_known) > 0
    for observation in negated:
        assert observation.find("v3:value", NS).get("code") == "416098002"  # denies "allergy to drug"
        assert observation.find(".//v3:playingEntity/v3:code", NS).get("nullFlavor") == "NA"


def test_a_restricted_document_is_not_claimed_as_a_whole_ccd() -> None:
    document = etree.fromstring(rendered(GOLDEN / "encounter_sections.input.json")[0])
    templates = {t.get("root") for t in document.iterfind("v3:templateId", NS)}
    assert CCD_TEMPLATE not in templates and "2.16.840.1.113883.10.20.22.1.1" in templates
    titles = [s.findtext("v3:title", namespaces=NS) for s in document.iterfind(".//v3:section", NS)]
    assert titles == ["Allergies and Intolerances", "Medications", "Encounters"]
    assert document.find("v3:componentOf/v3:encompassingEncounter", NS) is not None
    whole = etree.fromstring(render_ccd(request_of(GOLDEN / "dental_record.input.json")))
    assert CCD_TEMPLATE in {t.get("root") for t in whole.iterfind("v3:templateId", NS)}


def test_markup_in_data_is_text_in_xml_and_html() -> None:
    xml, html = rendered(GOLDEN / "markup_and_empty_sections.input.json")
    document = etree.fromstring(xml)
    assert document.findtext(".//v3:patient/v3:name/v3:family", namespaces=NS) == "<script>alert(1)</script>"
    assert "<script" not in html.lower() and "onerror=" not in html.replace("&lt;img src=x onerror=", "")
    page = lxml.html.document_fromstring(html)
    assert not page.xpath("//script | //img")
    assert "<img src=x onerror=alert(1)> & peanuts" in page.text_content()


def test_statuses_decide_what_a_record_means() -> None:
    """Entered in error, refuted, cancelled and not-done records describe no care and are
    left out; a planned visit is a plan, not an encounter; 'not taken' is a negation; a
    problem resolved on an unknown date has ended, one of unknown status has not."""
    document = etree.fromstring(rendered(GOLDEN / "every_section_and_status.input.json")[0])
    text = " ".join("".join(document.itertext()).split())
    for absent in ("Latex", "Wrong drug", "Not a problem", "Lipid panel", "Mistake", "Colonoscopy", "Cancelled visit"):
        assert absent not in text
    sections = {s.findtext("v3:title", namespaces=NS): s for s in document.iterfind(".//v3:section", NS)}
    encounters = sections["Encounters"].findall("v3:entry/v3:encounter", NS)
    assert [e.get("moodCode") for e in encounters] == ["EVN"]
    planned = sections["Plan of Treatment"].findall("v3:entry/v3:encounter", NS)
    assert [e.get("moodCode") for e in planned] == ["INT"]

    administrations = sections["Medications"].findall("v3:entry/v3:substanceAdministration", NS)
    assert [(a.get("moodCode"), a.get("negationInd")) for a in administrations] == [("INT", None), ("EVN", "true")]

    problems = sections["Problems"].findall("v3:entry/v3:act", NS)
    by_status = [p.find("v3:statusCode", NS).get("code") for p in problems]
    assert by_status == ["completed", "active"]  # resolved; unknown status stays open
    resolved_time = problems[0].find(".//v3:observation/v3:effectiveTime/v3:high", NS)
    assert resolved_time is not None and resolved_time.get("nullFlavor") == "UNK"

    weight = sections["Vital Signs"].find(".//v3:observation/v3:value", NS)
    assert weight.get("nullFlavor") == "OTH" and weight.get("value") is None  # no unit we can state
    assert "150 stone-ish" in text

    lab = sections["Results"].find(".//v3:observation", NS)
    assert lab.find("v3:interpretationCode", NS).get("code") == "H"
    assert [b.get("value") for b in lab.iterfind("v3:referenceRange//v3:value/*", NS)] == ["70", "99"]
    assert "Lactose\ufffd (milk)" in text  # a control character XML cannot hold, replaced
    assert document.find(".//v3:patient/v3:raceCode", NS).get("code") == "2054-5"
    assert document.find(".//v3:patient/sdtc:raceCode", {**NS, "sdtc": "urn:hl7-org:sdtc"}).get("code") == "2106-3"


def test_entry_ids_are_stable_and_belong_to_the_practice() -> None:
    case = GOLDEN / "dental_record.input.json"
    first, again = rendered(case)[0], rendered(case)[0]
    assert first == again
    other = dataclasses.replace(request_of(case), custodian=Custodian("Elsewhere", "urn:fhir-gateway:elsewhere"))
    theirs = etree.fromstring(render_ccd(other))
    ours = etree.fromstring(first)
    entry_ids = lambda doc: {i.get("root") for i in doc.iterfind(".//v3:entry//v3:id", NS)}  # noqa: E731
    assert entry_ids(ours) and not entry_ids(ours) & entry_ids(theirs)


def _vital(identifier: str, when: str | None, loinc: str, value: float) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": identifier,
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": "Patient/p"},
        "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }
    if when:
        observation["effectiveDateTime"] = when
    return observation


CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _organizers(vitals: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(organizer id root, the LOINC codes it holds) of the Vital Signs section, in order."""
    request = dataclasses.replace(request_of(GOLDEN / "dental_record.input.json"), resources=vitals)
    document = etree.fromstring(render_ccd(request))
    return [
        (
            o.find("v3:id", NS).get("root"),
            [c.get("code") for c in o.iterfind("v3:component/v3:observation/v3:code", NS)],
        )
        for o in document.iterfind(".//v3:organizer", NS)
    ]


def test_vital_signs_taken_at_one_instant_share_an_organizer_whatever_zone_names_it() -> None:
    taken = [
        _vital("a", "2026-03-01T09:15:00-06:00", "8867-4", 72),
        _vital("b", "2026-03-01T15:15:00Z", "9279-1", 16),  # the same instant, in UTC
        _vital("c", "2026-03-01T09:20:00-06:00", "8867-4", 70),
    ]
    assert [codes for _, codes in _organizers(taken)] == [["8867-4", "9279-1"], ["8867-4"]]


def test_a_day_alone_or_no_time_does_not_say_signs_were_taken_together() -> None:
    taken = [
        _vital("a", "2026-03-01", "8867-4", 72),
        _vital("b", "2026-03-01", "9279-1", 16),
        _vital("c", None, "8867-4", 70),
        _vital("d", None, "9279-1", 15),
    ]
    assert [codes for _, codes in _organizers(taken)] == [["8867-4"], ["9279-1"], ["8867-4"], ["9279-1"]]


def test_an_organizer_is_named_the_same_whatever_order_its_signs_come_in() -> None:
    taken = [_vital("a", "2026-03-01T09:15:00Z", "8867-4", 72), _vital("b", "2026-03-01T09:15:00Z", "9279-1", 16)]
    assert _organizers(taken)[0][0] == _organizers(taken[::-1])[0][0]


def test_a_time_near_year_one_is_shown_as_written_not_a_500() -> None:
    # A vendor's zero time (Go's `0001-01-01T00:00:00Z`) could not be put on a practice clock
    # west of UTC (it would fall in year 0): the narrative raised OverflowError, and the CCD of
    # a patient with such a visit was a 500 (the NexHealth clean-room round).
    request = request_of(GOLDEN / "every_section_and_status.input.json")
    resources = [
        {**r, "period": {**r["period"], "end": "0001-01-01T00:00:00Z"}}
        if r["resourceType"] == "Encounter" and r.get("period")
        else r
        for r in request.resources
    ]
    xml = render_ccd(dataclasses.replace(request, resources=resources))
    assert b"0001-01-01T00:00:00Z" in xml
