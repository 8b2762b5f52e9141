"""The two list envelopes of the Dental PMS.

- Page lists: ``{"items": [...], "page", "page_size", "total"}``; ``total`` counts every
  match, a page past the end is empty (``past_end="empty"``, the documented simulator's), or,
  with ``past_end="not_found"``, 404 ``Page not found`` (the docs do not say which); with
  ``past_end="not_found_from_first"`` page 1 of an empty list is past the end too (a service
  that answers ``if not rows: 404``).
- Empty lists: a page or cursor page with no records is that envelope, empty
  (``empty_lists="page"``, the documented simulator's), or, with ``empty_lists="no_content"``,
  ``204 No Content`` with no body, as a Spring controller's ``if (list.isEmpty()) return
  ResponseEntity.noContent().build();`` or ASP.NET's ``NoContent()`` answers (the reference
  documents only the envelope, and no status code for any list); or, with
  ``empty_lists="not_found"``, 404 ``No records found``, as a Spring or ASP.NET controller's
  ``if (list.isEmpty()) return ResponseEntity.notFound().build();`` / ``NotFound()`` answers
  a filter that matches nothing (under Spring's or ASP.NET's error bodies, the same 404 as
  for a path the service does not have).
- The cursor list: ``{"data": [...], "page_info": {"end_cursor", "has_next_page"}}``.

Items arrive already encoded (rows keep their encoded document), so the envelope is
joined around them; the bytes are what ``orjson`` would write for the whole object.
"""

from __future__ import annotations

from typing import Literal

import orjson
from starlette.responses import Response

from sandboxes.dentalpms.responses import raw_json
from sandboxes.toolkit.errors import ApiError

__all__ = ["EmptyLists", "PastEnd", "check_past_end", "cursor_body", "list_answer", "page_body"]

PastEnd = Literal["empty", "not_found", "not_found_from_first"]
EmptyLists = Literal["page", "no_content", "not_found"]


def check_past_end(past_end: PastEnd, page: int, page_size: int, total: int) -> None:
    """404 for a page after the last one when `past_end` says so (page 1 only when the list is
    empty and `past_end` is ``not_found_from_first``)."""
    if past_end == "empty" or (page == 1 and past_end == "not_found"):
        return
    if (page - 1) * page_size >= total:
        raise ApiError(404, "Page not found")


def page_body(items: list[bytes], page: int, page_size: int, total: int) -> bytes:
    """A page list body around the encoded `items`."""
    tail = orjson.dumps({"page": page, "page_size": page_size, "total": total})
    return b'{"items":[' + b",".join(items) + b"]," + tail[1:]


def cursor_body(items: list[bytes], end_cursor: str | None, has_next_page: bool) -> bytes:
    """A cursor list body around the encoded `items`."""
    info = orjson.dumps({"end_cursor": end_cursor, "has_next_page": has_next_page})
    return b'{"data":[' + b",".join(items) + b'],"page_info":' + info + b"}"


def list_answer(body: bytes, records: int, empty_lists: EmptyLists) -> Response:
    """The list `body` holding `records` records: 204 with no body when it holds none and
    `empty_lists` is ``"no_content"``, 404 when it is ``"not_found"``."""
    if records == 0 and empty_lists == "no_content":
        return Response(status_code=204)
    if records == 0 and empty_lists == "not_found":
        raise ApiError(404, "No records found")
    return raw_json(body)
