"""Runs of patients sharing the list's sort value, kept whole across its pages (pure)."""

from __future__ import annotations

from typing import Any

from mappings.nextvisit import ties


def _row(pid: int, last: str, dob: str = "1980-01-01") -> dict[str, Any]:
    return {"id": pid, "first_name": "A", "last_name": last, "date_of_birth": dob}


def _ids(rows: list[Any]) -> list[str]:
    return [str(row["id"]) for row in rows]


def test_each_run_is_in_id_order_and_the_tail_run_is_found() -> None:
    rows = [_row(9, "Abe"), _row(5, "Lee"), _row(2, "Lee"), _row(7, "Ng"), _row(3, "Ng")]
    ordered = ties.runs_by_id(rows, "last_name")
    assert _ids(ordered) == ["9", "2", "5", "3", "7"]
    assert ties.tail_run(ordered, "last_name") == (3, "Ng")
    assert ties.tail_run([], "last_name") == (0, None)


def test_the_run_is_read_whole_once_and_the_next_page_leaves_out_what_was_served() -> None:
    # The page listed Ng 7 and 3; the filtered list finds Ng 3, 7 and 12 (and a "Nguyen" its
    # partial filter matched): the run served is 3, 7, 12.
    listed = [_row(7, "Ng"), _row(3, "Ng")]
    whole = [_row(3, "Ng"), _row(7, "Ng"), _row(12, "Ng"), _row(4, "Nguyen")]
    run = ties.merged_run(listed, whole, "last_name", "Ng", set())
    assert _ids(run) == ["3", "7", "12"]
    tie: ties.Tie = {"value": "Ng", "ids": ["12", "3", "7"]}
    # The next page, its ties in another order, starts with Ng 12 and 7 again: left out.
    after = [_row(12, "Ng"), _row(7, "Ng"), _row(8, "Ohm")]
    assert _ids(ties.without_served(after, "last_name", tie)) == ["8"]
    # A patient of that value the filtered list did not find is not left out.
    assert _ids(ties.without_served([_row(15, "Ng")], "last_name", tie)) == ["15"]


def test_birth_dates_compare_as_dates_whatever_their_format() -> None:
    rows = [_row(4, "X", "03/15/1985"), _row(2, "Y", "1985-03-15")]
    assert ties.sort_value(rows[0], "date_of_birth") == "1985-03-15"
    assert _ids(ties.runs_by_id(rows, "date_of_birth")) == ["2", "4"]


def test_names_a_collation_holds_equal_are_one_run() -> None:
    # `Garcia` and `García` listed interleaved (an accent-insensitive collation): one run.
    rows = [_row(211, "Garcia"), _row(209, "García"), _row(208, "Garcia")]
    assert _ids(ties.runs_by_id(rows, "last_name")) == ["208", "209", "211"]
    assert ties.tail_run(rows, "last_name")[0] == 0
