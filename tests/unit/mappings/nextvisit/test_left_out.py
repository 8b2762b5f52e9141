"""Which of a patient's lists one list answer shows its implementation leaving out when empty."""

from __future__ import annotations

from mappings.nextvisit.left_out import included, left_out_when_empty


def test_a_page_on_which_some_patients_carry_a_list_and_others_do_not_leaves_it_out_when_empty() -> None:
    rows = [
        {"id": 1, "encounters": [{"id": 7}], "latest_medications": ["Sertraline 50mg"]},
        {"id": 2},  # Go's `omitempty`: no visits, no medications
    ]
    assert left_out_when_empty(rows, {"encounters"}) == {"encounters", "latest_medications"}


def test_a_relation_not_asked_for_shows_nothing() -> None:
    # Not loaded, a relation is absent from every row; one carried unasked says nothing either.
    rows = [{"id": 1, "encounters": [], "latest_medications": []}, {"id": 2, "latest_medications": []}]
    assert left_out_when_empty(rows, {"demographics"}) == frozenset()


def test_a_page_whose_patients_all_carry_or_all_lack_a_list_shows_nothing() -> None:
    assert left_out_when_empty([{"id": 1, "encounters": []}, {"id": 2, "encounters": []}], {"encounters"}) == set()
    assert left_out_when_empty([{"id": 1}, {"id": 2}], {"encounters"}) == frozenset()
    assert left_out_when_empty([{"id": 1, "encounters": [{"id": 7}]}], {"encounters"}) == frozenset()


def test_the_relations_a_request_includes() -> None:
    assert included({"include": "demographics, encounters", "per_page": 50}) == {"demographics", "encounters"}
    assert included({"per_page": 50}) == frozenset()
