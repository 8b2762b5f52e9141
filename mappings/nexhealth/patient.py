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
A write keeps one name's first given and family name, one email and one phone (written as
`bio.phone_number`, which reads without a use), the birth date and the gender: every other
element sent, or part of one, is named as not stored by its FHIRPath (`unkept_elements`,
comparing what was sent with what the patient reads as once written). An update replaces the
resource (R4 http.html#update): what NexHealth holds that the PUT leaves out, an address part
or a cell or home phone (`bio` fields no write sets), is sent as null to be cleared
(`left_out`), and named as kept where NexHealth still holds it after the edit, as a middle
name always is: no write body has one to clear (`kept_left_out`). So is an inactive patient's
status when the PUT has no `active`: R4 takes a Patient without it as active, but no write body
has `inactive` to set (an active patient's PUT without it is what NexHealth holds: nothing said).
`active` and `deceased[x]` are modifier elements (R4 Patient: "the value of the element cannot
be ignored"): sent with a value NexHealth cannot hold, the record written without it would mean
something else (an active patient where the client said inactive, a living one where it said
deceased). Such a write is refused, 422 `not-supported` naming the element, before anything is
sent (`refuse_unheld_modifiers`), as the core refuses a `modifierExtension`: an `active` other
than the patient's (a new one is active; no write sets `inactive`), and a death (NexHealth's
patients have no field for one). `deceasedBoolean: false` is not refused but named as not
stored: a patient read without `deceased[x]` makes "no statement" on it, which "most systems
will interpret ... as a sign of the person being alive" (R4 Patient.deceased[x]'s comments),
not the contrary of what was sent. So is a name, phone or email whose `use` says it is not
current (`NOT_CURRENT_NAME_USES`, `NOT_CURRENT_CONTACT_USES`: `use` is a modifier of HumanName and
ContactPoint) where it is the one the write would keep: a current one sent beside it is kept
instead, the old one named as not stored. An update's temporary or old address or phone does not
hold NexHealth's current one (`left_out`): it is cleared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from gateway.contract import TenantContext
from gateway.errors import Unprocessable, UnsupportedModifier
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
# Not the vendor's to keep: the id is the server's (R4 http.html#create: one sent is ignored; an
# update's is the URL's), and the gateway writes `meta` and the narrative of every answer itself,
# reporting a client's own that it does not carry.
NOT_THE_VENDORS = frozenset({"resourceType", "id", "meta", "text"})
# Why an element of these is not stored, said in the issue's diagnostics beside its FHIRPath.
# `bio`'s fields a patient reads as an address (each with the part it is) and as a mobile or
# home phone: what NexHealth holds of a patient that no write of the gateway sets.
ADDRESS_FIELDS = {"street_address": "line", "city": "city", "state": "state", "zip_code": "postalCode"}
OTHER_PHONE_FIELDS = ("cell_phone_number", "home_phone_number")
# Why an element an update left out is named: NexHealth still holds it (`kept_left_out`).
WHY_KEPT = "left out of the update, but NexHealth kept it: not cleared"
# Why a PUT without `active` is answered with `Patient.active` for a patient NexHealth holds as
# inactive: R4 reads a Patient without it as active ("This resource is generally assumed to be
# active if no value is provided", Patient.active's meaningWhenMissing), but no write body holds
# `inactive` (the create's fields, nexhealth-patients.txt), so the patient stays inactive.
WHY_KEPT_INACTIVE = "left out of the update, which R4 reads as active, but NexHealth keeps the patient inactive"
# The `use` values that say an item is not the patient's current, own one: HumanName, ContactPoint
# and Address `use` are modifier elements (R4 datatypes.html: "applications should not mistake a
# temporary or old name etc. for a current/permanent one"). NexHealth keeps one name, read as the
# official one, and one phone and email, read without a use: such an item stored would read as
# current. A name that is `temp`, `old`, `maiden` (one used before a marriage) or `anonymous` (a
# pseudonym) is not the patient's current, own name; a nickname or usual name is, and stored as
# the one name loses only its label (named as not stored). A `temp` or `old` phone or email is not
# the current one; home, work and mobile are.
NOT_CURRENT_NAME_USES = frozenset({"temp", "old", "maiden", "anonymous"})
NOT_CURRENT_CONTACT_USES = frozenset({"temp", "old"})
WHY_NOT_STORED = {
    "name": "NexHealth keeps one name: only the first given name and the family name of it",
    "telecom": "NexHealth keeps one email address and one phone number, without use, rank or period",
}


def patient_to_fhir(p: dict[str, Any], ctx: TenantContext) -> dict[str, Any]:
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
    resource = _as_read(p, identifiers)
    meta = compact({"versionId": content_version(resource), "lastUpdated": instant(p.get("updated_at"))})
    meta["profile"] = [PROFILE_PATIENT]
    return {"resourceType": "Patient", "id": resource["id"], "meta": meta, **resource}


def _as_read(p: dict[str, Any], identifiers: list[dict[str, Any]]) -> dict[str, Any]:
    """The Patient a NexHealth patient `p` reads as, with `identifiers` and without `meta`."""
    bio = p.get("bio") or {}
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
    return compact(
        {
            "resourceType": "Patient",
            "id": str(p["id"]),
            "identifier": identifiers,
            "active": not p.get("inactive", False),
            "name": [compact({"use": "official", "family": p.get("last_name") or None, "given": given})],
            "telecom": phones + ([{"system": "email", "value": p["email"]}] if p.get("email") else []),
            "gender": GENDER_FROM_VENDOR.get((gender_of(p) or "").lower(), "unknown"),
            "birthDate": birth_date(bio.get("date_of_birth")),
            "address": [address] if address else [],
        }
    )


def patient_from_fhir(
    resource: dict[str, Any], provider_id: int, *, inactive: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """(NexHealth create body, elements it cannot store), for a patient NexHealth holds as
    `inactive` or not (a new one is not); UnsupportedModifier naming a modifier element it
    cannot hold (`refuse_unheld_modifiers`), else Unprocessable naming what is missing."""
    refuse_unheld_modifiers(resource, inactive=inactive)
    problems: list[tuple[str, str]] = []
    names = resource.get("name") or []
    chosen = names[_chosen_name(names)] if names else {}
    given = chosen.get("given") or []
    if not given:
        problems.append(("NexHealth requires a first name", "Patient.name.given"))
    if not chosen.get("family"):
        problems.append(("NexHealth requires a last name", "Patient.name.family"))
    telecom = [t for t in resource.get("telecom") or [] if t.get("use") not in NOT_CURRENT_CONTACT_USES]
    email = next((t.get("value") for t in telecom if t.get("system") == "email" and t.get("value")), None)
    phones = [t for t in telecom if t.get("system") == "phone" and t.get("value")]
    # The one phone a write sets is `bio.phone_number`, which reads without a use (a mobile or
    # home use is the cell or home number's): a phone without one goes first, so a patient sent
    # back as read keeps the number it has there rather than taking its mobile one.
    phone = next((t["value"] for t in phones if not t.get("use")), phones[0]["value"] if phones else None)
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
    # What the patient created reads as (a new patient is active, NexHealth assigns its ids):
    # each element sent that it does not hold is not stored.
    return body, unkept_elements(resource, as_created(body["patient"]))


def as_created(fields: dict[str, Any]) -> dict[str, Any]:
    """The Patient a create of the patient `fields` (`patient_from_fhir`'s body) reads as once
    made, before NexHealth assigns its ids (none: an identifier sent is never stored)."""
    return _as_read({"id": "new", **fields}, identifiers=[])


def refuse_unheld_modifiers(resource: dict[str, Any], *, inactive: bool) -> None:
    """Raise UnsupportedModifier naming each modifier element `resource` sends with a value a
    NexHealth patient held as `inactive` (or not) cannot be written to hold (module docstring):
    an `active` other than its own, since no write body has `inactive` (the create's fields,
    nexhealth-patients.txt: names, email, phone, date of birth, gender), and a death, which no
    field holds. Left out, neither is refused: an `active` left out is kept and named
    (`kept_left_out`)."""
    why: dict[str, str] = {}
    active = resource.get("active")
    if active is not None and active != (not inactive):
        held = "inactive" if inactive else "active"
        why["Patient.active"] = f"no NexHealth write sets whether a patient is active, and this one is {held}"
    if resource.get("deceasedBoolean") is True or resource.get("deceasedDateTime") is not None:
        why["Patient.deceased"] = "NexHealth holds no death (its patients have no field for one)"
    names = resource.get("name") or []
    chosen = _chosen_name(names) if names else None
    if chosen is not None and names[chosen].get("use") in NOT_CURRENT_NAME_USES:
        why[f"Patient.name[{chosen}].use"] = (
            f"NexHealth keeps one name, read as the patient's official one, and no name sent is current "
            f"(this one is '{names[chosen]['use']}')"
        )
    telecom = resource.get("telecom") or []
    for system in ("phone", "email"):
        items = [(i, t) for i, t in enumerate(telecom) if t.get("system") == system and t.get("value")]
        if items and all(t.get("use") in NOT_CURRENT_CONTACT_USES for _, t in items):
            i, point = items[0]
            why[f"Patient.telecom[{i}].use"] = (
                f"NexHealth keeps one {system}, read as the current one, and every {system} sent is "
                f"temporary or old (this one is '{point['use']}')"
            )
    said: list[tuple[str, str | None]] = [
        (f"{where}: {text}; stored without it the record would mean something else: nothing was written", where)
        for where, text in why.items()
    ]
    if said:
        error = UnsupportedModifier(said[0][0], expression=said[0][1])
        error.issues = said[1:]
        raise error


def left_out(resource: dict[str, Any], patient: dict[str, Any]) -> dict[str, str]:
    """The `bio` fields of the NexHealth patient `patient` holding an element the update
    `resource` leaves out, each with the FHIRPath of that element (as read): an update replaces
    the resource (R4 http.html#update), so they are to be cleared. No write sets them (the
    create body holds names, email, phone, birth date and gender, nexhealth-patients.txt): an
    address part none of the addresses sent has, a cell or home number not among the phones
    sent (compared by digits: NexHealth keeps its own format)."""
    held = {key: value for key, value in (patient.get("bio") or {}).items() if value not in (None, "")}
    # A temporary or old address or phone sent is not what NexHealth holds as current: cleared.
    addresses = [
        address
        for address in resource.get("address") or []
        if isinstance(address, dict) and address.get("use") not in NOT_CURRENT_CONTACT_USES
    ]
    found: dict[str, str] = {}
    for key, part in ADDRESS_FIELDS.items():
        if key in held and not any(address.get(part) for address in addresses):
            found[key] = f"Patient.address[0].{part}" if addresses else "Patient.address"
    telecom = [
        point
        for point in resource.get("telecom") or []
        if isinstance(point, dict) and point.get("use") not in NOT_CURRENT_CONTACT_USES
    ]
    phones = {national_phone(point.get("value")) for point in telecom if point.get("system") == "phone"}
    for key in OTHER_PHONE_FIELDS:
        if key in held and national_phone(held[key]) not in phones:
            found[key] = "Patient.telecom"
    return found


def kept_left_out(resource: dict[str, Any], left: dict[str, str], edited: dict[str, Any]) -> list[str]:
    """The elements the update `resource` leaves out that the NexHealth patient `edited` (as
    the edit left it) still holds, by FHIRPath with why: the `bio` fields `left` (`left_out`)
    NexHealth did not clear (an implementation merging `bio` may read a null as "not given",
    or ignore or refuse a key its edit does not take), and a middle name where the written
    name has one given name. A middle name is never cleared: no write body holds one (the
    create's fields are first and last names, nexhealth-patients.txt; the responses show
    `middle_name`, and no write of it), so it is never sent. Nor is `inactive`: a PUT without
    `active` of a patient NexHealth holds as inactive names `Patient.active` (WHY_KEPT_INACTIVE)."""
    bio = edited.get("bio") or {}
    kept = [path for key, path in left.items() if bio.get(key) not in (None, "")]
    names = resource.get("name") or []
    chosen = _chosen_name(names) if names else 0
    given = (names[chosen].get("given") if names else None) or []
    if edited.get("middle_name") and len(given) < 2:
        kept.append(f"Patient.name[{chosen}].given[1]")
    inactive = (
        [f"Patient.active ({WHY_KEPT_INACTIVE})"] if resource.get("active") is None and edited.get("inactive") else []
    )
    return [f"{path} ({WHY_KEPT})" for path in dict.fromkeys(kept)] + inactive


def as_edited(patient: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The NexHealth patient `patient` once an edit of the create body's `fields` is applied:
    the fields replaced, `bio`'s one by one (the rest of the patient, and of `bio`, as it was)."""
    bio = {**(patient.get("bio") or {}), **(fields.get("bio") or {})}
    return {**patient, **{key: value for key, value in fields.items() if key != "bio"}, "bio": bio}


def unkept_elements(sent: dict[str, Any], kept: dict[str, Any]) -> list[str]:
    """The FHIRPath of each element of the Patient `sent` that `kept`, the patient as it reads
    once written, does not hold: an element of which nothing is kept named whole
    (`Patient.address`), else its parts (`Patient.name[0].prefix`, `Patient.telecom[0].use`),
    a primitive's extension as FHIRPath reaches it (`Patient.birthDate.extension`: R4
    json.html#primitive writes it in `_birthDate`). Items of a list are matched with those
    kept whatever their order: a telecom by its system and value (a phone by its digits:
    NexHealth keeps them in its own format), an identifier by its system and value, the name
    written with the one NexHealth keeps, any other by position. An element kept but not sent
    is left out: the vendor assigns it (the ids, `active` of a new patient) or has it already."""
    lost: list[str] = []
    _compare_elements("Patient", sent, kept, lost, leave_out=NOT_THE_VENDORS)
    return [_explained(path) for path in lost]


def _explained(path: str) -> str:
    element = path.removeprefix("Patient.").split("[")[0].split(".")[0]
    return f"{path} ({WHY_NOT_STORED[element]})" if element in WHY_NOT_STORED else path


def _compare_elements(
    path: str, sent: dict[str, Any], kept: dict[str, Any], lost: list[str], leave_out: frozenset[str] = frozenset()
) -> None:
    """Add to `lost` the path of each element of the complex value `sent` at `path` that `kept` does not hold."""
    for name in dict.fromkeys(key.removeprefix("_") for key in sent):
        if name not in leave_out:
            _compare_element(f"{path}.{name}", name, sent, kept, lost)


def _compare_element(path: str, name: str, sent: dict[str, Any], kept: dict[str, Any], lost: list[str]) -> None:
    """Add to `lost` what `kept` does not hold of the element `name` of `sent` (at `path`), its
    value and its `_name` sibling (a primitive's id and extensions, R4 json.html#primitive)."""
    value, extras = sent.get(name), sent.get(f"_{name}")
    kept_value, kept_extras = kept.get(name), kept.get(f"_{name}")
    if value is not None and kept_value is None:
        lost.append(path)
    elif isinstance(value, list):
        _compare_items(path, value, extras if isinstance(extras, list) else [], kept_value, kept_extras, lost)
    elif isinstance(value, dict):
        _compare_elements(path, value, kept_value if isinstance(kept_value, dict) else {}, lost)
    elif value is not None and not _same_value(path, value, kept_value, sent):
        lost.append(path)
    elif isinstance(extras, dict):
        _compare_elements(path, extras, kept_extras if isinstance(kept_extras, dict) else {}, lost)


def _compare_items(
    path: str, items: list[Any], extras: list[Any], kept_items: Any, kept_extras: Any, lost: list[str]
) -> None:
    """Add to `lost` what `kept_items` does not hold of the list `items` at `path` (and of its
    `_` sibling `extras`, which lines up with it by position, R4 json.html#primitive)."""
    kept_list: list[Any] = kept_items if isinstance(kept_items, list) else []
    kept_extra_list: list[Any] = kept_extras if isinstance(kept_extras, list) else []
    taken: set[int] = set()
    for i, item in enumerate(items):
        at = _counterpart(path, i, items, kept_list, taken)
        if at is None:
            lost.append(f"{path}[{i}]")
            continue
        taken.add(at)
        if isinstance(item, dict):
            counterpart = kept_list[at]
            _compare_elements(f"{path}[{i}]", item, counterpart if isinstance(counterpart, dict) else {}, lost)
            continue
        if item != kept_list[at]:
            lost.append(f"{path}[{i}]")
            continue
        extra = extras[i] if i < len(extras) else None
        kept_extra = kept_extra_list[at] if at < len(kept_extra_list) else None
        if isinstance(extra, dict):
            _compare_elements(f"{path}[{i}]", extra, kept_extra if isinstance(kept_extra, dict) else {}, lost)


def _counterpart(path: str, index: int, items: list[Any], kept: list[Any], taken: set[int]) -> int | None:
    """The position in `kept` of the item `items[index]` (of the list at `path`) is kept as, if any."""
    free = [at for at in range(len(kept)) if at not in taken]
    item = items[index]
    if not isinstance(item, dict):  # a primitive's place is part of it (a name's givens in order)
        return index if index in free else None
    same = next((at for at in free if kept[at] == item), None)
    if same is not None:
        return same
    if path == "Patient.name":  # the one name written, read back as NexHealth's one name
        return next(iter(free), None) if index == _chosen_name(items) else None
    if path in ("Patient.telecom", "Patient.identifier"):
        key = _telecom_key if path == "Patient.telecom" else _identifier_key
        return next((at for at in free if isinstance(kept[at], dict) and key(kept[at]) == key(item)), None)
    return index if index in free else None


def _telecom_key(point: dict[str, Any]) -> tuple[Any, str]:
    value = point.get("value")
    return point.get("system"), national_phone(value) if point.get("system") == "phone" else str(value)


def _identifier_key(identifier: dict[str, Any]) -> tuple[Any, Any]:
    return identifier.get("system"), identifier.get("value")


def _same_value(path: str, value: Any, kept: Any, parent: dict[str, Any]) -> bool:
    """Whether the primitive `value` is held as `kept`: a phone number as its digits are."""
    if path.startswith("Patient.telecom[") and path.endswith("].value") and parent.get("system") == "phone":
        return national_phone(value) == national_phone(kept)
    return bool(value == kept)


def _chosen_name(names: Sequence[dict[str, Any]]) -> int:
    """The position of the name a write keeps: the official one, else the first that is current
    (NOT_CURRENT_NAME_USES), else the first (refused: `refuse_unheld_modifiers`)."""
    official = next((i for i, name in enumerate(names) if name.get("use") == "official"), None)
    if official is not None:
        return official
    return next((i for i, name in enumerate(names) if name.get("use") not in NOT_CURRENT_NAME_USES), 0)


def birth_date(value: Any) -> str | None:
    """A NexHealth `bio.date_of_birth` as a FHIR date: `1964-05-03` as the docs show it, or the
    day a date-time holds (`fhir_date`); None for none, and for a zero date (`ZERO_YEAR`): the
    docs type it a date and never show one missing, so an implementation whose date type has no
    null serves its zero value for a birth date never recorded."""
    return fhir_date(value if isinstance(value, str) else None)


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
