"""SMART v2 granular scopes whose constraints name `_id` or `patient` (SMART App Launch 2.0.0,
"finer-grained resource constraints using search parameters"): search parameters like any
other, ANDed with the launch patient's compartment, never taken for it. Whatever the form, a
search answers exactly the records that reads of them allow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.settings import TenantSettings
from tests.support.fake_vendor import (
    BASE,
    FAKE,
    FAKE_URL,
    TENANT,
    FakeBackend,
    TestClient,
    fake_gateway,
    ids,
    link,
    ok,
    outcome,
)
from tests.support.smart import Issuer, smart_settings

PATIENTS = ("p1", "p2", "p3")
STATUSES = ("final", "amended", "preliminary", "cancelled")
OBSERVATIONS = {f"o{p[1]}{n}": p for p in PATIENTS for n in range(len(STATUSES))}  # o10…o33: p1…p3's


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return Issuer.in_dir(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def client(issuer: Issuer) -> Iterator[TestClient]:
    backend = FakeBackend()
    for patient in PATIENTS:
        backend.add_patient(patient)
        for n, status in enumerate(STATUSES):
            backend.add_observation(patient, f"o{patient[1]}{n}", status=status)
    with fake_gateway(backend, smart_settings(issuer, {TENANT: TenantSettings(vendor=FAKE, base_url=FAKE_URL)})) as c:
        yield c


def p(patient: str) -> set[str]:
    return {o for o, owner in OBSERVATIONS.items() if owner == patient}


CASES = [
    # (scopes, launch patient, type, the records they reach)
    ("user/Observation.rs?_id=o20", None, "Observation", {"o20"}),
    ("system/Observation.rs?_id=o20", None, "Observation", {"o20"}),
    ("user/Observation.rs?patient=p2", None, "Observation", p("p2")),
    ("system/Observation.rs?subject=Patient/p2&status=final", None, "Observation", {"o20"}),
    ("patient/Observation.rs?_id=o10", "p1", "Observation", {"o10"}),
    ("patient/Observation.rs?_id=o20", "p1", "Observation", set()),
    ("patient/Observation.rs?_id=o10,o11,o20", "p1", "Observation", {"o10", "o11"}),
    ("patient/Observation.rs?patient=p1", "p1", "Observation", p("p1")),
    ("patient/Observation.rs?patient=p2", "p1", "Observation", set()),
    ("patient/Observation.rs?_id=o11 patient/Observation.rs?status=final", "p1", "Observation", {"o10", "o11"}),
    ("user/Observation.rs?patient=p2 user/Observation.rs?_id=o30", None, "Observation", p("p2") | {"o30"}),
    ("user/Patient.rs?_id=p2", None, "Patient", {"p2"}),
    ("system/Patient.rs?_id=p2,p3", None, "Patient", {"p2", "p3"}),
    ("user/Patient.rs?_id=p2 user/Patient.rs?_id=p3", None, "Patient", {"p2", "p3"}),
    ("patient/Patient.rs?_id=p1", "p1", "Patient", {"p1"}),
    ("patient/Patient.rs?_id=p2", "p1", "Patient", set()),
]


def searched(client: TestClient, headers: dict[str, str], resource_type: str) -> tuple[set[str], int]:
    """Every id the caller's searches of the type answer, following every page, and the sum of
    what `_summary=count` says of the same searches. Observations are listed per patient."""
    queries = [f"patient={patient}" for patient in PATIENTS] if resource_type == "Observation" else [""]
    found: set[str] = set()
    counted = 0
    for query in queries:
        page = ok(client.get(f"{BASE}/{resource_type}?{query}&_count=2", headers=headers))
        found |= set(ids(page))
        while (following := link(page, "next")) is not None:
            page = ok(client.get(following, headers=headers))
            found |= set(ids(page))
        counted += ok(client.get(f"{BASE}/{resource_type}?{query}&_summary=count", headers=headers))["total"]
    return found, counted


def readable(client: TestClient, headers: dict[str, str], resource_type: str) -> set[str]:
    """Every id whose read the caller is answered; the others look missing (404)."""
    every = PATIENTS if resource_type == "Patient" else tuple(OBSERVATIONS)
    allowed: set[str] = set()
    for identifier in every:
        response = client.get(f"{BASE}/{resource_type}/{identifier}", headers=headers)
        if response.status_code == 200:
            allowed.add(identifier)
        else:
            outcome(response, 404)
    return allowed


@pytest.mark.parametrize(("scope", "patient", "resource_type", "reached"), CASES)
def test_a_search_answers_exactly_what_reads_of_the_same_records_allow(
    client: TestClient, issuer: Issuer, scope: str, patient: str | None, resource_type: str, reached: set[str]
) -> None:
    headers = issuer.headers(TENANT, scope, patient=patient)
    found, counted = searched(client, headers, resource_type)
    assert readable(client, headers, resource_type) == reached
    assert found == reached and counted == len(reached)


@pytest.mark.parametrize("query", ["", "?status=final", "?patient=p2", "?patient=Patient/p2&status=final"])
def test_a_scope_for_one_patients_records_answers_a_search_naming_none(
    client: TestClient, issuer: Issuer, query: str
) -> None:
    # `user/Observation.rs?patient=p2` on a search that names no patient: the constraint names
    # it (a search of Observations needs one), and the answer is p2's, as before scopes' `_id`
    # and `patient` were read as conditions; not a 400 asking for a patient.
    headers = issuer.headers(TENANT, "user/Observation.rs?patient=p2", patient=None)
    bundle = ok(client.get(f"{BASE}/Observation{query}", headers=headers))
    expected = {"o20"} if "status" in query else p("p2")
    assert set(ids(bundle)) == expected and bundle["total"] == len(expected)


def test_a_constraint_naming_the_launch_patient_keeps_the_total(client: TestClient, issuer: Issuer) -> None:
    # It adds nothing to the compartment: nothing to filter afterwards, and the vendor's count holds.
    headers = issuer.headers(TENANT, "patient/Observation.rs?patient=Patient/p1", patient="p1")
    bundle = ok(client.get(f"{BASE}/Observation?_count=1", headers=headers))
    assert bundle["total"] == len(p("p1")) and link(bundle, "next") is not None


@pytest.mark.parametrize(
    "constraint", ["_count=1", "_summary=count", "_elements=id", "_sort=date", "status=final&_count=1"]
)
def test_a_result_parameter_in_a_scope_grants_nothing_and_never_shapes_the_clients_answer(
    client: TestClient, issuer: Issuer, constraint: str, caplog: pytest.LogCaptureFixture
) -> None:
    # SMART App Launch 2.0 section 3.0.2.3: constraints are search parameters that filter. One
    # that only shapes an answer (a page size, a summary) filters nothing: the scope grants
    # nothing, as one with a parameter the type does not have; it is never added to the
    # client's own search (where `_count=1` made the client's `_count` "given more than once").
    headers = issuer.headers(TENANT, f"user/Observation.rs?{constraint}", patient=None)
    with caplog.at_level("WARNING", logger="gateway.auth"):
        refused = client.get(f"{BASE}/Observation?patient=p1&_count=5", headers=headers)
    assert "constraints this server cannot apply" in outcome(refused, 403)["issue"][0]["diagnostics"]
    warned = [r.getMessage() for r in caplog.records if r.name == "gateway.auth"]
    assert warned and all("final" not in m and "=" not in m for m in warned)


def test_a_scope_that_cannot_be_evaluated_is_logged_without_its_values(
    client: TestClient, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    # A scope's values can name a patient (`?subject.name=…`); the log names the parameter only.
    headers = issuer.headers(TENANT, "user/Observation.rs?subject.name=Dubois", patient=None)
    with caplog.at_level("WARNING", logger="gateway.auth"):
        outcome(client.get(f"{BASE}/Observation?patient=p1", headers=headers), 403)
    messages = [r.getMessage() for r in caplog.records if r.name == "gateway.auth"]
    assert messages and all("Dubois" not in m for m in messages)
    assert any("subject.name" in m for m in messages)


@pytest.mark.parametrize("dropped", ["user/Observation.rs?_count=1", "user/Observation.rs?bogus=1"])
def test_a_scope_that_grants_nothing_takes_nothing_from_the_others(
    client: TestClient, issuer: Issuer, dropped: str
) -> None:
    # Beside `patient/Observation.rs`, a scope granting nothing must not count as an unconfined
    # grant: the search stays narrowed to the launch patient (no 400 asking for a patient).
    headers = issuer.headers(TENANT, f"patient/Observation.rs {dropped}", patient="p1")
    bundle = ok(client.get(f"{BASE}/Observation", headers=headers))
    assert set(ids(bundle)) == p("p1")
