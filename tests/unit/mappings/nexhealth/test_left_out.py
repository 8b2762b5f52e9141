"""What a PUT leaves out of a NexHealth patient (`left_out`), and what of it NexHealth kept
(`kept_left_out`): an update replaces the resource (R4 http.html#update), and R4 reads a Patient
without `active` as active (Patient.active's meaningWhenMissing)."""

from __future__ import annotations

from typing import Any

from mappings.nexhealth.patient import WHY_KEPT, WHY_KEPT_INACTIVE, kept_left_out, left_out

HELD: dict[str, Any] = {
    "id": 7,
    "first_name": "Ada",
    "middle_name": "Grace",
    "last_name": "Okafor",
    "email": "ada@example.org",
    "foreign_id_type": "nex",
    "bio": {
        "date_of_birth": "1980-02-03",
        "phone_number": "3125557311",
        "gender": "Female",
        "street_address": "1 Main St",
        "city": "Chicago",
        "state": "IL",
        "zip_code": "",  # empty: nothing held
        "cell_phone_number": "3125557311",
        "home_phone_number": "7735550100",
    },
}
SENT: dict[str, Any] = {
    "resourceType": "Patient",
    "name": [{"family": "Okafor", "given": ["Ada", "Grace"]}],
    "telecom": [
        {"system": "email", "value": "ada@example.org"},
        {"system": "phone", "value": "+1 312-555-7311", "use": "mobile"},
        {"system": "phone", "value": "(773) 555-0100", "use": "home"},
    ],
    "birthDate": "1980-02-03",
    "gender": "female",
    "address": [{"line": ["1 Main St"], "city": "Chicago", "state": "IL"}],
}


def test_a_patient_sent_back_whole_leaves_nothing_out() -> None:
    # Phones are matched by their digits, whatever their form; an empty field holds nothing.
    assert left_out(SENT, HELD) == {}
    assert kept_left_out(SENT, {}, HELD) == []


def test_each_field_holding_what_the_put_leaves_out_is_named_by_the_element() -> None:
    sent = {k: v for k, v in SENT.items() if k != "address"}
    sent["telecom"] = SENT["telecom"][:2]
    assert left_out(sent, HELD) == {
        "street_address": "Patient.address",
        "city": "Patient.address",
        "state": "Patient.address",
        "home_phone_number": "Patient.telecom",
    }
    # An address sent without a part held: that part.
    assert left_out({**SENT, "address": [{"line": ["1 Main St"], "state": "IL"}]}, HELD) == {
        "city": "Patient.address[0].city"
    }


def test_what_nexhealth_still_holds_is_named_as_kept_and_a_middle_name_always() -> None:
    # The name written is the official one (here the second): its given names decide.
    sent = {**SENT, "name": [{"given": ["Ada", "Grace"]}, {"use": "official", "family": "Okafor", "given": ["Ada"]}]}
    left = {"city": "Patient.address", "state": "Patient.address", "home_phone_number": "Patient.telecom"}
    edited = {**HELD, "bio": {**HELD["bio"], "city": None, "state": "", "home_phone_number": "7735550100"}}
    assert kept_left_out(sent, left, edited) == [
        f"Patient.telecom ({WHY_KEPT})",
        f"Patient.name[1].given[1] ({WHY_KEPT})",
    ]
    assert kept_left_out(sent, left, {**edited, "middle_name": None, "bio": {}}) == []


def test_a_put_without_active_names_an_inactive_patient_as_kept_inactive() -> None:
    # No write sets `inactive`: the patient NexHealth holds as inactive stays so.
    assert kept_left_out(SENT, {}, {**HELD, "inactive": True}) == [f"Patient.active ({WHY_KEPT_INACTIVE})"]
    # Sent, `active` is compared with what is kept (`unkept_elements`), not named here; an
    # active patient (or one never marked either way) reads as the PUT without it means.
    assert kept_left_out({**SENT, "active": True}, {}, {**HELD, "inactive": True}) == []
    assert kept_left_out(SENT, {}, {**HELD, "inactive": False}) == []
    assert kept_left_out(SENT, {}, {**HELD, "inactive": None}) == []


def test_an_old_address_or_phone_sent_does_not_keep_the_current_one() -> None:
    # Address.use and ContactPoint.use are modifiers (R4 datatypes.html): a PUT saying the home
    # number and the address are old ones has no current one of either, so NexHealth's are cleared,
    # not kept to read back as current.
    old = {
        **SENT,
        "telecom": [*SENT["telecom"][:2], {"system": "phone", "value": "(773) 555-0100", "use": "old"}],
        "address": [{**SENT["address"][0], "use": "old"}],
    }
    assert left_out(old, HELD) == {
        "street_address": "Patient.address",
        "city": "Patient.address",
        "state": "Patient.address",
        "home_phone_number": "Patient.telecom",
    }
