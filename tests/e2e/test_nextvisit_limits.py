"""The Nextvisit tenant over readings of what its docs leave open about limits: a request limit
(Laravel's `throttle:api`), a list that ignores paging, a list that ignores `filter[trashed]`.
Each through the real gateway over HTTP, asserting what a FHIR client notices."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import build_clinic
from sandboxes.nextvisit import create_sandbox
from tests.e2e.test_nextvisit_readings import READINGS
from tests.support.clock import SetClock
from tests.support.fhir_http import outcome_notes
from tests.support.variants import VariantGateway, gateway_over, vendor_calls

BASE = "/fhir/nextvisit"
JSON = {"Content-Type": "application/fhir+json"}
CLINIC = build_clinic()
LIVE = [p for p in CLINIC.patients if not p.deleted]


@contextmanager
def _throttled(**readings: Any) -> Iterator[tuple[VariantGateway, SetClock[datetime]]]:
    """The gateway over a Nextvisit that allows 60 requests a minute (Laravel 10's
    `throttle:api`), and the simulator's clock, to move into the next minute. The tenant does
    not pace its calls (no limit configured, the docs naming none); a configured one would not
    spare the calls below either: the minute is used up by others (`use_up_requests`)."""
    clock = SetClock(datetime.now(UTC))
    switches = {**readings, "rate_limit": 60, "rate_window": "minute"}
    throttled = partial(create_sandbox, CLINIC, clock=clock, **switches)
    with gateway_over("nextvisit", throttled, organization="Limits", options={"rate_per_minute": None}) as running:
        yield running, clock


def _diagnostics(answer: Any) -> list[str]:
    return [issue.get("diagnostics", "") for issue in answer.json()["issue"]]


def _calls(running: VariantGateway, request: Callable[[], Any]) -> tuple[Any, int]:
    """`request`'s answer and the vendor calls it cost."""
    before = vendor_calls(running.fhir, "nextvisit")
    answer = request()
    return answer, int(vendor_calls(running.fhir, "nextvisit") - before)


@pytest.mark.parametrize("reading", list(READINGS))
def test_a_create_whose_read_back_is_throttled_is_answered_as_done_and_made_once(reading: str) -> None:
    # Laravel 10's `throttle:api` (60 requests a minute; the docs name no limit), under each
    # combined reading of the rest of the docs. The create is done when the vendor says so: a
    # 429 for it would have the client send it again, a second patient.
    switches = READINGS[reading]
    with _throttled(**switches) as (running, clock):
        assert running.fhir.get(f"{BASE}/Patient/{LIVE[0].id}").status_code == 200  # logged in
        # What a create costs before its read-back (the POST, and the look-up of the id an answer
        # without the record does not name): all of it, less what the read of it costs.
        sent = {"resourceType": "Patient", "name": [{"family": "Throttle", "given": ["Tess"]}],
                "birthDate": "1977-05-06", "gender": "female",
                "telecom": [{"system": "phone", "value": "312-555-0199"}]}  # fmt: skip
        first, create_calls = _calls(
            running, lambda: running.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        )
        assert first.status_code == 201, first.text[:300]
        _, read_calls = _calls(running, lambda: running.fhir.get_ok(f"{BASE}/Patient/{first.json()['id']}"))
        # Asked for the processing messages (R4 http.html#ops), the answer says the read-back was
        # refused: what the vendor had answered, or what was sent, is what is answered.
        running.sandbox.app.state.use_up_requests(create_calls - read_calls)
        sent["name"] = [{"family": "Throttle", "given": ["Theo"]}]
        headers = {**JSON, "Prefer": "return=OperationOutcome"}
        said = running.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=headers)
        assert said.status_code == 201, said.text[:300]
        assert any("reading it back from Nextvisit failed for now (HTTP 429)" in d for d in _diagnostics(said))
        clock.now += timedelta(seconds=61)
        running.sandbox.app.state.use_up_requests(create_calls - read_calls)
        sent["name"] = [{"family": "Throttle", "given": ["Theda"]}]
        created = running.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text[:300]
        new_id = created.json()["id"]
        assert new_id != first.json()["id"] and f"/Patient/{new_id}" in created.headers["Location"]
        answered = created.json()
        assert (answered["name"][0]["given"], answered["birthDate"], answered["gender"]) == (
            ["Theda"], "1977-05-06", "female",
        )  # fmt: skip
        assert answered["telecom"] == sent["telecom"]
        clock.now += timedelta(seconds=61)  # the next minute: the vendor answers again
        read = running.fhir.get(f"{BASE}/Patient/{new_id}")
        assert read.status_code == 200, read.text[:300]
        assert (read.json()["name"], read.json()["telecom"]) == (answered["name"], answered["telecom"])
        if switches.get("create_answer", "record") == "record" and switches.get("write_answers") != "text":
            # The record the vendor answered with: the version a read gives.
            assert read.json()["meta"]["versionId"] == answered["meta"]["versionId"]
        else:  # made from what was sent: no version that no read would match
            assert "ETag" not in created.headers and "versionId" not in answered.get("meta", {})
        for given in ("Theo", "Theda"):  # each made once
            found = running.fhir.get_ok(f"{BASE}/Patient", params={"given": given, "birthdate": "1977-05-06"})
            assert len([e for e in found.get("entry", []) if e["search"]["mode"] == "match"]) == 1, given


def test_a_create_answered_without_its_read_back_says_so_to_a_client_asking_for_messages() -> None:
    # Prefer: return=OperationOutcome (R4 http.html#ops) asks for the processing messages: the
    # representation answered is not the vendor's own reading of the record.
    with _throttled(create_answer="record") as (running, _):
        assert running.fhir.get(f"{BASE}/Patient/{LIVE[0].id}").status_code == 200
        running.sandbox.app.state.use_up_requests(1)
        sent = {"resourceType": "Patient", "name": [{"family": "Throttle", "given": ["Theo"]}],
                "birthDate": "1980-02-03", "gender": "male"}  # fmt: skip
        headers = {**JSON, "Prefer": "return=OperationOutcome"}
        created = running.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=headers)
        assert created.status_code == 201, created.text[:300]
        said = _diagnostics(created)
        assert any("reading it back from Nextvisit failed for now (HTTP 429)" in text for text in said), said


@pytest.mark.parametrize("reading", list(READINGS))
def test_an_update_whose_read_back_is_throttled_is_answered_as_done(reading: str) -> None:
    # Made at the vendor: an error would have the client send it again, its If-Match then a
    # 412 against its own update. The answer carries no version: made from what was sent, its
    # ETag would match no later read. Under each combined reading of the rest of the docs.
    with _throttled(**READINGS[reading]) as (running, clock):
        patient = running.fhir.get_ok(f"{BASE}/Patient/{LIVE[1].id}")
        patient["birthDate"] = "1966-06-16"
        before = vendor_calls(running.fhir, "nextvisit")
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{LIVE[1].id}", json=patient, headers=JSON)
        assert updated.status_code == 200, updated.text[:300]
        calls = int(vendor_calls(running.fhir, "nextvisit") - before)  # the reads before the PUT, it, the read back
        patient["birthDate"] = "1967-07-17"
        running.sandbox.app.state.use_up_requests(calls - 1)  # all but the read back
        headers = {**JSON, "Prefer": "return=OperationOutcome"}
        done = running.fhir.request("PUT", f"{BASE}/Patient/{LIVE[1].id}", json=patient, headers=headers)
        assert done.status_code == 200, done.text[:300]
        assert "ETag" not in done.headers
        said = _diagnostics(done)
        assert any("updated, but reading it back from Nextvisit failed for now (HTTP 429)" in t for t in said), said
        clock.now += timedelta(seconds=61)
        assert running.fhir.get_ok(f"{BASE}/Patient/{LIVE[1].id}")["birthDate"] == "1967-07-17"


def test_a_create_whose_id_cannot_be_looked_up_is_not_answered_retry_later() -> None:
    # The answer names no id and the look-up for it is throttled: the patient exists, so the
    # client is not told to try again later (a 429), which would create it twice.
    with _throttled(create_answer="message") as (running, _):
        assert running.fhir.get(f"{BASE}/Patient/{LIVE[0].id}").status_code == 200
        running.sandbox.app.state.use_up_requests(1)
        sent = {"resourceType": "Patient", "name": [{"family": "Lookup", "given": ["Lou"]}], "birthDate": "1960-02-03"}
        created = running.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 502, created.text[:300]
        assert "created" in created.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("configured", [True, False], ids=["paced", "waited-out"])
def test_a_burst_of_reads_under_the_vendors_limit_is_answered_not_429(configured: bool) -> None:
    # A limit of 5 requests a second (Laravel 11's `Limit::perSecond`; the docs name none): reads
    # one after another, then several at once, are each answered, never the vendor's 429 passed
    # on. Set for the tenant, as an operator told it by the vendor's `X-RateLimit-Limit` would
    # (options.rate_per_second), the calls wait their turn; not set, a read the vendor refuses
    # until its second ends (`Retry-After: 1`) waits for it. The sixth call of a second meets it.
    limited = partial(create_sandbox, CLINIC, rate_limit=5, rate_window="second")
    unpaced = {} if configured else {"options": {"rate_per_second": None}}
    with gateway_over("nextvisit", limited, organization="Limits", **unpaced) as running:
        for truth in LIVE[:12]:
            read = running.fhir.get(f"{BASE}/Patient/{truth.id}")
            assert read.status_code == 200, (truth.id, read.text[:300])
            assert read.json()["name"][0]["family"] == truth.last_name
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda truth: running.fhir.get(f"{BASE}/Patient/{truth.id}"), LIVE[12:20]))
        assert [a.status_code for a in answers] == [200] * 8, [a.text[:200] for a in answers if a.status_code != 200]
        assert [a.json()["id"] for a in answers] == [str(p.id) for p in LIVE[12:20]]


@pytest.fixture(scope="module")
def unpaged() -> Iterator[VariantGateway]:
    # A list that ignores `page` and `per_page` and answers every patient at once, `links` and
    # `meta` empty as the docs' example shows them (Django REST Framework without a pagination
    # class; an Express handler answering every row).
    with gateway_over("nextvisit", partial(create_sandbox, CLINIC, paging="none"), organization="Limits") as running:
        yield running


@pytest.mark.parametrize("count", [7, 50])
def test_a_list_that_answers_everything_at_once_is_served_whole_without_a_false_warning(
    unpaged: VariantGateway, count: int
) -> None:
    bundles = list(unpaged.fhir.pages(f"{BASE}/Patient", _count=count))
    found = [e["resource"]["id"] for b in bundles for e in b.get("entry", []) if e["search"]["mode"] == "match"]
    assert Counter(found) == Counter(str(p.id) for p in LIVE)
    assert [o for b in bundles for o in outcome_notes(b)] == []


def test_a_search_the_unpaged_list_answers_in_part_of_a_page_has_no_false_warning(unpaged: VariantGateway) -> None:
    truth = next(p for p in LIVE if p.birth_date)
    bundle = unpaged.fhir.get_ok(f"{BASE}/Patient", params={"birthdate": truth.birth_date.isoformat()})
    assert str(truth.id) in [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert outcome_notes(bundle) == [] and "next" not in {link["relation"] for link in bundle["link"]}
    by_family = unpaged.fhir.get_ok(f"{BASE}/Patient", params={"_sort": "family", "_count": "20"})
    assert outcome_notes(by_family) == []


@pytest.mark.parametrize("no_dates", ["null", "min"])  # live rows without deleted_at; with Go's zero one
def test_a_list_that_ignores_filter_trashed_costs_a_404_read_two_list_calls(no_dates: str) -> None:
    # Nothing the vendor lists is a deleted patient: the read is a 404 (the vendor gives no way
    # to tell it was deleted), found without walking the whole list for it.
    ignoring = partial(create_sandbox, CLINIC, trashed_filter="ignored", no_dates=no_dates)
    with gateway_over("nextvisit", ignoring, organization="Limits") as running:
        assert running.fhir.get(f"{BASE}/Patient/{LIVE[0].id}").status_code == 200  # logged in
        for truth in [p for p in CLINIC.patients if p.deleted] + [None]:
            before = vendor_calls(running.fhir, "nextvisit")
            read = running.fhir.get(f"{BASE}/Patient/{truth.id if truth else 999999}")
            assert read.status_code == 404, read.text[:300]
            assert vendor_calls(running.fhir, "nextvisit") - before <= 3  # the read, the trash, the list
