"""SMART scopes: the v1 and v2 grammars (SMART App Launch 2.0.0, scopes-and-launch-context)."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.scopes import ORDER, Context, Permission, parse_scopes

TYPES = st.sampled_from(["Patient", "Observation", "AllergyIntolerance", "*"])
CONTEXTS = st.sampled_from(list(Context))
ORDERED_SUBSETS = [
    "".join(letters) for size in range(1, 6) for letters in combinations(ORDER, size)
]  # all 31 ordered, non-empty subsets of "cruds"


@given(CONTEXTS, TYPES, st.sampled_from(ORDERED_SUBSETS))
def test_every_ordered_subset_of_cruds_grants_exactly_its_letters(context: Context, type_: str, action: str) -> None:
    (scope,) = parse_scopes(f"{context}/{type_}.{action}").resource
    assert scope.context is context and scope.resource_type == type_
    assert scope.permissions == {Permission(c) for c in action}


@given(st.text(alphabet="cruds", min_size=1, max_size=6).filter(lambda a: a not in ORDERED_SUBSETS))
def test_letters_out_of_order_or_repeated_grant_nothing(action: str) -> None:
    scopes = parse_scopes(f"patient/Observation.{action}")
    assert scopes.resource == () and scopes.invalid == (f"patient/Observation.{action}",)


@pytest.mark.parametrize(("v1", "v2"), [("read", "rs"), ("write", "cud"), ("*", "cruds")])
def test_v1_forms_mean_what_the_v2_table_says(v1: str, v2: str) -> None:
    (old,) = parse_scopes(f"user/Observation.{v1}").resource
    (new,) = parse_scopes(f"user/Observation.{v2}").resource
    assert old.permissions == new.permissions


def test_granular_constraints_are_kept_as_search_parameters() -> None:
    text = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
    (scope,) = parse_scopes(text).resource
    assert scope.constraints == (
        ("category", "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"),
    )
    assert scope.text == text


@pytest.mark.parametrize(
    "word",
    [
        "patient/Observation.read?category=x",  # constraints are v2 only
        "patient/Observation.rs?",  # an empty constraint
        "patient/Observation.rs?category=",
        "patient/observation.rs",  # not a resource type
        "patient/Observation.",
        "patient/Observation.rx",
        "practitioner/Observation.rs",
    ],
)
def test_malformed_resource_scopes_grant_nothing(word: str) -> None:
    scopes = parse_scopes(word)
    assert scopes.resource == ()
    assert word in scopes.invalid + scopes.other
    if word.startswith("patient/"):
        assert scopes.invalid == (word,)


def test_scopes_without_resource_access_are_set_aside() -> None:
    scopes = parse_scopes("openid fhirUser launch launch/patient offline_access patient/*.rs")
    assert scopes.other == ("openid", "fhirUser", "launch", "launch/patient", "offline_access")
    assert [s.text for s in scopes.resource] == ["patient/*.rs"]
