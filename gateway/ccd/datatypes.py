"""CDA data types built from FHIR data types: CD, II, TS/IVL_TS, PQ, AD, TEL, PN.

Each function returns a CDA element (gateway.ccd.nodes) for the caller to place.
What FHIR leaves empty becomes a `nullFlavor`, never an invented value.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.ccd.codes import oid_of
from gateway.ccd.nodes import Element, el

JSON = Mapping[str, Any]


def template(root: str, extension: str | None = None) -> list[Element]:
    """templateId: C-CDA R2.1 names a versioned template by root+extension; the root alone is
    repeated for receivers of R1.1, as the C-CDA companion guide recommends."""
    versioned = el("templateId", {"root": root, "extension": extension})
    return [el("templateId", {"root": root}), versioned] if extension else [versioned]


# --- identifiers ------------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def root_for(system: str) -> str:
    """An II root for a FHIR identifier system: its OID or UUID, else a UUID named by the URI
    (stable, so the same system always gets the same root)."""
    if system.startswith("urn:uuid:") and _UUID_RE.match(system[9:]):
        return system[9:].upper()
    known = oid_of(system)
    return known if known else url_uuid(system)


def ii(system: str, value: str | None = None, tag: str = "id") -> Element:
    return el(tag, {"root": root_for(system), "extension": value})


def fresh_ii(tag: str = "id") -> Element:
    return el(tag, {"root": str(uuid.uuid4()).upper()})


def stable_ii(*parts: str, tag: str = "id") -> Element:
    """An id for an entry derived from what it records, so re-rendering names it the same."""
    return el(tag, {"root": url_uuid("/".join(parts))})


def url_uuid(name: str) -> str:
    """`str(uuid.uuid5(uuid.NAMESPACE_URL, name)).upper()` (RFC 4122 §4.3: SHA-1 of namespace and
    name, version 5, variant RFC 4122) without the UUID object, which cost twice the hash: a CCD
    names fifty entries and more."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex().upper()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


# --- codes ------------------------------------------------------------------------------


def cd(
    concept: JSON | None,
    tag: str = "code",
    *,
    prefer: Sequence[str] = (),
    xsi_type: str | None = None,
    reference: str | None = None,
    null_flavor: str = "UNK",
) -> Element:
    """A CD from a CodeableConcept: the first coding in a system CDA can name (systems in
    `prefer` first), the others as translations, the text as originalText. With no codable
    coding the code is nullFlavor OTH (we know what it is, not how to code it)."""
    codings = [c for c in (concept or {}).get("coding", []) if c.get("code") and oid_of(c.get("system"))]
    codings.sort(key=lambda c: prefer.index(c["system"]) if c.get("system") in prefer else len(prefer))
    text = (concept or {}).get("text") or next((c.get("display") for c in (concept or {}).get("coding", [])), None)
    attrs: dict[str, str | None] = {"xsi:type": xsi_type}
    if codings:
        first = codings[0]
        attrs |= {"code": first["code"], "codeSystem": oid_of(first["system"]), "displayName": first.get("display")}
    else:
        attrs["nullFlavor"] = "OTH" if text else null_flavor
    node = el(tag, attrs)
    if reference or text:
        original = el("originalText", text=None if reference else text)
        if reference:
            original.append(el("reference", {"value": f"#{reference}"}))
        node.append(original)
    for other in codings[1:]:
        node.append(
            el(
                "translation",
                {"code": other["code"], "codeSystem": oid_of(other["system"]), "displayName": other.get("display")},
            )
        )
    return node


def coded(
    code: str, system_oid: str, display: str | None = None, tag: str = "code", xsi_type: str | None = None
) -> Element:
    return el(tag, {"xsi:type": xsi_type, "code": code, "codeSystem": system_oid, "displayName": display})


def first_code(concept: JSON | None) -> str:
    """The first code of a CodeableConcept ("" if none): for status concepts of one system."""
    codes = [c.get("code") for c in (concept or {}).get("coding", []) if c.get("code")]
    return str(codes[0]) if codes else ""


def concept_text(concept: JSON | None) -> str:
    if not concept:
        return ""
    return str(
        concept.get("text") or next((c.get("display") or c.get("code") for c in concept.get("coding", [])), "") or ""
    )


# --- time -------------------------------------------------------------------------------

_FHIR_DATE = re.compile(
    r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})(T(?P<H>\d{2}):(?P<M>\d{2})(:(?P<S>\d{2})(\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def ts_value(fhir: str | None) -> str | None:
    """FHIR date/dateTime/instant -> CDA TS ("2024-06-20T14:00:00Z" -> "20240620140000+0000")."""
    if not fhir:
        return None
    m = _FHIR_DATE.match(fhir)
    if m is None:
        return None
    out = m["y"] + (m["m"] or "") + (m["d"] or "")
    if m["H"]:
        out += m["H"] + m["M"] + (m["S"] or "00")
        tz = m["tz"]
        if tz:
            out += "+0000" if tz == "Z" else tz.replace(":", "")
    return out


def ts_of(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S%z")


def ts(fhir: str | None, tag: str = "effectiveTime") -> Element:
    value = ts_value(fhir)
    return el(tag, {"value": value} if value else {"nullFlavor": "UNK"})


def ivl_ts(start: str | None, end: str | None, tag: str = "effectiveTime", *, open_high: bool = True) -> Element:
    """An interval; an unknown start is nullFlavor UNK. An absent end is left out (ongoing)
    unless `open_high` is False, where it is stated unknown."""
    node = el(tag)
    node.append(ts(start, "low"))
    if end or not open_high:
        node.append(ts(end, "high"))
    return node


def period_of(resource: JSON, *names: str) -> tuple[str | None, str | None]:
    """(start, end) from the first present of `names`: a Period element or a dateTime."""
    for name in names:
        value = resource.get(name)
        if isinstance(value, dict):
            return value.get("start"), value.get("end")
        if isinstance(value, str):
            return value, None
    return None, None


# --- quantities -------------------------------------------------------------------------


# Unit spellings vendors use for what UCUM names otherwise; anything else is not guessed at.
_UCUM_ALIASES = {
    "lb": "[lb_av]", "lbs": "[lb_av]", "pound": "[lb_av]", "pounds": "[lb_av]",
    "in": "[in_i]", "inch": "[in_i]", "inches": "[in_i]",
    "bpm": "/min", "beats/min": "/min", "breaths/min": "/min",
    "f": "[degF]", "°f": "[degF]", "degf": "[degF]", "c": "Cel", "°c": "Cel",
    "mmhg": "mm[Hg]", "mm hg": "mm[Hg]", "kg": "kg", "g": "g", "cm": "cm", "m": "m", "%": "%",
    "kg/m2": "kg/m2", "kg/m²": "kg/m2", "mg/dl": "mg/dL", "mmol/l": "mmol/L", "g/dl": "g/dL",
}  # fmt: skip


def ucum_unit(quantity: JSON) -> str | None:
    if quantity.get("system") == "http://unitsofmeasure.org" and quantity.get("code"):
        return str(quantity["code"])
    unit = str(quantity.get("unit") or quantity.get("code") or "").strip().lower()
    return _UCUM_ALIASES.get(unit)


def pq(quantity: JSON, tag: str = "value") -> Element:
    """A PQ; a unit that is not UCUM makes the value unusable as a measurement (nullFlavor OTH:
    the narrative keeps it as written), never a dimensionless number."""
    value = quantity.get("value")
    unit = ucum_unit(quantity)
    # C-CDA wants a unit even on a value it cannot state; "1" claims no dimension.
    if value is None:
        return el(tag, {"xsi:type": "PQ", "nullFlavor": "UNK", "unit": unit or "1"})
    has_unit = bool(quantity.get("unit") or quantity.get("code"))
    if unit is None and has_unit:
        return el(tag, {"xsi:type": "PQ", "nullFlavor": "OTH", "unit": "1"})
    return el(tag, {"xsi:type": "PQ", "value": _number(value), "unit": unit or "1"})


def _number(value: Any) -> str:
    text = str(value)
    return text[:-2] if text.endswith(".0") else text


# --- people and places ------------------------------------------------------------------

_ADDRESS_USE = {"home": "HP", "work": "WP", "temp": "TMP", "old": "BAD"}
_TELECOM_USE = {"home": "HP", "work": "WP", "mobile": "MC", "temp": "TMP"}


def addresses(values: Iterable[JSON]) -> list[Element]:
    found = [_address(a) for a in values]
    return found or [el("addr", {"nullFlavor": "UNK"})]


def _address(address: JSON) -> Element:
    node = el("addr", {"use": _ADDRESS_USE.get(address.get("use", ""))})
    lines = [line for line in address.get("line", []) if line][:4]
    for line in lines or [None]:
        node.append(_part("streetAddressLine", line))
    node.append(_part("city", address.get("city")))
    node.append(_part("state", address.get("state")))
    node.append(_part("postalCode", address.get("postalCode")))
    node.append(_part("country", address.get("country") or "US"))
    return node


def _part(tag: str, value: str | None) -> Element:
    return el(tag, text=value) if value else el(tag, {"nullFlavor": "UNK"})


def telecoms(values: Iterable[JSON]) -> list[Element]:
    found = [t for t in (_telecom(v) for v in values) if t is not None]
    return found or [el("telecom", {"nullFlavor": "UNK"})]


def _telecom(contact: JSON) -> Element | None:
    value = str(contact.get("value") or "").strip()
    if not value:
        return None
    system = contact.get("system")
    if system in ("phone", "fax", "sms"):
        url = ("fax:" if system == "fax" else "tel:") + re.sub(r"[^0-9+()\-.]", "", value)
    elif system == "email":
        url = f"mailto:{value}"
    elif system == "url":
        url = value
    else:
        return None
    return el("telecom", {"value": url, "use": _TELECOM_USE.get(contact.get("use", ""))})


def person_names(names: Iterable[JSON]) -> list[Element]:
    """US Realm person names (given, family): the official name first, unknown parts UNK."""
    ordered = sorted(names, key=lambda n: 0 if n.get("use") == "official" else 1)
    found = [_person_name(n) for n in ordered if n.get("use") not in ("old",)]
    return found or [el("name", {"nullFlavor": "UNK"})]


def _person_name(name: JSON) -> Element:
    node = el("name", {"use": "L" if name.get("use") == "official" else None})
    for prefix in name.get("prefix", []):
        node.append(el("prefix", text=prefix))
    given = [g for g in name.get("given", []) if g]
    for part in given or [None]:
        node.append(_part("given", part))
    node.append(_part("family", name.get("family")))
    for suffix in name.get("suffix", []):
        node.append(el("suffix", text=suffix))
    return node


def display_name(name: JSON | None) -> str:
    if not name:
        return ""
    if name.get("text"):
        return str(name["text"])
    return " ".join(
        [*name.get("prefix", []), *name.get("given", []), name.get("family") or "", *name.get("suffix", [])]
    ).strip()
