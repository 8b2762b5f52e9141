"""The EHR API under ``/api``: patient search, encounter search (with CCDs) and the CCD categories.

Checks after routing: ``Authorization: Bearer <access token>`` (401 with ``WWW-Authenticate:
Bearer``), then ``x-nextech-practice-id`` (400 missing, 403 another practice), then
parameters (400), then the record (404).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Literal
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.nextech.ccd_html import CCD_SECTIONS, SECTION_TITLES
from sandboxes.nextech.errors import API_HEADERS, INVALID, JSON_CONTENT_TYPE, abp_wrapped, styled_error
from sandboxes.nextech.grants import Grants
from sandboxes.nextech.jsonapi import resource_object
from sandboxes.nextech.readings import ABP_MAX_RESULT_COUNT, MAX_TAKE, Envelope
from sandboxes.nextech.store import Chart
from sandboxes.toolkit.aliases import Handler
from sandboxes.toolkit.auth import bearer_credentials
from sandboxes.toolkit.errors import ApiError, catch_api_errors
from sandboxes.toolkit.integers import ascii_int

__all__ = ["ACCESS_DENIED", "PRACTICE_HEADER", "NextechApi"]

PRACTICE_HEADER = "x-nextech-practice-id"
#: The 401 message of every API route.
ACCESS_DENIED = "Authorization has been denied for this request."

_INT32_MAX = 2**31 - 1
# What ASP.NET Web API says when the {patientId} route value does not bind to an Int32.
_NOT_AN_INT32 = (
    "The parameters dictionary contains a null entry for parameter 'patientId' of non-nullable type "
    "'System.Int32' for method 'System.Net.Http.HttpResponseMessage SearchEncounters(Int32, "
    "System.Nullable`1[System.DateTime], System.Nullable`1[System.DateTime], System.String)'."
)


def _instant(name: str, raw: str | None) -> datetime | None:
    """An ISO 8601 date or date-time parameter (naive and bare dates are UTC); None when empty or absent."""
    if raw is None or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())  # a bare date is its midnight
    except ValueError:
        model_state = {name: [f"The value '{raw}' is not valid for {name}."]}
        raise ApiError(400, {"Message": INVALID, "ModelState": model_state}) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# A date-time with a zone designator (`Z`, `+01:00`, `-0500`).
_ZONED = re.compile(r"T.*(?:[Zz]|[+-]\d{2}:?\d{2})$")
# A bare calendar date (`2025-03-15`): all a `DateOnly` / `LocalDate` parameter binds.
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _patient_id(raw: str) -> int:
    """The ``{patientId}`` route value as an Int32; 400 like Web API when it is not one."""
    patient_id = ascii_int(raw)
    if patient_id is None or len(raw) > 10 or patient_id > _INT32_MAX:
        raise ApiError(400, {"Message": INVALID, "MessageDetail": _NOT_AN_INT32})
    return patient_id


def _section(raw: str, by_fold: dict[str, str]) -> str | None:
    """The canonical spelling of a ``section`` (case-insensitive); None when empty."""
    if not raw:
        return None
    section = by_fold.get(raw.casefold())
    if section is None:
        raise ApiError(400, {"Message": f"The section '{raw}' is not a valid CCD section."})
    return section


def _json_array(items: list[bytes], envelope: Envelope = "bare", count: int | None = None) -> Response:
    """A list answer; an envelope counts `count` items (default: those it holds)."""
    array = b"[" + b",".join(items) + b"]"
    counted = str(len(items) if count is None else count).encode()
    if envelope == "value":
        array = b'{"value":' + array + b',"@odata.count":' + counted + b"}"
    elif envelope == "data":
        array = b'{"data":' + array + b',"count":' + counted + b"}"
    elif envelope == "meta":
        array = b'{"data":' + array + b',"meta":{"total":' + counted + b"}}"
    return Response(array, 200, API_HEADERS, JSON_CONTENT_TYPE)


def _page(request: Request, items: list[bytes], size: int) -> Response:
    """Django REST Framework's ``PageNumberPagination``: one page of `size` items, ``next`` and
    ``previous`` absolute URLs of this endpoint (null at either end), 404 past the last page."""
    pages = max(1, -(-len(items) // size))
    page = ascii_int(request.query_params.get("page", "1"))
    if page is None or not 1 <= page <= pages:
        return Response(b'{"detail":"Invalid page."}', 404, API_HEADERS, JSON_CONTENT_TYPE)
    shown = items[(page - 1) * size : page * size]
    after = orjson.dumps(str(request.url.include_query_params(page=page + 1)) if page < pages else None)
    if page == 1:
        before = b"null"
    elif page == 2:  # DRF's link to the first page drops `page`
        before = orjson.dumps(str(request.url.remove_query_params("page")))
    else:
        before = orjson.dumps(str(request.url.include_query_params(page=page - 1)))
    body = b'{"count":%d,"next":%s,"previous":%s,"results":[%s]}' % (len(items), after, before, b",".join(shown))
    return Response(body, 200, API_HEADERS, JSON_CONTENT_TYPE)


def _header_page(request: Request, items: list[bytes], size: int) -> Response:
    """flask-smorest's pagination: the bare array of page ``?page=`` (``size`` items), and the
    pages described only in its ``X-Pagination`` header; a page past the last is empty."""
    page = ascii_int(request.query_params.get("page", "1"))
    if page is None or page < 1:
        return Response(b'{"code":422,"status":"Unprocessable Entity"}', 422, API_HEADERS, JSON_CONTENT_TYPE)
    pages = -(-len(items) // size)
    meta: dict[str, int] = {"total": len(items), "total_pages": pages}
    if items:
        meta |= {"first_page": 1, "last_page": pages, "page": page}
        if page > 1:
            meta["previous_page"] = page - 1
        if page < pages:
            meta["next_page"] = page + 1
    shown = items[(page - 1) * size : page * size]
    headers = {**API_HEADERS, "X-Pagination": orjson.dumps(meta).decode()}
    return Response(b"[" + b",".join(shown) + b"]", 200, headers, JSON_CONTENT_TYPE)


def _numbered_page(request: Request, items: list[bytes], size: int) -> Response:
    """Flask-SQLAlchemy's ``paginate()``: page ``?page=`` of ``size`` items in an envelope that
    numbers the pages but links none; a page past the last is a 404 (``error_out``)."""
    pages = -(-len(items) // size)
    page = ascii_int(request.query_params.get("page", "1"))
    if page is None or page < 1 or page > max(pages, 1):
        return Response(
            b"<!doctype html>\n<title>404 Not Found</title>\n", 404, API_HEADERS, "text/html; charset=utf-8"
        )
    meta = {
        "page": page,
        "pages": pages,
        "per_page": size,
        "total": len(items),
        "has_next": page < pages,
        "has_prev": page > 1,
        "next_num": page + 1 if page < pages else None,
        "prev_num": page - 1 if page > 1 else None,
    }
    shown = b",".join(items[(page - 1) * size : page * size])
    return Response(b'{"items":[' + shown + b"]," + orjson.dumps(meta)[1:], 200, API_HEADERS, JSON_CONTENT_TYPE)


def _page_number(request: Request) -> int | None:
    """ASP.NET model binding of ``pageNumber`` (its case ignored; ``page`` is not read): 1 when
    absent, None when it is no number."""
    raw = next((v for k, v in request.query_params.multi_items() if k.lower() == "pagenumber"), "1")
    return ascii_int(raw)


def _aspnet_page(request: Request, items: list[bytes], size: int) -> Response:
    """An ASP.NET team's ``PaginatedList<T>``: page ``?pageNumber=`` of ``size`` items in an
    envelope that numbers the pages and links none; a page past the last is empty."""
    page = _page_number(request)
    if page is None or page < 1:
        return Response(
            b'{"title":"One or more validation errors occurred.","status":400}', 400, API_HEADERS, JSON_CONTENT_TYPE
        )
    pages = -(-len(items) // size)
    shown = b",".join(items[(page - 1) * size : page * size])
    meta = {
        "pageNumber": page,
        "totalPages": pages,
        "totalCount": len(items),
        "hasPreviousPage": page > 1,
        "hasNextPage": page < pages,
    }
    return Response(b'{"items":[' + shown + b"]," + orjson.dumps(meta)[1:], 200, API_HEADERS, JSON_CONTENT_TYPE)


def _aspnet_header_page(request: Request, items: list[bytes], size: int) -> Response:
    """The bare array of page ``?pageNumber=`` and an ``X-Pagination`` header in PascalCase, as
    an ASP.NET controller writes it with ``JsonSerializer.Serialize(metadata)``."""
    page = _page_number(request)
    if page is None or page < 1:
        return Response(
            b'{"title":"One or more validation errors occurred.","status":400}', 400, API_HEADERS, JSON_CONTENT_TYPE
        )
    pages = -(-len(items) // size)
    meta = {
        "TotalCount": len(items),
        "PageSize": size,
        "CurrentPage": page,
        "TotalPages": pages,
        "HasNext": page < pages,
        "HasPrevious": page > 1,
    }
    shown = items[(page - 1) * size : page * size]
    headers = {**API_HEADERS, "X-Pagination": orjson.dumps(meta).decode()}
    return Response(b"[" + b",".join(shown) + b"]", 200, headers, JSON_CONTENT_TYPE)


_SPRING_UNSORTED = {"empty": True, "sorted": False, "unsorted": True}


def _spring_page(request: Request, items: list[bytes], size: int, envelope: Envelope, rel: str) -> Response:
    """Spring Data's ``Page`` of ``?page=`` (ZERO-based, Spring's ``Pageable``: absent or no
    number is 0, a negative one 0), ``size`` items; a page past the last is empty. Serialized as
    Spring Boot writes a ``Page`` (``"spring"``: ``PageImpl`` as is, its ``number`` zero-based),
    with ``@EnableSpringDataWebSupport(pageSerializationMode = VIA_DTO)`` (``"spring_dto"``:
    ``{"content", "page": {"size", "number", "totalElements", "totalPages"}}``, Spring Boot 3.3's
    recommendation), or as Spring HATEOAS's ``PagedModel`` (``"spring_hal"``: the list under
    ``_embedded.<rel>``, left out when empty, absolute ``_links``, and the same ``page``)."""
    page = ascii_int(request.query_params.get("page", "")) or 0
    pages = -(-len(items) // size)
    shown = items[page * size : (page + 1) * size]
    meta = {"size": size, "number": page, "totalElements": len(items), "totalPages": pages}
    listed = b"[" + b",".join(shown) + b"]"
    if envelope == "spring_dto":
        body = b'{"content":' + listed + b',"page":' + orjson.dumps(meta) + b"}"
    elif envelope == "spring_hal":

        def href(number: int) -> dict[str, str]:
            return {"href": str(request.url.include_query_params(page=number, size=size))}

        links = {"self": href(page)}
        if pages > 1:
            links = {"first": href(0), **({"prev": href(page - 1)} if page > 0 else {}), **links}
            links |= {**({"next": href(page + 1)} if page + 1 < pages else {}), "last": href(pages - 1)}
        embedded = b'"_embedded":{"' + rel.encode() + b'":' + listed + b"}," if shown else b""
        body = b"{" + embedded + b'"_links":' + orjson.dumps(links) + b',"page":' + orjson.dumps(meta) + b"}"
    else:
        pageable = {
            "pageNumber": page,
            "pageSize": size,
            "sort": _SPRING_UNSORTED,
            "offset": page * size,
            "paged": True,
            "unpaged": False,
        }
        rest = {
            "pageable": pageable,
            "last": page + 1 >= pages,
            "totalElements": len(items),
            "totalPages": pages,
            "size": size,
            "number": page,
            "sort": _SPRING_UNSORTED,
            "first": page == 0,
            "numberOfElements": len(shown),
            "empty": not shown,
        }
        body = b'{"content":' + listed + b"," + orjson.dumps(rest)[1:]
    return Response(body, 200, API_HEADERS, JSON_CONTENT_TYPE)


def _bare_page(request: Request, items: list[bytes], size: int, first: int) -> Response:
    """One page of `size` items as a bare array, page ``?page=`` counted from `first` (absent, or
    no number: the first), saying nothing of the others; a page past the last is empty."""
    asked = ascii_int(request.query_params.get("page", ""))
    index = max((asked if asked is not None else first) - first, 0)
    shown = items[index * size : (index + 1) * size]
    return Response(b"[" + b",".join(shown) + b"]", 200, API_HEADERS, JSON_CONTENT_TYPE)


def _offset_page(request: Request, items: list[bytes], size: int, envelope: Envelope) -> Response:
    """One page counted by offset: from ``?offset=`` (``?skip=``), ``?limit=`` (``?take=``)
    items, ``size`` when not asked, at most ``MAX_TAKE``; the envelope says where it starts,
    how many it asked and the total, and links no next page. fastapi-pagination's
    ``LimitOffsetPage`` (``"offset"``) or an Express team's ``{"data", "meta": {"total",
    "skip", "take"}}`` (``"skip_take"``), or the page alone as a bare array (``"bare_offset"``,
    ``"bare_skip_take"``); a value that is no number, or negative, is refused as FastAPI (422)
    or a hand-written check (400) refuses it."""
    start_key, size_key = ("offset", "limit") if envelope in ("offset", "bare_offset") else ("skip", "take")
    start = ascii_int(request.query_params.get(start_key, "0"))
    taken = ascii_int(request.query_params.get(size_key, str(size)))
    if start is None or taken is None or taken < 1:
        if start_key == "offset":
            detail = [{"type": "int_parsing", "loc": ["query", start_key], "msg": "Input should be a valid integer"}]
            return Response(orjson.dumps({"detail": detail}), 422, API_HEADERS, JSON_CONTENT_TYPE)
        return Response(b'{"error":"Invalid paging parameters"}', 400, API_HEADERS, JSON_CONTENT_TYPE)
    taken = min(taken, MAX_TAKE)
    listed = b"[" + b",".join(items[start : start + taken]) + b"]"
    if envelope in ("bare_offset", "bare_skip_take"):
        body = listed
    elif envelope == "offset":
        facts = b'"total":%d,"limit":%d,"offset":%d' % (len(items), taken, start)
        body = b'{"items":' + listed + b"," + facts + b"}"
    else:
        body = b'{"data":' + listed + b',"meta":{"total":%d,"skip":%d,"take":%d}}' % (len(items), start, taken)
    return Response(body, 200, API_HEADERS, JSON_CONTENT_TYPE)


def _abp_param(request: Request, name: str, default: int) -> int | None:
    """A ``PagedResultRequestDto`` property bound from the query ignoring case (ASP.NET Core's
    model binding): `default` when absent, None when it is no number."""
    raw = next((v for k, v in request.query_params.multi_items() if k.lower() == name.lower()), None)
    return default if raw is None else ascii_int(raw)


def _abp_page(request: Request, items: list[bytes], size: int) -> Response:
    """ASP.NET Boilerplate's ``PagedResultDto<T>``: ``{"totalCount", "items"}`` of the items
    from ``?skipCount=`` (0 when absent), ``?maxResultCount=`` of them (``size`` when absent,
    at most ``ABP_MAX_RESULT_COUNT``); a value out of range is ABP's validation error."""
    skip = _abp_param(request, "skipCount", 0)
    taken = _abp_param(request, "maxResultCount", size)
    if skip is None or taken is None or taken < 1 or taken > ABP_MAX_RESULT_COUNT:
        field = "skipCount" if skip is None else "maxResultCount"
        problem = f"The field {field[:1].upper() + field[1:]} is invalid."
        error: dict[str, object] = {
            "code": None,
            "message": "Your request is not valid!",
            "details": f"The following errors were detected during validation.\r\n - {problem}\r\n",
            "data": {},
            "validationErrors": [{"message": problem, "members": [field]}],
        }
        return Response(orjson.dumps({"error": error}), 400, API_HEADERS, JSON_CONTENT_TYPE)
    listed = b"[" + b",".join(items[skip : skip + taken]) + b"]"
    return Response(b'{"totalCount":%d,"items":%s}' % (len(items), listed), 200, API_HEADERS, JSON_CONTENT_TYPE)


# The entity set an OData answer's `@odata.context` names, for each list's HAL relation.
_ENTITY_SETS = {"patientList": "Patients", "encounterList": "Encounters"}


def _odata_option(request: Request, name: str, default: int | None) -> tuple[bool, int | None]:
    """A ``$skip``/``$top`` system query option: (whether it was given, its value: `default`
    when absent, None when it is no non-negative integer). Only the ``$`` spelling is read, as
    Web API OData 7 reads it."""
    raw = request.query_params.get(name)
    return (False, default) if raw is None else (True, ascii_int(raw))


def _odata_page(request: Request, items: list[bytes], size: int, envelope: Envelope, rel: str) -> Response:
    """ASP.NET OData's ``[EnableQuery(PageSize = size)]``: the items from ``?$skip=`` (0 when
    absent), at most ``size`` and at most ``?$top=``. On an OData route (``"odata"``) in its
    envelope, ``@odata.count`` only when ``$count=true`` is asked, and a next link whenever more
    remain: the URL asked with ``$skip`` set past this page (``$top`` lessened by it, when
    given), other options kept as they came. On a plain controller (``"odata_bare"``) the page
    alone as a bare array, the cut not said. A bad option is OData's 400 ``{"error": {"code",
    "message"}}``."""
    _, skip = _odata_option(request, "$skip", 0)
    given_top, top = _odata_option(request, "$top", None)
    if skip is None or (given_top and top is None):
        name = "$skip" if skip is None else "$top"
        message = f"Invalid value '{request.query_params.get(name)}' for {name} query option found."
        body = orjson.dumps({"error": {"code": "", "message": message}})
        return Response(body, 400, API_HEADERS, JSON_CONTENT_TYPE)
    taken = size if top is None else min(top, size)
    shown = items[skip : skip + taken]
    listed = b"[" + b",".join(shown) + b"]"
    if envelope == "odata_bare":
        return Response(listed, 200, API_HEADERS, JSON_CONTENT_TYPE)
    root = str(request.base_url).rstrip("/")
    context = f"{root}/api/$metadata#{_ENTITY_SETS.get(rel, 'Categories')}"
    body = b'{"@odata.context":' + orjson.dumps(context)
    if request.query_params.get("$count", "").lower() == "true":
        body += b',"@odata.count":%d' % len(items)
    body += b',"value":' + listed
    following = skip + len(shown)
    if following < len(items) and len(shown) == taken and (top is None or top > taken):
        kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("$skip", "$top")]
        kept.append(("$skip", str(following)))
        if top is not None:
            kept.append(("$top", str(top - taken)))
        link = f"{root}{request.url.path}?{urlencode(kept, safe='$')}"
        body += b',"@odata.nextLink":' + orjson.dumps(link)
    return Response(body + b"}", 200, API_HEADERS, JSON_CONTENT_TYPE)


class NextechApi:
    """The API routes of practice `practice_id`, for access tokens `grants` issued, timed by `clock`."""

    def __init__(
        self,
        chart: Chart,
        grants: Grants,
        *,
        practice_id: str,
        clock: Callable[[], float],
        sections: tuple[str, ...] = CCD_SECTIONS,
        latest_end: datetime | None = None,
        refused_token_status: Literal[401, 403] = 401,
        date_params: Literal["iso", "naive", "zoned", "date"] = "iso",
        unknown_sections: Literal["refused", "null", "not_found"] = "refused",
        section_param: Literal["honoured", "ignored"] = "honoured",
        trailing_slashes: bool = False,
        rate_per_second: int | None = None,
        rate_limited_status: Literal[503, 429] = 503,
        rate_limited_retry_after: bool = True,
    ) -> None:
        self.chart = chart
        self.rate_per_second = rate_per_second
        self.rate_limited_status = rate_limited_status
        self.rate_limited_retry_after = rate_limited_retry_after
        self._window: tuple[int, int] = (0, 0)  # (second of the clock, calls in it)
        self.unknown_sections = unknown_sections
        self.section_param = section_param
        self.trailing_slashes = trailing_slashes
        self.date_params = date_params
        self.refused_token_status = refused_token_status
        self.section_by_fold = {section.casefold(): section for section in sections}
        self.latest_end = latest_end
        self.grants = grants
        self.practice = practice_id.strip()
        self.clock = clock
        self.envelope = chart.shapes.envelope
        self.errors = chart.shapes.error_bodies
        self.categories_shape = chart.shapes.categories
        titles = {section: SECTION_TITLES.get(section, section) for section in sections}
        if self.categories_shape == "objects":
            self.category_items = [orjson.dumps({"code": s, "displayName": t}) for s, t in titles.items()]
        elif self.categories_shape == "named":  # a Django model's row: id, name (the title), code
            self.category_items = [
                orjson.dumps({"id": n, "name": t, "code": s}) for n, (s, t) in enumerate(titles.items(), 1)
            ]
        elif self.categories_shape == "numbers":  # a C# enum without JsonStringEnumConverter
            self.category_items = [orjson.dumps(n) for n in range(len(sections))]
            self.section_by_fold |= {str(n): section for n, section in enumerate(sections)}
        elif self.categories_shape == "rows":  # a Category entity's rows, columns named after the table
            self.category_items = [
                orjson.dumps({"categoryId": n, "categoryName": s}) for n, s in enumerate(sections, 1)
            ]
        elif self.categories_shape == "titles":  # each member's [Display(Name)]; `section` takes its name
            self.category_items = [orjson.dumps(title) for title in titles.values()]
        else:
            self.category_items = [orjson.dumps(section) for section in sections]
        self.category_map = orjson.dumps(titles)

    def routes(self) -> list[Route]:
        end = "/" if self.trailing_slashes else ""  # without it, the router redirects (307) to it
        return [
            Route(f"/api/search{end}", self.guarded(self.search), methods=["GET"]),
            Route(f"/api/encounters/categories{end}", self.guarded(self.categories), methods=["GET"]),
            Route(f"/api/{{patient_id}}/encounters/search{end}", self.guarded(self.encounters), methods=["GET"]),
        ]

    def guarded(self, handler: Handler) -> Handler:
        """Check the bearer token and the practice header; turn ``ApiError`` into its JSON answer."""
        answer = catch_api_errors(handler, lambda error: styled_error(error.status, error.detail, self.errors))

        async def checked(request: Request) -> Response:
            if self._over_rate():
                if self.rate_limited_status == 429 and not self.rate_limited_retry_after:
                    # rack-attack's default throttled responder: no Retry-After (Flask-Limiter's
                    # without RATELIMIT_HEADERS_ENABLED, ASP.NET Core's without an OnRejected alike).
                    return Response(b"Retry later\n", 429, API_HEADERS, "text/plain")
                if self.rate_limited_status == 429:  # Django REST Framework's throttles, express-rate-limit...
                    # The wait to the next one-second window, in whole seconds rounded up: 1.
                    detail = b'{"detail":"Request was throttled. Expected available in 1 second."}'
                    return Response(detail, 429, {**API_HEADERS, "Retry-After": "1"}, JSON_CONTENT_TYPE)
                return Response(b"", 503)  # ASP.NET Core's RateLimiter: RejectionStatusCode 503
            response = await admitted(request)
            return abp_wrapped(response) if self.chart.shapes.abp_wrapper else response

        async def admitted(request: Request) -> Response:
            """The answer past the rate limiter: a refused token or practice, or the handler's."""
            token = bearer_credentials(request.headers.get("authorization", ""))
            if token is None or not self.grants.access_ok(token):
                if self.refused_token_status == 403:  # the docs list no 401: a refusal is a 403
                    return styled_error(403, {"Message": ACCESS_DENIED}, self.errors)
                return styled_error(401, {"Message": ACCESS_DENIED}, self.errors, {"WWW-Authenticate": "Bearer"})
            given = request.headers.get(PRACTICE_HEADER, "").strip()
            if not given:
                return styled_error(400, {"Message": f"The {PRACTICE_HEADER} header is required."}, self.errors)
            if given != self.practice:
                return styled_error(403, {"Message": "Access to the requested practice is denied."}, self.errors)
            response = await answer(request)
            if response.status_code != 200 or not self.chart.shapes.json_as_string:
                return response
            kept = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
            return Response(orjson.dumps(bytes(response.body).decode()), 200, kept, JSON_CONTENT_TYPE)

        return checked

    def _over_rate(self) -> bool:
        """Whether this call is past `rate_per_second` in the clock's current second (a fixed
        window, as ``AddFixedWindowLimiter`` counts)."""
        if self.rate_per_second is None:
            return False
        second = int(self.clock())
        calls = self._window[1] + 1 if self._window[0] == second else 1
        self._window = (second, calls)
        return calls > self.rate_per_second

    async def search(self, request: Request) -> Response:
        term = request.query_params.get("term", "")
        if not term.strip():
            raise ApiError(400, {"Message": INVALID, "ModelState": {"term": ["The term field is required."]}})
        shortest = self.chart.reading.min_length
        if len(term.strip()) < shortest:
            model_state = {"term": [f"The term must be at least {shortest} characters long."]}
            raise ApiError(400, {"Message": INVALID, "ModelState": model_state})
        found = self.chart.search(term)
        if not found and self.chart.reading.none_found == "not_found":
            raise ApiError(404, {"Message": "No patients match the search term."})
        if not found and self.chart.reading.none_found == "no_content":
            return Response(b"", 204, API_HEADERS)
        limit = self.chart.shapes.search_limit
        shown = found[:limit] if limit is not None else found
        return self.listed(request, [row.doc for row in shown], len(found), rel="patientList")

    async def encounters(self, request: Request) -> Response:
        """The patient's chart encounters starting in ``[start, end]`` (``end`` defaults to now)."""
        patient_id = _patient_id(request.path_params["patient_id"])
        params = request.query_params
        start = self._date_param("start", params.get("start"))
        end = self._date_param("end", params.get("end"))
        if end is None:
            end = datetime.fromtimestamp(self.clock(), UTC)
        elif self.date_params == "date":  # "Latest date included in the search": all of that day
            end = datetime.combine(end.date(), time.max, UTC)
        if self.latest_end is not None and end > self.latest_end:
            raw = params.get("end", "")
            raise ApiError(
                400, {"Message": INVALID, "ModelState": {"end": [f"The value '{raw}' is not valid for end."]}}
            )
        # With section_param="ignored" the parameter is never bound: the whole CCD, nothing refused.
        raw_section = params.get("section", "").strip() if self.section_param == "honoured" else ""
        unknown = self.unknown_sections == "null" and raw_section.casefold() not in self.section_by_fold
        if self.unknown_sections == "not_found" and raw_section and raw_section.casefold() not in self.section_by_fold:
            # The section's row looked up and not there: Rails' `find_by!` (RecordNotFound), Django's
            # `get_object_or_404`, a Spring `orElseThrow(NOT_FOUND)`: the docs' "cannot be found".
            raise ApiError(404, {"Message": f"The section '{raw_section}' was not found."})
        section = None if unknown else _section(raw_section, self.section_by_fold)
        row = self.chart.rows.get(patient_id)
        if row is None:
            raise ApiError(404, {"Message": "Patient not found"})
        found = self.chart.window(row, start, end)
        if section is not None and self.chart.shapes.empty_sections == "omitted":  # joined to nothing
            found = [encounter for encounter in found if not self.chart.nothing_in(row, encounter, section)]
        if self.chart.shapes.encounter_order == "desc":  # the latest first (and kept, under a limit)
            found = found[::-1]
        none_found = self.chart.shapes.encounters_none_found
        if not found and none_found == "not_found":
            raise ApiError(404, {"Message": "No encounters found."})
        if not found and none_found == "no_content":
            return Response(b"", 204, API_HEADERS)
        limit = self.chart.shapes.encounter_limit
        items = [self.chart.item(row, encounter, section) for encounter in found[:limit]]
        if unknown and raw_section:  # a template lookup finding nothing: no CCD, no error
            items = [orjson.dumps({**orjson.loads(item), self.chart.shapes.key("ccd"): None}) for item in items]
        return self.listed(request, items, len(found), rel="encounterList")

    def _date_param(self, name: str, raw: str | None) -> datetime | None:
        """``start``/``end``; with ``date_params="naive"`` a value with a zone is dropped, as if
        absent (Flask's ``request.args.get(name, type=...)`` swallows the parser's ValueError);
        with ``"zoned"`` a date-time without one is a 400 (RFC 3339's ``date-time``, which
        OpenAPI's ``format: date-time`` names, requires an offset); with ``"date"`` anything but
        a bare date is a 400 (a ``DateOnly`` or ``LocalDate`` parameter: the docs' "Earliest
        date" and "Latest date included")."""
        if raw is not None and raw.strip() and self.date_params == "date" and not _DATE_ONLY.fullmatch(raw.strip()):
            model_state = {name: [f"The value '{raw}' is not valid for {name}."]}
            raise ApiError(400, {"Message": INVALID, "ModelState": model_state})
        if raw is not None and raw.strip() and self.date_params not in ("iso", "date"):
            zoned = _ZONED.search(raw.strip()) is not None
            if self.date_params == "naive" and zoned:
                return None
            if self.date_params == "zoned" and not zoned:
                model_state = {name: [f"The value '{raw}' is not valid for {name}."]}
                raise ApiError(400, {"Message": INVALID, "ModelState": model_state})
        return _instant(name, raw)

    async def categories(self, request: Request) -> Response:
        if self.categories_shape == "map":
            return Response(self.category_map, 200, API_HEADERS, JSON_CONTENT_TYPE)
        return self.listed(
            request, self.category_items, rel="stringList" if self.categories_shape == "names" else "categoryList"
        )

    def listed(self, request: Request, items: list[bytes], count: int | None = None, rel: str = "") -> Response:
        """A list answer in this variant's envelope; paged ones (``"pages"``, ``"header_pages"``,
        ``"numbered"``) answer the page ``?page=`` asks, ASP.NET's the one ``?pageNumber=`` asks,
        Spring's the zero-based ``?page=`` (HAL naming the list `rel`), the offset ones the items
        ``?offset=``/``?skip=`` starts, ABP's those ``?skipCount=`` starts; each item a JSON:API
        resource object with ``jsonapi_resources``."""
        if self.chart.shapes.jsonapi_resources:
            items = [resource_object(item, rel, self.chart.shapes) for item in items]
        if self.envelope in ("offset", "skip_take", "bare_offset", "bare_skip_take"):
            return _offset_page(request, items, self.chart.shapes.page_size, self.envelope)
        if self.envelope == "abp":
            return _abp_page(request, items, self.chart.shapes.page_size)
        if self.envelope in ("odata", "odata_bare"):
            return _odata_page(request, items, self.chart.shapes.page_size, self.envelope, rel)
        if self.envelope in ("bare_pages", "bare_pages_zero"):
            return _bare_page(request, items, self.chart.shapes.page_size, 1 if self.envelope == "bare_pages" else 0)
        if self.envelope in ("spring", "spring_dto", "spring_hal"):
            return _spring_page(request, items, self.chart.shapes.page_size, self.envelope, rel)
        if self.envelope == "header_pages":
            return _header_page(request, items, self.chart.shapes.page_size)
        if self.envelope == "numbered":
            return _numbered_page(request, items, self.chart.shapes.page_size)
        if self.envelope == "aspnet_pages":
            return _aspnet_page(request, items, self.chart.shapes.page_size)
        if self.envelope == "aspnet_header_pages":
            return _aspnet_header_page(request, items, self.chart.shapes.page_size)
        one = len(items) == 1 and rel in ("patientList", "encounterList")
        if self.envelope == "bare" and one and self.chart.shapes.single_as_object:
            return Response(items[0], 200, API_HEADERS, JSON_CONTENT_TYPE)  # one element: no array
        if self.envelope != "pages":
            return _json_array(items, self.envelope, count)
        return _page(request, items, self.chart.shapes.page_size)
