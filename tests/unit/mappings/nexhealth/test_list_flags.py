"""The patient lists a NexHealth search walks for the list flags (`new_patient`, `inactive`,
`non_patient`) NexHealth filters by when they are not sent."""

from __future__ import annotations

from mappings.nexhealth.adapter import _flag_lists


def test_each_flag_filtering_when_unsent_is_asked_both_ways() -> None:
    # False is the flag left out (its absence filters as false): an implementation reading the
    # query as text (Express's `req.query`) takes "false" as true.
    assert _flag_lists([]) == [{}]
    assert _flag_lists(["inactive", "new_patient"]) == [
        {},
        {"new_patient": "true"},
        {"inactive": "true"},
        {"inactive": "true", "new_patient": "true"},
    ]


def test_a_flag_whose_true_includes_everyone_is_asked_true_alone() -> None:
    # The patients page's "set ... to false ... to filter out" read as a switch that filters
    # when false only: its `true` lists every patient, and its `false` list again would serve
    # each of those twice.
    assert _flag_lists(["inactive", "new_patient"], {"inactive"}) == [
        {"inactive": "true"},
        {"inactive": "true", "new_patient": "true"},
    ]
    assert _flag_lists(["inactive"], {"inactive", "non_patient"}) == [{"inactive": "true"}]
