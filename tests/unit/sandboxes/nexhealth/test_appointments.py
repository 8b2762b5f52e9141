"""Appointments: windows, statuses, filters, includes, upcoming appointments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandboxes.clinic import Encounter, Patient
from sandboxes.nexhealth.app import APPOINTMENT_ID_OFFSET, MAIN_LOCATION_ID, PROVIDER_ID_OFFSET, location_id_of
from tests.unit.sandboxes.nexhealth.harness import (
    CLINIC,
    LIVE,
    MS,
    SUB,
    Api,
    assert_error,
    awkward,
    nexhealth_id,
    unlimited_api,
)


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


def _truth(location: int, start: datetime, end: datetime, cancelled: bool = False) -> list[tuple[Patient, Encounter]]:
    rows = [
        (p, e) for p in LIVE for e in p.encounters
        if location_id_of(e.location_id) == location and start <= e.start <= end
        and (cancelled or e.status != "cancelled")
    ]  # fmt: skip
    rows.sort(key=lambda pe: (pe[1].start, pe[1].id))
    return rows


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": start.isoformat().replace("+00:00", "Z"), "end": end.isoformat().replace("+00:00", "+0000")}


def test_appointments_window_and_statuses(api: Api) -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC)
    body = api.ok("/appointments", per_page=1000, **_window(start, end))
    assert set(body) == {"code", "description", "error", "data", "count"}
    truth = _truth(MAIN_LOCATION_ID, start, end)
    assert [a["id"] for a in body["data"]] == [e.id + APPOINTMENT_ID_OFFSET for _, e in truth]
    assert body["count"] == len(truth)
    assert {e.status for _, e in truth} == {"finished", "planned"}
    by_id = {e.id + APPOINTMENT_ID_OFFSET: (p, e) for p, e in truth}
    for a in body["data"]:
        p, e = by_id[a["id"]]
        assert a["patient_id"] == nexhealth_id(p) and a["provider_id"] == e.provider_id + PROVIDER_ID_OFFSET
        assert a["location_id"] == MAIN_LOCATION_ID and a["cancelled"] is False
        assert MS.fullmatch(a["start_time"]) and a["start_time"].startswith(e.start.strftime("%Y-%m-%dT%H:%M"))
        assert a["confirmed"] is (e.status == "finished" or e.id % 2 == 0)
        assert a["note"] == e.reason and a["timezone"] == CLINIC.timezone
        assert (a["checkin_at"] is not None) is (e.status == "finished")
    with_cancelled = api.ok("/appointments", per_page=1000, cancelled="true", **_window(start, end))
    truth_all = _truth(MAIN_LOCATION_ID, start, end, cancelled=True)
    assert [a["id"] for a in with_cancelled["data"]] == [e.id + APPOINTMENT_ID_OFFSET for _, e in truth_all]
    cancelled = [a for a in with_cancelled["data"] if a["cancelled"]]
    assert cancelled and all(a["end_time"] is None and a["confirmed"] is False for a in cancelled)


def test_appointment_window_is_inclusive(api: Api) -> None:
    _, e = _truth(MAIN_LOCATION_ID, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))[0]
    body = api.ok("/appointments", **_window(e.start, e.start))
    assert [a["id"] for a in body["data"]] == [e.id + APPOINTMENT_ID_OFFSET]
    later = api.ok("/appointments", **_window(e.start + timedelta(seconds=1), e.start + timedelta(minutes=1)))
    assert e.id + APPOINTMENT_ID_OFFSET not in [a["id"] for a in later["data"]]


def test_in_progress_appointment(api: Api) -> None:
    p = awkward("in_progress_encounter")
    e = next(e for e in p.encounters if e.status == "arrived")
    location = location_id_of(e.location_id)
    day = datetime.combine(CLINIC.today, datetime.min.time(), UTC)
    body = api.ok(
        "/appointments", location_id=location, patient_id=nexhealth_id(p), **_window(day, day + timedelta(days=1))
    )
    (a,) = body["data"]
    assert a["id"] == e.id + APPOINTMENT_ID_OFFSET
    assert a["confirmed"] is True and a["end_time"] is None and a["checkin_at"] == a["start_time"]


def test_appointment_filters_and_includes(api: Api) -> None:
    jose = awkward("accented_name")
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    body = api.ok("/appointments", patient_id=nexhealth_id(jose), per_page=100, **_window(start, end))
    expected = [e.id + APPOINTMENT_ID_OFFSET for p, e in _truth(MAIN_LOCATION_ID, start, end) if p.id == jose.id]
    assert [a["id"] for a in body["data"]] == expected and expected
    includes = {"include[]": ["patient", "appointment_type", "procedures"]}
    body = api.ok("/appointments", patient_id=nexhealth_id(jose), per_page=1, **includes, **_window(start, end))
    (a,) = body["data"]
    assert body["count"] == len(expected)
    assert a["patient"]["id"] == nexhealth_id(jose) and a["appointment_type"]["id"] == a["appointment_type_id"]
    first = min((e for e in jose.encounters if location_id_of(e.location_id) == MAIN_LOCATION_ID),
                key=lambda e: e.start)  # fmt: skip
    assert a["appointment_type"]["name"] == first.type_text
    assert body["description"] == ["Ignored unknown include: procedures"]
    provider = PROVIDER_ID_OFFSET + 3
    rows = api.ok("/appointments", provider_id=provider, per_page=1000, **_window(start, end))["data"]
    assert rows and all(r["provider_id"] == provider for r in rows)


def test_appointment_parameter_errors(api: Api) -> None:
    assert_error(
        api.get("/appointments"), 400, ["Missing required parameter: start", "Missing required parameter: end"]
    )
    assert_error(api.get("/appointments", start="yesterday", end="2026-01-01"), 400,
                  ["start must be an ISO 8601 date-time"])  # fmt: skip
    assert_error(api.get("/appointments", start="2026-02-01", end="2026-01-01"), 400, ["end must not be before start"])
    assert_error(api.get("/appointments", start="2026-01-01", end="2026-02-01", patient_id="x"), 400,
                  ["patient_id must be an integer"])  # fmt: skip


def test_one_appointment(api: Api) -> None:
    p = awkward("twin")
    e = p.encounters[0]
    r = api.call("GET", f"/appointments/{e.id + APPOINTMENT_ID_OFFSET}", params={"subdomain": SUB})
    body = r.json()
    assert r.status_code == 200 and body["description"] == []
    assert body["data"]["appointment"]["patient_id"] == nexhealth_id(p)
    r = api.call("GET", "/appointments/1", params={"subdomain": SUB})
    assert_error(r, 404, ["Appointment not found"])


def test_upcoming_appts_match_the_appointments(api: Api) -> None:
    zoe = awkward("unicode_name")
    patient = api.ok(f"/patients/{nexhealth_id(zoe)}", include_upcoming_appts="true")["data"]["patient"]
    planned = [e for e in zoe.encounters if e.status == "planned"]
    assert [u["id"] for u in patient["upcoming_appts"]] == [e.id + APPOINTMENT_ID_OFFSET for e in planned]
    window = _window(datetime.combine(CLINIC.today, datetime.min.time(), UTC), datetime(2028, 1, 1, tzinfo=UTC))
    appts = api.ok("/appointments", patient_id=nexhealth_id(zoe), location_id=location_id_of(planned[0].location_id),
                   **window)["data"]  # fmt: skip
    for upcoming in patient["upcoming_appts"]:
        (full,) = [a for a in appts if a["id"] == upcoming["id"]]
        assert upcoming == {k: full[k] for k in upcoming}
        assert set(upcoming) == {"id", "provider_id", "provider_name", "start_time", "end_time", "location_id",
                                 "confirmed"}  # fmt: skip
    listed = api.ok("/patients", foreign_id=zoe.chart_number, include_upcoming_appts="true")["data"]["patients"]
    assert listed[0]["upcoming_appts"] == patient["upcoming_appts"]
    assert "upcoming_appts" not in api.ok("/patients", foreign_id=zoe.chart_number)["data"]["patients"][0]
    past_only = api.ok(f"/patients/{nexhealth_id(awkward('accented_name'))}", include_upcoming_appts="true")["data"][
        "patient"
    ]
    assert past_only["upcoming_appts"] == []
