"""sandboxes.toolkit: clock, phones, auth and integers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandboxes.toolkit.auth import bearer_credentials
from sandboxes.toolkit.clock import wall_clock
from sandboxes.toolkit.integers import ascii_int
from sandboxes.toolkit.phones import format_us_phone


def test_wall_clock_is_aware_utc_now() -> None:
    now = wall_clock()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("digits", "shown"),
    [("3125550142", "(312) 555-0142"), ("5550142", "5550142"), ("", ""), (None, None)],
)
def test_format_us_phone(digits: str | None, shown: str | None) -> None:
    assert format_us_phone(digits) == shown


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer", ""),
        ("Basic abc", None),
        ("", None),
        (" Bearer abc", None),
    ],
)
def test_bearer_credentials(header: str, token: str | None) -> None:
    assert bearer_credentials(header) == token


@pytest.mark.parametrize(
    ("text", "number"),
    [("7", 7), ("007", 7), ("0", 0), ("", None), ("-1", None), ("+1", None), (" 1", None), ("1.0", None),
     ("²", None), ("٣", None)],
)  # fmt: skip
def test_ascii_int(text: str, number: int | None) -> None:
    assert ascii_int(text) == number
