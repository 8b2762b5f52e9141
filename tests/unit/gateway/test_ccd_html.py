"""render_html: the sample CCD as a readable page, hostile content kept inert, CDA times for people."""

from __future__ import annotations

import lxml.html
import pytest
from lxml import etree

from conformance.data import require_conformance_data
from gateway.ccd.html import format_cda_time, render_html

V3 = {"v3": "urn:hl7-org:v3"}
# Every attribute the page may carry; anything else (on*, style, src, ...) would be a leak.
PAGE_ATTRIBUTES = {"lang", "charset", "name", "content", "class", "id", "href", "colspan", "rowspan", "aria-label"}


def parse_cda(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))


def parse_page(page: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(page)


def texts(page: lxml.html.HtmlElement, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in page.xpath(xpath)]


def facts(page: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """Header facts by label; each value is its lines (a `dd` holds only text, `br` and `div`)."""
    labels = texts(page, "//dt")
    return {
        label: [str(line) for line in dd.xpath(".//text()")]
        for label, dd in zip(labels, page.xpath("//dd"), strict=True)
    }


def cda(header: str = "", body: str = "", title: str = "Test document") -> bytes:
    return f"""<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc">
        <title>{title}</title>{header}
        <component><structuredBody>{body}</structuredBody></component>
    </ClinicalDocument>""".encode()


@pytest.fixture(scope="module")
def sample() -> etree._Element:
    path = require_conformance_data() / "ccda-r2.1" / "C-CDA_R2-1_CCD.xml"
    return parse_cda(path.read_bytes())


def test_sample_ccd_reads_as_a_clinical_document(sample: etree._Element) -> None:
    html = render_html(sample)
    page = parse_page(html)

    assert html.startswith('<!DOCTYPE html>\n<html lang="en-US">')
    assert texts(page, "/html/head/title") == ["Patient Chart Summary"]
    assert texts(page, "//h1") == ["Patient Chart Summary"]
    assert texts(page, "//*[@class='patient-name']") == ["Eve Betterhalf"]
    assert facts(page) == {
        "Birth date": ["May 1, 1975"],
        "Gender": ["Female"],
        "Identifiers": ["444222222 (2.16.840.1.113883.4.1)"],
        "Address": ["Home: 2222 Home Street", "Beaverton, OR 97867", "US"],
        "Contact": ["Home: +1(555)555-2003"],
        "Race": ["White", "Hawaiian or Other Pacific Islander"],
        "Ethnicity": ["Not Hispanic or Latino"],
        "Language": ["en (preferred)"],
        "Created": ["August 15, 2013 10:30 -08:00"],
        "Author": ["Patricia “Patty” Primary, M.D."],
        "Custodian": ["Good Health HIE"],
        "Period covered": ["May 1, 1975 – August 15, 2013"],
        "Confidentiality": ["normal"],
    }

    titles = [
        " ".join(title.text.split())
        for title in sample.findall("v3:component/v3:structuredBody/v3:component/v3:section/v3:title", V3)
        if title.text
    ]
    assert len(titles) == 15
    assert texts(page, "//nav//ol/li/a") == titles
    assert texts(page, "//main/section/h2") == titles
    toc_targets = [href.removeprefix("#") for href in page.xpath("//nav//a/@href")]
    assert toc_targets == page.xpath("//main/section/@id")

    assert page.xpath("//td[normalize-space()='13.2 g/dL']/@id") == ["n-resultvalue1"]
    assert "Penicillin" in texts(page, "//table//td")
    assert "<script" not in html.lower()
    assert all(href.startswith("#") for href in page.xpath("//@href"))


def test_same_document_same_page(sample: etree._Element) -> None:
    assert render_html(sample) == render_html(parse_cda(etree.tostring(sample)))


HOSTILE = cda(
    header="""
    <languageCode code='en" onload="alert(1)'/>
    <recordTarget><patientRole>
        <id extension='1" onmouseover="alert(1)' root="2.16.840.1.113883.19.5"/>
        <patient><name><given>&lt;script&gt;alert(1)&lt;/script&gt;</given><family>Doe</family></name></patient>
    </patientRole></recordTarget>""",
    body="""<component><section>
        <title>Notes &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>
        <text>
            <table><tbody><tr>
                <td>&lt;img src=x onerror=alert(1)&gt;</td>
                <td onclick="alert(1)" style="background:url(x)" colspan="2 onclick=alert(1)">cell</td>
            </tr></tbody></table>
            <paragraph onclick="alert(1)" ID='p1" onclick="x'>click</paragraph>
            <linkHtml href="javascript:alert(1)" onmouseover="alert(1)">click me</linkHtml>
            <linkHtml href='#p1" onclick="x'>back</linkHtml>
            <renderMultiMedia referencedObject="MM1"/>
            <script xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example/x.js">alert(2)</script>
            <content styleCode="Bold xss"><![CDATA[</span><script>alert(3)</script>]]></content>
        </text>
    </section></component>""",
    title="&lt;/title&gt;&lt;script&gt;alert(0)&lt;/script&gt;",
)


def test_hostile_content_is_shown_as_text_never_as_markup() -> None:
    html = render_html(parse_cda(HOSTILE))
    page = parse_page(html)

    assert "&lt;script&gt;alert(1)&lt;/script&gt; Doe" in html
    assert texts(page, "//*[@class='patient-name']") == ["<script>alert(1)</script> Doe"]
    assert texts(page, "//td")[0] == "<img src=x onerror=alert(1)>"
    assert "<script" not in html.lower()
    assert "javascript:" not in html.lower()
    assert page.xpath("//script | //img | //iframe | //object | //embed | //link | //base") == []
    attributes = {name for element in page.iter() for name in element.attrib}
    assert attributes <= PAGE_ATTRIBUTES
    assert not any(name.startswith("on") for name in attributes)
    assert page.get("lang") == "en"
    assert texts(page, "//title | //h1") == ["</title><script>alert(0)</script>"] * 2

    assert page.xpath("//td[.='cell']/@colspan") == []
    assert texts(page, "//main//span[not(@class)]") == ["click me"]  # the javascript: link, now plain text
    assert page.xpath("//a[.='back']/@href") == ["#n-p1__onclick__x"]
    assert page.xpath("//p[.='click']/@id") == ["n-p1__onclick__x"]
    assert "[multimedia omitted]" in texts(page, "//em")
    assert page.xpath("//*[@class='cda-bold']/text()") == ["</span><script>alert(3)</script>"]
    assert "alert(2)" in page.xpath("string(//main)")  # a foreign element contributes only its words


def test_narrative_elements_become_their_html_counterparts() -> None:
    body = """<component><section nullFlavor="NI">
        <title>Problems</title>
        <text>
            <table><caption>Active</caption><colgroup><col/></colgroup>
                <thead><tr><th rowspan="2">Problem</th></tr></thead>
                <tfoot><tr><td colspan="3">end</td></tr></tfoot>
            </table>
            <list listType="ordered"><caption>Steps</caption><item ID="s1">one</item><item>two</item></list>
            <list><item>bullet</item></list>
            <paragraph><content styleCode="Italics Underline">H<sub>2</sub>O<sup>+</sup></content><br/>next
                <!-- a comment -->after<footnote>see note</footnote><footnoteRef IDREF="f1"/></paragraph>
            <content ID="s1">duplicate ID</content>
            <sdtc:unknownThing>kept words</sdtc:unknownThing>
        </text>
        <component><section><title>Nested</title><text>No information</text></section></component>
    </section></component>"""
    page = parse_page(render_html(parse_cda(cda(body=body))))

    section = page.xpath("//main/section")[0]
    assert section.get("id") == "section-1"
    assert texts(section, "./h2") == ["Problems"]
    assert texts(section, ".//table/caption") == ["Active"]
    assert len(section.xpath(".//table/colgroup/col")) == 1
    assert section.xpath(".//th/@rowspan") == ["2"]
    assert section.xpath(".//tfoot//td/@colspan") == ["3"]
    assert texts(section, ".//p[@class='caption']") == ["Steps"]
    assert texts(section, ".//ol/li") == ["one", "two"]
    assert texts(section, ".//ul/li") == ["bullet"]
    assert section.xpath(".//ol/li[1]/@id") == ["n-s1"]
    assert section.xpath(".//span[.='duplicate ID']/@id") == []  # ids stay unique on the page
    styled = section.xpath(".//span[@class='cda-italics cda-underline']")[0]
    assert lxml.html.tostring(styled, encoding="unicode", with_tail=False) == (
        '<span class="cda-italics cda-underline">H<sub>2</sub>O<sup>+</sup></span>'
    )
    paragraph = section.xpath(".//p[br]")[0]
    assert " ".join(paragraph.text_content().split()) == "H2O+next aftersee note"  # br adds no text
    assert texts(paragraph, "./span[@class='footnote']") == ["see note"]
    assert "a comment" not in lxml.html.tostring(section, encoding="unicode")
    assert "kept words" in section.text_content()
    nested = section.xpath("./section")[0]
    assert nested.get("id") == "section-1-1"
    assert texts(nested, "./h3") == ["Nested"]
    assert texts(nested, ".//div[@class='narrative']") == ["No information"]


def test_header_facts_for_coded_device_and_encounter_values() -> None:
    header = """
    <effectiveTime value="20240304"/>
    <confidentialityCode code="R"/>
    <recordTarget><patientRole>
        <addr><streetAddressLine>1 Main St</streetAddressLine><city>Springfield</city></addr>
        <telecom use="WP" value="mailto:doc@example.org"/>
        <patient><name>Pat Smith</name><administrativeGenderCode code="UN"/></patient>
    </patientRole></recordTarget>
    <author><assignedAuthor>
        <assignedAuthoringDevice><manufacturerModelName>Gateway</manufacturerModelName></assignedAuthoringDevice>
        <representedOrganization><name>Clinic</name></representedOrganization>
    </assignedAuthor></author>
    <componentOf><encompassingEncounter>
        <code code="AMB" displayName="Office visit"/>
        <effectiveTime><low value="202403041030-0500"/></effectiveTime>
        <location><healthCareFacility><location><name>Room 4</name></location></healthCareFacility></location>
    </encompassingEncounter></componentOf>"""
    page = parse_page(render_html(parse_cda(cda(header=header))))

    assert texts(page, "//*[@class='patient-name']") == ["Pat Smith"]
    assert facts(page) == {
        "Gender": ["Unknown"],
        "Address": ["1 Main St", "Springfield"],
        "Contact": ["Work: doc@example.org"],
        "Created": ["March 4, 2024"],
        "Author": ["Gateway (Clinic)"],
        "Encounter": ["Office visit", "from March 4, 2024 10:30 -05:00", "at Room 4"],
        "Confidentiality": ["Restricted"],
    }
    assert page.xpath("//nav") == []  # no sections, no table of contents


def test_only_clinical_documents_are_rendered() -> None:
    with pytest.raises(ValueError, match="ClinicalDocument"):
        render_html(parse_cda(b'<section xmlns="urn:hl7-org:v3"/>'))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2024", "2024"),
        ("202403", "March 2024"),
        ("20240304", "March 4, 2024"),
        ("2024030410", "March 4, 2024 10:00"),
        ("202403041030", "March 4, 2024 10:30"),
        ("20240304103015", "March 4, 2024 10:30:15"),
        ("20240304103000-0500", "March 4, 2024 10:30 -05:00"),
        ("20240304103000.123+0000", "March 4, 2024 10:30 +00:00"),
        ("20240304-0500", "March 4, 2024"),
        (" 20241231 ", "December 31, 2024"),
    ],
)
def test_cda_times_read_as_dates(value: str, shown: str) -> None:
    assert format_cda_time(value) == shown


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2024-03-04",
        "20241304",
        "20240230",
        "2024030425",
        "0000",
        "20240304103000-2500",
        "２０２４",
        "202",
    ],
)
def test_values_that_are_not_cda_times_are_shown_as_they_are(value: str) -> None:
    assert format_cda_time(value) == value
