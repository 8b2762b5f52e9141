"""A patient's record: everything a tenant's providers can give about one patient.

What `Patient/$everything` returns and what a CCD is rendered from
(http://hl7.org/fhir/R4/patient-operation-everything.html). Every resource type whose provider
can search by `patient` is fetched concurrently (all pages); `start`/`end` are care dates
(they narrow a type by its `date` parameter, and documents by the care they record), `_type`
picks types. A type that fails does not fail the rest: it
is reported as missing, for the caller to say so (an outcome entry, or a refused document),
never to present the rest as complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gateway.contract import Interaction, ResourceProvider
from gateway.errors import FHIRError, InvalidRequest, TooCostly
from gateway.search.dates import parse_fhir_date, period_range, zone_info, zoneless_time
from gateway.search.execute import fetch_page, first_position
from gateway.search.model import (
    DatePrefix,
    DateRange,
    DateValue,
    ParamType,
    ReferenceValue,
    SearchParam,
    SearchQuery,
)

MAX_PER_TYPE = 2000  # resources of one type one $everything may gather
# Types whose `date` search parameter is when the record was made, not when care was given:
# Patient-$everything's start/end "relate to care dates, not record currency dates", so these
# are narrowed by the care they record (`in_care_period`), as US Core's $docref narrows them.
_RECORD_DATED = frozenset({"DocumentReference"})


def everything_types(providers: Mapping[str, ResourceProvider], wanted: set[str] | None) -> list[ResourceProvider]:
    """The providers of the types that hold a patient's records (searchable by `patient`)."""
    types = [
        p
        for p in providers.values()
        if p.type != "Patient" and Interaction.SEARCH in p.support.interactions and p.support.param("patient")
    ]
    if wanted is not None:
        unknown = wanted - {p.type for p in types} - {"Patient"}
        if unknown:
            raise InvalidRequest(f"_type names types this tenant cannot give per patient: {', '.join(sorted(unknown))}")
        types = [p for p in types if p.type in wanted]
    return types


def _query(provider: ResourceProvider, patient_id: str, start: str | None, end: str | None, zone: str) -> SearchQuery:
    support = provider.support
    params = [SearchParam("patient", ParamType.REFERENCE, None, (ReferenceValue("Patient", patient_id),), "")]
    if support.param("date") is not None and support.type not in _RECORD_DATED:
        for prefix, value, name in ((DatePrefix.GE, start, "start"), (DatePrefix.LE, end, "end")):
            if value:
                bound = DateValue(prefix, _care_date(value, name, zone))
                params.append(SearchParam("date", ParamType.DATE, None, (bound,), ""))
    return SearchQuery(support.type, tuple(params), (), zone)


def _care_date(value: str, name: str, zone: str) -> DateRange:
    try:
        bound = parse_fhir_date(value, zone_info(zone))
    except ValueError:
        raise InvalidRequest(f"'{value}' is not a valid date", expression=name) from None
    if zoneless_time(value):  # a time without a zone is no moment; $docref refuses it too
        raise InvalidRequest(f"'{value}' needs a time zone", expression=name)
    return bound


async def _all_of(provider: ResourceProvider, query: SearchQuery) -> tuple[list[dict[str, Any]], list[str]]:
    """Every match, and what the vendor said it could not give (a record it could not read, ...)."""
    position = first_position(provider, False, provider.max_page_size)
    found: list[dict[str, Any]] = []
    warnings: dict[str, None] = {}
    while True:
        page = await fetch_page(provider, query, provider.max_page_size, position)
        found += page.resources
        warnings.update(dict.fromkeys(page.warnings))
        if page.next is None:
            return found, list(warnings)
        if len(found) >= MAX_PER_TYPE:
            raise TooCostly(f"more than {MAX_PER_TYPE} {provider.type} resources")
        position = page.next


async def gather_everything(
    zone: str,
    patient_id: str,
    types: list[ResourceProvider],
    start: str | None,
    end: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(the patient's records, what could not be fetched): each type in order, the Patient
    resource itself not included."""
    # A 400 before the record is gathered, whatever the types: an unreadable date, or a reversed range
    # (an empty answer would read as "no care then"), as $docref answers them.
    first = _care_date(start, "start", zone) if start else None
    last = _care_date(end, "end", zone) if end else None
    if first is not None and last is not None and first.start >= last.end:
        raise InvalidRequest("start is after end", expression="start")

    async def one(provider: ResourceProvider) -> tuple[list[dict[str, Any]], list[str]]:
        try:
            found, warnings = await _all_of(provider, _query(provider, patient_id, start, end, zone))
        except InvalidRequest:
            raise
        except FHIRError as exc:
            return [], [f"{provider.type} could not be retrieved ({exc.code}): {exc.diagnostics}"]
        if provider.type in _RECORD_DATED:
            found = [r for r in found if in_care_period(r, start, end, zone)]
        return found, warnings

    results = await asyncio.gather(*(one(p) for p in types))
    resources: list[dict[str, Any]] = []
    missing: list[str] = []
    for found, gaps in results:
        resources += found
        missing += gaps  # said, never presented as complete: no total, no CCD
    return resources, missing


def in_care_period(document: Mapping[str, Any], start: str | None, end: str | None, zone_name: str) -> bool:
    """Whether a document records care within start..end: its context.period, else its date
    (US Core $docref: start/end are care dates). An undated one is kept, not silently lost."""
    if not (start or end):
        return True
    zone = zone_info(zone_name)
    wanted = period_range(start, end, zone)  # checked by the caller
    period = (document.get("context") or {}).get("period") or {}
    try:
        covered = period_range(period.get("start"), period.get("end"), zone) if period else None
        if covered is None and document.get("date"):
            covered = parse_fhir_date(document["date"], zone)
    except ValueError:
        covered = None  # dates no reading holds: undated
    if covered is None or wanted is None:
        return covered is None
    return covered.start < wanted.end and wanted.start < covered.end
