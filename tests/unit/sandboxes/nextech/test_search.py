"""``GET /api/search``: shape and matching (``sandboxes.nextech.search``, ``render``)."""

from __future__ import annotations

import re

import pytest

from tests.unit.sandboxes.nextech.harness import CLINIC, LIVE, MS, Api, assert_api_error, awkward, ids_of, make_api


@pytest.fixture(scope="module")
def api() -> Api:
    return make_api()


def test_search_shape_and_dob_datetime(api: Api) -> None:
    p = awkward("apostrophe_hyphen")
    (row,) = [r for r in api.search(p.chart_number)]
    assert list(row) == ["patientId", "chartNumber", "firstName", "lastName", "middleName", "dob", "ssn", "homePhone"]
    assert row["patientId"] == p.id and row["chartNumber"] == p.chart_number
    assert (row["firstName"], row["lastName"], row["middleName"]) == (p.first_name, p.last_name, p.middle_name)
    assert p.birth_date is not None
    assert row["dob"] == f"{p.birth_date.isoformat()}T00:00:00.000Z"
    assert MS.fullmatch(row["dob"])


def test_every_live_patient_is_rendered_faithfully(api: Api) -> None:
    by_id = {}
    for p in LIVE:
        found = [r for r in api.search(p.chart_number) if r["chartNumber"] == p.chart_number]
        assert len(found) == 1
        by_id[p.id] = found[0]
    ssns = [r["ssn"] for r in by_id.values() if r["ssn"] is not None]
    assert len(ssns) == len(set(ssns)) and len(ssns) < len(LIVE)  # unique, and some are null
    for p in LIVE:
        row = by_id[p.id]
        if row["ssn"] is not None:
            assert re.fullmatch(r"9\d{2}-\d{2}-\d{4}", row["ssn"])
        if p.home_phone:
            assert re.sub(r"\D", "", row["homePhone"]) == p.home_phone
            assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", row["homePhone"])
        else:
            assert row["homePhone"] is None
        assert row["dob"] == (f"{p.birth_date.isoformat()}T00:00:00.000Z" if p.birth_date else None)


def test_missing_birth_date_and_middle_name_are_null(api: Api) -> None:
    p = awkward("missing_birth_date")
    (row,) = [r for r in api.search(p.chart_number)]
    assert row["dob"] is None
    q = awkward("no_middle_name")
    (row,) = [r for r in api.search(q.chart_number)]
    assert row["middleName"] is None


def test_deleted_patients_are_absent(api: Api) -> None:
    p = awkward("deleted_patient")
    assert api.search(p.chart_number) == []
    assert p.id not in ids_of(api.search(p.last_name))
    assert_api_error(api.get(f"/api/{p.id}/encounters/search"), 404, "Patient not found")


def test_name_prefix_search_covers_shared_prefixes(api: Api) -> None:
    def with_last(*names: str) -> set[int]:
        return {p.id for p in LIVE if p.last_name in names}

    assert ids_of(api.search("Smith")) == with_last("Smith", "Smithson", "Smithers")
    assert ids_of(api.search("smiths")) == with_last("Smithson")
    assert ids_of(api.search("SMITHE")) == with_last("Smithers")
    assert len(with_last("Smith")) == 3


def test_search_matches_first_name_and_name_parts(api: Api) -> None:
    expected = {
        p.id for p in LIVE if p.first_name.lower().startswith("sebas") or p.last_name.lower().startswith("sebas")
    }
    assert expected and ids_of(api.search("sebas")) == expected
    assert awkward("apostrophe_hyphen").id in ids_of(api.search("nguyen"))  # after the hyphen, accent-folded
    assert awkward("apostrophe_hyphen").id in ids_of(api.search("o'bri"))
    berg = {p.id for p in LIVE if p.last_name == "Van der Berg"}
    assert berg and berg <= ids_of(api.search("berg")) and berg == ids_of(api.search("van der b"))
    assert {p.id for p in LIVE if p.last_name == "St. James"} == ids_of(api.search("st. james"))
    assert awkward("cjk_name").id in ids_of(api.search("王"))


def test_search_is_case_and_accent_insensitive(api: Api) -> None:
    jose = awkward("accented_name")
    assert jose.id in ids_of(api.search("garcia"))
    assert jose.id in ids_of(api.search("GARCÍA"))
    assert jose.id in ids_of(api.search("jose garc"))


def test_first_last_and_last_first_forms(api: Api) -> None:
    p = awkward("twin")
    both = {awkward("twin").id, awkward("twin_sibling").id}
    assert ids_of(api.search("Okonkwo")) == both
    assert ids_of(api.search(f"{p.first_name[:3]} okon")) == {p.id}
    assert ids_of(api.search(f"okonkwo, {p.first_name}")) == {p.id}
    assert ids_of(api.search("okonkwo,")) == both
    assert ids_of(api.search(f"  {p.first_name}    Okonkwo ")) == {p.id}  # whitespace collapsed
    assert ids_of(api.search(f"okonkwo {p.first_name}")) == set()  # "last first" is not a form
    assert ids_of(api.search(f"{p.first_name}, okonkwo")) == set()
    middle = awkward("unicode_name")
    assert ids_of(api.search(f"{middle.first_name} {middle.middle_name} {middle.last_name}")) == set()


def test_chart_number_search_is_a_prefix(api: Api) -> None:
    p = CLINIC.patient(12) if not CLINIC.patient(12).deleted else LIVE[0]
    assert [r["patientId"] for r in api.search(p.chart_number)] == [p.id]
    assert [r["patientId"] for r in api.search(p.chart_number.lower())] == [p.id]
    tens = {q.id for q in LIVE if q.chart_number.startswith("C0001")}
    assert ids_of(api.search("C0001")) == tens and len(tens) >= 9
    assert api.search(p.chart_number.removeprefix("C")) == []  # bare digits never match


def test_search_orders_by_last_then_first_name(api: Api) -> None:
    rows = api.search("Johnson")
    keys = [(r["lastName"].casefold(), r["firstName"].casefold(), r["patientId"]) for r in rows]
    assert len(rows) == 14 and keys == sorted(keys)


@pytest.mark.parametrize("params", [{}, {"term": ""}, {"term": "   "}])
def test_empty_term_is_400(api: Api, params: dict[str, str]) -> None:
    r = api.get("/api/search", **params)
    assert r.status_code == 400
    assert r.json() == {"Message": "The request is invalid.", "ModelState": {"term": ["The term field is required."]}}


def test_unmatched_term_is_an_empty_array(api: Api) -> None:
    assert api.search("zzzzqqq") == []
    assert api.search("--") == []
