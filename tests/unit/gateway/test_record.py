"""A patient's record: gather_everything over the fake vendor, and Patient/$everything paged
over the record gathered once per walk."""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest
from cachetools import TTLCache

from gateway import record
from gateway.errors import InvalidRequest, NotFound, Throttled
from gateway.record import everything_types, gather_everything
from gateway.rest.context import RECORD_SECONDS, RestState
from gateway.slow_clients import MAX_TARGET_BYTES
from tests.support.fake_vendor import (
    BASE,
    READ,
    SEARCH,
    FakeAdapter,
    FakeBackend,
    TestClient,
    bundle_warnings,
    follow,
    ids,
    link,
    matched,
    ok,
    outcome,
)


def _seed(backend: FakeBackend, observations: int = 5) -> None:
    backend.add_patient("p1")
    backend.add_patient("p2")
    for n in range(observations):
        backend.add_observation("p1", f"o{n:02d}", when=f"2024-01-{n + 1:02d}T10:00:00Z")
    backend.add_observation("p2", "other")


# -- gather_everything ------------------------------------------------------------------------


def test_the_record_types_are_the_per_patient_ones() -> None:
    providers = FakeAdapter(FakeBackend()).providers
    assert [p.type for p in everything_types(providers, None)] == ["Observation"]
    assert everything_types(providers, {"Patient"}) == []
    with pytest.raises(InvalidRequest, match="Condition"):
        everything_types(providers, {"Observation", "Condition"})


def test_gather_everything_pages_through_a_type() -> None:
    backend = FakeBackend(observation_page_size=2)
    _seed(backend, observations=5)
    types = everything_types(FakeAdapter(backend).providers, None)
    found, missing = asyncio.run(gather_everything("UTC", "p1", types, None, None))
    assert [r["id"] for r in found] == [f"o{n:02d}" for n in range(5)] and missing == []
    assert backend.calls_to("Observation", SEARCH) == 3


def test_start_and_end_narrow_dated_types() -> None:
    backend = FakeBackend()
    _seed(backend, observations=5)
    types = everything_types(FakeAdapter(backend).providers, None)
    found, _ = asyncio.run(gather_everything("UTC", "p1", types, "2024-01-02", "2024-01-03"))
    assert [r["id"] for r in found] == ["o01", "o02"]
    with pytest.raises(InvalidRequest, match="not a valid date"):
        asyncio.run(gather_everything("UTC", "p1", types, "last week", None))


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (None, "transient"),
        (Throttled("The vendor is rate-limiting requests"), "throttled"),
        (NotFound("x"), "not-found"),
    ],
)
def test_a_failing_type_is_reported_missing_not_raised(error: Exception | None, code: str) -> None:
    backend = FakeBackend()
    _seed(backend)
    backend.fail("Observation", SEARCH, error)
    types = everything_types(FakeAdapter(backend).providers, None)
    found, missing = asyncio.run(gather_everything("UTC", "p1", types, None, None))
    assert found == []
    assert len(missing) == 1 and missing[0].startswith(f"Observation could not be retrieved ({code})")


def test_a_type_failing_mid_walk_gives_nothing_of_it() -> None:
    backend = FakeBackend(observation_page_size=2)
    _seed(backend, observations=5)
    backend.fail("Observation", SEARCH, after=1)
    types = everything_types(FakeAdapter(backend).providers, None)
    found, missing = asyncio.run(gather_everything("UTC", "p1", types, None, None))
    assert found == [] and len(missing) == 1  # never half a type presented as all of it


def test_too_much_of_a_type_is_reported_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record, "MAX_PER_TYPE", 3)
    backend = FakeBackend(observation_page_size=2)
    _seed(backend, observations=5)
    types = everything_types(FakeAdapter(backend).providers, None)
    found, missing = asyncio.run(gather_everything("UTC", "p1", types, None, None))
    assert found == [] and "too-costly" in missing[0]


# -- Patient/$everything ------------------------------------------------------------------------


def _everything(client: TestClient, patient: str = "p1", **params: str) -> dict[str, object]:
    return ok(client.get(f"{BASE}/Patient/{patient}/$everything", params=params))


def test_everything_answers_the_patient_first_then_the_record(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend, observations=3)
    bundle = _everything(client)
    resources = matched(bundle)
    assert resources[0]["resourceType"] == "Patient" and resources[0]["id"] == "p1"
    observations = [r["id"] for r in resources if r["resourceType"] == "Observation"]
    assert observations == ["o00", "o01", "o02"]
    # The gateway's own CCD of the patient comes with the record (DocumentReference is per patient).
    assert [r["id"] for r in resources if r["resourceType"] == "DocumentReference"] == ["ccd-p.p1"]
    assert bundle["total"] == len(resources) == 5 and bundle_warnings(bundle) == []


def test_following_every_next_link_serves_each_resource_once_without_asking_the_vendor_again(
    client: TestClient, backend: FakeBackend
) -> None:
    _seed(backend, observations=12)
    first = client.get(f"{BASE}/Patient/p1/$everything", params={"_count": "4"})
    searched, read = backend.calls_to("Observation", SEARCH), backend.calls_to("Patient", READ)
    assert searched > 0
    pages = follow(client, first)
    served = [f"{r['resourceType']}/{r['id']}" for page in pages for r in matched(page)]
    assert len(served) == len(set(served)) == 14  # the patient, 12 observations, its CCD
    assert [len(matched(p)) for p in pages] == [4, 4, 4, 2]
    assert backend.calls_to("Observation", SEARCH) == searched  # later pages come from the record gathered once
    assert backend.calls_to("Patient", READ) == read + 3  # only the patient is read again, page by page
    assert all(p["total"] == 14 for p in pages)


def test_everything_pages_link_back(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend, observations=6)
    pages = follow(client, client.get(f"{BASE}/Patient/p1/$everything", params={"_count": "3"}))
    back = link(pages[1], "previous")
    assert link(pages[0], "previous") is None and back is not None
    assert ids(ok(client.get(back))) == ids(pages[0])


def test_everything_whose_next_page_could_not_be_followed_is_400(client: TestClient, backend: FakeBackend) -> None:
    # A request just within the target limit: its next link adds a page token and would not be.
    _seed(backend, observations=6)
    path = f"{BASE}/Patient/p1/$everything?_count=3&_type="
    types = ",".join(["Observation"] * ((MAX_TARGET_BYTES - len(path)) // len("Observation,")))
    refused = outcome(client.get(path + types), 400)
    assert "next page" in refused["issue"][0]["diagnostics"]
    assert len(matched(_everything(client, _count="10", _type=types))) == 6  # one page: nothing to follow


def test_a_reversed_period_is_400_before_the_vendor_is_asked(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend)
    searched = backend.calls_to("Observation", SEARCH)
    refused = outcome(client.get(f"{BASE}/Patient/p1/$everything", params={"start": "2024-02", "end": "2024-01"}), 400)
    assert "after" in refused["issue"][0]["diagnostics"]
    assert backend.calls_to("Observation", SEARCH) == searched
    assert _everything(client, start="2024-01", end="2024-01")  # one month, both ends: served


@pytest.mark.parametrize("name", ["start", "end"])
def test_a_time_without_a_zone_is_400_as_for_docref(client: TestClient, backend: FakeBackend, name: str) -> None:
    # A dateTime with a time SHALL have a zone (R4 datatypes.html#dateTime): no moment to cut at.
    _seed(backend)
    refused = outcome(client.get(f"{BASE}/Patient/p1/$everything", params={name: "2024-01-04T10:00:00"}), 400)
    assert "time zone" in refused["issue"][0]["diagnostics"] and refused["issue"][0]["expression"] == [name]
    assert _everything(client, **{name: "2024-01-04T10:00:00+01:00"}) is not None


def test_a_count_of_zero_answers_the_total_alone(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend, observations=3)
    bundle = _everything(client, _count="0")
    assert bundle["total"] == 5 and "entry" not in bundle
    assert link(bundle, "next") is None and link(bundle, "previous") is None


@pytest.mark.parametrize("value", ["abc", "²", "-1", "1e3", ""])
def test_a_malformed_count_is_400(client: TestClient, backend: FakeBackend, value: str) -> None:
    _seed(backend)
    response = client.get(f"{BASE}/Patient/p1/$everything?_count={value}")
    assert outcome(response, 400)["issue"][0]["expression"] == ["_count"]
    assert sum(backend.calls.values()) == 0


@pytest.mark.parametrize("name", ["_count", "_page", "start"])
def test_a_parameter_given_twice_is_400_as_in_a_search(client: TestClient, backend: FakeBackend, name: str) -> None:
    # Which of two page sizes was meant is not ours to pick (a search answers the same).
    _seed(backend)
    value = {"_count": "5", "_page": "x", "start": "2020-01-01"}[name]
    response = client.get(f"{BASE}/Patient/p1/$everything?{name}={value}&{name}={value}")
    assert outcome(response, 400)["issue"][0]["expression"] == [name]
    assert sum(backend.calls.values()) == 0


def test_a_failing_type_is_an_outcome_entry_and_no_total(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend)
    backend.fail("Observation", SEARCH)
    bundle = _everything(client)
    assert "total" not in bundle
    assert [r["resourceType"] for r in matched(bundle)] == ["Patient", "DocumentReference"]
    assert [w.split(" (")[0] for w in bundle_warnings(bundle)] == ["Observation could not be retrieved"]


def test_type_picks_what_is_gathered(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend, observations=2)
    only = _everything(client, _type="Observation")
    assert [r["resourceType"] for r in matched(only)] == ["Observation", "Observation"]
    assert backend.calls_to("Patient", READ) == 1  # the patient is still checked to exist
    assert outcome(client.get(f"{BASE}/Patient/p1/$everything", params={"_type": "Condition"}), 400)


def test_start_and_end_narrow_the_record_and_stay_in_the_links(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend, observations=5)
    bundle = _everything(client, start="2024-01-04", _count="1")
    assert [r["id"] for r in matched(bundle)] == ["p1"]
    following = link(bundle, "next")
    assert following is not None and parse_qs(urlsplit(following).query)["start"] == ["2024-01-04"]
    pages = follow(client, client.get(following))
    assert [r["id"] for p in pages for r in matched(p) if r["resourceType"] == "Observation"] == ["o03", "o04"]
    assert outcome(client.get(f"{BASE}/Patient/p1/$everything", params={"end": "soon"}), 400)


def test_an_unknown_patient_is_404_and_everything_is_only_on_patient(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend)
    assert outcome(client.get(f"{BASE}/Patient/nobody/$everything"), 404)
    assert outcome(client.get(f"{BASE}/Observation/o00/$everything"), 404)
    assert outcome(client.get(f"{BASE}/Patient/bad_id/$everything"), 400)


def test_a_page_token_of_another_patient_or_tenant_is_400(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend, observations=3)
    backend.add_observation("p2", "more")
    following = link(_everything(client, _count="2"), "next")
    assert following is not None
    token = parse_qs(urlsplit(following).query)["_page"][0]
    response = client.get(f"{BASE}/Patient/p2/$everything", params={"_count": "2", "_page": token})
    assert "different search" in outcome(response, 400)["issue"][0]["diagnostics"]
    assert outcome(client.get(f"{BASE}/Patient/p1/$everything", params={"_page": token + "x"}), 400)


def test_a_record_is_gathered_again_once_it_has_expired(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend, observations=4)
    rest: RestState = client.app.state.rest  # type: ignore[attr-defined]
    timer = backend.clock.monotonic
    client.app.state.rest = dataclasses.replace(  # type: ignore[attr-defined]
        rest, records=TTLCache(maxsize=64, ttl=RECORD_SECONDS, timer=timer)
    )
    following = link(_everything(client, _count="2"), "next")
    assert following is not None
    searched = backend.calls_to("Observation", SEARCH)
    backend.add_observation("p1", "new")
    backend.clock.advance(RECORD_SECONDS - 1)
    assert ok(client.get(following))["total"] == 6  # the record as gathered: the patient, 4, its CCD
    assert backend.calls_to("Observation", SEARCH) == searched
    backend.clock.advance(2)
    assert ok(client.get(following))["total"] == 7  # gathered again, with the new observation
    assert backend.calls_to("Observation", SEARCH) == searched + 1


def test_a_patient_deleted_while_a_client_pages_is_gone_on_the_next_page(
    client: TestClient, backend: FakeBackend
) -> None:
    _seed(backend, observations=6)
    following = link(_everything(client, _count="3"), "next")
    assert following is not None
    backend.deleted.add(("Patient", "p1"))
    outcome(client.get(following), 410)


def test_since_gives_only_what_was_updated_at_or_after_it(client: TestClient, backend: FakeBackend) -> None:
    # patient-operation-everything.html: _since, "resources updated after this period"; history's
    # _since (http.html#history) is "at or after": a client passing the last lastUpdated it saw
    # (vendors date to the second) must not miss what changed later in that second.
    _seed(backend, observations=5)  # the patient was last updated at the fake clock's time
    backend.observations["o00"]["meta"] = {"lastUpdated": "2030-06-01T00:00:00Z"}
    backend.observations["o01"]["meta"] = {"lastUpdated": "2001-04-01T00:00:00Z"}
    backend.observations["o02"]["meta"] = {"lastUpdated": "2029-01-01"}  # a day: may be after noon
    since = "2029-01-01T12:00:00Z"
    backend.observations["o04"]["meta"] = {"lastUpdated": since}
    bundle = ok(client.get(f"{BASE}/Patient/p1/$everything", params={"_since": since}))
    kinds = [(r["resourceType"], r["id"]) for r in matched(bundle)]
    # o02's day holds moments after `since`, and o03 has no lastUpdated: both may have changed,
    # so both are given (more, never less).
    assert ("Observation", "o00") in kinds and ("Observation", "o02") in kinds and ("Observation", "o03") in kinds
    assert ("Observation", "o04") in kinds
    assert ("Observation", "o01") not in kinds and ("Patient", "p1") not in kinds
    assert parse_qs(urlsplit(link(bundle, "self")).query)["_since"] == [since]


def test_since_with_a_fraction_keeps_what_the_vendor_dated_to_that_second(
    client: TestClient, backend: FakeBackend
) -> None:
    _seed(backend, observations=1)
    backend.observations["o00"]["meta"] = {"lastUpdated": "2029-01-01T12:00:00Z"}  # at 12:00:00.700, say
    since = "2029-01-01T12:00:00.200Z"  # the Bundle.meta.lastUpdated the client saw last time
    bundle = ok(client.get(f"{BASE}/Patient/p1/$everything", params={"_since": since}))
    assert ("Observation", "o00") in [(r["resourceType"], r["id"]) for r in matched(bundle)]


@pytest.mark.parametrize(
    "since", ["2024-05-01", "2024-05-01T10:00", "2024-05-01T10:00:00", "yesterday", "10000-01-01T00:00:00Z"]
)
def test_since_must_be_an_instant(client: TestClient, backend: FakeBackend, since: str) -> None:
    _seed(backend)
    body = outcome(client.get(f"{BASE}/Patient/p1/$everything", params={"_since": since}), 400)
    assert body["issue"][0]["expression"] == ["_since"]


def test_since_the_calendars_last_second_is_an_instant_too(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend)
    bundle = ok(client.get(f"{BASE}/Patient/p1/$everything", params={"_since": "9999-12-31T23:59:59Z"}))
    assert all(r["resourceType"] != "Patient" for r in matched(bundle))  # nothing updated after it


def test_everything_refuses_what_it_does_not_take_when_strict(client: TestClient, backend: FakeBackend) -> None:
    _seed(backend)
    strict = {"Prefer": "handling=strict"}
    refused = outcome(client.get(f"{BASE}/Patient/p1/$everything?shoe=1", headers=strict), 400)
    assert refused["issue"][0]["code"] == "not-supported" and "shoe" in refused["issue"][0]["diagnostics"]
    lenient = ok(client.get(f"{BASE}/Patient/p1/$everything?shoe=1"))
    assert "shoe" not in link(lenient, "self")  # left out of the links: what the answer did not apply
    said = [e["resource"] for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert len(said) == 1 and "shoe" in said[0]["issue"][0]["diagnostics"]  # and said, not silently
    assert said[0]["issue"][0]["severity"] == "information"
    # On a later page too (it was said on the first alone).
    following = link(ok(client.get(f"{BASE}/Patient/p1/$everything?_count=1")), "next")
    later = ok(client.get(f"{following}&shoe=1"))
    assert any(
        "shoe" in e["resource"]["issue"][0]["diagnostics"] for e in later["entry"] if e["search"]["mode"] == "outcome"
    )
    # An empty `_type` is none: not in the links as if applied.
    assert "_type" not in link(ok(client.get(f"{BASE}/Patient/p1/$everything?_type=,")), "self")
    assert ok(client.get(f"{BASE}/Patient/p1/$everything?_count=2", headers=strict))
    assert outcome(client.get(f"{BASE}/Patient/p1/$everything?start=2024-01-01&start=2024-02-01"), 400)
