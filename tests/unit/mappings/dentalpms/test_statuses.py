"""Every patient from a Dental PMS whose lists answer only active ones unless asked for a
status: the reading learned from its answers, and the per-status lists merged in order."""

from __future__ import annotations

from typing import Any

from mappings.dentalpms.statuses import (
    Stream,
    StreamPage,
    first_streams,
    merge,
    position_of,
    sort_key,
    streams_at,
    unasked_statuses,
)


def _patient(last_name: str | None, record_id: str) -> dict[str, Any]:
    return {"id": record_id, "last_name": last_name}


def test_a_list_showing_a_patient_that_is_not_active_lists_every_status() -> None:
    assert unasked_statuses(["active", "inactive"], [3, 0, 0]) == "every"
    assert unasked_statuses(["deceased", "active"], [0, 0, 1]) == "every"


def test_a_list_showing_only_active_ones_while_others_exist_lists_active_only() -> None:
    assert unasked_statuses(["active", "active"], [0, 2, 0]) == "active"


def test_nothing_is_learned_while_every_patient_is_active() -> None:
    assert unasked_statuses(["active", "active"], [0, 0, 0]) is None
    assert unasked_statuses([], [0, 0, 0]) is None


def test_the_merge_serves_each_status_once_in_sort_order_across_pages() -> None:
    everyone = {
        "active": [_patient(n, f"a{i}") for i, n in enumerate(["Abel", "Cruz", "Érard", "Gómez", "Ibarra"])],
        "inactive": [_patient(n, f"i{i}") for i, n in enumerate(["Baker", "Dunn", "Hale"])],
        "prospective": [_patient("Fry", "p0")],
        "deceased": [],
    }
    size = 2
    served: list[str] = []
    streams: list[Stream] | None = first_streams()
    for _ in range(20):
        if not streams:
            break
        pages = []
        for stream in streams:
            listed = everyone[stream.status]
            start = 0 if stream.after is None else int(stream.after)
            items = listed[start : start + size]
            following = str(start + size) if start + size < len(listed) else None
            pages.append(StreamPage(stream, items, following))
        out, left = merge(pages, size, sort_key("last_name"), descending=False)
        assert 1 <= len(out) <= size
        served += [p["last_name"] for p in out]
        streams = streams_at(position_of(left))
    assert served == ["Abel", "Baker", "Cruz", "Dunn", "Érard", "Fry", "Gómez", "Hale", "Ibarra"]


def test_a_descending_merge_puts_missing_values_first() -> None:
    pages = [
        StreamPage(Stream("active"), [_patient("Zed", "a"), _patient("Abel", "b")], None),
        StreamPage(Stream("inactive"), [_patient(None, "c"), _patient("Moss", "d")], None),
    ]
    out, left = merge(pages, 10, sort_key("last_name"), descending=True)
    assert [p["id"] for p in out] == ["c", "a", "d", "b"] and left == []


def test_a_position_that_is_not_a_merged_walk_is_not_read_as_one() -> None:
    assert streams_at("cursor-text") is None
    assert streams_at({"statuses": [["archived", None, 0]]}) is None
    assert streams_at({"statuses": [["active", None, -1]]}) is None
    assert position_of([]) is None
