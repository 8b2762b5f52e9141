"""FHIR REST behaviour of the gateway, over HTTP, on the Dental PMS demo tenant."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from sandboxes.clinic import Clinic, Patient
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.text import fold

TENANT = "dentalpms"
BASE = f"/fhir/{TENANT}"


def _ids(resources: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in resources}


# -- metadata and formats ---------------------------------------------------------------------


def test_capability_statement_lists_what_works(fhir: FhirHttp) -> None:
    cs = fhir.get_ok(f"{BASE}/metadata")
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in cs["rest"][0]["resource"]}
    assert set(resources) == {
        "Patient",
        "AllergyIntolerance",
        "MedicationStatement",
        "Observation",
        "Condition",
        "DocumentReference",
        "Binary",
    }
    patient_params = {p["name"] for p in resources["Patient"]["searchParam"]}
    assert {
        "_id",
        "identifier",
        "name",
        "family",
        "given",
        "birthdate",
        "gender",
        "phone",
        "email",
        "active",
        "_lastUpdated",
    } == patient_params
    assert {i["code"] for i in resources["Patient"]["interaction"]} == {
        "read",
        "vread",
        "search-type",
        "create",
        "update",
        "delete",
    }
    assert {i["code"] for i in resources["AllergyIntolerance"]["interaction"]} == {"read", "vread", "search-type"}
    assert resources["AllergyIntolerance"]["versioning"] == "versioned"
    assert "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient" in resources["Patient"]["supportedProfile"]
    assert cs["implementation"]["url"].endswith(BASE)


@pytest.mark.parametrize(
    ("params", "headers", "media"),
    [
        ({}, {"Accept": "application/fhir+json"}, "application/fhir+json"),
        ({}, {"Accept": "application/json"}, "application/json"),
        ({"_format": "json"}, {}, "application/fhir+json"),
        ({}, {}, "application/fhir+json"),
    ],
)
def test_json_formats(fhir: FhirHttp, params: dict[str, str], headers: dict[str, str], media: str) -> None:
    response = fhir.get(f"{BASE}/metadata", params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"_format": "xml"}, {}), ({}, {"Accept": "application/fhir+xml"}), ({"_format": "application/fhir+xml"}, {})],
)
def test_xml_is_406(fhir: FhirHttp, params: dict[str, str], headers: dict[str, str]) -> None:
    response = fhir.get(f"{BASE}/Patient", params=params, headers=headers)
    assert response.status_code == 406
    assert outcome_of(response)["issue"][0]["code"] == "not-supported"


def test_pretty_printing(fhir: FhirHttp) -> None:
    assert "\n  " in fhir.get(f"{BASE}/metadata", params={"_pretty": "true"}).text
    assert "\n" not in fhir.get(f"{BASE}/metadata").text


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code"),
    [
        ("GET", "/fhir/nosuch/Patient", {}, 404, "not-found"),
        ("GET", f"{BASE}/Practitioner", {}, 404, "not-found"),
        ("GET", f"{BASE}/Patient/00000000-0000-4000-8000-000000000000", {}, 404, "not-found"),
        ("GET", f"{BASE}/Patient/not-a-uuid", {}, 404, "not-found"),
        ("GET", f"{BASE}/Patient/bad$id", {}, 400, "invalid"),
        ("GET", f"{BASE}/Observation/zzz.zzz.hr", {}, 404, "not-found"),
        ("GET", f"{BASE}/Patient", {"birthdate": "1985-02-30"}, 400, "invalid"),
        ("GET", f"{BASE}/Patient", {"birthdate": "xx1985"}, 400, "invalid"),
        ("GET", f"{BASE}/Patient", {"_count": "many"}, 400, "invalid"),
        ("GET", f"{BASE}/Patient", {"_page": "forged"}, 400, "invalid"),
        ("GET", f"{BASE}/AllergyIntolerance", {}, 400, "invalid"),
        ("GET", f"{BASE}/Observation", {"code": "8867-4"}, 400, "invalid"),
        ("DELETE", f"{BASE}/AllergyIntolerance/00000000-0000-4000-8000-000000000000", {}, 405, "not-supported"),
        ("POST", f"{BASE}/AllergyIntolerance", {}, 405, "not-supported"),
        ("GET", "/nowhere", {}, 404, "not-found"),
    ],
)
def test_errors_are_operation_outcomes(
    fhir: FhirHttp, method: str, path: str, params: dict[str, str], status: int, code: str
) -> None:
    response = fhir.request(method, path, params=params)
    assert response.status_code == status, response.text
    issue = outcome_of(response)["issue"][0]
    assert issue["code"] == code and issue["diagnostics"]


def test_unknown_parameters_follow_prefer_handling(fhir: FhirHttp) -> None:
    lenient = fhir.get_ok(f"{BASE}/Patient", params={"family": "smith", "shoe-size": "42"})
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "shoe-size" not in self_link and "family=smith" in self_link
    strict = fhir.get(f"{BASE}/Patient", params={"shoe-size": "42"}, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400 and outcome_of(strict)["issue"][0]["code"] == "not-supported"
    unsupported = fhir.get(f"{BASE}/Patient", params={"name:missing": "true"}, headers={"Prefer": "handling=strict"})
    assert unsupported.status_code == 400


# -- paging ---------------------------------------------------------------------------------------


def test_paging_is_complete_with_full_pages_and_links(fhir: FhirHttp, clinic: Clinic) -> None:
    pages = list(fhir.pages(f"{BASE}/Patient", _count=37))
    sizes = [len(p.get("entry", [])) for p in pages]
    assert all(s == 37 for s in sizes[:-1]) and 0 < sizes[-1] <= 37
    assert pages[0]["total"] == len(live_patients(clinic))
    for page in pages:
        links = {link["relation"]: link["url"] for link in page["link"]}
        assert links["self"].startswith("http://127.0.0.1") and "first" in links
    assert "previous" not in {link["relation"] for link in pages[0]["link"]}
    second_prev = next(link["url"] for link in pages[1]["link"] if link["relation"] == "previous")
    assert _ids([e["resource"] for e in fhir.get_ok(second_prev)["entry"]]) == _ids(
        [e["resource"] for e in pages[0]["entry"]]
    )


def test_filtered_pages_are_full(fhir: FhirHttp, clinic: Clinic) -> None:
    expected = {str(p.uuid) for p in live_patients(clinic) if p.gender == "female"}
    pages = list(fhir.pages(f"{BASE}/Patient", gender="female", _count=10))
    sizes = [len(p.get("entry", [])) for p in pages]
    assert all(s == 10 for s in sizes[:-1])
    assert {e["resource"]["id"] for p in pages for e in p.get("entry", [])} == expected


def test_count_is_capped(fhir: FhirHttp, gateway: Any) -> None:
    bundle = fhir.get_ok(f"{BASE}/Patient", params={"_count": "100000"})
    assert len(bundle["entry"]) == gateway.settings.paging.max_count


def test_tampered_and_foreign_tokens_are_refused(fhir: FhirHttp) -> None:
    first = fhir.get_ok(f"{BASE}/Patient", params={"_count": "5"})
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    token = parse_qs(urlparse(following).query)["_page"][0]
    tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    bad = fhir.get(f"{BASE}/Patient", params={"_count": "5", "_page": tampered})
    assert bad.status_code == 400 and outcome_of(bad)["issue"][0]["code"] == "invalid"
    foreign = fhir.get(f"{BASE}/Patient", params={"_count": "5", "family": "smith", "_page": token})
    assert foreign.status_code == 400


def test_summary_count_total_and_elements(fhir: FhirHttp, clinic: Clinic) -> None:
    counted = fhir.get_ok(f"{BASE}/Patient", params={"_summary": "count"})
    assert counted["total"] == len(live_patients(clinic)) and "entry" not in counted
    females = fhir.get_ok(f"{BASE}/Patient", params={"gender": "female", "_total": "accurate", "_count": "5"})
    assert females["total"] == sum(1 for p in live_patients(clinic) if p.gender == "female")
    assert "total" not in fhir.get_ok(f"{BASE}/Patient", params={"_total": "none", "_count": "5"})
    slim = fhir.get_ok(f"{BASE}/Patient", params={"_elements": "birthDate", "_count": "3"})
    for entry in slim["entry"]:
        assert set(entry["resource"]) <= {"resourceType", "id", "meta", "birthDate"}
        assert any(t["code"] == "SUBSETTED" for t in entry["resource"]["meta"]["tag"])


@pytest.mark.parametrize(
    ("sort", "key"), [("family", "family"), ("-birthdate", "birthDate"), ("_lastUpdated", "lastUpdated")]
)
def test_sorting(fhir: FhirHttp, sort: str, key: str) -> None:
    resources = fhir.search_all(f"{BASE}/Patient", _sort=sort, _count=100)
    if key == "family":
        # Collation of non-ASCII letters is the vendor's business (FHIR does not define one).
        families = [fold(next(n for n in r["name"] if n["use"] == "official").get("family", "")) for r in resources]
        values = [f for f in families if f.isascii()]
    elif key == "birthDate":
        values = [r["birthDate"] for r in resources if "birthDate" in r]
    else:
        values = [r["meta"]["lastUpdated"] for r in resources]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_post_search_matches_get(fhir: FhirHttp) -> None:
    by_get = fhir.get_ok(f"{BASE}/Patient", params={"family": "smith", "_count": "50"})
    by_post = fhir.request(
        "POST",
        f"{BASE}/Patient/_search",
        data={"family": "smith", "_count": "50"},
    ).json()
    assert [e["resource"]["id"] for e in by_post["entry"]] == [e["resource"]["id"] for e in by_get["entry"]]


# -- search semantics against the clinic's truth ---------------------------------------------------


def _names(p: Patient) -> list[str]:
    return [x for x in (p.first_name, p.middle_name, p.last_name, p.preferred_name) if x]


def _in_range(p: Patient, lo: date | None, hi: date | None) -> bool:
    return p.birth_date is not None and (lo is None or p.birth_date >= lo) and (hi is None or p.birth_date <= hi)


QUERIES: list[tuple[dict[str, str], Any]] = [
    ({"family": "smith"}, lambda p: fold(p.last_name).startswith("smith")),
    ({"family:exact": "Smith"}, lambda p: p.last_name == "Smith"),
    ({"family:contains": "ITH"}, lambda p: "ith" in fold(p.last_name)),
    (
        {"given": "jose"},
        lambda p: any(fold(g).startswith("jose") for g in (p.first_name, p.middle_name, p.preferred_name) if g),
    ),
    ({"name": "mu"}, lambda p: any(fold(n).startswith("mu") for n in _names(p))),
    ({"family": "smith,jones"}, lambda p: fold(p.last_name).startswith(("smith", "jones"))),
    ({"birthdate": "ge1985"}, lambda p: _in_range(p, date(1985, 1, 1), None)),
    ({"birthdate": "1985-03"}, lambda p: _in_range(p, date(1985, 3, 1), date(1985, 3, 31))),
    ({"birthdate": "lt1960-06-15"}, lambda p: _in_range(p, None, date(1960, 6, 14))),
    ({"birthdate": "gt2010-01-01"}, lambda p: _in_range(p, date(2010, 1, 2), None)),
    ({"birthdate": "le1970"}, lambda p: _in_range(p, None, date(1970, 12, 31))),
    ({"birthdate": "ne1985"}, lambda p: p.birth_date is not None and p.birth_date.year != 1985),
    ({"gender": "female"}, lambda p: p.gender == "female"),
    ({"gender": "other"}, lambda p: p.gender in ("other", "non_binary")),
    ({"active": "false"}, lambda p: p.status in ("inactive", "deceased")),
    (
        {"family": "smith", "birthdate": "ge1980"},
        lambda p: fold(p.last_name).startswith("smith") and _in_range(p, date(1980, 1, 1), None),
    ),
]


@pytest.mark.parametrize(("params", "predicate"), QUERIES, ids=[str(q[0]) for q in QUERIES])
def test_search_matches_the_clinic(fhir: FhirHttp, clinic: Clinic, params: dict[str, str], predicate: Any) -> None:
    expected = {str(p.uuid) for p in live_patients(clinic) if predicate(p)}
    assert _ids(fhir.search_all(f"{BASE}/Patient", **params, _count=50)) == expected


def test_identifier_phone_email_and_id(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = next(p for p in live_patients(clinic) if p.email and p.mobile_phone)
    uid = str(patient.uuid)
    assert _ids(fhir.search_all(f"{BASE}/Patient", identifier=patient.chart_number)) == {uid}
    assert _ids(fhir.search_all(f"{BASE}/Patient", identifier=f"urn:fhir-gateway:{TENANT}/patient-id|{uid}")) == {uid}
    assert _ids(fhir.search_all(f"{BASE}/Patient", _id=uid)) == {uid}
    assert uid in _ids(fhir.search_all(f"{BASE}/Patient", email=patient.email.upper()))
    formatted = f"({patient.mobile_phone[:3]}) {patient.mobile_phone[3:6]}-{patient.mobile_phone[6:]}"
    assert uid in _ids(fhir.search_all(f"{BASE}/Patient", phone=formatted))
    assert fhir.search_all(f"{BASE}/Patient", identifier="urn:other|" + patient.chart_number) == []


def test_observation_filters(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = clinic.awkward_patient("many_vitals")
    everything = fhir.search_all(f"{BASE}/Observation", subject=f"Patient/{patient.uuid}", _count=100)
    heart = fhir.search_all(f"{BASE}/Observation", patient=str(patient.uuid), code="http://loinc.org|8867-4")
    assert heart and _ids(heart) == {o["id"] for o in everything if o["code"]["coding"][0]["code"] == "8867-4"}
    assert fhir.search_all(f"{BASE}/Observation", patient=str(patient.uuid), code="http://snomed.info/sct|8867-4") == []
    assert _ids(fhir.search_all(f"{BASE}/Observation", patient=str(patient.uuid), category="vital-signs")) == _ids(
        everything
    )
    dates = sorted(o["effectiveDateTime"][:10] for o in everything)
    middle = dates[len(dates) // 2]
    later = fhir.search_all(f"{BASE}/Observation", patient=str(patient.uuid), date=f"ge{middle}")
    assert _ids(later) == {o["id"] for o in everything if o["effectiveDateTime"][:10] >= middle}


def test_allergy_and_medication_status_filters(fhir: FhirHttp, clinic: Clinic) -> None:
    for truth in live_patients(clinic)[:60]:
        active = fhir.search_all(f"{BASE}/AllergyIntolerance", patient=str(truth.uuid), **{"clinical-status": "active"})
        assert all(a["clinicalStatus"]["coding"][0]["code"] == "active" for a in active)
        expected = sum(1 for a in truth.allergies if a.active and not a.deleted) + (truth.allergy_review == "nkda")
        assert len(active) == expected
        stopped = fhir.search_all(f"{BASE}/MedicationStatement", patient=str(truth.uuid), status="stopped")
        assert len(stopped) == sum(1 for m in truth.medications if m.status == "discontinued" and not m.deleted)


def test_unknown_patient_gives_empty_searchset(fhir: FhirHttp) -> None:
    bundle = fhir.get_ok(f"{BASE}/AllergyIntolerance", params={"patient": "00000000-0000-4000-8000-000000000000"})
    assert bundle["type"] == "searchset" and bundle.get("entry") is None and bundle["total"] == 0


def test_read_has_etag_and_last_modified(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = live_patients(clinic)[0]
    response = fhir.get(f"{BASE}/Patient/{patient.uuid}")
    assert response.headers["etag"].startswith('W/"')
    assert "GMT" in response.headers["last-modified"]


def test_no_stack_traces_on_vendor_failure(fhir: FhirHttp) -> None:
    response = httpx.get(f"{fhir.base_url}{BASE}/Patient", params={"_sort": "family", "_count": "2"})
    assert response.status_code == 200


# -- review regressions -------------------------------------------------------------------------


def test_multi_key_sort_is_refused_or_dropped(fhir: FhirHttp) -> None:
    strict = fhir.get(f"{BASE}/Patient", params={"_sort": "family,-birthdate"}, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    lenient = fhir.get_ok(f"{BASE}/Patient", params={"_sort": "family,-birthdate", "_count": "3"})
    assert "_sort" not in next(link["url"] for link in lenient["link"] if link["relation"] == "self")


def test_summary_true_gives_the_summary_elements(fhir: FhirHttp) -> None:
    bundle = fhir.get_ok(f"{BASE}/Patient", params={"_summary": "true", "_count": "2"})
    assert all("identifier" in e["resource"] and "text" not in e["resource"] for e in bundle["entry"])
    assert all(t["code"] == "SUBSETTED" for e in bundle["entry"] for t in e["resource"]["meta"]["tag"][-1:])


@pytest.mark.parametrize(
    "params",
    [{"_count": "²"}, {"birthdate": "ge9999-12-31"}, {"birthdate": "0001-01-01"}, {"_lastUpdated": "lt0001-01-01"}],
)
def test_edge_values_never_500(fhir: FhirHttp, params: dict[str, str]) -> None:
    response = fhir.get(f"{BASE}/Patient", params=params)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        outcome_of(response)


def test_repeated_id_is_anded(fhir: FhirHttp, clinic: Clinic) -> None:
    a, b = (str(p.uuid) for p in live_patients(clinic)[:2])
    assert fhir.get_ok(f"{BASE}/Patient", params=[("_id", a), ("_id", b)])["total"] == 0
    assert fhir.get_ok(f"{BASE}/Patient", params=[("_id", f"{a},{b}"), ("_id", a)])["total"] == 1
    assert fhir.get_ok(f"{BASE}/Patient", params=[("_id", a), ("_id", b), ("_summary", "count")])["total"] == 0


def test_405_says_what_is_allowed(fhir: FhirHttp, clinic: Clinic) -> None:
    response = fhir.request("POST", f"{BASE}/AllergyIntolerance")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    patch = fhir.request("PATCH", f"{BASE}/Patient/{live_patients(clinic)[0].uuid}")
    assert patch.status_code == 405 and set(patch.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}
    on_type = fhir.request("PATCH", f"{BASE}/Patient")
    assert on_type.status_code == 405 and set(on_type.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    nextvisit = fhir.request("PATCH", "/fhir/nextvisit/Patient/7")
    assert set(nextvisit.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}


def test_huge_bodies_are_413(fhir: FhirHttp) -> None:
    body = b'{"resourceType":"Patient","identifier":[' + b'{"value":"x"},' * 120_000 + b'{"value":"x"}]}'
    response = fhir.request(
        "POST", "/fhir/nextvisit/Patient", content=body, headers={"Content-Type": "application/fhir+json"}
    )
    assert response.status_code == 413


def test_conditional_create_needs_real_criteria(fhir: FhirHttp) -> None:
    patient = {"resourceType": "Patient", "name": [{"family": "Crit", "given": ["Eria"]}], "birthDate": "1990-01-01"}
    for condition in ("identifier=", "_sort=family", "shoe-size=42"):
        response = fhir.request(
            "POST",
            "/fhir/nextvisit/Patient",
            json=patient,
            headers={"Content-Type": "application/fhir+json", "If-None-Exist": condition},
        )
        assert response.status_code == 400, condition


def test_deleted_patients_records_are_not_served(fhir: FhirHttp, clinic: Clinic) -> None:
    deleted = next(p for p in clinic.patients if p.deleted and p.vitals)
    assert fhir.search_all(f"{BASE}/Observation", patient=str(deleted.uuid)) == []
    assert fhir.search_all(f"{BASE}/AllergyIntolerance", patient=str(deleted.uuid)) == []


def test_non_canonical_ids_are_not_found(fhir: FhirHttp, clinic: Clinic) -> None:
    assert fhir.get(f"{BASE}/Patient/{str(live_patients(clinic)[0].uuid).upper()}").status_code == 404
