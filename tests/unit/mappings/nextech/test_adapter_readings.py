"""The Nextech adapter over answers the docs allow or leave open: terms that every reading of
`term` answers with a superset, records that cannot be read (the rest still served, the client
told which and where, a read of it a 502), envelopes, and the drift monitor."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from gateway.contract import AdapterConfig, Drift, DriftKey, SearchRequest, TenantContext, VendorPage
from gateway.errors import InvalidRequest, NotFound, UpstreamError, UpstreamSecurity
from gateway.search.parse import parse_search
from gateway.upstream.errors import error_for_status
from mappings.nextech.adapter import (
    CHART_ONLY,
    HORIZON_DAYS,
    LAST_NAMES_ONLY,
    LETTERS_CUT,
    MIDDLE_NAMES,
    WRITTEN_TERMS,
    NextechAdapter,
)
from mappings.nextech.client import _json_inside, _message, _unwrapped
from mappings.nextech.options import NextechOptions
from mappings.nextech.vendor import section_spellings
from mappings.nextech.walks import SEARCH_REQUESTS, Walk

CTX = TenantContext("nx", "urn:nx")
GOOD = {"patientId": 42, "chartNumber": "C00042", "firstName": "Renée", "lastName": "Núñez", "dob": "1985-03-15"}
BAD = {"patientId": 43, "chartNumber": "C00043", "firstName": "Ana", "lastName": "Nolan", "dob": "soon"}
SUMMARY = {"encounterId": 1, "encounterDate": "2025-03-15T15:00:00.000Z", "encounterLocked": True}
BAD_SUMMARY = {"encounterId": 2, "encounterDate": "2025-03-15T16:00:00.000Z", "encounterLocked": "perhaps"}


class Fake:
    """Nextech's routes over fixed answers; every call is recorded."""

    def __init__(self, patients: list[dict[str, Any]], items: list[dict[str, Any]], envelope: str = "") -> None:
        self.patients = patients
        self.items = items
        self.envelope = envelope
        self.calls: list[tuple[str, dict[str, str]]] = []

    def _wrap(self, rows: list[Any]) -> Any:
        return {self.envelope: rows, "count": len(rows)} if self.envelope else rows

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        params = dict(params or {})
        self.calls.append((path, params))
        if path == "/encounters/categories":
            return self._wrap(["Allergies"])
        if path == "/search":
            term = params["term"].casefold()  # an accent-sensitive prefix reading
            return self._wrap(
                [
                    p
                    for p in self.patients
                    if any(str(p.get(k, "")).casefold().startswith(term) for k in ("chartNumber", "lastName"))
                ]
            )
        if unquote(path.split("/")[1]) not in {str(p["patientId"]) for p in self.patients}:
            raise NotFound("Patient not found")
        return self._wrap(self.items)

    async def get_with_headers(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        body = await self.get(path, params)
        return body, self.headers_of(path, dict(params or {}), body)

    def headers_of(self, path: str, params: dict[str, str], body: Any) -> Mapping[str, str]:
        return {}

    async def aclose(self) -> None:
        pass


def _adapter(fake: Fake, tmp_path: Path, drift: Drift | None = None) -> NextechAdapter:
    options = NextechOptions(client_id="c", practice_id="p", oauth_base_url="http://127.0.0.1:9")
    secrets = {"client_secret": "s"}
    config = AdapterConfig("http://127.0.0.1:9/api", CTX, options, secrets, tmp_path, drift=drift or Drift())
    adapter = NextechAdapter(config)
    asyncio.run(adapter.client.aclose())
    adapter.client = fake  # type: ignore[assignment]
    return adapter


def _search(adapter: NextechAdapter, kind: str, items: list[tuple[str, str]]) -> VendorPage:
    provider = adapter.providers[kind]
    query = parse_search(provider.support, items, strict=True, default_count=20, max_count=100).query
    assert provider.search is not None
    return asyncio.run(provider.search(SearchRequest(query, None, 100)))


def _search_all(adapter: NextechAdapter, kind: str, items: list[tuple[str, str]]) -> list[VendorPage]:
    """Every provider page of a search, each asked at the position the one before gave."""
    provider = adapter.providers[kind]
    query = parse_search(provider.support, items, strict=True, default_count=20, max_count=100).query
    assert provider.search is not None
    pages = [asyncio.run(provider.search(SearchRequest(query, None, 100)))]
    while pages[-1].next is not None and len(pages) < 100:
        pages.append(asyncio.run(provider.search(SearchRequest(query, pages[-1].next, 100))))
    return pages


def test_a_name_search_sends_the_first_letter_and_its_accented_forms(tmp_path: Path) -> None:
    accented = {**GOOD, "patientId": 44, "chartNumber": "C00044", "lastName": "Ñúñez"}
    fake = Fake([GOOD, accented], [])
    page = _search(_adapter(fake, tmp_path), "Patient", [("family", "NUÑEZ")])
    assert [params["term"] for _, params in fake.calls] == ["N", "Ñ", "Ń", "Ņ", "Ň", "n"]
    # each patient once, although "N" and "Ñ" both found the second under another reading
    assert sorted(r["id"] for r in page.resources) == ["42.C00042", "44.C00044"]
    assert page.warnings == ()


def test_given_searches_say_middle_names_were_not_searched(tmp_path: Path) -> None:
    page = _search(_adapter(Fake([GOOD], []), tmp_path), "Patient", [("given", "Renée")])
    assert page.warnings == (MIDDLE_NAMES,)


def test_a_nextech_matching_last_names_only_is_found_out_and_said(tmp_path: Path) -> None:
    """`Fake` matches last names and chart numbers only ("the patient's name" read as the name
    a chart is filed under): `given=Rosa` finds Renée Rivera by `R`, whose first name then
    finds no one. Before, the searchset passed for "no Rosa"; now it says what is missing, and
    the next given search asks nothing more."""
    rivera = {**GOOD, "patientId": 46, "chartNumber": "C00046", "firstName": "Renee", "lastName": "Rivera"}
    fake = Fake([GOOD, rivera], [])
    adapter = _adapter(fake, tmp_path)
    page = _search(adapter, "Patient", [("given", "Rosa")])
    assert [params["term"] for _, params in fake.calls][-1] == "Renee"  # the probe, after the letters
    assert page.warnings == (LAST_NAMES_ONLY,)  # Renée Rivera, found by `R`, is the gateway's to filter
    fake.calls.clear()
    page = _search(adapter, "Patient", [("name", "Rivera")])
    assert "Renee" not in [params["term"] for _, params in fake.calls]
    assert [r["id"] for r in page.resources] == ["46.C00046"] and page.warnings == (LAST_NAMES_ONLY,)
    assert _search(adapter, "Patient", [("family", "Rivera")]).warnings == ()


class FirstNames(Fake):
    """A Nextech matching first names as well (prefixes, case-insensitive)."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if path != "/search" or params is None:
            return await super().get(path, params)
        self.calls.append((path, dict(params)))
        term = params["term"].casefold()
        return [p for p in self.patients if any(str(p.get(k, "")).casefold().startswith(term) for k in p)]


def test_a_nextech_seen_to_match_a_first_name_is_not_probed(tmp_path: Path) -> None:
    ivy = {**GOOD, "patientId": 47, "chartNumber": "C00047", "firstName": "Ivy", "lastName": "Brown"}
    fake = FirstNames([GOOD, ivy], [])
    page = _search(_adapter(fake, tmp_path), "Patient", [("given", "Ivy")])
    assert [params["term"] for _, params in fake.calls] == ["I", "Ì", "Í", "Î", "Ï", "Ĩ", "Ī", "Ĭ", "Į", "İ", "i"]
    assert [r["id"] for r in page.resources] == ["47.C00047"] and page.warnings == (MIDDLE_NAMES,)


def test_an_identifier_search_sends_the_chart_number(tmp_path: Path) -> None:
    fake = Fake([GOOD], [])
    _search(_adapter(fake, tmp_path), "Patient", [("identifier", "urn:nx/chart-number|C00042")])
    assert fake.calls == [("/search", {"term": "C00042"})]


def test_an_unreadable_patient_is_named_and_the_rest_served(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    drift = Drift("nx", "nextech")
    adapter = _adapter(Fake([GOOD, BAD], [], envelope="value"), tmp_path, drift)
    with caplog.at_level(logging.WARNING):
        page = _search(adapter, "Patient", [("family", "N")])
    assert [r["id"] for r in page.resources] == ["42.C00042"]
    assert page.total is None
    [warning] = [w for w in page.warnings if w != MIDDLE_NAMES]
    assert warning.startswith("Patient/43.C00043 could not be read") and "dob" in warning
    assert "soon" not in warning and "Ana" not in warning
    assert drift.counts()[DriftKey("patient", "unreadable", "[].dob")] >= 1
    assert "soon" not in caplog.text and "Nolan" not in caplog.text
    with pytest.raises(UpstreamError, match="dob"):
        asyncio.run(adapter.providers["Patient"].read("43.C00043"))
    assert asyncio.run(adapter.providers["Patient"].read("42.C00042"))["id"] == "42.C00042"


@pytest.mark.parametrize("unreadable", ["patientId", "chartNumber"])
def test_a_read_whose_patient_may_be_a_record_that_cannot_be_read_is_a_502_not_a_404(
    unreadable: str, tmp_path: Path
) -> None:
    """A record whose patientId, or chart number, cannot be read may be the patient a read looks
    for: before, the read said it did not exist (a 404, which a client takes as deleted)."""
    bad = {**BAD, "dob": "1985-03-15", unreadable: {"unexpected": "shape"}}

    class Unfiltered(Fake):  # Nextech matched the term with the chart number it holds, and wrote it so
        async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
            return self._wrap(self.patients) if path == "/search" else await super().get(path, params)

    adapter = _adapter(Unfiltered([GOOD, bad], []), tmp_path)
    with pytest.raises(UpstreamError, match="could not be"):
        asyncio.run(adapter.providers["Patient"].read("43.C00043"))
    assert asyncio.run(adapter.providers["Patient"].read("42.C00042"))["id"] == "42.C00042"


def test_an_unreadable_encounter_is_named_and_its_ccd_is_not_served(tmp_path: Path) -> None:
    items = [{"summary": SUMMARY, "ccd": "<p>ok</p>"}, {"summary": BAD_SUMMARY, "ccd": "<p>bad</p>"}]
    adapter = _adapter(Fake([GOOD], items, envelope="data"), tmp_path)
    page = _search(adapter, "Encounter", [("patient", "42.C00042")])
    assert [r["id"] for r in page.resources] == ["42.C00042.1.20250315"]
    assert any("Encounter 2 of Patient/42.C00042" in w and "encounterLocked" in w for w in page.warnings)
    documents = _search(adapter, "DocumentReference", [("patient", "42.C00042")])
    assert [r["id"] for r in documents.resources] == ["42.C00042.1.20250315.ccd"] and documents.warnings
    providers = adapter.providers
    for kind, resource_id in (
        ("Encounter", "42.C00042.2.20250315"),
        ("DocumentReference", "42.C00042.2.20250315.ccd"),
        ("Binary", "42.C00042.2.20250315.ccd"),
    ):
        with pytest.raises(UpstreamError, match="encounterLocked"):
            asyncio.run(providers[kind].read(resource_id))
    assert asyncio.run(providers["Binary"].read("42.C00042.1.20250315.ccd"))["contentType"] == "text/html"


class RefusingSections(Fake):
    """A Nextech refusing `section` under every spelling (400), the whole CCD still served."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if params and "section" in params:
            self.calls.append((path, dict(params)))
            raise InvalidRequest("The value 'Allergies' is not valid for section.")
        return await super().get(path, params)


def test_a_section_refused_under_every_spelling_is_a_502_not_the_clients_400(tmp_path: Path) -> None:
    # The section's Binary is a link the gateway gave (its DocumentReference lists it): a
    # vendor refusing the request made for it is the vendor's failure, not a bad client request.
    items = [{"summary": SUMMARY, "ccd": "<h2>Allergies</h2><p>Penicillin</p>"}]
    adapter = _adapter(RefusingSections([GOOD], items, envelope="data"), tmp_path)
    document = _search(adapter, "DocumentReference", [("patient", "42.C00042")]).resources[0]
    section = document["content"][1]["attachment"]["url"].removeprefix("Binary/")
    with pytest.raises(UpstreamError, match="refused"):
        asyncio.run(adapter.providers["Binary"].read(section))
    whole = asyncio.run(
        adapter.providers["Binary"].read(document["content"][0]["attachment"]["url"].removeprefix("Binary/"))
    )
    assert whole["contentType"] == "text/html"


def test_unexpected_fields_are_counted_by_name(tmp_path: Path) -> None:
    drift = Drift("nx", "nextech")
    extra = {**GOOD, "preferredName": "Ren", "PatientGuid": "x"}
    _search(_adapter(Fake([extra], []), tmp_path, drift), "Patient", [("family", "N")])
    paths = {key.path for key in drift.counts() if key.kind == "unexpected field"}
    assert paths == {"preferredName", "patientGuid"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Message": "The request is invalid."}, "The request is invalid."),
        ({"message": "bad term"}, "bad term"),
        ({"type": "about:blank", "title": "Bad Request", "status": 400}, "Bad Request"),
        ({"error": "invalid_grant", "error_description": "AADSTS70008: expired"}, "AADSTS70008: expired"),
        # NestJS's ValidationPipe: the words in `message`'s list, `error` only the reason phrase
        (
            {
                "statusCode": 400,
                "message": ["term must be longer than or equal to 2 characters"],
                "error": "Bad Request",
            },
            "term must be longer than or equal to 2 characters",
        ),
        # ASP.NET Boilerplate's wrapper (ABP Framework's `{"error": {...}}` alike): the words in `error.message`
        (
            {
                "result": None,
                "targetUrl": None,
                "success": False,
                "error": {"code": 0, "message": "Your request is not valid!", "details": None},
                "unAuthorizedRequest": False,
                "__abp": True,
            },
            "Your request is not valid!",
        ),
        (None, ""),
        ("plain text", ""),
    ],
)
def test_error_bodies_of_every_shape_give_a_message(body: Any, message: str) -> None:
    assert _message(body) == message


def test_an_answer_serialized_twice_is_read_as_the_json_it_holds() -> None:
    """ASP.NET Core's `Ok(JsonConvert.SerializeObject(...))` to `Accept: application/json`: one JSON
    string holding the JSON (its text escaped, as System.Text.Json escapes non-ASCII). Before,
    every list answer so written was "not a list": every search a 502."""
    inner = json.dumps([{"patientId": 42, "lastName": unicodedata.normalize("NFD", "Núñez")}])
    assert "\\u0303" in inner
    assert _json_inside(inner) == [{"patientId": 42, "lastName": "Núñez"}]  # in NFC, as every answer
    assert _json_inside("Smith") == "Smith" and _json_inside("[not json") == "[not json"


def _abp(result: Any, success: bool = True, **more: Any) -> dict[str, Any]:
    error = None if success else {"code": 0, "message": "An internal error occurred during your request!"}
    wrapper = {"result": result, "targetUrl": None, "success": success, "error": error, "unAuthorizedRequest": False}
    return {**wrapper, "__abp": True, **more}


def test_an_answer_in_abps_default_wrapper_is_read_as_the_answer_it_holds() -> None:
    """ASP.NET Boilerplate wraps every answer (`WrapResult`, its default). Before, a list inside
    (`"result": {"totalCount", "items"}`) was "not a list": every search a 502."""
    paged = {"totalCount": 1, "items": [GOOD]}
    assert _unwrapped(_abp(paged)) == paged
    assert _unwrapped(_abp([GOOD])) == [GOOD]
    assert _unwrapped(_abp(json.dumps([GOOD]))) == [GOOD]  # a string result serialized by hand
    unmarked = {k: v for k, v in _abp([GOOD]).items() if k != "__abp"}
    assert _unwrapped(unmarked) == [GOOD]
    # An answer of the docs' that merely has a `success` or `result` field is no wrapper
    assert _unwrapped({"success": True, "items": [GOOD]}) == {"success": True, "items": [GOOD]}
    assert _unwrapped({"result": [GOOD]}) == {"result": [GOOD]}


def test_a_wrapper_saying_it_failed_under_a_success_status_is_no_empty_answer() -> None:
    """`"success": false` holds no answer (`"result": null`, which read as a list is empty): an
    error, never a search that found no one."""
    with pytest.raises(UpstreamError, match="An internal error occurred"):
        _unwrapped(_abp(None, success=False))
    with pytest.raises(UpstreamSecurity):
        _unwrapped(_abp(None, success=False, unAuthorizedRequest=True))


def test_answers_that_may_have_been_cut_short_say_so(tmp_path: Path) -> None:
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(50)]
    page = _search(_adapter(Fake(many, []), tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 50 and any("cut" in w for w in page.warnings)  # exactly a page's worth
    page = _search(_adapter(Fake(many[:49], []), tmp_path), "Patient", [("identifier", "C00")])
    assert not any("cut" in w for w in page.warnings)

    class Counted(Fake):
        def _wrap(self, rows: list[Any]) -> Any:
            return {"value": rows[:1], "@odata.count": len(rows)}

    items = [{"summary": SUMMARY}, {"summary": {**SUMMARY, "encounterId": 3}}]
    adapter = _adapter(Counted([GOOD], items), tmp_path)
    page = _search(adapter, "Encounter", [("patient", "42.C00042")])
    assert len(page.resources) == 1 and any("cut" in w for w in page.warnings)


class SkipTake(Fake):
    """A bare array of 10 from `?skip=` (Prisma's `findMany({skip, take: 10})`), nothing said of the rest."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        params = dict(params or {})
        rows = await super().get(path, {k: v for k, v in params.items() if k != "skip"})
        self.calls[-1] = (path, params)
        start = int(params.get("skip", "0"))
        return rows[start : start + 10]


def _ways(calls: list[tuple[str, dict[str, str]]]) -> list[str]:
    """The paging parameter each call was sent with ("" for none)."""
    return ["".join(sorted(set(params) - {"term"})) for _, params in calls]


@pytest.mark.parametrize(("fake", "size", "later"), [(Fake, 20, {""}), (SkipTake, 10, {"", "skip"})])
def test_the_way_to_a_bare_arrays_next_pages_is_found_once(
    tmp_path: Path, fake: type[Fake], size: int, later: set[str]
) -> None:
    """The second page of a bare array of a page size's worth is asked each way in turn
    (`?page=` from 0 and 1, `?offset=`, `?skip=`); the way taken, or that none is, is kept to."""
    rows = [
        {**GOOD, "patientId": 100 + i, "chartNumber": f"{letter}{100 + i:05d}"} for letter in "CD" for i in range(size)
    ]
    vendor = fake(rows, [])
    adapter = _adapter(vendor, tmp_path)
    _search(adapter, "Patient", [("identifier", "C0")])
    assert _ways(vendor.calls)[:5] == ["", "page", "page", "offset", "skip"]
    vendor.calls.clear()
    page = _search(adapter, "Patient", [("identifier", "D0")])
    assert len(page.resources) == size and set(_ways(vendor.calls)) == later


def test_several_name_values_send_the_terms_of_each(tmp_path: Path) -> None:
    other = {**GOOD, "patientId": 45, "chartNumber": "C00045", "lastName": "Bell"}
    fake = Fake([GOOD, other], [])
    page = _search(_adapter(fake, tmp_path), "Patient", [("family", "nunez,bell")])
    assert [params["term"] for _, params in fake.calls] == ["N", "Ñ", "Ń", "Ņ", "Ň", "n", "B", "b"]
    assert sorted(r["id"] for r in page.resources) == ["42.C00042", "45.C00045"]
    fake.calls.clear()
    _search(_adapter(fake, tmp_path), "Patient", [("family", "nunez"), ("family", "bell")])
    assert [params["term"] for _, params in fake.calls] == ["B", "b"]  # ANDed: the cheaper one suffices


def test_a_read_in_an_answer_cut_short_is_not_a_404(tmp_path: Path) -> None:
    class Counted(Fake):
        def _wrap(self, rows: list[Any]) -> Any:
            return {"value": rows[:1], "@odata.count": len(rows)}

    shown = {**GOOD, "patientId": 40, "chartNumber": "C00040"}
    hidden = {**GOOD, "patientId": 4, "chartNumber": "C0004"}
    adapter = _adapter(Counted([shown, hidden], []), tmp_path)
    with pytest.raises(UpstreamError, match="cut"):
        asyncio.run(adapter.providers["Patient"].read("4.C0004"))
    assert asyncio.run(adapter.providers["Patient"].read("40.C00040"))["id"] == "40.C00040"


class CappedEncounters(Fake):
    """A patient's `count` encounters `every` (a week) apart, those in the window asked (`start`/`end`,
    inclusive) at most `cap` of them, the first in `order`: by date either way, or by an id
    scrambled from the date's order."""

    def __init__(self, count: int, cap: int, order: str, every: timedelta = timedelta(weeks=1)) -> None:
        first = datetime(2020, 1, 6, 15, 0)
        items = [
            {
                "summary": {**SUMMARY, "encounterId": 100 + n, "encounterDate": f"{first + every * n}Z"},
                "ccd": "<p>ok</p>",
            }
            for n in range(count)
        ]
        super().__init__([GOOD], items)
        self.cap, self.order = cap, order

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        rows = await super().get(path, params)
        if not path.endswith("/encounters/search"):
            return rows
        asked = dict(params or {})

        def when(item: dict[str, Any]) -> datetime:
            return datetime.fromisoformat(item["summary"]["encounterDate"].removesuffix("Z"))

        low = datetime.fromisoformat(asked["start"]) if "start" in asked else datetime.min
        high = datetime.fromisoformat(asked["end"])
        inside = sorted((i for i in rows if low <= when(i) <= high), key=when, reverse=self.order == "descending")
        if self.order == "scrambled":
            inside.sort(key=lambda i: i["summary"]["encounterId"] * 7 % 31)
        return inside[: self.cap]


@pytest.mark.parametrize("order", ["ascending", "descending", "scrambled"])
def test_an_encounter_list_capped_is_narrowed_by_date_to_every_encounter(tmp_path: Path, order: str) -> None:
    """Before, a patient's encounters past a cap of 10 were silently missing."""
    fake = CappedEncounters(27, 10, order)
    page = _search(_adapter(fake, tmp_path), "Encounter", [("patient", "42.C00042")])
    assert sorted(r["id"] for r in page.resources) == sorted(
        f"42.C00042.{100 + n}.{datetime(2020, 1, 6) + timedelta(weeks=n):%Y%m%d}" for n in range(27)
    )
    assert page.warnings == ()
    paging = {"page", "offset", "skip", "$skip"}
    windows = [p for path, p in fake.calls if path.endswith("/encounters/search") and not paging & set(p)]
    assert len(windows) == 7  # the whole window, then three splits (the probes for pages aside)


def test_an_encounter_list_capped_beyond_one_calls_requests_goes_on_in_the_next(tmp_path: Path) -> None:
    """Narrowing 300 encounters capped at 10 takes more requests than one call may send: the
    windows left are where the next call goes on, and every encounter is served once."""
    fake = CappedEncounters(300, 10, "ascending")
    pages = _search_all(_adapter(fake, tmp_path), "Encounter", [("patient", "42.C00042")])
    assert len(pages) > 2 and all(not page.warnings for page in pages)
    served = [r["id"] for page in pages for r in page.resources]
    assert len(served) == len(set(served)) == 300
    assert len(fake.calls) < 100  # about two for every eight encounters


def test_a_read_in_an_encounter_list_capped_beyond_a_reads_requests_is_no_404(tmp_path: Path) -> None:
    crowded = CappedEncounters(1000, 10, "ascending", every=timedelta(minutes=5))  # three days: 864
    adapter = _adapter(crowded, tmp_path)
    assert asyncio.run(adapter.providers["Encounter"].read("42.C00042.101.20200106"))["id"] == "42.C00042.101.20200106"
    with pytest.raises(UpstreamError, match="cut"):
        asyncio.run(adapter.providers["Encounter"].read("42.C00042.999.20200106"))


def test_an_encounter_list_of_exactly_a_cap_where_there_is_none_costs_two_calls_more(tmp_path: Path) -> None:
    """Ten encounters and no cap: the window split once shows that all ten were there."""
    fake = CappedEncounters(10, 1000, "ascending")
    adapter = _adapter(fake, tmp_path)
    page = _search(adapter, "Encounter", [("patient", "42.C00042")])
    assert len(page.resources) == 10 and page.warnings == ()


@pytest.mark.parametrize("chart", [None, "", "  ", "absent"])
def test_a_patient_without_a_chart_number_reads_back_with_its_encounters(tmp_path: Path, chart: str | None) -> None:
    """The docs do not make `chartNumber` required: such a patient is found by name, and its id
    (which then carries its last name's initial) reads back, with its encounters."""
    record = {k: v for k, v in GOOD.items() if k != "chartNumber"}
    if chart != "absent":
        record["chartNumber"] = chart
    fake = Fake([record], [{"summary": SUMMARY, "ccd": "<p>ok</p>"}])
    adapter = _adapter(fake, tmp_path)
    [found] = _search(adapter, "Patient", [("family", "Núñez")]).resources
    assert found["id"] == "42.x.N" and [i["value"] for i in found["identifier"]] == ["42"]
    fake.calls.clear()
    assert asyncio.run(adapter.providers["Patient"].read("42.x.N"))["id"] == "42.x.N"
    assert {params["term"] for _, params in fake.calls} == {"N", "Ñ", "Ń", "Ņ", "Ň", "n"}
    encounters = _search(adapter, "Encounter", [("patient", "42.x.N")]).resources
    assert [r["id"] for r in encounters] == ["42.x.N.1.20250315"]
    assert asyncio.run(adapter.providers["Binary"].read("42.x.N.1.20250315.ccd"))["id"] == "42.x.N.1.20250315.ccd"
    for other in ("43.x.N", "42.x.M", "42.x", "42.x.", "42.x.NN"):
        with pytest.raises(NotFound):
            asyncio.run(adapter.providers["Patient"].read(other))


class Answers(Fake):
    """A fake whose patient search answers one fixed body."""

    def __init__(self, body: Any) -> None:
        super().__init__([GOOD], [])
        self.body = body

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self.body if path == "/search" else await super().get(path, params)


@pytest.mark.parametrize(
    ("body", "cut"),
    [
        ({"data": [GOOD], "meta": {"total": 120}}, True),  # JSON:API
        ({"data": [GOOD], "links": {"next": "/search?term=C&page=2"}}, True),
        ({"data": [GOOD], "meta": {"current_page": 1, "last_page": 3}}, True),  # Laravel
        ({"items": [GOOD], "hasMore": True}, True),
        ({"results": [GOOD], "totalPages": 3, "page": 1}, True),
        ({"data": [GOOD], "pagination": {"totalItems": 120}}, True),
        ({"value": [GOOD], "_links": {"next": {"href": "/search?page=2"}}}, True),  # HAL
        ({"data": [GOOD], "links": {"next": None, "prev": None}, "meta": {"current_page": 1, "last_page": 1}}, False),
        ({"items": [GOOD], "hasMore": False, "totalPages": 1}, False),
        ({"items": [GOOD], "hasMore": "False"}, False),  # a flag as text, in .NET's spelling
        ({"items": [GOOD], "has_more": "0"}, False),
        ({"items": [GOOD], "hasMore": "true"}, True),
        ({"data": [GOOD], "pagination": {"count": 1, "total": 120}}, True),  # count: this page's
        ({"data": [GOOD], "count": 1, "totalCount": 1}, False),
        ({"data": [GOOD], "meta": {"total": 1}}, False),
    ],
)
def test_paging_nested_in_an_envelope_says_matches_may_be_missing(tmp_path: Path, body: Any, cut: bool) -> None:
    adapter = _adapter(Answers(body), tmp_path)
    page = _search(adapter, "Patient", [("identifier", "urn:nx/chart-number|C00042")])
    assert [r["id"] for r in page.resources] == ["42.C00042"]
    assert any("may have been cut" in w for w in page.warnings) is cut
    if cut:  # a read not finding its patient in such an answer cannot say it does not exist
        with pytest.raises(UpstreamError, match="may have been cut"):
            asyncio.run(adapter.providers["Patient"].read("42.C00099"))


class Paged(Fake):
    """Every list in Django REST Framework's pages of two: `next` an absolute URL of the same
    endpoint on the host the vendor believes it has (behind a proxy, not the tenant's)."""

    gone_after: int | None = None  # pages beyond this answer 404 "Invalid page." (the list shrank)

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        params = dict(params or {})
        page = int(params.pop("page", "1"))
        if self.gone_after is not None and page > self.gone_after:
            self.calls.append((path, {**params, "page": str(page)}))
            raise NotFound("Invalid page.")
        rows = await Fake.get(self, path, params)
        self.calls[-1] = (path, {**params, "page": str(page)})
        query = "&".join(f"{k}={v}" for k, v in {**params, "page": page + 1}.items())
        more = len(rows) > 2 * page
        return {
            "count": len(rows),
            "next": f"http://internal:8000/api{path}?{query}" if more else None,
            "previous": None,
            "results": rows[2 * (page - 1) : 2 * page],
        }


def test_pages_an_envelope_links_to_are_read_too(tmp_path: Path) -> None:
    """Django REST Framework pages every list at 10 by default: the first page alone left every
    patient and encounter past it out (and a CCD of such a patient was a 502)."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    items = [{"summary": {**SUMMARY, "encounterId": 10 + i}} for i in range(5)]
    fake = Paged(many, items)
    adapter = _adapter(fake, tmp_path)
    page = _search(adapter, "Patient", [("identifier", "C00")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)
    assert [params.get("page") for path, params in fake.calls] == ["1", "2", "3"]
    assert all(path == "/search" for path, _ in fake.calls)  # asked of base_url, not the link's host
    page = _search(adapter, "Encounter", [("patient", "100.C00100")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)
    assert asyncio.run(adapter.providers["Patient"].read("104.C00104"))["id"] == "104.C00104"


def test_a_page_gone_or_a_link_elsewhere_says_matches_may_be_missing(tmp_path: Path) -> None:
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    fake = Paged(many, [])
    fake.gone_after = 1
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 2 and any("may have been cut" in w for w in page.warnings)

    class Elsewhere(Paged):
        async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
            body = await super().get(path, params)
            if body["next"]:
                body["next"] = "https://other.example/export?page=2"
            return body

    fake = Elsewhere(many, [])
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 2 and any("may have been cut" in w for w in page.warnings)
    assert len(fake.calls) == 1


class ThreeLetters(Fake):
    """A Nextech whose `term` must be three characters at least (a 400 otherwise)."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if path == "/search" and len((params or {})["term"].strip()) < 3:
            self.calls.append((path, dict(params or {})))
            raise InvalidRequest("The vendor rejected the request")
        return await super().get(path, params)


def test_a_minimum_term_length_searches_the_name_as_written(tmp_path: Path) -> None:
    """Before, every name search of such a Nextech was a 400 "The vendor rejected the request"."""
    fake = ThreeLetters([GOOD], [])
    adapter = _adapter(fake, tmp_path)
    page = _search(adapter, "Patient", [("family", "núñez")])
    assert [r["id"] for r in page.resources] == ["42.C00042"] and WRITTEN_TERMS in page.warnings
    assert {params["term"] for _, params in fake.calls if len(params["term"]) > 1} == {
        "núñez",
        "Núñez",
        "nunez",
        "Nunez",
    }
    fake.calls.clear()
    page = _search(adapter, "Patient", [("given", "Renée"), ("family", "Núñez")])  # remembered: no letters now
    assert [r["id"] for r in page.resources] == ["42.C00042"]
    assert [params["term"] for _, params in fake.calls] == ["Núñez", "Nunez"]
    with pytest.raises(InvalidRequest, match="send more of the name"):
        _search(adapter, "Patient", [("family", "N")])
    assert asyncio.run(adapter.providers["Patient"].read("42.C00042"))["id"] == "42.C00042"  # chart numbers


def test_a_patient_without_a_chart_number_under_a_minimum_term_length(tmp_path: Path) -> None:
    """Its id carries only its last name's initial, a term such a Nextech refuses: its encounters
    are still listed once a search has found it, and a read is a 502 saying why, not a 400
    blaming the client's request."""
    record = {k: v for k, v in GOOD.items() if k != "chartNumber"}
    fake = ThreeLetters([record], [{"summary": SUMMARY, "ccd": "<p>ok</p>"}])
    adapter = _adapter(fake, tmp_path)
    [found] = _search(adapter, "Patient", [("family", "Núñez")]).resources
    assert found["id"] == "42.x.N"
    assert [r["id"] for r in _search(adapter, "Encounter", [("patient", "42.x.N")]).resources] == ["42.x.N.1.20250315"]
    with pytest.raises(UpstreamError, match="could not be looked up"):
        asyncio.run(_adapter(fake, tmp_path).providers["Patient"].read("42.x.N"))


@pytest.mark.parametrize(
    ("body", "spellings"),
    [
        (["Allergies", "VitalSigns"], {"Allergies": (), "VitalSigns": ()}),
        ({"VitalSigns": "Vital Signs"}, {}),  # a map: its keys are the names
        (
            {"count": 1, "next": None, "results": [{"id": 5, "name": "Vital Signs", "code": "VitalSigns"}]},
            {"Vital Signs": ("VitalSigns",)},
        ),
        ([{"code": "VitalSigns", "displayName": "Vital Signs"}], {"VitalSigns": ("Vital Signs",)}),
    ],
)
def test_a_section_category_gives_its_other_names(body: Any, spellings: dict[str, tuple[str, ...]]) -> None:
    assert section_spellings(body) == spellings


class QueryOnlyLinks(Paged):
    """A next link of the query alone (`?page=2`), which `next_page_query` reads as the same
    endpoint; the term is required (the docs), so a page asked without it is a 400."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if path == "/search" and "term" not in (params or {}):
            self.calls.append((path, dict(params or {})))
            raise InvalidRequest("The vendor rejected the request")
        body = await super().get(path, params)
        if body["next"]:
            body["next"] = "?page=" + body["next"].rsplit("page=", 1)[1]
        return body


def test_a_next_link_of_the_query_alone_keeps_the_search_asked(tmp_path: Path) -> None:
    """Before, page 2 was asked with `page` alone: the term (and an encounter search's window
    and section) dropped, so a name search was a 400 blaming the client, or a page of another
    list was merged into the answer."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    fake = QueryOnlyLinks(many, [])
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)
    assert all(params.get("term") == "C00" for _, params in fake.calls)


def test_a_later_page_refused_says_matches_may_be_missing(tmp_path: Path) -> None:
    """A 400 for page 2 is not the client's request at fault: what was read is answered, cut."""

    class RefusesPageTwo(Paged):
        async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
            if (params or {}).get("page") == "2":
                raise InvalidRequest("The vendor rejected the request")
            return await super().get(path, params)

    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    page = _search(_adapter(RefusesPageTwo(many, []), tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 2 and any("may have been cut" in w for w in page.warnings)


def test_a_first_letter_past_the_pages_read_is_searched_as_written_too(tmp_path: Path) -> None:
    """A practice with more patients under one letter than one search's requests read (pages of
    two): before, a Smith past them was missing from `family=Smith` (the answer saying only that
    it was cut); the name as written narrows the vendor's answer to pages that can all be read."""
    others = [
        {**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}", "lastName": "Sanders"} for i in range(45)
    ]
    smith = {**GOOD, "patientId": 999, "chartNumber": "C00999", "lastName": "Smith"}
    fake = Paged([*others, smith], [])
    page = _search(_adapter(fake, tmp_path), "Patient", [("family", "Smith")])
    assert "999.C00999" in [r["id"] for r in page.resources]  # the gateway then drops the Sanders
    # The reason said is the cut, not a refusal of one-letter terms, which did not happen.
    assert LETTERS_CUT in page.warnings and WRITTEN_TERMS not in page.warnings
    assert not any("may have been cut" in w for w in page.warnings)


class HeaderPaged(Fake):
    """A bare array of two items a page, the pages said only in headers: flask-smorest's
    `X-Pagination` (`link=False`) or a `Link` rel="next" with `X-Total-Count` (`link=True`)."""

    def __init__(self, patients: list[dict[str, Any]], items: list[dict[str, Any]], link: bool) -> None:
        super().__init__(patients, items)
        self.link = link

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        params = dict(params or {})
        page = int(params.pop("page", "1"))
        rows = await super().get(path, params)
        self.calls[-1][1]["page"] = str(page)
        return rows[2 * (page - 1) : 2 * page]

    def headers_of(self, path: str, params: dict[str, str], body: Any) -> Mapping[str, str]:
        page = int(params.get("page", "1"))
        total = len(self.patients) if path == "/search" else len(self.items)
        pages = -(-total // 2)
        if self.link:
            following = f'<http://vendor.example/api{path}?page={page + 1}>; rel="next", ' if page < pages else ""
            return {
                "link": following + '<http://vendor.example/api/x?page=1>; rel="first"',
                "x-total-count": str(total),
            }
        meta = {"total": total, "total_pages": pages, "page": page} | ({"next_page": page + 1} if page < pages else {})
        return {"X-Pagination": json.dumps(meta)}


@pytest.mark.parametrize("link", [False, True])
def test_pages_a_bare_arrays_headers_describe_are_read_too(tmp_path: Path, link: bool) -> None:
    """flask-smorest pages lists as bare arrays and says so only in `X-Pagination`; other
    frameworks in a `Link` header. Before, the first page was read as the whole answer: the
    patients and encounters past it were silently missing."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    items = [{"summary": {**SUMMARY, "encounterId": 10 + i}} for i in range(5)]
    fake = HeaderPaged(many, items, link)
    adapter = _adapter(fake, tmp_path)
    page = _search(adapter, "Patient", [("identifier", "C00")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)
    assert [params.get("page") for path, params in fake.calls] == ["1", "2", "3"]
    page = _search(adapter, "Encounter", [("patient", "100.C00100")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)


def test_a_header_counting_more_than_was_read_says_matches_may_be_missing(tmp_path: Path) -> None:
    """A bare array whose `X-Total-Count` is larger than it, with no way to the rest."""

    class Counted(Fake):
        def headers_of(self, path: str, params: dict[str, str], body: Any) -> Mapping[str, str]:
            return {"X-Total-Count": "7"} if path == "/search" else {}

    page = _search(_adapter(Counted([GOOD], []), tmp_path), "Patient", [("identifier", "C00042")])
    assert len(page.resources) == 1 and any("may have been cut" in w for w in page.warnings)


class Numbered(Fake):
    """Flask-SQLAlchemy's `paginate()`: two items a page, the next page numbered (`next_num`),
    linked nowhere; `ignoring` answers page 1 whatever `page` is asked."""

    ignoring = False

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        params = dict(params or {})
        page = 1 if self.ignoring else int(params.pop("page", "1"))
        params.pop("page", None)
        rows = await super().get(path, params)
        pages = -(-len(rows) // 2)
        return {
            "items": rows[2 * (page - 1) : 2 * page],
            "page": page,
            "pages": pages,
            "per_page": 2,
            "total": len(rows),
            "has_next": page < pages,
            "next_num": page + 1 if page < pages else None,
        }


def test_pages_an_envelope_numbers_without_a_link_are_read_too(tmp_path: Path) -> None:
    """Before, the first page of a Flask-SQLAlchemy envelope was all that was read (the answer
    said to be cut): every patient and encounter past it was missing."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    items = [{"summary": {**SUMMARY, "encounterId": 10 + i}} for i in range(5)]
    fake = Numbered(many, items)
    adapter = _adapter(fake, tmp_path)
    page = _search(adapter, "Patient", [("identifier", "C00")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)
    assert len(fake.calls) == 3
    page = _search(adapter, "Encounter", [("patient", "100.C00100")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)


class BarePages(Fake):
    """One page of `size` patients as a bare array, `?page=` counted from `first`; past the last: []."""

    def __init__(self, patients: list[dict[str, Any]], size: int, first: int) -> None:
        super().__init__(patients, [])
        self.size, self.first = size, first

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        rows = await super().get(path, {k: v for k, v in (params or {}).items() if k != "page"})
        self.calls[-1] = (path, dict(params or {}))
        index = int((params or {}).get("page", self.first)) - self.first
        return rows[index * self.size : (index + 1) * self.size]


@pytest.mark.parametrize(("count", "first", "calls"), [(20, 1, 3), (20, 0, 2), (45, 1, 4), (45, 0, 3)])
def test_a_bare_page_of_a_page_size_is_followed_by_the_pages_after_it(
    tmp_path: Path, count: int, first: int, calls: int
) -> None:
    """A bare array of exactly 20 may be one page of more: `?page=` is asked, from 1 or from 0
    as the answers show, to a short page. Exactly one full page is the whole answer, unwarned."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(count)]
    fake = BarePages(many, 20, first)
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == count and not any("cut" in w for w in page.warnings)
    assert len(fake.calls) == calls


class OffsetPages(Fake):
    """Patients `take` (3) at a time from `?skip=`, echoed in `meta` with no total and no link;
    `skip` not read when `reads_skip` is False."""

    def __init__(self, patients: list[dict[str, Any]], reads_skip: bool = True) -> None:
        super().__init__(patients, [])
        self.reads_skip = reads_skip

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        asked = dict(params or {})
        rows = await super().get(path, {k: v for k, v in asked.items() if k not in ("skip", "take")})
        self.calls[-1] = (path, asked)
        if path != "/search":
            return rows
        skip = int(asked.get("skip", "0")) if self.reads_skip else 0
        take = int(asked.get("take", "3"))
        return {"data": rows[skip : skip + take], "meta": {"skip": skip, "take": take}}


@pytest.mark.parametrize("count", [6, 7])
def test_pages_counted_by_offset_without_a_total_are_read_to_a_page_not_full(tmp_path: Path, count: int) -> None:
    """Before, the first page was all that was read: patients past it were missing."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(count)]
    fake = OffsetPages(many)
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == count and not any("cut" in w for w in page.warnings)
    assert [params.get("skip") for _, params in fake.calls] == [None, "3", "6"]


class ODataCapped(Fake):
    """Patients 3 at a time from `?$skip=`, as `{"@odata.context", "@odata.count", "value"}` with
    no next link (a controller applying its query options by hand); `$skip` not read when
    `reads_skip` is False."""

    def __init__(self, patients: list[dict[str, Any]], reads_skip: bool = True) -> None:
        super().__init__(patients, [])
        self.reads_skip = reads_skip

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        asked = dict(params or {})
        rows = await super().get(path, {k: v for k, v in asked.items() if k != "$skip"})
        self.calls[-1] = (path, asked)
        skip = int(asked.get("$skip", "0")) if self.reads_skip else 0
        return {"@odata.context": "$metadata#Patients", "@odata.count": len(rows), "value": rows[skip : skip + 3]}


def test_an_odata_answer_counting_more_than_it_holds_is_asked_by_skip(tmp_path: Path) -> None:
    """Before, its first page was all that was read, and the searchset said matches may be missing."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(7)]
    fake = ODataCapped(many)
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 7 and not any("cut" in w for w in page.warnings)
    assert [params.get("$skip") for _, params in fake.calls] == [None, "3", "6"]
    fake = ODataCapped(many, reads_skip=False)  # the same rows again: the count is not reached
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 3 and any("cut" in w for w in page.warnings)


def test_an_offset_not_read_says_matches_may_be_missing(tmp_path: Path) -> None:
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(7)]
    fake = OffsetPages(many, reads_skip=False)
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 3 and any("may have been cut" in w for w in page.warnings)
    assert len(fake.calls) == 2  # the same rows again: not asked a third time


class WholeNames(Fake):
    """A Nextech whose `term` must equal a whole last name or chart number (case ignored)."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if path != "/search":
            return await super().get(path, params)
        self.calls.append((path, dict(params or {})))
        term = (params or {})["term"].casefold()
        return [p for p in self.patients if term in (p["lastName"].casefold(), p["chartNumber"].casefold())]


def test_a_nextech_matching_whole_names_is_asked_for_them_from_then_on(tmp_path: Path) -> None:
    """Before, the first letters found no one there and every name search was silently empty."""
    fake = WholeNames([{**GOOD, "lastName": "Nolan"}], [])
    adapter = _adapter(fake, tmp_path)
    assert _search(adapter, "Patient", [("family", "Nol")]).resources == []  # no one: nothing learnt
    assert not any("whole names" in w for w in _search(adapter, "Patient", [("family", "Nol")]).warnings)
    fake.calls.clear()
    page = _search(adapter, "Patient", [("family", "nolan")])
    assert [r["id"] for r in page.resources] == ["42.C00042"] and any("whole names" in w for w in page.warnings)
    letters = len(fake.calls)
    fake.calls.clear()
    page = _search(adapter, "Patient", [("family", "Nolan")])  # the names as written at once
    assert [r["id"] for r in page.resources] == ["42.C00042"] and any("whole names" in w for w in page.warnings)
    assert {c[1]["term"] for c in fake.calls} == {"Nolan"} and len(fake.calls) < letters


class Hal(Fake):
    """Spring HATEOAS's `PagedModel`: the list under `_embedded`, which is left out when empty."""

    def _wrap(self, rows: list[Any]) -> Any:
        page = {"size": 20, "totalElements": len(rows), "totalPages": 1 if rows else 0, "number": 0}
        embedded = {"_embedded": {"patientList": rows}} if rows else {}
        return {**embedded, "_links": {"self": {"href": "http://127.0.0.1:9/api/search"}}, "page": page}


def test_a_hal_answer_finding_no_one_is_an_empty_search(tmp_path: Path) -> None:
    """Before, an answer with no list in it at all (HAL with nothing `_embedded`) was a 502."""
    adapter = _adapter(Hal([GOOD], [{"summary": SUMMARY}]), tmp_path)
    assert _search(adapter, "Patient", [("identifier", "C99")]).resources == []
    assert [r["id"] for r in _search(adapter, "Patient", [("identifier", "C00042")]).resources] == ["42.C00042"]


def test_a_page_number_not_taken_is_not_read_twice(tmp_path: Path) -> None:
    """A Nextech that numbers its pages but answers the first whatever `page` says: its rows are
    not read twice, and the answer says matches may be missing."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    fake = Numbered(many, [])
    fake.ignoring = True
    page = _search(_adapter(fake, tmp_path), "Patient", [("identifier", "C00")])
    assert len(page.resources) == 2 and any("may have been cut" in w for w in page.warnings)
    assert len(fake.calls) == 2


def test_a_nextech_seen_to_ignore_case_is_not_sent_the_lower_case_letter_again(tmp_path: Path) -> None:
    """The lower-case initial finds names like `de la Cruz` at a case-sensitive Nextech; at one
    that ignores case it is the capital's answer again. Once `n` has found `Núñez`, a name
    search is one call fewer (half the calls for a letter with no accented forms)."""
    bell = {**GOOD, "patientId": 45, "chartNumber": "C00045", "firstName": "Ann", "lastName": "Bell"}
    fake = Fake([GOOD, bell], [])
    adapter = _adapter(fake, tmp_path)
    _search(adapter, "Patient", [("family", "Núñez")])  # `n` found `Núñez`, which has an `n` anyway
    assert "n" in [params["term"] for _, params in fake.calls]
    fake.calls.clear()
    _search(adapter, "Patient", [("family", "bell")])  # `b` found `Ann Bell`
    assert [params["term"] for _, params in fake.calls] == ["B", "b"]
    fake.calls.clear()
    page = _search(adapter, "Patient", [("family", "nunez,bell")])
    assert [params["term"] for _, params in fake.calls] == ["N", "Ñ", "Ń", "Ņ", "Ň", "B"]
    assert sorted(r["id"] for r in page.resources) == ["42.C00042", "45.C00045"]
    fake.patients.append({**GOOD, "patientId": 47, "chartNumber": None, "lastName": "Nolan"})
    fake.calls.clear()
    assert asyncio.run(adapter.providers["Patient"].read("47.x.N"))["id"] == "47.x.N"  # no chart number
    assert [params["term"] for _, params in fake.calls] == ["N", "Ñ", "Ń", "Ņ", "Ň"]


def test_a_case_sensitive_nextech_keeps_being_sent_the_lower_case_letter(tmp_path: Path) -> None:
    """`d` finding only names holding a lower-case `d` says nothing of case: it is sent again."""

    class CaseSensitive(Fake):
        async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
            if path != "/search":
                return await super().get(path, params)
            self.calls.append((path, dict(params or {})))
            term = (params or {})["term"]
            return [p for p in self.patients if str(p["lastName"]).startswith(term)]

    cruz = {**GOOD, "patientId": 46, "chartNumber": "C00046", "lastName": "de la Cruz"}
    fake = CaseSensitive([GOOD, cruz], [])
    adapter = _adapter(fake, tmp_path)
    for _ in range(2):
        fake.calls.clear()
        page = _search(adapter, "Patient", [("family", "De La Cruz")])
        assert [params["term"] for _, params in fake.calls] == ["D", "Ď", "d"]
        assert [r["id"] for r in page.resources] == ["46.C00046"]


@pytest.mark.parametrize(
    "headers",
    [{"X-Total-Count": "²"}, {"X-Pagination": '{"total": "¹", "next_page": "²"}'}, {"Link": '<?page=²>; rel="next"'}],
)
def test_page_facts_that_are_no_numbers_are_not_a_crash(tmp_path: Path, headers: dict[str, str]) -> None:
    """Superscript digits pass `str.isdigit()` but not `int()`: a header or link holding one was
    an unhandled ValueError (a 500); it is read as saying nothing of the pages."""

    class Odd(Fake):
        def headers_of(self, path: str, params: dict[str, str], body: Any) -> Mapping[str, str]:
            if "page" in params:  # a page asked by a number that is none, saying it is page 2
                return {"X-Pagination": '{"page": 2}'}
            return headers if path == "/search" else {}

    page = _search(_adapter(Odd([GOOD], []), tmp_path), "Patient", [("identifier", "C00042")])
    assert [r["id"] for r in page.resources] == ["42.C00042"]


def test_categories_as_a_map_with_a_count_header_are_still_read(tmp_path: Path) -> None:
    """Sections as an object mapping each name to its title, answered with an `X-Total-Count`
    header: the count was put into that object as a `pagination` member, which made it no map
    of names, and every DocumentReference and Binary was a 502 "sections could not be read"."""

    class Mapped(Fake):
        async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
            if path == "/encounters/categories":
                self.calls.append((path, dict(params or {})))
                return {"Allergies": "Allergies", "VitalSigns": "Vital Signs"}
            return await super().get(path, params)

        def headers_of(self, path: str, params: dict[str, str], body: Any) -> Mapping[str, str]:
            return {"X-Total-Count": "2"}

    adapter = _adapter(Mapped([GOOD], []), tmp_path)
    assert asyncio.run(adapter.sections()) == ["Allergies", "VitalSigns"]


class AspNetPaged(Fake):
    """An ASP.NET team's pages, two items each, asked with `?pageNumber=` (`page` not read):
    `PaginatedList<T>` (`{"items", "pageNumber", "totalPages", "totalCount", "hasNextPage"}`)
    or, with `header`, a bare array and an `X-Pagination` header in PascalCase."""

    def __init__(self, patients: list[dict[str, Any]], items: list[dict[str, Any]], header: bool) -> None:
        super().__init__(patients, items)
        self.header = header

    async def get_with_headers(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        params = dict(params or {})
        page = int(params.pop("pageNumber", "1"))
        rows = await self.get(path, params)
        self.calls[-1] = (path, {**params, "pageNumber": str(page)})
        pages = -(-len(rows) // 2)
        shown = rows[2 * (page - 1) : 2 * page]
        if self.header:
            meta = {"TotalCount": len(rows), "PageSize": 2, "CurrentPage": page, "TotalPages": pages}
            return shown, {"X-Pagination": json.dumps({**meta, "HasNext": page < pages, "HasPrevious": page > 1})}
        body = {"items": shown, "pageNumber": page, "totalPages": pages, "totalCount": len(rows)}
        return {**body, "hasPreviousPage": page > 1, "hasNextPage": page < pages}, {}


@pytest.mark.parametrize("header", [False, True])
def test_pages_an_aspnet_team_numbers_are_read_too(tmp_path: Path, header: bool) -> None:
    """Before, only the first page was read: with `PaginatedList` the answer said it was cut;
    with the PascalCase `X-Pagination` header (none of which was read) the patients and
    encounters past the first page were silently missing."""
    many = [{**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}"} for i in range(5)]
    items = [{"summary": {**SUMMARY, "encounterId": 10 + i}} for i in range(5)]
    fake = AspNetPaged(many, items, header)
    adapter = _adapter(fake, tmp_path)
    page = _search(adapter, "Patient", [("identifier", "C00")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)
    assert [params.get("pageNumber") for path, params in fake.calls] == ["1", "2", "3"]
    page = _search(adapter, "Encounter", [("patient", "100.C00100")])
    assert len(page.resources) == 5 and not any("cut" in w for w in page.warnings)


class WholeCharts(Fake):
    """A Nextech comparing the chart number whole, as SQL Server's `=` does (trailing blanks
    ignored, case too), and names by prefix; its chart numbers served as a `char(10)` column
    holds them, padded with blanks."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        if path != "/search":
            return await super().get(path, params)
        self.calls.append((path, dict(params or {})))
        term = (params or {})["term"].rstrip().casefold()
        return [
            {**p, "chartNumber": str(p["chartNumber"]).ljust(10)}
            for p in self.patients
            if str(p["chartNumber"]).rstrip().casefold() == term or str(p["lastName"]).casefold().startswith(term)
        ]


def test_a_chart_number_with_a_space_is_found_by_a_nextech_comparing_it_whole(tmp_path: Path) -> None:
    """Before, only the chart number's first word (`AB`) was sent, which such a Nextech matches
    with no one: the patient could be neither searched by identifier nor read by id."""
    spaced = {**GOOD, "patientId": 44, "chartNumber": "AB 1001"}
    adapter = _adapter(WholeCharts([GOOD, spaced], []), tmp_path)
    page = _search(adapter, "Patient", [("identifier", "AB 1001")])
    assert [r["id"] for r in page.resources] == ["44.xAB-201001"]
    assert asyncio.run(adapter.providers["Patient"].read("44.xAB-201001"))["id"] == "44.xAB-201001"


def test_a_chart_number_padded_with_blanks_is_read_without_them(tmp_path: Path) -> None:
    """Before, the blanks of a `char(10)` chart number went into the Patient id
    (`42.xC00042-20-20-20-20`) and identifier, which no search by the chart number then found."""
    adapter = _adapter(WholeCharts([{**GOOD, "firstName": "Renée "}], []), tmp_path)
    page = _search(adapter, "Patient", [("identifier", "C00042")])
    assert [r["id"] for r in page.resources] == ["42.C00042"]
    patient = page.resources[0]
    assert "C00042" in {i["value"] for i in patient["identifier"]}
    assert patient["name"][0]["given"] == ["Renée"]
    assert asyncio.run(adapter.providers["Patient"].read("42.C00042"))["id"] == "42.C00042"


class NoneFoundAs404(Fake):
    """A Nextech answering a search that finds no one with the docs' 404 ("The requested
    resource cannot be found"), whose `/encounters/categories` answers `categories`: an error
    raised, or a body."""

    def __init__(self, categories: Any) -> None:
        super().__init__([GOOD], [])
        self.categories = categories

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        self.calls.append((path, dict(params or {})))
        if path == "/search":
            raise NotFound("The requested resource cannot be found")
        if isinstance(self.categories, Exception):
            raise self.categories
        return self.categories


@pytest.mark.parametrize(
    "categories",
    [
        error_for_status(403, "Forbidden"),  # the user the grant is for may not read clinical data
        error_for_status(400, "The request is missing information"),
        {"sections": 7},  # no list of names the adapter can read
    ],
    ids=["refused", "rejected", "unreadable"],
)
def test_a_search_finding_no_one_is_empty_whatever_the_categories_route_answers(
    tmp_path: Path, categories: Any
) -> None:
    """The categories route is asked only to tell a Nextech that found no one (a 404 of
    `/search`) from a `base_url` the API is not at (a 404 for every path). Any answer but a 404
    says the API is there. Before, a categories route refusing the user (403) or answering a
    list it could not read made every search that found no one a 502, and one rejecting the
    call (400) made it a 400 telling the client to send more of the name."""
    adapter = _adapter(NoneFoundAs404(categories), tmp_path)
    for query in ([("family", "Zed")], [("identifier", "C99")]):
        assert _search(adapter, "Patient", query).resources == []
    with pytest.raises(NotFound):
        asyncio.run(adapter.providers["Patient"].read("42.C00042"))


def test_a_base_url_answering_404_for_every_path_is_still_a_502(tmp_path: Path) -> None:
    adapter = _adapter(NoneFoundAs404(NotFound("")), tmp_path)
    with pytest.raises(UpstreamError, match="base_url"):
        _search(adapter, "Patient", [("family", "Zed")])


class NearCalendar(Fake):
    """A Nextech whose encounter search refuses an `end` more than four years ahead."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        end = (params or {}).get("end", "")
        if path.endswith("/encounters/search") and end and int(end[:4]) > datetime.now(UTC).year + 4:
            raise InvalidRequest("end is out of range")
        return await super().get(path, params)


def test_an_open_search_cut_at_the_horizon_counts_it_from_todays_utc_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nextech's window is in UTC. On a host whose own date is not yet (or no longer) the UTC
    # date, the horizon was counted from the host's date: a day short of (or past) the one asked.
    now = datetime.now(UTC)
    monkeypatch.setenv("TZ", "Etc/GMT-14" if now.hour >= 10 else "Etc/GMT+12")  # a zone a date apart
    time.tzset()
    try:
        assert date.today() != now.date()  # the host's date, as the zone makes it
        fake = NearCalendar([GOOD], [{"summary": SUMMARY, "ccd": "<p>ok</p>"}], envelope="data")
        page = _search(_adapter(fake, tmp_path), "Encounter", [("patient", "42.C00042")])
    finally:
        monkeypatch.undo()
        time.tzset()
    assert page.warnings  # the calendar was searched three years ahead only, and the searchset says so
    ends = [params["end"] for path, params in fake.calls if path.endswith("/encounters/search")]
    assert ends[-1].startswith((now.date() + timedelta(days=HORIZON_DAYS)).isoformat())


class AbpPaged(Fake):
    """Every list as ASP.NET Boilerplate's `PagedResultDto` of two from `?skipCount=`, its first
    page answering whatever follows it (rows and all) as a page past the last answers."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        asked = dict(params or {})
        rows = await super().get(path, {k: v for k, v in asked.items() if k != "skipCount"})
        self.calls[-1] = (path, asked)
        if path != "/search":
            return rows
        skip = int(asked.get("skipCount", "0"))
        return {"totalCount": len(rows), "items": rows[skip : skip + 2]}


@pytest.mark.parametrize(
    ("fake", "count"),
    [
        (lambda rows: Paged(rows, []), 100),
        (lambda rows: AbpPaged(rows, []), 100),
        (lambda rows: BarePages(rows, 20, 1), 1000),
    ],
    ids=["drf", "abp", "bare"],
)
def test_a_walk_longer_than_one_calls_requests_goes_on_in_the_next(
    tmp_path: Path, fake: Callable[[list[dict[str, Any]]], Fake], count: int
) -> None:
    """A chart prefix matching 100 patients two a page (or 1000 twenty a page): 50 pages, more than
    one search call may ask (walks.SEARCH_REQUESTS). Before, a walk stopped after 20 pages, and the searchset said
    matches may be missing; now the call says where it stopped (its `next` position), and the
    next call goes on from there: every patient served once, nothing said to be missing."""
    vendor = fake([{**GOOD, "patientId": 1000 + i, "chartNumber": f"C{1000 + i:05d}"} for i in range(count)])
    pages = _search_all(_adapter(vendor, tmp_path), "Patient", [("identifier", "C0")])
    served = [r["id"] for page in pages for r in page.resources]
    assert len(pages) > 1 and len(served) == len(set(served)) == len(vendor.patients)
    assert not [w for page in pages for w in page.warnings if w != CHART_ONLY]
    assert len(vendor.calls) <= (SEARCH_REQUESTS + 1) * len(pages)


def test_a_page_token_that_is_no_position_of_this_search_is_refused(tmp_path: Path) -> None:
    adapter = _adapter(Fake([GOOD], []), tmp_path)
    for kind, items in (("Patient", [("family", "N")]), ("Encounter", [("patient", "42.C00042")])):
        provider = adapter.providers[kind]
        query = parse_search(provider.support, items, strict=True, default_count=20, max_count=100).query
        assert provider.search is not None
        for position in ({"term": "N"}, {"windows": [["x", "y", None]], "seen": []}, [1]):
            with pytest.raises(InvalidRequest):
                asyncio.run(provider.search(SearchRequest(query, position, 100)))


class Unaccenting(Fake):
    """An accent- and case-insensitive Nextech (SQL Server's `_CI_AI`)."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        asked = dict(params or {})
        if path != "/search":
            return await super().get(path, asked)
        self.calls.append((path, asked))
        term = fold_text(asked["term"])
        return [p for p in self.patients if any(fold_text(str(p.get(k, ""))).startswith(term) for k in ("lastName",))]


def fold_text(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def test_a_nextech_seen_to_ignore_accents_is_sent_the_capital_alone(tmp_path: Path) -> None:
    """An accented letter finding a name without that accent: this Nextech folds accents, and
    the capital finds all its accented forms do. Before, every name search sent them all (six
    calls for an N, eleven for an A) for as long as the gateway ran."""
    fake = Unaccenting([GOOD, {**GOOD, "patientId": 44, "chartNumber": "C00044", "lastName": "Nolan"}], [])
    adapter = _adapter(fake, tmp_path)
    first = _search(adapter, "Patient", [("family", "Núñez")])
    assert [r["id"] for r in first.resources] == ["42.C00042", "44.C00044"] and not first.warnings
    fake.calls.clear()
    again = _search(adapter, "Patient", [("family", "Nolan")])
    assert [params["term"] for _, params in fake.calls] == ["N", "n"]  # `n`: Renée holds it (case unknown)
    assert sorted(r["id"] for r in again.resources) == ["42.C00042", "44.C00044"]


def test_a_nextech_comparing_accents_keeps_being_sent_the_accented_letters(tmp_path: Path) -> None:
    fake = Fake([GOOD, {**GOOD, "patientId": 44, "chartNumber": "C00044", "lastName": "Ñúñez"}], [])
    adapter = _adapter(fake, tmp_path)
    _search(adapter, "Patient", [("family", "Nunez")])
    fake.calls.clear()
    _search(adapter, "Patient", [("family", "Nunez")])
    assert [params["term"] for _, params in fake.calls] == ["N", "Ñ", "Ń", "Ņ", "Ň", "n"]


def test_walk_positions_hold_what_they_say() -> None:
    walk = Walk({"page": "3", "term": "C"}, 40, (2, 4, 10))
    assert Walk.of(json.loads(json.dumps(walk.position()))) == walk
    assert Walk.of(Walk({"skipCount": "20"}, 20).position()) == Walk({"skipCount": "20"}, 20)
    for bad in (None, {"q": {"page": 3}, "n": 0}, {"q": {}, "n": -1}, {"q": {}, "n": 0, "h": [1, 2]}):
        with pytest.raises(ValueError):
            Walk.of(bad)


class UnaccentingPaged(Unaccenting):
    """An accent- and case-insensitive Nextech paging every search as Django REST Framework does,
    two a page."""

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        asked = dict(params or {})
        page = int(asked.pop("page", "1"))
        rows = await super().get(path, asked)
        self.calls[-1] = (path, {**asked, "page": str(page)})
        if path != "/search":
            return rows
        query = "&".join(f"{k}={v}" for k, v in {**asked, "page": page + 1}.items())
        following = f"http://internal:8000/api/search?{query}" if len(rows) > 2 * page else None
        return {"count": len(rows), "next": following, "results": rows[2 * (page - 1) : 2 * page]}


def test_a_letter_walked_on_in_the_next_call_is_served_alike_when_its_first_call_is_asked_again(
    tmp_path: Path,
) -> None:
    """The gateway asks a provider page again, at the same position, for a later FHIR page that
    begins inside it. The first call of `family=N` sends the accented letters too and learns
    that they find nothing more; asked again, it sends the capital alone. Both answers are the
    same: what the accented letters found is left to the capital's walk, and only pages past a
    term's first count against the allowance."""
    rows = [
        {**GOOD, "patientId": 100 + i, "chartNumber": f"C{100 + i:05d}", "firstName": "Bob", "lastName": name}
        for i, name in enumerate([f"Noll{i}" for i in range(90)] + [f"Ñoll{i}" for i in range(10)])
    ]
    adapter = _adapter(UnaccentingPaged(rows, []), tmp_path)
    first = _search(adapter, "Patient", [("family", "N")])
    again = _search(adapter, "Patient", [("family", "N")])
    assert [r["id"] for r in again.resources] == [r["id"] for r in first.resources]
    assert again.next == first.next is not None
    served = [r["id"] for page in _search_all(adapter, "Patient", [("family", "N")]) for r in page.resources]
    assert len(served) == len(set(served)) == 100


def test_an_encounter_page_gone_before_the_next_call_goes_on_says_the_list_was_cut(tmp_path: Path) -> None:
    """Django REST Framework answers 404 "Invalid page." for a page past a list that shrank since
    the call before read up to it: the encounters after it are unread, and the searchset says so
    (before this was read as "Patient not found", an empty page)."""
    items = [
        {
            "summary": {
                **SUMMARY,
                "encounterId": 100 + n,
                "encounterDate": f"{datetime(2020, 1, 6) + timedelta(days=n)}Z",
            }
        }
        for n in range(60)
    ]
    fake = Paged([GOOD], items)
    adapter = _adapter(fake, tmp_path)
    provider = adapter.providers["Encounter"]
    query = parse_search(provider.support, [("patient", "42.C00042")], strict=True, default_count=20, max_count=100)
    assert provider.search is not None
    first = asyncio.run(provider.search(SearchRequest(query.query, None, 100)))
    assert first.next is not None and not first.warnings
    fake.gone_after = 20
    then = asyncio.run(provider.search(SearchRequest(query.query, first.next, 100)))
    assert then.next is None and not then.resources and any("may have been cut" in w for w in then.warnings)
