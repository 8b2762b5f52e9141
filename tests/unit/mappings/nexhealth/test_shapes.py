"""NexHealth's `data` in every shape the docs allow, read through one declaration."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mappings.nexhealth.shapes import one_patient, patient_list, record_list

PATIENT: dict[str, Any] = {
    "id": 415,
    "first_name": "John",
    "last_name": "Smith",
    "bio": {"date_of_birth": "1964-05-03"},
}
MINIMAL: dict[str, Any] = {"id": "416"}  # every field but the id is optional; a digit string is an id


@pytest.mark.parametrize("data", [{"patient": PATIENT}, PATIENT, {"patients": [PATIENT]}, [PATIENT]])
def test_a_single_patient_nested_flat_or_listed(data: Any) -> None:
    assert one_patient(data) == PATIENT


def test_a_minimal_patient_is_kept_as_sent_but_its_id() -> None:
    assert one_patient({"patient": MINIMAL}) == {"id": 416}
    assert one_patient(MINIMAL) == {"id": 416}


@pytest.mark.parametrize(
    "data",
    [None, {}, [], [PATIENT, PATIENT], {"patients": [PATIENT, PATIENT]}, {"patient": {}}, {"id": "x"}, "415"],
)
def test_what_cannot_be_one_patient_is_refused(data: Any) -> None:
    with pytest.raises(ValidationError):  # a ValueError: the core answers 502
        one_patient(data)


@pytest.mark.parametrize(
    "data",
    [{"patients": [PATIENT, MINIMAL]}, [PATIENT, MINIMAL], [{"patients": [PATIENT, MINIMAL]}]],
)
def test_patient_lists_in_each_shape(data: Any) -> None:
    assert patient_list(data) == [PATIENT, {"id": 416}]


@pytest.mark.parametrize("data", [{"patients": []}, [], [{"patients": []}]])
def test_empty_lists(data: Any) -> None:
    assert patient_list(data) == []


@pytest.mark.parametrize("data", [None, {"patients": [{"name": "no id"}]}, {"patient": PATIENT}])
def test_what_cannot_be_a_patient_list_is_refused(data: Any) -> None:
    with pytest.raises(ValidationError):
        patient_list(data)


@pytest.mark.parametrize("data", [[{"id": 1}], {"appointments": [{"id": 1}]}, [{"appointments": [{"id": 1}]}]])
def test_other_lists_bare_or_named(data: Any) -> None:
    assert record_list(data, "appointments") == [{"id": 1}]
    with pytest.raises(ValidationError):
        record_list({"appointments": None}, "appointments")
