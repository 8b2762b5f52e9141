"""Nextvisit's pages of patients as declared models: what the walks may read of them (pure).

The docs describe the list's answer as `data`, "Pagination links" and "Pagination metadata",
and show them empty. A page is read in every shape implementations answer it: Laravel's
resource collection, its bare paginator, a simple or cursor paginator, keyset links of the
app's own, the numbers other frameworks write in `meta` (Spring's `total_pages`,
nestjs-paginate's `currentPage`), or no paging data at all; a relation inside a patient may be
answered as such a page too (`beyond_first_page`). See the adapter's "Where the docs are silent".
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from mappings.nextvisit.vendor import (
    Count,
    FrozenModel,
    Unreadable,
    UnreadablePayload,
    VendorPatient,
    count_of,
    first_problem,
)


class VendorLinks(FrozenModel):
    first: Any = None
    last: Any = None
    prev: Any = None
    next: Any = None


def _loose_count(value: Any) -> int | None:
    """A number of a name other implementations give it: a count (or a string of one), else
    nothing (JSON:API's `meta.page` is an object, say): read, never a page that cannot be."""
    value = count_of(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


LooseCount = Annotated[int | None, BeforeValidator(_loose_count)]


class VendorPageMeta(FrozenModel):
    """ "Pagination metadata" (the docs say no more): Laravel's names, and the names other
    frameworks write the same numbers under (`served`, `pages`, `items` below)."""

    current_page: Count = None
    last_page: Count = None
    total: Count = None
    from_: Any = Field(None, alias="from")
    to: Any = None
    path: Any = None
    per_page: Any = None
    links: Any = None
    next_cursor: Any = None
    prev_cursor: Any = None
    # The page served: Spring Data's `Page.getNumber()` as `page` (or `number`, its own name;
    # counted from 0 by `Pageable`'s default), NestJS's nestjs-paginate `currentPage`, ASP.NET's
    # `pageNumber`.
    page: LooseCount = None
    number: LooseCount = None
    current_page_camel: LooseCount = Field(None, alias="currentPage")
    page_number: LooseCount = None
    page_number_camel: LooseCount = Field(None, alias="pageNumber")
    # How many pages there are (not the last one's number, where pages count from 0): Spring's
    # `totalPages` (Jackson's SNAKE_CASE: `total_pages`), nestjs-paginate's `totalPages`, Django's
    # `num_pages`.
    total_pages: LooseCount = None
    total_pages_camel: LooseCount = Field(None, alias="totalPages")
    num_pages: LooseCount = None
    page_count: LooseCount = None
    page_count_camel: LooseCount = Field(None, alias="pageCount")
    last_page_camel: LooseCount = Field(None, alias="lastPage")
    # How many records match: Spring's `totalElements`, nestjs-paginate's `totalItems`, ASP.NET's
    # `totalCount`, in either case.
    total_elements: LooseCount = None
    total_elements_camel: LooseCount = Field(None, alias="totalElements")
    total_items: LooseCount = None
    total_items_camel: LooseCount = Field(None, alias="totalItems")
    total_count: LooseCount = None
    total_count_camel: LooseCount = Field(None, alias="totalCount")
    # How many records a page holds: Laravel's `per_page` (above), Spring's `size`, nestjs-paginate's
    # `itemsPerPage`, ASP.NET's `pageSize`.
    size_: LooseCount = Field(None, alias="size")
    page_size: LooseCount = None
    page_size_camel: LooseCount = Field(None, alias="pageSize")
    items_per_page: LooseCount = Field(None, alias="itemsPerPage")

    @model_validator(mode="before")
    @classmethod
    def _json_api_page(cls, raw: Any) -> Any:
        """JSON:API implementations give the numbers in an object, `meta.page` (laravel-json-api's
        `{"current-page", "last-page", "per-page", "from", "to", "total"}`, in dashes or camelCase):
        read as Laravel's, under Laravel's names (those given at the top level win)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("page"), dict):
            return raw
        numbers = {_JSON_API_NUMBERS.get(name.replace("-", "_"), name.replace("-", "_")): value
                   for name, value in raw["page"].items()}  # fmt: skip
        return {**{k: v for k, v in numbers.items() if k in _LARAVEL_NUMBERS}, **raw}

    @property
    def served(self) -> int | None:
        """The number of the page served, under whichever name it is given."""
        return _stated(
            self.current_page,
            self.page,
            self.number,
            self.current_page_camel,
            self.page_number,
            self.page_number_camel,
        )

    @property
    def last(self) -> int | None:
        """The last page's number, when given as such (Laravel's `last_page`)."""
        return _stated(self.last_page, self.last_page_camel)

    @property
    def pages(self) -> int | None:
        """How many pages there are, when given as a count."""
        return _stated(self.total_pages, self.total_pages_camel, self.num_pages, self.page_count, self.page_count_camel)

    @property
    def size(self) -> int | None:
        """How many records a page holds, under whichever name it is given."""
        return _stated(
            _loose_count(self.per_page), self.page_size, self.size_, self.page_size_camel, self.items_per_page
        )

    @property
    def items(self) -> int | None:
        """How many records the list has, under whichever name it is given."""
        return _stated(
            self.total,
            self.total_elements,
            self.total_elements_camel,
            self.total_items,
            self.total_items_camel,
            self.total_count,
            self.total_count_camel,
        )


#: The names of JSON:API's `meta.page` numbers (dashes read as underscores) that are not
#: Laravel's already.
_JSON_API_NUMBERS = {"currentPage": "current_page", "lastPage": "last_page", "perPage": "per_page"}
_LARAVEL_NUMBERS = frozenset({"current_page", "last_page", "per_page", "total", "from", "to"})
# Fields that make an answer a page of the patient list (its envelope or the bare paginator's).
_PAGING_FIELDS = frozenset({"links", "meta", "current_page", "last_page", "total", "next_page_url", "per_page"})
#: JSON:API's page number parameter (`page[number]`, beside `page[size]`): Spatie's
#: `jsonPaginate()` reads it, and `page` not at all.
JSON_API_PAGE = "page[number]"
# The parameters a list request sends itself (`filter[...]` too): never a paging position.
_LIST_PARAMS = frozenset({"per_page", "sort", "include", "page", "cursor"})


def _listed(value: Any) -> Any:
    """A page's records: a list, or an object of them (PHP's encoding of an array whose keys
    are not 0..n-1, e.g. a collection filtered without `values()`), read in its order; null
    lists nobody (Go's encoding/json writes an empty, nil slice so)."""
    if value is None:
        return []
    return list(value.values()) if isinstance(value, dict) else value


def _stated(*numbers: int | None) -> int | None:
    """The first number given (0 included, which `or` would pass over)."""
    return next((number for number in numbers if number is not None), None)


class VendorList(FrozenModel):
    """A page of patients: Laravel's resource collection (`data`, `links`, `meta`), or its bare
    paginator (the `meta` fields and `*_page_url` links at the top level, `links` a list), or
    a simple paginator (no `last_page`/`total`: only a next link says there is more), or a
    cursor paginator (`cursorPaginate()`: `meta` is `{path, per_page, next_cursor,
    prev_cursor}`, the next link carries `?cursor=`, and `page` is not read)."""

    data: Annotated[list[Any], BeforeValidator(_listed)]
    links: VendorLinks | list[Any] | None = None
    meta: VendorPageMeta | None = None
    current_page: Count = None
    last_page: Count = None
    total: Count = None
    next_page_url: Any = None
    prev_page_url: Any = None
    first_page_url: Any = None
    last_page_url: Any = None
    from_: Any = Field(None, alias="from")
    to: Any = None
    path: Any = None
    per_page: Any = None
    next_cursor: Any = None
    prev_cursor: Any = None

    @field_validator("meta", mode="before")
    @classmethod
    def _no_meta(cls, value: Any) -> Any:
        """An empty `meta` written `[]`: PHP's `json_encode` of an empty array (a handler building
        `['data' => $rows, 'links' => [], 'meta' => []]` for the docs' `"meta": {}`) is no
        paging data, as `{}` is."""
        return None if value == [] else value

    @model_validator(mode="before")
    @classmethod
    def _data_left_out(cls, raw: Any) -> Any:
        """A page that lists nobody may leave `data` out (Go's encoding/json writes a field tagged
        `omitempty` so when its slice is empty): an answer with the paging fields and no `data`
        lists nobody. One with neither is no page (unreadable, as before)."""
        if isinstance(raw, dict) and "data" not in raw and not _PAGING_FIELDS.isdisjoint(raw):
            return {**raw, "data": []}
        return raw

    def has_more(self, page: int) -> bool:
        """Whether a page follows page `page`: by the next cursor of a list paged by cursor, by
        `last_page` when given, else by a next link, else (no paging data at all) by this page
        having records: the walk then ends on the first empty page (one call more, but no page
        size is assumed). An empty page is the end, whatever the numbers say (a page past the
        end)."""
        if not self.data:
            return False
        if self.by_cursor:
            return self.cursor is not None or self.link_position is not None
        served = self.served_page
        current = page if served is None else served
        last = self.last_page_number
        if last is not None:
            return current < last
        pages = self.page_count
        if pages is not None:
            # A count of pages: the last page's number where pages count from 1, one past it where
            # they count from 0 (Spring's `Pageable`). The page numbered one below it is the last
            # of a list counting from 0, and has one after it in a list counting from 1.
            return current < pages - 1 or (current == pages - 1 and self._one_more_after(pages))
        links = self.links if isinstance(self.links, VendorLinks) else None
        if links is not None and "next" in links.model_fields_set:
            return bool(links.next)
        if "next_page_url" in self.model_fields_set:
            return bool(self.next_page_url)
        return True

    def _one_more_after(self, pages: int) -> bool:
        """Whether a page numbered one below the count of pages, `pages`, may have a page after
        it: where pages count from 1 it does, so it is full and the total (when given) is more
        than `pages - 1` full pages hold. A short page is the last however pages are counted; a
        full one when the count cannot tell (no page size given, or exactly `pages` full pages) is
        asked after (one call, to a page past the end at worst: empty, the end)."""
        size = (self.meta or VendorPageMeta()).size
        if size is None:
            return True
        total = self.total_count
        return len(self.data) >= size and (total is None or total > (pages - 1) * size)

    @property
    def unpaged(self) -> bool:
        """Whether the page says nothing of paging: no page number, last page, total, cursor or
        next link (`links` and `meta` empty, as the docs' example answer shows them, or absent):
        a list that may answer every patient at once, whatever `page` and `per_page` ask."""
        links = self.links if isinstance(self.links, VendorLinks) else None
        following = (links.next if links else None) or self.next_page_url
        stated = (self.served_page, self.last_page_number, self.page_count, self.total_count)
        return not following and all(n is None for n in stated) and not self.by_cursor

    @property
    def cursor(self) -> str | None:
        """The cursor of the following page: `next_cursor` (in `meta`, or at the top level of the
        bare paginator), else the `cursor` parameter of the next link; None on the last page and
        for lists paged by number."""
        meta = self.meta or VendorPageMeta()
        for value in (meta.next_cursor, self.next_cursor):
            if isinstance(value, str) and value:
                return value
        links = self.links if isinstance(self.links, VendorLinks) else None
        for url in (links.next if links else None, self.next_page_url):
            found = parse_qs(urlsplit(url).query).get("cursor") if isinstance(url, str) else None
            if found and found[0]:
                return found[0]
        return None

    @property
    def link_position(self) -> dict[str, str] | None:
        """The position its next link names in parameters of the vendor's own, neither a page
        number nor a `cursor` (keyset paging, `?after=<last id>`; an `offset`): the link's
        parameters that a list request does not send itself, as the link gives them (a `page`
        beside them is the one asked for, echoed: a link builder keeps every parameter it was
        sent). None when there is no next link, when it names a `cursor` (read as such), or
        when it names nothing but what a request sends (a page number: paged by number). A link
        that moves `page` on (an echo is the `page=1` of a walk's first request, the only page a
        keyset walk sends) is paged by number whatever else it carries (a parameter the app
        appends to its links: `?page=2&lang=en`)."""
        links = self.links if isinstance(self.links, VendorLinks) else None
        url = next((u for u in (links.next if links else None, self.next_page_url) if isinstance(u, str) and u), None)
        if url is None:
            return None
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
        if "cursor" in query or query.get("page", ["1"])[-1].strip() not in ("1", ""):
            return None
        own = {name: values[-1] for name, values in query.items() if name not in _LIST_PARAMS and "[" not in name}
        return own or None

    @property
    def by_cursor(self) -> bool:
        """Whether the list is paged by a position of the vendor's (not by page number): it says
        `next_cursor` (null on its last page), or links onwards with a cursor or with a
        position of its own (`link_position`)."""
        meta = self.meta or VendorPageMeta()
        named = "next_cursor" in meta.model_fields_set or "next_cursor" in self.model_fields_set
        return named or self.cursor is not None or self.link_position is not None

    @property
    def fingerprint(self) -> str:
        """A digest of the ids on this page, in order: two answers with the same one list the
        same patients (how a page the vendor does not number is told from a repeat)."""
        ids = "\x1f".join(str(row.get("id")) if isinstance(row, dict) else "" for row in self.data)
        return hashlib.sha256(ids.encode()).hexdigest()[:16]

    @property
    def served_page(self) -> int | None:
        """The page number the vendor says this page is, if it says (0 is a number: a vendor
        may count its pages from 0)."""
        meta = self.meta or VendorPageMeta()
        return _stated(meta.served, self.current_page)

    @property
    def last_page_number(self) -> int | None:
        meta = self.meta or VendorPageMeta()
        return _stated(meta.last, self.last_page)

    @property
    def page_count(self) -> int | None:
        """How many pages the list has, when its `meta` gives a count of them (`total_pages`)
        rather than the last one's number."""
        return (self.meta or VendorPageMeta()).pages

    @property
    def next_page_number(self) -> int | None:
        """The page number the next link names (`links.next`, or the bare paginator's
        `next_page_url`), if it names one (as `page`, or JSON:API's `page[number]`): the vendor's
        own number for the page after this one, whatever number it gives its first page."""
        links = self.links if isinstance(self.links, VendorLinks) else None
        for url in (links.next if links else None, self.next_page_url):
            query = parse_qs(urlsplit(url).query) if isinstance(url, str) else {}
            found = query.get("page") or query.get(JSON_API_PAGE)
            if found and found[-1].strip().isdigit():
                return int(found[-1].strip())
        return None

    @property
    def numbers_by_json_api(self) -> bool:
        """Whether its links number pages by JSON:API's `page[number]` and not by `page`: an
        implementation reading that parameter alone (Spatie's `jsonPaginate()`) answers `page=2`
        with its first page again."""
        links = self.links if isinstance(self.links, VendorLinks) else VendorLinks()
        urls = (links.next, links.prev, links.first, links.last, self.next_page_url, self.prev_page_url)
        named = [parse_qs(urlsplit(url).query) for url in urls if isinstance(url, str) and url]
        return any(JSON_API_PAGE in query for query in named) and not any("page" in query for query in named)

    @property
    def total_count(self) -> int | None:
        meta = self.meta or VendorPageMeta()
        return _stated(meta.items, self.total)


def read_list(raw: Any) -> VendorList:
    """A page of patients; UnreadablePayload (naming the field) when it is no page at all. A
    bare JSON array (`response()->json($patients)`) is a page without paging data."""
    try:
        return VendorList.model_validate({"data": raw} if isinstance(raw, list) else raw)
    except ValidationError as exc:
        field, problem = first_problem(exc, "")
        raise UnreadablePayload(field or "(page)", problem) from None


_FIRST_PAGE_ONLY = "was answered a page at a time and only its first page is in the answer, so the others are unknown"


def beyond_first_page(patient: VendorPatient, field: str, resource_type: str) -> list[Unreadable]:
    """The records under `field` that an answer paging them leaves out: unknown, never none.

    A relation may be answered as Laravel's paginated resource collection (`EncounterResource::
    collection($this->encounters()->paginate(15))`: `{"data": [...], "links", "meta"}`); the docs
    show `encounters: []` and no more. Its `data` is one page: when its paging data says more
    follow (a total beyond it, a next link, a last page after it), the rest are reported as a
    record of the field that could not be read (a search says so and gives no total; a read of a
    record not on the page is no "does not exist"; a CCD is refused), never left out silently.
    One without paging data, or saying it is the last, is all there are."""
    value = getattr(patient, field)
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        return []
    try:
        page = VendorList.model_validate(value)
    except ValidationError:
        return []
    links = page.links if isinstance(page.links, VendorLinks) else None
    if page.total_count is not None:
        more = page.total_count > len(page.data)
    elif (links and links.next) or page.next_page_url or page.cursor:
        more = True
    else:
        numbered = page.last_page_number is not None or page.page_count is not None
        more = numbered and page.has_more(_stated(page.served_page, 1) or 1)
    return [Unreadable(resource_type, patient.id, None, field, _FIRST_PAGE_ONLY)] if more else []
