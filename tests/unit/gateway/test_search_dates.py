from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from gateway.search.dates import END_OF_TIME, _remembered, parse_fhir_date, period_range, range_matches
from gateway.search.model import DatePrefix, DateValue, ParamType, SearchParam, SearchQuery
from gateway.search.planning import date_bounds


def test_partial_dates_cover_their_whole_period() -> None:
    year = parse_fhir_date("1985")
    assert (year.start, year.end) == (datetime(1985, 1, 1, tzinfo=UTC), datetime(1986, 1, 1, tzinfo=UTC))
    month = parse_fhir_date("1985-12")
    assert (month.start, month.end) == (datetime(1985, 12, 1, tzinfo=UTC), datetime(1986, 1, 1, tzinfo=UTC))
    assert parse_fhir_date("1985-03-15").end == datetime(1985, 3, 16, tzinfo=UTC)


def test_datetime_with_offset_is_normalised_to_utc() -> None:
    moment = parse_fhir_date("2024-03-01T10:30:00-05:00")
    assert moment.start == datetime(2024, 3, 1, 15, 30, tzinfo=UTC)


def test_the_same_text_is_read_in_the_zone_each_caller_gives() -> None:
    # Parsed values are remembered: a local time must still be read in each caller's zone.
    text = "2024-07-01T09:00:00"
    assert parse_fhir_date(text).start == datetime(2024, 7, 1, 9, tzinfo=UTC)
    assert parse_fhir_date(text, ZoneInfo("America/New_York")).start == datetime(2024, 7, 1, 13, tzinfo=UTC)
    assert parse_fhir_date(text, ZoneInfo("Europe/Paris")).start == datetime(2024, 7, 1, 7, tzinfo=UTC)
    assert parse_fhir_date(text).start == datetime(2024, 7, 1, 9, tzinfo=UTC)


def test_a_fraction_beyond_microseconds_is_cut_not_rounded() -> None:
    # FHIR allows any number of fraction digits; the range is the microsecond the instant is in.
    moment = parse_fhir_date("2024-01-01T00:00:00.9999999Z")
    assert moment.start == datetime(2024, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)
    assert parse_fhir_date("2024-01-01T00:00:00.5Z").start.microsecond == 500000


@pytest.mark.parametrize("text", ["9999", "9999-12", "9999-12-31"])
def test_the_last_year_a_fhir_date_may_name_is_read(text: str) -> None:
    # FHIR dates run to 9999; the moment after 9999 is beyond what a datetime holds.
    covered = parse_fhir_date(text, ZoneInfo("America/Chicago"))
    assert covered.start < covered.end == datetime.max.replace(tzinfo=UTC)
    assert covered.end > parse_fhir_date("9999-12-31T12:00:00Z").start


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59Z", "9999-12-31T23:59Z", "9999-12-31T23:59:59+00:00"])
def test_the_calendars_last_instants_are_read(text: str) -> None:
    moment = parse_fhir_date(text)
    assert moment.start < moment.end == datetime.max.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "bounds"), [("le9999-12-31", (None, date.max)), ("9999-12-31", (date.max, date.max))]
)
def test_a_vendor_is_asked_for_the_calendars_last_day_whole(
    value: str, bounds: tuple[date | None, date | None]
) -> None:
    # The range of 9999-12-31 ends inside that day (no datetime holds the moment after it).
    query = SearchQuery("Patient", (SearchParam("birthdate", ParamType.DATE, None, (_date_value(value),), value),))
    assert date_bounds(query, "birthdate") == (*bounds, True)


def _date_value(text: str) -> DateValue:
    prefix = DatePrefix(text[:2]) if text[:2].isalpha() else DatePrefix.EQ
    return DateValue(prefix, parse_fhir_date(text[2:] if text[:2].isalpha() else text))


@pytest.mark.parametrize("zone", ["+23:59", "-14:01", "+05:60", "+1:00", "+0100"])
def test_a_zone_no_fhir_date_may_have_is_refused(zone: str) -> None:
    # R4 datatypes.html#dateTime: a zone is Z or -13:59 to +14:00.
    with pytest.raises(ValueError):
        parse_fhir_date(f"2024-01-01T00:00:00{zone}")


@pytest.mark.parametrize("zone", ["+14:00", "-14:00", "-12:00", "+05:45"])
def test_every_zone_a_fhir_date_may_have_is_read(zone: str) -> None:
    assert parse_fhir_date(f"2024-01-01T00:00:00{zone}").precision == "second"


def test_a_long_valid_date_is_read_and_not_kept() -> None:
    # A fraction may be as long as a request allows: such a text is read, never remembered.
    long_fraction = "2024-01-01T00:00:00." + "1" * 100_000 + "Z"
    before = _remembered.cache_info().currsize
    assert parse_fhir_date(long_fraction).start.microsecond == 111111
    assert _remembered.cache_info().currsize == before


@pytest.mark.parametrize(
    "bad",
    [
        "1985-13",
        "85",
        "1985-02-30",
        "2024-03-01T25:00:00Z",
        "tomorrow",
        "",
        "١٩٨٥",  # Arabic-Indic digits: FHIR dates are ASCII
        "１９８５",  # full-width digits
        "2025-0١-01",
    ],
)
def test_invalid_dates_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_fhir_date(bad)


@pytest.mark.parametrize(
    ("prefix", "search", "target", "expected"),
    [
        ("eq", "1985", "1985-03-15", True),
        ("eq", "1985-03", "1985-04-01", False),
        ("ne", "1985", "1986-01-01", True),
        ("ge", "1985-03-15", "1985-03-15", True),
        ("ge", "1985-03-15", "1985-03-14", False),
        ("gt", "1985-03-15", "1985-03-15", False),
        ("gt", "1985-03-15", "1985-03-16", True),
        ("le", "1985-03-15", "1985-03-15", True),
        ("le", "1985-03-15", "1985-03-16", False),
        ("lt", "1985-03-15", "1985-03-14", True),
        ("lt", "1985-03-15", "1985-03-15", False),
        ("lt", "1985", "1984-12-31", True),
        ("sa", "1985", "1986-01-01", True),
        ("eb", "1985", "1984-12-31", True),
        ("eb", "1985", "1985-01-01", False),
        # A value reaching the search value's own range meets ge/le: a day at its first second,
        # a time at its second (an encounter starting then), a day's last second.
        ("le", "1985-03-15T00:00:00Z", "1985-03-15", True),
        ("le", "1985-03-14T23:59:59Z", "1985-03-15", False),
        ("ge", "1985-03-15T23:59:59Z", "1985-03-15", True),
        ("ge", "1985-03-16T00:00:00Z", "1985-03-15", False),
        ("le", "1985-03", "1985", True),  # 1985 holds days before and in March 1985
        ("ge", "1985-03", "1985", True),
    ],
)
def test_prefix_semantics(prefix: str, search: str, target: str, expected: bool) -> None:
    assert range_matches(DatePrefix(prefix), parse_fhir_date(search), parse_fhir_date(target)) is expected


@pytest.mark.parametrize(
    ("prefix", "search", "expected"),
    [
        ("le", "2023-01-31T16:23:00Z", True),  # the period starts at that second
        ("le", "2023-01-31T16:22:59Z", False),
        ("ge", "2023-01-31T16:53:00Z", True),  # it ends at that second
        ("ge", "2023-01-31T16:53:01Z", False),
        ("eq", "2023-01-31", True),
    ],
)
def test_a_period_touching_the_search_value_meets_ge_and_le(prefix: str, search: str, expected: bool) -> None:
    visit = period_range("2023-01-31T16:23:00Z", "2023-01-31T16:53:00Z")
    assert visit is not None
    assert range_matches(DatePrefix(prefix), parse_fhir_date(search), visit) is expected


def test_date_only_values_are_days_in_the_tenants_zone() -> None:
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    day = parse_fhir_date("2025-01-01", tokyo)
    reading = parse_fhir_date("2025-01-01T08:00:00+09:00")  # 08:00 on Jan 1st in Tokyo
    assert range_matches(DatePrefix.EQ, day, reading)
    assert not range_matches(DatePrefix.EQ, parse_fhir_date("2025-01-01"), reading)  # in UTC it is Dec 31st


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("9999-12-31T23:59:59-12:00", UTC),
        ("9999-12-31T23:59:59.999999-13:59", UTC),
        ("0001-01-01T00:00:00+14:00", UTC),
        ("0001-01-01", ZoneInfo("Asia/Tokyo")),  # its UTC start is before the year 1
        ("0001-01-01T00:00", timezone(timedelta(hours=10))),
    ],
)
def test_instants_at_the_calendars_edges_are_read_at_the_edge(text: str, zone: tzinfo) -> None:
    # Valid FHIR instants whose UTC moment falls outside the years 1-9999 (what a datetime
    # holds): read as the calendar's first or last moment, not refused.
    moment = parse_fhir_date(text, zone)
    edge = END_OF_TIME if text.startswith("9999") else datetime.min.replace(tzinfo=UTC)
    assert moment.start == edge and moment.start <= moment.end
    later = parse_fhir_date("2024-01-01T00:00:00Z")
    assert range_matches(DatePrefix.GT, later, moment) is text.startswith("9999")


def test_a_leap_second_is_read_as_the_last_moment_of_its_minute() -> None:
    # R4 datatypes.html#dateTime: "Leap Seconds are allowed" (`60`); no datetime holds one.
    leap = parse_fhir_date("2016-12-31T23:59:60Z")
    assert leap.start == datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC) and leap.start < leap.end
    before, after = parse_fhir_date("2016-12-31T23:59:59Z"), parse_fhir_date("2017-01-01T00:00:00Z")
    assert range_matches(DatePrefix.GE, before, leap) and range_matches(DatePrefix.LT, after, leap)
    assert parse_fhir_date("2016-12-31T23:59:60.5+00:00").start == leap.start


@pytest.mark.parametrize(
    ("value", "bounds"),
    [
        ("1985-03-04", (date(1985, 3, 4), date(1985, 3, 4))),
        ("le1985-03-04", (None, date(1985, 3, 4))),
        ("ge1985-03-04", (date(1985, 3, 4), None)),
        ("gt1985-03-04", (date(1985, 3, 5), None)),
    ],
)
def test_a_tenant_east_of_utc_pushes_the_day_asked_for(value: str, bounds: tuple[date | None, date | None]) -> None:
    # A birthDate is a calendar day: the gateway reads both the search value and the record's
    # birthDate in the tenant's zone (match.py), so 1985-03-04 matches 1985-03-04. The vendor
    # must be asked for that same day, not the UTC day its zone's midnight falls in.
    zone = "Australia/Sydney"
    prefix = DatePrefix(value[:2]) if value[:2].isalpha() else DatePrefix.EQ
    text = value[2:] if value[:2].isalpha() else value
    parsed = DateValue(prefix, parse_fhir_date(text, ZoneInfo(zone)))
    query = SearchQuery("Patient", (SearchParam("birthdate", ParamType.DATE, None, (parsed,), value),), (), zone)
    assert date_bounds(query, "birthdate") == (*bounds, True)
