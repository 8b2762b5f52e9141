"""The FHIR R4 search parameters the gateway knows, as data: name, type, and where the value is.

These are the standard definitions (http://hl7.org/fhir/R4/searchparameter-registry.html),
independent of any vendor. A provider declares which of them a tenant supports; the
gateway evaluates every declared parameter over the FHIR JSON with the extractors below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from gateway.search.dates import parse_fhir_date, period_range
from gateway.search.model import DateRange, ParamType

Resource = Mapping[str, Any]
Token = tuple[str | None, str]  # (system, code); system None when the element has none


@dataclass(frozen=True)
class ParamDefinition:
    name: str
    type: ParamType
    extract: Callable[[Resource], list[Any]]
    documentation: str
    target: str | None = None  # resource type a reference parameter points to
    codes: frozenset[str] | None = None  # all a token can be (a boolean's): any other value is a 400


BOOLEAN = frozenset({"true", "false"})


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _human_name_parts(resource: Resource, part: str | None) -> list[str]:
    out: list[str] = []
    for name in _list(resource.get("name")):
        if part in (None, "family") and name.get("family"):
            out.append(name["family"])
        if part in (None, "given"):
            out.extend(name.get("given", []))
        if part is None:
            out.extend(name.get("prefix", []))
            out.extend(name.get("suffix", []))
            if name.get("text"):
                out.append(name["text"])
    return out


def _identifiers(resource: Resource) -> list[Token]:
    return [(i.get("system"), i["value"]) for i in _list(resource.get("identifier")) if "value" in i]


def _codings(concepts: Iterable[Any]) -> list[Token]:
    out: list[Token] = []
    for concept in concepts:
        for coding in _list(concept.get("coding") if concept else None):
            if coding.get("code") is not None:
                out.append((coding.get("system"), coding["code"]))
    return out


def _concept(element: str) -> Callable[[Resource], list[Token]]:
    return lambda r: _codings(_list(r.get(element)))


def _code(element: str, system: str) -> Callable[[Resource], list[Token]]:
    """A `code` element's tokens: its system is implicit, the one its binding's code system
    defines (http://hl7.org/fhir/R4/terminologies.html#code), so `system|code` finds it."""
    return lambda r: [(system, str(v)) for v in _list(r.get(element))]


def _boolean(element: str) -> Callable[[Resource], list[Token]]:
    return lambda r: [] if r.get(element) is None else [(None, "true" if r[element] else "false")]


def _telecom(system: str) -> Callable[[Resource], list[Token]]:
    return lambda r: [
        (None, t["value"]) for t in _list(r.get("telecom")) if t.get("system") == system and t.get("value")
    ]


def _reference(element: str) -> Callable[[Resource], list[str]]:
    return lambda r: [ref["reference"] for ref in _list(r.get(element)) if ref.get("reference")]


# Date extractors return FHIR values as written (a string, or a Period's (start, end)): a
# date-only value is a day in the tenant's zone, which only the matcher knows.
DateTarget = str | tuple[str | None, str | None]


def _date(element: str) -> Callable[[Resource], list[DateTarget]]:
    return lambda r: [str(v) for v in _list(r.get(element))]


def _effective(r: Resource) -> list[DateTarget]:
    if r.get("effectiveDateTime"):
        return [r["effectiveDateTime"]]
    if r.get("effectivePeriod"):
        p = r["effectivePeriod"]
        return [(p.get("start"), p.get("end"))] if p.get("start") or p.get("end") else []
    return []


def _period(element: str) -> Callable[[Resource], list[DateTarget]]:
    def extract(r: Resource) -> list[DateTarget]:
        p = r.get(element) or {}
        return [(p.get("start"), p.get("end"))] if p.get("start") or p.get("end") else []

    return extract


# Encounter statuses (R4 encounter-status) of a visit that is not under way: not begun, or over.
_NOT_UNDER_WAY = frozenset({"planned", "finished", "cancelled", "entered-in-error"})


def _encounter_period(r: Resource) -> list[DateTarget]:
    """An encounter's period; one not under way that gives only its start (a visit recorded by
    one date or time, its end never written) takes place at that start. Read as open-ended (R4
    Period: an absent end is "no end known"), a visit of January would match `date=ge2025-04`,
    and one dated 2025-01-04 neither `date=2025-01-04` nor `date=2025`, though nothing says it
    goes on: its status says it is over, or has not begun. One under way (`in-progress`,
    `arrived`...) or of `unknown` status stays open-ended."""
    targets = _period("period")(r)
    if r.get("status") in _NOT_UNDER_WAY and targets and targets[0][1] is None and targets[0][0]:
        return [targets[0][0]]
    return targets


def _last_updated(r: Resource) -> list[DateTarget]:
    value = (r.get("meta") or {}).get("lastUpdated")
    return [value] if value else []


def date_range(target: DateTarget, zone: tzinfo) -> DateRange | None:
    if isinstance(target, tuple):
        return period_range(target[0], target[1], zone)
    return parse_fhir_date(target, zone)


_COMMON = {
    # A resource not yet stored (a create being checked) has no id, and matches no _id.
    "_id": ParamDefinition("_id", ParamType.TOKEN, lambda r: [(None, r["id"])] if r.get("id") else [], "Logical id"),
    "_lastUpdated": ParamDefinition("_lastUpdated", ParamType.DATE, _last_updated, "When the resource last changed"),
}


def _patient_ref(element: str) -> ParamDefinition:
    return ParamDefinition("patient", ParamType.REFERENCE, _reference(element), "Who the record is about", "Patient")


DEFINITIONS: dict[str, dict[str, ParamDefinition]] = {
    "Patient": {
        "identifier": ParamDefinition(
            "identifier", ParamType.TOKEN, _identifiers, "A patient identifier (system|value)"
        ),
        "name": ParamDefinition("name", ParamType.STRING, lambda r: _human_name_parts(r, None), "Any part of the name"),
        "family": ParamDefinition("family", ParamType.STRING, lambda r: _human_name_parts(r, "family"), "Family name"),
        "given": ParamDefinition("given", ParamType.STRING, lambda r: _human_name_parts(r, "given"), "Given names"),
        "birthdate": ParamDefinition("birthdate", ParamType.DATE, _date("birthDate"), "Date of birth"),
        "gender": ParamDefinition(
            "gender",
            ParamType.TOKEN,
            _code("gender", "http://hl7.org/fhir/administrative-gender"),
            "Administrative gender",
        ),
        "phone": ParamDefinition("phone", ParamType.TOKEN, _telecom("phone"), "A phone number"),
        "email": ParamDefinition("email", ParamType.TOKEN, _telecom("email"), "An email address"),
        "active": ParamDefinition(
            "active", ParamType.TOKEN, _boolean("active"), "Whether the record is in active use", codes=BOOLEAN
        ),
    },
    "AllergyIntolerance": {
        "patient": _patient_ref("patient"),
        "clinical-status": ParamDefinition(
            "clinical-status", ParamType.TOKEN, _concept("clinicalStatus"), "active | inactive | resolved"
        ),
        "verification-status": ParamDefinition(
            "verification-status", ParamType.TOKEN, _concept("verificationStatus"), "Certainty"
        ),
        "code": ParamDefinition("code", ParamType.TOKEN, _concept("code"), "Substance code"),
    },
    "MedicationStatement": {
        "patient": _patient_ref("subject"),
        "subject": ParamDefinition(
            "subject", ParamType.REFERENCE, _reference("subject"), "Who takes the medication", "Patient"
        ),
        "status": ParamDefinition(
            "status",
            ParamType.TOKEN,
            _code("status", "http://hl7.org/fhir/CodeSystem/medication-statement-status"),
            "Statement status",
        ),
        "code": ParamDefinition("code", ParamType.TOKEN, _concept("medicationCodeableConcept"), "Medication code"),
        "effective": ParamDefinition("effective", ParamType.DATE, _effective, "When taken"),
    },
    "Observation": {
        "patient": _patient_ref("subject"),
        "subject": ParamDefinition(
            "subject", ParamType.REFERENCE, _reference("subject"), "Who was observed", "Patient"
        ),
        "category": ParamDefinition("category", ParamType.TOKEN, _concept("category"), "Category"),
        "code": ParamDefinition("code", ParamType.TOKEN, _concept("code"), "What was observed"),
        "date": ParamDefinition("date", ParamType.DATE, _effective, "When it was observed"),
        "status": ParamDefinition(
            "status", ParamType.TOKEN, _code("status", "http://hl7.org/fhir/observation-status"), "Result status"
        ),
    },
    "Condition": {
        "patient": _patient_ref("subject"),
        "subject": ParamDefinition(
            "subject", ParamType.REFERENCE, _reference("subject"), "Who has the condition", "Patient"
        ),
        "clinical-status": ParamDefinition(
            "clinical-status", ParamType.TOKEN, _concept("clinicalStatus"), "active | resolved | inactive"
        ),
        "category": ParamDefinition("category", ParamType.TOKEN, _concept("category"), "Category"),
        "code": ParamDefinition("code", ParamType.TOKEN, _concept("code"), "The problem's code"),
        "onset-date": ParamDefinition("onset-date", ParamType.DATE, _date("onsetDateTime"), "When it began"),
    },
    "DocumentReference": {
        "patient": _patient_ref("subject"),
        "subject": ParamDefinition(
            "subject", ParamType.REFERENCE, _reference("subject"), "Who the document is about", "Patient"
        ),
        "encounter": ParamDefinition(
            "encounter",
            ParamType.REFERENCE,
            lambda r: [
                ref["reference"] for ref in (r.get("context") or {}).get("encounter", []) if ref.get("reference")
            ],
            "Context of the document",
            "Encounter",
        ),
        "date": ParamDefinition("date", ParamType.DATE, _date("date"), "When the document was created"),
        "type": ParamDefinition("type", ParamType.TOKEN, _concept("type"), "Kind of document (LOINC)"),
        "category": ParamDefinition("category", ParamType.TOKEN, _concept("category"), "Categorization of document"),
        "status": ParamDefinition(
            "status",
            ParamType.TOKEN,
            _code("status", "http://hl7.org/fhir/document-reference-status"),
            "current | superseded | entered-in-error",
        ),
        "period": ParamDefinition(
            "period",
            ParamType.DATE,
            lambda r: _period("period")(r.get("context") or {}),
            "Time of service that is being documented",
        ),
    },
    "Encounter": {
        "patient": _patient_ref("subject"),
        "subject": ParamDefinition("subject", ParamType.REFERENCE, _reference("subject"), "The patient", "Patient"),
        "date": ParamDefinition("date", ParamType.DATE, _encounter_period, "When it took place"),
        "status": ParamDefinition(
            "status", ParamType.TOKEN, _code("status", "http://hl7.org/fhir/encounter-status"), "Encounter status"
        ),
        "class": ParamDefinition(
            "class",
            ParamType.TOKEN,
            lambda r: [(c.get("system"), c["code"]) for c in _list(r.get("class"))],
            "Encounter class",
        ),
        "type": ParamDefinition("type", ParamType.TOKEN, _concept("type"), "Encounter type"),
    },
}


def definition(resource_type: str, name: str) -> ParamDefinition | None:
    if name in _COMMON:
        return _COMMON[name]
    return DEFINITIONS.get(resource_type, {}).get(name)
