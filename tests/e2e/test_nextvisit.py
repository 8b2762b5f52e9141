"""Nextvisit tenant end to end: clinic truth → Nextvisit sandbox (HTTP) → gateway (HTTP) → FHIR,
and the write round trip create → read → update → delete over HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sandboxes.clinic import Clinic, Patient
from sandboxes.nextvisit import create_sandbox as nextvisit_sandbox
from sandboxes.registry import playing
from tests.conftest import RunningGateway
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.variants import gateway_over

TENANT = "nextvisit"
BASE = f"/fhir/{TENANT}"
GENDER = {
    "male": "male",
    "female": "female",
    "non_binary": "other",
    "other": "other",
    "unknown": "unknown",
    "prefer_not_to_say": "unknown",
    None: "unknown",
}
ENCOUNTER_STATUS = {"planned": "planned", "arrived": "in-progress", "finished": "finished", "cancelled": "cancelled"}
JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture(scope="module")
def all_patients(gateway: RunningGateway) -> list[dict[str, Any]]:
    client = FhirHttp(gateway.url)
    try:
        return client.search_all(f"{BASE}/Patient", _count=100)
    finally:
        client.close()


def _truth(clinic: Clinic, resource: dict[str, Any]) -> Patient:
    return clinic.patient(int(resource["id"]))


def test_every_live_patient_comes_back_once_with_its_demographics(
    all_patients: list[dict[str, Any]], clinic: Clinic
) -> None:
    ids = Counter(p["id"] for p in all_patients)
    assert all(n == 1 for n in ids.values())
    assert set(ids) == {str(p.id) for p in clinic.patients if not p.deleted}
    for resource in all_patients:
        truth = _truth(clinic, resource)
        official = resource["name"][0]
        assert official["family"] == truth.last_name
        assert official["given"] == [truth.first_name, *(truth.middle_name or "").split()]
        assert resource.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
        assert resource["gender"] == GENDER[truth.gender]
        assert {i["value"] for i in resource["identifier"]} >= {str(truth.id), str(truth.uuid)}


def test_allergies_match_the_clinic(fhir: FhirHttp, all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    for resource in all_patients:
        truth = _truth(clinic, resource)
        got = fhir.search_all(f"{BASE}/AllergyIntolerance", patient=resource["id"])
        ids = [a["id"] for a in got]
        assert len(ids) == len(set(ids))
        if truth.allergy_review == "nkda":
            assert len(got) == 1 and got[0]["code"]["coding"][0]["system"] == "http://snomed.info/sct", truth.id
            continue
        live = [a.substance for a in truth.allergies if not a.deleted]
        if not live:
            assert got == [], truth.id
            continue
        substances = Counter(a["code"]["text"].split(" (")[0].strip().casefold() for a in got)
        assert substances == Counter(s.casefold() for s in live), truth.id


def test_allergy_ids_are_stable(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = clinic.awkward_patient("free_text_allergy")
    first = fhir.search_all(f"{BASE}/AllergyIntolerance", patient=str(patient.id))
    again = fhir.search_all(f"{BASE}/AllergyIntolerance", patient=str(patient.id))
    assert first and [a["id"] for a in first] == [a["id"] for a in again]
    for allergy in first:
        assert fhir.get_ok(f"{BASE}/AllergyIntolerance/{allergy['id']}") == allergy


def test_medications_match_the_clinic(fhir: FhirHttp, all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    for resource in all_patients:
        truth = _truth(clinic, resource)
        got = fhir.search_all(f"{BASE}/MedicationStatement", patient=resource["id"])
        expected = [m for m in truth.medications if not m.deleted and m.status in ("active", "on_hold")]
        assert len(got) == len(expected), truth.id
        assert sum(1 for m in got if m["dosage"][0].get("asNeededBoolean")) == sum(1 for m in expected if m.prn)
        assert all(m["status"] == "unknown" for m in got)


def test_encounters_match_the_clinic(fhir: FhirHttp, all_patients: list[dict[str, Any]], clinic: Clinic) -> None:
    for resource in all_patients[::3]:
        truth = _truth(clinic, resource)
        got = fhir.search_all(f"{BASE}/Encounter", patient=resource["id"])
        expected = Counter(
            (e.start.isoformat().replace("+00:00", "Z"), ENCOUNTER_STATUS[e.status]) for e in truth.encounters
        )
        actual = Counter((e["period"]["start"], e["status"]) for e in got)
        assert actual == expected, truth.id


def _end(encounter: dict[str, Any]) -> str:
    """When a visit ends for a date search: its end; without one, its start if it is not under way
    (over, or not begun), else never."""
    period = encounter["period"]
    if "end" in period:
        return str(period["end"])
    return str(period["start"]) if encounter["status"] in ("planned", "finished", "cancelled") else "9999"


def test_encounter_search_by_date_and_status(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = max(clinic.patients, key=lambda p: len(p.encounters) if not p.deleted else 0)
    everything = fhir.search_all(f"{BASE}/Encounter", patient=str(patient.id))
    starts = sorted(e["period"]["start"][:10] for e in everything)
    middle = starts[len(starts) // 2]
    later = fhir.search_all(f"{BASE}/Encounter", patient=str(patient.id), date=f"ge{middle}")
    assert {e["id"] for e in later} == {e["id"] for e in everything if _end(e)[:10] >= middle}
    finished = fhir.search_all(f"{BASE}/Encounter", patient=str(patient.id), status="finished")
    assert {e["id"] for e in finished} == {e["id"] for e in everything if e["status"] == "finished"}
    for encounter in everything[:3]:
        assert fhir.get_ok(f"{BASE}/Encounter/{encounter['id']}") == encounter


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"family": "johnson"}, lambda p: p.last_name.casefold().startswith("johnson")),
        ({"family:contains": "SON"}, lambda p: "son" in p.last_name.casefold()),
        (
            {"given:contains": "nn"},
            lambda p: any("nn" in g.casefold() for g in [p.first_name, *(p.middle_name or "").split()]),
        ),
        (
            {"name": "smith", "_sort": "birthdate"},
            lambda p: any(
                n.casefold().startswith("smith") for n in [p.first_name, *(p.middle_name or "").split(), p.last_name]
            ),
        ),
        (
            {"given": "jose"},
            lambda p: any(
                g.casefold().replace("é", "e").startswith("jose")
                for g in [p.first_name, *(p.middle_name or "").split()]
            ),
        ),
        ({"birthdate": "ge1990"}, lambda p: p.birth_date is not None and p.birth_date.year >= 1990),
        (
            {"gender": "female", "birthdate": "lt1970"},
            lambda p: p.gender == "female" and p.birth_date is not None and p.birth_date.year < 1970,
        ),
    ],
)
def test_patient_search_matches_the_clinic(
    fhir: FhirHttp, clinic: Clinic, params: dict[str, str], predicate: Any
) -> None:
    expected = {str(p.id) for p in clinic.patients if not p.deleted and predicate(p)}
    assert {r["id"] for r in fhir.search_all(f"{BASE}/Patient", **params)} == expected


@pytest.mark.parametrize("path", ["Encounter/99999", "Encounter/99999/$ccd", "AllergyIntolerance/99999.a.1"])
def test_a_missing_record_is_named_in_its_404(fhir: FhirHttp, path: str) -> None:
    # It said "Patient/99999 does not exist", of a patient the client never asked for.
    missing = fhir.get(f"{BASE}/{path}")
    assert missing.status_code == 404
    diagnostics = outcome_of(missing)["issue"][0]["diagnostics"]
    assert diagnostics.startswith(path.split("/$")[0]) and "Patient/" not in diagnostics


def test_identifier_by_numeric_id_and_uuid(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = next(p for p in clinic.patients if not p.deleted)
    for value in (str(patient.id), str(patient.uuid), f"urn:fhir-gateway:{TENANT}/patient-uuid|{patient.uuid}"):
        assert [r["id"] for r in fhir.search_all(f"{BASE}/Patient", identifier=value)] == [str(patient.id)]


def _new_patient(family: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "https://hie.example.org/mrn", "value": f"MRN-{family}"}],
        "name": [{"use": "official", "family": family, "given": ["Testa", "Middle"]}],
        "gender": "female",
        "birthDate": "1991-04-05",
        "telecom": [{"system": "phone", "value": "5550009999", "use": "mobile"}],
        **extra,
    }


def test_create_read_update_delete_round_trip(fhir: FhirHttp) -> None:
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Roundtrip"), headers=JSON)
    assert created.status_code == 201, created.text
    body = created.json()
    pid = body["id"]
    version = body["meta"]["versionId"]
    assert created.headers["location"].endswith(f"{BASE}/Patient/{pid}/_history/{version}")
    assert created.headers["etag"] == f'W/"{version}"'
    assert fhir.get_ok(created.headers["location"]) == body  # vread of the current version
    read = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert read == body
    assert read["telecom"] == _new_patient("Roundtrip")["telecom"]
    assert read["gender"] == "female"  # kept although Nextvisit's write body has no gender

    changed = {**read, "birthDate": "1991-04-06"}
    stale = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers={**JSON, "If-Match": 'W/"stale"'})
    assert stale.status_code == 412 and outcome_of(stale)["issue"][0]["code"] == "conflict"
    updated = fhir.request(
        "PUT", f"{BASE}/Patient/{pid}", json=changed, headers={**JSON, "If-Match": created.headers["etag"]}
    )
    assert updated.status_code == 200 and updated.json()["birthDate"] == "1991-04-06"
    assert updated.json()["meta"]["versionId"] != body["meta"]["versionId"]

    assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204
    gone = fhir.get(f"{BASE}/Patient/{pid}")
    if playing("nextvisit").get("trashed_filter") == "ignored":
        # No answer of such a vendor tells a deleted patient (its list ignores `filter[trashed]`):
        # not found, as R4 reads a deletion the server does not keep track of (http.html#read).
        assert gone.status_code == 404 and outcome_of(gone)["issue"][0]["code"] == "not-found"
    else:
        assert gone.status_code == 410 and outcome_of(gone)["issue"][0]["code"] == "deleted"
    assert fhir.search_all(f"{BASE}/Patient", family="Roundtrip") == []
    assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204  # again: still a success


@pytest.mark.parametrize(
    ("resource", "status", "where"),
    [
        (
            {"resourceType": "Patient", "birthDate": "1990-02-30", "name": [{"family": "Badd", "given": ["X"]}]},
            400,
            "Patient.birthDate",
        ),
        (
            {"resourceType": "Patient", "name": [{"family": "Badd", "given": "X"}], "birthDate": "1990-01-01"},
            400,
            "Patient.name[0].given",
        ),
        (
            {"resourceType": "Patient", "name": [{"family": "Badd"}], "birthDate": "1990-01-01"},
            422,
            "Patient.name[0].given",
        ),
        ({"resourceType": "Patient", "name": [{"family": "Badd", "given": ["X"]}]}, 422, "Patient.birthDate"),
        (
            {"resourceType": "Patient", "name": [{"family": "Badd", "given": ["X"]}], "birthDate": "2999-01-01"},
            422,
            "Patient.birthDate",
        ),
        ({"resourceType": "Observation", "status": "final"}, 400, "resourceType"),
    ],
)
def test_invalid_patients_are_refused_before_the_vendor(
    fhir: FhirHttp, resource: dict[str, Any], status: int, where: str
) -> None:
    response = fhir.request("POST", f"{BASE}/Patient", json=resource, headers=JSON)
    assert response.status_code == status, response.text
    assert any(where in i.get("expression", [""])[0] for i in outcome_of(response)["issue"])
    assert fhir.search_all(f"{BASE}/Patient", family="Badd") == []


def test_conditional_create(fhir: FhirHttp, clinic: Clinic) -> None:
    existing = next(p for p in clinic.patients if not p.deleted)
    match = fhir.request(
        "POST",
        f"{BASE}/Patient",
        json=_new_patient("Never"),
        headers={**JSON, "If-None-Exist": f"identifier={existing.id}"},
    )
    assert match.status_code == 200 and match.json()["id"] == str(existing.id)
    several = fhir.request(
        "POST", f"{BASE}/Patient", json=_new_patient("Never"), headers={**JSON, "If-None-Exist": "family=johnson"}
    )
    assert several.status_code == 412
    fresh = fhir.request(
        "POST",
        f"{BASE}/Patient",
        json=_new_patient("Conditional"),
        headers={**JSON, "If-None-Exist": "family:exact=Conditional"},
    )
    assert fresh.status_code == 201
    again = fhir.request(
        "POST",
        f"{BASE}/Patient",
        json=_new_patient("Conditional"),
        headers={**JSON, "If-None-Exist": "family:exact=Conditional"},
    )
    assert again.status_code == 200 and again.json()["id"] == fresh.json()["id"]
    assert fhir.request("DELETE", f"{BASE}/Patient/{fresh.json()['id']}").status_code == 204


def test_write_errors(fhir: FhirHttp) -> None:
    assert fhir.request("POST", f"{BASE}/Patient", content=b"{not json", headers=JSON).status_code == 400
    assert (
        fhir.request(
            "POST", f"{BASE}/Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"}
        ).status_code
        == 415
    )
    mismatch = fhir.request("PUT", f"{BASE}/Patient/1", json={**_new_patient("Mismatch"), "id": "2"}, headers=JSON)
    assert mismatch.status_code == 400
    assert fhir.request("DELETE", f"{BASE}/Patient/999999").status_code == 204  # FHIR: nothing to delete is fine
    assert fhir.get(f"{BASE}/Patient/007").status_code == 404  # only the canonical spelling of an id is served
    assert (
        fhir.request(
            "POST", f"{BASE}/AllergyIntolerance", json={"resourceType": "AllergyIntolerance"}, headers=JSON
        ).status_code
        == 405
    )


def test_an_identifier_without_system_is_any_identifier(fhir: FhirHttp, clinic: Clinic) -> None:
    numbered = next(p for p in clinic.patients if not p.deleted and p.id > 9)
    mrn = str(numbered.id)  # an outside MRN that happens to equal a Nextvisit patient id
    created = fhir.request(
        "POST",
        f"{BASE}/Patient",
        headers=JSON,
        json={**_new_patient("Mrnholder"), "identifier": [{"system": "http://hosp.example/mrn", "value": mrn}]},
    )
    assert created.status_code == 201
    new_id = created.json()["id"]
    try:
        found = {r["id"] for r in fhir.search_all(f"{BASE}/Patient", identifier=mrn)}
        assert found == {mrn, new_id}
        ours = {
            r["id"]
            for r in fhir.search_all(f"{BASE}/Patient", identifier=f"urn:fhir-gateway:{TENANT}/patient-id|{mrn}")
        }
        assert ours == {mrn}
        ambiguous = fhir.request(
            "POST",
            f"{BASE}/Patient",
            json=_new_patient("Never"),
            headers={**JSON, "If-None-Exist": f"identifier={mrn}"},
        )
        assert ambiguous.status_code == 412
    finally:
        fhir.request("DELETE", f"{BASE}/Patient/{new_id}")


def test_search_and_read_give_the_same_patient(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = next(p for p in clinic.patients if not p.deleted and p.email)
    for found in fhir.search_all(f"{BASE}/Patient", name=patient.first_name):
        assert found == fhir.get_ok(f"{BASE}/Patient/{found['id']}")


def test_paging_survives_a_create_between_pages(fhir: FhirHttp) -> None:
    first = fhir.get_ok(f"{BASE}/Patient", params={"_count": "7"})
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Midwalk"), headers=JSON).json()
    try:
        seen = [e["resource"]["id"] for e in first["entry"]]
        following = next(link["url"] for link in first["link"] if link["relation"] == "next")
        while following:
            bundle = fhir.get_ok(following)
            seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
            following = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        assert len(seen) == len(set(seen))
    finally:
        fhir.request("DELETE", f"{BASE}/Patient/{created['id']}")


def test_a_gender_nextvisit_will_not_take_is_reported_not_stored() -> None:
    """Nextvisit's own gender, once set, wins over the one the gateway keeps for it: a write
    asking for another says so (an own simulator: the demo's data stays as it is)."""
    with gateway_over("nextvisit", nextvisit_sandbox) as running:
        base = f"{running.url}/fhir/nextvisit"
        someone = running.fhir.get_ok(f"{base}/Patient", params={"_count": "1", "gender": "female"})["entry"][0]
        patient = someone["resource"]
        changed = {**patient, "gender": "male"}
        headers = {**JSON, "Prefer": "return=OperationOutcome"}
        answer = running.fhir.request("PUT", f"{base}/Patient/{patient['id']}", json=changed, headers=headers)
        assert answer.status_code == 200, answer.text
        warnings = [i for i in answer.json()["issue"] if i["severity"] == "warning"]
        assert [w["expression"] for w in warnings] == [["Patient.gender"]]
        assert running.fhir.get_ok(f"{base}/Patient/{patient['id']}")["gender"] == "female"
