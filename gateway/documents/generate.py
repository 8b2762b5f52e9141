"""Render a generated CCD: gather the FHIR the vendor's providers give, hand it to `gateway.ccd`.

A clinical document is all-or-nothing: if any part of the record cannot be fetched, no
document is made (502 naming what failed), since a CCD with an empty Allergies section would
tell a clinician "no information" where there is information we could not get.

An encounter's CCD is made only for a visit that took place (or is taking place). It holds
what belongs to the encounter: of what is dated (observations, procedures), what references
it or falls on its day(s) in the tenant's zone; of the lists (allergies, medications,
problems), what was known by the end of its last day, since the vendors keep no history of
them. Anything that references another encounter is that encounter's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from lxml import etree
from lxml.etree import _Element as Element

from gateway.ccd.document import render_ccd
from gateway.ccd.model import CcdRequest, Custodian
from gateway.ccd.sections.encounters import HAPPENED
from gateway.contract import Adapter, read_from
from gateway.documents import ids
from gateway.errors import DocumentIncomplete, Unprocessable, UpstreamUnusable
from gateway.record import everything_types, gather_everything
from gateway.search.dates import parse_fhir_date, zone_info
from gateway.search.model import DateRange

# What a CCD renders; other per-patient types (vendor documents, ...) are not fetched.
CCD_INPUTS = frozenset(
    {
        "AllergyIntolerance",
        "MedicationStatement",
        "MedicationRequest",
        "Condition",
        "Observation",
        "Encounter",
        "Procedure",
    }
)
_DATED = frozenset({"Observation", "Procedure", "Encounter"})

Resource = dict[str, Any]


@dataclass(frozen=True)
class DocumentSource:
    """Where a tenant's CCDs come from: its vendor connection, zone and practice."""

    adapter: Adapter
    zone: str
    custodian: Custodian
    software_version: str


# remove_blank_text: the layout's indentation is not content. gateway.ccd writes text only in
# leaf elements and in cells whose children are inline, never whitespace-only text beside an
# element, so nothing the document says is dropped (the HTML golden files hold to it).
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_blank_text=True
)


@dataclass(frozen=True)
class Rendered:
    xml: bytes
    request: CcdRequest  # what it was rendered from (tests compare the two)

    @cached_property
    def document(self) -> Element:
        """The ClinicalDocument as a tree, for its HTML page (parsed when first asked for: most
        requests want the XML alone)."""
        return etree.fromstring(self.xml, _PARSER)


def _rendered(request: CcdRequest) -> Rendered:
    return Rendered(render_ccd(request), request)


async def patient_record(
    source: DocumentSource, patient: Resource, start: str | None, end: str | None
) -> list[Resource]:
    providers = source.adapter.providers
    supported = {p.type for p in everything_types(providers, None)} & CCD_INPUTS
    types = everything_types(providers, supported) if supported else []
    resources, missing = await gather_everything(source.zone, patient["id"], types, start, end)
    if missing:
        raise DocumentIncomplete("The document cannot be made complete: " + "; ".join(missing))
    return resources


async def render_patient_ccd(
    source: DocumentSource,
    patient_id: str,
    start: str | None,
    end: str | None,
    sections: frozenset[str] | None = None,
) -> Rendered:
    patient = await read_from(source.adapter.providers, "Patient", patient_id)
    resources = await patient_record(source, patient, start, end)
    created = now(source)
    request = CcdRequest(
        patient=patient,
        resources=resources,
        custodian=source.custodian,
        created=created,
        service_period=(start or _earliest(resources), end or created.isoformat()),
        sections=sections,
        zone=source.zone,
        software_version=source.software_version,
        set_id=_set_id(source, ids.patient_document(patient_id, start, end)),
    )
    return _rendered(request)


async def render_encounter_ccd(
    source: DocumentSource, encounter_id: str, sections: frozenset[str] | None = None
) -> Rendered:
    encounter = await read_from(source.adapter.providers, "Encounter", encounter_id)
    if encounter.get("status") not in HAPPENED:
        raise Unprocessable(
            f"Encounter/{encounter_id} is {encounter.get('status')}: a CCD documents care given, so there is "
            "none for a visit that has not taken place"
        )
    patient_id = subject_patient(encounter)
    patient = await read_from(source.adapter.providers, "Patient", patient_id)
    resources = await patient_record(source, patient, None, None)
    period = encounter.get("period") or {}
    request = CcdRequest(
        patient=patient,
        resources=[r for r in resources if belongs_to_encounter(r, encounter, source.zone)],
        custodian=source.custodian,
        created=now(source),
        service_period=(period.get("start"), period.get("end")),  # an ongoing visit has no end yet
        encounter=encounter,
        sections=sections,
        zone=source.zone,
        title="Continuity of Care Document: encounter",
        software_version=source.software_version,
        set_id=_set_id(source, ids.encounter_document(encounter_id)),
    )
    return _rendered(request)


def subject_patient(resource: Resource) -> str:
    reference = str((resource.get("subject") or {}).get("reference") or "")
    kind, _, patient_id = reference.partition("/")
    if kind != "Patient" or not patient_id:
        raise UpstreamUnusable(f"{resource.get('resourceType')} has no patient to make a document for")
    return patient_id


def belongs_to_encounter(resource: Resource, encounter: Resource, zone: str) -> bool:
    kind = resource.get("resourceType")
    if kind == "Encounter":
        return bool(resource.get("id") == encounter.get("id"))
    own = f"Encounter/{encounter.get('id')}"
    referenced = [r.get("reference") for r in _references(resource.get("encounter"))]
    if referenced:
        return own in referenced
    days = _days_of(encounter, zone)
    if days is None:
        return kind not in _DATED
    if kind in _DATED:
        when = _when(resource, zone)
        return when is not None and when.start < days.end and days.start < when.end
    known = _known_since(resource, zone)
    return known is None or known.start < days.end


def _references(value: Any) -> list[Resource]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]


def _known_since(resource: Resource, zone: str) -> DateRange | None:
    """When a list item (allergy, problem, medication) began or was first recorded."""
    period = resource.get("effectivePeriod") or resource.get("onsetPeriod") or {}
    for value in (
        resource.get("onsetDateTime"),
        period.get("start"),
        resource.get("effectiveDateTime"),
        resource.get("recordedDate"),
        resource.get("dateAsserted"),
        resource.get("authoredOn"),
    ):
        if value:
            found = _range(str(value), zone)
            if found is not None:
                return found
    return None


def _set_id(source: DocumentSource, document_id: str) -> str:
    """Every rendering of one DocumentReference is a version of one document set."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source.custodian.identifier_system}/{document_id}")).upper()


def _days_of(encounter: Resource, zone: str) -> DateRange | None:
    period = encounter.get("period") or {}
    if not period.get("start"):
        return None
    tz = zone_info(zone)
    first = parse_fhir_date(period["start"], tz).start.astimezone(tz)
    last = parse_fhir_date(period.get("end") or period["start"], tz).start.astimezone(tz)
    day_start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return DateRange(day_start, day_end, "day", "")


def _when(resource: Resource, zone: str) -> DateRange | None:
    for key in ("effectiveDateTime", "effectiveInstant", "performedDateTime"):
        if resource.get(key):
            return _range(str(resource[key]), zone)
    for key in ("effectivePeriod", "performedPeriod"):
        if (resource.get(key) or {}).get("start"):
            return _range(str(resource[key]["start"]), zone)
    return None


def _range(value: str, zone: str) -> DateRange | None:
    try:
        return parse_fhir_date(value, zone_info(zone))
    except ValueError:
        return None


def _earliest(resources: list[Resource]) -> str | None:
    """The first clinical date in the record: where the whole-record CCD's period starts."""
    found: list[tuple[datetime, str]] = []
    for r in resources:
        for value in (
            r.get("effectiveDateTime"),
            (r.get("effectivePeriod") or {}).get("start"),
            (r.get("period") or {}).get("start"),
            r.get("onsetDateTime"),
            r.get("performedDateTime"),
        ):
            parsed = _range(str(value), "UTC") if value else None
            if parsed is not None:
                found.append((parsed.start, str(value)))
    return min(found)[1] if found else None


def now(source: DocumentSource) -> datetime:
    return datetime.now(zone_info(source.zone)).replace(microsecond=0)
