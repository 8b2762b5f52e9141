"""The Dental PMS readers: every spelling the docs leave open reads as the documented one
(the same FHIR comes out), and only what cannot mean anything makes a record unreadable."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from gateway.contract import Drift, DriftKey, TenantContext, VendorModel
from mappings.dentalpms.allergy import allergy_to_fhir
from mappings.dentalpms.condition import condition_to_fhir
from mappings.dentalpms.medication import medication_to_fhir
from mappings.dentalpms.observation import FIELDS, vitals_to_fhir
from mappings.dentalpms.patient import patient_to_fhir
from mappings.dentalpms.reader import Reader
from mappings.dentalpms.vendor import (
    VendorAllergy,
    VendorCursorList,
    VendorDisease,
    VendorMedication,
    VendorPageList,
    VendorPatient,
    VendorVitals,
    canonical,
    is_deleted,
)
from sandboxes.clinic import build_clinic
from sandboxes.dentalpms.render import Renderer, reference
from sandboxes.dentalpms.shapes import Shapes

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
CLINIC = build_clinic()
RENDER = Renderer(CLINIC)
# Every value of every spelling switch, in fourteen combinations.
SPELLINGS = [
    Shapes(timestamps="offset", dates="datetime", scalars="strings", nulls="absent"),
    Shapes(timestamps="naive", dates="date", scalars="digits", nulls="null"),
    Shapes(timestamps="naive", dates="datetime", scalars="json", nulls="absent"),
    Shapes(timestamps="z", dates="date", scalars="strings", nulls="null"),
    Shapes(enums="upper", stand_in_dates="zero", defaults="omitted", nulls="absent", scalars="strings"),
    Shapes(enums="pascal", stand_in_dates="zero", defaults="omitted", timestamps="offset", dates="datetime"),
    Shapes(decimals="scientific", nulls="absent", timestamps="offset"),
    Shapes(references="array", scalars="digits"),
    Shapes(dates="utc_midnight_local", timestamps="offset"),
    Shapes(dates="local_midnight_utc", timestamps="naive", nulls="absent"),
    Shapes(stand_in_numbers="zero", decimals="scientific", scalars="strings"),
    Shapes(stand_in_numbers="zero", nulls="absent"),
    Shapes(wrappers="records", scalars="strings", nulls="absent"),
    Shapes(wrappers="all", enums="upper", timestamps="offset"),
]
Mapper = Callable[[dict[str, Any]], Any]


def _records() -> list[tuple[type[VendorModel], Mapper, dict[str, Any]]]:
    """(model, mapper, documented record) for every record of a few clinic patients."""
    out: list[tuple[type[VendorModel], Mapper, dict[str, Any]]] = []
    patients = [p for p in CLINIC.patients if p.allergies and p.vitals and p.medications and p.problems][:3]
    for patient in patients:
        pref = reference(patient.uuid, patient.first_name)
        pid = str(patient.uuid)
        out.append((VendorPatient, lambda r: patient_to_fhir(r, CTX), RENDER.patient(patient)))
        for allergy in patient.allergies:
            out.append(
                (
                    VendorAllergy,
                    partial(allergy_to_fhir, patient_id=pid, ctx=CTX),
                    RENDER.allergy(allergy, patient, pref),
                )
            )
        for medication in patient.medications:
            record = RENDER.medication(medication, patient, pref)
            out.append((VendorMedication, partial(medication_to_fhir, patient_id=pid, ctx=CTX), record))
        for problem in patient.problems:
            out.append(
                (
                    VendorDisease,
                    partial(condition_to_fhir, patient_id=pid, ctx=CTX),
                    RENDER.disease(problem, patient, pref),
                )
            )
        for reading in patient.vitals:
            out.append(
                (VendorVitals, partial(vitals_to_fhir, patient_id=pid, ctx=CTX), RENDER.vitals(reading, patient, pref))
            )
    return out


RECORDS = _records()


@pytest.mark.parametrize("shapes", SPELLINGS, ids=repr)
def test_every_spelling_maps_to_the_documented_fhir(shapes: Shapes) -> None:
    for model, mapper, record in RECORDS:
        documented = orjson.loads(orjson.dumps(record))
        expected = mapper(canonical(model.model_validate(documented)))
        spelled = shapes.reshape(documented, 200)
        assert mapper(canonical(model.model_validate(spelled))) == expected, (model.__name__, spelled)


def test_list_envelopes_wrapped_in_data_are_the_lists_they_wrap() -> None:
    patient = RENDER.patient(CLINIC.patients[0])
    page = {"items": [patient], "page": 1, "page_size": 1, "total": 7}
    cursor = {"data": [patient], "page_info": {"end_cursor": "abc", "has_next_page": True}}
    wrapped = Shapes(wrappers="all")
    listed = VendorPageList.model_validate(wrapped.reshape(page, 200))
    assert (listed.total, [item["id"] for item in listed.items]) == (7, [patient["id"]])
    paged = VendorCursorList.model_validate(wrapped.reshape(cursor, 200))
    assert ([item["id"] for item in paged.data], paged.following(1)) == ([patient["id"]], "abc")
    # A record's own fields are never taken for a wrapper, nor is a cursor list's `data` list.
    assert VendorCursorList.model_validate(cursor).following(1) == "abc"
    with pytest.raises(ValidationError):
        VendorPatient.model_validate({"data": patient, "id": "not-a-uuid"})


def test_a_version_written_as_text_is_read_as_its_number_and_said_so() -> None:
    patient = RENDER.patient(CLINIC.patients[0])
    as_text = canonical(VendorPatient.model_validate({**patient, "version": "3"}))
    assert (as_text["version"], as_text["version_as_text"]) == (3, True)
    as_number = canonical(VendorPatient.model_validate({**patient, "version": 3}))
    assert (as_number["version"], as_number["version_as_text"]) == (3, False)
    wrapped = canonical(VendorPatient.model_validate({"data": {**patient, "version": "3"}}))
    assert wrapped["version_as_text"] is True


def test_vital_times_written_in_utc_map_to_the_clinics_times() -> None:
    """A service that keeps one UTC datetime per reading and splits it (`19:30:00Z` on the UTC
    day) gives the same Observations as one writing the clinic's wall clock: same instant,
    shown in the tenant's zone, on the clinic's day."""
    utc = Renderer(CLINIC, vital_times="utc")
    compared = 0
    for patient in CLINIC.patients:
        pref = reference(patient.uuid, patient.first_name)
        for reading in patient.vitals:
            local, written = RENDER.vitals(reading, patient, pref), utc.vitals(reading, patient, pref)
            assert reading.taken_at is None or written["time_taken"].endswith("Z")
            expected = vitals_to_fhir(canonical(VendorVitals.model_validate(local)), str(patient.uuid), CTX)
            assert vitals_to_fhir(canonical(VendorVitals.model_validate(written)), str(patient.uuid), CTX) == expected
            compared += reading.taken_at is not None
    assert compared > 100


@pytest.mark.parametrize(
    ("day", "clock", "effective"),
    [
        ("2024-05-01", "14:30:00", "2024-05-01T14:30:00-05:00"),  # the clinic's wall clock
        ("2024-05-01", "19:30:00Z", "2024-05-01T14:30:00-05:00"),
        ("2024-05-01", "19:30:00z", "2024-05-01T14:30:00-05:00"),
        ("2024-05-01", "19:30:00+00:00", "2024-05-01T14:30:00-05:00"),
        ("2024-05-01", "14:30:00.250-05:00", "2024-05-01T14:30:00-05:00"),
        ("2024-05-01", "2024-05-01T19:30:00Z", "2024-05-01T14:30:00-05:00"),
        ("2024-05-02", "01:30:00Z", "2024-05-01T20:30:00-05:00"),  # the UTC day is the next one
        ("2024-01-15", "15:00:00Z", "2024-01-15T09:00:00-06:00"),  # standard time
    ],
)
def test_a_time_with_an_offset_is_that_instant_in_the_tenants_zone(day: str, clock: str, effective: str) -> None:
    record = next(record for model, _, record in RECORDS if model is VendorVitals and record["pulse"] is not None)
    read = canonical(VendorVitals.model_validate({**record, "date_taken": day, "time_taken": clock}))
    observations = vitals_to_fhir(read, "3f2b9c1e-8d4a-4f6b-9a1e-2c3d4e5f6a7b", CTX)
    assert {o["effectiveDateTime"] for o in observations} == {effective}


def test_booleans_as_text_are_not_truthy_strings() -> None:
    record = next(record for model, _, record in RECORDS if model is VendorAllergy)
    for text in ("false", "0", "False", 0):
        assert VendorAllergy.model_validate({**record, "status_is_active": text}).status_is_active is False
    for text in ("true", "1", 1):
        assert VendorAllergy.model_validate({**record, "status_is_active": text}).status_is_active is True


def test_decimals_in_scientific_notation_are_the_same_measurements() -> None:
    """A weight of 150 lb written as Java's `BigDecimal.stripTrailingZeros().toString()` does
    (`"1.5E+2"`) is 150 lb, not a reading without a weight (the whole Observation lost)."""
    record = next(r for m, _, r in RECORDS if m is VendorVitals and r["weight_lbs"] and r["height_inches"])
    plain = {**record, "weight_lbs": "150", "height_inches": "60", "temperature_f": "98.6", "bmi": "0.5"}
    written = {**record, "weight_lbs": "1.5E+2", "height_inches": "6E+1", "temperature_f": "986e-1", "bmi": "5E-1"}
    pid = "3f2b9c1e-8d4a-4f6b-9a1e-2c3d4e5f6a7b"
    expected = vitals_to_fhir(canonical(VendorVitals.model_validate(plain)), pid, CTX)
    observations = vitals_to_fhir(canonical(VendorVitals.model_validate(written)), pid, CTX)
    assert observations == expected
    weights = [o["valueQuantity"]["value"] for o in observations if "29463-7" in orjson.dumps(o["code"]).decode()]
    assert weights == [150]


def test_a_vital_sign_of_zero_or_less_is_one_not_taken() -> None:
    """A non-nullable number's zero (`0`, `"0.00"`, as text too) or a negative sentinel (`-1`) is
    no measurement: the reading yields the Observations of what was taken, nothing of 0."""
    record = next(r for m, _, r in RECORDS if m is VendorVitals and r["pulse"] is not None and r["bp_systolic"])
    pid = "3f2b9c1e-8d4a-4f6b-9a1e-2c3d4e5f6a7b"
    taken = {"bp_systolic": 128, "pulse": 72}
    bare = {**record, **dict.fromkeys(FIELDS.values(), None), "bp_diastolic": None, **taken}
    expected = vitals_to_fhir(canonical(VendorVitals.model_validate(bare)), pid, CTX)
    stand_ins = {"bp_diastolic": 0, "respiration_rate": "0", "oxygen_saturation": 0, "temperature_f": "0.00"}
    stand_ins |= {"height_inches": "0", "weight_lbs": 0.0, "bmi": "0.0", "bmi_percentile": -1}
    observations = vitals_to_fhir(canonical(VendorVitals.model_validate({**bare, **stand_ins})), pid, CTX)
    assert observations == expected
    assert [o["id"].rsplit(".", 1)[1] for o in observations] == ["bp", "hr"]


def test_a_patient_archived_by_its_status_alone_is_deleted() -> None:
    """Served without `deleted_at` (a serializer hiding the soft-delete column), a patient whose
    status is `archived`, in any spelling, is deleted all the same; a live one is not."""
    archived = next(p for p in CLINIC.patients if p.deleted)
    hidden = Shapes(patient_deleted_at="hidden", enums="upper")
    record = hidden.reshape(orjson.loads(orjson.dumps(RENDER.patient(archived))), 200)
    assert "deleted_at" not in record and record["status"] == "ARCHIVED"
    assert is_deleted(record)
    assert canonical(VendorPatient.model_validate(record))["deleted_at"] == record["updated_at"]
    undated = {k: v for k, v in record.items() if k != "updated_at"}
    assert canonical(VendorPatient.model_validate(undated))["deleted_at"]
    alive = next(p for p in CLINIC.patients if not p.deleted)
    live = hidden.reshape(orjson.loads(orjson.dumps(RENDER.patient(alive))), 200)
    assert not is_deleted(live) and canonical(VendorPatient.model_validate(live))["deleted_at"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"id": "not-a-uuid"}, "id"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
        ({"first_name": ["x"]}, "first_name"),
        ({"version": "three"}, "version"),
        ({"updated_at": "yesterday"}, "updated_at"),
    ],
)
def test_what_cannot_mean_anything_is_unreadable_and_named(change: dict[str, Any], field: str) -> None:
    record = {**RENDER.patient(CLINIC.patients[0]), **change}
    drift = Drift()
    found, unreadable = Reader(drift).records("patient", VendorPatient, [record], lambda i, n: f"Patient/{i}")
    assert found == [] and len(unreadable) == 1
    assert field in unreadable[0].message
    assert "1990-02-30" not in unreadable[0].message and "three" not in unreadable[0].message
    assert DriftKey("patient", "unreadable", field) in drift.counts()


def test_undeclared_fields_are_drift_and_documented_ones_are_not() -> None:
    drift = Drift()
    record = {**RENDER.patient(CLINIC.patients[0]), "loyalty_tier": "gold"}
    found, _ = Reader(drift).records("patient", VendorPatient, [record], lambda i, n: "")
    assert found and drift.counts() == {DriftKey("patient", "unexpected field", "loyalty_tier"): 1}


def test_page_envelopes_without_total_or_has_next_page_still_end() -> None:
    full = VendorPageList.model_validate({"items": [1, 2], "page": "1", "page_size": "2", "total": "5"})
    assert full.has_more(1, 2) and full.has_more(2, 2) and not full.has_more(3, 2)
    no_total = VendorPageList.model_validate({"items": [1, 2]})
    assert no_total.has_more(1, 2) and not VendorPageList.model_validate({"items": [1]}).has_more(2, 2)
    sparse = VendorCursorList.model_validate({"data": [1, 2], "page_info": {"end_cursor": "c"}})
    assert sparse.following(2) == "c" and sparse.following(3) is None
    last = VendorCursorList.model_validate({"data": [1], "page_info": {"has_next_page": "false", "end_cursor": "c"}})
    assert last.following(1) is None
    assert VendorCursorList.model_validate({"data": []}).following(5) is None
    graphql = VendorCursorList.model_validate({"data": [1], "page_info": {"endCursor": "c", "hasNextPage": True}})
    assert graphql.following(5) == "c"
    assert VendorPageList.model_validate({"items": None, "total": 0}).items == []
    with pytest.raises(ValidationError):
        VendorPageList.model_validate({"total": 3})


@pytest.mark.parametrize(
    "stand_in", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00", "0000-00-00 00:00:00", "9999-12-31T23:59:59Z"]
)
def test_a_date_standing_in_for_none_is_none(stand_in: str) -> None:
    """Go's zero `time.Time`, .NET's `DateTime.MinValue`, MySQL's zero date and the open end
    9999-12-31 are written for "no date": a record with one is not deleted, not deceased."""
    patient = {**RENDER.patient(next(p for p in CLINIC.patients if not p.deleted)), "deleted_at": stand_in}
    read = canonical(VendorPatient.model_validate({**patient, "date_time_deceased": stand_in}))
    assert read["deleted_at"] is None and read["date_time_deceased"] is None and not is_deleted(patient)
    medication = next(record for model, _, record in RECORDS if model is VendorMedication)
    read = canonical(VendorMedication.model_validate({**medication, "date_stop": stand_in[:10]}))
    assert read["date_stop"] is None
    assert is_deleted({**patient, "deleted_at": "2024-05-01T00:00:00Z"}) and is_deleted({"deleted_at": "soon"})


@pytest.mark.parametrize(
    ("field", "spellings", "value"),
    [
        ("status", ["ON_HOLD", "OnHold", "on-hold", "On Hold"], "on_hold"),
        ("status", ["DISCONTINUED", "Discontinued"], "discontinued"),
    ],
)
def test_an_enum_in_another_spelling_is_the_documented_value(field: str, spellings: list[str], value: str) -> None:
    medication = next(record for model, _, record in RECORDS if model is VendorMedication)
    for spelling in spellings:
        assert canonical(VendorMedication.model_validate({**medication, field: spelling}))[field] == value


def test_a_default_left_out_is_the_documented_default() -> None:
    patient = {k: v for k, v in RENDER.patient(CLINIC.patients[0]).items() if k != "status"}
    assert patient_to_fhir(canonical(VendorPatient.model_validate({**patient, "status": None})), CTX)["active"]
    assert patient_to_fhir(canonical(VendorPatient.model_validate(patient)), CTX)["active"]
    allergy = {k: v for k, v in next(r for m, _, r in RECORDS if m is VendorAllergy).items() if k != "status_is_active"}
    mapped = allergy_to_fhir(canonical(VendorAllergy.model_validate(allergy)), str(CLINIC.patients[0].uuid), CTX)
    assert mapped["clinicalStatus"]["coding"][0]["code"] == "active"
    disease = {k: v for k, v in next(r for m, _, r in RECORDS if m is VendorDisease).items() if k != "problem_status"}
    mapped = condition_to_fhir(canonical(VendorDisease.model_validate(disease)), str(CLINIC.patients[0].uuid), CTX)
    assert mapped["clinicalStatus"]["coding"][0]["code"] == "active"


@pytest.mark.parametrize(
    ("written", "category"),
    [
        ("functional_problem", "functional-status"),
        ("FUNCTIONAL_RESULT", "functional-status"),  # a Java enum's name
        ("CognitiveProblem", "cognitive-status"),  # a .NET one's
        ("problem", None),
        (None, None),  # the documented default, problem
    ],
)
def test_a_cognitive_or_functional_problem_says_so_in_its_category(written: str | None, category: str | None) -> None:
    # function_status (Meaningful Use's classes): before, every one was served as a plain problem.
    disease = {**next(r for m, _, r in RECORDS if m is VendorDisease), "function_status": written}
    mapped = condition_to_fhir(canonical(VendorDisease.model_validate(disease)), str(CLINIC.patients[0].uuid), CTX)
    codes = [c["code"] for cat in mapped["category"] for c in cat["coding"]]
    assert codes == ["problem-list-item", *([category] if category else [])]


def test_a_reference_written_as_an_empty_array_is_no_reference() -> None:
    # PHP's `json_encode` writes an empty array `[]` where the reference is an object: a Laravel
    # `JsonResource` over null resolves to one. Before, such a free-text medication was
    # unreadable, left out of every list, $everything and the CCD.
    model, mapper, record = next(r for r in RECORDS if r[0] is VendorMedication)
    free_text = orjson.loads(orjson.dumps({**record, "medication_definition": None, "med_descript": "Fish oil"}))
    expected = mapper(canonical(model.model_validate(free_text)))
    assert mapper(canonical(model.model_validate({**free_text, "medication_definition": []}))) == expected


@pytest.mark.parametrize(
    "written",
    [
        "1980-05-02",
        "1980-05-02T00:00:00",
        "1980-05-02T00:00:00+09:00",  # a midnight written in the zone it was taken at
        "1980-05-01T19:00:00-05:00",  # a UTC midnight written at the server's offset
        "1980-05-01T22:00:00Z",  # a +02:00 server's midnight written in UTC
        "1980-05-01T22:00:00.000+0000",
        "1980-05-02T05:00:00Z",  # a -05:00 server's midnight written in UTC
    ],
)
def test_a_date_written_as_a_date_time_is_the_day_the_vendor_stored(written: str) -> None:
    # Before, the day it starts with: a birth date of the 2nd written as a UTC midnight at
    # -05:00 (`1980-05-01T19:00:00-05:00`, Jackson's `Date` in the JVM's zone) was the 1st.
    patient = {**RENDER.patient(CLINIC.patients[0]), "date_of_birth": written}
    assert patient_to_fhir(canonical(VendorPatient.model_validate(patient)), CTX)["birthDate"] == "1980-05-02"


@pytest.mark.parametrize(
    ("day", "clock", "effective"),
    [
        ("2024-05-01T19:30:00Z", "19:30:00", "2024-05-01T14:30:00-05:00"),  # the moment, and its time of day
        ("2024-05-01T19:30:00.0000000Z", "19:30:00", "2024-05-01T14:30:00-05:00"),
        ("2024-05-01T19:30:00", "19:30:00", "2024-05-01T14:30:00-05:00"),  # no offset: UTC
        ("2024-05-01T14:30:00-05:00", "14:30:00", "2024-05-01T14:30:00-05:00"),
        ("2024-05-02T01:30:00Z", "01:30:00", "2024-05-01T20:30:00-05:00"),  # the UTC day is the next one
        ("2024-05-01T00:00:00Z", "14:30:00", "2024-05-01T14:30:00-05:00"),  # a midnight: the day, the wall clock
        ("2024-04-30T19:00:00-05:00", "14:30:00", "2024-05-01T14:30:00-05:00"),  # a converted midnight
    ],
)
def test_a_date_taken_holding_the_moment_taken_is_that_moment(day: str, clock: str, effective: str) -> None:
    record = next(record for model, _, record in RECORDS if model is VendorVitals and record["pulse"] is not None)
    read = canonical(VendorVitals.model_validate({**record, "date_taken": day, "time_taken": clock}))
    observations = vitals_to_fhir(read, "3f2b9c1e-8d4a-4f6b-9a1e-2c3d4e5f6a7b", CTX)
    assert {o["effectiveDateTime"] for o in observations} == {effective}
