"""Laravel's ``LengthAwarePaginator`` with ``withQueryString()``: ``data``, ``links``, ``meta``.

Links are absolute, from the request's scheme, host and path; every other query parameter
is kept in them (re-encoded by ``http_build_query`` with RFC 3986 escaping; empty ones
dropped) and ``page`` goes last. An invalid or missing ``page`` means page 1; a page past
the end is empty (``from``/``to`` null, ``prev`` still set). ``meta.links`` is Laravel's
window: 3 pages on each side of the current one, ``&laquo; Previous``/``Next &raquo;``
labels and ``...`` separators. Under the ``first_page=0`` reading pages count from 0.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request

from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.php_query import php_build
from sandboxes.nextvisit.readings import Paging
from sandboxes.nextvisit.validation import INTEGER
from sandboxes.toolkit.aliases import JsonObject

__all__ = ["json_api_page", "page_number", "paginate", "past_the_end"]

_ON_EACH_SIDE = 3  # Laravel's paginator link window


def page_number(value: Any, first: int = 1) -> int:
    """Laravel's ``Paginator::resolveCurrentPage``: a valid integer >= `first` (the first page's
    number: 1, or 0 under ``first_page=0``), else `first`."""
    if isinstance(value, str) and INTEGER.fullmatch(value) and int(value) >= first:
        return int(value)
    return first


def json_api_page(value: Any, per_page: int, first: int = 1) -> tuple[int, int]:
    """The page number and size JSON:API's ``page[number]``/``page[size]`` ask for (``paging=
    "json_api"``; PHP reads them as ``page`` = ``{"number": ..., "size": ...}``); ``page`` given
    alone (no object) is not read: the first page, `per_page` a page."""
    if not isinstance(value, dict):
        return first, per_page
    size = value.get("size")
    sized = int(size) if isinstance(size, str) and INTEGER.fullmatch(size) and int(size) >= 1 else per_page
    return page_number(value.get("number"), first), sized


def past_the_end(total: int, page: int, per_page: int, first: int = 1) -> bool:
    """Whether page `page` (numbered from `first`) lies past the last page of `total` items;
    the first page never does (Django's ``Paginator`` with ``allow_empty_first_page``)."""
    return page - first + 1 > max(math.ceil(total / per_page), 1)


def _request_path(request: Request) -> str:
    return str(request.url.replace(query="", fragment="")).rstrip("/")


def paginate(
    request: Request,
    items: list[bytes],
    total: int,
    page: int,
    per_page: int,
    query: JsonObject,
    shape: Paging = "resource",
    first: int = 1,
) -> bytes:
    """The body of a paginated resource collection (``data``, ``links``, ``meta``), or of the
    bare paginator or the simple one (``shape``, see ``readings``); pages are numbered from
    `first` (``first_page``), ``from``/``to`` count items from 1 whatever it is."""
    path = _request_path(request)
    pages_count = max(math.ceil(total / per_page), 1)
    last_page = pages_count - 1 + first  # the last page's number
    ordinal = page - first + 1  # 1 for the first page, whatever its number
    kept = {key: value for key, value in query.items() if key != "page"}
    asked = query.get("page")

    def url(number: int) -> str:
        if shape == "json_api":  # `page[number]`, beside the `page[size]` asked for
            sized = {"size": asked["size"]} if isinstance(asked, dict) and "size" in asked else {}
            return path + "?" + "&".join(php_build({**kept, "page": {**sized, "number": number}}))
        return path + "?" + "&".join(php_build({**kept, "page": number}))

    count = len(items)
    first_item = (ordinal - 1) * per_page + 1 if count else None
    last_item = first_item + count - 1 if first_item is not None else None
    prev_url = url(page - 1) if page > first else None
    next_url = url(page + 1) if page < last_page else None

    def pages(lo: int, hi: int) -> list[JsonObject]:
        """Window entries for the pages of ordinals `lo`..`hi`, as numbered."""
        numbers = range(lo - 1 + first, hi + first)
        return [{"url": url(number), "label": str(number), "active": number == page} for number in numbers]

    gap: JsonObject = {"url": None, "label": "...", "active": False}
    window = _ON_EACH_SIDE + 4
    elements: list[JsonObject]
    if pages_count < _ON_EACH_SIDE * 2 + 8:
        elements = pages(1, pages_count)
    elif ordinal <= window:
        elements = [*pages(1, window + _ON_EACH_SIDE), gap, *pages(pages_count - 1, pages_count)]
    elif ordinal > pages_count - window:
        elements = [*pages(1, 2), gap, *pages(pages_count - (window + _ON_EACH_SIDE - 1), pages_count)]
    else:
        elements = [*pages(1, 2), gap, *pages(ordinal - _ON_EACH_SIDE, ordinal + _ON_EACH_SIDE), gap,
                    *pages(pages_count - 1, pages_count)]  # fmt: skip
    window_links = [
        {"url": prev_url, "label": "&laquo; Previous", "active": False},
        *elements,
        {"url": next_url, "label": "Next &raquo;", "active": False},
    ]
    tail = {
        "links": {"first": url(first), "last": url(last_page), "prev": prev_url, "next": next_url},
        "meta": {
            "current_page": page,
            "from": first_item,
            "last_page": last_page,
            "links": window_links,
            "path": path,
            "per_page": per_page,
            "to": last_item,
            "total": total,
        },
    }
    data = b'"data":[' + b",".join(items) + b"]"
    if shape == "paginator":
        # `LengthAwarePaginator::toArray()`, returned as is (no API resource collection).
        bare = {"current_page": page, "first_page_url": url(first), "from": first_item, "last_page": last_page,
                "last_page_url": url(last_page), "links": window_links, "next_page_url": next_url,
                "path": path, "per_page": per_page, "prev_page_url": prev_url, "to": last_item,
                "total": total}  # fmt: skip
        head = php_json({"current_page": page})
        return head[:-1] + b"," + data + b"," + php_json({k: v for k, v in bare.items() if k != "current_page"})[1:]
    if shape == "spring":
        # Spring Data's `Page` in the docs' envelope (`readings.Paging`): no links at all.
        numbers = {"page": page, "size": per_page, "total_elements": total, "total_pages": pages_count}
        return b"{" + data + b"," + php_json({"links": {}, "meta": numbers})[1:]
    if shape == "simple":
        # `simplePaginate()` behind a resource collection: no `last_page`, no `total`.
        links = {"first": url(first), "last": None, "prev": prev_url, "next": next_url}
        simple = {"current_page": page, "from": first_item, "path": path, "per_page": per_page, "to": last_item}
        return b"{" + data + b"," + php_json({"links": links, "meta": simple})[1:]
    return b"{" + data + b"," + php_json(tail)[1:]
