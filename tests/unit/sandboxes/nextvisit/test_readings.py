"""The simulator's switches for readings of the docs (``sandboxes.nextvisit.readings``): each
changes only what it says, and the defaults are the documented reading."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timedelta
from typing import Any

import pytest

from sandboxes.nextvisit.app import create_app
from sandboxes.nextvisit.wire import EXTRA_FIELD
from tests.support.clock import SetClock
from tests.unit.sandboxes.nextvisit.client import CLINIC, EMAIL, FIXED_NOW, PASSWORD, Api

PATIENT = max((p for p in CLINIC.patients if not p.deleted), key=lambda p: len(p.encounters))
ONE = f"/v1/patients/{PATIENT.id}"


def _api(**switches: Any) -> Api:
    return Api(create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=lambda: FIXED_NOW, **switches))


def test_defaults_are_the_documented_reading() -> None:
    body = _api().ok(ONE, include="demographics")["data"]
    assert "demographics" in body
    encounter = body["encounters"][0]
    assert isinstance(encounter["id"], int) and "start_time" in encounter and "date_of_service" not in encounter
    assert isinstance(encounter["provider"], dict)


def test_flat_encounters() -> None:
    documented = _api().ok(ONE)["data"]["encounters"]
    flat = _api(encounter_shape="flat").ok(ONE)["data"]["encounters"]
    assert len(flat) == len(documented)
    for before, after in zip(documented, flat, strict=True):
        assert after["id"] == str(before["id"]) and after["patient_id"] == str(before["patient_id"])
        assert after["date_of_service"] == before["start_time"] and "start_time" not in after
        assert after["provider"] == ", ".join(
            x for x in (before["provider"]["name"], before["provider"]["credentials"]) if x
        )
        assert after["location"] == (before["location"] or {}).get("name")
        assert {
            k: v for k, v in after.items() if k not in ("id", "patient_id", "date_of_service", "provider", "location")
        } == {k: v for k, v in before.items() if k not in ("id", "patient_id", "start_time", "provider", "location")}


def test_visit_types_as_rows_of_a_code_table() -> None:
    documented = _api().ok(ONE)["data"]["encounters"]
    coded = _api(visit_types="coded").ok(ONE)["data"]["encounters"]
    assert [e["type"]["description"] for e in coded] == [e["type"] for e in documented]
    codes = {e.id: e.type_code for e in PATIENT.encounters}
    assert [e["type"]["code"] for e in coded] == [codes[e["id"]] for e in documented]


def test_an_encounters_clinician_as_the_user_who_documented_it() -> None:
    documented = _api().ok(ONE)["data"]["encounters"]
    by_user = _api(encounter_clinician="user").ok(ONE)["data"]["encounters"]
    for before, after in zip(documented, by_user, strict=True):
        assert "provider" not in after and after["user_id"] == before["provider"]["id"]
        assert after["user"]["name"] == before["provider"]["name"] and after["user"]["email"].endswith("@example.com")
    flat = _api(encounter_clinician="user", encounter_shape="flat").ok(ONE)["data"]["encounters"][0]
    assert "provider" not in flat and flat["user"] == by_user[0]["user"]


def test_encounters_as_a_day_and_times_of_day() -> None:
    documented = _api().ok(ONE)["data"]["encounters"]
    split = _api(encounter_shape="day_and_times").ok(ONE)["data"]["encounters"]
    for before, after in zip(documented, split, strict=True):
        start = before["start_time"]
        assert (after["date"], after["start_time"]) == (start[:10], start[11:19])
        assert after["end_time"] == (before["end_time"] and before["end_time"][11:19])
        assert {k: v for k, v in after.items() if k not in ("date", "start_time", "end_time")} == {
            k: v for k, v in before.items() if k not in ("start_time", "end_time")
        }
    # The wall clock of the app's zone under the local reading; no other time reading touches them.
    local = _api(encounter_shape="day_and_times", datetimes="local").ok(ONE)["data"]["encounters"][0]
    wall = _api(datetimes="local").ok(ONE)["data"]["encounters"][0]["start_time"]
    assert (local["date"], local["start_time"]) == (wall[:10], wall[11:19])
    rails = _api(encounter_shape="day_and_rails_times").ok(ONE)["data"]["encounters"]
    assert [(e["date"], e["start_time"]) for e in rails] == [
        (e["date"], f"2000-01-01T{e['start_time']}Z") for e in split
    ]
    micro = _api(encounter_shape="day_and_times", datetimes="micro").ok(ONE)["data"]["encounters"]
    times = ("date", "start_time", "end_time")
    assert [[e[k] for k in times] for e in micro] == [[e[k] for k in times] for e in split]


def test_a_read_that_ignores_include_demographics() -> None:
    api = _api(include_demographics=False)
    assert "demographics" not in api.ok(ONE, include="demographics")["data"]
    listed = api.ok("/v1/patients", include="demographics", per_page=5)["data"]
    assert all("demographics" in row for row in listed)


def test_a_show_that_serves_only_the_relations_included() -> None:
    api = _api(single_relations="included")
    assert "encounters" not in api.ok(ONE)["data"] and "encounters" not in api.ok(ONE, include="demographics")["data"]
    assert api.ok(ONE, include="demographics,encounters")["data"]["encounters"] == _api().ok(ONE)["data"]["encounters"]
    body = {"first_name": "Jo", "last_name": "Poe", "date_of_birth": "1990-01-01"}
    created = api.call("POST", "/v1/patients", json=body)
    assert created.status_code == 201 and "encounters" not in created.json()["data"]
    assert "encounters" in _api().call("POST", "/v1/patients", json=body).json()["data"]


def test_a_show_whose_allow_list_is_demographics_alone() -> None:
    api = _api(show_includes="demographics")
    refused = api.call("GET", ONE, params={"include": "demographics,encounters"})
    assert refused.status_code == 400 and "`encounters` are not allowed" in refused.json()["message"]
    assert "demographics" in api.ok(ONE, include="demographics")["data"]
    assert api.ok("/v1/patients", include="demographics,encounters", per_page=2)["data"]  # the list takes both


def test_a_show_whose_allow_list_is_the_relations_its_documented_answer_carries() -> None:
    api = _api(show_includes="encounters")
    for include in ("demographics,encounters", "demographics"):
        refused = api.call("GET", ONE, params={"include": include})
        assert refused.status_code == 400 and "`demographics` are not allowed" in refused.json()["message"]
    assert "encounters" in api.ok(ONE, include="encounters")["data"]
    assert "demographics" in api.ok("/v1/patients", include="demographics", per_page=2)["data"][0]


def test_no_demographics_as_php_encodes_an_empty_array() -> None:
    body = {"first_name": "Jo", "last_name": "Poe", "date_of_birth": "1990-01-01"}
    for reading, written in (("null", None), ("array", [])):
        api = _api(empty_demographics=reading)
        created = api.call("POST", "/v1/patients", json=body).json()["data"]
        assert api.ok(f"/v1/patients/{created['id']}", include="demographics")["data"]["demographics"] == written
        listed = api.ok("/v1/patients", include="demographics", per_page=100, sort="-id")["data"][0]
        assert listed["id"] == created["id"] and listed["demographics"] == written
        assert isinstance(api.ok(ONE, include="demographics")["data"]["demographics"], dict)  # the clinic's: kept


def test_a_put_that_replaces_the_record() -> None:
    for semantics, kept in (("merge", True), ("replace", False)):
        api = _api(put_semantics=semantics)
        before = api.ok(ONE)["data"]
        assert before["allergies"] and before["notes"]
        names = {k: before[k] for k in ("first_name", "middle_name", "last_name", "date_of_birth")}
        after = api.call("PUT", ONE, json=names).json()["data"]
        texts = (before["allergies"], before["notes"]) if kept else (None, None)
        assert (after["allergies"], after["notes"]) == texts
        assert after["insurance"] == before["insurance"]  # not in the documented update body: untouched
        refused = api.call("PUT", ONE, json={"last_name": "Poe"})
        assert refused.status_code == (200 if kept else 422), refused.text


def test_one_unreadable_encounter() -> None:
    broken = PATIENT.encounters[0].id
    encounters = _api(unreadable_encounter=broken).ok(ONE)["data"]["encounters"]
    documented = {e["id"]: e for e in _api().ok(ONE)["data"]["encounters"]}
    for encounter in encounters:
        if encounter["id"] == broken:
            assert encounter["start_time"][5:10] == "02-30"
            assert encounter["start_time"][:4] == documented[broken]["start_time"][:4]
        else:
            assert encounter == documented[encounter["id"]]


def test_an_unknown_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="encounter_shape"):
        create_app(CLINIC, email=EMAIL, password=PASSWORD, encounter_shape="nested")


RENEE = next(p for p in CLINIC.patients if not p.deleted and p.first_name == "Renée")


def _found_ids(api: Api, **filters: str) -> set[int]:
    params = {f"filter[{k}]": v for k, v in filters.items()}
    return {row["id"] for row in api.ok("/v1/patients", per_page=100, **params)["data"]}


def test_name_filters_under_each_reading() -> None:
    first = {"first_name": "Renée"}
    assert RENEE.id in _found_ids(_api(), first_name="renee")  # folded substring
    assert RENEE.id in _found_ids(_api(), first_name="enée")
    assert RENEE.id not in _found_ids(_api(name_accents="sensitive"), first_name="renee")
    assert RENEE.id in _found_ids(_api(name_accents="sensitive"), first_name="RENÉE")
    nfd = _api(name_accents="sensitive_nfd")
    assert RENEE.id not in _found_ids(nfd, **first)  # a precomposed é is not the stored e + ◌́
    assert RENEE.id in _found_ids(nfd, first_name=unicodedata.normalize("NFD", "Renée"))
    assert nfd.ok(f"/v1/patients/{RENEE.id}")["data"]["first_name"] == unicodedata.normalize("NFD", "Renée")
    assert RENEE.id not in _found_ids(_api(name_match="prefix"), first_name="enée")
    assert RENEE.id in _found_ids(_api(name_match="prefix"), first_name="ren")
    assert RENEE.id not in _found_ids(_api(name_match="exact"), first_name="ren")
    assert RENEE.id in _found_ids(_api(name_match="exact"), first_name="renée")


def test_values_on_the_wire() -> None:
    documented = _api().ok(ONE)["data"]
    encounter = documented["encounters"][0]
    assert documented["updated_at"].endswith("Z") and len(documented["date_of_birth"]) == 10
    other = _api(datetimes="sql", dates="us", ids="strings", booleans="digits").ok(ONE)["data"]
    day = documented["date_of_birth"]
    assert other["date_of_birth"] == f"{day[5:7]}/{day[8:10]}/{day[:4]}"
    assert other["updated_at"] == documented["updated_at"][:10] + " " + documented["updated_at"][11:19]
    assert other["id"] == str(documented["id"]) and other["user"]["id"] == str(documented["user"]["id"])
    assert other["encounters"][0]["signed"] == ("1" if encounter["signed"] else "0")
    micro = _api(datetimes="micro", dates="datetime").ok(ONE)["data"]
    assert micro["updated_at"] == documented["updated_at"][:-1] + ".000000Z"
    assert micro["date_of_birth"] == day + "T00:00:00.000000Z"
    offset = _api(datetimes="offset").ok(ONE)["data"]["encounters"][0]["start_time"]
    assert offset[-6:] in ("-06:00", "-05:00")
    assert datetime.fromisoformat(offset) == datetime.fromisoformat(encounter["start_time"].replace("Z", "+00:00"))


def test_nulls_absent_and_unwrapped_single_answers() -> None:
    api = _api(nulls="absent", single_envelope="bare")
    body = api.ok(ONE)
    assert body["id"] == PATIENT.id and "data" not in body
    assert "insurance" not in body  # null in the documented reading
    telehealth = [e for e in body["encounters"] if e["visit_type"] == "telehealth"]
    assert telehealth and all("location" not in e for e in telehealth)


def test_paging_shapes_and_a_page_past_the_end() -> None:
    documented = _api().ok("/v1/patients", per_page=100)
    bare = _api(paging="paginator").ok("/v1/patients", per_page=100)
    assert "meta" not in bare and isinstance(bare["links"], list)
    assert bare["last_page"] == documented["meta"]["last_page"] and bare["total"] == documented["meta"]["total"]
    assert bare["next_page_url"] == documented["links"]["next"] and bare["data"] == documented["data"]
    simple = _api(paging="simple").ok("/v1/patients", per_page=100)
    assert "last_page" not in simple["meta"] and "total" not in simple["meta"]
    assert simple["links"]["next"] == documented["links"]["next"] and simple["links"]["last"] is None
    past = _api(paging="simple").ok("/v1/patients", per_page=100, page=99)
    assert past["data"] == [] and past["links"]["next"] is None


@pytest.mark.parametrize("sort", ["id", "-id", "last_name", "-date_of_birth", "-created_at"])
def test_a_cursor_paginator_walks_every_row_once_each_way_and_ignores_page(sort: str) -> None:
    api = _api(paging="cursor")
    documented = _api().ok("/v1/patients", per_page=100, sort=sort, page=1)["data"]
    documented += _api().ok("/v1/patients", per_page=100, sort=sort, page=2)["data"]
    documented += _api().ok("/v1/patients", per_page=100, sort=sort, page=3)["data"]
    first = api.ok("/v1/patients", per_page=30, sort=sort, include="demographics")
    assert set(first["meta"]) == {"path", "per_page", "next_cursor", "prev_cursor"}
    assert first["links"]["first"] is None and first["links"]["last"] is None and first["links"]["prev"] is None
    again = api.ok("/v1/patients", per_page=30, sort=sort, include="demographics", page=2)
    assert (again["data"], again["meta"]) == (first["data"], first["meta"])  # `page` is not read
    pages, body = [first], first
    while body["links"]["next"]:
        assert "cursor=" + body["meta"]["next_cursor"] in body["links"]["next"]
        assert "sort=" in body["links"]["next"] and "include=demographics" in body["links"]["next"]
        body = api.follow(body["links"]["next"])
        pages.append(body)
    assert body["meta"]["next_cursor"] is None and body["meta"]["prev_cursor"] is not None
    walked = [row["id"] for page in pages for row in page["data"]]
    assert walked == [row["id"] for row in documented]
    assert all("demographics" in row for page in pages for row in page["data"])
    back = api.follow(body["links"]["prev"])  # a previous cursor: the page before, in order
    assert back["data"] == pages[-2]["data"] and back["meta"]["next_cursor"] is not None
    garbage = api.ok("/v1/patients", per_page=30, sort=sort, include="demographics", cursor="not-a-cursor")
    assert garbage["data"] == first["data"]  # `Cursor::fromEncoded` gives null: the first page


@pytest.mark.parametrize(("errors", "media"), [("error", "application/json"), ("plain", "text/plain")])
def test_error_bodies(errors: str, media: str) -> None:
    response = _api(errors=errors).get("/v1/patients/999999")
    assert response.status_code == 404 and response.headers["content-type"].startswith(media)
    text = "No query results for model [App\\Models\\Patient] 999999"
    assert (response.json() == {"error": text}) if errors == "error" else response.text == text
    refused = _api(errors=errors).call("POST", "/v1/patients", json={})
    assert refused.status_code == 422 and "first name field is required" in refused.text


def test_an_undocumented_field() -> None:
    assert EXTRA_FIELD[0] not in _api().ok(ONE)["data"]
    assert _api(extra_field=True).ok(ONE)["data"][EXTRA_FIELD[0]] == EXTRA_FIELD[1]


def test_a_list_with_a_smaller_per_page_maximum() -> None:
    api = _api(list_per_page_max=50)
    assert len(api.ok("/v1/patients", per_page=50)["data"]) == 50
    refused = api.get("/v1/patients", params={"per_page": 51})
    assert refused.status_code == 422 and "per_page" in refused.json()["errors"]


def test_a_show_that_finds_soft_deleted_patients() -> None:
    deleted = next(p for p in CLINIC.patients if p.deleted)
    assert _api().get(f"/v1/patients/{deleted.id}").status_code == 404
    api = _api(show_trashed=True)
    body = api.ok(f"/v1/patients/{deleted.id}")["data"]
    assert body["id"] == deleted.id and body["deleted_at"]
    assert api.call("DELETE", f"/v1/patients/{deleted.id}").status_code == 404
    assert "deleted_at" not in api.ok(ONE)["data"]


def test_a_delete_without_a_body_and_a_login_inside_data() -> None:
    api = _api(delete_status=204, login_shape="data")
    login = api.login()
    assert login.status_code == 200 and set(login.json()) == {"data"}
    api.token = login.json()["data"]["token"]
    deleted = api.call("DELETE", ONE)
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.get(ONE).status_code == 404


def test_a_login_answering_the_token_as_text_or_as_sanctums_new_access_token() -> None:
    plain = _api(login_shape="plain").login()
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/html")
    assert plain.text.partition("|")[0].isdigit()
    new = _api(login_shape="new_token").login()
    assert new.status_code == 201 and set(new.json()["token"]) == {"accessToken", "plainTextToken"}
    devise = _api(login_body="user")
    assert devise.login().status_code == 401  # the flat body: no `user`
    assert devise.login(user={"email": EMAIL, "password": PASSWORD}).status_code == 200
    header = _api(login_shape="header").login()
    assert header.status_code == 200 and "token" not in header.text
    assert header.headers["authorization"].startswith("Bearer ")


def test_an_unknown_token_answered_419() -> None:
    api = _api(unauthenticated_status=419)
    api.token = "1|nope"
    refused = api.get(ONE)
    assert refused.status_code == 419 and refused.json() == {"message": "Unauthenticated."}


def test_a_create_answered_without_the_record_and_a_duplicate_answered_409() -> None:
    api = _api(create_answer="message", duplicates="409")
    body = {"first_name": "Jo", "last_name": "Poe", "date_of_birth": "1990-01-01"}
    created = api.call("POST", "/v1/patients", json=body)
    assert created.status_code == 201 and created.json() == {"message": "Patient created successfully"}
    again = api.call("POST", "/v1/patients", json={**body, "first_name": "JO"})
    assert again.status_code == 409 and "already exists" in again.json()["message"]
    assert api.call("POST", "/v1/patients", json={**body, "date_of_birth": "1990-01-02"}).status_code == 201


def test_dates_without_a_value_as_stand_ins_and_a_birth_date_from_east_of_utc() -> None:
    undated = next(p for p in CLINIC.patients if not p.deleted and p.birth_date is None)
    path = f"/v1/patients/{undated.id}"
    zero = _api(no_dates="zero").ok(path)["data"]
    assert zero["date_of_birth"] == "0000-00-00"
    assert any(e["end_time"] == "0000-00-00 00:00:00" for e in _api(no_dates="zero").ok(ONE)["data"]["encounters"])
    go = _api(no_dates="min")
    assert go.ok(path)["data"]["date_of_birth"] == "0001-01-01T00:00:00Z"
    assert go.ok(ONE)["data"]["deleted_at"] == "0001-01-01T00:00:00Z"
    assert PATIENT.birth_date is not None
    east = _api(dates="east").ok(ONE)["data"]["date_of_birth"]
    assert east.endswith(":00:00.000000Z") and east[:10] < PATIENT.birth_date.isoformat()


def test_no_known_drug_allergies_charted_before_allergies_to_other_things() -> None:
    from sandboxes.nextvisit.render import drug_review_first

    led = next(p for p in CLINIC.patients if not p.deleted and drug_review_first(p))
    path = f"/v1/patients/{led.id}"
    documented = _api().ok(path)["data"]["allergies"]
    assert _api(allergy_charting="drug_review_first").ok(path)["data"]["allergies"] == f"NKDA; {documented}"
    rows = _api(allergy_charting="drug_review_first", allergies_shape="objects").ok(path)["data"]["allergies"]
    assert (
        rows[0] == {"name": "NKDA", "reaction": None}
        and rows[1:] == _api(allergies_shape="objects").ok(path)["data"]["allergies"]
    )
    # A patient allergic to a drug is charted as before.
    assert not drug_review_first(PATIENT) or not PATIENT.allergies
    other = next(p for p in CLINIC.patients if not p.deleted and p.allergies and not drug_review_first(p))
    path = f"/v1/patients/{other.id}"
    assert (
        _api(allergy_charting="drug_review_first").ok(path)["data"]["allergies"] == _api().ok(path)["data"]["allergies"]
    )


def test_records_the_docs_never_show_keyed_in_camel_case() -> None:
    documented = _api().ok(ONE, include="demographics")["data"]
    camel = _api(nested_keys="camel").ok(ONE, include="demographics")["data"]
    assert camel.keys() == documented.keys()  # PatientFull's own fields as documented
    assert camel["encounters"][0]["startTime"] == documented["encounters"][0]["start_time"]
    assert "visitType" in camel["encounters"][0] and "start_time" not in camel["encounters"][0]
    assert camel["demographics"]["addressLine1"] == documented["demographics"]["address_line1"]
    rows = _api(nested_keys="camel", medication_shape="stop_dates").ok(ONE)["data"]["latest_medications"]
    assert all("startedOn" in row and "discontinuedAt" in row for row in rows)


def test_times_and_dates_as_flask_writes_them() -> None:
    documented = _api().ok(ONE)["data"]
    flask = _api(datetimes="http", dates="http").ok(ONE)["data"]
    assert PATIENT.birth_date is not None
    assert flask["date_of_birth"] == PATIENT.birth_date.strftime("%a, %d %b %Y 00:00:00 GMT")
    stamp = datetime.fromisoformat(documented["updated_at"].replace("Z", "+00:00"))
    assert flask["updated_at"] == stamp.strftime("%a, %d %b %Y %H:%M:%S GMT")
    visit = flask["encounters"][0]
    assert visit["start_time"].endswith(" GMT") and visit["start_time"][5:16] == datetime.fromisoformat(
        documented["encounters"][0]["start_time"].replace("Z", "+00:00")
    ).strftime("%d %b %Y")


def test_meta_as_json_text_and_demographics_as_a_list_or_nested() -> None:
    meta = _api(meta_encoding="string").ok(ONE)["data"]["meta"]
    assert isinstance(meta, str) and json.loads(meta) == _api().ok(ONE)["data"]["meta"]
    documented = _api().ok(ONE, include="demographics")["data"]["demographics"]
    assert _api(demographics_shape="list").ok(ONE, include="demographics")["data"]["demographics"] == [documented]
    nested = _api(demographics_shape="nested").ok(ONE, include="demographics")["data"]["demographics"]
    assert nested["mobile_phone"] == documented["phone"] and nested["address"]["zip_code"] == documented["postal_code"]


def test_other_spellings() -> None:
    documented, other = _api().ok(ONE)["data"], _api(spellings="other").ok(ONE)["data"]
    assert other["latest_medications"] == ("\n".join(documented["latest_medications"]) or "None")
    words = {"scheduled": "booked", "in_progress": "checked_in", "completed": "complete", "cancelled": "canceled"}
    for before, after in zip(documented["encounters"], other["encounters"], strict=True):
        assert after["status"] == words[before["status"]]
        assert after["visit_type"] == ("video_visit" if before["visit_type"] == "telehealth" else "in_person")


def test_a_rate_limit_answers_429_until_the_minute_ends() -> None:
    clock = SetClock(FIXED_NOW)
    api = Api(create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=clock, rate_limit=3))
    read = api.get(ONE)  # the login and this read: two of three
    assert read.status_code == 200
    assert (read.headers["X-RateLimit-Limit"], read.headers["X-RateLimit-Remaining"]) == ("3", "1")
    assert api.get(ONE).headers["X-RateLimit-Remaining"] == "0"
    refused = api.get(ONE)
    assert refused.status_code == 429 and refused.json() == {"message": "Too Many Attempts."}
    assert refused.headers["Retry-After"] == "60" and refused.headers["X-RateLimit-Remaining"] == "0"
    clock.now = FIXED_NOW + timedelta(seconds=59)
    assert api.get(ONE).headers["Retry-After"] == "1"
    clock.now = FIXED_NOW + timedelta(seconds=60)
    assert api.get(ONE).status_code == 200
    assert _api().get(ONE).status_code == 200 and "Retry-After" not in _api().get(ONE).headers  # no limit unless set


def test_a_rate_limit_a_second_answers_429_until_the_second_ends() -> None:
    clock = SetClock(FIXED_NOW + timedelta(milliseconds=300))
    api = Api(create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=clock, rate_limit=2, rate_window="second"))
    assert api.get(ONE).status_code == 200  # the login and this read
    refused = api.get(ONE)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    clock.now = FIXED_NOW + timedelta(milliseconds=999)
    assert api.get(ONE).status_code == 429
    clock.now = FIXED_NOW + timedelta(seconds=1)  # the next second: Laravel counts whole seconds
    assert api.get(ONE).status_code == 200


def test_a_list_paged_as_spring_data_pages_says_its_numbers_in_meta_and_no_links() -> None:
    documented = _api(first_page=0).ok("/v1/patients", per_page=100, sort="id")
    spring = _api(paging="spring", first_page=0)
    first = spring.ok("/v1/patients", per_page=100, sort="id")
    assert first["data"] == documented["data"] and first["links"] == {}
    total = documented["meta"]["total"]
    assert first["meta"] == {"page": 0, "size": 100, "total_elements": total, "total_pages": -(-total // 100)}
    second = spring.ok("/v1/patients", per_page=100, sort="id", page=1)
    assert (
        second["meta"]["page"] == 1
        and second["data"] == _api(first_page=0).ok("/v1/patients", per_page=100, sort="id", page=1)["data"]
    )


def test_medication_rows_with_the_dose_as_a_number_and_its_unit_apart() -> None:
    documented = _api(medication_shape="objects").ok(ONE)["data"]["latest_medications"]
    measured = _api(medication_shape="measured").ok(ONE)["data"]["latest_medications"]
    assert documented and len(measured) == len(documented)
    for before, after in zip(documented, measured, strict=True):
        amount, _, unit = (before["dosage"] or "").partition(" ")
        assert (after["dose"], after["dose_unit"]) == ((f"{float(amount):.2f}", unit) if unit else (None, None))
        assert "dosage" not in after and after["name"] == before["name"] and after["status"] == before["status"]


def test_a_patients_encounters_answered_a_page_at_a_time() -> None:
    every = _api().ok(ONE)["data"]["encounters"]
    assert len(every) > 3
    paged = _api(encounters_per_page=3).ok(ONE)["data"]["encounters"]
    assert paged["data"] == every[:3] and paged["links"]["next"].endswith("?page=2")
    assert paged["meta"]["total"] == len(every) and paged["meta"]["last_page"] == -(-len(every) // 3)
    whole = _api(encounters_per_page=50).ok(ONE)["data"]["encounters"]
    assert whole["data"] == every and whole["links"]["next"] is None


def test_an_unpaged_list_writing_its_empty_links_and_meta_as_php_arrays() -> None:
    listed = _api(paging="none", empty_envelope="array").ok("/v1/patients", sort="id")
    assert (listed["links"], listed["meta"]) == ([], [])
    assert listed["data"] == _api(paging="none").ok("/v1/patients", sort="id")["data"]


def test_a_page_listing_nobody_leaves_its_data_out() -> None:
    for switches in ({}, {"empty_lists": "null"}, {"paging": "cursor"}, {"paging": "keyset"}):
        api = _api(empty_pages="omitted", **switches)
        nobody = api.ok("/v1/patients", **{"filter[date_of_birth]": "1900-01-01"})
        assert "data" not in nobody and "links" in nobody and "meta" in nobody, switches
        assert api.ok("/v1/patients", per_page=2)["data"], switches  # a page listing patients keeps it
    assert "data" not in _api(empty_pages="omitted").ok("/v1/patients/search", query="zzzzqqqq")


def test_a_list_without_paging_answers_every_patient_whatever_page_and_per_page_ask() -> None:
    api = _api(paging="none")
    first = api.ok("/v1/patients", per_page=5, sort="id")
    assert (first["links"], first["meta"]) == ({}, {})
    assert [row["id"] for row in first["data"]] == sorted(p.id for p in CLINIC.patients if not p.deleted)
    assert api.ok("/v1/patients", per_page=5, sort="id", page=2) == first


def test_a_list_that_ignores_filter_trashed() -> None:
    live = _api().ok("/v1/patients", sort="id", per_page=100)["data"]
    ignoring = _api(trashed_filter="ignored")
    for value in ("only", "with", "nonsense"):  # not read: neither applied nor validated
        assert ignoring.ok("/v1/patients", sort="id", per_page=100, **{"filter[trashed]": value})["data"] == live
    assert _api().ok("/v1/patients", **{"filter[trashed]": "only"})["data"]  # the default reads it


def test_an_update_that_skips_what_it_is_sent_empty() -> None:
    for nulls, after_null, after_blank in (
        ("set", None, None),
        ("skipped", "Marie", ""),
        ("filtered", "Marie", "Marie"),
    ):
        api = _api(update_nulls=nulls)
        assert api.call("PUT", ONE, json={"middle_name": "Marie"}).json()["data"]["middle_name"] == "Marie"
        kept = api.call("PUT", ONE, json={"middle_name": None, "first_name": "Ann"}).json()["data"]
        assert (kept["middle_name"], kept["first_name"]) == (after_null, "Ann"), nulls
        assert api.call("PUT", ONE, json={"middle_name": "Marie"}).status_code == 200
        assert api.call("PUT", ONE, json={"middle_name": "  "}).json()["data"]["middle_name"] == after_blank, nulls


def test_an_update_that_merges_the_meta_it_is_sent() -> None:
    sent = {"fhir": {"gender": None, "maritalStatus": {"text": None}}, "source": "desk"}
    own = _api().ok(ONE)["data"]["meta"]  # the clinic's keys (chart_number, ...)
    for how, meta in (
        ("replaced", sent),
        ("merged", {**own, "fhir": sent["fhir"], "source": "desk"}),
        ("merge_patch", {**own, "fhir": {"maritalStatus": {"coding": []}}, "source": "desk"}),
    ):
        api = _api(meta_updates=how)
        before = {**own, "fhir": {"gender": "female", "maritalStatus": {"coding": [], "text": "M"}}}
        assert api.call("PUT", ONE, json={"meta": before}).json()["data"]["meta"] == before
        assert api.call("PUT", ONE, json={"meta": sent}).json()["data"]["meta"] == meta, how


def test_allergies_kept_as_a_list() -> None:
    listed = {
        row["id"]: row["allergies"] for row in _api(allergies_shape="list").ok("/v1/patients", per_page=100)["data"]
    }
    texts = {row["id"]: row["allergies"] for row in _api().ok("/v1/patients", per_page=100)["data"]}
    assert any(isinstance(items, list) and len(items) > 1 for items in listed.values())
    for patient_id, text in texts.items():
        items = listed[patient_id]
        if not text:  # null stays null; an empty text is no item
            assert items == (None if text is None else []), patient_id
            continue
        # The text's items, whichever way the text joins them (", ", "; ", " and ").
        assert items and all(item in text for item in items) and len(", ".join(items)) <= len(text) + 2, patient_id
    api = _api(allergies_shape="list")
    written = api.call("PUT", ONE, json={"allergies": "Latex (hives); Codeine,\nCats"}).json()["data"]
    assert written["allergies"] == ["Latex (hives)", "Codeine", "Cats"]


def test_writes_that_do_not_take_meta() -> None:
    for taken in ("taken", "ignored"):
        api = _api(meta_input=taken)
        own = api.ok(ONE)["data"]["meta"]
        body = {
            "first_name": "Ann",
            "last_name": "Lee",
            "date_of_birth": "1990-01-01",
            "meta": {"fhir": {"gender": "f"}},
        }
        created = api.call("POST", "/v1/patients", json=body).json()["data"]
        updated = api.call("PUT", ONE, json={"meta": {"fhir": {"gender": "f"}}, "first_name": "Ann"}).json()["data"]
        if taken == "taken":
            assert created["meta"] == updated["meta"] == {"fhir": {"gender": "f"}}
        else:  # dropped without a word; the rest of the write is made
            assert (created["meta"], updated["meta"], updated["first_name"]) == ({}, own, "Ann")


def test_a_read_that_lags_the_writes() -> None:
    clock = SetClock(FIXED_NOW)
    api = Api(create_app(CLINIC, email=EMAIL, password=PASSWORD, clock=clock, replica_lag=3))
    body = {"first_name": "Rae", "last_name": "Lag", "date_of_birth": "1969-07-20"}
    new_id = api.call("POST", "/v1/patients", json=body).json()["data"]["id"]
    assert api.get(f"/v1/patients/{new_id}").status_code == 404  # not on the replica yet
    before = api.ok(ONE)["data"]["first_name"]
    assert api.call("PUT", ONE, json={"first_name": "Changed"}).json()["data"]["first_name"] == "Changed"
    assert api.ok(ONE)["data"]["first_name"] == before  # as it was before the write
    clock.now += timedelta(seconds=3)
    assert api.ok(f"/v1/patients/{new_id}")["data"]["first_name"] == "Rae"
    assert api.ok(ONE)["data"]["first_name"] == "Changed"
    assert _api().get(f"/v1/patients/{PATIENT.id}").status_code == 200  # no lag by default


def test_allergies_as_rows() -> None:
    api = _api(allergies_shape="objects")
    listed = {row["id"]: row["allergies"] for row in api.ok("/v1/patients", per_page=100)["data"]}
    by_id = {p.id: p for p in CLINIC.patients}
    for patient_id, rows in listed.items():
        live = [a for a in by_id[patient_id].allergies if not a.deleted]
        if live:
            assert rows == [{"name": a.substance, "reaction": a.reaction.lower() if a.reaction else None} for a in live]
    written = api.call("PUT", ONE, json={"allergies": "Latex; Codeine"}).json()["data"]
    assert written["allergies"] == [{"name": "Latex", "reaction": None}, {"name": "Codeine", "reaction": None}]
