"""The mapping helpers every vendor's mappers share (mappings/fhirjson.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from mappings.fhirjson import compact, fhir_date, unversioned


def test_compact_drops_every_empty_element_an_empty_string_included() -> None:
    # R4 json.html#primitive: a string has a character at least; a vendor may write "" for a
    # text never set (Go's zero string), which would otherwise reach the client as an element.
    kept = {"city": "Austin", "active": False, "count": 0, "line": ["1 Main St"]}
    assert compact({**kept, "district": "", "state": None, "period": {}, "postalCode": [], "text": ""}) == kept


# ---- fhir_date: a date column written as a date-time (mappings/fhirjson.py `midnight_day`)

_BORN = date(1980, 5, 1)
# Every whole-hour offset in use, -12:00 to +14:00, and the half- and quarter-hour ones.
_OFFSETS = [timedelta(hours=h) for h in range(-12, 15)] + [
    timedelta(hours=-9, minutes=-30),
    timedelta(hours=-3, minutes=-30),
    timedelta(hours=5, minutes=30),
    timedelta(hours=5, minutes=45),
    timedelta(hours=12, minutes=45),
]


def _written(moment: datetime, offset: timedelta) -> str:
    return moment.astimezone(timezone(offset)).isoformat()


@pytest.mark.parametrize("offset", _OFFSETS, ids=str)
def test_a_utc_midnight_written_at_any_offset_is_its_utc_day(offset: timedelta) -> None:
    # .NET, Rails, Jackson serving a date kept as a UTC midnight at the server's offset:
    # 1980-05-01T19:00:00-05:00 is 1980-05-02's midnight.
    assert fhir_date(_written(datetime.combine(_BORN, time(0), UTC), offset)) == "1980-05-01"


@pytest.mark.parametrize("offset", _OFFSETS, ids=str)
def test_a_midnight_written_in_its_own_zone_is_the_day_as_written(offset: timedelta) -> None:
    assert fhir_date(datetime.combine(_BORN, time(0), timezone(offset)).isoformat()) == "1980-05-01"


@pytest.mark.parametrize("offset", [o for o in _OFFSETS if timedelta(hours=-12) < o <= timedelta(hours=12)], ids=str)
def test_a_servers_midnight_written_in_utc_is_the_servers_day(offset: timedelta) -> None:
    # Carbon's toJSON() of a `date` cast, a JavaScript Date made with `new Date(y, m, d)`:
    # a +02:00 server's midnight is 1980-04-30T22:00:00.000000Z.
    local_midnight = datetime.combine(_BORN, time(0), timezone(offset))
    assert fhir_date(local_midnight.astimezone(UTC).isoformat().replace("+00:00", "Z")) == "1980-05-01"
    assert fhir_date(local_midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == "1980-05-01"


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("1980-05-01", "1980-05-01"),
        ("1980-05-01T00:00:00Z", "1980-05-01"),
        ("1980-05-01T00:00:00.000Z", "1980-05-01"),
        ("1980-05-01T00:00:00.0000000Z", "1980-05-01"),  # .NET's seven digits
        ("1980-05-01T00:00:00+14:00", "1980-05-01"),
        ("1980-05-01T00:00:00-12:00", "1980-05-01"),
        ("1980-05-01T00:00:00", "1980-05-01"),
        ("1980-05-01 00:00:00", "1980-05-01"),
        ("1980-04-30T22:00:00Z", "1980-05-01"),  # the brief's +02:00 midnight in UTC
        ("1980-04-30T22:00:00.0000000Z", "1980-05-01"),
        ("1980-04-30T22:00:00.000000z", "1980-05-01"),
        ("1980-04-30T19:00:00-05:00", "1980-05-01"),  # a UTC midnight at -05:00
        ("1980-04-30T19:00:00.0000000-05:00", "1980-05-01"),
        ("1980-05-01T10:00:00+10:00", "1980-05-01"),  # a UTC midnight at +10:00
        ("1980-05-01T05:00:00Z", "1980-05-01"),  # a -05:00 midnight in UTC
        ("1980-04-30 22:00:00", "1980-05-01"),  # no offset: UTC, as timestamps are read
        ("1980-04-30T19:00:00", "1980-05-01"),
        ("1980-05-01T12:00:00Z", "1980-05-02"),  # a +12:00 midnight (New Zealand's standard time)
        ("1980-05-01T11:59:59Z", "1980-05-01"),
        # A real time of the day (a birth time kept with the date) is that day, as written:
        ("1980-05-03T15:30:00-05:00", "1980-05-03"),  # 20:30Z: not a UTC midnight at -05:00
        ("1980-05-03T23:00:00-05:00", "1980-05-03"),  # 04:00Z the next day, nearer its midnight
        ("1980-05-03T06:00:00+09:00", "1980-05-03"),  # 21:00Z the day before
        ("1980-05-03T14:37:00Z", "1980-05-03"),  # off the quarter hours: no zone's midnight
        ("1980-05-03T18:00:01", "1980-05-03"),
        ("1980-05-03T18:00:00.250Z", "1980-05-03"),
        ("1980-05-03T18:30:00Z", "1980-05-04"),  # a +05:30 midnight (India)
        ("1980-05-03T18:15:00Z", "1980-05-04"),  # a +05:45 midnight (Nepal)
        ("1980-05-01Tgarbage", "1980-05-01"),  # unreadable as a date-time: the day it starts with
        ("0001-01-01", None),  # a zero date (Go, .NET): none recorded
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00.0000000", None),
        ("05/01/1980", None),
        ("", None),
        (None, None),
        ("1980-02-30", None),
    ],
)
def test_fhir_date_reads_the_day_a_date_written_as_a_date_time_holds(written: str | None, day: str | None) -> None:
    assert fhir_date(written) == day


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            {"resourceType": "Patient", "meta": {"versionId": "ab12", "profile": ["p"]}},
            {"resourceType": "Patient", "meta": {"profile": ["p"]}},
        ),
        ({"resourceType": "Patient", "meta": {"versionId": "ab12"}}, {"resourceType": "Patient"}),  # no empty meta
        ({"resourceType": "Patient"}, {"resourceType": "Patient"}),
    ],
)
def test_a_resource_made_from_what_was_sent_carries_no_version(
    resource: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert unversioned(resource) == expected
