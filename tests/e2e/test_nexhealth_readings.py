"""NexHealth under every reading its docs allow: the simulator's switches
(sandboxes.nexhealth.readings) against the same adapter, compared with the clinic.

Each variant runs its own gateway with one NexHealth sandbox tenant. Nothing may be lost or
a 502: single-patient answers nested or flat, patient lists in any documented shape,
`cancelled=true` as "include" or "only", and a visit five years ahead (past any fixed
horizon) found with and without a `date`. The variants also combine the answer styles (error
bodies, FastAPI's `{"detail": ...}` without the envelope among them, timestamps, numbers and
booleans as strings, nulls left out, no `count`, a page past the end answered with the last
one, `per_page` capped at 50, refused above 50 or ignored), the
`name` and `phone_number` matching readings (accent sensitive, names stored NFD, prefix or substring,
phones as stored formatted or in E.164, and taken as the docs' ten digits only), the PATCH
and POST body shapes (a create and an edit body with no `bio`, an edit's `bio` object ignored
as an unknown key, a create's and an edit's `location_id` in its body), gender spelled `male` (a
spelling not taken failing with a 500, as a Rails enum does) or `M`,
a create answered with the new id only or with nothing, `count` as the records of the
answer, pages numbered from 0, Express's HTML pages for unmatched routes and refused tokens,
email search comparing the stored text exactly, `inactive` null for patients never marked,
PATCH answered 204 without a body, no `GET /patients/{id}`, an edit's duplicate check finding the
patient itself, an edit's `bio` replacing the patient's whole, appointment times in the office's
zone without an offset, unsent `new_patient`/`inactive`/`non_patient` filters read as false, Go's
empty strings, gender kept beside `bio`, a date of birth served as a JavaScript Date's midnight
instant or as another zone's midnight (a Berlin server's in UTC, Rails' UTC midnight in Eastern
Time), the search parameters the docs do not name (`foreign_id`, `date_of_birth`) refused, and
a create or edit body holding a key of another shape refused whole (Rails' unpermitted
parameters, FastAPI's 422 `extra_forbidden`).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import Response

from mappings.nexhealth.adapter import EARLIEST, open_windows
from sandboxes.clinic import Clinic, Encounter, build_clinic
from sandboxes.nexhealth import LOCATION, create_sandbox
from sandboxes.nexhealth.app import APPOINTMENT_ID_OFFSET, PATIENT_ID_OFFSET, location_id_of
from sandboxes.nexhealth.errors import express_page
from sandboxes.nexhealth.readings import far_visit_patient, with_far_visit
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp
from tests.support.variants import gateway_over

TENANT = "nex"
BASE = f"/fhir/{TENANT}"
YEARS_AHEAD = 5
GENDER = {"male": "male", "female": "female", "non_binary": "other", "other": "other"}
JSON = {"Content-Type": "application/fhir+json"}
XML = {"Accept": "application/xml"}
RATE = 10_000  # calls a minute, vendor and gateway

VARIANTS: dict[str, dict[str, Any]] = {
    "documented": {"patient_envelope": "nested", "patient_list": "object", "cancelled_means": "include"},
    "flat-array-only": {
        "patient_envelope": "flat",
        "patient_list": "array",
        "cancelled_means": "only",
        "latest_year": 2100,  # a vendor that refuses far dates
        "patch_body": "flat",
        "name_accents": "sensitive",
        "name_match": "prefix",
        "phones": "as_stored",
        "error_body": "string",
        "timestamps": "offset",
        "scalars": "strings",
        "nulls": "absent",
        "past_end": "last",
        "per_page": "max_50",
        "create_body": "flat",
        "genders": "letters",
        "create_answer": "id",
        "page_base": "zero",
        "inactive": "nullable",
        "foreign_id_search": "ignored",  # the docs never name it among the search parameters
        "gender_at": "top",  # the docs show gender in neither patient shape: beside `bio`, not in it
        # Rails raising on unpermitted parameters: a body with a key of another shape is refused
        # whole ("found unpermitted parameter: :patient"), never taken in part.
        "unknown_keys": "refused",
        # An appointment's times as its office's wall time, without an offset (its `timezone`).
        "appointment_times": "local",
        # Rails' `datetime` date of birth, the UTC midnight served in Eastern Time (the evening before),
        # searched as Rails casts "1964-05-03" for it: Eastern midnight, which no stored one is.
        "birth_dates": "zoned",
        "birth_search": "instant",
        # Rails' `current_location.patients.find(id)`: a read finds only its location's patients,
        # and an edit too (the scaffold's `set_patient` serves both).
        "patient_show": "location",
        "edit_scope": "location",
        # A list or a read of no one a 404 without a body (Spring's `ResponseEntity.notFound().build()`).
        "empty_lists": "no_body",
        # Express's truthy `req.query`: `location_strict=false` and `cancelled=false` read as true.
        "query_booleans": "truthy",
    },
    "flat-wrapped-include": {
        "patient_envelope": "flat",
        "patient_list": "wrapped",
        "cancelled_means": "include",
        "name_accents": "sensitive_nfd",
        "name_match": "substring",
        "name_tokens": "any",
        "phones": "as_stored",
        "error_body": "description",
        "timestamps": "seconds",
        "count": "absent",
        "past_end": "last",
        "per_page": "refused_50_humanized",  # Rails' "Per page must be less than or equal to 50"
        "empty_lists": "omitted",  # Go's `omitempty`: a list of no one is `[{}]`, wrapped
        "provider_names": "absent",  # an appointment's `provider_id` alone: the name is `/providers`'
        "genders": "lower",
        "unknown_gender": "failed",  # a Rails enum: `Male` is a 500, not a refusal
        "create_answer": "none",
        "framework_errors": "html",
        "edit_answer": "no_content",
        "unset_times": "zero",  # Go's zero time for an end never recorded
        "nulls": "empty",  # and Go's zero string for a text never recorded
        "birth_date_unset": "zero",  # and Go's zero time for a date of birth never recorded
        "birth_dates": "datetime",  # a JavaScript Date's midnight instant for a date of birth
        "create_body": "fully_flat",  # `bio`'s fields beside the names too: the docs nest none
        # ...and an edit's, a `bio` object ignored as an unknown key: a flat PATCH lost `bio`.
        "patch_body": "fully_flat_ignoring",
        # No `GET /patients/{id}` (the docs document search, create and PATCH only): Express's
        # page for it; every read, `$everything` and update reads the patient from the list.
        "patient_show": "absent",
        # An edit's duplicate check that does not leave out the patient itself.
        "edit_duplicates": "self_included",
    },
    "nested-wrapped-only": {
        "patient_envelope": "nested",
        "patient_list": "wrapped",
        "cancelled_means": "only",
        "patch_body": "flat",
        "name_accents": "sensitive_nfd",
        "name_match": "prefix",
        # FastAPI's `{"detail": ...}`: refusals read without the envelope; a body its Pydantic
        # model refuses, its 422 list of errors by `loc` (`extra="forbid"`: keys of another shape too).
        "error_body": "pydantic",
        "unknown_keys": "refused",
        "timestamps": "seconds",
        "scalars": "strings",
        "nulls": "absent",
        "count": "page",
        "per_page": "refused_50",
        "latest_year": 2100,
        "past_latest": "failed",  # a 500 past 2100, where "flat-array-only" answers 400
        "empty_lists": "not_found",
        "emails": "exact",
        "genders": "upper",  # a Go enum's constant names: the clean-room round's creates and edits were refused
        "unknown_subdomain": "not_found",
        "undocumented_params": "refused",  # a Joi query schema: `"foreign_id" is not allowed`
        "create_location": "body",  # `location_id` read from a create's body alone
        "edit_location": "body",  # ...and from an edit's
        "phones": "e164",  # `+15163042196`: the docs show ten digits but name no format
        # ...yet a create or edit takes the docs' ten digits only: the served `+1...` sent back
        # by an update, or a client's `+1 312...`, was refused as 11 digits.
        "phone_input": "ten_digits",
        "edit_bio": "replaced",  # `bio` one JSON object: an edit's replaces it whole
        # `new_patient`, `inactive` and `non_patient` false unless sent, as getting-started sends them...
        "absent_flags": "false",
        # ...and `true` filtering out no one (`inactive: bool = False`, then `if not inactive:`).
        "flags_true": "include",
        # A Berlin server's midnight as a JavaScript Date writes it, in UTC (the evening before).
        "birth_dates": "east_midnight",
        # The create's Pydantic model reused for PATCH: every field a create requires, each edit,
        "edit_fields": "whole",
        # ...answered with what it sent beside the id (an update resolving a count of rows).
        "edit_answer": "sent",
        # A read of no one answered 200 `{"patient": null}`: the lookup's None sent as it is...
        "missing_read": "null",
        # ...and one of another location's patient refused 403, as a policy refuses it.
        "patient_show": "location_forbidden",
        "edit_scope": "location_forbidden",  # the same policy over edits
    },
}


@dataclass(frozen=True)
class Variant:
    name: str
    url: str
    clinic: Clinic  # the truth the sandbox serves: the clinic with its far visit
    app: Any  # the sandbox app: app.state.requests counts vendor calls


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Iterator[Variant]:
    name: str = request.param
    # The clinic walk asks more than NexHealth's 1,000 calls a minute; waiting out the minute
    # would test the rate limit (tests/unit/mappings/nexhealth/test_client.py does), not a reading.
    simulator = partial(create_sandbox, far_visit_years=YEARS_AHEAD, rate_per_minute=RATE, **VARIANTS[name])
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        yield Variant(name, running.url, with_far_visit(build_clinic(), YEARS_AHEAD), running.sandbox.app)


@pytest.fixture
def fhir(variant: Variant) -> Iterator[FhirHttp]:
    client = FhirHttp(variant.url)
    yield client
    client.close()


def _fhir_id(patient_id: int) -> str:
    return str(patient_id + PATIENT_ID_OFFSET)


def _expected_status(encounter: Encounter, now: datetime) -> str:
    if encounter.status == "cancelled":
        return "cancelled"
    if encounter.start > now:
        return "planned"
    confirmed = encounter.status in ("finished", "arrived") or (encounter.status == "planned" and encounter.id % 2 == 0)
    return "finished" if confirmed else "unknown"


def _here(encounters: tuple[Encounter, ...]) -> list[Encounter]:
    return [e for e in encounters if location_id_of(e.location_id) == LOCATION]


# -- patients ----------------------------------------------------------------------------------


def test_every_patient_reads_and_searches_whatever_the_envelope(fhir: FhirHttp, variant: Variant) -> None:
    live = live_patients(variant.clinic)
    found = fhir.search_all(f"{BASE}/Patient", _count=100)
    assert sorted(r["id"] for r in found) == sorted(_fhir_id(p.id) for p in live)
    # A search the gateway finishes walks the location too (no vendor term for a gender).
    women = fhir.search_all(f"{BASE}/Patient", gender="female", _count=100)
    assert sorted(r["id"] for r in women) == sorted(_fhir_id(p.id) for p in live if p.gender == "female")
    for truth in live[::7]:
        resource = fhir.get_ok(f"{BASE}/Patient/{_fhir_id(truth.id)}")
        assert resource["name"][0].get("family") == truth.last_name
        assert resource.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
        assert resource["gender"] == GENDER.get(truth.gender or "", "unknown")
        assert truth.chart_number in {i["value"] for i in resource["identifier"]}
    one = live[3]
    by_chart = fhir.search_all(f"{BASE}/Patient", identifier=one.chart_number)
    assert [r["id"] for r in by_chart] == [_fhir_id(one.id)]
    # The birth date a matching engine keys on finds the patient, on the day the patient shows.
    born = next(p for p in live if p.birth_date)
    assert born.birth_date is not None
    by_birth = fhir.search_all(f"{BASE}/Patient", birthdate=f"eq{born.birth_date.isoformat()}", _count=100)
    assert _fhir_id(born.id) in [r["id"] for r in by_birth]


def test_create_and_update_answer_in_either_envelope(fhir: FhirHttp, variant: Variant) -> None:
    body = {
        "resourceType": "Patient",
        "name": [{"family": f"Reading{variant.name.split('-')[0].title()}", "given": ["Ada"]}],
        "telecom": [
            {"system": "email", "value": f"{variant.name}@example.org"},
            # With the country code, where NexHealth's docs show ten digits.
            {"system": "phone", "value": "+1 312-555-0642"},
        ],
        "birthDate": "1990-02-03",
        "gender": "female",
    }
    created = fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    current = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert current["name"][0]["given"] == ["Ada"]
    # Not yet in the practice system: updated, whichever PATCH body this vendor takes, the
    # name and the birth date (`bio`) alike.
    renamed = {**current, "name": [{**current["name"][0], "given": ["Adele"]}], "birthDate": "1990-02-04"}
    etag = {"If-Match": f'W/"{current["meta"]["versionId"]}"'}
    updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=renamed, headers={**JSON, **etag})
    assert updated.status_code == 200, updated.text
    read = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert (read["name"][0]["given"], read["birthDate"]) == (["Adele"], "1990-02-04")
    stale = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=renamed, headers={**JSON, **etag})
    assert stale.status_code == 412, stale.text


def test_everything_is_not_a_502(fhir: FhirHttp, variant: Variant) -> None:
    patient = far_visit_patient(variant.clinic)
    everything = fhir.search_all(f"{BASE}/Patient/{_fhir_id(patient.id)}/$everything", _count=50)
    kinds = Counter(r["resourceType"] for r in everything)
    assert kinds["Patient"] == 1
    assert kinds["Encounter"] == len(_here(patient.encounters))


def test_the_patient_ccd_is_served_whatever_the_calendar_reading(fhir: FhirHttp, variant: Variant) -> None:
    # A NexHealth refusing (or failing on) dates past 2100 made every patient's CCD a 502: the
    # walk's refused last window was taken for a gap, and a document is never served incomplete.
    patient = far_visit_patient(variant.clinic)
    document = fhir.request("GET", f"{BASE}/Binary/ccd-p.{_fhir_id(patient.id)}", headers=XML)
    assert document.status_code == 200, document.text[:300]
    far = max(_here(patient.encounters), key=lambda e: e.start)
    assert far.start.date().isoformat().replace("-", "") in document.text  # the far visit is in it


# -- encounters --------------------------------------------------------------------------------


def test_encounters_match_the_clinic_cancelled_or_not(fhir: FhirHttp, variant: Variant) -> None:
    now = datetime.now(UTC)
    for truth in live_patients(variant.clinic)[::8]:
        got = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(truth.id))
        expected = Counter((e.start.isoformat()[:19], _expected_status(e, now)) for e in _here(truth.encounters))
        assert Counter((e["period"]["start"][:19], e["status"]) for e in got) == expected, truth.id
        starts = [e["period"]["start"] for e in got]
        assert starts == sorted(starts)  # the vendor's order, by start time
        assert len({e["id"] for e in got}) == len(got)


def test_a_visit_years_ahead_is_found_with_and_without_a_date(fhir: FhirHttp, variant: Variant) -> None:
    patient = far_visit_patient(variant.clinic)
    far = max(patient.encounters, key=lambda e: e.start)
    assert far.start.year >= datetime.now(UTC).year + YEARS_AHEAD - 1
    start = far.start.isoformat()[:19]
    year = far.start.year
    for params in ({}, {"date": f"ge{year}"}, {"date": f"ge{year}-01-01", "_count": "1"}, {"date": str(year)}):
        got = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id), **params)
        assert start in {e["period"]["start"][:19] for e in got}, params
    assert fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id), date=f"ge{year + 1}") == []


def test_an_open_search_has_no_horizon_or_says_where_it_stopped(fhir: FhirHttp, variant: Variant) -> None:
    patient = far_visit_patient(variant.clinic)
    pages = list(fhir.pages(f"{BASE}/Encounter", patient=_fhir_id(patient.id), _count=100))
    outcomes = [
        e["resource"] for page in pages for e in page.get("entry", []) if e.get("search", {}).get("mode") == "outcome"
    ]
    # The whole calendar was asked, or all a practice could book (the variants' NexHealth that
    # refuses or fails on dates past 2100): complete, with its total.
    assert outcomes == []
    assert pages[0]["total"] == len(_here(patient.encounters))


def test_a_calendar_ending_where_visits_may_be_booked_is_said_and_makes_no_ccd() -> None:
    # A NexHealth refusing dates 20 years ahead may hide booked visits: the searchset says
    # where it stopped, and a patient document, which cannot say so, is a 502 rather than a lie.
    near = datetime.now(UTC).year + 20
    simulator = partial(create_sandbox, far_visit_years=YEARS_AHEAD, rate_per_minute=RATE, latest_year=near)
    clinic = with_far_visit(build_clinic(), YEARS_AHEAD)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        patient = far_visit_patient(clinic)
        pages = list(running.fhir.pages(f"{BASE}/Encounter", patient=_fhir_id(patient.id), _count=100))
        outcomes = [e["resource"] for page in pages for e in page.get("entry", []) if e["search"]["mode"] == "outcome"]
        assert outcomes and "refused" in outcomes[-1]["issue"][0]["diagnostics"]
        assert "total" not in pages[0]
        document = running.fhir.request("GET", f"{BASE}/Binary/ccd-p.{_fhir_id(patient.id)}", headers=XML)
        assert document.status_code == 502 and "give a date" in document.text, document.text[:300]


def test_an_open_search_stays_within_its_call_budget(fhir: FhirHttp, variant: Variant) -> None:
    patient = live_patients(variant.clinic)[10]
    fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id))  # the adapter may learn the reading
    before = _vendor_calls(fhir)
    fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id))
    windows = len(open_windows(EARLIEST, datetime.now(UTC)))
    per_window = 1 if VARIANTS[variant.name]["cancelled_means"] == "include" else 2
    if VARIANTS[variant.name].get("count") in ("absent", "page"):
        per_window *= 2  # without a total, only an empty (or repeated) page says a window is done
    assert _vendor_calls(fhir) - before <= windows * per_window


def _vendor_calls(fhir: FhirHttp) -> float:
    """The vendor calls the gateway has sent for the tenant (its /metrics): each attempt as it
    goes out, a 429's retry, a 401's renewal and a call given up mid-flight included. Not the
    simulator's count: a call a search abandons (the other half of a window it was refused)
    may reach the simulator after that search's answer, and was counted into the next search
    (11 against a budget of 10 under a loaded machine)."""
    text = fhir.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "fhir_gateway_vendor_calls_total" and sample.labels.get("tenant") == TENANT
    )


def test_explicit_bounds_are_honoured_however_far(fhir: FhirHttp, variant: Variant) -> None:
    patient = max(live_patients(variant.clinic), key=lambda p: len(_here(p.encounters)))
    first = min(_here(patient.encounters), key=lambda e: e.start)
    old = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id), date=["ge1900", "le2090"])
    assert first.start.isoformat()[:19] in {e["period"]["start"][:19] for e in old}
    assert len(old) == len(_here(patient.encounters))
    for date in ("le1965-01-01", "ge2150-01-01", "ge9990-01-01", "le0002-01-01"):
        response = fhir.get(f"{BASE}/Encounter", params={"patient": _fhir_id(patient.id), "date": date})
        assert response.status_code == 200, response.text
        assert not [e for e in response.json().get("entry", []) if e["search"]["mode"] == "match"]


def test_encounter_reads_cancelled_or_not(fhir: FhirHttp, variant: Variant) -> None:
    patient = next(
        p
        for p in live_patients(variant.clinic)
        if {e.status == "cancelled" for e in _here(p.encounters)} == {True, False}
    )
    got = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id))
    for cancelled in (True, False):
        encounter = next(e for e in got if (e["status"] == "cancelled") is cancelled)
        assert fhir.get_ok(f"{BASE}/Encounter/{encounter['id']}") == encounter


# -- names and phones: found under every matching reading ---------------------------------------


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def test_nunez_renee_and_a_formatted_phone_are_found_under_every_reading(fhir: FhirHttp, variant: Variant) -> None:
    body = {
        "resourceType": "Patient",
        "name": [{"family": "Nuñez", "given": ["Renée"]}],
        "telecom": [
            {"system": "email", "value": f"renee.nunez.{variant.name}@example.org"},
            {"system": "phone", "value": "(312) 555-7311"},
        ],
        "birthDate": "1979-08-09",
        "gender": "female",
    }
    created = fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    served = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert served["name"][0] == {"use": "official", "family": "Nuñez", "given": ["Renée"]}  # NFC, whatever is stored
    for params in (
        {"family": "NUÑEZ"},
        {"family": "nunez", "given": "Renée"},
        {"given": "RENEE", "birthdate": "1979-08-09"},
        {"name": "NUÑEZ"},
        {"given:exact": "Renée"},
        {"phone": "(312) 555-7311"},
        {"phone": "312-555-7311", "family": "Nunez"},
        {"phone": "3125557311"},
    ):
        found = fhir.search_all(f"{BASE}/Patient", _count=100, **params)
        assert pid in {r["id"] for r in found}, params


def test_clinic_names_and_phones_are_counted_right_under_every_reading(fhir: FhirHttp, variant: Variant) -> None:
    live = live_patients(variant.clinic)
    names = {p.id: [_unaccented(n or "").lower() for n in (p.first_name, p.middle_name)] for p in live}
    renee = [p for p in live if any(n.startswith("renee") for n in names[p.id])]
    ibanez = [p for p in live if _unaccented(p.last_name).lower().startswith("ibanez")]
    phone = next(p.mobile_phone for p in live if p.mobile_phone)
    formatted = f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
    with_phone = [p for p in live if phone in {p.mobile_phone, p.home_phone}]
    assert renee and ibanez and with_phone
    for params, expected in (
        ({"given": "Renée"}, renee),
        ({"family": "IBANEZ"}, ibanez),
        ({"phone": formatted}, with_phone),
    ):
        found = fhir.search_all(f"{BASE}/Patient", _count=100, **params)
        clinic = {r["id"] for r in found if int(r["id"]) <= PATIENT_ID_OFFSET + max(p.id for p in live)}
        assert sorted(clinic) == sorted(_fhir_id(p.id) for p in expected), params  # created ones aside


@pytest.mark.parametrize("create_body", ["nested", "flat"])
@pytest.mark.parametrize("framework_errors", ["envelope", "html"])
@pytest.mark.parametrize("provider_id", [None, 201])
def test_without_a_provider_list_a_create_is_sent_without_one_or_says_to_set_provider_id(
    provider_id: int | None, framework_errors: str, create_body: str
) -> None:
    # /providers is not in the docs: an implementation may not have it (404). The docs name no
    # provider among a create's required fields, so without the tenant's provider_id the
    # create is sent without one: taken where a provider is optional ("flat"), else a 400
    # naming the option, not a 404. An Express implementation's 404 for a route it lacks is
    # an HTML page ("Cannot GET /providers"): the clean-room round met every create as a 502
    # "not JSON" over it, and then as that 400 where the vendor needed no provider at all.
    simulator = partial(
        create_sandbox,
        rate_per_minute=RATE,
        providers="absent",
        framework_errors=framework_errors,
        create_body=create_body,
    )
    options: dict[str, Any] = {"rate_per_minute": RATE, "provider_id": provider_id}
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=options) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Noproviderlist", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "noproviders@example.org"},
                {"system": "phone", "value": "3125550643"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        if provider_id is None and create_body == "flat":  # a second create does not ask /providers again
            app, second = running.sandbox.app, {**body, "birthDate": "1971-02-03", "telecom": [
                {"system": "email", "value": "noproviderlist2@example.org"},
                {"system": "phone", "value": "3125550655"},
            ]}  # fmt: skip
            before = app.state.requests
            made = running.fhir.request("POST", f"{BASE}/Patient", json=second, headers=JSON)
            assert made.status_code == 201, made.text
            asked = app.state.requests - before
            assert asked == 1, asked  # the POST alone (its answer holds the patient)
        if provider_id is None and create_body == "nested":  # this reading requires a provider
            assert created.status_code == 400, created.text
            assert "provider_id" in created.json()["issue"][0]["diagnostics"]
        else:
            assert created.status_code == 201, created.text
            read = running.fhir.request("GET", created.headers["Location"].split("/_history")[0])
            assert read.json()["name"][0]["family"] == "Noproviderlist"


@pytest.mark.parametrize("authenticates", [True, False])
def test_a_404_page_in_front_of_the_api_is_a_failure_not_an_empty_searchset(authenticates: bool) -> None:
    # The merge read any 404 without the envelope as the API's "no one": with the list routes
    # answering the web server's page (a wrong address, a proxy's page, a route table that
    # lost them), every Patient and Encounter search was a 200 searchset with `total: 0`
    # while the records were there, and a 404 at /authenticates made a search a 404.
    def fronted() -> Any:
        sandbox = create_sandbox(rate_per_minute=RATE, framework_errors="html")
        api = sandbox.app

        async def front(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and (scope["path"] != "/authenticates" or not authenticates):
                await express_page(404, f"Cannot {scope['method']} {scope['path']}")(scope, receive, send)
                return
            await api(scope, receive, send)

        return replace(sandbox, app=front)

    with gateway_over("nexhealth", fronted, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for resource, params in (
            ("Patient", {}),
            ("Patient", {"email": "wang@example.com"}),
            ("Patient", {"family": "Wang"}),
            ("Encounter", {"patient": _fhir_id(1)}),
        ):
            answer = running.fhir.get(f"{BASE}/{resource}", params=params)
            assert answer.status_code == 502, (resource, params, answer.text[:300])


def test_a_write_answered_with_a_404_page_is_a_failure_not_a_missing_patient() -> None:
    # An implementation without the PATCH route answers Express's "Cannot PATCH /patients/7"
    # page: the merge read it as the API's 404, and the PUT of a patient just read was a 404
    # "not found" (to a FHIR client: no such patient, or create it there), not a 502.
    def fronted() -> Any:
        sandbox = create_sandbox(rate_per_minute=RATE, framework_errors="html")
        api = sandbox.app

        async def front(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["method"] == "PATCH":
                await express_page(404, f"Cannot PATCH {scope['path']}")(scope, receive, send)
                return
            await api(scope, receive, send)

        return replace(sandbox, app=front)

    with gateway_over("nexhealth", fronted, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Nopatchroute", "given": ["Ivo"]}],
            "telecom": [
                {"system": "email", "value": "nopatchroute@example.org"},
                {"system": "phone", "value": "3125550677"},
            ],
            "birthDate": "1980-04-05",
            "gender": "male",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text
        changed = {**created.json(), "birthDate": "1980-04-06"}
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{changed['id']}", json=changed, headers=JSON)
        assert updated.status_code == 502, updated.text


@pytest.mark.parametrize("emails", ["folded", "exact"])
def test_an_email_asked_in_another_case_finds_the_patient(emails: str) -> None:
    # FHIR compares emails ignoring case; a NexHealth comparing them exactly (a SQL `=`) found
    # no one for `WANG@EXAMPLE.COM` over a stored `wang@example.com`, and the gateway served
    # that empty answer (the clean-room round). Such a vendor is now not asked by email.
    simulator = partial(create_sandbox, rate_per_minute=RATE, emails=emails)
    live = live_patients(build_clinic())
    patient = next(p for p in live if p.email and location_id_of(p.location_id) == LOCATION)
    assert patient.email is not None and patient.email.upper() != patient.email
    same = sorted(_fhir_id(p.id) for p in live if (p.email or "").casefold() == patient.email.casefold())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        app = running.sandbox.app
        for _ in range(2):  # the second search knows how this vendor compares emails
            before = app.state.requests
            found = running.fhir.search_all(f"{BASE}/Patient", email=patient.email.upper())
            assert sorted(r["id"] for r in found) == same
        if emails == "folded":  # still asked by email: one call, not a walk through the location
            assert app.state.requests - before == 1


def test_with_no_email_to_try_the_email_probe_is_not_sent_before_every_search() -> None:
    # The probe of how NexHealth compares emails needs a listed patient with an email; at a
    # location without one (a new practice, one whose system keeps no emails) it found none,
    # remembered nothing, and every email search paid a page of 100 patients before its own.
    clinic = build_clinic()
    clinic = replace(clinic, patients=tuple(replace(p, email=None) for p in clinic.patients))
    simulator = partial(create_sandbox, clinic, rate_per_minute=RATE)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        app = running.sandbox.app
        running.fhir.search_all(f"{BASE}/Patient", email="nobody@example.org")  # tries, finds no one to try
        for _ in range(3):
            before = app.state.requests
            assert running.fhir.search_all(f"{BASE}/Patient", email="nobody@example.org") == []
            assert app.state.requests - before == 1


@pytest.mark.parametrize("inactive", ["boolean", "nullable"])
def test_active_true_finds_every_patient_served_as_active(inactive: str) -> None:
    # A nullable `inactive` column leaves a patient never marked (null, served as active) out
    # of NexHealth's `inactive=false`: the clean-room round met `active=true` without them.
    simulator = partial(create_sandbox, rate_per_minute=RATE, inactive=inactive)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        everyone = running.fhir.search_all(f"{BASE}/Patient", _count=100)
        active = sorted(r["id"] for r in everyone if r.get("active") is not False)
        inactive_ones = sorted(r["id"] for r in everyone if r.get("active") is False)
        assert active and inactive_ones
        assert sorted(r["id"] for r in running.fhir.search_all(f"{BASE}/Patient", active="true", _count=100)) == active
        assert sorted(r["id"] for r in running.fhir.search_all(f"{BASE}/Patient", active="false", _count=100)) == (
            inactive_ones
        )
        counted = running.fhir.request("GET", f"{BASE}/Patient", params={"active": "true", "_summary": "count"})
        assert counted.json().get("total") in (None, len(active))


@pytest.mark.parametrize(
    ("per_page", "error_body"),
    [
        ("max_50", "list"),
        ("refused_50", "list"),
        ("refused_50", "detail"),
        ("refused_50", "nestjs"),
        # Express's `res.status(400).send(message)`: the words as the whole body, no JSON. Unread,
        # every Encounter search and every Patient search of _count above 50 was that 400.
        ("refused_50", "text"),
        # Rails' `errors.full_messages` (in its `{"base": [...]}`) names the field as people read
        # it, "Per page must be less than or equal to 50" (Laravel: "The per page field must not
        # be greater than 50."): unread, every Encounter search was that 400.
        ("refused_50_humanized", "object"),
        ("refused_50_humanized", "list"),
    ],
)
def test_a_page_size_refused_as_too_large_is_asked_again_smaller(per_page: str, error_body: str) -> None:
    # A validator's maximum (Joi's "must be less than or equal to 50") refuses the gateway's
    # per_page=100 with a 400: the clean-room round met every Encounter search, and every
    # Patient search of _count above it, as that 400. FastAPI says so in `{"detail": ...}`,
    # without the envelope: unread, every Encounter search stayed that 400.
    simulator = partial(create_sandbox, rate_per_minute=RATE, per_page=per_page, error_body=error_body)
    clinic = build_clinic()
    live = live_patients(clinic)
    here = [p for p in live if location_id_of(p.location_id) == LOCATION]
    patient = max(here, key=lambda p: len(p.encounters))
    visits = [e for e in patient.encounters if location_id_of(e.location_id) == LOCATION]
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id), _count=100)
        assert len(encounters) == len(visits) > 0
        everyone = running.fhir.search_all(f"{BASE}/Patient", _count=100)
        by_twenty = running.fhir.search_all(f"{BASE}/Patient", _count=20)  # never above the limit
        assert sorted(r["id"] for r in everyone) == sorted(r["id"] for r in by_twenty)
        assert len({r["id"] for r in everyone}) == len(everyone) > 100


@pytest.mark.parametrize("edit_answer", ["patient", "no_content", "before"])
def test_an_update_answered_with_no_content_is_read_back(edit_answer: str) -> None:
    # The docs do not show PATCH's answer; Express's `res.sendStatus(204)` sends none. The
    # clean-room round met every update as a 502 although NexHealth had made the edit. And
    # Mongoose's `findByIdAndUpdate` answers the patient as it was: read as the edit not
    # applied, the update was a 422 although NexHealth had made it.
    simulator = partial(create_sandbox, rate_per_minute=RATE, edit_answer=edit_answer)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Nocontent", "given": ["Ida"]}],
            "telecom": [
                {"system": "email", "value": "nocontent@example.org"},
                {"system": "phone", "value": "3125550644"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text
        changed = {**created.json(), "birthDate": "1990-02-04"}
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{changed['id']}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert updated.json()["birthDate"] == "1990-02-04"
        read = running.fhir.request("GET", f"{BASE}/Patient/{changed['id']}")
        assert read.json()["birthDate"] == "1990-02-04"


@pytest.mark.parametrize("location_ids", ["shown", "absent"])
def test_location_strict_reads_only_this_locations_patients_whether_or_not_they_say_where(location_ids: str) -> None:
    # Neither of the docs' patient shapes has `location_ids`: without them a strict tenant
    # asks the location's own strict list whether the patient is there.
    simulator = partial(create_sandbox, rate_per_minute=RATE, location_ids=location_ids)
    options: dict[str, Any] = {"rate_per_minute": RATE, "location_strict": True}
    clinic = build_clinic()
    live = live_patients(clinic)
    here = [p for p in live if location_id_of(p.location_id) == LOCATION][:3]
    elsewhere = [p for p in live if location_id_of(p.location_id) not in (LOCATION, None)][:3]
    assert here and elsewhere
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=options) as running:
        for patient in here:
            assert running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(patient.id)}")["id"] == _fhir_id(patient.id)
        for patient in elsewhere:
            assert running.fhir.get(f"{BASE}/Patient/{_fhir_id(patient.id)}").status_code == 404


def test_flags_sent_false_are_not_read_as_true_by_truthy_query_strings() -> None:
    # Express's `if (req.query.location_strict)` and Flask's `request.args.get(...)` read the
    # text "false" as true: a tenant not `location_strict` that sent `location_strict=false`
    # listed this location's patients alone, and `cancelled=false` asked the cancelled visits
    # (under `cancelled_means="only"`, those alone: every other visit was lost). Where unsent
    # `new_patient`/`inactive`/`non_patient` filter as false, the lists asked `...=false` held
    # only the patients with the flag.
    simulator = partial(
        create_sandbox, rate_per_minute=RATE, query_booleans="truthy", cancelled_means="only", absent_flags="false"
    )
    clinic = build_clinic()
    live = live_patients(clinic)
    now = datetime.now(UTC)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        found = running.fhir.search_all(f"{BASE}/Patient", _count=100)
        assert sorted(r["id"] for r in found) == sorted(_fhir_id(p.id) for p in live)
        women = running.fhir.search_all(f"{BASE}/Patient", gender="female", _count=100)
        assert sorted(r["id"] for r in women) == sorted(_fhir_id(p.id) for p in live if p.gender == "female")
        elsewhere = next(p for p in live if location_id_of(p.location_id) not in (LOCATION, None))
        assert running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(elsewhere.id)}")["id"] == _fhir_id(elsewhere.id)
        truth = next(p for p in live if {e.status == "cancelled" for e in _here(p.encounters)} == {True, False})
        got = running.fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(truth.id))
        expected = Counter((e.start.isoformat()[:19], _expected_status(e, now)) for e in _here(truth.encounters))
        assert Counter((e["period"]["start"][:19], e["status"]) for e in got) == expected


def test_a_nexhealth_ignoring_per_page_is_walked_whole() -> None:
    # Pages of NexHealth's default 5 whatever per_page asks: a walk of the location is many
    # vendor calls, cut into FHIR pages by the core's bound, and nothing is lost. (Not a variant
    # of the suite: its searches then take several pages where the suite expects one.)
    simulator = partial(create_sandbox, rate_per_minute=RATE, per_page="ignored")
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        women = running.fhir.search_all(f"{BASE}/Patient", gender="female", _count=100)
        expected = {_fhir_id(p.id) for p in live if p.gender == "female"}
        assert sorted(r["id"] for r in women) == sorted(expected)


@pytest.mark.parametrize(
    "reading",
    [
        {"create_body": "flat"},
        {"genders": "lower"},
        {"genders": "letters"},
        {"genders": "upper"},
        # A Rails enum: `male` is taken, and `Male` is a 500 (ArgumentError), not a refusal to
        # try another spelling after: the clean-room round's every create and edit was a 502.
        {"genders": "lower", "unknown_gender": "failed"},
        {"create_answer": "id"},
        {"create_answer": "none"},
        {"error_body": "object"},
        # FastAPI's `raise HTTPException(400, "A patient with that information already exists.")`
        # answers `{"detail": ...}`: the duplicate was a 400, not a 409.
        {"error_body": "detail"},
        {"duplicate_status": "409"},
        # Gender beside `bio` (the docs show it in neither patient shape): read as `unknown`,
        # and every create refused for want of it.
        {"gender_at": "top"},
        {"gender_at": "top", "create_body": "flat", "genders": "lower", "unknown_gender": "failed"},
        # The docs list a create's required fields without nesting any: an implementation may
        # take them all at the top level, `bio`'s too. Every create was refused.
        {"create_body": "fully_flat"},
        {"create_body": "fully_flat", "genders": "lower", "unknown_gender": "failed", "gender_at": "top"},
        # The docs name the required parameters of a search only: a create may read its
        # `location_id` from the body alone (Express's `req.body`). Every create was refused.
        {"create_location": "body"},
        {"create_location": "body", "create_body": "fully_flat", "error_body": "detail"},
        {"phones": "e164"},  # served `+13125550644`: still the number sent, and a second is a 409
        # Django REST Framework's validation errors, by field and without the envelope: the
        # duplicate's `non_field_errors` unread, a second create was a 400, not a 409.
        {"error_body": "fields"},
        {"error_body": "fields", "create_body": "fully_flat"},
        # NestJS's `{"statusCode", "message": [...], "error": "Bad Request"}`: only the reason
        # phrase in `error` was read, the duplicate a 400 and the body's shape never found.
        {"error_body": "nestjs"},
        {"error_body": "nestjs", "create_body": "fully_flat"},
        # The docs' example phone is ten digits (`5163042196`): a validator written from it
        # refuses `13125550644`, the digits of a FHIR `+1 (312) 555-0644`. Every such create was refused.
        {"phone_input": "ten_digits"},
        # Express's `res.status(400).send("A patient with that information already exists.")`:
        # the docs' message as the whole body, no JSON. Unread, the duplicate was a 400, not a 409;
        # and where the create's `location_id` is wanted in its body, every create was refused.
        {"error_body": "text"},
        {"error_body": "text", "create_location": "body", "create_body": "fully_flat"},
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_a_create_makes_one_patient_and_serves_it_whole_under_each_create_reading(reading: dict[str, str]) -> None:
    # The docs list the fields a create requires, not its body, the values of gender or its
    # answer: each reading is one create (a 201 serving what was sent), and a second is a 409.
    simulator = partial(create_sandbox, rate_per_minute=RATE, **reading)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Createreading", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "create.reading@example.org"},
                {"system": "phone", "value": "+1 (312) 555-0644"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text
        served = created.json()
        assert (served["name"][0]["family"], served["gender"], served["birthDate"]) == (
            "Createreading",
            "female",
            "1990-02-03",
        )
        assert running.fhir.get_ok(f"{BASE}/Patient/{served['id']}")["gender"] == "female"
        again = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert again.status_code == 409, again.text
        women = running.fhir.search_all(f"{BASE}/Patient", gender="female", _count=100)
        assert served["id"] in {r["id"] for r in women}


@pytest.mark.parametrize("error_body", ["list", "fields", "nestjs"])
def test_a_fully_flat_create_body_is_found_from_the_refusal_and_remembered(error_body: str) -> None:
    # The refusal of the nested body names `date_of_birth` without `bio.`: the fully flat body
    # is sent next (not the flat one with `bio`, refused the same), and the tenant's later
    # creates go out in it at once. Django REST Framework names it as a key of its own body
    # (`{"date_of_birth": ["This field is required."]}`).
    simulator = partial(create_sandbox, rate_per_minute=RATE, create_body="fully_flat", error_body=error_body)
    options: dict[str, Any] = {"rate_per_minute": RATE, "provider_id": 201}
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=options) as running:
        app, calls = running.sandbox.app, []
        for number in (1, 2):
            body = {
                "resourceType": "Patient",
                "name": [{"family": f"Flatbody{'ab'[number - 1]}", "given": ["Ada"]}],
                "telecom": [
                    {"system": "email", "value": f"flat.body{number}@example.org"},
                    {"system": "phone", "value": f"31255506{70 + number}"},
                ],
                "birthDate": f"1990-02-0{number}",
                "gender": "female",
            }
            before = app.state.requests
            created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
            assert created.status_code == 201, created.text
            assert created.json()["birthDate"] == f"1990-02-0{number}"
            calls.append(app.state.requests - before)
        # The first: the authentication, a page of patients to see the gender's spelling, the
        # nested POST refused, the fully flat one taken. The second: its POST alone.
        assert calls == [4, 1], calls


@pytest.mark.parametrize("error_body", ["list", "fields", "nestjs", "text"])
def test_a_refused_create_tells_the_client_why(error_body: str) -> None:
    # NexHealth's reason reaches the client whether in its envelope or, as Django REST
    # Framework answers, by field without it (`{"patient": {"email": ["Is invalid."]}}`):
    # unread, the client got a 400 saying nothing of its email.
    simulator = partial(create_sandbox, rate_per_minute=RATE, error_body=error_body)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Refused", "given": ["Ada"]}],
            "telecom": [{"system": "email", "value": "no-domain"}, {"system": "phone", "value": "3125550648"}],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        refused = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert refused.status_code == 400, refused.text
        assert "email" in refused.json()["issue"][0]["diagnostics"].lower()
        assert "invalid" in refused.json()["issue"][0]["diagnostics"].lower()


@pytest.mark.parametrize(
    "reading",
    [
        {"count": "page"},
        {"page_base": "zero"},
        {"count": "page", "page_base": "zero", "per_page": "ignored", "past_end": "last"},
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_count_per_answer_and_pages_from_zero_lose_nothing(reading: dict[str, str]) -> None:
    # "count": 35 over one patient (getting-started) is a total; "count": 2 under the patients
    # page's list may be read as the records of the answer. Neither page says where pages start.
    simulator = partial(create_sandbox, rate_per_minute=RATE, **reading)
    clinic = build_clinic()
    live = live_patients(clinic)
    busiest = max(live, key=lambda p: len(_here(p.encounters)))
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        first = running.fhir.get_ok(f"{BASE}/Patient", params={"_count": "10"})
        assert first.get("total", len(live)) == len(live)
        assert [e["resource"]["id"] for e in first["entry"]][:1] == [_fhir_id(live[0].id)]
        found = running.fhir.search_all(f"{BASE}/Patient", _count=100)
        assert sorted(r["id"] for r in found) == sorted(_fhir_id(p.id) for p in live)
        counted = running.fhir.get_ok(f"{BASE}/Patient", params={"_summary": "count"})
        assert counted["total"] == len(live)
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(busiest.id))
        assert len(encounters) == len(_here(busiest.encounters)) > 5


@pytest.mark.parametrize(
    ("reading", "options"),
    [
        ({"unknown_subdomain": "not_found"}, {"subdomain": "demo-dentl"}),
        ({"unknown_subdomain": "not_found", "empty_lists": "not_found"}, {"subdomain": "demo-dentl"}),
        ({}, {"location_id": 999}),
        ({"empty_lists": "not_found"}, {"location_id": 999}),
    ],
    ids=["subdomain-404", "subdomain-404-empty-404", "location-404", "location-404-empty-404"],
)
def test_a_subdomain_or_location_nexhealth_does_not_know_is_a_failure_not_no_one(
    reading: dict[str, str], options: dict[str, Any]
) -> None:
    # A tenant whose subdomain or location_id NexHealth does not know is answered with the
    # API's own enveloped 404 ("Location not found"; a Go/GORM implementation's "record not
    # found" for the institution), or with lists of no one (a location never looked up): the
    # clean-room round saw every Patient and Encounter search served as an empty searchset
    # with `total: 0`, and every read as "Patient/1 does not exist", while the practice's
    # records were all there. (Where a patient is read whatever the location, it is served;
    # without `location_strict`, the simulator lists the institution's every patient.)
    simulator = partial(create_sandbox, rate_per_minute=RATE, **reading)
    settings = {"rate_per_minute": RATE, **options}
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=settings) as running:
        for path, params in (*_NO_ONE_ASKED, (f"Patient/{_fhir_id(1)}", {})):
            answer = running.fhir.get(f"{BASE}/{path}", params=params)
            assert answer.status_code == 502, (path, params, answer.status_code, answer.text[:300])
            assert "subdomain" in answer.json()["issue"][0]["diagnostics"], answer.text[:300]


_NO_ONE_ASKED: tuple[tuple[str, dict[str, str]], ...] = (
    ("Patient", {}),
    ("Patient", {"family": "Wang"}),
    ("Patient", {"birthdate": "1980-01-01"}),
    ("Patient", {"identifier": "12345"}),
    ("Encounter", {"patient": _fhir_id(1)}),
)


def _no_one_and_said(answer: Any) -> None:
    """A searchset of no one whose outcome says to check the tenant's location, without a total."""
    assert answer.status_code == 200, answer.text[:300]
    bundle = answer.json()
    entries = bundle.get("entry", [])
    assert [e for e in entries if e["resource"]["resourceType"] != "OperationOutcome"] == [], entries[:1]
    said = [i["diagnostics"] for e in entries for i in e["resource"].get("issue", [])]
    assert any("location_id" in d for d in said), said
    assert "total" not in bundle, bundle.get("total")


def test_a_location_nexhealth_does_not_look_up_is_no_one_said() -> None:
    # A location_id an implementation never looks up lists no one, as a practice with no
    # patient yet does: the searches are empty searchsets saying to check the tenant's
    # subdomain and location_id (no total: it may not be "no one"); a patient is read
    # whatever the location.
    simulator = partial(create_sandbox, rate_per_minute=RATE, unknown_location="empty")
    settings = {"rate_per_minute": RATE, "location_id": 999, "location_strict": True}
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=settings) as running:
        for path, params in _NO_ONE_ASKED:
            _no_one_and_said(running.fhir.get(f"{BASE}/{path}", params=params))


def test_a_known_location_with_no_match_is_still_no_one() -> None:
    # The other side: under the 404-for-no-one reading, a search matching no one at a location
    # NexHealth knows stays an empty searchset, and an unknown id a 404.
    simulator = partial(create_sandbox, rate_per_minute=RATE, empty_lists="not_found", unknown_subdomain="not_found")
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        empty = running.fhir.get_ok(f"{BASE}/Patient", params={"birthdate": "1801-01-01"})
        assert empty.get("entry", []) == [] and empty.get("total", 0) == 0
        assert running.fhir.get(f"{BASE}/Patient/{_fhir_id(999_999)}").status_code == 404
        assert running.fhir.get(f"{BASE}/Patient/{_fhir_id(999_998)}").status_code == 404


@pytest.mark.parametrize("per_page", ["ignored", "max_1000"])
def test_a_chart_number_is_found_where_nexhealth_ignores_foreign_id(per_page: str) -> None:
    # The docs never name `foreign_id` among the search parameters: an implementation ignoring
    # it lists the whole location, a page at a time. The clean-room round asked one page and
    # found no one for the chart number of a patient past it (only a warning that NexHealth
    # had listed 20 of 45).
    simulator = partial(create_sandbox, rate_per_minute=RATE, per_page=per_page, foreign_id_search="ignored")
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for patient in (live[0], live[len(live) // 2], live[-1]):
            found = running.fhir.search_all(f"{BASE}/Patient", identifier=patient.chart_number, _count=3)
            assert [r["id"] for r in found] == [_fhir_id(patient.id)], (patient.chart_number, found[:1])
        by_id = running.fhir.search_all(f"{BASE}/Patient", identifier=_fhir_id(live[-1].id), _count=3)
        assert [r["id"] for r in by_id] == [_fhir_id(live[-1].id)]  # read by its id, not listed again


def test_go_zero_times_are_no_end_and_do_not_break_the_ccd() -> None:
    # A Go implementation over MySQL serves a time it never recorded (a zero DATETIME in a NOT
    # NULL column) as `0001-01-01T00:00:00Z`. The clean-room round served such an appointment's
    # Encounter with `period.end` in year 1 (before its start: FHIR's per-1 forbids it), and
    # the patient's CCD was a 500 (the year-1 end could not be put on the practice's clock).
    simulator = partial(create_sandbox, rate_per_minute=RATE, unset_times="zero")
    clinic = build_clinic()
    endless = [p for p in live_patients(clinic) if any(e.end is None for e in _here(p.encounters))]
    assert endless
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for patient in endless:
            encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient.id))
            assert len(encounters) == len(_here(patient.encounters))
            for encounter in encounters:
                period = encounter["period"]
                assert period.get("end", period["start"]) >= period["start"], period
            bundle = running.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": _fhir_id(patient.id)})
            url = bundle["entry"][0]["resource"]["content"][0]["attachment"]["url"]
            url = url if url.startswith("http") else f"{BASE}/{url}"
            document = running.fhir.request("GET", url, headers={"Accept": "application/xml"})
            assert document.status_code == 200, document.text[:300]
            assert "0001-01-01" not in document.text


def test_a_practice_with_no_patient_yet_is_searched_and_its_first_patient_created() -> None:
    # A practice NexHealth knows but which has no patient yet (a new office) lists no one, as
    # a location it does not look up may (no lookup in the docs tells them apart). Taken for the
    # tenant's misconfiguration, every search was a 502 "check the tenant's subdomain and
    # location_id", and so was the conditional create of its first patient: it could never get one.
    empty = replace(build_clinic(), patients=())
    simulator = partial(create_sandbox, empty, rate_per_minute=RATE)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for path, params in _NO_ONE_ASKED:
            _no_one_and_said(running.fhir.get(f"{BASE}/{path}", params=params))
        missing = running.fhir.get(f"{BASE}/Patient/{_fhir_id(1)}")
        assert missing.status_code == 404 and "location_id" in missing.text, missing.text[:300]
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Firstever", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "first.ever@example.org"},
                {"system": "phone", "value": "3125550199"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        condition = {"If-None-Exist": "email=first.ever@example.org"}
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers={**JSON, **condition})
        assert created.status_code == 201, created.text[:300]


@pytest.mark.parametrize("genders", ["capitalized", "lower", "letters", "upper"])
def test_a_practice_with_no_patient_yet_gets_its_first_patients_whatever_gender_spelling_it_takes(
    genders: str,
) -> None:
    # A Rails enum takes one spelling of gender and fails on the others with a 500 (its
    # ArgumentError), no refusal naming gender to try another after. The spelling was learned
    # from the patients the location shows; a new office shows none, so its first patient went
    # out as `Male`/`Female` and was a 502 where NexHealth wanted `M`/`F`: it could never get one.
    empty = replace(build_clinic(), patients=())
    simulator = partial(create_sandbox, empty, rate_per_minute=RATE, genders=genders, unknown_gender="failed")
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        made = []
        for number, gender in enumerate(("female", "male")):
            body = {
                "resourceType": "Patient",
                "name": [{"family": f"Firstever{'ab'[number]}", "given": ["Ada"]}],
                "telecom": [
                    {"system": "email", "value": f"first.ever{number}@example.org"},
                    {"system": "phone", "value": f"31255501{90 + number}"},
                ],
                "birthDate": "1990-02-03",
                "gender": gender,
            }
            created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
            assert created.status_code == 201, created.text[:300]
            assert created.json()["gender"] == gender
            made.append(created.json()["id"])
        for pid, gender in zip(made, ("female", "male"), strict=True):
            assert running.fhir.get_ok(f"{BASE}/Patient/{pid}")["gender"] == gender
        listed = running.fhir.search_all(f"{BASE}/Patient", _count=10)
        assert sorted(r["id"] for r in listed) == sorted(made)


@pytest.mark.parametrize("count", ["absent", "page"])
@pytest.mark.parametrize("per_page", ["ignored", "max_50", "max_1000"])
def test_a_chart_number_is_found_where_nexhealth_ignores_foreign_id_and_gives_no_total(
    count: str, per_page: str
) -> None:
    # As above, where `count` is no total (absent, or the records of the answer): the first
    # page of the whole location said nothing of more, and the chart number of a patient past
    # it was an empty searchset with no warning.
    simulator = partial(
        create_sandbox, rate_per_minute=RATE, per_page=per_page, count=count, foreign_id_search="ignored"
    )
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for patient in (live[0], live[-1]):
            found = running.fhir.search_all(f"{BASE}/Patient", identifier=patient.chart_number, _count=3)
            assert [r["id"] for r in found] == [_fhir_id(patient.id)], (patient.chart_number, found[:1])


def test_patients_created_during_a_walk_serve_no_one_twice_where_nexhealth_lists_newest_first() -> None:
    # The docs give the patient list no order. Listed newest first (a Rails `order(created_at:
    # :desc)`), each patient created while a client pages pushes the later pages down by one:
    # the clean-room round's walk served the last patient of a page again at the top of the next.
    simulator = partial(create_sandbox, rate_per_minute=RATE, patient_order="newest_first")
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        served: list[str] = []
        for number, bundle in enumerate(running.fhir.pages(f"{BASE}/Patient", _count=5)):
            served += [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
            if number < 3:  # the front desk registers a patient between two pages
                body = {
                    "resourceType": "Patient",
                    "name": [{"family": "Walkin", "given": [f"Pat{number}"]}],
                    "telecom": [
                        {"system": "email", "value": f"walkin{number}@example.org"},
                        {"system": "phone", "value": f"31255506{number:02d}"},
                    ],
                    "birthDate": "1990-02-03",
                    "gender": "female",
                }
                made = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
                assert made.status_code == 201, made.text
        twice = sorted(i for i, n in Counter(served).items() if n > 1)
        assert not twice, f"served more than once: {twice}"
        assert {_fhir_id(p.id) for p in live} <= set(served)


def test_go_empty_strings_are_no_values_and_serve_no_empty_elements() -> None:
    # A Go implementation whose struct fields are plain `string`s (or a `NOT NULL DEFAULT ''`
    # column) serves a city, middle name or email it never had as `""`. Mapped as text, a
    # patient created through the API had `address: [{"city": "", "state": "", ...}]`: FHIR
    # forbids empty strings (R4 JSON: a string has at least one character).
    simulator = partial(create_sandbox, rate_per_minute=RATE, nulls="empty")
    live = live_patients(build_clinic())
    without_middle = next(p for p in live if not p.middle_name)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Emptystrings", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "empty.strings@example.org"},
                {"system": "phone", "value": "3125550645"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text
        for pid in (created.json()["id"], _fhir_id(without_middle.id)):
            served = running.fhir.get_ok(f"{BASE}/Patient/{pid}")
            assert "" not in _texts(served), served
        assert "address" not in running.fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}")
        assert running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(without_middle.id)}")["name"][0]["given"] == [
            without_middle.first_name
        ]


def _texts(value: Any) -> list[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _texts(item)]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []


@pytest.mark.parametrize("gender_at", ["bio", "top"])
def test_a_gender_beside_bio_is_read_created_and_changed(gender_at: str) -> None:
    # The docs make gender required on create and show it in neither of their patient shapes:
    # an implementation keeping it at the patient's top level had every patient served as
    # gender `unknown`, and refused every create ("patient.gender is required").
    simulator = partial(create_sandbox, rate_per_minute=RATE, gender_at=gender_at)
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for truth in live[:6]:
            served = running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(truth.id)}")
            assert served["gender"] == GENDER.get(truth.gender or "", "unknown"), truth.id
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Genderbeside", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "gender.beside@example.org"},
                {"system": "phone", "value": "3125550646"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert running.fhir.get_ok(f"{BASE}/Patient/{pid}")["gender"] == "female"
        changed = {**running.fhir.get_ok(f"{BASE}/Patient/{pid}"), "gender": "other"}  # the gender alone
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert running.fhir.get_ok(f"{BASE}/Patient/{pid}")["gender"] == "other"


@pytest.mark.parametrize("birth_dates", ["date", "datetime", "east_midnight", "zoned"])
def test_a_birth_date_served_as_an_instant_finds_created_and_strict_patients(birth_dates: str) -> None:
    # Node has no date-only type: Prisma and Mongoose serve a date of birth as the midnight
    # instant `1964-05-03T00:00:00.000Z`. A create answered without the patient is found by its
    # email, names and birth date (it was a 502: "created the patient but ... nor could it be
    # found"), and a strict tenant asks the location's list by the birth date whether a patient
    # is there (it sent the instant, refused: a patient elsewhere was a 400, not a 404).
    # Another zone's midnight (`1964-05-02T22:00:00.000Z` from a Berlin server,
    # `1964-05-02T20:00:00.000-04:00` from Rails in Eastern Time) was the day before: the
    # birthDate served a day off, the create a 502, a patient here a 404.
    simulator = partial(
        create_sandbox, rate_per_minute=RATE, birth_dates=birth_dates, create_answer="none", location_ids="absent"
    )
    options: dict[str, Any] = {"rate_per_minute": RATE, "location_strict": True}
    live = live_patients(build_clinic())
    here = [p for p in live if location_id_of(p.location_id) == LOCATION and p.birth_date]
    elsewhere = [p for p in live if location_id_of(p.location_id) not in (LOCATION, None) and p.birth_date]
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=options) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Instantborn", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "instant.born@example.org"},
                {"system": "phone", "value": "3125550647"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text
        assert created.json()["birthDate"] == "1990-02-03"
        for patient in here[:2]:
            served = running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(patient.id)}")
            assert served["birthDate"] == patient.birth_date.isoformat()
            born = running.fhir.search_all(f"{BASE}/Patient", birthdate=f"eq{patient.birth_date.isoformat()}")
            assert _fhir_id(patient.id) in [r["id"] for r in born]
        for patient in elsewhere[:2]:  # asked by chart number, email, then birth date: not here
            assert running.fhir.get(f"{BASE}/Patient/{_fhir_id(patient.id)}").status_code == 404


@pytest.mark.parametrize("birth_dates", ["date", "datetime", "east_midnight", "zoned"])
def test_a_birth_date_search_finds_the_patient_however_nexhealth_casts_the_day(birth_dates: str) -> None:
    # Where dates of birth are kept as instants, `date_of_birth=1964-05-03` may be cast as its
    # framework casts a date-only text and compared with the instants stored: Rails casts it to
    # that midnight in `config.time_zone` (stored: UTC midnights), Node's `new Date(...)` to the
    # UTC midnight (stored: the server's midnight). Pushed down as it was, `birthdate=eq...`
    # found no one, and an If-None-Exist create by birth date made the patient again (or was
    # refused as a duplicate of one the search had not found).
    simulator = partial(create_sandbox, rate_per_minute=RATE, birth_dates=birth_dates, birth_search="instant")
    live = [p for p in live_patients(build_clinic()) if p.birth_date and p.email]
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for patient in (live[0], live[len(live) // 2]):
            assert patient.birth_date is not None
            day = patient.birth_date.isoformat()
            born = running.fhir.search_all(f"{BASE}/Patient", birthdate=f"eq{day}", _count=100)
            assert _fhir_id(patient.id) in [r["id"] for r in born], (day, [r.get("birthDate") for r in born])
            assert {r.get("birthDate") for r in born} == {day}
        someone = live[1]
        assert someone.birth_date is not None
        again = {
            "resourceType": "Patient",
            "name": [{"family": someone.last_name, "given": [someone.first_name]}],
            "telecom": [{"system": "email", "value": someone.email}],
            "birthDate": someone.birth_date.isoformat(),
            "gender": "unknown",
        }
        condition = f"birthdate={someone.birth_date.isoformat()}&family={someone.last_name}"
        answer = running.fhir.request(
            "POST", f"{BASE}/Patient", json=again, headers={**JSON, "If-None-Exist": condition}
        )
        assert answer.status_code == 200, answer.text[:300]  # the patient there, not made again
        assert answer.json()["id"] == _fhir_id(someone.id)


@pytest.mark.parametrize("undocumented_params", ["taken", "refused"])
def test_search_parameters_the_docs_do_not_name_may_be_refused(undocumented_params: str) -> None:
    # The docs name no `foreign_id` or `date_of_birth` among the patient search's parameters:
    # a Joi query schema written from them refuses both (400 `"foreign_id" is not allowed`).
    # Every search by chart number or birth date was that 400, and so was a strict tenant's
    # read of a patient its location's list did not show by chart number or email.
    simulator = partial(
        create_sandbox, rate_per_minute=RATE, undocumented_params=undocumented_params, location_ids="absent"
    )
    live = live_patients(build_clinic())
    one = live[len(live) // 2]
    assert one.birth_date is not None
    born = sorted(_fhir_id(p.id) for p in live if p.birth_date == one.birth_date)
    elsewhere = next(p for p in live if location_id_of(p.location_id) not in (LOCATION, None))
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        found = running.fhir.search_all(f"{BASE}/Patient", identifier=one.chart_number, _count=3)
        assert [r["id"] for r in found] == [_fhir_id(one.id)]
        by_birth = running.fhir.search_all(f"{BASE}/Patient", birthdate=one.birth_date.isoformat(), _count=100)
        assert sorted(r["id"] for r in by_birth) == born
    strict = {"rate_per_minute": RATE, "location_strict": True}
    with gateway_over("nexhealth", simulator, tenant=TENANT, options=strict) as running:
        assert running.fhir.get(f"{BASE}/Patient/{_fhir_id(elsewhere.id)}").status_code == 404


@pytest.mark.parametrize(
    ("empty_lists", "framework_errors"), [("listed", "envelope"), ("not_found", "envelope"), ("listed", "html")]
)
def test_a_nexhealth_without_appointments_says_so_rather_than_listing_no_encounters(
    empty_lists: str, framework_errors: str
) -> None:
    # The docs show appointments only as a patient's `upcoming_appts`: an implementation of the
    # documented routes alone answers `/appointments` with its 404 envelope for unknown paths,
    # which reads as the API's "no appointments" (a list of no one answered 404). Every
    # Encounter search was an empty searchset with a total of 0, no warning. (Express's own
    # page for it, "Cannot GET /appointments", was a 502 blaming the tenant's address.)
    simulator = partial(
        create_sandbox,
        rate_per_minute=RATE,
        appointments="absent",
        empty_lists=empty_lists,
        framework_errors=framework_errors,
    )
    patient = next(p for p in live_patients(build_clinic()) if _here(p.encounters))
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for _ in range(2):  # the second search too (the vendor's answer is remembered)
            answer = running.fhir.get(f"{BASE}/Encounter", params={"patient": _fhir_id(patient.id)})
            assert answer.status_code == 200, answer.text[:300]
            bundle = answer.json()
            entries = bundle.get("entry", [])
            assert [e for e in entries if e["resource"]["resourceType"] != "OperationOutcome"] == [], entries[:1]
            said = [i["diagnostics"] for e in entries for i in e["resource"].get("issue", [])]
            assert any("appointments" in d for d in said), said
            assert "total" not in bundle, bundle.get("total")
        visit = _here(patient.encounters)[0]
        encounter_id = f"{_fhir_id(patient.id)}.{visit.id + APPOINTMENT_ID_OFFSET}.{visit.start.astimezone(UTC):%Y%m%d}"
        read = running.fhir.get(f"{BASE}/Encounter/{encounter_id}")
        assert read.status_code == 404, read.text[:300]
        assert "appointments" in read.json()["issue"][0]["diagnostics"], read.text[:300]


def test_a_patient_without_appointments_is_no_warning_where_nexhealth_answers_no_one_with_404() -> None:
    # The other side of the test above: where `/appointments` is there and answers a list of
    # no one with 404 ("not found"), a patient without visits is an empty searchset, unsaid.
    simulator = partial(create_sandbox, rate_per_minute=RATE, empty_lists="not_found")
    patient = next(p for p in live_patients(build_clinic()) if not _here(p.encounters))
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        answer = running.fhir.get(f"{BASE}/Encounter", params={"patient": _fhir_id(patient.id)})
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json().get("entry", []) == [], answer.text[:300]


@pytest.mark.parametrize(
    ("framework_errors", "per_page", "absent_flags"),
    [("envelope", "max_1000", "any"), ("html", "max_50", "any"), ("envelope", "max_1000", "false")],
)
def test_a_nexhealth_without_a_single_patient_read_reads_patients_from_its_list(
    framework_errors: str, per_page: str, absent_flags: str
) -> None:
    # The patients page documents `GET /patients` (search), `POST /patients` and editing "via
    # PATCH", never `GET /patients/{id}`: an implementation of those routes alone answers every
    # single-patient read as an unknown path (its 404 envelope, or Express's page). Every
    # Patient read, `$everything` and update was a 404 "does not exist" (or a 502).
    simulator = partial(
        create_sandbox,
        rate_per_minute=RATE,
        patient_show="absent",
        framework_errors=framework_errors,
        per_page=per_page,
        absent_flags=absent_flags,  # new patients listed only when asked for: a created one too
    )
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for truth in (live[0], live[len(live) // 2], live[-1]):
            read = running.fhir.get(f"{BASE}/Patient/{_fhir_id(truth.id)}")
            assert read.status_code == 200, read.text[:300]
            assert read.json()["name"][0].get("family") == truth.last_name
        missing = running.fhir.get(f"{BASE}/Patient/{_fhir_id(max(p.id for p in live) + 500)}")
        assert missing.status_code == 404, missing.text[:300]
        patient = next(p for p in live if _here(p.encounters))
        everything = running.fhir.search_all(f"{BASE}/Patient/{_fhir_id(patient.id)}/$everything", _count=50)
        kinds = Counter(r["resourceType"] for r in everything)
        assert (kinds["Patient"], kinds["Encounter"]) == (1, len(_here(patient.encounters)))
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Showless", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "showless@example.org"},
                {"system": "phone", "value": "3125550917"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text[:300]
        pid = created.json()["id"]
        current = running.fhir.get_ok(f"{BASE}/Patient/{pid}")
        renamed = {**current, "name": [{**current["name"][0], "given": ["Adele"]}]}
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{pid}", json=renamed, headers=JSON)
        assert updated.status_code == 200, updated.text[:300]
        assert running.fhir.get_ok(f"{BASE}/Patient/{pid}")["name"][0]["given"] == ["Adele"]


def _created_for_edit(running: Any, family: str) -> dict[str, Any]:
    body = {
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Ada"]}],
        "telecom": [
            {"system": "email", "value": f"{family.lower()}@example.org"},
            {"system": "phone", "value": "3125550388"},
        ],
        "birthDate": "1990-02-03",
        "gender": "female",
    }
    created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
    assert created.status_code == 201, created.text[:300]
    current: dict[str, Any] = running.fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}")
    return current


@pytest.mark.parametrize("reading", [{}, {"patch_body": "flat", "unknown_keys": "refused"}, {"error_body": "nestjs"}])
def test_an_edit_is_no_duplicate_of_the_patient_itself(reading: dict[str, str]) -> None:
    # The docs' duplicate guard ("A patient with that information already exists") reused for
    # an edit without leaving out the patient edited: every update re-sending the unchanged
    # email and phone was a 409 "another patient".
    simulator = partial(create_sandbox, rate_per_minute=RATE, edit_duplicates="self_included", **reading)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        current = _created_for_edit(running, "Selfsame")
        renamed = {**current, "name": [{**current["name"][0], "given": ["Adele"]}]}
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{current['id']}", json=renamed, headers=JSON)
        assert updated.status_code == 200, updated.text[:300]
        read = running.fhir.get_ok(f"{BASE}/Patient/{current['id']}")
        assert read["name"][0]["given"] == ["Adele"]
        # A birth date (`bio`) too, and a case corrected: each a change the patient keeps.
        redated = {**read, "name": [{**read["name"][0], "family": "SELFSAME"}], "birthDate": "1990-02-04"}
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{current['id']}", json=redated, headers=JSON)
        assert updated.status_code == 200, updated.text[:300]
        read = running.fhir.get_ok(f"{BASE}/Patient/{current['id']}")
        assert (read["name"][0]["family"], read["birthDate"]) == ("SELFSAME", "1990-02-04")
        assert sorted(t["value"] for t in read["telecom"]) == sorted(t["value"] for t in current["telecom"])


@pytest.mark.parametrize(
    "reading",
    [{}, {"patch_body": "flat", "unknown_keys": "refused"}, {"error_body": "pydantic", "unknown_keys": "refused"}],
)
def test_an_edit_of_the_birth_date_keeps_the_rest_of_bio_where_nexhealth_replaces_it(reading: dict[str, str]) -> None:
    # An implementation keeping `bio` as one object (a JSON column, a Mongo `$set`) replaces
    # it with the edit's: a `bio` holding the changed birth date alone cleared the phone and
    # the gender kept beside it.
    simulator = partial(create_sandbox, rate_per_minute=RATE, edit_bio="replaced", **reading)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        current = _created_for_edit(running, "Wholebio")
        for birth_date in ("1990-02-04", "1990-02-05"):  # the second after what the first learned
            redated = {**current, "birthDate": birth_date}
            updated = running.fhir.request("PUT", f"{BASE}/Patient/{current['id']}", json=redated, headers=JSON)
            assert updated.status_code == 200, updated.text[:300]
            read = running.fhir.get_ok(f"{BASE}/Patient/{current['id']}")
            assert read["birthDate"] == birth_date
            assert (read["gender"], read["telecom"]) == (current["gender"], current["telecom"])
            current = read


@pytest.mark.parametrize("reading", [{}, {"count": "absent", "per_page": "max_50"}])
def test_patients_listed_only_when_asked_for_are_found_and_not_created_twice(reading: dict[str, str]) -> None:
    # The getting-started request sends `new_patient=false` and the patients page advises
    # `inactive` and `non_patient` false: an implementation taking those as the defaults of a
    # search (FastAPI's `new_patient: bool = False`) lists new and inactive patients only when
    # asked. A search sending none silently missed them, the patients created through the API
    # among them, and If-None-Exist created such a patient again.
    simulator = partial(create_sandbox, rate_per_minute=RATE, absent_flags="false", **reading)
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        found = running.fhir.search_all(f"{BASE}/Patient", _count=100)
        assert sorted(r["id"] for r in found) == sorted(_fhir_id(p.id) for p in live)
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Unasked", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "unasked@example.org"},
                {"system": "phone", "value": "3125550461"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        once = {**JSON, "If-None-Exist": "email=unasked@example.org"}
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=once)
        assert created.status_code == 201, created.text[:300]
        again = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=once)
        assert again.status_code == 200, again.text[:300]
        assert again.json()["id"] == created.json()["id"]
        named = running.fhir.search_all(f"{BASE}/Patient", family="Unasked")
        assert [r["id"] for r in named] == [created.json()["id"]]


@pytest.mark.parametrize(
    "reading",
    [
        # FastAPI's `inactive: bool = False` filtering by it only when false: inactive (and new)
        # patients listed only under `true`, beside everyone else.
        {"flags_true": "include", "absent_flags": "false"},
        {"flags_true": "include", "absent_flags": "false", "count": "absent", "per_page": "max_50"},
        {"flags_true": "include"},  # `true` includes, and a flag not sent filters by nothing
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_a_flag_whose_true_includes_everyone_loses_no_patient_and_counts_right(reading: dict[str, str]) -> None:
    # The patients page advises `inactive` and `non_patient` false "to filter out patients that
    # cannot be booked for": `true` may then filter out no one rather than keep only those. The
    # probe of unsent flags took its one `inactive=true` patient, an active one, for proof that
    # nothing was filtered: every search missed the inactive patients (and those created through
    # the API, new until they book); and `active=false`, sent as `inactive=true`, was served with
    # the total of every patient.
    simulator = partial(create_sandbox, rate_per_minute=RATE, **reading)
    live = live_patients(build_clinic())
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        found = running.fhir.search_all(f"{BASE}/Patient", _count=100)
        assert sorted(r["id"] for r in found) == sorted(_fhir_id(p.id) for p in live)
        inactive = sorted(r["id"] for r in found if r.get("active") is False)
        assert inactive
        asked = running.fhir.search_all(f"{BASE}/Patient", active="false", _count=100)
        assert sorted(r["id"] for r in asked) == inactive
        counted = running.fhir.request("GET", f"{BASE}/Patient", params={"active": "false", "_summary": "count"})
        assert counted.status_code == 200, counted.text[:300]
        assert counted.json().get("total") in (None, len(inactive)), counted.json()
        first = running.fhir.get_ok(f"{BASE}/Patient", params={"active": "false", "_count": 10})
        assert first.get("total") in (None, len(inactive)), first.get("total")


@pytest.mark.parametrize("birth_dates", ["date", "datetime"])
def test_a_date_of_birth_served_as_a_zero_date_is_no_birth_date(birth_dates: str) -> None:
    # A date type without a null (.NET's `DateOnly`/`DateTime`, Go's `time.Time`) serves a date
    # of birth never recorded as its zero value, `0001-01-01` or `0001-01-01T00:00:00Z`: the
    # patient was served as born in the year 1, and found by `birthdate=lt1900`.
    simulator = partial(create_sandbox, rate_per_minute=RATE, birth_dates=birth_dates, birth_date_unset="zero")
    clinic = build_clinic()
    unknown = clinic.awkward_patient("missing_birth_date")
    born = [p for p in live_patients(clinic) if p.birth_date is not None]
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        read = running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(unknown.id)}")
        assert "birthDate" not in read, read.get("birthDate")
        found = running.fhir.search_all(f"{BASE}/Patient", birthdate="lt1900-01-01", _count=100)
        assert [r["id"] for r in found] == [], [r.get("birthDate") for r in found]
        someone = running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(born[0].id)}")
        assert someone["birthDate"] == born[0].birth_date.isoformat()  # a date recorded is served as ever


@pytest.mark.parametrize(
    "reading", [{"empty_lists": "not_found"}, {"empty_lists": "not_found", "patient_show": "absent"}]
)
def test_a_404_in_bare_text_is_the_apis_no_one_not_a_missing_route(reading: dict[str, str]) -> None:
    # Express's `res.status(404).send("Not found")` for a search of no one (and "Patient not
    # found" for a read): no JSON, as every error of that implementation. Read as the web
    # server's page for a route it lacks, every search matching no one was a 502 "NexHealth
    # answered its patient list with a 404 page", and so was the read of a patient not there.
    simulator = partial(create_sandbox, rate_per_minute=RATE, error_body="text", **reading)
    clinic = build_clinic()
    someone = next(p for p in live_patients(clinic) if p.email)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for params in ({"email": "nobody.here@example.org"}, {"family": "Zzyzxnobody"}, {"identifier": "NOPE-1"}):
            empty = running.fhir.get(f"{BASE}/Patient", params=params)
            assert empty.status_code == 200, (params, empty.text[:300])
            assert empty.json().get("entry", []) == [], params
        missing = running.fhir.get(f"{BASE}/Patient/{_fhir_id(999_999)}")
        assert missing.status_code == 404, missing.text[:300]
        found = running.fhir.search_all(f"{BASE}/Patient", email=someone.email)
        assert _fhir_id(someone.id) in {r["id"] for r in found}
        assert running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(someone.id)}")["id"] == _fhir_id(someone.id)


def _performers(fhir: FhirHttp, patient_id: int) -> dict[str, list[str]]:
    """The performers' names of the patient's Encounters, by Encounter id."""
    found = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient_id), _count=100)
    return {e["id"]: [p["individual"]["display"] for p in e.get("participant", [])] for e in found}


def test_an_appointment_without_its_providers_name_names_the_performer_from_the_provider_list() -> None:
    # The docs show `provider_name` only in a patient's `upcoming_appts`: an appointment may
    # carry `provider_id` alone (a serializer of its own columns). Read as no provider, every
    # Encounter lost its performer (US Core must-support), and the CCD its encounters' too.
    clinic = build_clinic()
    patients = [p for p in live_patients(clinic) if _here(p.encounters)][:3]
    named: dict[str, dict[str, list[str]]] = {}
    for reading in ("shown", "absent"):
        simulator = partial(create_sandbox, rate_per_minute=RATE, provider_names=reading)
        with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
            named[reading] = {e: names for p in patients for e, names in _performers(running.fhir, p.id).items()}
            if reading == "absent":
                again = {e: names for p in patients for e, names in _performers(running.fhir, p.id).items()}
                assert again == named[reading]
    assert named["absent"] == named["shown"]
    assert all(len(names) == 1 and names[0] for names in named["shown"].values()), named["shown"]


def test_without_a_provider_list_an_appointment_without_its_providers_name_is_served_without_one() -> None:
    simulator = partial(create_sandbox, rate_per_minute=RATE, provider_names="absent", providers="absent")
    patient = next(p for p in live_patients(build_clinic()) if _here(p.encounters))
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        performers = _performers(running.fhir, patient.id)
        assert len(performers) == len(_here(patient.encounters))
        assert all(names == [] for names in performers.values()), performers


@pytest.mark.parametrize(
    "reading",
    [
        {"patient_envelope": "nested"},
        {"patient_envelope": "flat"},
        {"patient_envelope": "nested", "patient_show": "location"},
    ],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()),
)
def test_a_read_of_no_one_answered_with_null_is_not_found(reading: dict[str, str]) -> None:
    # Mongoose's `findById` (Sequelize's `findByPk`, Rails' `find_by`) resolves null for no
    # record, and an implementation sending what it resolved answers `GET /patients/{id}` 200
    # with `{"patient": null}` (`data: null` where the record is served bare). Read as a patient
    # that could not be read, a read of an id not there was a 502, and so were a search by an
    # identifier that is no patient's id and `$everything` of one; where the read is scoped to
    # its location, a patient of another location was said not to exist.
    simulator = partial(create_sandbox, rate_per_minute=RATE, missing_read="null", **reading)
    clinic = build_clinic()
    live = live_patients(clinic)
    elsewhere = next(p for p in live if p.location_id is not None and location_id_of(p.location_id) != LOCATION)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        missing = running.fhir.get(f"{BASE}/Patient/{_fhir_id(999_999)}")
        assert missing.status_code == 404, missing.text[:300]
        assert missing.json()["issue"][0]["code"] == "not-found"
        none = running.fhir.get(f"{BASE}/Patient", params={"identifier": _fhir_id(999_998)})
        assert none.status_code == 200, none.text[:300]
        assert none.json().get("entry", []) == []
        everything = running.fhir.get(f"{BASE}/Patient/{_fhir_id(999_997)}/$everything")
        assert everything.status_code == 404, everything.text[:300]
        read = running.fhir.get(f"{BASE}/Patient/{_fhir_id(elsewhere.id)}")
        assert read.status_code == 200, read.text[:300]
        assert read.json()["id"] == _fhir_id(elsewhere.id)


def test_a_404_without_a_body_is_no_one_where_the_route_has_answered() -> None:
    # Spring's `ResponseEntity.notFound().build()` (an ASP.NET Core `NotFound()` outside
    # `[ApiController]`, Go's `w.WriteHeader(404)`): a list or a read of no one is a 404 with no
    # body, as a web server's own 404 for a path it has no route for may be. Read as a missing
    # route, every search matching no one was a 502 "NexHealth answered its patient list with a
    # 404 page", and one read of a patient not there made every later read walk the list.
    simulator = partial(create_sandbox, rate_per_minute=RATE, empty_lists="no_body")
    clinic = build_clinic()
    someone = next(p for p in live_patients(clinic) if p.email and p.encounters)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for params in ({"email": "nobody.here@example.org"}, {"identifier": "NOPE-1"}, {"birthdate": "1801-01-01"}):
            empty = running.fhir.get(f"{BASE}/Patient", params=params)
            assert empty.status_code == 200, (params, empty.text[:300])
            assert empty.json().get("entry", []) == [], (params, empty.json().get("entry", [])[:1])
        missing = running.fhir.get(f"{BASE}/Patient/{_fhir_id(999_999)}")
        assert missing.status_code == 404, missing.text[:300]
        before = running.sandbox.app.state.requests
        assert running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(someone.id)}")["id"] == _fhir_id(someone.id)
        assert running.sandbox.app.state.requests - before == 1  # its own read, not the list walked
        found = running.fhir.search_all(f"{BASE}/Patient", email=someone.email)
        assert _fhir_id(someone.id) in {r["id"] for r in found}
        visits = running.fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(someone.id))
        assert len(visits) == len(_here(someone.encounters))


def test_a_practice_with_no_patient_yet_answering_404s_without_a_body_can_search_and_create() -> None:
    # Spring's `ResponseEntity.notFound().build()` for a list of no one, at a new office with no
    # patient at all: the patient list never answers 200, so nothing there tells its bodiless 404
    # from a web server's own. Every search was a 502 and no first patient could be created under
    # If-None-Exist. The providers list of the same subdomain and location answering says the
    # API is there and knows them: the 404 is "no one" (said so in an outcome entry).
    simulator = partial(
        create_sandbox, replace(build_clinic(), patients=()), rate_per_minute=RATE, empty_lists="no_body"
    )
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        empty = running.fhir.get(f"{BASE}/Patient", params={"family": "Lovelace"})
        assert empty.status_code == 200, empty.text[:300]
        assert empty.json().get("entry", []) == [] or all(
            e["resource"]["resourceType"] == "OperationOutcome" for e in empty.json()["entry"]
        )
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Lovelace", "given": ["Ada"]}],
            "telecom": [{"system": "email", "value": "first@example.org"}, {"system": "phone", "value": "3125550471"}],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request(
            "POST", f"{BASE}/Patient", json=body, headers={**JSON, "If-None-Exist": "email=first@example.org"}
        )
        assert created.status_code == 201, created.text[:300]
    # Where the providers list does not answer either, nothing says the API is there: still a 502.
    nothing = partial(
        create_sandbox, replace(build_clinic(), patients=()), rate_per_minute=RATE, empty_lists="no_body",
        providers="absent",
    )  # fmt: skip
    with gateway_over("nexhealth", nothing, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        assert running.fhir.get(f"{BASE}/Patient", params={"family": "Lovelace"}).status_code == 502


@pytest.mark.parametrize("patient_list", ["object", "wrapped", "array"])
def test_a_list_of_no_one_written_as_go_omits_it_is_no_one(patient_list: str) -> None:
    # Go's `encoding/json` leaves an empty slice tagged `omitempty` out: a search of no one is
    # `"data": {}` (`[{}]` where the list is wrapped) with no `count`. Read as no list of
    # patients, every search matching no one was a 502 "NexHealth's patient list could not be
    # read" (wrapped: a warning of an unreadable record and no total), and so was an
    # If-None-Exist create of a patient not there yet.
    simulator = partial(create_sandbox, rate_per_minute=RATE, empty_lists="omitted", patient_list=patient_list)
    someone = next(p for p in live_patients(build_clinic()) if p.email)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for params in ({"email": "nobody.here@example.org"}, {"identifier": "NOPE-1"}, {"birthdate": "1801-01-01"}):
            empty = running.fhir.get(f"{BASE}/Patient", params=params)
            assert empty.status_code == 200, (params, empty.text[:300])
            assert empty.json().get("entry", []) == [], (params, empty.json().get("entry", [])[:1])
        counted = running.fhir.get_ok(f"{BASE}/Patient", params={"birthdate": "1801-01-01"})
        assert counted.get("total", 0) == 0, counted
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Omitempty", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "omitempty@example.org"},
                {"system": "phone", "value": "3125550471"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request(
            "POST", f"{BASE}/Patient", json=body, headers={**JSON, "If-None-Exist": "email=omitempty@example.org"}
        )
        assert created.status_code == 201, created.text[:300]
        found = running.fhir.search_all(f"{BASE}/Patient", email=someone.email)
        assert _fhir_id(someone.id) in {r["id"] for r in found}


@pytest.mark.parametrize(
    "reading",
    [{}, {"gender_at": "top"}, {"edit_answer": "before"}, {"patient_envelope": "flat", "create_body": "flat"}],
    ids=lambda reading: "-".join(f"{k}={v}" for k, v in reading.items()) or "documented",
)
def test_a_write_answered_without_bio_answers_the_patient_whole(reading: dict[str, str]) -> None:
    # Prisma's `create` and `update` without `include: {bio: true}` answer the patient without
    # `bio`, a relation of its own table (the docs show neither answer). Read as the patient, a
    # create was answered without its birth date and phone and with gender `unknown`, and an
    # update named the phone it had stored as not stored.
    simulator = partial(create_sandbox, rate_per_minute=RATE, written_bio="absent", **reading)
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        body = {
            "resourceType": "Patient",
            "name": [{"family": "Nobio", "given": ["Ada"]}],
            "telecom": [
                {"system": "email", "value": "nobio@example.org"},
                {"system": "phone", "value": "3125550462"},
            ],
            "birthDate": "1990-02-03",
            "gender": "female",
        }
        created = running.fhir.request("POST", f"{BASE}/Patient", json=body, headers=JSON)
        assert created.status_code == 201, created.text[:300]
        answered = created.json()
        assert (answered.get("birthDate"), answered["gender"]) == ("1990-02-03", "female"), answered
        assert {"system": "phone", "value": "3125550462"} in answered["telecom"], answered["telecom"]
        changed = {**answered, "birthDate": "1990-02-04"}
        prefer = {**JSON, "Prefer": "return=OperationOutcome"}
        said = running.fhir.request("PUT", f"{BASE}/Patient/{answered['id']}", json=changed, headers=prefer)
        assert said.status_code == 200, said.text[:300]
        assert [i for i in said.json()["issue"] if i["severity"] != "information"] == [], said.json()
        updated = running.fhir.request("PUT", f"{BASE}/Patient/{answered['id']}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text[:300]
        edited = updated.json()
        assert (edited.get("birthDate"), edited["gender"]) == ("1990-02-04", "female"), edited
        assert running.fhir.get_ok(f"{BASE}/Patient/{answered['id']}")["birthDate"] == "1990-02-04"


class _ForbiddenButAuthentication:
    """A NexHealth that issues tokens and refuses every other request 403 (an API key without
    the rights to read): the credentials' fault, whatever the request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] != "/authenticates":
            body = b'{"code":false,"description":null,"error":["Forbidden"],"data":null}'
            await Response(body, status_code=403, media_type="application/json")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def test_a_403_of_every_request_is_still_the_credentials() -> None:
    # The other side of reading a read's 403 as the read's own: where the list is refused too,
    # the credentials are, and a read says so (502 security), not "does not exist".
    def forbidding() -> Any:
        sandbox = create_sandbox(rate_per_minute=RATE)
        return replace(sandbox, app=_ForbiddenButAuthentication(sandbox.app))

    with gateway_over("nexhealth", forbidding, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        for path in (f"{BASE}/Patient/{_fhir_id(1)}", f"{BASE}/Patient"):
            answer = running.fhir.get(path)
            assert answer.status_code == 502, (path, answer.text[:300])
            assert answer.json()["issue"][0]["code"] == "security", answer.text[:300]


@pytest.mark.parametrize("location_ids", ["shown", "absent"])
# "location_forbidden": such a read refused 403 (a Pundit policy), which read as NexHealth refusing
# the gateway's credentials made every read of the patient a 502 telling the operator to check them.
@pytest.mark.parametrize("patient_show", ["location", "location_forbidden"])
def test_a_patient_of_another_location_is_read_where_the_read_is_scoped_to_one(
    location_ids: str, patient_show: str
) -> None:
    # The docs say a search "is always performed in the context of a location"; an undocumented
    # `GET /patients/{id}` may find only that location's patients (Rails'
    # `current_location.patients.find(id)`), while a tenant not `location_strict` lists the
    # institution's. Such a patient was found by search and then a 404 "does not exist" to read,
    # to update or to `$everything`.
    simulator = partial(create_sandbox, rate_per_minute=RATE, patient_show=patient_show, location_ids=location_ids)
    clinic = build_clinic()
    live = live_patients(clinic)
    here = next(p for p in live if location_id_of(p.location_id) == LOCATION)
    elsewhere = [p for p in live if p.location_id is not None and location_id_of(p.location_id) != LOCATION][:3]
    assert elsewhere
    with gateway_over("nexhealth", simulator, tenant=TENANT, options={"rate_per_minute": RATE}) as running:
        assert running.fhir.get_ok(f"{BASE}/Patient/{_fhir_id(here.id)}")["id"] == _fhir_id(here.id)
        for patient in elsewhere:
            read = running.fhir.get(f"{BASE}/Patient/{_fhir_id(patient.id)}")
            assert read.status_code == 200, read.text[:300]
            assert read.json()["name"][0]["family"] == unicodedata.normalize("NFC", patient.last_name)
        assert running.fhir.get(f"{BASE}/Patient/{_fhir_id(999_999)}").status_code == 404
        everyone = running.fhir.search_all(f"{BASE}/Patient", _count=100)
        assert {_fhir_id(p.id) for p in elsewhere} <= {r["id"] for r in everyone}
