"""Patient search: OR-ed terms, AND-ed filters, fuzzy names, paging (``store``, ``names``, ``paging``)."""

from __future__ import annotations

from typing import Any

import pytest

from sandboxes.nexhealth.app import OTHER_LOCATION_ID, PATIENT_ID_OFFSET
from tests.unit.sandboxes.nexhealth.harness import LIVE, Api, assert_error, awkward, ids_of, nexhealth_id, unlimited_api


@pytest.fixture(scope="module")
def api() -> Api:
    return unlimited_api()


def test_search_parameters_are_ored(api: Api) -> None:
    a, b = awkward("unicode_name"), awkward("apostrophe_hyphen")
    assert a.mobile_phone is not None
    found = api.patients(phone_number=a.mobile_phone, name="Siobhan")
    assert ids_of(found) == {nexhealth_id(a), nexhealth_id(b)}
    assert ids_of(api.patients(phone_number=a.mobile_phone)) == {nexhealth_id(a)}


def test_exact_search_parameters(api: Api) -> None:
    twin, sibling = awkward("twin"), awkward("twin_sibling")
    assert twin.email is not None
    assert ids_of(api.patients(email=twin.email.upper())) == {nexhealth_id(twin)}
    assert ids_of(api.patients(phone_number="(312) 555-0199")) == {
        nexhealth_id(twin),
        nexhealth_id(sibling),
    }  # shared home phone
    assert ids_of(api.patients(phone_number="+1 312 555 0199")) == {nexhealth_id(twin), nexhealth_id(sibling)}
    assert ids_of(api.patients(date_of_birth="1992-04-30")) == {nexhealth_id(twin), nexhealth_id(sibling)}
    assert ids_of(api.patients(foreign_id=twin.chart_number)) == {nexhealth_id(twin)}
    assert api.patients(phone_number="no digits") == []
    assert_error(api.get("/patients", date_of_birth="30/04/1992"), 400, ["date_of_birth must be a date (YYYY-MM-DD)"])


def test_empty_search_parameter_means_not_given(api: Api) -> None:
    assert len(api.patients(name="", email=" ")) == len(LIVE)


def _names(rows: list[dict[str, Any]]) -> set[str]:
    return {r["name"] for r in rows}


def test_fuzzy_name_accents_case_and_full_name(api: Api) -> None:
    jose = nexhealth_id(awkward("accented_name"))
    assert jose in ids_of(api.patients(name="jose garcia"))
    assert jose in ids_of(api.patients(name="GARCIA JOSÉ"))  # word order does not matter
    assert nexhealth_id(awkward("unicode_name")) in ids_of(api.patients(name="zoe muller"))
    garcias = api.patients(name="garcia")
    assert len(garcias) == 13 and all(r["last_name"] in ("Garcia", "García") for r in garcias)
    ming = api.patients(name="Ming")  # a preferred name; King and others are one typo away
    assert nexhealth_id(awkward("cjk_name")) in ids_of(ming) and "King" in {r["last_name"] for r in ming}
    assert api.patients(name="Ming Wang") == []  # every query word must match, and 王 is not "wang"
    assert nexhealth_id(awkward("cjk_name")) in ids_of(api.patients(name="王"))
    assert nexhealth_id(awkward("no_contact")) in ids_of(api.patients(name="bill campbell"))  # preferred William
    assert nexhealth_id(awkward("apostrophe_hyphen")) in ids_of(api.patients(name="O'Brien"))
    assert nexhealth_id(awkward("apostrophe_hyphen")) in ids_of(api.patients(name="obrien-nguyen"))


def test_fuzzy_name_typos(api: Api) -> None:
    zoe = nexhealth_id(awkward("unicode_name"))
    assert zoe in ids_of(api.patients(name="Zoe Mueller"))  # one insertion
    assert zoe in ids_of(api.patients(name="Zoe Mulker"))  # one substitution
    assert zoe in ids_of(api.patients(name="Zoe Mluler"))  # two adjacent letters swapped
    assert zoe not in ids_of(api.patients(name="Zoe Mlkker"))  # two typos
    okonkwos = {nexhealth_id(awkward("twin")), nexhealth_id(awkward("twin_sibling"))}
    assert ids_of(api.patients(name="Okonkow")) == okonkwos
    assert ids_of(api.patients(name="Chidi Okonkwoo")) == {nexhealth_id(awkward("twin"))}
    assert awkward("accented_name").id + PATIENT_ID_OFFSET not in ids_of(api.patients(name="Jse"))  # < 4: no typos


def test_fuzzy_name_prefixes(api: Api) -> None:
    smiths = api.patients(name="Smi")
    assert {"Smith", "Smithson", "Smithers"} <= {r["last_name"] for r in smiths}
    assert all(r["last_name"].startswith("Smi") or r["first_name"].startswith("Smi") for r in smiths)
    # "smithe": a prefix of Smithers, one deletion from Smith, too far from Smithson
    assert {r["last_name"] for r in api.patients(name="smithe")} == {"Smith", "Smithers"}
    assert nexhealth_id(awkward("accented_name")) in ids_of(api.patients(name="jo garc"))
    assert api.patients(name="--") == []


def test_location_strict(api: Api) -> None:
    main = api.patients(location_strict="true")
    assert ids_of(main) == {nexhealth_id(p) for p in LIVE if p.location_id == 1}
    other = api.patients(location_strict="true", location_id=OTHER_LOCATION_ID)
    assert ids_of(other) == {nexhealth_id(p) for p in LIVE if p.location_id in (2, 3)}
    assert all(r["location_ids"] == [OTHER_LOCATION_ID] for r in other)
    assert len(api.patients(location_strict="false")) == len(LIVE) == len(main) + len(other)
    zoe = awkward("unicode_name")  # at location 1
    assert api.patients(location_strict="true", location_id=OTHER_LOCATION_ID, name="Zoe Muller") == []
    assert nexhealth_id(zoe) in ids_of(
        api.patients(location_strict="false", location_id=OTHER_LOCATION_ID, name="Zoe Muller")
    )


def test_paging_and_count(api: Api) -> None:
    first = api.ok("/patients")
    assert len(first["data"]["patients"]) == 5 and first["count"] == len(LIVE)  # default per_page 5
    seen: list[int] = []
    page = 1
    while True:
        body = api.ok("/patients", page=page, per_page=7)
        assert body["count"] == len(LIVE)
        rows = body["data"]["patients"]
        if not rows:
            break
        seen += [r["id"] for r in rows]
        page += 1
    assert seen == sorted(nexhealth_id(p) for p in LIVE)  # ordered by id, complete, no repeats
    assert page == -(-len(LIVE) // 7) + 1
    smiths = api.ok("/patients", name="smith", per_page=2, page=2)
    assert len(smiths["data"]["patients"]) == 2 and smiths["count"] > 4
    assert len(api.ok("/patients", per_page=5000)["data"]["patients"]) == len(LIVE)  # capped at 1000
    assert len(api.ok("/patients", per_page="abc", page="0")["data"]["patients"]) == 5
