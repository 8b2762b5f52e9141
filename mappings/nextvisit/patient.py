"""Nextvisit PatientFull ⇄ US Core Patient (pure).

Nextvisit stores names and date of birth natively (and returns a gender, which its documented
write bodies cannot set). Elements it has no field for (gender, telecom, address, other
identifiers, extensions, …) are kept in the patient's documented free-form `meta` object
under `fhir`, so a Patient written through the gateway reads back whole instead of losing
what the vendor cannot model. Whatever Nextvisit itself holds wins over that copy: its
names, its gender when set, its `demographics` (email, phone, address) when present; other
keys of its `meta` are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from gateway.contract import TenantContext
from gateway.errors import Unprocessable, UnsupportedModifier
from gateway.text import nfc
from mappings.fhirjson import compact, content_version, fhir_date
from mappings.nextvisit.allergy import item_text
from mappings.nextvisit.options import vendor_timezone
from mappings.nextvisit.vendor import VendorDemographics, VendorPatient, read_patient, zoned_instant
from mappings.terminology import GENDER, PROFILE_PATIENT

# Name uses that say a name is not the patient's current, own one. HumanName.use is a modifier
# (R4 datatypes.html: "applications should not mistake a temporary or old name etc. for a
# current/permanent one"): Nextvisit's own name fields read as the official name, so a name of
# these uses keeps its use only in the copy in `meta` (`_names_in_meta`), and is refused where
# this Nextvisit is known not to keep that copy. A nickname or usual name is current and own.
NOT_CURRENT_NAME_USES = frozenset({"temp", "old", "maiden", "anonymous"})
NATIVE = frozenset({"resourceType", "id", "meta", "text", "name", "birthDate"})
OUR_SYSTEMS = ("patient-id", "patient-uuid")


def patient_to_fhir(raw: Mapping[str, Any] | VendorPatient, ctx: TenantContext) -> dict[str, Any]:
    """The Patient; UnreadablePayload (naming the field) when the payload cannot be read."""
    p = read_patient(raw)
    stored = _stored(p)
    identifiers = [
        {"use": "usual", "system": ctx.system("patient-id"), "value": p.id},
        *([{"use": "secondary", "system": ctx.system("patient-uuid"), "value": p.uuid}] if p.uuid else []),
        *stored.pop("identifier", []),
    ]
    demographics = p.demographics or VendorDemographics()
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p.id,
        "identifier": identifiers,
        "name": _names(p, stored.pop("name", None)),
        "telecom": _telecom(demographics) or stored.pop("telecom", None),
        "gender": _gender(p.gender) or stored.pop("gender", None) or "unknown",
        "birthDate": fhir_date(p.date_of_birth),
        "address": _address(demographics) or stored.pop("address", None),
        **{k: v for k, v in stored.items() if k not in ("telecom", "gender", "address")},
    }
    resource = compact(resource)
    updated = zoned_instant(p.updated_at, vendor_timezone(ctx))
    meta = compact({"versionId": content_version(resource), "lastUpdated": updated})
    meta["profile"] = [PROFILE_PATIENT]
    return {"resourceType": "Patient", "id": resource["id"], "meta": meta, **resource}


# Spellings beyond the common ones (mappings.terminology.GENDER) that implementations write:
# one letter (`X`, `O` as on US licences; `U`), `nonbinary` in one word, `woman`/`man`.
_MORE_GENDERS = {"nonbinary": "other", "nb": "other", "x": "other", "o": "other", "intersex": "other",
                 "u": "unknown", "woman": "female", "man": "male"}  # fmt: skip


def _gender(gender: str | None) -> str | None:
    """Case, `-` and spaces alike: `Female`, `non-binary`, `Prefer not to say` (values the docs
    show only by example, `"female"`)."""
    key = (gender or "").strip().lower().replace("-", "_").replace(" ", "_")
    return GENDER.get(key) or _MORE_GENDERS.get(key)


def _stored(p: VendorPatient) -> dict[str, Any]:
    copy = _without_nulls(p.meta.get("fhir"))
    return {k: v for k, v in copy.items() if k not in NATIVE or k == "name"} if isinstance(copy, dict) else {}


def _without_nulls(value: Any) -> Any:
    """`value` without the null members an update wrote to remove what it no longer holds
    (`_replacing`): a FHIR object has none of its own (R4 json.html). Nulls in a list stay: they
    keep a primitive's extensions in line with its values (`"_given": [null, {...}]`)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _replacing(before: Any, now: Any) -> Any:
    """`now`, to be written where `before` is, with every key of `before` it lacks as null, at
    every depth of objects. The docs call `meta` "Additional metadata" and say no more of how an
    update writes it: set as sent (replaced), its keys merged over the stored ones (Stripe's
    `metadata`, `{...meta, ...body.meta}`, `array_merge`), or merged at every depth (RFC 7396
    JSON Merge Patch, where null removes a key). Replaced or merged by key, the nulls are read as
    nothing (`_without_nulls`); merged at any depth, they remove what `now` no longer holds.
    Lists are sent whole: each of these writes replaces a list."""
    if not isinstance(before, dict) or not isinstance(now, dict):
        return now
    return {**{k: None for k in before if k not in now}, **{k: _replacing(before.get(k), v) for k, v in now.items()}}


def _names(p: VendorPatient, stored: Any) -> list[dict[str, Any]]:
    given = [g for g in (p.first_name, *(p.middle_name or "").split()) if g]
    native = compact({"use": "official", "family": p.last_name or None, "given": given})
    if isinstance(stored, list) and stored:
        chosen = _chosen_name(stored)
        # The copy is used only while it still agrees with the vendor's own fields (read in NFC,
        # as the gateway serves text: a vendor storing names decomposed still agrees).
        if nfc(chosen.get("family")) == native.get("family") and nfc(chosen.get("given", [])) == given:
            return stored
    return [native]


def _telecom(demographics: VendorDemographics) -> list[dict[str, Any]]:
    out = []
    if demographics.phone_value:
        out.append({"system": "phone", "value": demographics.phone_value})
    if demographics.email_value:
        out.append({"system": "email", "value": demographics.email_value})
    return out


def _address(demographics: VendorDemographics) -> list[dict[str, Any]]:
    address = compact(
        {
            "line": demographics.lines,
            "city": demographics.city or None,
            "state": demographics.state or None,
            "postalCode": demographics.postal or None,
        }
    )
    return [address] if address else []


def unkept_elements(sent: Mapping[str, Any], stored: Mapping[str, Any], ctx: TenantContext) -> tuple[str, ...]:
    """The elements of the Patient `sent` that `stored` (the vendor's record after the write, read
    back) does not hold as sent, by FHIRPath: those kept in `meta` (its identifiers of other
    systems, telecom, gender, extensions...) and names beyond the vendor's fields. A write may not
    take `meta` and say nothing (Rails' strong parameters permitting `:meta` as a scalar drop an
    object; a serializer may hold it read-only), and Nextvisit's own gender and demographics,
    once set, are served over the copy: each is named, never lost unsaid. Its native fields
    (names, birth date) are the vendor's to refuse; `text` and `meta` are the core's."""
    ours = {ctx.system(s) for s in OUR_SYSTEMS}
    held = stored.get("identifier") or []
    unkept: list[str] = []
    for element, value in sent.items():
        if element == "identifier":
            lost = any(i not in held for i in value if i.get("system") not in ours)
        elif element == "name":
            lost = _names_in_meta(value) and stored.get("name") != value
        else:
            lost = element not in NATIVE and stored.get(element) != value
        if lost:
            unkept.append(f"Patient.{element}")
    return tuple(unkept)


def copy_dropped(body: Mapping[str, Any], stored: VendorPatient) -> bool:
    """Whether the patient `stored`, read back after a create of `body`, lacks the copy of the
    Patient the body sent in `meta.fhir`, or the identifiers in it: the one sign that this
    Nextvisit does not keep `meta` (Rails' strong parameters permitting `:meta` as a scalar drop
    an object). An element merely stored otherwise (a string trimmed, a native gender served
    over the copy) is not: the copy came back, and a condition on an MRN in it still selects."""
    sent = _without_nulls((body.get("meta") or {}).get("fhir"))
    if not isinstance(sent, dict) or not sent:
        return False
    held = _without_nulls(stored.meta.get("fhir"))
    if not isinstance(held, dict):
        return True
    kept = {_identifier_key(i) for i in held.get("identifier") or [] if isinstance(i, dict)}
    return any(_identifier_key(i) not in kept for i in sent.get("identifier") or [] if isinstance(i, dict))


def _identifier_key(identifier: Mapping[str, Any]) -> tuple[str, str]:
    """An identifier's system and value, as a vendor trimming strings still keeps them."""
    return str(identifier.get("system") or "").strip(), str(identifier.get("value") or "").strip()


def _names_in_meta(names: list[dict[str, Any]]) -> bool:
    """Whether a Patient's names are more than the vendor's fields hold (kept in `meta`): several,
    or parts other than the family and given names."""
    if len(names) > 1:
        return True
    chosen = _chosen_name(names) if names else {}
    # A use other than official is lost in the vendor's fields, which read as the official name.
    return bool(set(chosen) - {"family", "given", "use"}) or chosen.get("use") not in (None, "official")


def _chosen_name(names: list[dict[str, Any]]) -> dict[str, Any]:
    """The name Nextvisit's own fields hold: the official one, else the first current one
    (NOT_CURRENT_NAME_USES), else the first."""
    official = next((n for n in names if n.get("use") == "official"), None)
    return official or next((n for n in names if n.get("use") not in NOT_CURRENT_NAME_USES), names[0])


def patient_from_fhir(
    resource: dict[str, Any],
    ctx: TenantContext,
    today: date,
    current: VendorPatient | None = None,
    *,
    meta_kept: bool = True,
) -> dict[str, Any]:
    """The Nextvisit request body for a (valid FHIR) Patient, or Unprocessable naming what is missing.

    `current` is the record as the vendor holds it, on update: the other keys of its `meta` are
    kept, what its copy of the resource holds that this one does not is sent as null (a vendor
    may merge `meta` rather than replace it, `_replacing`), and its `notes` and `allergies` text
    is sent back as it is. The docs do not say whether `PUT /v1/patients/{id}` changes only the
    fields sent or replaces the record (fields left out becoming null, as a PUT may): sent back,
    they survive both. As text, which is all the update body takes: allergies answered as a list
    of items (a vendor keeping them as a list: EF Core's `List<string>`, a PostgreSQL `text[]`;
    or as rows naming a substance, each written "Penicillin (hives)") are written as the docs'
    example writes them, "Penicillin, Sulfa drugs"; a field the answer did not hold, or a list
    with an item naming no substance, cannot be sent back.
    """
    problems: list[tuple[str, str]] = []
    names = resource.get("name") or []
    chosen = _chosen_name(names) if names else {}
    index = names.index(chosen) if names else 0
    if not meta_kept and chosen.get("use") in NOT_CURRENT_NAME_USES:
        # Where the copy in `meta` is dropped (`meta_kept`), the name would read as the official one.
        where = f"Patient.name[{index}].use"
        raise UnsupportedModifier(
            f"{where}: this Nextvisit keeps a name only as the patient's official one, and no name sent is "
            f"current (this one is '{chosen['use']}'); stored without its use the record would mean something "
            "else: nothing was written",
            expression=where,
        )
    given = chosen.get("given") or []
    if not given:
        problems.append(("Nextvisit requires a first name (name.given)", f"Patient.name[{index}].given"))
    if not chosen.get("family"):
        problems.append(("Nextvisit requires a last name (name.family)", f"Patient.name[{index}].family"))
    for part, value in (("family", chosen.get("family")), *(("given", g) for g in given)):
        if value and len(value) > 255:
            problems.append((f"Nextvisit names are at most 255 characters ({part})", f"Patient.name[{index}].{part}"))
    birth = resource.get("birthDate")
    if not birth:
        problems.append(("Nextvisit requires a date of birth", "Patient.birthDate"))
    elif len(birth) != 10:
        problems.append(("Nextvisit needs a full date of birth (YYYY-MM-DD)", "Patient.birthDate"))
    elif date.fromisoformat(birth) >= today:
        problems.append(("The date of birth must be before today", "Patient.birthDate"))
    if problems:
        error = Unprocessable(problems[0][0], expression=problems[0][1])
        error.issues = [(text, where) for text, where in problems[1:]]
        raise error
    identifiers = [
        i for i in resource.get("identifier", []) if i.get("system") not in {ctx.system(s) for s in OUR_SYSTEMS}
    ]
    extra = {k: v for k, v in resource.items() if k not in NATIVE and k != "identifier"}
    if identifiers:
        extra["identifier"] = identifiers
    if _names_in_meta(names):
        extra["name"] = names
    held = current.meta if current else {}
    meta = {k: v for k, v in held.items() if k != "fhir"}
    before = _without_nulls(held.get("fhir"))
    if extra or isinstance(before, dict):
        meta["fhir"] = _replacing(before, extra)
    body: dict[str, Any] = {
        "first_name": given[0],
        "middle_name": " ".join(given[1:]) or None,
        "last_name": chosen["family"],
        "date_of_birth": birth,
        "meta": meta,
    }
    for kept in ("notes", "allergies"):
        value = getattr(current, kept, None)
        if isinstance(value, str):
            body[kept] = value
        elif kept == "allergies" and isinstance(value, list):
            items = [item_text(item) for item in value if item is not None]
            if all(item is not None for item in items):
                body[kept] = _ALLERGY_JOINER.join(item for item in items if item) or None
    return body


# How the allergy items a vendor answers as a list are written back in the text its write bodies
# take: the docs' own example writes them so ("Penicillin, Sulfa drugs").
_ALLERGY_JOINER = ", "
