"""The simulator's later switches (sandboxes.nexhealth.readings.Reading): PATCH bodies, name and
phone matching, error bodies, timestamps, scalars, nulls and paging edge cases."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

import pytest

from sandboxes.nexhealth.app import MAIN_LOCATION_ID, location_id_of
from sandboxes.nexhealth.new_patient import SPELLINGS
from sandboxes.nexhealth.readings import Reading
from tests.unit.sandboxes.nexhealth.harness import (
    LIVE,
    SCOPE,
    Api,
    make_api,
    new_patient_body,
    nexhealth_id,
)

UNLIMITED = {"rate_per_second": 10_000, "rate_per_minute": 100_000}


def _api(**switches: Any) -> Api:
    return make_api(**UNLIMITED, **switches)


def _created(api: Api, **over: Any) -> dict[str, Any]:
    response = api.create(new_patient_body(**over))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return dict(data.get("patient", data))


def _patch(api: Api, patient_id: Any, body: Any) -> Any:
    return api.call("PATCH", f"/patients/{patient_id}", params=SCOPE, json=body)


# -- PATCH /patients/{id} -----------------------------------------------------------------------


def test_patch_takes_the_nested_body_and_refuses_the_flat_one_by_default() -> None:
    api = _api()
    created = _created(api)
    response = _patch(api, created["id"], {"patient": {"last_name": "Renamed", "bio": {"gender": "Other"}}})
    assert response.status_code == 200, response.text
    patient = response.json()["data"]["patient"]
    assert (patient["last_name"], patient["bio"]["gender"], patient["name"]) == ("Renamed", "Other", "Ada Renamed")
    assert patient["first_name"] == "Ada"  # what was not sent stays
    refused = _patch(api, created["id"], {"last_name": "Flat"})
    assert (refused.status_code, refused.json()["error"]) == (400, ["No patient fields given"])


def test_a_flat_patch_reading_refuses_the_nested_body() -> None:
    api = _api(patch_body="flat")
    created = _created(api)
    assert _patch(api, created["id"], {"patient": {"last_name": "Nested"}}).status_code == 400
    response = _patch(api, created["id"], {"last_name": "Flat", "bio": {"phone_number": "(312) 555-0001"}})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["patient"]["bio"]["phone_number"] == "3125550001"


def test_patch_checks_formats_duplicates_and_the_record() -> None:
    api = _api()
    created = _created(api)
    other = next(p for p in LIVE if p.email)
    bad = _patch(api, created["id"], {"patient": {"email": "nope", "bio": {"gender": "female"}}})
    assert bad.json()["error"] == ["patient.email is invalid", "patient.bio.gender must be one of Male, Female, Other"]
    duplicate = _patch(api, created["id"], {"patient": {"email": other.email}})
    assert duplicate.json()["error"] == ["A patient with that information already exists."]
    assert _patch(api, created["id"], {"patient": {"email": created["email"]}}).status_code == 200  # its own
    assert _patch(api, 999_999, {"patient": {"last_name": "X"}}).status_code == 404


def test_an_edit_validated_as_a_create_wants_every_required_field() -> None:
    api = _api(edit_fields="whole", gender_at="top")
    created = _created(api, gender="Female")
    refused = _patch(api, created["id"], {"patient": {"last_name": "Renamed", "bio": {"date_of_birth": "1990-01-02"}}})
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        ["patient.first_name is required", "patient.email is required", "patient.bio.phone_number is required",
         "patient.gender is required"],
    )  # fmt: skip
    whole = {
        "first_name": "Ada",
        "last_name": "Renamed",
        "email": created["email"],
        "gender": "Female",
        "bio": {"date_of_birth": "1990-01-02", "phone_number": created["bio"]["phone_number"]},
    }
    response = _patch(api, created["id"], {"patient": whole})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["patient"]["last_name"] == "Renamed"


# -- name and phone matching --------------------------------------------------------------------


def _found(api: Api, **params: Any) -> set[int]:
    body = api.call("GET", "/patients", params={**SCOPE, "per_page": 1000, **params}).json()
    return {p["id"] for p in body["data"]["patients"]}


def test_accent_sensitive_and_nfd_readings_miss_what_folding_finds() -> None:
    # Prefix matching: fuzzy matching forgives one typo, which an accent may count as.
    folded = _api()
    sensitive = _api(name_accents="sensitive", name_match="prefix")
    nfd = _api(name_accents="sensitive_nfd", name_match="prefix")
    ids = [_created(api, first_name="Renée", last_name="Nuñez")["id"] for api in (folded, sensitive, nfd)]
    assert ids[0] in _found(folded, name="nunez") and ids[0] in _found(folded, name="Renée")
    assert ids[1] not in _found(sensitive, name="nunez") and ids[1] in _found(sensitive, name="NUÑEZ")
    assert ids[2] not in _found(nfd, name="Renée") and ids[2] in _found(nfd, name="ren")
    served = nfd.ok(f"/patients/{ids[2]}")["data"]["patient"]["first_name"]
    assert served == unicodedata.normalize("NFD", "Renée") != "Renée"


def test_prefix_substring_and_any_token_readings() -> None:
    fuzzy, prefix, substring = _api(), _api(name_match="prefix"), _api(name_match="substring")
    anyone = _api(name_tokens="any")
    smith = {nexhealth_id(p) for p in LIVE if p.last_name == "Smith"}
    assert smith and smith <= _found(fuzzy, name="Smtih") and not smith & _found(prefix, name="Smtih")
    assert smith <= _found(substring, name="mit") and not smith & _found(prefix, name="mit")
    assert smith <= _found(anyone, name="Smith Nobodyxyz") and not smith & _found(fuzzy, name="Smith Nobodyxyz")


def test_phones_as_stored_are_served_formatted_and_matched_only_as_that_text() -> None:
    api = _api(phones="as_stored")
    patient = next(p for p in LIVE if p.mobile_phone)
    digits = patient.mobile_phone or ""
    formatted = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    assert nexhealth_id(patient) in _found(api, phone_number=formatted)
    assert nexhealth_id(patient) not in _found(api, phone_number=digits)
    assert api.ok(f"/patients/{nexhealth_id(patient)}")["data"]["patient"]["bio"]["phone_number"] == formatted


# -- how answers are written --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("list", {"error": ["Patient not found"], "description": None}),
        ("string", {"error": "Patient not found", "description": None}),
        ("description", {"error": None, "description": "Patient not found"}),
    ],
)
def test_error_bodies(style: str, expected: dict[str, Any]) -> None:
    body = _api(error_body=style).call("GET", "/patients/999999", params=SCOPE).json()
    assert body == {"code": False, "data": None, **expected}


def test_a_nestjs_error_body() -> None:
    # NestJS's HttpException: no envelope, `message` the words, `error` the reason phrase.
    body = _api(error_body="nestjs").call("GET", "/patients/999999", params=SCOPE).json()
    assert body == {"statusCode": 404, "message": "Patient not found", "error": "Not Found"}


def test_a_bare_text_error_body() -> None:
    # Express's `res.status(404).send(message)`: the words alone, text/html, no JSON.
    answer = _api(error_body="text").call("GET", "/patients/999999", params=SCOPE)
    assert (answer.status_code, answer.text) == (404, "Patient not found")
    assert answer.headers["content-type"].startswith("text/html")


def test_timestamps_scalars_and_nulls() -> None:
    patient = LIVE[0]
    offset = _api(timestamps="offset").ok(f"/patients/{nexhealth_id(patient)}")["data"]["patient"]
    assert offset["created_at"].endswith("+00:00") and "." in offset["created_at"]
    seconds = _api(timestamps="seconds").ok(f"/patients/{nexhealth_id(patient)}")["data"]["patient"]
    assert seconds["created_at"].endswith("Z") and "." not in seconds["created_at"]
    strings = _api(scalars="strings")
    body = strings.call("GET", "/patients", params={**SCOPE, "per_page": 2}).json()
    first = body["data"]["patients"][0]
    assert isinstance(body["count"], str) and body["count"].isdigit()
    assert isinstance(first["id"], str) and first["inactive"] in ("true", "false")
    absent = _api(nulls="absent").ok("/patients", per_page=1000)["data"]["patients"]
    assert all(None not in p.values() and None not in p["bio"].values() for p in absent)
    assert any("middle_name" not in p for p in absent)


def test_count_absent_and_a_page_past_the_end_answered_with_the_last_page() -> None:
    api = _api(count="absent", past_end="last")
    last = api.call("GET", "/patients", params={**SCOPE, "per_page": 100, "page": 3}).json()
    past = api.call("GET", "/patients", params={**SCOPE, "per_page": 100, "page": 9}).json()
    assert "count" not in past and past["data"] == last["data"] and past["data"]["patients"]
    empty = _api().call("GET", "/patients", params={**SCOPE, "per_page": 100, "page": 9}).json()
    assert empty["data"]["patients"] == [] and empty["count"] > 0


@pytest.mark.parametrize(("reading", "size"), [("max_1000", 100), ("max_50", 50), ("ignored", 5)])
def test_per_page_is_capped_or_ignored_and_count_stays_the_total(reading: str, size: int) -> None:
    api = _api(per_page=reading)
    body = api.call("GET", "/patients", params={**SCOPE, "per_page": 100, "page": 2}).json()
    everyone = _api().call("GET", "/patients", params={**SCOPE, "per_page": 1000}).json()
    assert len(body["data"]["patients"]) == size and body["count"] == len(everyone["data"]["patients"])
    assert body["data"]["patients"] == everyone["data"]["patients"][size : 2 * size]


@pytest.mark.parametrize(
    ("reading", "words"),
    [
        ("refused_50", "per_page must be less than or equal to 50"),
        ("refused_50_humanized", "Per page must be less than or equal to 50"),
    ],
)
def test_a_page_size_above_50_is_refused_in_the_readings_words(reading: str, words: str) -> None:
    api = _api(per_page=reading)
    refused = api.call("GET", "/patients", params={**SCOPE, "per_page": 51})
    assert (refused.status_code, refused.json()["error"]) == (400, [words])
    assert api.call("GET", "/patients", params={**SCOPE, "per_page": 50}).status_code == 200


@pytest.mark.parametrize(("patient_list", "data"), [("object", {}), ("wrapped", [{}]), ("array", [])])
def test_a_list_of_no_one_is_left_out_as_go_omits_an_empty_slice(patient_list: str, data: Any) -> None:
    api = _api(empty_lists="omitted", patient_list=patient_list)
    body = api.call("GET", "/patients", params={**SCOPE, "email": "nobody@example.org"}).json()
    assert body["data"] == data and "count" not in body
    past = api.call("GET", "/patients", params={**SCOPE, "per_page": 1000, "page": 9}).json()
    assert past["data"] == data and past["count"] > 0  # a page past the end: the total is no zero
    someone = api.call("GET", "/patients", params={**SCOPE, "per_page": 1}).json()
    assert someone["count"] > 0 and someone["data"] != data


def test_no_one_is_a_404_without_a_body_under_no_body() -> None:
    api = _api(empty_lists="no_body")
    for path, params in (
        ("/patients", {**SCOPE, "email": "nobody@example.org"}),
        ("/patients/999999999", SCOPE),
        ("/appointments/999999999", {"subdomain": SCOPE["subdomain"]}),
    ):
        answer = api.call("GET", path, params=params)
        assert (answer.status_code, answer.content) == (404, b""), path
    assert api.call("GET", "/patients", params={**SCOPE, "per_page": 1}).json()["count"] > 0
    unknown = api.call("GET", "/patients", params={**SCOPE, "location_id": 999})
    assert unknown.status_code == 404 and unknown.json()["error"] == ["Location not found"]  # the API's words


@pytest.mark.parametrize(
    ("birth_dates", "birth_search", "finds"),
    [
        ("date", "instant", True),
        ("datetime", "instant", True),  # `new Date(day)` is the UTC midnight stored
        ("east_midnight", "instant", False),  # ...not the Berlin midnight stored
        ("zoned", "instant", False),  # Rails casts the day to Eastern midnight; UTC midnights stored
        ("zoned", "day", True),
    ],
)
def test_a_birth_date_search_casts_the_day_as_its_framework_does(
    birth_dates: str, birth_search: str, finds: bool
) -> None:
    api = _api(birth_dates=birth_dates, birth_search=birth_search)
    everyone = _api().ok("/patients", per_page=1000)["data"]["patients"]
    someone = next(p for p in everyone if p["bio"]["date_of_birth"])
    found = api.ok("/patients", per_page=1000, date_of_birth=someone["bio"]["date_of_birth"])["data"]["patients"]
    assert (someone["id"] in [p["id"] for p in found]) is finds


@pytest.mark.parametrize(("patient_envelope", "data"), [("nested", {"patient": None}), ("flat", None)])
def test_a_read_of_no_one_is_null_under_missing_read_null(patient_envelope: str, data: Any) -> None:
    api = _api(missing_read="null", patient_envelope=patient_envelope)
    answer = api.call("GET", "/patients/999999999", params=SCOPE)
    assert (answer.status_code, answer.json()["code"], answer.json()["data"]) == (200, True, data)
    visit = api.call("GET", "/appointments/999999999", params={"subdomain": SCOPE["subdomain"]})
    assert (visit.status_code, visit.json()["data"]) == (200, {"appointment": None})
    someone = api.ok("/patients", per_page=1)["data"]["patients"][0]
    assert api.call("GET", f"/patients/{someone['id']}", params=SCOPE).json()["data"] is not None


def test_appointments_may_carry_their_providers_id_alone() -> None:
    window = {**SCOPE, "start": "1900-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z", "per_page": 1000}
    shown = _api().ok("/appointments", **window)["data"]
    absent = _api(provider_names="absent").ok("/appointments", **window)["data"]
    assert shown and all(a["provider_name"] for a in shown)
    assert absent == [{k: v for k, v in a.items() if k != "provider_name"} for a in shown]
    upcoming = _api(provider_names="absent").ok("/patients", per_page=1000, include_upcoming_appts="true")
    entries = [entry for p in upcoming["data"]["patients"] for entry in p["upcoming_appts"]]
    assert entries and all("provider_name" not in entry and entry["provider_id"] for entry in entries)


def test_unknown_readings_are_refused() -> None:
    with pytest.raises(ValueError, match="name_match"):
        Reading(name_match="soundex")  # type: ignore[arg-type]


def test_a_flat_patch_reading_may_ignore_the_nested_body_with_a_200() -> None:
    api = _api(patch_body="flat_ignoring")
    created = _created(api)
    response = _patch(api, created["id"], {"patient": {"last_name": "Nested"}})
    assert response.status_code == 200 and response.json()["data"]["patient"]["last_name"] == created["last_name"]


def test_count_as_the_records_of_this_answer() -> None:
    api = _api(count="page")
    body = api.call("GET", "/patients", params={**SCOPE, "per_page": 7, "page": 2}).json()
    assert len(body["data"]["patients"]) == 7 and body["count"] == 7
    past = api.call("GET", "/patients", params={**SCOPE, "per_page": 7, "page": 900}).json()
    assert past["data"]["patients"] == [] and past["count"] == 0


def test_pages_numbered_from_zero() -> None:
    everyone = _api().ok("/patients", per_page=1000)["data"]["patients"]
    api = _api(page_base="zero")
    pages = {page: api.ok("/patients", per_page=5, page=page)["data"]["patients"] for page in (0, 1)}
    assert pages[0] == everyone[:5] and pages[1] == everyone[5:10]
    assert api.ok("/patients", per_page=5)["data"]["patients"] == everyone[:5]  # no `page`: the first


def test_a_flat_create_body_takes_the_patient_fields_at_the_top_level() -> None:
    api = _api(create_body="flat")
    nested = new_patient_body()
    refused = api.create(nested)
    assert refused.status_code == 400 and "first_name is required" in refused.json()["error"]
    created = api.create({**nested["patient"]})  # no provider: the docs name none
    assert created.status_code == 201, created.text
    assert created.json()["data"]["patient"]["last_name"] == "Quintrell"


@pytest.mark.parametrize(("genders", "female"), [("capitalized", "Female"), ("lower", "female"), ("letters", "F")])
def test_genders_are_taken_and_served_in_one_spelling(genders: str, female: str) -> None:
    api = _api(genders=genders)
    served = {p["bio"]["gender"] for p in api.ok("/patients", per_page=1000)["data"]["patients"]}
    assert female in served and served <= {*SPELLINGS[genders], None}
    others = [g for g in ("Female", "female", "F") if g != female]
    refused = api.create(new_patient_body(bio={"gender": others[0]}))
    assert refused.status_code == 400 and "bio.gender must be one of" in refused.json()["error"][0]
    assert _created(api, bio={"gender": female})["bio"]["gender"] == female


@pytest.mark.parametrize(("answer", "data"), [("id", {"id": 1241}), ("none", None)])
def test_a_create_may_answer_the_new_id_only_or_nothing(answer: str, data: Any) -> None:
    api = _api(create_answer=answer)
    created = api.create(new_patient_body())
    assert created.status_code == 201 and created.json()["data"] == data
    assert api.ok("/patients", email="ada.quintrell@example.com")["data"]["patients"][0]["id"] == 1241


def test_an_object_error_body_and_a_duplicate_answered_409() -> None:
    api = _api(error_body="object", duplicate_status="409")
    _created(api)
    again = api.create(new_patient_body())
    assert again.status_code == 409 and again.json()["error"] == {"base": ["Duplicate patient"]}
    refused = api.create(new_patient_body(email="not-an-email"))
    assert refused.status_code == 400 and refused.json()["error"] == {"base": ["patient.email is invalid"]}


# -- bodies refused whole for a key they should not hold, and genders refused in each framework's words --


def _current(api: Api, patient_id: Any) -> dict[str, Any]:
    data = api.ok(f"/patients/{patient_id}")["data"]
    return dict(data.get("patient", data))


@pytest.mark.parametrize(
    ("error_body", "status", "said"),
    [
        ("list", 400, {"error": ["found unpermitted parameters: :date_of_birth, :phone_number"]}),
        ("fields", 400, {"non_field_errors": ["Unknown field(s): date_of_birth, phone_number"]}),
        (
            "nestjs",
            400,
            {
                "statusCode": 400,
                "message": ["property date_of_birth should not exist", "property phone_number should not exist"],
                "error": "Bad Request",
            },
        ),
    ],
)
def test_an_edit_holding_a_key_its_shape_does_not_declare_is_refused_whole(
    error_body: str, status: int, said: dict[str, Any]
) -> None:
    # A flat edit takes `bio` as an object: `bio`'s fields beside the names are unknown keys.
    api = _api(patch_body="flat", unknown_keys="refused", error_body=error_body)
    created = _created(api)
    body = {"last_name": "Renamed", "bio": {"date_of_birth": "1990-05-18"}, "date_of_birth": "1990-05-18",
            "phone_number": "3125550002"}  # fmt: skip
    refused = _patch(api, created["id"], body)
    assert refused.status_code == status, refused.text
    assert {k: v for k, v in refused.json().items() if k in said} == said
    assert _current(api, created["id"])["last_name"] == created["last_name"]  # nothing of it applied
    taken = _patch(api, created["id"], {"last_name": "Renamed", "bio": {"date_of_birth": "1990-05-18"}})
    assert taken.status_code == 200, taken.text


def test_nestjs_names_an_unknown_key_of_a_nested_object_after_its_parent() -> None:
    api = _api(unknown_keys="refused", error_body="nestjs", gender_at="top")
    refused = api.create(new_patient_body(gender="Female"))  # `bio.gender` where gender is beside `bio`
    assert refused.json()["message"] == ["patient.bio.property gender should not exist"], refused.text
    taken = new_patient_body(gender="Female")
    del taken["patient"]["bio"]["gender"]
    assert api.create(taken).status_code == 201


def test_fastapi_refuses_an_unknown_key_with_the_bodys_other_faults_as_its_422() -> None:
    api = _api(unknown_keys="refused", error_body="pydantic", create_body="fully_flat", genders="letters")
    refused = api.create(new_patient_body())  # the nested body, to a fully flat reading
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert detail[0] == {
        "type": "extra_forbidden",
        "loc": ["body", "patient"],
        "msg": "Extra inputs are not permitted",
        "input": new_patient_body()["patient"],
    }
    assert {"type": "missing", "loc": ["body", "first_name"], "msg": "Field required"}.items() <= detail[1].items()
    flat = {"first_name": "Ada", "last_name": "Q", "email": "ada.q@example.com", "date_of_birth": "1990-05-17",
            "phone_number": "3125559876", "gender": "Female"}  # fmt: skip
    spelled = api.create(flat)
    assert spelled.status_code == 422, spelled.text
    assert [(e["loc"], e["msg"], e["input"]) for e in spelled.json()["detail"]] == [
        (["body", "gender"], "Input should be 'M', 'F' or 'O'", "Female")
    ]
    assert api.create({**flat, "gender": "F"}).status_code == 201


@pytest.mark.parametrize(
    ("reading", "status", "message"),
    [
        ({"genders": "lower"}, 400, "patient.bio.gender must be one of male, female, other"),
        (
            {"genders": "lower", "error_body": "nestjs"},
            400,
            "patient.bio.gender must be one of the following values: male, female, other",
        ),
        ({"genders": "lower", "unknown_gender": "not_included"}, 422, "patient.bio.gender is not included in the list"),
    ],
)
def test_a_gender_spelling_not_taken_is_refused_in_each_frameworks_words(
    reading: dict[str, str], status: int, message: str
) -> None:
    api = _api(**reading)
    refused = api.create(new_patient_body())  # `Female`
    assert refused.status_code == status, refused.text
    body = refused.json()
    assert message in body["message" if "statusCode" in body else "error"], refused.text
    created = _created(api, bio={"gender": "female"})
    edit = _patch(api, created["id"], {"patient": {"last_name": "Renamed", "bio": {"gender": "Male"}}})
    assert edit.status_code == status, edit.text
    assert _current(api, created["id"])["last_name"] == created["last_name"]


@pytest.mark.parametrize(
    ("birth_dates", "written"),
    [
        ("datetime", "{day}T00:00:00.000Z"),
        # A Berlin server's midnight in UTC (1:00 or 2:00 ahead), Rails' UTC midnight in Eastern Time.
        ("east_midnight", ("{before}T23:00:00.000Z", "{before}T22:00:00.000Z")),
        ("zoned", ("{before}T19:00:00.000-05:00", "{before}T20:00:00.000-04:00")),
    ],
)
def test_a_date_of_birth_served_as_a_date_time(birth_dates: str, written: str | tuple[str, str]) -> None:
    patient = next(p for p in LIVE if p.birth_date)
    assert patient.birth_date is not None
    served = _api(birth_dates=birth_dates).ok(f"/patients/{nexhealth_id(patient)}")["data"]["patient"]
    forms = (written,) if isinstance(written, str) else written
    day, before = patient.birth_date, patient.birth_date - timedelta(days=1)
    assert served["bio"]["date_of_birth"] in {form.format(day=day, before=before) for form in forms}
    by_birth = _api(birth_dates=birth_dates).patients(date_of_birth=day.isoformat())  # searches take the date
    assert nexhealth_id(patient) in [p["id"] for p in by_birth]


@pytest.mark.parametrize(("birth_dates", "zero"), [("date", "0001-01-01"), ("datetime", "0001-01-01T00:00:00Z")])
def test_a_date_of_birth_never_recorded_may_be_served_as_a_zero_date(birth_dates: str, zero: str) -> None:
    unknown = next(p for p in LIVE if p.birth_date is None)
    path = f"/patients/{nexhealth_id(unknown)}"
    assert _api(birth_dates=birth_dates).ok(path)["data"]["patient"]["bio"]["date_of_birth"] is None
    served = _api(birth_dates=birth_dates, birth_date_unset="zero").ok(path)["data"]["patient"]
    assert served["bio"]["date_of_birth"] == zero


def test_a_write_may_answer_the_patient_without_bio() -> None:
    # Prisma's `create`/`update` without `include: {bio: true}`: reads still load it.
    api = _api(written_bio="absent")
    answered = _created(api)
    assert "bio" not in answered and answered["first_name"] == "Ada"
    edited = _patch(api, answered["id"], {"patient": {"bio": {"date_of_birth": "1990-01-02"}}})
    assert edited.status_code == 200 and "bio" not in edited.json()["data"]["patient"]
    read = api.ok(f"/patients/{answered['id']}")["data"]["patient"]
    assert read["bio"]["date_of_birth"] == "1990-01-02"


def test_a_null_in_an_edits_bio_may_be_refused_in_jois_words() -> None:
    api = _api(bio_nulls="refused")
    created = _created(api)
    refused = _patch(api, created["id"], {"patient": {"bio": {"date_of_birth": "1990-01-02", "city": None}}})
    assert (refused.status_code, refused.json()["error"]) == (400, ['"patient.bio.city" must be a string'])
    assert _patch(api, created["id"], {"patient": {"bio": {"date_of_birth": "1990-01-02"}}}).status_code == 200


def test_a_read_may_find_only_the_patients_of_its_location() -> None:
    elsewhere = next(p for p in LIVE if p.location_id is not None and location_id_of(p.location_id) != MAIN_LOCATION_ID)
    path = f"/patients/{nexhealth_id(elsewhere)}"
    assert _api().call("GET", path, params=SCOPE).status_code == 200
    assert _api(patient_show="location").call("GET", path, params=SCOPE).status_code == 404
    listed = _api(patient_show="location").patients()
    assert nexhealth_id(elsewhere) in {p["id"] for p in listed}  # the institution's list holds it
    forbidden = _api(patient_show="location_forbidden")
    refused = forbidden.call("GET", path, params=SCOPE)
    assert (refused.status_code, refused.json()["error"]) == (
        403,
        ["You are not authorized to view this patient at this location"],
    )
    here = next(p for p in LIVE if location_id_of(p.location_id) == MAIN_LOCATION_ID)
    assert forbidden.call("GET", f"/patients/{nexhealth_id(here)}", params=SCOPE).status_code == 200
    assert forbidden.call("GET", "/patients/999999999", params=SCOPE).status_code == 404


@pytest.mark.parametrize(("edit_scope", "status"), [("location", 404), ("location_forbidden", 403)])
def test_an_edit_may_reach_only_the_patients_of_its_location(edit_scope: str, status: int) -> None:
    elsewhere = next(p for p in LIVE if p.location_id is not None and location_id_of(p.location_id) != MAIN_LOCATION_ID)
    path = f"/patients/{nexhealth_id(elsewhere)}"
    body = {"patient": {"first_name": "Renamed"}}
    assert _patch(_api(), nexhealth_id(elsewhere), body).status_code == 200
    api = _api(edit_scope=edit_scope)
    assert _patch(api, nexhealth_id(elsewhere), body).status_code == status
    home = {**SCOPE, "location_id": location_id_of(elsewhere.location_id)}
    edited = api.call("PATCH", path, params=home, json=body)  # at the patient's own location
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["patient"]["first_name"] == "Renamed"


def test_an_edit_may_be_answered_with_what_it_sent_beside_the_id() -> None:
    api = _api(edit_answer="sent")
    created = _created(api)
    answered = _patch(api, created["id"], {"patient": {"first_name": "Echo", "bio": {"date_of_birth": "1990-01-02"}}})
    assert answered.status_code == 200, answered.text
    assert answered.json()["data"]["patient"] == {
        "id": created["id"],
        "first_name": "Echo",
        "bio": {"date_of_birth": "1990-01-02"},
    }
    read = api.call("GET", f"/patients/{created['id']}", params=SCOPE).json()["data"]["patient"]
    assert (read["first_name"], read["last_name"], read["bio"]["date_of_birth"]) == (
        "Echo",
        created["last_name"],
        "1990-01-02",
    )


def test_a_write_may_be_answered_with_its_status_words_as_text() -> None:
    api = _api(create_answer="status_text", edit_answer="status_text")
    response = api.create(new_patient_body())
    assert (response.status_code, response.text) == (201, "Created")
    assert response.headers["content-type"].startswith("text/plain")
    (created,) = api.patients(email="ada.quintrell@example.com")
    answered = _patch(api, created["id"], {"patient": {"first_name": "Worded"}})
    assert (answered.status_code, answered.text) == (200, "OK")
    read = api.call("GET", f"/patients/{created['id']}", params=SCOPE).json()["data"]["patient"]
    assert read["first_name"] == "Worded"


def test_emails_may_be_stored_lower_cased_and_searched_exactly() -> None:
    api = _api(emails="lowered")
    created = _created(api, email="Ada.Cased@Example.org")
    assert created["email"] == "ada.cased@example.org"
    assert api.patients(email="Ada.Cased@Example.org") == []  # the term as given, compared exactly
    assert [p["id"] for p in api.patients(email="ada.cased@example.org")] == [created["id"]]
