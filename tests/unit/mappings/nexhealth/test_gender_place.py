"""A NexHealth keeping gender beside `bio` rather than in it (the docs show it in neither of
their patient shapes): read from either place, and a write sends it where NexHealth takes it."""

from __future__ import annotations

import pytest

from gateway.contract import TenantContext
from mappings.nexhealth.adapter import _gender_refusal
from mappings.nexhealth.patient import gender_at, patient_to_fhir, with_gender_at

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo")


@pytest.mark.parametrize(
    "record",
    [
        {"id": 7, "bio": {"gender": "Female"}},
        {"id": 7, "gender": "Female", "bio": {"date_of_birth": "1964-05-03"}},
        {"id": 7, "gender": "F", "bio": {"gender": None}},
    ],
)
def test_a_gender_in_bio_or_beside_it_is_read(record: dict[str, object]) -> None:
    assert patient_to_fhir(record, CTX)["gender"] == "female"


def test_where_a_served_gender_is_and_a_write_sending_it_there() -> None:
    assert [gender_at(p) for p in ({"bio": {"gender": "M"}}, {"gender": "M", "bio": {}}, {"bio": {}})] == [
        "bio",
        "top",
        None,
    ]
    fields = {"first_name": "Ada", "bio": {"date_of_birth": "1990-02-03", "gender": "Female"}}
    assert with_gender_at(fields, "bio") == fields
    assert with_gender_at(fields, "top") == {
        "first_name": "Ada",
        "gender": "Female",
        "bio": {"date_of_birth": "1990-02-03"},
    }


@pytest.mark.parametrize(
    ("diagnostics", "expected"),
    [
        ("The vendor rejected the request: patient.bio.gender must be one of M, F, O", "value"),
        ("The vendor rejected the request: patient.gender is required", "place"),
        ('The vendor rejected the request: "patient.gender" is required; "patient.bio.gender" is not allowed', "place"),
        # A body of the wrong shape wants every field, the gender among them: no gender question.
        ("The vendor rejected the request: first_name is required; bio.gender is required", None),
        ("The vendor rejected the request: email is invalid", None),
        # Gender named as a key NexHealth does not take there is its place, not its spelling:
        # read as its value, every spelling was sent in turn and the other place never tried.
        (
            "The vendor rejected the request: patient.bio.property gender should not exist; patient.gender is required",
            "place",
        ),
        (
            "The vendor rejected the request: patient.bio.gender: Extra inputs are not permitted; "
            "patient.gender: Field required",
            "place",
        ),
        ("The vendor rejected the request: found unpermitted parameter: :gender", "place"),
        ("The vendor rejected the request: patient.bio.gender is not included in the list", "value"),  # Rails 7.1
    ],
)
def test_a_refusal_objects_to_the_genders_value_or_its_place(diagnostics: str, expected: str | None) -> None:
    assert _gender_refusal(diagnostics) == expected
