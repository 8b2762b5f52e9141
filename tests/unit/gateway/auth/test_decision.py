"""The access decision: which grants a caller's scopes give for one type and permission."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.decision import Caller, Grant, confined_to, grants
from gateway.auth.scopes import Permission, parse_scopes

TYPES = ["Patient", "Observation", "AllergyIntolerance"]
SCOPE_WORDS = st.sampled_from(
    [
        "patient/*.rs",
        "patient/Observation.rs",
        "patient/Observation.rs?category=vital-signs",
        "user/Observation.r",
        "user/*.cruds",
        "system/Patient.read",
        "system/AllergyIntolerance.s?clinical-status=active",
        "patient/Patient.cud",
        "openid",
        "launch/patient",
    ]
)


def caller(scope: str, patient: str | None = "p1") -> Caller:
    return Caller("app", "u1", parse_scopes(scope), patient)


@given(st.lists(SCOPE_WORDS, max_size=6), SCOPE_WORDS, st.sampled_from(TYPES), st.sampled_from(list(Permission)))
def test_more_scopes_never_take_access_away(words: list[str], extra: str, type_: str, permission: Permission) -> None:
    before = grants(caller(" ".join(words)), type_, permission)
    after = grants(caller(" ".join([*words, extra])), type_, permission)
    if before:
        assert after
    if any(not g.params for g in before):
        assert any(not g.params for g in after)


@given(st.lists(SCOPE_WORDS.filter(lambda w: w.startswith("patient/")), min_size=1, max_size=6))
def test_patient_scopes_reach_only_the_launch_patient(words: list[str]) -> None:
    for type_ in TYPES:
        for permission in Permission:
            found = grants(caller(" ".join(words), patient="p1"), type_, permission)
            compartment = ("_id", "p1") if type_ == "Patient" else ("patient", "p1")
            assert all(compartment in g.params for g in found)
            if found:
                assert confined_to(found) == "p1"
            assert grants(caller(" ".join(words), patient=None), type_, permission) == ()


def test_a_scope_for_another_type_or_permission_grants_nothing() -> None:
    assert grants(caller("patient/Observation.rs"), "AllergyIntolerance", Permission.READ) == ()
    assert grants(caller("patient/Observation.rs"), "Observation", Permission.CREATE) == ()
    assert grants(caller("openid fhirUser launch/patient"), "Patient", Permission.READ) == ()


def test_granular_scopes_are_grants_with_their_constraints() -> None:
    found = grants(
        caller("patient/Observation.rs?category=vital-signs patient/Observation.rs?category=laboratory"),
        "Observation",
        Permission.SEARCH,
    )
    assert [g.params for g in found] == [
        (("patient", "p1"), ("category", "vital-signs")),
        (("patient", "p1"), ("category", "laboratory")),
    ]
    assert confined_to(found) == "p1"


def test_an_unconditional_grant_supersedes_narrower_ones() -> None:
    found = grants(
        caller("patient/Observation.rs?category=vital-signs user/Observation.rs"), "Observation", Permission.READ
    )
    assert found == (Grant((), "user/Observation.rs"),)
    assert confined_to(found) is None


def test_a_user_grant_reaches_beyond_the_launch_patient() -> None:
    found = grants(caller("patient/*.rs user/Observation.rs?category=laboratory"), "Observation", Permission.SEARCH)
    assert confined_to(found) is None


def test_the_caller_key_separates_clients_users_and_patients() -> None:
    keys = {
        Caller("a", "u", parse_scopes(""), "p").key,
        Caller("a", "u", parse_scopes(""), "q").key,
        Caller("a", "v", parse_scopes(""), "p").key,
        Caller("b", "u", parse_scopes(""), "p").key,
    }
    assert len(keys) == 4


def test_constraints_naming_id_or_patient_are_conditions_not_a_compartment() -> None:
    # SMART v2 constraints are search parameters: `_id=20` on an Encounter is that Encounter,
    # not the records of a patient 20; on a patient/ scope they are ANDed to the compartment.
    for scope in ("user/Encounter.rs?_id=20", "system/Encounter.rs?patient=20"):
        found = grants(caller(scope, patient=None), "Encounter", Permission.SEARCH)
        assert confined_to(found) is None and found[0].params == found[0].constraints
    confined = grants(caller("patient/Encounter.rs?patient=20", patient="p1"), "Encounter", Permission.SEARCH)
    assert confined_to(confined) == "p1"
    assert confined[0].params == (("patient", "p1"), ("patient", "20"))
