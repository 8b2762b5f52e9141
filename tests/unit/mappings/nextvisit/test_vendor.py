"""Nextvisit's answers read under each shape the docs leave open: page envelopes, times, and
the login and error bodies the client reads."""

from __future__ import annotations

from typing import Any

import pytest

from mappings.nextvisit.client import _message, _token
from mappings.nextvisit.vendor import iso_timestamp, read_list

ROWS = [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    ("body", "page", "more", "total"),
    [
        # Laravel's resource collection (documented).
        ({"data": ROWS, "links": {"next": None}, "meta": {"current_page": 1, "last_page": 2, "total": 3}}, 1, True, 3),
        ({"data": ROWS, "links": {"next": "u"}, "meta": {"current_page": 2, "last_page": 2, "total": 3}}, 2, False, 3),
        # Numbers as strings.
        ({"data": ROWS, "meta": {"current_page": "1", "last_page": "3", "total": "5"}}, 1, True, 5),
        # The bare paginator: its fields at the top level, `links` a list.
        ({"data": ROWS, "current_page": 1, "last_page": 1, "total": 2, "links": [{"url": None}]}, 1, False, 2),
        # A simple paginator: only the next link says there is more.
        ({"data": ROWS, "links": {"next": "u", "last": None}, "meta": {"current_page": 1}}, 1, True, None),
        ({"data": ROWS, "links": {"next": None}, "meta": {"current_page": 4}}, 4, False, None),
        ({"data": ROWS, "next_page_url": None, "current_page": 4}, 4, False, None),
        # No paging data at all: ask until a page comes back empty.
        ({"data": ROWS}, 1, True, None),
        # Records as an object (PHP's array with keys that are not 0..n-1).
        ({"data": {"0": ROWS[0], "3": ROWS[1]}, "meta": {"current_page": 1, "last_page": 1, "total": 2}}, 1, False, 2),
        # A page past the end is the end, whatever the numbers say.
        ({"data": [], "meta": {"current_page": 9, "last_page": 12}}, 9, False, None),
    ],
)
def test_whether_a_page_follows(body: dict[str, Any], page: int, more: bool, total: int | None) -> None:
    listed = read_list(body)
    assert listed.data == (ROWS if body["data"] else [])
    assert listed.has_more(page) is more
    assert listed.total_count == total


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("2024-01-05T10:00:00Z", "2024-01-05T10:00:00Z"),
        ("2024-01-05T10:00:00.000000Z", "2024-01-05T10:00:00Z"),
        ("2024-01-05 10:00:00", "2024-01-05T10:00:00"),
        ("2024-01-05T04:00:00-06:00", "2024-01-05T04:00:00-06:00"),
        ("01/05/2024", "2024-01-05"),
        ("1/5/2024 9:30", "2024-01-05T09:30:00"),
        (1704448800, "2024-01-05T10:00:00Z"),
        ("", None),
    ],
)
def test_time_spellings(value: Any, read: str | None) -> None:
    assert iso_timestamp(value) == read


@pytest.mark.parametrize("value", ["2024-02-30", "13/01/2024", "yesterday", True, ["2024-01-05"]])
def test_what_is_no_time(value: Any) -> None:
    with pytest.raises(ValueError, match="not a date"):
        iso_timestamp(value)


def test_login_token_spellings() -> None:
    assert _token({"status": "success", "token": "1|abc"}) == "1|abc"
    assert _token({"data": {"token": "2|abc", "user": {}}}) == "2|abc"
    assert _token({"plainTextToken": "3|abc"}) == "3|abc"
    assert _token({"status": "success"}) is None and _token(None) is None


def test_error_messages_from_every_body() -> None:
    laravel = {"message": "The first name field is required.", "errors": {"first_name": ["is required"]}}
    assert _message(laravel) == "first_name: is required"
    assert _message({"error": "Too many requests"}) == "Too many requests"
    assert _message({"error": {"message": "Bad filter"}}) == "Bad filter"
    assert _message({"message": "No query results for model [App\\Models\\Patient] 7"}) == ""
    assert _message(None) == "" and _message("plain text") == ""
