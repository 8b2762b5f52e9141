"""Dental PMS Patient writes end to end, under both readings of a repeated `Idempotency-Key`
(replayed, or refused with 409) and with odd answer spellings: create (one request is one
patient, its answer lost or not, two requests two patients, a deleted one created again a new
one; a chart number in use is a 409), update (`If-Match` → `base_version`, stale → 412,
omitted elements cleared, or reported when the vendor keeps them; the patient's own chart
number kept, even by a vendor checking it against the patient itself; `active` and deceased
through `transition-status`), delete (archive; again → still 204; a deleted patient read is
410, or 404 when the vendor keeps archived patients out of sight, and created again a new
patient all the same), the vendor's 422 naming the field, and a CapabilityStatement that says
so."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sandboxes.clinic import build_clinic
from sandboxes.dentalpms import create_sandbox
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp, outcome_of
from tests.support.variants import VariantGateway, gateway_over, vendor_calls

TENANT = "dentalpms"
BASE = f"/fhir/{TENANT}"
JSON = {"Content-Type": "application/fhir+json"}
VARIANTS: dict[str, dict[str, str | int]] = {
    "replay": {"idempotency": "replay"},
    "conflict-odd-shapes": {
        "idempotency": "conflict",
        "past_end": "not_found_from_first",
        "error_bodies": "error_object",
        "scalars": "strings",
        "nulls": "absent",
        "timestamps": "naive",
        "write_answers": "before_flush",
        "empty_lists": "not_found",
        # Integers written as text read back only as text (Go's `,string`): `base_version` too.
        "body_versions": "text",
    },
    # Spring Boot's default error bodies: a 409 or 404 says only its reason phrase; an
    # Idempotency-Key read as a `UUID` (`@RequestHeader UUID`): any other key is refused; a
    # validation error is a 400 (`MethodArgumentNotValidException`); a stale version a 412; a
    # `search` of 3 characters at least; a PATCH's chart number checked against the patient's own;
    # enums decoded by Jackson's default, by the constants' names (`FEMALE`, `INACTIVE`) in bodies
    # and queries alike, and written so in answers.
    "spring-errors": {
        "error_bodies": "spring",
        "enums": "upper",
        "query_enums": "names",
        "body_enums": "names",
        "patch_chart_numbers": "any",
        "idempotency_keys": "uuid",
        "validation_status": 400,
        "version_conflicts": 412,
        "search_min_length": 3,
    },
    # Laravel's: `{"message"}`, a 422's `errors` by field (`{"email": ["..."]}`); an archived
    # patient not there at all (`SoftDeletes`: `findOrFail` answers 404, lists never show it);
    # no Idempotency-Key read (the framework has no such middleware of its own); phone numbers
    # validated by Laravel-phone's `phone:INTERNATIONAL` (only `+1 555 ...`).
    "laravel-errors": {
        "error_bodies": "laravel",
        "archived_patients": "not_found",
        "idempotency": "ignored",
        "body_phones": "international",
        "wrappers": "records",  # a JsonResource wraps itself in `data`
    },
    # NestJS's: `HttpException` bodies, a ValidationPipe's refusal a 400 whose `message` lists
    # class-validator's messages (`@IsPhoneNumber()` without a region: only `+1 555 ...`); the
    # documented response-mapping interceptor wrapping every answer in `data`; TypeORM's
    # `save({ id, ...dto })` answering a PATCH or transition with only what it saved; keys
    # replaying whatever was answered first (an idempotency interceptor caching the response),
    # bound globally: every POST and PATCH must carry a key.
    "nestjs": {
        "error_bodies": "nestjs",
        "validation_status": 400,
        "body_phones": "international",
        "wrappers": "all",
        "write_answers": "saved_fields",
        "idempotency": "replay_any",
        "write_keys": "every_write",
    },
    # ASP.NET Core's: problem details (a validation failure's `errors` by property or JSON path,
    # no `detail`) with 400 for it; an EF Core soft-delete query filter (an archived patient is
    # a 404, in no list) beside a repeated Idempotency-Key refused; a `search` of 3 characters
    # at least.
    "aspnet": {
        "error_bodies": "problem_details",
        "validation_status": 400,
        "idempotency": "conflict",
        "archived_patients": "not_found",
        "search_min_length": 3,
    },
}


def _deleted_status(variant: tuple[str, VariantGateway]) -> int:
    """A deleted patient's read: 410, or 404 when the vendor keeps archived patients out of
    every endpoint (then nothing tells it from a patient that never was)."""
    return 404 if VARIANTS[variant[0]].get("archived_patients") == "not_found" else 410


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Iterator[tuple[str, VariantGateway]]:
    name: str = request.param
    with gateway_over("dentalpms", lambda: create_sandbox(**VARIANTS[name])) as running:
        yield name, running


@pytest.fixture(scope="module")
def fhir(variant: tuple[str, VariantGateway]) -> FhirHttp:
    return variant[1].fhir


@pytest.fixture(scope="module")
def chart_system(fhir: FhirHttp) -> str:
    patient = fhir.get_ok(f"{BASE}/Patient", params={"_count": 1})["entry"][0]["resource"]
    return next(i["system"] for i in patient["identifier"] if i.get("type", {}).get("text") == "Chart number")


def _new_patient(family: str, chart_system: str, chart: str | None = None, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": ["Zoë", "Middle"]}],
        "gender": "female",
        "birthDate": "1991-04-05",
        "telecom": [
            {"system": "phone", "value": "5550009999", "use": "mobile"},
            {"system": "email", "value": f"{family.lower()}@example.org"},
        ],
        "address": [
            {"use": "home", "line": ["1 Main St"], "city": "Springfield", "state": "IL", "postalCode": "62701"}
        ],
        **extra,
    }
    if chart:
        resource["identifier"] = [{"system": chart_system, "value": chart}]
    return resource


def _by_family(fhir: FhirHttp, family: str) -> list[dict[str, Any]]:
    return fhir.search_all(f"{BASE}/Patient", family=family, birthdate="1991-04-05")


def test_capability_statement_lists_patient_writes(fhir: FhirHttp) -> None:
    statement = fhir.get_ok(f"{BASE}/metadata")
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    codes = {i["code"] for i in patient["interaction"]}
    assert {"create", "update", "delete", "read", "search-type"} <= codes
    allergy = next(r for r in statement["rest"][0]["resource"] if r["type"] == "AllergyIntolerance")
    assert not {"create", "update", "delete"} & {i["code"] for i in allergy["interaction"]}


def test_create_read_update_delete_round_trip(
    fhir: FhirHttp, chart_system: str, variant: tuple[str, VariantGateway]
) -> None:
    sent = _new_patient("Roundtripdp", chart_system, "RT-0001")
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert created.status_code == 201, created.text
    body = created.json()
    pid, version = body["id"], body["meta"]["versionId"]
    assert version.isdigit() and created.headers["etag"] == f'W/"{version}"'
    read = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert read == body
    official = next(n for n in read["name"] if n["use"] == "official")
    assert official == {"use": "official", "family": "Roundtripdp", "given": ["Zoë", "Middle"]}
    assert (read["birthDate"], read["gender"]) == ("1991-04-05", "female")
    # A phone may read back in international form (`+1` before the ten digits: body_phones).
    assert {(t["system"], t["value"].removeprefix("+1")) for t in read["telecom"]} == {
        ("phone", "5550009999"),
        ("email", "roundtripdp@example.org"),
    }
    assert read["address"][0]["city"] == "Springfield"
    assert {"system": chart_system, "value": "RT-0001"}.items() <= next(
        i for i in read["identifier"] if i["system"] == chart_system
    ).items()

    changed = {**read, "birthDate": "1991-04-05", "gender": "other"}
    changed["telecom"] = [t for t in read["telecom"] if t["system"] == "phone"]  # email left out: cleared
    stale = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers={**JSON, "If-Match": 'W/"999"'})
    assert stale.status_code == 412 and outcome_of(stale)["issue"][0]["code"] == "conflict"
    updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers={**JSON, "If-Match": f'W/"{version}"'})
    assert updated.status_code == 200, updated.text
    now = updated.json()
    assert now["gender"] == "other" and int(now["meta"]["versionId"]) == int(version) + 1
    assert [t["system"] for t in now["telecom"]] == ["phone"]
    assert fhir.get_ok(f"{BASE}/Patient/{pid}") == now
    # Without If-Match the current version is used.
    again = fhir.request("PUT", f"{BASE}/Patient/{pid}", json={**now, "gender": "female"}, headers=JSON)
    assert again.status_code == 200 and again.json()["gender"] == "female"

    assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204
    gone = fhir.get(f"{BASE}/Patient/{pid}")
    assert gone.status_code == _deleted_status(variant)
    assert _by_family(fhir, "Roundtripdp") == []
    assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204  # again: still a success
    absent = "00000000-0000-4000-8000-000000000001"
    assert fhir.request("DELETE", f"{BASE}/Patient/{absent}").status_code == 204


def test_two_requests_of_one_body_are_two_creates(fhir: FhirHttp, chart_system: str) -> None:
    # FHIR create (http.html#create) makes a resource of each request: twins nothing the client
    # sends tells apart are two patients. Before, the Idempotency-Key was a hash of the body, so
    # the second request answered 201 with the first request's patient (or a 409 naming it).
    sent = _new_patient("Samebodydp", chart_system)
    made = [fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON) for _ in range(2)]
    assert [answer.status_code for answer in made] == [201, 201], [answer.text for answer in made]
    ids = [answer.json()["id"] for answer in made]
    assert ids[0] != ids[1]
    assert sorted(p["id"] for p in _by_family(fhir, "Samebodydp")) == sorted(ids)
    # With a chart number, the second is refused: the practice's record number is the first's.
    charted = _new_patient("Samechartdp", chart_system, "SAME-1")
    first = fhir.request("POST", f"{BASE}/Patient", json=charted, headers=JSON)
    assert first.status_code == 201, first.text
    again = fhir.request("POST", f"{BASE}/Patient", json=charted, headers=JSON)
    assert again.status_code == 409 and first.json()["id"] in outcome_of(again)["issue"][0]["diagnostics"]
    assert [p["id"] for p in _by_family(fhir, "Samechartdp")] == [first.json()["id"]]


def _vendor_retries(fhir: FhirHttp) -> float:
    """The vendor calls the gateway has sent again for the tenant so far (its /metrics)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(fhir.get("/metrics").text)
        for sample in family.samples
        if sample.name == "fhir_gateway_vendor_retries_total" and sample.labels.get("tenant") == TENANT
    )


@pytest.mark.parametrize("idempotency", ["replay", "conflict"])
def test_a_create_whose_answer_was_lost_is_made_once(idempotency: str) -> None:
    # The vendor stores the patient, and its answer is lost (a 503 here): the gateway sends the
    # create again with the same Idempotency-Key, which the vendor replays (or refuses: the
    # patient this request made is then found). One request, one patient, answered 201.
    vendor = partial(create_sandbox, build_clinic(size=100), idempotency=idempotency, create_answers="lost_once")
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        system = _chart_system_of(
            fhir, fhir.get_ok(f"{BASE}/Patient", params={"_count": 1})["entry"][0]["resource"]["id"]
        )
        for chart in ("LOST-1", None):
            family = "Lostanswerdp" if chart else "Lostanswernochartdp"
            retries = _vendor_retries(fhir)
            created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient(family, system, chart), headers=JSON)
            assert created.status_code == 201, created.text
            assert _vendor_retries(fhir) == retries + 1  # the create, sent again with its key
            assert [p["id"] for p in _by_family(fhir, family)] == [created.json()["id"]]
            assert fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}") == created.json()


@pytest.mark.parametrize("born", ["1991-04-05", None])
def test_a_create_made_before_its_key_was_refused_is_that_patient_whoever_holds_its_chart_number(
    born: str | None,
) -> None:
    # The answer to the create is lost, the vendor refuses the retry's repeated key (409
    # "Idempotency conflict": only this request carries it, so the first attempt was stored).
    # Before, the patient was looked for by its chart number, too short for the vendor's
    # `search` (`Query(min_length=7)`) and, with accented names and no birth date, by nothing
    # else: a 409 "chart number in use" for the patient this very request had made.
    switches = {"idempotency": "conflict", "create_answers": "lost_once", "search_min_length": 7}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        system = _chart_system_of(
            fhir, fhir.get_ok(f"{BASE}/Patient", params={"_count": 1})["entry"][0]["resource"]["id"]
        )
        sent: dict[str, Any] = {
            "resourceType": "Patient",
            "name": [{"family": "Núñez", "given": ["Zoë"]}],
            "identifier": [{"system": system, "value": "L7"}],
        }
        if born:
            sent["birthDate"] = born
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        found = fhir.search_all(f"{BASE}/Patient", identifier=f"{system}|L7")
        assert [p["id"] for p in found] == [created.json()["id"]]
        # Another person with that chart number is still refused, naming it.
        other = {**sent, "name": [{"family": "Other", "given": ["Ida"]}]}
        refused = fhir.request("POST", f"{BASE}/Patient", json=other, headers=JSON)
        assert refused.status_code == 409 and "L7" in outcome_of(refused)["issue"][0]["diagnostics"]


def test_a_create_whose_retry_finds_its_own_chart_number_taken_is_the_patient_it_made() -> None:
    # The reference names `Idempotency-Key` only in the create's error list: a service may not
    # read it at all. The answer to the create is lost and the gateway sends it again: 409
    # "Duplicate chart number", held by the patient the first attempt made. Before, that was a
    # 409 "exists already" for the patient this very request had created. A patient made before
    # the request, the same in every way, is still a 409 naming it.
    switches = {"idempotency": "ignored", "create_answers": "lost_once"}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        sent = _new_patient("Keylessdp", system, "KEYLESS-1")
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        assert [p["id"] for p in _by_family(fhir, "Keylessdp")] == [created.json()["id"]]
        again = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert again.status_code == 409, again.text
        assert created.json()["id"] in outcome_of(again)["issue"][0]["diagnostics"]


def test_a_create_sent_again_to_a_vendor_that_does_not_read_its_key_names_the_patient_made_twice() -> None:
    # Without a chart number nothing refuses the retry of a create whose answer was lost: a
    # service that does not read the Idempotency-Key makes a second patient. The retry's is the
    # answer; the first attempt's, the same patient made during this request by the vendor's
    # clock, is named in the answer's OperationOutcome (to merge at the practice), and neither
    # is archived: nothing but names and time ties it to this request, and another request's
    # patient archived would be a record lost.
    switches = {"idempotency": "ignored", "create_answers": "lost_once"}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        headers = {**JSON, "Prefer": "return=OperationOutcome"}
        created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Twicemadedp", ""), headers=headers)
        assert created.status_code == 201, created.text
        answered = created.headers["Location"].split("/Patient/", 1)[1].split("/", 1)[0]
        made = [p["id"] for p in _by_family(fhir, "Twicemadedp")]
        assert len(made) == 2 and answered in made, (answered, made)
        (first,) = set(made) - {answered}
        warnings = [i["diagnostics"] for i in outcome_of(created)["issue"] if "Dental PMS" in i["diagnostics"]]
        assert warnings == [
            "The Dental PMS made this patient twice (an answer lost, the create sent again): "
            f"Patient/{first} is the same patient, made during this request; merge them at the practice"
        ]


@pytest.mark.parametrize("idempotency", ["replay", "conflict"])
def test_a_create_answered_with_its_location_alone_is_that_patient(idempotency: str) -> None:
    # The reference says "Returns 201 with the created patient"; a service may answer 201 with
    # no body, the patient's URL in `Location` (Spring's `ResponseEntity.created(uri).build()`).
    # Before, the body that was not a patient made the create a 502 once the patient was stored,
    # and the client's retry a second patient.
    switches = {"create_answers": "location", "idempotency": idempotency, "nulls": "absent"}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        for family, chart in (("Locatedp", "LOC-1"), ("Locatenochartdp", None)):
            sent = _new_patient(family, _chart_system_of(fhir, _any_patient_id(fhir)), chart, active=False)
            created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
            assert created.status_code == 201, created.text
            assert created.json()["active"] is False
            assert fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}") == created.json()
            assert [p["id"] for p in _by_family(fhir, family)] == [created.json()["id"]]


def _any_patient_id(fhir: FhirHttp) -> str:
    return str(fhir.get_ok(f"{BASE}/Patient", params={"_count": 1})["entry"][0]["resource"]["id"])


def test_a_deleted_patient_created_again_is_a_new_patient(fhir: FhirHttp, variant: tuple[str, VariantGateway]) -> None:
    sent = _new_patient("Recreateddp", "")
    earlier: list[str] = []
    for _ in range(3):  # created, deleted, created again, deleted, created a third time
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert pid not in earlier
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == created.json()
        assert [p["id"] for p in _by_family(fhir, "Recreateddp")] == [pid]
        assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204
        earlier.append(pid)
    assert all(fhir.get(f"{BASE}/Patient/{pid}").status_code == _deleted_status(variant) for pid in earlier)
    assert _by_family(fhir, "Recreateddp") == []


def test_people_the_vendor_would_store_alike_are_two_patients(fhir: FhirHttp) -> None:
    # Twins told apart only by what the Dental PMS does not keep (an MRN, the birth order): two
    # requests, two patients. With the key made of the vendor body they were one: the second
    # create answered 201 with the first twin.
    twins = []
    for order in (1, 2):
        sent = _new_patient("Twinsdp", "", multipleBirthInteger=order)
        sent["identifier"] = [{"system": "urn:example:mrn", "value": f"MRN-{order}"}]
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        twins.append(created.json()["id"])
    assert twins[0] != twins[1]
    assert sorted(p["id"] for p in _by_family(fhir, "Twinsdp")) == sorted(twins)


def test_a_create_repeated_after_its_patient_changed_is_not_that_patient(fhir: FhirHttp) -> None:
    # The same body again, once the patient it made has been renamed: another create. Under the
    # replaying reading it answered 201 with the renamed patient, named otherwise than sent.
    sent = _new_patient("Placeholderdp", "")
    first = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert first.status_code == 201, first.text
    renamed = {**first.json(), "name": [{"use": "official", "family": "Placeholderdp", "given": ["Adam"]}]}
    assert fhir.request("PUT", f"{BASE}/Patient/{first.json()['id']}", json=renamed, headers=JSON).status_code == 200
    again = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first.json()["id"] and again.json()["name"][0]["given"] == ["Zoë", "Middle"]
    named = {p["id"]: p["name"][0]["given"] for p in _by_family(fhir, "Placeholderdp")}
    assert named[first.json()["id"]] == ["Adam"]


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ("identifier=http://hospital.example/mrn|MRN-4242", "identifier (http://hospital.example/mrn)"),
        ("identifier={chart_system}|NOTSENT-1", "identifier ({chart_system})"),  # no chart number in the body
        ("family=Condzzdp&birthdate=1991-04-06", "birthdate"),  # another birth date than the body's
    ],
    ids=["mrn", "chart-number-not-sent", "another-birth-date"],
)
def test_a_condition_the_stored_patient_could_not_meet_is_refused_and_nothing_written(
    fhir: FhirHttp, chart_system: str, condition: str, named: str
) -> None:
    # The Dental PMS keeps no MRN, gives a patient sent without a chart number one of its own, and
    # stores the body's birth date: If-None-Exist on any of these can never find the patient the
    # create makes, so each repeat made another (R4 http.html#ccreate). Before: 201, and 201
    # again, two patients, only a warning under `Prefer: return=OperationOutcome`.
    sent = _new_patient("Condzzdp", "")
    sent["identifier"] = [{"system": "http://hospital.example/mrn", "value": "MRN-4242"}]
    headers = {**JSON, "If-None-Exist": condition.format(chart_system=chart_system)}
    for _ in range(2):
        refused = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=headers)
        assert refused.status_code == 422, refused.text
        said = outcome_of(refused)["issue"][0]["diagnostics"]
        assert f"its {named.format(chart_system=chart_system)} parameter" in said and "nothing was written" in said
        assert "MRN-4242" not in said
    assert _by_family(fhir, "Condzzdp") == []


def test_a_condition_the_stored_patient_meets_still_creates_once(fhir: FhirHttp, chart_system: str) -> None:
    sent = _new_patient("Condkeptdp", chart_system, "CONDKEPT-1")
    condition = f"identifier={chart_system}|CONDKEPT-1&family=Condkeptdp&birthdate=1991-04-05&gender=female"
    headers = {**JSON, "If-None-Exist": condition}
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=headers)
    assert created.status_code == 201, created.text
    again = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"], again.text


def test_a_deleted_patients_chart_number_is_not_taken_again(
    fhir: FhirHttp, chart_system: str, variant: tuple[str, VariantGateway]
) -> None:
    # The Dental PMS keeps an archived patient's chart number: the create again is refused,
    # saying whose it is (before, the replay answered 201 with the deleted patient).
    sent = _new_patient("Recreatedchartdp", chart_system, "RC-1")
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert created.status_code == 201, created.text
    assert fhir.request("DELETE", f"{BASE}/Patient/{created.json()['id']}").status_code == 204
    again = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert again.status_code == 409, again.text
    diagnostics = outcome_of(again)["issue"][0]["diagnostics"]
    assert "RC-1" in diagnostics
    if _deleted_status(variant) == 410:  # else no list shows the deleted patient
        assert f"deleted Patient/{created.json()['id']}" in diagnostics


def test_a_patient_is_found_by_a_chart_number_shorter_than_the_vendor_searches(
    fhir: FhirHttp, chart_system: str
) -> None:
    # The docs give the free-text `search` no minimum length; a service may take none shorter
    # than 3 characters (`Query(min_length=3)`). Before, its 422 (or 400) made the client's
    # identifier search a 400: the search is answered without the term, and found all the same.
    sent = _new_patient("Shortchartdp", chart_system, "7")
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert created.status_code == 201, created.text
    for _ in range(2):  # the second time the vendor is known to refuse it: not asked again
        found = fhir.search_all(f"{BASE}/Patient", identifier=f"{chart_system}|7", _count=100)
        assert [p["id"] for p in found] == [created.json()["id"]]


def test_a_chart_number_in_use_is_a_conflict_naming_it(fhir: FhirHttp, chart_system: str) -> None:
    first = fhir.request(
        "POST", f"{BASE}/Patient", json=_new_patient("Chartowner", chart_system, "DUP-7"), headers=JSON
    )
    assert first.status_code == 201, first.text
    other = _new_patient("Otherperson", chart_system, "DUP-7")
    refused = fhir.request("POST", f"{BASE}/Patient", json=other, headers=JSON)
    assert refused.status_code == 409, refused.text
    assert "DUP-7" in outcome_of(refused)["issue"][0]["diagnostics"]
    assert _by_family(fhir, "Otherperson") == []
    # The same person with If-None-Exist on another criterion: matched, 200, nothing created.
    same = _new_patient("Chartowner", chart_system, "DUP-7")
    matched = fhir.request(
        "POST",
        f"{BASE}/Patient",
        json=same,
        headers={**JSON, "If-None-Exist": "family=Chartowner&birthdate=1991-04-05"},
    )
    assert matched.status_code == 200 and matched.json()["id"] == first.json()["id"]


def test_conditional_creates_sent_at_once_make_one_patient(fhir: FhirHttp, chart_system: str) -> None:
    # R4 http.html#ccreate: create only if nothing matches. Sent together, each used to search,
    # find nothing and create: four requests, four patients (the vendor guards no demographics).
    sent = _new_patient("Togetherzz", chart_system)
    headers = {**JSON, "If-None-Exist": "family=Togetherzz&birthdate=1991-04-05"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: fhir.request("POST", f"{BASE}/Patient", json=sent, headers=headers), range(4))
        )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    made = _by_family(fhir, "Togetherzz")
    assert len(made) == 1 and {a.json()["id"] for a in answers} == {made[0]["id"]}


def test_a_chart_number_taken_by_an_update_is_a_conflict_naming_it(fhir: FhirHttp, chart_system: str) -> None:
    # The vendor's 409 for a chart number in use, which no retry resolves; before, when its
    # body did not say why, it was taken for a version conflict: "kept changing, try again"
    # (and with If-Match a 412, as if the client's version were stale).
    owner = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Chartkeep", chart_system, "UPD-9"), headers=JSON)
    other = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Chartwant", chart_system, "UPD-8"), headers=JSON)
    assert owner.status_code == 201 and other.status_code == 201, (owner.text, other.text)
    wanting = other.json()
    wanting["identifier"] = [i for i in wanting["identifier"] if i.get("system") != chart_system] + [
        {"system": chart_system, "value": "UPD-9"}
    ]
    version = wanting["meta"]["versionId"]
    for headers in (JSON, {**JSON, "If-Match": f'W/"{version}"'}):
        refused = fhir.request("PUT", f"{BASE}/Patient/{wanting['id']}", json=wanting, headers=headers)
        assert refused.status_code == 409, refused.text
        issue = outcome_of(refused)["issue"][0]
        assert "UPD-9" in issue["diagnostics"] and issue["expression"] == ["Patient.identifier"], issue
    kept = fhir.get_ok(f"{BASE}/Patient/{wanting['id']}")
    assert any(i.get("value") == "UPD-8" for i in kept["identifier"]) and kept["meta"]["versionId"] == version


def test_a_chart_number_shorter_than_the_vendor_searches_is_still_told_apart(fhir: FhirHttp, chart_system: str) -> None:
    # After the vendor's 409, who holds the chart number is looked up; a service may take no
    # `search` shorter than 3 characters (`Query(min_length=3)`). Before, a chart number
    # shorter than that was sent as `search` all the same: its 422 (or 400) made a repeated
    # create, a create with a chart number in use and an update taking one all a 400.
    owner = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Shortkeep", chart_system, "S7"), headers=JSON)
    assert owner.status_code == 201, owner.text
    repeated = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Shortkeep", chart_system, "S7"), headers=JSON)
    assert repeated.status_code == 409, repeated.text  # the patient exists already: named
    assert owner.json()["id"] in outcome_of(repeated)["issue"][0]["diagnostics"]
    other = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Shortother", chart_system, "S7"), headers=JSON)
    assert other.status_code == 409, other.text
    assert "S7" in outcome_of(other)["issue"][0]["diagnostics"]
    wanting = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Shortwant", chart_system, "S8"), headers=JSON)
    assert wanting.status_code == 201, wanting.text
    taking = wanting.json()
    taking["identifier"] = [i for i in taking["identifier"] if i.get("system") != chart_system] + [
        {"system": chart_system, "value": "S7"}
    ]
    refused = fhir.request("PUT", f"{BASE}/Patient/{taking['id']}", json=taking, headers=JSON)
    assert refused.status_code == 409, refused.text
    issue = outcome_of(refused)["issue"][0]
    assert "S7" in issue["diagnostics"] and issue["expression"] == ["Patient.identifier"], issue
    assert [p["id"] for p in _by_family(fhir, "Shortkeep")] == [owner.json()["id"]]


def _refused_reads(fhir: FhirHttp) -> float:
    """The gateway's vendor reads (GETs) the vendor has refused so far (a 4xx answer)."""
    return vendor_calls(fhir, TENANT, lambda labels: labels.get("method") == "GET" and labels.get("outcome") == "4xx")


@pytest.mark.parametrize("first", ["search", "create"])
def test_a_search_too_short_for_the_vendor_is_refused_once_per_tenant(first: str) -> None:
    # A service may take no `search` shorter than it guards (`Query(min_length=7)`: every clinic
    # chart number, `C00042`, is shorter). Before, the Patient search and the write look-ups (who
    # holds a chart number) each learned that on their own, each paying a refused call for it.
    holder = next(p for p in live_patients(build_clinic()) if p.chart_number)
    with gateway_over("dentalpms", partial(create_sandbox, search_min_length=7)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, str(holder.uuid))

        def search() -> None:
            found = fhir.search_all(f"{BASE}/Patient", identifier=f"{system}|{holder.chart_number}", _count=100)
            assert [p["id"] for p in found] == [str(holder.uuid)]

        def create() -> None:
            other = _new_patient("Chartclash", system, holder.chart_number)
            refused = fhir.request("POST", f"{BASE}/Patient", json=other, headers=JSON)
            assert refused.status_code == 409, refused.text
            assert outcome_of(refused)["issue"][0]["expression"] == ["Patient.identifier"]

        steps = (search, create) if first == "search" else (create, search)
        steps[0]()
        assert _refused_reads(fhir) == 1
        steps[1]()
        assert _refused_reads(fhir) == 1  # learned once for the tenant: not asked again


@pytest.mark.parametrize("holder_status", ["active", "deceased"])
def test_an_update_refused_without_a_reason_costs_no_walk_of_the_lists(holder_status: str) -> None:
    # Spring Boot's default error body gives a 409 its reason phrase only ("Conflict"): a version
    # conflict or a chart number in use. Before, who held the chart number sent was looked up:
    # with a chart number too short for the vendor's `search` (`Query(min_length=7)`), a walk of
    # the patient list page by page, then of each status's list (under lists that answer only
    # active patients unless asked) until the holder turned up: 7 vendor calls for this update,
    # 11 for a deceased holder's chart number, every page of every list for a version conflict.
    live = live_patients(build_clinic())
    holder = next(p for p in live if p.status == holder_status and p.chart_number)
    taker = next(p for p in live if p.status == "active" and p.chart_number and p is not holder)
    switches = {"error_bodies": "spring", "search_min_length": 7, "list_statuses": "active"}
    with gateway_over("dentalpms", partial(create_sandbox, **switches)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, str(holder.uuid))
        taking = fhir.get_ok(f"{BASE}/Patient/{taker.uuid}")
        taking["identifier"] = [i for i in taking["identifier"] if i.get("system") != system] + [
            {"system": system, "value": holder.chart_number}
        ]
        before = vendor_calls(fhir, TENANT)
        refused = fhir.request("PUT", f"{BASE}/Patient/{taker.uuid}", json=taking, headers=JSON)
        assert refused.status_code == 409, refused.text
        issue = outcome_of(refused)["issue"][0]
        assert holder.chart_number in issue["diagnostics"] and issue["expression"] == ["Patient.identifier"], issue
        # The record, the PATCH, the record again.
        assert vendor_calls(fhir, TENANT) - before <= 3
        assert fhir.get_ok(f"{BASE}/Patient/{taker.uuid}")["meta"] == taking["meta"]


@pytest.mark.parametrize("idempotency", ["replay", "conflict"])
def test_a_create_refused_without_a_reason_costs_no_walk_of_the_lists(idempotency: str) -> None:
    # Spring Boot's default error body gives a 409 its reason phrase only: a repeated
    # Idempotency-Key or a chart number in use. Who holds the chart number sent is looked up
    # (the same patient sent again is that patient). Before, with a chart number too short for
    # the vendor's `search` (`Query(min_length=7)`) and no birth date to narrow the lists by,
    # every page of every status's list was walked: some 30 vendor calls for one create in a
    # practice of 1,200 patients, and more with every patient it takes on.
    clinic = build_clinic(size=1200)
    holder = next(p for p in live_patients(clinic) if p.status == "deceased" and p.chart_number)
    switches = {"error_bodies": "spring", "search_min_length": 7, "list_statuses": "active"}
    with gateway_over("dentalpms", partial(create_sandbox, clinic, idempotency=idempotency, **switches)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, str(holder.uuid))

        def sent(family: str, given: str, chart: str) -> dict[str, Any]:
            name = [{"family": family, "given": [given]}]
            return {"resourceType": "Patient", "name": name, "identifier": [{"system": system, "value": chart}]}

        def create(resource: dict[str, Any]) -> tuple[Any, float]:
            before = vendor_calls(fhir, TENANT)
            answer = fhir.request("POST", f"{BASE}/Patient", json=resource, headers=JSON)
            return answer, vendor_calls(fhir, TENANT) - before

        # Another person with the chart number of a clinic patient.
        refused, calls = create(sent("Chartclashdp", "Ida", str(holder.chart_number)))
        assert refused.status_code == 409, refused.text
        issue = outcome_of(refused)["issue"][0]
        assert holder.chart_number in issue["diagnostics"] and issue["expression"] == ["Patient.identifier"], issue
        # The create, the refused `search` it learns the shortest from, a list of each status.
        assert calls <= 7, calls
        # The same patient sent twice: the chart number is that patient's (found by its name, not
        # a walk), whose id the 409 names.
        mine = sent("Shortchartdp", "Ida", "Q1")
        first, _ = create(mine)
        assert first.status_code == 201, first.text
        again, calls = create(mine)
        assert again.status_code == 409 and first.json()["id"] in outcome_of(again)["issue"][0]["diagnostics"]
        assert calls <= 2, calls
        # Names no term finds under every reading of `search` (accented): the holder is not
        # looked up at all. Still a 409 naming the chart number, and no second patient.
        accented = sent("Núñez", "Zoë", "Q2")
        first, _ = create(accented)
        assert first.status_code == 201, first.text
        again, calls = create(accented)
        assert again.status_code == 409, again.text
        issue = outcome_of(again)["issue"][0]
        assert "Q2" in issue["diagnostics"] and issue["expression"] == ["Patient.identifier"], issue
        assert calls <= 2, calls
        found = fhir.search_all(f"{BASE}/Patient", identifier=f"{system}|Q2")
        assert [p["id"] for p in found] == [first.json()["id"]]


def _chart_system_of(fhir: FhirHttp, patient_id: str) -> str:
    patient = fhir.get_ok(f"{BASE}/Patient/{patient_id}")
    return str(next(i["system"] for i in patient["identifier"] if i.get("type", {}).get("text") == "Chart number"))


def test_what_the_vendor_cannot_keep_is_reported(fhir: FhirHttp, chart_system: str) -> None:
    sent = _new_patient(
        "Notkeptdp",
        chart_system,
        multipleBirthBoolean=False,
        contact=[{"name": {"family": "Kin"}}],
    )
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers={**JSON, "Prefer": "return=OperationOutcome"})
    assert created.status_code == 201, created.text
    lost = {e for issue in created.json()["issue"] for e in issue.get("expression", [])}
    assert {"Patient.multipleBirthBoolean", "Patient.contact"} <= lost


@pytest.mark.parametrize(
    ("patch_nulls", "shape"),
    [
        ("cleared", {}),
        ("ignored", {}),
        ("refused", {"error_bodies": "laravel"}),
        # ASP.NET Core's ValidationProblemDetails, a null it cannot read keyed by JSON path
        # (`$.email`): before, that key named no field, and the whole PUT was a 422.
        ("refused", {"error_bodies": "problem_details", "validation_status": 400}),
        # NestJS's ValidationPipe: the refused properties only in `message`'s list.
        ("refused", {"error_bodies": "nestjs", "validation_status": 400}),
        # A Rails scaffold's `render json: @patient.errors`: the messages by attribute, no envelope.
        ("refused", {"error_bodies": "rails"}),
    ],
    ids=["cleared", "ignored", "refused-laravel", "refused-problem-details", "refused-nestjs", "refused-rails"],
)
def test_what_an_update_could_not_clear_is_reported(patch_nulls: str, shape: dict[str, Any]) -> None:
    # A PUT without telecom and address clears them; a vendor that reads the PATCH's nulls as
    # "not provided" keeps them, and the client is told so instead of a silent 200. One that
    # refuses a null (Django REST Framework, a Laravel rule without `nullable`, ASP.NET Core's
    # non-nullable properties) answered the whole PUT 422: the rest is stored, those kept and
    # said so.
    with gateway_over("dentalpms", lambda: create_sandbox(patch_nulls=patch_nulls, **shape)) as running:
        fhir = running.fhir
        created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Clearsdp", ""), headers=JSON)
        assert created.status_code == 201, created.text
        before = created.json()
        sent = {k: v for k, v in before.items() if k not in ("telecom", "address")} | {"gender": "other"}
        prefer = {**JSON, "Prefer": "return=OperationOutcome"}
        updated = fhir.request("PUT", f"{BASE}/Patient/{before['id']}", json=sent, headers=prefer)
        assert updated.status_code == 200, updated.text
        issues = updated.json()["issue"]
        warned = {e for issue in issues if issue["severity"] == "warning" for e in issue.get("expression", [])}
        now = fhir.get_ok(f"{BASE}/Patient/{before['id']}")
        assert now["gender"] == "other"  # what the vendor takes is stored
        if patch_nulls == "cleared":
            assert "telecom" not in now and "address" not in now
            assert not warned & {"Patient.telecom", "Patient.address"}
        else:
            assert (now["telecom"], now["address"]) == (before["telecom"], before["address"])
            assert {"Patient.telecom", "Patient.address"} <= warned, issues


@pytest.mark.parametrize("error_bodies", ["fastapi", "spring"])
def test_an_update_keeping_the_chart_number_is_stored_whoever_it_is_checked_against(error_bodies: str) -> None:
    # A vendor whose PATCH checks a chart number sent against every patient, this one included
    # (`exists(chart_number=X)` without `id != self`), refuses the patient's own chart number
    # as "Duplicate chart number" (under Spring Boot's error body, a bare 409). Before, every
    # PUT of a patient with its chart number, a name or a phone changed, was that 409.
    patient = next(p for p in live_patients(build_clinic()) if p.status == "active" and p.chart_number)
    sandbox = partial(create_sandbox, patch_chart_numbers="any", error_bodies=error_bodies)
    with gateway_over("dentalpms", sandbox) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, str(patient.uuid))
        current = fhir.get_ok(f"{BASE}/Patient/{patient.uuid}")
        assert {"system": system, "value": patient.chart_number}.items() <= next(
            i for i in current["identifier"] if i.get("system") == system
        ).items()
        version = int(current["meta"]["versionId"])
        renamed = {**current, "name": [{"use": "official", "family": "Keepschart", "given": ["Ada"]}]}
        renamed["telecom"] = [{"system": "phone", "value": "5550001234", "use": "mobile"}]
        for headers, family in (({**JSON, "If-Match": f'W/"{version}"'}, "Keepschart"), (JSON, "Keepschartagain")):
            renamed["name"][0]["family"] = family
            updated = fhir.request("PUT", f"{BASE}/Patient/{patient.uuid}", json=renamed, headers=headers)
            assert updated.status_code == 200, updated.text
            now = updated.json()
            assert now["name"][0]["family"] == family and int(now["meta"]["versionId"]) == version + 1
            assert [(t["system"], t["value"]) for t in now["telecom"]] == [("phone", "5550001234")]
            assert any(i.get("system") == system and i["value"] == patient.chart_number for i in now["identifier"])
            assert fhir.get_ok(f"{BASE}/Patient/{patient.uuid}") == now
            version += 1
        # Another patient's chart number is still refused, naming the identifier.
        holder = next(p for p in live_patients(build_clinic()) if p.chart_number and p is not patient)
        taking = {**now, "identifier": [{"system": system, "value": holder.chart_number}]}
        refused = fhir.request("PUT", f"{BASE}/Patient/{patient.uuid}", json=taking, headers=JSON)
        assert refused.status_code == 409, refused.text
        assert outcome_of(refused)["issue"][0]["expression"] == ["Patient.identifier"]


@pytest.mark.parametrize("body_dates", ["lax", "strict"])
def test_a_date_of_death_of_any_precision_is_stored_as_the_vendors_date_time(body_dates: str) -> None:
    # The reference types `date_time_deceased` `string (date-time)`: a service reading it as Go's
    # `time.Time` or Jackson's `OffsetDateTime` refuses a date alone. Before, a
    # `deceasedDateTime` of a day was sent as that day, and the create or update was a 422.
    # A day is the clinic's midnight (the tenant's zone: America/Chicago); a year or a month
    # cannot be held, and the client is told so, the death itself stored.
    clinic = ZoneInfo("America/Chicago")
    with gateway_over("dentalpms", partial(create_sandbox, body_dates=body_dates)) as running:
        fhir = running.fhir
        died = _new_patient("Deathdaydp", "", deceasedDateTime="2020-03-15")
        created = fhir.request("POST", f"{BASE}/Patient", json=died, headers=JSON)
        assert created.status_code == 201, created.text
        stored = datetime.fromisoformat(created.json()["deceasedDateTime"].replace("Z", "+00:00"))
        assert stored.astimezone(clinic) == datetime(2020, 3, 15, tzinfo=clinic), created.json()
        assert fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}") == created.json()
        prefer = {**JSON, "Prefer": "return=OperationOutcome"}
        living = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Deathlaterdp", ""), headers=JSON)
        assert living.status_code == 201, living.text
        pid = living.json()["id"]
        for sent, instant, kept in (
            ("2021-06-07", "2021-06-07T05:00:00Z", True),
            ("2024-02-03T04:05:06+02:00", "2024-02-03T02:05:06Z", True),
            ("2022", "2024-02-03T02:05:06Z", False),  # not held: the date before stays
        ):
            current = fhir.get_ok(f"{BASE}/Patient/{pid}")
            current.pop("deceasedBoolean", None)
            # Not in use once deceased (the vendor's one status): `active: true` beside the
            # death would be refused (test_a_lifecycle_no_transition_reaches_is_refused_...).
            died = {**current, "active": False, "deceasedDateTime": sent}
            updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=died, headers=prefer)
            assert updated.status_code == 200, updated.text
            warned = {
                e
                for issue in updated.json()["issue"]
                if issue["severity"] == "warning"
                for e in issue.get("expression", [])
            }
            assert ("Patient.deceasedDateTime" not in warned) is kept, (sent, updated.json())
            now = fhir.get_ok(f"{BASE}/Patient/{pid}")
            assert now["active"] is False and now["deceasedDateTime"] == instant, (sent, now)


def test_an_update_moves_the_lifecycle_through_the_vendors_transitions(fhir: FhirHttp) -> None:
    # `active` and deceased are the vendor's `status`, which its PATCH body lacks: the reference
    # moves it with `transition-status`. Before, `active: false` answered 200 and the patient
    # stayed active, said only to a client that asked for an OperationOutcome.
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Lifecycledp", ""), headers=JSON)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    for active in (False, True, False, True):
        current = fhir.get_ok(f"{BASE}/Patient/{pid}")
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json={**current, "active": active}, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert updated.json()["active"] is active
        now = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert now == updated.json() and int(now["meta"]["versionId"]) > int(current["meta"]["versionId"])
    assert [p["id"] for p in fhir.search_all(f"{BASE}/Patient", family="Lifecycledp", active="true")] == [pid]
    current = fhir.get_ok(f"{BASE}/Patient/{pid}")
    died = {**current, "active": False, "deceasedDateTime": "2024-02-03T04:05:06Z"}
    updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=died, headers=JSON)
    assert updated.status_code == 200, updated.text
    assert updated.json()["active"] is False and updated.json()["deceasedDateTime"].startswith("2024-02-03")
    # Deceased is terminal: `active: true` cannot be stored, and the update is refused
    # (test_a_lifecycle_no_transition_reaches_is_refused_before_anything_is_written).
    revived = {**updated.json(), "active": True}
    answer = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=revived, headers=JSON)
    assert answer.status_code == 422, answer.text
    assert fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()


@pytest.mark.parametrize("write_answers", ["flushed", "before_flush"])
def test_an_update_whose_status_the_vendor_refuses_changes_nothing(write_answers: str) -> None:
    # A service may take a patient to `deceased` only once its `date_time_deceased` is recorded
    # (the reference's "422: Invalid status transition" says no more). The fields are PATCHed
    # first (a date of death sent is then there for the transition), so a refused transition
    # finds them written: they are PATCHed back, on the version the vendor answered, and the
    # update is refused whole. Before, the answer was a 200 with the new address and phone, the
    # patient still active, `Patient.deceased` named only as not stored.
    switches = {"death_dates": "required", "write_answers": write_answers}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Refusedeathdp", ""), headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        held = fhir.get_ok(f"{BASE}/Patient/{pid}")
        moved = {
            **held,
            "address": [{"line": ["9 Elm St"], "city": "Peoria", "state": "IL", "postalCode": "61602"}],
            "telecom": [{"system": "phone", "value": "5550001111", "use": "home"}],
            "active": False,
            "deceasedBoolean": True,
        }
        refused = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=moved, headers=JSON)
        assert refused.status_code == 422, refused.text
        issue = outcome_of(refused)["issue"][0]
        assert issue["expression"] == ["Patient.deceased"] and "nothing was written" in issue["diagnostics"], issue
        now = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert {k: v for k, v in now.items() if k != "meta"} == {k: v for k, v in held.items() if k != "meta"}
        # With its date the death is taken: the PATCH records the date before the transition.
        del moved["deceasedBoolean"]
        died = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json={**moved, "deceasedDateTime": "2024-02-03T04:05:06Z"}, headers=JSON
        )
        assert died.status_code == 200, died.text
        assert died.json()["active"] is False and died.json()["address"][0]["city"] == "Peoria"
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == died.json()


def test_an_update_whose_status_is_refused_and_cannot_be_taken_back_whole_says_what_was_kept() -> None:
    # A vendor reading a null as "not provided" cannot clear what the refused update added (an
    # email the patient had not had): the rest is PATCHed back, and the answer, a 200, shows the
    # patient as it is and names what was not stored (the status, the address set back).
    switches = {"death_dates": "required", "patch_nulls": "ignored"}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        sent = _new_patient("Halfbackdp", "")
        sent["telecom"] = [sent["telecom"][0]]  # no email
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        held = fhir.get_ok(f"{BASE}/Patient/{pid}")
        moved = {
            **held,
            "address": [{"line": ["9 Elm St"], "city": "Peoria", "state": "IL", "postalCode": "61602"}],
            "telecom": [*held["telecom"], {"system": "email", "value": "halfback@example.org"}],
            "active": False,
            "deceasedBoolean": True,
        }
        answer = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json=moved, headers={**JSON, "Prefer": "return=OperationOutcome"}
        )
        assert answer.status_code == 200, answer.text
        assert {"Patient.deceased", "Patient.address"} <= _warned(answer), answer.json()
        now = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert now["active"] is True and now["address"] == held["address"], now
        assert {"system": "email", "value": "halfback@example.org"} in now["telecom"]


@pytest.mark.parametrize("create_statuses", ["stored", "ignored"])
def test_a_patient_created_out_of_use_or_deceased_is_stored_so(create_statuses: str) -> None:
    # `CreatePatientIn` lists `status`, but a service may make every new patient active and move
    # the status by `transition-status` alone (which emits the status's event): `status`
    # read-only in its serializer. Before, `active: false` or a death was created active, a 201
    # showing `active: true` and naming nothing as not stored (both are modifier elements).
    vendor = partial(create_sandbox, build_clinic(size=100), create_statuses=create_statuses)
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        for family, extra, active, deceased in (
            ("Createdinactivedp", {"active": False}, False, None),
            ("Createddeaddp", {"active": False, "deceasedDateTime": "2024-02-03T04:05:06Z"}, False, "2024-02-03"),
            ("Createdactivedp", {"active": True}, True, None),
        ):
            created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient(family, "", **extra), headers=JSON)
            assert created.status_code == 201, created.text
            answer = created.json()
            assert answer["active"] is active and answer.get("deceasedDateTime", "")[:10] == (deceased or ""), answer
            assert fhir.get_ok(f"{BASE}/Patient/{answer['id']}") == answer
            assert [p["id"] for p in _by_family(fhir, family)] == [answer["id"]]


@pytest.mark.parametrize("empty_patches", ["taken", "refused"])
def test_an_update_changing_only_the_lifecycle_or_nothing_sends_no_empty_patch(empty_patches: str) -> None:
    # A service may refuse a PATCH with no field but `base_version` (a FastAPI handler's
    # `if not update_data: raise HTTPException(400, "No fields to update")`). Before, an update
    # changing only `active`, or nothing at all, sent one: a 422 for the client.
    vendor = partial(create_sandbox, build_clinic(size=100), empty_patches=empty_patches)
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Onlystatusdp", ""), headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        for active in (False, True):
            current = fhir.get(f"{BASE}/Patient/{pid}")
            headers = {**JSON, "If-Match": current.headers["etag"]}
            updated = fhir.request(
                "PUT", f"{BASE}/Patient/{pid}", json={**current.json(), "active": active}, headers=headers
            )
            assert updated.status_code == 200, updated.text
            assert updated.json()["active"] is active and fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()
        current = fhir.get(f"{BASE}/Patient/{pid}")
        same = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json=current.json(), headers={**JSON, "If-Match": current.headers["etag"]}
        )
        assert same.status_code == 200, same.text
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == same.json()


@pytest.mark.parametrize("archive_versions", ["none", "required"])
def test_a_delete_archives_whether_or_not_the_vendor_asks_for_the_version(archive_versions: str) -> None:
    # The reference documents no body for a patient's archive, but its alert, field and tag
    # definitions' archive endpoints require `base_version`: a service may share one model among
    # them all. Before, such a vendor's 422 made every delete a 409 "refused to archive".
    vendor = partial(create_sandbox, build_clinic(size=100), archive_versions=archive_versions)
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Archivedp", ""), headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        for _ in range(2):  # deleted, then deleted again: still a success
            deleted = fhir.request("DELETE", f"{BASE}/Patient/{pid}")
            assert deleted.status_code == 204, deleted.text
        assert fhir.get(f"{BASE}/Patient/{pid}").status_code == 410
        assert _by_family(fhir, "Archivedp") == []


def _warned(answer: Any) -> set[str]:
    """The elements a `Prefer: return=OperationOutcome` answer names as not stored."""
    return {
        e for issue in answer.json()["issue"] if issue["severity"] == "warning" for e in issue.get("expression", [])
    }


def test_a_birth_date_the_vendor_cannot_hold_is_refused_not_erased(fhir: FhirHttp) -> None:
    # The reference types `date_of_birth` `string (date)`: a year or a year-month has no place
    # in it. Before, a PUT of `"birthDate": "1985"` answered 200 and sent the date as null,
    # and every read after had no birth date; Nextvisit and NexHealth refuse it with a 422.
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Partialdobdp", ""), headers=JSON)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    for partial_date in ("1991", "1991-04"):
        current = fhir.get(f"{BASE}/Patient/{pid}")
        sent = {**current.json(), "birthDate": partial_date}
        headers = {**JSON, "If-Match": current.headers["etag"]}
        refused = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=sent, headers=headers)
        assert refused.status_code == 422, refused.text
        assert outcome_of(refused)["issue"][0]["expression"] == ["Patient.birthDate"]
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == current.json()  # nothing changed
        born = _new_patient("Partialdobnewdp", "", birthDate=partial_date)
        refused = fhir.request("POST", f"{BASE}/Patient", json=born, headers=JSON)
        assert refused.status_code == 422, refused.text
        assert outcome_of(refused)["issue"][0]["expression"] == ["Patient.birthDate"]
    assert fhir.search_all(f"{BASE}/Patient", family="Partialdobnewdp") == []


def test_a_death_an_update_leaves_out_is_kept_whole_and_said(fhir: FhirHttp) -> None:
    # A PUT replaces the resource (FHIR http.html#update): without deceased[x] it says the
    # patient is not known to be deceased. Deceased is the vendor's terminal status, so the
    # death stays: status and date both, and the client is told. Before, the date was cleared
    # as an omitted field while the status stayed (`deceasedBoolean: true`), and the answer
    # said only "updated". A death taken back in so many words (`deceasedBoolean: false`) is
    # refused (test_a_lifecycle_no_transition_reaches_is_refused_before_anything_is_written).
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Keptdeathdp", ""), headers=JSON)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    current = fhir.get_ok(f"{BASE}/Patient/{pid}")
    died = fhir.request(
        "PUT",
        f"{BASE}/Patient/{pid}",
        json={**current, "active": False, "deceasedDateTime": "2020-05-17"},
        headers=JSON,
    )
    assert died.status_code == 200, died.text
    death = died.json()["deceasedDateTime"]
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    current = fhir.get_ok(f"{BASE}/Patient/{pid}")
    sent = {k: v for k, v in current.items() if k not in ("deceasedDateTime", "active")}
    answer = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=sent, headers=prefer)
    assert answer.status_code == 200, answer.text
    assert "Patient.deceased" in _warned(answer), answer.json()
    now = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert (now["deceasedDateTime"], now["active"]) == (death, False), now


def _vendor_writes(fhir: FhirHttp) -> float:
    """The calls other than reads the gateway has sent the Dental PMS so far (its /metrics)."""
    return vendor_calls(fhir, TENANT, lambda labels: labels.get("method") != "GET")


def test_a_lifecycle_no_transition_reaches_is_refused_before_anything_is_written(fhir: FhirHttp) -> None:
    # R4 Patient.active and deceased[x] are modifier elements ("the value of the element cannot
    # be ignored"), and the vendor's one status holds both; deceased is terminal ("deceased ->
    # (none)", transition-status). A PUT taking a death back, or making a deceased patient
    # active, is refused (422 not-supported, naming the element) before the PATCH: before, the
    # rest of it was written, the status stayed, and the answer was a 200 with a note.
    created = fhir.request(
        "POST", f"{BASE}/Patient", json=_new_patient("Modifierdp", "", deceasedDateTime="2020-05-17"), headers=JSON
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    held = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert held["active"] is False and held["deceasedDateTime"]
    death = {"deceasedDateTime": held["deceasedDateTime"]}
    for change, refused in (
        ({"deceasedBoolean": False}, ["Patient.deceased"]),
        ({"active": True}, ["Patient.active"]),
        ({"active": True, **death}, ["Patient.active"]),  # one status: deceased is not in use
        ({"active": True, "deceasedBoolean": False}, ["Patient.active", "Patient.deceased"]),
    ):
        sent = {k: v for k, v in held.items() if k not in ("active", "deceasedDateTime")} | change
        before = _vendor_writes(fhir)
        answer = fhir.request("PUT", f"{BASE}/Patient/{pid}", json={**sent, "birthDate": "1990-01-02"}, headers=JSON)
        assert answer.status_code == 422, (change, answer.text)
        issues = outcome_of(answer)["issue"]
        assert [(i["code"], e) for i in issues for e in i["expression"]] == [("not-supported", e) for e in refused]
        assert _vendor_writes(fhir) == before, change  # nothing sent: no PATCH, no transition
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == held, change
    # `active: false` is what a deceased patient reads as: stored, nothing said of it.
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    answer = fhir.request("PUT", f"{BASE}/Patient/{pid}", json={**held, "birthDate": "1990-01-02"}, headers=prefer)
    assert answer.status_code == 200, answer.text
    assert "Patient.active" not in _warned(answer) and "Patient.deceased" not in _warned(answer), answer.json()
    # A create too: the vendor's one status cannot say both in use and deceased.
    both = _new_patient("Modifiernewdp", "", active=True, deceasedBoolean=True)
    refused_create = fhir.request("POST", f"{BASE}/Patient", json=both, headers=JSON)
    assert refused_create.status_code == 422, refused_create.text
    assert outcome_of(refused_create)["issue"][0]["expression"] == ["Patient.active"]
    assert _by_family(fhir, "Modifiernewdp") == []


def test_a_use_the_vendor_does_not_keep_is_reported(fhir: FhirHttp) -> None:
    # The vendor keeps one email and one address, both read back without a use: a `use` that
    # does not read back as sent is named as not stored. Before, an email's `work` was dropped
    # and an address's `work` read back `home`, neither said.
    sent = _new_patient("Usesdp", "")
    sent["telecom"] = [
        {"system": "phone", "value": "3125557777", "use": "work"},
        {"system": "email", "value": "usesdp@example.org", "use": "work"},
    ]
    sent["address"] = [{**sent["address"][0], "use": "work"}]
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=prefer)
    assert created.status_code == 201, created.text
    warned = _warned(created)
    pid = created.headers["location"].split("/Patient/")[1].split("/")[0]
    read = fhir.get_ok(f"{BASE}/Patient/{pid}")
    for i, point in enumerate(sent["telecom"]):
        back = next(t for t in read["telecom"] if t["value"].removeprefix("+1") == point["value"])
        assert (back.get("use") == point["use"]) is (f"Patient.telecom[{i}].use" not in warned), (point, back, warned)
    assert (read["address"][0].get("use") == "work") is ("Patient.address[0].use" not in warned), (read, warned)
    assert {"Patient.telecom[1].use", "Patient.address[0].use"} <= warned


@pytest.mark.parametrize("use", ["old", "temp"])
def test_an_address_or_email_that_is_not_the_current_one_is_refused_not_stored_as_current(
    fhir: FhirHttp, use: str
) -> None:
    # The vendor keeps one address and one email, read back without a use: an `old` or `temp`
    # one would read back as the current one (Address.use and ContactPoint.use are modifiers).
    # Before: 201, read back with no use, only a warning on `Patient.address[0].use`.
    family = f"Notcurrent{use}dp"
    sent = _new_patient(family, "")
    sent["address"] = [{**sent["address"][0], "use": use}]
    refused = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert refused.status_code == 422, refused.text
    issue = outcome_of(refused)["issue"][0]
    assert issue["expression"] == ["Patient.address[0].use"] and "nothing was written" in issue["diagnostics"], issue
    assert _by_family(fhir, family) == []
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient(family, ""), headers=JSON)
    assert created.status_code == 201, created.text
    before = fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}")
    telecom = [{**t, "use": use} if t["system"] == "email" else t for t in before["telecom"]]
    updated = fhir.request("PUT", f"{BASE}/Patient/{before['id']}", json={**before, "telecom": telecom}, headers=JSON)
    assert updated.status_code == 422, updated.text
    email_at = next(i for i, t in enumerate(telecom) if t["system"] == "email")
    assert outcome_of(updated)["issue"][0]["expression"] == [f"Patient.telecom[{email_at}].use"]
    assert fhir.get_ok(f"{BASE}/Patient/{before['id']}") == before


def test_an_address_reads_back_without_a_use_the_vendor_does_not_know(fhir: FhirHttp) -> None:
    # The reference's address fields say nothing of what kind of address they hold: a read
    # gives it no `use` (US Core requires none), and a `use` sent is named as not stored.
    # Before, every address read back `use: home`, whatever the clinic had entered.
    sent = _new_patient("Homeusedp", "")
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=prefer)
    assert created.status_code == 201, created.text
    assert "Patient.address[0].use" in _warned(created)
    pid = created.headers["location"].split("/Patient/")[1].split("/")[0]
    read = fhir.get_ok(f"{BASE}/Patient/{pid}")
    assert read["address"] == [{k: v for k, v in sent["address"][0].items() if k != "use"}], read["address"]
    page = fhir.get_ok(f"{BASE}/Patient", params={"_count": 100})  # the clinic's own patients
    addresses = [a for entry in page["entry"] for a in entry["resource"].get("address", [])]
    assert addresses and all("use" not in address for address in addresses), addresses[:1]


def test_a_primitives_id_and_extensions_are_named_by_their_fhirpath(fhir: FhirHttp) -> None:
    # R4 JSON writes a primitive's id and extensions in its `_` sibling (json.html#primitive,
    # `_birthDate`); FHIRPath reaches them on the primitive, `Patient.birthDate.extension`, as
    # the gateway core names them. Before: `Patient._birthDate`, which names no element.
    extension = {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "as told"}]}
    sent = _new_patient("Fhirpathdp", "", _birthDate=extension, _gender={"id": "g1"})
    sent["name"][0]["_family"] = extension
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=prefer)
    assert created.status_code == 201, created.text
    warned = _warned(created)
    assert {"Patient.birthDate.extension", "Patient.gender.id", "Patient.name[0].family.extension"} <= warned
    assert not [path for path in warned if "._" in path], warned
    read = fhir.get_ok(f"{BASE}/Patient/{created.headers['location'].split('/Patient/')[1].split('/')[0]}")
    assert (read["birthDate"], read["gender"]) == (sent["birthDate"], sent["gender"])  # the values are kept


def test_an_address_the_vendor_keeps_nothing_of_is_named_whole(fhir: FhirHttp) -> None:
    # No part of `{"use": "home", "text": ...}` has a vendor field: the patient reads back
    # without that address, so `Patient.address` is named. Before, `Patient.address[0].text`
    # alone, as if the rest of the address had been stored.
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Textaddressdp", ""), headers=JSON)
    assert created.status_code == 201, created.text
    before = created.json()
    text_only = {**before, "address": [{"use": "home", "text": "12 Main St, Springfield"}]}
    updated = fhir.request("PUT", f"{BASE}/Patient/{before['id']}", json=text_only, headers=prefer)
    assert updated.status_code == 200, updated.text
    warned = _warned(updated)
    assert "Patient.address" in warned and not [w for w in warned if w.startswith("Patient.address[")], warned
    after = fhir.get_ok(f"{BASE}/Patient/{before['id']}")
    assert after.get("address") in (None, before["address"]), after  # cleared, or kept (and said so)
    fresh = _new_patient("Textaddressdp", "")
    fresh["address"] = text_only["address"]
    created = fhir.request("POST", f"{BASE}/Patient", json=fresh, headers=prefer)
    assert created.status_code == 201, created.text
    assert "Patient.address" in _warned(created), created.json()
    read = fhir.get_ok(f"{BASE}/Patient/{created.headers['location'].split('/Patient/')[1].split('/')[0]}")
    assert "address" not in read, read


def test_a_vendor_validation_error_names_the_field_not_the_value(fhir: FhirHttp, chart_system: str) -> None:
    sent = _new_patient("Bademaildp", chart_system)
    sent["telecom"] = [{"system": "email", "value": "secret-at-nowhere"}]
    refused = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
    assert refused.status_code == 422, refused.text
    issue = outcome_of(refused)["issue"][0]
    assert "email" in issue["diagnostics"] and "secret-at-nowhere" not in refused.text
    assert issue["expression"] == ["Patient.telecom"]
    nameless = {"resourceType": "Patient", "birthDate": "1990-01-01", "name": [{"family": "Onlyfamily"}]}
    assert fhir.request("POST", f"{BASE}/Patient", json=nameless, headers=JSON).status_code == 422


def test_a_walk_past_a_very_long_name_goes_on_to_the_end(fhir: FhirHttp, chart_system: str) -> None:
    # Dental PMS's cursor is the last record's family name and id: after a 6,000-character name
    # it cannot ride in a link beside the search (8 KB a request target may hold). The gateway
    # keeps that position and the link names it; the walk used to stop there with a 400.
    families = [f"Zzzzlongcursor{n}" + "q" * 6000 for n in range(3)]
    created = []
    for n, family in enumerate(families):
        answer = fhir.request(
            "POST", f"{BASE}/Patient", json=_new_patient(family, chart_system, f"LC-{n}"), headers=JSON
        )
        assert answer.status_code == 201, answer.text
        created.append(answer.json()["id"])
    # Sorted by family, last first: one patient per vendor page, the cursor after each its name.
    bundle = fhir.get_ok(f"{BASE}/Patient", params={"_sort": "-family", "_count": 1})
    walked: list[str] = []
    while not set(created) <= set(walked) or walked[-1] in created:  # to a page past the last of them
        assert len(walked) < 20, walked
        walked += [e["resource"]["id"] for e in bundle["entry"]]
        following = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
        assert len(following.encode()) < 2_000
        bundle = fhir.get_ok(following)
    assert [pid for pid in walked if pid in created] == created[::-1]
    for pid in created:
        assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204


def test_every_part_the_vendor_cannot_keep_is_named_and_what_it_can_is_kept(fhir: FhirHttp, chart_system: str) -> None:
    # The Dental PMS keeps one chart number's value, one marital status code, one preferred
    # language, a legal and a preferred name, and one address. Before, the chart number's use,
    # type and period, the marital status's and language's text and other codings went without
    # a word; a usual name listed first took the legal name's place (and the other name was
    # not stored); and an address after one of which nothing is kept was never tried.
    sent = _new_patient("Partsdp", chart_system, "PARTS-1")
    sent["identifier"][0] |= {"use": "secondary", "type": {"text": "Old chart"}, "period": {"start": "2020-01-01"}}
    sent["name"] = [
        {"use": "usual", "family": "Partsdp", "given": ["Zo"]},
        {"family": "Partsdp", "given": ["Zoë", "Middle"]},
    ]
    sent["maritalStatus"] = {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "87915002"},
            {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"},
        ],
        "text": "Married, lives apart",
    }
    sent["communication"] = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}], "text": "Spanish"}}]
    sent["address"] = [
        {"use": "home", "text": "12 Main St, Springfield"},
        {"line": ["1 Main St"], "city": "Springfield"},
    ]
    prefer = {**JSON, "Prefer": "return=OperationOutcome"}
    created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=prefer)
    assert created.status_code == 201, created.text
    assert {
        "Patient.identifier[0].use",
        "Patient.identifier[0].type.text",
        "Patient.identifier[0].period",
        "Patient.maritalStatus.coding[0]",
        "Patient.maritalStatus.text",
        "Patient.communication[0].language.text",
        "Patient.address[0]",
    } <= _warned(created), created.json()
    assert not [path for path in _warned(created) if path.startswith(("Patient.name", "Patient.address[1]"))]
    read = fhir.get_ok(f"{BASE}/Patient/{created.headers['location'].split('/Patient/')[1].split('/')[0]}")
    assert read["name"] == [
        {"use": "official", "family": "Partsdp", "given": ["Zoë", "Middle"]},
        {"use": "usual", "family": "Partsdp", "given": ["Zo"]},
    ]
    assert read["address"] == [sent["address"][1]]
    # A usual name alone is the legal name the vendor requires: it reads back official, and the
    # client is told its use was not stored.
    alone = {**read, "name": [{"use": "usual", "family": "Partsdp", "given": ["Zoë"]}]}
    updated = fhir.request("PUT", f"{BASE}/Patient/{read['id']}", json=alone, headers=prefer)
    assert updated.status_code == 200, updated.text
    assert "Patient.name[0].use" in _warned(updated), updated.json()
    # What a read gives, sent back whole, is all kept.
    again = fhir.get_ok(f"{BASE}/Patient/{read['id']}")
    same = fhir.request("PUT", f"{BASE}/Patient/{read['id']}", json=again, headers=prefer)
    assert same.status_code == 200 and _warned(same) == set(), same.json()


def test_a_create_refused_for_its_lifecycle_can_be_sent_again_without_it() -> None:
    # A service making every new patient active (create_statuses=ignored) that takes a patient
    # to deceased only with a date (death_dates=required): `deceasedBoolean: true` cannot be
    # reached, so the create is refused 422 and the patient it made archived, its chart number
    # cleared first: this simulator, like a unique column without a soft-delete filter, counts
    # an archived patient's chart number as in use. The client sends it again without the
    # death, and it is made.
    switches = {"create_statuses": "ignored", "death_dates": "required"}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        dead = _new_patient("Refusedcreatedp", system, "RC-26B", deceasedBoolean=True)
        refused = fhir.request("POST", f"{BASE}/Patient", json=dead, headers=JSON)
        assert refused.status_code == 422, refused.text
        assert outcome_of(refused)["issue"][0]["diagnostics"].endswith(", made without it, was archived")
        assert _by_family(fhir, "Refusedcreatedp") == []
        again = fhir.request(
            "POST", f"{BASE}/Patient", json=_new_patient("Refusedcreatedp", system, "RC-26B"), headers=JSON
        )
        assert again.status_code == 201, again.text
        assert [p["id"] for p in _by_family(fhir, "Refusedcreatedp")] == [again.json()["id"]]


def _refused_writes(fhir: FhirHttp) -> float:
    return vendor_calls(fhir, TENANT, lambda labels: labels["method"] != "GET" and labels["outcome"] == "4xx")


def test_a_vendor_decoding_enums_only_by_name_is_written_in_names_once_it_refused_one() -> None:
    # A Spring Boot service decodes its bodies with Jackson, which takes an enum only by its
    # constant's name (`FEMALE`), as it writes it. Before, every create and every update carrying
    # a gender, a marital status or a lifecycle was a 422 "refused the patient: Bad Request".
    spring = partial(create_sandbox, body_enums="names", enums="upper", query_enums="names", error_bodies="spring")
    with gateway_over("dentalpms", spring) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        first = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Enumname", system), headers=JSON)
        assert first.status_code == 201, first.text
        assert first.json()["gender"] == "female"
        assert _refused_writes(fhir) == 1  # the documented spelling, once
        made = fhir.request(
            "POST",
            f"{BASE}/Patient",
            json=_new_patient("Enumnametwo", system, gender="other", active=False),
            headers=JSON,
        )
        assert made.status_code == 201, made.text
        pid = made.json()["id"]
        assert (made.json()["gender"], made.json()["active"]) == ("other", False)
        changed = {**made.json(), "gender": "male", "active": True}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert (updated.json()["gender"], updated.json()["active"]) == ("male", True)
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()
        assert _refused_writes(fhir) == 1  # learned: never refused again
        # A refusal of something else is still the vendor's refusal, named by its field.
        bad = _new_patient("Enumnamebad", system)
        bad["telecom"] = [{"system": "email", "value": "not-an-address"}]
        refused = fhir.request("POST", f"{BASE}/Patient", json=bad, headers=JSON)
        assert refused.status_code in (400, 422) and outcome_of(refused)["issue"][0]["expression"] == [
            "Patient.telecom"
        ], refused.text


def test_a_write_refused_for_something_else_than_its_spelling_is_the_vendors_refusal() -> None:
    # At a vendor taking the documented spelling, a refused body is sent once more in names (the
    # gateway cannot tell why a bare 400 refused it), refused again, and the first refusal answered.
    with gateway_over("dentalpms", partial(create_sandbox, error_bodies="spring", validation_status=400)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        bad = _new_patient("Enumdocbad", system)
        bad["telecom"] = [{"system": "email", "value": "not-an-address"}]
        refused = fhir.request("POST", f"{BASE}/Patient", json=bad, headers=JSON)
        assert refused.status_code in (400, 422), refused.text
        assert _refused_writes(fhir) == 2
        made = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Enumdocgood", system), headers=JSON)
        assert made.status_code == 201 and made.json()["gender"] == "female", made.text
        again = fhir.request("POST", f"{BASE}/Patient", json=bad, headers=JSON)
        assert again.status_code == refused.status_code
        assert _refused_writes(fhir) == 3  # learned from the create taken: one refusal, not two
        assert [p["id"] for p in _by_family(fhir, "Enumdocbad")] == []


@pytest.mark.parametrize("error_bodies", ["fastapi", "nestjs"])
def test_a_national_phone_number_is_written_in_international_form_to_a_vendor_taking_only_that(
    error_bodies: str,
) -> None:
    # The reference types every phone a plain string, yet a service may validate one without a
    # default region (pydantic-extra-types' `PhoneNumber`, class-validator's `@IsPhoneNumber()`):
    # only `+1 555 ...` is a number to it, and `(555) 000-9999`, as US clients write one, a 422.
    # Before, every create or update carrying a national phone was refused whole, 422.
    validators = {"body_phones": "international", "error_bodies": error_bodies}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **validators)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        sent = _new_patient("Phoneformdp", system)
        sent["telecom"] = [
            {"system": "phone", "value": "(555) 000-9999", "use": "mobile"},
            {"system": "phone", "value": "+44 20 7946 0000", "use": "work"},
        ]
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=JSON)
        assert created.status_code == 201, created.text
        assert created.json()["telecom"] == [
            {"system": "phone", "value": "+15550009999", "use": "mobile"},
            {"system": "phone", "value": "+44 20 7946 0000", "use": "work"},
        ]
        pid = created.json()["id"]
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == created.json()
        refusals = _refused_writes(fhir)
        # An update keeps the number it holds (no PATCH of it again) and writes a new one so too.
        changed = {**created.json(), "telecom": [*sent["telecom"], {"system": "phone", "value": "555.000.1111"}]}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert {"system": "phone", "value": "+15550001111", "use": "home"} in updated.json()["telecom"]
        assert _refused_writes(fhir) == refusals  # learned: never refused again
        # A number no international form is found for is still the vendor's refusal, named.
        bad = {**changed, "telecom": [{"system": "phone", "value": "12345", "use": "home"}]}
        refused = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=bad, headers=JSON)
        assert refused.status_code == 422, refused.text
        assert outcome_of(refused)["issue"][0]["expression"] == ["Patient.telecom"]


def test_an_update_with_a_national_phone_number_is_written_in_international_form() -> None:
    # The same vendor (`body_phones="international"`), its first write an update: before, the
    # PUT of a patient given a national phone number was refused whole, 422.
    vendor = partial(create_sandbox, build_clinic(size=100), body_phones="international")
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        before = fhir.get_ok(f"{BASE}/Patient/{_any_patient_id(fhir)}")
        phones = [{"system": "phone", "value": "1 (555) 000-2222", "use": "work"}]
        changed = {**before, "telecom": [t for t in before.get("telecom", []) if t["system"] == "email"] + phones}
        updated = fhir.request("PUT", f"{BASE}/Patient/{before['id']}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert [t for t in updated.json()["telecom"] if t["system"] == "phone"] == [
            {"system": "phone", "value": "+15550002222", "use": "work"}
        ]
        assert fhir.get_ok(f"{BASE}/Patient/{before['id']}") == updated.json()


@pytest.mark.parametrize("wrappers", ["records", "all"])
def test_answers_wrapped_in_data_are_the_records_they_wrap(wrappers: str) -> None:
    # The reference lists each answer's fields at the top level, yet a Laravel API resource wraps
    # itself in `{"data": ...}` unless told not to, and NestJS's documented response-mapping
    # interceptor wraps every answer so, lists too. Before, every read of a patient was a 502, and
    # a create a 502 once the patient was stored (the client's retry made a second one).
    vendor = partial(create_sandbox, build_clinic(size=100), wrappers=wrappers)
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Wrappeddp", system, "WR-1"), headers=JSON)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert created.json()["name"][0]["family"] == "Wrappeddp" and created.json()["meta"]["versionId"] == "1"
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == created.json()
        assert [p["id"] for p in _by_family(fhir, "Wrappeddp")] == [pid]
        # An update moving the lifecycle (PATCH, then transition-status): both answers wrapped.
        changed = {**created.json(), "gender": "other", "active": False}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert (updated.json()["gender"], updated.json()["active"], updated.json()["meta"]["versionId"]) == (
            "other",
            False,
            "3",
        )
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()
        assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204
        assert fhir.get(f"{BASE}/Patient/{pid}").status_code == 410
        # A vital-signs reading is read on its own (its single GET): wrapped too.
        owner = next(p for p in live_patients(build_clinic(size=100)) if any(not v.deleted for v in p.vitals))
        observations = fhir.search_all(f"{BASE}/Observation", patient=owner.uuid)
        assert observations
        assert fhir.get_ok(f"{BASE}/Observation/{observations[0]['id']}") == observations[0]


def test_a_chart_number_the_vendor_drops_is_said_not_stored() -> None:
    # A service whose chart numbers are the practice's to assign drops one sent without a word
    # (a read-only serializer field, a Laravel model without it in `$fillable`, Rails' strong
    # parameters): the patient gets the next free one. Before, the create and the update were a
    # silent 201/200, the identifier sent lost; a conditional create on it then made the patient
    # again.
    vendor = partial(create_sandbox, build_clinic(size=100), chart_numbers="assigned")
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        prefer = {**JSON, "Prefer": "return=OperationOutcome"}
        sent = _new_patient("Assignedchartdp", system, "MINE-1")
        sent["identifier"].insert(0, {"system": "urn:example:other", "value": "X"})
        created = fhir.request("POST", f"{BASE}/Patient", json=sent, headers=prefer)
        assert created.status_code == 201, created.text
        assert {"Patient.identifier[0]", "Patient.identifier[1]"} <= _warned(created)
        pid = created.headers["location"].split("/Patient/")[1].split("/")[0]
        read = fhir.get_ok(f"{BASE}/Patient/{pid}")
        (assigned,) = [i["value"] for i in read["identifier"] if i["system"] == system]
        assert assigned != "MINE-1"
        # An update keeping the chart number held says nothing of it; one changing it, that it
        # was not stored (the rest is).
        kept = fhir.request("PUT", f"{BASE}/Patient/{pid}", json={**read, "gender": "other"}, headers=prefer)
        assert kept.status_code == 200 and not any(e.startswith("Patient.identifier") for e in _warned(kept))
        now = fhir.get_ok(f"{BASE}/Patient/{pid}")
        changed = {**now, "gender": "male"}
        changed["identifier"] = [i if i["system"] != system else {**i, "value": "MINE-2"} for i in now["identifier"]]
        index = next(n for n, i in enumerate(changed["identifier"]) if i["system"] == system)
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers=prefer)
        assert updated.status_code == 200, updated.text
        assert f"Patient.identifier[{index}]" in _warned(updated), updated.text
        after = fhir.get_ok(f"{BASE}/Patient/{pid}")
        assert after["gender"] == "male"
        assert [i["value"] for i in after["identifier"] if i["system"] == system] == [assigned]


def test_a_create_failing_after_its_patient_was_stored_is_that_patient() -> None:
    # A service whose keys replay the first answer whatever it was (Stripe's "regardless of whether
    # it succeeded or failed ... including 500 errors") fails a create after storing its patient
    # (503): every retry of its key gets that 503 again. Before, the client got the 503 with the
    # patient made, and its resend made a second one (or, with a chart number, a 409 naming the
    # patient its own first request had made).
    switches = {"idempotency": "replay_any", "create_answers": "lost_once"}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        system = _chart_system_of(fhir, _any_patient_id(fhir))
        prefer = {**JSON, "Prefer": "return=representation"}
        for chart in ("FAILED-1", None):
            family = "Failedafterdp" if chart else "Failedafternochartdp"
            created = fhir.request("POST", f"{BASE}/Patient", json=_new_patient(family, system, chart), headers=prefer)
            assert created.status_code == 201, created.text
            assert [p["id"] for p in _by_family(fhir, family)] == [created.json()["id"]]
            assert fhir.get_ok(f"{BASE}/Patient/{created.json()['id']}") == created.json()


def test_an_update_answered_with_only_what_it_saved_is_the_patient_as_stored() -> None:
    # The reference answers a PATCH and a transition with the whole `PatientOut`, yet a NestJS
    # service returning TypeORM's `repository.save({ id, ...dto })` answers only what it saved:
    # the id, the fields set, `version` and `updated_at`. Before, that was taken for the patient:
    # its status (absent: the default, active) moved an inactive patient "to inactive" again, the
    # vendor refused, and the update was taken back and refused 422; the PUT's answer otherwise
    # had no name.
    vendor = partial(create_sandbox, build_clinic(size=100), write_answers="saved_fields", nulls="absent")
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        created = fhir.request(
            "POST", f"{BASE}/Patient", json=_new_patient("Savedonlydp", "", active=False), headers=JSON
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        moved = {**created.json(), "gender": "other", "address": [{"city": "Shelbyville"}]}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=moved, headers=JSON)
        assert updated.status_code == 200, updated.text
        assert (updated.json()["active"], updated.json()["gender"]) == (False, "other")
        assert updated.json()["name"] == created.json()["name"]
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()
        # Back in use (PATCH, then transition-status): both answers partial.
        again = fhir.request(
            "PUT", f"{BASE}/Patient/{pid}", json={**updated.json(), "active": True, "gender": "male"}, headers=JSON
        )
        assert again.status_code == 200, again.text
        assert (again.json()["active"], again.json()["gender"]) == (True, "male")
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == again.json()


def test_versions_written_as_text_are_sent_back_as_text() -> None:
    # A Go service tags its integers `,string` (encoding/json): it writes `"version": "3"` and
    # reads a `base_version` only so, a JSON number being a 400 that names no field. Before,
    # every update was refused (422 "refused the patient: json: invalid use of ,string struct
    # tag ..."), and so was every move of a status and every delete asking for the version.
    switches = {"scalars": "strings", "body_versions": "text", "archive_versions": "required"}
    with gateway_over("dentalpms", partial(create_sandbox, build_clinic(size=100), **switches)) as running:
        fhir = running.fhir
        created = fhir.request(
            "POST", f"{BASE}/Patient", json=_new_patient("Textversiondp", "", active=False), headers=JSON
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert created.json()["active"] is False
        changed = {**created.json(), "gender": "other", "active": True}
        headers = {**JSON, "If-Match": f'W/"{created.json()["meta"]["versionId"]}"'}
        updated = fhir.request("PUT", f"{BASE}/Patient/{pid}", json=changed, headers=headers)
        assert updated.status_code == 200, updated.text
        assert (updated.json()["gender"], updated.json()["active"]) == ("other", True)
        assert fhir.get_ok(f"{BASE}/Patient/{pid}") == updated.json()
        assert fhir.request("DELETE", f"{BASE}/Patient/{pid}").status_code == 204
        assert fhir.get(f"{BASE}/Patient/{pid}").status_code == 410


def test_a_rails_validation_error_names_the_field_it_refused() -> None:
    # A Rails scaffold answers a failed validation with the model's errors and nothing else,
    # `{"email": ["is invalid"]}`. Before, no field was read out of it: the 422 named no element
    # ("refused the patient: invalid"), and a phone only written otherwise was never rewritten.
    vendor = partial(create_sandbox, build_clinic(size=100), error_bodies="rails", body_phones="international")
    with gateway_over("dentalpms", vendor) as running:
        fhir = running.fhir
        bad = _new_patient("Railsrefuseddp", "")
        bad["telecom"] = [{"system": "email", "value": "not-an-address"}]
        refused = fhir.request("POST", f"{BASE}/Patient", json=bad, headers=JSON)
        assert refused.status_code == 422, refused.text
        issue = outcome_of(refused)["issue"][0]
        assert issue["expression"] == ["Patient.telecom"] and "email" in issue["diagnostics"], issue
        made = fhir.request("POST", f"{BASE}/Patient", json=_new_patient("Railsphonedp", ""), headers=JSON)
        assert made.status_code == 201, made.text
        assert {"system": "phone", "value": "+15550009999", "use": "mobile"} in made.json()["telecom"]
