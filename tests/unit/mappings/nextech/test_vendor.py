"""Nextech's records as vendor.py reads them, in the shapes the docs leave open."""

from __future__ import annotations

import base64
import codecs
import html
import json
from typing import Any

import pytest
from pydantic import ValidationError

from mappings.nextech.vendor import (
    UnreadablePayload,
    VendorEncounter,
    VendorPatient,
    items_of,
    member_names,
    section_names,
)

HTML = "<!DOCTYPE html>\n<h1>Continuity of Care Document</h1><td>Renée</td>"
SUMMARY = {"encounterId": 7, "encounterDate": "2017-12-14T15:08:59.934Z", "encounterLocked": True}


@pytest.mark.parametrize(
    "ccd",
    [
        HTML,
        base64.b64encode(HTML.encode()).decode(),  # a byte[] as Json.NET and Jackson write it
        base64.encodebytes(HTML.encode()).decode(),  # a MIME encoder's, broken into lines
        base64.b64encode(HTML.encode("utf-16")).decode(),  # .NET's Encoding.Unicode, with its mark
        base64.b64encode(HTML.encode("utf-16-le")).decode(),  # Encoding.Unicode.GetBytes: no mark
        base64.b64encode(HTML.encode("utf-16-be")).decode(),
        base64.b64encode(codecs.BOM_UTF8 + HTML.encode()).decode(),
    ],
)
def test_a_ccd_as_text_or_as_the_base64_of_its_bytes_is_the_html(ccd: str) -> None:
    assert VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd}).ccd == HTML


LEGACY = "<!DOCTYPE html><meta {}><td>Renée</td><td>98.6 °F</td>"


@pytest.mark.parametrize(
    "meta",
    [
        'charset="windows-1252"',  # a .NET Framework team's Encoding.Default, Java's getBytes() under Cp1252
        "charset=ISO-8859-1",  # read as windows-1252, as the WHATWG Encoding Standard says
        'http-equiv="Content-Type" content="text/html; charset=windows-1252"',
        'charset="utf-8"',  # a template's <meta> the encoder did not follow: windows-1252, HTML's default
    ],
)
def test_a_ccd_as_bytes_in_the_charset_its_meta_declares_is_the_html(meta: str) -> None:
    html = LEGACY.format(meta)
    ccd = base64.b64encode(html.encode("cp1252")).decode()
    assert VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd}).ccd == html


def test_a_ccd_as_utf8_bytes_under_a_legacy_meta_is_read_as_utf8() -> None:
    html = LEGACY.format('charset="windows-1252"')
    ccd = base64.b64encode(html.encode()).decode()
    assert VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd}).ccd == html


@pytest.mark.parametrize("ccd", ["No CCD on file", "None", "", None, base64.b64encode(b"\xff\xfe\x00<").decode()])
def test_text_that_is_no_base64_of_markup_is_kept_as_written(ccd: Any) -> None:
    assert VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd}).ccd == ccd


@pytest.mark.parametrize(
    "row",
    [
        {"Summary": {"EncounterID": 7, "EncounterDate": "/Date(1513264139934)/"}, "CCD": HTML},
        {"summary": {"encounter_id": 7, "encounter_date": "/Date(1513264139934+0100)/"}, "ccd": HTML},
    ],
)
def test_keys_spelled_as_a_teams_classes_and_microsoft_dates_are_read(row: dict[str, Any]) -> None:
    item = VendorEncounter.model_validate(row)
    assert item.summary.encounterId == "7" and item.ccd == HTML
    assert item.summary.encounterDate is not None
    assert item.summary.encounterDate.isoformat() == "2017-12-14T15:08:59.934000+00:00"


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        (1513264139934, "2017-12-14T15:08:59.934000+00:00"),  # Jackson's java.util.Date
        ("1513264139", "2017-12-14T15:08:59+00:00"),  # a PHP unix-time column through PDO
        (1513264139, "2017-12-14T15:08:59+00:00"),
        (1513264139.934, "2017-12-14T15:08:59.934000+00:00"),  # JavaTimeModule's Instant
        ("1513264139.934000000", "2017-12-14T15:08:59.934000+00:00"),
        ("1513264139934", "2017-12-14T15:08:59.934000+00:00"),
    ],
)
def test_instants_as_epoch_numbers_are_read_in_seconds_or_milliseconds(written: Any, instant: str) -> None:
    """The docs show `encounterDate` by example only: an implementation may write it as an epoch number."""
    summary = {**SUMMARY, "encounterDate": written, "encounterLocked": written}
    item = VendorEncounter.model_validate({"summary": summary, "ccd": HTML})
    assert item.summary.encounterDate is not None and item.summary.encounterDate.isoformat() == instant
    assert item.summary.encounterLocked is True  # when it was locked


@pytest.mark.parametrize(
    ("written", "day"),
    [
        (479692800000, "1985-03-15"),
        ("479692800", "1985-03-15"),
        (-93830400000, "1967-01-11"),  # before 1970, in milliseconds
        ("-93830400", "1967-01-11"),  # and in seconds
        (3196800000, "1970-02-07"),  # early 1970 in milliseconds: as seconds, 2071
        (479689200, "1985-03-15"),  # a +01:00 server's midnight, in seconds
    ],
)
def test_a_birth_date_as_an_epoch_midnight_is_its_day(written: Any, day: str) -> None:
    patient = VendorPatient.model_validate({"patientId": 7, "dob": written})
    assert patient.dob is not None and patient.dob.isoformat() == day


PAGE = (
    '<!DOCTYPE html>\n<div class="section" data-section="Allergies">\n'
    "<h2>Allergies</h2>\n<table><tr><td>AT&amp;T &lt;5</td></tr></table>\n</div>\n"
)
_INNER = PAGE.split("\n", 2)[2].rsplit("</div>", 1)[0]


@pytest.mark.parametrize(
    "ccd",
    [
        html.escape(PAGE),  # an output encoder's (HtmlUtils.htmlEscape, HttpUtility.HtmlEncode)
        html.escape(html.escape(PAGE)),  # escaped twice
        PAGE.replace(_INNER, html.escape(_INNER)),  # a block put in the page by an auto-escaping template
        json.dumps(PAGE),  # JSON-encoded once more
        json.dumps(PAGE)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e"),  # its content, escaped
        json.dumps(html.escape(PAGE)),
    ],
)
def test_a_ccd_escaped_on_its_way_out_is_its_markup(ccd: str) -> None:
    assert VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd}).ccd == PAGE


@pytest.mark.parametrize("ccd", ["a &lt; b", "&lt;b&gt;x", '"quoted"', "<p>AT&amp;T &lt;5 mg</p>", "&lt;td&gt;"])
def test_text_holding_no_escaped_element_is_kept_as_written(ccd: str) -> None:
    assert VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd}).ccd == ccd


def test_markup_under_more_escaping_than_is_read_is_unreadable_not_text() -> None:
    ccd = PAGE
    for _ in range(4):
        ccd = html.escape(ccd)
    with pytest.raises(ValidationError, match="escaped more times"):
        VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd})


@pytest.mark.parametrize(
    "written",
    [
        [2017, 12, 14, 15, 8, 59, 934000000],  # Jackson's JavaTimeModule: a LocalDateTime
        "Dec 14, 2017, 3:08:59 PM",  # Gson's default, JDK 9-19
        "Dec 14, 2017 3:08:59 PM",  # JDK 8
        "Dec 14, 2017, 3:08:59\u202fPM",  # JDK 20 on
        "2017-12-14T09:08:59-06:00[America/Chicago]",  # ZonedDateTime.toString()
        {"date": "2017-12-14 09:08:59.000000", "timezone_type": 3, "timezone": "America/Chicago"},  # PHP's
        {"date": "2017-12-14 15:08:59.000000", "timezone_type": 1, "timezone": "+00:00"},
    ],
)
def test_instants_as_java_and_php_libraries_write_them_are_read(written: Any) -> None:
    summary = {**SUMMARY, "encounterDate": written, "encounterLocked": written}
    item = VendorEncounter.model_validate({"summary": summary, "ccd": HTML})
    assert item.summary.encounterDate is not None
    assert item.summary.encounterDate.isoformat()[:19] == "2017-12-14T15:08:59"
    assert item.summary.encounterLocked is True


@pytest.mark.parametrize(
    "written",
    [
        [1985, 3, 15],  # Jackson's LocalDate
        [1985, 3, 14, 23, 0],  # a +01:00 server's midnight held in UTC
        "Mar 15, 1985, 12:00:00 AM",  # Gson's java.util.Date
        "Mar 15, 1985",  # Gson's java.sql.Date
        {"date": "1985-03-15 00:00:00.000000", "timezone_type": 3, "timezone": "America/Chicago"},
    ],
)
def test_birth_dates_as_java_and_php_libraries_write_them_are_their_day(written: Any) -> None:
    patient = VendorPatient.model_validate({"patientId": 7, "dob": written})
    assert patient.dob is not None and patient.dob.isoformat() == "1985-03-15"


@pytest.mark.parametrize("written", [[2017, 13, 1], [True, 1, 1], {"date": "soon", "timezone": "UTC"}, {}])
def test_arrays_and_objects_that_are_no_date_are_unreadable(written: Any) -> None:
    with pytest.raises(ValidationError):
        VendorEncounter.model_validate({"summary": {**SUMMARY, "encounterDate": written}, "ccd": HTML})


@pytest.mark.parametrize(
    "one",
    [{"patientId": 7, "lastName": "Núñez"}, {"PatientID": "7"}, {"summary": SUMMARY, "ccd": HTML}, SUMMARY],
)
def test_a_list_of_one_answered_as_that_one_object_is_that_list(one: dict[str, Any]) -> None:
    """A list converted from XML (Json.NET's SerializeXmlNode, PHP's SimpleXML) or a
    `SingleOrDefault` answers one match as the object alone."""
    assert items_of(one) == [one]


def test_an_object_that_is_no_record_and_holds_no_list_is_no_list() -> None:
    with pytest.raises(UnreadablePayload):
        items_of({"Message": "An error has occurred."})


@pytest.mark.parametrize(
    "written",
    ["2017-12-14 15:08:59 UTC", "2017-12-14 09:08:59 -0600", "2017-12-14 15:08:59.000 +0000 UTC"],
)
def test_instants_with_their_zone_as_a_word_are_read(written: str) -> None:
    """Ruby's `Time#to_s` (the json gem without ActiveSupport), Go's `Time.String()`."""
    summary = {**SUMMARY, "encounterDate": written}
    item = VendorEncounter.model_validate({"summary": summary, "ccd": HTML})
    assert item.summary.encounterDate is not None
    assert item.summary.encounterDate.isoformat() == "2017-12-14T15:08:59+00:00"


@pytest.mark.parametrize(
    ("title", "names"),
    [
        ("Vital Signs", ("VitalSigns", "VITAL_SIGNS", "vital_signs")),  # C#, Java, Python/Rails members
        ("Plan of Care", ("PlanOfCare", "PLAN_OF_CARE", "plan_of_care")),
        ("Allergies", ("ALLERGIES", "allergies")),  # its own spelling left out
        ("VitalSigns", ("VITALSIGNS", "vitalsigns")),
    ],
)
def test_a_sections_title_gives_the_names_an_enum_member_so_titled_may_have(title: str, names: tuple[str, ...]) -> None:
    assert member_names(title) == names


@pytest.mark.parametrize(
    ("rows", "names"),
    [
        # A `Category` entity's rows, its columns named after the table (camelCase, PascalCase, snake_case).
        ([{"categoryId": 1, "categoryName": "VitalSigns"}], ["VitalSigns"]),
        ([{"CategoryID": 1, "CategoryName": "VitalSigns"}], ["VitalSigns"]),
        ([{"category_id": 1, "category_name": "Vital Signs", "category_code": "VitalSigns"}], ["Vital Signs"]),
        ([{"id": 1, "sectionLabel": "Allergies"}], ["Allergies"]),
        ([{"id": 1, "whatever": "Allergies"}], ["Allergies"]),  # the row's only text
        ([{"id": 1, "a": "Allergies", "b": "Medications"}], []),  # two texts, neither named: none guessed
        # Keys already read keep their meaning: the code, then the title.
        ([{"code": "VitalSigns", "displayName": "Vital Signs", "categoryName": "x"}], ["VitalSigns"]),
    ],
)
def test_sections_named_under_a_rows_own_key_are_listed(rows: list[dict[str, object]], names: list[str]) -> None:
    assert list(section_names(rows)) == names


def test_json_api_resource_objects_are_read_as_the_records_they_stand_for() -> None:
    patient = {"type": "patients", "id": "42", "attributes": {"chart_number": "C42", "last_name": "Núñez"}}
    encounter = {
        "type": "encounters",
        "id": "7",
        "attributes": {"summary": {"encounterDate": "2017-12-14"}, "ccd": HTML},
    }
    category = {"type": "categories", "id": "VitalSigns", "attributes": {}}
    body = {"data": [patient, encounter, category], "meta": {"total": 3}}
    read_patient, read_encounter, read_category = items_of(body)
    assert read_category == {"id": "VitalSigns"}
    assert VendorPatient.model_validate(read_patient).patientId == "42"
    assert VendorEncounter.model_validate(read_encounter).summary.encounterId == "7"
    assert list(section_names([category])) == ["VitalSigns"]
    own = {"type": "patients", "id": "x-1", "attributes": {"patientId": 42}}  # its own id wins
    assert VendorPatient.model_validate(items_of([own])[0]).patientId == "42"
    plain = {"type": "note", "id": 1}  # no attributes: no resource object, left as it is
    assert items_of([plain]) == [plain]


@pytest.mark.parametrize(("written", "locked"), [("Locked", True), ("Open", False), (" open ", False)])
def test_an_encounter_locked_said_as_the_notes_state_is_read(written: str, locked: bool) -> None:
    item = VendorEncounter.model_validate({"summary": {**SUMMARY, "encounterLocked": written}, "ccd": HTML})
    assert item.summary.encounterLocked is locked
