"""US Core Patient → Dental PMS `CreatePatientIn` / `PATCH` body (pure).

The vendor keeps: the legal name (`first_name`, `last_name`: the official name, else one
without a use, else a usual one, whose use is then reported: it reads back official; first
given → `first_name`, the other givens → `middle_name`, family → `last_name`), a `usual`
name's first given (`preferred_name`), `birthDate` (a full date only: a year or year-month is
refused, 422, as `date_of_birth` is a `string (date)`), `gender` (FHIR male/female/other/unknown
are vendor codes too), one phone of each use home/mobile/work (a phone without a use takes the
first free of mobile, home, work), one email (without a use: patient.py reads it back without
one), one address (the first of which anything is kept, an `old` or `temp` one only when no other
is; two lines, city, state, postal code, country; read back without a use, so a use sent is not
kept; when no address has anything kept, `Patient.address` is named whole), the chart number's value
(the identifier in the tenant's chart-number system; a use, type, period or assigner that does
not read back as sent is reported), `maritalStatus` (one v3 code: other codings, and a text or
display other than the code's, are reported), the preferred `communication` language (one
code, a BCP-47 one first, else the text: the text beside a code, other codings and
communications are reported), `deceasedDateTime` (a day as the clinic's midnight:
`_date_time`), and on create the lifecycle (`active: false` → status inactive, deceased →
deceased). Everything else is reported by FHIR path in `Written.not_stored` (gateway/rest/write.py
says how), a primitive's id and extensions as FHIRPath reaches them (`_unkept`): what a read
gives, written back, reports nothing. An address, email or chart number stored whose `use` is
`old` or `temp` would read back as the current one, which that modifier says it is not: the write
is refused, 422 naming it (`NOT_CURRENT`).

Update is FHIR's full replace over a PATCH: every field this mapping owns is set, null
when the resource has no value for it, so what the client left out is cleared (`changes`
leaves out of the PATCH what the patient holds as set already) (a vendor
that reads a null as "not provided" keeps the field: writes.py reports it). Two are
not cleared: `chart_number` (the practice assigns it when none is given; a PUT without
it keeps the practice's record number) and the required names (a PUT without a family or
given name is refused with 422, naming the element), and a `deceasedDateTime` of a year
or year-month, which the vendor's date-time cannot hold (on create it is not sent either:
the patient is created deceased, the date reported as not stored). `status` is not in the
update body; the reference moves it with `transition-status` along its "allowed status
transitions" (prospective -> active, active -> inactive or deceased, inactive -> active;
deceased is terminal). `status_path` gives the steps from the patient's status to the one
the resource describes (the create rule: deceased, else `active: false` -> inactive, else
`active: true` -> in use), at most two (inactive -> active -> deceased); none reaches a
deceased patient's other statuses, nor any other of an archived patient.
`active` and `deceased[x]` are modifier elements (R4 Patient: "the value of the element cannot
be ignored"): a record stored without the one sent means something else (a patient in use who
is not, a death taken back). So one sent with a value no status can hold (`active: true` beside
a death, on create too) or no transition reaches (`deceasedBoolean: false` of a deceased
patient, `active: true` of one, any other status of an archived one) is refused, 422
`not-supported` naming it, before anything is written (`refuse_unheld_status`), as the core
refuses a `modifierExtension`. A resource that says neither `active` nor deceased leaves the
status as it is, but for a deceased patient's: a PUT replaces the resource (FHIR http.html,
update), so one without `deceased[x]` says the patient is not known to be deceased, which the
terminal status cannot follow: the death is kept whole, status and date (`kept_for_status`
keeps the date out of the update body), and `Patient.deceased` is reported as not stored.
A transition the vendor refuses although the reference allows it leaves the status as it was,
and the fields the update PATCHed are set back (writes.py): the update is refused, or, where
the record cannot be set back whole, what was kept is reported.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from gateway.contract import TenantContext
from gateway.errors import Unprocessable, UnsupportedModifier
from mappings.dentalpms.patient import BCP47_TAG, chart_number_type
from mappings.terminology import BCP47, MARITAL, MARITAL_STATUS

_GENDERS = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}
_MARITAL_BY_CODE = {code: vendor for vendor, (code, _) in MARITAL.items()}
_PHONE_FIELDS = {"mobile": "mobile_phone", "home": "home_phone", "work": "work_phone"}
# Fields of the update body this mapping owns (cleared when the resource has no value).
OWNED = (
    "first_name", "middle_name", "last_name", "preferred_name", "date_of_birth", "gender",
    "mobile_phone", "home_phone", "work_phone", "email", "address_line1", "address_line2",
    "city", "state", "postal_code", "country", "marital_status", "preferred_language",
    "date_time_deceased",
)  # fmt: skip
_HANDLED = frozenset(
    {"resourceType", "id", "meta", "text", "identifier", "name", "telecom", "gender", "birthDate", "address"}
    | {"maritalStatus", "communication", "deceasedDateTime", "deceasedBoolean", "active"}
)


@dataclass(frozen=True)
class VendorBody:
    fields: dict[str, Any]  # the vendor's body (without base_version)
    not_stored: tuple[str, ...]  # FHIR paths the vendor could not keep


def patient_for_create(resource: dict[str, Any], ctx: TenantContext) -> VendorBody:
    """`CreatePatientIn` for `resource`: only the fields it has values for."""
    # A new patient's status is the create body's own, any of them: only `active: true` beside
    # a death is out of reach (one status holds both), as it is of an active patient's update.
    refuse_unheld_status(resource, "active")
    fields, lost = _fields(resource, ctx, None)  # the vendor gives the new patient its id
    if resource.get("active") is False:
        fields["status"] = "inactive"
    if resource.get("deceasedBoolean") is True or "date_time_deceased" in fields:
        fields["status"] = "deceased"  # a date the vendor cannot hold still says so
    if _partial(fields.get("date_time_deceased")):
        del fields["date_time_deceased"]
        lost.append("Patient.deceasedDateTime")
    return VendorBody(fields, tuple(lost))


# The reference's transitions (`transition-status`), as the steps from a status to a target.
_STEPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("prospective", "active"): ("active",),
    ("inactive", "active"): ("active",),
    ("active", "inactive"): ("inactive",),
    ("prospective", "inactive"): ("active", "inactive"),
    ("active", "deceased"): ("deceased",),
    ("inactive", "deceased"): ("active", "deceased"),
    ("prospective", "deceased"): ("active", "deceased"),
}
_IN_USE = frozenset({"active", "prospective"})  # what `active: true` reads (patient.py)


@dataclass(frozen=True)
class StatusPath:
    steps: tuple[str, ...]  # the `new_status` of each transition, in order
    element: str | None = None  # the FHIR element the target status comes from
    reachable: bool = True  # False: no transition leads there (the status stays)
    # Elements the status cannot hold: `active: true` beside a death, and a deceased patient's
    # `deceased[x]` taken back (sent `false`, or left out of the PUT).
    never: tuple[str, ...] = ()

    @property
    def unmet(self) -> tuple[str, ...]:
        """The element, while the status it asks for is not the patient's, and `never`."""
        pending = (self.element,) if self.element and (self.steps or not self.reachable) else ()
        return pending + self.never


def status_path(resource: dict[str, Any], current: str | None) -> StatusPath:
    """The transitions taking a patient in status `current` to the lifecycle `resource`
    describes (module docstring); `current` None (left out: its default) is active."""
    now = current or "active"
    # Deceased is terminal: a death the resource takes back (`deceasedBoolean: false`, or no
    # `deceased[x]` at all, which a PUT's full replace says the same with) cannot be stored.
    never: tuple[str, ...] = ("Patient.deceased",) if now == "deceased" and not _says_deceased(resource) else ()
    if _says_deceased(resource):
        target, element = "deceased", "Patient.deceased"
        # A deceased patient is out of use (`active` false, patient.py): a FHIR record may
        # be both, the vendor's one status cannot.
        never = ("Patient.active",) if resource.get("active") is True else ()
    elif resource.get("active") is False:  # inactive, unless out of use already (deceased)
        target, element = ("inactive" if now in _IN_USE else now), "Patient.active"
    elif resource.get("active") is True:  # in use: prospective already is
        target, element = ("active" if now not in _IN_USE else now), "Patient.active"
    else:
        return StatusPath((), never=never)
    if now == target:
        return StatusPath((), element, never=never)
    steps = _STEPS.get((now, target))
    if steps is None:  # from deceased (terminal) or archived: the status stays
        return StatusPath((), element, reachable=False, never=never)
    return StatusPath(steps, element, never=never)


def refuse_unheld_status(resource: dict[str, Any], current: str | None) -> None:
    """Raise UnsupportedModifier naming each of `active` and `deceased[x]` that `resource` sends
    with a value a patient in status `current` cannot be given (`status_path`: no status holds
    it, or no transition leads there): its status would stay, and the record written without
    that modifier means something else (R4 Patient.active and Patient.deceased[x] are
    modifiers). An element the resource leaves out is no refusal: a deceased patient's death
    is kept, and said (module docstring)."""
    path = status_path(resource, current)
    sent = {
        "Patient.active": resource.get("active") is not None,
        "Patient.deceased": resource.get("deceasedBoolean") is not None or resource.get("deceasedDateTime") is not None,
    }
    unheld = [
        (element, _NO_STATUS_HOLDS[element] if element in path.never else _NO_TRANSITION)
        for element in ("Patient.active", "Patient.deceased")
        if sent[element] and (element in path.never or (element == path.element and not path.reachable))
    ]
    if not unheld:
        return
    messages: list[tuple[str, str | None]] = [
        (
            f"{element}: the Dental PMS {why}; stored without it the record would mean something else: "
            "nothing was written",
            element,
        )
        for element, why in unheld
    ]
    error = UnsupportedModifier(messages[0][0], expression=messages[0][1])
    error.issues = messages[1:]
    raise error


# Why a modifier value sent is refused (`refuse_unheld_status`): no status holds it ...
_NO_STATUS_HOLDS = {
    "Patient.active": "keeps one lifecycle status, and a deceased patient's is not in use: `active: true` cannot "
    "stand beside a death",
    "Patient.deceased": 'keeps deceased as a terminal status (transition-status: "deceased -> (none)"): a death '
    "cannot be taken back",
}
# ... or no transition the reference documents leads to the status that holds it.
_NO_TRANSITION = (
    "cannot move this patient's status there: its transitions are prospective -> active, active -> inactive "
    "or deceased, inactive -> active; deceased is terminal, and an archived patient moves only once restored"
)


def kept_for_status(fields: dict[str, Any], resource: dict[str, Any], current: str | None) -> dict[str, Any]:
    """The update body `fields` (`patient_for_update`) for a patient in status `current`: a
    deceased patient's date of death is left out (kept) when `resource` takes the death back.
    Its status cannot follow (deceased is terminal: the reference's "deceased -> (none)"), and
    a date cleared beside it reads as `deceasedBoolean: true`, half a death, the date lost;
    `status_path` reports `Patient.deceased` as not stored instead. A patient not in that status
    holding a date (a transition refused after its PATCH) has it cleared: all of the death goes."""
    if current == "deceased" and not _says_deceased(resource):
        return {name: value for name, value in fields.items() if name != "date_time_deceased"}
    return fields


def _says_deceased(resource: dict[str, Any]) -> bool:
    return resource.get("deceasedBoolean") is True or bool(resource.get("deceasedDateTime"))


def step_back(current: str | None, original: str | None) -> str | None:
    """The one transition taking a patient moved part way (to `current`) back to `original`,
    when the reference allows one (active -> inactive); None when there is none."""
    steps = _STEPS.get((current or "active", original or "active")) if current != original else None
    return steps[0] if steps is not None and len(steps) == 1 else None


def patient_for_update(resource: dict[str, Any], ctx: TenantContext) -> VendorBody:
    """The PATCH body replacing the patient with `resource` (module docstring); the status is
    `status_path`'s."""
    fields, lost = _fields(resource, ctx, resource.get("id"))
    body = {name: fields.get(name) for name in OWNED}
    if _partial(fields.get("date_time_deceased")):  # neither sent nor cleared: the vendor's value stays
        del body["date_time_deceased"]
        lost.append("Patient.deceasedDateTime")
    if "chart_number" in fields:
        body["chart_number"] = fields["chart_number"]
    return VendorBody(body, tuple(lost))


def changes(fields: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The fields of an update body (`patient_for_update`) whose value is not the patient's
    already (`record`, as read before the PATCH): a null where the record holds none, or a
    value it holds as sent, is left out. The reference's PATCH modifies "only provided
    fields", so what is left out stays as it is, the same. Sending the patient's own chart
    number again is no "modification", yet a service whose uniqueness check does not leave the
    patient itself out (`exists(chart_number=X)` without `id != self`) refuses it, 409
    "duplicate chart number", and with it every update of a patient that has one."""
    return {name: value for name, value in fields.items() if not _holds(record.get(name), value)}


def _holds(held: Any, sent: Any) -> bool:
    if sent is None:
        return held is None or held == ""
    return isinstance(held, str) and isinstance(sent, str) and held == sent


def _date_time(value: str, zone: str) -> str:
    """A FHIR dateTime as the reference's `string (date-time)`, RFC 3339's `date-time` (a date,
    a time and an offset), which a strict service (Go's `time.Time`, Jackson's `OffsetDateTime`)
    alone takes: a day is the clinic's midnight that day (the tenant's zone: a day in FHIR has
    none, and a service reading a date alone as a UTC midnight puts it on the day before in the
    Americas); a time is sent as the client wrote it (FHIR gives it an offset). A year or
    year-month is left as it is: no date-time holds it (`_partial`)."""
    if len(value) != len("YYYY-MM-DD"):
        return value
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    return datetime.combine(day, time(0), ZoneInfo(zone)).isoformat()


def _partial(deceased: Any) -> bool:
    """A year or year-month (FHIR dateTime allows them) is no `string (date-time)`: a FastAPI
    service refuses `2020-03` (422) and reads `2020` as Unix seconds (1970-01-01T00:33:40Z)."""
    return isinstance(deceased, str) and len(deceased) < len("YYYY-MM-DD")


def _fields(resource: dict[str, Any], ctx: TenantContext, patient_id: str | None) -> tuple[dict[str, Any], list[str]]:
    """The vendor fields of `resource` and the FHIR paths of what they do not keep;
    `patient_id`: the vendor's id of the patient written (None on create)."""
    fields: dict[str, Any] = {}
    lost = _unkept("Patient", resource, _HANDLED)
    lost += _names(resource.get("name") or [], fields)
    not_current: list[NotCurrent] = []  # what would read back as current (NOT_CURRENT)
    lost += _identifiers(resource.get("identifier") or [], ctx, fields, patient_id, not_current)
    lost += _telecom(resource.get("telecom") or [], fields, not_current)
    lost += _address(resource.get("address") or [], fields, not_current)
    _refuse_uses_read_as_current(not_current)
    if resource.get("birthDate"):
        if len(resource["birthDate"]) != len("YYYY-MM-DD"):
            # The reference's `date_of_birth` is a `string (date)`: a year or year-month has no
            # place in it. Left out of an update (full replace) it would be sent as null, the
            # birth date the vendor holds erased for one it was never given.
            raise Unprocessable(
                "Dental PMS keeps a full date of birth only (YYYY-MM-DD)", expression="Patient.birthDate"
            )
        fields["date_of_birth"] = resource["birthDate"]
    if resource.get("gender"):
        fields["gender"] = _GENDERS[resource["gender"]]
    if resource.get("deceasedDateTime"):
        fields["date_time_deceased"] = _date_time(resource["deceasedDateTime"], ctx.timezone)
    lost += _marital(resource.get("maritalStatus"), fields)
    lost += _language(resource.get("communication") or [], fields)
    return fields, lost


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _names(names: list[dict[str, Any]], fields: dict[str, Any]) -> list[str]:
    """The legal name (the reference's `first_name` and `last_name`: "Patient's legal first
    name", read back `use: official`, patient.py) and a `usual` name's first given (the
    `preferred_name`). The legal name is the official one, else the first without a use, else
    the first usual one: a usual name stored there reads back official, so its `use` is
    reported (R4 datatypes.html#HumanName: `usual` is "known as", not the legal name). Every
    name that does not read back is named."""
    legal = next(
        (name for use in ("official", None, "usual") for name in names if name.get("use") == use),
        None,
    )
    if legal is None or not legal.get("family") or not legal.get("given"):
        raise Unprocessable(
            "Dental PMS requires a patient name with a family name and a given name", expression="Patient.name"
        )
    lost: list[str] = []
    index = names.index(legal)
    fields["last_name"] = _nfc(legal["family"])
    fields["first_name"] = _nfc(legal["given"][0])
    fields["middle_name"] = _nfc(" ".join(legal["given"][1:])) or None
    if fields["middle_name"] is None:
        del fields["middle_name"]
    lost += _unkept(f"Patient.name[{index}]", legal, ("use", "family", "given"))
    if legal.get("use") == "usual":
        lost.append(f"Patient.name[{index}].use (kept as the legal name, which reads back official)")
    for i, name in enumerate(names):
        if i == index:
            continue
        given = name.get("given") or []
        same_family = name.get("family") in (None, legal["family"])
        # patient.py reads a preferred name back only when it is not the first name.
        preferred = bool(given) and _nfc(given[0]) != fields["first_name"]
        if name.get("use") == "usual" and preferred and same_family and "preferred_name" not in fields:
            fields["preferred_name"] = _nfc(given[0])
            lost += _unkept(f"Patient.name[{i}]", name, ("use", "family", "given"))
            if len(given) > 1:
                lost.append(f"Patient.name[{i}].given")
        else:
            lost.append(f"Patient.name[{i}]")
    return lost


def _identifiers(
    identifiers: list[dict[str, Any]],
    ctx: TenantContext,
    fields: dict[str, Any],
    patient_id: str | None,
    not_current: list[NotCurrent],
) -> list[str]:
    """The chart number (`_chart_index`: the first current identifier of the tenant's
    chart-number system with a value; any other of the system is named); the vendor keeps its
    value only, read back `use: official` with the type `chart_number_type` (patient.py), so
    any other `use`, `type`, `period` or `assigner` is named. The patient-id identifier reads
    back as the record's id: one naming another id (on create, any: the vendor gives the id) is
    not stored."""
    lost: list[str] = []
    chart = _chart_index(identifiers, ctx)
    for i, identifier in enumerate(identifiers):
        path = f"Patient.identifier[{i}]"
        system, value, use = identifier.get("system"), identifier.get("value"), identifier.get("use")
        if i == chart:
            fields["chart_number"] = value
            lost += _unkept(path, identifier, ("system", "value", "use", "type"))
            if use in NOT_CURRENT:
                not_current.append(NotCurrent(f"{path}.use", use, "a chart number"))
            elif use not in (None, "official"):
                lost.append(f"{path}.use")
            if "type" in identifier:
                lost += _concept_unkept(f"{path}.type", identifier["type"], chart_number_type())
        elif system == ctx.system("patient-id") and value is not None and value == patient_id:
            lost += _unkept(path, identifier, ("system", "value", "use"))  # read back `use: usual`
            if use not in (None, "usual"):
                lost.append(f"{path}.use")
        else:
            lost.append(path)
    return lost


def chart_number_path(resource: dict[str, Any], ctx: TenantContext) -> str:
    """The FHIRPath of the identifier a body's chart number comes from (`_chart_index`)."""
    index = _chart_index(resource.get("identifier") or [], ctx)
    return "Patient.identifier" if index is None else f"Patient.identifier[{index}]"


def _chart_index(identifiers: list[dict[str, Any]], ctx: TenantContext) -> int | None:
    """The index of the identifier the chart number is taken from: the first of the tenant's
    chart-number system with a value whose `use` is not `old` or `temp` (R4
    codesystem-identifier-use.html: `old` is "no longer considered valid", a renumbered chart's
    former number), as an address and an email are chosen; else the first of the system, which
    `_refuse_uses_read_as_current` then refuses."""
    charts = [
        i
        for i, found in enumerate(identifiers)
        if found.get("system") == ctx.system("chart-number") and found.get("value")
    ]
    return next((i for i in charts if identifiers[i].get("use") not in NOT_CURRENT), charts[0] if charts else None)


def _concept_unkept(path: str, sent: dict[str, Any], read_back: dict[str, Any]) -> list[str]:
    """The parts of the CodeableConcept `sent` (at `path`) that `read_back`, the concept a read
    gives in its place, does not hold: each coding it has no coding alike for (same system
    and code; a display other than its own), and a text other than its own."""
    lost = _unkept(path, sent, ("coding", "text"))
    kept = read_back.get("coding") or []
    for j, coding in enumerate(sent.get("coding") or []):
        like = next((k for k in kept if (k["system"], k["code"]) == (coding.get("system"), coding.get("code"))), None)
        if like is None:
            lost.append(f"{path}.coding[{j}]")
            continue
        lost += _coding_unkept(f"{path}.coding[{j}]", coding, like.get("display"))
    if sent.get("text") not in (None, read_back.get("text")):
        lost.append(f"{path}.text")
    return lost


def _coding_unkept(path: str, coding: dict[str, Any], display: str | None) -> list[str]:
    """What of a coding whose system and code are kept does not read back: a display other than
    `display` (the one a read gives), its version, userSelected, id and extensions."""
    lost = _unkept(path, coding, ("system", "code", "display"))
    if coding.get("display") not in (None, display):
        lost.append(f"{path}.display")
    return lost


def _telecom(telecom: list[dict[str, Any]], fields: dict[str, Any], not_current: list[NotCurrent]) -> list[str]:
    """One phone of each use home/mobile/work (a `temp` or `old` phone has no field: it is not
    stored, and named) and one email, a current one first: the email reads back without a use,
    so an `old` or `temp` one stored would read as current (`NOT_CURRENT`)."""
    lost: list[str] = []
    emails = [i for i, point in enumerate(telecom) if point.get("system") == "email" and point.get("value")]
    email = next((i for i in emails if telecom[i].get("use") not in NOT_CURRENT), emails[0] if emails else None)
    for i, point in enumerate(telecom):
        value, system, use = point.get("value"), point.get("system"), point.get("use")
        target: str | None = None
        if value and system == "phone":
            if use in _PHONE_FIELDS:
                target = _PHONE_FIELDS[use] if _PHONE_FIELDS[use] not in fields else None
            elif use is None:
                target = next((f for f in _PHONE_FIELDS.values() if f not in fields), None)
        elif i == email:
            target = "email"
        if target is None:
            lost.append(f"Patient.telecom[{i}]")
            continue
        fields[target] = value
        # A phone's use is its field (patient.py reads it back); the one email has none.
        kept = ("system", "value", "use") if target in _PHONE_FIELDS.values() else ("system", "value")
        lost += _unkept(f"Patient.telecom[{i}]", point, kept)
        if target == "email" and use in NOT_CURRENT:
            not_current.append(NotCurrent(f"Patient.telecom[{i}].use", use, "an email"))
    return lost


def _address(addresses: list[dict[str, Any]], fields: dict[str, Any], not_current: list[NotCurrent]) -> list[str]:
    """One address (the reference has one set of address fields): the first of which the vendor
    keeps anything, unless it is `old` ("no longer in use", R4 valueset-address-use) and
    another is not. Every other address is named."""
    held = [_address_fields(address) for address in addresses]
    kept = [i for i, fields_of_address in enumerate(held) if fields_of_address]
    if not kept:
        # Nothing of any address has a field (`{"use": "home", "text": "12 Main St"}`): the
        # patient reads back without one, so the element is named whole, not only the parts sent.
        return ["Patient.address"] if addresses else []
    index = next((i for i in kept if addresses[i].get("use") not in NOT_CURRENT), kept[0])
    address = addresses[index]
    fields.update(held[index])
    path = f"Patient.address[{index}]"
    lost = [f"Patient.address[{i}]" for i in range(len(addresses)) if i != index]
    if len(address.get("line") or []) > 2:
        lost.append(f"{path}.line")
    # patient.py reads the address back without a use (the reference does not say what kind of
    # address it is): a use sent is not kept, and an `old` or `temp` one is refused (NOT_CURRENT).
    lost += _unkept(path, address, ("line", "city", "state", "postalCode", "country"))
    if address.get("use") in NOT_CURRENT:
        not_current.append(NotCurrent(f"{path}.use", address["use"], "an address"))
    return lost


# The uses that say an address, contact point, name or identifier is not the current one: `old`
# ("no longer in use") and `temp` ("a temporary ... not the usual") (R4 valueset-address-use,
# -contact-point-use, -name-use, -identifier-use). Each `use` is a modifier, "applications should
# not mistake a temporary or old address etc. for a current/permanent one" (R4 datatypes.html,
# isModifierReason): the vendor keeps its address, email and chart number without a use, so one
# of these stored would read back as current. Refused (`_refuse_uses_read_as_current`), as the
# core refuses the modifiers it cannot keep (gateway/rest/modifiers.py). Names and phones need no
# refusal: an `old`/`temp` phone has no field and is left out, and no name of those uses is ever
# taken as the legal or the preferred one (`_names`): each is named not stored instead.
NOT_CURRENT = frozenset({"old", "temp"})


@dataclass(frozen=True)
class NotCurrent:
    """A `use` of NOT_CURRENT on what the vendor would store as current: its FHIR path, the use,
    and what it is on ("an address")."""

    path: str
    use: str
    what: str


def _refuse_uses_read_as_current(not_current: list[NotCurrent]) -> None:
    """Raise UnsupportedModifier naming each of `not_current` (none: nothing to refuse)."""
    if not not_current:
        return
    messages: list[tuple[str, str | None]] = [
        (
            f"{found.path}: the Dental PMS keeps {found.what} without a use, so a `{found.use}` one would read back "
            "as the current one; this server cannot store that use (a modifier element), and storing the rest "
            "would change what the record means; nothing was written",
            found.path,
        )
        for found in not_current
    ]
    error = UnsupportedModifier(messages[0][0], expression=messages[0][1])
    error.issues = messages[1:]
    raise error


def _address_fields(address: dict[str, Any]) -> dict[str, str]:
    """The vendor's fields of one address: two lines, city, state, postal code, country."""
    lines = address.get("line") or []
    return {
        name: _nfc(value)
        for name, value in (
            ("address_line1", lines[0] if lines else None),
            ("address_line2", lines[1] if len(lines) > 1 else None),
            ("city", address.get("city")),
            ("state", address.get("state")),
            ("postal_code", address.get("postalCode")),
            ("country", address.get("country")),
        )
        if value
    }


def _unkept(path: str, element: dict[str, Any], kept: Collection[str]) -> list[str]:
    """The FHIRPath of each part of `element` (at `path`) whose name is not in `kept`, and of
    every primitive's id and extension: R4 JSON writes them in the primitive's `_name` sibling
    (json.html#primitive), FHIRPath reaches them on the primitive (`Patient.birthDate.extension`,
    `Patient.name[0].given[1].id`), and the vendor keeps values only. A primitive not kept is
    named whole, its id and extensions with it."""
    lost: list[str] = []
    for key, value in element.items():
        name = key.removeprefix("_")
        if key == name:
            if name not in kept:
                lost.append(f"{path}.{name}")
        elif name in kept or name not in element:
            lost += _primitive_parts(f"{path}.{name}", value)
    return lost


def _primitive_parts(path: str, parts: Any) -> list[str]:
    """The id and extension of the primitive at `path` (its `_name` value `parts`), or of each
    item of a primitive list, whose `_name` list lines up with it by position."""
    if isinstance(parts, dict):
        return [f"{path}.{part}" for part in parts]
    if isinstance(parts, list):
        return [f"{path}[{i}].{part}" for i, item in enumerate(parts) if isinstance(item, dict) for part in item]
    return []


def _marital(concept: dict[str, Any] | None, fields: dict[str, Any]) -> list[str]:
    """The reference's `marital_status` enum, from the first coding of the v3 MaritalStatus
    code system (or of none) it has a value for; it reads back as that one coding with the
    code's display, the display as text (patient.py), so every other coding, a text or display
    of the client's own, is named."""
    if not concept:
        return []
    codings = concept.get("coding") or []
    kept = next(
        (
            j
            for j, coding in enumerate(codings)
            if coding.get("system") in (None, MARITAL_STATUS) and coding.get("code") in _MARITAL_BY_CODE
        ),
        None,
    )
    if kept is None:
        return ["Patient.maritalStatus"]
    status = _MARITAL_BY_CODE[codings[kept]["code"]]
    fields["marital_status"] = status
    code, display = MARITAL[status]
    read_back = {"coding": [{"system": MARITAL_STATUS, "code": code, "display": display}], "text": display}
    sent = {**concept, "coding": [{**c, "system": MARITAL_STATUS} if j == kept else c for j, c in enumerate(codings)]}
    return _concept_unkept("Patient.maritalStatus", sent, read_back)


def _language(communication: list[dict[str, Any]], fields: dict[str, Any]) -> list[str]:
    """The reference's one `preferred_language`: the preferred communication's (else the
    first's) code, a BCP-47 one first (US Core binds the language to BCP-47), else its text. It
    reads back as the text it holds, with a BCP-47 coding when it has a tag's form, `preferred`
    (patient.py): every other communication, coding, a text beside the code, and a code of
    another system that reads back as BCP-47's (or only as text), are named."""
    if not communication:
        return []
    chosen = next((i for i, c in enumerate(communication) if c.get("preferred")), 0)
    path = f"Patient.communication[{chosen}]"
    lost = [f"Patient.communication[{i}]" for i in range(len(communication)) if i != chosen]
    entry = communication[chosen]
    language = entry.get("language") or {}
    codings: list[dict[str, Any]] = language.get("coding") or []
    coded = [j for j, c in enumerate(codings) if c.get("code")]
    index = next((j for j in coded if codings[j].get("system") == BCP47), coded[0] if coded else None)
    held = codings[index]["code"] if index is not None else language.get("text")
    if not held:
        return [*lost, path]
    fields["preferred_language"] = held
    lost += _unkept(path, entry, ("language", "preferred"))
    if entry.get("preferred") is False:  # the vendor's one language is the preferred one
        lost.append(f"{path}.preferred")
    tag = BCP47_TAG.match(held) is not None
    read_back = {"coding": [{"system": BCP47, "code": held}] if tag else [], "text": held}
    if index is not None and tag:  # read back as a BCP-47 coding, whatever its system
        if codings[index].get("system") not in (None, BCP47):
            lost.append(f"{path}.language.coding[{index}].system")
        codings = [{**c, "system": BCP47} if j == index else c for j, c in enumerate(codings)]
    return lost + _concept_unkept(f"{path}.language", {**language, "coding": codings}, read_back)
