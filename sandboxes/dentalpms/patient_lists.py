"""``GET /patients`` (pages), ``/patients/cursor``, ``/patients/search`` (typeahead) and
``/patients/counts/by-location``.

The filters are strings: a ``primary_provider_uuid``/``location_uuid`` that is not a known
provider/location is 404 (``Provider not found``, ``Location not found``); no tags exist,
so any ``tag_definition_uuid`` is ``Tag definition not found``. Parameter errors (422)
come before those 404s. How ``status`` defaults, where ``dob_to`` ends, how short a
``search`` may be and what ``total`` counts are the app's list reading (``list_readings``). ``/patients/search``
matches first, last and preferred name and chart number only, leaves archived patients out,
orders by last name and reports the total before ``limit``.

The counts ("Return location-level patient counts without exposing patient rows") are a report,
not a list of records: an organization without a matching patient is answered its counts, all
zero (``items`` empty), whatever ``empty_lists`` says of the lists. ``status_set`` (repeated)
"Defaults to active"; ``date_from`` is inclusive and ``date_to`` exclusive, both on
``date_first_visit`` (a patient without one matches no date bound). The reference leaves an
item's shape open: here ``{"location": {"uuid", "name"}, "count"}``, one per location with a
matching patient, by location name; ``total`` counts the patients grouped, ``excluded_count``
those matching without a location.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import replace
from uuid import UUID

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.dentalpms.cursor import decode_cursor, encode_cursor
from sandboxes.dentalpms.matching import PatientFilters, search_tokens, token_matches
from sandboxes.dentalpms.paging import check_past_end, cursor_body, list_answer, page_body
from sandboxes.dentalpms.params import CURSOR_SORT, DATE, LIMIT, LIST_SORT, PAGE, SORT_DIR, STR, Params, page_size_upto
from sandboxes.dentalpms.responses import raw_json
from sandboxes.dentalpms.rows import PatientRow
from sandboxes.dentalpms.store import Store
from sandboxes.toolkit.errors import ApiError
from sandboxes.toolkit.paging import page_slice
from sandboxes.toolkit.timestamps import iso_date

__all__ = ["PatientLists"]

_SEARCH_FIELDS = ("id", "first_name", "last_name", "preferred_name", "date_of_birth", "status",
                  "mobile_phone", "email", "chart_number")  # fmt: skip


class PatientLists:
    """The three patient list endpoints over `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def page(self, request: Request) -> Response:
        params = Params(request, self.store.query_enums)
        page = params.query("page", PAGE, 1)
        size = params.query("page_size", page_size_upto(self.store.page_size_max), 50)
        sort_by = params.query("sort_by", LIST_SORT, "last_name")
        sort_dir = params.query("sort_dir", SORT_DIR, "asc")
        filters = self._filters(params)
        _, rows = self.store.query(filters, sort_by)
        check_past_end(self.store.past_end, page, size, len(rows))
        chosen = page_slice(rows if sort_dir == "asc" else rows[::-1], page, size)
        total = len(rows)
        if self.store.lists.totals == "with_archived" and filters.status is None:
            # The count without the soft-delete filter (list_readings): archived patients too.
            total += len(self.store.query(replace(filters, status="archived"), sort_by)[1])
        body = page_body([row.raw for row in chosen], page, size, total)
        return list_answer(body, len(chosen), self.store.empty_lists)

    async def cursor(self, request: Request) -> Response:
        params = Params(request, self.store.query_enums)
        first = params.query("first", page_size_upto(self.store.page_size_max), 50)
        after = params.query("after", STR, None)
        sort_by = params.query("sort_by", CURSOR_SORT, "first_name")
        sort_dir = params.query("sort_dir", SORT_DIR, "asc")
        after_key = None
        if after is not None:
            after_key = decode_cursor(after, sort_by)
            if after_key is None:
                params.errors.append(
                    {"type": "value_error", "loc": ["query", "after"],
                     "msg": "Value error, Invalid or malformed cursor", "input": after,
                     "ctx": {"error": "Invalid or malformed cursor"}}
                )  # fmt: skip
        filters = self._filters(params)
        keys, rows = self.store.query(filters, sort_by)
        if sort_dir == "asc":
            start = 0 if after_key is None else bisect_right(keys, after_key)
            rest = rows[start:]
        else:
            end = len(rows) if after_key is None else bisect_left(keys, after_key)
            rest = rows[:end][::-1]
        data = rest[:first]
        end_cursor = encode_cursor(data[-1], sort_by) if data else None
        body = cursor_body([row.raw for row in data], end_cursor, len(rest) > first)
        return list_answer(body, len(data), self.store.empty_lists)

    async def search(self, request: Request) -> Response:
        params = Params(request)
        query = params.query("q", STR, "")
        limit = params.query("limit", LIMIT, 20)
        params.done()
        if query:  # "Empty query returns no results": only a term can be too short
            self.store.lists.check_search("q", query)
        reading = self.store.reading
        tokens = search_tokens(query, reading)
        matches: list[PatientRow] = []
        if tokens:
            _, rows = self.store.ordered("last_name")
            matches = [
                row for row in rows
                if not row.deleted and all(token_matches(token, row.name_hay, (), reading) for token in tokens)
            ]  # fmt: skip
        items = [{name: row.doc[name] for name in _SEARCH_FIELDS} for row in matches[:limit]]
        return raw_json(orjson.dumps({"items": items, "total": len(matches)}))

    async def counts(self, request: Request) -> Response:
        params = Params(request)
        date_from = params.query("date_from", DATE, None)
        date_to = params.query("date_to", DATE, None)
        params.done()
        status_set = request.query_params.getlist("status_set") or ["active"]
        low, high = iso_date(date_from), iso_date(date_to)
        by_location: dict[str, int] = {}
        excluded = 0
        for row in self.store.rows.values():
            doc = row.doc
            if doc["status"] not in status_set or (row.deleted and self.store.archived_hidden):
                continue
            first_visit = doc["date_first_visit"]
            if (low or high) and first_visit is None:
                continue
            if (low and first_visit < low) or (high and first_visit >= high):
                continue
            location = (doc["location"] or {}).get("uuid")
            if location is None:
                excluded += 1
            else:
                by_location[location] = by_location.get(location, 0) + 1
        refs = self.store.location_refs
        items = [
            {"location": dict(refs[uuid]), "count": count}
            for uuid, count in sorted(by_location.items(), key=lambda pair: refs[pair[0]]["name"])
        ]
        body = {
            "group_by": "location", "status_set": status_set, "date_from": low, "date_to": high,
            "items": items, "total": sum(by_location.values()), "excluded_count": excluded,
        }  # fmt: skip
        return raw_json(orjson.dumps(body))

    def _filters(self, params: Params) -> PatientFilters:
        """The list filters; raises the 422 for every parameter so far, then the 404s."""
        status = params.query("status", STR, None)
        search = params.query("search", STR, None)
        provider = params.query("primary_provider_uuid", STR, None)
        location = params.query("location_uuid", STR, None)
        tag = params.query("tag_definition_uuid", STR, None)
        dob_from = params.query("dob_from", DATE, None)
        dob_to = params.query("dob_to", DATE, None)
        params.done()
        lists = self.store.lists
        lists.check_search("search", search)
        provider_id = _canonical_uuid(provider)
        location_id = _canonical_uuid(location)
        if provider is not None and provider_id not in self.store.provider_refs:
            raise ApiError(404, "Provider not found")
        if location is not None and location_id not in self.store.location_refs:
            raise ApiError(404, "Location not found")
        if tag is not None:
            raise ApiError(404, "Tag definition not found")
        return PatientFilters(
            status=status,
            tokens=search_tokens(search, self.store.reading),
            dob_from=iso_date(dob_from),
            dob_to=iso_date(dob_to),
            provider=provider_id,
            location=location_id,
            reading=self.store.reading,
            archived_listed=not self.store.archived_hidden,
            active_unless_asked=lists.statuses == "active",
            dob_to_exclusive=lists.dob_to == "exclusive",
        )


def _canonical_uuid(value: str | None) -> str | None:
    """A uuid in canonical form (so any spelling matches); other text as given."""
    if value is None:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return value
