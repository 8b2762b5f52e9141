"""A patient's record: everything an adapter can give about one patient.

What `Patient/$everything` returns and what a CCD is rendered from
(http://hl7.org/fhir/R4/patient-operation-everything.html). Every resource type the adapter
can search by `patient` is fetched concurrently (all pages); `start`/`end` narrow types that
have a `date` parameter, `_type` picks types. A type that fails does not fail the rest: it
is reported as missing, for the caller to say so (an outcome entry, or a refused document),
never to present the rest as complete.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.errors import FHIRError, InvalidRequest, TooCostly
from gateway.search.dates import parse_fhir_date, zone_info
from gateway.search.execute import fetch_page, first_position
from gateway.search.model import DatePrefix, DateValue, ParamType, ReferenceValue, SearchParam, SearchQuery
from mappings.base import Adapter, Interaction, ResourceSupport

MAX_PER_TYPE = 2000  # resources of one type one $everything may gather


def everything_types(adapter: Adapter, wanted: set[str] | None) -> list[ResourceSupport]:
    types = [
        s
        for s in adapter.resources.values()
        if s.type != "Patient" and Interaction.SEARCH in s.interactions and s.param("patient") is not None
    ]
    if wanted is not None:
        unknown = wanted - {s.type for s in types} - {"Patient"}
        if unknown:
            raise InvalidRequest(f"_type names types this tenant cannot give per patient: {', '.join(sorted(unknown))}")
        types = [s for s in types if s.type in wanted]
    return types


def _query(support: ResourceSupport, patient_id: str, start: str | None, end: str | None, zone: str) -> SearchQuery:
    params = [SearchParam("patient", ParamType.REFERENCE, None, (ReferenceValue("Patient", patient_id),), "")]
    if support.param("date") is not None:
        for prefix, value in ((DatePrefix.GE, start), (DatePrefix.LE, end)):
            if value:
                try:
                    bound = DateValue(prefix, parse_fhir_date(value, zone_info(zone)))
                except ValueError:
                    raise InvalidRequest(
                        f"'{value}' is not a valid date", expression="start" if prefix is DatePrefix.GE else "end"
                    ) from None
                params.append(SearchParam("date", ParamType.DATE, None, (bound,), ""))
    return SearchQuery(support.type, tuple(params), (), zone)


async def _all_of(adapter: Adapter, support: ResourceSupport, query: SearchQuery) -> list[dict[str, Any]]:
    position = first_position(adapter, False, adapter.max_page_size)
    found: list[dict[str, Any]] = []
    while True:
        page = await fetch_page(adapter, support, query, adapter.max_page_size, position)
        found += page.resources
        if page.next is None:
            return found
        if len(found) >= MAX_PER_TYPE:
            raise TooCostly(f"more than {MAX_PER_TYPE} {support.type} resources")
        position = page.next


async def gather_everything(
    adapter: Adapter,
    zone: str,
    patient: dict[str, Any],
    types: list[ResourceSupport],
    start: str | None,
    end: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(resources, what could not be fetched): the patient first, then each type in order."""

    async def one(support: ResourceSupport) -> list[dict[str, Any]] | str:
        try:
            return await _all_of(adapter, support, _query(support, patient["id"], start, end, zone))
        except InvalidRequest:
            raise
        except FHIRError as exc:
            return f"{support.type} could not be retrieved ({exc.code}): {exc.diagnostics}"

    results = await asyncio.gather(*(one(s) for s in types))
    resources: list[dict[str, Any]] = [patient]
    missing: list[str] = []
    for result in results:
        if isinstance(result, str):
            missing.append(result)
        else:
            resources += result
    return resources, missing
