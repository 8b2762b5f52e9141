"""Phone numbers of a Dental PMS write body in international form (mappings.dentalpms.phones)."""

from __future__ import annotations

import pytest

from mappings.dentalpms.phones import international_phone, international_phones, rewritable


@pytest.mark.parametrize(
    ("sent", "written"),
    [
        ("5550009999", "+15550009999"),
        ("(555) 000-9999", "+15550009999"),
        ("555.000.9999", "+15550009999"),
        ("1 (555) 000-9999", "+15550009999"),
        ("1-555-000-9999", "+15550009999"),
        # Already international, or no NANP number (too short, an area code starting 0 or 1,
        # an extension, letters): as the client wrote it.
        ("+44 20 7946 0000", "+44 20 7946 0000"),
        ("+15550009999", "+15550009999"),
        ("12345", "12345"),
        ("0550009999", "0550009999"),
        ("1150009999", "1150009999"),
        ("555-000-9999 x12", "555-000-9999 x12"),
        ("555-CALL-NOW", "555-CALL-NOW"),
    ],
)
def test_a_national_number_is_written_in_e164_form(sent: str, written: str) -> None:
    assert international_phone(sent) == written


def test_only_the_phones_of_a_body_are_rewritten() -> None:
    body = {"mobile_phone": "5550009999", "home_phone": None, "city": "5550009999", "postal_code": "62701"}
    assert international_phones(body) == {**body, "mobile_phone": "+15550009999"}


def test_a_refusal_is_mended_only_by_a_phone_it_names_that_has_another_form() -> None:
    body = {"mobile_phone": "5550009999", "work_phone": "+15550001111", "email": "x@example.org"}
    assert rewritable(body, {"mobile_phone"})
    assert not rewritable(body, {"work_phone"})  # international already: the vendor refuses it so
    assert not rewritable(body, {"email"})
    assert not rewritable(body, {"home_phone"})  # not sent
    assert not rewritable({"mobile_phone": "12345"}, {"mobile_phone"})
