"""The Nextvisit tenant under each reading of its docs the simulator can take (its `create_app`
switches, combined into a few variants): the clinic walk finds and reads every live patient
with its allergies, medications and encounters, names are found however the vendor matches
and stores them, nothing is a 502 but the read of the one record that cannot be read, and a
search that leaves a record out says so in an outcome entry. Every resource received is
checked against R4 and US Core (tests.support.fhir_http)."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from gateway.contract import Sandbox
from gateway.search.match import normalize
from sandboxes.clinic import Encounter, Patient, build_clinic
from sandboxes.nextvisit import create_sandbox
from sandboxes.nextvisit.render import Renderer, drug_review_first
from sandboxes.toolkit.folding import fold
from tests.support.clock import SetClock
from tests.support.fhir_http import FhirHttp, outcome_notes, outcome_of
from tests.support.variants import gateway_over

BASE = "/fhir/nextvisit"
JSON = {"Content-Type": "application/fhir+json"}
STATUS = {"planned": "planned", "arrived": "in-progress", "finished": "finished", "cancelled": "cancelled"}
MEDICATION_STATUS = {"active": "active", "on_hold": "on-hold", "discontinued": "stopped", "completed": "completed"}
GENDER = {"male": "male", "female": "female", "non_binary": "other", "other": "other", "unknown": "unknown",
          "prefer_not_to_say": "unknown", None: "unknown"}  # fmt: skip
CLINIC = build_clinic()
LIVE = [p for p in CLINIC.patients if not p.deleted]
#: The patient with the most encounters; its second-newest encounter is the unreadable one.
BUSY = max(LIVE, key=lambda p: len(p.encounters))
BROKEN: Encounter = sorted(BUSY.encounters, key=lambda e: (e.start, -e.id), reverse=True)[1]


def _null_allergies(patient: Patient) -> bool:
    """Whether the simulator serves the patient's allergy list as null (none listed, none
    reviewed, an odd id: the app's "allergies"); a reading that drops null fields leaves it out."""
    listed = [a for a in patient.allergies if not a.deleted]
    return not listed and patient.allergy_review != "nkda" and patient.id % 2 == 1


_SHOWN = ("middle_name", "gender", "date_of_birth", "notes")  # nullable; in every documented answer


def _shows_every_nullable(patient: Patient) -> bool:
    """Whether the simulator's answer for the patient has none of the always-shown nullable
    fields null: dropping nulls, it then gives no sign that it does."""
    doc = Renderer(CLINIC).patient(patient).doc
    return all(doc[name] is not None for name in _SHOWN)


#: Null allergy lists: one in an answer that shows nothing of how nulls are written (dropped,
#: it is unknown), one beside another null field (dropped with it, it is seen to be a null).
UNSTATED = next(p for p in LIVE if _null_allergies(p) and _shows_every_nullable(p))
DROPPED = next(p for p in LIVE if _null_allergies(p) and not _shows_every_nullable(p))
#: A patient with allergies and notes (a preferred name: the app's "notes"), updated by a test.
EDITED = next(p for p in LIVE if p.preferred_name and p is not BUSY and [a for a in p.allergies if not a.deleted])

READINGS: dict[str, dict[str, Any]] = {
    "as-documented": {},
    # Strings everywhere a number or a date could be, Laravel's bare paginator, text errors,
    # exact name filters, a read that serves encounters only when included, MySQL's zero dates,
    # demographics as a hasMany list, a create answered without the record, 419 for a token,
    # other words for genders, statuses and no known allergies, medications as one text;
    # patients sharing a sort value in another order on each page (PostgreSQL, no tiebreaker);
    # a read that refuses `include=demographics` (its allow-list: the relations it documents); a
    # list that reads none of its name and birth date filters (no filter backend), counting all;
    # no known drug allergies charted before allergies to other things (`NKDA; Latex (hives)`);
    # a patient's empty lists (visits, medications) left out of its answers.
    "flat-strings-sql-us-paginator": {
        "allergy_charting": "drug_review_first",
        "encounter_shape": "flat",
        "datetimes": "sql",
        "dates": "us",
        "ids": "strings",
        "booleans": "digits",
        "paging": "paginator",
        "errors": "plain",
        "name_match": "exact",
        "list_per_page_max": 50,
        "delete_status": 204,
        "login_shape": "data",
        "sort_ties": "unstable",
        "single_relations": "included",
        "no_dates": "zero",
        "demographics_shape": "list",
        "create_answer": "message",
        "unauthenticated_status": 419,
        "spellings": "other",
        "first_page": 0,
        "past_the_end": "404",
        "show_includes": "encounters",
        "list_filters": "ignored",
        # A Laravel resource writing a patient's lists only when not empty
        # (`$this->when($this->encounters->isNotEmpty(), ...)`): no visits, no `encounters` key.
        "empty_lists": "omitted",
    },
    # Names stored decomposed and matched by prefix, accent-sensitively; no nulls; a simple
    # paginator; local offsets; unwrapped single answers; a read ignoring its include; a PUT
    # that replaces the whole record; the login token as text; meta as JSON text; an address
    # object in the demographics; a visit's times as a Rails team names them (`scheduled_at`);
    # writes answered with their message as text (a Spring controller's ResponseEntity<String>);
    # a list that does not read `sort` (always the documented default, newest first); `meta`
    # written as a JSON Merge Patch (Spring's `JsonMergePatch`); allergies kept and served as a
    # list of items (a `List<String>` column), which that replacing PUT wipes unless sent back; a
    # visit's clinician as the user who documented it (`belongs_to :user`, written as PatientFull's).
    "nfd-prefix-absent-simple-bare": {
        "encounter_clinician": "user",
        "meta_updates": "merge_patch",
        "allergies_shape": "list",
        "encounter_shape": "scheduled",
        "name_accents": "sensitive_nfd",
        "name_match": "prefix",
        "nulls": "absent",
        "paging": "simple",
        "datetimes": "offset",
        "dates": "datetime",
        "single_envelope": "bare",
        "include_demographics": False,
        "errors": "error",
        "extra_field": True,
        "show_trashed": True,
        "put_semantics": "replace",
        "login_shape": "plain",
        "meta_encoding": "string",
        "demographics_shape": "nested",
        "write_answers": "text",
        "first_page": 0,
        "past_the_end": "404",
        "sort_param": "ignored",
    },
    # Accent-sensitive names, Laravel's microsecond times, one encounter no reading can use, a
    # cursor paginator (`page` not read), no demographics as PHP's empty array; Go's zero time
    # for no date (and in every live patient's deleted_at), birth dates from an app east of UTC,
    # Sanctum's NewAccessToken as the login answer, duplicates refused with 409, medications as
    # objects that say their status, another team's patients refused by a policy (403), and
    # an unknown token refused with 403 too; empty lists (a page listing nobody, a patient
    # without visits) as null, Go's nil slices; a request limit of 30 a second (Laravel 11's
    # `Limit::perSecond`; the docs name none), which the tenant is configured with; a read of no
    # patient (unknown, deleted, another team's) answered 200 `null`, a Go handler's nil pointer;
    # allergies as rows too, `{name, reaction}`; a page listing nobody without its `data` (the
    # page's field tagged `omitempty`).
    "accents-micro-unreadable": {
        "empty_pages": "omitted",
        "allergies_shape": "objects",
        "medication_shape": "objects",
        "name_accents": "sensitive",
        "datetimes": "micro",
        "paging": "cursor",
        "empty_demographics": "array",
        "show_includes": "demographics",
        "unreadable_encounter": BROKEN.id,
        "extra_field": True,
        "no_dates": "min",
        "dates": "east",
        "login_shape": "new_token",
        "login_path": "/v1/sanctum/token",  # Sanctum's documented mobile login
        "duplicates": "409",
        "foreign_patients": "403",
        "unauthenticated_status": 403,
        "empty_lists": "null",
        "rate_limit": 30,
        "rate_window": "second",
        "missing_show": "null",
    },
    # As a team on another stack (Express and knex, say) writes the API: keyset pages
    # (`?after=<last id>`, a next link and `has_more`, no page numbers), a visit's time as
    # `encounter_date` and its type as `title`, ids as strings, a delete answered 204, names
    # as typed (no middleware trims them), the login token in an `Authorization` response
    # header (a Rails API's devise-jwt) and the credentials read under `user` (Devise's
    # sign-in), Rails' error bodies, medications as objects whose stop is a
    # `discontinued_at` time, no status (a Rails model's timestamp column); times as knex stores
    # a JavaScript Date in SQLite: milliseconds since the epoch, a JSON number; a list that does
    # not know `filter[trashed]` (Express ignores a query parameter it does not read), so no
    # answer tells a deleted patient from one that never was; a read of no patient answered 200
    # `{"data": null}` (`res.json({data: await Patient.findByPk(id)})`); an update merging the
    # `meta` it is sent over the stored one (`{...patient.meta, ...req.body.meta}`); the records
    # the docs never show (visits, demographics, medication rows) keyed as TypeScript properties,
    # in camelCase (`encounterDate`, `postalCode`, `discontinuedAt`).
    "keyset-titled": {
        "nested_keys": "camel",
        "meta_updates": "merged",
        "datetimes": "epoch_ms",
        "trim_strings": False,
        "paging": "keyset",
        "encounter_shape": "titled",
        "ids": "strings",
        "delete_status": 204,
        "login_shape": "header",
        "login_path": "/v1/auth/login",
        "login_body": "user",
        "medication_shape": "stop_dates",
        "errors": "rails",
        "trashed_filter": "ignored",
        "missing_show": "null_data",
    },
    # As a Django REST Framework or Spring team writes it: times as the app's wall clock without
    # an offset (Django with `USE_TZ = False`, Spring's `LocalDateTime`), in a zone that is neither
    # UTC nor the practice's (the tenant then sets `vendor_timezone`, as the sandbox does); a
    # list without a pagination class, answering every patient at once whatever `page` and
    # `per_page` say, `links` and `meta` empty as the docs' example shows them; DRF's 403 for
    # an unknown token and its 204 for a delete; no ordering filter either (`sort` not read); an
    # update that skips the fields sent null (a Spring DTO cannot tell null from absent); a visit
    # kept as a DateField and TimeFields (its day as `date`, its times as `HH:MM:SS`); medication
    # rows whose dose is a DecimalField written as text and a unit apart (`"10.00"`, `"mg"`); a
    # visit's type a row of a code table, `{code, description}` (a ForeignKey's nested serializer).
    "drf-local-times-unpaged": {
        "visit_types": "coded",
        "encounter_shape": "day_and_times",
        "medication_shape": "measured",
        "update_nulls": "skipped",
        "datetimes": "local",
        "paging": "none",
        "unauthenticated_status": 403,
        "delete_status": 204,
        "sort_param": "ignored",
    },
    # As a Flask team writes it: `jsonify` writes every time and date as an HTTP-date in GMT
    # (`Fri, 05 Jan 2024 10:00:00 GMT`; a birth date at its midnight), Werkzeug's `http_date`;
    # a visit that took place written as its note's state (`signed`, `amended`); pages asked for
    # by JSON:API's `page[number]` (Flask-REST-JSONAPI's pagination; `page` alone is not read).
    "flask-http-dates": {"datetimes": "http", "dates": "http", "encounter_statuses": "note", "paging": "json_api"},
}


@dataclass(frozen=True)
class Reading:
    name: str
    switches: dict[str, Any]
    fhir: FhirHttp
    sandbox: Sandbox

    @property
    def start_field(self) -> str:
        shape = self.switches.get("encounter_shape")
        return {"flat": "date_of_service", "titled": "encounter_date", "scheduled": "scheduled_at"}.get(
            shape or "", "start_time"
        )

    @property
    def broken(self) -> int | None:
        value: int | None = self.switches.get("unreadable_encounter")
        return value

    @property
    def deleted_status(self) -> int:
        """What the read of a deleted patient answers: 410 Gone, or 404 when no answer of the
        vendor tells a deleted patient (a show that does not find it, a list that ignores
        `filter[trashed]`)."""
        hidden = self.switches.get("trashed_filter") == "ignored" and not self.switches.get("show_trashed")
        return 404 if hidden else 410

    def unstated(self, patient: Patient) -> bool:
        """Whether the answer leaves the patient's allergy list out (a null dropped) and shows
        no other null dropped: unknown."""
        return self.switches.get("nulls") == "absent" and _null_allergies(patient) and _shows_every_nullable(patient)


@pytest.fixture(scope="module", params=list(READINGS))
def reading(request: pytest.FixtureRequest) -> Iterator[Reading]:
    switches = READINGS[request.param]
    with gateway_over("nextvisit", partial(create_sandbox, CLINIC, **switches), organization="Readings") as running:
        yield Reading(request.param, switches, running.fhir, running.sandbox)


def _position(reading: Reading) -> int:
    return list(READINGS).index(reading.name)


def _start(encounter: Encounter) -> str:
    return encounter.start.isoformat().replace("+00:00", "Z")


def _matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def _private(patient: Patient) -> list[str]:
    """Values of the patient that must never appear in a message."""
    return [v for v in (patient.first_name, patient.last_name, patient.email, _start(BROKEN)) if v]


def _nfc(text: str | None) -> str | None:
    return None if text is None else unicodedata.normalize("NFC", text)


def test_every_live_patient_is_found_once_and_reads_as_found(reading: Reading) -> None:
    pages = list(reading.fhir.pages(f"{BASE}/Patient", _count=100))
    found = [p for page in pages for p in _matches(page)]
    assert Counter(p["id"] for p in found) == Counter(str(p.id) for p in LIVE)
    # Read whole, the walk says nothing is missing (a list answering everything at once, paging
    # not read, is not "a list that cannot be read past page 1").
    assert [o for page in pages for o in outcome_notes(page)] == []
    by_id = {p["id"]: p for p in found}
    for truth in LIVE:
        resource = by_id[str(truth.id)]
        official = resource["name"][0]
        # Served in NFC whatever the vendor stores (names decomposed under one reading).
        assert official["family"] == _nfc(truth.last_name), truth.id
        assert official["given"] == [_nfc(truth.first_name), *(_nfc(truth.middle_name) or "").split()]
        assert resource.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
        assert resource["gender"] == GENDER[truth.gender]
        values = {t["value"] for t in resource.get("telecom", [])}
        assert not truth.email or truth.email in values, truth.id
    # Each variant reads every third patient, from its own offset: every patient is read under
    # at least one reading, and the matrix stays cheap.
    for truth in LIVE[_position(reading) % 3 :: 3]:
        assert reading.fhir.get_ok(f"{BASE}/Patient/{truth.id}") == by_id[str(truth.id)]
    deleted = [p for p in CLINIC.patients if p.deleted]
    assert deleted
    for truth in deleted:  # gone, even where the vendor's read still finds soft-deleted patients
        assert reading.fhir.get(f"{BASE}/Patient/{truth.id}").status_code == reading.deleted_status


@pytest.mark.parametrize("sort", ["family", "-birthdate"])
def test_a_sorted_walk_lists_every_live_patient_once(reading: Reading, sort: str) -> None:
    # The list sorts by one field; patients sharing its value (14 Johnsons) may come in another
    # order on each page (PostgreSQL without a tiebreaker: the sort_ties="unstable" reading).
    pages = list(reading.fhir.pages(f"{BASE}/Patient", _sort=sort, _count=7))
    found = [p for page in pages for p in _matches(page)]
    assert Counter(p["id"] for p in found) == Counter(str(p.id) for p in LIVE)
    if reading.switches.get("sort_param") == "ignored" and reading.switches.get("paging") != "none":
        # A paged list that does not read `sort`: no page may pass for sorted. Each says it is not.
        assert all(any("did not sort" in o for o in outcome_notes(page)) for page in pages if _matches(page))
        return
    # Sorted by the vendor, or (a list answering every patient at once) by the gateway.
    assert [o for page in pages for o in outcome_notes(page)] == []
    if sort == "-birthdate":
        dates = [p["birthDate"] for p in found if "birthDate" in p]
        assert dates == sorted(dates, reverse=True)
    else:  # in a collation's order: the vendor's (MySQL folds `ø` to `o`), or the gateway's (not)
        families = [p["name"][0]["family"] for p in found]
        assert any([order(f) for f in families] == sorted(order(f) for f in families) for order in (fold, normalize))


def test_a_patient_without_a_birth_date_reads_as_listed_whatever_order_the_list_keeps(reading: Reading) -> None:
    # A read whose show leaves the demographics out finds them in the list, which has no id filter
    # (the patient's birth date narrows it, when there is one): looked up by id in a list asked for
    # in id order, which a list that does not read `sort` does not keep.
    (undated,) = [p for p in LIVE if not p.birth_date]
    read = reading.fhir.get_ok(f"{BASE}/Patient/{undated.id}")
    assert undated.email in {t["value"] for t in read.get("telecom", [])}


def test_each_patients_records_match_the_clinic(reading: Reading) -> None:
    # Each variant walks every fourth patient, from its own offset: across the variants every
    # patient's records are checked, and the matrix stays cheap.
    for truth in LIVE[_position(reading) % 4 :: 4]:
        pid = str(truth.id)
        allergies = reading.fhir.search_all(f"{BASE}/AllergyIntolerance", patient=pid)
        live_allergies = [a for a in truth.allergies if not a.deleted]
        expected = 1 if truth.allergy_review == "nkda" and not live_allergies else len(live_allergies)
        # `NKDA` charted beside allergies to other things is one more record: that concept coded.
        led = reading.switches.get("allergy_charting") == "drug_review_first" and drug_review_first(truth)
        assert len(allergies) == expected + led, truth.id
        denied = [a for a in allergies if a["code"]["text"].upper() == "NKDA"]
        assert [a["code"].get("coding", [{}])[0].get("code") for a in denied] == ["409137002"] * len(denied), truth.id
        assert len(denied) >= led, truth.id
        medications = reading.fhir.search_all(f"{BASE}/MedicationStatement", patient=pid)
        served = Counter((m["status"], _dated(m.get("effectivePeriod", {}))) for m in medications)
        if reading.switches.get("medication_shape") in ("objects", "measured"):
            # Each with the status the vendor gives it (a stopped drug is not one of unknown status),
            # and when it was started and ended (`started_on`, `ended_on`).
            listed = [m for m in truth.medications if not m.deleted]
            assert served == Counter((MEDICATION_STATUS[m.status], _period(m.start, m.stop)) for m in listed), truth.id
            # With the dose its strength states, whether the vendor writes it as text or as a number
            # and a unit apart (`"dose": "90.00", "dose_unit": "mcg/actuation"`), never an amount its
            # name states that is no dose (`Chlorhexidine gluconate 0.12% oral rinse`, 15 mL).
            names = {m.name for m in listed}
            doses = Counter((n, _dose(s)) for s in medications for n in names if _names(s).startswith(f"{n} "))
            assert doses == Counter((m.name, _strength(m.strength)) for m in listed), truth.id
        elif reading.switches.get("medication_shape") == "stop_dates":
            # A drug stopped (a `discontinued_at` time) is stopped, then; no status said is unknown.
            listed = [m for m in truth.medications if not m.deleted]
            stopped = Counter(
                ("stopped", _period(m.start, _noon(m.stop or m.start)))
                if m.status in ("discontinued", "completed")
                else ("unknown", _period(m.start, None))
                for m in listed
            )
            assert served == stopped, truth.id
        else:
            current = [m for m in truth.medications if not m.deleted and m.status in ("active", "on_hold")]
            assert len(medications) == len(current), truth.id
        encounters = reading.fhir.search_all(f"{BASE}/Encounter", patient=pid, _count=100)
        expected_encounters = [e for e in truth.encounters if e.id != reading.broken]
        assert Counter((e["period"]["start"], e["status"]) for e in encounters) == Counter(
            (_start(e), STATUS[e.status]) for e in expected_encounters
        ), truth.id


_UCUM = {"mg": "mg", "mcg": "ug", "ml": "mL"}


def _names(statement: dict[str, Any]) -> str:
    return str(statement["medicationCodeableConcept"]["text"])


def _dose(statement: dict[str, Any]) -> tuple[float, str] | None:
    """A MedicationStatement's dose quantity: its value and UCUM code."""
    rates = statement["dosage"][0].get("doseAndRate") or [{}]
    quantity = rates[0].get("doseQuantity")
    return None if quantity is None else (float(quantity["value"]), quantity["code"])


def _strength(strength: str | None) -> tuple[float, str] | None:
    """The dose a clinic strength states (`90 mcg/actuation`: 90 ug), None for a count (`1 tablet`)."""
    amount, _, unit = (strength or "").partition(" ")
    code = _UCUM.get(unit.split("/")[0].lower())
    return None if code is None else (float(amount), code)


def _dated(period: dict[str, str]) -> tuple[str | None, str | None]:
    return period.get("start"), period.get("end")


def _period(start: date | None, end: date | str | None) -> tuple[str | None, str | None]:
    """A MedicationStatement's effectivePeriod (`_dated`) from the clinic's dates."""
    return (start and start.isoformat()), (end if isinstance(end, str) or end is None else end.isoformat())


def _noon(day: date | None) -> str:
    """A stopped drug's `discontinued_at`, as the simulator writes it: noon UTC of its stop day."""
    return f"{day or date(2000, 1, 1)}T12:00:00Z"


def test_encounters_show_who_and_where_and_only_the_unreadable_one_is_left_out(reading: Reading) -> None:
    locations = {loc.id: loc.name for loc in CLINIC.locations}
    for truth in [*LIVE[::8], BUSY]:
        bundle = reading.fhir.get_ok(f"{BASE}/Encounter", params={"patient": str(truth.id), "_count": "100"})
        by_id = {e["identifier"][0]["value"]: e for e in _matches(bundle)}
        for encounter in truth.encounters:
            if encounter.id == reading.broken:
                assert str(encounter.id) not in by_id
                continue
            resource = by_id[str(encounter.id)]
            assert resource["type"] == [{"text": encounter.type_text}], encounter.id  # however written
            provider = next(p for p in CLINIC.providers if p.id == encounter.provider_id)
            assert resource["participant"][0]["individual"]["display"].startswith(
                f"{provider.first_name} {provider.last_name}"
            )
            shown = [loc["location"]["display"] for loc in resource.get("location", [])]
            assert shown in ([], [locations[encounter.location_id]])
            assert shown or resource["class"]["code"] == "VR"
        if truth is BUSY and reading.broken:
            assert bundle.get("total") is None  # a count would claim the list is complete
            (message,) = outcome_notes(bundle)
            assert f"Encounter/{BUSY.id}.e.{BROKEN.id}" in message and f"[1].{reading.start_field}" in message
            assert not any(value in message for value in _private(truth)), message
        else:
            assert outcome_notes(bundle) == []


def test_encounters_are_found_by_their_date_whatever_the_vendor_calls_it(reading: Reading) -> None:
    # Visits that began before the middle one of the busiest patient: a visit whose time the
    # gateway could not read would have no period, and no date search would ever find it.
    kept = sorted((e for e in BUSY.encounters if e.id != reading.broken), key=lambda e: e.start)
    middle = _start(kept[len(kept) // 2])
    found = reading.fhir.search_all(f"{BASE}/Encounter", patient=str(BUSY.id), date=f"lt{middle}", _count=100)
    assert sorted(e["identifier"][0]["value"] for e in found) == sorted(str(e.id) for e in kept if _start(e) < middle)
    # A visit that is over (or not begun) is found on its day (the tenant's), with or without an
    # end time; one over before the middle one is not found from it on.
    over = [e for e in kept if e.status in ("finished", "cancelled", "planned")]
    for visit in over[:2] + over[-2:]:
        day = visit.start.astimezone(ZoneInfo("America/Chicago")).date().isoformat()
        on_day = reading.fhir.search_all(f"{BASE}/Encounter", patient=str(BUSY.id), date=day, _count=100)
        assert str(visit.id) in {e["identifier"][0]["value"] for e in on_day}, (visit.id, day)
    since = reading.fhir.search_all(f"{BASE}/Encounter", patient=str(BUSY.id), date=f"ge{middle}", _count=100)
    assert not {str(e.id) for e in over if _start(e) < middle} & {e["identifier"][0]["value"] for e in since}


def test_each_encounter_reads_as_found_and_only_the_unreadable_one_is_a_502(reading: Reading) -> None:
    found = reading.fhir.search_all(f"{BASE}/Encounter", patient=str(BUSY.id))
    for encounter in found[:4]:
        assert reading.fhir.get_ok(f"{BASE}/Encounter/{encounter['id']}") == encounter
    response = reading.fhir.get(f"{BASE}/Encounter/{BUSY.id}.e.{BROKEN.id}")
    if reading.broken is None:
        assert response.status_code == 200
        return
    assert response.status_code == 502
    diagnostics = outcome_of(response)["issue"][0]["diagnostics"]
    assert reading.start_field in diagnostics and f"{BUSY.id}.e.{BROKEN.id}" in diagnostics
    assert not any(value in diagnostics for value in _private(BUSY)), diagnostics


def test_everything_keeps_the_rest_and_says_what_is_missing_a_ccd_is_all_or_nothing(reading: Reading) -> None:
    pages = list(reading.fhir.pages(f"{BASE}/Patient/{BUSY.id}/$everything"))
    records = [r for page in pages for r in _matches(page)]
    kinds = Counter(r["resourceType"] for r in records)
    assert kinds["Encounter"] == len(BUSY.encounters) - (1 if reading.broken else 0)
    assert kinds["Patient"] == 1
    said = [d for page in pages for d in outcome_notes(page)]
    bundle = reading.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": str(BUSY.id)})
    (ccd,) = [e["resource"] for e in bundle["entry"] if e["resource"]["id"].startswith("ccd-")]
    url = ccd["content"][0]["attachment"]["url"]
    response = reading.fhir.get(f"{BASE}/{url}", headers={"Accept": "application/xml"})
    if reading.broken is None:
        assert said == [] and all("total" in page for page in pages)
        assert response.status_code == 200, response.text[:300]
        return
    broken = f"Encounter/{BUSY.id}.e.{BROKEN.id}"
    assert any(broken in d for d in said) and not any("total" in page for page in pages)
    # A CCD whose Encounters section would silently lack a visit is refused, naming the record.
    assert response.status_code == 502 and broken in outcome_of(response)["issue"][0]["diagnostics"]


def test_ccds_of_other_patients_are_served(reading: Reading) -> None:
    for truth in [p for p in LIVE if p is not BUSY][::40]:
        bundle = reading.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": str(truth.id)})
        (ccd,) = [e["resource"] for e in bundle["entry"] if e["resource"]["id"].startswith("ccd-")]
        response = reading.fhir.get(f"{BASE}/{ccd['content'][0]['attachment']['url']}")
        if reading.unstated(truth):  # all or nothing: an allergy list not known is no document
            assert response.status_code == 502 and "field allergies" in outcome_of(response)["issue"][0]["diagnostics"]
            continue
        assert response.status_code == 200, (truth.id, response.text[:300])


@pytest.mark.parametrize("patient", [UNSTATED, DROPPED], ids=["no-sign", "nulls-seen-dropped"])
def test_an_allergy_list_the_answer_leaves_out_is_unknown_and_no_ccd_claims_none(
    reading: Reading, patient: Patient
) -> None:
    pid = str(patient.id)
    bundle = reading.fhir.get_ok(f"{BASE}/AllergyIntolerance", params={"patient": pid})
    assert _matches(bundle) == []
    docref = reading.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": pid})
    (ccd,) = [e["resource"] for e in docref["entry"] if e["resource"]["id"].startswith("ccd-")]
    url = ccd["content"][0]["attachment"]["url"]
    response = reading.fhir.get(f"{BASE}/{url}", headers={"Accept": "application/xml"})
    if not reading.unstated(patient):  # null: nothing recorded, and the count says so
        assert bundle["total"] == 0 and outcome_notes(bundle) == []
        assert response.status_code == 200, response.text[:300]
        # An empty list is "no information" in the CCD, never "no known allergies".
        (section,) = etree.fromstring(response.content).xpath(
            "//v3:section[v3:code/@code='48765-2']", namespaces={"v3": "urn:hl7-org:v3"}
        )
        assert section.get("nullFlavor") == "NI" and not section.xpath(".//*[@negationInd='true']")
        return
    # No `allergies` key (a null dropped, or a field not sent: the two look alike) is unknown.
    assert "total" not in bundle
    (message,) = outcome_notes(bundle)
    assert f"Patient/{pid}" in message and "field allergies was not in the answer" in message
    assert not any(value in message for value in _private(patient)), message
    assert response.status_code == 502, response.text[:300]
    assert "field allergies" in outcome_of(response)["issue"][0]["diagnostics"]


def test_an_update_keeps_what_the_patient_resource_does_not_carry(reading: Reading) -> None:
    pid = str(EDITED.id)

    def allergies() -> list[tuple[str, str]]:
        found = reading.fhir.search_all(f"{BASE}/AllergyIntolerance", patient=pid)
        return [(a["id"], a["code"]["text"]) for a in found]

    before = allergies()
    assert before
    current = reading.fhir.get(f"{BASE}/Patient/{pid}")
    headers = {**JSON, "If-Match": current.headers["etag"]}
    updated = reading.fhir.request("PUT", f"{BASE}/Patient/{pid}", json=current.json(), headers=headers)
    assert updated.status_code == 200, updated.text[:300]
    # The vendor's allergy text (and notes) are not in the Patient: a PUT that replaces the whole
    # record would wipe them unless they are sent back.
    assert allergies() == before


def _given_starts(patient: Patient, prefix: str) -> bool:
    names = [patient.first_name, *(patient.middle_name or "").split()]
    return any(fold(name).startswith(fold(prefix)) for name in names if name)


def test_accented_names_are_found_however_the_vendor_matches_and_stores_them(reading: Reading) -> None:
    sent = {"resourceType": "Patient", "name": [{"family": "Núñez", "given": ["Renée"]}], "birthDate": "1990-04-01"}
    created = reading.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert created.status_code == 201, created.text[:300]
    new_id = created.json()["id"]
    try:
        for family, given in (("NUÑEZ", "Renée"), ("nunez", "renee"), ("Nú", unicodedata.normalize("NFD", "Ren"))):
            found = reading.fhir.search_all(f"{BASE}/Patient", family=family, given=given)
            assert [p["id"] for p in found] == [new_id], (family, given)
        renees = reading.fhir.search_all(f"{BASE}/Patient", given="Renée", _count=100)
        expected = {str(p.id) for p in LIVE if _given_starts(p, "Renée")} | {new_id}
        assert len(expected) > 5 and {p["id"] for p in renees} == expected
        exact = reading.fhir.search_all(f"{BASE}/Patient", **{"family:exact": "Núñez"})
        assert [p["id"] for p in exact] == [new_id]
        # An update under the version read: the new middle name is found, the version moves.
        current = reading.fhir.get(f"{BASE}/Patient/{new_id}")
        changed = {**sent, "id": new_id, "name": [{"family": "Núñez", "given": ["Renée", "Zoë"]}]}
        headers = {**JSON, "If-Match": current.headers["etag"]}
        updated = reading.fhir.request("PUT", f"{BASE}/Patient/{new_id}", json=changed, headers=headers)
        assert updated.status_code == 200, updated.text[:300]
        assert updated.headers["etag"] != current.headers["etag"]
        found = reading.fhir.search_all(f"{BASE}/Patient", given="zoe", family="NÚÑEZ")
        assert [p["name"][0]["given"] for p in found] == [["Renée", "Zoë"]]
        stale = reading.fhir.request("PUT", f"{BASE}/Patient/{new_id}", json=changed, headers=headers)
        assert stale.status_code == 412
    finally:
        assert reading.fhir.request("DELETE", f"{BASE}/Patient/{new_id}").status_code in (200, 204)
    assert reading.fhir.get(f"{BASE}/Patient/{new_id}").status_code == reading.deleted_status


def test_vendor_refusals_keep_their_meaning_whatever_the_error_body(reading: Reading) -> None:
    missing = reading.fhir.get(f"{BASE}/Patient/999999")
    assert missing.status_code == 404 and outcome_of(missing)["issue"][0]["code"] == "not-found"
    # Nor has it any records (a vendor may answer a read of no patient 200 `{"data": null}`).
    none = reading.fhir.get_ok(f"{BASE}/Encounter", params={"patient": "999999"})
    assert (_matches(none), none.get("total"), outcome_notes(none)) == ([], 0, [])
    assert reading.fhir.get(f"{BASE}/AllergyIntolerance/999999.a.1").status_code == 404
    (deleted,) = [p for p in CLINIC.patients if p.deleted]
    assert reading.fhir.get(f"{BASE}/Encounter/{deleted.id}.e.1").status_code == reading.deleted_status
    # Another team's patient: not found within the team, or refused by a policy (403) while
    # the tenant's own patients read: not this tenant's either way, never its credentials.
    foreign = reading.fhir.get(f"{BASE}/Patient/9001")
    assert foreign.status_code == 404 and outcome_of(foreign)["issue"][0]["code"] == "not-found"
    # The token then revoked (expired): refused as an unknown token is (401, 419 or 403, the
    # status a policy's refusal had just had), it is renewed, never the vendor's refusal of the
    # tenant for the minutes after another team's patient was refused.
    reading.sandbox.app.state.revoke_all_tokens()
    assert reading.fhir.get(f"{BASE}/Patient/{LIVE[0].id}").status_code == 200
    banana = {"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Jo"]}], "birthDate": "1990-01-01",
              "gender": "banana"}  # fmt: skip
    refused = reading.fhir.request("POST", f"{BASE}/Patient", json=banana, headers=JSON)
    assert refused.status_code in (400, 422)
    assert any("Patient.gender" in (i.get("expression") or []) for i in outcome_of(refused)["issue"])


def test_a_next_link_followed_after_a_delete_is_an_empty_page_not_an_error(reading: Reading) -> None:
    # New patients fill the last page of 50 and put one more on a page of its own. One deleted,
    # that page lies past the end: Laravel answers it empty, Django REST
    # Framework's paginator 404 "Invalid page." (the past_the_end="404" reading). Either way the
    # client that follows the link it was given reads the end of its search, not an error.
    size = 50
    created: list[str] = []
    try:
        for number in range(size - len(LIVE) % size + 1):
            sent = {"resourceType": "Patient", "name": [{"family": "Pastend", "given": [f"N{number}"]}],
                    "birthDate": "1931-07-04"}  # fmt: skip
            answer = reading.fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
            assert answer.status_code == 201, answer.text[:300]
            created.append(answer.json()["id"])
        # The link to the last page, which holds one patient (in id order, the one created last;
        # newest first, in a list that does not read `sort`, the oldest): any delete empties it.
        bundles = list(reading.fhir.pages(f"{BASE}/Patient", _count=size))
        assert len(_matches(bundles[-1])) == 1
        following = _next_link(reading, bundles[-2])
        assert reading.fhir.request("DELETE", f"{BASE}/Patient/{created.pop()}").status_code in (200, 204)
        after = reading.fhir.get(following)
        assert after.status_code == 200, after.text[:300]
        assert _matches(after.json()) == [] and outcome_notes(after.json()) == []
    finally:
        for patient_id in created:
            reading.fhir.request("DELETE", f"{BASE}/Patient/{patient_id}")


def _next_link(reading: Reading, bundle: dict[str, Any]) -> str:
    (following,) = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
    return str(following).removeprefix(reading.fhir.base_url)


def test_a_search_that_finds_nobody_is_an_empty_bundle(reading: Reading) -> None:
    # A page listing nobody: `"data": []`, or null (Go's nil slice: the empty_lists="null" reading).
    bundle = reading.fhir.get_ok(f"{BASE}/Patient", params={"birthdate": "1900-01-01"})
    assert (_matches(bundle), bundle.get("total"), outcome_notes(bundle)) == ([], 0, [])


def test_a_birthdate_search_counts_only_the_patients_born_that_day(reading: Reading) -> None:
    # Two patients share a birthday. A list that ignores `filter[date_of_birth]` counts everyone:
    # the gateway still finds the two, and the total it gives (if any) must be theirs.
    (day, born) = next((d, n) for d, n in Counter(p.birth_date for p in LIVE if p.birth_date).items() if n > 1)
    first = reading.fhir.get_ok(f"{BASE}/Patient", params={"birthdate": day.isoformat(), "_count": "1"})
    assert len(_matches(first)) == 1 and first.get("total") in (None, born)
    found = reading.fhir.search_all(f"{BASE}/Patient", birthdate=day.isoformat(), _count=1)
    assert len({p["id"] for p in found}) == born
    counted = reading.fhir.get_ok(f"{BASE}/Patient", params={"birthdate": day.isoformat(), "_summary": "count"})
    assert counted["total"] == born


def test_tokens_that_expire_with_a_403_are_renewed_after_another_teams_patient_was_refused() -> None:
    # Tokens that expire (Sanctum's `expiration`, a JWT's `exp`; the docs give no lifetime), an
    # expired one refused with 403 as a policy refuses another team's patient. Each time such a
    # refusal has just been read as "not this tenant's patient", the token expires: the next
    # requests renew it and are answered, never a 502 until some window has passed.
    clock = SetClock(datetime.now(UTC))
    expiring = partial(
        create_sandbox, CLINIC, clock=clock, token_lifetime=600, unauthenticated_status=403, foreign_patients="403"
    )
    with gateway_over("nextvisit", expiring, organization="Readings") as running:
        for truth in [p for p in LIVE if p.birth_date][:3]:
            foreign = running.fhir.get(f"{BASE}/Patient/9001")
            assert foreign.status_code == 404 and outcome_of(foreign)["issue"][0]["code"] == "not-found"
            clock.now += timedelta(seconds=601)
            read = running.fhir.get(f"{BASE}/Patient/{truth.id}")
            assert read.status_code == 200, read.text[:300]
            clock.now += timedelta(seconds=601)
            found = running.fhir.get_ok(f"{BASE}/Patient", params={"birthdate": str(truth.birth_date)})
            assert str(truth.id) in {p["id"] for p in _matches(found)}


@pytest.mark.parametrize("shape", ["day_and_times", "day_and_rails_times"])
def test_a_visit_kept_as_a_day_and_times_of_day_is_dated_and_one_past_midnight_ends_the_day_after(shape: str) -> None:
    # DATE and TIME columns on the app's clock (UTC here), the times alone or (Rails) on the dummy
    # day 2000-01-01: the visit that ends after midnight UTC (an evening one in Chicago) ends on the
    # day after its `date`; none is dated 2000-01-01.
    (patient, visit) = next((p, e) for p in LIVE for e in p.encounters if e.end and e.end.date() != e.start.date())
    split = partial(create_sandbox, CLINIC, encounter_shape=shape)
    with gateway_over("nextvisit", split, organization="Readings") as running:
        bundle = running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": str(patient.id), "_count": "100"})
        assert outcome_notes(bundle) == []
        periods = {e["identifier"][0]["value"]: e["period"] for e in _matches(bundle)}
        assert periods == {
            str(e.id): {"start": _start(e), **({"end": _end(e)} if e.end else {})} for e in patient.encounters
        }
        assert periods[str(visit.id)]["end"] > periods[str(visit.id)]["start"]
        ccd = running.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": str(patient.id)})
        (document,) = [e["resource"] for e in ccd["entry"] if e["resource"]["id"].startswith("ccd-")]
        assert running.fhir.get(f"{BASE}/{document['content'][0]['attachment']['url']}").status_code == 200


def test_visits_answered_a_page_at_a_time_are_never_a_complete_list_short_of_some() -> None:
    # A show whose `encounters` is a paginated relation (3 a page): the busiest patient's first
    # page is all the answer holds. The search says the rest are unknown and gives no total, a
    # visit off that page is no "does not exist", and no CCD is made without them.
    paged = partial(create_sandbox, CLINIC, encounters_per_page=3)
    newest_first = sorted(BUSY.encounters, key=lambda e: (e.start, -e.id), reverse=True)
    with gateway_over("nextvisit", paged, organization="Readings") as running:
        bundle = running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": str(BUSY.id)})
        assert sorted(e["identifier"][0]["value"] for e in _matches(bundle)) == sorted(
            str(e.id) for e in newest_first[:3]
        )
        assert "total" not in bundle
        (said,) = outcome_notes(bundle)
        assert f"Patient/{BUSY.id}" in said and "only its first page" in said
        off_page = running.fhir.get(f"{BASE}/Encounter/{BUSY.id}.e.{newest_first[-1].id}")
        assert off_page.status_code == 502, off_page.text[:300]
        docref = running.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": str(BUSY.id)})
        (ccd,) = [e["resource"] for e in docref["entry"] if e["resource"]["id"].startswith("ccd-")]
        assert running.fhir.get(f"{BASE}/{ccd['content'][0]['attachment']['url']}").status_code == 502
        # A patient whose visits fit on one page is answered whole.
        few = next(p for p in LIVE if 0 < len(p.encounters) <= 3)
        whole = running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": str(few.id)})
        assert (len(_matches(whole)), whole.get("total"), outcome_notes(whole)) == (len(few.encounters),) * 2 + ([],)


def test_empty_lists_an_answer_leaves_out_are_none_where_the_list_shows_it_leaves_them_out() -> None:
    # Go's `json:"encounters,omitempty"`: a patient without visits or medications has no
    # `encounters` or `latest_medications` key, though they were included. The list, asked for
    # the relation, carries it for the patients that have some and leaves it out for the rest:
    # an answer without it is "none", not unknown (no outcome entry, a total, and a CCD).
    omitting = partial(create_sandbox, CLINIC, empty_lists="omitted")
    renderer = Renderer(CLINIC)
    bare = next(p for p in LIVE if not p.encounters and not renderer.patient(p).doc["latest_medications"])
    with gateway_over("nextvisit", omitting, organization="Readings") as running:
        for kind in ("Encounter", "MedicationStatement"):
            bundle = running.fhir.get_ok(f"{BASE}/{kind}", params={"patient": str(bare.id)})
            assert (_matches(bundle), bundle.get("total"), outcome_notes(bundle)) == ([], 0, []), kind
        docref = running.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": str(bare.id)})
        (ccd,) = [e["resource"] for e in docref["entry"] if e["resource"]["id"].startswith("ccd-")]
        response = running.fhir.get(f"{BASE}/{ccd['content'][0]['attachment']['url']}")
        assert response.status_code == 200, response.text[:300]
        # A patient with visits still has them all.
        busy = running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": str(BUSY.id)})
        assert (len(_matches(busy)), busy.get("total")) == (len(BUSY.encounters),) * 2


def test_a_visit_written_as_its_notes_state_keeps_its_status_and_a_voided_one_is_in_no_ccd() -> None:
    # A documentation platform's visit status is its note's: `signed`, `amended` after a
    # correction (a visit that took place), `void` for a note made in error. Read as `unknown`,
    # an amended visit lost its status and a voided one was listed in the CCD as care given.
    visits = sorted(BUSY.encounters, key=lambda e: e.id)
    voided = next(e for e in visits if e.status == "finished" and e.locked and e.id % 2 == 1)
    assert any(e.status == "finished" and e.locked and e.id % 2 == 0 for e in visits)  # an amended one
    charted = partial(create_sandbox, CLINIC, encounter_statuses="note", voided_encounter=voided.id)
    with gateway_over("nextvisit", charted, organization="Readings") as running:
        bundle = running.fhir.get_ok(f"{BASE}/Encounter", params={"patient": str(BUSY.id)})
        got = {e["identifier"][0]["value"]: e["status"] for e in _matches(bundle)}
        expected = {str(e.id): STATUS[e.status] for e in visits} | {str(voided.id): "entered-in-error"}
        assert got == expected
        docref = running.fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": str(BUSY.id)})
        (ccd,) = [e["resource"] for e in docref["entry"] if e["resource"]["id"].startswith("ccd-")]
        response = running.fhir.get(f"{BASE}/{ccd['content'][0]['attachment']['url']}")
        assert response.status_code == 200, response.text[:300]
        (section,) = etree.fromstring(response.content).xpath(
            "//v3:section[v3:code/@code='46240-8']", namespaces={"v3": "urn:hl7-org:v3"}
        )
        took_place = [e for e in visits if e.status in ("finished", "arrived") and e is not voided]
        assert len(section.xpath("v3:entry", namespaces={"v3": "urn:hl7-org:v3"})) == len(took_place)


def test_a_list_paged_by_json_api_page_number_is_walked_whole() -> None:
    # Spatie's `jsonPaginate()` (the sibling of the query builder whose `filter[...]`, `include`
    # and `sort` the docs take) reads `page[number]`, not `page`, and links to `page[number]=2`:
    # asked for `page=2`, it answered the first page again, and the walk stopped there ("cannot
    # be read past page 1").
    json_api = partial(create_sandbox, CLINIC, paging="json_api")
    with gateway_over("nextvisit", json_api, organization="Readings") as running:
        pages = list(running.fhir.pages(f"{BASE}/Patient", _count=40))
        assert [o for page in pages for o in outcome_notes(page)] == []
        assert Counter(p["id"] for page in pages for p in _matches(page)) == Counter(str(p.id) for p in LIVE)
        assert pages[0]["total"] == len(LIVE)


def test_an_unpaged_list_whose_empty_links_and_meta_are_php_arrays_is_read() -> None:
    # A Laravel handler answering every patient as the docs' example shows the envelope, built
    # from PHP arrays: `response()->json(['data' => $rows, 'links' => [], 'meta' => []])`.
    unpaged = partial(create_sandbox, CLINIC, paging="none", empty_envelope="array")
    with gateway_over("nextvisit", unpaged, organization="Readings") as running:
        pages = list(running.fhir.pages(f"{BASE}/Patient", _count=100))
        assert Counter(p["id"] for page in pages for p in _matches(page)) == Counter(str(p.id) for p in LIVE)
        assert [o for page in pages for o in outcome_notes(page)] == []
        # A read of no patient looks among the deleted ones in the list: not found, not a 502.
        assert running.fhir.get(f"{BASE}/Patient/999999").status_code == 404


def _end(encounter: Encounter) -> str:
    assert encounter.end is not None
    return encounter.end.isoformat().replace("+00:00", "Z")
