"""The Dental PMS under every reading its docs allow of the free-text `search`: the
simulator's switches (sandboxes.dentalpms.readings) against the same adapter, compared with
the clinic.

Each variant runs its own gateway with one Dental PMS sandbox tenant. Whatever the vendor's
reading (accent-sensitive, case-sensitive, names stored decomposed, phones matched only as
stored, formatted or in E.164 `+15551234567`, prefix instead of substring), every live
patient is found by family, given, phone (as digits and formatted), email (in any case) and
chart number, awkward unicode names included, and each answer is exactly the clinic's:
nothing lost to a term the vendor reads differently. Whatever the spelling of the answers
(timestamps with `Z`, an offset or none, dates as date-times, at midnight or at a midnight
of another zone converted, `1980-04-01T19:00:00-05:00` for the 2nd, booleans and numbers as text,
null fields left out, a sparse cursor `page_info`, enum values as Java or .NET names, empty
dates as the zero date `0001-01-01`, vital signs not taken as `0`, fields at their documented
default left out, decimals in Java's scientific notation `1.5E+2`, a reference to nothing as
PHP's empty array `[]`), the
clinic walk finds every live patient, reads it,
and serves each patient's allergies, medications, problems and vital signs exactly as the
clinic holds them, every resource valid (FhirHttp checks each one it receives). Whatever the
vendor does with archived records (serves an archived patient, answers 410 for it or 404 as
for none; lists
soft-deleted sub-records or leaves them out), archived ones are never served and never
counted; whatever page size it takes (the documented default of 50 as its bound), every list
is walked; a 404 (spelled as for a path the vendor does not have, too), or a 204 with no
body, for an empty list is an empty list, with or without the counts by location. Whatever
query booleans it takes (`true`, or only `1` as Laravel's `boolean` rule), a status search
serves the records in that status.
Whatever the patient lists answer without a `status` (every patient, or only active ones as
the counts endpoint defaults), whatever their `total` counts (archived patients too), wherever
`dob_to` ends (on that day, or before it) and however short a `search` may be, every live
patient is found, by birth date up to the last day too, and counted as it is served.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.app import create_app as create_gateway
from gateway.contract import Sandbox
from gateway.sandbox_host import serve_in_thread
from gateway.settings import Settings, TenantSettings
from mappings.ids import child_id, split_child_id
from mappings.registry import VENDORS
from mappings.terminology import MEDICATION_STATUS
from sandboxes.clinic import AWKWARD, Clinic, Patient, VitalSigns, build_clinic
from sandboxes.dentalpms import ORG_ID, create_sandbox
from sandboxes.dentalpms.app import create_app
from sandboxes.dentalpms.ids import record_uuid
from sandboxes.toolkit.phones import format_us_phone
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp
from tests.support.text import fold
from tests.support.variants import gateway_over, vendor_calls

TENANT = "dpms"
BASE = f"/fhir/{TENANT}"
BASE_OVER = "/fhir/dentalpms"  # a gateway of its own (`gateway_over`): the tenant is the vendor

# Each variant combines readings of the `search` with spellings of the answers (the
# simulator's switches, sandboxes.dentalpms.app), so that every value of every switch is met
# by some variant while the matrix stays at four gateways.
VARIANTS: dict[str, dict[str, str | int]] = {
    "documented": {},
    "accent-sensitive-phones-as-stored-strings-offset-absent": {
        "search_accents": "sensitive",
        "search_case": "sensitive",
        "search_phones": "as_stored",
        "scalars": "strings",
        "timestamps": "offset",
        "dates": "utc_midnight_local",
        "nulls": "absent",
        "page_info": "sparse",
        "error_bodies": "detail_text",
        "vital_times": "utc",
        "patch_nulls": "ignored",
        "enums": "upper",
        "defaults": "omitted",
        "references": "array",
        "query_booleans": "digits",
        "query_enums": "names",
        "body_enums": "names",
        "patient_deleted_at": "hidden",
        "empty_lists": "no_content",
        "list_statuses": "active",
        "counts_endpoint": "not_implemented",
        "create_statuses": "ignored",
        "archive_versions": "required",
        "wrappers": "all",
    },
    "nfd-prefix-digits-naive-datetimes": {
        "search_accents": "sensitive_nfd",
        "search_phones": "e164",
        "search_match": "prefix",
        "scalars": "digits",
        "timestamps": "naive",
        "dates": "datetime",
        "past_end": "not_found_from_first",
        "error_bodies": "error_object",
        "archived_records": "listed",
        "enums": "pascal",
        "stand_in_dates": "zero",
        "stand_in_numbers": "zero",
        "vital_times": "instant",
        "allergy_severities": "scale",
        "archived_patients": "not_found",
        "search_min_length": 3,
        "body_dates": "strict",
        # A death taken only once its date is recorded: the demo plays it under .ci/variants;
        # test_dentalpms_writes.py checks that an update whose transition is refused changes nothing.
        "death_dates": "required",
        "create_answers": "location",
    },
    "phones-as-stored-prefix-sparse": {
        "search_phones": "as_stored",
        "search_match": "prefix",
        "nulls": "absent",
        "page_info": "sparse",
        "past_end": "not_found",
        "archived_patients": "gone",
        "page_size_max": 50,
        "query_booleans": "truthy",
        "vitals_lookup": "by_id",
        "allergy_severities": "labels",
        "snomed_reactions": "expression",
        "decimals": "scientific",
        "dates": "local_midnight_utc",
        "error_bodies": "spring",
        "dob_to": "exclusive",
        "empty_lists": "not_found",
        "counts_endpoint": "absent",
        "patch_chart_numbers": "any",
        "list_totals": "with_archived",
        "empty_patches": "refused",
        "wrappers": "records",
    },
}


@dataclass(frozen=True)
class Variant:
    name: str
    url: str
    clinic: Clinic


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Iterator[Variant]:
    name: str = request.param
    token = secrets.token_urlsafe(24)
    clinic = build_clinic()
    app = create_app(clinic, org_id=ORG_ID, api_token=token, **VARIANTS[name])  # type: ignore[arg-type]

    def factory() -> Sandbox:
        return Sandbox(
            app=app, base_path="/api/v1", options=lambda root: {"org_id": ORG_ID}, secrets={"api_token": token}
        )

    conf = TenantSettings(vendor="dentalpms", sandbox=True, timezone=clinic.timezone)  # the clinic's wall clock
    settings = Settings(tenants={TENANT: conf})
    running = serve_in_thread(
        create_gateway(settings, VENDORS, {"dentalpms": factory}, access_logging=False),
        name=f"gateway-{name}",
        date_header=False,
    )
    try:
        yield Variant(name, running.url, build_clinic())
    finally:
        running.stop()


@pytest.fixture(scope="module")
def fhir(variant: Variant) -> Iterator[FhirHttp]:
    client = FhirHttp(variant.url)
    yield client
    client.close()


def _unaccented(text: str) -> str:
    """`text` as a client without the accents types it: marks dropped, upper case."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _starts(values: Iterable[str | None], wanted: str) -> bool:
    return any(fold(v).startswith(fold(wanted)) for v in values if v)


def _ids(patients: Iterable[Patient]) -> Counter[str]:
    return Counter(str(p.uuid) for p in patients)


STRIDE = 3  # each variant searches a third of the patients, a different third each: across the
# matrix every patient is searched, and the awkward names under every variant
WIDE_STRIDE = 8  # names and phones send no term: each search pages the whole clinic; an eighth
# of the patients per variant (half of them across the four)


def _sample(variant: Variant, stride: int) -> list[Patient]:
    live = live_patients(variant.clinic)
    offset = sorted(VARIANTS).index(variant.name) % stride
    awkward = {str(uuid) for uuid in AWKWARD.values()}
    return [p for i, p in enumerate(live) if i % stride == offset or str(p.uuid) in awkward]


def _check_each(
    fhir: FhirHttp,
    variant: Variant,
    param: str,
    values_of: Callable[[Patient], Iterable[str | None]],
    queries_of: Callable[[str], Iterable[str]],
    matches: Callable[[Patient, str], bool],
    stride: int = STRIDE,
) -> None:
    """Every sampled live patient (`_sample`) is found by `param` with each query its values
    give, and each answer holds exactly the live patients the clinic says match it (once each).

    Hundreds of searches: the R4 checks of every bundle (done by the other tests, and by the
    conformance suite for this vendor) would more than double the time, so they are off here."""
    live = _sample(variant, stride)
    answers: dict[str, Counter[str]] = {}
    checks, fhir.checks = fhir.checks, False
    try:
        _search_each(fhir, live, live_patients(variant.clinic), param, values_of, queries_of, matches, answers)
    finally:
        fhir.checks = checks


def _search_each(
    fhir: FhirHttp,
    live: list[Patient],
    everyone: list[Patient],
    param: str,
    values_of: Callable[[Patient], Iterable[str | None]],
    queries_of: Callable[[str], Iterable[str]],
    matches: Callable[[Patient, str], bool],
    answers: dict[str, Counter[str]],
) -> None:
    for patient in live:
        for value in values_of(patient):
            if not value:
                continue
            for query in queries_of(value):
                if query not in answers:
                    found = fhir.search_all(f"{BASE}/Patient", **{param: query, "_count": 100})
                    answers[query] = Counter(r["id"] for r in found)
                    expected = _ids(p for p in everyone if matches(p, query))
                    assert answers[query] == expected, (param, query)
                assert str(patient.uuid) in answers[query], (param, query, patient.uuid)


def test_every_patient_is_found_by_family(fhir: FhirHttp, variant: Variant) -> None:
    _check_each(
        fhir,
        variant,
        "family",
        lambda p: [p.last_name],
        lambda v: {v, _unaccented(v), unicodedata.normalize("NFD", v)},
        lambda p, q: _starts([p.last_name], q),
    )


def test_every_patient_is_found_by_given(fhir: FhirHttp, variant: Variant) -> None:
    _check_each(
        fhir,
        variant,
        "given",
        lambda p: [p.first_name, p.middle_name, p.preferred_name],
        lambda v: {v, _unaccented(v)},
        lambda p, q: _starts([p.first_name, p.middle_name, p.preferred_name], q),
        stride=WIDE_STRIDE,
    )


def test_every_patient_is_found_by_phone_as_digits_and_formatted(fhir: FhirHttp, variant: Variant) -> None:
    _check_each(
        fhir,
        variant,
        "phone",
        lambda p: [p.mobile_phone, p.home_phone],
        lambda v: {v, format_us_phone(v)},
        lambda p, q: _digits(q) in {p.mobile_phone, p.home_phone},
        stride=WIDE_STRIDE,
    )


def test_every_patient_is_found_by_email(fhir: FhirHttp, variant: Variant) -> None:
    _check_each(
        fhir,
        variant,
        "email",
        lambda p: [p.email],
        lambda v: {v, v.upper()},
        lambda p, q: p.email is not None and p.email.casefold() == q.casefold(),
    )


def test_every_patient_is_found_by_chart_number(fhir: FhirHttp, variant: Variant) -> None:
    _check_each(
        fhir,
        variant,
        "identifier",
        lambda p: [p.chart_number],
        lambda v: {v},
        lambda p, q: p.chart_number == q,
    )


def test_awkward_names_are_found_with_and_without_accents(fhir: FhirHttp, variant: Variant) -> None:
    awkward = [variant.clinic.patient_by_uuid(uuid) for uuid in AWKWARD.values()]
    live = [p for p in awkward if not p.deleted]
    assert any(not p.last_name.isascii() for p in live)
    for patient in live:
        for family in {patient.last_name, _unaccented(patient.last_name)}:
            found = fhir.search_all(f"{BASE}/Patient", family=family, given=_unaccented(patient.first_name))
            assert str(patient.uuid) in {r["id"] for r in found}, (family, patient.first_name)


def test_counts_equal_the_clinics(fhir: FhirHttp, variant: Variant) -> None:
    live = live_patients(variant.clinic)
    renee = [p for p in live if _starts([p.first_name, p.middle_name, p.preferred_name], "renee")]
    phone = next(p.mobile_phone for p in live if p.mobile_phone)
    assert renee and phone
    for params, expected in (
        ({"given": "Renée"}, len(renee)),
        ({"given": "RENEE"}, len(renee)),
        ({"family": "FERNANDEZ"}, sum(1 for p in live if _starts([p.last_name], "fernandez"))),
        ({"family": "Ibanez"}, sum(1 for p in live if _starts([p.last_name], "ibanez"))),
        ({"phone": format_us_phone(phone)}, sum(1 for p in live if phone in {p.mobile_phone, p.home_phone})),
    ):
        body = fhir.get_ok(f"{BASE}/Patient", params={**params, "_summary": "count"})
        assert body["total"] == expected, params
        first = fhir.get_ok(f"{BASE}/Patient", params={**params, "_count": 100})
        assert first.get("total") == expected, params


def test_birthdate_narrows_a_name_search(fhir: FhirHttp, variant: Variant) -> None:
    patient = next(p for p in live_patients(variant.clinic) if p.birth_date and not p.last_name.isascii())
    found: list[dict[str, Any]] = fhir.search_all(
        f"{BASE}/Patient", family=_unaccented(patient.last_name), birthdate=patient.birth_date.isoformat()
    )
    expected = _ids(
        p
        for p in live_patients(variant.clinic)
        if p.birth_date == patient.birth_date and _starts([p.last_name], patient.last_name)
    )
    assert Counter(r["id"] for r in found) == expected


def test_a_birthdate_search_finds_the_boundary_day(fhir: FhirHttp, variant: Variant) -> None:
    # Before, a vendor reading `dob_to` as the first day not matched (as its counts endpoint's
    # `date_to` is "Exclusive") silently lost everyone born on the day a search ends at.
    live = live_patients(variant.clinic)
    born = sorted({p.birth_date for p in live if p.birth_date})
    for day in born[:: max(1, len(born) // 6)]:
        for prefix, matches in (("eq", day.__eq__), ("le", day.__ge__), ("lt", day.__gt__)):
            params = {"birthdate": f"{prefix}{day.isoformat()}", "_count": 100}
            expected = _ids(p for p in live if p.birth_date and matches(p.birth_date))
            assert Counter(r["id"] for r in fhir.search_all(f"{BASE}/Patient", **params)) == expected, params
            counted = fhir.get_ok(f"{BASE}/Patient", params={**params, "_summary": "count"})
            assert counted["total"] == sum(expected.values()), params


# -- the clinic walk ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_patients(fhir: FhirHttp) -> list[dict[str, Any]]:
    return fhir.search_all(f"{BASE}/Patient", _count=100)


def test_walk_finds_every_live_patient_once(all_patients: list[dict[str, Any]], variant: Variant) -> None:
    ids = Counter(p["id"] for p in all_patients)
    assert all(n == 1 for n in ids.values())
    assert set(ids) == {str(p.uuid) for p in live_patients(variant.clinic)}


def test_a_sorted_walk_serves_every_live_patient_in_order(fhir: FhirHttp, variant: Variant) -> None:
    # Before, a vendor whose lists answer only active patients unless a `status` is asked for
    # (as its counts endpoint's `status_set` "Defaults to active") had every inactive,
    # prospective and deceased patient silently missing from every search.
    found = fhir.search_all(f"{BASE}/Patient", _sort="-family", _count=40)
    assert Counter(p["id"] for p in found) == _ids(live_patients(variant.clinic))
    families = [fold(p["name"][0].get("family", "")) for p in found]
    assert families == sorted(families, reverse=True)


def test_walk_reads_each_patient_as_searched(
    fhir: FhirHttp, all_patients: list[dict[str, Any]], variant: Variant
) -> None:
    for resource in all_patients:
        read = fhir.get_ok(f"{BASE}/Patient/{resource['id']}")
        assert read == resource
        truth = variant.clinic.patient_by_uuid(resource["id"])
        assert resource.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
        assert resource["meta"]["versionId"].isdigit()
        assert resource["active"] is (truth.status in ("active", "prospective"))


def _vitals_expected(patient: Patient) -> int:
    return sum(_signs(reading) for reading in patient.vitals if not reading.deleted)


def _signs(reading: VitalSigns) -> int:
    """The Observations one reading becomes."""
    return int(reading.systolic is not None or reading.diastolic is not None) + sum(
        value is not None
        for value in (
            reading.pulse,
            reading.respiration_rate,
            reading.spo2,
            reading.temperature_f,
            reading.height_in,
            reading.weight_lb,
            reading.bmi,
            reading.bmi_percentile,
        )
    )


def _taken(reading: VitalSigns, zone: str) -> str:
    """When the clinic took the reading, as a FHIR dateTime on its wall clock (or its day)."""
    if reading.taken_at is None:
        return reading.taken_on.isoformat()
    return datetime.combine(reading.taken_on, reading.taken_at, ZoneInfo(zone)).isoformat()


def test_walk_serves_each_patients_records(fhir: FhirHttp, variant: Variant) -> None:
    for truth in live_patients(variant.clinic):
        patient = str(truth.uuid)
        allergies = fhir.search_all(f"{BASE}/AllergyIntolerance", patient=patient, _count=100)
        # The severity, whatever words the vendor keeps it in: on the reaction when there is one,
        # else (a reaction needs a manifestation) in a note, never lost.
        expected = Counter(
            (a.substance, "active" if a.active else "inactive", a.severity if a.reaction or a.reaction_snomed else None)
            for a in truth.allergies
            if not a.deleted
        )
        if truth.allergy_review == "nkda":
            expected[("No known drug allergies", "active", None)] += 1
        actual = Counter(
            (a["code"]["text"], a["clinicalStatus"]["coding"][0]["code"], a.get("reaction", [{}])[0].get("severity"))
            for a in allergies
        )
        kept = sum(1 for a in allergies if not a.get("reaction") and a.get("note"))
        assert kept == sum(1 for a in truth.allergies if not a.deleted and a.severity and not a.reaction), patient
        assert actual == expected, patient
        medications = fhir.search_all(f"{BASE}/MedicationStatement", patient=patient, _count=100)
        assert Counter((m["status"], m.get("effectivePeriod", {}).get("end")) for m in medications) == Counter(
            (MEDICATION_STATUS[m.status], m.stop.isoformat() if m.stop else None)
            for m in truth.medications
            if not m.deleted
        ), patient
        conditions = fhir.search_all(f"{BASE}/Condition", patient=patient, _count=100)
        assert Counter(
            (c["code"]["text"], c.get("onsetDateTime"), c.get("abatementDateTime"), _clinical(c)) for c in conditions
        ) == Counter((p.name, _day(p.onset), _day(p.resolved_on), p.status) for p in truth.problems if not p.deleted), (
            patient
        )
        observations = fhir.search_all(f"{BASE}/Observation", patient=patient, _count=100)
        assert len(observations) == _vitals_expected(truth), patient
        taken = {_taken(r, variant.clinic.timezone) for r in truth.vitals if not r.deleted}
        assert {o["effectiveDateTime"] for o in observations} == taken, patient


def test_a_status_search_serves_the_records_in_that_status(fhir: FhirHttp, variant: Variant) -> None:
    # Before, a vendor that reads a query boolean only as 1/0 (Laravel's `boolean` rule) refused
    # `is_active=true`: every clinical-status=active or status=active search was a 400.
    for truth in live_patients(variant.clinic):
        if not truth.allergies and not truth.medications:
            continue
        patient = str(truth.uuid)
        for status in ("active", "inactive"):
            allergies = fhir.search_all(f"{BASE}/AllergyIntolerance", patient=patient, **{"clinical-status": status})
            wanted = status == "active"
            expected = Counter(a.substance for a in truth.allergies if not a.deleted and a.active == wanted)
            if truth.allergy_review == "nkda" and status == "active":
                expected["No known drug allergies"] += 1
            assert Counter(a["code"]["text"] for a in allergies) == expected, (patient, status)
        medications = fhir.search_all(f"{BASE}/MedicationStatement", patient=patient, status="active")
        assert len(medications) == sum(1 for m in truth.medications if not m.deleted and m.status == "active"), patient


@pytest.mark.parametrize("booleans", ["any", "digits", "truthy"])
def test_a_status_search_asks_each_vendor_page_once(booleans: str) -> None:
    # Before, a vendor that refuses `is_active=true` (Laravel's `boolean` rule) was asked twice
    # for every page of every status search, the refused ask first: it is refused once.
    patients = [p for p in live_patients(build_clinic()) if p.allergies][:3]
    with gateway_over("dentalpms", partial(create_sandbox, query_booleans=booleans)) as running:
        costs = []
        for patient in patients:
            before = vendor_calls(running.fhir, "dentalpms")
            params = {"patient": str(patient.uuid), "clinical-status": "active"}
            response = running.fhir.get("/fhir/dentalpms/AllergyIntolerance", params=params)
            assert response.status_code == 200, response.text
            costs.append(vendor_calls(running.fhir, "dentalpms") - before)
    # The patient and one page of its allergies (the first search may learn the refusal).
    assert costs[1:] == [2] * (len(patients) - 1), costs


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _clinical(resource: dict[str, Any]) -> str | None:
    status: str | None = resource.get("clinicalStatus", {}).get("coding", [{}])[0].get("code")
    return status


def test_walk_pages_sub_records_to_the_end(fhir: FhirHttp, variant: Variant) -> None:
    """Small vendor pages: every page boundary (and, with `past_end`, the end) is crossed."""
    truth = variant.clinic.awkward_patient("many_vitals")
    live = [r for r in truth.vitals if not r.deleted]
    assert len(live) > 2
    found = fhir.search_all(f"{BASE}/Observation", patient=str(truth.uuid), _count=2)
    assert len(found) == _vitals_expected(truth)
    first = fhir.get_ok(f"{BASE}/Observation/{found[0]['id']}")
    assert first == found[0]


def _observations_of(patients: list[Patient], switches: dict[str, str]) -> list[list[dict[str, Any]]]:
    """Each patient's Observations, served by a gateway over a Dental PMS playing `switches`."""
    with gateway_over("dentalpms", partial(create_sandbox, **switches)) as running:
        return [running.fhir.search_all(f"{BASE_OVER}/Observation", patient=str(p.uuid), _count=100) for p in patients]


def test_a_vital_sign_written_as_zero_is_one_not_taken() -> None:
    # Before, a vendor writing a vital sign not taken as its type's zero (`0`, `"0.00"`: Go's or
    # C#'s non-nullable numbers) had it served as measured: a blood pressure of 0/0 mm[Hg], a
    # weight of 0 lb, an adult's BMI percentile of 0 %, beside every real measurement.
    clinic = build_clinic()
    patients = [clinic.awkward_patient("partial_vitals"), clinic.awkward_patient("many_vitals")]
    patients += [p for p in live_patients(clinic) if any(r.bmi_percentile for r in p.vitals)][:1]
    documented, zeros = (_observations_of(patients, switches) for switches in ({}, {"stand_in_numbers": "zero"}))
    for patient, expected, observations in zip(patients, documented, zeros, strict=True):
        assert len(expected) == _vitals_expected(patient), patient.uuid
        assert observations == expected, patient.uuid


def test_a_reading_taken_as_one_moment_is_that_moment() -> None:
    # A .NET service whose `DateTime DateTaken` holds the moment a reading was taken writes it
    # whole (`2024-05-01T19:30:00Z`) where the reference types a date, and `time_taken` as its
    # `TimeOfDay` (`19:30:00`). Before, the date-time was read as a midnight converted to UTC
    # (the UTC midnight nearest it: the next day for an afternoon reading) and the time as the
    # clinic's wall clock: every timed reading was served a day late and hours off.
    clinic = build_clinic()
    patients = [clinic.awkward_patient("many_vitals"), clinic.awkward_patient("partial_vitals")]
    documented, instants = (_observations_of(patients, switches) for switches in ({}, {"vital_times": "instant"}))
    for patient, expected, observations in zip(patients, documented, instants, strict=True):
        assert {o["effectiveDateTime"] for o in expected} == {
            _taken(r, clinic.timezone) for r in patient.vitals if not r.deleted
        }
        assert observations == expected, patient.uuid


def test_vital_signs_are_found_by_the_day_and_the_instant_they_were_taken(fhir: FhirHttp, variant: Variant) -> None:
    """Whether the vendor writes a reading's time on the clinic's wall clock or in UTC (its day
    then the UTC one), `date` finds it by the clinic's day and by its instant given in UTC."""
    truth = variant.clinic.awkward_patient("many_vitals")
    live = [r for r in truth.vitals if not r.deleted]
    timed = [r for r in live if r.taken_at is not None]
    assert len(timed) > 8
    for reading in timed[::4]:
        day = reading.taken_on.isoformat()
        on_day = fhir.search_all(f"{BASE}/Observation", patient=str(truth.uuid), date=day, _count=100)
        assert len(on_day) == sum(_signs(r) for r in live if r.taken_on == reading.taken_on), day
        assert {o["effectiveDateTime"][:10] for o in on_day} == {day}
        taken = datetime.combine(reading.taken_on, reading.taken_at, ZoneInfo(variant.clinic.timezone))
        instant = taken.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        at = fhir.search_all(f"{BASE}/Observation", patient=str(truth.uuid), date=instant, _count=100)
        assert len(at) == _signs(reading) and {o["effectiveDateTime"] for o in at} == {taken.isoformat()}, instant


def test_another_patients_vital_signs_are_not_read_under_a_patient(fhir: FhirHttp, variant: Variant) -> None:
    """An Observation id names its patient and the vendor's reading: a reading of another patient
    is no Observation of this one, even when the vendor finds a reading by its uuid alone."""
    owner, other = [p for p in live_patients(variant.clinic) if any(not r.deleted for r in p.vitals)][:2]
    observation = fhir.search_all(f"{BASE}/Observation", patient=str(owner.uuid), _count=1)[0]
    parts = split_child_id(observation["id"])
    assert parts is not None and parts[0] == str(owner.uuid)
    crafted = child_id(str(other.uuid), parts[1], parts[2])
    assert fhir.get(f"{BASE}/Observation/{crafted}").status_code == 404
    assert fhir.get_ok(f"{BASE}/Observation/{observation['id']}") == observation


def test_deleted_patients_stay_deleted(fhir: FhirHttp, variant: Variant) -> None:
    deleted = [p for p in variant.clinic.patients if p.deleted]
    assert deleted
    # 410; 404 from a vendor that keeps archived patients out of every endpoint (a soft-delete
    # filter), where nothing tells a deleted patient from one that never was.
    hidden = VARIANTS[variant.name].get("archived_patients") == "not_found"
    for patient in deleted[:5]:
        assert fhir.get(f"{BASE}/Patient/{patient.uuid}").status_code == (404 if hidden else 410)
        assert fhir.get_ok(f"{BASE}/AllergyIntolerance", params={"patient": str(patient.uuid)})["total"] == 0


def _archived_records(clinic: Clinic) -> list[tuple[str, str, str]]:
    """(FHIR type, FHIR id, patient uuid) of soft-deleted sub-records of live patients."""
    found: list[tuple[str, str, str]] = []
    for patient in live_patients(clinic):
        pid = str(patient.uuid)
        for kind, fhir_type, records in (
            ("allergy", "AllergyIntolerance", patient.allergies),
            ("medication", "MedicationStatement", patient.medications),
            ("disease", "Condition", patient.problems),
        ):
            found += [
                (fhir_type, child_id(pid, str(record_uuid(clinic, kind, r.id))), pid) for r in records if r.deleted
            ]  # type: ignore[arg-type]
    return found


def test_archived_records_are_never_served_or_counted(fhir: FhirHttp, variant: Variant) -> None:
    archived = _archived_records(variant.clinic)
    assert {t for t, _, _ in archived} == {"AllergyIntolerance", "MedicationStatement", "Condition"}
    for fhir_type, resource_id, patient in archived[:12]:
        assert fhir.get(f"{BASE}/{fhir_type}/{resource_id}").status_code in (404, 410), resource_id
        bundle = fhir.get_ok(f"{BASE}/{fhir_type}", params={"patient": patient, "_count": 100})
        served = [e["resource"]["id"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == fhir_type]
        assert resource_id not in served
        if "total" in bundle:  # a total, when given, counts what is served (one page holds them all)
            assert bundle["total"] == len(served), (fhir_type, patient)


def test_an_empty_allergy_list_still_says_no_known_drug_allergies(fhir: FhirHttp, variant: Variant) -> None:
    """However the vendor answers an empty list (an empty page, or a 404 `if not rows`), the
    patient's reviewed "no known drug allergies" is served, and counted."""
    nkda = [p for p in live_patients(variant.clinic) if p.allergy_review == "nkda" and not p.allergies]
    assert nkda
    for patient in nkda[:5]:
        bundle = fhir.get_ok(f"{BASE}/AllergyIntolerance", params={"patient": str(patient.uuid)})
        assert [e["resource"]["code"]["text"] for e in bundle["entry"]] == ["No known drug allergies"]
        assert bundle["total"] == 1


def test_a_full_page_of_100_is_served_whatever_page_size_the_vendor_takes(fhir: FhirHttp, variant: Variant) -> None:
    pages = fhir.get_ok(f"{BASE}/Patient", params={"_count": 100})
    entries = pages.get("entry", [])
    assert 50 <= len(entries) <= 100 and any(link["relation"] == "next" for link in pages["link"])
    truth = variant.clinic.awkward_patient("many_vitals")
    observations = fhir.get_ok(f"{BASE}/Observation", params={"patient": str(truth.uuid), "_count": 100})
    assert len(observations["entry"]) == 100


def test_a_count_of_records_never_counts_archived_ones() -> None:
    # A fresh gateway, whose first question is the count: a vendor listing soft-deleted records
    # may count them in its `total`, and nothing seen before may tell the gateway so.
    clinic = build_clinic()
    owners = {pid for fhir_type, _, pid in _archived_records(clinic) if fhir_type == "MedicationStatement"}
    with gateway_over("dentalpms", lambda: create_sandbox(archived_records="listed")) as running:
        for patient in sorted(owners)[:5]:
            live = sum(not m.deleted for m in clinic.patient_by_uuid(patient).medications)
            path = "/fhir/dentalpms/MedicationStatement"
            counted = running.fhir.get_ok(path, params={"patient": patient, "_summary": "count"})
            assert counted["total"] == live, patient
            assert len(running.fhir.search_all(path, patient=patient, _count=1)) == live


def test_a_count_of_patients_never_counts_archived_ones() -> None:
    # A vendor whose list `total` is counted without the soft-delete filter its items have
    # counts archived patients in it. Before, that total was the Bundle's: a birth-date search
    # (or its `_summary=count`) counted the archived patients born that day, and a search of
    # every patient every archived one. What the list holds is counted instead.
    clinic = build_clinic()
    live = live_patients(clinic)
    born = sorted({p.birth_date for p in clinic.patients if p.deleted and p.birth_date})
    assert born
    with gateway_over("dentalpms", partial(create_sandbox, list_totals="with_archived")) as running:
        for day in born[:6]:
            expected = _ids(p for p in live if p.birth_date == day)
            params = {"birthdate": day.isoformat()}
            counted = running.fhir.get_ok(f"{BASE_OVER}/Patient", params={**params, "_summary": "count"})
            assert counted["total"] == sum(expected.values()), day
            page = running.fhir.get_ok(f"{BASE_OVER}/Patient", params={**params, "_count": 1})
            assert page["total"] == sum(expected.values()), day
            found = running.fhir.search_all(f"{BASE_OVER}/Patient", **params, _count=1)
            assert Counter(r["id"] for r in found) == expected, day
        everyone = running.fhir.get_ok(f"{BASE_OVER}/Patient", params={"_count": 1})
        assert everyone["total"] == len(live)


def test_a_search_matching_no_one_is_empty(fhir: FhirHttp, variant: Variant) -> None:
    # The vendor may answer page 1 of an empty list 404 (`past_end="not_found_from_first"`).
    bundle = fhir.get_ok(f"{BASE}/Patient", params={"birthdate": "1801-02-03"})
    assert bundle.get("entry", []) == [] and bundle["total"] == 0


def test_a_list_matching_no_one_answered_404_is_an_empty_list() -> None:
    # A Spring or ASP.NET controller may answer `NotFound()` for a filter that matches no one,
    # under Spring Boot's error body the very 404 of a path it does not have. Before, every
    # such answer of the patient list was taken for a misconfigured tenant: under lists that
    # answer only active patients unless asked (each status then asked on its own), a 502 for
    # any birth-date search on a day one status has no one born, and for a search matching no one.
    live = live_patients(build_clinic())
    sandbox = partial(create_sandbox, empty_lists="not_found", list_statuses="active", error_bodies="spring")
    with gateway_over("dentalpms", sandbox) as running:
        deceased = next(p for p in live if p.status == "deceased" and p.birth_date)
        active = next(p for p in live if p.status == "active" and p.birth_date)
        for born in (deceased.birth_date, active.birth_date):
            assert born is not None
            params = {"birthdate": born.isoformat(), "_count": 100}
            expected = _ids(p for p in live if p.birth_date == born)
            assert Counter(r["id"] for r in running.fhir.search_all(f"{BASE_OVER}/Patient", **params)) == expected
            counted = running.fhir.get_ok(f"{BASE_OVER}/Patient", params={**params, "_summary": "count"})
            assert counted["total"] == sum(expected.values()), params
        nobody = running.fhir.get_ok(f"{BASE_OVER}/Patient", params={"birthdate": "1801-02-03"})
        assert nobody.get("entry", []) == [] and nobody["total"] == 0
        everyone = running.fhir.search_all(f"{BASE_OVER}/Patient", _count=100)
        assert Counter(r["id"] for r in everyone) == _ids(live)


def test_a_vendor_taking_enum_values_only_by_name_is_searched() -> None:
    # A Spring service binds `status`, `problem_status`, `sort_by` and `sort_dir` to its enums by
    # the constants' names (`ACTIVE`, `LAST_NAME`), and answers the documented `active` 400. Before,
    # every Patient search was a 400 to the client (the gateway asks each status's list to learn
    # what the lists answer without one), and so was every Condition search by clinical-status.
    clinic = build_clinic()
    live = live_patients(clinic)
    sandbox = partial(create_sandbox, query_enums="names", enums="upper")
    with gateway_over("dentalpms", sandbox) as running:
        everyone = running.fhir.search_all(f"{BASE_OVER}/Patient", _sort="-family", _count=100)
        assert Counter(p["id"] for p in everyone) == _ids(live)
        families = [fold(p["name"][0].get("family", "")) for p in everyone]
        assert families == sorted(families, reverse=True)
        born = next(p.birth_date for p in live if p.birth_date)
        counted = running.fhir.get_ok(f"{BASE_OVER}/Patient", params={"birthdate": born.isoformat(), "_count": 100})
        assert counted["total"] == sum(1 for p in live if p.birth_date == born)
        owner = next(p for p in live if {q.status for q in p.problems if not q.deleted} >= {"active", "resolved"})
        for status in ("active", "resolved"):
            found = running.fhir.search_all(
                f"{BASE_OVER}/Condition", patient=str(owner.uuid), **{"clinical-status": status}
            )
            expected = Counter(q.name for q in owner.problems if not q.deleted and q.status == status)
            assert Counter(c["code"]["text"] for c in found) == expected, status
        # Learned once: a search then costs what it costs at a vendor taking the documented spelling.
        before = vendor_calls(running.fhir, "dentalpms")
        running.fhir.get_ok(f"{BASE_OVER}/Condition", params={"patient": str(owner.uuid), "clinical-status": "active"})
        assert vendor_calls(running.fhir, "dentalpms") - before == 2


def test_a_status_search_never_sends_a_false_the_vendor_may_read_as_true() -> None:
    # A NestJS service converting its query with class-transformer's `@Type(() => Boolean)` reads
    # `is_active=false` as `Boolean("false")`: true. Before, clinical-status=inactive and every
    # status but active (stopped, completed, on-hold) were asked with it and answered the active
    # records, which the gateway then filtered out: those searches came back empty.
    clinic = build_clinic()
    owners = [p for p in live_patients(clinic) if any(not a.deleted and not a.active for a in p.allergies)][:3]
    owners += [p for p in live_patients(clinic) if {m.status for m in p.medications if not m.deleted} - {"active"}][:3]
    assert len(owners) == 6
    with gateway_over("dentalpms", partial(create_sandbox, query_booleans="truthy")) as running:
        for truth in owners:
            patient = str(truth.uuid)
            inactive = running.fhir.search_all(
                f"{BASE_OVER}/AllergyIntolerance", patient=patient, **{"clinical-status": "inactive"}
            )
            expected = Counter(a.substance for a in truth.allergies if not a.deleted and not a.active)
            assert Counter(a["code"]["text"] for a in inactive) == expected, patient
            for status in ("stopped", "completed", "on-hold"):
                found = running.fhir.search_all(f"{BASE_OVER}/MedicationStatement", patient=patient, status=status)
                wanted = sum(1 for m in truth.medications if not m.deleted and MEDICATION_STATUS[m.status] == status)
                assert len(found) == wanted and {m["status"] for m in found} <= {status}, (patient, status)


def test_a_patient_archived_without_deleted_at_in_its_answers_stays_deleted() -> None:
    # A service whose serializer leaves the soft-delete column out (Laravel's `$hidden =
    # ['deleted_at']`) tells an archived patient only by its `status`, `archived`. Before, such a
    # patient was read as a live one (200, `active` false) and its allergies, medications,
    # problems and vital signs were served and counted.
    clinic = build_clinic()
    deleted = [p for p in clinic.patients if p.deleted]
    assert any(p.allergies or p.medications or p.vitals for p in deleted)
    with gateway_over("dentalpms", partial(create_sandbox, patient_deleted_at="hidden")) as running:
        for patient in deleted[:6]:
            assert running.fhir.get(f"{BASE_OVER}/Patient/{patient.uuid}").status_code == 410, patient.uuid
            for fhir_type in ("AllergyIntolerance", "MedicationStatement", "Condition", "Observation"):
                bundle = running.fhir.get_ok(f"{BASE_OVER}/{fhir_type}", params={"patient": str(patient.uuid)})
                assert bundle.get("entry", []) == [] and bundle["total"] == 0, (fhir_type, patient.uuid)
        found = running.fhir.search_all(f"{BASE_OVER}/Patient", _count=100)
        assert Counter(p["id"] for p in found) == _ids(live_patients(clinic))


@pytest.mark.parametrize("written", ["term", "expression"])
def test_a_reaction_written_as_a_snomed_term_or_expression_is_coded_only_by_its_concept_id(written: str) -> None:
    # `snomed_reaction` is typed only `string`: a service may keep the term picked (`Hives`) or
    # the concept as SNOMED CT's compositional grammar writes it (`247472004 |Hives|`). Before,
    # either was sent as the SNOMED code itself: `{"system": "http://snomed.info/sct", "code":
    # "Hives"}` or `"247472004 |Hives|"`, codes that are no SNOMED concept id.
    clinic = build_clinic()
    owners = [p for p in live_patients(clinic) if any(a.reaction_snomed and not a.deleted for a in p.allergies)][:4]
    assert owners
    served: list[list[list[dict[str, Any]]]] = []
    for switches in ({}, {"snomed_reactions": written}):
        with gateway_over("dentalpms", partial(create_sandbox, **switches)) as running:
            served.append(
                [running.fhir.search_all(f"{BASE_OVER}/AllergyIntolerance", patient=str(p.uuid)) for p in owners]
            )
    for documented, read in zip(*served, strict=True):
        for expected, allergy in zip(documented, read, strict=True):
            for want, got in zip(expected.get("reaction", []), allergy.get("reaction", []), strict=True):
                manifestation, wanted = got["manifestation"][0], want["manifestation"][0]
                assert manifestation["text"] == wanted["text"]
                codes = [c["code"] for c in manifestation.get("coding", [])]
                assert codes == ([] if written == "term" else [c["code"] for c in wanted.get("coding", [])])
