"""Nextech under readings of its docs the default simulator does not take: the gateway over the
Nextech simulator with its switches (`sandboxes/nextech/app.py`,
`sandboxes/nextech/readings.py`) combined into a few variants: how `term` matches
(accent-sensitive, names stored decomposed, whole-field prefixes, substrings, case-sensitive),
envelopes (Django REST Framework's pages and flask-smorest's header-described ones, Spring's
pages counted from 0, Kaminari's bare ones, Prisma's bare `skip`/`take` ones and
fastapi-pagination's counted by offset among them), ids as strings, timestamps with offsets or
none or as RFC 822 dates, absent nulls, error bodies, token lifetimes as strings, a token
endpoint taking HTTP Basic only, an authorization server requiring PKCE, section names with
spaces, a visit years ahead, a Nextech that refuses far `end` dates or takes bare dates only,
dates served in the clinic's zone, a `dob` written as the server's midnight in UTC (with `Z` or
without a zone), unknown dates as stand-ins (`0001-01-01`, `0000-00-00`), answers serialized
twice (a JSON string holding the JSON), `encounterLocked` as letters or lock times, dates as Gson writes them, patients
with no chart number, CCD categories as objects or a map, keys as a team's classes name them
(`PatientID`, `DOB`, `CCD`; `patient_id`), Microsoft JSON dates (`/Date(ms)/`), epoch numbers
(milliseconds as JSON numbers, seconds as strings), the CCD as base64 (a `byte[]`), the CCD
escaped on its way out (entity-escaped whole, its blocks escaped inside the page, JSON-encoded
once more) and a Nextech that never reads `section` (the whole CCD for every section).

Each variant walks the clinic: every live patient is found by its family name (with and
without accents) and read by id, and each patient's encounters and CCDs match the clinic.
Every resource received goes through `conformance.check_resource` (`FhirHttp`); every id and
attachment URL must be a FHIR id that the gateway itself serves.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette

from gateway.contract import Sandbox
from mappings.ids import encode_part
from mappings.nextech.adapter import HORIZON_WARNING, MIDDLE_NAMES
from sandboxes.clinic import Clinic, Patient, build_clinic
from sandboxes.nextech import create_sandbox
from sandboxes.nextech.app import CCD_SECTIONS, FAR_FUTURE_VISIT, SECTION_TITLES, SPACED_SECTIONS
from sandboxes.nextech.readings import Shapes
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.text import fold
from tests.support.variants import VariantGateway, gateway_over, vendor_calls

TENANT = "nextech"
BASE = f"/fhir/{TENANT}"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
JSON = {"Accept": "application/fhir+json"}
XML = {"Accept": "application/xml"}
REFUSED_AFTER = datetime(2100, 1, 1, tzinfo=UTC)
BEFORE_FAR_VISIT = "le2030-12-31"  # the clinic's charted visits, not the one a variant adds in 2031
SWITCHES: dict[str, dict[str, Any]] = {
    "accent-sensitive-prefix": {
        "search_accents": "sensitive",
        "search_match": "prefix",
        "search_none_found": "not_found",
        "encounters_none_found": "not_found",
        "oauth_wording": "docs",
        "section_names": "spaced",
        "envelope": "value",
        "error_bodies": "problem",
        "timestamps": "local",
        "unknown_dates": "zero",
        "locked_values": "letters",
        "json_as_string": True,
        "dob_midnight": "server_in_utc",  # a Berlin server's midnight in UTC: the evening before
    },
    "nfd-substring-strings": {
        "search_accents": "sensitive_nfd",
        "search_match": "substring",
        "far_future_visit": True,
        # A PHP team's: PDO's MySQL driver hands INT columns back as strings, ids and the
        # unix-time columns alike ("1513264139"); lists built as XML and `json_encode`d from
        # SimpleXML, which makes a list of one that one object.
        "single_as_object": True,
        "ids_as_strings": True,
        "timestamps": "epoch_seconds",
        "absent_nulls": True,
        "token_numbers_as_strings": True,
        "locked_values": "stamps",
        "chart_numbers": "some_missing",
        "categories": "objects",
    },
    # Django REST Framework's defaults: every list paged (`{"count", "next", "previous",
    # "results"}`), whole-field prefixes (`SearchFilter`'s `^` fields), django-oauth-toolkit's
    # /o/authorize/ and /o/token/ (configured as authorize_url and token_url), which require
    # PKCE unless told otherwise since its 2.0 (`PKCE_REQUIRED`, release notes of 2.0.0).
    "drf-pages": {
        "trailing_slashes": True,  # DefaultRouter's `/search/`, APPEND_SLASH redirecting `/search` to it
        "envelope": "pages",
        "page_size": 5,
        "search_match": "prefix",
        "oauth_paths": "django",
        "oauth_pkce": "required",
    },
    # A Flask team's defaults: flask-smorest's pages (a bare array, `X-Pagination`), dates as
    # Flask's JSON provider writes them (RFC 822), Authlib's `client_secret_basic`, and
    # SQLAlchemy's `.like()` on PostgreSQL (case-sensitive substrings); NULL chart numbers.
    "flask": {
        "envelope": "header_pages",
        "page_size": 10,
        "timestamps": "http",
        "oauth_client_auth": "basic",
        "search_case": "sensitive",
        "search_match": "substring",
        "chart_numbers": "some_missing",
        "section_param": "ignored",  # a view reading only `start` and `end`: the whole CCD, always
        "ccd_layout": "captions",  # a Jinja loop over the sections, each a captioned <table>
        "ccd_titles": "counted",  # ... captioned "Medications (2)"
    },
    # A Rails team's defaults: Kaminari's pages rendered as bare arrays (25 a page, `?page=`
    # from 1, nothing said of the others), `ILIKE '%term%'`, times in the app's zone,
    # `render json:` writing the columns' snake_case names (`patient_id`, `encounter_date`), and
    # a patient's encounters latest first (`order(encounter_date: :desc)`).
    "rails": {
        "encounter_order": "desc",
        "envelope": "bare_pages",
        "page_size": 25,
        "search_match": "substring",
        "timestamps": "offset",
        "chart_numbers": "some_missing",
        "key_case": "snake",
        "ccd_escaping": "template",  # each rendered block put in the page by `<%= %>`, not `raw`
    },
    # A Spring Boot team's defaults: Spring Data's `Page` as 3.3's VIA_DTO writes it (20 a page,
    # `?page=` from 0, its count nested in `page`), `findBy...StartingWithIgnoreCase`,
    # `LocalDate` bounds as the docs word them ("Earliest date"), ProblemDetail errors, and
    # `ResponseEntity.noContent()` for a search or an encounter window finding nothing.
    "spring": {
        "search_none_found": "no_content",
        "encounters_none_found": "no_content",
        "envelope": "spring_dto",
        "page_size": 20,
        "search_match": "prefix",
        "date_params": "date",
        "error_bodies": "problem",
        "far_future_visit": True,
        "ccd_escaping": "entities",  # every field through Spring's `HtmlUtils.htmlEscape`, against XSS
        "timestamps": "gson",  # `spring.mvc.converters.preferred-json-mapper=gson`: `Dec 14, 2017, 3:08:59 PM`
        "categories": "titles",  # the enum's `@JsonValue` labels listed; `section` bound by `valueOf`
    },
    # A FastAPI team's: fastapi-pagination's `LimitOffsetPage` (`?offset=&limit=`, `{"items",
    # "total", "limit", "offset"}`, no link; a small default limit, so that a patient's
    # encounters span pages), SQLAlchemy's `ilike(term + "%")` on each field, and datetimes as
    # pydantic writes naive ones (no zone).
    "fastapi": {
        "envelope": "offset",
        "page_size": 5,
        "search_match": "prefix",
        "timestamps": "naive",
        "ccd_escaping": "json",  # the rendered page kept in its column as `json.dumps` wrote it
        "oauth_errors": "fastapi",  # its token endpoint's refusals raised as `HTTPException(detail={...})`
    },
    # An Express team's: Prisma's `findMany({skip, take: 10})` sent as it is (a bare array, the
    # next page asked with `?skip=`, nothing said of it), `contains` with `mode: "insensitive"`,
    # and times kept as `Date.now()` milliseconds in number columns, served as JSON numbers.
    "express": {
        "timestamps": "epoch_millis",
        "envelope": "bare_skip_take",
        "page_size": 10,
        "search_match": "substring",
        "oauth_errors": "nestjs",  # a NestJS (on Express) token endpoint: `new BadRequestException("invalid_grant")`
        "oauth_token_status": 201,  # ... whose `@Post()` answers 201 Created, no `@HttpCode(200)`
    },
    # An ASP.NET Boilerplate team's: every list a `PagedResultDto` (`{"totalCount", "items"}`,
    # `?skipCount=`, 10 by default), DateTimes of `Clock.Kind` Unspecified (no zone), and every
    # answer in ABP's default wrapper (`{"result": ..., "success": true, "__abp": true}`, its
    # errors as `"success": false, "error": {...}`).
    "abp": {
        "envelope": "abp",
        "page_size": 10,
        "timestamps": "naive",
        "error_bodies": "problem",
        "abp_wrapper": True,
        "dob_midnight": "server_naive",  # a kind-Local `dob` read back by EF Core without its zone
    },
    # A .NET Framework team's: Web API 2's Json.NET writing C# properties as declared
    # (`PatientID`, `DOB`, `Summary.EncounterID`, `CCD`), dates as Microsoft JSON dates
    # (`/Date(1513264139934)/`: MVC's `JavaScriptSerializer` and WCF write no other), a `dob`
    # not known as `DateTime.MinValue`, when a note was locked for `encounterLocked`, the CCD a
    # `byte[]` (which Json.NET writes as base64), and far `end` dates refused.
    "refusing-dotnet": {
        "search_accents": "sensitive",
        "far_future_visit": True,
        "latest_end": REFUSED_AFTER,
        "timestamps": "microsoft",
        "envelope": "data",
        "error_bodies": "text",
        "refused_token_status": 403,
        "unknown_dates": "min_value",
        "chart_numbers": "some_missing",
        "categories": "map",
        "key_case": "pascal",
        "locked_values": "stamps",
        "ccd_encoding": "base64",
        "ccd_charset": "windows-1252",  # `Encoding.Default` on a US Windows server, as its <meta> says
    },
}


@dataclass
class Variant:
    fhir: FhirHttp
    clinic: Clinic
    simulator: Starlette
    switches: dict[str, Any]

    def chart_number(self, p: Patient) -> str | None:
        """The patient's chart number as this variant serves it (None: it has none)."""
        return Shapes(chart_numbers=self.switches.get("chart_numbers", "all")).chart_number(p.id, p.chart_number)

    def patient_id(self, p: Patient) -> str:
        """`<patientId>.<chart>`; with no chart number, `<patientId>.x.<initial of the last name>`."""
        chart = self.chart_number(p)
        if chart is None:
            return f"{p.id}.x.{encode_part(unicodedata.normalize('NFC', p.last_name)[0])}"
        return f"{p.id}.{chart}"


def _clinic_with_renee_nunez() -> Clinic:
    """The synthetic clinic, one of its Renées renamed Renée Núñez (stored as the variant stores names)."""
    clinic = build_clinic()
    renee = next(p for p in live_patients(clinic) if p.first_name == "Renée")
    patients = tuple(replace(p, last_name="Núñez") if p.id == renee.id else p for p in clinic.patients)
    return replace(clinic, patients=patients)


@pytest.fixture(scope="module", params=sorted(SWITCHES))
def variant(request: pytest.FixtureRequest) -> Iterator[Variant]:
    clinic = _clinic_with_renee_nunez()
    switches = SWITCHES[request.param]
    with gateway_over("nextech", partial(create_sandbox, clinic, **switches), tenant=TENANT) as running:
        yield Variant(running.fhir, clinic, running.sandbox.app, switches)


def _charted(p: Patient) -> list[datetime]:
    return [e.start for e in p.encounters if e.status in ("finished", "arrived")]


def _locks(p: Patient) -> Counter[tuple[datetime, bool]]:
    return Counter((e.start, e.locked) for e in p.encounters if e.status in ("finished", "arrived"))


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()


def _matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _outcome_texts(bundle: dict[str, Any]) -> list[str]:
    return [
        issue.get("diagnostics", "")
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == "outcome"
        for issue in entry["resource"]["issue"]
    ]


def _far_patient(v: Variant) -> tuple[str, int]:
    far = v.simulator.state.far_visit
    if far is None:
        pytest.skip("no far-future visit in this variant")
    return v.patient_id(v.clinic.patient(far[0])), far[1]


def _far_ids(resources: list[dict[str, Any]], encounter: int) -> list[str]:
    day = FAR_FUTURE_VISIT.strftime("%Y%m%d")
    return [r["id"] for r in resources if f".{encounter}.{day}" in r["id"]]


def _nextech_documents(fhir: FhirHttp, patient_id: str, **params: Any) -> list[dict[str, Any]]:
    """The patient's DocumentReferences from Nextech's CCDs (not the gateway's generated ones)."""
    found = fhir.search_all(f"{BASE}/DocumentReference", patient=patient_id, **params)
    return [d for d in found if d["id"].endswith(".ccd")]


# -- the clinic walk ------------------------------------------------------------------------------


def test_every_patient_is_found_by_family_name_with_and_without_accents(variant: Variant) -> None:
    """Hundreds of searches: the R4 checks of these bundles are off (reads below check patients)."""
    live = live_patients(variant.clinic)
    checks, variant.fhir.checks = variant.fhir.checks, False
    try:
        answers: dict[str, Counter[str]] = {}
        for patient in live:
            for family in {patient.last_name, _unaccented(patient.last_name)}:
                if family not in answers:
                    found = variant.fhir.search_all(f"{BASE}/Patient", family=family, _count=100)
                    answers[family] = Counter(r["id"] for r in found)
                    expected = Counter(
                        variant.patient_id(p) for p in live if fold(p.last_name).startswith(fold(family))
                    )
                    assert answers[family] == expected, family
                assert variant.patient_id(patient) in answers[family], (family, patient.id)
    finally:
        variant.fhir.checks = checks


def test_renee_nunez_is_found_however_her_name_is_stored(variant: Variant) -> None:
    [nunez] = [p for p in live_patients(variant.clinic) if p.last_name == "Núñez"]
    renees = {variant.patient_id(p) for p in live_patients(variant.clinic) if fold(p.first_name).startswith("renee")}
    assert {r["id"] for r in variant.fhir.search_all(f"{BASE}/Patient", family="NUÑEZ")} == {variant.patient_id(nunez)}
    by_given = {r["id"] for r in variant.fhir.search_all(f"{BASE}/Patient", given="Renée", _count=100)}
    assert renees <= by_given and variant.patient_id(nunez) in by_given
    for exact in ("Núñez", unicodedata.normalize("NFD", "Núñez")):
        found = variant.fhir.search_all(f"{BASE}/Patient", **{"family:exact": exact})
        assert [r["id"] for r in found] == [variant.patient_id(nunez)]
        assert found[0]["name"][0]["family"] == unicodedata.normalize("NFC", "Núñez")  # served NFC


def test_every_patient_reads_back_with_its_chart_encounters_and_ccds(variant: Variant) -> None:
    """Every patient's content is compared with the clinic; the R4 checks (tens of milliseconds a
    resource) run on every eighth patient's resources, which have the shapes all the others have."""
    fhir = variant.fhir
    checks = fhir.checks
    try:
        for index, truth in enumerate(live_patients(variant.clinic)):
            fhir.checks = checks and index % 8 == 0
            _walk_patient(variant, truth)
    finally:
        fhir.checks = checks
    assert not fhir.checks or fhir.checked


def _walk_patient(variant: Variant, truth: Patient) -> None:
    fhir = variant.fhir
    patient = fhir.get_ok(f"{BASE}/Patient/{variant.patient_id(truth)}")
    assert patient["name"][0]["family"] == unicodedata.normalize("NFC", truth.last_name)
    assert patient.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
    assert {i["value"] for i in patient["identifier"]} == {str(truth.id), variant.chart_number(truth)} - {None}
    charted = _charted(truth)
    encounters = fhir.search_all(f"{BASE}/Encounter", patient=variant.patient_id(truth), date=BEFORE_FAR_VISIT)
    starts = Counter(datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")) for e in encounters)
    assert starts == Counter(charted), truth.id
    locks = Counter(
        (datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")), e["status"] == "finished")
        for e in encounters
    )
    assert locks == _locks(truth), truth.id
    documents = _nextech_documents(fhir, variant.patient_id(truth), date=BEFORE_FAR_VISIT)
    assert {d["context"]["encounter"][0]["reference"] for d in documents} == {
        f"Encounter/{e['id']}" for e in encounters
    }


def test_a_birth_date_search_finds_the_patient_on_the_day_it_shows(variant: Variant) -> None:
    """`birthdate=eq` (what a matching engine keys on) finds each patient on the day its
    birthDate shows, the clinic's, however Nextech writes its `dob` (a date-time of another
    zone's midnight among them: it was the day before)."""
    born = [p for p in live_patients(variant.clinic) if p.birth_date][:6]
    for truth in born:
        assert truth.birth_date is not None
        day = truth.birth_date.isoformat()
        found = variant.fhir.search_all(f"{BASE}/Patient", family=truth.last_name, birthdate=f"eq{day}")
        assert variant.patient_id(truth) in [r["id"] for r in found], (truth.id, day)
        assert {r.get("birthDate") for r in found} == {day}


def test_every_document_and_attachment_is_a_served_fhir_id(variant: Variant) -> None:
    fhir = variant.fhir
    sections, urls = set(), set()
    for patient in [p for p in live_patients(variant.clinic) if _charted(p)][:3]:
        documents = _nextech_documents(fhir, variant.patient_id(patient))
        assert documents
        for document in documents:
            assert FHIR_ID.fullmatch(document["id"]), document["id"]
            assert fhir.get_ok(f"{BASE}/DocumentReference/{document['id']}")["id"] == document["id"]
            for content in document["content"]:
                url = content["attachment"]["url"]
                kind, _, binary_id = url.partition("/")
                assert kind == "Binary" and FHIR_ID.fullmatch(binary_id), url
                assert fhir.get_ok(f"{BASE}/{url}", headers=JSON)["id"] == binary_id
                assert fhir.get(f"{BASE}/{url}").status_code == 200  # the HTML itself
                sections.add(content["attachment"]["title"])
                urls.add(url)
    listed = SPACED_SECTIONS if "section_names" in variant.switches else CCD_SECTIONS
    if variant.switches.get("categories") == "titles":
        listed = tuple(SECTION_TITLES[name] for name in listed)
    assert {f"CCD section: {s}" for s in listed} <= sections  # however categories lists them
    if "section_names" in variant.switches:
        assert any(url.endswith(".ccd.xSocial-20History") for url in urls)  # escaped, not a raw space
    assert not fhir.checks or fhir.checked


def test_a_section_binary_holds_that_section(variant: Variant) -> None:
    patient = next(p for p in live_patients(variant.clinic) if _charted(p))
    document = _nextech_documents(variant.fhir, variant.patient_id(patient))[0]
    whole = variant.fhir.get(f"{BASE}/{document['content'][0]['attachment']['url']}").text
    assert "<h1>Continuity of Care Document</h1>" in whole and patient.chart_number in whole  # the document
    assert f"<th>Chart Number</th><td>{patient.chart_number}</td>" in whole  # markup, not its escaped text
    assert "&lt;" not in whole and '\\"' not in whole, whole[:300]
    for content in document["content"][1:]:
        name = content["attachment"]["title"].removeprefix("CCD section: ")
        html = variant.fhir.get(f"{BASE}/{content['attachment']['url']}").text
        titles = re.findall(r"<h2>([^<]*)</h2>|<caption>([^<]*)</caption>", html)
        titled = [heading or caption for heading, caption in titles if not caption.startswith("Taken ")]
        named = {name, SECTION_TITLES.get(name, name)}
        assert f'data-section="{name}"' in html or {re.sub(r" \(\d+\)$", "", t) for t in titled} & named, name
        assert "&lt;" not in html and "<table" in html, html[:300]
        assert len(titled) == 1, (name, titled)  # that section alone


# -- horizons ---------------------------------------------------------------------------------------


def test_an_explicit_far_date_finds_the_far_visit(variant: Variant) -> None:
    patient_id, encounter = _far_patient(variant)
    found = variant.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=["ge2031-01-01", "le2031-12-31"])
    [far_id] = _far_ids(found, encounter)
    assert variant.fhir.get_ok(f"{BASE}/Encounter/{far_id}")["status"] == "planned"
    documents = _nextech_documents(variant.fhir, patient_id, date="ge2031-01-01")
    assert _far_ids(documents, encounter)
    found = variant.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date="ge2031-01-01")
    assert _far_ids(found, encounter)


def test_an_open_ended_search_finds_it_where_the_calendar_ends_past_bookable_dates(variant: Variant) -> None:
    # `refusing-dotnet` refuses an `end` after 2100: nothing a practice could book lies past
    # it, so the search is complete (taken as a gap, every patient's CCD was a 502).
    patient_id, encounter = _far_patient(variant)
    bundle = variant.fhir.get_ok(f"{BASE}/Encounter", params={"patient": patient_id, "_count": "1000"})
    assert _far_ids(_matches(bundle), encounter)
    assert HORIZON_WARNING not in _outcome_texts(bundle)
    document = variant.fhir.request("GET", f"{BASE}/Binary/ccd-p.{patient_id}", headers=XML)
    assert document.status_code == 200, document.text[:300]
    assert FAR_FUTURE_VISIT.strftime("%Y%m%d") in document.text


@contextmanager
def _far_visit(**switches: Any) -> Iterator[tuple[VariantGateway, Patient, str, str]]:
    """The gateway over a Nextech with a visit years ahead (`far_future_visit`) and `switches`:
    the gateway, the visit's patient, that patient's FHIR id, and the visit's Nextech id."""
    clinic = build_clinic()
    with gateway_over(
        "nextech", partial(create_sandbox, clinic, far_future_visit=True, **switches), tenant=TENANT
    ) as running:
        patient_number, visit = running.sandbox.app.state.far_visit
        patient = clinic.patient(patient_number)
        yield running, patient, f"{patient.id}.{patient.chart_number}", visit


def test_a_calendar_ending_where_visits_may_be_booked_is_said_and_makes_no_ccd() -> None:
    # Refusing an `end` 20 years ahead may hide booked visits: the searchset says it may be
    # incomplete, and a patient document, which cannot say so, is a 502 rather than a lie.
    near = datetime(datetime.now(UTC).year + 20, 1, 1, tzinfo=UTC)
    with _far_visit(latest_end=near) as (running, _, patient_id, far_visit):
        bundle = running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": patient_id, "_count": "1000"})
        assert _matches(bundle) and not _far_ids(_matches(bundle), far_visit)
        assert HORIZON_WARNING in _outcome_texts(bundle) and "total" not in bundle
        document = running.fhir.request("GET", f"{BASE}/Binary/ccd-p.{patient_id}", headers=XML)
        assert document.status_code == 502 and "three years ahead" in document.text, document.text[:300]


def test_a_capped_answer_whose_count_is_nested_says_matches_may_be_missing() -> None:
    """An envelope may say how many matched only inside a nested object (JSON:API's `meta`)."""
    clinic = build_clinic()
    smiths = [p for p in live_patients(clinic) if p.last_name.startswith("Smith")]
    assert len(smiths) > 3
    create = partial(create_sandbox, clinic, envelope="meta", search_limit=3)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smith"})
    assert any("may have been cut" in text for text in _outcome_texts(bundle))


def test_a_minimum_term_length_still_finds_patients_by_name() -> None:
    """A Nextech that refuses terms under three characters: the one-letter terms are refused, so
    the names are searched as written (and unaccented); before, every name search was a 400."""
    clinic = build_clinic()
    live = live_patients(clinic)
    create = partial(create_sandbox, clinic, search_min_length=3)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for family in ("Smith", "SMITH", "smi"):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            expected = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith(fold(family))}
            assert expected and {r["id"] for r in _matches(bundle)} == expected, family
            assert any("searched as written" in text for text in _outcome_texts(bundle))
        answer = running.fhir.get(f"{BASE}/Patient", params={"family": "Sm"})
        assert answer.status_code == 400 and "send more of the name" in answer.text


def test_an_encounter_without_a_ccd_has_no_document() -> None:
    """A Nextech serving `"ccd": null` until a note is locked: before, each such encounter was
    listed with a DocumentReference whose Binary was a blank page, passing for its CCD."""
    clinic = build_clinic()
    truth = next(
        p for p in live_patients(clinic) if {e.locked for e in p.encounters if e.status == "finished"} == {True, False}
    )
    create = partial(create_sandbox, clinic, unlocked_ccd="null")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        patient_id = f"{truth.id}.{truth.chart_number}"
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
        locked = {f"Encounter/{e['id']}" for e in encounters if e["status"] == "finished"}
        documents = _nextech_documents(running.fhir, patient_id)
        assert locked and {d["context"]["encounter"][0]["reference"] for d in documents} == locked
        for encounter in encounters:
            binary = f"{BASE}/Binary/{encounter['id']}.ccd"
            if f"Encounter/{encounter['id']}" in locked:
                assert "<h2>" in running.fhir.get(binary).text
            else:
                answer = running.fhir.get(binary)
                assert answer.status_code == 404 and "OperationOutcome" in answer.text
                assert running.fhir.get(f"{BASE}/DocumentReference/{encounter['id']}.ccd").status_code == 404


@pytest.mark.parametrize("timestamps", ["jackson_arrays", "gson", "ruby", "epoch_millis", "epoch_seconds"])
def test_dates_as_libraries_write_them_by_default_and_epochs_are_read(timestamps: str) -> None:
    """Jackson's JavaTimeModule arrays (`[1985, 3, 15]`, a plain ObjectMapper's and Dropwizard's
    default), Gson's default (`Mar 15, 1985, 12:00:00 AM`), Ruby's `Time#to_s` (`2017-12-14
    15:08:59 UTC`) and epoch numbers, for `dob`, `encounterDate` and the lock time: before,
    each such patient and encounter was unreadable."""
    clinic = build_clinic()
    charted = [p for p in live_patients(clinic) if _charted(p)][:8]
    create = partial(create_sandbox, clinic, timestamps=timestamps, locked_values="stamps")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for truth in charted:
            patient_id = f"{truth.id}.{truth.chart_number}"
            patient = running.fhir.get_ok(f"{BASE}/Patient/{patient_id}")
            assert patient.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
            found = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
            locks = Counter(
                (datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")), e["status"] == "finished")
                for e in found
            )
            assert locks == _locks(truth), truth.id


def test_an_encounter_locked_said_as_the_notes_state_is_read() -> None:
    """`encounterLocked` (typed "string") as the chart note's state, `Locked` or `Open`: before,
    `Open` was no boolean the gateway knew, so every encounter whose note was still open was
    unreadable: left out of the patient's encounters (a warning in the Bundle) and a 502 on read."""
    clinic = build_clinic()
    charted = [p for p in live_patients(clinic) if any(not locked for _, locked in _locks(p))][:4]
    create = partial(create_sandbox, clinic, locked_values="states")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for truth in charted:
            patient_id = f"{truth.id}.{truth.chart_number}"
            found = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
            locks = Counter(
                (datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")), e["status"] == "finished")
                for e in found
            )
            assert locks == _locks(truth), truth.id
            for encounter in found:
                assert running.fhir.get_ok(f"{BASE}/Encounter/{encounter['id']}")["status"] == encounter["status"]


def test_an_encounter_dated_by_its_day_alone_is_that_day_not_midnight_utc() -> None:
    """`encounterDate` as a `date` column gives it ("Date when this encounter occurred"): before,
    it was served as midnight UTC, the evening before in the clinic's zone."""
    clinic = build_clinic()
    zone = ZoneInfo(clinic.timezone)
    charted = [p for p in live_patients(clinic) if _charted(p)][:6]
    create = partial(create_sandbox, clinic, encounter_dates="day")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for truth in charted:
            patient_id = f"{truth.id}.{truth.chart_number}"
            found = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
            days = Counter(start.astimezone(zone).date().isoformat() for start in _charted(truth))
            assert Counter(e["period"]["start"] for e in found) == days, truth.id
            for encounter in found:
                assert running.fhir.get_ok(f"{BASE}/Encounter/{encounter['id']}")["period"] == encounter["period"]
            for document in _nextech_documents(running.fhir, patient_id):
                assert "date" not in document and document["context"]["period"]["start"] in days


@pytest.mark.parametrize("ccd_escaping", ["entities", "template", "json"])
def test_a_ccd_escaped_on_its_way_out_is_served_as_its_markup(ccd_escaping: str) -> None:
    """A CCD entity-escaped whole (an output encoder), its blocks escaped inside the page (an
    auto-escaping template) or JSON-encoded once more: before, each Binary showed the reader its
    tags as text (`&lt;table&gt;`, `\\"`), the document and each section alike."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, ccd_escaping=ccd_escaping, hostile_html=True)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        for content in document["content"]:
            html = running.fhir.get(f"{BASE}/{content['attachment']['url']}").text
            assert "<table" in html and "&lt;" not in html and '\\"' not in html and "\\n" not in html, html[:300]
            assert "<script" not in html and "onerror" not in html  # what it unescapes is sanitized still
            if content["attachment"]["title"] == "CCD":
                assert f"<th>Chart Number</th><td>{patient.chart_number}</td>" in html


@pytest.mark.parametrize("ccd_charset", ["windows-1252", "utf-16le"])
def test_a_ccd_as_bytes_in_another_charset_is_served_as_its_html(ccd_charset: str) -> None:
    """The CCD a `byte[]` (base64) in Windows-1252, as its `<meta charset>` declares (a .NET
    Framework team's `Encoding.Default`, Java's `getBytes()` under Cp1252), or in UTF-16LE with
    no byte order mark (.NET's `Encoding.Unicode.GetBytes`): before, each Binary, the
    document and every section, was a page of base64 letters."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p) and not (p.first_name + p.last_name).isascii())
    name = unicodedata.normalize(
        "NFC", " ".join(filter(None, (patient.first_name, patient.middle_name, patient.last_name)))
    )
    create = partial(create_sandbox, clinic, ccd_encoding="base64", ccd_charset=ccd_charset)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        whole, *sections = document["content"]
        html = running.fhir.get(f"{BASE}/{whole['attachment']['url']}").text
        assert "<h1>Continuity of Care Document</h1>" in html and "\x00" not in html, html[:200]
        assert f"<th>Patient</th><td>{name}</td>" in html, html[:600]
        for content in sections:
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200 and "<table" in answer.text and "\x00" not in answer.text


@pytest.mark.parametrize("section_names", ["compact", "spaced"])
def test_a_nextech_answering_the_whole_ccd_for_a_section_is_served_that_section_alone(section_names: str) -> None:
    """A Nextech that never reads `section` ("Section of data to include in the CCD property")
    answers every encounter's whole CCD: before, each section's Binary was the whole document."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, section_param="ignored", section_names=section_names)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        whole, *sections = document["content"]
        assert running.fhir.get(f"{BASE}/{whole['attachment']['url']}").text.count("<h2>") > 1
        for content in sections:
            name = content["attachment"]["title"].removeprefix("CCD section: ")
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200, (name, answer.text[:200])
            assert re.findall(r'data-section="([^"]*)"', answer.text) == [name], name
            assert f"<th>Chart Number</th><td>{patient.chart_number}</td>" in answer.text  # the header kept


@pytest.mark.parametrize("ccd_layout", ["captions", "title_rows"])
def test_sections_titled_by_captions_or_title_rows_are_each_served_alone(ccd_layout: str) -> None:
    """A Nextech that never reads `section`, whose CCD titles its sections by a table's
    `<caption>` (a template looping over them) or by a title row, one `<th colspan>` across the
    one table (a report writer's export), and no heading: before, each section's Binary was the
    whole document, every other section in it."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, section_param="ignored", ccd_layout=ccd_layout)
    title = r"<caption>([^<]*)</caption>" if ccd_layout == "captions" else r'<th colspan="\d+">([^<]*)</th>'
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        whole, *sections = document["content"]
        assert len(re.findall(title, running.fhir.get(f"{BASE}/{whole['attachment']['url']}").text)) > 1
        for content in sections:
            name = content["attachment"]["title"].removeprefix("CCD section: ")
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200, (name, answer.text[:200])
            assert re.findall(title, answer.text) == [SECTION_TITLES[name]], name
            assert "<td" in answer.text.split(SECTION_TITLES[name], 1)[1], name  # its rows kept
            assert f"<th>Chart Number</th><td>{patient.chart_number}</td>" in answer.text  # the header kept


@pytest.mark.parametrize("ccd_layout", ["divs", "captions"])
def test_sections_titled_with_their_counts_are_each_served_alone(ccd_layout: str) -> None:
    """A Nextech that never reads `section`, heading each section with its name and how many
    rows it lists (`Medications (2)`, as a chart summary heads its lists): before, no title
    was one of the sections' names, and each section's Binary was the whole document."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, section_param="ignored", ccd_layout=ccd_layout, ccd_titles="counted")
    title = r"<h2>([^<]*)</h2>" if ccd_layout == "divs" else r"<caption>([^<]*)</caption>"
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        for content in document["content"][1:]:
            name = content["attachment"]["title"].removeprefix("CCD section: ")
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200, (name, answer.text[:300])
            [titled] = re.findall(title, answer.text)
            assert re.fullmatch(rf"{SECTION_TITLES[name]} \(\d+\)", titled), (name, titled)
            assert f"<th>Chart Number</th><td>{patient.chart_number}</td>" in answer.text  # the header kept


@pytest.mark.parametrize("unknown_sections", ["refused", "not_found"])
def test_sections_listed_by_their_titles_are_asked_by_the_names_nextech_binds(unknown_sections: str) -> None:
    """Categories listing the sections' titles (`Vital Signs`, `Plan of Care`: an enum's
    `[Display(Name)]` listed for a picker) while `section` binds the enum by its members' names
    (`VitalSigns`, `PlanOfCare`): before, each such section's attachment, a link the gateway
    itself gave, was the vendor's refusal passed on to the client."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, categories="titles", unknown_sections=unknown_sections)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        titles = [c["attachment"]["title"].removeprefix("CCD section: ") for c in document["content"][1:]]
        assert titles == [SECTION_TITLES[name] for name in CCD_SECTIONS]  # as Nextech lists them
        for title, content in zip(titles, document["content"][1:], strict=True):
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200, (title, answer.text[:300])
            assert re.findall(r'data-section="([^"]*)"', answer.text) == [title.replace(" ", "").replace("of", "Of")]


@pytest.mark.parametrize("unknown_sections", ["refused", "not_found"])
def test_a_section_named_twice_is_asked_by_the_name_nextech_takes(unknown_sections: str) -> None:
    """Categories as rows with a `name` ("Vital Signs") and a `code` ("VitalSigns"), `section`
    taking the code: before, every section attachment whose name differed from its code was a
    400 for the link the gateway itself gave; and where a name not known is a 404 (Rails'
    `find_by!`, Django's `get_object_or_404`), a 404, the attachment its DocumentReference
    lists not found."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, categories="named", unknown_sections=unknown_sections)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        titles = [c["attachment"]["title"] for c in document["content"][1:]]
        assert "CCD section: Vital Signs" in titles  # the row's name, as the client sees it
        for content in document["content"][1:]:
            name = content["attachment"]["title"].removeprefix("CCD section: ")
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200, (name, answer.text[:200])
            assert f"<h2>{name}" in answer.text or f'data-section="{name.replace(" ", "")}"' in answer.text, name


@pytest.mark.parametrize(
    "envelope",
    [
        "header_pages",
        "numbered",
        "aspnet_pages",
        "aspnet_header_pages",
        "spring",
        "spring_dto",
        "spring_hal",
        "offset",
        "skip_take",
        "abp",
    ],
)
def test_pages_numbered_but_not_linked_are_all_read(envelope: str) -> None:
    """flask-smorest's pagination: a bare array of `page_size` items, the pages described only in
    an `X-Pagination` header. Before, the gateway read the first page alone as the whole answer:
    patients and encounters past it were silently missing, and `total` counted one page.
    Flask-SQLAlchemy's `paginate()` numbers the next page (`next_num`) but links none: before,
    every list past its first page was cut, and CCDs of the encounters past it were 502s.
    An ASP.NET team's `PaginatedList` (`pageNumber`, `hasNextPage`) and its PascalCase
    `X-Pagination` header (`CurrentPage`, `HasNext`) take `?pageNumber=`: before, the first page
    was all that was read, said to be cut for the one and silently for the other.
    A Spring team's `Page<T>` numbers its pages from 0 (`?page=1` is the second): before, the
    first page alone was read, said to be cut (`PageImpl`), silently (Spring Boot 3.3's `VIA_DTO`,
    its count nested in `page`), or not at all (Spring HATEOAS's `_embedded`: every search a 502).
    Pages counted by offset, the envelope echoing `offset`/`limit` (fastapi-pagination's
    `LimitOffsetPage`) or `skip`/`take` (nested in `meta`) and linking no next page: before, the
    first page alone was read and the searchset said matches may be missing.
    ASP.NET Boilerplate's `PagedResultDto` (`{"totalCount", "items"}`, asked with `?skipCount=`)
    says only how many there are: before, its first page alone was read, said to be cut, and a
    patient's encounters past it were missing (its CCDs 502s)."""
    clinic = build_clinic()
    live = live_patients(clinic)
    smiths = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith("smith")}
    busy = max(live, key=lambda p: len(_charted(p)))
    assert len(smiths) > 3 and len(_charted(busy)) > 3
    create = partial(create_sandbox, clinic, envelope=envelope, page_size=3)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smith", "_count": "100"})
        assert {r["id"] for r in _matches(bundle)} == smiths
        assert not _outcome_texts(bundle)
        patient_id = f"{busy.id}.{busy.chart_number}"
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
        starts = Counter(datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")) for e in encounters)
        assert starts == Counter(_charted(busy))
        assert running.fhir.get_ok(f"{BASE}/Patient/{patient_id}")["id"] == patient_id


@pytest.mark.parametrize(
    ("envelope", "page_size"), [("odata", 3), ("odata", 10), ("odata_bare", 10), ("odata_bare", 20)]
)
def test_odata_pages_are_all_read(envelope: str, page_size: int) -> None:
    """An ASP.NET OData team's `[EnableQuery(PageSize = N)]`, the next page asked with `$skip`: on
    an OData route (`{"@odata.context", "value", "@odata.nextLink"}`, the link followed) or on a
    plain controller (a bare array of N that says nothing of the others, `$skip` its only way on).
    Before, on a plain controller the first page was taken for a cap: the patients under a first
    letter past it were missing (`J`: all but ten), the searchset saying matches may be missing."""
    clinic = build_clinic()
    live = live_patients(clinic)
    busy = max(live, key=lambda p: len(_charted(p)))
    create = partial(create_sandbox, clinic, envelope=envelope, page_size=page_size)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for family in ("Smith", "J", "Johnson", "Garcia", "Hill"):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            expected = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith(fold(family))}
            assert expected and {r["id"] for r in _matches(bundle)} == expected, family
            assert not _outcome_texts(bundle), family
        patient_id = f"{busy.id}.{busy.chart_number}"
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
        starts = Counter(datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")) for e in encounters)
        assert starts == Counter(_charted(busy))


@pytest.mark.parametrize(("envelope", "page_size"), [("bare_pages", 25), ("bare_pages_zero", 20)])
def test_pages_of_a_bare_array_that_says_nothing_of_them_are_all_read(envelope: str, page_size: int) -> None:
    """One page as a bare array, the page asked with `?page=N` and nothing said of the others:
    Rails' `render json: patients.page(params[:page])` (Kaminari, 25 a page, from 1) or a Spring
    controller answering `Page.getContent()` (20 a page, from 0). Before, the first page passed
    for the whole answer: patients past it were silently missing (Clark, Hill, Jones...)."""
    clinic = build_clinic()
    live = live_patients(clinic)
    create = partial(create_sandbox, clinic, envelope=envelope, page_size=page_size)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for family in ("Smith", "Jones", "Clark", "Hill"):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            expected = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith(fold(family))}
            assert expected and {r["id"] for r in _matches(bundle)} == expected, family
            assert not _outcome_texts(bundle), family


@pytest.mark.parametrize(
    ("envelope", "page_size"),
    [("bare_pages", 10), ("bare_pages", 15), ("bare_pages_zero", 10), ("bare_offset", 15), ("bare_skip_take", 10)],
)
def test_bare_pages_of_ten_or_fifteen_are_followed_not_said_to_be_cut(envelope: str, page_size: int) -> None:
    """One page of 10 or 15 as a bare array that says nothing of the others: Flask-SQLAlchemy's
    `paginate(per_page=10).items`, Laravel's `forPage($page, 15)`, a Spring `getContent()` with a
    page size of 10, SQLAlchemy's `.offset()`, Prisma's `skip`/`take: 10`. Before, such an answer
    was taken for a cap, never followed: the name as written was searched instead, and where that
    too answered a page's worth (`J`, `S`, `Johnson` at 10 a page) the searchset said matches may
    be missing, listing one page of them."""
    clinic = build_clinic()
    live = live_patients(clinic)
    create = partial(create_sandbox, clinic, envelope=envelope, page_size=page_size)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for family in ("J", "S", "Johnson", "Garcia", "Hill"):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            expected = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith(fold(family))}
            assert expected and {r["id"] for r in _matches(bundle)} == expected, family
            assert not _outcome_texts(bundle), family


def test_a_bare_answer_capped_at_a_page_size_still_finds_every_name() -> None:
    """A Nextech answering at most 20 patients, in a bare array that does not say so, and no
    `page` to ask for more (a query capped as Spring's default page size caps it). Before, every
    first letter with more patients under it silently lost some (20 of the clinic's families):
    the letter's answer is now taken as possibly capped, and the name as written searched too,
    which the cap does not reach."""
    clinic = build_clinic()
    live = live_patients(clinic)
    with gateway_over("nextech", partial(create_sandbox, clinic, search_limit=20), tenant=TENANT) as running:
        for family in ("Smith", "Jones", "Clark", "Hill"):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            expected = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith(fold(family))}
            assert expected and {r["id"] for r in _matches(bundle)} == expected, family
            assert not _outcome_texts(bundle), family  # as often all there is: not said to be cut


def test_an_uncapped_nextech_pays_no_extra_call_for_a_page_size_once_a_larger_answer_is_seen() -> None:
    """The documented Nextech (every match, no cap). Once an answer of more rows than a page size
    has been seen (the letter C finds every patient, by chart number), an answer of exactly 20
    (the letter T), 30 (H) or 100 (the chart prefix C001, which no chart number equals) cannot be
    a page or a cap. Before, only 10 and 15 were ruled out so: each such answer cost the `?page=`
    probes and the name as written for as long as the gateway ran, and an identifier search
    answered 100 by Nextech was an empty searchset said to be missing matches."""
    clinic = build_clinic()
    live = live_patients(clinic)
    with gateway_over("nextech", partial(create_sandbox, clinic), tenant=TENANT) as running:
        running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Clark"})
        for family in ("Thomas", "Hill"):
            before = vendor_calls(running.fhir, TENANT)
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            expected = {f"{p.id}.{p.chart_number}" for p in live if p.last_name.startswith(family)}
            assert expected and {r["id"] for r in _matches(bundle)} == expected, family
            assert not _outcome_texts(bundle), family
            # One call a name: the letter, its lower case and accented forms being known to find no more
            assert vendor_calls(running.fhir, TENANT) - before == 1, family
        before = vendor_calls(running.fhir, TENANT)
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"identifier": "C001"})
        assert not _matches(bundle) and not any("may have been cut" in text for text in _outcome_texts(bundle))
        assert vendor_calls(running.fhir, TENANT) - before == 1


def test_a_nextech_matching_whole_names_only_still_finds_them_and_says_what_it_cannot() -> None:
    """A Nextech whose `term` must equal a whole name or chart number (the docs' examples: "a
    patient with a specific name"): a first letter finds no one there. Before, every name
    search was an empty searchset that did not say it might be incomplete. The names as written
    are searched too, and once they find someone where the letters found no one, names are
    searched as written, the searchset saying that names merely starting with the value (FHIR's
    match) may be missing."""
    clinic = build_clinic()
    live = live_patients(clinic)
    create = partial(create_sandbox, clinic, search_match="exact")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for family in ("Smith", "JONES", "garcia"):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            named = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name) == fold(family)}
            assert named and {r["id"] for r in _matches(bundle)} == named, family
            assert any("whole names" in text for text in _outcome_texts(bundle)), family
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smi"})
        assert not _matches(bundle) and any("whole names" in text for text in _outcome_texts(bundle))


def test_chart_numbers_padded_by_a_char_column_are_found_and_read_without_the_blanks() -> None:
    """A chart number kept in a SQL Server `char(10)` column is served padded with blanks
    (`"C00042    "`). Before, the blanks went into the Patient's id (`42.xC00042-20-20-20-20`)
    and identifier, so no search by the chart number as the clinic writes it found the patient."""
    clinic = build_clinic()
    patient = live_patients(clinic)[0]
    patient_id = f"{patient.id}.{patient.chart_number}"
    create = partial(create_sandbox, clinic, chart_numbers="padded")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"identifier": patient.chart_number})
        assert [r["id"] for r in _matches(bundle)] == [patient_id]
        read = running.fhir.get_ok(f"{BASE}/Patient/{patient_id}")
        assert patient.chart_number in {i["value"] for i in read["identifier"]}


@pytest.mark.parametrize("none_found", ["empty", "not_found"])
def test_a_base_url_the_api_is_not_at_is_a_502_not_an_empty_clinic(none_found: str) -> None:
    """A `base_url` with a path segment too many or too few (`/api` for `/api/v1`): Nextech
    answers 404 for every path (ASP.NET Core: an empty 404 for a route it does not have).
    Before, a 404 of `/search` was read as a search that found no one: every search was an
    empty searchset and every patient a 404, as if the clinic had no patients."""
    clinic = build_clinic()
    patient = live_patients(clinic)[0]
    patient_id = f"{patient.id}.{patient.chart_number}"

    def create() -> Sandbox:
        return replace(create_sandbox(clinic, search_none_found=none_found), base_path="/api/v2")

    with gateway_over("nextech", create, tenant=TENANT) as running:
        for path, params in (
            ("Patient", {"family": "Smith"}),
            ("Patient", {"identifier": patient.chart_number}),
            (f"Patient/{patient_id}", {}),
            ("Encounter", {"patient": patient_id}),
        ):
            response = running.fhir.get(f"{BASE}/{path}", params=params)
            assert response.status_code == 502, (path, response.text)
            assert "base_url" in outcome_of(response)["issue"][0]["diagnostics"]


def test_sections_listed_as_numbers_are_each_served() -> None:
    """`/encounters/categories` as a C# enum's values (`[0, 1, ...]`: no JsonStringEnumConverter),
    which `section` takes. Before, no section was read from such a list: an encounter's document
    offered the whole CCD only, never one section."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, categories="numbers")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        served = []
        for content in document["content"][1:]:
            html = running.fhir.get(f"{BASE}/{content['attachment']['url']}").text
            served += [name for name in CCD_SECTIONS if f'data-section="{name}"' in html]
        assert sorted(served) == sorted(CCD_SECTIONS)


def test_sections_listed_as_rows_of_a_category_table_are_each_served() -> None:
    """`/encounters/categories` as a `Category` entity's rows, its columns named after the table
    (`{"categoryId": 1, "categoryName": "VitalSigns"}`: a database-first team's scaffold of the
    route's own noun). Before, no section was read from such rows (none of the keys the gateway
    knew named it): an encounter's document offered the whole CCD only, never one section."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, categories="rows")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        titles = [c["attachment"]["title"].removeprefix("CCD section: ") for c in document["content"][1:]]
        assert titles == list(CCD_SECTIONS)
        for name, content in zip(titles, document["content"][1:], strict=True):
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200, (name, answer.text[:200])
            assert re.findall(r'data-section="([^"]*)"', answer.text) == [name], name


@pytest.mark.parametrize("key_case", ["camel", "snake"])
def test_records_as_json_api_resource_objects_are_read(key_case: str) -> None:
    """Every list's items as JSON:API resource objects (`{"type": "patients", "id": "42",
    "attributes": {"chartNumber": ...}}`: a Rails team's jsonapi-serializer, Laravel JSON:API),
    in JSON:API's `{"data": [...], "meta": {"total": n}}`. Before, no record was read from them
    (no `patientId` at the top, no `summary`): a search was a 502 naming the missing field, and
    no section was listed."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p) and p.birth_date)
    patient_id = f"{patient.id}.{patient.chart_number}"
    create = partial(create_sandbox, clinic, envelope="meta", jsonapi_resources=True, key_case=key_case)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        found = _matches(running.fhir.get_ok(f"{BASE}/Patient", params={"family": patient.last_name}))
        assert patient_id in {p["id"] for p in found}
        assert running.fhir.get_ok(f"{BASE}/Patient/{patient_id}")["birthDate"] == str(patient.birth_date)
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
        assert len(encounters) == len(_charted(patient))
        document = _nextech_documents(running.fhir, patient_id)[0]
        titles = [c["attachment"]["title"].removeprefix("CCD section: ") for c in document["content"][1:]]
        assert titles == list(CCD_SECTIONS)


def test_a_request_limit_the_operator_configures_is_kept_to() -> None:
    """A Nextech enforcing a request limit its docs do not publish, with ASP.NET Core's rate
    limiter defaults: an empty 503 past it. The side-by-side terms of one name search go past
    a few a second, and the breaker takes the 503s for an outage: every request for seconds
    after was a 503 "vendor failing". Before, a Nextech tenant had no `rate_per_second` to
    keep under such a limit; with it, every search is answered whole."""
    clinic = build_clinic()
    smiths = {f"{p.id}.{p.chart_number}" for p in live_patients(clinic) if fold(p.last_name).startswith("smith")}
    create = partial(create_sandbox, clinic, rate_per_second=6)
    with gateway_over("nextech", create, tenant=TENANT, options={"rate_per_second": 5}) as running:
        for _ in range(3):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smith", "_count": "100"})
            assert {r["id"] for r in _matches(bundle)} == smiths


def test_a_nextech_throttling_with_a_short_retry_after_is_waited_for() -> None:
    """A Nextech throttling as Django REST Framework's throttles do (Flask-Limiter and
    express-rate-limit alike): past its request rate, a 429 with `Retry-After: 1`. The side-by-side
    terms of one name search go past a few a second: before, the 429 went straight to the
    client, and every name search was refused although a second's wait would answer it. The
    wait is now taken (no operator limit configured) and the search answered whole."""
    clinic = build_clinic()
    smiths = {f"{p.id}.{p.chart_number}" for p in live_patients(clinic) if fold(p.last_name).startswith("smith")}
    create = partial(create_sandbox, clinic, rate_per_second=4, rate_limited_status=429)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for family in ("Smith", "SMITH"):
            answer = running.fhir.get(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            assert answer.status_code == 200, answer.text[:300]
            assert {r["id"] for r in _matches(answer.json())} == smiths
    # A wait longer than the tenant lets a request wait is the client's to take, told at once
    # (two a second: the six side-by-side terms meet a 429 even astride a second's end).
    slower = partial(create_sandbox, clinic, rate_per_second=2, rate_limited_status=429)
    with gateway_over("nextech", slower, tenant=TENANT, options={"max_queue_seconds": 0.5}) as running:
        answer = running.fhir.get(f"{BASE}/Patient", params={"family": "Smith", "_count": "100"})
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"


def test_a_nextech_throttling_without_saying_how_long_is_waited_for_a_moment() -> None:
    """A Nextech throttling as rack-attack's default responder does (Rails; Flask-Limiter's
    default and ASP.NET Core's limiter set to 429 alike): a 429 with no `Retry-After`. Before,
    it went straight to the client, told to come back in a second, when the same side-by-side
    terms would meet it again: every name search was refused, however often asked. Short
    waits (1 s, then 2 s, within the tenant's `max_queue_seconds`) are now taken."""
    clinic = build_clinic()
    smiths = {f"{p.id}.{p.chart_number}" for p in live_patients(clinic) if fold(p.last_name).startswith("smith")}
    create = partial(create_sandbox, clinic, rate_per_second=4, rate_limited_status=429, rate_limited_retry_after=False)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for family in ("Smith", "SMITH"):
            answer = running.fhir.get(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            assert answer.status_code == 200, answer.text[:300]
            assert {r["id"] for r in _matches(answer.json())} == smiths


def test_a_token_endpoint_taking_http_basic_only_is_connected() -> None:
    """A Nextech whose token endpoint takes the client's secret in HTTP Basic only (Authlib's
    default `client_secret_basic`; RFC 6749 section 2.3.1 makes Basic the method every server
    must take): before, the secret went in the form alone, the code was refused as
    `invalid_client` and the tenant could not be connected at all."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, oauth_client_auth="basic")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        patient_id = f"{patient.id}.{patient.chart_number}"
        assert running.fhir.get_ok(f"{BASE}/Patient/{patient_id}")["id"] == patient_id
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
        assert len(encounters) == len(_charted(patient))


def test_an_authorization_server_requiring_pkce_is_connected() -> None:
    """A Nextech whose authorization server requires PKCE with S256 (OAuth 2.1; Duende
    IdentityServer's `RequirePkce`, django-oauth-toolkit's `PKCE_REQUIRED`, Keycloak's option):
    an authorize request without a `code_challenge` is refused, a code redeemed without its
    `code_verifier` too; the gateway's connect sends both (RFC 7636), and the tenant serves."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, oauth_pkce="required")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        patient_id = f"{patient.id}.{patient.chart_number}"
        assert running.fhir.get_ok(f"{BASE}/Patient/{patient_id}")["id"] == patient_id
        assert running.sandbox.app.state.token_calls.get("authorization_code") == 1


def test_a_nextech_searching_last_names_only_says_a_given_name_search_may_miss_patients() -> None:
    """A Nextech matching `term` against the last name (and chart number) alone, "the patient's
    name" read as the name a chart is filed under: a given name finds no one by itself. Before,
    `given=Renée` answered an empty searchset as if there were no Renée, saying nothing; a
    `family` search still finds every patient, and says nothing of it."""
    clinic = build_clinic()
    live = live_patients(clinic)
    renees = [p for p in live if p.first_name == "Renée"]
    create = partial(create_sandbox, clinic, search_fields="last")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for params in ({"given": "Renée"}, {"name": "Renée"}, {"given": "renee", "_count": "100"}):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params=params)
            assert any("searches last names" in text for text in _outcome_texts(bundle)), params
            assert {r["id"] for r in _matches(bundle)} < {f"{p.id}.{p.chart_number}" for p in renees}, params
        family = renees[0].last_name
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
        expected = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith(fold(family))}
        assert {r["id"] for r in _matches(bundle)} == expected
        assert not any("searches last names" in text for text in _outcome_texts(bundle))


def test_a_case_sensitive_search_finds_names_written_lower_case() -> None:
    """A Nextech whose `term` matches case-sensitively (PostgreSQL's `LIKE`, as SQLAlchemy's
    `.like()` sends it), holding surnames with lower-case particles: before, the upper-case
    initial alone was sent and `family=de la Cruz` silently found no one."""
    clinic = build_clinic()
    cruz, berg = live_patients(clinic)[:2]
    renamed = {cruz.id: "de la Cruz", berg.id: "van der Berg"}
    patients = tuple(replace(p, last_name=renamed[p.id]) if p.id in renamed else p for p in clinic.patients)
    clinic = replace(clinic, patients=patients)
    create = partial(create_sandbox, clinic, search_case="sensitive", search_match="substring")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for patient, family in ((cruz, "de la Cruz"), (cruz, "De La Cruz"), (berg, "van der"), (berg, "VAN")):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            assert f"{patient.id}.{patient.chart_number}" in {r["id"] for r in _matches(bundle)}, family
        smiths = {f"{p.id}.{p.chart_number}" for p in live_patients(clinic) if p.last_name.startswith("Smith")}
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": "smith", "_count": "100"})
        assert {r["id"] for r in _matches(bundle)} == smiths


@pytest.mark.parametrize("empty_sections", ["null", "omitted"])
def test_a_section_with_nothing_recorded_is_an_empty_section_not_a_404(empty_sections: str) -> None:
    """A Nextech answering `"ccd": null` for a section with nothing recorded (a template that
    renders nothing, dumped as null), or leaving the encounter out of a `section` search (its
    sections stored as rows and joined), the whole CCD being there: before, the section
    attachment the DocumentReference itself listed was a 404 "does not exist"."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, empty_sections=empty_sections)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        statuses = {}
        for content in document["content"][1:]:
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            statuses[content["attachment"]["title"]] = answer.status_code
        assert set(statuses.values()) == {200}, statuses
        encounter = document["context"]["encounter"][0]["reference"].removeprefix("Encounter/")
        assert running.fhir.get(f"{BASE}/Binary/{encounter}.ccd.Nothing").status_code == 404


def test_date_bounds_without_a_zone_reach_a_nextech_that_drops_zoned_ones() -> None:
    """A Nextech parsing `start`/`end` as zone-less date-times, dropping what it cannot parse as
    if absent (Flask's `type=` swallows the parser's error; `datetime.fromisoformat` before
    Python 3.11 takes no `Z`): before, the gateway's `...Z` bounds were dropped, `end` fell back
    to now, and a visit ahead was silently missing from an open-ended search."""
    with _far_visit(date_params="naive") as (running, _, patient_id, far_visit):
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id)
        assert _far_ids(encounters, far_visit)
        day = FAR_FUTURE_VISIT.date().isoformat()
        assert _far_ids(running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=day), far_visit)


def test_date_bounds_reach_a_nextech_that_takes_zoned_ones_only() -> None:
    """A Nextech reading `start`/`end` as RFC 3339 date-times (OpenAPI's `format: date-time`,
    as the docs' type column and their `...Z` examples have it), refusing one without a zone:
    the gateway's zone-less bounds were refused, so every encounter search and CCD was a 400
    blaming the client. The zoned form is asked instead and kept to, and no warning is added."""
    with _far_visit(date_params="zoned") as (running, patient, patient_id, far_visit):
        answer = running.fhir.get(f"{BASE}/Encounter", params={"patient": patient_id})
        assert answer.status_code == 200, answer.text[:300]
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id)
        assert _far_ids(encounters, far_visit)
        assert not _outcome_texts(running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": patient_id}))
        windowed = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
        assert Counter(datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")) for e in windowed) == (
            Counter(_charted(patient))
        )


def test_date_bounds_reach_a_nextech_that_takes_bare_dates_only() -> None:
    """A Nextech reading `start`/`end` as the docs word them ("Earliest date", "Latest date
    included"): a `DateOnly` (ASP.NET), `LocalDate` (Spring) or django-filter `DateFilter`
    parameter, refusing any date-time. Before, both the zone-less and the `Z` bounds were
    refused, so every encounter search, encounter read and CCD was a 400 blaming the client."""
    with _far_visit(date_params="date") as (running, patient, patient_id, far_visit):
        answer = running.fhir.get(f"{BASE}/Encounter", params={"patient": patient_id})
        assert answer.status_code == 200, answer.text[:300]
        assert not _outcome_texts(answer.json())
        [far_id] = _far_ids(_matches(answer.json()), far_visit)
        assert running.fhir.get_ok(f"{BASE}/Encounter/{far_id}")["id"] == far_id
        windowed = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=BEFORE_FAR_VISIT)
        assert Counter(datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")) for e in windowed) == (
            Counter(_charted(patient))
        )
        day = FAR_FUTURE_VISIT.date().isoformat()
        assert _far_ids(running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, date=day), far_visit)
        assert _far_ids(_nextech_documents(running.fhir, patient_id, date=day), far_visit)


def test_a_section_name_answered_null_is_asked_by_its_other_name_before_it_is_empty() -> None:
    """Categories with a `name` and a `code`, `section` taking the code and answering a name it
    does not know with `"ccd": null` rather than a 400: the null was read as a section with
    nothing recorded, and Vital Signs were served as an empty section although recorded. The
    section's other name is asked before a null section is served empty."""
    clinic = build_clinic()
    patient = next(p for p in live_patients(clinic) if _charted(p))
    create = partial(create_sandbox, clinic, categories="named", unknown_sections="null")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        document = _nextech_documents(running.fhir, f"{patient.id}.{patient.chart_number}")[0]
        for content in document["content"][1:]:
            name = content["attachment"]["title"].removeprefix("CCD section: ")
            answer = running.fhir.get(f"{BASE}/{content['attachment']['url']}")
            assert answer.status_code == 200, (name, answer.text[:200])
            assert f"<h2>{name}" in answer.text or f'data-section="{name.replace(" ", "")}"' in answer.text, name


@pytest.mark.parametrize("cap", [10, 15])
def test_a_bare_answer_capped_at_ten_or_fifteen_is_narrowed_or_said_to_be_cut(cap: int) -> None:
    """A Nextech answering at most 10 patients (the default `_count` of Nextech's own FHIR API)
    or 15 (Laravel's default page size, taken as a limit), in a bare array that does not say so.
    Before, a cap under 20 passed for a whole answer: the first letters' answers were cut at
    the cap and every family with more patients under its letter silently lost some (Johnson,
    Garcia, Scott...). The names as written are searched too; what they cannot find whole
    either, the searchset says may be missing."""
    clinic = build_clinic()
    live = live_patients(clinic)
    with gateway_over("nextech", partial(create_sandbox, clinic, search_limit=cap), tenant=TENANT) as running:
        for family in ("Johnson", "Garcia", "Scott", "Harris", "Clark", "Hill"):
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": family, "_count": "100"})
            expected = {f"{p.id}.{p.chart_number}" for p in live if fold(p.last_name).startswith(fold(family))}
            found = {r["id"] for r in _matches(bundle)}
            cut = any("may have been cut" in text for text in _outcome_texts(bundle))
            assert expected and found <= expected, family
            if len(expected) < cap:  # the name as written is answered whole: nothing is said
                assert found == expected and not cut, family
            else:  # even the name as written is cut at the cap: the client is told
                assert cut, family


def _clinic_with_a_long_chart(visits: int) -> tuple[Clinic, Patient]:
    """The synthetic clinic with one patient given `visits` chart encounters: the busiest one's,
    and copies of their latest a fortnight apart before their first (fresh ids, as charted)."""
    clinic = build_clinic()
    busy = max(live_patients(clinic), key=lambda p: len(_charted(p)))
    charted = [e for e in busy.encounters if e.status in ("finished", "arrived")]
    latest, first = charted[-1], charted[0]
    fresh = max(e.id for p in clinic.patients for e in p.encounters) + 1
    copies = [
        replace(
            latest,
            id=fresh + n,
            start=first.start - timedelta(days=14 * (n + 1)),
            end=first.start - timedelta(days=14 * (n + 1)) + timedelta(hours=1),
            status="finished",
        )
        for n in range(visits - len(charted))
    ]
    longer = replace(busy, encounters=tuple(sorted((*busy.encounters, *copies), key=lambda e: (e.start, e.id))))
    patients = tuple(longer if p.id == busy.id else p for p in clinic.patients)
    return replace(clinic, patients=patients), longer


@pytest.mark.parametrize(
    ("cap", "envelope", "order"), [(10, "bare", "asc"), (25, "bare", "asc"), (20, "data", "asc"), (10, "bare", "desc")]
)
def test_an_encounter_list_capped_at_a_page_size_is_narrowed_to_every_encounter(
    cap: int, envelope: str, order: str
) -> None:
    """A Nextech answering at most `cap` of a patient's encounters, saying nothing of the others
    (a bare array, or an envelope counting only what it holds), as an implementation capping its
    queries would: 10 (the default `_count` of Nextech's own FHIR API), 20 or 25 (Spring's and
    Kaminari's page sizes, taken as a limit). Before, an encounter list was never suspected of a
    cap (patient searches were): a patient's encounters past it, and their CCDs, were silently
    missing. The window is split by date until each part answers fewer than the cap, whether
    the cap keeps the earliest or (the latest first, `ORDER BY EncounterDate DESC`) the latest."""
    clinic, patient = _clinic_with_a_long_chart(2 * cap + 7)
    create = partial(create_sandbox, clinic, encounter_limit=cap, envelope=envelope, encounter_order=order)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        patient_id = f"{patient.id}.{patient.chart_number}"
        bundle = running.fhir.get_ok(
            f"{BASE}/Encounter", params={"patient": patient_id, "date": BEFORE_FAR_VISIT, "_count": "1000"}
        )
        starts = Counter(datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")) for e in _matches(bundle))
        assert starts == Counter(_charted(patient)) and not _outcome_texts(bundle)
        documents = _nextech_documents(running.fhir, patient_id, date=BEFORE_FAR_VISIT, _count=1000)
        assert len(documents) == len(_charted(patient))
        oldest = min(_matches(bundle), key=lambda e: str(e["period"]["start"]))
        assert running.fhir.get_ok(f"{BASE}/Encounter/{oldest['id']}")["id"] == oldest["id"]


def test_an_encounter_list_capped_past_what_one_page_may_ask_goes_on_through_its_next_link() -> None:
    """A cap of 10 over 400 encounters: narrowing them all takes more vendor requests than one
    FHIR page may cost (50). The page holds what its requests found and a `next` link that goes
    on where they stopped; following it serves every encounter once. Before, the encounters past
    the cap were silently missing."""
    clinic, patient = _clinic_with_a_long_chart(400)
    create = partial(create_sandbox, clinic, encounter_limit=10)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        patient_id = f"{patient.id}.{patient.chart_number}"
        first = running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": patient_id, "_count": "1000"})
        assert 10 < len(_matches(first)) < len(_charted(patient)) and not _outcome_texts(first)
        assert any(link["relation"] == "next" for link in first["link"])
        encounters = running.fhir.search_all(f"{BASE}/Encounter", patient=patient_id, _count=1000)
        starts = Counter(datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00")) for e in encounters)
        assert starts == Counter(_charted(patient))


def _incomplete(bundle: dict[str, Any]) -> list[str]:
    """The searchset's warnings that matches may be missing (not its notes on a short page)."""
    return [
        issue.get("diagnostics", "")
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == "outcome"
        for issue in entry["resource"]["issue"]
        if issue["severity"] == "warning"
    ]


@pytest.mark.parametrize(("envelope", "page_size"), [("pages", 10), ("bare_pages", 10), ("abp", 10), ("pages", 5)])
def test_a_letter_matching_more_patients_than_twenty_pages_hold_is_read_to_its_end(
    envelope: str, page_size: int
) -> None:
    """Every chart number starts with C, so the letter C matches the whole practice: 239 patients,
    24 pages at 10 a page, 48 at 5. Before, a walk stopped after 20 pages whatever they held, and
    the side-by-side letters each walked theirs (C, its accented forms and c: 140 vendor requests
    for one FHIR page at 10 a page): `given=C` missed the patients past them, saying only that
    matches may be missing. The walks are bounded by requests within what one FHIR page may cost
    the vendor, a letter known to find what its accented or lower-case forms do walks alone, and
    what is left goes on in the next provider call, on the same page or through its next link."""
    clinic = build_clinic()
    live = live_patients(clinic)
    create = partial(create_sandbox, clinic, envelope=envelope, page_size=page_size)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        for name, first_of in (("given", lambda p: p.first_name), ("family", lambda p: p.last_name)):
            before = vendor_calls(running.fhir, TENANT)
            running.fhir.get_ok(f"{BASE}/Patient", params={name: "C", "_count": "1000"})
            assert vendor_calls(running.fhir, TENANT) - before <= 75, name  # 50, and a call begun under it
            bundles = list(running.fhir.pages(f"{BASE}/Patient", **{name: "C", "_count": 1000}))
            found = [r["id"] for bundle in bundles for r in _matches(bundle)]
            expected = {f"{p.id}.{p.chart_number}" for p in live if fold(first_of(p)).startswith("c")}
            assert expected and len(found) == len(set(found)) and set(found) == expected, name
            assert not [w for bundle in bundles for w in _incomplete(bundle) if w != MIDDLE_NAMES], name


def test_a_patients_encounters_past_twenty_pages_are_read_to_their_end() -> None:
    """400 encounters of one patient at 10 a page (Django REST Framework's pages): before, the
    walk stopped after 20 pages, and the searchset said encounters may be missing; now the pages
    a FHIR page's requests do not reach are read through its next link."""
    clinic, patient = _clinic_with_a_long_chart(400)
    create = partial(create_sandbox, clinic, envelope="pages", page_size=10)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        patient_id = f"{patient.id}.{patient.chart_number}"
        bundles = list(running.fhir.pages(f"{BASE}/Encounter", patient=patient_id, _count=1000))
        assert len(bundles) > 1 and not [w for bundle in bundles for w in _incomplete(bundle)]
        starts = Counter(
            datetime.fromisoformat(e["period"]["start"].replace("Z", "+00:00"))
            for bundle in bundles
            for e in _matches(bundle)
        )
        assert starts == Counter(_charted(patient))


def test_a_chart_prefix_answering_ten_is_no_cap_where_there_is_none() -> None:
    """Fixed-width chart numbers: the term `C0001` finds C00010..C00019, exactly 10, where
    there is no cap. An identifier search for it is an empty searchset that says nothing is
    missing, and learns so for one vendor call more; a Nextech capping its answers at 10 is
    not told apart by that call, and the searchset says matches may be missing."""
    clinic = build_clinic()
    assert len([p for p in live_patients(clinic) if p.chart_number.startswith("C0001")]) == 10
    for cap in (None, 10):
        with gateway_over("nextech", partial(create_sandbox, clinic, search_limit=cap), tenant=TENANT) as running:
            bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"identifier": "C0001"})
            assert not _matches(bundle)
            warned = any("may have been cut" in text for text in _outcome_texts(bundle))
            assert warned == (cap is not None), cap
            patient = live_patients(clinic)[0]
            patient_id = f"{patient.id}.{patient.chart_number}"
            assert running.fhir.get_ok(f"{BASE}/Patient/{patient_id}")["id"] == patient_id
            assert running.fhir.get(f"{BASE}/Patient/1.C0001").status_code == (404 if cap is None else 502)
            if cap is None:  # learnt: the next prefix answering 10 costs its one call
                before = vendor_calls(running.fhir, TENANT)
                texts = _outcome_texts(running.fhir.get_ok(f"{BASE}/Patient", params={"identifier": "C0002"}))
                assert not any("may have been cut" in text for text in texts)
                assert vendor_calls(running.fhir, TENANT) - before == 1
