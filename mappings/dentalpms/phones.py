"""Phone numbers of a Dental PMS write body in international form, for a vendor taking no other
(pure).

The reference types every phone a plain `string` and lists "422: Validation error (invalid
gender, email, etc.)" for the create: it does not say what form a phone takes. A service may
validate one without a default region (pydantic-extra-types' `PhoneNumber`, class-validator's
`@IsPhoneNumber()` with no region, Laravel-phone's `INTERNATIONAL`), and a number is then one
only with its `+` and country code: `(555) 123-4567`, as a US client writes it, is refused.
The practice's numbers written without a country code are North American (NANP, ITU-T E.164
country code 1: ten digits, the area code not starting with 0 or 1, or eleven with the trunk
prefix 1): those are written `+1` and the ten digits, E.164's form. Any other number, or one
with an extension or letters, is left as the client wrote it (the vendor's refusal then stands).
"""

from __future__ import annotations

import re
from typing import Any

# The write bodies' phone fields (patient_write.py fills the first three).
PHONE_FIELDS = frozenset({"mobile_phone", "home_phone", "work_phone", "emergency_contact_phone"})
_SEPARATORS = re.compile(r"[\s().-]")
_NANP = re.compile(r"1?([2-9]\d{9})")


def international_phone(phone: str) -> str:
    """`phone` in E.164 form (`+15551234567`) when it is a national NANP number, else as it is."""
    if phone.lstrip().startswith("+"):
        return phone
    national = _NANP.fullmatch(_SEPARATORS.sub("", phone))
    return f"+1{national.group(1)}" if national else phone


def international_phones(fields: dict[str, Any]) -> dict[str, Any]:
    """The body `fields` with each phone number in international form (`international_phone`)."""
    return {
        name: international_phone(value) if name in PHONE_FIELDS and isinstance(value, str) else value
        for name, value in fields.items()
    }


def rewritable(fields: dict[str, Any], named: set[str]) -> bool:
    """Whether a refusal naming the body fields `named` names a phone of `fields` that has an
    international form other than the one sent: written so, the body may be taken."""
    return any(
        name in PHONE_FIELDS and isinstance(fields.get(name), str) and international_phone(fields[name]) != fields[name]
        for name in named
    )
