"""One section of a CCD Nextech answered whole where a section was asked (ccd.py)."""

from __future__ import annotations

import pytest

from mappings.nextech.ccd import SectionNotFound, one_section

OTHERS = [["Allergies"], ["VitalSigns", "Vital Signs"], ["PlanOfCare"]]
WRAPPED = (
    "<!DOCTYPE html><html><body><h1>Continuity of Care Document</h1><div class=header><p>Renée</p></div>"
    '<div class="section"><h2>Allergies</h2><table><tr><td>Penicillin</td></tr></table></div>'
    '<div class="section"><h2>Problems</h2><table><tr><td>Gingivitis<br></td></tr></table></div>'
    '<div class="section"><h2>Vital Signs</h2><table><tr><td>120/80</td></tr></table></div>'
    "</body></html>"
)
FLAT = (
    "<html><body><h1>CCD</h1><p>Renée</p><h3>Allergies</h3><ul><li>Penicillin</li></ul>"
    "<h3>PROBLEMS</h3><p>Gingivitis<p>Caries<h3>Plan of care</h3><p>Recall</p></body></html>"
)


def test_a_wrapped_section_is_its_wrapper_with_the_documents_header() -> None:
    assert one_section(WRAPPED, ["Problems"], OTHERS) == (
        "<!DOCTYPE html><html><body><h1>Continuity of Care Document</h1><div class=header><p>Renée</p></div>"
        '<div class="section"><h2>Problems</h2><table><tr><td>Gingivitis<br></td></tr></table></div>'
        "</body></html>"
    )


def test_a_section_among_sibling_headings_runs_to_the_next_sections_heading() -> None:
    """Headings compared without case, spaces or punctuation; unclosed paragraphs are no bound."""
    assert one_section(FLAT, ["Problems"], OTHERS) == (
        "<html><body><h1>CCD</h1><p>Renée</p><h3>PROBLEMS</h3><p>Gingivitis<p>Caries</body></html>"
    )
    assert one_section(FLAT, ["PlanOfCare"], [*OTHERS[:2], ["Problems"]]).endswith(
        "<h3>Plan of care</h3><p>Recall</p></body></html>"
    )


def test_an_answer_holding_no_other_sections_heading_is_the_section_as_answered() -> None:
    section = '<h1>CCD</h1><div class="section"><h2>Problems</h2><p>none</p></div>'
    assert one_section(section, ["Problems"], OTHERS) == section
    assert one_section("<p>No CCD</p>", ["Problems"], OTHERS) == "<p>No CCD</p>"


@pytest.mark.parametrize(
    ("html", "why"),
    [
        (WRAPPED.replace("<h2>Problems</h2>", "<h2>Conditions</h2>"), "not in it"),
        (WRAPPED.replace("<h2>Vital Signs</h2>", "<h2>Problems</h2>"), "twice"),
    ],
)
def test_a_whole_ccd_whose_section_cannot_be_told_is_refused(html: str, why: str) -> None:
    with pytest.raises(SectionNotFound, match=why):
        one_section(html, ["Problems"], OTHERS)


CAPTIONED = (
    "<html><body><h1>CCD</h1><table class=patient><tr><th>Patient</th><td>Renée</td></tr></table>"
    "<table><caption>Allergies</caption><tr><td>Penicillin</td></tr></table>"
    "<table><caption>Problems</caption><thead><tr><th>Problem</th></tr></thead><tr><td>Caries</td></tr></table>"
    "<table><caption>Vital Signs</caption><tr><td>120/80</td></tr></table></body></html>"
)
TITLE_ROWS = (
    "<html><body><h1>CCD</h1><table class=sections>"
    '<tr><th colspan="2">Allergies</th></tr><tr><th>Substance</th><th>Status</th></tr><tr><td>Latex</td><td>Active'
    '<tr><th colspan="2">Problems</th></tr><tr><th>Problem</th><th>Status</th></tr>'
    "<tr><td>Caries<br>x</td><td>A</td></tr>"
    '<tr><th colspan="2">Vital Signs</th></tr><tr><td colspan="2">None recorded</td></tr>'
    "</table></body></html>"
)


def test_sections_titled_by_captions_are_their_tables() -> None:
    """No heading names a section: a table's caption does (a template looping over sections)."""
    assert one_section(CAPTIONED, ["Problems"], OTHERS) == (
        "<html><body><h1>CCD</h1><table class=patient><tr><th>Patient</th><td>Renée</td></tr></table>"
        "<table><caption>Problems</caption><thead><tr><th>Problem</th></tr></thead><tr><td>Caries</td></tr></table>"
        "</body></html>"
    )


def test_sections_opened_by_title_rows_are_their_rows_in_the_one_table() -> None:
    """One table, each section opened by a row whose one cell is a `<th colspan>` (a report
    writer's export); a row of column headings is no title, nor is a row left unclosed a bound."""
    assert one_section(TITLE_ROWS, ["Problems"], OTHERS) == (
        "<html><body><h1>CCD</h1><table class=sections>"
        '<tr><th colspan="2">Problems</th></tr><tr><th>Problem</th><th>Status</th></tr>'
        "<tr><td>Caries<br>x</td><td>A</td></tr></table></body></html>"
    )
    assert one_section(TITLE_ROWS, ["Allergies"], [["Problems"], *OTHERS[1:]]).endswith(
        "<tr><td>Latex</td><td>Active</table></body></html>"
    )


def test_headings_naming_sections_come_before_captions() -> None:
    """A document with headings titles its own tables too: a caption repeating a heading is no second section."""
    html = WRAPPED.replace("<table><tr><td>Gingivitis", "<table><caption>Problems</caption><tr><td>Gingivitis")
    assert "<caption>Problems</caption>" in one_section(html, ["Problems"], OTHERS)


def test_titles_that_begin_with_a_sections_name_are_that_section_where_none_is_one() -> None:
    """A chart summary heads its lists with more than their names (`Medications (2)`)."""
    counted = (
        WRAPPED.replace("<h2>Allergies</h2>", "<h2>Allergies and Intolerances</h2>")
        .replace("<h2>Problems</h2>", "<h2>Problems (1)</h2>")
        .replace("<h2>Vital Signs</h2>", "<h2>Vital Signs: 03/15/2025</h2>")
    )
    section = one_section(counted, ["Problems"], OTHERS)
    assert "<h2>Problems (1)</h2>" in section and "Penicillin" not in section and "120/80" not in section
    assert "120/80" in one_section(counted, ["VitalSigns"], [["Allergies"], ["Problems"], ["PlanOfCare"]])


def test_a_subheading_that_begins_with_another_sections_name_does_not_cut_a_section() -> None:
    counted = WRAPPED.replace("<h2>Problems</h2>", "<h2>Problems (2)</h2><h3>Allergies reviewed</h3>").replace(
        "<h2>Allergies</h2>", "<h2>Allergies (1)</h2>"
    )
    section = one_section(counted, ["Problems"], OTHERS)
    assert "<h3>Allergies reviewed</h3><table><tr><td>Gingivitis<br></td></tr></table>" in section
    assert "Penicillin" not in section


def test_other_sections_titled_beyond_their_names_are_cut_off_a_section_named_alone() -> None:
    counted = WRAPPED.replace("<h2>Allergies</h2>", "<h2>Allergies (1)</h2>").replace(
        "<h2>Vital Signs</h2>", "<h2>Vital Signs (1)</h2>"
    )
    section = one_section(counted, ["Problems"], OTHERS)
    assert "Gingivitis" in section and "Penicillin" not in section and "120/80" not in section
