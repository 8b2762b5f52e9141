"""Laravel's ``cursorPaginate()`` behind a resource collection (the ``paging="cursor"`` reading),
and keyset paging as a team on another stack writes it (``paging="keyset"``, ``keyset_paginate``).

A cursor is ``Cursor::encode()``: the values of the row it points from in every order column
(the sorted field, then ``id``, the tie-breaker) plus ``_pointsToNextItems``, as JSON in
base64 with ``+``/``/`` written ``-``/``_`` and no ``=`` padding. The page after a next-cursor
holds the rows that sort after those values (``WHERE (col > v) OR (col = v AND id > i)``); the
page before a previous-cursor the last rows that sort before them. ``page`` is not read; a
cursor that does not decode, or lacks a value it needs, means the first page
(``Cursor::fromEncoded`` gives null). ``links.first``/``links.last`` are null, ``prev``/``next``
are URLs with every other query parameter kept (``withQueryString()``) and ``cursor`` last;
``meta`` is ``{path, per_page, next_cursor, prev_cursor}``. A next cursor is given while rows
follow (always after a previous-cursor page), a previous one on every page but the first.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request

from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.php_query import php_build
from sandboxes.nextvisit.rows import PatientRow
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.folding import fold

__all__ = ["cursor_paginate", "keyset_paginate"]

_POINTS_NEXT = "_pointsToNextItems"


def _encode(values: JsonObject, forward: bool) -> str:
    raw = base64.b64encode(php_json({**values, _POINTS_NEXT: forward})).decode()
    return raw.replace("+", "-").replace("/", "_").replace("=", "")


def _decode(value: Any) -> tuple[JsonObject, bool] | None:
    """A cursor's column values and direction; None for anything ``fromEncoded`` cannot read."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("-", "+").replace("_", "/")
    try:
        decoded = orjson.loads(base64.b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get(_POINTS_NEXT), bool):
        return None
    forward = decoded.pop(_POINTS_NEXT)
    return decoded, forward


def _primary(column: str, value: Any) -> Any:
    """How the store orders a column's values (``Store.ordered``): names folded, a null birth
    date before every other."""
    if column in ("first_name", "last_name"):
        return fold(value or "")
    if column == "date_of_birth":
        return (value is not None, value or "")
    return value


def _side(column: str, desc: bool, values: JsonObject) -> Callable[[PatientRow], int] | None:
    """Where a row sorts against the cursor's values in `column` order, ties by ascending id:
    1 after, -1 before, 0 the row the cursor points from; None when the cursor lacks a value
    the order needs."""
    cursor_id = values.get("id")
    if not isinstance(cursor_id, int) or isinstance(cursor_id, bool) or (column != "id" and column not in values):
        return None
    cursor_key = _primary(column, values.get(column))

    def side(row: PatientRow) -> int:
        if column != "id":
            key = _primary(column, row.doc[column])
            if key != cursor_key:
                return (1 if key < cursor_key else -1) if desc else (1 if key > cursor_key else -1)
        if row.id == cursor_id:
            return 0
        later = row.id > cursor_id
        return (-1 if later else 1) if desc and column == "id" else (1 if later else -1)

    return side


def _values(row: PatientRow, column: str) -> JsonObject:
    return {"id": row.id} if column == "id" else {column: row.doc[column], "id": row.id}


def cursor_paginate(
    request: Request,
    rows: list[PatientRow],
    render: Callable[[PatientRow], bytes],
    sort: str,
    per_page: int,
    query: JsonObject,
) -> bytes:
    """The body of the page of `rows` (in `sort` order) that `query`'s ``cursor`` asks for."""
    column, desc = sort.lstrip("-"), sort.startswith("-")
    decoded = _decode(query.get("cursor"))
    side = _side(column, desc, decoded[0]) if decoded else None
    forward = decoded is None or side is None or decoded[1]
    if side is None:  # no usable cursor: the first page
        page, more = rows[:per_page], len(rows) > per_page
    elif forward:
        following = [row for row in rows if side(row) > 0]
        page, more = following[:per_page], len(following) > per_page
    else:
        before = [row for row in rows if side(row) < 0]
        page, more = before[-per_page:], len(before) > per_page
    next_cursor = _encode(_values(page[-1], column), True) if page and (more or not forward) else None
    prev_cursor = _encode(_values(page[0], column), False) if page and side is not None and (forward or more) else None
    path = str(request.url.replace(query="", fragment="")).rstrip("/")
    kept = {key: value for key, value in query.items() if key != "cursor"}

    def url(value: str | None) -> str | None:
        return None if value is None else path + "?" + "&".join(php_build({**kept, "cursor": value}))

    links = {"first": None, "last": None, "prev": url(prev_cursor), "next": url(next_cursor)}
    meta = {"path": path, "per_page": per_page, "next_cursor": next_cursor, "prev_cursor": prev_cursor}
    data = b'"data":[' + b",".join(render(row) for row in page) + b"]"
    return b"{" + data + b"," + php_json({"links": links, "meta": meta})[1:]


def keyset_paginate(
    request: Request,
    rows: list[PatientRow],
    render: Callable[[PatientRow], bytes],
    per_page: int,
    query: JsonObject,
) -> bytes:
    """The page of `rows` (in the list's order) after the row whose id `query`'s ``after`` names,
    the way an Express or Stripe-style API pages (``?after=<the last id of the page before>``):
    ``page`` is not read, and neither is any other position; an ``after`` that names no listed
    row means the first page. ``links`` is ``{next}`` only (a URL with every other query parameter
    kept and ``after`` last; null on the last page), ``meta`` is ``{per_page, has_more}``: no
    total, no page numbers, no cursor."""
    after = query.get("after")
    ids = [str(row.id) for row in rows]
    start = ids.index(after) + 1 if isinstance(after, str) and after in ids else 0
    page = rows[start : start + per_page]
    more = start + per_page < len(rows)
    path = str(request.url.replace(query="", fragment="")).rstrip("/")
    kept = {key: value for key, value in query.items() if key != "after"}
    following = path + "?" + "&".join(php_build({**kept, "after": str(page[-1].id)})) if more and page else None
    data = b'"data":[' + b",".join(render(row) for row in page) + b"]"
    return (
        b"{"
        + data
        + b","
        + php_json({"links": {"next": following}, "meta": {"per_page": per_page, "has_more": more}})[1:]
    )
