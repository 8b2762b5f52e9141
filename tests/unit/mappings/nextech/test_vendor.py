"""Nextech's records as vendor.py reads them, in the shapes the docs leave open."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mappings.nextech.vendor import VendorEncounter

HTML = "<!DOCTYPE html>\n<h1>Continuity of Care Document</h1><td>Renée</td>"
SUMMARY = {"encounterId": 7, "encounterDate": "2017-12-14T15:08:59.934Z", "encounterLocked": True}


@pytest.mark.parametrize(
    "ccd",
    [
        HTML,
        base64.b64encode(HTML.encode()).decode(),  # a byte[] as Json.NET and Jackson write it
        base64.encodebytes(HTML.encode()).decode(),  # a MIME encoder's, broken into lines
        base64.b64encode(HTML.encode("utf-16")).decode(),  # .NET's Encoding.Unicode, with its mark
    ],
)
def test_a_ccd_as_text_or_as_the_base64_of_its_bytes_is_the_html(ccd: str) -> None:
    assert VendorEncounter.model_validate({"summary": SUMMARY, "ccd": ccd}).ccd == HTML


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
