"""The input formats NexHealth checks: phone numbers, emails, dates (vendor-docs/nexhealth-patients.txt)."""

from __future__ import annotations

import re
from datetime import date

__all__ = ["is_date", "is_email", "phone_digits", "taken_phone"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEN_DIGITS = re.compile(r"[0-9]{10}")


def phone_digits(value: str) -> str:
    """The ASCII digits of a phone number, a leading 1 of an 11-digit number dropped."""
    digits = "".join(ch for ch in value if ch.isascii() and ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def taken_phone(value: str, phone_input: str = "lenient") -> str | None:
    """The ten digits a create or edit's `value` gives, or None when the ``phone_input``
    reading refuses it (``"ten_digits"``: exactly ten ASCII digits, as the docs' example)."""
    if phone_input == "ten_digits":
        return value if _TEN_DIGITS.fullmatch(value) else None
    digits = phone_digits(value)
    return digits if len(digits) == 10 else None


def is_email(value: str) -> bool:
    """One ``@``, a dotted domain, no spaces."""
    return _EMAIL.fullmatch(value) is not None


def is_date(value: str) -> bool:
    """A real ``YYYY-MM-DD`` date (no range check)."""
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
