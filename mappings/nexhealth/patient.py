"""NexHealth patients ⇄ US Core Patient (pure).

Gender: NexHealth knows Male, Female and Other. The docs show it in neither of their patient
shapes: it is read from `bio.gender`, else from a `gender` beside `bio` (`gender_of`), and a
write sends it where NexHealth serves it (`with_gender_at`). FHIR `unknown` has no NexHealth value, so a
create with it is refused rather than guessed; a NexHealth patient without gender reads as
`unknown`. The docs make gender required on create (nexhealth-patients.txt, "Creating a New
Patient") but never show its values: `Male`, `male`, `M` and `MALE` are all read, and a
write is sent first in the spelling NexHealth serves (`served_spelling`: a value not taken may
fail rather than be refused, as a Rails enum's does), else as `Male`, then in the other
spellings (`GENDER_SPELLINGS`: `male`, `M`, `MALE`) should NexHealth refuse the gender (the
adapter learns which one it takes); a refusal listing the values it takes ("must be one of M,
F, O") says which at once (`listed_spelling`). Phone numbers are digits at
NexHealth as its docs show them (`5163042196`), or E.164 (`+15163042196`) where an
implementation keeps that: served as they come (US Core names no format; the `phone` search
compares numbers, `+1` read as the country code), and written as the docs show them: ten
digits, a North American number's country code left out (`national_phone`). The chart number is the practice system's
id (`foreign_id`), present once NexHealth has inserted the patient there (`foreign_id_type` other than `nex`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from gateway.contract import TenantContext
from gateway.errors import Unprocessable
from mappings.fhirjson import coding, compact, content_version, fhir_date, instant
from mappings.terminology import IDENTIFIER_TYPE, PROFILE_PATIENT

GENDER_FROM_VENDOR = {"male": "male", "female": "female", "other": "other", "m": "male", "f": "female", "o": "other"}
GENDER_TO_VENDOR = {"male": "Male", "female": "Female", "other": "Other"}
# The spellings a NexHealth implementation may take (from `GENDER_TO_VENDOR`'s), in the order tried.
GENDER_SPELLINGS: tuple[dict[str, str], ...] = (
    {"Male": "Male", "Female": "Female", "Other": "Other"},
    {"Male": "male", "Female": "female", "Other": "other"},
    {"Male": "M", "Female": "F", "Other": "O"},
    # An enum's constant names (Go `const GenderMale Gender = "MALE"`, a Java enum's `name()`):
    # the docs never list gender's values, and such an implementation refuses every other spelling.
    {"Male": "MALE", "Female": "FEMALE", "Other": "OTHER"},
)
GenderAt = Literal["bio", "top"]  # a patient's gender in `bio`, or beside it
# What a NexHealth create can carry; anything else a client sends is not stored there.
STORED_ON_CREATE = frozenset({"resourceType", "id", "meta", "text", "name", "telecom", "birthDate", "gender"})


def patient_to_fhir(p: dict[str, Any], ctx: TenantContext) -> dict[str, Any]:
    bio = p.get("bio") or {}
    identifiers: list[dict[str, Any]] = [{"use": "usual", "system": ctx.system("patient-id"), "value": str(p["id"])}]
    if p.get("foreign_id") and p.get("foreign_id_type") != "nex":
        identifiers.append(
            {
                "use": "official",
                "type": {"coding": [coding(IDENTIFIER_TYPE, "MR", "Medical record number")], "text": "Chart number"},
                "system": ctx.system("chart-number"),
                "value": str(p["foreign_id"]),
            }
        )
    given = [g for g in (p.get("first_name"), p.get("middle_name")) if g]
    phones: list[dict[str, Any]] = []
    for field, use in (("cell_phone_number", "mobile"), ("home_phone_number", "home"), ("phone_number", None)):
        value = bio.get(field)
        if value and value not in {t["value"] for t in phones}:
            phones.append(compact({"system": "phone", "value": value, "use": use}))
    address = compact(
        {
            "line": [bio["street_address"]] if bio.get("street_address") else [],
            "city": bio.get("city"),
            "state": bio.get("state"),
            "postalCode": bio.get("zip_code"),
        }
    )
    resource = compact(
        {
            "resourceType": "Patient",
            "id": str(p["id"]),
            "identifier": identifiers,
            "active": not p.get("inactive", False),
            "name": [compact({"use": "official", "family": p.get("last_name") or None, "given": given})],
            "telecom": phones + ([{"system": "email", "value": p["email"]}] if p.get("email") else []),
            "gender": GENDER_FROM_VENDOR.get((gender_of(p) or "").lower(), "unknown"),
            "birthDate": fhir_date(bio.get("date_of_birth")),
            "address": [address] if address else [],
        }
    )
    meta = compact({"versionId": content_version(resource), "lastUpdated": instant(p.get("updated_at"))})
    meta["profile"] = [PROFILE_PATIENT]
    return {"resourceType": "Patient", "id": resource["id"], "meta": meta, **resource}


def patient_from_fhir(resource: dict[str, Any], provider_id: int) -> tuple[dict[str, Any], list[str]]:
    """(NexHealth create body, elements it cannot store) or Unprocessable naming what is missing."""
    problems: list[tuple[str, str]] = []
    names = resource.get("name") or []
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = chosen.get("given") or []
    if not given:
        problems.append(("NexHealth requires a first name", "Patient.name.given"))
    if not chosen.get("family"):
        problems.append(("NexHealth requires a last name", "Patient.name.family"))
    telecom = resource.get("telecom") or []
    email = next((t.get("value") for t in telecom if t.get("system") == "email" and t.get("value")), None)
    phone = next((t.get("value") for t in telecom if t.get("system") == "phone" and t.get("value")), None)
    digits = national_phone(phone)
    if not email:
        problems.append(("NexHealth requires an email address", "Patient.telecom"))
    if not digits:
        problems.append(("NexHealth requires a phone number", "Patient.telecom"))
    if not resource.get("birthDate"):
        problems.append(("NexHealth requires a date of birth", "Patient.birthDate"))
    elif len(resource["birthDate"]) != 10:
        problems.append(("NexHealth needs a full date of birth (YYYY-MM-DD)", "Patient.birthDate"))
    gender = resource.get("gender")
    if not gender:
        problems.append(("NexHealth requires a gender", "Patient.gender"))
    elif gender not in GENDER_TO_VENDOR:
        problems.append(
            (f"NexHealth has no value for gender '{gender}' (it knows male, female and other)", "Patient.gender")
        )
    if problems:
        error = Unprocessable(problems[0][0], expression=problems[0][1])
        error.issues = [(text, where) for text, where in problems[1:]]
        raise error
    body = {
        "provider": {"provider_id": provider_id},
        "patient": {
            "first_name": given[0],
            "last_name": chosen["family"],
            "email": email,
            "bio": {
                "date_of_birth": resource["birthDate"],
                "phone_number": digits,
                "gender": GENDER_TO_VENDOR[gender or ""],
            },
        },
    }
    unstored = [f"Patient.{k}" for k in resource if k not in STORED_ON_CREATE]
    if len(given) > 1 or len(names) > 1:
        unstored.append("Patient.name (only the first given and the family name are kept)")
    if sum(1 for t in telecom if t.get("system") in ("email", "phone")) > 2 or any(
        t.get("system") not in ("email", "phone") for t in telecom
    ):
        unstored.append("Patient.telecom (only one email and one phone are kept)")
    return body, unstored


def national_phone(phone: Any) -> str:
    """A phone's digits, without the North American `1` before ten: the number as NexHealth's
    docs write it, ten digits (`"phone_number": "5163042196"`, nexhealth-patients.txt). A
    FHIR `+1 312-555-7311` sent as `13125557311` is refused by an implementation validating
    that form. Other numbers keep every digit (NexHealth takes them or says why not)."""
    digits = "".join(c for c in str(phone or "") if c.isascii() and c.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def gender_of(patient: dict[str, Any]) -> Any:
    """A NexHealth patient's gender: in `bio`, else beside it."""
    return (patient.get("bio") or {}).get("gender") or patient.get("gender")


def gender_at(patient: dict[str, Any]) -> GenderAt | None:
    """Where a served patient's gender is (None: it has none)."""
    if (patient.get("bio") or {}).get("gender"):
        return "bio"
    return "top" if patient.get("gender") else None


def with_gender_at(fields: dict[str, Any], where: GenderAt) -> dict[str, Any]:
    """A create or edit's patient `fields` (gender in `bio`) with the gender moved beside
    `bio` when `where` is "top"."""
    bio = fields.get("bio") or {}
    if where == "bio" or "gender" not in bio:
        return fields
    return {**fields, "gender": bio["gender"], "bio": {k: v for k, v in bio.items() if k != "gender"}}


def served_spelling(gender: Any) -> int | None:
    """The index in GENDER_SPELLINGS of the spelling a served `bio.gender` is written in (exact
    case: `male` is the lower-case one), or None when it is none of them."""
    return next((i for i, spelled in enumerate(GENDER_SPELLINGS) if gender in spelled.values()), None)


def listed_spelling(listed: Sequence[str], gender: str) -> int | None:
    """The index in GENDER_SPELLINGS of the spelling a refusal's list of the values NexHealth
    takes shows it to take for `gender` (`Male`, `Female` or `Other`): one whose every value is
    listed, else one whose value for `gender` is; None when no spelling of the gateway's is."""
    taken = set(listed)
    whole = [i for i, spelled in enumerate(GENDER_SPELLINGS) if set(spelled.values()) <= taken]
    this = [i for i, spelled in enumerate(GENDER_SPELLINGS) if spelled.get(gender) in taken]
    return next(iter(whole + this), None)


def with_gender_spelling(fields: dict[str, Any], spelling: int) -> dict[str, Any]:
    """A create or edit's patient `fields` with `bio.gender` in `GENDER_SPELLINGS[spelling]`."""
    bio = fields.get("bio") or {}
    gender = bio.get("gender")
    if gender not in GENDER_SPELLINGS[spelling]:
        return fields
    return {**fields, "bio": {**bio, "gender": GENDER_SPELLINGS[spelling][gender]}}
