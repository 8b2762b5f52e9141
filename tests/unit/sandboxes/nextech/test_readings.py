"""The simulator's readings of what the docs leave open (``sandboxes.nextech.readings``): how
``term`` matches, and how answers are written."""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

import pytest

from sandboxes.nextech.app import CCD_SECTIONS, SECTION_TITLES, create_app
from sandboxes.nextech.readings import CHARTLESS_EVERY
from tests.unit.sandboxes.nextech.harness import (
    CLIENT,
    CLINIC,
    LIVE,
    MS,
    PRACTICE,
    SECRET,
    chart_encounters,
    ids_of,
    make_api,
)

RENEES = {p.id for p in LIVE if p.first_name == "Renée"}
IBANEZ = {p.id for p in LIVE if p.last_name == "Ibáñez"}
VAN_DER_BERG = {p.id for p in LIVE if p.last_name == "Van der Berg"}
SMITHS = {p.id for p in LIVE if p.last_name.startswith("Smith")}


def test_the_documented_reading_folds_accents() -> None:
    api = make_api()
    assert RENEES and IBANEZ and VAN_DER_BERG
    assert ids_of(api.search("renee")) >= RENEES
    assert ids_of(api.search("IBANEZ")) >= IBANEZ
    assert ids_of(api.search("berg")) >= VAN_DER_BERG


def test_accent_sensitive_matching_misses_unaccented_terms() -> None:
    api = make_api(search_accents="sensitive")
    assert not ids_of(api.search("ibanez")) & IBANEZ
    assert ids_of(api.search("IBÁÑEZ")) >= IBANEZ
    assert ids_of(api.search("I")) >= IBANEZ  # the unaccented first letter still matches
    assert not ids_of(api.search(unicodedata.normalize("NFD", "Ibáñez"))) & IBANEZ  # compared as sent


@pytest.mark.parametrize("match", ["parts", "prefix", "substring", "exact"])
def test_last_names_only_find_no_one_by_a_first_name(match: str) -> None:
    api = make_api(search_fields="last", search_match=match)
    renees = [p for p in LIVE if p.first_name == "Renée"]
    assert not ids_of(api.search("Renée")) & {p.id for p in renees if not p.last_name.startswith("Ren")}
    assert ids_of(api.search(renees[0].last_name)) >= {renees[0].id}
    assert ids_of(api.search(renees[0].chart_number)) == {renees[0].id}
    assert ids_of(make_api(search_match=match).search("Renée")) >= RENEES  # first names, by default
    with pytest.raises(ValueError, match="search_fields"):
        make_api(search_fields="middle")


def test_names_stored_decomposed_are_served_decomposed_and_missed_by_precomposed_terms() -> None:
    api = make_api(search_accents="sensitive_nfd")
    assert not ids_of(api.search("Renée")) & RENEES
    assert ids_of(api.search(unicodedata.normalize("NFD", "Renée"))) >= RENEES
    assert ids_of(api.search("Ren")) >= RENEES
    row = next(r for r in api.search("R") if r["patientId"] in RENEES)
    assert row["firstName"] == unicodedata.normalize("NFD", "Renée") != "Renée"


def test_prefix_matching_takes_whole_fields_only() -> None:
    api = make_api(search_match="prefix")
    assert not ids_of(api.search("berg")) & VAN_DER_BERG
    assert ids_of(api.search("van d")) >= VAN_DER_BERG
    assert not ids_of(api.search("smith,"))  # no "last, first" form
    assert ids_of(api.search("smith")) == SMITHS


def test_substring_matching_finds_inner_text() -> None:
    api = make_api(search_match="substring")
    assert ids_of(api.search("mith")) >= SMITHS
    assert ids_of(api.search("der be")) >= VAN_DER_BERG
    assert not ids_of(api.search("smith,"))


def test_envelopes_wrap_every_list() -> None:
    for envelope, key, count in (("value", "value", "@odata.count"), ("data", "data", "count")):
        api = make_api(envelope=envelope)
        body = api.ok("/api/search", term="smith")
        assert ids_of(body[key]) == SMITHS and body[count] == len(SMITHS)
        assert api.ok("/api/encounters/categories")[key]
        patient = next(p for p in LIVE if chart_encounters(p))
        assert len(api.ok(f"/api/{patient.id}/encounters/search")[key]) == len(chart_encounters(patient))


def test_ids_as_strings_and_timestamps_with_offsets() -> None:
    api = make_api(ids_as_strings=True, timestamps="offset")
    patient = next(p for p in LIVE if chart_encounters(p) and p.birth_date)
    [row] = [r for r in api.search(patient.chart_number) if r["chartNumber"] == patient.chart_number]
    assert row["patientId"] == str(patient.id)
    assert row["dob"].startswith(f"{patient.birth_date}T00:00:00-0")  # local midnight, Chicago's offset
    item = api.encounters(patient.id)[0]
    assert item["summary"]["encounterId"] == str(chart_encounters(patient)[0].id)
    assert item["summary"]["encounterDate"][-6:] in ("-05:00", "-06:00")


def test_naive_timestamps_and_bare_dates() -> None:
    api = make_api(timestamps="naive")
    patient = next(p for p in LIVE if chart_encounters(p) and p.birth_date)
    [row] = [r for r in api.search(patient.chart_number) if r["chartNumber"] == patient.chart_number]
    assert date.fromisoformat(row["dob"]) == patient.birth_date
    first = chart_encounters(patient)[0]
    assert api.encounters(patient.id)[0]["summary"]["encounterDate"] == first.start.strftime("%Y-%m-%dT%H:%M:%S")


def test_microsoft_json_dates_count_milliseconds_from_1970_utc() -> None:
    api = make_api(timestamps="microsoft", unknown_dates="min_value")
    patient = next(p for p in LIVE if chart_encounters(p) and p.birth_date and p.birth_date.year < 1970)
    [row] = [r for r in api.search(patient.chart_number) if r["chartNumber"] == patient.chart_number]
    born = datetime.combine(patient.birth_date, time(), UTC)
    assert row["dob"] == f"/Date({int(born.timestamp()) * 1000})/" and row["dob"].startswith("/Date(-")
    first = chart_encounters(patient)[0]
    assert api.encounters(patient.id)[0]["summary"]["encounterDate"] == f"/Date({int(first.start.timestamp() * 1000)})/"
    unknown = next(p for p in LIVE if p.birth_date is None)
    [row] = [r for r in api.search(unknown.chart_number) if r["chartNumber"] == unknown.chart_number]
    assert row["dob"] == "/Date(-62135596800000)/"  # DateTime.MinValue


@pytest.mark.parametrize(
    ("case", "patient_keys", "summary_keys", "item_keys"),
    [
        (
            "pascal",
            {"PatientID", "DOB", "SSN", "HomePhone"},
            {"EncounterID", "DoctorID", "EncounterDate"},
            {"Summary", "CCD"},
        ),
        (
            "snake",
            {"patient_id", "dob", "chart_number", "home_phone"},
            {"encounter_id", "encounter_locked"},
            {"summary", "ccd"},
        ),
    ],
)
def test_keys_as_a_teams_classes_name_them(
    case: str, patient_keys: set[str], summary_keys: set[str], item_keys: set[str]
) -> None:
    api = make_api(key_case=case)
    patient = next(p for p in LIVE if chart_encounters(p))
    [row] = [r for r in api.search(patient.chart_number) if patient.id in r.values()]
    assert patient_keys <= set(row) and len(row) == 8
    item = api.encounters(patient.id)[0]
    assert set(item) == item_keys
    assert summary_keys <= set(item["Summary" if case == "pascal" else "summary"])
    with pytest.raises(ValueError, match="key_case"):
        make_api(key_case="kebab")


def test_a_ccd_as_bytes_is_written_as_base64() -> None:
    patient = next(p for p in LIVE if chart_encounters(p))
    text = make_api().encounters(patient.id)[0]["ccd"]
    encoded = make_api(ccd_encoding="base64").encounters(patient.id)[0]["ccd"]
    assert "<" not in encoded and base64.b64decode(encoded, validate=True).decode() == text


@pytest.mark.parametrize("charset", ["windows-1252", "utf-16le"])
def test_a_ccd_as_bytes_is_written_in_its_charset(charset: str) -> None:
    patient = next(p for p in LIVE if chart_encounters(p) and not (p.first_name + p.last_name).isascii())
    text = make_api().encounters(patient.id)[0]["ccd"]
    encoded = make_api(ccd_encoding="base64", ccd_charset=charset).encounters(patient.id)[0]["ccd"]
    raw = base64.b64decode(encoded, validate=True)
    if charset == "utf-16le":
        assert raw.decode("utf-16-le") == text and not raw.startswith(b"\xff\xfe")  # no byte order mark
    else:
        declared = text.replace('<meta charset="utf-8">', '<meta charset="windows-1252">')
        assert html.unescape(raw.decode("cp1252")) == html.unescape(declared) and declared != text
    with pytest.raises(ValueError, match="ccd_charset"):
        make_api(ccd_charset="latin-9")


@pytest.mark.parametrize(
    ("layout", "title"),
    [("captions", r"<caption>([^<]*)</caption>"), ("title_rows", r'<tr><th colspan="\d+">([^<]*)</th></tr>')],
)
def test_a_ccd_laid_out_otherwise_titles_each_section_once_and_no_heading(layout: str, title: str) -> None:
    patient = next(p for p in LIVE if chart_encounters(p))
    ccd = make_api(ccd_layout=layout).encounters(patient.id)[0]["ccd"]
    assert re.findall(title, ccd) == [SECTION_TITLES[name] for name in CCD_SECTIONS]
    assert "<h2>" not in ccd and "data-section" not in ccd
    assert ccd.count("<table") == (len(CCD_SECTIONS) if layout == "captions" else 1) + 2  # and the header's two
    [section] = make_api(ccd_layout=layout).encounters(patient.id, section="Medications")
    assert re.findall(title, section["ccd"]) == ["Medications"]
    with pytest.raises(ValueError, match="ccd_layout"):
        make_api(ccd_layout="list")


def test_counted_titles_say_how_many_rows_each_section_lists() -> None:
    patient = next(p for p in LIVE if chart_encounters(p))
    ccd = make_api(ccd_titles="counted").encounters(patient.id)[0]["ccd"]
    titles = re.findall(r"<h2>([^<]*) \((\d+)\)</h2>", ccd)
    assert [title for title, _ in titles] == [SECTION_TITLES[name] for name in CCD_SECTIONS]
    blocks = ccd.split("<h2>")[1:]
    for (_, count), block in zip(titles, blocks, strict=True):
        rows = block.count("<tr><td>")
        assert int(count) == rows, block[:200]
    with pytest.raises(ValueError, match="ccd_titles"):
        make_api(ccd_titles="numbered")


def test_a_section_not_found_is_a_404_before_the_patient_is_looked_up() -> None:
    api = make_api(unknown_sections="not_found")
    patient = next(p for p in LIVE if chart_encounters(p))
    response = api.get(f"/api/{patient.id}/encounters/search", section="Vital Signs")
    assert response.status_code == 404 and response.json() == {"Message": "The section 'Vital Signs' was not found."}
    assert api.get("/api/999999/encounters/search", section="Nope").json()["Message"].startswith("The section")
    assert api.encounters(patient.id, section="vitalsigns")


def test_absent_nulls_leave_optional_fields_out() -> None:
    api = make_api(absent_nulls=True)
    patient = next(p for p in LIVE if p.middle_name is None)
    [row] = [r for r in api.search(patient.chart_number) if r["chartNumber"] == patient.chart_number]
    assert "middleName" not in row and "patientId" in row


@pytest.mark.parametrize(("style", "content_type"), [("problem", "application/problem+json"), ("text", "text/plain")])
def test_error_bodies(style: str, content_type: str) -> None:
    api = make_api(error_bodies=style)
    response = api.get("/api/search", term=" ")
    assert response.status_code == 400 and response.headers["content-type"].startswith(content_type)
    if style == "problem":
        assert response.json()["title"] == "The request is invalid." and response.json()["status"] == 400
    else:
        assert response.text == "The request is invalid."
    assert api.get("/api/search", token="nope", term="x").status_code == 401


def test_unknown_switch_values_are_refused() -> None:
    for name, value in (("search_accents", "maybe"), ("search_match", "fuzzy"), ("envelope", "graphql")):
        with pytest.raises(ValueError, match=name):
            create_app(CLINIC, client_id=CLIENT, client_secret=SECRET, practice_id=PRACTICE, **{name: value})


def test_a_search_limit_cuts_answers_silently_unless_enveloped() -> None:
    assert len(SMITHS) > 3
    bare = make_api(search_limit=3).search("smith")
    assert len(bare) == 3 and ids_of(bare) < SMITHS
    enveloped = make_api(search_limit=3, envelope="value").ok("/api/search", term="smith")
    assert len(enveloped["value"]) == 3 and enveloped["@odata.count"] == len(SMITHS)
    nested = make_api(search_limit=3, envelope="meta").ok("/api/search", term="smith")
    assert len(nested["data"]) == 3 and nested["meta"] == {"total": len(SMITHS)}
    with pytest.raises(ValueError, match="search_limit"):
        make_api(search_limit=0)


def test_an_encounter_limit_keeps_the_earliest_of_the_window_silently_unless_enveloped() -> None:
    patient = max(LIVE, key=lambda p: len(chart_encounters(p)))
    charted = chart_encounters(patient)
    assert len(charted) > 3
    bare = make_api(encounter_limit=3).encounters(patient.id)
    assert [i["summary"]["encounterId"] for i in bare] == [e.id for e in charted[:3]]
    later = make_api(encounter_limit=3).encounters(patient.id, start=charted[3].start.isoformat())
    assert later[0]["summary"]["encounterId"] == charted[3].id
    enveloped = make_api(encounter_limit=3, envelope="data").ok(f"/api/{patient.id}/encounters/search")
    assert len(enveloped["data"]) == 3 and enveloped["count"] == len(charted)
    with pytest.raises(ValueError, match="encounter_limit"):
        make_api(encounter_limit=0)


def test_token_numbers_as_strings() -> None:
    body = make_api(token_numbers_as_strings=True).connect()
    assert all(isinstance(body[k], str) and body[k].isdigit() for k in ("expires_in", "expires_on", "not_before"))
    assert isinstance(make_api().connect()["expires_in"], int)


def test_local_timestamps_serve_a_utc_midnight_dob_the_evening_before() -> None:
    api = make_api(timestamps="local")
    patient = next(p for p in LIVE if chart_encounters(p) and p.birth_date)
    [row] = [r for r in api.search(patient.chart_number) if r["chartNumber"] == patient.chart_number]
    assert patient.birth_date is not None
    before = patient.birth_date - timedelta(days=1)
    assert row["dob"] in (f"{before}T19:00:00-05:00", f"{before}T18:00:00-06:00")
    assert api.encounters(patient.id)[0]["summary"]["encounterDate"][-6:] in ("-05:00", "-06:00")


@pytest.mark.parametrize(("reading", "suffix"), [("server_in_utc", "Z"), ("server_naive", "")])
def test_a_dob_as_the_servers_midnight_is_the_evening_before_in_utc(reading: str, suffix: str) -> None:
    patient = next(p for p in LIVE if p.birth_date)
    assert patient.birth_date is not None
    [row] = [r for r in make_api(dob_midnight=reading).search(patient.chart_number) if r["patientId"] == patient.id]
    before = patient.birth_date - timedelta(days=1)  # Berlin is one or two hours ahead of UTC
    assert row["dob"] in (f"{before}T23:00:00{suffix}", f"{before}T22:00:00{suffix}")


@pytest.mark.parametrize(("reading", "written"), [("min_value", "0001-01-01T00:00:00"), ("zero", "0000-00-00")])
def test_unknown_dates_as_stand_ins(reading: str, written: str) -> None:
    api = make_api(unknown_dates=reading)
    patient = next(p for p in LIVE if p.birth_date is None)
    [row] = [r for r in api.search(patient.chart_number) if r["chartNumber"] == patient.chart_number]
    assert row["dob"] == written


def test_locked_values_as_letters_or_stamps() -> None:
    patient = next(p for p in LIVE if {e.locked for e in chart_encounters(p)} == {True, False})
    letters = make_api(locked_values="letters").encounters(patient.id)
    assert [i["summary"]["encounterLocked"] for i in letters] == [
        "T" if e.locked else "F" for e in chart_encounters(patient)
    ]
    stamps = make_api(locked_values="stamps").encounters(patient.id)
    for item, encounter in zip(stamps, chart_encounters(patient), strict=True):
        locked = item["summary"]["encounterLocked"]
        assert (MS.fullmatch(locked) is not None) if encounter.locked else locked is None
    with pytest.raises(ValueError, match="locked_values"):
        make_api(locked_values="maybe")


def test_some_patients_without_chart_numbers_are_found_by_name_only() -> None:
    api = make_api(chart_numbers="some_missing")
    chartless = next(p for p in LIVE if p.id % CHARTLESS_EVERY == 0)
    assert not api.search(chartless.chart_number)
    [row] = [r for r in api.search(chartless.last_name) if r["patientId"] == chartless.id]
    assert row["chartNumber"] is None
    absent = make_api(chart_numbers="some_missing", absent_nulls=True).search(chartless.last_name)
    assert "chartNumber" not in next(r for r in absent if r["patientId"] == chartless.id)
    other = next(p for p in LIVE if p.id % CHARTLESS_EVERY)
    assert ids_of(api.search(other.chart_number)) == {other.id}


def test_categories_as_objects_or_a_map() -> None:
    objects = make_api(categories="objects", envelope="value").ok("/api/encounters/categories")["value"]
    assert {"code": "VitalSigns", "displayName": "Vital Signs"} in objects and len(objects) == len(CCD_SECTIONS)
    mapped = make_api(categories="map", envelope="value").ok("/api/encounters/categories")
    assert list(mapped) == list(CCD_SECTIONS) and mapped["PlanOfCare"] == "Plan of Care"


def test_categories_as_rows_of_a_category_table() -> None:
    rows = make_api(categories="rows").ok("/api/encounters/categories")
    assert rows[0] == {"categoryId": 1, "categoryName": CCD_SECTIONS[0]}
    assert [row["categoryName"] for row in rows] == list(CCD_SECTIONS)


def test_json_api_resource_objects() -> None:
    api = make_api(jsonapi_resources=True)  # bare arrays here; the e2e test takes JSON:API's envelope
    patient = next(p for p in LIVE if chart_encounters(p))
    [row] = [r for r in api.search(patient.chart_number) if r["id"] == str(patient.id)]
    assert row["type"] == "patients" and row["attributes"]["chartNumber"] == patient.chart_number
    assert "patientId" not in row["attributes"]
    [first, *_] = api.encounters(patient.id)
    assert first["type"] == "encounters" and first["id"] == str(first["attributes"]["summary"]["encounterId"])
    categories = api.ok("/api/encounters/categories")
    assert categories[0] == {"type": "categories", "id": CCD_SECTIONS[0], "attributes": {"name": CCD_SECTIONS[0]}}


def test_categories_as_titles_while_section_takes_the_names() -> None:
    api = make_api(categories="titles")
    assert api.ok("/api/encounters/categories") == [SECTION_TITLES[name] for name in CCD_SECTIONS]
    patient = next(p for p in LIVE if chart_encounters(p))
    assert api.get(f"/api/{patient.id}/encounters/search", section="Vital Signs").status_code == 400
    assert api.encounters(patient.id, section="VitalSigns")[0]["ccd"]


@pytest.mark.parametrize(
    ("envelope", "start", "size", "items", "facts"),
    [("offset", "offset", "limit", "items", ()), ("skip_take", "skip", "take", "data", ("meta",))],
)
def test_pages_counted_by_offset_echo_it_and_link_nothing(
    envelope: str, start: str, size: str, items: str, facts: tuple[str, ...]
) -> None:
    api = make_api(envelope=envelope, page_size=3)
    first = api.ok("/api/search", term="smith")
    paging = first[facts[0]] if facts else first
    assert len(first[items]) == 3 and paging[start] == 0 and paging[size] == 3
    assert paging["total"] == len(SMITHS) and not {"next", "links", "_links"} & set(first)
    rest = api.ok("/api/search", term="smith", **{start: 3, size: 100})[items]
    assert ids_of(first[items] + rest) == SMITHS
    assert not api.ok("/api/search", term="smith", **{start: len(SMITHS)})[items]
    assert api.get("/api/search", term="smith", **{start: "x"}).status_code in (400, 422)


@pytest.mark.parametrize(("envelope", "start"), [("bare_offset", "offset"), ("bare_skip_take", "skip")])
def test_bare_pages_counted_by_offset_say_nothing_of_the_others(envelope: str, start: str) -> None:
    api = make_api(envelope=envelope, page_size=3)
    first = api.ok("/api/search", term="smith")
    assert isinstance(first, list) and len(first) == 3
    following = api.ok("/api/search", term="smith", **{start: 3})
    assert not ids_of(first) & ids_of(following)
    assert ids_of(api.ok("/api/search", term="smith", page=2)) == ids_of(first)  # `page` is not read
    assert not api.ok("/api/search", term="smith", **{start: len(SMITHS)})
    assert api.get("/api/search", term="smith", **{start: "x"}).status_code in (400, 422)


def test_abp_pages_count_their_items_and_are_asked_by_skip_count() -> None:
    api = make_api(envelope="abp", page_size=3)
    first = api.ok("/api/search", term="smith")
    assert set(first) == {"totalCount", "items"} and first["totalCount"] == len(SMITHS) and len(first["items"]) == 3
    rest = api.ok("/api/search", term="smith", SkipCount=3, maxresultcount=100)["items"]  # bound ignoring case
    assert ids_of(first["items"] + rest) == SMITHS
    assert not api.ok("/api/search", term="smith", skipCount=len(SMITHS))["items"]
    refused = api.get("/api/search", term="smith", maxResultCount=1001)
    assert refused.status_code == 400 and refused.json()["error"]["message"] == "Your request is not valid!"


def test_abps_wrapper_holds_every_answer_and_error_of_the_api() -> None:
    api = make_api(envelope="abp", page_size=3, abp_wrapper=True)
    first = api.ok("/api/search", term="smith")
    assert first["success"] is True and first["__abp"] is True and first["error"] is None
    assert first["result"]["totalCount"] == len(SMITHS) and len(first["result"]["items"]) == 3
    sections = api.ok("/api/encounters/categories")["result"]
    assert sections == {"totalCount": len(CCD_SECTIONS), "items": list(CCD_SECTIONS[:3])}
    refused = api.get("/api/search", term="smith", maxResultCount=1001)
    body = refused.json()
    assert refused.status_code == 400 and body["success"] is False and body["result"] is None
    assert body["error"]["message"] == "Your request is not valid!" and body["error"]["validationErrors"]
    missing = api.get("/api/search", term=" ")
    assert missing.status_code == 400 and missing.json()["error"]["validationErrors"] == [
        {"message": "The term field is required.", "members": ["term"]}
    ]
    unknown = api.get("/api/999999/encounters/search")
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Patient not found"
    denied = api.get("/api/search", token="nope", term="smith")
    assert denied.status_code == 401 and denied.json()["unAuthorizedRequest"] is True
    bare = make_api(abp_wrapper=True)  # a list that is no PagedResultDto: the list itself
    assert ids_of(bare.ok("/api/search", term="smith")["result"]) == SMITHS


def test_odata_pages_link_the_next_one_with_skip() -> None:
    api = make_api(envelope="odata", page_size=3)
    first = api.ok("/api/search", term="smith")
    assert first["@odata.context"].endswith("/api/$metadata#Patients") and "@odata.count" not in first
    assert len(first["value"]) == 3 and first["@odata.nextLink"].endswith("/api/search?term=smith&$skip=3")
    found, link = list(first["value"]), first["@odata.nextLink"]
    while link:
        page = api.ok("/api/search", term="smith", **{"$skip": link.rpartition("$skip=")[2]})
        found += page["value"]
        link = page.get("@odata.nextLink")
    assert ids_of(found) == SMITHS and len(found) == len(SMITHS)
    counted = api.ok("/api/search", term="smith", **{"$count": "true", "$top": "2"})
    assert counted["@odata.count"] == len(SMITHS) and len(counted["value"]) == 2 and "@odata.nextLink" not in counted
    assert api.ok("/api/encounters/categories")["@odata.context"].endswith("#Categories")
    refused = api.get("/api/search", term="smith", **{"$skip": "x"})
    assert refused.status_code == 400 and "$skip" in refused.json()["error"]["message"]


def test_odata_on_a_plain_controller_answers_a_bare_page_read_by_dollar_skip_only() -> None:
    api = make_api(envelope="odata_bare", page_size=3)
    first = api.ok("/api/search", term="smith")
    assert isinstance(first, list) and len(first) == 3
    assert api.ok("/api/search", term="smith", skip=3, page=2, offset=3) == first
    rest = api.ok("/api/search", term="smith", **{"$skip": 3, "$top": 100})
    assert len(rest) == 3 and not ids_of(first) & ids_of(rest)


def test_a_rate_refused_as_a_throttle_says_when_to_come_back() -> None:
    api = make_api(rate_per_second=1, rate_limited_status=429)
    api.access()
    assert api.get("/api/search", term="smith").status_code == 200
    refused = api.get("/api/search", term="smith")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    default = make_api(rate_per_second=1)  # ASP.NET Core's limiter: an empty 503, no wait said
    default.access()
    assert default.get("/api/search", term="smith").status_code == 200
    refused = default.get("/api/search", term="smith")
    assert refused.status_code == 503 and "retry-after" not in refused.headers


def test_a_rate_refused_without_a_wait_says_none() -> None:
    api = make_api(rate_per_second=1, rate_limited_status=429, rate_limited_retry_after=False)
    api.access()
    assert api.get("/api/search", term="smith").status_code == 200
    refused = api.get("/api/search", term="smith")
    assert refused.status_code == 429 and "retry-after" not in refused.headers and refused.text == "Retry later\n"


def test_a_section_joined_to_nothing_leaves_its_encounter_out() -> None:
    patient = next(p for p in LIVE if len(chart_encounters(p)) > 1 and not [v for v in p.vitals if not v.deleted])
    assert make_api().encounters(patient.id, section="VitalSigns")  # each says "No vital signs recorded"
    assert make_api(empty_sections="omitted").encounters(patient.id, section="VitalSigns") == []
    whole = make_api(empty_sections="omitted").encounters(patient.id)
    assert len(whole) == len(chart_encounters(patient)) and all(i["ccd"] for i in whole)


@pytest.mark.parametrize(("reading", "status"), [("not_found", 404), ("no_content", 204)])
def test_a_search_or_an_encounter_window_finding_nothing(reading: str, status: int) -> None:
    api = make_api(search_none_found=reading, encounters_none_found=reading)
    assert api.get("/api/search", term="Zzyzx").status_code == status
    patient = next(p for p in LIVE if chart_encounters(p))
    empty = api.get(f"/api/{patient.id}/encounters/search", end="1900-01-01")
    assert empty.status_code == status and (status == 404 or empty.content == b"")
    assert api.encounters(patient.id)


def test_encounters_latest_first_keep_the_latest_under_a_limit() -> None:
    patient = max(LIVE, key=lambda p: len(chart_encounters(p)))
    ids = [e.id for e in chart_encounters(patient)]
    latest_first = make_api(encounter_order="desc").encounters(patient.id)
    assert [i["summary"]["encounterId"] for i in latest_first] == ids[::-1]
    capped = make_api(encounter_order="desc", encounter_limit=2).encounters(patient.id)
    assert [i["summary"]["encounterId"] for i in capped] == ids[::-1][:2]


def test_locked_said_as_the_notes_state() -> None:
    api = make_api(locked_values="states")
    patient = next(p for p in LIVE if len({e.locked for e in chart_encounters(p)}) == 2)
    states = {row["summary"]["encounterLocked"] for row in api.encounters(patient.id)}
    assert states == {"Locked", "Open"}
