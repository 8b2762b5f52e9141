"""The pure rules of a NexHealth patient update: the PATCH bodies tried, what the PATCH left
unapplied, what was lost."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.contract import TenantContext
from gateway.rest.modifiers import UnsupportedModifier
from mappings.nexhealth.adapter import (
    _edit_shapes,
    _holds_what_was_read,
    _home_location,
    _not_applied,
    _nulls_refused,
    _position,
    _wants_fields_left_out,
    _write_body,
)
from mappings.nexhealth.patient import as_edited, patient_from_fhir, patient_to_fhir, unkept_elements

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")

BEFORE: dict[str, Any] = {
    "first_name": "Ida",
    "last_name": "Old",
    "email": "ida@example.org",
    "bio": {"date_of_birth": "1988-04-05", "phone_number": "7735551234", "gender": "Female"},
}
SENT: dict[str, Any] = {**BEFORE, "last_name": "New", "bio": {**BEFORE["bio"], "phone_number": "7735550000"}}


def test_an_answer_still_holding_every_old_value_was_not_applied() -> None:
    assert _not_applied(BEFORE, SENT, BEFORE) == ["Patient.name.family", "Patient.telecom (phone)"]
    applied = {**BEFORE, "last_name": "NEW", "bio": {**BEFORE["bio"], "phone_number": "+17735550000"}}
    assert _not_applied(BEFORE, SENT, applied) == []  # applied, as NexHealth normalizes it


def test_an_edit_applied_in_part_names_what_was_left_as_it_was() -> None:
    # A flat body to an implementation taking `bio`'s fields at the top level: the names
    # changed, `bio` ignored as an unknown key.
    assert _not_applied(BEFORE, SENT, {**BEFORE, "last_name": "New"}) == ["Patient.telecom (phone)"]


def test_an_edit_that_changes_nothing_is_never_unapplied() -> None:
    same = {
        **BEFORE,
        "email": "IDA@example.org",
        "bio": {**BEFORE["bio"], "phone_number": "+1 (773) 555-1234", "gender": "F"},
    }
    assert _not_applied(BEFORE, same, BEFORE) == []


def _not_stored_by_update(before: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """What the adapter reports of an update sending `sent` to the patient `before`."""
    fields = patient_from_fhir(sent, 0)[0]["patient"]
    return [path.split(" (")[0] for path in unkept_elements(sent, patient_to_fhir(as_edited(before, fields), CTX))]


def test_only_changes_nexhealth_cannot_store_are_lost() -> None:
    held = {**BEFORE, "id": 7, "middle_name": "Jo", "bio": {**BEFORE["bio"], "cell_phone_number": "7735559999"}}
    served = patient_to_fhir(held, CTX)
    # Sent back as served: its identifier, `active`, the middle name and the mobile phone's
    # use are NexHealth's already; nothing is lost.
    assert _not_stored_by_update(held, served) == []
    sent = {
        **served,
        "maritalStatus": {"text": "M"},
        "name": [{**served["name"][0], "given": ["Ida", "Ann"], "prefix": ["Dr"]}],
        # reordered, the phone formatted otherwise: the same numbers; a use NexHealth cannot hold
        "telecom": [
            {"system": "email", "value": "ida@example.org"},
            {"system": "phone", "value": "(773) 555-1234", "use": "mobile"},
            {"system": "phone", "value": "+1 773 555 9999", "use": "mobile"},
        ],
        "_birthDate": {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "x"}]},
    }
    assert _not_stored_by_update(held, sent) == [
        "Patient.name[0].given[1]",  # NexHealth holds "Jo" there, and the edit writes the first given only
        "Patient.name[0].prefix",
        "Patient.telecom[1].use",
        "Patient.birthDate.extension",
        "Patient.maritalStatus",
    ]


def test_patient_search_positions() -> None:
    # (page from 1, ids of the page before: its first, then a sample; NexHealth's page size,
    # number of its first page)
    assert _position(None) == (1, (), None, None)
    assert _position("3:1042") == (3, ("1042",), None, 1)  # written before size and numbering were kept
    assert _position("3:1042:50") == (3, ("1042",), 50, 1)
    assert _position("2:") == (2, (), None, 1)
    assert _position("2:1002:100:") == (2, ("1002",), 100, None)  # numbering unknown: the second page finds it
    assert _position("4:1030:5:0") == (4, ("1030",), 5, 0)
    assert _position("2:1002:100::1050,1099") == (2, ("1002", "1050", "1099"), 100, None)


def test_an_edit_of_bio_is_sent_first_in_a_body_either_flat_reading_applies_whole() -> None:
    # A flat shape learned from a rename says nothing of `bio`: sent first, an implementation
    # taking `bio`'s fields at the top level applied the name alone until the next PATCH.
    assert _edit_shapes(["flat", "nested"], None, changes_bio=True) == [
        "flat_and_fully_flat",
        "nested",
        "flat",
        "fully_flat",
    ]
    assert _edit_shapes(["fully_flat"], None, changes_bio=True)[0] == "flat_and_fully_flat"
    doubled = _write_body("flat_and_fully_flat", SENT, {})
    assert doubled["bio"] == SENT["bio"] and doubled["phone_number"] == "7735550000"
    assert doubled["last_name"] == "New" and "patient" not in doubled


def test_a_shape_that_applied_bio_or_an_edit_of_names_alone_keeps_the_shape_learned() -> None:
    # Where NexHealth refused the doubled body (unknown keys refused) and took a plain one with
    # `bio`, that one goes first; a rename goes out in the shape learned, as before.
    assert _edit_shapes(["flat", "flat"], "flat", changes_bio=True) == [
        "flat",
        "nested",
        "flat_and_fully_flat",
        "fully_flat",
    ]
    assert _edit_shapes(["flat", "nested"], None, changes_bio=False) == ["flat", "nested", "fully_flat"]
    assert _edit_shapes([None, None, None], None, changes_bio=True) == [
        "nested",
        "flat_and_fully_flat",
        "flat",
        "fully_flat",
    ]


@pytest.mark.parametrize(
    ("sent", "inactive", "refused"),
    [
        ({"active": True}, True, ["Patient.active"]),  # no write sets `inactive`, either way
        ({"active": False}, False, ["Patient.active"]),
        ({"deceasedBoolean": True}, False, ["Patient.deceased"]),  # NexHealth holds no death
        ({"deceasedDateTime": "2020-01-02", "active": True}, True, ["Patient.active", "Patient.deceased"]),
        ({"active": False}, True, []),  # as NexHealth holds the patient: stored
        ({"active": True}, False, []),
        ({}, True, []),  # left out: kept, and named (`kept_left_out`)
        ({"deceasedBoolean": False}, False, []),  # "no statement" kept, named as not stored
    ],
)
def test_a_modifier_nexhealth_cannot_hold_is_refused_before_any_edit(
    sent: dict[str, Any], inactive: bool, refused: list[str]
) -> None:
    # R4 Patient.active and Patient.deceased[x] are modifier elements: a patient stored without
    # the value sent would mean something else. Before, an edit went ahead and said so after.
    resource = {**patient_to_fhir({**BEFORE, "id": 7, "inactive": inactive}, CTX), **sent}
    if not refused:
        patient_from_fhir(resource, 0, inactive=inactive)
        return
    with pytest.raises(UnsupportedModifier) as caught:
        patient_from_fhir(resource, 0, inactive=inactive)
    error = caught.value
    assert (error.status, error.code) == (422, "not-supported")
    assert [error.expression, *(where for _, where in error.issues)] == refused


@pytest.mark.parametrize(
    ("refusal", "wants"),
    [
        ("patient.first_name is required; patient.email is required", True),
        ("patient.email: Field required", True),  # FastAPI's 422, as the client reads it
        ("first_name: This field is required.", True),  # Django REST Framework's, by field
        ("Email can't be blank", True),  # Rails' full message, humanized
        ("patient.bio.gender should not be empty", True),  # class-validator's @IsNotEmpty
        ("patient.last_name is required", False),  # sent: a shape taking it elsewhere, not the edit
        ("No patient fields given", False),
        ("patient.bio.street_address must not be blank", False),  # a clear refused, no create field
        ("property email should not exist", False),  # an unknown key, not a field wanted
        ("A patient with that information already exists.", False),
    ],
)
def test_an_edit_refused_for_a_create_field_it_left_out_is_told_apart(refusal: str, wants: bool) -> None:
    # An edit sending its last name and birth date alone, to an implementation validating an
    # edit as its create (every required field): it is sent again whole only when the refusal
    # wants a required field the edit left out.
    written = {"last_name": "New", "bio": {"date_of_birth": "1988-04-06", "phone_number": "7735551234"}}
    assert _wants_fields_left_out(refusal, written) is wants


def test_the_clears_a_refusal_names_are_those_sent_as_null() -> None:
    # An update clearing what it leaves out sends it as null in `bio`: an implementation taking
    # a text there may refuse the null (Joi's `Joi.string()`, Pydantic's `str`, Zod's `z.string()`).
    written = {"last_name": "New", "bio": {"date_of_birth": "1988-04-06", "city": None, "street_address": None}}
    assert _nulls_refused('"patient.bio.city" must be a string', written) == {"city"}
    assert _nulls_refused("patient.bio.street_address: Input should be a valid string", written) == {"street_address"}
    assert _nulls_refused("patient.bio.date_of_birth must be a date (YYYY-MM-DD)", written) == set()  # not a null
    assert _nulls_refused("found unpermitted parameters: :city", written) == set()  # a key, not its null


@pytest.mark.parametrize(
    ("location_ids", "tenant", "sent_at"),
    [
        ([102], "101", "102"),  # another location's patient: edited at its own
        ([102, 103], "101", "102"),
        ([101, 102], "101", None),  # at the tenant's too: the tenant's
        (None, "101", None),  # not named (neither of the docs' shapes has them): the tenant's
        ([], "101", None),
    ],
)
def test_an_edit_goes_to_the_patients_own_location_where_the_tenants_is_not_one_of_its(
    location_ids: list[int] | None, tenant: str, sent_at: str | None
) -> None:
    assert _home_location({**BEFORE, "location_ids": location_ids}, tenant) == sent_at


@pytest.mark.parametrize(
    ("answered", "whole"),
    [
        ({**BEFORE, "id": 7, "middle_name": None}, True),  # the patient: every field read with a value
        ({"id": 7, "first_name": "Ida", "bio": {"date_of_birth": "1988-04-06"}}, False),  # what the edit sent
        ({key: value for key, value in BEFORE.items() if key != "email"}, False),
        ({**BEFORE, "email": None}, True),  # a field held null is there (read again where not applied)
        (None, False),
    ],
)
def test_an_edit_answered_without_a_field_the_patient_was_read_with_is_no_patient_to_serve(
    answered: Any, whole: bool
) -> None:
    before = {**BEFORE, "middle_name": None, "location_ids": []}  # empty values need not be answered
    assert _holds_what_was_read(answered, before) is whole
