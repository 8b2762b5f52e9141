"""``GET /v1/patients`` (Spatie query builder behind a form request) and ``/v1/patients/search``.

List rules (all nullable, so an empty parameter means "not given"): ``per_page``
``integer|min:1|max:100`` (default 50; the maximum is the ``list_per_page_max`` switch);
``sort`` ``in:`` the documented sorts, each optionally ``-`` for descending (default
``-created_at``); ``filter.first_name``/``filter.last_name`` ``string`` (a comma splits
alternatives, each matched as the reading says, ``Readings.names_hit``: by default a folded
substring); ``filter.date_of_birth`` ``date``; ``filter.trashed`` ``in:with,only`` (not read at all under
``trashed_filter="ignored"``; nor are the others, nor Spatie's check of them, under
``list_filters="ignored"``, nor ``sort`` under ``sort_param="ignored"``). Then Spatie's
allow-lists (400). Pages are Laravel's ``paginate()`` (``paging``; under ``sort_ties="unstable"`` the patients
sharing a sort value come in an order of each page's own, see ``_ties_reordered``), or ``cursorPaginate()`` under
``paging="cursor"``, or keyset pages under ``paging="keyset"`` (``cursor_paging``), or every row
at once under ``paging="none"``. Search
rules: ``query`` ``required|string``, ``per_page`` ``nullable|integer|min:1|max:100``
(default 20), ``sort_by`` ``nullable|in:asc,desc``
(default ``desc``); Scout's paginator carries only ``query`` into its links. Numbered pages of
both count from ``first_page``; a page past the last is empty, or 404 under ``past_the_end="404"``.
"""

from __future__ import annotations

import hashlib
from datetime import date
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.nextvisit.cursor_paging import cursor_paginate, keyset_paginate
from sandboxes.nextvisit.errors import respond
from sandboxes.nextvisit.paging import json_api_page, page_number, paginate, past_the_end
from sandboxes.nextvisit.request_input import request_query
from sandboxes.nextvisit.resource import PLAIN
from sandboxes.nextvisit.rows import PatientRow
from sandboxes.nextvisit.spatie import check_filters, includes
from sandboxes.nextvisit.store import Store
from sandboxes.nextvisit.validation import Rules
from sandboxes.nextvisit.wire import nil_if_empty
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.errors import ApiError
from sandboxes.toolkit.paging import page_slice
from sandboxes.toolkit.timestamps import iso_date

__all__ = ["PatientLists"]

_LIST_PER_PAGE = 50
_SEARCH_PER_PAGE = 20
_PER_PAGE_MAX = 100
_SORTS = ("id", "first_name", "last_name", "date_of_birth", "created_at")


class PatientLists:
    """The list and search endpoints over `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def page(self, request: Request, token_id: int) -> Response:
        query = request_query(request)
        rules = Rules(query)
        per_page: int | None = _LIST_PER_PAGE
        ok, value = rules.field("per_page")
        if ok:
            per_page = rules.integer("per_page", value, 1, self.store.readings.list_per_page_max)
        readings = self.store.readings
        sort: str | None = "-created_at"
        ok, value = rules.field("sort")
        if ok and readings.sort_param == "honoured":
            sort = rules.one_of("sort", value, tuple(spelling for name in _SORTS for spelling in (name, f"-{name}")))
        names: dict[str, tuple[str, ...]] = {}
        dob: date | None = None
        if readings.list_filters == "honoured":
            for name in ("first_name", "last_name"):
                ok, value = rules.field(f"filter.{name}")
                if ok and rules.string(f"filter.{name}", value):
                    names[name] = tuple(part for part in value.split(",") if part)
            ok, value = rules.field("filter.date_of_birth")
            if ok:
                dob = rules.date("filter.date_of_birth", value)
        trashed: str | None = None
        ok, value = rules.field("filter.trashed")
        if ok and self.store.readings.trashed_filter == "honoured":
            trashed = rules.one_of("filter.trashed", value, ("with", "only"))
        rules.check()
        assert per_page is not None and sort is not None
        if readings.list_filters == "honoured":  # a list reading no filter refuses none either
            check_filters(query)
        included = includes(query)
        rows = self.store.listing(sort, names.get("first_name", ()), names.get("last_name", ()), iso_date(dob), trashed)
        variant = ("team" in included, "encounters" in included, "demographics" in included, trashed is not None)
        render = partial(self.store.patient_json, variant=variant)
        if self.store.readings.paging == "cursor":  # `page` is not read at all
            return self._respond(cursor_paginate(request, rows, render, sort, per_page, query))
        if self.store.readings.paging == "keyset":  # nor here: `after` is
            return self._respond(keyset_paginate(request, rows, render, per_page, query))
        if self.store.readings.paging == "none":  # every row; `links` and `meta` as the docs' example
            every = b",".join(render(row) for row in rows)
            empty = b"[]" if self.store.readings.empty_envelope == "array" else b"{}"  # PHP's `[]`, or `{}`
            return self._respond(b'{"data":[' + every + b'],"links":' + empty + b',"meta":' + empty + b"}")
        first = self.store.readings.first_page
        if self.store.readings.paging == "json_api":  # `page[number]`/`page[size]`, not `page`
            page, per_page = json_api_page(query.get("page"), per_page, first)
        else:
            page = self._page(query, len(rows), per_page)
        if self.store.readings.sort_ties == "unstable":
            rows = _ties_reordered(rows, sort, f"{page}:{per_page}")
        items = [self.store.patient_json(row, variant) for row in page_slice(rows, page - first + 1, per_page)]
        shape = self.store.readings.paging
        return self._respond(paginate(request, items, len(rows), page, per_page, query, shape, first))

    def _page(self, query: JsonObject, total: int, per_page: int) -> int:
        """The page number asked for (``first_page``: counted from 1 or 0); a page past the last
        is DRF's 404 under ``past_the_end="404"``."""
        first = self.store.readings.first_page
        page = page_number(query.get("page"), first)
        if self.store.readings.past_the_end == "404" and past_the_end(total, page, per_page, first):
            raise ApiError(404, {"message": "Invalid page."})
        return page

    async def search(self, request: Request, token_id: int) -> Response:
        query = request_query(request)
        rules = Rules(query)
        ok, text = rules.field("query", required=True)
        if ok:
            rules.string("query", text)
        per_page: int | None = _SEARCH_PER_PAGE
        ok, value = rules.field("per_page")
        if ok:
            per_page = rules.integer("per_page", value, 1, _PER_PAGE_MAX)
        sort_by: str | None = "desc"
        ok, value = rules.field("sort_by")
        if ok:
            sort_by = rules.one_of("sort_by", value, ("asc", "desc"))
        rules.check()
        assert per_page is not None and isinstance(text, str)
        rows = self.store.search(text, desc=sort_by == "desc")
        first = self.store.readings.first_page
        page = self._page(query, len(rows), per_page)
        items = [self.store.patient_json(row, PLAIN) for row in page_slice(rows, page - first + 1, per_page)]
        return self._respond(paginate(request, items, len(rows), page, per_page, {"query": text}, first=first))

    def _respond(self, page: bytes) -> Response:
        """The page, its empty ``data`` written as the ``empty_lists`` reading writes it."""
        return respond(200, nil_if_empty(page, self.store.readings))


def _ties_reordered(rows: list[PatientRow], sort: str, salt: str) -> list[PatientRow]:
    """`rows` with each run of equal sort values in an order of its own for `salt` (the page
    and page size asked for): ``ORDER BY last_name LIMIT 50 OFFSET 50`` without a tiebreaker,
    as PostgreSQL's top-N heapsort answers it ("the query optimizer may return rows in different
    orders for different LIMIT/OFFSET", PostgreSQL docs, LIMIT and OFFSET). One request asked
    twice answers alike."""
    name = sort.lstrip("-")
    if name == "id":
        return rows

    def value(row: PatientRow) -> object:
        if name == "first_name":
            return row.first_key
        if name == "last_name":
            return row.last_key
        return row.doc[name]

    def shuffled(run: list[PatientRow]) -> list[PatientRow]:
        return sorted(run, key=lambda row: hashlib.sha256(f"{salt}:{row.id}".encode()).digest())

    out: list[PatientRow] = []
    run: list[PatientRow] = []
    for row in rows:
        if run and value(row) != value(run[0]):
            out += shuffled(run)
            run = []
        run.append(row)
    return out + shuffled(run)
