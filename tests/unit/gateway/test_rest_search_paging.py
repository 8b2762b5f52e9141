"""Search over HTTP as a FHIR client sees it: `_id` by reads, full pages when the gateway
filters, signed page tokens, counts and totals, strict and lenient handling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.contract import Pushdown
from gateway.search.execute import MAX_VENDOR_CALLS_PER_PAGE, MAX_VENDOR_CALLS_TO_COUNT
from gateway.slow_clients import MAX_TARGET_BYTES
from tests.support.fake_vendor import (
    BASE,
    DEFAULT_PATIENT_PARAMS,
    READ,
    SEARCH,
    TENANT,
    FakeBackend,
    TestClient,
    bundle_warnings,
    fake_gateway,
    fake_settings,
    follow,
    ids,
    link,
    ok,
    outcome,
)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _alternating(backend: FakeBackend, count: int) -> list[str]:
    """`count` patients, every other one born in 2001 (the rest in 1950); the ids of the 2001 ones."""
    born = []
    for n in range(count):
        year = 2001 if n % 2 else 1950
        patient = backend.add_patient(f"p{n:03d}", birth_date=f"{year}-06-01")
        if year == 2001:
            born.append(patient["id"])
    return born


@pytest.fixture
def small_pages() -> FakeBackend:
    """A vendor answering five patients a page."""
    return FakeBackend(page_size=5)


@pytest.fixture
def paged(small_pages: FakeBackend) -> Iterator[TestClient]:
    with fake_gateway(small_pages) as client:
        yield client


# -- the searchset ----------------------------------------------------------------------------


def test_a_search_answers_a_searchset_with_self_and_full_urls(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", family="Smith")
    backend.add_patient("p2", family="Smithers")
    backend.add_patient("p3", family="Jones")
    bundle = ok(client.get(f"{BASE}/Patient", params={"family": "smith"}))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert ids(bundle) == ["p1", "p2"] and bundle["total"] == 2
    assert [e["fullUrl"] for e in bundle["entry"]] == [f"http://testserver{BASE}/Patient/{i}" for i in ("p1", "p2")]
    assert _query(link(bundle, "self") or "") == {"family": ["smith"], "_count": ["20"]}
    assert link(bundle, "next") is None and link(bundle, "previous") is None


def test_an_empty_result_has_no_entries(client: TestClient) -> None:
    bundle = ok(client.get(f"{BASE}/Patient", params={"family": "nobody"}))
    assert "entry" not in bundle and bundle["total"] == 0


def test_post_search_is_the_same_search(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", family="Smith", gender="female")
    backend.add_patient("p2", family="Smith", gender="male")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    posted = ok(client.post(f"{BASE}/Patient/_search", content="family=smith&gender=female", headers=form))
    got = ok(client.get(f"{BASE}/Patient", params={"family": "smith", "gender": "female"}))
    assert ids(posted) == ids(got) == ["p1"]
    assert outcome(client.post(f"{BASE}/Patient/_search", json={"family": "smith"}), 415)


@pytest.mark.parametrize(
    "form",
    [
        "family=" + ",".join(["a"] * 40_000),  # one parameter of many OR values
        "&".join(["family=a,b"] * 51),  # many conditions of a few values
        "&".join(["_elements=id"] * 50_000),  # many parameters
        "&".join(["family="] * 101),  # many parameters, even empty ones
    ],
)
def test_a_search_asking_too_much_is_400_before_the_vendor_is_asked(
    client: TestClient, backend: FakeBackend, form: str
) -> None:
    # Every value is tested on every candidate the gateway filters: tens of thousands of them
    # took seconds of CPU and stalled every other client.
    backend.add_patient("p1", family="a")
    posted = outcome(
        client.post(
            f"{BASE}/Patient/_search", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        400,
    )
    assert "at most 100" in posted["issue"][0]["diagnostics"]
    assert backend.calls_to("Patient", SEARCH) == 0


def test_a_search_at_the_limit_pages_on(client: TestClient, backend: FakeBackend) -> None:
    # The links add _count and _page, and pass _format on: they are not the client's parameters.
    backend.add_patients(3, gender="female")
    query = "&".join(["gender=female"] * 98) + "&_format=json&_count=2"
    first = ok(client.get(f"{BASE}/Patient?{query}"))
    assert len(first["entry"]) == 2
    second = ok(client.get(next(link["url"] for link in first["link"] if link["relation"] == "next")))
    assert len(second["entry"]) == 1


def test_a_search_within_the_limits_is_answered(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", family="Smith")
    many = ",".join(["zz"] * 99 + ["smith"])  # 100 values
    assert ids(ok(client.get(f"{BASE}/Patient", params={"family": many}))) == ["p1"]


def test_two_patients_anded_match_no_record(client: TestClient, backend: FakeBackend) -> None:
    # search.html#combining: repeated parameters are ANDed; no record is of two patients at once.
    # It was a 400 "several patients at once" (as an OR of them still is).
    backend.add_patient("p1")
    backend.add_patient("p2")
    backend.add_observation("p1", "o1")
    searched = backend.calls_to("Observation", SEARCH)
    for params in ([("patient", "p1"), ("patient", "p2")], [("patient", "p1"), ("subject", "Patient/p2")]):
        empty = ok(client.get(f"{BASE}/Observation", params=params))
        assert empty["total"] == 0 and "entry" not in empty
    assert backend.calls_to("Observation", SEARCH) == searched
    same = ok(client.get(f"{BASE}/Observation", params=[("patient", "p1"), ("subject", "Patient/p1")]))
    assert ids(same) == ["o1"]
    outcome(client.get(f"{BASE}/Observation", params={"patient": "p1,p2"}), 400)


@pytest.mark.parametrize(
    "params",
    [[("patient", "p1,p2"), ("patient", "p1")], [("patient", "p1"), ("subject", "Patient/p1,Patient/p2")]],
)
def test_patients_anded_down_to_one_are_that_patients_search(
    client: TestClient, backend: FakeBackend, params: list[tuple[str, str]]
) -> None:
    backend.add_patient("p1")
    backend.add_patient("p2")
    backend.add_observation("p1", "o1")
    backend.add_observation("p2", "o2")
    assert ids(ok(client.get(f"{BASE}/Observation", params=params))) == ["o1"]


def test_a_reference_to_another_server_matches_nothing_here(client: TestClient, backend: FakeBackend) -> None:
    # search.html#reference: an absolute URL names a resource of the server at its base; the
    # local Patient p1 is another patient than a Patient p1 elsewhere (or of another tenant).
    backend.add_patient("p1")
    backend.add_observation("p1", "o1")
    ours = ok(client.get(f"{BASE}/Observation", params={"patient": "p1"}))
    assert ids(ours) == ["o1"]
    own_base = ours["link"][0]["url"].split("/Observation")[0]
    assert ids(ok(client.get(f"{BASE}/Observation", params={"patient": f"{own_base}/Patient/p1"}))) == ["o1"]
    searched = backend.calls_to("Observation", SEARCH)
    other_tenant = own_base.replace(f"/{TENANT}", "/other")
    # With user information, `http://ours@evil.example/` names evil.example (RFC 3986 3.2.1);
    # no URL of ours carries any, so `http://user@<our host>/` is not taken for ours either.
    with_user = own_base.replace("://", "://user@", 1)
    for elsewhere in ("https://other.example/fhir/Patient/p1", f"{other_tenant}/Patient/p1", f"{with_user}/Patient/p1"):
        empty = ok(client.get(f"{BASE}/Observation", params={"patient": elsewhere}))
        assert empty["total"] == 0 and "entry" not in empty
    assert backend.calls_to("Observation", SEARCH) == searched  # no vendor call for them
    either = ok(client.get(f"{BASE}/Observation", params={"patient": "https://other.example/fhir/Patient/p9,p1"}))
    assert ids(either) == ["o1"]
    # The same server however its URL is written: a default port, a trailing dot, upper case.
    scheme, rest = own_base.split("://", 1)
    host, path = rest.split("/", 1)
    for same in (
        f"{scheme}://{host}:80/{path}",
        f"{scheme}://{host}./{path}",
        f"{scheme.upper()}://{host.upper()}/{path}",
    ):
        assert ids(ok(client.get(f"{BASE}/Observation", params={"patient": f"{same}/Patient/p1"}))) == ["o1"], same
    # A server without a scheme cannot be told apart from a path: a 400, not a guess.
    for unclear in ("//other.example/fhir/Patient/p1", "other.example/fhir/Patient/p1"):
        assert outcome(client.get(f"{BASE}/Observation", params={"patient": unclear}), 400)
    # Nor can a URL no parser reads: an unclosed IPv6 bracket, a port that is not one.
    for unreadable in ("http://[::1/fhir/Patient/p1", "http://127.0.0.1:99999/fhir/Patient/p1"):
        assert outcome(client.get(f"{BASE}/Observation", params={"patient": unreadable}), 400)
        assert outcome(client.get(f"{BASE}/DocumentReference/$docref", params={"patient": unreadable}), 400)


def test_a_docref_parameters_body_names_the_patient_as_the_query_does(client: TestClient, backend: FakeBackend) -> None:
    # POST $docref with a Parameters body: a valueReference to another server's (or tenant's)
    # Patient/p1 is another patient, as in the query; cut to its id it was served p1's CCD.
    backend.add_patient("p1")

    def posted(reference: str) -> list[str]:
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "patient", "valueReference": {"reference": reference}}],
        }
        answer = client.post(
            f"{BASE}/DocumentReference/$docref", json=body, headers={"Content-Type": "application/fhir+json"}
        )
        return ids(ok(answer))

    own_base = ok(client.get(f"{BASE}/Patient/p1/$everything"))["link"][0]["url"].split("/Patient/")[0]
    assert posted("Patient/p1") == posted(f"{own_base}/Patient/p1") == ["ccd-p.p1"]
    other_tenant = own_base.replace(f"/{TENANT}", "/other")
    # With user information, `http://ours@evil.example/` names evil.example (RFC 3986 3.2.1);
    # no URL of ours carries any, so `http://user@<our host>/` is not taken for ours either.
    with_user = own_base.replace("://", "://user@", 1)
    for elsewhere in ("https://other.example/fhir/Patient/p1", f"{other_tenant}/Patient/p1", f"{with_user}/Patient/p1"):
        assert posted(elsewhere) == [], elsewhere
    # The same patient named in the query and in the body, each in its own form, is one patient.
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "patient", "valueReference": {"reference": "Patient/p1"}}],
    }
    both = client.post(
        f"{BASE}/DocumentReference/$docref?patient=p1", json=body, headers={"Content-Type": "application/fhir+json"}
    )
    assert ids(ok(both)) == ["ccd-p.p1"]


def test_a_docref_parameter_it_does_not_take_is_said_or_refused(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    lenient = ok(client.get(f"{BASE}/DocumentReference/$docref", params={"patient": "p1", "format": "x"}))
    assert ids(lenient) == ["ccd-p.p1"] and _notes(lenient) == ["$docref does not take: format; ignored"]
    strict = {"Prefer": "handling=strict"}
    refused = client.get(f"{BASE}/DocumentReference/$docref", params={"patient": "p1", "format": "x"}, headers=strict)
    assert outcome(refused, 400)["issue"][0]["code"] == "not-supported"
    # US Core's `profile` is not applied: said, and not in the self link (search.html: the
    # parameters actually used), rather than listed as if it had selected the documents.
    profiled = ok(client.get(f"{BASE}/DocumentReference/$docref", params={"patient": "p1", "profile": "http://x"}))
    assert ids(profiled) == ["ccd-p.p1"] and _notes(profiled) == ["$docref does not apply: profile; ignored"]
    assert "profile" not in _query(link(profiled, "self") or "")
    # Result parameters are no exception (`_elements`, `_count`: not applied by the operation).
    for name in ("_elements", "_count", "_bogus"):
        said = ok(client.get(f"{BASE}/DocumentReference/$docref", params={"patient": "p1", name: "1"}))
        assert _notes(said) == [f"$docref does not take: {name}; ignored"], name
    formatted = ok(client.get(f"{BASE}/DocumentReference/$docref", params={"patient": "p1", "_format": "json"}))
    assert _notes(formatted) == []
    # `type` is one Coding: a comma in it is no list, and not silently a type matching nothing.
    listed = client.get(
        f"{BASE}/DocumentReference/$docref", params={"patient": "p1", "type": "http://loinc.org|34133-9,"}
    )
    assert outcome(listed, 400)["issue"][0]["expression"] == ["type"]


def test_a_docref_parameter_with_two_values_is_400(client: TestClient, backend: FakeBackend) -> None:
    # R4 Parameters.parameter.value[x] is 0..1: which of two values was meant is not ours to pick.
    backend.add_patient("p1")
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueReference": {"reference": "Patient/p1"}},
            {"name": "start", "valueDate": "2020-01-01", "valueDateTime": "2024-01-01T00:00:00Z"},
        ],
    }
    answer = client.post(
        f"{BASE}/DocumentReference/$docref", json=body, headers={"Content-Type": "application/fhir+json"}
    )
    refused = outcome(answer, 400)
    assert "more than one value" in refused["issue"][0]["diagnostics"]
    assert refused["issue"][0]["expression"] == ["Parameters.parameter.start"]


@pytest.mark.parametrize(
    "parameter",
    [
        {"name": "type", "valueCodeableConcept": {"coding": ["x"]}},
        {"name": "type", "valueCodeableConcept": {"coding": {"a": 1}}},
        {"name": "type", "valueCoding": {"system": 5, "code": "34133-9"}},
        {"name": "patient", "valueReference": {"reference": 5}},
    ],
)
def test_a_docref_parameter_of_the_wrong_shape_is_400(
    client: TestClient, backend: FakeBackend, parameter: dict[str, object]
) -> None:
    # R4 datatypes: CodeableConcept.coding is a list of Codings, Reference.reference a string.
    backend.add_patient("p1")
    others = (
        [{"name": "patient", "valueReference": {"reference": "Patient/p1"}}] if parameter["name"] != "patient" else []
    )
    body = {"resourceType": "Parameters", "parameter": [*others, parameter]}
    answer = client.post(
        f"{BASE}/DocumentReference/$docref", json=body, headers={"Content-Type": "application/fhir+json"}
    )
    assert "no usable value" in outcome(answer, 400)["issue"][0]["diagnostics"]


def _long_form(family: str) -> str:
    """A POST _search form whose paging links would be longer than a request target may be:
    99 long values that match no one, and `family`."""
    long_values = ",".join(f"{n:03d}" + "x" * 100 for n in range(99))
    return f"family={long_values},{family}"


def test_a_search_whose_next_page_could_not_be_followed_is_400(paged: TestClient, small_pages: FakeBackend) -> None:
    # A POST _search holds more than a GET can: a next link carrying its parameters would be a
    # 414 when followed, so the pages after the first could never be reached.
    for n in range(7):
        small_pages.add_patient(f"p{n}", family="Smith")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = outcome(
        paged.post(f"{BASE}/Patient/_search", content=_long_form("smith") + "&_count=3", headers=form), 400
    )
    diagnostics = refused["issue"][0]["diagnostics"]
    assert "next page" in diagnostics and f"{MAX_TARGET_BYTES}" in diagnostics
    # Within one page there is no page to follow: the same search is answered.
    whole = ok(paged.post(f"{BASE}/Patient/_search", content=_long_form("smith") + "&_count=10", headers=form))
    assert len(ids(whole)) == 7 and link(whole, "next") is None


@pytest.mark.slow
def test_a_long_get_search_walks_to_its_end() -> None:
    # Each next token carries the earlier pages' positions (for `previous`), so links grow page
    # by page: deep in the walk they are given up before the link grows past what can be read.
    one_a_page = FakeBackend(page_size=1)
    for n in range(70):
        one_a_page.add_patient(f"p{n:02d}", family="Smith")
    values = ",".join(f"{n:03d}" + "x" * 76 for n in range(98)) + ",smith"  # a first next link of ~7.3 KB
    with fake_gateway(one_a_page) as client:
        bundle = ok(client.get(f"{BASE}/Patient", params={"family": values, "_count": "1"}))
        seen, backs = ids(bundle), 0
        while (next_link := link(bundle, "next")) is not None:
            assert len(next_link.split("testserver", 1)[1]) <= MAX_TARGET_BYTES
            bundle = ok(client.get(next_link))
            seen += ids(bundle)
            backs += link(bundle, "previous") is not None
    assert seen == [f"p{n:02d}" for n in range(70)]
    assert 0 < backs < 69  # the way back is kept while it fits


def test_reference_and_system_urls_are_not_escaped_past_what_a_query_needs(
    client: TestClient, backend: FakeBackend
) -> None:
    # ":" and "/" may stand in a query as they are (RFC 3986 section 3.4): escaped, a search of
    # system URLs built links three times their length, past what a request may hold.
    backend.add_patient("p1", family="Smith")
    backend.add_patient("p2", family="Smith")
    values = ",".join(f"http://example.org/fhir/sid/mrn-{n:03d}/a/b/c/d/e" for n in range(99)) + ",smith"
    bundle = ok(client.get(f"{BASE}/Patient", params={"family": values, "_count": "1"}))
    next_link = link(bundle, "next")
    assert next_link is not None and "http://example.org/fhir/sid/mrn-000/a/b" in next_link
    assert ids(ok(client.get(next_link))) == ["p2"]


# -- _id is answered with reads -----------------------------------------------------------------


def test_id_is_answered_with_one_read_per_id_and_no_search(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(5)
    bundle = ok(client.get(f"{BASE}/Patient", params={"_id": "p002,p004,missing"}))
    assert sorted(ids(bundle)) == ["p002", "p004"] and bundle["total"] == 2
    assert backend.calls_to("Patient", READ) == 3 and backend.calls_to("Patient", SEARCH) == 0


def test_id_with_other_parameters_is_filtered_by_the_gateway(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", gender="female")
    backend.add_patient("p2", gender="male")
    bundle = ok(client.get(f"{BASE}/Patient", params={"_id": "p1,p2", "gender": "male"}))
    assert ids(bundle) == ["p2"] and bundle["total"] == 1
    assert backend.calls_to("Patient", SEARCH) == 0 and backend.calls_to("Patient", READ) == 2


def test_repeated_id_parameters_are_anded(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(3)
    bundle = ok(client.get(f"{BASE}/Patient?_id=p001,p002&_id=p002,p003"))
    assert ids(bundle) == ["p002"] and backend.calls_to("Patient", READ) == 1


def test_id_answers_a_per_patient_type_without_its_patient(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.add_observation("p1", "o1")
    assert ids(ok(client.get(f"{BASE}/Observation", params={"_id": "o1"}))) == ["o1"]
    assert backend.calls_to("Observation", SEARCH) == 0 and backend.calls_to("Observation", READ) == 1


def test_a_malformed_id_value_is_400(client: TestClient, backend: FakeBackend) -> None:
    assert outcome(client.get(f"{BASE}/Patient", params={"_id": "a b"}), 400)["issue"][0]["expression"] == ["_id"]
    assert outcome(client.get(f"{BASE}/Patient", params={"_id": ",".join(f"i{n}" for n in range(51))}), 400)
    assert backend.calls_to("Patient") == 0


# -- pages stay full when the gateway filters ---------------------------------------------------


def test_pages_stay_full_when_the_gateway_filters(small_pages: FakeBackend, paged: TestClient) -> None:
    born = _alternating(small_pages, 60)  # birthdate is filtered by the gateway: half of each vendor page
    first = paged.get(f"{BASE}/Patient", params={"birthdate": "2001", "_count": "10"})
    pages = follow(paged, first)
    assert [len(ids(p)) for p in pages] == [10, 10, 10]
    assert [i for p in pages for i in ids(p)] == born  # each match once, in the vendor's order
    # Ten matches take four vendor pages of five; all sixty records are read once, in twelve calls.
    assert small_pages.calls_to("Patient", SEARCH) == 12


def test_a_page_stops_at_the_vendor_call_bound_and_still_links_on(small_pages: FakeBackend, paged: TestClient) -> None:
    for n in range(5 * MAX_VENDOR_CALLS_PER_PAGE + 5):  # no match for the whole first bound's worth
        small_pages.add_patient(f"p{n:03d}", birth_date="1950-01-01")
    small_pages.add_patient("late", birth_date="2001-01-01")
    first = ok(paged.get(f"{BASE}/Patient", params={"birthdate": "2001", "_count": "10"}))
    assert ids(first) == [] and "total" not in first
    assert small_pages.calls_to("Patient", SEARCH) == MAX_VENDOR_CALLS_PER_PAGE
    # An empty page that is not the end says so: a client must not stop at it.
    [issue] = [i for e in first["entry"] if e["search"]["mode"] == "outcome" for i in e["resource"]["issue"]]
    assert issue["severity"] == "information" and "0 of the 10" in issue["diagnostics"]
    assert "next link" in issue["diagnostics"]
    following = link(first, "next")
    assert following is not None
    last = ok(paged.get(following))
    assert ids(last) == ["late"] and bundle_warnings(last) == []  # the end of the walk: nothing to note
    assert small_pages.calls_to("Patient", SEARCH) == MAX_VENDOR_CALLS_PER_PAGE + 2


def test_an_exact_search_pages_with_the_vendor_one_call_a_page(small_pages: FakeBackend, paged: TestClient) -> None:
    small_pages.add_patients(12, family="Smith")
    pages = follow(paged, paged.get(f"{BASE}/Patient", params={"family": "smith", "_count": "4"}))
    assert [len(ids(p)) for p in pages] == [4, 4, 4]
    assert {p["total"] for p in pages[:1]} == {12}  # the vendor's exact total
    assert small_pages.calls_to("Patient", SEARCH) == 3


def test_previous_links_lead_back(small_pages: FakeBackend, paged: TestClient) -> None:
    small_pages.add_patients(12)
    pages = follow(paged, paged.get(f"{BASE}/Patient", params={"_count": "5"}))
    assert [ids(p) for p in pages] == [
        [f"p{n:03d}" for n in range(1, 6)],
        [f"p{n:03d}" for n in range(6, 11)],
        ["p011", "p012"],
    ]
    assert link(pages[0], "previous") is None
    back = link(pages[2], "previous")
    assert back is not None and ids(ok(paged.get(back))) == ids(pages[1])
    first = link(pages[2], "first")
    assert first is not None and ids(ok(paged.get(first))) == ids(pages[0])


def test_a_vendor_failure_mid_walk_fails_that_page_only(small_pages: FakeBackend, paged: TestClient) -> None:
    small_pages.add_patients(12)
    first = ok(paged.get(f"{BASE}/Patient", params={"_count": "5"}))
    following = link(first, "next")
    assert following is not None
    small_pages.fail("Patient", SEARCH)
    assert outcome(paged.get(following), 502)
    small_pages.heal()
    assert ids(ok(paged.get(following))) == [f"p{n:03d}" for n in range(6, 11)]


# -- page tokens --------------------------------------------------------------------------------


def _next_of(client: TestClient, **params: str) -> str:
    following = link(ok(client.get(f"{BASE}/Patient", params=params)), "next")
    assert following is not None
    return following


def test_a_tampered_page_token_is_400(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(5)
    following = _next_of(client, _count="2")
    token = _query(following)["_page"][0]
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    body = outcome(client.get(following.replace(token, altered)), 400)
    assert body["issue"][0]["expression"] == ["_page"]
    assert outcome(client.get(f"{BASE}/Patient", params={"_count": "2", "_page": "not-a-token"}), 400)


def test_a_count_only_answer_refuses_an_altered_token_too(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(5)
    for params in ({"_count": "0"}, {"_summary": "count"}):
        assert outcome(client.get(f"{BASE}/Patient", params={**params, "_page": "not-a-token"}), 400)


def test_a_token_from_another_search_is_400(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(5, family="Smith")
    token = _query(_next_of(client, family="smith", _count="2"))["_page"][0]
    for params in ({"family": "jones"}, {"family": "smith", "gender": "male"}, {}):
        response = client.get(f"{BASE}/Patient", params={**params, "_count": "2", "_page": token})
        assert "different search" in outcome(response, 400)["issue"][0]["diagnostics"]
    assert outcome(client.get(f"{BASE}/Observation", params={"patient": "p001", "_page": token}), 400)


def test_a_token_from_another_tenant_is_400(backend: FakeBackend) -> None:
    backend.add_patients(5)
    with fake_gateway(backend, fake_settings(tenants=("clinic", "other"))) as client:
        token = _query(_next_of(client, _count="2"))["_page"][0]
        response = client.get("/fhir/other/Patient", params={"_count": "2", "_page": token})
        assert outcome(response, 400)
        assert client.get("/fhir/clinic/Patient", params={"_count": "2", "_page": token}).status_code == 200


def test_the_count_of_a_link_may_change_without_breaking_its_token(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(6)
    token = _query(_next_of(client, _count="2"))["_page"][0]
    assert ids(ok(client.get(f"{BASE}/Patient", params={"_count": "3", "_page": token}))) == ["p003", "p004", "p005"]


def test_links_keep_format_and_pretty(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(3)
    bundle = ok(client.get(f"{BASE}/Patient", params={"_count": "1", "_format": "json", "_pretty": "true"}))
    for relation in ("self", "next"):
        kept = _query(link(bundle, relation) or "")
        assert kept["_format"] == ["json"] and kept["_pretty"] == ["true"]


# -- counting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"_count": "0"}, {"_summary": "count"}])
def test_a_count_only_search_answers_the_total_and_no_entries(
    small_pages: FakeBackend, paged: TestClient, params: dict[str, str]
) -> None:
    born = _alternating(small_pages, 23)
    bundle = ok(paged.get(f"{BASE}/Patient", params={"birthdate": "2001", **params}))
    assert bundle["total"] == len(born) == 11 and "entry" not in bundle
    assert [entry["relation"] for entry in bundle["link"]] == ["self"]
    assert small_pages.calls_to("Patient", SEARCH) == 5  # every vendor page, once


def test_an_exact_count_is_one_vendor_call(small_pages: FakeBackend, paged: TestClient) -> None:
    small_pages.add_patients(23, family="Smith")
    assert ok(paged.get(f"{BASE}/Patient", params={"family": "smith", "_summary": "count"}))["total"] == 23
    assert small_pages.calls_to("Patient", SEARCH) == 1


def test_counting_past_the_bound_is_refused() -> None:
    backend = FakeBackend(page_size=1, patient_params={**DEFAULT_PATIENT_PARAMS, "family": Pushdown.GATEWAY})
    backend.add_patients(MAX_VENDOR_CALLS_TO_COUNT + 1)
    with fake_gateway(backend) as client:
        assert outcome(client.get(f"{BASE}/Patient", params={"family": "doe", "_count": "0"}), 422)
    assert backend.calls_to("Patient", SEARCH) == MAX_VENDOR_CALLS_TO_COUNT


def test_total_accurate_counts_a_result_the_vendor_cannot(small_pages: FakeBackend, paged: TestClient) -> None:
    _alternating(small_pages, 40)
    estimate = ok(paged.get(f"{BASE}/Patient", params={"birthdate": "2001", "_count": "5"}))
    assert "total" not in estimate and len(ids(estimate)) == 5
    accurate = ok(paged.get(f"{BASE}/Patient", params={"birthdate": "2001", "_count": "5", "_total": "accurate"}))
    assert accurate["total"] == 20 and ids(accurate) == ids(estimate)
    assert _query(link(accurate, "next") or "")["_total"] == ["accurate"]


def test_total_none_leaves_the_total_out(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(3)
    assert "total" not in ok(client.get(f"{BASE}/Patient", params={"_total": "none"}))
    assert outcome(client.get(f"{BASE}/Patient", params={"_total": "exact"}), 400)


def test_vendor_warnings_are_an_outcome_entry_and_cancel_the_total(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(3)
    backend.search_warnings = ("The vendor could not search archived patients",)
    bundle = ok(client.get(f"{BASE}/Patient", params={"_total": "accurate"}))
    assert len(ids(bundle)) == 3 and "total" not in bundle
    assert bundle_warnings(bundle) == ["The vendor could not search archived patients"]


def test_vendor_warnings_on_a_walked_count_are_reported(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(3, birth_date="2001-01-01")
    backend.search_warnings = ("The vendor could not search archived patients",)
    counted = ok(client.get(f"{BASE}/Patient", params={"birthdate": "2001", "_summary": "count"}))
    assert "total" not in counted and bundle_warnings(counted) == ["The vendor could not search archived patients"]


def test_vendor_warnings_on_an_exact_count_are_reported(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patients(3)
    backend.search_warnings = ("The vendor could not search archived patients",)
    counted = ok(client.get(f"{BASE}/Patient", params={"_summary": "count"}))
    assert "total" not in counted and bundle_warnings(counted) == ["The vendor could not search archived patients"]


# -- _count -------------------------------------------------------------------------------------


def test_count_is_capped_at_the_maximum(backend: FakeBackend) -> None:
    backend.add_patients(12)
    with fake_gateway(backend, fake_settings(default_count=3, max_count=5)) as client:
        assert len(ids(ok(client.get(f"{BASE}/Patient")))) == 3
        capped = ok(client.get(f"{BASE}/Patient", params={"_count": "500"}))
        assert len(ids(capped)) == 5 and _query(link(capped, "next") or "")["_count"] == ["5"]


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "²", "１"])
def test_a_malformed_count_is_400(client: TestClient, value: str) -> None:
    assert outcome(client.get(f"{BASE}/Patient", params={"_count": value}), 400)["issue"][0]["expression"] == ["_count"]


def test_a_repeated_count_is_400(client: TestClient) -> None:
    assert outcome(client.get(f"{BASE}/Patient?_count=1&_count=2"), 400)


# -- handling -----------------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["unknown=1", "telecom=1", "_sort=birthdate", "_sort=family,given"])
def test_unsupported_parameters_are_ignored_leniently_and_refused_strictly(
    client: TestClient, backend: FakeBackend, param: str
) -> None:
    backend.add_patient("p1", family="Bauer")
    backend.add_patient("p2", family="Adams")
    lenient = ok(client.get(f"{BASE}/Patient?{param}"))
    assert sorted(ids(lenient)) == ["p1", "p2"]
    assert param.split("=")[0] not in _query(link(lenient, "self") or "")
    # Not silently: the outcome entry says what was left out (search.html "Handling errors").
    said = _notes(lenient)
    assert len(said) == 1 and param.split("=")[0].split(",")[0] in said[0] and "ignored" in said[0]
    explicit = ok(client.get(f"{BASE}/Patient?{param}", headers={"Prefer": "handling=lenient"}))
    assert ids(explicit) == ids(lenient)
    strict = outcome(client.get(f"{BASE}/Patient?{param}", headers={"Prefer": "handling=strict"}), 400)
    assert strict["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize("param", ["gender:text=male", "gender:not=female", "gender:in=http://example.org/vs"])
def test_an_unsupported_modifier_is_a_400_even_under_lenient_handling(
    client: TestClient, backend: FakeBackend, param: str
) -> None:
    # Dropped, `gender:not=female` would answer every patient: the client asked for the others.
    backend.add_patient("p1", family="Bauer", gender="female")
    backend.add_patient("p2", family="Adams", gender="male")
    for prefer in ({}, {"Prefer": "handling=lenient"}):
        refused = outcome(client.get(f"{BASE}/Patient?{param}", headers=prefer), 400)
        assert refused["issue"][0]["code"] == "not-supported" and ":" in refused["issue"][0]["diagnostics"]
    assert backend.calls_to("Patient", SEARCH) == 0


@pytest.mark.parametrize("prefer", ["handling=strict", "HANDLING=strict", "return=minimal; handling=strict"])
def test_prefer_strict_is_read_however_it_is_written(client: TestClient, prefer: str) -> None:
    assert outcome(client.get(f"{BASE}/Patient?unknown=1", headers={"Prefer": prefer}), 400)


@pytest.mark.parametrize("param", ["birthdate=yesterday", "birthdate=xx2001", "gender=", "family="])
def test_a_malformed_value_is_400_either_way_and_an_empty_one_ignored(client: TestClient, param: str) -> None:
    for prefer in ("handling=lenient", "handling=strict"):
        response = client.get(f"{BASE}/Patient?{param}", headers={"Prefer": prefer})
        if param.endswith("="):
            assert response.status_code == 200
        else:
            assert outcome(response, 400)["issue"][0]["expression"] == ["birthdate"]


@pytest.mark.parametrize("value", ["bauer,", ",bauer", "bauer,,"])
def test_an_empty_alternative_does_not_widen_the_or_to_everyone(
    client: TestClient, backend: FakeBackend, value: str
) -> None:
    # As a string prefix "" matches every name: `family=bauer,` answered all 3 patients.
    for pid, family in (("p1", "Bauer"), ("p2", "Adams"), ("p3", "Clark")):
        backend.add_patient(pid, family=family)
    assert ids(ok(client.get(f"{BASE}/Patient", params={"family": value}))) == ["p1"]
    assert ids(ok(client.get(f"{BASE}/Patient", params={"given:contains": value}))) == []
    assert sorted(ids(ok(client.get(f"{BASE}/Patient", params={"family": ","})))) == ["p1", "p2", "p3"]  # no value


def test_empty_items_and_values_of_the_result_parameters_are_none(client: TestClient, backend: FakeBackend) -> None:
    for pid, family in (("p1", "Bauer"), ("p2", "Adams"), ("p3", "Clark")):
        backend.add_patient(pid, family=family)
    # An empty item of `_sort` is none (it dropped the whole sort, as a sort by two keys).
    assert ids(ok(client.get(f"{BASE}/Patient", params={"_sort": "family,"}))) == ["p2", "p1", "p3"]
    # An empty `_elements`, `_count` or `_summary` is ignored, as an empty value is, and no
    # self link names it (`_elements=,` was repeated there, `_count=` a 400).
    for name, value in (("_elements", ","), ("_elements", ""), ("_count", ""), ("_summary", ""), ("_total", "")):
        bundle = ok(client.get(f"{BASE}/Patient", params={name: value}))
        assert len(bundle["entry"]) == 3 and "name" in bundle["entry"][0]["resource"], name
        applied = _query(link(bundle, "self") or "")
        assert applied.get(name) == (["20"] if name == "_count" else None), name  # the default count applies
    said = ok(client.get(f"{BASE}/Patient", params={"_elements": "resourceType,name"}))
    assert _notes(said) == []  # resourceType is always served, not an unknown element


def test_sort_is_passed_to_the_vendor(client: TestClient, backend: FakeBackend) -> None:
    for pid, family in (("p1", "Bauer"), ("p2", "Adams"), ("p3", "Clark")):
        backend.add_patient(pid, family=family)
    assert ids(ok(client.get(f"{BASE}/Patient", params={"_sort": "family"}))) == ["p2", "p1", "p3"]
    descending = ok(client.get(f"{BASE}/Patient", params={"_sort": "-family"}))
    assert ids(descending) == ["p3", "p1", "p2"] and _query(link(descending, "self") or "")["_sort"] == ["-family"]


def test_a_per_patient_type_needs_its_patient(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.add_observation("p1", "o1")
    body = outcome(client.get(f"{BASE}/Observation", params={"code": "8867-4"}), 400)
    assert "patient" in body["issue"][0]["diagnostics"]
    found = ok(client.get(f"{BASE}/Observation", params={"patient": "Patient/p1", "code": "8867-4"}))
    assert ids(found) == ["o1"] and found["total"] == 1
    assert ids(ok(client.get(f"{BASE}/Observation", params={"subject": "p1"}))) == ["o1"]
    assert outcome(client.get(f"{BASE}/Observation", params={"patient": "Group/g1"}), 400)


# -- result shaping -----------------------------------------------------------------------------


def test_last_updated_is_filtered_by_the_gateway(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("old")
    backend.clock.advance(86400 * 3)
    backend.add_patient("new")
    bundle = ok(client.get(f"{BASE}/Patient", params={"_lastUpdated": "gt2024-05-02"}))
    assert ids(bundle) == ["new"]


def test_elements_and_summary_data_subset_the_entries(client: TestClient, backend: FakeBackend) -> None:
    profile = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
    backend.add_patient(
        "p1", birth_date="1990-01-01", text={"status": "generated", "div": "<div>p1</div>"}, meta={"profile": [profile]}
    )
    elements = ok(client.get(f"{BASE}/Patient", params={"_elements": "birthDate"}))["entry"][0]["resource"]
    assert set(elements) == {"resourceType", "id", "meta", "birthDate"}
    assert elements["meta"]["tag"][0]["code"] == "SUBSETTED" and "profile" not in elements["meta"]
    # `_summary=data` is everything but the narrative (search.html#_summary): still the profile's.
    data = ok(client.get(f"{BASE}/Patient", params={"_summary": "data"}))["entry"][0]["resource"]
    assert "text" not in data and data["birthDate"] == "1990-01-01"
    assert data["meta"]["profile"] == [profile] and data["meta"]["tag"][0]["code"] == "SUBSETTED"


def _notes(bundle: dict[str, Any]) -> list[str]:
    return [
        issue["diagnostics"]
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == "outcome"
        for issue in entry["resource"]["issue"]
        if issue["severity"] == "information"
    ]


def test_a_search_that_applies_everything_says_nothing(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", family="Bauer")
    assert _notes(ok(client.get(f"{BASE}/Patient", params={"family": "bauer", "_elements": "name"}))) == []


def test_elements_paths_and_unknown_names_are_said_not_dropped(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", family="Bauer", given=["Ann"], birth_date="1990-01-01", _birthDate={"id": "b"})
    bundle = ok(client.get(f"{BASE}/Patient", params={"_elements": "name.family,birthDate,shoeSize"}))
    patient = bundle["entry"][0]["resource"]
    # A path serves its whole root element ("not obliged to return just the requested
    # elements"); a primitive keeps its `_birthDate` sibling; an unknown name is ignored.
    assert set(patient) == {"resourceType", "id", "meta", "name", "birthDate", "_birthDate"}
    assert patient["name"][0]["given"] == ["Ann"] and patient["meta"]["tag"][0]["code"] == "SUBSETTED"
    notes = _notes(bundle)
    assert len(notes) == 2 and "'name.family'" in notes[0] and "'shoeSize'" in notes[1]
    # The self link says what was applied (search.html: the parameters actually used).
    assert _query(link(bundle, "self") or "")["_elements"] == ["name,birthDate"]
    # Naming nothing the type has, `_elements` is ignored whole, as an unknown parameter is.
    ignored = ok(client.get(f"{BASE}/Patient", params={"_elements": "shoeSize"}))
    assert ignored["entry"][0]["resource"]["name"][0]["family"] == "Bauer"
    assert "_elements" not in _query(link(ignored, "self") or "") and len(_notes(ignored)) == 1
    for elements in ("name.family", "shoeSize"):
        refused = client.get(f"{BASE}/Patient", params={"_elements": elements}, headers={"Prefer": "handling=strict"})
        assert outcome(refused, 400)["issue"][0]["expression"] == ["_elements"]


def test_summary_beside_elements_is_said_not_applied(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1", text={"status": "generated", "div": "<div>p1</div>"})
    both = ok(client.get(f"{BASE}/Patient", params={"_elements": "name", "_summary": "text"}))
    assert "text" not in both["entry"][0]["resource"] and "name" in both["entry"][0]["resource"]
    assert _notes(both) == ["_summary=text is not applied with _elements; _elements is"]
    assert "_summary" not in _query(link(both, "self") or "")
    strict = {"Prefer": "handling=strict"}
    refused = client.get(f"{BASE}/Patient", params={"_elements": "name", "_summary": "text"}, headers=strict)
    assert outcome(refused, 400)["issue"][0]["expression"] == ["_summary"]


def test_elements_names_a_choice_by_its_root_name(client: TestClient, backend: FakeBackend) -> None:
    backend.add_patient("p1")
    backend.add_observation("p1", "o1", value=80)
    for name in ("value", "value[x]", "valueQuantity"):
        found = ok(client.get(f"{BASE}/Observation", params={"patient": "p1", "_elements": name}))
        observation = found["entry"][0]["resource"]
        assert observation["valueQuantity"]["value"] == 80 and "effectiveDateTime" not in observation
        assert _notes(found) == []


def test_summary_true_and_text_serve_what_r4_names(client: TestClient, backend: FakeBackend) -> None:
    narrative = {"status": "generated", "div": "<div>p1</div>"}
    language = [{"language": {"text": "Deutsch"}}]
    backend.add_patient("p1", birth_date="1990-01-01", text=narrative, communication=language)
    summary = ok(client.get(f"{BASE}/Patient", params={"_summary": "true"}))["entry"][0]["resource"]
    # Patient.birthDate and name are summary elements (Σ), communication and text are not.
    assert summary["birthDate"] == "1990-01-01" and summary["name"][0]["family"] == "Doe"
    assert "communication" not in summary and "text" not in summary
    assert summary["meta"]["tag"][0]["code"] == "SUBSETTED"
    text = ok(client.get(f"{BASE}/Patient/p1", params={"_summary": "text"}))
    assert set(text) == {"resourceType", "id", "meta", "text"} and text["text"] == narrative


def test_sort_applies_to_an_id_search(client: TestClient, backend: FakeBackend) -> None:
    for pid, family in (("p1", "Clark"), ("p2", "Adams"), ("p3", "Bauer")):
        backend.add_patient(pid, family=family)
    bundle = ok(client.get(f"{BASE}/Patient", params={"_id": "p1,p2,p3", "_sort": "family"}))
    assert _query(link(bundle, "self") or "")["_sort"] == ["family"]
    assert ids(bundle) == ["p2", "p3", "p1"]
