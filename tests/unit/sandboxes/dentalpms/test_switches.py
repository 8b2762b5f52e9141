"""The Dental PMS simulator's switches for what the docs leave open beyond `search`:
a repeated Idempotency-Key, a create's lost answer, a page past the end, archived records, the largest page, and how
answers are spelled."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandboxes.dentalpms.app import create_app
from tests.unit.sandboxes.dentalpms.client import BASE, CLINIC, LIVE, ORG, TOKEN, Api, new_api

NEW = {"first_name": "Ida", "last_name": "Switchtest", "date_of_birth": "1990-01-02"}


def variant(**switches: Any) -> Api:
    return Api(create_app(CLINIC, org_id=ORG, api_token=TOKEN, **switches))


def _create(api: Api, key: str, body: dict[str, Any] = NEW) -> Any:
    return api.call("POST", BASE, json=body, headers={"Idempotency-Key": key})


def test_a_repeated_key_is_replayed_or_refused() -> None:
    replaying = new_api()
    first = _create(replaying, "k1")
    again = _create(replaying, "k1")
    assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert _create(replaying, "k1", {**NEW, "first_name": "Other"}).status_code == 409
    refusing = variant(idempotency="conflict")
    assert _create(refusing, "k1").status_code == 201
    refused = _create(refusing, "k1")
    assert refused.status_code == 409 and refused.json() == {"detail": "Idempotency conflict"}


def test_a_key_may_have_to_be_a_uuid() -> None:
    strict = variant(idempotency_keys="uuid")
    refused = _create(strict, "k1")
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    key = "0f8fad5b-d9cb-469f-a165-70867728950e"
    first = _create(strict, key)
    assert first.status_code == 201 and _create(strict, key).json()["id"] == first.json()["id"]


def test_a_creates_answer_may_be_lost_once_its_patient_stored() -> None:
    losing = variant(create_answers="lost_once")
    lost = _create(losing, "k1", {**NEW, "last_name": "Lostanswer"})
    assert lost.status_code == 503
    again = _create(losing, "k1", {**NEW, "last_name": "Lostanswer"})  # the same key: the stored 201
    assert again.status_code == 201 and again.json()["last_name"] == "Lostanswer"
    listed = losing.call("GET", BASE, params={"search": "Lostanswer"}).json()["items"]
    assert [p["id"] for p in listed] == [again.json()["id"]]


def test_a_keys_failure_may_be_replayed_as_its_answer() -> None:
    failing = variant(idempotency="replay_any", create_answers="lost_once")
    body = {**NEW, "last_name": "Failedafter"}
    assert _create(failing, "k1", body).status_code == 503
    again = _create(failing, "k1", body)  # the same key: the stored failure, not the patient
    assert again.status_code == 503 and again.json() == {"detail": "Service unavailable"}
    assert _create(failing, "k1", {**body, "first_name": "Other"}).status_code == 409
    listed = failing.call("GET", BASE, params={"search": "Failedafter"}).json()["items"]
    assert len(listed) == 1  # stored once all the same


def test_a_validation_error_may_be_a_400() -> None:
    spring = variant(validation_status=400)
    refused = spring.call("POST", BASE, json={"last_name": "Nofirst"})
    assert refused.status_code == 400 and refused.json()["detail"][0]["loc"] == ["body", "first_name"]
    assert spring.get(BASE, params={"page": 0}).status_code == 400
    assert spring.get(f"{BASE}/{LIVE[0].uuid}/nothing-here").status_code == 404  # other refusals as they were


def test_a_patch_null_may_be_refused() -> None:
    strict = variant(patch_nulls="refused")
    pid = _create(strict, "k-null").json()["id"]
    refused = strict.call("PATCH", f"{BASE}/{pid}", json={"base_version": 1, "middle_name": None, "city": "Bern"})
    assert refused.status_code == 422 and [e["loc"] for e in refused.json()["detail"]] == [["body", "middle_name"]]
    taken = strict.call("PATCH", f"{BASE}/{pid}", json={"base_version": 1, "city": "Bern"})
    assert taken.status_code == 200 and taken.json()["city"] == "Bern"


def test_a_page_past_the_end_is_empty_or_not_found() -> None:
    patient = next(p for p in LIVE if p.allergies)
    path = f"{BASE}/{patient.uuid}/allergies"
    assert new_api().ok(path, page=50)["items"] == []
    strict = variant(past_end="not_found")
    assert strict.get(path, params={"page": 50}).status_code == 404
    assert strict.ok(path, page=1)["items"]  # page 1 always answers, even when empty
    assert strict.get(BASE, params={"page": 50}).json() == {"detail": "Page not found"}
    bare = next(p for p in LIVE if not p.problems)
    from_first = variant(past_end="not_found_from_first")
    assert from_first.get(f"{BASE}/{bare.uuid}/diseases", params={"page": 1}).status_code == 404
    assert from_first.ok(path, page=1)["items"]


def test_an_empty_list_is_an_empty_page_or_no_content() -> None:
    bare = next(p for p in LIVE if not p.problems)
    path = f"{BASE}/{bare.uuid}/diseases"
    assert new_api().ok(path)["items"] == []
    spring = variant(empty_lists="no_content", error_bodies="spring")  # spelled as Spring Boot does
    for empty in (spring.get(path), spring.get(BASE, params={"dob_from": "1801-01-01", "dob_to": "1801-01-02"})):
        assert empty.status_code == 204 and empty.content == b""
    nobody = spring.get(f"{BASE}/cursor", params={"dob_from": "1801-01-01", "dob_to": "1801-01-02"})
    assert nobody.status_code == 204 and nobody.content == b""
    assert spring.ok(BASE)["items"]  # a list with records is the envelope, as documented


def test_an_empty_list_may_be_a_404_spelled_as_a_missing_path() -> None:
    bare = next(p for p in LIVE if not p.problems)
    nobody = {"dob_from": "1801-01-01", "dob_to": "1801-01-02"}
    spring = variant(empty_lists="not_found", error_bodies="spring")  # `ResponseEntity.notFound()`
    missing_path = spring.get(f"{BASE}/cursor/no-such-path")
    for empty in (
        spring.get(f"{BASE}/{bare.uuid}/diseases"),
        spring.get(BASE, params=nobody),
        spring.get(f"{BASE}/cursor", params=nobody),
    ):
        assert empty.status_code == 404
        assert empty.json() == missing_path.json() and empty.json()["error"] == "Not Found"
    assert spring.ok(f"{BASE}/cursor")["data"] and spring.ok(BASE)["items"]


def test_archived_records_can_be_gone_or_listed() -> None:
    archived = next(p for p in CLINIC.patients if p.deleted)
    assert new_api().ok(f"{BASE}/{archived.uuid}")["deleted_at"] is not None
    gone = variant(archived_patients="gone")
    assert gone.get(f"{BASE}/{archived.uuid}").status_code == 410
    assert gone.get(f"{BASE}/{archived.uuid}/allergies").status_code == 410
    hiding = variant(archived_patients="not_found")
    for path in ("", "/allergies", "/vital-signs"):
        assert hiding.get(f"{BASE}/{archived.uuid}{path}").json() == {"detail": "Patient not found"}
    assert hiding.call("POST", f"{BASE}/{archived.uuid}/archive").status_code == 404
    assert str(archived.uuid) not in {p["id"] for p in hiding.ok(BASE, status="archived", page_size=200)["items"]}
    assert hiding.call("POST", f"{BASE}/{archived.uuid}/restore").status_code == 200  # restore finds it
    assert hiding.ok(f"{BASE}/{archived.uuid}")["status"] == "inactive"
    owner = next(p for p in LIVE if any(a.deleted for a in p.allergies))
    path = f"{BASE}/{owner.uuid}/allergies"
    hidden = new_api().ok(path, page_size=200)["items"]
    listed = variant(archived_records="listed").ok(path, page_size=200)["items"]
    assert all(a["deleted_at"] is None for a in hidden)
    assert len(listed) == len(owner.allergies) > len(hidden)


def test_a_page_size_above_the_bound_is_refused() -> None:
    bounded = variant(page_size_max=50)
    assert bounded.get(BASE, params={"page_size": 51}).status_code == 422
    assert bounded.get(f"{BASE}/cursor", params={"first": 51}).status_code == 422
    assert len(bounded.ok(BASE, page_size=50)["items"]) == 50
    assert len(new_api().ok(BASE, page_size=100)["items"]) == 100


def test_answers_are_spelled_as_switched() -> None:
    api = variant(timestamps="offset", dates="datetime", scalars="strings", nulls="absent")
    patient = next(p for p in LIVE if p.birth_date and p.middle_name is None)
    record = api.ok(f"{BASE}/{patient.uuid}")
    assert record["created_at"].endswith("+00:00")
    assert record["date_of_birth"] == f"{patient.birth_date.isoformat()}T00:00:00+00:00"
    assert isinstance(record["version"], str) and record["version"].isdigit()
    assert record["premedication_required"] == "false"
    assert "middle_name" not in record
    page = api.ok(BASE, page_size=2)
    assert (page["page"], page["page_size"]) == ("1", "2") and page["total"].isdigit()
    naive = variant(timestamps="naive", scalars="digits").ok(f"{BASE}/{patient.uuid}")
    assert naive["created_at"][-1].isdigit() and naive["premedication_required"] == "0"


def test_the_last_cursor_page_can_leave_page_info_out() -> None:
    api = variant(page_info="sparse")
    last = api.ok(f"{BASE}/cursor", first=5, search=LIVE[0].chart_number)
    assert last["data"] and last["page_info"] == {}
    more = api.ok(f"{BASE}/cursor", first=1)
    assert more["page_info"]["has_next_page"] is True and more["page_info"]["end_cursor"]


def test_error_bodies_are_spelled_as_switched() -> None:
    missing = {"last_name": "Nofirst"}
    documented = new_api().call("POST", BASE, json=missing)
    assert documented.status_code == 422 and documented.json()["detail"][0]["loc"] == ["body", "first_name"]
    text = variant(error_bodies="detail_text").call("POST", BASE, json=missing)
    assert text.status_code == 422 and text.json() == {"detail": "first_name: Field required"}
    wrapped = variant(error_bodies="error_object").get(f"{BASE}/00000000-0000-4000-8000-000000000000")
    assert wrapped.status_code == 404
    assert wrapped.json() == {"error": {"code": 404, "message": "Patient not found"}}
    rails = variant(error_bodies="rails")
    refused = rails.call("POST", BASE, json={**missing, "email": "nope"})
    assert refused.status_code == 422 and set(refused.json()) == {"first_name", "email"}
    assert refused.json()["first_name"] == ["Field required"] and "email" in refused.json()["email"][0]
    assert rails.get(f"{BASE}/00000000-0000-4000-8000-000000000000").json() == {"error": "Patient not found"}


def test_vital_times_are_the_clinics_wall_clock_or_utc() -> None:
    patient = next(p for p in LIVE if any(r.taken_at and not r.deleted for r in p.vitals))
    path = f"{BASE}/{patient.uuid}/vital-signs"
    local = {r["id"]: r for r in new_api().ok(path, page_size=200)["items"]}
    utc = {r["id"]: r for r in variant(vital_times="utc").ok(path, page_size=200)["items"]}
    zone = ZoneInfo(CLINIC.timezone)
    timed = [r for r in local.values() if r["time_taken"]]
    assert timed and local.keys() == utc.keys()
    for record in timed:
        day, clock = date.fromisoformat(record["date_taken"]), time.fromisoformat(record["time_taken"])
        taken = datetime.combine(day, clock, zone).astimezone(UTC)
        served = utc[record["id"]]
        assert (served["date_taken"], served["time_taken"]) == (taken.date().isoformat(), taken.strftime("%H:%M:%SZ"))
    with pytest.raises(ValueError, match="vital_times"):
        variant(vital_times="gmt")


def test_a_patch_null_clears_the_field_or_is_ignored() -> None:
    for switches, email in (({}, None), ({"patch_nulls": "ignored"}, "ida@example.org")):
        api = variant(**switches)
        created = _create(api, "k-null", {**NEW, "email": "ida@example.org"}).json()
        patch = {"base_version": created["version"], "email": None, "city": "Springfield"}
        patched = api.call("PATCH", f"{BASE}/{created['id']}", json=patch)
        assert patched.status_code == 200, patched.text
        assert (patched.json()["email"], patched.json()["city"]) == (email, "Springfield"), switches
    with pytest.raises(ValueError, match="patch_nulls"):
        variant(patch_nulls="dropped")


def test_enums_stand_in_dates_and_defaults_are_spelled_as_switched() -> None:
    patient = next(p for p in LIVE if p.status == "active")
    owner = next(p for p in LIVE if any(m.status == "on_hold" and not m.deleted for m in p.medications))
    upper = variant(enums="upper").ok(f"{BASE}/{owner.uuid}/medications", page_size=200)["items"]
    assert "ON_HOLD" in {m["status"] for m in upper}
    pascal = variant(enums="pascal").ok(f"{BASE}/{owner.uuid}/medications", page_size=200)["items"]
    assert "OnHold" in {m["status"] for m in pascal}
    zero = variant(stand_in_dates="zero").ok(f"{BASE}/{patient.uuid}")
    assert zero["deleted_at"] == "0001-01-01T00:00:00Z" and zero["status"] == "active"
    omitted = variant(defaults="omitted").ok(f"{BASE}/{patient.uuid}")
    assert "status" not in omitted and omitted["first_name"] == patient.first_name


def test_a_reading_of_another_patient_is_found_by_its_uuid_alone_when_switched() -> None:
    owner, other = [p for p in LIVE if any(not r.deleted for r in p.vitals)][:2]
    reading = new_api().ok(f"{BASE}/{owner.uuid}/vital-signs")["items"][0]
    assert new_api().get(f"{BASE}/{other.uuid}/vital-signs/{reading['id']}").status_code == 404
    found = variant(vitals_lookup="by_id").ok(f"{BASE}/{other.uuid}/vital-signs/{reading['id']}")
    assert found["patient"]["uuid"] == str(owner.uuid)


def test_the_counts_may_be_missing() -> None:
    assert variant().get(f"{BASE}/counts/by-location").status_code == 200
    absent = variant(counts_endpoint="absent").get(f"{BASE}/counts/by-location")
    assert absent.status_code == 404 and absent.json() == {"detail": "Not Found"}  # the router's
    stub = variant(counts_endpoint="not_implemented")
    assert stub.get(f"{BASE}/counts/by-location").status_code == 501
    assert stub.get("/api/v1/another-org/patients/counts/by-location").status_code == 404  # the organisation first
    with pytest.raises(ValueError, match="counts_endpoint"):
        variant(counts_endpoint="hidden")


def test_a_date_may_be_a_midnight_of_another_zone() -> None:
    patient = next(p for p in LIVE if p.birth_date)
    day = patient.birth_date
    assert day is not None
    west = variant(dates="utc_midnight_local").ok(f"{BASE}/{patient.uuid}")["date_of_birth"]
    east = variant(dates="local_midnight_utc").ok(f"{BASE}/{patient.uuid}")["date_of_birth"]
    midnight = datetime.combine(day, time(0), UTC)
    assert datetime.fromisoformat(west) == midnight and west.endswith("T19:00:00-05:00")
    assert datetime.fromisoformat(east.replace("Z", "+00:00")) == midnight - timedelta(hours=2)


def test_a_patch_may_check_the_chart_number_against_the_patient_itself() -> None:
    patient = next(p for p in LIVE if p.chart_number)
    for switch, status in (("others", 200), ("any", 409)):
        api = variant(patch_chart_numbers=switch)
        current = api.ok(f"{BASE}/{patient.uuid}")
        body = {"base_version": current["version"], "chart_number": patient.chart_number, "city": "Bern"}
        assert api.call("PATCH", f"{BASE}/{patient.uuid}", json=body).status_code == status, switch


def test_a_date_time_in_a_body_may_have_to_be_rfc_3339() -> None:
    for switch, status in (("lax", 201), ("strict", 422)):
        api = variant(body_dates=switch)
        created = _create(api, f"k-{switch}", {**NEW, "date_time_deceased": "2020-03-15", "status": "deceased"})
        assert created.status_code == status, (switch, created.text)
    refused = _create(api, "k-strict-2", {**NEW, "date_of_birth": "1990-01-02T00:00:00"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "date_of_birth"]
    taken = _create(api, "k-strict-3", {**NEW, "date_time_deceased": "2020-03-15T00:00:00-05:00"})
    assert taken.status_code == 201, taken.text


def test_a_phone_number_in_a_body_may_have_to_be_international() -> None:
    for switch, status in (("any", 201), ("international", 422)):
        api = variant(body_phones=switch)
        created = _create(api, f"k-{switch}", {**NEW, "mobile_phone": "(555) 000-1234"})
        assert created.status_code == status, (switch, created.text)
    assert created.json()["detail"][0]["loc"] == ["body", "mobile_phone"]
    taken = _create(api, "k-international-2", {**NEW, "mobile_phone": "+1 555-000-1234", "home_phone": "+15550001235"})
    assert taken.status_code == 201 and taken.json()["mobile_phone"] == "+1 555-000-1234", taken.text
    body = {"base_version": taken.json()["version"], "work_phone": "5550001236"}
    refused = api.call("PATCH", f"{BASE}/{taken.json()['id']}", json=body)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "work_phone"]


def test_answers_may_be_wrapped_in_data() -> None:
    patient = LIVE[0]
    path = f"{BASE}/{patient.uuid}"
    bare = new_api().ok(path)
    records = variant(wrappers="records")
    assert records.ok(path) == {"data": bare}
    assert "items" in records.ok(BASE, page_size=1)  # a list envelope as documented
    every = variant(wrappers="all")
    assert every.ok(path) == {"data": bare}
    assert set(every.ok(BASE, page_size=1)) == {"data"} and "items" in every.ok(BASE, page_size=1)["data"]
    refused = every.call("PATCH", path, json={"base_version": 999, "city": "Bern"})
    assert refused.status_code == 409 and refused.json() == {"detail": "Version conflict"}  # errors never
    with pytest.raises(ValueError, match="wrappers"):
        variant(wrappers="envelope")


def test_chart_numbers_may_be_the_practices_alone() -> None:
    api = variant(chart_numbers="assigned")
    held = next(p.chart_number for p in LIVE if p.chart_number)
    created = _create(api, "k-assigned", {**NEW, "chart_number": held})  # in use, yet no 409: dropped
    assert created.status_code == 201 and created.json()["chart_number"] not in (held, None), created.text
    body = {"base_version": created.json()["version"], "chart_number": "MINE", "city": "Bern"}
    patched = api.call("PATCH", f"{BASE}/{created.json()['id']}", json=body)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["chart_number"], patched.json()["city"]) == (created.json()["chart_number"], "Bern")


def test_a_write_may_answer_only_what_it_saved() -> None:
    api = variant(write_answers="saved_fields")
    patient = next(p for p in LIVE if p.status == "active")
    path = f"{BASE}/{patient.uuid}"
    current = api.ok(path)
    patched = api.call("PATCH", path, json={"base_version": current["version"], "city": "Bern"})
    assert patched.status_code == 200, patched.text
    assert set(patched.json()) == {"id", "city", "version", "updated_at"}
    assert patched.json()["version"] == current["version"] + 1
    moved = api.call(
        "POST", f"{path}/transition-status", json={"base_version": current["version"] + 1, "new_status": "inactive"}
    )
    assert moved.status_code == 200 and moved.json()["status"] == "inactive" and "first_name" not in moved.json()
    assert api.ok(path)["first_name"] == current["first_name"]  # the whole patient, as stored


def test_a_base_version_may_have_to_be_text() -> None:
    patient = next(p for p in LIVE if p.status == "active")
    path = f"{BASE}/{patient.uuid}"
    for switch, status in (("number", 200), ("text", 400)):
        api = variant(body_versions=switch)
        version = api.ok(path)["version"]
        answer = api.call("PATCH", path, json={"base_version": version, "city": "Bern"})
        assert answer.status_code == status, (switch, answer.text)
    moved = api.call("POST", f"{path}/transition-status", json={"base_version": version, "new_status": "inactive"})
    assert moved.status_code == 400 and "string struct tag" in moved.json()["detail"]
    taken = api.call("PATCH", path, json={"base_version": str(version), "city": "Bern"})
    assert taken.status_code == 200 and taken.json()["version"] == version + 1, taken.text


def test_a_list_total_may_count_archived_patients() -> None:
    archived = sum(1 for p in CLINIC.patients if p.deleted)
    assert archived
    listed = variant().ok(BASE, page_size=1)["total"]
    assert variant(list_totals="with_archived").ok(BASE, page_size=1)["total"] == listed + archived
    assert variant(list_totals="with_archived").ok(BASE, page_size=1, status="active")["total"] == sum(
        1 for p in LIVE if p.status == "active"
    )


@pytest.mark.parametrize(
    "switch",
    [
        "archive_versions",
        "empty_patches",
        "create_statuses",
        "death_dates",
        "patch_nulls",
        "write_answers",
        "query_booleans",
        "empty_lists",
        "version_conflicts",
        "patch_chart_numbers",
        "body_dates",
        "body_phones",
        "chart_numbers",
        "body_versions",
    ],
)
def test_a_misspelt_store_switch_stops_the_simulator_naming_its_readings(switch: str) -> None:
    # Played silently as the documented reading, it would pass a test against no vendor at all.
    with pytest.raises(ValueError, match=rf"^{switch} must be one of '?\w+'?, .* not 'misspelt'$"):
        variant(**{switch: "misspelt"})


def test_a_vital_sign_not_taken_may_be_written_as_zero() -> None:
    owner = next(p for p in LIVE if any(not r.deleted and r.bmi_percentile is None for r in p.vitals))
    path = f"{BASE}/{owner.uuid}/vital-signs"
    documented = new_api().ok(path, page_size=200)["items"]
    zeros = variant(stand_in_numbers="zero").ok(path, page_size=200)["items"]
    assert [r["id"] for r in zeros] == [r["id"] for r in documented]
    untaken = [(z, d) for z, d in zip(zeros, documented, strict=True) if d["bmi_percentile"] is None]
    assert untaken and all(z["bmi_percentile"] == 0 for z, _ in untaken)
    assert all(z["weight_lbs"] == "0.00" for z, d in untaken if d["weight_lbs"] is None)
    assert all(z["pulse"] == d["pulse"] for z, d in untaken if d["pulse"] is not None)
    with pytest.raises(ValueError, match="stand_in_numbers"):
        variant(stand_in_numbers="minus_one")


def test_enum_query_values_may_be_taken_only_as_constants_names() -> None:
    named = variant(query_enums="names")
    refused = named.get(f"{BASE}/cursor", params={"status": "inactive", "sort_by": "LAST_NAME"})
    assert refused.status_code == 400 and "'status'" in refused.json()["detail"]
    listed = named.ok(f"{BASE}/cursor", status="INACTIVE", sort_by="LAST_NAME", sort_dir="DESC", first=200)["data"]
    documented = new_api().ok(f"{BASE}/cursor", status="inactive", sort_by="last_name", sort_dir="desc", first=200)
    assert [p["id"] for p in listed] == [p["id"] for p in documented["data"]] and listed
    assert named.get(f"{BASE}", params={"sort_dir": "Asc"}).status_code == 400
    owner = next(p for p in LIVE if any(q.status == "resolved" and not q.deleted for q in p.problems))
    diseases = f"{BASE}/{owner.uuid}/diseases"
    assert named.get(diseases, params={"problem_status": "resolved"}).status_code == 400
    assert (
        named.ok(diseases, problem_status="RESOLVED")["items"]
        == new_api().ok(diseases, problem_status="resolved")["items"]
    )
    with pytest.raises(ValueError, match="query_enums"):
        variant(query_enums="upper")


def test_enum_body_values_may_be_taken_only_as_constants_names() -> None:
    named = variant(body_enums="names")
    refused = _create(named, "k-lower", {**NEW, "gender": "female"})
    assert refused.status_code == 400 and "FEMALE" in refused.json()["detail"], refused.text
    assert _create(named, "k-pascal", {**NEW, "gender": "Female"}).status_code == 400
    created = _create(
        named, "k-upper", {**NEW, "gender": "NON_BINARY", "marital_status": "MARRIED", "status": "INACTIVE"}
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert (record["gender"], record["marital_status"], record["status"]) == ("non_binary", "married", "inactive")
    path = f"{BASE}/{record['id']}"
    assert named.call("PATCH", path, json={"base_version": record["version"], "gender": "male"}).status_code == 400
    moved = named.call(
        "POST", f"{path}/transition-status", json={"base_version": record["version"], "new_status": "ACTIVE"}
    )
    assert moved.status_code == 200 and moved.json()["status"] == "active", moved.text
    # The documented reading takes only the documented spelling, as the reference's enum does.
    assert _create(new_api(), "k-doc", {**NEW, "gender": "FEMALE"}).status_code == 422
    with pytest.raises(ValueError, match="body_enums"):
        variant(body_enums="upper")


def test_a_query_boolean_may_be_read_as_the_truthiness_of_its_text() -> None:
    owner = next(p for p in LIVE if {a.active for a in p.allergies if not a.deleted} == {True, False})
    path = f"{BASE}/{owner.uuid}/allergies"
    active = new_api().ok(path, is_active="true")["items"]
    truthy = variant(query_booleans="truthy")
    assert truthy.ok(path, is_active="false")["items"] == active == truthy.ok(path, is_active="0")["items"]
    assert new_api().ok(path, is_active="false")["items"] != active


def test_a_patients_deleted_at_may_be_left_out_of_every_answer() -> None:
    archived = next(p for p in CLINIC.patients if p.deleted)
    hidden = variant(patient_deleted_at="hidden")
    read = hidden.ok(f"{BASE}/{archived.uuid}")
    assert "deleted_at" not in read and read["status"] == "archived"
    assert new_api().ok(f"{BASE}/{archived.uuid}")["deleted_at"]
    listed = hidden.ok(f"{BASE}/cursor", status="archived", first=200)["data"]
    assert listed and all("deleted_at" not in p for p in listed)
    with pytest.raises(ValueError, match="patient_deleted_at"):
        variant(patient_deleted_at="absent")


def test_a_vital_signs_date_may_hold_the_moment_taken() -> None:
    patient = next(p for p in LIVE if any(r.taken_at and not r.deleted for r in p.vitals))
    path = f"{BASE}/{patient.uuid}/vital-signs"
    local = new_api().ok(path, page_size=200)["items"]
    instant = {r["id"]: r for r in variant(vital_times="instant").ok(path, page_size=200)["items"]}
    zone = ZoneInfo(CLINIC.timezone)
    for record in local:
        served = instant[record["id"]]
        if not record["time_taken"]:
            assert (served["date_taken"], served["time_taken"]) == (f"{record['date_taken']}T00:00:00", None)
            continue
        day, clock = date.fromisoformat(record["date_taken"]), time.fromisoformat(record["time_taken"])
        taken = datetime.combine(day, clock, zone).astimezone(UTC)
        assert (served["date_taken"], served["time_taken"]) == (
            taken.strftime("%Y-%m-%dT%H:%M:%SZ"),
            taken.strftime("%H:%M:%S"),
        )


def test_a_snomed_reaction_may_be_written_as_its_term_or_an_expression() -> None:
    owner = next(p for p in LIVE if any(a.reaction_snomed and not a.deleted for a in p.allergies))
    path = f"{BASE}/{owner.uuid}/allergies"
    coded = [a for a in new_api().ok(path, page_size=200)["items"] if a["snomed_reaction"]]
    terms = {a["id"]: a for a in variant(snomed_reactions="term").ok(path, page_size=200)["items"]}
    expressions = {a["id"]: a for a in variant(snomed_reactions="expression").ok(path, page_size=200)["items"]}
    assert coded
    for allergy in coded:
        assert terms[allergy["id"]]["snomed_reaction"] == allergy["reaction"]
        assert expressions[allergy["id"]]["snomed_reaction"] == f"{allergy['snomed_reaction']} |{allergy['reaction']}|"
    with pytest.raises(ValueError, match="snomed_reactions"):
        variant(snomed_reactions="display")


def test_every_write_may_have_to_carry_a_key_replayed_for_that_write_alone() -> None:
    keyed = variant(write_keys="every_write")
    patient = keyed.call("GET", BASE, params={"page_size": 1}).json()["items"][0]
    one = f"{BASE}/{patient['id']}"
    body = {"base_version": patient["version"], "city": "Peoria"}
    missing = keyed.call("PATCH", one, json=body)
    assert missing.status_code == 400 and missing.json() == {"detail": "Idempotency-Key header is required"}
    assert keyed.call("POST", BASE, json=NEW).status_code == 400  # a create too
    first = keyed.call("PATCH", one, json=body, headers={"Idempotency-Key": "w1"})
    assert first.status_code == 200 and first.json()["version"] == patient["version"] + 1
    again = keyed.call("PATCH", one, json=body, headers={"Idempotency-Key": "w1"})  # replayed, not stale
    assert again.status_code == 200 and again.json() == first.json()
    other = keyed.call("PATCH", one, json={**body, "city": "Joliet"}, headers={"Idempotency-Key": "w1"})
    assert other.status_code == 409 and other.json() == {"detail": "Idempotency conflict"}
    # The documented simulator reads no key on a PATCH.
    plain = new_api()
    assert plain.call("PATCH", one, json=body).status_code == 200


def test_a_patch_may_leave_the_version_as_it_was() -> None:
    keeping = variant(patch_versions="kept")
    patient = keeping.call("GET", BASE, params={"page_size": 1}).json()["items"][0]
    one = f"{BASE}/{patient['id']}"
    patched = keeping.call("PATCH", one, json={"base_version": patient["version"], "city": "Peoria"})
    assert patched.status_code == 200 and (patched.json()["version"], patched.json()["city"]) == (
        patient["version"],
        "Peoria",
    )
    stale = keeping.call("PATCH", one, json={"base_version": patient["version"] - 1, "city": "Joliet"})
    assert stale.status_code == 409  # the base_version is still checked
    moved = keeping.call(
        "POST", f"{one}/transition-status", json={"base_version": patient["version"], "new_status": "inactive"}
    )
    assert moved.status_code == 200 and moved.json()["version"] == patient["version"] + 1


def test_a_repeated_key_may_be_answered_see_other() -> None:
    pointing = variant(idempotency="see_other")
    first = _create(pointing, "k1")
    assert first.status_code == 201
    again = _create(pointing, "k1")
    assert again.status_code == 303 and again.headers["location"].endswith(f"/patients/{first.json()['id']}")
    assert _create(pointing, "k1", {**NEW, "first_name": "Other"}).status_code == 409
