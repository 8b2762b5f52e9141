"""NexHealth's `data` in every shape the docs allow, read through declared models, record by record."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.contract import Drift
from mappings.nexhealth.shapes import (
    UnreadableRecord,
    UnreadableShape,
    VendorAppointment,
    VendorPatient,
    VendorProvider,
    holds_no_record,
    listed,
    read_many,
    read_one,
    single,
)

PATIENT: dict[str, Any] = {
    "id": 415,
    "first_name": "John",
    "last_name": "Smith",
    "bio": {"date_of_birth": "1964-05-03"},
}
MINIMAL: dict[str, Any] = {"id": "416"}  # every field but the id is optional; a digit string is an id
APPOINTMENT: dict[str, Any] = {"id": 1822, "patient_id": 415, "start_time": "2021-12-06T09:45:00.000Z"}


@pytest.mark.parametrize("data", [{"patient": PATIENT}, PATIENT, {"patients": [PATIENT]}, [PATIENT]])
def test_a_single_patient_nested_flat_or_listed(data: Any) -> None:
    patient = read_one(VendorPatient, single(data, "patient", "patients"), "patient", Drift())
    assert (patient.id, patient.last_name, patient.bio and patient.bio.date_of_birth) == (415, "Smith", "1964-05-03")


@pytest.mark.parametrize("data", [None, [], [PATIENT, PATIENT], {"patients": [PATIENT, PATIENT]}, "415"])
def test_what_cannot_be_one_patient_is_refused(data: Any) -> None:
    with pytest.raises(UnreadableShape):
        single(data, "patient", "patients")


@pytest.mark.parametrize("raw", [{}, {"id": "x"}, {"id": 1, "bio": "none"}, {"id": 1, "inactive": "perhaps"}])
def test_a_patient_that_means_nothing_is_unreadable_naming_the_field(raw: Any) -> None:
    drift = Drift()
    with pytest.raises(UnreadableRecord) as caught:
        read_one(VendorPatient, raw, "patient", drift)
    assert caught.value.problem.field in {"id", "bio", "inactive"}
    assert [k.kind for k in drift.counts()] == ["unreadable"]


@pytest.mark.parametrize(
    "data",
    [{"patients": [PATIENT, MINIMAL]}, [PATIENT, MINIMAL], [{"patients": [PATIENT, MINIMAL]}]],
)
def test_patient_lists_in_each_shape(data: Any) -> None:
    found, problems = read_many(VendorPatient, listed(data, "patients"), "patient", Drift())
    assert [p.id for p in found] == [415, 416] and problems == []


@pytest.mark.parametrize(
    "data",
    # `{}` and `[{}]`: Go's `omitempty` leaves an empty slice out.
    [None, {"patients": []}, {"patients": None}, [], [{"patients": []}], {}, [{}]],
)
def test_empty_lists(data: Any) -> None:
    assert listed(data, "patients") == []


@pytest.mark.parametrize(
    ("data", "none"),
    [
        (None, True),
        ({"patient": None}, True),  # a lookup's null, sent as it is
        ({}, True),
        ([], True),
        ({"patients": []}, True),
        ({"patient": PATIENT}, False),
        (PATIENT, False),
        ({"patients": [PATIENT]}, False),
        ([PATIENT], False),
        ({"id": None}, False),  # a record, unreadable: not "no record"
    ],
)
def test_a_read_answered_without_a_record(data: Any, none: bool) -> None:
    assert holds_no_record(data, "patient", "patients") is none


@pytest.mark.parametrize("data", [{"patient": [PATIENT]}, "none", 7])
def test_what_is_no_list_is_unreadable(data: Any) -> None:
    with pytest.raises(UnreadableShape):
        listed(data, "patients")


def test_one_bad_record_leaves_the_others_readable_and_is_named_by_id_and_field() -> None:
    raw = [APPOINTMENT, {**APPOINTMENT, "id": "1823", "start_time": "soon"}, {"patient_id": 1}]
    found, problems = read_many(VendorAppointment, raw, "appointment", Drift())
    assert [a.id for a in found] == [1822]
    assert [(p.record_id, p.field) for p in problems] == [("1823", "start_time"), (None, "id")]
    message = problems[0].describe("NexHealth appointment")
    assert (
        message
        == "NexHealth appointment 1823 could not be read: the vendor's field start_time is not an ISO 8601 date-time"
    )
    assert "soon" not in message


def test_numbers_and_booleans_as_strings_and_absent_fields_are_read() -> None:
    raw = {"id": "415", "inactive": "false", "bio": {"phone_number": 5163042196, "new_patient": "true"}}
    patient = read_one(VendorPatient, raw, "patient", Drift()).model_dump()
    assert patient["id"] == 415 and patient["inactive"] is False
    assert patient["bio"]["phone_number"] == "5163042196" and patient["bio"]["new_patient"] is True
    appointment = read_one(VendorAppointment, {**APPOINTMENT, "cancelled": "false", "confirmed": "1"}, "a", Drift())
    assert (appointment.cancelled, appointment.confirmed) == (False, True)


def test_only_undeclared_fields_are_drift() -> None:
    drift = Drift()
    documented = {**PATIENT, "upcoming_appts": [{"id": 1, "provider_name": "Dr. X"}], "waitlisted_at": {}}
    read_many(VendorPatient, [documented, {**PATIENT, "loyalty_tier": "gold", "bio": {"pronouns": "he"}}], "p", drift)
    assert sorted(k.path for k in drift.counts()) == ["bio.pronouns", "loyalty_tier"]


def test_what_the_simulator_serves_is_all_declared() -> None:
    from sandboxes.clinic import build_clinic
    from sandboxes.nexhealth.store import Store

    store = Store(build_clinic(), lambda: 0.0)
    drift = Drift()
    rows = list(store.rows.values())
    read_many(VendorPatient, [{**r.doc, "upcoming_appts": r.upcoming} for r in rows], "patient", drift)
    both = ("patient", "appointment_type")
    appointments = [orjson.loads(store.render_appointment(a, both)) for a in store.appointments.values()]
    read_many(VendorAppointment, appointments, "appointment", drift)
    read_many(VendorProvider, list(store.providers.values()), "provider", drift)
    assert drift.counts() == {}


def test_empty_texts_are_no_values() -> None:
    # Go's zero string: a city or middle name NexHealth never had, served as "".
    raw = {**PATIENT, "middle_name": "", "email": " ", "bio": {"city": "", "gender": "", "date_of_birth": "1964-05-03"}}
    patient = read_one(VendorPatient, raw, "patient", Drift())
    assert (patient.middle_name, patient.email) == (None, None)
    assert patient.bio is not None and (patient.bio.city, patient.bio.gender) == (None, None)
    assert patient.bio.date_of_birth == "1964-05-03"
