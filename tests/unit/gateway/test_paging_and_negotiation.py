import asyncio
import base64

import pytest

from gateway.errors import InvalidRequest, NotAcceptable
from gateway.rest.negotiation import FHIR_JSON, PLAIN_JSON, negotiate
from gateway.rest.paging import PageTokens, search_fingerprint
from gateway.search.execute import PagePosition


def test_token_round_trip_and_binding() -> None:
    tokens = PageTokens("secret")
    mine = search_fingerprint("t1", "anonymous", "Patient", [("family", "smith")])
    token = tokens.issue(mine, PagePosition(vendor=3, skip=7, page_size=100, history=((None, 0),)))
    opened = asyncio.run(tokens.open(token, mine))
    assert (opened.vendor, opened.skip, opened.page_size) == (3, 7, 100)
    other_search = search_fingerprint("t1", "anonymous", "Patient", [("family", "jones")])
    other_tenant = search_fingerprint("t2", "anonymous", "Patient", [("family", "smith")])
    other_caller = search_fingerprint("t1", "app-2", "Patient", [("family", "smith")])
    for fingerprint in (other_search, other_tenant, other_caller):
        with pytest.raises(InvalidRequest, match="different search"):
            asyncio.run(tokens.open(token, fingerprint))


def test_a_token_keeps_where_a_vendor_page_resumes_and_the_way_back() -> None:
    tokens = PageTokens("secret")
    mine = search_fingerprint("t1", "anonymous", "Observation", [("patient", "p1")])
    position = PagePosition(vendor=[2, 1], skip=7, page_size=50, history=((None, 3, "p1.r4"),), resume="p1.r9")
    assert asyncio.run(tokens.open(tokens.issue(mine, position), mine)) == PagePosition(
        [2, 1], 7, 50, ([None, 3, "p1.r4"],), "p1.r9"
    )


def test_a_token_does_not_show_the_vendor_cursor_it_carries() -> None:
    # A vendor's cursor may be the last record's own values (Dental PMS's names the patient it
    # stopped at): in a link, a caller would read a patient outside its reach.
    cursor = base64.b64encode(b'["Kim","093565ef-5a1b-4c4e-9b5e-1f2d3c4b5a69"]').decode()
    fingerprint = search_fingerprint("t1", "app-1", "Patient", [("gender", "female")])
    token = PageTokens("secret").issue(fingerprint, PagePosition(vendor=cursor, skip=0, page_size=100))
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert cursor.encode() not in raw and b"Kim" not in raw and b"093565ef" not in raw
    assert "Kim" not in token and cursor not in token
    assert asyncio.run(PageTokens("secret").open(token, fingerprint)).vendor == cursor


def test_tampered_or_foreign_tokens_are_refused() -> None:
    fingerprint = search_fingerprint("t1", "anonymous", "Patient", [])
    token = PageTokens("secret").issue(fingerprint, PagePosition(2, 0, 20))
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (tampered, "garbage", PageTokens("another-secret").issue(fingerprint, PagePosition(2, 0, 20))):
        with pytest.raises(InvalidRequest):
            asyncio.run(PageTokens("secret").open(bad, fingerprint))


def test_a_kept_position_opens_for_its_own_search_only() -> None:
    # A position too long for a link is kept by the gateway; its token names it, sealed.
    tokens = PageTokens("secret")
    mine = search_fingerprint("t1", "anonymous", "Patient", [])
    cursor = "K" * 20_000  # a vendor cursor of a very long family name

    async def walk() -> None:
        token = await tokens.issue_kept(mine, PagePosition(cursor, 0, 100, ((None, 0),)))
        assert token is not None and len(token) < 200 and "KKKK" not in token
        opened = await tokens.open(token, mine)
        assert (opened.vendor, opened.history) == (cursor, ([None, 0],))  # as JSON keeps it, like a link
        with pytest.raises(InvalidRequest, match="different search"):
            await tokens.open(token, search_fingerprint("t1", "app-2", "Patient", []))
        with pytest.raises(InvalidRequest, match="no longer kept"):
            await PageTokens("secret").open(token, mine)  # another process, without shared state
        assert await tokens.issue_kept(mine, PagePosition("K" * 300_000, 0, 100)) is None
        # The same page asked for again is kept once, not once per request.
        kept = len(tokens._local)
        for _ in range(5):
            await tokens.issue_kept(mine, PagePosition(cursor, 0, 100, ((None, 0),)))
        assert len(tokens._local) == kept

    asyncio.run(walk())


@pytest.mark.parametrize(
    ("fmt", "accept", "media"),
    [
        (None, None, FHIR_JSON),
        (None, "application/fhir+json", FHIR_JSON),
        (None, "application/json", PLAIN_JSON),
        (None, "text/html,application/xhtml+xml,*/*;q=0.8", FHIR_JSON),
        ("json", "application/fhir+xml", FHIR_JSON),
        ("application/fhir+json", None, FHIR_JSON),
        ("application/fhir json", None, FHIR_JSON),  # its "+" sent unescaped, read as a space
        (None, "application/fhir+json; fhirVersion=4.0", FHIR_JSON),
        (None, "application/fhir+json; fhirVersion=3.0, application/json; fhirVersion=4.0.1", PLAIN_JSON),
        # RFC 9110 sections 12.4.2 and 12.5.1: ruled out by q=0, the other JSON is served.
        (None, "application/fhir+json;q=0, */*", PLAIN_JSON),
        (None, "application/*;q=0.5, application/json", PLAIN_JSON),
        (None, "application/json;q=0.4, application/*;q=0.5", FHIR_JSON),
        (None, "text/html, application/*;q=0.1", FHIR_JSON),
    ],
)
def test_json_is_negotiated(fmt: str | None, accept: str | None, media: str) -> None:
    assert negotiate(fmt, accept, None).media_type == media


@pytest.mark.parametrize(
    ("fmt", "accept"),
    [
        ("xml", None),
        (None, "application/fhir+xml"),
        ("text/turtle", None),
        (None, "application/fhir+json; fhirVersion=3.0"),  # R4 only: versioning.html#mt-version
        (None, "application/fhir+json;fhirversion=5.0, */*; fhirVersion=1.0"),
        ("application/fhir+json; fhirVersion=3.0", None),  # _format names a media type too
        (None, "application/fhir+json;q=0, application/json;q=0, */*"),
        (None, "text/*"),
    ],
)
def test_other_formats_are_406(fmt: str | None, accept: str | None) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(fmt, accept, None)
