"""Nextvisit's answers read under each shape the docs leave open: page envelopes, times,
stand-ins for no date, meta and demographics shapes, and the login and error bodies the
client reads."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.contract import TenantContext
from gateway.tenant_config import option_problems
from mappings.nextvisit import VENDOR as NEXTVISIT
from mappings.nextvisit.client import _message, _token
from mappings.nextvisit.encounter import encounters_to_fhir
from mappings.nextvisit.options import NextvisitOptions, with_vendor_timezone
from mappings.nextvisit.pages import read_list
from mappings.nextvisit.patient import patient_to_fhir
from mappings.nextvisit.vendor import (
    UnreadablePayload,
    VendorEncounter,
    iso_timestamp,
    items_of,
    read_patient,
    zoned_instant,
)

ROWS = [{"id": 1}, {"id": 2}]
PATIENT: dict[str, Any] = {"id": 7, "first_name": "Jane", "last_name": "Doe", "date_of_birth": "1985-03-15"}


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
        ({"data": ROWS, "links": [], "meta": []}, 1, True, None),  # PHP's empty arrays
        # Records as an object (PHP's array with keys that are not 0..n-1).
        ({"data": {"0": ROWS[0], "3": ROWS[1]}, "meta": {"current_page": 1, "last_page": 1, "total": 2}}, 1, False, 2),
        # A page past the end is the end, whatever the numbers say.
        ({"data": [], "meta": {"current_page": 9, "last_page": 12}}, 9, False, None),
        # Spring Data's `Page` numbers (Jackson's SNAKE_CASE), pages counted from 0, `links` `{}`:
        # a full page before the last; the last (short); the one before the count, full, in a
        # list counting from 1 (5 patients: a third page follows); the last of a list counting from 1.
        (
            {"data": ROWS, "links": {}, "meta": {"page": 0, "size": 2, "total_elements": 5, "total_pages": 3}},
            1,
            True,
            5,
        ),
        (
            {"data": ROWS, "links": {}, "meta": {"page": 2, "size": 3, "total_elements": 8, "total_pages": 3}},
            1,
            False,
            8,
        ),
        ({"data": ROWS, "meta": {"page": 2, "size": 2, "total_elements": 5, "total_pages": 3}}, 1, True, 5),
        ({"data": ROWS, "meta": {"page": 3, "size": 2, "total_elements": 6, "total_pages": 3}}, 1, False, 6),
        # nestjs-paginate's camelCase (from 1); JSON:API's `meta.page` object is not a number.
        ({"data": ROWS, "meta": {"currentPage": 1, "totalPages": 2, "totalItems": 3, "itemsPerPage": 2}}, 1, True, 3),
        ({"data": ROWS, "meta": {"page": {"currentPage": 1}, "totalCount": 2}, "links": {"next": None}}, 1, False, 2),
    ],
)
def test_whether_a_page_follows(body: dict[str, Any], page: int, more: bool, total: int | None) -> None:
    listed = read_list(body)
    assert listed.data == (ROWS if body["data"] else [])
    assert listed.has_more(page) is more
    assert listed.total_count == total


_BASE = "https://nv.example/api/v1/patients?include=demographics&per_page=50&sort=id&filter%5Blast_name%5D=Doe"


@pytest.mark.parametrize(
    ("next_link", "position"),
    [
        # Keyset paging (`?after=<last id>`): followed by its own parameter, a `page` sent and
        # echoed beside it is not the position.
        (f"{_BASE}&page=1&after=42", {"after": "42"}),
        (f"{_BASE}&offset=50", {"offset": "50"}),
        # Laravel's paginator (with or without the query string kept): paged by number.
        (f"{_BASE}&page=2", None),
        ("https://nv.example/api/v1/patients?page=2", None),
        # A cursor is read as one.
        (f"{_BASE}&cursor=eyJpZCI6NDJ9", None),
        (None, None),
    ],
)
def test_a_next_link_naming_a_position_of_the_vendors_own_is_followed_by_it(
    next_link: str | None, position: dict[str, str] | None
) -> None:
    listed = read_list({"data": ROWS, "links": {"next": next_link}, "meta": {"per_page": 50, "has_more": True}})
    assert listed.link_position == position
    assert listed.has_more(1) is (next_link is not None)
    assert listed.by_cursor is (position is not None or "cursor=" in (next_link or ""))


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
        (1704448800000, "2024-01-05T10:00:00Z"),  # JavaScript's milliseconds (knex over SQLite)
        (1704448800123, "2024-01-05T10:00:00.123000Z"),
        # HTTP-dates (RFC 9110), as Flask's `jsonify` writes a datetime, and a date at its midnight.
        ("Fri, 05 Jan 2024 10:00:00 GMT", "2024-01-05T10:00:00Z"),
        ("Fri, 15 Mar 1985 00:00:00 GMT", "1985-03-15T00:00:00Z"),
        ("Friday, 05-Jan-24 10:00:00 GMT", "2024-01-05T10:00:00Z"),  # RFC 850
        ("Fri Jan  5 10:00:00 2024", "2024-01-05T10:00:00Z"),  # asctime
        # A zone named after the time: Ruby's `Time#to_s`, Go's `Time.String()`.
        ("2024-01-05 10:00:00 UTC", "2024-01-05T10:00:00Z"),
        ("2024-01-05 04:00:00 -0600 UTC", "2024-01-05T04:00:00-06:00"),
        ("", None),
    ],
)
def test_time_spellings(value: Any, read: str | None) -> None:
    assert iso_timestamp(value) == read


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30",
        "13/01/2024",
        "yesterday",
        True,
        ["2024-01-05"],
        10**20,
        "Fri, 30 Feb 2024 10:00:00 GMT",
        "Fri, soon",
    ],
)
def test_what_is_no_time(value: Any) -> None:
    with pytest.raises(ValueError, match="not a date"):
        iso_timestamp(value)


def test_login_token_spellings() -> None:
    assert _token({"status": "success", "token": "1|abc"}) == "1|abc"
    assert _token({"data": {"token": "2|abc", "user": {}}}) == "2|abc"
    assert _token({"plainTextToken": "3|abc"}) == "3|abc"
    assert _token({"plain_text_token": "4|abc", "token_type": "Bearer"}) == "4|abc"
    assert _token({"token": {"accessToken": {"id": 5}, "plainTextToken": "5|abc"}}) == "5|abc"  # NewAccessToken
    assert _token({"data": {"token": {"plainTextToken": "6|abc"}}}) == "6|abc"
    assert _token("7|abc") == "7|abc"  # `response()->json($token)`
    assert _token({"status": "success"}) is None and _token(None) is None and _token("an error page") is None


def test_error_messages_from_every_body() -> None:
    laravel = {"message": "The first name field is required.", "errors": {"first_name": ["is required"]}}
    assert _message(laravel) == "first_name: is required"
    assert _message({"error": "Too many requests"}) == "Too many requests"
    assert _message({"error": {"message": "Bad filter"}}) == "Bad filter"
    assert _message({"message": "No query results for model [App\\Models\\Patient] 7"}) == ""
    assert _message(None) == "" and _message("plain text") == ""


@pytest.mark.parametrize(
    "value", ["0000-00-00", "0000-00-00 00:00:00", "-0001-11-30T00:00:00.000000Z", "0001-01-01T00:00:00Z", "0001-01-01"]
)
def test_a_stand_in_for_no_date_is_no_date(value: str) -> None:
    # MySQL's zero date (and Carbon's reading of it); Go's zero time.Time, .NET's MinValue.
    assert iso_timestamp(value) is None
    patient = read_patient({**PATIENT, "date_of_birth": value, "deleted_at": value})
    assert patient.date_of_birth is None and not patient.deleted
    encounter = VendorEncounter.model_validate({"id": 1, "start_time": "2024-01-05T10:00:00Z", "end_time": value})
    assert encounter.end is None


@pytest.mark.parametrize(
    ("value", "deleted"),
    [(None, False), ("", False), ({"Time": "0001-01-01T00:00:00Z", "Valid": False}, False),
     ("2024-01-05T10:00:00Z", True), ({"Time": "2024-01-05T10:00:00Z", "Valid": True}, True)],
)  # fmt: skip
def test_whether_a_patient_is_deleted(value: Any, deleted: bool) -> None:
    assert read_patient({**PATIENT, "deleted_at": value}).deleted is deleted


@pytest.mark.parametrize(
    "value",
    [
        "1985-03-15",
        "1985-03-15T00:00:00.000000Z",  # Laravel's `date` cast, app timezone UTC
        "1985-03-14T23:00:00.000000Z",  # ... Europe/Berlin (Carbon's toJSON() is UTC)
        "1985-03-15T06:00:00.000000Z",  # ... America/Chicago
        "1985-03-15T00:00:00-06:00",  # local midnight with its offset
        "1985-03-14T18:00:00-06:00",  # UTC midnight shown in Chicago
    ],
)
def test_a_birth_date_is_the_day_its_midnight_stands_for(value: str) -> None:
    assert read_patient({**PATIENT, "date_of_birth": value}).date_of_birth == "1985-03-15"


def test_meta_as_json_text_or_anything_else() -> None:
    assert read_patient({**PATIENT, "meta": '{"chart_number": "C1"}'}).meta == {"chart_number": "C1"}
    assert read_patient({**PATIENT, "meta": "not json"}).meta == {}
    assert read_patient({**PATIENT, "meta": [1, 2]}).meta == {}


@pytest.mark.parametrize(
    "demographics",
    [
        {"email": "j@example.org", "phone": "555-0142", "address_line1": "1 Elm St", "city": "Ames",
         "state": "IA", "postal_code": "50010"},
        # A hasMany relation: a list of rows, a later one's values over an earlier one's.
        [{"email": "old@example.org", "phone": None}, {"email": "j@example.org", "phone": "555-0142",
         "address_line_1": "1 Elm St", "city": "Ames", "state": "IA", "zip_code": "50010"}],
        # An address object, and other spellings of each field.
        {"email_address": "j@example.org", "mobile_phone": "555-0142",
         "address": {"line1": "1 Elm St", "city": "Ames", "state": "IA", "zip": "50010"}},
    ],
)  # fmt: skip
def test_demographics_in_every_shape(demographics: Any) -> None:
    patient = patient_to_fhir({**PATIENT, "demographics": demographics}, TenantContext("t", "urn:t"))
    assert patient["telecom"] == [
        {"system": "phone", "value": "555-0142"},
        {"system": "email", "value": "j@example.org"},
    ]
    assert patient["address"] == [{"line": ["1 Elm St"], "city": "Ames", "state": "IA", "postalCode": "50010"}]


def test_a_bare_array_is_a_page_and_a_wrapped_relation_a_list() -> None:
    assert read_list(ROWS).data == ROWS
    items = list(items_of({"data": [{"id": 1}], "links": {}}, "encounters"))
    assert items == [("encounters.data[0]", {"id": 1})]


@pytest.mark.parametrize(
    "body",
    [
        # Laravel's paginator whose links carry a parameter the gateway never sent (a locale, a
        # tenant key the app appends): the list numbers its pages, page 2 is what follows.
        {
            "data": ROWS,
            "links": {"next": "https://nv.example/api/v1/patients?page=2&lang=en"},
            "meta": {"current_page": 1, "last_page": 3, "total": 120},
        },
        {"data": ROWS, "next_page_url": "https://nv.example/api/v1/patients?lang=en&page=2", "current_page": 1},
        # A simple paginator stating no number: its link moves the page on, not a position of its own.
        {"data": ROWS, "links": {"next": "https://nv.example/api/v1/patients?page=2&lang=en"}},
    ],
)
def test_a_numbered_next_link_with_a_parameter_of_the_vendors_is_followed_by_page(body: dict[str, Any]) -> None:
    from mappings.nextvisit.adapter import _following, _paging

    listed = read_list(body)
    assert listed.link_position is None
    assert not listed.by_cursor
    assert _paging(_following(listed, None))["page"] == 2


def test_a_status_or_title_that_is_not_text_leaves_the_record_readable() -> None:
    # An implementation whose medication status is a relation (`{"id": 2, "name": "Active"}`)
    # or a flag, or whose encounter title is an object: the fields read since the merge must not
    # make a drug or a visit that was served before unreadable (left out, a 502 on its read).
    from mappings.nextvisit.encounter import encounters_to_fhir
    from mappings.nextvisit.medication import medications_read

    ctx = TenantContext("t", "urn:t")
    medications = [
        {"name": "Sertraline 50mg", "status": {"id": 2, "name": "Active"}},
        {"name": "Lorazepam 0.5mg", "status": True},
        {"name": "Lisinopril 10mg", "status": "discontinued"},
    ]
    encounters = [
        {"id": 1, "title": {"id": 4, "label": "Follow-up"}, "type": "Follow-up", "start_time": "2025-01-04"},
        {"id": 2, "title": ["Annual"], "start_time": "2025-01-05"},
    ]
    patient = read_patient({**PATIENT, "latest_medications": medications, "encounters": encounters})
    found, unreadable = medications_read(patient, ctx)
    assert unreadable == []
    assert [m["status"] for m in found] == ["unknown", "unknown", "stopped"]
    visits, unreadable = encounters_to_fhir(patient, ctx)
    assert unreadable == []
    assert [v["period"]["start"] for v in visits] == ["2025-01-04", "2025-01-05"]
    assert visits[0]["type"][0]["text"] == "Follow-up"


def test_a_list_counting_its_pages_from_0_is_walked_from_its_first_page() -> None:
    # The docs name no page parameter: Spring Data's `Pageable` counts from 0, so `page=1` would
    # be the second page. The first page is asked for unnumbered, the next by the vendor's link.
    from mappings.nextvisit.adapter import _following, _paging

    assert _paging(None) == {}
    first = read_list(
        {
            "data": ROWS,
            "links": {"next": "https://nv.example/api/v1/patients?per_page=50&page=1"},
            "meta": {"current_page": 0, "last_page": 1, "total": 60},
        }
    )
    assert first.served_page == 0 and first.has_more(0)
    assert _paging(_following(first, None)) == {"page": 1}
    last = read_list({"data": ROWS, "links": {"next": None}, "meta": {"current_page": 1, "last_page": 1}})
    assert _following(last, 1) is None


def test_a_list_whose_meta_names_its_numbers_as_spring_does_is_walked_from_its_first_page() -> None:
    # `{page, size, total_elements, total_pages}` and no links (a Spring team under the docs'
    # envelope): page 0 is the first, so the page after it is page 1, not page 2.
    from mappings.nextvisit.adapter import _following, _paging

    meta = {"page": 0, "size": 2, "total_elements": 5, "total_pages": 3}
    first = read_list({"data": ROWS, "links": {}, "meta": meta})
    assert first.served_page == 0 and not first.unpaged
    assert _paging(_following(first, None)) == {"page": 1}


def test_a_page_whose_data_is_null_lists_nobody() -> None:
    # Go's encoding/json writes an empty (nil) slice as null: a page listing nobody, not a 502.
    listed = read_list({"data": None, "links": {"next": None}, "meta": {"current_page": 1, "last_page": 1}})
    assert listed.data == [] and not listed.has_more(1)


def test_a_next_link_that_does_not_move_on_is_not_followed_round() -> None:
    # A next link naming the page it is on would repeat that page without end: the page after
    # the one stated is asked for instead.
    from mappings.nextvisit.adapter import _following

    listed = read_list(
        {"data": ROWS, "links": {"next": "/v1/patients?page=3"}, "meta": {"current_page": 3, "last_page": 5}}
    )
    assert _following(listed, 3) == 4


def test_a_time_without_an_offset_is_the_wall_clock_of_the_vendor_timezone() -> None:
    # Spring's LocalDateTime, Django with USE_TZ = False: the app zone's clock, no offset. The
    # tenant says which zone (options.vendor_timezone); without it, UTC (Laravel's default).
    raw = {
        **PATIENT,
        "updated_at": "2024-07-01T09:30:00",
        "encounters": [{"id": 3, "start_time": "2024-01-05 05:00:00"}],
    }
    eastern = with_vendor_timezone(TenantContext("t", "urn:t"), NextvisitOptions(vendor_timezone="America/New_York"))
    (encounter,), _ = encounters_to_fhir(read_patient(raw), eastern)
    assert encounter["period"]["start"] == "2024-01-05T10:00:00Z"
    assert patient_to_fhir(raw, eastern)["meta"]["lastUpdated"] == "2024-07-01T13:30:00Z"  # EDT in July
    assert patient_to_fhir(raw, TenantContext("t", "urn:t"))["meta"]["lastUpdated"] == "2024-07-01T09:30:00Z"
    # A time with an offset is that instant whatever the zone.
    assert zoned_instant("2024-01-05T05:00:00+01:00", ZoneInfo("America/New_York")) == "2024-01-05T04:00:00Z"


def test_a_vendor_timezone_that_is_no_zone_is_a_configuration_error() -> None:
    problems = option_problems(NEXTVISIT, {"vendor_timezone": "Eastern"})
    assert problems == [
        "options.vendor_timezone: unknown time zone 'Eastern' (use an IANA name such as America/New_York)"
    ]
    assert option_problems(NEXTVISIT, {"vendor_timezone": "Asia/Kolkata"}) == []


@pytest.mark.parametrize(
    ("visit", "start", "end"),
    [
        # A visit kept as DATE and TIME columns (Django REST Framework's DateField and TimeFields).
        ({"date": "2024-01-05", "start_time": "10:00:00", "end_time": "10:30:00"},
         "2024-01-05T10:00:00", "2024-01-05T10:30:00"),
        ({"visit_date": "01/05/2024", "start_time": "9:05", "end_time": None}, "2024-01-05T09:05:00", None),
        # Past midnight: the end is on the day after.
        ({"date": "2024-01-05", "start_time": "23:40:00.000", "end_time": "00:10:00"},
         "2024-01-05T23:40:00", "2024-01-06T00:10:00"),
        # Rails' `time` columns: a time on its dummy day, 2000-01-01, beside the visit's date.
        ({"date": "2024-01-05", "start_time": "2000-01-01T10:00:00.000Z", "end_time": "2000-01-01T10:30:00.000Z"},
         "2024-01-05T10:00:00Z", "2024-01-05T10:30:00Z"),
        ({"date": "2024-01-05", "start_time": "2000-01-01T23:40:00Z", "end_time": "2000-01-01T00:10:00Z"},
         "2024-01-05T23:40:00Z", "2024-01-06T00:10:00Z"),
        # A start that is a date-time is read as it is; a date beside it changes nothing.
        ({"date": "2024-01-05", "start_time": "2024-01-05T10:00:00Z", "end_time": "11:00"},
         "2024-01-05T10:00:00Z", "2024-01-05T11:00:00"),
    ],
)  # fmt: skip
def test_a_visit_kept_as_a_day_and_times_of_day_is_read_on_its_day(
    visit: dict[str, Any], start: str, end: str | None
) -> None:
    encounter = VendorEncounter.model_validate({"id": 1, **visit})
    assert (encounter.start, encounter.end) == (start, end)


def test_a_time_of_day_without_a_day_is_no_time() -> None:
    with pytest.raises(ValueError, match="start_time"):
        VendorEncounter.model_validate({"id": 1, "start_time": "10:00:00"})
    with pytest.raises(ValueError, match="start_time"):
        VendorEncounter.model_validate({"id": 1, "date": "2024-01-05", "start_time": "25:00:00"})


@pytest.mark.parametrize(
    ("clinician", "shown"),
    [
        ({"provider": {"id": 3, "name": "Priya Raman", "credentials": "RDH"}}, "Priya Raman, RDH"),
        # The user who documented the visit, written as PatientFull writes its `user`.
        ({"user_id": 3, "user": {"id": 3, "name": "Priya Raman", "email": "priya@example.com"}}, "Priya Raman"),
        # A provider named by its id alone names nobody: the user does.
        ({"provider": 3, "user": {"id": 3, "name": "Priya Raman"}}, "Priya Raman"),
        ({"clinician": "Priya Raman, RDH"}, "Priya Raman, RDH"),
        ({"user": 3}, None),
    ],
)
def test_an_encounters_clinician_under_each_name(clinician: dict[str, Any], shown: str | None) -> None:
    ctx = TenantContext(tenant="t", identifier_system="urn:t")
    patient = read_patient({**PATIENT, "encounters": [{"id": 1, "start_time": "2024-01-05T10:00:00Z", **clinician}]})
    (visit,), unreadable = encounters_to_fhir(patient, ctx)
    assert unreadable == []
    assert [p["individual"]["display"] for p in visit.get("participant", [])] == ([shown] if shown else [])


def test_a_birth_date_written_as_an_http_date_is_its_day() -> None:
    # Flask's `jsonify` writes a `date` as the HTTP-date of its midnight.
    assert read_patient({**PATIENT, "date_of_birth": "Fri, 15 Mar 1985 00:00:00 GMT"}).date_of_birth == "1985-03-15"


def test_a_page_that_leaves_data_out_lists_nobody_an_answer_that_is_no_page_is_unreadable() -> None:
    # Go's encoding/json leaves out a field tagged `omitempty` whose slice is empty.
    empty = read_list({"links": {"next": None}, "meta": {"current_page": 1, "last_page": 1, "total": 0}})
    assert empty.data == [] and not empty.has_more(1) and empty.total_count == 0
    assert read_list({"current_page": 3, "next_page_url": None}).data == []
    with pytest.raises(UnreadablePayload, match="data is missing"):
        read_list({"message": "Server Error"})


def test_records_the_docs_never_show_are_read_with_their_keys_in_camel_case() -> None:
    # ASP.NET's System.Text.Json web defaults, a TypeScript team's properties: camelCase where no
    # document named the keys; PatientFull's documented fields as the docs name them.
    from mappings.nextvisit.medication import medications_read

    ctx = TenantContext(tenant="t", identifier_system="urn:t")
    provider = {"id": 3, "firstName": "Priya", "lastName": "Raman"}
    visit = {"id": 1, "visitType": "telehealth", "startTime": "2024-01-05T10:00:00Z", "endTime": None,
             "provider": provider, "updatedAt": "2024-01-06T10:00:00Z"}  # fmt: skip
    demographics = {"phoneNumber": "(312) 555-0100", "address": {"line1": "1 Elm St", "zipCode": "60601"}}
    drugs = [{"drugName": "Prednisone", "startedOn": "2024-06-01", "discontinuedAt": "2024-06-13T12:00:00Z"}]
    patient = read_patient(
        {**PATIENT, "encounters": [visit], "demographics": demographics, "latest_medications": drugs}
    )
    (encounter,), unreadable = encounters_to_fhir(patient, ctx)
    assert unreadable == [] and encounter["period"] == {"start": "2024-01-05T10:00:00Z"}
    assert encounter["class"]["code"] == "VR" and encounter["participant"][0]["individual"]["display"] == "Priya Raman"
    resource = patient_to_fhir(patient, ctx)
    assert resource["address"] == [{"line": ["1 Elm St"], "postalCode": "60601"}]
    assert resource["telecom"] == [{"system": "phone", "value": "(312) 555-0100"}]
    (drug,), _ = medications_read(patient, ctx)
    assert (drug["status"], drug["effectivePeriod"]) == (
        "stopped",
        {"start": "2024-06-01", "end": "2024-06-13T12:00:00Z"},
    )
    # A key given in snake_case wins over its camelCase twin.
    both = VendorEncounter.model_validate({"id": 2, "start_time": "2024-01-05T10:00:00Z", "startTime": "nonsense"})
    assert both.start == "2024-01-05T10:00:00Z"


@pytest.mark.parametrize(
    ("visit_type", "shown"),
    [
        ("Periodic oral evaluation", "Periodic oral evaluation"),
        ({"id": 4, "name": "Periodic oral evaluation"}, "Periodic oral evaluation"),
        # A row of a code table: its words, whatever they are called.
        ({"code": "D0120", "description": "Periodic oral evaluation"}, "Periodic oral evaluation"),
        ({"code": "99213", "display": "Office visit"}, "Office visit"),
        ({"code": "X1", "label": "Follow-up"}, "Follow-up"),
        ({"code": "D0120"}, "Visit"),  # a code alone names nothing to show
    ],
)
def test_a_visit_type_under_each_shape(visit_type: Any, shown: str) -> None:
    ctx = TenantContext(tenant="t", identifier_system="urn:t")
    patient = read_patient({**PATIENT, "encounters": [{"id": 1, "type": visit_type}]})
    (visit,), _ = encounters_to_fhir(patient, ctx)
    assert visit["type"] == [{"text": shown}]


def test_a_json_api_page_is_numbered_by_page_number_and_its_meta_page_object() -> None:
    # laravel-json-api's `meta.page` object and Spatie's `jsonPaginate()` links: the page after
    # this one is `page[number]=3`, and the last page's number says the walk's end (no call more).
    link = "https://nextvisit.app/api/v1/patients?per_page=50&page%5Bnumber%5D={n}"
    meta = {"page": {"current-page": 2, "last-page": 3, "per-page": 50, "total": 120}}
    listed = read_list({"data": ROWS, "links": {"next": link.format(n=3), "prev": link.format(n=1)}, "meta": meta})
    assert listed.numbers_by_json_api and not listed.by_cursor
    assert (listed.served_page, listed.last_page_number, listed.next_page_number, listed.total_count) == (2, 3, 3, 120)
    assert listed.has_more(2)
    last = read_list({"data": ROWS, "links": {}, "meta": {"page": {"currentPage": 3, "lastPage": 3}}})
    assert not last.has_more(3)
    laravel = read_list({"data": ROWS, "links": {"next": "https://nextvisit.app/api/v1/patients?page=2"}, "meta": {}})
    assert not laravel.numbers_by_json_api
