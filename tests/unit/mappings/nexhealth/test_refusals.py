"""A refusal's words, read: the keys NexHealth does not take, and the values a field takes."""

from __future__ import annotations

import pytest

from mappings.nexhealth.patient import listed_spelling
from mappings.nexhealth.refusals import listed_values, unknown_keys

REFUSED = "The vendor rejected the request: "


@pytest.mark.parametrize(
    ("said", "keys"),
    [
        ("found unpermitted parameters: :bio, :date_of_birth", ["bio", "date_of_birth"]),  # Rails
        ("found unpermitted parameter: :patient", ["patient"]),
        ("property patient should not exist; No patient fields given", ["patient"]),  # NestJS
        ("patient.bio.property gender should not exist; patient.gender is required", ["patient.bio.gender"]),
        ("patient.bio: Extra inputs are not permitted; first_name: Field required", ["patient.bio"]),  # FastAPI
        ('"patient.bio" is not allowed', ["patient.bio"]),  # Joi
        ("bio: Unknown field.", ["bio"]),  # marshmallow, DRF by field
        ("patient bio Unknown field.", ["patient.bio"]),  # marshmallow's nested errors, as read
        ("Unknown field(s): bio, gender", ["bio", "gender"]),  # DRF's usual validate()
        ("Unrecognized key(s) in object: 'bio', 'gender'", ["bio", "gender"]),  # Zod's strict()
        ('json: unknown field "bio"', ["bio"]),  # Go
        ('JSON parse error: Unrecognized field "bio" (class com.example.Patient), not marked as ignorable', ["bio"]),
        ("The JSON property 'bio' could not be mapped to any .NET member contained in type 'Patient'.", ["bio"]),
        # What a body lacks, or a value refused, names no key it should not hold.
        ("first_name is required; date_of_birth is required", []),
        ("patient.email is invalid; patient.bio.gender must be one of M, F, O", []),
        ("A patient with that information already exists.", []),
    ],
)
def test_the_keys_a_refusal_says_nexhealth_does_not_take(said: str, keys: list[str]) -> None:
    assert unknown_keys(REFUSED + said) == keys


@pytest.mark.parametrize(
    ("said", "values"),
    [
        ("patient.bio.gender must be one of M, F, O", ["M", "F", "O"]),
        ('"gender" must be one of [male, female, other]', ["male", "female", "other"]),  # Joi
        ("patient.bio.gender must be one of the following values: MALE, FEMALE, OTHER", ["MALE", "FEMALE", "OTHER"]),
        ("gender: Input should be 'M', 'F' or 'O'", ["M", "F", "O"]),  # Pydantic
        ("gender: Must be one of: male, female, other.", ["male", "female", "other"]),  # marshmallow
        (
            "gender: Invalid enum value. Expected 'male' | 'female' | 'other', received 'Male'",
            ["male", "female", "other"],
        ),
        (
            'JSON parse error: Cannot deserialize value of type `com.example.Gender` from String "Male": not one of '
            "the values accepted for Enum class: [OTHER, MALE, FEMALE]",
            ["OTHER", "MALE", "FEMALE"],
        ),
        ("patient.bio.gender is not included in the list", None),  # Rails lists none
        ("patient.email must be one of a@b.c, d@e.f; first_name is required", None),  # not the gender's
    ],
)
def test_the_values_a_refusal_lists_for_gender(said: str, values: list[str] | None) -> None:
    assert listed_values(REFUSED + "first_name is required; " + said, "gender") == values


def test_the_spelling_a_list_shows_is_chosen_and_none_where_it_shows_none_of_the_gateways() -> None:
    assert listed_spelling(["M", "F", "O"], "Female") == 2
    assert listed_spelling(["OTHER", "MALE", "FEMALE"], "Male") == 3
    assert listed_spelling(["male", "female", "other", "unknown"], "Other") == 1
    assert listed_spelling(["M", "F", "U"], "Female") == 2  # this gender's value listed, not all three
    assert listed_spelling(["1", "2", "9"], "Female") is None
