"""Nextvisit writes under the readings of its update the docs leave open: what a field sent as
null does (`middle_name` is "string or null", vendor-docs/nextvisit-api.txt, and no more), and
how the `meta` object ("Additional metadata") is written. A FHIR update replaces the resource
(R4 http.html#update): what the client left out must be gone from the patient it reads next, or
the answer must say what the vendor kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from sandboxes.clinic import build_clinic
from sandboxes.nextvisit import create_sandbox
from tests.support.clock import SetClock
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.variants import gateway_over

BASE = "/fhir/nextvisit"
JSON = {"Content-Type": "application/fhir+json"}
CLINIC = build_clinic()


@pytest.fixture
def fhir(request: pytest.FixtureRequest) -> Iterator[FhirHttp]:
    switches: dict[str, Any] = request.param
    with gateway_over("nextvisit", partial(create_sandbox, CLINIC, **switches)) as running:
        yield running.fhir


def _created(fhir: FhirHttp, patient: dict[str, Any]) -> dict[str, Any]:
    answer = fhir.request("POST", f"{BASE}/Patient", json=patient, headers=JSON)
    assert answer.status_code == 201, answer.text[:300]
    created: dict[str, Any] = answer.json()
    return created


def _updated(fhir: FhirHttp, patient: dict[str, Any], **headers: str) -> Any:
    path = f"{BASE}/Patient/{patient['id']}"
    answer = fhir.request("PUT", path, json=patient, headers={**JSON, **headers})
    assert answer.status_code == 200, answer.text[:300]
    return answer


@pytest.mark.parametrize("fhir", [{}, {"update_nulls": "skipped"}], ids=["null-set", "null-skipped"], indirect=True)
def test_a_middle_name_the_update_leaves_out_is_gone(fhir: FhirHttp) -> None:
    patient = {"resourceType": "Patient", "name": [{"family": "Lovelace", "given": ["Ada", "Marie"]}],
               "birthDate": "1985-03-15"}  # fmt: skip
    created = _created(fhir, patient)
    _updated(fhir, {**patient, "id": created["id"], "name": [{"family": "Lovelace", "given": ["Ada"]}]})
    read = fhir.get_ok(f"{BASE}/Patient/{created['id']}")
    assert read["name"][0]["given"] == ["Ada"]


@pytest.mark.parametrize("fhir", [{"update_nulls": "filtered"}], ids=["empty-filtered"], indirect=True)
def test_a_middle_name_the_vendor_cannot_clear_is_named_as_not_stored(fhir: FhirHttp) -> None:
    # Laravel's `array_filter($request->validated())`: no empty value reaches the record, so the
    # middle name stays; the update answers what is stored and says what it could not remove.
    patient = {"resourceType": "Patient", "name": [{"family": "Lovelace", "given": ["Ada", "Marie"]}],
               "birthDate": "1985-03-15"}  # fmt: skip
    created = _created(fhir, patient)
    changed = {**patient, "id": created["id"], "name": [{"family": "Lovelace", "given": ["Ada"]}]}
    outcome = outcome_of(_updated(fhir, changed, Prefer="return=OperationOutcome"))
    assert any("Patient.name.given" in issue.get("expression", []) for issue in outcome["issue"]), outcome
    assert fhir.get_ok(f"{BASE}/Patient/{created['id']}")["name"][0]["given"] == ["Ada", "Marie"]


MARRIED = {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}
PHONE = {"system": "phone", "value": "(312) 555-0199"}


@pytest.mark.parametrize(
    "fhir",
    [{}, {"meta_updates": "merged"}, {"meta_updates": "merge_patch"}],
    ids=["meta-replaced", "meta-merged", "meta-merge-patch"],
    indirect=True,
)
def test_elements_kept_in_meta_that_the_update_leaves_out_are_gone(fhir: FhirHttp) -> None:
    # Elements Nextvisit has no field for are kept in its `meta`; the vendor may merge the `meta`
    # an update sends into the stored one rather than replace it.
    patient = {"resourceType": "Patient", "name": [{"family": "Hopper", "given": ["Grace"]}], "birthDate": "1976-12-09",
               "gender": "female", "telecom": [PHONE, {"system": "email", "value": "grace@example.org"}],
               "maritalStatus": {"coding": [MARRIED], "text": "Married"}}  # fmt: skip
    created = _created(fhir, patient)
    path = f"{BASE}/Patient/{created['id']}"
    fewer = {**patient, "id": created["id"], "telecom": [PHONE], "maritalStatus": {"coding": [MARRIED]}}
    _updated(fhir, fewer)
    read = fhir.get_ok(path)
    assert (read["telecom"], read["maritalStatus"], read["gender"]) == ([PHONE], {"coding": [MARRIED]}, "female")
    _updated(fhir, {k: patient[k] for k in ("resourceType", "name", "birthDate")} | {"id": created["id"]})
    read = fhir.get_ok(path)
    assert ("telecom" not in read, "maritalStatus" not in read, read["gender"]) == (True, True, "unknown")


ALLERGIC = next(p for p in CLINIC.patients if not p.deleted and len([a for a in p.allergies if not a.deleted]) > 1)


@pytest.mark.parametrize(
    "fhir",
    [
        {"put_semantics": "replace"},
        {"put_semantics": "replace", "allergies_shape": "list"},
        {"put_semantics": "replace", "allergies_shape": "objects"},
    ],
    ids=["text", "list", "rows"],
    indirect=True,
)
def test_an_update_under_a_replacing_put_keeps_the_allergies_however_the_vendor_keeps_them(fhir: FhirHttp) -> None:
    # A PUT that replaces the record wipes the allergy text it is not sent, and the Patient does not
    # carry it: the update sends back what it read, text or (a vendor keeping a list) its items.
    pid = str(ALLERGIC.id)

    def allergies() -> list[str]:
        return sorted(a["code"]["text"] for a in fhir.search_all(f"{BASE}/AllergyIntolerance", patient=pid))

    before = allergies()
    assert len(before) == len([a for a in ALLERGIC.allergies if not a.deleted])
    _updated(fhir, fhir.get_ok(f"{BASE}/Patient/{pid}"))
    assert allergies() == before


def _unkept(answer: Any) -> set[str]:
    """The elements an `OperationOutcome` write answer names as not stored."""
    return {path for issue in outcome_of(answer)["issue"] for path in issue.get("expression", [])}


@pytest.mark.parametrize(
    ("fhir", "kept"), [({}, True), ({"meta_input": "ignored"}, False)], ids=["meta-taken", "meta-ignored"],
    indirect=["fhir"],
)  # fmt: skip
def test_elements_a_vendor_does_not_keep_are_named_on_create_and_update(fhir: FhirHttp, kept: bool) -> None:
    # Nextvisit has no field for a phone, an MRN or a gender: they are kept in its `meta`, which a
    # vendor may not take from a write body (Rails' `permit(..., :meta)`) and say nothing.
    mrn = {"system": "https://hie.example.org/mrn", "value": "T-1"}
    patient = {"resourceType": "Patient", "name": [{"family": "Turing", "given": ["Alan"]}], "birthDate": "1982-06-23",
               "gender": "male", "telecom": [PHONE], "identifier": [mrn]}  # fmt: skip
    expected = set() if kept else {"Patient.gender", "Patient.telecom", "Patient.identifier"}
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    created = fhir.request("POST", f"{BASE}/Patient", json=patient, headers=prefer)
    assert created.status_code == 201, created.text[:300]
    assert _unkept(created) == expected
    new_id = created.headers["location"].split("/Patient/")[1].split("/")[0]
    assert (fhir.get_ok(f"{BASE}/Patient/{new_id}").get("telecom") == [PHONE]) is kept
    changed = {**patient, "id": new_id, "telecom": [{"system": "email", "value": "alan@example.org"}]}
    updated = fhir.request("PUT", f"{BASE}/Patient/{new_id}", json=changed, headers=prefer)
    assert updated.status_code == 200, updated.text[:300]
    assert _unkept(updated) == expected


@pytest.mark.parametrize(
    ("fhir", "kept"), [({}, True), ({"meta_input": "ignored"}, False)], ids=["meta-taken", "meta-ignored"],
    indirect=["fhir"],
)  # fmt: skip
def test_a_conditional_create_is_refused_where_its_condition_cannot_select_the_patient(
    fhir: FhirHttp, kept: bool
) -> None:
    # R4 http.html#ccreate: the condition finds the record when the request is sent again. An MRN
    # is kept only in `meta`: where Nextvisit drops it, the condition never found the patient made
    # (a 201, and another patient on each repeat). Refused, and nothing left behind; where `meta`
    # is kept, made once and then matched. A family name the body does not hold never selects it.
    mrn = {"system": "http://hospital.example/mrn", "value": "MRN-4343"}
    patient = {"resourceType": "Patient", "name": [{"family": "Conditioned", "given": ["Cy"]}],
               "birthDate": "1979-09-09", "identifier": [mrn]}  # fmt: skip
    condition = {**JSON, "If-None-Exist": "identifier=http://hospital.example/mrn|MRN-4343"}
    for _ in range(2):  # the second time, what this Nextvisit keeps is known: nothing is made
        answer = fhir.request("POST", f"{BASE}/Patient", json=patient, headers=condition)
        if kept:
            assert answer.status_code in (201, 200), answer.text[:300]
        else:
            assert answer.status_code == 422, answer.text[:300]
            said = outcome_of(answer)["issue"][0]["diagnostics"]
            # Named by its parameter and system, never its value: an MRN is PHI (DESIGN: messages
            # never carry PHI), as are the names, birth dates and phones a condition holds.
            assert "identifier (http://hospital.example/mrn)" in said and "MRN-4343" not in said
    made = fhir.search_all(f"{BASE}/Patient", family="Conditioned", birthdate="1979-09-09")
    assert len(made) == (1 if kept else 0)
    other = {**JSON, "If-None-Exist": "family:exact=Someoneelse"}
    refused = fhir.request("POST", f"{BASE}/Patient", json=patient, headers=other)
    assert refused.status_code == 422 and "nothing was written" in refused.text
    assert "family:exact" in refused.text and "Someoneelse" not in refused.text
    assert len(fhir.search_all(f"{BASE}/Patient", family="Conditioned", birthdate="1979-09-09")) == len(made)


@pytest.mark.parametrize(
    ("fhir", "kept"), [({}, True), ({"meta_input": "ignored"}, False)], ids=["meta-taken", "meta-ignored"],
    indirect=["fhir"],
)  # fmt: skip
def test_a_temporary_name_is_never_read_back_as_the_official_one(fhir: FhirHttp, kept: bool) -> None:
    # HumanName.use is a modifier (R4 datatypes.html: "applications should not mistake a temporary
    # or old name etc. for a current/permanent one"). Nextvisit's name fields read as the official
    # name: a lone `temp` name read back as `official` (201). Its use is kept in `meta`; where this
    # Nextvisit is seen to drop `meta` (its first create naming what it did not keep), refused.
    first = fhir.request("POST", f"{BASE}/Patient", json={**_LEARNER, "telecom": [PHONE]}, headers=JSON)
    assert first.status_code == 201, first.text[:300]
    temp = {"resourceType": "Patient", "name": [{"use": "temp", "family": "Interim", "given": ["Ida"]}],
            "birthDate": "1977-07-07"}  # fmt: skip
    answer = fhir.request("POST", f"{BASE}/Patient", json=temp, headers=JSON)
    if kept:
        assert answer.status_code == 201, answer.text[:300]
        assert fhir.get_ok(f"{BASE}/Patient/{answer.json()['id']}")["name"] == temp["name"]
    else:
        assert answer.status_code == 422, answer.text[:300]
        assert outcome_of(answer)["issue"][0]["expression"] == ["Patient.name[0].use"]
        assert fhir.search_all(f"{BASE}/Patient", family="Interim", birthdate="1977-07-07") == []


_LEARNER = {"resourceType": "Patient", "name": [{"family": "Learner", "given": ["Lou"]}], "birthDate": "1970-01-02"}


@pytest.mark.parametrize("answer", ["record", "message"])
def test_a_create_the_vendor_cannot_read_back_yet_is_answered_as_made_and_made_once(answer: str) -> None:
    # A read served by a replica a few seconds behind the writes (Rails' automatic role switching
    # keeps a token client's reads on the replica; the docs say nothing of when a write is read):
    # the new patient's read-back is a 404. A 404 for a create the vendor made would have the
    # client send it again, a second patient.
    clock = SetClock(datetime.now(UTC))
    lagging = partial(create_sandbox, CLINIC, clock=clock, replica_lag=5, create_answer=answer)
    with gateway_over("nextvisit", lagging) as running:
        fhir = running.fhir
        sent = {"resourceType": "Patient", "name": [{"family": "Replica", "given": ["Rae"]}], "birthDate": "1969-07-20",
                "telecom": [PHONE]}  # fmt: skip
        created = fhir.request(
            "POST", f"{BASE}/Patient", json=sent, headers={**JSON, "Prefer": "return=OperationOutcome"}
        )
        assert created.status_code == 201, created.text[:300]
        assert any("not found it yet" in (i.get("diagnostics") or "") for i in outcome_of(created)["issue"])
        new_id = created.headers["location"].split("/Patient/")[1].split("/")[0]
        clock.now += timedelta(seconds=6)  # the replica has caught up
        read = fhir.get_ok(f"{BASE}/Patient/{new_id}")
        assert (read["name"][0]["given"], read["telecom"]) == (["Rae"], sent["telecom"])
        found = fhir.search_all(f"{BASE}/Patient", given="Rae", birthdate="1969-07-20")
        assert [p["id"] for p in found] == [new_id]


@pytest.mark.parametrize(
    ("fhir", "rows"), [({}, False), ({"allergies_shape": "objects"}, True)], ids=["text", "objects"], indirect=["fhir"]
)
def test_allergies_served_as_rows_are_read_with_their_reactions(fhir: FhirHttp, rows: bool) -> None:
    # The PatientFull examples never show `allergies`: an app may serve them as rows, `{name, reaction}`.
    pid = str(ALLERGIC.id)
    bundle = fhir.get_ok(f"{BASE}/AllergyIntolerance", params={"patient": pid})
    found = {e["resource"]["code"]["text"].split(" (")[0]: e["resource"] for e in bundle["entry"]}
    live = [a for a in ALLERGIC.allergies if not a.deleted]
    assert sorted(found) == sorted(a.substance for a in live) and bundle["total"] == len(live)
    if rows:  # each row gives its reaction (the text writes them in some styles only)
        for allergy in live:
            expected = [{"manifestation": [{"text": allergy.reaction.lower()}]}] if allergy.reaction else None
            assert found[allergy.substance].get("reaction") == expected, allergy.substance


# A clinic patient with a plain ASCII name and a birth date: one a new patient can share both with.
_NAMESAKE = next(
    p for p in CLINIC.patients
    if not p.deleted and p.birth_date and p.first_name.isascii() and p.last_name.isalpha() and p.first_name.isalpha()
)  # fmt: skip


def test_a_create_whose_id_was_looked_up_never_deletes_the_patient_found() -> None:
    # A create answered without an id: the gateway looks for the newest patient of the same names
    # and birth date, and a list read from a replica behind the writes finds the clinic's older
    # namesake instead. That patient not meeting the condition (an MRN, where this Nextvisit drops
    # `meta`) says nothing of the one made: deleting it would delete a real chart and leave the
    # new patient behind. Nothing is deleted; the answer says the patient made could not be told.
    clock = SetClock(datetime.now(UTC))
    switches = {"meta_input": "ignored", "create_answer": "message", "replica_lag": 5, "replica_lists": True}
    with gateway_over("nextvisit", partial(create_sandbox, CLINIC, clock=clock, **switches)) as running:
        fhir = running.fhir
        namesake = f"{BASE}/Patient/{_NAMESAKE.id}"
        before = fhir.get_ok(namesake)
        assert _NAMESAKE.birth_date is not None
        sent = {"resourceType": "Patient", "birthDate": _NAMESAKE.birth_date.isoformat(),
                "name": [{"family": _NAMESAKE.last_name, "given": [_NAMESAKE.first_name]}],
                "identifier": [{"system": "http://hospital.example/mrn", "value": "MRN-7001"}]}  # fmt: skip
        condition = {**JSON, "If-None-Exist": "identifier=http://hospital.example/mrn|MRN-7001"}
        answer = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=condition)
        clock.now += timedelta(seconds=6)  # the replica has caught up
        assert fhir.request("GET", namesake).status_code == 200, "the namesake was deleted"
        assert answer.status_code == 502, answer.text[:300]
        issue = outcome_of(answer)["issue"][0]
        assert issue["code"] == "processing" and "nothing was deleted" in issue["diagnostics"]
        assert fhir.get_ok(namesake) == before
        same = fhir.search_all(f"{BASE}/Patient", family=_NAMESAKE.last_name, birthdate=sent["birthDate"])
        assert len([p for p in same if p["name"][0]["given"][0] == _NAMESAKE.first_name]) >= 2


@pytest.mark.parametrize("fhir", [{}], ids=["meta-taken"], indirect=True)
def test_an_element_stored_otherwise_does_not_make_a_nextvisit_that_keeps_meta_refuse_conditions(
    fhir: FhirHttp,
) -> None:
    # Laravel's TrimStrings trims every string of a body, those of `meta` too: a phone sent with a
    # trailing space is read back without it, an element not stored as sent (named so). That says
    # nothing of whether this Nextvisit keeps `meta` (it does: the copy came back): a conditional
    # create on an MRN, kept in that copy, is made once and then matched, not refused.
    spaced = {**_LEARNER, "telecom": [{"system": "phone", "value": "(312) 555-0199 "}]}
    first = fhir.request("POST", f"{BASE}/Patient", json=spaced, headers={**JSON, "Prefer": "return=OperationOutcome"})
    assert first.status_code == 201, first.text[:300]
    assert _unkept(first) == {"Patient.telecom"}
    mrn = {"system": "http://hospital.example/mrn", "value": "MRN-7002"}
    patient = {"resourceType": "Patient", "name": [{"family": "Keptmeta", "given": ["Kim"]}],
               "birthDate": "1975-05-05", "identifier": [mrn]}  # fmt: skip
    condition = {**JSON, "If-None-Exist": "identifier=http://hospital.example/mrn|MRN-7002"}
    made = fhir.request("POST", f"{BASE}/Patient", json=patient, headers=condition)
    assert made.status_code == 201, made.text[:300]
    again = fhir.request("POST", f"{BASE}/Patient", json=patient, headers=condition)
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"], again.text[:300]
